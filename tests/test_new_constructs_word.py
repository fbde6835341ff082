"""Issue 13's constructs in Word and large print: strikethrough, task items, admonitions,
definition lists, nested list levels and internal links, on the hand-built document
(tests/new_constructs.py, the same as fixtures/github-style.md)."""

from __future__ import annotations

import subprocess
import zipfile

import pytest
from lxml import etree

from docx_support import docx_text, render_first_page
from formatforge import model
from formatforge.checks import failing
from formatforge.checks.ooxml import NS, check_docx, check_large_print, w
from new_constructs import new_constructs_document

FORMATS = {"docx": "github-style.docx", "large-print": "github-style-large-print.docx"}
TASK_LABELS = ("Done: ", "Not done: ")
BOX_SIDES = ["top", "left", "bottom", "right"]
# A GFM autolink's text is its URL, which D7 rightly reports: the source should say where the
# link goes ("the finance rules"), the writer cannot invent words. Nothing else may fail.
AUTOLINK_FINDING = {"D7": ["link text is the bare URL 'https://example.org/finance'"]}


@pytest.fixture(scope="module")
def document() -> model.Document:
    return new_constructs_document()


@pytest.fixture(scope="module", params=sorted(FORMATS))
def built(request, document, tmp_path_factory):
    from conftest import write_format

    staging = tmp_path_factory.mktemp(request.param)
    return write_format(request.param, document, staging)[FORMATS[request.param]]


def body_of(path):
    return etree.fromstring(zipfile.ZipFile(path).read("word/document.xml")).find("w:body", NS)


def text_of(element) -> str:
    return "".join(t.text or "" for t in element.iter(w("t")))


def paragraph(body, text: str):
    # not the contents' copy of a heading
    found = [p for p in body.iter(w("p")) if text_of(p) == text and next(p.iterancestors(w("sdt")), None) is None]
    assert len(found) == 1, (text, len(found))
    return found[0]


def box(p) -> list[tuple[str, str]]:
    """The sides of a paragraph's border and their line width, in document order."""
    return [(etree.QName(side).localname, side.get(w("sz"))) for side in p.iterfind("w:pPr/w:pBdr/*", NS)]


def test_strikethrough_is_w_strike(built):
    struck = [r for r in body_of(built).iter(w("r")) if r.find("w:rPr/w:strike", NS) is not None]
    assert [text_of(r) for r in struck] == ["Paper forms"]


def test_task_items_say_their_state_in_words_and_stay_list_items_D11(built):
    body = body_of(built)
    done, not_done = (paragraph(body, f"{label}{text}") for label, text in
                      zip(TASK_LABELS, ("Read the handbook", "Book your induction")))
    numbers = [(p.find("w:pPr/w:numPr/w:ilvl", NS), p.find("w:pPr/w:numPr/w:numId", NS)) for p in (done, not_done)]
    assert all(level is not None and level.get(w("val")) == "0" for level, _ in numbers)
    assert numbers[0][1].get(w("val")) == numbers[1][1].get(w("val"))  # one list, two items
    # the label is its own plain run, before the item's text
    assert text_of(next(done.iter(w("r")))) == "Done: "


def _list_levels(body) -> list[tuple[str, str]]:
    return [(text_of(p), p.find("w:pPr/w:numPr/w:ilvl", NS).get(w("val")))
            for p in body.iter(w("p")) if p.find("w:pPr/w:numPr", NS) is not None]


def test_nested_lists_keep_their_levels_D11(built):
    assert _list_levels(body_of(built)) == [
        ("Fill in the claim", "0"), ("Write your name", "1"), ("Add the date", "1"), ("Attach receipts", "0"),
        ("Receipts", "0"), ("Train tickets", "1"), ("Taxi receipts", "1"),
        ("Done: Read the handbook", "0"), ("Not done: Book your induction", "0")]


def test_nested_numbers_are_a_list_of_their_own_D11(built):
    body = body_of(built)
    ids = {text: p.find("w:pPr/w:numPr/w:numId", NS).get(w("val")) for p in body.iter(w("p"))
           if p.find("w:pPr/w:numPr", NS) is not None for text in [text_of(p)]}
    assert ids["Write your name"] == ids["Add the date"] != ids["Fill in the claim"] == ids["Attach receipts"]


@pytest.mark.parametrize("label,text", [("Note", "Claims close on the last Friday of the month."),
                                        ("Warning", "Never share your password.")])
def test_admonition_is_a_box_with_its_label_first_and_bold(built, label, text):
    body = body_of(built)
    head, content = paragraph(body, label), paragraph(body, text)
    assert head.getnext() is content
    assert all(r.find("w:rPr/w:b", NS) is not None for r in head.iter(w("r")))
    assert head.find("w:pPr/w:keepNext", NS) is not None  # the label never ends a page alone
    assert head.find("w:pPr/w:pStyle", NS) is None or not head.find(
        "w:pPr/w:pStyle", NS).get(w("val")).startswith("Heading")  # not in the outline
    # both paragraphs bordered alike on all four sides: drawn as one box
    assert box(head) == box(content) == [(side, "12") for side in BOX_SIDES]
    # and nothing around the note is in the box
    assert box(head.getprevious()) == [] and box(content.getnext()) == []


def test_definition_term_is_bold_and_its_definition_indented(built):
    body = body_of(built)
    term, definition = paragraph(body, "Term one"), paragraph(body, "The first definition.")
    assert term.getnext() is definition
    assert all(r.find("w:rPr/w:b", NS) is not None for r in term.iter(w("r")))
    assert term.find("w:pPr/w:keepNext", NS) is not None
    assert definition.find("w:pPr/w:numPr", NS) is None  # not a list item (D11 would call it one)
    indent = definition.find("w:pPr/w:ind", NS)
    assert indent is not None and int(indent.get(w("left"))) > 0
    assert term.find("w:pPr/w:ind", NS) is None
    assert all(r.find("w:rPr/w:b", NS) is None for r in definition.iter(w("r")))


def test_internal_link_goes_to_the_bookmark_on_its_heading(built):
    body = body_of(built)
    (link,) = [h for h in body.iter(w("hyperlink")) if text_of(h) == "Claiming expenses" and
               next(h.iterancestors(w("sdt")), None) is None]
    anchor = link.get(w("anchor"))
    assert anchor and link.get(f"{{{NS['r']}}}id") is None
    heading = paragraph(body, "Claiming expenses")
    assert heading.find("w:pPr/w:pStyle", NS).get(w("val")) == "Heading2"
    assert [b.get(w("name")) for b in heading.iter(w("bookmarkStart"))] == [anchor]
    # the contents' entry uses the same bookmark: one target per heading
    toc = [h.get(w("anchor")) for h in body.iter(w("hyperlink")) if next(h.iterancestors(w("sdt")), None) is not None]
    assert anchor in toc


def test_every_word_in_order_with_the_task_states_added(built, document):
    text = docx_text(built)
    for label in TASK_LABELS:
        assert text.count(label) == 1
        text = text.replace(label, "")
    assert model.words(text) == model.words(model.document_text(document))


def test_d_criteria_pass_D1_to_D11(built):
    assert failing(check_docx(built)) == AUTOLINK_FINDING


def test_large_print_criteria_pass_L1_to_L10(built):
    minimum = 16 if built.name.endswith("-large-print.docx") else 12
    assert failing(check_large_print(built, minimum_pt=minimum)) == {}


def test_strike_and_emphasis_in_large_print_L4(document, tmp_path):
    """Deleted emphasised text: bold (never italic) and struck through in large print."""
    from conftest import write_format

    blocks = (document.blocks[0], model.Paragraph((model.Strikethrough((model.Emphasis((model.Text("old"),)),)),)))
    small = model.Document(document.metadata, blocks, (), document.source_path)
    path = write_format("large-print", small, tmp_path)[FORMATS["large-print"]]
    (run,) = [r for r in body_of(path).iter(w("r")) if text_of(r) == "old"]
    assert [etree.QName(c).localname for c in run.find("w:rPr", NS)] == ["b", "strike"]
    assert failing(check_large_print(path)) == {}


def test_notes_next_to_each_other_are_two_boxes(document, tmp_path):
    """Word and LibreOffice draw paragraphs bordered alike as one box: a note right after
    another is drawn with a heavier line, so two notes never read as one."""
    from conftest import write_format

    note, warning = (b for b in document.blocks if isinstance(b, model.Admonition))
    small = model.Document(document.metadata, (document.blocks[0], note, warning, note), (), document.source_path)
    body = body_of(write_format("docx", small, tmp_path)[FORMATS["docx"]])
    widths = [{size for _, size in box(p)} for p in body.iter(w("p")) if box(p)]
    assert widths == [{"12"}, {"12"}, {"18"}, {"18"}, {"12"}, {"12"}]


def test_the_checks_here_can_fail(built, tmp_path):
    """Each structure above is found by what the tests look for, not by accident."""
    from formatforge.checks.ooxml import rewrite

    def unbox_and_unstrike(root):
        for tag in ("pBdr", "strike", "bookmarkStart", "numPr"):
            for node in list(root.iter(w(tag))):
                node.getparent().remove(node)

    broken = tmp_path / "broken.docx"
    broken.write_bytes(rewrite(built, "word/document.xml", unbox_and_unstrike))
    with pytest.raises(AssertionError):
        test_strikethrough_is_w_strike(broken)
    with pytest.raises(AssertionError):
        test_nested_lists_keep_their_levels_D11(broken)
    with pytest.raises(AssertionError):
        test_admonition_is_a_box_with_its_label_first_and_bold(broken, "Note", "Claims close on the last Friday of the month.")
    with pytest.raises(AssertionError):
        test_internal_link_goes_to_the_bookmark_on_its_heading(broken)


@pytest.mark.slow
def test_libreoffice_opens_it_and_shows_every_construct(built, tmp_path):
    pdf, png = render_first_page(built, tmp_path / "render")
    assert png.read_bytes().startswith(b"\x89PNG")
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    found = model.words(text)
    for phrase in ("Done: Read the handbook", "Not done: Book your induction", "Note", "Warning",
                   "Paper forms are no longer", "Term one", "The first definition", "Write your name"):
        words = model.words(phrase)
        assert any(found[i:i + len(words)] == words for i in range(len(found))), phrase


@pytest.mark.slow
def test_large_print_pdf_carries_every_construct(document, tmp_path):
    """The large-print PDF (LibreOffice from the large-print .docx): every word in order,
    the task states shown, the internal link a link inside the document."""
    import pikepdf

    from conftest import write_format

    pdf = write_format("large-print-pdf", document, tmp_path)["github-style-large-print.pdf"]
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    assert all(label in text for label in TASK_LABELS)
    for label in TASK_LABELS:
        text = text.replace(label, "", 1)
    contents = ["contents", "staff", "handbook", "claiming", "expenses", "other", "help"]
    found = model.words(text)
    # the contents come after the title, each entry ending in its page number; the rest is
    # the document, word for word, with only list numbers ("1", "a") and page numbers between
    end, entries = 2, []
    while len(entries) < len(contents):
        if not found[end].isdigit():
            entries.append(found[end])
        end += 1
    assert entries == contents
    assert found[end].isdigit(), "the last contents entry ends in its page number"
    rest = iter(found[:2] + found[end + 1:])
    extra = []
    for word in model.words(model.document_text(document)):
        for shown in rest:
            if shown == word:
                break
            extra.append(shown)
        else:
            pytest.fail(f"{word!r} is missing or out of order")
    extra.extend(rest)
    assert all(word.isdigit() or len(word) == 1 for word in extra), extra
    with pikepdf.open(pdf) as opened:
        internal = [a for page in opened.pages for a in page.get("/Annots", []) if "/Dest" in a]
    assert len(internal) == 4  # the three contents entries and "See Claiming expenses"


def test_the_fixture_through_the_reader_gives_the_same_word_file(document, tmp_path):
    """End to end: the Markdown fixture read and written gives what the hand-built model gives
    (the same text, the same D11 list levels, internal links to bookmarks that exist)."""
    from conftest import write_format
    from formatforge.reader import read_source

    read = read_source(document.source_path).document
    from_reader = write_format("docx", read, tmp_path / "read")[FORMATS["docx"]]
    by_hand = write_format("docx", document, tmp_path / "hand")[FORMATS["docx"]]
    assert docx_text(from_reader) == docx_text(by_hand)
    assert _list_levels(body_of(from_reader)) == _list_levels(body_of(by_hand))
    assert failing(check_docx(from_reader)) == AUTOLINK_FINDING
