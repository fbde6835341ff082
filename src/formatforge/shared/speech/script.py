"""The narration script: what the audio edition says, in order, built from the model.

Shared by the MP3 and DAISY editions. The script is a list of sections (the book's
top-level sections, after an opening announcement), each a list of sentences. A sentence
carries the text a reader would see, how long to pause around it, what kind of thing it
reads (``role``), whether it reads the text or is the narrator's framing around it
(``kind``: text, intro, column-headings, outro, announcement), a reference back to the
model block it came from and an id that stays the same from one build to the next as long
as the sentence and its place in its section do.

How things are read:

- the opening announcement (A1): title, subtitle, author and publisher, then how many
  sections the recording has, which, and how long it lasts;
- headings: on their own, with a pause before and after;
- lists: announced with their length ("List of 3 items"), numbered items with their number;
- tables: announced with their size, then row by row, each cell with its column heading;
- images: "Image: " and their alt text (decorative images are skipped);
- links: their text, never the address;
- block quotes: "Quotation." … "End of quotation.";
- task list items: "Done:" or "Not done:" before the item's text (after its number);
- labelled notes (admonitions): their title ("Note.", "Warning.", or "Note: " and the
  author's own title), the note, then "End of note." (or of warning, tip …);
- definition lists: "Definition list of 2 terms.", then each term and its definition;
- deleted (struck-through) text: "deleted: … , end deleted," so the listener knows where
  the deletion stops, as braille's closing transcriber's note indicator shows it;
- code blocks: "Code example in Python." line by line, "End of code.";
- footnotes: the reference says "footnote 1" where it stands; the notes themselves are
  read at the end of the section that first refers to them.

Why one module of about 630 lines: it is one builder walking every kind of block of the
model, and the pauses and phrasing of each kind must agree with the others' (the longer
of two pauses is kept between them); split by kind, each part would need the others.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Sequence, TypeVar

from ...characters import character_name
from ...labels import ADMONITION_KINDS, Labels, labels_for
from ...model import (
    Admonition,
    BlockQuote,
    Code,
    CodeBlock,
    DefinitionList,
    Document,
    Emphasis,
    FootnoteRef,
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
    ThematicBreak,
    inline_text,
    slugify,
    words,
)

# Pauses in seconds; between two sentences the longer of the two pauses is kept.
SENTENCE_PAUSE = 0.35
PARAGRAPH_PAUSE = 0.7
HEADING_PAUSE_BEFORE = 1.2
HEADING_PAUSE_AFTER = 0.8
BREAK_PAUSE = 1.5

OPENING_SLUG = "about-this-recording"
OPENING_TITLE = "About this recording"


@dataclass(frozen=True)
class SourceRef:
    """Where a sentence comes from: ``section`` indexes ``Document.sections()`` (-1 for the
    opening announcement); ``block`` is the path of indexes into that section's blocks,
    then into list items, their blocks, quote or note blocks or table rows, or into a
    definition list's entries (the entry alone for its term), then the entry's definition
    and that definition's blocks; ``footnote`` is the
    footnote's number when the sentence reads a note (then ``block`` indexes its blocks)."""

    section: int
    block: tuple[int, ...] = ()
    footnote: int = 0
    line: int = 0


# What a sentence is to the text it belongs to (``Sentence.kind``): it reads the text
# itself, or it is framing the narrator adds around a block, or the opening announcement.
TEXT = "text"
INTRO = "intro"  # "List of 3 items.", "Quotation.", "Table with …", "Code example.", "Footnote 1.", "Note."
COLUMN_HEADINGS = "column-headings"  # a table's "Column headings: …"
OUTRO = "outro"  # "End of quotation.", "End of table.", "End of code.", "End of note."
ANNOUNCEMENT = "announcement"  # the opening announcement (A1)


@dataclass(frozen=True)
class Sentence:
    id: str
    text: str  # as written, before the pronunciation lexicon
    role: str  # title, heading, text, list, list-item, table, table-row, image, quote, code, footnote, announcement,
    # note (a labelled note's framing), definitions (a definition list's framing), term
    source: SourceRef
    pause_before: float = 0.0
    pause_after: float = SENTENCE_PAUSE
    level: int = 0  # heading level, for headings
    kind: str = TEXT
    # The sentence's language when all of it is a passage in another language than the
    # document's ("" otherwise), and the passages in other languages within it as
    # (start, end, BCP 47 tag) character ranges of ``text``: the engine's voice for each.
    language: str = ""
    passages: tuple[tuple[int, int, str], ...] = ()


def voice_runs(sentence: Sentence, document_language: str) -> list[tuple[str, str]]:
    """The sentence as (text, espeak voice) stretches: the document's voice, and each
    passage's own (``engines.voice_for_language``), for an engine that switches voice."""
    from .engines import voice_for_language

    if sentence.language:
        return [(sentence.text, voice_for_language(sentence.language))]
    runs, position = [], 0
    for start, end, language in sentence.passages:
        if sentence.text[position:start].strip():
            runs.append((sentence.text[position:start], voice_for_language(document_language)))
        runs.append((sentence.text[start:end], voice_for_language(language)))
        position = end
    if sentence.text[position:].strip() or not runs:
        runs.append((sentence.text[position:], voice_for_language(document_language)))
    return runs


@dataclass(frozen=True)
class ScriptSection:
    number: int  # 0 for the opening announcement, then 1, 2, … in reading order
    title: str
    slug: str
    heading_id: str
    sentences: tuple[Sentence, ...]

    @property
    def file_stem(self) -> str:
        """The name its audio (and SMIL) files share: ``00-about-this-recording``, ``03-our-aims``."""
        return f"{self.number:02d}-{self.slug}"


@dataclass(frozen=True)
class Script:
    sections: tuple[ScriptSection, ...]

    def sentences(self):
        for section in self.sections:
            yield from section.sentences


# ---------------------------------------------------------------- sentences

_ABBREVIATIONS = {"e.g.", "i.e.", "etc.", "dr.", "mr.", "mrs.", "ms.", "st.", "no.", "vs.", "cf.", "approx."}
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]\ue006]*\s+(?=(?:\ue004[^\ue005]*\ue005)?[\"'“‘(\[]?[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph: at . ! ? followed by a capital or digit, and at line
    breaks; never after a common abbreviation."""
    sentences: list[str] = []
    for line in text.split("\n"):
        start = 0
        for match in _SENTENCE_END.finditer(line):
            last_word = line[start : match.start() + 1].split()[-1:] or [""]
            if last_word[0].casefold() in _ABBREVIATIONS:
                continue
            sentences.append(line[start : match.end()].strip())
            start = match.end()
        sentences.append(line[start:].strip())
    return [" ".join(s.split()) for s in sentences if s.strip()]


# Characters no voice can say anything for: controls, private use and unassigned code points.
_ALWAYS_SILENT_CATEGORIES = {"Cc", "Co", "Cn"}


def may_be_silent(char: str) -> bool:
    """Whether a voice might pass over ``char`` in silence and lose something: anything
    beyond ASCII but spaces, punctuation (a voice shows it as a pause, not a word) and format
    characters (joiners and direction marks have nothing to say)."""
    if char < " " or char == "\x7f":
        return char not in "\t\n\r"
    return char > "\x7f" and not char.isspace() and unicodedata.category(char)[0] not in "PZ" and \
        unicodedata.category(char) != "Cf"


def always_silent(char: str) -> bool:
    return unicodedata.category(char) in _ALWAYS_SILENT_CATEGORIES and char not in "\t\n\r"


def name_silent_characters(text: str, silent: frozenset[str] | set[str] = frozenset()) -> str:
    """``text`` with the Unicode names of the characters the voice would say nothing for
    (those in ``silent``, and controls and private use always) after the word that holds
    them: "box █" → "box █ (full block)". The word itself stays whole, so the spoken text
    still holds every word as written."""
    distinct = set(text)
    if text.isascii() and text.isprintable():
        unsaid = distinct & silent  # no printable ASCII character is a control or private use
    else:
        unsaid = {char for char in distinct if char in silent or always_silent(char)}
    if not unsaid:
        return text
    spoken = []
    for word in text.split():
        names = [character_name(char) for char in word if char in unsaid]
        spoken.append(f"{word} ({', '.join(names)})" if names else word)
    return " ".join(spoken)


_REF_OPEN, _REF_CLOSE = "\ue000", "\ue001"
_REF_AFTER_PUNCTUATION = re.compile(rf"([.!?,;:]+)\s*{_REF_OPEN}(\d+){_REF_CLOSE}")
_REF = re.compile(rf"\s*{_REF_OPEN}(\d+){_REF_CLOSE}")
# Deleted text is marked while the inlines are walked and worded afterwards, when what
# stands around it is known: "Deleted:" starting a sentence, "deleted:" inside one, and
# ", end deleted" then a comma, or the punctuation or line end that follows the deletion.
_DELETED_START, _DELETED_END = "\ue002", "\ue003"
# A passage in another language: \ue004 lang \ue005 … \ue006, taken out by ``say`` which
# keeps where they stood as the sentence's passages.
_PASSAGE_OPEN, _PASSAGE_TAG_END, _PASSAGE_CLOSE = "\ue004", "\ue005", "\ue006"
_PASSAGE_MARK = re.compile("\ue004([^\ue005]*)\ue005|\ue006")
_DELETED_AT_SENTENCE_START = re.compile(rf"(^\s*|[.!?…][\"'”’)\]]*\s+|\n\s*){_DELETED_START}")
_DELETED_END_BEFORE_PUNCTUATION = re.compile(rf"{_DELETED_END}[ \t]*(?=[.!?,;:\n]|$)")
DELETED_OPENING = "deleted: "
DELETED_CLOSING = ", end deleted"
ENGLISH = labels_for("en")


def spoken_inline(inlines: tuple[Inline, ...] | list[Inline], labels: Labels = ENGLISH) -> str:
    """Inline text as it is read: links by their text, footnote references as
    "(footnote N)" placed before the punctuation they follow, deleted text between
    "deleted:" and "end deleted"."""

    def walk(nodes) -> str:
        parts = []
        for node in nodes:
            if isinstance(node, (Text, Code)):
                parts.append(node.text)
            elif isinstance(node, (Emphasis, Strong, Link)):
                parts.append(walk(node.children))
            elif isinstance(node, Span):
                parts.append(f"{_PASSAGE_OPEN}{node.lang}{_PASSAGE_TAG_END}{walk(node.children)}{_PASSAGE_CLOSE}")
            elif isinstance(node, Strikethrough):
                inner = walk(node.children)
                if inner.strip():
                    parts.append(f"{_DELETED_START}{inner}{_DELETED_END}")
            elif isinstance(node, LineBreak):
                parts.append("\n")
            elif isinstance(node, FootnoteRef):
                parts.append(f"{_REF_OPEN}{node.number}{_REF_CLOSE}")
        return "".join(parts)

    text = walk(inlines)
    if _DELETED_END in text:
        opening, closing = labels("deleted:") + " ", ", " + labels("end deleted")
        text = _DELETED_AT_SENTENCE_START.sub(lambda m: m.group(1) + opening.capitalize(), text)
        text = text.replace(_DELETED_START, opening)
        text = _DELETED_END_BEFORE_PUNCTUATION.sub(closing, text)
        text = text.replace(_DELETED_END, closing + ",")
    text = _REF_AFTER_PUNCTUATION.sub(lambda m: " " + labels("(footnote {number})", number=m.group(2)) + m.group(1), text)
    return _REF.sub(lambda m: " " + labels("(footnote {number})", number=m.group(1)), text)


def footnote_numbers(inlines) -> list[int]:
    numbers = []
    for node in inlines:
        if isinstance(node, FootnoteRef):
            numbers.append(node.number)
        elif isinstance(node, (Emphasis, Strong, Strikethrough, Link, Span)):
            numbers.extend(footnote_numbers(node.children))
    return numbers


TASK_STATES = {True: "Done", False: "Not done"}


def spoken_length(seconds: float, labels: Labels = ENGLISH) -> str:
    minutes = round(seconds / 60)
    if minutes < 1:
        return labels("less than a minute")
    hours, minutes = divmod(minutes, 60)
    said_hours = labels.plural("{count} hour", "{count} hours", hours)
    said_minutes = labels.plural("{count} minute", "{count} minutes", minutes)
    if not hours:
        return labels("about {length}", length=said_minutes)
    if not minutes:
        return labels("about {length}", length=said_hours)
    return labels("about {length}", length=labels("{hours} and {minutes}", hours=said_hours, minutes=said_minutes))


# ---------------------------------------------------------------- building


@dataclass
class _SectionBuilder:
    section: int
    sentences: list[Sentence] = field(default_factory=list)
    footnotes: list[int] = field(default_factory=list)
    pending_pause: float = 0.0
    labels: Labels = ENGLISH
    open_passage: str = ""  # the language of a passage that runs on into the next sentence

    def spoken(self, inlines) -> str:
        return spoken_inline(inlines, self.labels)

    def say(self, text: str, role: str, block: tuple[int, ...], line: int = 0, *, footnote: int = 0,
            pause_before: float = 0.0, pause_after: float = SENTENCE_PAUSE, level: int = 0, kind: str = TEXT) -> None:
        text, passages = self.passages(" ".join(text.split()))
        if not text:
            return
        pause_before = max(pause_before, self.pending_pause)
        self.pending_pause = 0.0
        source = SourceRef(self.section, block, footnote, line)
        whole = passages[0][2] if len(passages) == 1 and passages[0][:2] == (0, len(text)) else ""
        self.sentences.append(Sentence("", text, role, source, pause_before, pause_after, level, kind,
                                       whole, () if whole else tuple(passages)))

    def passages(self, marked: str) -> tuple[str, list[tuple[int, int, str]]]:
        """The text without its passage marks, and where the passages in other languages are."""
        if _PASSAGE_OPEN not in marked and _PASSAGE_CLOSE not in marked and not self.open_passage:
            return marked, []
        text, found, position, start = "", [], 0, 0
        language = self.open_passage
        for mark in _PASSAGE_MARK.finditer(marked):
            text += marked[position:mark.start()]
            position = mark.end()
            if language and text[start:].strip():
                found.append((start, len(text), language))
            language, start = (mark.group(1) or ""), len(text)
        text += marked[position:]
        if language and text[start:].strip():
            found.append((start, len(text), language))
        self.open_passage = language
        stripped = text.strip()
        offset = len(text) - len(text.lstrip())
        found = [(max(0, a - offset), min(len(stripped), b - offset), lang) for a, b, lang in found]
        found = [(a + len(stripped[a:b]) - len(stripped[a:b].lstrip()), b - (len(stripped[a:b]) - len(stripped[a:b].rstrip())), lang)
                 for a, b, lang in found if stripped[a:b].strip()]
        return stripped, found

    def say_paragraph(self, text: str, role: str, block, line, *, footnote: int = 0, prefix: str = "") -> None:
        parts = split_sentences(text)
        for index, sentence in enumerate(parts):
            if index == 0 and prefix:
                sentence = f"{prefix} {sentence}"
            last = index == len(parts) - 1
            self.say(sentence, role, block, line, footnote=footnote,
                     pause_after=PARAGRAPH_PAUSE if last else SENTENCE_PAUSE)

    def note_footnotes(self, inlines) -> None:
        for number in footnote_numbers(inlines):
            if number not in self.footnotes:
                self.footnotes.append(number)

    def blocks(self, blocks, path: tuple[int, ...], footnote: int = 0) -> None:
        for index, block in enumerate(blocks):
            self.block(block, path + (index,), footnote)

    def block(self, block, path: tuple[int, ...], footnote: int = 0) -> None:
        line = getattr(block, "line", 0)
        if isinstance(block, Heading):
            self.note_footnotes(block.children)
            first = not self.sentences
            self.say(self.spoken(block.children), "heading", path, line, footnote=footnote,
                     pause_before=0.0 if first else HEADING_PAUSE_BEFORE, pause_after=HEADING_PAUSE_AFTER,
                     level=block.level)
        elif isinstance(block, Paragraph):
            self.note_footnotes(block.children)
            self.say_paragraph(self.spoken(block.children), "text", path, line, footnote=footnote)
        elif isinstance(block, ListBlock):
            if block.ordered:
                intro = self.labels.plural("Numbered list of {count} item.", "Numbered list of {count} items.",
                                           len(block.items))
            else:
                intro = self.labels.plural("List of {count} item.", "List of {count} items.", len(block.items))
            self.say(intro, "list", path, line, footnote=footnote, kind=INTRO)
            for item_index, item in enumerate(block.items):
                number = f"{block.start + item_index}." if block.ordered else ""
                self.list_item(item, path + (item_index,), number, footnote)
            self.pending_pause = max(self.pending_pause, PARAGRAPH_PAUSE)
        elif isinstance(block, BlockQuote):
            self.say(self.labels("Quotation."), "quote", path, line, footnote=footnote, kind=INTRO)
            self.blocks(block.blocks, path, footnote)
            self.say(self.labels("End of quotation."), "quote", path, line, footnote=footnote, pause_after=PARAGRAPH_PAUSE,
                     kind=OUTRO)
        elif isinstance(block, Table):
            self.table(block, path, footnote)
        elif isinstance(block, Image):
            if block.decorative:
                return
            alt = block.alt.strip()
            text = self.labels("Image: {alt}", alt=alt) if alt else self.labels("Image with no description")
            if block.title.strip() and block.title.strip() != alt:
                text = f"{text}. {block.title.strip()}"
            self.say(text if text[-1] in ".!?" else text + ".", "image", path, line, footnote=footnote,
                     pause_after=PARAGRAPH_PAUSE)
        elif isinstance(block, CodeBlock):
            intro = (self.labels("Code example in {language}.", language=block.language.capitalize())
                     if block.language else self.labels("Code example."))
            self.say(intro, "code", path, line, footnote=footnote, kind=INTRO)
            for code_line in block.text.splitlines():
                self.say(code_line, "code", path, line, footnote=footnote)
            self.say(self.labels("End of code."), "code", path, line, footnote=footnote, pause_after=PARAGRAPH_PAUSE, kind=OUTRO)
        elif isinstance(block, ThematicBreak):
            self.pending_pause = max(self.pending_pause, BREAK_PAUSE)
        elif isinstance(block, Admonition):
            self.admonition(block, path, footnote)
        elif isinstance(block, DefinitionList):
            self.definition_list(block, path, footnote)

    def admonition(self, block: Admonition, path, footnote: int) -> None:
        """A labelled note between its title and "End of note." (of warning, tip …). An
        author's own title is said after the kind's label, so the listener still hears
        what kind of note it is."""
        self.note_footnotes(block.title)
        english = ADMONITION_KINDS.get(block.kind, "Note")
        label = self.labels(english)
        title = self.spoken(block.title).strip()
        if title == english:  # the reader's default title: the kind's name in English
            title = label
        if not title:
            title = label
        elif words(title) != words(label):
            title = f"{label}: {title}"
        self.say(title if title[-1] in ".!?" else title + ".", "note", path, block.line, footnote=footnote,
                 pause_after=PARAGRAPH_PAUSE, kind=INTRO)
        self.blocks(block.blocks, path, footnote)
        self.say(self.labels(f"End of {english.lower()}."), "note", path, block.line, footnote=footnote,
                 pause_after=PARAGRAPH_PAUSE, kind=OUTRO)

    def definition_list(self, block: DefinitionList, path, footnote: int) -> None:
        """Announced like a list with its number of terms; each term on its own, then its
        definition; a term with several definitions numbers them."""
        self.say(self.labels.plural("Definition list of {count} term.", "Definition list of {count} terms.",
                                    len(block.items)), "definitions", path, block.line,
                 footnote=footnote, kind=INTRO)
        for item_index, entry in enumerate(block.items):
            item_path = path + (item_index,)
            self.note_footnotes(entry.term)
            term = self.spoken(entry.term)
            self.say(term if term.rstrip()[-1:] in ".!?:" else term.rstrip() + ".", "term", item_path,
                     entry.line, footnote=footnote)
            for number, definition in enumerate(entry.definitions, start=1):
                if len(entry.definitions) > 1:
                    self.say(self.labels("Definition {number}.", number=number), "definitions", item_path, entry.line, footnote=footnote,
                             kind=INTRO)
                self.blocks(definition, item_path + (number - 1,), footnote)
        self.pending_pause = max(self.pending_pause, PARAGRAPH_PAUSE)

    def list_item(self, item, path, number: str, footnote: int) -> None:
        # A task item's state comes first, after the number, as the check box does in print.
        state = (self.labels("{state}:", state=self.labels(TASK_STATES[item.checked]))
                 if item.checked in TASK_STATES else "")
        lead = f"{number} {state.lower()}" if number and state else number or state
        if lead and not (item.blocks and isinstance(item.blocks[0], Paragraph)):
            alone = lead.rstrip(":")
            self.say(alone if alone.endswith(".") else alone + ".", "list-item", path + (0,), item.line,
                     footnote=footnote)
        for index, block in enumerate(item.blocks):
            block_path = path + (index,)
            if index == 0 and isinstance(block, Paragraph):
                self.note_footnotes(block.children)
                text = self.spoken(block.children)
                parts = split_sentences(text) or [""]
                for part_index, sentence in enumerate(parts):
                    if part_index == 0 and lead:
                        sentence = f"{lead} {sentence}"
                    self.say(sentence, "list-item", block_path, block.line, footnote=footnote)
            else:
                self.block(block, block_path, footnote)

    def table(self, table: Table, path, footnote: int) -> None:
        headings = [self.spoken(cell.children).strip() for cell in table.header]
        caption = self.spoken(table.caption).strip()
        size = self.labels("{rows} and {columns}", rows=self.labels.plural("{count} row", "{count} rows", len(table.rows)),
                           columns=self.labels.plural("{count} column", "{count} columns", len(headings)))
        intro = (self.labels("Table: {caption}, with {size}.", caption=caption.rstrip("."), size=size) if caption
                 else self.labels("Table with {size}.", size=size))
        self.say(intro, "table", path, table.line, footnote=footnote, kind=INTRO)
        blank = self.labels("blank")
        self.say(self.labels("Column headings: {headings}.", headings="; ".join(h or blank for h in headings)),
                 "table", path,
                 table.line, footnote=footnote, kind=COLUMN_HEADINGS)
        for row_index, row in enumerate(table.rows):
            cells = []
            for column, cell in enumerate(row):
                self.note_footnotes(cell.children)
                value = self.spoken(cell.children).strip() or blank
                label = (headings[column] if column < len(headings) and headings[column]
                         else self.labels("column {number}", number=column + 1))
                cells.append(f"{label}: {value}")
            self.say(self.labels("Row {number}.", number=row_index + 1) + " " + "; ".join(cells) + ".", "table-row", path + (row_index,),
                     table.line, footnote=footnote)
        self.say(self.labels("End of table."), "table", path, table.line, footnote=footnote, pause_after=PARAGRAPH_PAUSE,
                 kind=OUTRO)

    def read_footnotes(self, document: Document, numbers: list[int]) -> None:
        by_number = {note.number: note for note in document.footnotes}
        for number in numbers:
            note = by_number.get(number)
            if note is None:
                continue
            self.say(self.labels("Footnote {number}.", number=number), "footnote", (), note.line, footnote=number,
                     pause_before=PARAGRAPH_PAUSE, kind=INTRO)
            self.blocks(note.blocks, (), footnote=number)


def _with_ids(heading_key: str, sentences: list[Sentence]) -> tuple[Sentence, ...]:
    """Ids from the section's heading, the sentence's text and how many times the same
    text came before it in the section: an edit elsewhere leaves them unchanged."""
    seen: Counter[str] = Counter()
    result = []
    for sentence in sentences:
        key = f"{sentence.role}\0{sentence.text}"
        occurrence = seen[key]
        seen[key] += 1
        digest = hashlib.sha256(f"{heading_key}\0{key}\0{occurrence}".encode()).hexdigest()[:12]
        result.append(replace(sentence, id=f"snt-{digest}"))
    return tuple(result)


def _unique_slugs(titles: list[str]) -> list[str]:
    slugs: list[str] = []
    used: Counter[str] = Counter()
    for title in titles:
        slug = slugify(title)[:60].strip("-") or "section"
        used[slug] += 1
        slugs.append(slug if used[slug] == 1 else f"{slug}-{used[slug]}")
    return slugs


def body_sections(document: Document) -> list[ScriptSection]:
    """The narration of every top-level section of the body, in order, numbered from 1."""
    model_sections = document.sections()
    labels = labels_for(document.metadata.language)
    titles = [inline_text(s.heading.children).strip() if s.heading else labels("Opening") for s in model_sections]
    slugs = _unique_slugs(titles)
    referenced: set[int] = set()
    builders = []
    for index, section in enumerate(model_sections):
        builder = _SectionBuilder(index, labels=labels)
        builder.blocks(section.blocks, ())
        builders.append(builder)
        new_notes = [n for n in builder.footnotes if n not in referenced]
        referenced.update(new_notes)
        builder.read_footnotes(document, new_notes)
    # Notes that nothing refers to are still part of the text: read them at the very end.
    orphans = [note.number for note in document.footnotes if note.number not in referenced]
    if builders and orphans:
        builders[-1].read_footnotes(document, orphans)
    result = []
    for index, (section, builder) in enumerate(zip(model_sections, builders)):
        heading_id = section.heading.id if section.heading else f"section-{index + 1}"
        result.append(ScriptSection(index + 1, titles[index], slugs[index], heading_id,
                                    _with_ids(heading_id, builder.sentences)))
    return result


def _section_list(document: Document, sections: list[ScriptSection], labels: Labels = ENGLISH) -> str:
    """The sections by name; a first section named as the book is "the introduction", so
    that the title is said once in the opening, not twice."""
    titles = [s.title for s in sections]
    if titles and titles[0].strip().casefold() == document.metadata.title.strip().casefold():
        titles[0] = labels("the introduction")
    return "; ".join(titles)


def section_file_stems(document: Document) -> list[str]:
    """Every section file's stem in reading order, without narrating: the opening, then the
    body's (the names the audio and DAISY editions promise before they are built)."""
    opening = ScriptSection(0, OPENING_TITLE, OPENING_SLUG, OPENING_SLUG, ())
    return [section.file_stem for section in (opening, *body_sections(document))]


_Section = TypeVar("_Section")


def opening_and_body(sections: Sequence[_Section]) -> tuple[_Section, list[_Section]]:
    """Section 0 is the opening announcement; the rest are the body's, one for each of the
    document's sections. For the script's, the narration's and the encoded sections alike."""
    opening, *body = sections
    return opening, body


def opening_section(document: Document, sections: list[ScriptSection], total_seconds: float | None,
                    voice: str = "") -> ScriptSection:
    """What the listener hears first (A1): title, who made it, that the voice is synthetic
    (``voice`` names it in words), what the recording holds and how long it lasts."""
    meta = document.metadata
    labels = labels_for(meta.language)
    builder = _SectionBuilder(-1, labels=labels)

    def announce(text: str, role: str = "announcement", pause_after: float = SENTENCE_PAUSE) -> None:
        text = text.strip()
        text = text if text[-1:] in ".!?" else text + "."
        builder.say(text, role, (), pause_after=pause_after, kind=ANNOUNCEMENT)

    announce(meta.title, "title", HEADING_PAUSE_AFTER)
    if meta.subtitle:
        announce(meta.subtitle)
    if meta.author and meta.author != meta.publisher:
        announce(labels("By {author}", author=meta.author))
    year = meta.date[:4] if meta.date[:4].isdigit() else ""
    if meta.publisher:
        announce(labels("Published by {publisher} in {year}", publisher=meta.publisher, year=year) if year
                 else labels("Published by {publisher}", publisher=meta.publisher))
    elif meta.author and meta.author == meta.publisher:
        announce(labels("By {author}", author=meta.author))
    announce(labels("It is read by a synthetic voice: {voice}", voice=voice) if voice
             else labels("It is read by a synthetic voice"))
    count = labels.plural("{count} section", "{count} sections", len(sections))
    if total_seconds is not None:
        announce(labels("This recording has {sections} and lasts {length}.", sections=count,
                        length=spoken_length(total_seconds, labels)))
    else:
        announce(labels("This recording has {sections}.", sections=count))
    if sections:
        announce(labels("The sections are: {titles}", titles=_section_list(document, sections, labels)),
                 pause_after=HEADING_PAUSE_BEFORE)
    return ScriptSection(0, labels(OPENING_TITLE), OPENING_SLUG, OPENING_SLUG, _with_ids(OPENING_SLUG, builder.sentences))


def with_ending(document: Document, sections: list[ScriptSection]) -> list[ScriptSection]:
    """The body with "End of <title>." closing its last section, so that a listener knows
    the book is over (and not that the player stopped). It reads no block of the text."""
    title = document.metadata.title.strip() or (sections[0].title if sections else "")
    if not sections or not title:
        return sections
    last = sections[-1]
    text = labels_for(document.metadata.language)("End of {title}", title=title)
    text = text if text[-1:] in ".!?" else text + "."
    ending = Sentence("", text, "announcement", SourceRef(last.sentences[0].source.section if last.sentences else 0),
                      HEADING_PAUSE_BEFORE, HEADING_PAUSE_AFTER, kind=ANNOUNCEMENT)
    return [*sections[:-1], replace(last, sentences=_with_ids(last.heading_id, [*last.sentences, ending]))]


def build_script(document: Document, total_seconds: float | None = None, voice: str = "") -> Script:
    """The whole narration script. ``total_seconds`` is the recording's length for the
    opening announcement; without it the announcement leaves the length out."""
    body = with_ending(document, body_sections(document))
    return Script((opening_section(document, body, total_seconds, voice), *body))
