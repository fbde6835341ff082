"""The Word writer: D1–D11 checked in the file itself, nothing lost, reproducible, opens in LibreOffice."""

from __future__ import annotations

import subprocess
import zipfile

import pytest
from lxml import etree

from docx_support import docx_words, render_first_page, zip_dates
from formatforge import model
from formatforge.checks import failing
from formatforge.checks.ooxml import D_IDS, NS, check_docx, check_large_print, rewrite, w


@pytest.fixture
def built_docx(build_format, document):
    return build_format("docx", document)[f"{document.stem}.docx"]


@pytest.fixture(scope="module")
def reference_docx(every_construct, tmp_path_factory):
    from conftest import write_format

    staging = tmp_path_factory.mktemp("docx-reference")
    return write_format("docx", every_construct, staging)["every-construct.docx"]


def test_output_name(build_format, every_construct):
    assert list(build_format("docx", every_construct)) == ["every-construct.docx"]


def test_every_d_criterion_passes_D1_to_D11(built_docx):
    """D1 D2 D3 D4 D5 D6 D7 D8 D9 D10 D11 on both reference documents."""
    failures = check_docx(built_docx)
    assert set(failures) == set(D_IDS)
    assert failing(failures) == {}


def test_nothing_is_lost_words_in_order(built_docx, document):
    assert docx_words(built_docx) == model.words(model.document_text(document))


def test_nothing_lost_check_can_fail(reference_docx, every_construct, tmp_path):
    def drop_a_footnote(root):
        root.remove(root.findall("w:footnote", NS)[-1])

    broken = tmp_path / "broken.docx"
    broken.write_bytes(rewrite(reference_docx, "word/footnotes.xml", drop_a_footnote))
    assert docx_words(broken) != model.words(model.document_text(every_construct))


def test_two_builds_are_byte_identical(build_format, tmp_path, document):
    from conftest import write_format

    first = write_format("docx", document, tmp_path / "one")[f"{document.stem}.docx"]
    second = write_format("docx", document, tmp_path / "two")[f"{document.stem}.docx"]
    assert first.read_bytes() == second.read_bytes()
    assert len(zip_dates(first)) == 1  # every entry carries the same fixed date


def test_core_properties_come_from_front_matter_D5(built_docx, document):
    import docx

    props = docx.Document(str(built_docx)).core_properties
    meta = document.metadata
    assert props.title == meta.title
    assert props.language == meta.language
    assert props.author == (meta.author or meta.publisher)
    assert props.subject == (meta.subtitle or meta.description)
    assert props.keywords == ", ".join(meta.keywords)
    assert props.comments == meta.description
    assert "python-docx" not in (props.author, props.comments, props.last_modified_by)
    assert props.created.date().isoformat() == meta.date
    assert props.modified == props.created


def test_language_in_default_run_properties_D6(built_docx, document):
    styles = etree.fromstring(zipfile.ZipFile(built_docx).read("word/styles.xml"))
    lang = styles.find("w:docDefaults/w:rPrDefault/w:rPr/w:lang", NS)
    assert lang.get(w("val")) == document.metadata.language


def test_structure_toc_footnotes_quotes_code(reference_docx, every_construct):
    """A TOC field right after the title; real footnotes; quotes and code in named styles."""
    archive = zipfile.ZipFile(reference_docx)
    body = etree.fromstring(archive.read("word/document.xml")).find("w:body", NS)
    children = list(body)
    assert children[1].tag == w("sdt")
    instructions = "".join(t.text for t in children[1].iter(w("instrText")))
    assert instructions.strip().startswith("TOC")
    references = body.findall(".//w:footnoteReference", NS)
    assert [r.get(w("id")) for r in references] == [str(f.number) for f in every_construct.footnotes]
    footnotes = etree.fromstring(archive.read("word/footnotes.xml"))
    ids = [n.get(w("id")) for n in footnotes.findall("w:footnote", NS)]
    assert ids == ["-1", "0", "1", "2"]
    styles = [p.get(w("val")) for p in body.iter(w("pStyle"))]
    assert "Quote" in styles and "SourceCode" in styles
    assert body.find(".//w:rStyle[@w:val='VerbatimChar']", NS) is not None
    # nested bullets sit one level deeper than their parent list
    assert {n.get(w("val")) for n in body.iter(w("ilvl"))} == {"0", "1"}


def test_body_is_sans_serif_12pt_or_more_and_left_aligned(built_docx):
    failures = check_large_print(built_docx, minimum_pt=12)
    assert failures["L3"] == []
    assert [f for f in failures["L1"] if "body text" in f] == []
    styles = etree.fromstring(zipfile.ZipFile(built_docx).read("word/styles.xml"))
    normal = styles.find("w:style[@w:styleId='Normal']/w:pPr/w:jc", NS)
    assert normal is not None and normal.get(w("val")) == "left"


# ---------------------------------------------------------------- each check can fail


def _first(root, path):
    found = root.find(path, NS)
    assert found is not None, path
    return found


def no_alt_text(root):
    for doc_pr in root.iter(f"{{{NS['wp']}}}docPr"):
        doc_pr.attrib.pop("descr", None)


def no_header_row(root):
    for header in root.iter(w("tblHeader")):
        header.getparent().remove(header)


def merged_cells(root):
    tc_pr = _first(root, ".//w:tc/w:tcPr")
    span = etree.SubElement(tc_pr, w("gridSpan"))
    span.set(w("val"), "2")


def skipped_heading_level(root):
    for style in root.iter(w("pStyle")):
        if style.get(w("val")) == "Heading3":
            style.set(w("val"), "Heading5")


def no_headings(root):
    for style in root.iter(w("pStyle")):
        if style.get(w("val")).startswith("Heading"):
            style.set(w("val"), "Normal")


def no_title(root):
    _first(root, "dc:title").text = ""


def template_creator(root):
    _first(root, "dc:creator").text = "python-docx"


def no_language(root):
    lang = _first(root, "w:docDefaults/w:rPrDefault/w:rPr/w:lang")
    lang.getparent().remove(lang)


def url_as_link_text(root):
    link = _first(root, ".//w:hyperlink[@r:id]")
    for t in link.iter(w("t")):
        t.text = ""
    next(link.iter(w("t"))).text = "https://example.org/formatforge"


def click_here(root):
    link = _first(root, ".//w:hyperlink[@r:id]")
    for t in link.iter(w("t")):
        t.text = ""
    next(link.iter(w("t"))).text = "click here"


def dangling_internal_link(root):
    _first(root, ".//w:hyperlink[@w:anchor]").set(w("anchor"), "no_such_heading")


def floating_picture(root):
    inline = next(root.iter(f"{{{NS['wp']}}}inline"))
    inline.tag = f"{{{NS['wp']}}}anchor"


def empty_paragraph_spacing(root):
    body = _first(root, "w:body")
    body.insert(2, etree.Element(w("p")))


def spaces_for_layout(root):
    next(t for t in root.iter(w("t")) if t.text and "paragraph has" in t.text).text = "Indented:      text"


def poor_contrast(root):
    run = next(r for r in root.iter(w("r")) if r.find("w:t", NS) is not None and r.getparent().tag == w("p"))
    rpr = run.find("w:rPr", NS)
    if rpr is None:
        rpr = etree.Element(w("rPr"))
        run.insert(0, rpr)
    colour = etree.SubElement(rpr, w("color"))
    colour.set(w("val"), "CCCCCC")


def typed_bullets(root):
    for num_pr in list(root.iter(w("numPr"))):
        paragraph = num_pr.getparent().getparent()
        num_pr.getparent().remove(num_pr)
        first = next(paragraph.iter(w("t")))
        first.text = "• " + first.text


def undefined_numbering(root):
    for num in root.findall("w:num", NS):
        root.remove(num)


BREAKAGES = [
    ("D1", "word/document.xml", no_alt_text),
    ("D2", "word/document.xml", no_header_row),
    ("D3", "word/document.xml", merged_cells),
    ("D4", "word/document.xml", skipped_heading_level),
    ("D4", "word/document.xml", no_headings),
    ("D5", "docProps/core.xml", no_title),
    ("D5", "docProps/core.xml", template_creator),
    ("D6", "word/styles.xml", no_language),
    ("D7", "word/document.xml", url_as_link_text),
    ("D7", "word/document.xml", click_here),
    ("D7", "word/document.xml", dangling_internal_link),
    ("D8", "word/document.xml", floating_picture),
    ("D9", "word/document.xml", empty_paragraph_spacing),
    ("D9", "word/document.xml", spaces_for_layout),
    ("D10", "word/document.xml", poor_contrast),
    ("D11", "word/document.xml", typed_bullets),
    ("D11", "word/numbering.xml", undefined_numbering),
]


@pytest.mark.parametrize("criterion,part,breakage", BREAKAGES, ids=[f"{c}-{b.__name__}" for c, _, b in BREAKAGES])
def test_checker_reports_a_hand_broken_file(reference_docx, criterion, part, breakage):
    broken = rewrite(reference_docx, part, breakage)
    failures = failing(check_docx(broken))
    assert criterion in failures, failures
    # the breakage is specific: every other criterion still passes
    assert set(failures) == {criterion}, failures


def test_every_d_criterion_has_a_breakage():
    assert {c for c, _, _ in BREAKAGES} == set(D_IDS)


@pytest.mark.slow
def test_libreoffice_opens_and_converts(built_docx, document, tmp_path):
    """LibreOffice headless converts the .docx to PDF; the first page renders to PNG."""
    pdf, png = render_first_page(built_docx, tmp_path / "render")
    assert pdf.stat().st_size > 1000
    assert png.read_bytes().startswith(b"\x89PNG")
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    title = model.words(model.block_text(document.blocks[0]))
    assert model.words(text)[0] == title[0]  # pdftotext joins words hyphenated at line ends


# ---------------------------------------------------------------- paragraphs made from prototypes


def _lists_document(tmp_path) -> model.Document:
    """Two numbered lists with their own starts, a nested bullet list, and a thematic break
    before a list: paragraphs alike in style are copies, so no value may leak between them."""
    def item(text, *more):
        return model.ListItem((model.Paragraph((model.Text(text),)),) + more)

    nested = model.ListBlock(False, (item("nested one"), item("nested two")))
    return model.Document(
        metadata=model.Metadata(title="Lists", language="en-GB", date="2024-01-15"),
        blocks=(
            model.Heading(1, (model.Text("Lists"),), "lists"),
            model.ListBlock(True, (item("three", nested), item("four")), start=3),
            model.ThematicBreak(),
            model.ListBlock(True, (item("one"), item("two"))),
            model.Paragraph((model.Text("after\tthe  lists\u00a0end "),)),
        ),
        source_path=tmp_path / "lists.md",
    )


def _list_numbers(path) -> list[tuple[str, str, str]]:
    """(text, level, list instance) of each numbered paragraph in the body."""
    body = etree.fromstring(zipfile.ZipFile(path).read("word/document.xml")).find("w:body", NS)
    return [("".join(p.itertext()), p.find(".//w:ilvl", NS).get(w("val")), p.find(".//w:numId", NS).get(w("val")))
            for p in body.iter(w("p")) if p.find("w:pPr/w:numPr", NS) is not None]


def test_each_list_keeps_its_own_numbering_and_start(build_format, tmp_path):
    path = build_format("docx", _lists_document(tmp_path))["lists.docx"]
    numbers = _list_numbers(path)
    assert [(text, level) for text, level, _ in numbers] == [
        ("three", "0"), ("nested one", "1"), ("nested two", "1"), ("four", "0"), ("one", "0"), ("two", "0")]
    first, nested, second = numbers[0][2], numbers[1][2], numbers[4][2]
    assert len({first, nested, second}) == 3
    assert numbers[3][2] == first and numbers[5][2] == second
    numbering = etree.fromstring(zipfile.ZipFile(path).read("word/numbering.xml"))
    starts = {num.getparent().getparent().get(w("numId")): num.get(w("val"))
              for num in numbering.iterfind("w:num/w:lvlOverride[@w:ilvl='0']/w:startOverride", NS)}
    assert (starts[first], starts[nested], starts[second]) == ("3", "1", "1")


def test_list_numbering_check_can_fail(build_format, tmp_path):
    path = build_format("docx", _lists_document(tmp_path))["lists.docx"]

    def one_instance_for_all(root):
        for num_id in root.iter(w("numId")):
            num_id.set(w("val"), "1")

    broken = tmp_path / "broken.docx"
    broken.write_bytes(rewrite(path, "word/document.xml", one_instance_for_all))
    assert len({number for _, _, number in _list_numbers(broken)}) == 1


def test_thematic_break_draws_one_rule_and_whitespace_is_layout_D9(build_format, tmp_path):
    path = build_format("docx", _lists_document(tmp_path))["lists.docx"]
    body = etree.fromstring(zipfile.ZipFile(path).read("word/document.xml")).find("w:body", NS)
    paragraphs = list(body.iter(w("p")))
    ruled = [i for i, p in enumerate(paragraphs) if p.find("w:pPr/w:pBdr", NS) is not None]
    assert len(ruled) == 1
    divider = paragraphs[ruled[0]]
    # a paragraph of its own between the lists (a border on "one" merged with its neighbours')
    assert "".join(divider.itertext()) == ""
    assert ["".join(p.itertext()) for p in paragraphs[ruled[0] - 1:ruled[0] + 2:2]] == ["four", "one"]
    # kept with what it closes, so never alone at the top of a page
    assert paragraphs[ruled[0] - 1].find("w:pPr/w:keepNext", NS) is not None
    texts = [t for t in body.iter(w("t")) if t.text and t.text.startswith("after")]
    assert [t.text for t in texts] == ["after the lists end "]
    assert texts[0].get("{http://www.w3.org/XML/1998/namespace}space") == "preserve"


@pytest.mark.parametrize("text", ["plain words", "two  spaces", "tab\there", "line\nbreak", "no\u00a0break",
                                  " edges ", "wide\u3000space", "", "\u2028"])
def test_fast_plain_text_matches_the_whitespace_rule_D9(text):
    import re

    from formatforge.shared.word.oxml import plain

    assert plain(text) == re.sub(r"\s+", " ", text)


def test_no_parts_left_from_the_template(built_docx):
    """D5: nothing of python-docx's template that is not ours: no Word 2010 styles-with-
    effects copy and no sample bibliography (customXml); every part the content types name
    is in the package and every package member is named."""
    with zipfile.ZipFile(built_docx) as package:
        names = set(package.namelist())
        types = etree.fromstring(package.read("[Content_Types].xml"))
    assert not any("stylesWithEffects" in name or name.startswith("customXml/") for name in names), sorted(names)
    overrides = {element.get("PartName").lstrip("/") for element in types
                 if element.tag.endswith("Override")}
    assert overrides <= names
