"""Braille writer: UEB through liblouis, laid out into pages (B1–B12 of standards.md).

Each layout checker below is proved able to fail on a hand-broken page before it is
trusted on the real output.
"""

from __future__ import annotations

import difflib
import re

import louis
import pytest

from formatforge import model
from formatforge.checks import failing, parse_xml
from formatforge.checks.brf import check_brf
from formatforge.checks.pef import check_pef
from formatforge.formats import get_writer
from formatforge.formats.braille import brf, make_book, pef
from formatforge.formats.braille.layout import CONTINUATION, GUIDE_DOT, TN_CLOSE, TN_OPEN, Line, Page, wrap
from formatforge.formats.braille.translate import BLANK, SUPERSCRIPT, Translator, default_tables, inline_runs

CELLS, LINES = 40, 25


def build(build_format, document, **options):
    outputs = build_format("braille", document, **options)
    stem = document.stem
    return outputs[f"{stem}.brf"], outputs[f"{stem}.pef"], outputs[f"{stem}-braille.txt"]


def indent_of(cells: str) -> int:
    return len(cells) - len(cells.lstrip(BLANK))


# ------------------------------------------------------------ checkers


def heading_at_page_end_errors(pages: list[Page]) -> list[str]:
    errors = []
    for page in pages:
        text_lines = [line for line in page.body if line.cells.strip(BLANK)]
        if text_lines and text_lines[-1].kind == "heading":
            errors.append(f"page {page.label} ends with a heading")
    return errors


def page_number_errors(pages: list[Page], profile: str, lines: int) -> list[str]:
    errors = []
    for page in pages:
        row = 0 if profile == "ukaaf" else lines - 1
        if len(page.rows) <= row:
            errors.append(f"page {page.label}: no row {row + 1}")
            continue
        cells = page.rows[row].cells
        if not cells.endswith(page.number) or cells[: -len(page.number)].strip(BLANK):
            errors.append(f"page {page.label}: row {row + 1} is not its page number")
    return errors


def paragraph_errors(lines: list[Line]) -> list[str]:
    """3-1 (B6): the first line of a paragraph in cell 3, every runover in cell 1."""
    errors = []
    for line in lines:
        if line.kind != "paragraph":
            continue
        want = 2 if line.first else 0
        if indent_of(line.cells) != want:
            errors.append(f"{'first' if line.first else 'runover'} line at cell {indent_of(line.cells) + 1}: {line.cells}")
    return errors


def body_lines(book) -> list[Line]:
    return [line for page in book.body for line in page.body]


# ------------------------------------------------------------ B1 code and tables


def test_b1_ueb_grade_2_by_default_and_grade_1_on_request(every_construct):
    assert default_tables("en-GB", 2) == ["en-ueb-g2.ctb"]
    assert default_tables("en-US", 1) == ["en-ueb-g1.ctb"]
    assert "en-GB-g2.ctb" not in default_tables("en-GB", 2)
    assert default_tables("de", 2) == ["de-g2.ctb"]
    grade2 = make_book(every_construct, {})
    grade1 = make_book(every_construct, {"braille.grade": 1})
    the_g2 = Translator(["en-ueb-g2.ctb"]).text("the")
    assert the_g2 == "\u282e"  # the one-cell wordsign "the"
    assert any("\u282e" in line.cells for line in body_lines(grade2))
    assert not any("\u282e" in line.cells for line in body_lines(grade1))


def test_b1_explicit_table_list_is_used(every_construct):
    book = make_book(every_construct, {"braille.table": "en-us-brf.dis,en-ueb-g1.ctb"})
    assert book.body and not any("\u282e" in line.cells for line in body_lines(book))


def test_b2_our_brf_mapping_is_liblouis_en_us_brf():
    every_cell = "".join(chr(0x2800 + dots) for dots in range(64))
    assert brf.cells_to_brf(every_cell) == louis.dotsToChar(["en-us-brf.dis"], every_cell)


# ------------------------------------------------------------ B2 B3 BRF


def test_b2_b3_brf_fits_the_page_and_holds_only_braille_ascii(build_format, document):
    brf_path, _, _ = build(build_format, document)
    data = brf_path.read_bytes()
    assert failing(check_brf(data, CELLS, LINES)) == {}
    pages = brf.parse(data)
    assert len(pages) == data.count(b"\f") and data.endswith(b"\f")  # every page ends with a form feed (B3)


def test_b2_b3_brf_checker_catches_long_lines_long_pages_stray_bytes_and_bare_line_feeds():
    assert failing(check_brf(b"A" * 40 + b"\r\n" + b"A\r\n" * 24 + b"\fA\r\n", CELLS, LINES)) == {}
    assert set(failing(check_brf(b"A" * 41 + b"\r\n", CELLS, LINES))) == {"B2"}
    assert set(failing(check_brf(b"A\r\n" * 26, CELLS, LINES))) == {"B2"}
    assert set(failing(check_brf(b"abc\r\n", CELLS, LINES))) == {"B2"}, "lower case is outside Braille ASCII"
    assert set(failing(check_brf(b"A\nB\r\n", CELLS, LINES))) == {"B3"}, "a bare line feed"
    assert set(failing(check_brf(b"A\r\nB", CELLS, LINES))) == {"B3"}


def test_b2_b3_page_size_line_ending_and_page_break_are_configurable(build_format, every_construct):
    brf_path, _, _ = build(
        build_format, every_construct, **{"braille.cells": 32, "braille.lines": 12, "braille.line_ending": "\n", "braille.page_break": "\f\n"}
    )
    data = brf_path.read_bytes()
    assert b"\r" not in data
    pages = brf.parse(data, "\n", "\f\n")
    assert len(pages) > 4
    assert failing(check_brf(data, 32, 12, "\n", "\f\n")) == {}
    assert failing(check_brf(data, 32, 11, "\n", "\f\n")) or failing(check_brf(data, 31, 12, "\n", "\f\n"))


# ------------------------------------------------------------ B4 PEF


def test_b4_pef_validates_and_matches_the_brf_cell_for_cell(build_format, document):
    brf_path, pef_path, txt_path = build(build_format, document)
    data = pef_path.read_bytes()
    assert failing(check_pef(data)) == {}, "the schema, rows within cols, pages within rows"
    root = parse_xml(data).getroot()
    assert root.get("version") == "2008-1" and root.tag == "{http://www.daisy.org/ns/2008/pef}pef"
    assert root.findtext(".//{http://purl.org/dc/elements/1.1/}format") == "application/x-pef+xml"
    assert root.findtext(".//{http://purl.org/dc/elements/1.1/}identifier")
    brf_pages = [[row.rstrip(BLANK) for row in page] for page in brf.parse(brf_path.read_bytes())]
    assert pef.pages(data) == brf_pages
    text_pages = [page.split("\n")[:-1] for page in txt_path.read_text(encoding="utf-8").split("\f")]
    assert text_pages == brf_pages
    assert all("\u2800" <= c <= "\u28ff" for page in text_pages for row in page for c in row)


def test_b4_pef_checker_catches_a_long_row_a_long_page_and_a_schema_error(every_construct):
    one_page_with_a_wide_row = [[["\u2801" * 41]]]
    one_page_of_26_rows = [[["\u2801"] * 26]]
    full_page = pef.build([[["\u2801" * 40] * 25]], 40, 25, every_construct.metadata)
    assert failing(check_pef(pef.build(one_page_with_a_wide_row, 40, 25, every_construct.metadata)))
    assert failing(check_pef(pef.build(one_page_of_26_rows, 40, 25, every_construct.metadata)))
    assert failing(check_pef(full_page)) == {}
    without_format = full_page.replace(b"application/x-pef+xml", b"text/plain")
    assert any(problem.startswith("schema:") for problem in check_pef(without_format)["B4"])


# ------------------------------------------------------------ B5 headings


@pytest.mark.parametrize("profile", ["ukaaf", "bana"])
def test_b5_heading_placement_by_level(every_construct, profile):
    """Level 1 centred with a blank line before (unless the page starts) and after; level
    2 in cell 5; level 3 in cell 7."""
    book = make_book(every_construct, {"braille.profile": profile})
    seen = set()
    for page in book.body:
        for index, line in enumerate(page.body):
            if line.kind != "heading":
                continue
            seen.add(line.level)
            start = indent_of(line.cells)
            if line.level == 1:
                assert abs(start - (CELLS - len(line.cells))) <= 1, f"not centred: {line.cells}"
                if index:
                    assert not page.body[index - 1].cells.strip(BLANK)
                assert not page.body[index + 1].cells.strip(BLANK)
            else:
                assert start == {2: 4, 3: 6}[line.level], f"level {line.level} at cell {start + 1}"
                if line.level == 2 and index:
                    assert not page.body[index - 1].cells.strip(BLANK), "no blank line before a cell-5 heading"
    assert seen == {1, 2, 3}


@pytest.mark.parametrize("profile", ["ukaaf", "bana"])
@pytest.mark.parametrize("lines", [25, 9, 7])
def test_b5_a_heading_never_ends_a_page(document, profile, lines):
    book = make_book(document, {"braille.profile": profile, "braille.lines": lines})
    assert heading_at_page_end_errors(book.pages) == []


def test_b5_without_keep_with_next_headings_do_end_pages(strategy, monkeypatch):
    """The rule is real work: switch the keeping off and the checker finds headings at
    the foot of pages of the strategy."""
    from formatforge.formats.braille.layout import Layout

    monkeypatch.setattr(Layout, "kept_height", lambda self, chunks, index: len(chunks[index].lines))
    assert heading_at_page_end_errors(make_book(strategy, {"braille.lines": 7}).pages)


def test_b5_checker_catches_a_heading_at_the_foot_of_a_page():
    page = Page("1", "", body=[Line("\u2801", "paragraph"), Line("\u2803", "heading", first=True)])
    assert heading_at_page_end_errors([page])


# ------------------------------------------------------------ B6 B7 paragraphs and lists


def test_b6_paragraphs_are_3_1(document):
    book = make_book(document, {"braille.cells": 30})
    lines = body_lines(book)
    assert sum(1 for line in lines if line.kind == "paragraph" and not line.first) > 3
    assert paragraph_errors(lines) == []


def test_b6_checker_catches_a_blocked_paragraph():
    assert paragraph_errors([Line("\u2801\u2803", "paragraph", first=True)])
    assert paragraph_errors([Line(BLANK * 2 + "\u2801", "paragraph", first=False)])


def test_b7_lists_are_1_3_and_nested_lists_1_5_3_5(every_construct):
    """The bullet list has two levels: items in cell 1, nested items in cell 3, every
    runover in cell 5; the numbered list (one level) is 1-3."""
    book = make_book(every_construct, {"braille.cells": 16})
    items = [line for line in body_lines(book) if line.kind == "list"]
    tr = Translator(["en-ueb-g2.ctb"])
    nested = BLANK.join(tr.text("A nested bullet").split(BLANK)[:2])
    numbered = tr.text("1. First").split(BLANK)[0]
    nested_lines = [line for line in items if line.first and line.cells.strip(BLANK).startswith(nested)]
    assert nested_lines and all(indent_of(line.cells) == 2 for line in nested_lines)
    assert all(indent_of(line.cells) in (0, 2) for line in items if line.first)
    bullet_part = items[: [line.cells.strip(BLANK).startswith(numbered) for line in items].index(True)]
    number_part = items[len(bullet_part) :]
    assert [indent_of(line.cells) for line in bullet_part if not line.first] and all(
        indent_of(line.cells) == 4 for line in bullet_part if not line.first
    )
    assert all(indent_of(line.cells) == 0 for line in number_part if line.first)
    assert [line for line in number_part if not line.first] and all(indent_of(line.cells) == 2 for line in number_part if not line.first)


# ------------------------------------------------------------ B8 page numbers


@pytest.mark.parametrize("profile", ["ukaaf", "bana"])
def test_b8_page_number_on_every_page_where_the_profile_puts_it(document, profile):
    book = make_book(document, {"braille.profile": profile})
    assert page_number_errors(book.pages, profile, LINES) == []
    assert [p.label for p in book.body] == [str(n) for n in range(1, len(book.body) + 1)]
    assert [p.label for p in book.preliminary] == [f"p{n}" for n in range(1, len(book.preliminary) + 1)]
    other = "bana" if profile == "ukaaf" else "ukaaf"
    assert page_number_errors(book.pages, other, LINES), "the checker must tell the profiles apart"


# ------------------------------------------------------------ B9 transcriber's notes


def test_b9_image_alt_text_inside_transcribers_note_indicators(every_construct):
    book = make_book(every_construct, {})
    notes = BLANK.join(line.cells.strip(BLANK) for line in body_lines(book) if line.kind == "tn")
    alt = Translator(["en-ueb-g2.ctb"]).text("Two boxes joined")
    opening = notes.index(TN_OPEN + Translator(["en-ueb-g2.ctb"]).text("Image:"))
    assert notes.index(alt) > opening and notes.index(TN_CLOSE, opening) > notes.index(alt)


# ------------------------------------------------------------ B10 title and contents


def test_b10_title_page_and_contents_page_numbers_point_at_the_headings(build_format, document):
    brf_path, _, _ = build(build_format, document)
    pages = brf.parse(brf_path.read_bytes())
    book = make_book(document, {})
    tr = Translator(["en-ueb-g2.ctb"])
    title_rows = BLANK.join(row.strip(BLANK) for row in pages[0])
    assert tr.text(document.metadata.title) in title_rows
    # Body pages by the number on their top line (the default profile puts it there).
    number_to_page = {page[0].strip(BLANK): page[1:] for page in pages if page}
    entries = []
    for page in pages[1 : len(book.preliminary)]:
        for row in page[1:]:
            if GUIDE_DOT * 2 in row:
                entries.append(row.rsplit(BLANK, 1)[1])
    headings = [h for h in model.walk_blocks(document.blocks) if isinstance(h, model.Heading)]
    assert len(entries) == len(headings)
    for heading, number in zip(headings, entries):
        first_word = tr.text(model.inline_text(heading.children)).split(BLANK)[0]
        rows = number_to_page[number]
        assert any(row.strip(BLANK).startswith(first_word) for row in rows), model.inline_text(heading.children)


# ------------------------------------------------------------ B11 words


def no_split_errors(groups: list[list[str]], expected: list[list[str]]) -> list[str]:
    return [f"{got} != {want}" for got, want in zip(groups, expected, strict=True) if got != want]


def test_b11_no_word_is_split_across_lines(document):
    """The words of each paragraph's braille, line by line, are the words of the whole
    translated paragraph: a split word would show as two fragments."""
    book = make_book(document, {"braille.cells": 24})
    tr = Translator(["en-ueb-g2.ctb"])
    groups: list[list[str]] = []
    divided = False
    for line in body_lines(book):
        if line.kind == "paragraph":
            if line.first:
                groups.append([])
            words = [w for w in line.cells.split(BLANK) if w]
            if divided and words:  # a sequence too long for any line goes on here (UEB §10.12)
                groups[-1][-1] = groups[-1][-1][: -len(CONTINUATION)] + words.pop(0)
            groups[-1] += words
            divided = line.cells.endswith(CONTINUATION)
    expected = [
        [w for run in inline_runs(block.children, addresses=True) for w in tr.translate(run).split(BLANK) if w]
        for block in document.blocks
        if isinstance(block, model.Paragraph)
    ]
    assert sum(len(g) for g in groups) > 20
    assert no_split_errors(groups, expected) == []
    broken = [list(group) for group in groups]
    word = next(i for i, w in enumerate(broken[0]) if len(w) > 3)
    broken[0][word : word + 1] = [broken[0][word][:2], broken[0][word][2:]]
    assert no_split_errors(broken, expected), "the checker must catch a split word"


def test_b11_only_an_over_long_word_is_divided_with_the_continuation_indicator():
    long_word = "\u2801" * 50
    pairs = wrap("\u2803\u2803" + BLANK + long_word, 20, 2, 0)
    assert all(indent + len(content) <= 20 for indent, content in pairs)
    assert pairs[0] == (2, "\u2803\u2803"), "the short word is not left on a line with part of the long one"
    assert all(content.endswith(CONTINUATION) for _, content in pairs[1:-1])
    assert "".join(c.removesuffix(CONTINUATION) for _, c in pairs[1:]) == long_word
    normal = wrap(BLANK.join(["\u2801" * 7] * 9), 20, 2, 0)
    assert not any(CONTINUATION in content for _, content in normal)


# ------------------------------------------------------------ B12 back-translation


def reading_order_words(document) -> list[str]:
    """The source's words in the order the braille gives them: tables read cell by cell
    after their column headings, notes after the section that cites them."""
    def block_words(block) -> list[str]:
        if isinstance(block, model.Table):
            out = []
            for row in block.rows:
                for header, cell in zip(block.header, row):
                    out += model.words(model.inline_text(header.children) + " " + model.inline_text(cell.children))
            return out
        if isinstance(block, model.ListBlock):
            return [w for item in block.items for b in item.blocks for w in block_words(b)]
        if isinstance(block, model.BlockQuote):
            return [w for b in block.blocks for w in block_words(b)]
        if isinstance(block, model.Image) and block.decorative:
            return []
        return model.words(model.block_text(block))

    notes = {note.number: note for note in document.footnotes}
    placed: set[int] = set()
    words: list[str] = []

    def cited(blocks) -> list[int]:
        found = []
        for block in model.walk_blocks(blocks):
            for inline in getattr(block, "children", ()):
                stack = [inline]
                while stack:
                    node = stack.pop(0)
                    if isinstance(node, model.FootnoteRef):
                        found.append(node.number)
                    stack += list(getattr(node, "children", ()))
        return found

    for section in document.sections():
        words += [w for b in section.blocks for w in block_words(b)]
        for number in cited(section.blocks):
            if number in notes and number not in placed:
                placed.add(number)
                words += [w for b in notes[number].blocks for w in block_words(b)]
    for number, note in notes.items():
        if number not in placed:
            words += [w for b in note.blocks for w in block_words(b)]
    return words


LIBLOUIS_UNKNOWN_CELLS = re.compile(r"\\[0-9]+/")
# italic (dots 46), bold (45) and underline (456) symbol, word, passage and terminator indicators
UEB_EMPHASIS_INDICATORS = re.compile("[\u2828\u2818\u2838][\u2806\u2802\u2836\u2804]")


def back_translated_body(pages: list[list[str]], preliminary: int, tables: list[str]) -> str:
    """The body pages without their number lines, read as a braille reader reads them:
    a line ending in the continuation indicator runs on into the next."""
    text = ""
    for page in pages[preliminary:]:
        for row in page[1:]:
            row = row.strip(BLANK)
            if row.endswith(CONTINUATION):
                text += row[: -len(CONTINUATION)]
            elif row:
                text += row + BLANK
    # liblouis cannot back-translate UEB emphasis indicators: it writes their dots as \46/
    # and, worse, then reads a shortform after one as letters. They are typeform, not words,
    # so they are taken out before back-translation.
    text = UEB_EMPHASIS_INDICATORS.sub("", text)
    # A note reference's superscript indicator (dots 56 35) reads back as "in": it is a
    # raised number, not a word, so it parts the number from the word before it.
    text = text.replace(SUPERSCRIPT, BLANK)
    # Uncontracted braille writes the indicator without the grade 1 indicator (dots 35
    # alone), always before the number sign of the note's number.
    superscript = Translator(tables).superscript
    if superscript != SUPERSCRIPT:
        text = text.replace(superscript + "\u283c", BLANK + "\u283c")
    # Likewise the transcriber's note indicators: a wordsign next to one ("it's" as x's,
    # then the closing indicator) is right in braille but is not expanded by the back-translator.
    text = text.replace(TN_OPEN, " ").replace(TN_CLOSE, " ")
    return LIBLOUIS_UNKNOWN_CELLS.sub("", Translator(tables).back_translate(text))


@pytest.mark.parametrize("name,minimum", [("strategy", 0.99), ("every_construct", 0.99)])
def test_b12_back_translation_reproduces_the_source(build_format, request, name, minimum, capsys):
    document = request.getfixturevalue(name)
    brf_path, _, _ = build(build_format, document)
    book = make_book(document, {})
    braille_words = model.words(back_translated_body(brf.parse(brf_path.read_bytes()), len(book.preliminary), ["en-ueb-g2.ctb"]))
    source_words = reading_order_words(document)
    matcher = difflib.SequenceMatcher(None, source_words, braille_words, autojunk=False)
    matched = sum(block.size for block in matcher.get_matching_blocks())
    accuracy = matched / len(source_words)
    differing = [
        f"{tag}: {' '.join(source_words[i1:i2])!r} -> {' '.join(braille_words[j1:j2])!r}"
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]
    with capsys.disabled():
        print(f"\nB12 {name}: word accuracy {accuracy:.4f} ({matched}/{len(source_words)} source words)")
        for line in differing:
            print("  ", line)
    assert accuracy >= minimum


# ------------------------------------------------------------ the writer


def test_writer_contract_and_byte_identical_rebuild(tmp_path, every_construct):
    from conftest import write_format

    writer = get_writer("braille")
    assert writer.name == "braille" and writer.summary
    assert "braille.grade" in {o.name for o in writer.options} and not writer.missing()
    first = write_format("braille", every_construct, tmp_path / "a")
    second = write_format("braille", every_construct, tmp_path / "b")
    assert list(first) == writer.output_names(every_construct, {})
    for name in first:
        assert first[name].read_bytes() == second[name].read_bytes(), name


def test_emphasis_and_strong_are_marked_as_ueb_requires(every_construct):
    book = make_book(every_construct, {})
    cells = BLANK.join(line.cells for line in body_lines(book))
    assert "\u2828\u2802" in cells  # italic word indicator, dots 46, 2
    assert "\u2818\u2802" in cells  # bold word indicator, dots 45, 2
