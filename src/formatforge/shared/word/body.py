"""The document model as the body of a Word document: paragraphs, runs, lists, tables, pictures,
hyperlinks, bookmarks, footnotes and the table of contents field.

Built element by element with lxml under python-docx's parts (see ``oxml.py``), several times
faster than going through python-docx's proxy objects on a long document. The look comes from
a ``StyleProfile`` (``styles.py``); the package around the body from ``package.py``.
"""

from __future__ import annotations

import copy
import re

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.oxml.shape import CT_Inline
from docx.oxml.table import CT_Tbl
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.shared import Emu, Pt
from lxml import etree
from lxml.etree import SubElement

from ... import model
from ...errors import WriterError
from ...labels import admonition_title, labels_for
from .oxml import (R_ID, W_AFTER, W_ANCHOR, W_BEFORE, W_BOOKMARK_END, W_BOOKMARK_START, W_BOTTOM, W_BR,
                   W_CANT_SPLIT, W_COLOR, W_CONTEXTUAL_SPACING, W_FLD_CHAR, W_FLD_CHAR_TYPE,
                   W_FOOTNOTE_REFERENCE, W_HISTORY, W_HYPERLINK, W_ID, W_ILVL, W_IND, W_INSTR_TEXT, W_JC,
                   W_KEEP_NEXT, W_LANG, W_LEFT, W_LINE, W_LINE_RULE, W_NAME, W_NUMID, W_NUMPR, W_P, W_PBDR,
                   W_PPR, W_PSTYLE, W_R, W_RIGHT, W_RPR, W_SDT_CONTENT, W_SECTPR, W_SPACE, W_SPACING, W_SZ,
                   W_T, W_TBL_HEADER, W_TC, W_TOOLTIP, W_TOP, W_TR, W_TRPR, W_VAL, XML_SPACE, add_ppr_child,
                   element, plain, run_prototype, text_run)
from .package import (FootnotesPart, add_footnotes_part, drop_template_thumbnail, new_document,
                      set_core_properties)
from .styles import Numbering, StyleProfile, Styles, apply_settings, set_up_pages

DECORATIVE_EXTENSION_URI = "{C183D7F6-B498-43B3-948B-1728B52AA6E4}"
DECORATIVE_NS = "http://schemas.microsoft.com/office/drawing/2017/decorative"

# The box round an admonition: a 1.5 pt line, 4 pt from the text, on all four sides. Word and
# LibreOffice draw consecutive paragraphs bordered alike as one box, so a note that directly
# follows another is drawn with a 2¼ pt line: two boxes, not one. (A different distance from
# the text is not enough: LibreOffice still joins the boxes.)
ADMONITION_BORDERS = tuple({W_VAL: "single", qn("w:sz"): size, qn("w:space"): "4", qn("w:color"): "auto"}
                           for size in ("12", "18"))


def build_document(document: model.Document, profile: StyleProfile) -> docx.document.Document:
    return _Builder(document, profile).build()


def bookmark_name(anchor_id: str) -> str:
    """Word bookmark names: a letter first, letters, digits and underscores, ≤ 40 characters."""
    name = re.sub(r"\W", "_", anchor_id, flags=re.ASCII)
    if not name or not name[0].isalpha():
        name = "h_" + name
    return name[:40]


def plan_bookmarks(document: model.Document) -> dict[str, str]:
    """Each heading's Word bookmark name, by heading id."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for block in model.walk_blocks(document.blocks):
        if isinstance(block, model.Heading):
            name = base = bookmark_name(block.id)
            counter = 1
            while name in taken:
                counter += 1
                name = f"{base[:36]}_{counter}"
            taken.add(name)
            names.setdefault(block.id, name)
    return names


def contents_headings(document: model.Document, profile: StyleProfile) -> list[model.Heading]:
    """The headings the table of contents lists, in its order."""
    return [block for block in model.walk_blocks(document.blocks)
            if isinstance(block, model.Heading) and block.level <= profile.toc_levels]


def contents_bookmarks(document: model.Document, profile: StyleProfile) -> list[str]:
    """The bookmarks of the headings the table of contents lists, in its order."""
    names = plan_bookmarks(document)
    return [names[heading.id] for heading in contents_headings(document, profile)]


class _Story:
    """Where new blocks go (the body, a footnote) and which part owns its relationships."""

    def __init__(self, element, part):
        self.element = element
        self.part = part

    def append(self, node) -> None:
        self.element.append(node)


class _Builder:
    def __init__(self, document: model.Document, profile: StyleProfile):
        self.doc = document
        self.profile = profile
        self.language = document.metadata.language or "en-GB"
        self.word = new_document()
        self.styles = Styles(self.word)
        self.bookmark_id = 0
        self.last_paragraph = None
        self.bookmarks: dict[str, str] = {}  # heading id → Word bookmark name
        self.bookmarked: set[str] = set()
        self.footnotes_element: BaseOxmlElement | None = None  # both made when the document has footnotes
        self.footnotes_part: FootnotesPart | None = None
        self.text_width = 0  # EMU between the margins, set with the page
        self.text_height = 0
        self._last_note: tuple[etree._Element, int] | None = None  # (its last element, its border number)
        self._paragraph_prototypes: dict[tuple, etree._Element] = {}
        self._run_prototypes: dict[tuple, etree._Element] = {}

    def build(self) -> docx.document.Document:
        # In this order: each step adds to python-docx's template, and the order of what is
        # added (relationship ids, style and list ids) is part of the bytes.
        set_core_properties(self.word, self.doc.metadata)
        self.text_width, self.text_height = set_up_pages(self.word, self.profile, self.styles)
        self.styles.apply(self.profile, self.language)
        apply_settings(self.word, self.language, has_footnotes=bool(self.doc.footnotes))
        self.numbering = Numbering(self.word, self.profile)
        drop_template_thumbnail(self.word)
        self.bookmarks = plan_bookmarks(self.doc)
        if self.doc.footnotes:
            self.footnotes_part, self.footnotes_element = add_footnotes_part(self.word)
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

    # ------------------------------------------------------------ blocks

    def _next_shape_id(self) -> int:
        if not hasattr(self, "_last_shape_id"):
            taken = [int(v) for v in self.word.element.xpath("//@id") if v.isdigit()]
            self._last_shape_id = max(taken, default=0)
        self._last_shape_id += 1
        return self._last_shape_id

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
        p = element("w:p")
        if style or indent_level or numbered:
            ppr = SubElement(p, W_PPR)
            if style:
                SubElement(ppr, W_PSTYLE, {W_VAL: self.styles.style_id(style)})
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
            add_ppr_child(before, W_KEEP_NEXT)
        p = self._paragraph(story)
        border = add_ppr_child(p, W_PBDR)
        SubElement(border, W_BOTTOM, {W_VAL: "single", W_SZ: "12", W_SPACE: "1", W_COLOR: "auto"})
        add_ppr_child(p, W_SPACING, {W_BEFORE: "0", W_AFTER: str(Pt(self.profile.space_after * 1.5).twips),
                                      W_LINE: "240", W_LINE_RULE: "auto"})
        side = str(int(self.text_width / 635 / 3))  # EMU to twips; the middle third of the line
        add_ppr_child(p, W_IND, {W_LEFT: side, W_RIGHT: side})

    def _list(self, block: model.ListBlock, story: _Story, quote: bool, list_level: int) -> None:
        num_id = str(self.numbering.new_list(block.ordered, block.start))
        level = str(min(list_level, 8))
        for item in block.items:
            first = True
            if item.checked is not None and not (item.blocks and isinstance(item.blocks[0], model.Paragraph)):
                # A task item that opens with no paragraph still gets its number and its state.
                p = self._paragraph(story, "List Paragraph", numbering=(level, num_id))
                text_run(p, self._task_state(item.checked).rstrip())
                first = False
            for child in item.blocks:
                if first and isinstance(child, model.Paragraph):
                    p = self._paragraph(story, "List Paragraph", numbering=(level, num_id))
                    if item.checked is not None:
                        text_run(p, self._task_state(item.checked))
                    self._inlines(child.children, story.part, p)
                else:
                    self._block(child, story, quote, list_level + 1)
                first = False
        if list_level == 0 and self.last_paragraph is not None:
            # List Paragraph packs items together; the list as a whole keeps its space after.
            add_ppr_child(self.last_paragraph, W_CONTEXTUAL_SPACING, {W_VAL: "0"})

    def _task_state(self, checked: bool) -> str:
        """A task list item's state, said in words before its text ("Done:", "Not done:" in the
        language's labels). Not "☑"/"☐": those are U+2611 BALLOT BOX WITH CHECK and U+2610
        BALLOT BOX, which NVDA's English symbol list does not name (only ✓ "check"), so a screen
        reader may say nothing for them, or "ballot box", which is not a state; a word is read
        by every screen reader, braille display and eye."""
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
        add_ppr_child(label, W_KEEP_NEXT)
        self._blocks(block.blocks, story, quote, list_level)
        for p in story.element[start:]:
            if p.tag != W_P:
                continue  # a table inside the note keeps its own grid
            ppr = p.find(W_PPR)
            border = ppr.find(W_PBDR) if ppr is not None else None
            if border is None:
                border = add_ppr_child(p, W_PBDR)
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
            add_ppr_child(term, W_KEEP_NEXT)
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
        tbl.tblStyle_val = self.styles.style_id("Table Grid")
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
                    add_ppr_child(p, W_JC, {W_VAL: source.align})
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
        add_ppr_child(p, W_SPACING, {W_LINE: "240", W_LINE_RULE: "auto"})
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
        entries = contents_headings(self.doc, self.profile)
        if not entries:
            return
        sdt = parse_xml(
            f'<w:sdt {nsdecls("w")}><w:sdtPr><w:docPartObj><w:docPartGallery w:val="Table of Contents"/>'
            "<w:docPartUnique/></w:docPartObj></w:sdtPr><w:sdtContent/></w:sdt>")
        story.append(sdt)
        content = _Story(sdt.find(W_SDT_CONTENT), story.part)
        label = self._paragraph(content, "TOC Heading")
        text_run(label, labels_for(self.doc.metadata.language)("Contents"))
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
            text_run(link, plain(model.inline_text(heading.children)))
            if index == len(entries) - 1:
                self._field_part(p, "end")
                add_ppr_child(p, W_SPACING, {W_AFTER: str(Pt(self.profile.space_after * 2).twips)})

    @staticmethod
    def _field_part(parent, kind: str) -> None:
        run = SubElement(parent, W_R)
        SubElement(run, W_FLD_CHAR, {W_FLD_CHAR_TYPE: kind})

    # ------------------------------------------------------------ footnotes

    def _footnote(self, footnote: model.Footnote) -> None:
        if self.footnotes_element is None or self.footnotes_part is None:
            raise RuntimeError("build() adds the footnotes part before the first footnote")
        note = element("w:footnote", w_id=str(footnote.number))
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
            first = element("w:p")
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
            style_id = self.styles.style_id("Hyperlink")
        key = (style_id, bold, italic, content, strike)
        prototype = self._run_prototypes.get(key)
        if prototype is None:
            prototype = self._run_prototypes[key] = run_prototype(*key)
        r = copy.copy(prototype)
        parent.append(r)
        return r

    def _inlines(self, inlines, part, parent, bold=False, italic=False, link=False, strike=False) -> None:
        """Runs for ``inlines`` appended to ``parent``; ``part`` owns any hyperlink relationship."""
        for node in inlines:
            if isinstance(node, model.Text):
                text = plain(node.text)
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
                r = self._run(parent, bold, italic, link, self.styles.style_id("Verbatim Char"), strike=strike)
                r.text = node.text  # python-docx's CT_R setter: tabs become w:tab
            elif isinstance(node, model.LineBreak):
                self._run(parent, False, False, link, content=W_BR)
            elif isinstance(node, model.Link):
                self._link(node, part, parent, bold, italic, strike)
            elif isinstance(node, model.FootnoteRef):
                r = self._run(parent, False, False, link, self.styles.style_id("footnote reference"),
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
