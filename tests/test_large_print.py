"""Large print in Word: L1–L10 (UKAAF G003) and D1–D11, checked in the file itself."""

from __future__ import annotations

import zipfile

import pytest
from lxml import etree

from docx_support import docx_words, render_first_page
from formatforge import model
from formatforge.checks import failing
from formatforge.checks.ooxml import L_IDS, NS, check_docx, check_large_print, rewrite, w
from formatforge.errors import WriterError


@pytest.fixture
def built(build_format, document):
    return build_format("large-print", document)[f"{document.stem}-large-print.docx"]


@pytest.fixture(scope="module")
def reference(every_construct, tmp_path_factory):
    from conftest import write_format

    staging = tmp_path_factory.mktemp("large-print-reference")
    return write_format("large-print", every_construct, staging)["every-construct-large-print.docx"]


def test_every_l_criterion_passes_L1_to_L10(built):
    """L1 L2 L3 L4 L5 L6 L7 L8 L9 L10 on both reference documents."""
    failures = check_large_print(built)
    assert set(failures) == set(L_IDS)
    assert failing(failures) == {}


def test_large_print_is_also_accessible_word_D1_to_D11(built):
    assert failing(check_docx(built)) == {}


def test_default_size_is_18pt_L1(built):
    styles = etree.fromstring(zipfile.ZipFile(built).read("word/styles.xml"))
    assert styles.find("w:docDefaults/w:rPrDefault/w:rPr/w:sz", NS).get(w("val")) == "36"


def test_size_is_configurable_L1(build_format, every_construct):
    path = build_format("large-print", every_construct, **{"large_print.size": 24})["every-construct-large-print.docx"]
    styles = etree.fromstring(zipfile.ZipFile(path).read("word/styles.xml"))
    assert styles.find("w:docDefaults/w:rPrDefault/w:rPr/w:sz", NS).get(w("val")) == "48"
    assert failing(check_large_print(path, minimum_pt=24)) == {}


def test_too_small_a_size_is_refused(build_format, every_construct):
    with pytest.raises(WriterError):
        build_format("large-print", every_construct, **{"large_print.size": 12})


def test_nothing_is_lost_words_in_order(built, document):
    assert docx_words(built) == model.words(model.document_text(document))


def test_two_builds_are_byte_identical(tmp_path, document):
    from conftest import write_format

    name = f"{document.stem}-large-print.docx"
    first = write_format("large-print", document, tmp_path / "one")[name]
    second = write_format("large-print", document, tmp_path / "two")[name]
    assert first.read_bytes() == second.read_bytes()


def test_emphasis_is_bold_not_italic_L4(reference):
    body = etree.fromstring(zipfile.ZipFile(reference).read("word/document.xml"))
    emphasis = next(r for r in body.iter(w("r")) if "".join(r.itertext()) == "emphasis")
    assert emphasis.find("w:rPr/w:b", NS) is not None
    assert emphasis.find("w:rPr/w:i", NS) is None


# ---------------------------------------------------------------- each check can fail


def set_default(tag, **values):
    def mutate(root):
        holder = "w:docDefaults/w:rPrDefault/w:rPr" if tag in ("sz", "rFonts") else "w:docDefaults/w:pPrDefault/w:pPr"
        node = root.find(f"{holder}/w:{tag}", NS)
        for key, value in values.items():
            node.set(w(key), value)
    mutate.__name__ = f"default_{tag}_" + "_".join(f"{k}{v}" for k, v in values.items()).replace(" ", "")
    return mutate


def small_page_numbers(root):
    for run in root.iter(w("r")):
        rpr = run.find("w:rPr", NS)
        if rpr is None:
            rpr = etree.Element(w("rPr"))
            run.insert(0, rpr)
        etree.SubElement(rpr, w("sz")).set(w("val"), "20")


def italic_run(root):
    run = next(r for r in root.iter(w("r")) if r.find("w:t", NS) is not None and r.getparent().tag == w("p"))
    rpr = run.find("w:rPr", NS)
    if rpr is None:
        rpr = etree.Element(w("rPr"))
        run.insert(0, rpr)
    etree.SubElement(rpr, w("i"))


def justified_paragraph(root):
    paragraph = next(p for p in root.iter(w("p")) if p.find("w:pPr/w:pStyle", NS) is None)
    ppr = paragraph.find("w:pPr", NS)
    if ppr is None:
        ppr = etree.Element(w("pPr"))
        paragraph.insert(0, ppr)
    etree.SubElement(ppr, w("jc")).set(w("val"), "both")


def hyphenation_on(root):
    root.find("w:autoHyphenation", NS).set(w("val"), "true")


def letter_paper(root):
    size = root.find(".//w:sectPr/w:pgSz", NS)
    size.set(w("w"), "12240")
    size.set(w("h"), "15840")


def two_columns(root):
    section = root.find(".//w:sectPr", NS)
    columns = section.find("w:cols", NS)
    if columns is None:
        columns = etree.SubElement(section, w("cols"))
    columns.set(w("num"), "2")


BREAKAGES = [
    ("L1", "word/styles.xml", set_default("sz", val="24")),
    ("L2", "word/footer1.xml", small_page_numbers),
    ("L3", "word/styles.xml", set_default("rFonts", ascii="Times New Roman", hAnsi="Times New Roman")),
    ("L4", "word/document.xml", italic_run),
    ("L5", "word/styles.xml", set_default("spacing", line="480")),
    ("L6", "word/styles.xml", set_default("spacing", after="0")),
    ("L7", "word/document.xml", justified_paragraph),
    ("L8", "word/settings.xml", hyphenation_on),
    ("L9", "word/document.xml", letter_paper),
    ("L10", "word/document.xml", two_columns),
]


@pytest.mark.parametrize("criterion,part,breakage", BREAKAGES, ids=[f"{c}-{b.__name__}" for c, _, b in BREAKAGES])
def test_checker_reports_a_hand_broken_file(reference, criterion, part, breakage):
    failures = failing(check_large_print(rewrite(reference, part, breakage)))
    assert criterion in failures, failures


def test_every_l_criterion_has_a_breakage():
    assert {c for c, _, _ in BREAKAGES} == set(L_IDS)


@pytest.mark.slow
def test_libreoffice_opens_and_converts(built, tmp_path):
    """LibreOffice headless converts the large-print .docx to PDF; the first page renders to PNG."""
    pdf, png = render_first_page(built, tmp_path / "render")
    assert pdf.stat().st_size > 1000
    assert png.read_bytes().startswith(b"\x89PNG")
