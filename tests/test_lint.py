"""Source checks M1–M8: each rule reports its id and the right line on a small bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from formatforge.lint import check
from formatforge.reader import read_source

FRONT = "---\ntitle: T\nlanguage: en-GB\n---\n"  # the body starts on line 5


def findings(tmp_path: Path, text: str, front: str = FRONT, image: bool = False):
    if image:
        # a real picture: S1 now opens every image the master names
        (tmp_path / "pic.png").write_bytes((Path(__file__).parent / "fixtures" / "images" / "arrow.png").read_bytes())
    source = tmp_path / "doc.md"
    source.write_text(front + text, encoding="utf-8")
    return [(d.rule, d.severity, d.line) for d in check(read_source(source))]


def test_clean_source_has_no_findings(tmp_path):
    assert findings(tmp_path, "# Title\n\nText.\n\n## Part\n\nMore [our site](https://example.org).\n") == []


def test_m1_heading_levels_skip(tmp_path):
    assert ("M1", "error", 9) in findings(tmp_path, "# Title\n\nText.\n\n### Too deep\n")


def test_m2_no_level_one_heading(tmp_path):
    assert ("M2", "error", 5) in findings(tmp_path, "## Only a second level\n\nText.\n")


def test_m2_second_level_one_heading(tmp_path):
    assert ("M2", "error", 9) in findings(tmp_path, "# Title\n\nText.\n\n# Another title\n")


def test_m2_level_one_not_first(tmp_path):
    assert ("M2", "error", 5) in findings(tmp_path, "Text before the title.\n\n# Title\n")


def test_m3_image_without_alt_text(tmp_path):
    assert ("M3", "error", 7) in findings(tmp_path, "# Title\n\n![](pic.png)\n", image=True)


def test_m3_alt_text_is_a_file_name(tmp_path):
    assert ("M3", "error", 7) in findings(tmp_path, "# Title\n\n![pic.png](pic.png)\n", image=True)


def test_m3_decorative_image_needs_no_alt(tmp_path):
    assert findings(tmp_path, "# Title\n\n![](pic.png){: .decorative}\n", image=True) == []


@pytest.mark.parametrize("text", ["click here", "Here", "read more", "link"])
def test_m4_vague_link_text(tmp_path, text):
    assert ("M4", "error", 7) in findings(tmp_path, f"# Title\n\nSee [{text}](https://example.org).\n")


def test_m5_empty_link(tmp_path):
    assert ("M5", "error", 7) in findings(tmp_path, "# Title\n\nAn [](https://example.org) empty link.\n")


def test_m5_fragment_matches_no_heading(tmp_path):
    result = findings(tmp_path, "# Title\n\nSee [the part](#missing).\n\n## Part\n\nSee [the part](#part).\n")
    assert result == [("M5", "error", 7)]


def test_m6_inconsistent_column_count(tmp_path):
    table = "| A | B |\n| - | - |\n| 1 | 2 |\n| 1 | 2 | 3 |\n"
    assert ("M6", "error", 10) in findings(tmp_path, "# Title\n\n" + table)


def test_m7_front_matter_without_title_and_language(tmp_path):
    result = findings(tmp_path, "# Title\n\nText.\n", front="---\nauthor: Someone\n---\n")
    assert ("M7", "error", 1) in result
    assert sum(1 for rule, _, _ in result if rule == "M7") == 2


def test_m8_bold_line_as_heading(tmp_path):
    assert ("M8", "warning", 7) in findings(tmp_path, "# Title\n\n**Not a real heading**\n\nText.\n")


def test_m8_bold_sentence_is_fine(tmp_path):
    assert findings(tmp_path, "# Title\n\n**This is a whole bold sentence.**\n") == []


def test_every_construct_fixture_is_clean():
    fixture = Path(__file__).parent / "fixtures" / "every-construct.md"
    assert check(read_source(fixture)) == []
