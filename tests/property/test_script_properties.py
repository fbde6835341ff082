"""Generated masters through the narration script (issue 9): the script covers all the
text, every word in reading order, with no synthesis needed.

The script is compared as written, before the pronunciation lexicon (which may respell
words), and again after the characters no voice can say are named: naming adds words
but must never take one away.
"""

from __future__ import annotations

from hypothesis import given

from formatforge import model
from formatforge.shared.speech.script import build_script, name_silent_characters

from .documents import markdown_document
# the same masters, read the same way, and the same number of them (FORMATFORGE_EXAMPLES)
from .test_writer_properties import EXAMPLES, read_generated


def missing_in_order(expected: list[str], found: list[str]) -> list[tuple[int, str]]:
    """The expected words that ``found`` does not hold in order (a subsequence test), with
    their positions: empty when every word is there."""
    missing, position = [], 0
    for index, word in enumerate(expected):
        try:
            position = found.index(word, position) + 1
        except ValueError:
            missing.append((index, word))
    return missing


def body_text(document: model.Document, transform=lambda text: text) -> str:
    script = build_script(document)
    # the opening announcement repeats the title and section names: leave it out
    return "\n".join(transform(s.text) for section in script.sections[1:] for s in section.sentences)


def test_the_checker_catches_a_lost_and_a_reordered_word():
    assert missing_in_order(["a", "b", "c"], ["x", "a", "y", "b", "c"]) == []
    assert missing_in_order(["a", "b", "c"], ["a", "c"]) == [(1, "b")]
    assert missing_in_order(["a", "b", "c"], ["a", "c", "b"]) == [(2, "c")]


@EXAMPLES
@given(markdown_document())
def test_the_narration_script_reads_every_word_in_order(tmp_path_factory, text):
    document = read_generated(tmp_path_factory.mktemp("script"), text)
    expected = model.words(model.document_text(document))
    assert missing_in_order(expected, model.words(body_text(document)))[:5] == []


@EXAMPLES
@given(markdown_document())
def test_naming_silent_characters_never_loses_a_word(tmp_path_factory, text):
    document = read_generated(tmp_path_factory.mktemp("script"), text)
    expected = model.words(model.document_text(document))
    # every character beyond ASCII counted as silent: the most naming there could be
    every_unusual = frozenset(char for char in model.document_text(document) if char > "\x7f")
    spoken = body_text(document, lambda sentence: name_silent_characters(sentence, every_unusual))
    assert missing_in_order(expected, model.words(spoken))[:5] == []
