"""Issue 17: a library of masters, one catalogue, readable outputs, a truthful validate,
publishing the library, preview, and the CI matrix."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from formatforge import formats
from formatforge.build import build
from formatforge.formats import BuildContext, Writer

from conftest import EVERY_CONSTRUCT


class NestedWriter(Writer):
    """Writes into a folder two levels down, as the audio and DAISY writers do."""

    name = "test-nested"
    summary = "a test format with folders"

    def output_names(self, document, options):
        return [f"sub/deep/{document.stem}.txt"]

    def write(self, context: BuildContext) -> list[str]:
        name = self.output_names(context.document, context.options)[0]
        context.path(name).write_text("text", encoding="utf-8")
        return [name]


@pytest.fixture
def nested_writer():
    formats.register(NestedWriter)
    yield
    formats._REGISTRY.pop(NestedWriter.name, None)


def every_path(folder: Path) -> list[Path]:
    return [folder, *sorted(folder.rglob("*"))]


def test_issue_17_point_5_every_output_is_readable_by_others_whatever_the_umask(tmp_path, nested_writer):
    shutil.copytree(EVERY_CONSTRUCT.parent / "images", tmp_path / "images")
    master = tmp_path / "doc.md"
    master.write_text(EVERY_CONSTRUCT.read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "out"
    previous = os.umask(0o077)
    try:
        report = build(master, out, ["html", "braille", "test-nested"])
    finally:
        os.umask(previous)
    assert report.ok, [r.message for r in report.results]
    paths = every_path(out)
    assert {"manifest.json", "index.html", "doc.html", "doc.pef", "sub"} <= {p.name for p in paths}
    for path in paths:
        mode = stat.S_IMODE(path.lstat().st_mode)
        wanted = 0o755 if path.is_dir() else 0o644
        assert mode == wanted, f"{path.relative_to(tmp_path)} is {mode:o}, not {wanted:o}"


# ---------------------------------------------------------------- point 4: validate tells the truth


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "formatforge.cli", *args],
        capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=cwd, timeout=600,
    )


def test_issue_17_point_4_validate_without_an_installed_validator_exits_1_and_0_when_allowed(tmp_path):
    master = tmp_path / "doc.md"
    master.write_text("---\ntitle: T\nlanguage: en-GB\n---\n\n# Title\n\nText.\n", encoding="utf-8")
    assert build(master, tmp_path / "out", ["html", "braille"]).ok
    no_tools = {"FORMATFORGE_TOOLS": str(tmp_path / "no-tools")}  # axe-core is "not installed"
    strict = run_cli("validate", str(tmp_path / "out"), env=no_tools)
    assert strict.returncode == 1, strict.stderr
    said = " ".join(strict.stderr.split())
    assert "axe-core is not installed (scripts/setup --test installs it)" in said
    assert "--allow-missing" in said
    allowed = run_cli("validate", str(tmp_path / "out"), "--allow-missing", env=no_tools)
    assert allowed.returncode == 0, allowed.stderr
    assert "not run" in allowed.stderr


def tagged_pdf(path: Path, **broken: bool) -> Path:
    """A small PDF tagged as the large-print writer tags it; ``broken`` leaves a part out."""
    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page()
    if not broken.get("untagged"):
        pdf.Root.MarkInfo = pikepdf.Dictionary(Marked=True)
    if not broken.get("no_language"):
        pdf.Root.Lang = pikepdf.String("en-GB")
    if not broken.get("no_title"):
        pdf.docinfo["/Title"] = "A title"
        pdf.Root.ViewerPreferences = pikepdf.Dictionary(DisplayDocTitle=True)
    figure = pikepdf.Dictionary(Type=pikepdf.Name.StructElem, S=pikepdf.Name.Figure)
    if not broken.get("no_alt"):
        figure.Alt = pikepdf.String("Two boxes joined by an arrow")
    second = pikepdf.Name("/H3") if broken.get("skipped_heading") else pikepdf.Name("/H2")
    kids = [pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructElem, S=s)) for s in (pikepdf.Name.H1,)]
    kids += [pdf.make_indirect(figure), pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructElem, S=second))]
    document = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructElem, S=pikepdf.Name.Document, K=pikepdf.Array(kids)))
    pdf.Root.StructTreeRoot = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructTreeRoot, K=document))
    pdf.save(path)
    return path


@pytest.mark.parametrize("broken, rule", [
    ("untagged", "tagged"), ("no_language", "language"), ("no_title", "title"),
    ("no_alt", "figure-alt"), ("skipped_heading", "heading-order"),
])
def test_issue_17_point_4_the_large_print_pdf_checker_catches_each_fault(tmp_path, broken, rule):
    from formatforge.checks import failing
    from formatforge.validate import validate_file

    good = tagged_pdf(tmp_path / "good-large-print.pdf")
    assert [r.errors for r in validate_file(good)] == [0]
    bad = tagged_pdf(tmp_path / "bad-large-print.pdf", **{broken: True})
    (result,) = validate_file(bad)
    assert result.validator == "large print PDF tags"
    assert result.codes() and set(result.codes()) == {rule}, result.messages
    from formatforge.checks.pdf import check_large_print_pdf

    assert set(failing(check_large_print_pdf(bad))) == {rule}
