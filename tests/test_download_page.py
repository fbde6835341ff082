"""outputs/index.html: axe-clean in headless Chromium, keyboard usable, every link resolves."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pytest
from lxml import html

from formatforge.build import build
from formatforge.validate import run_axe_and_layout

from conftest import STRATEGY


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("outputs")
    report = build(STRATEGY, out, ["docx", "epub", "html", "braille"])
    assert report.ok, [r.message for r in report.results]
    return out


def test_every_link_resolves_inside_the_folder(built):
    page = html.parse(str(built / "index.html")).getroot()
    links = [a.get("href") for a in page.iter("a")]
    files = [href for href in links if not href.startswith("#")]
    assert {"strategy.docx", "strategy.epub", "strategy.html", "strategy.brf", "strategy.pef"} <= set(files)
    for href in files:
        assert not href.startswith(("/", "http")), "links are relative to the folder"
        assert (built / unquote(href)).is_file(), href
    for href in links:
        if href.startswith("#"):
            assert page.get_element_by_id(href[1:]) is not None


def test_each_format_says_who_it_suits_its_size_and_language(built):
    text = " ".join(html.parse(str(built / "index.html")).getroot().text_content().split())
    assert "screen reader" in text and "braille" in text.casefold()
    assert "English (United Kingdom)" in text and "31 October 2023" in text and " KB" in text
    assert "en-GB" not in text and "2023-10-31" not in text  # issue 17 point 6: as people write them


def test_download_page_passes_axe_and_the_keyboard_checks(built):
    axe, layout = run_axe_and_layout(built / "index.html")
    assert axe.ran and layout.ran
    assert axe.errors == 0, [str(m) for m in axe.messages if m.severity == "error"]
    assert layout.errors == 0, [str(m) for m in layout.messages if m.severity == "error"]


def test_the_page_is_reproducible(built, tmp_path):
    build(STRATEGY, tmp_path, ["docx", "epub", "html", "braille"])
    assert (tmp_path / "index.html").read_bytes() == (built / "index.html").read_bytes()
