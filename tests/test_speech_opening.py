"""The opening announcement and the book's end (issue 14 point 7; A1). No speech here."""

from __future__ import annotations

from formatforge.shared.speech.engines import VoiceSettings, voice_in_words
from formatforge.shared.speech.script import build_script


def opening_texts(document, voice: str = "") -> list[str]:
    return [s.text for s in build_script(document, total_seconds=780, voice=voice).sections[0].sentences]


def test_a1_the_opening_says_the_voice_is_synthetic_once_and_names_it(strategy):
    voice = voice_in_words(VoiceSettings(engine="espeak", voice="en-gb"))
    spoken = opening_texts(strategy, voice)
    synthetic = [text for text in spoken if "synthetic" in text]
    assert synthetic == ["It is read by a synthetic voice: espeak N G, speaking British English."]


def test_a1_the_opening_says_the_title_once_then_publisher_length_and_sections(strategy):
    title = strategy.metadata.title
    spoken = opening_texts(strategy)
    assert spoken[0] == title + "."
    assert sum(text.count(title) for text in spoken) == 1
    publisher = next(i for i, text in enumerate(spoken) if text.startswith("Published by Co-Production Collective"))
    length = next(i for i, text in enumerate(spoken) if text == "This recording has 6 sections and lasts about 13 minutes.")
    sections = next(i for i, text in enumerate(spoken) if text.startswith("The sections are: the introduction; About;"))
    assert 0 < publisher < length < sections


def test_a1_the_title_is_heard_at_most_three_times_before_the_body_s_second_paragraph(strategy):
    # Once in the opening, once as the first heading (A2), once in the author's first sentence.
    script = build_script(strategy, total_seconds=780)
    heard = [s.text for s in script.sections[0].sentences] + [s.text for s in script.sections[1].sentences[:2]]
    assert sum(text.count(strategy.metadata.title) for text in heard) == 3


def test_the_book_ends_with_end_of_its_title(strategy, every_construct):
    for document in (strategy, every_construct):
        last = build_script(document).sections[-1].sentences[-1]
        assert last.text == f"End of {document.metadata.title}."
        assert last.kind == "announcement"
        assert sum(s.text.startswith("End of ") for section in build_script(document).sections
                   for s in section.sentences if s.kind == "announcement") == 1
