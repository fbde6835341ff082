"""Large print as a tagged PDF (PDF/UA), for readers who print or read on screen at 18 pt.

LibreOffice exports the large-print Word document with its tagged-PDF and PDF/UA options:
the same layout as the .docx, with headings, lists, tables, links, the table of contents,
alt text and the document language carried into the structure tree. pikepdf then puts the
document's own date in place of the clock and gives the file a deterministic ID, so the
same source gives the same PDF.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ..errors import WriterError
from ..model import Document
from ..shared.libreoffice import convert_with_libreoffice
from ..shared.word import contents_bookmarks, document_date, large_print_profile, write_docx
from . import BuildContext, Requirement, Writer, register
from .option_specs import LARGE_PRINT_OPTIONS


def stamp_pdf(pdf_path: Path, target: Path, document: Document) -> None:
    """Dates from the document, language and title from the front matter, a stable ID."""
    import pikepdf

    meta = document.metadata
    when = document_date(meta.date)
    pdf_date = when.strftime("D:%Y%m%d%H%M%SZ")
    xmp_date = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    with pikepdf.open(pdf_path) as pdf:
        if "/StructTreeRoot" not in pdf.Root:
            raise WriterError("LibreOffice wrote an untagged PDF")
        pdf.Root.Lang = pikepdf.String(meta.language or "en-GB")
        pdf.docinfo["/Title"] = pikepdf.String(meta.title)
        # LibreOffice splits the Word keywords at spaces too ("Co-Production, Collective"):
        # the master's keywords as given, each one whole.
        keywords = ", ".join(meta.keywords)
        if keywords:
            pdf.docinfo["/Keywords"] = pikepdf.String(keywords)
        elif "/Keywords" in pdf.docinfo:
            del pdf.docinfo["/Keywords"]
        pdf.docinfo["/CreationDate"] = pikepdf.String(pdf_date)
        pdf.docinfo["/ModDate"] = pikepdf.String(pdf_date)
        with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as xmp:
            xmp["dc:title"] = meta.title
            xmp["dc:language"] = [meta.language or "en-GB"]
            if keywords:
                xmp["pdf:Keywords"] = keywords
                xmp["dc:subject"] = list(meta.keywords)  # written as an rdf:Bag in this order
            else:
                for key in ("pdf:Keywords", "dc:subject"):
                    if key in xmp:
                        del xmp[key]
            xmp["xmp:CreateDate"] = xmp_date
            xmp["xmp:ModifyDate"] = xmp_date
            xmp["xmp:MetadataDate"] = xmp_date
        # LibreOffice's trailer checksum covers the export time; the ID is derived from content.
        for key in ("/DocChecksum", "/ID"):
            if key in pdf.trailer:
                del pdf.trailer[key]
        pdf.save(target, deterministic_id=True, compress_streams=True,
                 object_stream_mode=pikepdf.ObjectStreamMode.preserve)


@register
class LargePrintPdfWriter(Writer):
    name = "large-print-pdf"
    summary = ("Tagged (PDF/UA) large-print PDF, 18 pt by default in Arial (Liberation Sans where Arial is not"
               " installed), with a numbered contents, for reading on screen or printing")
    options = LARGE_PRINT_OPTIONS
    uses_cache = True  # LibreOffice's profile
    slow = True

    def requirements(self) -> list[Requirement]:
        return [
            Requirement.module("docx", "python-docx (pip)"),
            Requirement.module("pikepdf", "pikepdf (pip)"),
            Requirement.command("soffice", "libreoffice-writer-nogui"),
        ]

    def output_names(self, document: Document, options: dict[str, Any]) -> list[str]:
        return [f"{document.stem}-large-print.pdf"]

    def write(self, context: BuildContext) -> list[str]:
        (name,) = self.output_names(context.document, context.options)
        size = float(self.options_for(context.options)["large_print.size"])  # checked, with its default
        with tempfile.TemporaryDirectory(prefix="formatforge-large-print-pdf-") as work:
            work_dir = Path(work)
            source = work_dir / f"{context.document.stem}-large-print.docx"
            context.progress(0.0, f"building the {size:g} pt large-print document")
            style = large_print_profile(size)
            write_docx(context.document, style, source)
            # The headings the contents lists, by bookmark: LibreOffice updates the contents a
            # second time only if, after once, an entry does not give its heading's page.
            headings = contents_bookmarks(context.document, style)
            Path(f"{source}.headings").write_text("".join(f"{name}\n" for name in headings), encoding="ascii")
            context.progress(0.3, "exporting a tagged PDF with LibreOffice")
            profile = context.cache_dir / "libreoffice-profile" if context.cache_dir else None
            # the contents shows page numbers only once LibreOffice has updated it
            exported = convert_with_libreoffice(source, work_dir / "pdf", profile_dir=profile,
                                                update_indexes=True)
            context.progress(0.9, "stamping dates and identifiers")
            stamp_pdf(exported, context.path(name), context.document)
        context.progress(1.0, "large-print PDF written")
        return [name]
