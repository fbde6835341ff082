"""Generated masters through every writer: each output passes its format's checks, nothing
is lost, and no writer crashes, whatever the document's shape or script."""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from lxml import etree

from conftest import write_format
from docx_support import docx_words
from formatforge import model
from formatforge.checks import failing
from formatforge.checks.brf import check_brf
from formatforge.checks.ooxml import check_docx
from formatforge.checks.pef import check_pef
from formatforge.formats.braille import brf, make_book
from formatforge.reader import read_source
from test_braille import back_translated_body, reading_order_words

from .documents import markdown_document

FIXTURE_IMAGE = Path(__file__).resolve().parent.parent / "fixtures" / "images" / "arrow.png"
# CI tries 25 documents per writer; set FORMATFORGE_EXAMPLES higher for a longer hunt.
EXAMPLES = settings(max_examples=int(os.environ.get("FORMATFORGE_EXAMPLES", "25")), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
LATIN_WORD = re.compile(r"^[a-z0-9']+$")


def read_generated(folder: Path, text: str) -> model.Document:
    (folder / "images").mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURE_IMAGE, folder / "images" / "pic.png")
    path = folder / "doc.md"
    path.write_text(text, encoding="utf-8")
    return read_source(path).document


def in_order(expected: list[str], found: list[str]) -> float:
    """The share of ``expected`` found in ``found`` in the same order: the longest common
    subsequence (difflib's matcher is greedy and can miss words that are there)."""
    if not expected:
        return 1.0
    previous = [0] * (len(found) + 1)
    for word in expected:
        current = [0]
        for index, other in enumerate(found):
            current.append(previous[index] + 1 if word == other else max(previous[index + 1], current[index]))
        previous = current
    return previous[-1] / len(expected)


@EXAMPLES
@given(markdown_document())
def test_docx_passes_the_ooxml_checks_and_keeps_every_word(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("docx")
    document = read_generated(folder, text)
    path = write_format("docx", document, folder / "out")["doc.docx"]
    assert failing(check_docx(path)) == {}
    assert docx_words(path) == model.words(model.document_text(document))


@EXAMPLES
@given(markdown_document())
def test_braille_fits_its_pages_and_back_translates(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("braille")
    document = read_generated(folder, text)
    outputs = write_format("braille", document, folder / "out")
    data = outputs["doc.brf"].read_bytes()
    assert failing(check_brf(data, 40, 25)) == {}
    assert failing(check_pef(outputs["doc.pef"])) == {}
    pages = brf.parse(data)
    book = make_book(document, {})
    back = model.words(back_translated_body(pages, len(book.preliminary), ["en-ueb-g2.ctb"]))
    # Back-translation is exact only for the Latin alphabet, which UEB contracts; other
    # scripts come back as liblouis's escapes, so the measure is taken on Latin words.
    # A letter with a combining accent that has no composed form (B + U+0301) is written
    # correctly, accent indicator first, but comes back as "´b": such words are left out.
    text = model.document_text(document)
    accented = {w for token in re.findall(r"\S*[\u0300-\u036f]\S*", text) for w in model.words(token)}
    expected = [w for w in reading_order_words(document) if LATIN_WORD.match(w) and w not in accented]
    assert in_order(expected, [w for w in back if LATIN_WORD.match(w)]) >= 0.95


@EXAMPLES
@given(markdown_document())
def test_epub_and_html_are_well_formed_and_keep_every_word(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("epub")
    document = read_generated(folder, text)
    expected = model.words(model.document_text(document))
    epub = write_format("epub", document, folder / "epub")["doc.epub"]
    with zipfile.ZipFile(epub) as archive:
        names = archive.namelist()
        assert names[0] == "mimetype" and archive.getinfo("mimetype").compress_type == zipfile.ZIP_STORED
        for name in names:
            if name.endswith((".xhtml", ".opf", ".ncx")):
                etree.fromstring(archive.read(name))  # raises if not well-formed
    html = write_format("html", document, folder / "html")["doc.html"]
    page = etree.parse(str(html), etree.HTMLParser())
    main = page.find(".//main")
    for image in main.iter("img"):  # an image's words are its alt text
        image.tail = f" {image.get('alt') or ''} {image.tail or ''}"
    found = model.words(" ".join(main.itertext()))
    assert in_order(expected, found) == 1.0


@pytest.mark.slow  # a Java machine per book: about two minutes
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(markdown_document())
def test_a_sample_of_generated_epubs_passes_epubcheck(tmp_path_factory, text):
    """EPUBCheck starts a Java machine per book, so it sees a sample; the checks above see all."""
    from formatforge.validate import run_epubcheck

    folder = tmp_path_factory.mktemp("epubcheck")
    document = read_generated(folder, text)
    result = run_epubcheck(write_format("epub", document, folder / "epub")["doc.epub"])
    assert result.ran
    assert (result.errors, result.warnings) == (0, 0), [str(m) for m in result.messages]
