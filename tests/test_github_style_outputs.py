"""Issue 13 end to end: a master written the way GitHub, VS Code and MyST write Markdown
(tests/fixtures/github-style.md) builds every format, with nothing an editor left for
editors reaching a reader, and no Markdown syntax left over as literal text.

The structure each writer gives each construct is tested format by format on the same
document built by hand (tests/new_constructs.py); tests/test_reader.py checks that reading
the fixture gives exactly that document, so the two together cover the fixture's path
through every format."""

from __future__ import annotations

import io
import subprocess
import zipfile
from pathlib import Path

import louis
import pytest
from lxml import etree
from mutagen import File as MutagenFile

from formatforge.build import BuildReport, build
from formatforge.formats import available_formats
from formatforge.model import words
from formatforge.reader import read_source
from formatforge.shared.speech.script import build_script
from new_constructs import FIXTURE

# The editor's comment in the fixture: none of its words may be published.
COMMENT_WORDS = ["EDITOR NOTE", "check the dates"]
# Markdown, GitHub and MyST syntax that must never reach a reader as literal text.
LEFTOVER_SYNTAX = ["[!NOTE]", "~~", "{ref}", "(claiming-expenses)=", "```", "- [x]", "- [ ]", "<!--", "-->"]


def texts_of(path: Path) -> list[tuple[str, str]]:
    """(name, text) for everything a reader can get from one output file."""
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix in (".docx", ".epub", ".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return [
                (f"{path.name}!{info.filename}", archive.read(info).decode("utf-8", "replace"))
                for info in archive.infolist()
                if info.filename.endswith((".xml", ".xhtml", ".html", ".opf", ".ncx", ".smil", ".css", ".txt", ".rels"))
            ]
    if suffix == ".brf":
        # BRF is braille ASCII: back-translate it to print to search it for words
        back = louis.backTranslateString(["en-us-brf.dis", "en-ueb-g2.ctb"], data.decode("ascii"))
        return [(path.name, back)]
    if suffix == ".pef":
        rows = "\n".join(row.text or "" for row in etree.parse(str(path)).iter("{*}row"))
        return [(path.name, louis.backTranslateString(["en-ueb-g2.ctb"], rows))]
    if suffix == ".mp3":
        tags = MutagenFile(path)
        return [(path.name, " ".join(str(value) for value in (tags.tags or {}).values()))]
    if suffix == ".pdf":
        text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
        return [(path.name, text)]
    if suffix in (".png", ".jpg", ".jpeg", ".gif"):
        return []
    return [(path.name, data.decode("utf-8", "replace"))]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> BuildReport:
    out = tmp_path_factory.mktemp("github-style") / "out"
    return build(FIXTURE, out, cache_dir=out.parent / "cache")


@pytest.fixture(scope="module")
def built(report) -> Path:
    return report.out_dir


@pytest.mark.slow
def test_every_format_builds_from_the_github_style_master(report, built):
    failed = {r.name: r.message for r in report.results if r.status != "built"}
    assert failed == {}
    assert {r.name for r in report.results} == set(available_formats())
    made = {p.relative_to(built).as_posix() for p in built.rglob("*") if p.is_file()}
    assert {"github-style.docx", "github-style-large-print.docx", "github-style.epub", "github-style.html",
            "github-style.brf", "github-style.pef", "github-style.mp3", "github-style-read-aloud.epub",
            "github-style-large-print.pdf"} <= made


@pytest.mark.slow
def test_an_editors_comment_reaches_no_output(built):
    """Issue 13 rule 4: HTML comments are editors' notes, dropped from every format."""
    for path in sorted(p for p in built.rglob("*") if p.is_file()):
        for name, text in texts_of(path):
            folded = " ".join(text.split()).casefold()
            for phrase in COMMENT_WORDS:
                assert phrase.casefold() not in folded, f"{phrase!r} published in {name}"


@pytest.mark.slow
def test_no_markdown_syntax_reaches_a_reader(built):
    for path in sorted(p for p in built.rglob("*") if p.is_file() and p.suffix not in (".brf", ".pef", ".mp3")):
        for name, text in texts_of(path):
            for syntax in LEFTOVER_SYNTAX:
                assert syntax not in text, f"{syntax!r} left in {name}"


def test_the_narration_never_speaks_the_comment_or_the_syntax():
    spoken = " ".join(s.text for s in build_script(read_source(FIXTURE).document).sentences())
    for phrase in COMMENT_WORDS:
        assert phrase.casefold() not in spoken.casefold()
    assert "claiming expenses" in " ".join(words(spoken))
    for syntax in LEFTOVER_SYNTAX:
        assert syntax not in spoken
