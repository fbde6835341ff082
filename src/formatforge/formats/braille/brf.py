"""Braille Ready Format: North American Braille ASCII, one byte a cell (B2, B3).

The 64 six-dot cells map to 0x20–0x5F in the order of the dot bits (dot 1 = bit 0 …
dot 6 = bit 5), which is the order U+2800 uses too. It is the same mapping as liblouis's
``en-us-brf.dis``; a test checks that the two agree.
"""

from __future__ import annotations

NORTH_AMERICAN_BRAILLE_ASCII = " A1B'K2L@CIF/MSP\"E3H9O6R^DJG>NTQ,*5<-U8V.%[$+X!&;:4\\0Z7(_?W]#Y)="
TO_BRF = {chr(0x2800 + dots): ascii for dots, ascii in enumerate(NORTH_AMERICAN_BRAILLE_ASCII)}
FROM_BRF = {ascii: cell for cell, ascii in TO_BRF.items()}


class _BrfTable(dict):
    """For str.translate, which runs it in C: all 256 cells, dots 7 and 8 dropped; any
    other character by its low six bits, as the cell arithmetic would give it."""

    def __missing__(self, ordinal: int) -> str:
        return NORTH_AMERICAN_BRAILLE_ASCII[ordinal & 0x3F]


_BRF_TABLE = _BrfTable({0x2800 + dots: NORTH_AMERICAN_BRAILLE_ASCII[dots & 0x3F] for dots in range(0x100)})


def cells_to_brf(cells: str) -> str:
    return cells.translate(_BRF_TABLE)


def brf_to_cells(text: str) -> str:
    return "".join(FROM_BRF[c] for c in text.upper())


def render(pages: list[list[str]], line_ending: str = "\r\n", page_break: str = "\f") -> bytes:
    """Pages of rows (Unicode braille) as BRF bytes: each row ends with ``line_ending``,
    each page with ``page_break`` (the last too: an embosser then ejects the last sheet,
    B3); trailing blank cells are never written."""
    text = "".join("".join(cells_to_brf(row).rstrip(" ") + line_ending for row in page) + page_break for page in pages)
    return text.encode("ascii")


def parse(data: bytes, line_ending: str = "\r\n", page_break: str = "\f") -> list[list[str]]:
    """BRF bytes back to pages of rows in Unicode braille: the inverse of ``render``."""
    text = data.decode("ascii")
    if page_break and text.endswith(page_break):
        text = text[: -len(page_break)]
    pages = []
    for page in text.split(page_break):
        rows = page.split(line_ending)
        if rows and rows[-1] == "":
            rows.pop()
        pages.append([brf_to_cells(row) for row in rows])
    return pages
