"""validate.py: structured results from EPUBCheck, DAISY Ace and axe-core on an outputs folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import write_format
from formatforge.validate import (
    Message,
    ValidationResult,
    ace_messages,
    axe_messages,
    layout_messages,
    run_ace,
    validate_outputs,
)


@pytest.fixture(scope="module")
def outputs(every_construct, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("outputs")
    write_format("epub", every_construct, folder)
    write_format("html", every_construct, folder)
    (folder / "notes.txt").write_text("not validated", encoding="utf-8")
    return folder


@pytest.mark.slow
def test_validate_outputs_runs_every_validator_on_every_file(outputs):
    """E12 and the HTML checks, through the function the `formatforge validate` command uses."""
    results = validate_outputs(outputs)
    table = {(r.file.name, r.validator): r for r in results}
    assert set(table) == {
        ("every-construct.epub", "EPUBCheck"),
        ("every-construct.epub", "DAISY Ace"),
        ("every-construct.html", "axe-core"),
        ("every-construct.html", "layout"),
    }
    for result in results:
        assert result.ran and result.ok, result.summary()
        assert (result.errors, result.warnings) == (0, 0), result.messages
    assert {r.format for r in results} == {"epub", "html"}


def test_a_missing_tool_is_reported_not_raised(outputs, monkeypatch, tmp_path):
    monkeypatch.setenv("FORMATFORGE_TOOLS", str(tmp_path / "no-tools"))
    monkeypatch.setenv("PATH", "/nonexistent")
    result = run_ace(outputs / "every-construct.epub")
    assert not result.ran and not result.ok
    assert (result.errors, result.warnings) == (0, 1), "a missing tool warns; it does not fail the gate"
    assert "not installed" in result.summary()


def test_counts_and_summary():
    result = ValidationResult(
        Path("book.epub"),
        "EPUBCheck",
        messages=[Message("error", "RSC-005", "bad"), Message("warning", "OPF-085", "meh"), Message("info", "INF", "fyi")],
    )
    assert (result.errors, result.warnings, result.ok, result.format) == (1, 1, False, "epub")
    assert result.summary() == "book.epub: EPUBCheck: 1 errors, 1 warnings"
    assert result.codes() == ["RSC-005"]
    assert str(result.messages[0]) == "error RSC-005: bad"


def test_ace_report_failures_become_errors():
    report = {
        "assertions": [
            {
                "earl:testSubject": {"url": "section-004.xhtml"},
                "assertions": [
                    {
                        "earl:result": {"earl:outcome": "fail", "earl:pointer": {"css": ["img"]}},
                        "earl:test": {"dct:title": "image-alt", "earl:impact": "critical", "dct:description": "alt"},
                    },
                    {"earl:result": {"earl:outcome": "pass"}, "earl:test": {"dct:title": "list"}},
                ],
            }
        ]
    }
    [message] = ace_messages(report)
    assert message == Message("error", "image-alt", "[critical] alt", "section-004.xhtml img")


def test_axe_and_layout_results_become_messages():
    axe = {
        "light": {"violations": [], "incomplete": []},
        "dark": {
            "violations": [{"id": "color-contrast", "impact": "serious", "help": "contrast", "nodes": [{"target": "p"}]}],
            "incomplete": [{"id": "color-contrast", "impact": None, "help": "contrast", "nodes": [{"target": "pre"}]}],
        },
    }
    messages = axe_messages(axe)
    assert [(m.severity, m.code) for m in messages] == [("error", "color-contrast"), ("info", "color-contrast")]
    assert "dark scheme" in messages[0].text
    layout = {
        "viewport": 320,
        "reflowWidth": 800,
        "textSpacingWidth": 320,
        "focus": [{"tag": "a", "text": "Home", "outlineStyle": "none", "outlineWidth": 0, "visible": True}],
    }
    assert {m.code for m in layout_messages(layout)} == {"reflow-320", "skip-link-first", "focus-visible"}
