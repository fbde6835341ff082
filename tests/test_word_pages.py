"""Pages a print designer would pass, in both Word outputs: pictures inside the text area,
table rows kept whole (D2's header rows still repeat), thematic breaks as divider paragraphs."""

from __future__ import annotations

import zipfile

import pytest
from lxml import etree
from PIL import Image

from formatforge import model
from formatforge.checks.ooxml import NS, rewrite, w

WP = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}"
EMU_PER_TWIP = 635
WRITERS = {"docx": "{stem}.docx", "large-print": "{stem}-large-print.docx"}


@pytest.fixture(params=sorted(WRITERS))
def word_file(request, build_format, document):
    name = WRITERS[request.param].format(stem=document.stem)
    return build_format(request.param, document)[name]


def _body(path):
    return etree.fromstring(zipfile.ZipFile(path).read("word/document.xml")).find("w:body", NS)


def text_area(body) -> tuple[int, int]:
    """(width, height) in EMU between the margins of the (one) section."""
    sect = body.find("w:sectPr", NS)
    size, margins = sect.find("w:pgSz", NS), sect.find("w:pgMar", NS)
    width = int(size.get(w("w"))) - int(margins.get(w("left"))) - int(margins.get(w("right")))
    height = int(size.get(w("h"))) - int(margins.get(w("top"))) - int(margins.get(w("bottom")))
    return width * EMU_PER_TWIP, height * EMU_PER_TWIP


def picture_extents(path) -> list[tuple[str, int, int]]:
    """(image file name, cx, cy) of every inline picture."""
    body = _body(path)
    return [(inline.find(f"{WP}docPr").get("name"), int(inline.find(f"{WP}extent").get("cx")),
             int(inline.find(f"{WP}extent").get("cy"))) for inline in body.iter(f"{WP}inline")]


def test_pictures_fit_the_text_area_and_keep_their_shape(word_file, document):
    """journey-of-change.png, taller than the page, was 25.6 cm high in a 24.7 cm text area."""
    width, height = text_area(_body(word_file))
    extents = picture_extents(word_file)
    images = list(document.images())
    assert len(extents) == len(images) > 0
    for (name, cx, cy), image in zip(extents, images):
        assert cx <= width and cy <= height, (name, cx / 360000, cy / 360000, width / 360000, height / 360000)
        with Image.open(document.source_dir / image.src) as picture:
            pixels = picture.size
        assert cx / cy == pytest.approx(pixels[0] / pixels[1], rel=0.005), name


def test_tall_picture_leaves_room_for_its_heading(build_format, strategy):
    """The diagram's heading is kept with it: the picture must leave room for a heading line."""
    for writer, pattern in WRITERS.items():
        path = build_format(writer, strategy)[pattern.format(stem=strategy.stem)]
        _, height = text_area(_body(path))
        tallest = max(cy for _, _, cy in picture_extents(path))
        assert tallest < height * 0.95, writer


def test_picture_check_can_fail(build_format, strategy, tmp_path):
    path = build_format("docx", strategy)["strategy.docx"]

    def double_every_picture(root):
        for extent in root.iter(f"{WP}extent"):
            extent.set("cy", str(int(extent.get("cy")) * 2))

    broken = tmp_path / "broken.docx"
    broken.write_bytes(rewrite(path, "word/document.xml", double_every_picture))
    _, height = text_area(_body(broken))
    assert any(cy > height for _, _, cy in picture_extents(broken))


def rows(path):
    return list(_body(path).iter(w("tr")))


def test_table_rows_never_split_and_headers_repeat_D2(word_file):
    table_rows = rows(word_file)
    assert table_rows
    assert all(tr.find("w:trPr/w:cantSplit", NS) is not None for tr in table_rows)
    for table in _body(word_file).iter(w("tbl")):
        first = table.find("w:tr", NS)
        properties = first.find("w:trPr", NS)
        # schema order: cantSplit before tblHeader
        assert [etree.QName(child).localname for child in properties] == ["cantSplit", "tblHeader"]
        assert all(tr.find("w:trPr/w:tblHeader", NS) is None for tr in table.findall("w:tr", NS)[1:])


def test_row_check_can_fail(build_format, strategy, tmp_path):
    path = build_format("docx", strategy)["strategy.docx"]

    def let_rows_split(root):
        for node in list(root.iter(w("cantSplit")))[-1:]:
            node.getparent().remove(node)

    broken = tmp_path / "broken.docx"
    broken.write_bytes(rewrite(path, "word/document.xml", let_rows_split))
    assert not all(tr.find("w:trPr/w:cantSplit", NS) is not None for tr in rows(broken))


def dividers(path) -> list[tuple[str, str]]:
    """For each divider paragraph (a bordered paragraph with no text), the texts of the
    paragraphs before and after it."""
    paragraphs = [p for p in _body(path).iter(w("p")) if p.getparent().tag == w("body")]
    found = []
    for index, p in enumerate(paragraphs):
        if p.find("w:pPr/w:pBdr", NS) is not None:
            assert "".join(p.itertext()) == ""
            found.append(("".join(paragraphs[index - 1].itertext()), "".join(paragraphs[index + 1].itertext())))
    return found


def test_every_thematic_break_is_a_divider_paragraph_between_quotes(build_format, strategy):
    """`---` between testimonials: a paragraph of its own, never a border on the next quote
    (Word and LibreOffice merged those into one rule for three quotes)."""
    breaks = [b for b in model.walk_blocks(strategy.blocks) if isinstance(b, model.ThematicBreak)]
    assert len(breaks) >= 2
    for writer, pattern in WRITERS.items():
        path = build_format(writer, strategy)[pattern.format(stem=strategy.stem)]
        found = dividers(path)
        assert len(found) == len(breaks), writer
        for before, after in found:
            assert before.startswith("“") or before.endswith("”"), before
            assert after.startswith("“"), after
        quotes = [p for p in _body(path).iter(w("p"))
                  if p.find("w:pPr/w:pStyle[@w:val='Quote']", NS) is not None]
        assert all(p.find("w:pPr/w:pBdr", NS) is None for p in quotes), "a border on a quote merges"
