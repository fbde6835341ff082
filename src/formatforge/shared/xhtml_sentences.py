"""Sentence-level XHTML: the text that a synchronised edition highlights as it is read.

Shared by the DAISY talking book and the read-aloud EPUB. ``SentenceRenderer`` is the shared
XHTML renderer with one addition: every sentence of the narration script gets an element
with an id in the text. Sentences that read displayed text (paragraphs, list items,
headings, code lines) are wrapped in ``<span id="snt-…">``; table rows carry the id of the
sentence that reads them; announcements that the narrator adds ("List of 3 items.",
"Quotation.", "Footnote 1.") point at the element they announce. A note's label and a
definition's term are aligned with what the narrator says for them ("Note.", "Term one."),
so they light up as they are read; the rest of a note's framing ("End of note.") points at
the note. ``targets`` maps every sentence id to the element id it points at.

Paragraph text is split where the narration split it by aligning words: the spoken text is
the displayed text plus words the narrator adds (list numbers, "footnote 1"), so each
spoken sentence's first displayed word marks where its span starts.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Callable, Iterable

from lxml import etree

from ..model import (
    WORD_RE,
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
    Heading,
    Image,
    Inline,
    LineBreak,
    Link,
    ListBlock,
    Paragraph,
    Span,
    Strikethrough,
    Strong,
    Table,
    Text,
    words,
)
from .speech import NarratedSection, TimedSentence
from .speech.encode import MP3_DELAY_SAMPLES
from .speech.script import COLUMN_HEADINGS, OUTRO, TEXT
from .xhtml import XhtmlRenderer, admonition_label, append_text, sub, tag

# Roles whose sentences read words that are displayed in the block they come from.
TEXT_ROLES = {"text", "list-item", "heading"}
_CONTAINERS = (Emphasis, Strong, Strikethrough, Link, Span)

def clip_seconds(timed: TimedSentence, sample_rate: int, file_seconds: float | None = None) -> tuple[float, float]:
    """A sentence's clip in its section's MP3 file, in seconds: its speech with half the
    pause on either side (``TimedSentence.clip_start_sample``), shifted by the codec's
    delay so the text lights up with its sound. The first clip starts at the file's start;
    the last is given the file's length (``file_seconds``) and ends there, the codec's
    padding included: clips played one after another play the whole file, pauses and all."""
    begin = 0.0 if timed.clip_start_sample == 0 else (timed.clip_start_sample + MP3_DELAY_SAMPLES) / sample_rate
    end = (timed.clip_end_sample + MP3_DELAY_SAMPLES) / sample_rate if file_seconds is None else file_seconds
    return begin, end


# ---------------------------------------------------------------- which block a sentence reads


def sentences_by_node(document: Document, narrated: Iterable[NarratedSection]) -> dict[int, list[TimedSentence]]:
    """Body sentences keyed by ``id()`` of the model node they read: a block, a footnote, or
    for table rows the row's tuple of cells."""
    model_sections = document.sections()
    notes = {note.number: note for note in document.footnotes}
    result: dict[int, list[TimedSentence]] = {}
    for section in narrated:
        for timed in section.sentences:
            ref = timed.sentence.source
            if ref.section < 0:
                continue
            if ref.footnote:
                note = notes.get(ref.footnote)
                if note is None:
                    continue
                node: object = note if not ref.block else _follow(note.blocks, ref.block)
            else:
                node = _follow(model_sections[ref.section].blocks, ref.block)
            if node is not None:
                result.setdefault(id(node), []).append(timed)
    return result


def _follow(blocks: tuple[Block, ...], path: tuple[int, ...]) -> object | None:
    """The node at ``path``: indexes into blocks, then list items and their blocks, quote
    blocks or table rows (as the narration script writes them); into a note's blocks as into
    a quote's; into a definition list by item (the term), then definition, then block.

    A path that goes where a note or a definition list has nothing stops at them: the
    sentence then points at the whole note or list rather than nowhere."""
    if not path or path[0] >= len(blocks):
        return None
    node: object = blocks[path[0]]
    rest = list(path[1:])
    while rest:
        if isinstance(node, ListBlock) and len(rest) >= 2:
            node = node.items[rest[0]].blocks[rest[1]]
            rest = rest[2:]
        elif isinstance(node, (BlockQuote, Admonition)):
            if isinstance(node, Admonition) and rest[0] >= len(node.blocks):
                return node
            node = node.blocks[rest.pop(0)]
        elif isinstance(node, DefinitionList):
            if rest[0] >= len(node.items):
                return node
            entry = node.items[rest[0]]
            if len(rest) == 1:
                return entry
            if len(rest) < 3 or rest[1] >= len(entry.definitions) or rest[2] >= len(entry.definitions[rest[1]]):
                return entry
            node = entry.definitions[rest[1]][rest[2]]
            rest = rest[3:]
        elif isinstance(node, Table):
            node = node.rows[rest.pop(0)]
        else:
            return None
    return node


# ---------------------------------------------------------------- splitting inlines at sentences


def _leaves(nodes: Iterable[Inline], ancestors: tuple = ()) -> Iterable[tuple[tuple, Inline]]:
    for node in nodes:
        if isinstance(node, _CONTAINERS):
            yield from _leaves(node.children, ancestors + (node,))
        else:
            yield ancestors, node


def _leaf_text(node: Inline) -> str:
    if isinstance(node, (Text, Code)):
        return node.text
    return "\n" if isinstance(node, LineBreak) else ""


def _rebuild(pieces: list[tuple[tuple, Inline]]) -> tuple[Inline, ...]:
    """Inlines again from leaves with their ancestors; a container cut by a sentence
    boundary becomes two containers, one on each side."""
    out: list[Inline] = []
    i = 0
    while i < len(pieces):
        ancestors, leaf = pieces[i]
        if not ancestors:
            out.append(leaf)
            i += 1
            continue
        head = ancestors[0]
        j = i
        while j < len(pieces) and pieces[j][0] and pieces[j][0][0] is head:
            j += 1
        out.append(replace(head, children=_rebuild([(a[1:], leaf) for a, leaf in pieces[i:j]])))
        i = j
    return tuple(out)


def sentence_starts(display: str, spoken: list[str]) -> list[int | None]:
    """Where each spoken sentence's first displayed word starts in ``display`` (None when
    the sentence reads no displayed word)."""
    shown = [(m.start(), words(m.group())[0]) for m in WORD_RE.finditer(display)]
    position = 0
    starts: list[int | None] = []
    for text in spoken:
        first = None
        for word in words(text):
            if position < len(shown) and shown[position][1] == word:
                if first is None:
                    first = shown[position][0]
                position += 1
        starts.append(first)
    return starts


def split_inlines(inlines: tuple[Inline, ...], spoken: list[str]) -> list[tuple[int, tuple[Inline, ...]]]:
    """The inlines cut at sentence boundaries: (sentence index or -1 for the space between
    two sentences, inlines), in order. Sentences that read no displayed word get nothing."""
    try:
        return list(_split_kept(inlines, tuple(spoken)))
    except TypeError:  # an inline that cannot be a key (none does today): cut it afresh
        return _split(inlines, spoken)


# The DAISY book and the read-aloud EPUB cut the same paragraphs at the same sentences, and
# in watch every build cuts again the paragraphs an edit left alone: each cut is kept.
@lru_cache(maxsize=1 << 14)
def _split_kept(inlines: tuple[Inline, ...], spoken: tuple[str, ...]) -> tuple[tuple[int, tuple[Inline, ...]], ...]:
    return tuple(_split(inlines, list(spoken)))


def _split(inlines: tuple[Inline, ...], spoken: list[str]) -> list[tuple[int, tuple[Inline, ...]]]:
    display = "".join(_leaf_text(leaf) for _, leaf in _leaves(inlines))
    starts = sentence_starts(display, spoken)
    present = [(index, start) for index, start in enumerate(starts) if start is not None]
    owner = [-1] * len(display)
    for number, (index, start) in enumerate(present):
        begin = 0 if number == 0 else start
        if number + 1 < len(present):
            following = present[number + 1][1]
            # An opening bracket or quote before the next sentence's first word is its own.
            cut = following
            while cut > begin and not display[cut - 1].isspace():
                cut -= 1
            end = len(display[:cut].rstrip()) if cut > begin else following
        else:
            end = len(display.rstrip())
        for c in range(begin, end):
            owner[c] = index

    def owner_at(position: int, length: int) -> int:
        if length:
            return owner[position]
        # A footnote mark belongs to the sentence that ends where it stands.
        for c in range(min(position, len(owner)) - 1, -1, -1):
            if owner[c] != -1:
                return owner[c]
        return owner[0] if owner else -1

    pieces: list[tuple[int, tuple, Inline]] = []
    position = 0
    for ancestors, leaf in _leaves(inlines):
        text = _leaf_text(leaf)
        if isinstance(leaf, (Text, Code)) and text:
            begin = position
            for c in range(position + 1, position + len(text) + 1):
                if c == position + len(text) or owner[c] != owner[c - 1]:
                    pieces.append((owner[begin], ancestors, replace(leaf, text=display[begin:c])))
                    begin = c
        else:
            pieces.append((owner_at(position, len(text)), ancestors, leaf))
        position += len(text)

    groups: list[tuple[int, tuple[Inline, ...]]] = []
    i = 0
    while i < len(pieces):
        j = i
        while j < len(pieces) and pieces[j][0] == pieces[i][0]:
            j += 1
        groups.append((pieces[i][0], _rebuild([(a, leaf) for _, a, leaf in pieces[i:j]])))
        i = j
    return groups


# ---------------------------------------------------------------- the renderer


class SentenceRenderer(XhtmlRenderer):
    """The shared renderer, with an element id for every narrated sentence of the body."""

    def __init__(self, document: Document, narrated: Iterable[NarratedSection], *, epub: bool,
                 image_src: Callable[[Image], str], resolve: Callable[[str], str | None]):
        super().__init__(document, epub=epub, image_src=image_src, resolve=resolve)
        self.by_node = sentences_by_node(document, narrated)
        self.targets: dict[str, str] = {}  # sentence id → id of the element it reads

    def _point(self, node: object, element_id: str, roles: Iterable[str] | None = None,
               kinds: Iterable[str] | None = None) -> list[TimedSentence]:
        """Points the node's sentences (of ``roles`` and ``kinds``, or all) that point nowhere
        yet at ``element_id``; returns them."""
        chosen = [t for t in self.by_node.get(id(node), [])
                  if (roles is None or t.sentence.role in roles) and (kinds is None or t.sentence.kind in kinds)]
        for timed in chosen:
            self.targets.setdefault(timed.sentence.id, element_id)
        return chosen

    def inline_content(self, parent: etree._Element, block: Heading | Paragraph | CodeBlock,
                       inlines: tuple[Inline, ...]) -> None:
        if isinstance(block, CodeBlock):
            self._code_lines(parent, block)
            return
        timed = [t for t in self.by_node.get(id(block), []) if t.sentence.role in TEXT_ROLES]
        if not timed:
            self.inlines(parent, inlines)
            return
        for index, group in split_inlines(inlines, [t.sentence.text for t in timed]):
            if index < 0:
                self.inlines(parent, group)
                continue
            sentence_id = timed[index].sentence.id
            self.inlines(sub(parent, "span", {"id": sentence_id}), group)
            self.targets[sentence_id] = sentence_id
        # Sentences with no displayed word of their own (a list number alone) read the block.
        self._point(block, parent.get("id"), TEXT_ROLES)

    def _code_lines(self, code: etree._Element, block: CodeBlock) -> None:
        reading = self.by_node.get(id(block), [])
        # One sentence per line that has text, between the narrator's framing.
        line_sentences = iter([t for t in reading if t.sentence.kind == TEXT])
        for line in block.text.splitlines(keepends=True):
            body = line.rstrip("\r\n")
            timed = next(line_sentences, None) if body.strip() else None
            if timed is None:
                append_text(code, line)
                continue
            span = sub(code, "span", {"id": timed.sentence.id}, body)
            span.tail = line[len(body):]
            self.targets[timed.sentence.id] = timed.sentence.id
        self._point(block, self.id_of(block))

    def list_block(self, block: ListBlock) -> etree._Element:
        self._point(block, self.id_of(block))  # "List of 3 items." comes before the items
        return super().list_block(block)

    def block_quote(self, block: BlockQuote) -> etree._Element:
        self._point(block, self.id_of(block))
        return super().block_quote(block)

    def _label(self, parent: etree._Element, node: object, inlines: tuple[Inline, ...], kinds: set[str]) -> None:
        """A label that the narration may read (a note's title, a term): the node's sentences
        of ``kinds`` that read its words get spans; the others point at ``parent``."""
        timed = [t for t in self.by_node.get(id(node), []) if t.sentence.kind in kinds]
        groups = split_inlines(inlines, [t.sentence.text for t in timed]) if timed else [(-1, inlines)]
        for index, group in groups:
            if index < 0:
                self.inlines(parent, group)
                continue
            sentence_id = timed[index].sentence.id
            self.inlines(sub(parent, "span", {"id": sentence_id}), group)
            self.targets[sentence_id] = sentence_id
        self._point(node, parent.get("id"), kinds=kinds)

    def admonition(self, block: Admonition) -> etree._Element:
        el = super().admonition(block)
        self._point(block, self.id_of(block))  # "End of note." reads the whole note
        return el

    def admonition_title(self, parent: etree._Element, block: Admonition) -> None:
        kinds = {t.sentence.kind for t in self.by_node.get(id(block), [])} - {OUTRO}
        self._label(parent, block, admonition_label(block, self.labels), kinds)

    def definition_list(self, block: DefinitionList) -> etree._Element:
        self._point(block, self.id_of(block))
        return super().definition_list(block)

    def definition_term(self, parent: etree._Element, entry: DefinitionItem) -> None:
        self._label(parent, entry, entry.term, {t.sentence.kind for t in self.by_node.get(id(entry), [])})

    def table(self, block: Table) -> etree._Element:
        el = super().table(block)
        table_id = self.id_of(block)
        headings = [t for t in self.by_node.get(id(block), []) if t.sentence.kind == COLUMN_HEADINGS]
        header_row = el.find(f"{tag('thead')}/{tag('tr')}")
        if headings and header_row is not None:
            header_id = headings[0].sentence.id
            header_row.set("id", header_id)
            self.targets[header_id] = header_id
        self._point(block, table_id, {"table"})
        for row, tr in zip(block.rows, el.iterfind(f"{tag('tbody')}/{tag('tr')}")):
            reading = self.by_node.get(id(row), [])
            if reading:
                tr.set("id", reading[0].sentence.id)
                for timed in reading:
                    self.targets.setdefault(timed.sentence.id, reading[0].sentence.id)
        return el

    def figure(self, block: Image) -> etree._Element:
        el = super().figure(block)
        self._point(block, el.get("id"))
        return el

    def footnote(self, footnote: Footnote) -> etree._Element:
        el = super().footnote(footnote)
        self._point(footnote, el.get("id"))
        return el


def clock(seconds: float, fraction: bool = True) -> str:
    """A SMIL full clock value, ``hh:mm:ss.sss`` (or ``hh:mm:ss``)."""
    if not fraction:
        seconds = round(seconds)
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    text = f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}"
    return f"{text}.{rest % 1000:03d}" if fraction else text
