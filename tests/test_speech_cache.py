"""The speech cache's sentence index, its FLAC entries and its eviction (issue 21 points 2
and 5; no criterion of standards.md applies: these are the build's own economy). espeak-ng
and a few short sentences only."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from formatforge.reader import read_text
from formatforge.shared.speech import cache as cache_module
from formatforge.shared.speech.cache import SentenceIndex, SpeechCache, decode_speech, pcm_peak
from formatforge.shared.speech.engines import Speech
from formatforge.shared.speech.narration import narrate

MASTER = """---
title: Cache
language: en-GB
---

# First

One short sentence. And another one here.

# Second

A third sentence, in the second section.
"""


@pytest.fixture()
def built(tmp_path):
    """A narration of the short master, encoded, with its cache folder."""
    document = read_text(MASTER, tmp_path / "cache.md").document
    narration = narrate(document, {}, tmp_path / "cache", bitrate=64)
    try:
        encoded = narration.encode(64).sections
    finally:
        narration.close()
    return document, narration, encoded, tmp_path / "cache"


def keys_of(narration) -> set[str]:
    return {timed.key for section in narration.sections for timed in section.sentences}


def test_issue_21_2_the_sentence_index_agrees_with_the_audio(built):
    _, narration, _, _ = built
    index = SentenceIndex(narration.cache.folder)
    keys = keys_of(narration)
    assert keys
    for key in keys:
        line = index.get(key)
        assert line is not None, "every synthesised sentence is indexed as it is written"
        digest, payload = narration.cache._entries.read_entry(key)
        speech = decode_speech(payload)
        assert payload[:4] == b"fLaC"  # stored compressed (issue 21.5)
        assert line.facts.samples == len(speech.pcm) // 2
        assert line.facts.peak == pcm_peak(speech.pcm)
        assert line.facts.sample_rate == speech.sample_rate
        assert line.facts.digest == digest.hex()
    # the narration laid the sentences out by the same lengths
    for section in narration.sections:
        for timed in section.sentences:
            assert timed.end_sample - timed.start_sample == index.get(timed.key).facts.samples


def test_issue_21_2_a_cached_run_with_nothing_to_encode_reads_no_audio(built, monkeypatch):
    document, _, first, folder = built
    cache_module._checked.clear()  # as a new process would start
    opened: list[str] = []
    real_open = cache_module.open_regular
    monkeypatch.setattr(cache_module, "open_regular", lambda path: opened.append(str(path)) or real_open(path))
    decoded: list[int] = []
    real_decode = cache_module.decode_speech
    monkeypatch.setattr(cache_module, "decode_speech", lambda payload: decoded.append(1) or real_decode(payload))
    narration = narrate(document, {}, folder, bitrate=64)
    try:
        again = narration.encode(64).sections
    finally:
        narration.close()
    assert narration.synthesised == 0
    assert [s.keys for s in again] == [s.keys for s in first]
    assert [name for name in opened if name.endswith(".pcm")] == [] and decoded == []
    assert any(name.endswith("sentences.index") for name in opened)  # the index was what it read


def _line_for(index_path: Path, key: str) -> bytes:
    return next(line for line in index_path.read_bytes().splitlines() if line.startswith(key.encode()))


def test_issue_21_2_a_damaged_index_line_is_detected_and_measured_again(built):
    _, narration, _, folder = built
    key = sorted(keys_of(narration))[0]
    index_path = folder / "speech" / SentenceIndex.NAME
    good = SpeechCache(folder / "speech").sentence_facts(key)
    original = _line_for(index_path, key)
    fields = original.split(b" ")
    fields[2] = str(int(fields[2]) + 500).encode()  # the length changed, the CRC not
    index_path.write_bytes(index_path.read_bytes().replace(original, b" ".join(fields)))
    cache = SpeechCache(folder / "speech")
    assert cache.index.get(key) is None  # the CRC does not hold: the line counts for nothing
    assert cache.sentence_facts(key) == good  # measured from the audio again
    assert SpeechCache(folder / "speech").index.get(key).facts == good  # and indexed again


def test_issue_21_2_an_index_read_again_parses_only_the_lines_appended_since(built, monkeypatch):
    """The three speech writers of a build, and every build in watch, read the index: once
    parsed, it is parsed again only from where it was, unless what was read has changed."""
    _, narration, _, folder = built
    index_path = folder / "speech" / SentenceIndex.NAME
    SpeechCache(folder / "speech").index.get("x")  # parsed once here
    parsed: list[bytes] = []
    real = cache_module._parse_line
    monkeypatch.setattr(cache_module, "_parse_line", lambda raw: parsed.append(raw) or real(raw))
    count = len(SpeechCache(folder / "speech").index._load())
    assert count == len(keys_of(narration)) and parsed == []

    key = sorted(keys_of(narration))[0]
    facts = SpeechCache(folder / "speech").sentence_facts(key)
    SpeechCache(folder / "speech").index.add("f" * 64, facts, 1, 1)
    assert SpeechCache(folder / "speech").index.get("f" * 64).facts == facts
    assert len(parsed) == 1  # the appended line alone

    parsed.clear()
    index_path.write_bytes(index_path.read_bytes().replace(b"\n", b"\n\n", 1))  # changed in place
    assert SpeechCache(folder / "speech").index.get(key).facts == facts
    assert len(parsed) == count + 1  # all of it again


def test_issue_21_2_a_stale_line_is_not_trusted(built):
    """A line that describes another file (the entry replaced since, or copied in by hand) is
    not used, even with a good CRC."""
    _, narration, _, folder = built
    key = sorted(keys_of(narration))[0]
    cache = SpeechCache(folder / "speech")
    right = cache.sentence_facts(key)
    wrong = cache_module.SentenceFacts(right.samples + 500, right.peak, right.sample_rate, right.digest)
    cache.index.add(key, wrong, 12345, 1)  # a well-formed line for a file that is not there
    fresh = SpeechCache(folder / "speech")
    assert fresh.index.get(key).facts == wrong
    assert fresh.sentence_facts(key) == right


def test_issue_21_2_a_forged_line_for_the_very_file_is_caught_when_the_audio_is_used(built):
    _, narration, _, folder = built
    key = sorted(keys_of(narration))[0]
    cache = SpeechCache(folder / "speech")
    right = cache.sentence_facts(key)
    status = os.stat(cache._entries.path(key))
    forged = cache_module.SentenceFacts(right.samples + 500, right.peak, right.sample_rate, "0" * 64)
    cache.index.add(key, forged, status.st_size, status.st_mtime_ns)
    fresh = SpeechCache(folder / "speech")
    assert fresh.sentence_facts(key) == forged  # trusted while laying out: no audio is read
    assert fresh.get(key) is None  # but the audio does not match its digest: dropped when used
    assert fresh.sentence_facts(key) is None  # and synthesised again


@pytest.mark.parametrize("content", [
    b"\xff\xfe garbage \x00" * 100,
    b"ab" * 32 + b" not numbers at all\n",
    b"\n" * 1000,
    ("ab" * 32 + " " + "cd" * 32 + " -5 99999 7 10 10 00000000\n").encode(),
])
def test_issue_21_2_a_hostile_index_never_crashes_a_build(tmp_path, content):
    cache = SpeechCache(tmp_path)
    key = "ab" * 32
    cache.put(key, Speech(np.arange(-50, 50, dtype="<i2").tobytes(), 22050))
    (tmp_path / SentenceIndex.NAME).write_bytes(content)
    fresh = SpeechCache(tmp_path)
    facts = fresh.sentence_facts(key)
    assert (facts.samples, facts.peak, facts.sample_rate) == (100, 50, 22050)


def test_issue_21_2_the_index_is_never_read_through_a_link_and_is_bounded(tmp_path, monkeypatch):
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"private\n")
    folder = tmp_path / "cache"
    cache = SpeechCache(folder)
    key = "ab" * 32
    cache.put(key, Speech(np.arange(100, dtype="<i2").tobytes(), 22050))
    (folder / SentenceIndex.NAME).unlink()
    (folder / SentenceIndex.NAME).symlink_to(outside)
    assert SpeechCache(folder).sentence_facts(key).samples == 100
    assert outside.read_bytes() == b"private\n"  # neither read as an index nor written through
    # Past its size limit the index is read no further, and rewritten from what it held.
    (folder / SentenceIndex.NAME).unlink(missing_ok=True)
    SpeechCache(folder).sentence_facts(key)
    monkeypatch.setattr(SentenceIndex, "LIMIT", 4096)
    with open(folder / SentenceIndex.NAME, "ab") as stream:
        stream.write(b"x" * 10_000)
    fresh = SpeechCache(folder)
    assert fresh.sentence_facts(key).samples == 100
    assert (folder / SentenceIndex.NAME).stat().st_size < 4096


def test_issue_21_5_flac_entries_give_back_the_same_samples_and_old_entries_still_read(tmp_path):
    cache = SpeechCache(tmp_path)
    rng = np.random.default_rng(0)
    pcm = (rng.normal(0, 3000, 20_000)).astype("<i2").tobytes()
    cache.put("ab" * 32, Speech(pcm, 24000))
    assert cache.get("ab" * 32).pcm == pcm and cache.get("ab" * 32).sample_rate == 24000
    assert cache._entries.path("ab" * 32).stat().st_size < len(pcm)
    # an entry of format 2 (rate, then raw PCM), as caches made before hold
    cache._entries.write("cd" * 32, (22050).to_bytes(4, "little") + pcm)
    assert cache.get("cd" * 32).pcm == pcm
    assert cache.sentence_facts("cd" * 32).samples == len(pcm) // 2


def test_issue_21_5_prune_evicts_the_least_recently_used_first(tmp_path):
    cache = SpeechCache(tmp_path)
    rng = np.random.default_rng(1)
    keys = [f"{n:02x}" * 32 for n in range(4)]
    for key in keys:
        cache.put(key, Speech(rng.normal(0, 3000, 20_000).astype("<i2").tobytes(), 22050))
    now = time.time()
    for age, key in zip((400, 100, 300, 200), keys):  # last used that many seconds ago
        path = cache._entries.path(key)
        os.utime(path, (now - age, path.stat().st_mtime))
    usage = cache.usage()
    assert usage.sentences == 4
    entry_size = cache._entries.path(keys[0]).stat().st_size
    removed, freed = cache.prune(usage.total_bytes - 1, keep_recent=0)
    assert removed == 1 and not cache._entries.path(keys[0]).exists()  # the oldest went first
    removed, _ = cache.prune(usage.total_bytes - 2 * entry_size - 1, keep_recent=0)
    assert removed == 1 and not cache._entries.path(keys[2]).exists()
    # entries used within keep_recent stay, whatever the cap
    assert cache.prune(0, keep_recent=150)[0] == 1 and cache._entries.path(keys[1]).exists()
    assert SpeechCache(tmp_path).index.get(keys[0]) is None  # the index forgets what went


def test_issue_21_5_the_cache_command_shows_and_prunes(tmp_path):
    import subprocess
    import sys

    cache = SpeechCache(tmp_path / "cache" / "speech")
    rng = np.random.default_rng(2)
    for n in range(3):
        key = f"{n:02x}" * 32
        cache.put(key, Speech(rng.normal(0, 3000, 20_000).astype("<i2").tobytes(), 22050))
        path = cache._entries.path(key)
        os.utime(path, (time.time() - 7200 * (n + 1), path.stat().st_mtime))  # used hours ago

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "formatforge.cli", "cache", *args, "--cache-dir",
                               str(tmp_path / "cache")], capture_output=True, text=True, timeout=60)

    shown = run("show")
    assert shown.returncode == 0 and "3 sentences" in " ".join(shown.stdout.split()), shown.stdout
    pruned = run("prune", "--max-size", "0")
    assert pruned.returncode == 0 and "removed 3 entries" in pruned.stdout, pruned.stdout + pruned.stderr
    assert cache.usage().sentences == 0
    bad = run("prune", "--max-size", "lots")
    assert bad.returncode == 2 and "not a size" in bad.stderr and "Traceback" not in bad.stderr


LONG_MASTER = """---
title: Dropped
language: en-GB
---

# Dropped

The first paragraph is long enough to be a unit of its own. It has a second sentence too.

The second paragraph is long enough to be a unit of its own. It also has a second sentence.

The third paragraph closes the book, long enough for a unit. And one more sentence here.
"""


def _narrated(document, folder):
    narration = narrate(document, {"audio.engine": "espeak"}, folder, bitrate=64)
    try:
        sections = narration.encode(64).sections
        return narration, [section.data() for section in sections]
    finally:
        narration.close()


def test_issue_21_5_dropped_audio_keeps_every_length_and_an_edit_makes_again_only_its_units_sentences(tmp_path):
    """Past the sentence-audio budget the audio goes and the lengths stay: a rebuild
    synthesises nothing; an edit synthesises its sentence and makes again only the other
    sentences of its own unit, and gives the very frames a fresh cache gives."""
    document = read_text(LONG_MASTER, tmp_path / "dropped.md").document
    folder = tmp_path / "cache"
    first, _ = _narrated(document, folder)
    cache = SpeechCache(folder / "speech")
    every = keys_of(first)
    assert cache.drop_audio(0) >= len(every)  # with any sentence an earlier opening said
    assert not any(cache.has_audio(key) for key in every)
    assert all(cache.length(key) is not None for key in every), "a dropped sentence's length is still known"
    assert all(SpeechCache(folder / "speech").index.get(key).dropped for key in every)

    again, _ = _narrated(document, folder)
    assert (again.synthesised, again.restored) == (0, 0), "a rebuild with every unit encoded made audio again"

    edited_text = LONG_MASTER.replace("also has a second", "also has a freshly edited second")
    edited = read_text(edited_text, tmp_path / "dropped.md").document
    after, frames = _narrated(edited, folder)
    assert after.synthesised == 1
    unit_mates = [s for s in after.sections if any("freshly edited" in t.sentence.text for t in s.sentences)]
    same_unit = next(unit for unit in unit_mates[0].units
                     if any("freshly edited" in unit_mates[0].section.sentences[i].text for i in range(unit.first, unit.end)))
    assert after.restored == (same_unit.end - same_unit.first) - 1, "sentences outside the edited unit were made again"

    _, fresh = _narrated(edited, tmp_path / "fresh-cache")
    assert frames == fresh, "audio made again from dropped sentences differs from a fresh build's"


def test_issue_21_5_a_forged_length_for_dropped_audio_is_corrected_not_published(tmp_path):
    """A dropped line whose length is wrong (forged, or an engine that does not repeat
    itself) is found when its unit is encoded: the writer narrates again and the book is
    the same as a fresh cache's."""
    from formatforge.formats import BuildContext, get_writer

    document = read_text(LONG_MASTER, tmp_path / "forged.md").document
    folder = tmp_path / "cache"
    first, _ = _narrated(document, folder)
    cache = SpeechCache(folder / "speech")
    cache.drop_audio(0)
    victim = first.sections[-1].sentences[-1]
    right = cache.sentence_facts(victim.key)
    forged = cache_module.SentenceFacts(right.samples + 2000, right.peak, right.sample_rate, right.digest)
    cache.index.add(victim.key, forged, 0, 0)
    for unit_file in (folder / "speech" / "units").rglob("*.mp3"):
        unit_file.unlink()  # every unit must be encoded again, the forged sentence's too

    def write(cache_dir, staging):
        return get_writer("audio").write(BuildContext(document=document, staging=staging, cache_dir=cache_dir,
                                                      options={"audio.engine": "espeak"}))

    write(folder, tmp_path / "out")
    write(tmp_path / "fresh-cache", tmp_path / "fresh")
    assert (tmp_path / "out" / "forged.mp3").read_bytes() == (tmp_path / "fresh" / "forged.mp3").read_bytes()
    assert SpeechCache(folder / "speech").sentence_facts(victim.key) == right


def test_issue_21_5_a_cold_narration_past_the_budget_drops_its_audio_once_encoded(tmp_path, monkeypatch):
    """The first narration of a long book drops its sentence audio past the budget as soon
    as its units are encoded (the lines its workers appended are read for it)."""
    monkeypatch.setattr(cache_module, "SENTENCE_AUDIO_BUDGET", 0)
    document = read_text(LONG_MASTER, tmp_path / "cold.md").document
    narration, _ = _narrated(document, tmp_path / "cache")
    cache = SpeechCache(tmp_path / "cache" / "speech")
    assert narration.synthesised > 0
    assert not any(cache.has_audio(key) for key in keys_of(narration)), "the cold build kept its sentence audio"
    assert all(cache.length(key) is not None for key in keys_of(narration))


def _encode_again(document, folder):
    narration = narrate(document, {}, folder, bitrate=64)
    try:
        return [section.data() for section in narration.encode(64).sections]
    finally:
        narration.close()


def test_issue_21_2_a_new_process_uses_the_units_an_earlier_build_checked_without_reading_them(built, monkeypatch):
    """A command-line build is a new process: the units an earlier build found whole (digest
    and frame count) are not read again while their files are as they were; a unit
    changed since, even in place and to the same size, is read, found wrong and encoded again."""
    from formatforge.shared.speech import sections as sections_module

    document, _, encoded, folder = built
    before = [section.data() for section in encoded]
    units = folder / "speech" / "units"
    assert (units / sections_module.CheckedUnits.NAME).is_file()
    counted: list[int] = []
    real = sections_module.mp3_frames
    monkeypatch.setattr(sections_module, "mp3_frames", lambda data: counted.append(len(data)) or real(data))

    sections_module._whole.clear()  # as in a new process
    assert _encode_again(document, folder) == before
    assert counted == []

    victim = sorted(units.glob("*/*.mp3"))[0]
    data = bytearray(victim.read_bytes())
    data[-1] ^= 0xFF
    time.sleep(0.01)
    victim.write_bytes(bytes(data))  # the same size: only its times tell
    sections_module._whole.clear()
    assert _encode_again(document, folder) == before  # found wrong, encoded again
    assert len(counted) == 1  # only the changed unit was read: its digest failed; the one encoded afresh is counted


@pytest.mark.parametrize("content", [b"not a record\n" * 10, b"", "a link", "a huge file"])
def test_issue_21_2_a_hostile_record_of_checked_units_costs_reading_never_a_wrong_unit(built, content):
    from formatforge.shared.speech import sections as sections_module

    document, _, encoded, folder = built
    before = [section.data() for section in encoded]
    record = folder / "speech" / "units" / sections_module.CheckedUnits.NAME
    record.unlink()
    if content == "a link":
        record.symlink_to("/dev/zero")
    elif content == "a huge file":
        record.write_bytes(b"x" * (sections_module.CheckedUnits.LIMIT + 10))
    else:
        record.write_bytes(content)
    for unit in (folder / "speech" / "units").glob("*/*.mp3"):
        unit.write_bytes(unit.read_bytes())  # every unit's file changed since it was checked
    sections_module._whole.clear()
    assert _encode_again(document, folder) == before
