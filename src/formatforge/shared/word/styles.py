"""The look of a Word output: the profile (standard or large print), and what it decides in the
document before any text goes in: page size, margins and the page-number footer, the styles,
the settings and the list numbering definitions.

The standard Word profile and the large-print one differ only in sizes, spacing and how
emphasis is shown; everything that depends on them is set here, so the body (``body.py``)
only names styles.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.oxml.styles import CT_Style
from docx.shared import Emu, Pt, Twips
from docx.styles import BabelFish
from docx.styles.style import ParagraphStyle, StyleFactory
from lxml.etree import SubElement

from ...errors import WriterError
from .oxml import (W_ABSTRACT_NUM_ID, W_ILVL_ATTRIBUTE, W_LVL_OVERRIDE, W_NAME_ELEMENT, W_NUM_ID_ATTRIBUTE,
                   W_NUM_ID_MAC_AT_CLEANUP, W_START_OVERRIDE, W_STYLE, W_VAL, complex_field, element, set_child)

A4_TWIPS = (11906, 16838)


@dataclass(frozen=True)
class StyleProfile:
    """The look of a Word output; sizes in points."""

    font: str = "Arial"
    code_font: str = "Courier New"
    body_size: float = 12
    # How much larger than body text each heading level is (levels 1..9).
    heading_increments: tuple[float, ...] = (8, 4, 2, 1, 0, 0, 0, 0, 0)
    emphasis_as_bold: bool = False  # UKAAF: italics are hard to read in large print
    line_spacing: float = 1.15
    space_after: float = 8
    space_before_heading: float = 18
    honour_cell_alignment: bool = True  # large print keeps everything left aligned
    margin_cm: float = 2.5
    toc_levels: int = 3


STANDARD = StyleProfile()


def large_print_profile(size: float) -> StyleProfile:
    """UKAAF G003: 16 pt at least (18 pt by default: the large_print.size option), headings
    larger, bold for emphasis."""
    if size < 16:
        raise WriterError(f"large print needs at least 16 pt, not {size} pt (option large_print.size)")
    return StyleProfile(
        body_size=size,
        heading_increments=(10, 6, 4, 2, 2, 2, 2, 2, 2),
        emphasis_as_bold=True,
        line_spacing=1.15,
        space_after=size * 0.75,
        space_before_heading=size * 1.25,
        honour_cell_alignment=False,
        margin_cm=2.0,
    )


class Styles:
    """The document's styles: looked up by name in one pass, and set from a profile."""

    def __init__(self, word: docx.document.Document):
        self.word = word
        self._ids: dict[str, str] = {}

    @functools.cached_property
    def _elements(self) -> dict[str, CT_Style]:
        """Style elements by internal name, read in one pass: python-docx looks a style up
        by name with an XPath over every style, and ``name in styles`` reads each name."""
        by_name: dict[str, CT_Style] = {}
        for style in self.word.styles.element.iterchildren(W_STYLE):
            name = style.find(W_NAME_ELEMENT)
            if name is not None:
                by_name.setdefault(name.get(W_VAL), style)  # the first wins, as in python-docx
        return by_name

    def named(self, name: str):
        """What ``word.styles[name]`` gives, for a name (never a style id)."""
        found = self._elements.get(BabelFish.ui2internal(name))
        if found is None:
            raise KeyError(f"no style with name '{name}'")
        return StyleFactory(found)

    def style_id(self, name: str) -> str:
        if name not in self._ids:
            self._ids[name] = self.named(name).style_id
        return self._ids[name]

    def add(self, name: str, kind: WD_STYLE_TYPE, style_id: str | None = None):
        internal_name = BabelFish.ui2internal(name)
        existing = self._elements.get(internal_name)
        if existing is not None:
            return StyleFactory(existing)
        # Not styles.add_style: its ``name in styles`` check reads every style's name in Python.
        new = self.word.styles.element.add_style_of_type(internal_name, kind, False)
        self._elements[internal_name] = new
        style = StyleFactory(new)
        if style_id:
            style.element.set(qn("w:styleId"), style_id)
        if isinstance(style, ParagraphStyle):  # what StyleFactory makes of a paragraph style
            style.base_style = self.named("Normal")
        return style

    def apply(self, profile: StyleProfile, language: str) -> None:
        """Sizes, fonts, spacing and the document language from ``profile``."""
        root = self.word.styles.element
        defaults = root.find(qn("w:docDefaults"))
        if defaults is None:
            defaults = element("w:docDefaults")
            root.insert(0, defaults)
        for child in list(defaults):
            defaults.remove(child)
        half_points = str(round(profile.body_size * 2))
        defaults.append(parse_xml(
            f'<w:rPrDefault {nsdecls("w")}><w:rPr>'
            f'<w:rFonts/><w:sz w:val="{half_points}"/><w:szCs w:val="{half_points}"/><w:lang/>'
            "</w:rPr></w:rPrDefault>"))
        fonts = defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:rFonts')}")
        for attribute in ("ascii", "hAnsi", "cs", "eastAsia"):
            fonts.set(qn(f"w:{attribute}"), profile.font)
        lang = defaults.find(f".//{qn('w:lang')}")
        for attribute in ("val", "eastAsia", "bidi"):
            lang.set(qn(f"w:{attribute}"), language)
        defaults.append(parse_xml(
            f'<w:pPrDefault {nsdecls("w")}><w:pPr><w:spacing w:after="{round(profile.space_after * 20)}"'
            f' w:line="{round(profile.line_spacing * 240)}" w:lineRule="auto"/></w:pPr></w:pPrDefault>'))

        # Template styles carry theme fonts, accent colours and italics: reset what we use.
        for style in root.findall(qn("w:style")):
            rpr = style.find(qn("w:rPr"))
            if rpr is None:
                continue
            for tag in ("w:rFonts", "w:color", "w:i", "w:iCs", "w:caps"):
                for node in rpr.findall(qn(tag)):
                    rpr.remove(node)

        for level in range(1, 10):
            style = self.named(f"Heading {level}")
            increment = profile.heading_increments[level - 1]
            style.font.size = Pt(profile.body_size + increment)
            style.font.bold = True
            style.font.italic = False
            style.paragraph_format.space_before = Pt(profile.space_before_heading if level > 1 else 0)
            style.paragraph_format.space_after = Pt(profile.space_after)
            style.paragraph_format.keep_with_next = True

        normal = self.named("Normal")
        normal.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.LEFT
        normal.paragraph_format.widow_control = True

        quote = self.named("Quote")
        quote.font.italic = False
        quote.paragraph_format.left_indent = Pt(profile.body_size * 2)
        quote.paragraph_format.right_indent = Pt(profile.body_size)

        code = self.add("Source Code", WD_STYLE_TYPE.PARAGRAPH)
        code.font.name = profile.code_font
        code.paragraph_format.left_indent = Pt(profile.body_size)
        code.paragraph_format.line_spacing = 1.0
        self._font(code, profile.code_font)
        verbatim = self.add("Verbatim Char", WD_STYLE_TYPE.CHARACTER)
        self._font(verbatim, profile.code_font)

        hyperlink = self.add("Hyperlink", WD_STYLE_TYPE.CHARACTER)
        hyperlink.font.underline = True
        hyperlink.font.color.rgb = docx.shared.RGBColor(0x05, 0x63, 0xC1)

        self.add("footnote text", WD_STYLE_TYPE.PARAGRAPH, style_id="FootnoteText")
        reference = self.add("footnote reference", WD_STYLE_TYPE.CHARACTER, style_id="FootnoteReference")
        reference.font.superscript = True

        caption = self.named("Caption")
        caption.font.size = Pt(profile.body_size)
        caption.font.bold = True
        caption.paragraph_format.keep_with_next = True

        toc_heading = self.named("TOC Heading")
        toc_heading.font.size = Pt(profile.body_size + profile.heading_increments[1])
        for level in range(1, profile.toc_levels + 1):
            toc = self.add(f"toc {level}", WD_STYLE_TYPE.PARAGRAPH, style_id=f"TOC{level}")
            toc.paragraph_format.left_indent = Pt(profile.body_size * (level - 1))
            toc.paragraph_format.space_after = Pt(profile.space_after / 2)

        footer = self.named("Footer")
        footer.font.size = Pt(profile.body_size)  # L2: page numbers as large as the text

    @staticmethod
    def _font(style, font: str) -> None:
        style.font.name = font
        fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
        for attribute in ("ascii", "hAnsi", "cs", "eastAsia"):
            fonts.set(qn(f"w:{attribute}"), font)


def set_up_pages(word: docx.document.Document, profile: StyleProfile, styles: Styles) -> tuple[int, int]:
    """A4 with the profile's margins and a page number in the footer; returns the text area's
    (width, height) in EMU, kept for tables and pictures: finding a section searches the
    whole body, and the body's section properties are set aside while blocks are added."""
    for section in word.sections:
        section.page_width, section.page_height = Twips(A4_TWIPS[0]), Twips(A4_TWIPS[1])
        margin = Emu(int(profile.margin_cm * 360000))
        section.left_margin = section.right_margin = margin
        section.top_margin = section.bottom_margin = margin
        section.header_distance = section.footer_distance = Emu(int(profile.margin_cm * 180000))
        footer = section.footer
        footer.is_linked_to_previous = False
        paragraph = footer.paragraphs[0]
        paragraph._p.style = styles.style_id("Footer")
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        complex_field(paragraph._p, "PAGE", "1")
    section = word.sections[0]
    width, height = section.page_width, section.page_height
    left, right, top, bottom = section.left_margin, section.right_margin, section.top_margin, section.bottom_margin
    # All set just above; python-docx types them Optional because a w:sectPr may leave them out.
    if width is None or height is None or left is None or right is None or top is None or bottom is None:
        raise WriterError("the Word template's first section has no page size or margins")
    return width - left - right, height - top - bottom


def apply_settings(word: docx.document.Document, language: str, has_footnotes: bool) -> None:
    settings = word.settings.element
    successors = ("w:consecutiveHyphenLimit", "w:hyphenationZone", "w:doNotHyphenateCaps",
                  "w:characterSpacingControl", "w:savePreviewPicture", "w:compat", "w:rsids", "w:themeFontLang")
    # UKAAF: words are never broken across lines (L8); said explicitly, not by omission.
    set_child(settings, "w:autoHyphenation", successors, w_val="false")
    for node in settings.findall(qn("w:savePreviewPicture")):
        settings.remove(node)
    theme_lang = settings.find(qn("w:themeFontLang"))
    if theme_lang is not None:
        theme_lang.set(qn("w:val"), language)
    if has_footnotes:
        note_pr = parse_xml(f'<w:footnotePr {nsdecls("w")}><w:footnote w:id="-1"/><w:footnote w:id="0"/></w:footnotePr>')
        compat = settings.find(qn("w:compat"))
        if compat is not None:
            compat.addprevious(note_pr)
        else:
            settings.append(note_pr)


class Numbering:
    """The two list definitions (bullets, numbers) in the profile's indents, and a fresh list
    instance for each list, so that each numbered list counts from its own start."""

    def __init__(self, word: docx.document.Document, profile: StyleProfile):
        self.element = word.part.numbering_part.element
        self.abstract_ids: dict[bool, int] = {}
        used = [int(n.get(qn("w:abstractNumId"))) for n in self.element.findall(qn("w:abstractNum"))]
        nums = [int(n.get(qn("w:numId"))) for n in self.element.findall(qn("w:num"))]
        next_abstract = max(used, default=-1) + 1
        self.next_num_id = max(nums, default=0) + 1
        indent = round(profile.body_size * 2 * 20)  # twips per level
        bullets = ("•", "◦", "▪")
        for ordered in (False, True):
            abstract = element("w:abstractNum", w_abstractNumId=str(next_abstract))
            abstract.append(element("w:multiLevelType", w_val="multilevel"))
            for level in range(9):
                lvl = element("w:lvl", w_ilvl=str(level))
                lvl.append(element("w:start", w_val="1"))
                if ordered:
                    formats = ("decimal", "lowerLetter", "lowerRoman")
                    lvl.append(element("w:numFmt", w_val=formats[level % 3]))
                    lvl.append(element("w:lvlText", w_val=f"%{level + 1}."))
                else:
                    lvl.append(element("w:numFmt", w_val="bullet"))
                    lvl.append(element("w:lvlText", w_val=bullets[level % 3]))
                lvl.append(element("w:lvlJc", w_val="left"))
                ppr = element("w:pPr")
                ppr.append(element("w:ind", w_left=str(indent * (level + 1)), w_hanging=str(indent // 2 + 120)))
                lvl.append(ppr)
                if not ordered:
                    rpr = element("w:rPr")
                    rpr.append(element("w:rFonts", w_ascii=profile.font, w_hAnsi=profile.font))
                    lvl.append(rpr)
                abstract.append(lvl)
            existing = self.element.findall(qn("w:abstractNum"))
            if existing:
                existing[-1].addnext(abstract)
            else:
                self.element.insert(0, abstract)
            self.abstract_ids[ordered] = next_abstract
            next_abstract += 1

    def new_list(self, ordered: bool, start: int) -> int:
        """The id of a new list instance counting from ``start``."""
        num_id = self.next_num_id
        self.next_num_id += 1
        num = copy.copy(self._num_prototype)  # lxml copies the 19 elements in C, as for paragraphs
        num.set(W_NUM_ID_ATTRIBUTE, str(num_id))
        num[0].set(W_VAL, str(self.abstract_ids[ordered]))
        num[1][0].set(W_VAL, str(start))
        cleanup = self.element.find(W_NUM_ID_MAC_AT_CLEANUP)
        if cleanup is not None:
            cleanup.addprevious(num)
        else:
            self.element.append(num)
        return num_id

    @functools.cached_property
    def _num_prototype(self):
        """A w:num whose id, abstract list and first-level start are set per list."""
        num = element("w:num", w_numId="0")
        SubElement(num, W_ABSTRACT_NUM_ID, {W_VAL: "0"})
        for level in range(9):
            override = SubElement(num, W_LVL_OVERRIDE, {W_ILVL_ATTRIBUTE: str(level)})
            SubElement(override, W_START_OVERRIDE, {W_VAL: "1"})
        return num
