"""Text normalisation for speech (issue 14 point 4), through the narration script: what
each sentence gives the engine. No speech is synthesised here."""

from __future__ import annotations

from pathlib import Path

import pytest

from formatforge.model import Document, Heading, Metadata, Paragraph, Table, TableCell, Text
from formatforge.shared.speech.lexicon import Lexicon, lexicon_for
from formatforge.shared.speech.spoken import SpokenForm, spoken_text
from formatforge.shared.speech.normalise import normalise, year_words
from formatforge.shared.speech.script import build_script

ROOT = Path(__file__).resolve().parent.parent


def document(*blocks, language: str = "en-GB") -> Document:
    meta = Metadata(title="Small Book", language=language, author="A Writer", publisher="A Publisher")
    return Document(meta, (Heading(1, (Text("Small Book"),), "small-book"), Heading(2, (Text("First"),), "first"),
                           *blocks))


NO_LEXICON = Lexicon()


def spoken(*blocks, language: str = "en-GB", lexicon: Lexicon = NO_LEXICON) -> list[str]:
    """What the engine is given for each sentence of the section "First"."""
    doc = document(*blocks, language=language)
    section = next(s for s in build_script(doc).sections if s.title == "First")
    form = SpokenForm(lexicon, language)
    return [spoken_text(s.text, form) for s in section.sentences[1:] if s.kind != "announcement"]


def said(text: str, language: str = "en-GB") -> str:
    (sentence,) = spoken(Paragraph((Text(text),)), language=language)
    return sentence


@pytest.mark.parametrize("written, expected", [
    ("Our Direction 2023-2028.", "Our Direction twenty twenty-three to twenty twenty-eight."),
    ("Our Direction 2023–2028.", "Our Direction twenty twenty-three to twenty twenty-eight."),
    ("Our Direction 2020-22.", "Our Direction twenty twenty to twenty twenty-two."),
    ("Ages 18–25 and pages 10-20.", "Ages 18 to 25 and pages 10 to 20."),
    ("Call 020-7946-0000.", "Call 020-7946-0000."),  # not a range
])
def test_number_and_year_ranges_are_read_with_to(written, expected):
    assert said(written) == expected


@pytest.mark.parametrize("written, expected", [
    ("We began in 2023.", "We began in twenty twenty-three."),
    ("We began in 2005.", "We began in two thousand and five."),
    ("It was 1999.", "It was nineteen ninety-nine."),
    ("It was 1905.", "It was nineteen oh five."),
    ("It was 1900.", "It was nineteen hundred."),
    ("There were 2,023 people.", "There were 2,023 people."),  # a count, not a year
    ("It rose 2023% in a year.", "It rose 2023% in a year."),
])
def test_years_are_read_as_people_say_them(written, expected):
    assert said(written) == expected


def test_year_words_cover_each_century_shape():
    assert [year_words(y) for y in (2000, 2010, 2100, 1066)] == [
        "two thousand", "twenty ten", "twenty-one hundred", "ten sixty-six"]


@pytest.mark.parametrize("written, expected", [
    ("It cost £182,000 a year.", "It cost 182,000 pounds a year."),
    ("A £1 coin.", "A 1 pound coin."),
    ("Tea is £1.50 a cup.", "Tea is 1 pound 50 a cup."),
    ("A £2m fund.", "A 2 million pounds fund."),
    ("It cost $300.", "It cost 300 dollars."),
])
def test_currency_is_read_after_the_amount(written, expected):
    assert said(written) == expected


def test_a_currency_column_is_read_in_pounds_not_pound_and_the_number():
    table = Table((TableCell((Text("Item"),)), TableCell((Text("Cost (£)"),))),
                  ((TableCell((Text("Staff"),)), TableCell((Text("182,000"),))),))
    row = spoken(table)[2]
    assert row == "Row 1. Item: Staff; Cost in pounds: 182,000."
    assert "pound 182" not in row and "£" not in row


@pytest.mark.parametrize("written, expected", [
    ("Learning from/with the Collective.", "Learning from or with the Collective."),
    ("Carers and/or family.", "Carers and or family."),
    ("People with learnt/professional expertise.", "People with learnt or professional expertise."),
    ("See www.example.org/news/today for more.", "See www.example.org/news/today for more."),
])
def test_slashes_between_words_are_not_read_as_slash(written, expected):
    assert said(written) == expected


@pytest.mark.parametrize("written, language, expected", [
    ("We met on 01/04/2024.", "en-GB", "We met on 1 April twenty twenty-four."),
    ("We met on 04/01/2024.", "en-US", "We met on April 1, twenty twenty-four."),
    ("Published 2023-10-31.", "en-GB", "Published 31 October twenty twenty-three."),
    ("Version 13/13/2024.", "en-GB", "Version 13/13/2024."),  # no such date: left alone
])
def test_dates_are_read_in_the_language_s_order(written, language, expected):
    assert said(written, language) == expected


@pytest.mark.parametrize("written, expected", [
    ("Word (.docx) and PDF.", "Word (dot docx) and PDF."),
    ("Open report.pdf now.", "Open report dot pdf now."),
    ("Fruit, e.g. apples.", "Fruit, for example apples."),
    ("One fruit, i.e. an apple.", "One fruit, that is an apple."),
    ("Apples, pears, etc.", "Apples, pears, et cetera."),
])
def test_file_extensions_and_abbreviations_are_read_as_words(written, expected):
    assert said(written) == expected


def test_table_cells_ending_in_a_full_stop_give_no_doubled_stop():
    table = Table((TableCell((Text("Format"),)), TableCell((Text("Use"),))),
                  ((TableCell((Text("Word"),)), TableCell((Text("For screen readers."),))),))
    row = spoken(table)[2]
    assert row == "Row 1. Format: Word; Use: For screen readers."
    assert ".." not in row


def test_an_ellipsis_is_kept():
    assert said("Wait... then go.") == "Wait... then go."


def test_other_languages_only_lose_doubled_stops():
    assert normalise("Le plan 2023-2028 coûte £5..", "fr") == "Le plan 2023-2028 coûte £5."


def test_the_author_s_lexicon_comes_before_normalisation(tmp_path):
    lexicon_file = tmp_path / "pronunciation.toml"
    lexicon_file.write_text('[say]\n"2023-2028" = "the years twenty-three to twenty-eight"\n"[[x]]" = "y"\n'
                            '"COVID" = "[[k\'oUvId]]"\n', encoding="utf-8")
    lexicon = lexicon_for(tmp_path)
    result = spoken(Paragraph((Text("Our plan 2023-2028 after COVID in 2020."),)), lexicon=lexicon)
    assert result == ["Our plan the years twenty-three to twenty-eight after [[k'oUvId]] in twenty twenty."]


def test_the_strategy_is_read_without_slash_pound_sign_or_doubled_stops(strategy):
    doc = strategy
    form = SpokenForm(lexicon_for(doc.source_dir), doc.metadata.language)
    everything = [spoken_text(s.text, form) for section in build_script(doc).sections for s in section.sentences]
    joined = "\n".join(everything)
    assert "/" not in joined.replace("https://", "")
    assert "£" not in joined and ".." not in joined.replace("...", "")
    assert "2023-2028" not in joined and "twenty twenty-three to twenty twenty-eight" in joined
