"""Braille: formatted, paginated Unified English Braille as BRF, PEF and Unicode text.

liblouis translates (``translate``); pages, indents, headings, page numbers, the title
page and the contents page are ours (``layout``). The three outputs carry the same pages
cell for cell: BRF for embossers and notetakers, PEF for archives and embossers that
read it, Unicode braille text for refreshable displays and for checking by eye.

A long book is cut into volumes (``braille.volume_pages``). The PEF has one ``<volume>``
each; the BRF and the text stay one file each, every volume starting with its own title
page ("Volume 2 of 3") at a page break, the way an embosser runs a job: one file keeps the
output names stable and the braille page numbers run on across volumes.
"""

from __future__ import annotations

from typing import Any

from ...errors import WriterError
from ...labels import language_name, labels_for
from .. import BuildContext, Requirement, Writer, register
from . import brf, pef
from .layout import PROFILES, Book, Layout
from .translate import Translator, default_tables, parse_table_list

DEFAULTS = {
    "braille.grade": 2,
    "braille.cells": 40,
    "braille.lines": 25,
    "braille.profile": "ukaaf",
    # The most braille pages in a volume, preliminary pages included (0: one volume).
    "braille.volume_pages": 100,
    # A link's address after its text when they differ; None: as the profile says.
    "braille.link_addresses": None,
    # Both sides of the paper (PEF duplex="true"); single-sided by default.
    "braille.interpoint": False,
    # For the title page: who transcribed the book, and when (ISO date; the master's date if unset).
    "braille.producer": "formatforge",
    "braille.transcription_date": None,
    "braille.table": None,
    "braille.line_ending": "\r\n",
    "braille.page_break": "\f",
}


def option(options: dict[str, Any], name: str) -> Any:
    value = options.get(name)
    return DEFAULTS[name] if value is None else value


def flag(value: Any) -> bool | None:
    """A yes/no option as a config file or the command line gives it; None stays None."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().casefold()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise WriterError(f"a braille yes/no option must be true or false, not {value!r}")


def tables_for(language: str, options: dict[str, Any]) -> list[str]:
    explicit = option(options, "braille.table")
    if explicit:
        return parse_table_list(explicit)
    grade = int(option(options, "braille.grade"))
    if grade not in (1, 2):
        raise WriterError(f"braille.grade must be 1 or 2, not {grade}")
    return default_tables(language, grade)


def make_book(document, options: dict[str, Any]) -> Book:
    profile = str(option(options, "braille.profile"))
    if profile not in PROFILES:
        raise WriterError(f"braille.profile must be one of {', '.join(PROFILES)}, not {profile!r}")
    translator = Translator(tables_for(document.metadata.language, options))
    labels = labels_for(document.metadata.language)
    translator.deleted_label = labels("deleted:")
    translator.grade = int(option(options, "braille.grade"))
    translator.language_name = lambda lang: language_name(lang, labels)
    try:
        layout = Layout(
            translator,
            cells=int(option(options, "braille.cells")),
            lines=int(option(options, "braille.lines")),
            profile=profile,
            volume_pages=int(option(options, "braille.volume_pages")),
            link_addresses=flag(option(options, "braille.link_addresses")),
            interpoint=bool(flag(option(options, "braille.interpoint"))),
            producer=str(option(options, "braille.producer") or ""),
            transcribed_on=str(option(options, "braille.transcription_date") or document.metadata.date or ""),
        )
    except ValueError as error:
        raise WriterError(f"braille: {error}") from error
    layout.labels = labels
    return layout.book(document)


def rows(pages) -> list[list[str]]:
    return [[line.cells for line in page.rows] for page in pages]


@register
class BrailleWriter(Writer):
    name = "braille"
    summary = "Braille readers: paginated Unified English Braille for embossers (BRF, PEF) and refreshable displays."
    option_names = tuple(DEFAULTS)

    def requirements(self) -> list[Requirement]:
        return [Requirement.module("louis", "apt-get install python3-louis liblouis-data")]

    def output_names(self, document, options: dict[str, Any]) -> list[str]:
        stem = document.stem
        return [f"{stem}.brf", f"{stem}.pef", f"{stem}-braille.txt"]

    def write(self, context: BuildContext) -> list[str]:
        document, options = context.document, context.options
        context.progress(0.0, "translating and laying out braille")
        book = make_book(document, options)
        context.progress(0.8, "writing BRF, PEF and Unicode braille")
        names = self.output_names(document, options)
        all_rows = rows(book.pages)
        line_ending = str(option(options, "braille.line_ending"))
        page_break = str(option(options, "braille.page_break"))
        context.path(names[0]).write_bytes(brf.render(all_rows, line_ending, page_break))
        context.path(names[1]).write_bytes(
            pef.build_volumes([[rows(v.preliminary), rows(v.body)] for v in book.volumes], book.cells, book.lines,
                              document.metadata, duplex=book.interpoint)
        )
        text = "\f".join("".join(row.rstrip("\u2800") + "\n" for row in page) for page in all_rows)
        context.path(names[2]).write_bytes(text.encode("utf-8"))
        context.progress(1.0, "braille done")
        return names
