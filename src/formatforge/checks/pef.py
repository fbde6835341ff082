"""PEF 2008-1 checks (B4): the RELAX NG schema, then the rules of the PEF specification that
need XPath 2.0 and so are checked here: no row longer than its volume's ``cols``, no page
longer than its ``rows``, and rows only of braille cells (U+2800–U+28FF)."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from . import Findings, parse_xml
from .schemas import PEF, relaxng, schema_errors

PEF_NS = "http://www.daisy.org/ns/2008/pef"
BRAILLE_CELLS = range(0x2800, 0x2900)


def check_pef(source: Path | bytes) -> Findings:
    findings: Findings = {"B4": []}
    try:
        tree = parse_xml(source)
    except (OSError, etree.XMLSyntaxError) as exc:
        findings["B4"].append(f"not well-formed XML: {exc}")
        return findings
    findings["B4"] += [f"schema: {error}" for error in schema_errors(relaxng(PEF), tree)]
    findings["B4"] += limit_problems(tree)
    return findings


def limit_problems(tree: etree._ElementTree) -> list[str]:
    problems = []
    for volume_number, volume in enumerate(tree.iter(f"{{{PEF_NS}}}volume"), start=1):
        cols, rows = volume_size(volume)
        for page_number, page in enumerate(volume.iter(f"{{{PEF_NS}}}page"), start=1):
            where = f"volume {volume_number} page {page_number}"
            page_rows = list(page.iter(f"{{{PEF_NS}}}row"))
            if len(page_rows) > rows:
                problems.append(f"{where}: {len(page_rows)} rows, more than rows={rows}")
            for row_number, row in enumerate(page_rows, start=1):
                cells = row.text or ""
                if len(cells) > cols:
                    problems.append(f"{where} row {row_number}: {len(cells)} cells, more than cols={cols}")
                if any(ord(c) not in BRAILLE_CELLS for c in cells):
                    problems.append(f"{where} row {row_number}: a character outside U+2800–U+28FF")
    return problems


def volume_size(volume: etree._Element) -> tuple[int, int]:
    """(cols, rows) of a volume; 0 where the attribute is missing or not a number (the
    schema reports that), so that every row or page over it is reported as well."""
    def number(name: str) -> int:
        value = volume.get(name, "")
        return int(value) if value.isdigit() else 0

    return number("cols"), number("rows")


def page_size(source: Path | bytes) -> tuple[int, int] | None:
    """(cols, rows) of the first volume, or None when the PEF cannot be read: the page size
    the braille was laid out for, which the BRF made with it shares."""
    try:
        volume = next(parse_xml(source).iter(f"{{{PEF_NS}}}volume"), None)
    except (OSError, etree.XMLSyntaxError):
        return None
    return volume_size(volume) if volume is not None else None
