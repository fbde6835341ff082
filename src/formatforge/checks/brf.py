"""BRF checks: North American Braille ASCII only, lines within ``cells``, pages within
``lines`` (B2), every line ended by the line ending and pages split by the page break (B3).

The line ending and page break are configurable in the build (embossers differ), so they
are parameters here; a CR or LF that is not part of a line ending is a B3 failure."""

from __future__ import annotations

from pathlib import Path

from . import Findings

BRAILLE_ASCII = frozenset(range(0x20, 0x60))
CONTROL_BYTES = frozenset(b"\r\n\f")
ALLOWED_BYTES = BRAILLE_ASCII | CONTROL_BYTES
DEFAULT_CELLS, DEFAULT_LINES = 40, 25
MOST_REPORTED = 20  # per rule: a wholly wrong file should not print thousands of lines


def check_brf(source: Path | bytes, cells: int = DEFAULT_CELLS, lines: int = DEFAULT_LINES,
              line_ending: str = "\r\n", page_break: str = "\f") -> Findings:
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    findings: Findings = {"B2": [], "B3": []}
    stray = sorted(set(data) - ALLOWED_BYTES)
    if stray:
        first = min(data.index(byte) for byte in stray)
        shown = ", ".join(f"0x{byte:02X}" for byte in stray[:10])
        findings["B2"].append(f"bytes outside Braille ASCII 0x20–0x5F and CR LF FF: {shown} (first at offset {first})")
    ending, breaking = line_ending.encode("ascii"), page_break.encode("ascii")
    for page_number, page in enumerate(data.split(breaking), start=1):
        rows = page.split(ending)
        if rows[-1]:
            findings["B3"].append(f"page {page_number}: the last line does not end with {line_ending!r}")
        else:
            rows.pop()
        if len(rows) > lines:
            findings["B2"].append(f"page {page_number}: {len(rows)} lines, more than {lines}")
        for row_number, row in enumerate(rows, start=1):
            if len(row) > cells:
                findings["B2"].append(f"page {page_number} line {row_number}: {len(row)} cells, more than {cells}")
            if CONTROL_BYTES & set(row):
                findings["B3"].append(f"page {page_number} line {row_number}: a line break that is not {line_ending!r}")
    return {rule: problems[:MOST_REPORTED] + _more(problems) for rule, problems in findings.items()}


def _more(problems: list[str]) -> list[str]:
    hidden = len(problems) - MOST_REPORTED
    return [f"… and {hidden} more"] if hidden > 0 else []
