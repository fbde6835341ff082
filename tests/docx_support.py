"""What the Word tests share: words read back from a .docx, and a LibreOffice round trip."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.ns import qn
from lxml import etree

from formatforge import model
from formatforge.shared.libreoffice import convert_with_libreoffice

DOC_PR = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}docPr"


def _paragraph_words(p) -> str:
    """Text and image alt text of one paragraph, in reading order."""
    parts = []
    for node in p.iter(qn("w:t"), qn("w:br"), qn("w:tab"), DOC_PR):
        if node.tag == DOC_PR:
            parts.append(" " + (node.get("descr") or "") + " ")
        elif node.tag == qn("w:t"):
            parts.append(node.text or "")
        else:
            parts.append(" ")
    return "".join(parts)


def docx_text(path: Path) -> str:
    """Body (paragraphs and tables, in document order) then footnotes, as the model orders them.

    The table of contents is generated (its entries repeat the headings), so it is skipped:
    python-docx's inner content leaves out the w:sdt that holds it.
    """
    word = docx.Document(str(path))
    chunks = []
    for item in word.iter_inner_content():
        if isinstance(item, docx.table.Table):
            for row in item.rows:
                chunks.append(" ".join(_paragraph_words(p._p) for cell in row.cells for p in cell.paragraphs))
        else:
            chunks.append(_paragraph_words(item._p))
    try:
        footnotes = word.part.part_related_by(RT.FOOTNOTES)
    except KeyError:
        footnotes = None
    if footnotes is not None:
        root = etree.fromstring(footnotes.blob)
        for note in root.findall(qn("w:footnote")):
            if int(note.get(qn("w:id"))) > 0:
                chunks.extend(_paragraph_words(p) for p in note.iter(qn("w:p")))
    return "\n".join(chunks)


def docx_words(path: Path) -> list[str]:
    return model.words(docx_text(path))


def zip_dates(path: Path) -> set[tuple]:
    with zipfile.ZipFile(path) as archive:
        return {info.date_time for info in archive.infolist()}


def render_first_page(docx_path: Path, out_dir: Path) -> tuple[Path, Path]:
    """LibreOffice converts the .docx to PDF; pdftoppm turns its first page into a PNG."""
    pdf = convert_with_libreoffice(docx_path, out_dir, "pdf")
    prefix = out_dir / f"{docx_path.stem}-page"
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(prefix)],
                   check=True, capture_output=True)
    return pdf, prefix.with_suffix(".png")
