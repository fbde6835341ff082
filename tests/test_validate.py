"""validate.py: the publish gate. Every format of a full build goes through its checker
(D1–D11, L1–L10, B2–B4, DAISY 2.02, E12 through EPUBCheck and Ace, the HTML checks through
axe), and a hand-broken file of each kind makes it report errors."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from lxml import etree

from conftest import EVERY_CONSTRUCT, SCHEMAS
from formatforge.build import build
from formatforge.checks.ooxml import NS, rewrite, w
from formatforge.checks.schemas import SCHEMAS as PACKAGED_SCHEMAS
from formatforge.errors import FormatforgeError
from formatforge.validate import (
    Message,
    ValidationResult,
    ace_messages,
    axe_messages,
    layout_messages,
    run_ace,
    validate_outputs,
)

STEM = EVERY_CONSTRUCT.stem
EVERY_VALIDATOR = {
    ("ncc.html", "DAISY 2.02"),
    (f"{STEM}.docx", "Word D1–D11"),
    (f"{STEM}-large-print.docx", "Word D1–D11"),
    (f"{STEM}-large-print.docx", "large print L1–L10"),
    (f"{STEM}-large-print.pdf", "large print PDF tags"),
    (f"{STEM}.pef", "PEF B4"),
    (f"{STEM}.brf", "BRF B2 B3"),
    (f"{STEM}.epub", "EPUBCheck"),
    (f"{STEM}.epub", "DAISY Ace"),
    (f"{STEM}-read-aloud.epub", "EPUBCheck"),
    (f"{STEM}-read-aloud.epub", "DAISY Ace"),
    (f"{STEM}.html", "axe-core"),
    (f"{STEM}.html", "layout"),
    ("index.html", "axe-core"),
    ("index.html", "layout"),
}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> Path:
    """Every format of the every-construct fixture, built once for the module."""
    folder = tmp_path_factory.mktemp("outputs")
    build(EVERY_CONSTRUCT, folder, cache_dir=tmp_path_factory.mktemp("cache"))
    return folder


@pytest.mark.slow
def test_validate_outputs_runs_every_validator_on_every_format(outputs):
    """D1–D11, L1–L10, B2–B4, DAISY 2.02, E12 and the HTML checks, through the function the
    `formatforge validate` command (the publish gate) uses: all run, none finds anything."""
    results = validate_outputs(outputs)
    table = {(r.file.name, r.validator): r for r in results}
    assert set(table) == EVERY_VALIDATOR
    assert len(results) == len(table), "a validator ran twice on one file"
    for result in results:
        assert result.ran and result.ok, result.summary()
        assert (result.errors, result.warnings) == (0, 0), result.messages
    assert {r.format for r in results} == {"daisy", "docx", "pdf", "pef", "brf", "epub", "html"}


def break_docx_table_header(root) -> None:
    """D2: the first table row no longer repeats as a header."""
    for header in root.iter(w("tblHeader")):
        header.getparent().remove(header)


def break_large_print_emphasis(root) -> None:
    """L4: a run set in italics."""
    run_properties = root.find(".//w:body/w:p/w:r/w:rPr", NS)
    if run_properties is None:
        run_properties = etree.SubElement(root.find(".//w:body/w:p/w:r", NS), w("rPr"))
        run_properties.getparent().insert(0, run_properties)
    etree.SubElement(run_properties, w("i"))


@pytest.fixture(scope="module")
def broken_outputs(outputs, tmp_path_factory) -> Path:
    """One hand-broken file of each kind the package's checkers judge (no EPUB or HTML:
    their validators have tests of their own and are slow)."""
    folder = tmp_path_factory.mktemp("broken")
    docx = outputs / f"{STEM}.docx"
    (folder / docx.name).write_bytes(rewrite(docx, "word/document.xml", break_docx_table_header))
    large = outputs / f"{STEM}-large-print.docx"
    (folder / large.name).write_bytes(rewrite(large, "word/document.xml", break_large_print_emphasis))
    pef = (outputs / f"{STEM}.pef").read_bytes()
    (folder / f"{STEM}.pef").write_bytes(re.sub(rb'cols="\d+"', b'cols="12"', pef, count=1))
    brf = (outputs / f"{STEM}.brf").read_bytes()
    (folder / f"{STEM}.brf").write_bytes(brf.replace(b"\r\n", b"\n", 1) + b"a" * 50 + b"\r\n")
    shutil.copytree(outputs / "daisy", folder / "daisy")
    ncc = folder / "daisy" / "ncc.html"
    ncc.write_bytes(ncc.read_bytes().replace(b'class="title"', b'class="heading"', 1))
    return folder


@pytest.mark.parametrize(
    "name,validator,rules",
    [
        (f"{STEM}.docx", "Word D1–D11", {"D2"}),
        (f"{STEM}-large-print.docx", "large print L1–L10", {"L4"}),
        (f"{STEM}.pef", "PEF B4", {"B4"}),
        (f"{STEM}.brf", "BRF B2 B3", {"B2", "B3"}),
        ("ncc.html", "DAISY 2.02", {"ncc-schema", "ncc-body"}),
    ],
)
def test_a_hand_broken_file_of_each_kind_fails_the_gate(broken_outputs, name, validator, rules):
    results = {(r.file.name, r.validator): r for r in validate_outputs(broken_outputs)}
    result = results[(name, validator)]
    assert result.ran and not result.ok
    assert set(result.codes()) == rules, result.messages


def test_the_brf_is_judged_by_the_page_size_of_the_pef_beside_it(outputs, tmp_path):
    """B2: a BRF is held to the cells and lines of the PEF built with it (the build's
    braille options), and to the 40 × 25 default when it stands alone."""
    pef = (outputs / f"{STEM}.pef").read_bytes()
    wide_line = b"A" * 39 + b"\r\n"
    (tmp_path / "alone.brf").write_bytes(wide_line)
    (tmp_path / "narrow.brf").write_bytes(wide_line)
    (tmp_path / "narrow.pef").write_bytes(re.sub(rb'cols="\d+"', b'cols="32"', pef, count=1))
    codes = {r.file.name: r.codes() for r in validate_outputs(tmp_path) if r.file.suffix == ".brf"}
    assert codes == {"alone.brf": [], "narrow.brf": ["B2"]}


def test_an_unreadable_file_fails_the_gate_and_a_missing_folder_is_a_user_error(tmp_path):
    (tmp_path / "book.docx").write_bytes(b"not a zip")
    [result] = validate_outputs(tmp_path)
    assert result.codes() == ["unreadable"]
    with pytest.raises(FormatforgeError):
        validate_outputs(tmp_path / "missing")


def test_the_packaged_schemas_are_byte_identical_to_the_shared_ones():
    """The package ships its own copy (the publish job has only the repository); it must
    not drift from ../shared/schemas, README (source and licence) included."""
    def files(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    packaged, shared = files(PACKAGED_SCHEMAS), files(SCHEMAS)
    assert sorted(packaged) == sorted(shared)
    assert {name for name in packaged if packaged[name] != shared[name]} == set()
    assert b"LGPL-2.1-or-later" in packaged["README.md"]


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
