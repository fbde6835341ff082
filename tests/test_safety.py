"""Hostile input: raw HTML and script never become markup, odd link schemes are never linked,
no shell command is built from user text, and a missing tool is named with its package."""

from __future__ import annotations

import ast
import re
import zipfile
from pathlib import Path

import pytest
from lxml import etree, html

from conftest import write_format
from formatforge.build import build
from formatforge.formats import Requirement, get_writer
from formatforge.reader import read_source

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "formatforge"

HOSTILE = """---
title: Hostile <b>title</b>
language: en-GB
---

# Safe heading <script>alert('h')</script>

<script>alert('block')</script>

<style>body { display: none }</style>

<iframe src="https://example.org/frame"></iframe>

A paragraph with <img src=x onerror="alert('img')"> and <a href="#" onclick="steal()">an inline link</a>.

A [script link](javascript:alert('link')) and a [data link](data:text/html;base64,PHNjcmlwdD4=) and a
[file link](file:///etc/passwd) and a [fine link to the site](https://example.org/).
"""

FORBIDDEN_TAGS = {"script", "style", "iframe", "object", "embed"}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    path = folder / "hostile.md"
    path.write_text(HOSTILE, encoding="utf-8")
    return read_source(path).document


def markup_problems(root) -> list[str]:
    problems = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        tag = etree.QName(element).localname.lower()
        if tag in FORBIDDEN_TAGS:
            problems.append(f"<{tag}> element")
        for name, value in element.attrib.items():
            if etree.QName(name).localname.lower().startswith("on"):
                problems.append(f"{name} attribute")
            if value.strip().lower().startswith(("javascript:", "data:text", "file:")):
                problems.append(f"{name}={value!r}")
    return problems


def test_html_holds_the_text_but_no_markup_from_the_source(hostile, tmp_path):
    page = write_format("html", hostile, tmp_path)["hostile.html"]
    root = html.parse(str(page)).getroot()
    assert markup_problems(root.find("body")) == []  # the head holds our own stylesheet
    text = root.text_content()
    # Issue 13, rule 4: the tags are removed, the words between them are kept
    assert "alert('block')" in text and "an inline link" in text
    assert "<script" not in text and "onerror" not in text and "<iframe" not in text
    assert [a.text_content() for a in root.iter("a") if a.get("href") == "https://example.org/"] == ["fine link to the site"]


def test_epub_holds_the_text_but_no_markup_from_the_source(hostile, tmp_path):
    book = write_format("epub", hostile, tmp_path)["hostile.epub"]
    with zipfile.ZipFile(book) as archive:
        for name in archive.namelist():
            if name.endswith(".xhtml"):
                assert markup_problems(etree.fromstring(archive.read(name))) == [], name


def test_docx_links_only_web_addresses(hostile, tmp_path):
    document = write_format("docx", hostile, tmp_path)["hostile.docx"]
    with zipfile.ZipFile(document) as archive:
        rels = archive.read("word/_rels/document.xml.rels").decode()
    targets = re.findall(r'Target="([^"]+)"[^>]*TargetMode="External"', rels)
    assert targets == ["https://example.org/"]


def test_unsafe_link_schemes_are_reported(hostile):
    result = read_source(hostile.source_path)
    assert sorted(d.rule for d in result.diagnostics if d.rule == "S2") == ["S2", "S2", "S2"]


def test_raw_html_is_reported_with_its_line(hostile):
    result = read_source(hostile.source_path)
    # a warning on each line that holds raw HTML (once for the two tags on line 14)
    assert [d.line for d in result.diagnostics if d.rule == "S3"] == [6, 8, 10, 12, 14]


def calls_in(path: Path) -> list[ast.Call]:
    return [node for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(node, ast.Call)]


def test_no_shell_commands_anywhere_in_the_package():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for call in calls_in(path):
            name = ast.unparse(call.func)
            if name in ("os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput"):
                offenders.append(f"{path.name}:{call.lineno} {name}")
            for keyword in call.keywords:
                if keyword.arg == "shell" and not (isinstance(keyword.value, ast.Constant) and keyword.value.value is False):
                    offenders.append(f"{path.name}:{call.lineno} shell=")
    assert offenders == []


def test_a_missing_system_tool_is_named_and_the_other_formats_still_build(tmp_path, monkeypatch):
    source = Path(__file__).parent / "fixtures" / "every-construct.md"
    writer_class = type(get_writer("large-print-pdf"))
    monkeypatch.setattr(
        writer_class, "requirements", lambda self: [Requirement("soffice (command)", lambda: False, "apt-get install libreoffice-writer-nogui")]
    )
    report = build(source, tmp_path, ["large-print-pdf", "html"])
    results = {r.name: r for r in report.results}
    assert results["large-print-pdf"].status == "failed"
    assert "apt-get install libreoffice-writer-nogui" in results["large-print-pdf"].message
    assert results["html"].status == "built"


@pytest.mark.parametrize("name", ["braille", "audio", "large-print-pdf"])
def test_every_system_tool_writer_declares_its_requirements(name):
    requirements = get_writer(name).requirements()
    assert requirements and all("install" in r.install_hint or "pip" in r.install_hint or "apt" in r.install_hint for r in requirements)


# Markup written as f-strings may interpolate only namespace declarations, constants of our
# own and numbers from the layout profile, never text that came from the source.
ALLOWED_IN_MARKUP = re.compile(r"nsdecls\([^)]*\)|[A-Z][A-Z_]+|half_points|round\(profile\.\w+ \* \d+\)")


def markup_interpolations(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.JoinedStr) and node.values:
            first = node.values[0]
            if isinstance(first, ast.Constant) and str(first.value).lstrip().startswith("<"):
                found += [ast.unparse(v.value) for v in node.values if isinstance(v, ast.FormattedValue)]
    return found


def test_no_source_text_is_spliced_into_markup_strings():
    offenders = {
        str(path.relative_to(PACKAGE)): [name for name in markup_interpolations(path) if not ALLOWED_IN_MARKUP.fullmatch(name)]
        for path in PACKAGE.rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_markup_scan_sees_an_interpolation(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text('title = "x"\nxml = f"<title>{title}</title>"\n')
    assert markup_interpolations(probe) == ["title"]
