"""Braille a transcriber would sign off (issue 15): division of long sequences, volumes,
lists set off, the liblouis emphasis workaround, link addresses, profile details, code,
interpoint, title page and notes, and small things. Criterion ids are B1–B12 of
standards.md; section numbers are of BANA Braille Formats 2016 (BF) and the Rules of UEB.
Each checker is shown to fail on broken braille before it is trusted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from formatforge.formats.braille import brf, make_book
from formatforge.formats.braille.layout import CONTINUATION, DIGITS, NUMERIC, wrap
from formatforge.formats.braille.translate import BLANK, Translator
from formatforge.reader import read_text

TR = Translator(["en-ueb-g2.ctb"])
LONG_URL = "https://example.org/reports/2025/annual-finance-statement-for-the-year.html"


def read(markdown: str):
    return read_text(markdown, Path("test.md")).document


# ------------------------------------------------------------ 1 division (B11, UEB §10.12)


def division_errors(lines: list[str]) -> list[str]:
    """A divided sequence never breaks inside a number: a line that ends with the
    continuation indicator after a digit must not be followed by a digit without a
    numeric indicator (the next line would read as letters)."""
    errors = []
    for line, following in zip(lines, lines[1:]):
        body, nxt = line.strip(BLANK), following.strip(BLANK)
        if body.endswith(CONTINUATION) and len(body) > 1 and body[-2] in DIGITS and nxt[:1] in DIGITS:
            errors.append(f"number divided: {brf.cells_to_brf(body)} / {brf.cells_to_brf(nxt)}")
    return errors


@pytest.mark.parametrize("width", range(30, 41))
def test_b11_a_long_url_is_divided_after_a_slash_never_inside_its_year(width):
    cells = TR.text(f"See {LONG_URL} for the figures.")
    lines = [content for _, content in wrap(cells, width, 2, 0)]
    assert not division_errors(lines)
    divided = [line for line in lines if line.endswith(CONTINUATION)]
    assert divided, "the URL should be too long for one line"
    for line in divided:
        # after a slash (dots 456 34), hyphen (36) or dot (256)
        assert line[:-1].endswith("\u2838\u280c") or line[-2] in "\u2824\u2832", brf.cells_to_brf(line)
    # the year reads whole on one line
    assert any("#BJBE" in brf.cells_to_brf(line) for line in lines)


def test_b11_a_number_longer_than_a_line_repeats_its_numeric_indicator():
    lines = [content for _, content in wrap(TR.text("1" * 60), 40, 0, 0)]
    assert len(lines) == 2 and lines[1].startswith(NUMERIC)


def test_b11_division_checker_catches_a_year_cut_in_two():
    assert division_errors(["\u283c\u2803\u281a" + CONTINUATION, "\u2803\u2811"])
