"""Text to braille cells through liblouis (the ``louis`` module).

liblouis only translates: it turns a run of print into a run of cells. Everything about
where the cells go on a page lives in ``layout``. We always ask liblouis for dot patterns
(``dotsIO | ucBrl``) so that the layout works on Unicode braille whatever display table a
user names; the BRF mapping is ours and fixed (``brf.py``).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import louis

from ...errors import WriterError
from ...model import Code, Emphasis, FootnoteRef, Inline, LineBreak, Link, Span, Strikethrough, Strong, Text
from ...characters import character_name

BLANK = "\u2800"
# UEB transcriber's note indicators (Rules of UEB §3.27): opening dots 4, 46, 126; closing 4, 46, 345.
TN_OPEN = "\u2808\u2828\u2823"
TN_CLOSE = "\u2808\u2828\u281c"
# Deleted (struck-through) print text. UEB has no strikethrough indicator, so the deleted
# words go inside the transcriber's note indicators after the label "deleted:": the label
# says what print shows, the closing indicator says where the deletion ends, and the words
# are the print's own (same contractions and emphasis). A typeform bit of our own, above
# every liblouis typeform and taken off before liblouis sees the text, marks them in a Run.
DELETED = 0x8000
DELETED_LABEL = "deleted:"
# A footnote reference's number, marked the same way, to be set after the superscript indicator.
NOTE_REF = 0x4000
# UEB superscript indicator (dots 35) after the grade 1 indicator (dots 56), which grade 2
# needs so that the cell is not read as the "in" contraction (Rules of UEB §3.24).
SUPERSCRIPT = "\u2830\u2814"
# Typeform bits that are emphasis (italic, underline, bold).
EMPHASIS = louis.italic | louis.underline | louis.bold
# A passage in another language (model.Span) is carried in a Run as the language's number
# (in LANGUAGES) from bit LANGUAGE_SHIFT up, above DELETED, and taken off before liblouis.
# It is brailled with its language's table between transcriber's note indicators, after
# the language's name: the switch is announced and its end is shown, as "deleted:" is.
LANGUAGE_SHIFT = 16
LANGUAGES: list[str] = []


def language_bits(lang: str) -> int:
    if lang not in LANGUAGES:
        LANGUAGES.append(lang)
    return (LANGUAGES.index(lang) + 1) << LANGUAGE_SHIFT


UEB_TABLES = {1: "en-ueb-g1.ctb", 2: "en-ueb-g2.ctb"}
# Tables the liblouis metadata search may not rank well; checked before the search.
KNOWN_TABLES = {
    ("de", 1): "de-g1.ctb",
    ("de", 2): "de-g2.ctb",
    ("fr", 1): "fr-bfu-comp6.utb",
    ("fr", 2): "fr-bfu-g2.ctb",
    ("es", 1): "es-g1.ctb",
    ("es", 2): "es-g2.ctb",
    ("it", 1): "it-it-comp6.utb",
    ("nl", 1): "nl-NL-g0.utb",
    ("cy", 1): "cy-cy-g1.utb",
    ("cy", 2): "cy-cy-g2.ctb",
}
TABLES_DIR = Path("/usr/share/liblouis/tables")
# formatforge's own tables (tables/): each includes a stock liblouis table and adds
# backward-only (`nofor`) rules that correct how liblouis reads that language's braille
# back to print. The braille they write is the stock table's, cell for cell; the build
# uses them in place of the stock table for the language, and a table named with
# --braille-table is used as named. They are passed to liblouis by absolute path, so its
# own table search path (and every stock table on it) stays as it is; an `include` in an
# overlay finds the stock table there.
OVERLAY_DIR = Path(__file__).with_name("tables")
OVERLAYS = {
    "cy-cy-g1.utb": "cy-cy-g1.formatforge.utb",
    "cy-cy-g2.ctb": "cy-cy-g2.formatforge.ctb",
}
# Dots 1–6 only: BRF cannot carry dots 7 and 8, and the three outputs must agree cell for cell.
SIX_DOT_MASK = 0x3F


def parse_table_list(value: str | list[str] | tuple[str, ...]) -> list[str]:
    """A table list as a user writes it: "a.ctb,b.ctb" or a list of names. A stock name is
    liblouis's table; the name of one of formatforge's overlays is that overlay."""
    names = value.split(",") if isinstance(value, str) else list(value)
    return [own_table(name.strip()) for name in names if name.strip()]


def own_table(name: str) -> str:
    """An overlay's file name as the absolute path liblouis loads it by; any other name as it is."""
    if name in OVERLAYS.values() and (OVERLAY_DIR / name).is_file():
        return str(OVERLAY_DIR / name)
    return name


def with_overlay(table: str) -> str:
    """The table the build uses for a stock table: formatforge's overlay where it has one
    (an install without it still writes the same braille through the stock table)."""
    overlay = OVERLAY_DIR / OVERLAYS.get(table, "-")
    return str(overlay) if overlay.is_file() else table


def table_name(table: str) -> str:
    """A table's file name, whether liblouis is given a name or a path."""
    return Path(table).name


def default_tables(language: str, grade: int) -> list[str]:
    """The translation table for a front-matter language tag (BCP 47) and a grade.

    English of any region is Unified English Braille (B1); ``en-GB-g2.ctb`` is the
    pre-UEB British code and is never chosen. Other languages are looked up in our short
    list and then in the ``#+language``/``#+grade`` metadata liblouis tables carry. A
    language with no table is an error naming the nearest tables: English braille for a
    Welsh or Basque text would be unreadable, and ``--braille-table`` can name one.
    Where formatforge has an overlay for the table (Welsh), the overlay's path is returned.
    """
    return [with_overlay(_stock_table(language, grade))]


def _stock_table(language: str, grade: int) -> str:
    primary = (language or "en").replace("_", "-").split("-")[0].casefold()
    if primary == "en":
        return UEB_TABLES[grade]
    known = KNOWN_TABLES.get((primary, grade))
    if known and (TABLES_DIR / known).exists():
        return known
    found = _table_by_metadata(primary, grade)
    if found:
        return found
    # A language with only uncontracted braille (Italian, Dutch) gets it at grade 2 too.
    other = KNOWN_TABLES.get((primary, 3 - grade))
    if other and (TABLES_DIR / other).exists():
        return other
    raise WriterError(f"braille: liblouis has no table for the language {language!r}; the nearest tables are "
                      f"{', '.join(nearest_tables(primary))}. Name one with --braille-table (braille.table).")


def nearest_tables(language: str, count: int = 3) -> list[str]:
    """Tables of the languages whose codes are closest to ``language`` (one table each)."""
    import difflib

    tables = _literary_tables()
    codes = difflib.get_close_matches(language, sorted(tables), n=count, cutoff=0.0)
    return [f"{tables[code][0][1]} ({code})" for code in codes]


@functools.lru_cache(maxsize=None)
def _literary_tables() -> dict[str, list[tuple[tuple, str]]]:
    """Literary six-dot-first tables by primary language, best first for each grade score."""
    by_language: dict[str, list[tuple[tuple, str]]] = {}
    for path in sorted(TABLES_DIR.glob("*.[cu]t[bi]")):
        if path.suffix not in {".ctb", ".utb"}:
            continue
        meta = {}
        with path.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("#+"):
                    key, _, val = line[2:].partition(":")
                    meta[key.strip()] = val.strip()
                elif meta and not line.startswith("#"):
                    break
        language = meta.get("language", "").split("-")[0].casefold()
        if not language:
            continue
        if meta.get("type", "literary") != "literary" or meta.get("direction", "both") == "backward":
            continue
        info = (meta.get("contraction", "no"), meta.get("dots", "6") == "6", -len(path.name))
        by_language.setdefault(language, []).append((info, path.name))
    return by_language


@functools.lru_cache(maxsize=None)
def _table_by_metadata(language: str, grade: int) -> str | None:
    wanted = "no" if grade == 1 else "full"
    candidates = [((contraction == wanted, six, length), name)
                  for (contraction, six, length), name in _literary_tables().get(language, [])]
    if not candidates:
        return None
    candidates.sort(reverse=True)
    return candidates[0][1]


class _SixDotTable(dict):
    """For str.translate, which runs it in C: every cell to its six-dot cell, anything
    that is not a braille cell to a blank."""

    def __missing__(self, ordinal: int) -> str:
        return BLANK


_SIX_DOT_TABLE = _SixDotTable({0x2800 + dots: chr(0x2800 + (dots & SIX_DOT_MASK)) for dots in range(0x100)})


def six_dot(cells: str) -> str:
    return cells.translate(_SIX_DOT_TABLE)


@dataclass(frozen=True)
class Run:
    """Print text with one liblouis typeform value per character."""

    text: str
    typeform: tuple[int, ...]

    @staticmethod
    def plain(text: str) -> "Run":
        return Run(text, (0,) * len(text))

    def __add__(self, other: "Run") -> "Run":
        return Run(self.text + other.text, self.typeform + other.typeform)


def link_address(link: Link) -> str:
    """The address a paper reader needs to follow a link, or "" when there is none to give:
    a link inside the document, or one whose text already is its address."""
    url = link.url.strip()
    if not url or url.startswith("#"):
        return ""
    shown = url.removeprefix("mailto:")
    text = "".join(inline_plain(link.children)).strip()

    def bare(address: str) -> str:
        for prefix in ("https://", "http://", "mailto:", "www."):
            address = address.removeprefix(prefix)
        return address.rstrip("/").casefold()

    return "" if bare(text) == bare(shown) else shown


def inline_plain(inlines) -> list[str]:
    out: list[str] = []
    for node in inlines:
        if isinstance(node, (Text, Code)):
            out.append(node.text)
        elif hasattr(node, "children"):
            out += inline_plain(node.children)
    return out


def inline_runs(inlines: tuple[Inline, ...] | list[Inline], typeform: int = 0, addresses: bool = False) -> list[Run]:
    """Inlines as runs of print split at hard line breaks, emphasis kept as typeform.

    Links are read as their text and, with ``addresses``, the address after it in
    parentheses when it differs from the text (BF §10.7 style): a paper reader cannot
    follow "our finance page". A footnote reference becomes the UEB superscript
    indicator and the note's number, pointing at the notes after the section.
    """
    runs = [Run.plain("")]

    def add(text: str, form: int) -> None:
        runs[-1] = runs[-1] + Run(text, (form,) * len(text))

    def walk(nodes, form: int) -> None:
        for node in nodes:
            if isinstance(node, Text):
                add(node.text.replace("\n", " "), form)
            elif isinstance(node, Code):
                add(node.text, form | louis.no_contract)
            elif isinstance(node, Emphasis):
                walk(node.children, form | louis.italic)
            elif isinstance(node, Strong):
                walk(node.children, form | louis.bold)
            elif isinstance(node, Link):
                walk(node.children, form)
                address = link_address(node) if addresses else ""
                if address:
                    add(f" ({address})", form & ~EMPHASIS)
            elif isinstance(node, Strikethrough):
                walk(node.children, form | DELETED)
            elif isinstance(node, Span):
                walk(node.children, (form & (1 << LANGUAGE_SHIFT) - 1) | language_bits(node.lang))
            elif isinstance(node, LineBreak):
                runs.append(Run.plain(""))
            elif isinstance(node, FootnoteRef):
                add(str(node.number), NOTE_REF)

    walk(inlines, typeform)
    return runs


# liblouis writes a character it has no rule for as an escape such as '\x1f600' (in
# braille, a run of letters no reader can use) and turns some into nothing at all.
_ESCAPE = re.compile(r"\\[xy][0-9a-j]+", re.IGNORECASE)


def has_no_reading(char: str) -> bool:
    """Format characters (joiners, direction marks, soft hyphens) and variation selectors
    only change how the characters around them look: there is nothing to read, so they are
    left out on purpose."""
    return unicodedata.category(char) == "Cf" or unicodedata.name(char, "").startswith("VARIATION SELECTOR")


@functools.lru_cache(maxsize=8192)
def liblouis_writes(tables: tuple[str, ...], char: str) -> bool:
    if " " <= char <= "~" or char in "\t\n":
        return True
    translated = louis.translateString(list(tables), char)
    return bool(translated.strip()) and not _ESCAPE.search(translated)


def _script(char: str) -> str:
    """The script of a letter, mark or digit as its Unicode name starts ("cyrillic",
    "cjk", "arabic", "devanagari"), or "" for symbols and everything else."""
    if unicodedata.category(char)[0] not in "LMN":
        return ""
    return unicodedata.name(char, "").split(" ")[0].lower()


def _is_regional_indicator(char: str) -> bool:
    return "\U0001F1E6" <= char <= "\U0001F1FF"


# A script liblouis cannot write, named by the language a reader knows it as where the
# script is (nearly) one language's; Han is Japanese when kana are beside it.
SCRIPT_LANGUAGES = {
    "cjk": "Chinese", "hiragana": "Japanese", "katakana": "Japanese", "hangul": "Korean", "thai": "Thai",
    "hebrew": "Hebrew", "greek": "Greek", "arabic": "Arabic", "georgian": "Georgian", "armenian": "Armenian",
    "khmer": "Khmer", "lao": "Lao", "tibetan": "Tibetan", "sinhala": "Sinhala", "ethiopic": "Amharic",
}


def script_label(script: str, text: str) -> str:
    if script == "cjk" and any(_script(c) in ("hiragana", "katakana") for c in text):
        return "Japanese"
    return SCRIPT_LANGUAGES.get(script, script.capitalize())


def describe(text: str) -> str:
    """Print for characters liblouis cannot write: letters of other scripts transliterated
    (anyascii) after the script's name, every other character by its Unicode name, as a
    braille reader's transcriber's note would give them."""
    from anyascii import anyascii  # only a text with a transcriber's note needs it

    parts: list[str] = []
    index = 0
    chars = [c for c in text if not has_no_reading(c)]
    while index < len(chars):
        if _is_regional_indicator(chars[index]) and index + 1 < len(chars) and _is_regional_indicator(chars[index + 1]):
            parts.append(f"flag {anyascii(chars[index] + chars[index + 1]).lower()}")  # a flag emoji is a pair
            index += 2
            continue
        script = _script(chars[index])
        if not script:
            if not chars[index].isspace():
                parts.append(character_name(chars[index]))
            index += 1
            continue
        end = index
        while end < len(chars) and (_script(chars[end]) == script or
                                    (chars[end].isspace() and end + 1 < len(chars) and _script(chars[end + 1]) == script)):
            end += 1
        run = "".join(chars[index:end])
        # a Latin letter liblouis cannot write carries an accent that transliteration would drop
        spelled = "" if script == "latin" else " ".join(anyascii(run).lower().split())
        parts.append(f"{script_label(script, text)}: {spelled}" if spelled else ", ".join(character_name(c) for c in run if not c.isspace()))
        index = end
    return ", ".join(parts)


def _pieces(text: str, tables: tuple[str, ...]) -> list[tuple[int, int, bool]]:
    """``text`` cut into (start, end, liblouis writes it) pieces; whitespace between two
    characters liblouis cannot write joins them into one piece, so a phrase gets one note."""
    pieces: list[tuple[int, int, bool]] = []
    for index, char in enumerate(text):
        writes = liblouis_writes(tables, char)
        if pieces and pieces[-1][2] == writes:
            pieces[-1] = (pieces[-1][0], index + 1, writes)
        else:
            pieces.append((index, index + 1, writes))
    merged: list[tuple[int, int, bool]] = []
    for piece in pieces:
        if (not piece[2] and len(merged) >= 2 and merged[-1][2] and not merged[-2][2]
                and not text[merged[-1][0]:merged[-1][1]].strip()):
            merged.pop()
            merged[-1] = (merged[-1][0], piece[1], False)
        else:
            merged.append(piece)
    return merged


def emphasis_over_punctuation(text: str, typeform: tuple[int, ...]) -> tuple[int, ...]:
    """Emphasis carried over the punctuation next to it, up to the space on either side.

    liblouis 3.24 closes an emphasised passage a word early when unemphasised punctuation
    follows it ("**these four words now**." gives the passage indicator, three words, the
    terminator, then "now" with a word indicator of its own). With the punctuation inside
    the emphasis liblouis writes one passage and one terminator after the punctuation,
    which UEB allows (Rules of UEB §9.7: punctuation next to emphasised text may be taken
    into it)."""
    forms = list(typeform)
    for index in range(1, len(text)):
        carried = forms[index - 1] & EMPHASIS
        if carried and not forms[index] & EMPHASIS and not text[index].isspace() and not text[index].isalnum():
            forms[index] |= carried
    # Opening punctuation before a passage likewise ("(**see these words**)").
    for index in range(len(text) - 2, -1, -1):
        carried = forms[index + 1] & EMPHASIS
        if carried and not forms[index] & EMPHASIS and not text[index].isspace() and not text[index].isalnum():
            forms[index] |= carried
    return tuple(forms)


_LOOSE_APOSTROPHE = re.compile(r"(?<!\w)'|'(?!\w)")  # one not between two letters
_QUOTED = re.compile(r"(?<![\w'])'(?=\S)([^\n]*?\S)'(?![\w'])")


def single_quotes(text: str) -> str:
    """Straight single quotes that print uses as quotation marks ('like this') as the
    single quotation marks they are: liblouis writes a straight quote as an apostrophe.
    An apostrophe inside or at the end of a word (it's, the students') is left alone.
    The length is kept, so typeform stays aligned."""
    if "'" not in text:
        return text
    return _QUOTED.sub(lambda m: m.group(0) if _LOOSE_APOSTROPHE.search(m.group(1)) else "\u2018" + m.group(1) + "\u2019", text)



def joined(cells: str, piece: str, core: str) -> str:
    """``cells`` then ``core``, the braille of the print stretch ``piece``. Translation drops
    the spaces at a stretch's edges: they are put back as blank cells, never doubled."""
    if piece[:1].isspace() and cells and not cells.endswith(BLANK):
        cells += BLANK
    cells += core
    if piece[-1:].isspace() and cells and not cells.endswith(BLANK):
        cells += BLANK
    return cells

# Each table list's translations, kept for the process (``Translator._cells``): the tables are
# liblouis's and formatforge's own, which liblouis itself compiles once a process.
_CELLS: dict[tuple[str, ...], dict[tuple[str, tuple[int, ...] | None, bool], str]] = {}
_CELLS_AT_MOST = 100_000  # about 40 MB; a 108,000-word book keeps some 8,000


class Translator:
    def __init__(self, tables: list[str]):
        if not tables:
            raise WriterError("braille: the table list is empty")
        try:
            louis.checkTable(tables)
        except RuntimeError as error:
            raise WriterError(f"braille: liblouis cannot load the table list {','.join(tables)}: {error}") from error
        self.tables = tables
        self.deleted_label = DELETED_LABEL  # the document language's word (labels.py) replaces it
        # Grade 1 has no "in" contraction for the superscript indicator to be mistaken for.
        names = [table_name(table) for table in tables]  # an overlay is given by its path
        self.superscript = SUPERSCRIPT[1:] if any("-g1" in name for name in names) else SUPERSCRIPT
        self.grade = 1 if any("g1" in n or "comp6" in n or "g0" in n for n in names) else 2
        self.language_name = lambda lang: lang  # the document language's name for a language: make_book sets it
        self._foreign: dict[str, Translator] = {}
        # Characters already seen whose every occurrence liblouis can take as it is: a
        # document uses few distinct characters, so most runs skip the per-character checks.
        self._plain_chars: set[str] = set()
        # Cells by (text, typeform or None, uncontracted): translation is a pure function of
        # these and the tables, and page numbers and repeated phrases come back again and
        # again; in watch, so does every paragraph an edit left alone.
        if sum(len(cells) for cells in _CELLS.values()) > _CELLS_AT_MOST:
            _CELLS.clear()
        self._cells = _CELLS.setdefault(tuple(tables), {})

    def _all_plain(self, text: str) -> bool:
        unseen = set(text) - self._plain_chars
        if not unseen:
            return True
        tables = tuple(self.tables)
        if any(has_no_reading(char) or not liblouis_writes(tables, char) for char in unseen):
            return False
        self._plain_chars |= unseen
        return True

    def translate(self, run: Run, uncontracted: bool = False) -> str:
        """Unicode braille cells for one run, blanks as U+2800. Characters liblouis has no
        rule for are never passed to it (it would write an escape or nothing): they become
        a transcriber's note that names or transliterates them."""
        text, typeform = run.text.replace("\n", " "), run.typeform
        text = single_quotes(text)
        # NOTE_REF, DELETED and the language bits are the highest: the largest value shows whether any is set.
        if typeform and max(typeform) >= NOTE_REF:
            if max(typeform) >> LANGUAGE_SHIFT:
                return self._with_languages(text, typeform, uncontracted)
            return self._with_deleted(text, typeform, uncontracted)
        if self._all_plain(text):
            if not text.strip():
                return ""
            return self._louis(text, typeform, uncontracted)
        if any(has_no_reading(char) for char in text):
            kept = [index for index, char in enumerate(text) if not has_no_reading(char)]
            text, typeform = "".join(text[i] for i in kept), tuple(typeform[i] for i in kept)
        if not text.strip():
            return ""
        pieces = _pieces(text, tuple(self.tables))
        if all(writes for _, _, writes in pieces):
            return self._louis(text, typeform, uncontracted)
        cells = ""
        for start, end, writes in pieces:
            piece = text[start:end]
            if writes:
                core = self._louis(piece, typeform[start:end], uncontracted)
            else:
                description = describe(piece)
                core = TN_OPEN + self._louis(description, (0,) * len(description), True) + TN_CLOSE if description else ""
            if piece[:1].isspace() and cells and not cells.endswith(BLANK):
                cells += BLANK
            cells += core
            if piece[-1:].isspace() and core:
                cells += BLANK
        return cells.strip(BLANK)

    def _with_languages(self, text: str, typeform: tuple[int, ...], uncontracted: bool) -> str:
        """A run holding passages in other languages: each in its language's table (the
        grade of this one's), between transcriber's note indicators after its name."""
        cells = ""
        start = 0
        while start < len(text):
            number = typeform[start] >> LANGUAGE_SHIFT
            end = start
            while end < len(text) and typeform[end] >> LANGUAGE_SHIFT == number:
                end += 1
            piece = text[start:end]
            forms = tuple(form & ((1 << LANGUAGE_SHIFT) - 1) for form in typeform[start:end])
            foreign = self.foreign(LANGUAGES[number - 1]) if number else None
            if foreign is None:
                core = self.translate(Run(piece, forms), uncontracted)
            else:
                core = foreign.translate(Run(piece, forms), uncontracted)
                if core:
                    core = TN_OPEN + self.text(self.language_name(LANGUAGES[number - 1])) + BLANK + core + TN_CLOSE
            cells = joined(cells, piece, core)
            start = end
        return cells.strip(BLANK)

    def foreign(self, lang: str) -> "Translator | None":
        """The translator for a passage in ``lang``, or None when it shares this one's tables."""
        tables = default_tables(lang, self.grade)
        if tables == list(self.tables):
            return None
        if lang not in self._foreign:
            other = Translator(tables)
            other.deleted_label, other.grade = self.deleted_label, self.grade
            self._foreign[lang] = other
        return self._foreign[lang]

    def _with_deleted(self, text: str, typeform: tuple[int, ...], uncontracted: bool) -> str:
        """A run holding deleted text: each stretch of deleted words as a transcriber's note
        labelled "deleted:", the text around it translated as usual."""
        cells = ""
        start = 0
        while start < len(text):
            mark = typeform[start] & (DELETED | NOTE_REF)
            deleted = bool(mark & DELETED)
            end = start
            while end < len(text) and typeform[end] & (DELETED | NOTE_REF) == mark:
                end += 1
            piece = text[start:end]
            forms = tuple(form & ~(DELETED | NOTE_REF) for form in typeform[start:end])
            if mark & NOTE_REF:
                # A note reference: the superscript indicator and the number, with no
                # space before it, as print sets it raised (Rules of UEB §3.24).
                core = self.superscript + self.text(piece.strip())
            else:
                core = self.translate(Run(piece, forms), uncontracted)
            if deleted and core:
                core = TN_OPEN + self.text(self.deleted_label) + BLANK + core + TN_CLOSE
            cells = joined(cells, piece, core)
            start = end
        return cells.strip(BLANK)

    def _louis(self, text: str, typeform: tuple[int, ...], uncontracted: bool) -> str:
        if not text.strip():
            return ""
        key = (text, typeform if any(typeform) else None, uncontracted)
        cells = self._cells.get(key)
        if cells is None:
            cells = self._cells[key] = self._liblouis(key)
        return cells

    def _liblouis(self, key: tuple[str, tuple[int, ...] | None, bool]) -> str:
        text, forms, uncontracted = key
        if forms:
            forms = emphasis_over_punctuation(text, forms)
        mode = louis.dotsIO | louis.ucBrl | (louis.noContractions if uncontracted else 0)
        # translateString, not translate: the same cells without the position arrays we never read.
        cells = louis.translateString(self.tables, text, typeform=list(forms) if forms else None, mode=mode)
        return six_dot(cells).strip(BLANK)

    def text(self, text: str, uncontracted: bool = False) -> str:
        return self.translate(Run.plain(text), uncontracted)

    def back_translate(self, cells: str) -> str:
        # dotsIO does not work backwards; a Unicode display table in front of the
        # translation tables does.
        tables = ["unicode.dis"] + [t for t in self.tables if not t.endswith(".dis")]
        return louis.backTranslateString(tables, cells)
