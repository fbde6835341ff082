"""Generated masters: the reader and the source checks never crash, and no text is lost."""

from __future__ import annotations

import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formatforge.errors import SourceError
from formatforge.lint import check
from formatforge.model import document_text, words
from formatforge.reader import read_source, read_text

from .documents import markdown_document

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
