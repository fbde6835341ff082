"""Two cold builds of the same source, with separate caches, give byte-identical outputs."""

from __future__ import annotations

from conftest import EVERY_CONSTRUCT
from formatforge.build import STATE, build
from formatforge.formats import BUILTIN_FORMATS


def files(folder):
    """Every file but the build's record of its files' looks (inodes and times: this disk's,
    never published)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and p.name != STATE}


def test_every_output_of_two_cold_builds_is_byte_identical(tmp_path):
    formats = list(BUILTIN_FORMATS)
    first = build(EVERY_CONSTRUCT, tmp_path / "one", formats, cache_dir=tmp_path / "cache-one")
    second = build(EVERY_CONSTRUCT, tmp_path / "two", formats, cache_dir=tmp_path / "cache-two")
    assert first.ok and second.ok, [r.message for r in first.results + second.results if r.status == "failed"]
    assert [r.status for r in first.results] == ["built"] * len(formats)
    one, two = files(tmp_path / "one"), files(tmp_path / "two")
    assert sorted(one) == sorted(two)
    assert [name for name in one if one[name] != two[name]] == []
    assert "manifest.json" in one and "index.html" in one and "every-construct.pdf" not in one
