"""Word (.docx) for screen-reader users and anyone who asks for "a Word version"."""

from __future__ import annotations

from typing import Any

from ..model import Document
from ..shared.word import STANDARD, write_docx
from . import BuildContext, Requirement, Writer, register


@register
class DocxWriter(Writer):
    name = "docx"
    summary = "Word document with real headings, lists, alt text and footnotes, for screen readers and editing"

    def requirements(self) -> list[Requirement]:
        return [Requirement.module("docx", "python-docx (pip)")]

    def output_names(self, document: Document, options: dict[str, Any]) -> list[str]:
        return [f"{document.stem}.docx"]

    def write(self, context: BuildContext) -> list[str]:
        (name,) = self.output_names(context.document, context.options)
        context.progress(0.0, "building the Word document")
        write_docx(context.document, STANDARD, context.path(name))
        context.progress(1.0, "Word document written")
        return [name]
