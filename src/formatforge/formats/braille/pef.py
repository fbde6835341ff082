"""Portable Embosser Format 2008-1 (B4), built with lxml.

A book in several volumes is several ``<volume>`` elements; in each, the preliminary
pages (title, contents) and the body are two sections so that an embosser or reader can
tell them apart. Rows are the very rows of
the BRF, in Unicode braille, blank cells as U+2800.
"""

from __future__ import annotations

import re

from lxml import etree

PEF_NS = "http://www.daisy.org/ns/2008/pef"
DC_NS = "http://purl.org/dc/elements/1.1/"
PEF_MIME = "application/x-pef+xml"
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def fallback_identifier(title: str) -> str:
    """An identifier for a master that gives none: the title as a slug, since an
    identifier with spaces in it is read as several by some catalogues."""
    slug = re.sub(r"[^\w]+", "-", title.casefold(), flags=re.UNICODE).strip("-")
    return f"formatforge:{slug or 'untitled'}"


def build(sections: list[list[list[str]]], cols: int, rows: int, metadata, duplex: bool = False) -> bytes:
    """One volume of ``sections`` (each a list of pages of rows)."""
    return build_volumes([sections], cols, rows, metadata, duplex)


def build_volumes(volumes: list[list[list[list[str]]]], cols: int, rows: int, metadata, duplex: bool = False) -> bytes:
    pef = etree.Element(f"{{{PEF_NS}}}pef", nsmap={None: PEF_NS, "dc": DC_NS}, version="2008-1")
    head = etree.SubElement(pef, f"{{{PEF_NS}}}head")
    meta = etree.SubElement(head, f"{{{PEF_NS}}}meta")

    def dc(name: str, value: str) -> None:
        if value:
            etree.SubElement(meta, f"{{{DC_NS}}}{name}").text = value

    dc("format", PEF_MIME)
    dc("identifier", metadata.identifier or fallback_identifier(metadata.title))
    dc("title", metadata.title)
    dc("creator", metadata.author)
    dc("description", metadata.description)
    dc("publisher", metadata.publisher)
    if ISO_DATE.match(metadata.date or ""):
        dc("date", metadata.date)
    dc("language", metadata.language)

    body = etree.SubElement(pef, f"{{{PEF_NS}}}body")
    for sections in volumes:
        volume = etree.SubElement(body, f"{{{PEF_NS}}}volume", cols=str(cols), rows=str(rows), rowgap="0",
                                  duplex="true" if duplex else "false")
        for pages in sections:
            if not pages:
                continue
            section = etree.SubElement(volume, f"{{{PEF_NS}}}section")
            for page_rows in pages:
                page = etree.SubElement(section, f"{{{PEF_NS}}}page")
                for row_cells in page_rows:
                    etree.SubElement(page, f"{{{PEF_NS}}}row").text = row_cells.rstrip("\u2800")
    return etree.tostring(pef, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def pages(data: bytes) -> list[list[str]]:
    """Every page of a PEF as rows of cells, in order across sections."""
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
    return [[row.text or "" for row in page.iter(f"{{{PEF_NS}}}row")] for page in root.iter(f"{{{PEF_NS}}}page")]
