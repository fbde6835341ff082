"""The document model as a Word (.docx) document, shared by the Word and large-print writers and
the large-print PDF (which LibreOffice exports from the large-print .docx).

``body`` builds the body (paragraphs, runs, lists, tables, pictures, links, footnotes, the
contents); ``styles`` holds the look a ``StyleProfile`` decides (page, styles, settings, list
definitions); ``package`` the package around them (python-docx's template, core properties,
the reproducible zip) and the one list of python-docx internals the build relies on;
``oxml`` the element names and helpers all three use. Running LibreOffice is
``formatforge.shared.libreoffice``'s job.
"""

from __future__ import annotations

from pathlib import Path

from ... import model
from .body import bookmark_name, build_document, contents_bookmarks
from .package import document_date, package_bytes, zip_date
from .styles import STANDARD, StyleProfile, large_print_profile


def write_docx(document: model.Document, profile: StyleProfile, target: Path) -> None:
    word = build_document(document, profile)
    target.write_bytes(package_bytes(word, zip_date(document.metadata.date)))


__all__ = ["STANDARD", "StyleProfile", "bookmark_name", "build_document", "contents_bookmarks", "document_date", "large_print_profile",
           "package_bytes", "write_docx", "zip_date"]
