"""Source checks M1–M8: each rule reports its id and the right line on a small bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from formatforge.source_rules import check
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


# ---------------------------------------------------------------- plain English (issue 13)


def messages(tmp_path: Path, text: str, front: str = FRONT, image: bool = False) -> dict[str, str]:
    if image:
        (tmp_path / "pic.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    source = tmp_path / "doc.md"
    source.write_text(front + text, encoding="utf-8")
    return {d.rule: d.message for d in check(read_source(source))}


def test_m1_says_what_is_wrong_and_how_to_fix_it(tmp_path):
    found = messages(tmp_path, "# Title\n\n#### Our values\n")
    assert found["M1"] == "Heading 'Our values' jumps from level 1 to level 4; make it level 2 (##)"


@pytest.mark.parametrize(
    "rule, text, front, image, says",
    [
        ("M2", "## Only a second level\n", FRONT, False, "# Our strategy"),
        ("M3", "# Title\n\n![](pic.png)\n", FRONT, True, "{: .decorative}"),
        ("M3", "# Title\n\n![pic.png](pic.png)\n", FRONT, True, "what the picture shows"),
        ("M4", "# Title\n\nSee [click here](https://example.org).\n", FRONT, False, "name the destination"),
        ("M5", "# Title\n\nSee [the part](#missing).\n", FRONT, False, "spelling"),
        ("M6", "# Title\n\n| A | B |\n| - | - |\n| 1 | 2 | 3 |\n", FRONT, False, "give every row 2 cells"),
        ("M7", "# Title\n", "---\ntitle: T\n---\n", False, "language: en-GB"),
        ("M8", "# Title\n\n**Our values**\n\nText.\n", FRONT, False, "## Our values"),
        ("M9", "# Title\n\nText.[^gone]\n", FRONT, False, "[^gone]: "),
        ("M10", "# Title\n\nSee {abbr}`RNIB`.\n", FRONT, False, "plain text"),
        ("S2", "# Title\n\n[Form](javascript:go())\n", FRONT, False, "https://"),
        ("S3", "# Title\n\nPlease <b>register</b>.\n", FRONT, False, "Markdown"),
    ],
)
def test_every_message_says_how_to_fix_it(tmp_path, rule, text, front, image, says):
    found = messages(tmp_path, text, front, image)
    assert says in found[rule], found[rule]
    assert found[rule][0].isupper()  # a sentence, not a code


def test_every_rule_is_explained():
    from formatforge.source_rules import RULES, explain

    assert {"M1", "M2", "M3", "M4", "M5", "M6", "M7", "M8", "M9", "M10", "M11", "S1", "S2", "S3", "S4"} <= set(RULES)
    for rule_id in RULES:
        text = explain(rule_id.lower())
        assert text.startswith(rule_id + ": ") and "Why it matters: " in text and "Instead of:" in text and "write:" in text


def test_check_explain_on_the_command_line():
    import subprocess
    import sys

    def run(*args):
        return subprocess.run([sys.executable, "-m", "formatforge.cli", "check", *args], capture_output=True, text=True, timeout=60)

    shown = run("--explain", "M1")
    assert shown.returncode == 0 and "Why it matters" in shown.stdout and "## Our values" in shown.stdout
    unknown = run("--explain", "Z9")
    assert unknown.returncode == 2 and "M1" in unknown.stderr and "Traceback" not in unknown.stderr
