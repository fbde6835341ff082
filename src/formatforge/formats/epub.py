"""EPUB 3.3 for e-reader and screen-reader users, with accessibility metadata that is true.

The container (layout, package document, accessibility metadata, zip) is built by
``epub_package``, which the read-aloud EPUB shares; this writer chooses the sections.
"""

from __future__ import annotations

from typing import Any

from ..shared.epub_package import EpubPackage
from ..model import Document, DocumentSection, split_sections
from . import BuildContext, Writer, register
from .option_specs import EPUB_OPTIONS


@register
class EpubWriter(Writer):
    name = "epub"
    summary = "EPUB 3 e-book for e-readers, reading apps and screen-reader users"
    options = EPUB_OPTIONS

    def output_names(self, document: Document, options: dict[str, Any]) -> list[str]:
        return [f"{document.stem}.epub"]

    def write(self, context: BuildContext) -> list[str]:
        document = context.document
        split_level = self.options_for(context.options)["epub.split_level"]
        sections = (
            split_sections(document.blocks, int(split_level)) if split_level else document.sections()
        ) or [DocumentSection(None, ())]
        book = EpubPackage(document, sections)
        name = self.output_names(document, context.options)[0]
        book.write(context.path(name))
        context.progress(1.0, name)
        return [name]
