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
from ...options import WriterOptions, options_for
from .. import BuildContext, Requirement, Writer, register
from ..option_specs import BRAILLE_OPTIONS
from . import brf, pef
from .layout import Book, Layout
from .translate import Translator, default_tables, parse_table_list


def resolved(options: dict[str, Any]) -> WriterOptions:
    """The braille options, checked and with their defaults (``option_specs.BRAILLE_OPTIONS``)."""
    return options_for(BRAILLE_OPTIONS, options)


def tables_for(language: str, options: dict[str, Any]) -> list[str]:
    options = resolved(options)
    if options["braille.table"]:
        return parse_table_list(options["braille.table"])
    return default_tables(language, options["braille.grade"])


def make_book(document, given: dict[str, Any]) -> Book:
    options = resolved(given)
    translator = Translator(tables_for(document.metadata.language, options))
    labels = labels_for(document.metadata.language)
    translator.deleted_label = labels("deleted:")
    translator.grade = options["braille.grade"]
    translator.language_name = lambda lang: language_name(lang, labels)
    try:
        layout = Layout(
            translator,
            cells=options["braille.cells"],
            lines=options["braille.lines"],
            profile=options["braille.profile"],
            volume_pages=options["braille.volume_pages"],
            link_addresses=options["braille.link_addresses"],
            interpoint=options["braille.interpoint"],
            producer=options["braille.producer"] or "",
            transcribed_on=options["braille.transcription_date"] or document.metadata.date or "",
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
    options = BRAILLE_OPTIONS

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
        line_ending = str(context.option("braille.line_ending"))
        page_break = str(context.option("braille.page_break"))
        context.path(names[0]).write_bytes(brf.render(all_rows, line_ending, page_break))
        context.path(names[1]).write_bytes(
            pef.build_volumes([[rows(v.preliminary), rows(v.body)] for v in book.volumes], book.cells, book.lines,
                              document.metadata, duplex=book.interpoint)
        )
        text = "\f".join("".join(row.rstrip("\u2800") + "\n" for row in page) for page in all_rows)
        context.path(names[2]).write_bytes(text.encode("utf-8"))
        context.progress(1.0, "braille done")
        return names
