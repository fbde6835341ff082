"""The document model rendered as XHTML elements (lxml), shared by the EPUB, HTML and DAISY writers.

One renderer, one method per node type. Every block element gets an id that depends only on
the document (headings keep the reader's ids; other blocks are numbered per kind in reading
order, ``p_3``, ``table_1`` …), so a DAISY SMIL file or an audio chapter can point into the
same text whichever writer produced it. Underscores never occur in the reader's heading
slugs, so the numbered ids cannot collide with them.

Elements are always in the XHTML namespace; ``as_html5`` turns a page into plain HTML for
the single-page writer. EPUB-only semantics (``epub:type``) are written only when the
renderer is asked for them; ARIA roles are written for both.

Raw text from the source only ever reaches the tree as element text or attribute values,
so lxml escapes it.

Why one module of about 680 lines: it is one renderer with one small method per node type
of the model, as markdown-it-py renders tokens; its length is the model's breadth.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from lxml import etree

from ..labels import Labels, labels_for
from ..labels import admonition_title as localised_title
from ..model import (
    ADMONITION_LABELS,
    Admonition,
    Block,
    BlockQuote,
    Code,
    CodeBlock,
    DefinitionItem,
    DefinitionList,
    Document,
    Emphasis,
    Footnote,
    FootnoteRef,
    Heading,
    Image,
    Inline,
    LineBreak,
    Link,
    ListBlock,
    ListItem,
    Paragraph,
    DocumentSection,
    Span,
    Strikethrough,
    Strong,
    Table,
    TableCell,
    Text,
    ThematicBreak,
    walk_blocks,
)

# The image types EPUB 3 reading systems must support (core media types); the HTML page
# falls back to the file's guessed type for anything else, the EPUB refuses it.
IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
}

XHTML_NS = "http://www.w3.org/1999/xhtml"
EPUB_NS = "http://www.idpf.org/2007/ops"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
EPUB_TYPE = f"{{{EPUB_NS}}}type"
NSMAP = {None: XHTML_NS, "epub": EPUB_NS}

# Block kinds and the prefix of their numbered ids.
ID_PREFIX: dict[type, str] = {
    Paragraph: "p",
    ListBlock: "list",
    ListItem: "li",
    BlockQuote: "quote",
    Table: "table",
    Image: "fig",
    CodeBlock: "code",
    ThematicBreak: "hr",
    Admonition: "note",
    DefinitionList: "dl",
    DefinitionItem: "dt",
}

# Inlines that hold other inlines.
INLINE_CONTAINERS = (Emphasis, Strong, Strikethrough, Link, Span)

# What a task list item's state is called where a checkbox cannot be shown (DAISY 2.02 text)
# and where the box has no label of its own.
TASK_STATES = {True: "Done", False: "Not done"}

# Elements that are navigation aids added by the renderer, not words of the source.
AID_ROLES = {"doc-noteref", "doc-backlink"}


def tag(name: str) -> str:
    return f"{{{XHTML_NS}}}{name}"


def element(name: str, attrib: dict[str, str] | None = None, text: str | None = None) -> etree._Element:
    el = etree.Element(tag(name), attrib or {}, nsmap=NSMAP)
    if text:
        el.text = text
    return el


def sub(parent: etree._Element, name: str, attrib: dict[str, str] | None = None, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, tag(name), attrib or {})
    if text:
        el.text = text
    return el


def append_text(parent: etree._Element, text: str) -> None:
    """Adds text after the last child (lxml keeps mixed content in ``text`` and ``tail``)."""
    if not text:
        return
    if len(parent):
        last = parent[-1]
        last.tail = (last.tail or "") + text
    else:
        parent.text = (parent.text or "") + text


def admonition_label(block: Admonition, labels: Labels | None = None) -> tuple[Inline, ...]:
    """The label of a note: its title, or the kind's name (in the document's language) when
    the title is empty or the reader's English default."""
    return localised_title(block, labels or labels_for("en"))


def footnote_id(number: int) -> str:
    return f"fn-{number}"


def noteref_id(number: int, occurrence: int = 1) -> str:
    return f"fnref-{number}" if occurrence == 1 else f"fnref-{number}-{occurrence}"


def footnote_numbers_in(blocks: Iterable[Block]) -> list[int]:
    """Footnote numbers referenced in ``blocks``, first reference order, each once."""
    seen: dict[int, None] = {}

    def visit(inlines: Iterable[Inline]) -> None:
        for node in inlines:
            if isinstance(node, FootnoteRef):
                seen.setdefault(node.number)
            elif isinstance(node, INLINE_CONTAINERS):
                visit(node.children)

    for block in walk_blocks(tuple(blocks)):
        if isinstance(block, (Heading, Paragraph)):
            visit(block.children)
        elif isinstance(block, Admonition):
            visit(block.title)
        elif isinstance(block, DefinitionList):
            # walk_blocks opens the definitions but the terms are inlines of the list's own.
            for entry in block.items:
                visit(entry.term)
        elif isinstance(block, Table):
            visit(block.caption)
            for row in (block.header, *block.rows):
                for cell in row:
                    visit(cell.children)
    return list(seen)


def footnotes_by_section(document: Document, sections: list[DocumentSection]) -> list[list[Footnote]]:
    """Which footnotes close which section: each after the section that first cites it,
    uncited ones after the last section, so the notes still come in number order."""
    by_number = {fn.number: fn for fn in document.footnotes}
    placed: set[int] = set()
    result: list[list[Footnote]] = []
    for section in sections:
        notes = [by_number[n] for n in footnote_numbers_in(section.blocks) if n in by_number and n not in placed]
        placed.update(fn.number for fn in notes)
        result.append(notes)
    if result:
        result[-1].extend(fn for fn in document.footnotes if fn.number not in placed)
    return result


@dataclass
class HeadingEntry:
    heading: Heading
    children: list["HeadingEntry"] = field(default_factory=list)


def heading_tree(headings: Iterable[Heading]) -> list[HeadingEntry]:
    """Headings nested by level; a skipped level nests one step, never leaves a gap."""
    roots: list[HeadingEntry] = []
    stack: list[HeadingEntry] = []
    for heading in headings:
        entry = HeadingEntry(heading)
        while stack and stack[-1].heading.level >= heading.level:
            stack.pop()
        (stack[-1].children if stack else roots).append(entry)
        stack.append(entry)
    return roots


class XhtmlRenderer:
    """Renders model nodes as XHTML elements.

    ``image_src`` gives the ``src`` for an image (a path in the EPUB, a data URI in HTML);
    ``resolve`` turns a fragment id into an href, or None when it does not resolve (the link
    then keeps its text but is no longer a link).
    """

    def __init__(
        self,
        document: Document,
        *,
        epub: bool,
        image_src: Callable[[Image], str],
        resolve: Callable[[str], str | None],
    ):
        self.document = document
        self.labels = labels_for(document.metadata.language)
        self.epub = epub
        self.image_src = image_src
        self.resolve = resolve
        self.block_ids = self._number_blocks()
        self._noteref_count: dict[int, int] = {}
        # Each renderer takes exactly the node type it is keyed by; a dict cannot say that pairing
        # to the type checker, so the argument is Any here and the dispatch looks up type(node).
        self._block_renderers: dict[type, Callable[[Any], etree._Element]] = {
            Heading: self.heading,
            Paragraph: self.paragraph,
            ListBlock: self.list_block,
            BlockQuote: self.block_quote,
            Table: self.table,
            Image: self.figure,
            CodeBlock: self.code_block,
            ThematicBreak: self.thematic_break,
            Admonition: self.admonition,
            DefinitionList: self.definition_list,
        }
        self._inline_renderers: dict[type, Callable[[etree._Element, Any], None]] = {
            Text: self.text,
            Emphasis: self.emphasis,
            Strong: self.strong,
            Strikethrough: self.strikethrough,
            Span: self.span,
            Code: self.code,
            Link: self.link,
            LineBreak: self.line_break,
            FootnoteRef: self.footnote_ref,
        }

    # ------------------------------------------------------------ ids

    def _number_blocks(self) -> dict[int, str]:
        """Ids for every block (keyed by object identity: equal paragraphs are still two)."""
        used = {b.id for b in walk_blocks(self.document.all_blocks()) if isinstance(b, Heading)}
        counters: dict[str, int] = {}
        ids: dict[int, str] = {}

        def number(node: object) -> None:
            if isinstance(node, Heading):
                ids[id(node)] = node.id
                return
            prefix = ID_PREFIX[type(node)]
            while True:
                counters[prefix] = counters.get(prefix, 0) + 1
                candidate = f"{prefix}_{counters[prefix]}"
                if candidate not in used:
                    break
            used.add(candidate)
            ids[id(node)] = candidate

        def visit(blocks: Iterable[Block]) -> None:
            for block in blocks:
                number(block)
                if isinstance(block, ListBlock):
                    for item in block.items:
                        number(item)
                        visit(item.blocks)
                elif isinstance(block, (BlockQuote, Admonition)):
                    visit(block.blocks)
                elif isinstance(block, DefinitionList):
                    for entry in block.items:
                        number(entry)
                        for definition in entry.definitions:
                            visit(definition)

        visit(self.document.blocks)
        for footnote in self.document.footnotes:
            visit(footnote.blocks)
        return ids

    def id_of(self, node: Block | ListItem | DefinitionItem) -> str:
        return self.block_ids[id(node)]

    def _epub_type(self, el: etree._Element, value: str) -> None:
        if self.epub:
            el.set(EPUB_TYPE, value)

    # ------------------------------------------------------------ blocks

    def blocks(self, blocks: Iterable[Block]) -> list[etree._Element]:
        return [self.block(b) for b in blocks]

    def block(self, block: Block) -> etree._Element:
        return self._block_renderers[type(block)](block)

    def heading(self, block: Heading) -> etree._Element:
        el = element(f"h{min(max(block.level, 1), 6)}", {"id": block.id})
        self.inline_content(el, block, block.children)
        return el

    def paragraph(self, block: Paragraph) -> etree._Element:
        el = element("p", {"id": self.id_of(block)})
        self.inline_content(el, block, block.children)
        return el

    def list_block(self, block: ListBlock) -> etree._Element:
        el = element("ol" if block.ordered else "ul", {"id": self.id_of(block)})
        if block.ordered and block.start != 1:
            el.set("start", str(block.start))
        for item in block.items:
            # Paragraphs stay paragraphs even in a tight list, so that every model block is
            # one element with its own id (the stylesheet removes their margins).
            li = sub(el, "li", {"id": self.id_of(item)})
            li.extend(self.blocks(item.blocks))
            if item.checked is not None:
                self.task_box(li, item.checked)
                li.set("class", "task-item")
                # The stylesheet hides task items' bullets (the box stands for them), and
                # WebKit then drops the list's semantics: the role keeps them.
                el.set("role", "list")
        return el

    def task_box(self, li: etree._Element, checked: bool) -> None:
        """A task item's state as a disabled checkbox, labelled by the item's text: the
        label wraps the box and the first paragraph's content, so the box's accessible name
        is the task and a click on the words does not reach a box that cannot change."""
        box = element("input", {"type": "checkbox", "disabled": "disabled"})
        if checked:
            box.set("checked", "checked")
        first = li[0] if len(li) and li[0].tag == tag("p") else None
        if first is None:
            # An item that starts with no paragraph has no words to name the box.
            box.set("aria-label", self.labels(TASK_STATES[checked]))
            box.tail = li.text
            li.text = None
            li.insert(0, box)
            return
        label = element("label")
        box.tail = " " + (first.text or "")
        first.text = None
        label.append(box)
        label.extend(list(first))
        first.append(label)

    def block_quote(self, block: BlockQuote) -> etree._Element:
        el = element("blockquote", {"id": self.id_of(block)})
        el.extend(self.blocks(block.blocks))
        return el

    def admonition(self, block: Admonition) -> etree._Element:
        """A labelled note: an ``aside`` with role ``note``, named by its label paragraph
        (a paragraph, not a heading, so that the outline and the contents stay the author's)."""
        aside_id = self.id_of(block)
        kind = block.kind if block.kind in ADMONITION_LABELS else "note"
        el = element("aside", {"id": aside_id, "class": f"admonition admonition-{kind}", "role": "note"})
        title = sub(el, "p", {"id": f"{aside_id}_title", "class": "admonition-title"})
        self.admonition_title(title, block)
        el.set("aria-labelledby", title.get("id"))
        el.extend(self.blocks(block.blocks))
        return el

    def admonition_title(self, parent: etree._Element, block: Admonition) -> None:
        self.inlines(parent, admonition_label(block, self.labels))

    def definition_list(self, block: DefinitionList) -> etree._Element:
        el = element("dl", {"id": self.id_of(block)})
        for entry in block.items:
            dt = sub(el, "dt", {"id": self.id_of(entry)})
            self.definition_term(dt, entry)
            for definition in entry.definitions:
                sub(el, "dd").extend(self.blocks(definition))
        return el

    def definition_term(self, parent: etree._Element, entry: DefinitionItem) -> None:
        self.inlines(parent, entry.term)

    def table(self, block: Table) -> etree._Element:
        el = element("table", {"id": self.id_of(block)})
        if block.caption:
            self.inlines(sub(el, "caption"), block.caption)
        if block.header:
            row = sub(sub(el, "thead"), "tr")
            for cell in block.header:
                self.table_cell(row, "th", cell, {"scope": "col"})
        body = sub(el, "tbody")
        for cells in block.rows:
            row = sub(body, "tr")
            for cell in cells:
                self.table_cell(row, "td", cell, {})
        return el

    def table_cell(self, row: etree._Element, name: str, cell: TableCell, attrib: dict[str, str]) -> None:
        el = sub(row, name, attrib)
        if cell.align in ("left", "center", "right"):
            el.set("class", f"align-{cell.align}")
        self.inlines(el, cell.children)

    def figure(self, block: Image) -> etree._Element:
        el = element("figure", {"id": self.id_of(block)})
        img = sub(el, "img", {"src": self.image_src(block)})
        if block.decorative:
            img.set("alt", "")
            img.set("role", "presentation")
        elif block.alt:
            img.set("alt", block.alt)
        # else: no alt attribute at all, so that checkers report the missing text
        # alternative instead of taking the image for a decorative one.
        if block.title:
            sub(el, "figcaption", text=block.title)
        return el

    def code_block(self, block: CodeBlock) -> etree._Element:
        el = element("pre", {"id": self.id_of(block)})
        code = sub(el, "code")
        if block.language:
            code.set("class", f"language-{block.language}")
        self.inline_content(code, block, (Text(block.text),))
        return el

    def thematic_break(self, block: ThematicBreak) -> etree._Element:
        return element("hr", {"id": self.id_of(block)})

    def footnote(self, footnote: Footnote) -> etree._Element:
        """An EPUB 3 footnote: an ``aside`` that starts with a numbered link back to the
        first reference to it."""
        el = element("aside", {"id": footnote_id(footnote.number), "role": "doc-footnote"})
        self._epub_type(el, "footnote")
        children = self.blocks(footnote.blocks) or [element("p")]
        first = children[0] if children[0].tag == tag("p") else None
        if first is None:
            first = element("p")
            children.insert(0, first)
        back = element("a", {"role": "doc-backlink", "aria-label": self.labels("Back to reference {number}", number=footnote.number)})
        back.text = str(footnote.number)
        href = self.resolve(noteref_id(footnote.number))
        if href:
            back.set("href", href)
        back.tail = ". " + (first.text or "")
        first.text = None
        first.insert(0, back)
        el.extend(children)
        return el

    # ------------------------------------------------------------ inlines

    def inline_content(
        self, parent: etree._Element, block: Heading | Paragraph | CodeBlock, inlines: tuple[Inline, ...]
    ) -> None:
        """The text of a heading, a paragraph or a code block (whose text comes as one
        ``Text``) into ``parent``: the one place where a subclass may mark up more than the
        inlines say, such as the sentences a narration reads."""
        self.inlines(parent, inlines)

    def inlines(self, parent: etree._Element, inlines: Iterable[Inline]) -> None:
        for node in inlines:
            self._inline_renderers[type(node)](parent, node)

    def text(self, parent: etree._Element, node: Text) -> None:
        append_text(parent, node.text)

    def emphasis(self, parent: etree._Element, node: Emphasis) -> None:
        self.inlines(sub(parent, "em"), node.children)

    def strong(self, parent: etree._Element, node: Strong) -> None:
        self.inlines(sub(parent, "strong"), node.children)

    def strikethrough(self, parent: etree._Element, node: Strikethrough) -> None:
        self.inlines(sub(parent, "del"), node.children)

    def span(self, parent: etree._Element, node: Span) -> None:
        """A passage in another language: lang (and xml:lang in EPUB's XHTML, E8)."""
        el = sub(parent, "span", {"lang": node.lang})
        if self.epub:
            el.set(XML_LANG, node.lang)
        self.inlines(el, node.children)

    def code(self, parent: etree._Element, node: Code) -> None:
        sub(parent, "code", text=node.text)

    def link(self, parent: etree._Element, node: Link) -> None:
        href = self.link_href(node.url)
        el = sub(parent, "a" if href else "span")
        if href:
            el.set("href", href)
        if node.title:
            el.set("title", node.title)
        self.inlines(el, node.children)

    def link_href(self, url: str) -> str | None:
        """External links stay as they are; ``#fragment`` links go where the fragment is;
        links to local files are dropped (they would not exist beside the output)."""
        if url.startswith("#"):
            return self.resolve(url[1:])
        if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", url):
            return url
        return None

    def line_break(self, parent: etree._Element, node: LineBreak) -> None:
        sub(parent, "br")

    def footnote_ref(self, parent: etree._Element, node: FootnoteRef) -> None:
        occurrence = self._noteref_count.get(node.number, 0) + 1
        self._noteref_count[node.number] = occurrence
        sup = sub(parent, "sup")
        a = sub(sup, "a", {"id": noteref_id(node.number, occurrence), "role": "doc-noteref"}, str(node.number))
        self._epub_type(a, "noteref")
        href = self.resolve(footnote_id(node.number))
        if href:
            a.set("href", href)

    # ------------------------------------------------------------ sections and navigation

    def section(self, section: DocumentSection, footnotes: Iterable[Footnote], chapter: bool) -> etree._Element:
        el = element("section")
        if section.heading is not None:
            el.set("aria-labelledby", section.heading.id)
        if chapter and self.epub:
            el.set(EPUB_TYPE, "chapter")
            el.set("role", "doc-chapter")
        el.extend(self.blocks(section.blocks))
        el.extend(self.footnote(fn) for fn in footnotes)
        return el

    def toc_list(self, entries: list[HeadingEntry]) -> etree._Element:
        ol = element("ol")
        for entry in entries:
            li = sub(ol, "li")
            href = self.resolve(entry.heading.id)
            label = sub(li, "a" if href else "span")
            if href:
                label.set("href", href)
            # Footnote marks stay out of the contents: only the heading's words.
            self.inlines(label, [n for n in entry.heading.children if not isinstance(n, FootnoteRef)])
            if entry.children:
                li.append(self.toc_list(entry.children))
        return ol


def page(title: str, language: str, *, head: Iterable[etree._Element] = (), epub: bool) -> tuple[etree._Element, etree._Element]:
    """An empty XHTML page: returns (html, body)."""
    html = element("html", {"lang": language})
    if epub:
        html.set(XML_LANG, language)
    head_el = sub(html, "head")
    sub(head_el, "meta", {"charset": "utf-8"})
    sub(head_el, "title", text=title)
    head_el.extend(head)
    body = sub(html, "body")
    return html, body


def xhtml_bytes(html: etree._Element) -> bytes:
    """Serialised XHTML for an EPUB content document."""
    return etree.tostring(html, xml_declaration=True, encoding="utf-8", doctype="<!DOCTYPE html>") + b"\n"


def as_html5(root: etree._Element) -> etree._Element:
    """A copy of an XHTML tree without namespaces, EPUB attributes or ``xml:lang``, to be
    serialised with lxml's HTML method (void elements, no self-closed ``<td/>``)."""

    def convert(el: etree._Element) -> etree._Element:
        name = etree.QName(el).localname
        attrib = {k: v for k, v in el.attrib.items() if not k.startswith("{")}
        out = etree.Element(name, attrib)
        out.text = el.text
        out.tail = el.tail
        out.extend(convert(child) for child in el if isinstance(child.tag, str))
        return out

    return convert(root)


# ---------------------------------------------------------------- reading text back


def reading_text(root: etree._Element) -> tuple[str, str]:
    """The words a reader meets in rendered XHTML or HTML: (body text, footnote text).

    Navigation aids the renderer added (note numbers, back links) and figure captions taken
    from image titles are left out; an image counts as its alt text. Footnotes are returned
    apart because the model lists them after the body, while pages place them after the
    section that cites them.
    """
    body_parts: list[str] = []
    note_parts: list[str] = []

    def local(el: etree._Element) -> str:
        return etree.QName(el).localname if isinstance(el.tag, str) else ""

    def visit(el: etree._Element, out: list[str]) -> None:
        name = local(el)
        if name in ("script", "style", "head", "figcaption") or el.get("role") in AID_ROLES:
            return
        if name == "aside" and el.get("role") == "doc-footnote":
            out = note_parts
        if name == "img":
            out.append(" " + (el.get("alt") or "") + " ")
        if name in BLOCK_NAMES:
            out.append("\n")
        if el.text:
            out.append(el.text)
        for child in el:
            if isinstance(child.tag, str):
                visit(child, out)
            if child.tail:
                out.append(child.tail)
        if name in BLOCK_NAMES:
            out.append("\n")

    visit(root, body_parts)
    return "".join(body_parts), "".join(note_parts)


BLOCK_NAMES = {
    "p", "li", "td", "th", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote",
    "figure", "section", "aside", "div", "br", "caption", "table", "ul", "ol", "nav", "main",
}


def constructs_in(document: Document) -> set[str]:
    """Which of the constructs that need styles of their own the document uses
    ("admonition", "task", "definitions", "deleted"): a stylesheet carries only the rules
    its book needs, so books without them keep their bytes."""
    found: set[str] = set()

    def visit(inlines: Iterable[Inline]) -> None:
        for node in inlines:
            if isinstance(node, Strikethrough):
                found.add("deleted")
            if isinstance(node, INLINE_CONTAINERS):
                visit(node.children)

    for block in walk_blocks(document.all_blocks()):
        if isinstance(block, Admonition):
            found.add("admonition")
            visit(block.title)
        elif isinstance(block, DefinitionList):
            found.add("definitions")
            for entry in block.items:
                visit(entry.term)
        elif isinstance(block, ListBlock) and any(item.checked is not None for item in block.items):
            found.add("task")
        elif isinstance(block, (Heading, Paragraph)):
            visit(block.children)
        elif isinstance(block, Table):
            visit(block.caption)
            for row in (block.header, *block.rows):
                for cell in row:
                    visit(cell.children)
    return found


def construct_styles(document: Document, rules: dict[str, str]) -> str:
    """The rules (by construct name, as ``constructs_in`` names them) that the document needs."""
    used = constructs_in(document)
    return "".join(rules[name] for name in ("admonition", "task", "definitions", "deleted") if name in used and name in rules)


def iter_headings(blocks: Iterable[Block]) -> Iterator[Heading]:
    return (b for b in blocks if isinstance(b, Heading))
