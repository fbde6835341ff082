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
