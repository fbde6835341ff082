"""Generated masters: the reader and the source checks never crash, and no text is lost."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import yaml

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formatforge.errors import SourceError, SourceProblems
from formatforge.source_rules import check
from formatforge.model import document_text, words
from formatforge.reader import read_source, read_text

from .documents import alias_laden_front_matter, json_like, markdown_document, with_control_characters

FIXTURE_IMAGE = Path(__file__).resolve().parent.parent / "fixtures" / "images" / "arrow.png"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markdown_document())
def test_generated_masters_read_cleanly(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("doc")
    (folder / "images").mkdir()
    shutil.copy(FIXTURE_IMAGE, folder / "images" / "pic.png")
    path = folder / "doc.md"
    path.write_text(text, encoding="utf-8")
    result = read_source(path)
    errors = [d for d in check(result) if d.severity == "error"]
    assert errors == [], [str(d) for d in errors]
    model_words = words(document_text(result.document))
    body = text.split("---\n", 2)[2]
    assert set(model_words) <= set(words(body)), "the model invents no words"
    if words(body):  # a body of symbols alone ("♿") has no words to keep
        assert model_words, "a document with words has text in the model"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_either_reads_or_gives_a_source_error(text):
    try:
        result = read_text(text, Path("any.md"))
    except SourceError as exc:
        assert exc.line is None or exc.line >= 1
        return
    check(result)


# ---------------------------------------------------------------- hostile input (issue 18)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(with_control_characters())
def test_issue_18_point_5_every_control_character_is_reported_s4_with_its_line(tmp_path_factory, generated):
    """Issue 18 point 5: each control character, wherever it is, is one S4 error on its line,
    and nothing is parsed (so no writer can see it)."""
    text, expected = generated
    path = tmp_path_factory.mktemp("doc") / "doc.md"
    path.write_text(text, encoding="utf-8")
    try:
        read_source(path)
    except SourceProblems as problems:
        found = [(d.rule, d.line, d.message) for d in problems.diagnostics]
    else:
        raise AssertionError("a master with control characters was read")
    assert [(rule, line) for rule, line, _ in found] == [("S4", line) for line, _ in expected]
    for (_, _, message), (_, char) in zip(found, expected):
        assert f"U+{ord(char):04X}" in message


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(alias_laden_front_matter())
def test_issue_18_point_7_front_matter_with_anchors_or_aliases_is_refused_quickly(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("doc") / "doc.md"
    path.write_text(text, encoding="utf-8")
    began = time.perf_counter()
    try:
        read_source(path)
    except SourceError as refused:
        assert "anchor or alias" in refused.message, refused.message
        assert 2 <= refused.line <= text.split("\n").index("---", 1)
    else:
        raise AssertionError("front matter with anchors was read")
    assert time.perf_counter() - began < 1


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["title", "language", "date", "keywords", "author", "cover", "identifier", "other"]), json_like)
def test_issue_18_point_6_any_front_matter_value_reads_or_is_one_source_error(key, value):
    """Issue 18 point 6: a value of any type or shape in any key reads, or is refused with a
    SourceError that has a line; never another exception."""
    front = yaml.safe_dump({key: value}, default_flow_style=True, allow_unicode=True).strip()
    text = f"---\n{front}\n---\n\n# Title\n"
    try:
        result = read_text(text, Path("any.md"))
    except SourceError as exc:
        assert exc.line is not None and exc.line >= 1
        return
    check(result)


def nested(kind: str, depth: int) -> str:
    """``depth`` levels of one kind of nesting around the word "core"."""
    if kind == "list":
        return "".join("  " * level + "- item\n" for level in range(depth)) + "  " * depth + "- core\n"
    if kind == "quote":
        return "> " * depth + "core\n"
    if kind == "emphasis":
        return "*" * depth + "core" + "*" * depth + "\n"
    return "".join("  " * level + "1. item\n" for level in range(depth)) + "  " * depth + "1. core\n"


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["list", "quote", "emphasis", "numbered"]), st.integers(1, 3000)),
                min_size=1, max_size=3))
def test_issue_18_point_6_any_nesting_reads_or_is_one_clear_error_quickly(parts):
    """Issue 18 points 6 and 7: nesting of any kind and depth, mixed, never raises
    (RecursionError was the fault), takes bounded time, and past the limit gives one M11
    error with a line inside the file; within it, no M11."""
    import time

    from formatforge.reader import MAX_NESTING

    body = "\n".join(nested(kind, depth) for kind, depth in parts)
    text = "---\ntitle: T\nlanguage: en-GB\n---\n\n# Title\n\n" + body + "\nAfter.\n"
    started = time.perf_counter()
    result = read_text(text, Path("deep.md"))
    assert time.perf_counter() - started < 10
    deep = [d for d in result.diagnostics if d.rule == "M11"]
    too_deep = any(depth >= MAX_NESTING - 1 for _, depth in parts)
    if not too_deep:
        # within the limit every word is read
        assert deep == [] and "After" in document_text(result.document)
    if any(depth > MAX_NESTING + 1 for _, depth in parts):
        # past it the build stops on this error, so what follows need not be read
        assert [d.severity for d in deep] == ["error"]
        assert 1 <= deep[0].line <= text.count("\n") + 1
