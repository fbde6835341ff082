"""Issue 13: a handbook written GitHub-style reads into the model GitHub means."""

from __future__ import annotations

import dataclasses

from formatforge.model import document_text
from formatforge.reader import read_source
from new_constructs import FIXTURE, new_constructs_document


def without_lines(node):
    """The structure alone: every ``line`` set to 0 (the hand-built model has few lines)."""
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        values = {f.name: without_lines(getattr(node, f.name)) for f in dataclasses.fields(node)}
        if "line" in values:
            values["line"] = 0
        return type(node)(**values)
    if isinstance(node, tuple):
        return tuple(without_lines(item) for item in node)
    return node


def test_the_fixture_reads_into_exactly_the_hand_built_model():
    # nested lists by 2 and 3 spaces, two separate quotations, task states, alert and MyST
    # admonitions, the {ref} link to #claiming-expenses, strikethrough, autolinks,
    # backslash break and a definition list
    result = read_source(FIXTURE)
    assert result.diagnostics == []
    got = without_lines(result.document.blocks)
    want = without_lines(new_constructs_document().blocks)
    assert len(got) == len(want)
    for index, (block, expected) in enumerate(zip(got, want)):
        assert block == expected, f"block {index}"
    assert result.document.metadata == new_constructs_document().metadata


def test_the_editors_comment_reaches_no_reader():
    text = document_text(read_source(FIXTURE).document)
    assert "EDITOR" not in text and "check the dates" not in text


def test_a_label_line_never_shifts_a_line():
    blocks = read_source(FIXTURE).document.blocks
    assert [(type(b).__name__, b.line) for b in blocks[:4]] == [
        ("Heading", 9), ("Heading", 14), ("Paragraph", 16), ("ListBlock", 18)
    ]
