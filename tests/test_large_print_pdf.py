"""The tagged large-print PDF: tagged (PDF/UA), language, title and alt text carried through."""

from __future__ import annotations

import re
import subprocess

import pikepdf
import pytest

from formatforge.checks.pdf import structure_elements
from formatforge import model

pytestmark = pytest.mark.slow


@pytest.fixture
def built_pdf(build_format, document):
    return build_format("large-print-pdf", document)[f"{document.stem}-large-print.pdf"]


def pdfinfo(path) -> dict[str, str]:
    out = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    return {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in out.splitlines() if ":" in line)}


def test_tagged_with_title_and_language(built_pdf, document):
    info = pdfinfo(built_pdf)
    assert info["Tagged"] == "yes"
    assert info["Title"] == document.metadata.title
    assert info["Page size"].endswith("(A4)")
    with pikepdf.open(built_pdf) as pdf:
        assert str(pdf.Root.Lang) == document.metadata.language
        assert pdf.Root.ViewerPreferences.DisplayDocTitle  # PDF/UA: show the title, not the file name
        with pdf.open_metadata() as xmp:
            assert xmp.get("{http://www.aiim.org/pdfua/ns/id/}part") == "1"


def test_every_image_has_alt_text(built_pdf, document):
    with pikepdf.open(built_pdf) as pdf:
        figures = [e for e in structure_elements(pdf.Root.StructTreeRoot) if e.S == "/Figure"]
        alts = [str(f.get("/Alt", "")) for f in figures]
    expected = [image.alt for image in document.images() if not image.decorative]
    assert alts == expected
    assert all(alts)


def test_headings_are_tagged(built_pdf, document):
    with pikepdf.open(built_pdf) as pdf:
        tags = [str(e.S) for e in structure_elements(pdf.Root.StructTreeRoot)]
    headings = [b for b in model.walk_blocks(document.blocks) if isinstance(b, model.Heading)]
    assert len([t for t in tags if re.fullmatch(r"/H[1-6]", t)]) == len(headings)


def test_nothing_is_lost(built_pdf, document):
    text = subprocess.run(["pdftotext", str(built_pdf), "-"], check=True, capture_output=True, text=True).stdout
    found = set(model.words(text))
    # the PDF shows text, not alt text; pdftotext joins words hyphenated at line ends
    shown = [b for b in document.all_blocks() if not isinstance(b, model.Image)]
    source = "\n".join(model.block_text(b) for b in shown)
    # "co-deliver" broken at its hyphen across lines comes back from pdftotext as "codeliver"
    missing = [token for token in re.findall(r"[^\W_]+(?:[-'’][^\W_]+)*", source)
               if not set(model.words(token)) <= found
               and not set(model.words(token.replace("-", ""))) <= found]
    assert missing == [], missing


def test_two_builds_are_byte_identical(tmp_path, every_construct):
    from conftest import write_format

    name = "every-construct-large-print.pdf"
    first = write_format("large-print-pdf", every_construct, tmp_path / "one")[name]
    second = write_format("large-print-pdf", every_construct, tmp_path / "two")[name]
    assert first.read_bytes() == second.read_bytes()


def test_untagged_pdf_would_be_caught(built_pdf, tmp_path):
    """The tagging checks can fail: strip the structure and pdfinfo says so."""
    broken = tmp_path / "untagged.pdf"
    with pikepdf.open(built_pdf) as pdf:
        del pdf.Root["/StructTreeRoot"]
        del pdf.Root["/MarkInfo"]
        del pdf.Root["/Lang"]
        pdf.save(broken)
    assert pdfinfo(broken)["Tagged"] == "no"


def _build_pdf(document, folder, cache_dir):
    from formatforge.formats import BuildContext, get_writer

    context = BuildContext(document=document, staging=folder, cache_dir=cache_dir)
    (name,) = get_writer("large-print-pdf").write(context)
    return folder / name


def test_libreoffice_profile_is_kept_in_the_cache_and_reused(tmp_path, every_construct):
    """A new LibreOffice profile costs about half a second a build, so the build cache keeps
    one; a reused profile gives the same bytes as a new private one."""
    cache = tmp_path / "cache"
    first = _build_pdf(every_construct, tmp_path / "one", cache)
    profile = cache / "libreoffice-profile"
    assert (profile / "user").is_dir()
    marker = profile / "user" / "formatforge-test-marker"
    marker.write_text("kept")
    second = _build_pdf(every_construct, tmp_path / "two", cache)
    assert marker.exists(), "the second build made a new profile instead of reusing the cached one"
    without_cache = _build_pdf(every_construct, tmp_path / "three", None)
    assert first.read_bytes() == second.read_bytes() == without_cache.read_bytes()


def test_broken_libreoffice_profile_is_replaced(tmp_path, every_construct):
    """A profile LibreOffice cannot start with (a killed build may leave one) does not fail
    the build: it converts with a private profile and removes the broken one."""
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "libreoffice-profile").write_text("not a LibreOffice profile")
    pdf = _build_pdf(every_construct, tmp_path / "out", cache)
    assert pdfinfo(pdf)["Tagged"] == "yes"
    assert not (cache / "libreoffice-profile").exists()


def test_profile_in_use_gives_a_private_profile(tmp_path, every_construct):
    """Two conversions never share a profile: while one holds it, another uses its own."""
    import fcntl

    cache = tmp_path / "cache"
    cache.mkdir()
    with open(cache / "libreoffice-profile.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        pdf = _build_pdf(every_construct, tmp_path / "out", cache)
    assert pdfinfo(pdf)["Tagged"] == "yes"
    assert not (cache / "libreoffice-profile").exists()


# ---------------------------------------------------------------- pages a print designer would pass


def page_texts(path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    return text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")


CONTENTS_LINE = re.compile(r"^\s*(?P<text>\S.*?)\s*\.{3,}\s*(?P<page>\d+)\s*$")


def _squash(text: str) -> str:
    return " ".join(text.split())


def contents_entries(pages: list[str]) -> list[tuple[str, int, int]]:
    """(entry text, page number it shows, index of the page it is on) for each contents line."""
    return [(_squash(m["text"]), int(m["page"]), index)
            for index, page in enumerate(pages) for line in page.splitlines()
            if (m := CONTENTS_LINE.match(line))]


def test_contents_shows_the_page_each_heading_is_on(built_pdf, document):
    """Every contents line ends with a page number, and pdftotext finds that heading on it."""
    pages = page_texts(built_pdf)
    entries = contents_entries(pages)
    headings = [_squash(model.inline_text(b.children)) for b in model.walk_blocks(document.blocks)
                if isinstance(b, model.Heading) and b.level <= 3]
    assert [text for text, _, _ in entries] == headings
    # the body, page by page, with the contents lines taken out
    bodies = ["\n".join(line for line in page.splitlines() if not CONTENTS_LINE.match(line)) for page in pages]
    searched_from = 0
    for text, number, _ in entries:
        found = next(index for index in range(searched_from, len(bodies)) if text in _squash(bodies[index]))
        assert number == found + 1, f"contents says {text!r} is on page {number}, it is on page {found + 1}"
        searched_from = found


def test_contents_check_can_fail(built_pdf):
    pages = page_texts(built_pdf)
    entries = contents_entries(pages)
    text, number, index = entries[-1]
    wrong = pages[index].replace(f"{number}\n", f"{number + 1}\n")
    assert contents_entries(pages[:index] + [wrong] + pages[index + 1:])[-1][1] == number + 1
    assert contents_entries(["Contents\nNo numbers here\n"]) == []


def test_keywords_are_kept_whole_in_info_and_xmp(built_pdf, document):
    keywords = list(document.metadata.keywords)
    joined = ", ".join(keywords)
    assert pdfinfo(built_pdf).get("Keywords", "") == joined
    with pikepdf.open(built_pdf) as pdf, pdf.open_metadata() as xmp:
        assert str(pdf.docinfo.get("/Keywords", "")) == joined
        assert xmp.get("pdf:Keywords", "") == joined
        assert sorted(xmp.get("dc:subject", set())) == sorted(keywords)


def test_strategy_keeps_its_multi_word_keyword(strategy, build_format):
    pdf = build_format("large-print-pdf", strategy)["strategy-large-print.pdf"]
    with pikepdf.open(pdf) as opened, opened.open_metadata() as xmp:
        assert "Co-Production Collective" in xmp["dc:subject"]
        assert "Co-Production Collective" in str(opened.docinfo["/Keywords"]).split(", ")


def horizontal_rules(path) -> list[tuple[int, float]]:
    """(page index, y from the top) of each horizontal line the pages stroke, once each."""
    rules = set()
    with pikepdf.open(path) as pdf:
        for index, page in enumerate(pdf.pages):
            height = float(page.mediabox[3])
            start = None
            for operands, operator in pikepdf.parse_content_stream(page):
                if str(operator) == "m":
                    start = [float(v) for v in operands]
                elif str(operator) == "l" and start is not None:
                    end = [float(v) for v in operands]
                    if (abs(end[1] - start[1]) < 0.1 and abs(end[0] - start[0]) > 36
                            and 0 < start[1] < height):
                        rules.add((index, round(height - start[1], 1)))
    return sorted(rules)


def text_lines(path) -> list[tuple[int, float, float, str]]:
    """(page index, top, bottom, text) of each line pdftotext finds."""
    xml = subprocess.run(["pdftotext", "-bbox-layout", str(path), "-"], check=True, capture_output=True,
                         text=True).stdout
    from lxml import etree

    root = etree.fromstring(xml.encode())
    ns = {"x": "http://www.w3.org/1999/xhtml"}
    lines = []
    for index, page in enumerate(root.iterfind(".//x:page", ns)):
        for line in page.iterfind(".//x:line", ns):
            words = " ".join(word.text for word in line.iterfind("x:word", ns))
            lines.append((index, float(line.get("yMin")), float(line.get("yMax")), words))
    return lines


def rules_between_quotes(path) -> list[tuple[str, str]]:
    """For each stroked rule: the line of text just before and just after it, in reading
    order, page numbers left out (a rule at the top of a page follows the one before's)."""
    lines = sorted((line for line in text_lines(path) if not line[3].isdigit()),
                   key=lambda line: (line[0], line[1]))
    found = []
    for page, y in horizontal_rules(path):
        before = [line for line in lines if (line[0], line[2]) <= (page, y)]
        after = [line for line in lines if (line[0], line[1]) >= (page, y)]
        if before and after:
            found.append((before[-1][3], after[0][3]))
    return found


def test_a_visible_rule_between_consecutive_quotes(strategy, build_format):
    """`---` between testimonials: LibreOffice draws one rule between each pair (a border on
    the next quote merged them into one rule for the lot)."""
    pdf = build_format("large-print-pdf", strategy)["strategy-large-print.pdf"]
    breaks = [b for b in model.walk_blocks(strategy.blocks) if isinstance(b, model.ThematicBreak)]
    between = [(before, after) for before, after in rules_between_quotes(pdf)
               if before.endswith("”") and after.startswith("“")]
    assert len(between) == len(breaks), rules_between_quotes(pdf)


def test_rule_check_can_fail(strategy, build_format, tmp_path):
    """Without the rules' stroke operators the check finds no rule at all."""
    pdf = build_format("large-print-pdf", strategy)["strategy-large-print.pdf"]
    broken = tmp_path / "no-rules.pdf"
    with pikepdf.open(pdf) as opened:
        for page in opened.pages:
            kept = [(operands, operator) for operands, operator in pikepdf.parse_content_stream(page)
                    if str(operator) != "l"]
            page.Contents = opened.make_stream(pikepdf.unparse_content_stream(kept))
        opened.save(broken)
    assert rules_between_quotes(broken) == []


def embedded_fonts(path) -> set[str]:
    out = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout
    return {line.split()[0].split("+", 1)[-1] for line in out.splitlines()[2:] if line.strip()}


def installed(family: str) -> bool:
    match = subprocess.run(["fc-match", "--format=%{family}", family], capture_output=True, text=True).stdout
    return family in match.split(",")


def test_readme_says_which_fonts_the_pdf_embeds_L3(built_pdf):
    """The README says the PDF uses Arial where it is installed and Liberation Sans, Arial's
    metric-compatible substitute, where it is not: the fonts embedded here bear that out."""
    from conftest import ROOT

    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "Arial where it is installed, otherwise Liberation Sans" in readme
    body_fonts = {font for font in embedded_fonts(built_pdf) if "Mono" not in font and "Courier" not in font}
    expected = "Arial" if installed("Arial") else "LiberationSans"
    assert body_fonts and all(font.startswith(expected) for font in body_fonts), body_fonts


def test_index_updating_export_that_writes_nothing_is_a_clear_error(tmp_path):
    """The Basic macro ends quietly when LibreOffice cannot open the file: no PDF, a plain error."""
    from formatforge.errors import WriterError
    from formatforge.shared.libreoffice import convert_with_libreoffice

    with pytest.raises(WriterError, match="LibreOffice could not convert missing.docx"):
        convert_with_libreoffice(tmp_path / "missing.docx", tmp_path / "out", profile_dir=tmp_path / "profile",
                                 update_indexes=True, timeout=120)


def test_contents_updated_once_when_its_pages_already_agree(tmp_path, every_construct):
    """Issue 21: LibreOffice updates the contents a second time only when, after once, an
    entry does not give the page its heading is on (checked against the headings' bookmarks,
    which the writer lists beside the source): the same PDF as two updates, a second (about
    1 s for 600 pages) saved. A list that does not match the contents means two updates."""
    from pathlib import Path

    from formatforge.formats.large_print_pdf import stamp_pdf
    from formatforge.shared.libreoffice import convert_with_libreoffice
    from formatforge.shared.word import contents_bookmarks, large_print_profile, write_docx

    style = large_print_profile(18.0)
    source = tmp_path / "doc.docx"
    write_docx(every_construct, style, source)
    headings = Path(f"{source}.headings")
    names = contents_bookmarks(every_construct, style)
    assert len(names) > 3

    def export(folder: str, listed: list[str] | None) -> tuple[bytes, str]:
        if listed is None:
            headings.unlink(missing_ok=True)
        else:
            headings.write_text("".join(f"{name}\n" for name in listed), encoding="ascii")
        pdf = convert_with_libreoffice(source, tmp_path / folder, profile_dir=tmp_path / "profile", update_indexes=True)
        stamp_pdf(pdf, tmp_path / f"{folder}.pdf", every_construct)
        return (tmp_path / f"{folder}.pdf").read_bytes(), pdf.with_name(pdf.name + ".passes").read_text().strip()

    twice, passes = export("unlisted", None)
    assert passes == "2"
    assert export("listed", names) == (twice, "1")
    assert export("reordered", names[::-1]) == (twice, "2")
    assert export("one-missing", names[:-1]) == (twice, "2")
