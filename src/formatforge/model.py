"""The document model: the one typed tree that every writer consumes.

The reader builds it once from the Markdown master; writers only read it. Every block keeps
the source line it came from so that checks and errors can say ``file:line``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Union

from .errors import WriterError

# ---------------------------------------------------------------- inlines


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Emphasis:
    children: tuple["Inline", ...]


@dataclass(frozen=True)
class Strong:
    children: tuple["Inline", ...]


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class Link:
    children: tuple["Inline", ...]
    url: str
    title: str = ""


@dataclass(frozen=True)
class Strikethrough:
    """Deleted text (GFM ``~~old~~``): shown struck through, said and brailled as deleted."""

    children: tuple["Inline", ...]


@dataclass(frozen=True)
class Span:
    """A passage in another language than the document's (``[Croeso]{lang=cy}``, or every
    inline of a ``::: {lang=cy}`` block): ``lang`` is a BCP 47 tag. Screens mark it
    (lang, xml:lang, w:lang), braille switches table and the narration voice."""

    children: tuple["Inline", ...]
    lang: str


@dataclass(frozen=True)
class LineBreak:
    pass


@dataclass(frozen=True)
class FootnoteRef:
    """A reference to ``Document.footnotes[number - 1]``."""

    number: int
    label: str


Inline = Union[Text, Emphasis, Strong, Strikethrough, Code, Link, LineBreak, FootnoteRef, Span]

# ---------------------------------------------------------------- blocks


@dataclass(frozen=True)
class Heading:
    level: int
    children: tuple[Inline, ...]
    id: str
    line: int = 0


@dataclass(frozen=True)
class Paragraph:
    children: tuple[Inline, ...]
    line: int = 0


@dataclass(frozen=True)
class ListItem:
    """One item of a list. ``checked`` is None for an ordinary item; True or False for a
    task list item (GFM ``- [x]`` / ``- [ ]``), done or not done."""

    blocks: tuple["Block", ...]
    line: int = 0
    checked: bool | None = None


@dataclass(frozen=True)
class ListBlock:
    ordered: bool
    items: tuple[ListItem, ...]
    start: int = 1
    line: int = 0


@dataclass(frozen=True)
class BlockQuote:
    blocks: tuple["Block", ...]
    line: int = 0


@dataclass(frozen=True)
class TableCell:
    children: tuple[Inline, ...]
    align: str = ""  # "", "left", "center" or "right"


@dataclass(frozen=True)
class Table:
    header: tuple[TableCell, ...]
    rows: tuple[tuple[TableCell, ...], ...]
    caption: tuple[Inline, ...] = ()
    line: int = 0


@dataclass(frozen=True)
class Image:
    """A figure: an image standing as a block of its own.

    ``src`` is relative to the source file's folder, as written in the master; the reader
    has already checked that it stays inside that folder. An empty ``alt`` means the
    author gave none (source rule M3); ``decorative`` marks an image meant to be skipped.
    """

    src: str
    alt: str
    title: str = ""
    decorative: bool = False
    line: int = 0


@dataclass(frozen=True)
class CodeBlock:
    text: str
    language: str = ""
    line: int = 0


@dataclass(frozen=True)
class ThematicBreak:
    line: int = 0


ADMONITION_LABELS = {
    "note": "Note",
    "tip": "Tip",
    "important": "Important",
    "warning": "Warning",
    "caution": "Caution",
    "attention": "Attention",
    "danger": "Danger",
    "error": "Error",
    "hint": "Hint",
    "seealso": "See also",
    "admonition": "Note",
}


@dataclass(frozen=True)
class Admonition:
    """A labelled note set apart from the text: a GitHub alert (``> [!NOTE]``), a MyST
    ```` ```{note} ```` directive or a ``:::`` fence.

    ``kind`` is one of ``ADMONITION_LABELS``' keys; ``title`` is the label readers see
    (the kind's label unless the author gave a title of their own).
    """

    kind: str
    title: tuple["Inline", ...]
    blocks: tuple["Block", ...]
    line: int = 0


@dataclass(frozen=True)
class DefinitionItem:
    """A term and its definitions (each definition a run of blocks)."""

    term: tuple["Inline", ...]
    definitions: tuple[tuple["Block", ...], ...]
    line: int = 0


@dataclass(frozen=True)
class DefinitionList:
    items: tuple[DefinitionItem, ...]
    line: int = 0


Block = Union[
    Heading, Paragraph, ListBlock, BlockQuote, Table, Image, CodeBlock, ThematicBreak, Admonition, DefinitionList
]


@dataclass(frozen=True)
class Footnote:
    number: int
    label: str
    blocks: tuple[Block, ...]
    line: int = 0


# ---------------------------------------------------------------- document


@dataclass(frozen=True)
class Metadata:
    title: str
    language: str
    subtitle: str = ""
    author: str = ""
    publisher: str = ""
    date: str = ""  # ISO 8601 date; outputs take their dates from here, never the clock
    identifier: str = ""
    description: str = ""
    keywords: tuple[str, ...] = ()
    cover: str = ""
    # An accessibility conformance claim and who evaluated the book: only what the master
    # says (front matter conforms_to, certified_by, certifier_credential, certifier_report).
    conforms_to: str = ""
    certified_by: str = ""
    certifier_credential: str = ""
    certifier_report: str = ""
    # Who to ask for a format not built here (front matter contact:), for the download page.
    contact: str = ""


@dataclass(frozen=True)
class Document:
    metadata: Metadata
    blocks: tuple[Block, ...]
    footnotes: tuple[Footnote, ...] = ()
    source_path: Path = Path("document.md")
    source_sha256: str = ""

    @property
    def source_dir(self) -> Path:
        return self.source_path.parent

    @property
    def stem(self) -> str:
        """The base name of every output file: the source file's stem."""
        return self.source_path.stem

    def image_file(self, image: Image) -> Path:
        """The file ``image`` shows, beside the master. The reader has checked it at the
        start of the build (S1); one deleted while the build runs is this error, at the
        image's line, whichever writer meets it."""
        path = self.source_dir / image.src
        if not path.is_file():
            raise WriterError(f"image {image.src!r} not found", self.source_path, image.line)
        return path

    def images(self) -> list[Image]:
        return [b for b in walk_blocks(self.all_blocks()) if isinstance(b, Image)]

    def all_blocks(self) -> tuple[Block, ...]:
        """Body blocks followed by the blocks of every footnote."""
        return self.blocks + tuple(b for fn in self.footnotes for b in fn.blocks)

    def sections(self) -> list["DocumentSection"]:
        """Split the body at headings of ``level`` or above (by default the top level used).

        Content before the first such heading becomes a section with no heading.
        """
        return split_sections(self.blocks, self.section_level())

    def section_level(self) -> int:
        """The level at which the book is divided: the level below the single title
        heading when there is one, else the highest level present."""
        levels = [b.level for b in self.blocks if isinstance(b, Heading)]
        if not levels:
            return 1
        top = min(levels)
        if levels.count(top) == 1 and any(level > top for level in levels):
            return min(level for level in levels if level > top)
        return top


@dataclass(frozen=True)
class DocumentSection:
    """The blocks from one dividing heading to the next: what an EPUB content document, an
    HTML ``<section>`` and a narration's section file (``speech.script.ScriptSection``, then
    ``NarratedSection`` with its timings and ``EncodedSection`` with its MP3 frames) are
    made from."""

    heading: Heading | None
    blocks: tuple[Block, ...]  # the heading itself is blocks[0] when present


def split_sections(blocks: tuple[Block, ...], level: int) -> list[DocumentSection]:
    sections: list[DocumentSection] = []
    current: list[Block] = []
    heading: Heading | None = None
    for block in blocks:
        if isinstance(block, Heading) and block.level <= level:
            if current:
                sections.append(DocumentSection(heading, tuple(current)))
            current, heading = [block], block
        else:
            current.append(block)
    if current:
        sections.append(DocumentSection(heading, tuple(current)))
    return sections


# ---------------------------------------------------------------- helpers


def walk_blocks(blocks: tuple[Block, ...] | list[Block]) -> Iterator[Block]:
    """Every block, depth first, in reading order (list items and quotes opened)."""
    for block in blocks:
        yield block
        if isinstance(block, ListBlock):
            for item in block.items:
                yield from walk_blocks(item.blocks)
        elif isinstance(block, (BlockQuote, Admonition)):
            yield from walk_blocks(block.blocks)
        elif isinstance(block, DefinitionList):
            for entry in block.items:
                for definition in entry.definitions:
                    yield from walk_blocks(definition)


def inline_text(inlines: tuple[Inline, ...] | list[Inline], footnote_marks: bool = False) -> str:
    """The plain text of a run of inlines, as a reader would see it."""
    parts: list[str] = []
    for node in inlines:
        if isinstance(node, Text):
            parts.append(node.text)
        elif isinstance(node, Code):
            parts.append(node.text)
        elif isinstance(node, (Emphasis, Strong, Strikethrough, Link, Span)):
            parts.append(inline_text(node.children, footnote_marks))
        elif isinstance(node, LineBreak):
            parts.append("\n")
        elif isinstance(node, FootnoteRef) and footnote_marks:
            parts.append(f"[{node.number}]")
    return "".join(parts)


def block_text(block: Block) -> str:
    """The plain text of one block and everything inside it, blocks separated by newlines."""
    if isinstance(block, (Heading, Paragraph)):
        return inline_text(block.children)
    if isinstance(block, ListBlock):
        return "\n".join(block_text(b) for item in block.items for b in item.blocks)
    if isinstance(block, BlockQuote):
        return "\n".join(block_text(b) for b in block.blocks)
    if isinstance(block, Admonition):
        return "\n".join([inline_text(block.title)] + [block_text(b) for b in block.blocks])
    if isinstance(block, DefinitionList):
        return "\n".join(
            "\n".join([inline_text(entry.term)] + [block_text(b) for d in entry.definitions for b in d])
            for entry in block.items
        )
    if isinstance(block, Table):
        rows = (block.header,) + block.rows
        return "\n".join(" ".join(inline_text(c.children) for c in row) for row in rows)
    if isinstance(block, Image):
        return block.alt
    if isinstance(block, CodeBlock):
        return block.text
    return ""


def document_text(doc: Document, include_footnotes: bool = True) -> str:
    """All the words of the document in reading order: the yardstick of "nothing is lost"."""
    blocks = doc.all_blocks() if include_footnotes else doc.blocks
    return "\n".join(t for t in (block_text(b) for b in blocks) if t)


WORD_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)


def words(text: str) -> list[str]:
    """Words for comparing texts across formats: letters and digits, case folded,
    with typographic and straight apostrophes treated alike."""
    text = unicodedata.normalize("NFC", text)
    return [w.replace("’", "'").casefold() for w in WORD_RE.findall(text)]


def slugify(text: str) -> str:
    slug = re.sub(r"[^\w\s-]", "", text.casefold()).strip()
    slug = re.sub(r"[\s_-]+", "-", slug)
    return slug or "section"


# Ids the writers give their own page furniture, in the same documents as the headings: the
# HTML page's main landmark, the EPUB navigation, the talking book's opening, and the ids of
# notes, note references and spoken sentences. A heading must never take one of them, by
# its slug ("# Main") or by an attribute list ("{: #main}").
RESERVED_IDS = frozenset({"main", "toc", "toc-title", "landmarks", "landmarks-title", "about-this-recording"})
# Each pattern leaves room for the "-2", "-3" … that makes an id unique (a note cited more
# than 99 times is not expected), so that making a taken id unique always ends.
RESERVED_ID_RE = re.compile(r"fn-\d+|fnref-\d+(-\d{1,2})?|snt-[0-9a-f]+")


class UsedIds(set):
    """The ids taken so far in a document, the writers' own always among them."""

    def __contains__(self, candidate: object) -> bool:
        return (
            super().__contains__(candidate)
            or candidate in RESERVED_IDS
            or (isinstance(candidate, str) and RESERVED_ID_RE.fullmatch(candidate) is not None)
        )


def in_language(blocks: tuple[Block, ...], lang: str) -> tuple[Block, ...]:
    """``blocks`` with the inline content of each (headings, paragraphs, list items, table
    cells, notes, terms, captions) marked as a passage in ``lang``: a ``::: {lang=cy}`` block."""
    import dataclasses

    def mark(value):
        if isinstance(value, tuple) and value and all(_is_inline(v) for v in value):
            return (Span(value, lang),)
        if isinstance(value, tuple):
            return tuple(mark(v) for v in value)
        if dataclasses.is_dataclass(value) and not _is_inline(value):
            changes = {f.name: mark(getattr(value, f.name)) for f in dataclasses.fields(value)
                       if isinstance(getattr(value, f.name), tuple)}
            return dataclasses.replace(value, **changes) if changes else value
        return value

    return tuple(mark(block) for block in blocks)


def _is_inline(value) -> bool:
    return isinstance(value, (Text, Emphasis, Strong, Strikethrough, Code, Link, LineBreak, FootnoteRef, Span))


def languages_used(document: "Document") -> list[str]:
    """The document's language, then each other language its passages are marked with, in
    the order they first appear."""
    import dataclasses

    found = [document.metadata.language] if document.metadata.language else []

    def visit(value) -> None:
        if isinstance(value, Span) and value.lang not in found:
            found.append(value.lang)
        if isinstance(value, tuple):
            for item in value:
                visit(item)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for f in dataclasses.fields(value):
                visit(getattr(value, f.name))

    visit(document.blocks)
    visit(document.footnotes)
    return found
