"""Text to braille cells through liblouis (the ``louis`` module).

liblouis only translates: it turns a run of print into a run of cells. Everything about
where the cells go on a page lives in ``layout``. We always ask liblouis for dot patterns
(``dotsIO | ucBrl``) so that the layout works on Unicode braille whatever display table a
user names; the BRF mapping is ours and fixed (``brf.py``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import louis

from ...errors import WriterError
from ...model import Code, Emphasis, FootnoteRef, Inline, LineBreak, Link, Strong, Text

BLANK = "\u2800"
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
    ("cy", 2): "cy-cy-g2.ctb",
}
TABLES_DIR = Path("/usr/share/liblouis/tables")
# Dots 1–6 only: BRF cannot carry dots 7 and 8, and the three outputs must agree cell for cell.
SIX_DOT_MASK = 0x3F


def parse_table_list(value: str | list[str] | tuple[str, ...]) -> list[str]:
    """A table list as a user writes it: "a.ctb,b.ctb" or a list of names."""
    names = value.split(",") if isinstance(value, str) else list(value)
    return [name.strip() for name in names if name.strip()]


def default_tables(language: str, grade: int) -> list[str]:
    """The translation table for a front-matter language tag and a grade.

    English of any region is Unified English Braille (B1); ``en-GB-g2.ctb`` is the
    pre-UEB British code and is never chosen. Other languages are looked up in our short
    list and then in the ``#+language``/``#+grade`` metadata liblouis tables carry; when
    nothing fits we fall back to UEB, since a readable translation beats none.
    """
    primary = (language or "en").split("-")[0].casefold()
    if primary == "en":
        return [UEB_TABLES[grade]]
    known = KNOWN_TABLES.get((primary, grade))
    if known and (TABLES_DIR / known).exists():
        return [known]
    found = _table_by_metadata(primary, grade)
    return [found] if found else [UEB_TABLES[grade]]


@functools.lru_cache(maxsize=None)
def _table_by_metadata(language: str, grade: int) -> str | None:
    candidates = []
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
        if meta.get("language", "").split("-")[0].casefold() != language:
            continue
        if meta.get("type", "literary") != "literary" or meta.get("direction", "both") == "backward":
            continue
        contraction = meta.get("contraction", "no")
        wanted = "no" if grade == 1 else "full"
        score = (contraction == wanted, meta.get("dots", "6") == "6", -len(path.name))
        candidates.append((score, path.name))
    if not candidates:
        return None
    candidates.sort(reverse=True)
    return candidates[0][1]


def six_dot(cells: str) -> str:
    return "".join(chr(0x2800 + ((ord(c) - 0x2800) & SIX_DOT_MASK)) if "\u2800" <= c <= "\u28ff" else BLANK for c in cells)


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


def inline_runs(inlines: tuple[Inline, ...] | list[Inline], typeform: int = 0) -> list[Run]:
    """Inlines as runs of print split at hard line breaks, emphasis kept as typeform.

    Links are read as their text (the URL is for print and screens). A footnote reference
    becomes an asterisk and the note's number, pointing at the notes after the section.
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
            elif isinstance(node, LineBreak):
                runs.append(Run.plain(""))
            elif isinstance(node, FootnoteRef):
                add(f"*{node.number}", 0)

    walk(inlines, typeform)
    return runs


class Translator:
    def __init__(self, tables: list[str]):
        if not tables:
            raise WriterError("braille: the table list is empty")
        try:
            louis.checkTable(tables)
        except RuntimeError as error:
            raise WriterError(f"braille: liblouis cannot load the table list {','.join(tables)}: {error}") from error
        self.tables = tables

    def translate(self, run: Run, uncontracted: bool = False) -> str:
        """Unicode braille cells for one run, blanks as U+2800."""
        text = " ".join(run.text.split("\n"))
        if not text.strip():
            return ""
        mode = louis.dotsIO | louis.ucBrl | (louis.noContractions if uncontracted else 0)
        typeform = list(run.typeform) if any(run.typeform) else None
        cells = louis.translate(self.tables, text, typeform=typeform, mode=mode)[0]
        return six_dot(cells).strip(BLANK)

    def text(self, text: str, uncontracted: bool = False) -> str:
        return self.translate(Run.plain(text), uncontracted)

    def back_translate(self, cells: str) -> str:
        # dotsIO does not work backwards; a Unicode display table in front of the
        # translation tables does.
        tables = ["unicode.dis"] + [t for t in self.tables if not t.endswith(".dis")]
        return louis.backTranslateString(tables, cells)
