"""Shared fixtures: the two documents every format is tested against, and a one-format build."""

from __future__ import annotations

from pathlib import Path

import pytest

from formatforge.formats import BuildContext, get_writer
from formatforge.model import Document
from formatforge.reader import read_source

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
STRATEGY = ROOT / "source" / "strategy.md"
EVERY_CONSTRUCT = FIXTURES / "every-construct.md"
SCHEMAS = ROOT.parent / "shared" / "schemas"


@pytest.fixture(scope="session")
def every_construct() -> Document:
    return read_source(EVERY_CONSTRUCT).document


@pytest.fixture(scope="session")
def strategy() -> Document:
    return read_source(STRATEGY).document


@pytest.fixture(params=["every-construct", "strategy"])
def document(request) -> Document:
    """Runs a test once on each of the two reference documents."""
    return read_source(EVERY_CONSTRUCT if request.param == "every-construct" else STRATEGY).document


def write_format(name: str, document: Document, staging: Path, **options) -> dict[str, Path]:
    """Runs one writer into ``staging``; returns its outputs by relative name."""
    writer = get_writer(name)
    # As the build does: only the options the writer declared, so reading another fails.
    context = BuildContext(document=document, staging=staging, options=writer.options_for(options))
    return {relative: staging / relative for relative in writer.write(context)}


@pytest.fixture
def build_format(tmp_path):
    def run(name: str, document: Document, **options) -> dict[str, Path]:
        return write_format(name, document, tmp_path / name, **options)

    return run


class SpeechWork:
    """Counts what the speech package does: sentences sent to synthesis, units encoded (by
    their section's title)."""

    def __init__(self):
        self.synthesised: list[int] = []
        self.encoded: list[str] = []

    def clear(self) -> None:
        self.synthesised.clear()
        self.encoded.clear()


@pytest.fixture
def speech_work(monkeypatch) -> SpeechWork:
    from formatforge.shared.speech import sections, synthesis

    work = SpeechWork()
    synthesise, submit = synthesis.synthesise, sections.UnitEncoder.submit

    def counting_synthesis(settings, cache, items, *args, **kwargs):
        items = list(items)
        work.synthesised.append(len(items))
        return synthesise(settings, cache, items, *args, **kwargs)

    def counting_encodes(self, jobs, *args, **kwargs):
        jobs = list({job.key: job for job in jobs}.values())
        before = set(self.encoded)
        submit(self, jobs, *args, **kwargs)
        work.encoded.extend(job.title for job in jobs if job.key in self.encoded and job.key not in before)

    monkeypatch.setattr(synthesis, "synthesise", counting_synthesis)
    monkeypatch.setattr(sections.UnitEncoder, "submit", counting_encodes)
    return work
