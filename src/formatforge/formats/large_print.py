"""Large print in Word (UKAAF G003): 18 pt Arial by default, for readers with low vision."""

from __future__ import annotations

from typing import Any

from ..model import Document
from ..shared.word import large_print_profile, write_docx
from . import BuildContext, Requirement, Writer, register
from .option_specs import LARGE_PRINT_OPTIONS


@register
class LargePrintWriter(Writer):
    name = "large-print"
    summary = "Large-print Word document (18 pt Arial, bold emphasis, left aligned) for readers with low vision"
    options = LARGE_PRINT_OPTIONS

    def requirements(self) -> list[Requirement]:
        return [Requirement.module("docx", "python-docx (pip)")]

    def output_names(self, document: Document, options: dict[str, Any]) -> list[str]:
        return [f"{document.stem}-large-print.docx"]

    def write(self, context: BuildContext) -> list[str]:
        (name,) = self.output_names(context.document, context.options)
        size = float(self.options_for(context.options)["large_print.size"])  # checked, with its default
        context.progress(0.0, f"building the {size:g} pt large-print document")
        write_docx(context.document, large_print_profile(size), context.path(name))
        context.progress(1.0, "large-print document written")
        return [name]
