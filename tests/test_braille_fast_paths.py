"""The braille writer's fast paths change no cell: the str.translate mappings, the check of
each distinct character once, and the cache of translations give exactly the braille of
the plain, character-by-character way (house rule: outputs are reproducible; B2 BRF
mapping; B9 transcriber's notes for what liblouis cannot write).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from formatforge.formats.braille import brf, make_book, rows
from formatforge.formats.braille import translate as translate_module
from formatforge.formats.braille.translate import BLANK, TN_OPEN, Run, Translator, six_dot
from formatforge.reader import read_source

NORTH_AMERICAN_BRAILLE_ASCII = " A1B'K2L@CIF/MSP\"E3H9O6R^DJG>NTQ,*5<-U8V.%[$+X!&;:4\\0Z7(_?W]#Y)="
# Every character up to U+3000 and a few beyond: braille, ASCII, controls, other scripts.
ALL_KINDS_OF_CHARACTERS = "".join(map(chr, range(0x3000))) + "\U0001F600\U000E0001\U0010FFFF"


def test_b2_six_dot_and_brf_mappings_match_the_cell_arithmetic():
    """B2: the str.translate tables give what the per-character arithmetic gives, for
    every cell (dots 7 and 8 dropped) and for anything else a caller might pass."""
    expected_six_dot = "".join(
        chr(0x2800 + ((ord(c) - 0x2800) & 0x3F)) if "\u2800" <= c <= "\u28ff" else BLANK for c in ALL_KINDS_OF_CHARACTERS
    )
    expected_brf = "".join(NORTH_AMERICAN_BRAILLE_ASCII[(ord(c) - 0x2800) & 0x3F] for c in ALL_KINDS_OF_CHARACTERS)
    assert six_dot(ALL_KINDS_OF_CHARACTERS) == expected_six_dot
    assert brf.cells_to_brf(ALL_KINDS_OF_CHARACTERS) == expected_brf
    assert six_dot("") == "" and brf.cells_to_brf("") == ""


def test_b9_a_character_seen_in_plain_text_still_gets_its_note_later():
    """The characters liblouis writes are remembered per translator; one it cannot write
    is never remembered as plain, however much plain text came before it."""
    translator = Translator(["en-ueb-g2.ctb"])
    assert TN_OPEN not in translator.text("plain words first")
    assert TN_OPEN in translator.text("then an emoji 😀 in plain words")
    assert TN_OPEN in translator.text("and again 😀")


def test_emphasis_runs_are_kept_apart_from_plain_ones_in_the_cache():
    """The cache of translations is keyed by typeform too: the same words in italics get
    the italic indicators, and the plain words do not, in either order."""
    words = "the same words"
    plain, italic = Run.plain(words), Run(words, (translate_module.louis.italic,) * len(words))
    translator = Translator(["en-ueb-g2.ctb"])
    first, second = translator.translate(plain), translator.translate(italic)
    assert first != second
    assert second == Translator(["en-ueb-g2.ctb"]).translate(italic)
    assert translator.translate(plain) == first
    assert Translator(["en-ueb-g2.ctb"]).translate(italic) == Translator(["en-ueb-g2.ctb"]).translate(italic)


@pytest.fixture(scope="module")
def every_construct_and_unusual_characters(tmp_path_factory):
    """Every construct, then a paragraph of what liblouis cannot write and of characters
    with nothing to read, between words it can, some of them emphasised."""
    source = Path(__file__).parent / "fixtures" / "every-construct.md"
    extra = (
        "\n\nA *cafe\u0301* sign: \u2019quoted\u2019 \u2014 \U0001F600 and \u4e2d\u6587 then "
        "\u041f\u0440\u0438\u0432\u0435\u0442, soft\u00adhyphen, zero\u200bwidth, "
        "\U0001F469\u200d\U0001F4BB **\u2665\ufe0f** \U0001F1EC\U0001F1E7 end.\n"
    )
    path = tmp_path_factory.mktemp("unusual") / "unusual.md"
    path.write_text(source.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return read_source(path).document


def one_run_at_a_time(monkeypatch) -> None:
    """Every run through the per-character checks, every translation straight from liblouis."""
    monkeypatch.setattr(Translator, "_all_plain", lambda self, text: False)
    monkeypatch.setattr(Translator, "_louis", lambda self, text, typeform, uncontracted: (
        "" if not text.strip() else self._liblouis((text, typeform if any(typeform) else None, uncontracted))))


def test_book_is_the_same_without_the_fast_paths(every_construct_and_unusual_characters, monkeypatch):
    """The careful path with no cache gives the same book, row for row, as the fast paths."""
    document = every_construct_and_unusual_characters
    fast = rows(make_book(document, {}).pages)
    assert any(TN_OPEN in row for page in fast for row in page)
    one_run_at_a_time(monkeypatch)
    assert rows(make_book(document, {}).pages) == fast


def test_the_comparison_catches_a_fast_path_that_skips_a_note(every_construct_and_unusual_characters, monkeypatch):
    """The check above can fail: a fast path that took every character as plain (and so
    let liblouis write its escapes) is seen."""
    document = every_construct_and_unusual_characters
    one_run_at_a_time(monkeypatch)
    careful = rows(make_book(document, {}).pages)
    monkeypatch.setattr(Translator, "_all_plain", lambda self, text: True)
    assert rows(make_book(document, {}).pages) != careful


def test_a_second_book_in_the_same_process_asks_liblouis_nothing_it_asked_before(every_construct_and_unusual_characters,
                                                                                  monkeypatch):
    """Issue 21 point 4: watch builds the braille again after every edit; the translations of
    the paragraphs an edit left alone are kept for the process (by table list), so only the
    edited text goes to liblouis, and the book is the same as before."""
    document = every_construct_and_unusual_characters
    first = rows(make_book(document, {}).pages)
    asked: list[str] = []
    real = translate_module.louis.translateString
    monkeypatch.setattr(translate_module.louis, "translateString",
                        lambda tables, text, **options: asked.append(text) or real(tables, text, **options))
    assert rows(make_book(document, {}).pages) == first
    assert asked == []
    translate_module._CELLS.clear()
    assert rows(make_book(document, {}).pages) == first
    assert asked  # the count above can fail: without the kept translations liblouis is asked again
