"""Accessible single-page HTML (WCAG 2.2 AA): structure, text, and axe-core in headless chromium.

axe runs once per reference document per session, in the light and the dark colour scheme,
with the best-practice rules on; the same browser session checks what axe cannot see
(reflow at 320 CSS px, text spacing, visible focus).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import lxml.html
import pytest

from conftest import EVERY_CONSTRUCT, STRATEGY, write_format
from formatforge import model
from formatforge.formats import get_writer
from formatforge.model import Document, Image, Paragraph, Text
from formatforge.reader import read_source
from formatforge.validate import run_axe_and_layout
from formatforge.shared.xhtml import reading_text

SOURCES = {"every-construct": EVERY_CONSTRUCT, "strategy": STRATEGY}


def build_html(doc: Document, folder: Path) -> Path:
    return write_format("html", doc, folder)[f"{doc.stem}.html"]


@pytest.fixture(scope="module", params=list(SOURCES))
def built(request, tmp_path_factory) -> tuple[Document, Path]:
    doc = read_source(SOURCES[request.param]).document
    return doc, build_html(doc, tmp_path_factory.mktemp(f"html-{request.param}"))


@pytest.fixture(scope="module")
def browser_results(built):
    return run_axe_and_layout(built[1])


def parse(path: Path):
    return lxml.html.fromstring(path.read_bytes())


# ---------------------------------------------------------------- axe and the browser


@pytest.mark.slow
def test_axe_reports_no_violations_in_light_and_dark(browser_results):
    """axe-core (WCAG 2.2 AA + best-practice: heading-order, landmark-one-main, region, …): 0 violations."""
    axe, _ = browser_results
    assert axe.ran, axe.summary()
    assert axe.errors == 0, [m for m in axe.messages if m.severity == "error"]


@pytest.mark.slow
def test_reflows_at_320px_keeps_focus_visible_and_survives_text_spacing(browser_results):
    """What axe cannot see: reflow at 320 CSS px, WCAG 1.4.12 text spacing, a visible focus ring."""
    _, layout = browser_results
    assert layout.ran, layout.summary()
    assert layout.messages == []


@pytest.mark.slow
def test_the_checks_catch_a_broken_page(every_construct, tmp_path):
    """The checkers can fail: missing alt, poor contrast in the dark scheme only, a fixed-width
    block, and a removed focus ring are each reported."""
    blocks = tuple(replace(b, alt="") if isinstance(b, Image) else b for b in every_construct.blocks)
    page = build_html(replace(every_construct, blocks=blocks), tmp_path).read_text(encoding="utf-8")
    breakage = (
        "@media (prefers-color-scheme: dark) { p { color: #333 !important; } }"
        " main { min-width: 50rem; } :focus-visible, :focus { outline: none !important; }"
    )
    broken = tmp_path / "broken.html"
    broken.write_text(page.replace("</style>", breakage + "</style>"), encoding="utf-8")
    axe, layout = run_axe_and_layout(broken)
    assert "image-alt" in axe.codes()
    contrast = [m for m in axe.messages if m.code == "color-contrast" and m.severity == "error"]
    assert contrast and all("dark scheme" in m.text for m in contrast)
    assert {"reflow-320", "text-spacing", "focus-visible"} <= set(layout.codes())


# ---------------------------------------------------------------- the page itself


def test_language_title_viewport_and_colour_schemes(built):
    """html-has-lang, document-title, meta-viewport (zoom never locked), light and dark schemes."""
    doc, path = built
    root = parse(path)
    assert root.get("lang") == doc.metadata.language
    assert root.findtext(".//title").startswith(doc.metadata.title)
    [viewport] = root.xpath("//meta[@name='viewport']")
    content = viewport.get("content")
    assert "user-scalable" not in content and "maximum-scale" not in content
    css = root.findtext(".//style")
    assert "prefers-color-scheme: dark" in css and "color-scheme: light dark" in css
    assert ":focus-visible" in css
    assert not re.search(r"\d(px|pt)\b", css), "the page stylesheet uses relative units"


def test_skip_link_first_then_contents_nav_then_main(built):
    """bypass, landmark-one-main: the first link skips to main; a contents nav lists the headings."""
    doc, path = built
    root = parse(path)
    body = root.find("body")
    first = body[0]
    assert first.tag == "a" and first.get("href") == "#main"
    [main] = root.xpath("//main")
    assert main.get("id") == "main"
    [nav] = root.xpath("//nav")
    assert nav.getparent().tag != "body" or not root.xpath("//h1"), "the contents come after the title"
    targets = [a.get("href") for a in nav.iter("a")]
    heading_ids = {f"#{b.id}" for b in model.walk_blocks(doc.blocks) if isinstance(b, model.Heading)}
    assert targets and set(targets) <= heading_ids
    assert all(root.get_element_by_id(t[1:]) is not None for t in targets)


def test_headings_in_order_and_one_h1(built):
    """page-has-heading-one, heading-order."""
    _, path = built
    levels = [int(h.tag[1]) for h in parse(path).iter("h1", "h2", "h3", "h4", "h5", "h6")]
    assert levels.count(1) == 1 and levels[0] == 1
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:]))


def test_images_are_embedded_with_alt_text(built):
    """image-alt; the page is self-contained (images as data URIs)."""
    doc, path = built
    images = list(parse(path).iter("img"))
    assert [i.get("alt") for i in images] == [("" if i.decorative else i.alt) for i in doc.images()]
    assert all(i.get("src").startswith("data:image/") for i in images)


def without_page_furniture(main):
    """main without what the page adds around the source's words: the contents and the
    subtitle (from the front matter)."""
    for added in main.xpath(".//nav[@class='contents'] | .//p[@class='subtitle']"):
        added.drop_tree()
    return main


def test_text_in_the_page_equals_the_model_in_order(built):
    """Nothing is lost: the words of main are the model's words, in order."""
    doc, path = built
    [main] = parse(path).xpath("//main")
    body, notes = reading_text(without_page_furniture(main))
    assert model.words(body + "\n" + notes) == model.words(model.document_text(doc))


def test_source_text_is_escaped(every_construct, tmp_path):
    nasty = "<script>alert(1)</script> & <img src=x onerror=alert(2)>"
    doc = replace(every_construct, blocks=every_construct.blocks + (Paragraph((Text(nasty),)),))
    root = parse(build_html(doc, tmp_path))
    assert not root.xpath("//script") and not root.xpath("//img[@onerror]")
    assert nasty in root.text_content()


def test_rebuild_is_byte_identical(every_construct, tmp_path):
    assert build_html(every_construct, tmp_path / "a").read_bytes() == build_html(every_construct, tmp_path / "b").read_bytes()


def test_output_names(every_construct):
    assert get_writer("html").output_names(every_construct, {}) == ["every-construct.html"]


# ---------------------------------------------------------------- page furniture and tables


def test_title_then_subtitle_then_a_contents_with_a_visible_heading(built):
    """The reader meets the title, the subtitle under it, then the contents under a visible
    heading that names the nav (it came before the title, labelled for screen readers only)."""
    doc, path = built
    root = parse(path)
    [nav] = root.xpath("//nav")
    [h1] = root.xpath("//h1")
    heading = nav[0]
    assert heading.tag == "h2" and heading.text_content() == "Contents"
    assert nav.get("aria-labelledby") == heading.get("id")
    in_order = [el for el in root.iter() if el in (h1, nav)]
    assert in_order == [h1, nav]
    subtitles = root.xpath("//hgroup/p[@class='subtitle']")
    if doc.metadata.subtitle:
        assert [p.text_content() for p in subtitles] == [doc.metadata.subtitle]
        assert subtitles[0].getparent() is h1.getparent()
    else:
        assert subtitles == []


def test_every_table_scrolls_in_a_focusable_labelled_region(built):
    """WCAG 1.4.10's exception for data tables: a wide table scrolls inside a region a
    keyboard can reach, with a name of its own (never its section's, landmark-unique)."""
    _, path = built
    root = parse(path)
    tables = root.xpath("//table")
    assert tables
    names = set(root.xpath("//section/@aria-labelledby"))
    for table in tables:
        region = table.getparent()
        assert region.get("class") == "table-scroll" and region.get("role") == "region"
        assert region.get("tabindex") == "0"
        label = region.get("aria-label") or region.get("aria-labelledby")
        assert label and label not in names
    css = root.findtext(".//style")
    assert "overflow-wrap: anywhere; }" not in css.split("th, td")[-1].split("}")[0]


WORD_SPLITS = r"""
const puppeteer = require('puppeteer-core');
const url = require('url');
const [file, executablePath, flagsJson, widthsJson] = process.argv.slice(1);
(async () => {
  const browser = await puppeteer.launch({ executablePath, headless: true, args: JSON.parse(flagsJson) });
  const out = {};
  try {
    const page = await browser.newPage();
    for (const width of JSON.parse(widthsJson)) {
      await page.setViewport({ width, height: 800 });
      await page.goto(url.pathToFileURL(file).href, { waitUntil: 'load' });
      out[width] = await page.evaluate(() => {
        // A word is split when its letters are drawn on more than one line: one client rect
        // per line box its range covers. Breaks after a hyphen are where words may break.
        const split = [];
        for (const cell of document.querySelectorAll('td, th')) {
          const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const pattern = /[^\s\-‐‑]+/g;
            let match;
            while ((match = pattern.exec(node.data))) {
              const range = document.createRange();
              range.setStart(node, match.index);
              range.setEnd(node, match.index + match[0].length);
              const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
              if (tops.size > 1) split.push(match[0]);
            }
          }
        }
        return split;
      });
    }
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
"""


def words_split_in_cells(path: Path, widths=(320, 1280)) -> dict[str, list[str]]:
    """Words drawn across two lines inside table cells, measured in headless Chromium."""
    import json
    import os
    import shutil
    import subprocess

    from formatforge.validate import CHROMIUM_FLAGS, axe_modules, chromium_path

    modules, browser, node = axe_modules(), chromium_path(), shutil.which("node")
    if modules is None or browser is None or node is None:
        pytest.skip("needs node, puppeteer-core (.tools/axe) and chromium")
    completed = subprocess.run(
        [node, "-e", WORD_SPLITS, str(path.resolve()), browser, json.dumps(CHROMIUM_FLAGS), json.dumps(list(widths))],
        capture_output=True, text=True, env=dict(os.environ, NODE_PATH=str(modules)), timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr[-800:]
    return json.loads(completed.stdout)


@pytest.mark.slow
def test_no_word_in_a_table_cell_is_split_at_320_or_1280_px(built):
    """"Word documen/t" at 1280 px, "For/mat" and "Brai/lle" at 320 px came from
    overflow-wrap: anywhere on the cells."""
    _, path = built
    assert words_split_in_cells(path) == {"320": [], "1280": []}


@pytest.mark.slow
def test_split_word_measure_can_fail(strategy, tmp_path):
    page = build_html(strategy, tmp_path).read_text(encoding="utf-8")
    broken = tmp_path / "broken.html"
    broken.write_text(page.replace("</style>", "th, td { overflow-wrap: anywhere; } .table-scroll > table"
                                   " { width: 100%; table-layout: fixed; }</style>"), encoding="utf-8")
    assert words_split_in_cells(broken, (320,))["320"]
