"""The document model as a Word (.docx) document, shared by the Word and large-print writers.

python-docx provides the package, styles, numbering, pictures and core properties; the body
(paragraphs, runs, lists, tables, hyperlinks, footnotes, the table of contents field) is
built element by element with lxml under python-docx's parts, which is several times faster
than going through its proxy objects on a long document. Either way no XML is ever made by
joining strings of user text. A ``StyleProfile`` decides the look: the standard Word
profile and the large-print one differ only in sizes, spacing and how emphasis is shown.
"""

from __future__ import annotations

import copy
import functools
import io
import os
import re
import shutil
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.pkgwriter import PackageWriter
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.oxml.shape import CT_Inline
from docx.oxml.styles import CT_Style
from docx.oxml.table import CT_Tbl
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.parts.story import StoryPart
from docx.shared import Emu, Pt, Twips
from docx.styles import BabelFish
from docx.styles.style import ParagraphStyle, StyleFactory
from lxml import etree
from lxml.etree import SubElement

from ..labels import admonition_title, labels_for
from .. import model
from ..reproducible_zip import zip_info
from ..errors import WriterError

FOOTNOTES_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
DECORATIVE_EXTENSION_URI = "{C183D7F6-B498-43B3-948B-1728B52AA6E4}"
DECORATIVE_NS = "http://schemas.microsoft.com/office/drawing/2017/decorative"
# Zip entries need some timestamp; a fixed one keeps two builds byte-identical.
FALLBACK_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
A4_TWIPS = (11906, 16838)
# Entries are deflated at zlib's default level: level 9 took twice as long for 2 % smaller files.
ZIP_COMPRESS_LEVEL = 6

# The body is built with lxml's SubElement and these Clark names: python-docx's proxies and
# qn() cost more than the rest of the build on a long document. Elements made under a part's
# root still get python-docx's element classes, so its oxml helpers work on them.
W_P, W_PPR, W_PSTYLE, W_R, W_RPR, W_RSTYLE, W_B, W_I, W_T, W_BR = (
    qn(f"w:{name}") for name in ("p", "pPr", "pStyle", "r", "rPr", "rStyle", "b", "i", "t", "br"))
W_IND, W_JC, W_NUMPR, W_ILVL, W_NUMID, W_PBDR, W_TOP, W_SPACING, W_CONTEXTUAL_SPACING = (
    qn(f"w:{name}") for name in ("ind", "jc", "numPr", "ilvl", "numId", "pBdr", "top", "spacing",
                                  "contextualSpacing"))
W_HYPERLINK, W_BOOKMARK_START, W_BOOKMARK_END, W_FOOTNOTE_REFERENCE, W_FLD_CHAR, W_INSTR_TEXT = (
    qn(f"w:{name}") for name in ("hyperlink", "bookmarkStart", "bookmarkEnd", "footnoteReference",
                                  "fldChar", "instrText"))
W_TR, W_TC, W_TRPR, W_TBL_HEADER, W_SECTPR, W_SDT_CONTENT = (
    qn(f"w:{name}") for name in ("tr", "tc", "trPr", "tblHeader", "sectPr", "sdtContent"))
W_ABSTRACT_NUM_ID, W_LVL_OVERRIDE, W_START_OVERRIDE, W_NUM_ID_MAC_AT_CLEANUP = (
    qn(f"w:{name}") for name in ("abstractNumId", "lvlOverride", "startOverride", "numIdMacAtCleanup"))
W_VAL, W_ID, W_NAME, W_LEFT, W_AFTER, W_ANCHOR, W_HISTORY, W_TOOLTIP, W_FLD_CHAR_TYPE = (
    qn(f"w:{name}") for name in ("val", "id", "name", "left", "after", "anchor", "history", "tooltip",
                                  "fldCharType"))
W_NUM_ID_ATTRIBUTE, W_ILVL_ATTRIBUTE, W_SZ, W_SPACE, W_COLOR = (
    qn(f"w:{name}") for name in ("numId", "ilvl", "sz", "space", "color"))
W_STYLE, W_NAME_ELEMENT = qn("w:style"), qn("w:name")
W_LINE, W_LINE_RULE, W_CANT_SPLIT, W_RIGHT, W_BOTTOM, W_KEEP_NEXT, W_BEFORE = (
    qn(f"w:{name}") for name in ("line", "lineRule", "cantSplit", "right", "bottom", "keepNext", "before"))
R_ID = qn("r:id")
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"

# Parts of python-docx's template that nothing reads: Word 2010's second copy of the styles
# (later Word versions neither write nor need it) and an empty bibliography source list.
# They are 800 KB of XML to deflate on every build.
TEMPLATE_LEFTOVERS = frozenset({
    "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects",
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/customXml",
})

# A task list item's state, said in words before its text. Not "☑"/"☐": those are U+2611
# BALLOT BOX WITH CHECK and U+2610 BALLOT BOX, which NVDA's English symbol list does not
# name (only ✓ "check"), so a screen reader may say nothing for them, or "ballot box",
# which is not a state; a word is read by every screen reader, braille display and eye.
# The words come from the language's labels (labels.py): "Done" and "Not done".

W_STRIKE, W_KEEP_NEXT, W_BOTTOM, W_RIGHT = (qn(f"w:{name}") for name in ("strike", "keepNext", "bottom", "right"))
W_LANG = qn("w:lang")
# The box round an admonition: a 1.5 pt line, 4 pt from the text, on all four sides. Word and
# LibreOffice draw consecutive paragraphs bordered alike as one box, so a note that directly
# follows another is drawn with a 2¼ pt line: two boxes, not one. (A different distance from
# the text is not enough: LibreOffice still joins the boxes.)
ADMONITION_BORDERS = tuple({W_VAL: "single", qn("w:sz"): size, qn("w:space"): "4", qn("w:color"): "auto"}
                           for size in ("12", "18"))


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


# ---------------------------------------------------------------- entry points


def write_docx(document: model.Document, profile: StyleProfile, target: Path) -> None:
    word = build_document(document, profile)
    target.write_bytes(package_bytes(word, zip_date(document.metadata.date)))


class _PackageEntries(dict):
    """Stands in for python-docx's zip writer: keeps each serialised part by member name."""

    def write(self, pack_uri, blob: bytes) -> None:
        self[pack_uri.membername] = blob


def package_bytes(word: docx.document.Document, date_time: tuple[int, int, int, int, int, int]) -> bytes:
    """The saved package, zipped once with fixed dates (``Document.save`` followed by a
    rewrite with fixed dates would deflate every part twice)."""
    package = word.part.package
    parts = package.parts
    for part in parts:
        part.before_marshal()
    entries = _PackageEntries()
    # What PackageWriter.write does, into entries instead of a zip file.
    PackageWriter._write_content_types_stream(entries, parts)
    PackageWriter._write_pkg_rels(entries, package.rels)
    # _PackageEntries has the one method of PhysPkgWriter these private helpers call (write).
    PackageWriter._write_parts(entries, parts)  # type: ignore[arg-type]
    return _zip_entries(entries, date_time)


def build_document(document: model.Document, profile: StyleProfile) -> docx.document.Document:
    return _Builder(document, profile).build()


def document_date(iso_date: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(iso_date) if iso_date else datetime(*FALLBACK_ZIP_DATE)
    except ValueError:
        parsed = datetime(*FALLBACK_ZIP_DATE)
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc).replace(microsecond=0)


def zip_date(iso_date: str) -> tuple[int, int, int, int, int, int]:
    when = document_date(iso_date)
    if when.year < 1980:
        return FALLBACK_ZIP_DATE
    return (when.year, when.month, when.day, when.hour, when.minute, when.second - when.second % 2)


def _zip_entries(entries: dict[str, bytes], date_time: tuple[int, int, int, int, int, int]) -> bytes:
    """The package's parts zipped with fixed entry dates and a stable entry order."""
    # [Content_Types].xml first: some consumers sniff the package from the first entry.
    first = [name for name in ("[Content_Types].xml", "_rels/.rels") if name in entries]
    order = first + sorted(name for name in entries if name not in first)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in order:
            info = zip_info(name, zipfile.ZIP_DEFLATED, date_time)
            target.writestr(info, entries[name], compress_type=zipfile.ZIP_DEFLATED,
                            compresslevel=ZIP_COMPRESS_LEVEL)
    return out.getvalue()


# ---------------------------------------------------------------- helpers


def bookmark_name(anchor_id: str) -> str:
    """Word bookmark names: a letter first, letters, digits and underscores, ≤ 40 characters."""
    name = re.sub(r"\W", "_", anchor_id, flags=re.ASCII)
    if not name or not name[0].isalpha():
        name = "h_" + name
    return name[:40]


def _element(tag: str, **attributes: str):
    node = OxmlElement(tag)
    for key, value in attributes.items():
        node.set(qn(key.replace("_", ":", 1)), value)
    return node


def _set_child(parent, tag: str, successors: tuple[str, ...] = (), **attributes: str):
    """Replace child ``tag`` of ``parent``, keeping schema order by inserting before successors."""
    for old in parent.findall(qn(tag)):
        parent.remove(old)
    node = _element(tag, **attributes)
    for successor in successors:
        found = parent.find(qn(successor))
        if found is not None:
            found.addprevious(node)
            return node
    parent.append(node)
    return node


class _Story:
    """Where new blocks go (the body, a footnote) and which part owns its relationships."""

    def __init__(self, element, part):
        self.element = element
        self.part = part

    def append(self, node) -> None:
        self.element.append(node)


class FootnotesPart(StoryPart):
    """word/footnotes.xml: python-docx has no footnote API, so the part is made here."""


# ---------------------------------------------------------------- the builder


class _Builder:
    def __init__(self, document: model.Document, profile: StyleProfile):
        self.doc = document
        self.profile = profile
        self.word = docx.Document()
        for rid, relationship in list(self.word.part.rels.items()):
            if relationship.reltype in TEMPLATE_LEFTOVERS:
                self.word.part.rels.pop(rid)
        self.bookmark_id = 0
        self.last_paragraph = None
        self.bookmarks: dict[str, str] = {}  # heading id → Word bookmark name
        self.bookmarked: set[str] = set()
        self.footnotes_element: BaseOxmlElement | None = None  # both made when the document has footnotes
        self.footnotes_part: FootnotesPart | None = None
        self.abstract_ids: dict[bool, int] = {}
        self.next_num_id = 0
        self.text_width = 0  # EMU between the margins, set with the page
        self.text_height = 0
        self._last_note: tuple[etree._Element, int] | None = None  # (its last element, its border number)
        self._paragraph_prototypes: dict[tuple, etree._Element] = {}
        self._run_prototypes: dict[tuple, etree._Element] = {}

    # ------------------------------------------------------------ document

    def build(self):
        self._properties()
        self._page_setup()
        self._styles()
        self._settings()
        self._numbering_definitions()
        self._drop_template_thumbnail()
        self.bookmarks = self._plan_bookmarks()
        if self.doc.footnotes:
            self._footnotes_part()
        body = self.word.element.body
        # Blocks are appended to the body; its section properties are put back last.
        section = body.find(W_SECTPR)
        body.remove(section)
        story = _Story(body, self.word.part)
        blocks = list(self.doc.blocks)
        # The contents come right after the title heading, so a reader meets the title first.
        leading = 1 if blocks and isinstance(blocks[0], model.Heading) and blocks[0].level == 1 else 0
        self._blocks(blocks[:leading], story)
        self._table_of_contents(story)
        self._blocks(blocks[leading:], story)
        body.append(section)
        for footnote in self.doc.footnotes:
            self._footnote(footnote)
        return self.word

    def _properties(self) -> None:
        meta = self.doc.metadata
        props = self.word.core_properties
        when = document_date(meta.date)
        texts = {
            "title": meta.title,
            "subject": meta.subtitle or meta.description,
            "creator": meta.author or meta.publisher,
            "lastModifiedBy": meta.author or meta.publisher,
            "description": meta.description,
            "keywords": ", ".join(meta.keywords),
            "language": meta.language,
            "identifier": meta.identifier,
            "category": "",
        }
        for name, value in texts.items():
            # python-docx caps these at 255 characters; OOXML does not, and a summary is longer.
            props._element._get_or_add(name).text = value
        props.revision = 1
        props.created = when
        props.modified = when
        props.last_printed = when

    def _page_setup(self) -> None:
        for section in self.word.sections:
            section.page_width, section.page_height = Twips(A4_TWIPS[0]), Twips(A4_TWIPS[1])
            margin = Emu(int(self.profile.margin_cm * 360000))
            section.left_margin = section.right_margin = margin
            section.top_margin = section.bottom_margin = margin
            section.header_distance = section.footer_distance = Emu(int(self.profile.margin_cm * 180000))
            footer = section.footer
            footer.is_linked_to_previous = False
            paragraph = footer.paragraphs[0]
            paragraph._p.style = self._style_id("Footer")
            paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            self._field(paragraph._p, "PAGE", "1")
        # Kept for tables and pictures: finding a section searches the whole body, and the
        # body's section properties are set aside while blocks are added.
        section = self.word.sections[0]
        width, height = section.page_width, section.page_height
        left, right, top, bottom = section.left_margin, section.right_margin, section.top_margin, section.bottom_margin
        # All set just above; python-docx types them Optional because a w:sectPr may leave them out.
        if width is None or height is None or left is None or right is None or top is None or bottom is None:
            raise WriterError("the Word template's first section has no page size or margins")
        self.text_width = width - left - right
        self.text_height = height - top - bottom

    def _field(self, parent, instruction: str, cached: str) -> None:
        """A complex field (PAGE, TOC …) with a cached result Word replaces when it updates."""
        for kind in ("begin", None, "separate", cached, "end"):
            run = _element("w:r")
            if kind in ("begin", "separate", "end"):
                run.append(_element("w:fldChar", w_fldCharType=kind))
            elif kind is None:
                instr = _element("w:instrText")
                instr.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
                instr.text = f" {instruction} "
                run.append(instr)
            else:
                text = _element("w:t")
                text.text = kind
                run.append(text)
            parent.append(run)

    # ------------------------------------------------------------ styles

    def _styles(self) -> None:
        profile = self.profile
        styles = self.word.styles
        root = styles.element
        defaults = root.find(qn("w:docDefaults"))
        if defaults is None:
            defaults = _element("w:docDefaults")
            root.insert(0, defaults)
        for child in list(defaults):
            defaults.remove(child)
        half_points = str(round(profile.body_size * 2))
        language = self.doc.metadata.language or "en-GB"
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
            style = self._named_style(f"Heading {level}")
            increment = profile.heading_increments[level - 1]
            style.font.size = Pt(profile.body_size + increment)
            style.font.bold = True
            style.font.italic = False
            style.paragraph_format.space_before = Pt(profile.space_before_heading if level > 1 else 0)
            style.paragraph_format.space_after = Pt(profile.space_after)
            style.paragraph_format.keep_with_next = True

        normal = self._named_style("Normal")
        normal.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.LEFT
        normal.paragraph_format.widow_control = True

        quote = self._named_style("Quote")
        quote.font.italic = False
        quote.paragraph_format.left_indent = Pt(profile.body_size * 2)
        quote.paragraph_format.right_indent = Pt(profile.body_size)

        code = self._style("Source Code", WD_STYLE_TYPE.PARAGRAPH)
        code.font.name = profile.code_font
        code.paragraph_format.left_indent = Pt(profile.body_size)
        code.paragraph_format.line_spacing = 1.0
        self._style_font(code, profile.code_font)
        verbatim = self._style("Verbatim Char", WD_STYLE_TYPE.CHARACTER)
        self._style_font(verbatim, profile.code_font)

        hyperlink = self._style("Hyperlink", WD_STYLE_TYPE.CHARACTER)
        hyperlink.font.underline = True
        hyperlink.font.color.rgb = docx.shared.RGBColor(0x05, 0x63, 0xC1)

        self._style("footnote text", WD_STYLE_TYPE.PARAGRAPH, style_id="FootnoteText")
        reference = self._style("footnote reference", WD_STYLE_TYPE.CHARACTER, style_id="FootnoteReference")
        reference.font.superscript = True

        caption = self._named_style("Caption")
        caption.font.size = Pt(profile.body_size)
        caption.font.bold = True
        caption.paragraph_format.keep_with_next = True

        toc_heading = self._named_style("TOC Heading")
        toc_heading.font.size = Pt(profile.body_size + profile.heading_increments[1])
        for level in range(1, profile.toc_levels + 1):
            toc = self._style(f"toc {level}", WD_STYLE_TYPE.PARAGRAPH, style_id=f"TOC{level}")
            toc.paragraph_format.left_indent = Pt(profile.body_size * (level - 1))
            toc.paragraph_format.space_after = Pt(profile.space_after / 2)

        footer = self._named_style("Footer")
        footer.font.size = Pt(profile.body_size)  # L2: page numbers as large as the text

    def _style(self, name: str, kind: WD_STYLE_TYPE, style_id: str | None = None):
        internal_name = BabelFish.ui2internal(name)
        existing = self._style_elements.get(internal_name)
        if existing is not None:
            return StyleFactory(existing)
        # Not styles.add_style: its ``name in styles`` check reads every style's name in Python.
        element = self.word.styles.element.add_style_of_type(internal_name, kind, False)
        self._style_elements[internal_name] = element
        style = StyleFactory(element)
        if style_id:
            style.element.set(qn("w:styleId"), style_id)
        if isinstance(style, ParagraphStyle):  # what StyleFactory makes of a paragraph style
            style.base_style = self._named_style("Normal")
        return style

    @functools.cached_property
    def _style_elements(self) -> dict[str, CT_Style]:
        """Style elements by internal name, read in one pass: python-docx looks a style up
        by name with an XPath over every style, and ``name in styles`` reads each name."""
        by_name: dict[str, CT_Style] = {}
        for element in self.word.styles.element.iterchildren(W_STYLE):
            name = element.find(W_NAME_ELEMENT)
            if name is not None:
                by_name.setdefault(name.get(W_VAL), element)  # the first wins, as in python-docx
        return by_name

    def _named_style(self, name: str):
        """What ``self.word.styles[name]`` gives, for a name (never a style id)."""
        element = self._style_elements.get(BabelFish.ui2internal(name))
        if element is None:
            raise KeyError(f"no style with name '{name}'")
        return StyleFactory(element)

    @staticmethod
    def _style_font(style, font: str) -> None:
        style.font.name = font
        fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
        for attribute in ("ascii", "hAnsi", "cs", "eastAsia"):
            fonts.set(qn(f"w:{attribute}"), font)

    def _settings(self) -> None:
        settings = self.word.settings.element
        successors = ("w:consecutiveHyphenLimit", "w:hyphenationZone", "w:doNotHyphenateCaps",
                      "w:characterSpacingControl", "w:savePreviewPicture", "w:compat", "w:rsids", "w:themeFontLang")
        # UKAAF: words are never broken across lines (L8); said explicitly, not by omission.
        _set_child(settings, "w:autoHyphenation", successors, w_val="false")
        for node in settings.findall(qn("w:savePreviewPicture")):
            settings.remove(node)
        theme_lang = settings.find(qn("w:themeFontLang"))
        if theme_lang is not None:
            theme_lang.set(qn("w:val"), self.doc.metadata.language or "en-GB")
        if self.doc.footnotes:
            note_pr = parse_xml(f'<w:footnotePr {nsdecls("w")}><w:footnote w:id="-1"/><w:footnote w:id="0"/></w:footnotePr>')
            compat = settings.find(qn("w:compat"))
            if compat is not None:
                compat.addprevious(note_pr)
            else:
                settings.append(note_pr)

    def _drop_template_thumbnail(self) -> None:
        # The template's thumbnail shows a blank page: misleading in file browsers.
        package = self.word.part.package
        for rel_id, rel in list(package.rels.items()):
            if rel.reltype == RT.THUMBNAIL:
                package.rels.pop(rel_id)

    # ------------------------------------------------------------ numbering

    def _numbering_definitions(self) -> None:
        numbering = self.word.part.numbering_part.element
        used = [int(n.get(qn("w:abstractNumId"))) for n in numbering.findall(qn("w:abstractNum"))]
        nums = [int(n.get(qn("w:numId"))) for n in numbering.findall(qn("w:num"))]
        next_abstract = max(used, default=-1) + 1
        self.next_num_id = max(nums, default=0) + 1
        indent = round(self.profile.body_size * 2 * 20)  # twips per level
        bullets = ("•", "◦", "▪")
        for ordered in (False, True):
            abstract = _element("w:abstractNum", w_abstractNumId=str(next_abstract))
            abstract.append(_element("w:multiLevelType", w_val="multilevel"))
            for level in range(9):
                lvl = _element("w:lvl", w_ilvl=str(level))
                lvl.append(_element("w:start", w_val="1"))
                if ordered:
                    formats = ("decimal", "lowerLetter", "lowerRoman")
                    lvl.append(_element("w:numFmt", w_val=formats[level % 3]))
                    lvl.append(_element("w:lvlText", w_val=f"%{level + 1}."))
                else:
                    lvl.append(_element("w:numFmt", w_val="bullet"))
                    lvl.append(_element("w:lvlText", w_val=bullets[level % 3]))
                lvl.append(_element("w:lvlJc", w_val="left"))
                ppr = _element("w:pPr")
                ppr.append(_element("w:ind", w_left=str(indent * (level + 1)), w_hanging=str(indent // 2 + 120)))
                lvl.append(ppr)
                if not ordered:
                    rpr = _element("w:rPr")
                    rpr.append(_element("w:rFonts", w_ascii=self.profile.font, w_hAnsi=self.profile.font))
                    lvl.append(rpr)
                abstract.append(lvl)
            existing = numbering.findall(qn("w:abstractNum"))
            if existing:
                existing[-1].addnext(abstract)
            else:
                numbering.insert(0, abstract)
            self.abstract_ids[ordered] = next_abstract
            next_abstract += 1

    @functools.cached_property
    def numbering_element(self):
        return self.word.part.numbering_part.element

    def _new_num(self, ordered: bool, start: int) -> int:
        """A fresh list instance, so that each numbered list counts from its own start."""
        numbering = self.numbering_element
        num_id = self.next_num_id
        self.next_num_id += 1
        num = copy.copy(self._num_prototype)  # lxml copies the 19 elements in C, as for paragraphs
        num.set(W_NUM_ID_ATTRIBUTE, str(num_id))
        num[0].set(W_VAL, str(self.abstract_ids[ordered]))
        num[1][0].set(W_VAL, str(start))
        cleanup = numbering.find(W_NUM_ID_MAC_AT_CLEANUP)
        if cleanup is not None:
            cleanup.addprevious(num)
        else:
            numbering.append(num)
        return num_id

    @functools.cached_property
    def _num_prototype(self):
        """A w:num whose id, abstract list and first-level start are set per list."""
        num = _element("w:num", w_numId="0")
        SubElement(num, W_ABSTRACT_NUM_ID, {W_VAL: "0"})
        for level in range(9):
            override = SubElement(num, W_LVL_OVERRIDE, {W_ILVL_ATTRIBUTE: str(level)})
            SubElement(override, W_START_OVERRIDE, {W_VAL: "1"})
        return num

    # ------------------------------------------------------------ blocks

    def _plan_bookmarks(self) -> dict[str, str]:
        names: dict[str, str] = {}
        taken: set[str] = set()
        for block in model.walk_blocks(self.doc.blocks):
            if isinstance(block, model.Heading):
                name = base = bookmark_name(block.id)
                counter = 1
                while name in taken:
                    counter += 1
                    name = f"{base[:36]}_{counter}"
                taken.add(name)
                names.setdefault(block.id, name)
        return names

    def _next_shape_id(self) -> int:
        if not hasattr(self, "_last_shape_id"):
            taken = [int(v) for v in self.word.element.xpath("//@id") if v.isdigit()]
            self._last_shape_id = max(taken, default=0)
        self._last_shape_id += 1
        return self._last_shape_id

    def _style_id(self, name: str) -> str:
        cache = self.__dict__.setdefault("_style_ids", {})
        if name not in cache:
            cache[name] = self._named_style(name).style_id
        return cache[name]

    def _indent(self, level: int) -> str:
        cache = self.__dict__.setdefault("_indents", {})
        if level not in cache:
            cache[level] = str(Pt(self.profile.body_size * 2 * level).twips)
        return cache[level]

    def _paragraph(self, story: _Story, style: str | None = None, indent_level: int = 0,
                   numbering: tuple[str, str] | None = None):
        """A new w:p at the end of ``story``; ``numbering`` is (level, list id) for a list item.

        Paragraphs alike in their properties are copies of one prototype: lxml copies a
        subtree in C, several times faster than making its elements one by one."""
        key = (style, indent_level, numbering is not None)
        prototype = self._paragraph_prototypes.get(key)
        if prototype is None:
            prototype = self._paragraph_prototypes[key] = self._paragraph_prototype(*key)
        p = copy.copy(prototype)  # lxml copies an element with all its descendants
        story.element.append(p)
        self.last_paragraph = p
        if numbering is not None:
            level, num_id = p[0].find(W_NUMPR)
            level.set(W_VAL, numbering[0])
            num_id.set(W_VAL, numbering[1])
        return p

    def _paragraph_prototype(self, style: str | None, indent_level: int, numbered: bool):
        """A w:p with its properties in schema order (pStyle, numPr, ind)."""
        p = _element("w:p")
        if style or indent_level or numbered:
            ppr = SubElement(p, W_PPR)
            if style:
                SubElement(ppr, W_PSTYLE, {W_VAL: self._style_id(style)})
            if numbered:
                num_pr = SubElement(ppr, W_NUMPR)
                SubElement(num_pr, W_ILVL, {W_VAL: "0"})
                SubElement(num_pr, W_NUMID, {W_VAL: "0"})
            if indent_level:
                SubElement(ppr, W_IND, {W_LEFT: self._indent(indent_level)})
        return p

    def _blocks(self, blocks, story: _Story, quote: bool = False, list_level: int = 0) -> None:
        for block in blocks:
            self._block(block, story, quote, list_level)

    def _block(self, block, story: _Story, quote: bool, list_level: int) -> None:
        if isinstance(block, model.Paragraph):
            style = "Quote" if quote else ("List Paragraph" if list_level else None)
            p = self._paragraph(story, style, indent_level=list_level if not quote else 0)
            self._inlines(block.children, story.part, p)
        elif isinstance(block, model.Heading):
            p = self._paragraph(story, f"Heading {min(block.level, 9)}")
            name = self.bookmarks.get(block.id)
            if name and block.id not in self.bookmarked and story.part is self.word.part:
                self.bookmark_id += 1
                SubElement(p, W_BOOKMARK_START, {W_ID: str(self.bookmark_id), W_NAME: name})
                self._inlines(block.children, story.part, p)
                SubElement(p, W_BOOKMARK_END, {W_ID: str(self.bookmark_id)})
                self.bookmarked.add(block.id)
            else:
                self._inlines(block.children, story.part, p)
        elif isinstance(block, model.ListBlock):
            self._list(block, story, quote, list_level)
        elif isinstance(block, model.BlockQuote):
            self._blocks(block.blocks, story, quote=True, list_level=list_level)
        elif isinstance(block, model.Table):
            self._table(block, story)
        elif isinstance(block, model.Image):
            self._image(block, story, list_level)
        elif isinstance(block, model.CodeBlock):
            p = self._paragraph(story, "Source Code", indent_level=list_level)
            lines = block.text.split("\n")
            for index, line in enumerate(lines):
                r = SubElement(p, W_R)
                if line:
                    r.text = line  # python-docx's CT_R setter: tabs become w:tab
                if index < len(lines) - 1:
                    SubElement(r, W_BR)
        elif isinstance(block, model.ThematicBreak):
            self._divider(story)
        elif isinstance(block, model.Admonition):
            self._admonition(block, story, quote, list_level)
        elif isinstance(block, model.DefinitionList):
            self._definition_list(block, story, quote, list_level)

    def _divider(self, story: _Story) -> None:
        """A thematic break as a paragraph of its own drawing a short centred rule. A border
        on the next paragraph instead was merged by Word and LibreOffice with the same border
        on the paragraph after (one rule left between three quotations) and was drawn at the
        top of a page when that paragraph began one."""
        before = self.last_paragraph
        if (before is not None and len(story.element) and story.element[-1] is before
                and before.find(f"{W_PPR}/{W_KEEP_NEXT}") is None):
            # The rule closes what comes before it: kept on its page, never alone at the top
            # of the next one.
            _add_ppr_child(before, W_KEEP_NEXT)
        p = self._paragraph(story)
        border = _add_ppr_child(p, W_PBDR)
        SubElement(border, W_BOTTOM, {W_VAL: "single", W_SZ: "12", W_SPACE: "1", W_COLOR: "auto"})
        _add_ppr_child(p, W_SPACING, {W_BEFORE: "0", W_AFTER: str(Pt(self.profile.space_after * 1.5).twips),
                                      W_LINE: "240", W_LINE_RULE: "auto"})
        side = str(int(self.text_width / 635 / 3))  # EMU to twips; the middle third of the line
        _add_ppr_child(p, W_IND, {W_LEFT: side, W_RIGHT: side})

    def _list(self, block: model.ListBlock, story: _Story, quote: bool, list_level: int) -> None:
        num_id = str(self._new_num(block.ordered, block.start))
        level = str(min(list_level, 8))
        for item in block.items:
            first = True
            if item.checked is not None and not (item.blocks and isinstance(item.blocks[0], model.Paragraph)):
                # A task item that opens with no paragraph still gets its number and its state.
                p = self._paragraph(story, "List Paragraph", numbering=(level, num_id))
                _text_run(p, self._task_state(item.checked).rstrip())
                first = False
            for child in item.blocks:
                if first and isinstance(child, model.Paragraph):
                    p = self._paragraph(story, "List Paragraph", numbering=(level, num_id))
                    if item.checked is not None:
                        _text_run(p, self._task_state(item.checked))
                    self._inlines(child.children, story.part, p)
                else:
                    self._block(child, story, quote, list_level + 1)
                first = False
        if list_level == 0 and self.last_paragraph is not None:
            # List Paragraph packs items together; the list as a whole keeps its space after.
            _add_ppr_child(self.last_paragraph, W_CONTEXTUAL_SPACING, {W_VAL: "0"})

    def _task_state(self, checked: bool) -> str:
        labels = labels_for(self.doc.metadata.language)
        return labels("{state}:", state=labels("Done" if checked else "Not done")) + " "

    def _admonition(self, block: model.Admonition, story: _Story, quote: bool, list_level: int) -> None:
        """A labelled note in a box: every paragraph of it bordered on all sides, which Word
        and LibreOffice draw as one box round consecutive paragraphs bordered alike. Paragraph
        borders, not a one-cell table: a table would be announced as a data table, and a table
        in the note would be a nested table (D3). The label is the first paragraph, bold and
        kept with the text it labels; not a heading, so the document's outline is unchanged."""
        start = len(story.element)
        previous_note = self._last_note
        follows_note = previous_note is not None and start and story.element[start - 1] is previous_note[0]
        style = 1 - previous_note[1] if previous_note is not None and follows_note else 0
        label = self._paragraph(story, "Quote" if quote else None, indent_level=list_level if not quote else 0)
        self._inlines(admonition_title(block, labels_for(self.doc.metadata.language)),
                      story.part, label, bold=True)
        _add_ppr_child(label, W_KEEP_NEXT)
        self._blocks(block.blocks, story, quote, list_level)
        for p in story.element[start:]:
            if p.tag != W_P:
                continue  # a table inside the note keeps its own grid
            ppr = p.find(W_PPR)
            border = ppr.find(W_PBDR) if ppr is not None else None
            if border is None:
                border = _add_ppr_child(p, W_PBDR)
            else:
                # A thematic break's rule just before the note: the box's top line stands for
                # it, as a rule of its own would split the label from the note.
                border.clear()
            for side in (W_TOP, W_LEFT, W_BOTTOM, W_RIGHT):
                SubElement(border, side, ADMONITION_BORDERS[style])
        self._last_note = (story.element[-1], style)

    def _definition_list(self, block: model.DefinitionList, story: _Story, quote: bool, list_level: int) -> None:
        """Each term a bold paragraph kept with its definitions, which follow it indented one
        step: Word has no definition-list structure, and this is how a printed glossary looks."""
        for entry in block.items:
            term = self._paragraph(story, "Quote" if quote else None, indent_level=list_level if not quote else 0)
            self._inlines(entry.term, story.part, term, bold=True)
            _add_ppr_child(term, W_KEEP_NEXT)
            for definition in entry.definitions:
                for child in definition:
                    if isinstance(child, model.Paragraph) and not quote:
                        p = self._paragraph(story, None, indent_level=list_level + 1)
                        self._inlines(child.children, story.part, p)
                    elif isinstance(child, model.ListBlock):
                        # Not a nested list (its level is the lists around it, D11); a first
                        # level's text is indented as far as the definition's.
                        self._block(child, story, quote, list_level)
                    else:
                        self._block(child, story, quote, list_level + 1)

    def _table(self, block: model.Table, story: _Story) -> None:
        columns = len(block.header) or max((len(row) for row in block.rows), default=1)
        if block.caption:
            caption = self._paragraph(story, "Caption")
            self._inlines(block.caption, story.part, caption)
        tbl = CT_Tbl.new_tbl(1 + len(block.rows), columns, Emu(self.text_width))
        story.append(tbl)
        tbl.tblStyle_val = self._style_id("Table Grid")
        rows = (block.header,) + block.rows
        for row_index, (tr, row) in enumerate(zip(tbl.iterchildren(W_TR), rows)):
            row_properties = SubElement(tr, W_TRPR)
            tr.insert(0, row_properties)
            # A row split across pages leaves its first cells empty on one page: rows stay whole.
            SubElement(row_properties, W_CANT_SPLIT)
            if row_index == 0:
                # D2: the header row repeats on every page and is announced as a header.
                SubElement(row_properties, W_TBL_HEADER)
            # A new table's cells are plain (no spans), each holding one empty w:p.
            for tc, source in zip(tr.iterchildren(W_TC), row):
                p = tc.find(W_P)
                if self.profile.honour_cell_alignment and source.align in ("center", "right"):
                    _add_ppr_child(p, W_JC, {W_VAL: source.align})
                self._inlines(source.children, story.part, p, bold=row_index == 0)

    def _image(self, block: model.Image, story: _Story, list_level: int) -> None:
        path = self.doc.image_file(block)
        p = self._paragraph(story, indent_level=list_level)
        r = SubElement(p, W_R)
        try:
            relationship, image = story.part.get_or_add_image(str(path))
        except Exception as error:  # python-docx knows PNG, JPEG, GIF, BMP, TIFF only
            raise WriterError(f"cannot place image {block.src} in Word: {error}",
                              self.doc.source_path, block.line) from error
        # python-docx's add_picture finds the next shape id by scanning every id in the
        # part, once per picture; one counter for body and footnotes is linear and unique.
        cx, cy = image.scaled_dimensions(None, None)
        inline = CT_Inline.new_pic_inline(self._next_shape_id(), relationship, image.filename, cx, cy)
        r.add_drawing(inline)
        extent = inline.extent
        ratio = min(1.0, self._image_width_limit(list_level) / extent.cx,
                    self._image_height_limit() / extent.cy)
        if ratio < 1:
            # Both sides scaled by one ratio: the picture keeps its shape.
            extent.cx, extent.cy = Emu(int(extent.cx * ratio)), Emu(int(extent.cy * ratio))
            ext = inline.find(f".//{qn('a:ext')}")
            ext.set("cx", str(extent.cx))
            ext.set("cy", str(extent.cy))
        # Single line spacing: a 1.15 multiple would make the picture's line taller than the page.
        _add_ppr_child(p, W_SPACING, {W_LINE: "240", W_LINE_RULE: "auto"})
        doc_pr = inline.docPr
        doc_pr.set("descr", "" if block.decorative else block.alt)
        if block.title:
            doc_pr.set("title", block.title)
        if block.decorative:
            ext_list = parse_xml(
                f'<a:extLst {nsdecls("a")}><a:ext uri="{DECORATIVE_EXTENSION_URI}">'
                f'<adec:decorative xmlns:adec="{DECORATIVE_NS}" val="1"/></a:ext></a:extLst>')
            doc_pr.append(ext_list)

    def _image_width_limit(self, list_level: int) -> int:
        return self.text_width - Pt(self.profile.body_size * 2 * list_level)

    def _image_height_limit(self) -> int:
        """The text area's height less room for a heading and the picture's own spacing, so
        that a heading kept with its picture fits on the same page instead of being left alone
        at the foot of the page before."""
        profile = self.profile
        heading = ((profile.body_size + profile.heading_increments[1]) * profile.line_spacing
                   + profile.space_before_heading + profile.space_after)
        return self.text_height - Pt(heading + profile.space_after)

    # ------------------------------------------------------------ table of contents

    def _table_of_contents(self, story: _Story) -> None:
        entries = [b for b in model.walk_blocks(self.doc.blocks)
                   if isinstance(b, model.Heading) and b.level <= self.profile.toc_levels]
        if not entries:
            return
        sdt = parse_xml(
            f'<w:sdt {nsdecls("w")}><w:sdtPr><w:docPartObj><w:docPartGallery w:val="Table of Contents"/>'
            "<w:docPartUnique/></w:docPartObj></w:sdtPr><w:sdtContent/></w:sdt>")
        story.append(sdt)
        content = _Story(sdt.find(W_SDT_CONTENT), story.part)
        label = self._paragraph(content, "TOC Heading")
        _text_run(label, labels_for(self.doc.metadata.language)("Contents"))
        # The cached result lists the headings as links (page numbers come when Word updates
        # the field), so the contents work even in tools that never update fields.
        for index, heading in enumerate(entries):
            p = self._paragraph(content, f"toc {heading.level}")
            if index == 0:
                self._field_part(p, "begin")
                run = SubElement(p, W_R)
                instr = SubElement(run, W_INSTR_TEXT, {XML_SPACE: "preserve"})
                instr.text = f' TOC \\o "1-{self.profile.toc_levels}" \\h \\z \\u '
                self._field_part(p, "separate")
            link = SubElement(p, W_HYPERLINK, {W_ANCHOR: self.bookmarks[heading.id], W_HISTORY: "1"})
            _text_run(link, _plain(model.inline_text(heading.children)))
            if index == len(entries) - 1:
                self._field_part(p, "end")
                _add_ppr_child(p, W_SPACING, {W_AFTER: str(Pt(self.profile.space_after * 2).twips)})

    @staticmethod
    def _field_part(parent, kind: str) -> None:
        run = SubElement(parent, W_R)
        SubElement(run, W_FLD_CHAR, {W_FLD_CHAR_TYPE: kind})

    # ------------------------------------------------------------ footnotes

    def _footnotes_part(self) -> None:
        element = parse_xml(
            f'<w:footnotes {nsdecls("w", "r")}>'
            '<w:footnote w:type="separator" w:id="-1"><w:p><w:pPr><w:spacing w:after="0" w:line="240" w:lineRule="auto"/></w:pPr>'
            '<w:r><w:separator/></w:r></w:p></w:footnote>'
            '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:pPr><w:spacing w:after="0" w:line="240" w:lineRule="auto"/></w:pPr>'
            '<w:r><w:continuationSeparator/></w:r></w:p></w:footnote>'
            "</w:footnotes>")
        package = self.word.part.package
        part = FootnotesPart(PackURI("/word/footnotes.xml"), FOOTNOTES_CONTENT_TYPE, element, package)
        self.word.part.relate_to(part, RT.FOOTNOTES)
        self.footnotes_part = part
        self.footnotes_element = element

    def _footnote(self, footnote: model.Footnote) -> None:
        if self.footnotes_element is None or self.footnotes_part is None:
            raise RuntimeError("_footnotes_part makes the part before the first footnote")
        note = _element("w:footnote", w_id=str(footnote.number))
        self.footnotes_element.append(note)
        story = _Story(note, self.footnotes_part)
        blocks = list(footnote.blocks) or [model.Paragraph(())]
        start = len(note)
        self._blocks(blocks, story)
        for p in note.findall(W_P):
            ppr = p.get_or_add_pPr()
            if ppr.pStyle is None:
                ppr.style = "FootnoteText"
        first = note[start]
        if first.tag != W_P:
            first = _element("w:p")
            note.insert(start, first)
        mark = parse_xml(f'<w:r {nsdecls("w")}><w:rPr><w:rStyle w:val="FootnoteReference"/></w:rPr><w:footnoteRef/></w:r>')
        space = parse_xml(f'<w:r {nsdecls("w")}><w:t xml:space="preserve"> </w:t></w:r>')
        ppr = first.find(W_PPR)
        anchor = ppr if ppr is not None else None
        if anchor is not None:
            anchor.addnext(mark)
        else:
            first.insert(0, mark)
        mark.addnext(space)

    # ------------------------------------------------------------ inlines

    def _run(self, parent, bold: bool, italic: bool, link: bool, style_id: str | None = None,
             content: str | None = None, strike: bool = False):
        """A w:r with its properties and, if given, one empty ``content`` element (w:t, w:br …)
        last; inside a link every run takes the Hyperlink style. Copied from a prototype,
        as paragraphs are."""
        if link:
            style_id = self._style_id("Hyperlink")
        key = (style_id, bold, italic, content, strike)
        prototype = self._run_prototypes.get(key)
        if prototype is None:
            prototype = self._run_prototypes[key] = _run_prototype(*key)
        r = copy.copy(prototype)
        parent.append(r)
        return r

    def _inlines(self, inlines, part, parent, bold=False, italic=False, link=False, strike=False) -> None:
        """Runs for ``inlines`` appended to ``parent``; ``part`` owns any hyperlink relationship."""
        for node in inlines:
            if isinstance(node, model.Text):
                text = _plain(node.text)
                t = self._run(parent, bold, italic, link, content=W_T, strike=strike)[-1]
                t.text = text
                if text != text.strip():
                    t.set(XML_SPACE, "preserve")
            elif isinstance(node, model.Strong):
                self._inlines(node.children, part, parent, True, italic, link, strike)
            elif isinstance(node, model.Emphasis):
                if self.profile.emphasis_as_bold:
                    self._inlines(node.children, part, parent, True, False, link, strike)
                else:
                    self._inlines(node.children, part, parent, bold, True, link, strike)
            elif isinstance(node, model.Strikethrough):
                # Deleted text stays in the text, struck through (w:strike), in large print too:
                # a strike is not one of the emphases UKAAF rules out (L4).
                self._inlines(node.children, part, parent, bold, italic, link, True)
            elif isinstance(node, model.Span):
                # A passage in another language: w:lang on each of its runs (D6), so that
                # Word's proofing and screen readers switch language for it.
                # Runs are only ever appended, so the passage's are the last ones in order.
                before = sum(1 for _ in parent.iter(W_R))
                self._inlines(node.children, part, parent, bold, italic, link, strike)
                for run in list(parent.iter(W_R))[before:]:
                    rpr = run.find(W_RPR)
                    if rpr is None:
                        rpr = SubElement(run, W_RPR)
                        run.remove(rpr)
                        run.insert(0, rpr)
                    if rpr.find(W_LANG) is None:
                        SubElement(rpr, W_LANG, {W_VAL: node.lang})
            elif isinstance(node, model.Code):
                r = self._run(parent, bold, italic, link, self._style_id("Verbatim Char"), strike=strike)
                r.text = node.text  # python-docx's CT_R setter: tabs become w:tab
            elif isinstance(node, model.LineBreak):
                self._run(parent, False, False, link, content=W_BR)
            elif isinstance(node, model.Link):
                self._link(node, part, parent, bold, italic, strike)
            elif isinstance(node, model.FootnoteRef):
                r = self._run(parent, False, False, link, self._style_id("footnote reference"),
                              W_FOOTNOTE_REFERENCE)
                r[-1].set(W_ID, str(node.number))

    def _link(self, node: model.Link, part, parent, bold: bool, italic: bool, strike: bool = False) -> None:
        if node.url.startswith("#"):
            target = self._bookmark_for(node.url[1:])
            hyperlink = SubElement(parent, W_HYPERLINK, {W_ANCHOR: target, W_HISTORY: "1"})
        else:
            rel_id = part.relate_to(node.url, RT.HYPERLINK, is_external=True)
            hyperlink = SubElement(parent, W_HYPERLINK, {R_ID: rel_id, W_HISTORY: "1"})
        if node.title:
            hyperlink.set(W_TOOLTIP, node.title)
        self._inlines(node.children, part, hyperlink, bold, italic, link=True, strike=strike)

    def _bookmark_for(self, anchor_id: str) -> str:
        return self.bookmarks.get(anchor_id) or bookmark_name(anchor_id)


_WHITESPACE = re.compile(r"\s+")


def _plain(text: str) -> str:
    # Source line breaks and runs of spaces are layout, not content (D9).
    if text.isprintable() and "  " not in text:
        # Most text: its only whitespace (ASCII space is the one printable kind) is single
        # spaces already, and this test is several times cheaper than the substitution.
        return text
    return _WHITESPACE.sub(" ", text)


def _add_text(r, text: str) -> None:
    """One w:t; python-docx's text setter handles tabs and breaks a character at a time,
    and _plain has already turned those into spaces."""
    t = SubElement(r, W_T)
    t.text = text
    if text != text.strip():
        t.set(XML_SPACE, "preserve")


def _run_prototype(style_id: str | None, bold: bool, italic: bool, content: str | None, strike: bool = False):
    r = _element("w:r")
    if style_id or bold or italic or strike:
        rpr = SubElement(r, W_RPR)
        if style_id:
            SubElement(rpr, W_RSTYLE, {W_VAL: style_id})
        if bold:
            SubElement(rpr, W_B)
        if italic:
            SubElement(rpr, W_I)
        if strike:
            SubElement(rpr, W_STRIKE)
    if content:
        SubElement(r, content)
    return r


def _text_run(parent, text: str) -> None:
    _add_text(SubElement(parent, W_R), text)


_PPR_ORDER = ("w:pStyle", "w:keepNext", "w:keepLines", "w:pageBreakBefore", "w:framePr", "w:widowControl",
              "w:numPr", "w:suppressLineNumbers", "w:pBdr", "w:shd", "w:tabs", "w:suppressAutoHyphens",
              "w:kinsoku", "w:wordWrap", "w:overflowPunct", "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN",
              "w:bidi", "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing",
              "w:mirrorIndents", "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment",
              "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange")
_PPR_RANK = {qn(tag): rank for rank, tag in enumerate(_PPR_ORDER)}


def _add_ppr_child(p, tag: str, attributes: dict[str, str] | None = None):
    """A new child of p's w:pPr (made first in p if missing), placed in schema order."""
    ppr = p[0] if len(p) and p[0].tag == W_PPR else None
    if ppr is None:
        ppr = SubElement(p, W_PPR)
        p.insert(0, ppr)
    rank = _PPR_RANK[tag]
    successor = next((child for child in ppr if _PPR_RANK.get(child.tag, len(_PPR_RANK)) > rank), None)
    child = SubElement(ppr, tag, attributes or {})
    if successor is not None:
        successor.addprevious(child)
    return child


__all__ = ["StyleProfile", "STANDARD", "large_print_profile", "build_document", "write_docx",
           "bookmark_name"]


# ---------------------------------------------------------------- LibreOffice


TAGGED_PDF_FILTER = ('pdf:writer_pdf_Export:{'
                     '"UseTaggedPDF":{"type":"boolean","value":"true"},'
                     '"PDFUACompliance":{"type":"boolean","value":"true"},'
                     '"ExportBookmarks":{"type":"boolean","value":"true"},'
                     '"UseLosslessCompression":{"type":"boolean","value":"true"}}')


def soffice_command() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _require_soffice() -> str:
    command = soffice_command()
    if command is None:
        raise WriterError("LibreOffice is not installed; install it with: apt-get install libreoffice-writer-nogui")
    return command


def convert_with_libreoffice(source: Path, out_dir: Path, convert_to: str = TAGGED_PDF_FILTER,
                             timeout: float = 180, profile_dir: Path | None = None,
                             update_indexes: bool = False) -> Path:
    """Convert ``source`` with headless LibreOffice; returns the file it wrote.

    LibreOffice runs with its own user profile, never the user's. ``profile_dir`` (in the
    build's cache) is kept from one build to the next, because making a new profile costs
    LibreOffice about half a second on every start; a conversion that finds it in use by
    another, or that fails with it, uses a new private profile instead.

    ``update_indexes``: the table of contents is brought up to date (page numbers) before
    the export, which ``--convert-to`` never does; see ``_export_updating_indexes``.
    """
    # Imported here: building a .docx never runs a program, so it need not load these.
    import fcntl
    import tempfile

    _require_soffice()
    out_dir.mkdir(parents=True, exist_ok=True)
    run = _export_updating_indexes if update_indexes else _run_libreoffice
    if profile_dir is not None:
        profile_dir.parent.mkdir(parents=True, exist_ok=True)
        with open(profile_dir.with_name(profile_dir.name + ".lock"), "a+b") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pass  # another conversion has it: fall through to a private profile
            else:
                group_file = profile_dir.with_name(profile_dir.name + ".pgid")
                _stop_leftover_office(group_file)
                try:
                    result = run(source, out_dir, convert_to, timeout, profile_dir, group_file=group_file)
                except WriterError:
                    shutil.rmtree(profile_dir, ignore_errors=True)  # a timed-out run may leave it half written
                    raise
                target = _converted(source, out_dir, convert_to)
                if result.returncode == 0 and target.is_file():
                    return target
                # perhaps left broken by a killed build: the next build starts a new one
                if profile_dir.is_dir():
                    shutil.rmtree(profile_dir, ignore_errors=True)
                else:
                    profile_dir.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="formatforge-lo-") as profile:
        result = run(source, out_dir, convert_to, timeout, Path(profile))
    target = _converted(source, out_dir, convert_to)
    if result.returncode != 0 or not target.is_file():
        raise WriterError(f"LibreOffice could not convert {source.name}: "
                          f"{(result.stderr or result.stdout).strip()[-2000:] or 'no output written'}")
    return target


def _run_libreoffice(source: Path, out_dir: Path, convert_to: str, timeout: float, profile: Path,
                     arguments: list[str] | None = None, group_file: Path | None = None):
    """Runs soffice in a session of its own, so that on a timeout (or any interruption) the
    whole group goes: the wrapper script, soffice.bin and anything it started. Killing only
    the wrapper left soffice.bin running with the kept profile, and every later export that
    used the profile waited on it."""
    import signal
    import subprocess

    if arguments is None:
        arguments = ["--convert-to", convert_to, "--outdir", str(out_dir), str(source)]
    process = subprocess.Popen(
        [_require_soffice(), f"-env:UserInstallation={profile.resolve().as_uri()}", "--headless", "--norestore",
         "--nolockcheck", *arguments],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "SAL_USE_VCLPLUGIN": "svp"}, start_new_session=True)
    if group_file is not None:
        # read by the next export if this build is killed before LibreOffice ends
        group_file.write_text(str(process.pid), encoding="ascii")
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process.pid, signal.SIGKILL)
        process.communicate()
        what = "the PDF export" if convert_to.startswith("pdf") else f"the LibreOffice conversion of {source.name}"
        raise WriterError(f"{what} took longer than {timeout:g} s; LibreOffice was stopped") from None
    except BaseException:
        _kill_group(process.pid, signal.SIGKILL)
        process.wait()
        raise
    finally:
        # soffice.bin can outlive the wrapper script that started it
        _kill_group(process.pid, signal.SIGKILL)
        if group_file is not None:
            group_file.unlink(missing_ok=True)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _kill_group(group: int, signal_number: int) -> None:
    try:
        os.killpg(group, signal_number)
    except (ProcessLookupError, PermissionError):
        pass


def _stop_leftover_office(group_file: Path) -> None:
    """A LibreOffice left running by a build that was killed, still holding the kept profile."""
    import signal

    try:
        group = int(group_file.read_text(encoding="ascii"))
    except (OSError, ValueError):
        return
    # The number may since have been given to another program: only a LibreOffice is stopped.
    try:
        processes = [p for p in Path("/proc").iterdir() if p.name.isdigit()]
    except OSError:
        processes = []
    for member in processes:
        try:
            if os.getpgid(int(member.name)) != group:
                continue
            command = (member / "cmdline").read_bytes()
        except OSError:  # ended while we looked
            continue
        if b"soffice" in command or b"oosplash" in command:
            _kill_group(group, signal.SIGKILL)
            break
    group_file.unlink(missing_ok=True)


def _converted(source: Path, out_dir: Path, convert_to: str) -> Path:
    return out_dir / f"{source.stem}.{convert_to.split(':', 1)[0]}"


# A Basic macro in the profile's Standard library: LibreOffice has no conversion option that
# updates indexes, and its Python bridge is a separate package (python3-uno) often missing.
# Macros in the application's own library run whatever the macro security level.
MACRO_MODULE = "FormatForge"
_BASIC_LIBRARY = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE library:library PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "library.dtd">
<library:library xmlns:library="http://openoffice.org/2000/library" library:name="Standard" \
library:readonly="false" library:passwordprotected="false">
 <library:element library:name="{module}"/>
</library:library>
"""
_BASIC_EXPORT = """Sub ExportUpdatingIndexes(sourceUrl As String, targetUrl As String)
    On Error GoTo Failed
    Dim load(0) As New com.sun.star.beans.PropertyValue
    load(0).Name = "Hidden"
    load(0).Value = True
    document = StarDesktop.loadComponentFromURL(sourceUrl, "_blank", 0, load())
    indexes = document.getDocumentIndexes()
    REM twice: the first update can lengthen the contents and move the pages after it
    For pass = 1 To 2
        For i = 0 To indexes.getCount() - 1
            indexes.getByIndex(i).update()
        Next i
    Next pass
    document.getTextFields().refresh()
{filter_data}
    Dim store(1) As New com.sun.star.beans.PropertyValue
    store(0).Name = "FilterName"
    store(0).Value = "{filter_name}"
    store(1).Name = "FilterData"
    store(1).Value = filterData()
    document.storeToURL(targetUrl, store())
    document.close(True)
    Exit Sub
Failed:
    REM no output file: the caller reports the failure
End Sub
"""


def _basic_filter_data(options: dict) -> str:
    """Basic statements filling ``filterData()`` from the ``--convert-to`` JSON options."""
    lines = [f"    Dim filterData({len(options) - 1}) As New com.sun.star.beans.PropertyValue"]
    for index, (name, option) in enumerate(options.items()):
        value = str(option["value"])
        if option["type"] == "boolean":
            literal = "True" if value.casefold() == "true" else "False"
        elif option["type"] in ("long", "short", "int"):
            literal = str(int(value))
        else:
            literal = '"' + value.replace('"', '""') + '"'
        lines.append(f'    filterData({index}).Name = "{name}"')
        lines.append(f"    filterData({index}).Value = {literal}")
    return "\n".join(lines)


def _export_updating_indexes(source: Path, out_dir: Path, convert_to: str, timeout: float, profile: Path,
                             group_file: Path | None = None):
    """What ``--convert-to`` does, with every index (the table of contents) updated first.

    The macro goes into the profile's Standard library. LibreOffice rewrites that library
    when it makes a new profile, so a new profile is made first (``--terminate_after_init``)
    and the macro written after."""
    import json

    import lxml.etree

    extension, filter_name, options = (convert_to.split(":", 2) + ["{}"])[:3]
    user = profile / "user"
    if not (user / "registrymodifications.xcu").is_file():
        first = _run_libreoffice(source, out_dir, convert_to, timeout, profile, ["--terminate_after_init"], group_file)
        if first.returncode != 0:
            return first
    library = user / "basic" / "Standard"
    library.mkdir(parents=True, exist_ok=True)
    code = _BASIC_EXPORT.format(filter_data=_basic_filter_data(json.loads(options)), filter_name=filter_name)
    script = "http://openoffice.org/2000/script"
    module = lxml.etree.Element(f"{{{script}}}module", {f"{{{script}}}name": MACRO_MODULE,
                                                        f"{{{script}}}language": "StarBasic"},
                                nsmap={"script": script})
    module.text = code
    (library / f"{MACRO_MODULE}.xba").write_bytes(lxml.etree.tostring(
        module, xml_declaration=True, encoding="UTF-8",
        doctype='<!DOCTYPE script:module PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "module.dtd">'))
    (library / "script.xlb").write_text(_BASIC_LIBRARY.format(module=MACRO_MODULE), encoding="utf-8")
    target = out_dir / f"{source.stem}.{extension}"
    # file URLs: percent-encoded, so no quote or comma in a path can break the macro call
    call = (f'macro:///Standard.{MACRO_MODULE}.ExportUpdatingIndexes('
            f'"{source.resolve().as_uri()}","{target.resolve().as_uri()}")')
    return _run_libreoffice(source, out_dir, convert_to, timeout, profile, [call], group_file)
