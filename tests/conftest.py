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
    context = BuildContext(document=document, staging=staging, options=options)
    return {relative: staging / relative for relative in writer.write(context)}


@pytest.fixture
def build_format(tmp_path):
    def run(name: str, document: Document, **options) -> dict[str, Path]:
        return write_format(name, document, tmp_path / name, **options)

    return run
