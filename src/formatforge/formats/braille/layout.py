"""Braille pages from the document model: the formatting liblouis does not do.

Blocks become lines of cells (Unicode braille, blank cells U+2800) with the indents of
BANA Braille Formats 2016 / UKAAF practice; the lines are then cut into pages whose body
height leaves one line for the braille page number. Headings keep with what follows them,
words never break across lines, and the contents page is built last from the pages the
headings really landed on.

Indents in this module are counted in cells from the margin: 0 is "cell 1", 2 is "cell 3".

Why one module of about 970 lines: lines, pages, volumes and the contents page are cut
together (the contents page is made from where headings landed, and it changes where the
body starts), so the pager and its page furniture are read and changed as one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ...labels import admonition_title, labels_for
from ...model import (
    Admonition,
    BlockQuote,
    CodeBlock,
    DefinitionList,
    Document,
    FootnoteRef,
    Heading,
    Image,
    Link,
    ListBlock,
    Paragraph,
    Table,
    Text,
    ThematicBreak,
    inline_text,
    walk_blocks,
)
from .translate import BLANK, SUPERSCRIPT, TN_CLOSE, TN_OPEN, Translator, inline_runs, link_address

# UEB line continuation indicator (dot 5), only for a sequence too long for any line.
CONTINUATION = "\u2810"
# Cells a long sequence is divided by (UEB §10.12): after a slash (dots 456, 34), a hyphen
# (36) or a dot (256), never inside a number (the numeric indicator 3456 and digits a–j).
SLASH = "\u2838\u280c"
HYPHEN = "\u2824"
DOT = "\u2832"
NUMERIC = "\u283c"
DIGITS = frozenset("\u2801\u2803\u2809\u2819\u2811\u280b\u281b\u2813\u280a\u281a")
NUMERIC_PUNCTUATION = frozenset("\u2832\u2802")  # a decimal point or comma inside a number
GUIDE_DOT = "\u2810"  # dot 5, the guide dots of a contents line
NOTE_SEPARATOR = "\u2824" * 12  # dots 36: a line between a section and its notes
THEMATIC_BREAK = "\u2812" * 6  # dots 25, centred: print's section break
# Box lines, BANA Braille Formats 2016 §7: a full line of dots 2356 above boxed material and
# of dots 1245 below it; a box that holds another box is drawn with full cells instead.
BOX_TOP = "\u2836"
BOX_BOTTOM = "\u281b"
BOX_OUTER = "\u283f"
# The words the layout itself adds, in one place: English msgids of labels.py's catalogue,
# shown in the document's language through self.labels.
WORDS = {
    "contents": "Contents",
    "contents_continued": "Contents (continued)",
    "code_note": "Code follows, line for line, with the spacing of print.",
    "pages": "Braille pages p1 to {prelims} and {first} to {last}",
    "transcribed_by_on": "Transcribed by {producer}, {date}",
    "transcribed_by": "Transcribed by {producer}",
    "transcribed_on": "Transcribed {date}",
    "special_symbols": "Special Symbols",
    "transcribers_notes": "Transcriber's Notes",
    "tn_open": "opening transcriber's note indicator",
    "tn_close": "closing transcriber's note indicator",
    "superscript": "superscript indicator: the number after it refers to a note at the end of the section",
    "continuation": "line continuation indicator: a long address or number goes on at the start of the next line",
    "box": "box line: boxed material (a labelled note) starts or ends",
    "note_tables": "Tables are read row by row, each cell given after its column heading.",
    "note_code": "Code keeps the spacing of print; columns are lined up.",
    "note_headings": "Headings of levels 4 and 5 start in cells 9 and 11.",
    "note_links": "A link's address follows its text in parentheses.",
    "volume": "Volume {number} of {total}",
    "in_volumes": "In {total} volumes",
}
# A task list item's state, given in words: print's check box is a picture, not text.
TASK_STATES = {True: "Done", False: "Not done"}  # labels.py msgids, said in lower case


@dataclass(frozen=True)
class HeadingStyle:
    centred: bool = False
    indent: int = 0  # first line and runovers, when not centred
    blank_before: bool = True
    blank_after: bool = False


@dataclass(frozen=True)
class Profile:
    """Where a braille authority puts things; the choices marked [S] in standards.md."""

    name: str
    number_at_top: bool  # braille page number on the first line (UKAAF) or the last (BANA)
    headings: tuple[HeadingStyle, ...]  # by level, the last repeated for deeper levels
    # Volume 1's contents list the whole book (BANA) or, like every volume's, its own part.
    full_contents_first: bool = False
    # A link's address after its text when the two differ (BF §10.7): paper cannot be clicked.
    link_addresses: bool = True
    # Interpoint: the title page's back left blank (BF §1.10), and a blank page carries no number.
    blank_verso_after_title: bool = True

    def heading(self, level: int) -> HeadingStyle:
        return self.headings[min(level, len(self.headings)) - 1]


PROFILES = {
    # UKAAF: page number on the top line; main heading centred, then cell 5 and cell 7,
    # each with a blank line before so that the page reads in clear blocks. Levels 4 and 5
    # go two cells further in each (cell 9, cell 11) so that every level reads apart; the
    # transcriber's notes page says so.
    "ukaaf": Profile(
        "ukaaf",
        number_at_top=True,
        headings=(
            HeadingStyle(centred=True, blank_before=True, blank_after=True),
            HeadingStyle(indent=4, blank_before=True),
            HeadingStyle(indent=6, blank_before=True),
            HeadingStyle(indent=8, blank_before=True),
            HeadingStyle(indent=10, blank_before=True),
        ),
    ),
    # BANA Braille Formats 2016 §4: centred, cell-5 and cell-7 headings, each with a blank
    # line before (the cell-7 one too: Appendix C); the page number at the bottom right
    # (§1.8). Levels 4 and 5 in cell 9 and cell 11, as for UKAAF.
    "bana": Profile(
        "bana",
        number_at_top=False,
        headings=(
            HeadingStyle(centred=True, blank_before=True, blank_after=True),
            HeadingStyle(indent=4, blank_before=True),
            HeadingStyle(indent=6, blank_before=True),
            HeadingStyle(indent=8, blank_before=True),
            HeadingStyle(indent=10, blank_before=True),
        ),
        full_contents_first=True,
    ),
}


@dataclass
class Line:
    cells: str  # no trailing blanks
    kind: str = "text"  # heading, paragraph, list, quote, code, table, note, tn, break, title, contents, number,
    # box (a box line), label (a boxed note's label), definition
    first: bool = False  # the first line of its paragraph, item or heading
    heading_id: str = ""
    level: int = 0


@dataclass
class Chunk:
    """Lines that are laid out together, with the spacing and keeping they ask for."""

    lines: list[Line]
    blank_before: int = 0
    blank_after: int = 0
    keep_with_next: bool = False
    # Follows the chunk before with no blank line, wherever it stands (inside a box, §7.2).
    attached: bool = False
    # Lines that must start the chunk on the same page: a list never starts on a page's
    # last line (BF §8.3.5c).
    opening: int = 1


@dataclass
class Page:
    label: str  # the print form of the braille page number: "p1", "7"
    number: str  # its braille cells
    body: list[Line] = field(default_factory=list)
    rows: list[Line] = field(default_factory=list)  # every row, number line included


@dataclass
class Volume:
    preliminary: list[Page]
    body: list[Page]

    @property
    def pages(self) -> list[Page]:
        return self.preliminary + self.body


@dataclass
class Book:
    preliminary: list[Page]  # of every volume, in order
    body: list[Page]  # of every volume, in order
    heading_pages: dict[str, str]  # heading id → page label of its first line
    contents: list[tuple[Heading, str]]  # every heading with its page label
    cells: int
    lines: int
    profile: Profile
    volumes: list[Volume] = field(default_factory=list)
    interpoint: bool = False

    @property
    def pages(self) -> list[Page]:
        if self.volumes:
            return [page for volume in self.volumes for page in volume.pages]
        return self.preliminary + self.body


def wrap(cells: str, width: int, first_indent: int, runover_indent: int) -> list[tuple[int, str]]:
    """Greedy line filling at blank cells: (indent, content) pairs, no word split (B11).

    A word longer than a whole line is the one case that must be divided; it is cut with
    the UEB line continuation indicator at the end of each part.
    """
    words = [w for w in cells.split(BLANK) if w]
    lines: list[tuple[int, str]] = []
    indent, current = first_indent, ""
    for word in words:
        room = width - indent
        candidate = f"{current}{BLANK}{word}" if current else word
        if len(candidate) <= room:
            current = candidate
            continue
        if current:
            lines.append((indent, current))
            indent, current = runover_indent, ""
            room = width - indent
        while len(word) > room:
            cut, again = division(word, room - len(CONTINUATION))
            lines.append((indent, word[:cut] + CONTINUATION))
            word = again + word[cut:]
            indent = runover_indent
            room = width - indent
        current = word
    if current or not lines:
        lines.append((indent, current))
    return lines


def _is_prefix(cell: str) -> bool:
    """A cell that only modifies the cell after it: capital, grade 1, typeform and
    symbol prefixes (dots 4, 5, 6 only) and the numeric indicator. A line never ends on one."""
    dots = ord(cell) - 0x2800
    return cell == NUMERIC or (dots != 0 and not dots & 0b000111)


def division(word: str, limit: int) -> tuple[int, str]:
    """Where to divide a sequence too long for a line, and what the next line must start
    with (UEB §10.12, BANA Formats 2016 §10.4): after a slash, hyphen or dot where one
    falls in the back two thirds of the line, else at any point that is neither inside a
    number nor just after a prefix; a number longer than a line goes on with its numeric
    indicator repeated. Returns the cut (cells kept on this line) and the cells to prefix."""
    numeric = [False] * len(word)
    on = False
    for i, cell in enumerate(word):
        if cell == NUMERIC:
            on = True
        elif on and not (cell in DIGITS or cell in NUMERIC_PUNCTUATION and i + 1 < len(word) and word[i + 1] in DIGITS):
            on = False
        numeric[i] = on
    top = min(limit, len(word) - 1)

    def inside_number(k: int) -> bool:
        return numeric[k - 1] and numeric[k] and word[k] != NUMERIC

    def allowed(k: int) -> bool:
        return not inside_number(k) and not _is_prefix(word[k - 1])

    for k in range(top, max(limit // 3, 1) - 1, -1):
        if allowed(k) and (word[k - 2:k] == SLASH or word[k - 1] in (HYPHEN, DOT)) and not numeric[k - 1]:
            return k, ""
    for k in range(top, 0, -1):
        if allowed(k):
            return k, ""
    # One number longer than the line: it goes on with its numeric indicator again.
    cut = max(top, 1)
    return cut, NUMERIC if numeric[cut] and word[cut] in DIGITS else ""


def as_lines(pairs: list[tuple[int, str]], kind: str, **extra) -> list[Line]:
    return [Line(BLANK * indent + content, kind, first=(i == 0), **extra) for i, (indent, content) in enumerate(pairs)]


def centred(cells: str, width: int, kind: str, **extra) -> list[Line]:
    # Three blank cells each side at least, so a centred line never looks like text.
    pairs = wrap(cells, max(width - 6, 10), 0, 0)
    return [
        Line(BLANK * ((width - len(content)) // 2) + content, kind, first=(i == 0), **extra)
        for i, (_, content) in enumerate(pairs)
    ]


class Layout:
    def __init__(self, translator: Translator, cells: int = 40, lines: int = 25, profile: str = "ukaaf",
                 volume_pages: int = 0, link_addresses: bool | None = None, interpoint: bool = False,
                 producer: str = "", transcribed_on: str = ""):
        if profile not in PROFILES:
            raise ValueError(f"unknown braille profile {profile!r}; choose one of {', '.join(PROFILES)}")
        if cells < 12 or lines < 4:
            raise ValueError("a braille page needs at least 12 cells and 4 lines")
        if volume_pages and volume_pages < 10:
            raise ValueError(f"a braille volume needs room for at least 10 pages, not {volume_pages}")
        # The most braille pages a volume may hold, preliminary pages included; 0: one volume.
        self.volume_pages = volume_pages
        # Both sides of the paper: the preliminary pages are padded with blank versos so
        # that the body starts on a right-hand page (a PEF section starts on a new sheet).
        self.interpoint = interpoint
        # For the title page: who transcribed the book and when (a date from the options or
        # the master, never the clock, so that a rebuild is byte-identical).
        self.producer = producer
        self.transcribed_on = transcribed_on
        self.tr = translator
        self.width = cells
        self.height = lines
        self.profile = PROFILES[profile]
        self.labels = labels_for("en")  # the document's language's labels: set by make_book
        # Link addresses after their text: the profile's choice unless the user makes one.
        self.link_addresses = self.profile.link_addresses if link_addresses is None else link_addresses

    @property
    def body_height(self) -> int:
        return self.height - 1  # one line is the page number's

    # ------------------------------------------------------------ blocks → chunks

    def runs(self, inlines, uncontracted: bool = False) -> list[str]:
        return [self.tr.translate(run, uncontracted) for run in inline_runs(inlines, addresses=self.link_addresses)]

    def paragraph(self, inlines, first: int, runover: int, kind: str = "paragraph", prefix: str = "") -> list[Line]:
        """Lines of a run of inlines; ``prefix`` (cells) goes before the first word."""
        lines: list[Line] = []
        for cells in self.runs(inlines):
            if prefix:
                cells, prefix = BLANK.join(c for c in (prefix, cells) if c), ""
            if not cells and lines:
                continue
            # After a hard line break the text goes on at the runover position.
            part = as_lines(wrap(cells, self.width, runover if lines else first, runover), kind)
            if lines:
                part[0].first = False
            lines += part
        return lines

    def heading(self, block: Heading) -> Chunk:
        style = self.profile.heading(block.level)
        cells = BLANK.join(c for c in self.runs(block.children) if c)
        extra = {"heading_id": block.id, "level": block.level}
        if style.centred:
            lines = centred(cells, self.width, "heading", **extra)
        else:
            lines = as_lines(wrap(cells, self.width, style.indent, style.indent), "heading", **extra)
        return Chunk(lines, int(style.blank_before), int(style.blank_after), keep_with_next=True)

    def blocks(self, blocks, base: int = 0) -> list[Chunk]:
        chunks: list[Chunk] = []
        for block in blocks:
            chunks += self.block(block, base)
        return chunks

    def block(self, block, base: int = 0) -> list[Chunk]:
        if isinstance(block, Heading):
            return [self.heading(block)]
        if isinstance(block, Paragraph):
            # 3-1 paragraphs (B6); inside a quote the whole block moves in with ``base``.
            return [Chunk(self.paragraph(block.children, base + 2, base))]
        if isinstance(block, ListBlock):
            # Set off from the text before and after by a blank line (BF §8.3.2): a runover
            # in cell 1 followed by an item in cell 1 would read as one paragraph.
            return [Chunk(self.list_lines(block, 0, list_depth(block), base), 1, 1, opening=2)]
        if isinstance(block, BlockQuote):
            # Blocks in a quote are parted by a blank line, but a box's inside keeps to its lines.
            chunks = [Chunk(c.lines, 0 if c.attached else 1, keep_with_next=c.keep_with_next, attached=c.attached,
                            opening=c.opening)
                      for c in self.blocks(block.blocks, base + 2)]
            return self.blocked(chunks, base + 2)
        if isinstance(block, CodeBlock):
            return [Chunk(self.code_lines(block, base + 2), 1, 1)]
        if isinstance(block, Table):
            return [Chunk(self.table_lines(block, base), 1, 1)]
        if isinstance(block, Image):
            if block.decorative or not block.alt.strip():
                return []
            return [Chunk(self.transcriber_note(self.labels("Image: {alt}", alt=block.alt), base), 0, 0)]
        if isinstance(block, ThematicBreak):
            return [Chunk(centred(THEMATIC_BREAK, self.width, "break"), 1, 1)]
        if isinstance(block, Admonition):
            return self.boxed(block, base)
        if isinstance(block, DefinitionList):
            return [Chunk(self.definition_lines(block, base))]
        return []

    def boxed(self, block: Admonition, base: int) -> list[Chunk]:
        """A labelled note as boxed material (BANA Braille Formats 2016 §7): a blank line,
        the top box line, the label as the box's heading in cell 5, the note's blocks
        formatted as they are outside a box, the bottom box line, a blank line. No blank
        line follows the top box line or precedes the bottom one (§7.2), and the top box
        line keeps with the label and the first line of text (§7.3)."""
        nested = any(isinstance(inner, Admonition) for inner in walk_blocks(block.blocks))
        top, bottom = (BOX_OUTER, BOX_OUTER) if nested else (BOX_TOP, BOX_BOTTOM)
        length = self.width - base
        # The top box line is the first line of the box, the bottom one is not: pagination
        # tells them apart by ``first`` (BOX_OUTER draws both).
        head = [Line(BLANK * base + top * length, "box", first=True)]
        label = BLANK.join(c for c in self.runs(admonition_title(block, self.labels)) if c)
        if label:
            head += as_lines(wrap(label, self.width, base + 4, base + 4), "label")
        inner = self.blocks(block.blocks, base)
        if inner:
            inner[0].blank_before = 0
            inner[0].attached = True
            inner[-1].blank_after = 0
        foot = Chunk([Line(BLANK * base + bottom * length, "box")], 0, 1, attached=True)
        return [Chunk(head, 1, 0, keep_with_next=True), *inner, foot]

    def definition_lines(self, block: DefinitionList, base: int) -> list[Line]:
        """A definition list as a glossary (BANA Braille Formats, glossaries): each entry
        1-3, the term first and its definition running on after a colon, since the run-in
        entry loses the print's layout that parted them; a further paragraph or definition
        of the same term blocked in cell 3."""
        lines: list[Line] = []
        for entry in block.items:
            term_text = inline_text(entry.term).rstrip()
            separator = "" if not term_text or term_text[-1] in ".:;?!" else ":"
            term = tuple(entry.term) + ((Text(separator),) if separator else ())
            leading = True
            for definition in entry.definitions:
                for inner in definition:
                    if isinstance(inner, Paragraph):
                        if leading:
                            children = term + (Text(" "),) + tuple(inner.children)
                            lines += self.paragraph(children, base, base + 2, "definition")
                        else:
                            lines += self.paragraph(inner.children, base + 2, base + 2, "definition")
                    else:
                        if leading:
                            lines += self.paragraph(term, base, base + 2, "definition")
                        for chunk in self.block(inner, base + 2):
                            lines += chunk.lines
                    leading = False
            if leading:  # a term with no definition is still read
                lines += self.paragraph(term, base, base + 2, "definition")
        return lines

    def blocked(self, chunks: list[Chunk], indent: int) -> list[Chunk]:
        """Displayed material (block quotes): a blank line before and after, and each
        paragraph blocked in cell 3, paragraphs parted by a blank line."""
        for chunk in chunks:
            for line in chunk.lines:
                if line.kind == "paragraph":
                    line.kind = "quote"
        for chunk in chunks:
            if chunk.lines and chunk.lines[0].kind == "quote":
                chunk.lines = self.reblock(chunk.lines, indent)
        if chunks:
            chunks[0].blank_before = 1
            chunks[-1].blank_after = 1
        return chunks

    def reblock(self, lines: list[Line], indent: int) -> list[Line]:
        cells = BLANK.join(line.cells.strip(BLANK) for line in lines)
        return as_lines(wrap(cells, self.width, indent, indent), "quote")

    def list_lines(self, block: ListBlock, depth: int, total_depth: int, base: int) -> list[Line]:
        """Lists 1-3; nested lists 1-5, 3-5 … : each level starts two cells further in and
        every runover of the whole list sits two cells past the deepest start (B7)."""
        first, runover = base + 2 * depth, base + 2 * total_depth
        lines: list[Line] = []
        for number, item in enumerate(block.items, start=block.start):
            label = f"{number}. " if block.ordered else ""
            # A task item's state, after its number, as a transcriber's note: the words
            # stand for print's check box and must not be read as the item's own text.
            state = self.task_state(item.checked, label)
            leading = True
            if state and not (item.blocks and isinstance(item.blocks[0], Paragraph)):
                lines += as_lines(wrap(state, self.width, first, runover), "list")
                leading = False
            for inner in item.blocks:
                if isinstance(inner, ListBlock):
                    lines += self.list_lines(inner, depth + 1, total_depth, base)
                elif isinstance(inner, Paragraph) and leading and state:
                    lines += self.paragraph(inner.children, first, runover, "list", prefix=state)
                    leading = False
                elif isinstance(inner, Paragraph):
                    children = ((Text(label),) if leading and label else ()) + tuple(inner.children)
                    lines += self.paragraph(children, first if leading else runover, runover, "list")
                    leading = False
                else:
                    for chunk in self.block(inner, runover):
                        lines += chunk.lines
                    leading = False
        return lines

    def task_state(self, checked: bool | None, label: str) -> str:
        """Cells for a task item's number (if any) and state; "" for an ordinary item."""
        if checked is None:
            return ""
        note = TN_OPEN + self.tr.text(self.labels(TASK_STATES[checked]).lower()) + TN_CLOSE
        return BLANK.join(c for c in (self.tr.text(label.strip()) if label else "", note) if c)

    def code_lines(self, block: CodeBlock, indent: int) -> list[Line]:
        """Code and preformatted text line for line, uncontracted, with its spacing kept:
        text that print lines up in columns after two or more spaces ("Q1       310") is
        lined up in braille too, each column as far in as its widest braille needs. A
        transcriber's note says so first (BF §13 for computer code). When the columns
        cannot fit the line, each line keeps its own spacing and runs over two cells in."""
        lines = self.transcriber_note(self.labels(WORDS["code_note"]), max(indent - 2, 0))
        rows: list[list[tuple[int, str]]] = []
        for source_line in block.text.rstrip("\n").split("\n"):
            if not source_line.strip():
                continue
            tokens, column = [], 0
            for part in re.split(r"( {2,}|^ +)", source_line.rstrip(" ")):
                if part and part.strip(" "):
                    tokens.append((column, self.tr.text(part, uncontracted=True)))
                column += len(part)
            rows.append(tokens)
        place: dict[int, int] = {}
        for column in sorted({column for tokens in rows for column, _ in tokens}):
            need = column
            for tokens in rows:
                for (before, cells), (start, _) in zip(tokens, tokens[1:]):
                    if start == column:
                        need = max(need, place[before] + len(cells) + 2)
            place[column] = need
        aligned = all(indent + place[tokens[-1][0]] + len(tokens[-1][1]) <= self.width for tokens in rows)
        for tokens in rows:
            if aligned:
                cells = ""
                for column, part in tokens:
                    cells += BLANK * (place[column] - len(cells)) + part
                lines.append(Line(BLANK * indent + cells, "code", first=True))
                continue
            lead = min(tokens[0][0], (self.width - indent) // 2)
            cells = BLANK.join(part for _, part in tokens)
            lines += as_lines(wrap(cells, self.width, indent + lead, indent + lead + 2), "code")
        return lines

    def table_lines(self, block: Table, base: int) -> list[Line]:
        """A table read row by row, each cell after its column heading: the reader never
        has to hold the columns in mind. A transcriber's note says so first (B9)."""
        columns = len(block.header)
        note = self.labels("Table of {count} rows, each cell given with its column heading.", count=len(block.rows))
        lines: list[Line] = []
        if block.caption:
            lines += self.paragraph(block.caption, base + 2, base, "table")
        lines += self.transcriber_note(note, base)
        for row in block.rows:
            for index, cell in enumerate(row[:columns] if columns else row):
                header = block.header[index].children if index < columns else ()
                children = tuple(header) + (Text(": "),) + tuple(cell.children)
                first = base if index == 0 else base + 2
                lines += self.paragraph(children, first, base + 4, "table")
        return lines

    def transcriber_note(self, text: str, base: int) -> list[Line]:
        # Transcriber's notes as 7-5 paragraphs, as BANA Braille Formats sets them.
        cells = TN_OPEN + self.tr.text(text) + TN_CLOSE
        return as_lines(wrap(cells, self.width, base + 6, base + 4), "tn")

    def notes(self, footnotes) -> list[Chunk]:
        """Notes at the end of the section that cites them, after a separation line,
        each as a 1-3 paragraph starting with its number after the superscript indicator."""
        if not footnotes:
            return []
        chunks = [Chunk([Line(NOTE_SEPARATOR, "note")], 1, 0)]
        for note in footnotes:
            leading = True
            for inner in note.blocks:
                if isinstance(inner, Paragraph):
                    # The note's number raised, as its reference is (Rules of UEB §3.24).
                    prefix = (FootnoteRef(note.number, str(note.number)), Text(" ")) if leading else ()
                    chunks.append(Chunk(self.paragraph(prefix + tuple(inner.children), 0, 2, "note")))
                else:
                    chunks += self.block(inner, 2)
                leading = False
        return chunks

    def document_chunks(self, document: Document) -> list[Chunk]:
        chunks: list[Chunk] = []
        placed: set[int] = set()
        by_number = {note.number: note for note in document.footnotes}
        for section in document.sections():
            chunks += self.blocks(section.blocks)
            cited = [n for n in footnote_numbers(section.blocks) if n in by_number and n not in placed]
            placed.update(cited)
            chunks += self.notes([by_number[n] for n in cited])
        # Notes no section cites still reach the reader, after the last section.
        chunks += self.notes([note for note in document.footnotes if note.number not in placed])
        return chunks

    # ------------------------------------------------------------ pagination

    def paginate(self, chunks: list[Chunk], starts: list[int] | None = None) -> list[list[Line]]:
        """Cut lines into page bodies; a heading moves to the next page rather than be
        the last thing on one (B5), and blank lines at the top of a page are dropped.
        ``starts``, when given, gets the page index each chunk starts on (for volumes)."""
        pages: list[list[Line]] = [[]]
        pending_blank = 0
        for index, chunk in enumerate(chunks):
            if starts is not None:
                starts.append(len(pages) - 1)
            if not chunk.lines:
                continue
            page = pages[-1]
            gap = max(pending_blank, chunk.blank_before) if page else 0
            need = gap + (self.kept_height(chunks, index) if chunk.keep_with_next else self.opening(chunk))
            if page and need > self.body_height - len(page):
                pages.append(self.moved_over(page, chunk.lines[0]))
                gap = 0
            for _ in range(gap):
                pages[-1].append(Line("", "blank"))
            for line in chunk.lines:
                if len(pages[-1]) >= self.body_height:
                    pages.append(self.moved_over(pages[-1], line))
                pages[-1].append(line)
            pending_blank = chunk.blank_after
        return pages

    @staticmethod
    def moved_over(page: list[Line], following: Line) -> list[Line]:
        """The lines of a full ``page`` that go over to the next page with ``following``, the
        first line there, so that no box line stands alone at a page edge (BANA Formats
        §7.3): a bottom box line takes the last line of text with it (and the bottom lines
        of boxes inside, and the box's top line and label when that text was all the box
        had on the page); a top box line and label left at a page's foot go over too. A
        heading left above lines that move goes with them (B5)."""
        cut = len(page)
        while cut and not page[cut - 1].cells.strip(BLANK):
            cut -= 1
        closing = following.kind == "box" and not following.first
        if closing:
            while cut and (page[cut - 1].kind == "box" and not page[cut - 1].first or not page[cut - 1].cells.strip(BLANK)):
                cut -= 1
            cut -= 1  # the last line of text
        if cut > 0 and (page[cut - 1].kind == "label" or page[cut - 1].kind == "box" and page[cut - 1].first):
            while cut > 0 and page[cut - 1].kind == "label":
                cut -= 1
            if cut > 0 and page[cut - 1].kind == "box" and page[cut - 1].first:
                cut -= 1
            while cut > 0 and (page[cut - 1].kind == "heading" or not page[cut - 1].cells.strip(BLANK)):
                cut -= 1
        elif not closing:
            return []
        if cut <= 0:
            return []  # the page is all one box: nothing better can be done
        carried = page[cut:]
        del page[cut:]
        while page and not page[-1].cells.strip(BLANK):
            page.pop()
        while carried and not carried[0].cells.strip(BLANK):
            carried.pop(0)
        return carried

    @staticmethod
    def opening(chunk: Chunk) -> int:
        return min(chunk.opening, len(chunk.lines))

    def kept_height(self, chunks: list[Chunk], index: int) -> int:
        """Lines a heading needs on its page: itself, any headings straight after it, and
        the first line of the text they lead into."""
        need = len(chunks[index].lines)
        after = chunks[index].blank_after
        # Walked by index: a slice of the rest copied it for every heading, which made a
        # book of many headings cost the square of their number.
        for position in range(index + 1, len(chunks)):
            following = chunks[position]
            if not following.lines:
                continue
            need += max(after, following.blank_before)
            if not following.keep_with_next:
                need += self.opening(following)
                break
            need += len(following.lines)
            after = following.blank_after
        # A heading run longer than a page cannot be kept: let it flow.
        return need if need <= self.body_height else len(chunks[index].lines)

    def number_cells(self, label: str) -> str:
        return self.tr.text(label)

    def finish(self, body: list[Line], label: str) -> Page:
        number = self.number_cells(label)
        number_line = Line(BLANK * (self.width - len(number)) + number, "number")
        rows = list(body)
        if self.profile.number_at_top:
            rows = [number_line] + rows
        else:
            rows = rows + [Line("", "blank")] * (self.body_height - len(rows)) + [number_line]
        while rows and not rows[-1].cells.strip(BLANK):
            rows.pop()
        return Page(label, number, body, rows)

    # ------------------------------------------------------------ title and contents

    def title_page(self, document: Document, volume: int = 1, volumes: int = 1, pages: str = "") -> list[Line]:
        """Title, author, the braille code and grade, the volume ("In 3 volumes", "Volume 1
        of 3"), the braille pages it holds, then at the foot the print publisher and year
        and who transcribed it when (BF §1.9)."""
        meta = document.metadata
        lines: list[Line] = []
        for text in (meta.title, meta.subtitle):
            if text:
                lines += centred(self.tr.text(text), self.width, "title")
        if meta.author:
            lines += [Line("", "blank")] + centred(self.tr.text(meta.author), self.width, "title")
        code = self.code_name()
        if code:
            lines += [Line("", "blank")] + centred(self.tr.text(code), self.width, "title")
        if volumes > 1:
            # Every volume says which it is and how many there are (BF §1.9).
            lines += [Line("", "blank")] + centred(self.tr.text(self.labels(WORDS["in_volumes"], total=volumes)), self.width, "title")
            lines += centred(self.tr.text(self.labels(WORDS["volume"], number=volume, total=volumes)), self.width, "title")
        if pages:
            lines += centred(self.tr.text(pages), self.width, "title")
        tail: list[Line] = []
        for text in (meta.publisher, meta.date[:4] if meta.date else ""):
            if text:
                tail += centred(self.tr.text(text), self.width, "title")
        transcribed = self.transcription()
        if transcribed:
            tail = ([Line("", "blank")] if tail else []) + tail + centred(self.tr.text(transcribed), self.width, "title")
        room = self.body_height - len(lines) - len(tail)
        if room > 0:
            lines += [Line("", "blank")] * room
        return (lines + tail)[: self.body_height] if room >= 0 else lines[: self.body_height]

    def transcription(self) -> str:
        if self.producer and self.transcribed_on:
            return self.labels(WORDS["transcribed_by_on"], producer=self.producer, date=self.transcribed_on)
        if self.producer:
            return self.labels(WORDS["transcribed_by"], producer=self.producer)
        return self.labels(WORDS["transcribed_on"], date=self.transcribed_on) if self.transcribed_on else ""

    def symbols_page(self, document: Document, body: list[list[Line]]) -> list[list[Line]]:
        """The special symbols this book uses and the transcriber's notes on how it is set
        out (BF §1.11, §1.12): only what the book has, nothing when it has none of them."""
        kinds = {line.kind for page in body for line in page}
        cells = "".join(line.cells for page in body for line in page)
        blocks = list(walk_blocks(document.blocks))
        symbols: list[tuple[str, str]] = []
        if TN_OPEN in cells:
            symbols += [(TN_OPEN, self.labels(WORDS["tn_open"])), (TN_CLOSE, self.labels(WORDS["tn_close"]))]
        if SUPERSCRIPT in cells:
            symbols.append((SUPERSCRIPT, self.labels(WORDS["superscript"])))
        if any(line.cells.endswith(CONTINUATION) for page in body for line in page):
            symbols.append((CONTINUATION, self.labels(WORDS["continuation"])))
        if "box" in kinds:
            symbols.append((BOX_TOP + BOX_TOP, self.labels(WORDS["box"])))
        notes: list[str] = []
        if any(isinstance(block, Table) for block in blocks):
            notes.append(self.labels(WORDS["note_tables"]))
        if any(isinstance(block, CodeBlock) for block in blocks):
            notes.append(self.labels(WORDS["note_code"]))
        if any(isinstance(block, Heading) and block.level >= 4 for block in blocks):
            notes.append(self.labels(WORDS["note_headings"]))
        if self.link_addresses and any(
                isinstance(node, Link) and link_address(node) for block in blocks for node in inline_nodes(block)):
            notes.append(self.labels(WORDS["note_links"]))
        if not symbols and not notes:
            return []
        chunks: list[Chunk] = []
        if symbols:
            chunks.append(Chunk(centred(self.tr.text(self.labels(WORDS["special_symbols"])), self.width, "heading"), 0, 1, True))
            for symbol, meaning in symbols:
                # Symbol in cell 1, its meaning after a blank, runovers in cell 5 (BF §1.11).
                chunks.append(Chunk(as_lines(wrap(symbol + BLANK + self.tr.text(meaning), self.width, 0, 4), "symbols")))
        if notes:
            chunks.append(Chunk(centred(self.tr.text(self.labels(WORDS["transcribers_notes"])), self.width, "heading"), 1, 1, True))
            for note in notes:
                chunks.append(Chunk(as_lines(wrap(self.tr.text(note), self.width, 2, 0), "paragraph")))
        return self.paginate(chunks)

    def code_name(self) -> str:
        tables = ",".join(self.tr.tables)
        if "en-ueb-g2" in tables:
            return "Unified English Braille, contracted"
        if "en-ueb-g1" in tables:
            return "Unified English Braille, uncontracted"
        return ""

    def contents_lines(self, entries: list[tuple[Heading, str]]) -> list[Line]:
        lines = centred(self.tr.text(self.labels(WORDS["contents"])), self.width, "heading") + [Line("", "blank")]
        deepest = max((heading.level for heading, _ in entries), default=1)
        for heading, label in entries:
            lines += self.contents_entry(heading, self.number_cells(label), deepest)
        return lines

    def contents_pages(self, entries: list[tuple[Heading, str]]) -> list[list[Line]]:
        """The contents cut into page bodies, an entry never divided between pages, and
        every page after the first headed "Contents (continued)" (BF §2.10)."""
        lines = self.contents_lines(entries)
        heading, entry_lines = lines[:2], lines[2:]
        continued = centred(self.tr.text(self.labels(WORDS["contents_continued"])), self.width, "heading") + [Line("", "blank")]
        entries_cut: list[list[Line]] = []
        for line in entry_lines:
            if line.first or not entries_cut:
                entries_cut.append([])
            entries_cut[-1].append(line)
        pages = [list(heading)]
        for entry in entries_cut:
            if len(pages[-1]) + len(entry) > self.body_height and len(pages[-1]) > len(continued):
                pages.append(list(continued))
            pages[-1] += entry
        return pages

    def contents_entry(self, heading: Heading, number: str, deepest: int = 0) -> list[Line]:
        """Entry text indented by level, runovers two cells past the deepest level's start
        (BF §2.10: a runover must not stand where an entry starts), then guide dots and the
        page number flush right on the entry's last line (BANA §2.9 style)."""
        indent = 2 * (heading.level - 1)
        runover = 2 * (max(deepest, heading.level) - 1) + 2
        cells = BLANK.join(c for c in self.runs(heading.children) if c)
        # Leave room on the last line for a blank, two guide dots, a blank and the number.
        tail = 4 + len(number)
        pairs = wrap(cells, self.width - tail, indent, runover)
        lines = as_lines(pairs, "contents", heading_id=heading.id, level=heading.level)
        last = lines[-1]
        dots = self.width - len(last.cells) - len(number) - 2
        last.cells = last.cells + BLANK + GUIDE_DOT * dots + BLANK + number
        return lines

    # ------------------------------------------------------------ the book

    def book(self, document: Document) -> Book:
        chunks = self.document_chunks(document)
        starts: list[int] = []
        whole = self.paginate(chunks, starts)
        headings = [b for b in walk_blocks(document.blocks) if isinstance(b, Heading)]
        symbols = self.symbols_page(document, whole)
        parts = self.volume_parts(chunks, whole, starts, headings, len(symbols))
        bodies: list[list[Page]] = []
        number = 1
        for part in parts:
            pages = self.paginate(part) if len(parts) > 1 else whole
            bodies.append([self.finish(lines, str(number + i)) for i, lines in enumerate(pages)])
            number += len(pages)
        heading_pages: dict[str, str] = {}
        volume_of: dict[str, int] = {}
        for index, body in enumerate(bodies):
            for page in body:
                for line in page.body:
                    if line.kind == "heading" and line.first and line.heading_id not in heading_pages:
                        heading_pages[line.heading_id] = page.label
                        volume_of[line.heading_id] = index
        contents = [(h, heading_pages[h.id]) for h in headings if h.id in heading_pages]
        volumes: list[Volume] = []
        for index, body in enumerate(bodies):
            own = [(h, label) for h, label in contents if volume_of[h.id] == index]
            listed = contents if index == 0 and self.profile.full_contents_first else own
            preliminary_bodies: list[list[Line] | None] = [[]]  # the title page, made once its page count is known
            if self.interpoint and self.profile.blank_verso_after_title:
                preliminary_bodies.append(None)
            preliminary_bodies += symbols
            preliminary_bodies += self.contents_pages(listed)
            if self.interpoint and len(preliminary_bodies) % 2:
                preliminary_bodies.append(None)
            page_range = self.labels(WORDS["pages"], prelims=f"p{len(preliminary_bodies)}",
                                     first=body[0].label if body else "", last=body[-1].label if body else "")
            preliminary_bodies[0] = self.title_page(document, index + 1, len(bodies), page_range)
            preliminary = [self.finish(lines, f"p{i}") if lines is not None else Page(f"p{i}", "")
                           for i, lines in enumerate(preliminary_bodies, start=1)]
            volumes.append(Volume(preliminary, body))
        return Book([p for v in volumes for p in v.preliminary], [p for v in volumes for p in v.body],
                    heading_pages, contents, self.width, self.height, self.profile, volumes, self.interpoint)

    def volume_parts(self, chunks: list[Chunk], whole: list[list[Line]], starts: list[int],
                     headings: list[Heading], symbol_pages: int = 0) -> list[list[Chunk]]:
        """The body's chunks cut into volumes of at most ``volume_pages`` pages with their
        preliminary pages, at a heading (the higher the level the better) near an even
        share of what is left (BF §1.9). Each volume's body starts on a page of its own."""
        if not self.volume_pages or len(whole) + 3 <= self.volume_pages:
            return [chunks]
        label = str(len(whole))
        by_id = {h.id: h for h in headings}
        full_contents = len(self.contents_pages([(h, label) for h in headings]))
        fixed = 1 + symbol_pages + (2 if self.interpoint else 0)  # title, symbols, blank back and padding

        def prelims(part: list[Chunk], index: int) -> int:
            if index == 0 and self.profile.full_contents_first:
                return fixed + full_contents
            own = [by_id[line.heading_id] for chunk in part for line in chunk.lines
                   if line.kind == "heading" and line.first and line.heading_id in by_id]
            return fixed + len(self.contents_pages([(h, label) for h in own]))

        # First with each volume's contents guessed from its share of the whole, then, if
        # a volume came out too big, with room for the whole contents in every volume.
        share_of_contents = -(-full_contents * self.volume_pages // len(whole)) + 1
        guesses = [
            lambda index: self.volume_pages - fixed - (full_contents if index == 0 and self.profile.full_contents_first
                                                       else share_of_contents),
            lambda index: self.volume_pages - fixed - full_contents,
        ]
        for room_of in guesses:
            parts = self.cut_volumes(chunks, starts, len(whole), room_of)
            if all(len(self.paginate(part)) + prelims(part, i) <= self.volume_pages for i, part in enumerate(parts)):
                return parts
        return parts

    def cut_volumes(self, chunks: list[Chunk], starts: list[int], total: int, room_of) -> list[list[Chunk]]:
        # A volume may start at the first of a run of headings, or else at any block.
        candidates: dict[int, int] = {}
        previous_kept = False
        for index, chunk in enumerate(chunks):
            if not chunk.lines:
                continue
            first = chunk.lines[0]
            if not previous_kept and not chunk.attached:
                candidates[index] = first.level if first.kind == "heading" else 9
            previous_kept = chunk.keep_with_next
        parts: list[list[Chunk]] = []
        start = 0
        while True:
            room = max(room_of(len(parts)), 5)
            left = total - starts[start]
            if left <= room:
                break
            # How many volumes the rest needs, each with its own room, and an even share.
            needed, rest = 0, left
            while rest > 0:
                rest -= max(room_of(len(parts) + needed), 5)
                needed += 1
            share = min(left / needed, room)
            options = sorted(
                (abs(starts[i] - starts[start] - share) + 4 * (level - 1), i)
                for i, level in candidates.items()
                if i > start and 0 < starts[i] - starts[start] <= room
            )
            for _, end in options:
                if len(self.paginate(chunks[start:end])) <= room:
                    break
            else:
                break  # nothing fits: the rest goes in one volume, as it must
            parts.append(chunks[start:end])
            start = end
        parts.append(chunks[start:])
        return parts


def inline_nodes(block):
    """Every inline node of a block's own text, nested ones included."""
    stack = list(getattr(block, "children", ()))
    while stack:
        node = stack.pop()
        yield node
        stack += list(getattr(node, "children", ()))


def list_depth(block: ListBlock) -> int:
    inner = [list_depth(b) for item in block.items for b in item.blocks if isinstance(b, ListBlock)]
    return 1 + max(inner, default=0)


def footnote_numbers(blocks) -> list[int]:
    numbers: list[int] = []

    def visit(inlines) -> None:
        for node in inlines:
            if isinstance(node, FootnoteRef):
                numbers.append(node.number)
            elif hasattr(node, "children"):
                visit(node.children)

    for block in walk_blocks(blocks):
        if hasattr(block, "children"):
            visit(block.children)
        if isinstance(block, Admonition):
            visit(block.title)
        if isinstance(block, DefinitionList):
            for entry in block.items:
                visit(entry.term)
        if isinstance(block, Table):
            for row in (block.header,) + block.rows:
                for cell in row:
                    visit(cell.children)
            visit(block.caption)
    return numbers
