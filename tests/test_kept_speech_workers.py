"""A resident process (watch, the preview) keeps its speech workers, with their engines
loaded, between builds (issue 21 point 4; issue 14 point 2: a one-sentence edit then costs
the sentence, not a voice's start-up). No criterion of standards.md applies: this is the
build's own economy. espeak-ng and a few short sentences only."""

from __future__ import annotations

import time

import pytest

from formatforge.build import build
from formatforge.shared.speech.processes import KeptPools, Pool, Task
from formatforge.shared.speech.synthesis import speech_pool
from formatforge.shared.speech.cache import SpeechCache
from formatforge.shared.speech.engines import VoiceSettings
from formatforge.watch import resident

MASTER = """---
title: Kept
language: en-GB
---

# First

One short sentence. And another one here.
"""

ESPEAK = {"audio.engine": "espeak"}


def kept_pids(keeper: KeptPools) -> set[int]:
    return {worker.process.pid for pools in keeper._idle.values() for pool in pools for worker in pool._workers}


def test_a_resident_build_speaks_an_edit_on_the_workers_the_last_build_started(tmp_path):
    source, out, cache = tmp_path / "kept.md", tmp_path / "out", tmp_path / "cache"
    source.write_text(MASTER, encoding="utf-8")
    with resident() as reader:
        keeper = KeptPools._current
        assert keeper is not None
        build(source, out, ["audio"], ESPEAK, cache, reader=reader)
        first = kept_pids(keeper)
        assert first, "the first build's workers were not kept"
        before = (out / "kept.mp3").read_bytes()
        source.write_text(MASTER.replace("another one", "a freshly edited one"), encoding="utf-8")
        time.sleep(0.05)
        result = build(source, out, ["audio"], ESPEAK, cache, reader=reader)
        assert [r.status for r in result.results] == ["built"]
        assert (out / "kept.mp3").read_bytes() != before, "the edit did not reach the audio"
        assert kept_pids(keeper) == first, "the edit started new workers instead of using the kept ones"
        processes = [worker.process for pools in keeper._idle.values() for pool in pools for worker in pool._workers]
    assert all(process.poll() is not None for process in processes), "the kept workers outlived the resident process"
    assert KeptPools._current is None


def test_outside_a_resident_process_nothing_is_kept(tmp_path):
    settings = VoiceSettings(engine="espeak", voice="en-gb", rate=175, volume=1.0)
    pool = speech_pool(settings, SpeechCache(tmp_path / "speech"))
    assert pool.keeper is None
    pool.grow(1)
    process = pool._workers[0].process
    pool.close()
    assert process.poll() is not None


def _speak(pool: Pool, key: str, text: str) -> None:
    task = Task(["speak", key, text], lambda line: True, watched=True)
    pool.submit(task)
    pool.run(lambda: task.finished)


def test_a_pool_is_lent_only_for_its_own_job_and_a_failed_one_is_not_kept(tmp_path):
    settings = VoiceSettings(engine="espeak", voice="en-gb", rate=175, volume=1.0)
    cache = SpeechCache(tmp_path / "speech")
    with KeptPools() as keeper:
        pool = speech_pool(settings, cache, 1, engine_version="espeak-ng 1")
        pool.grow(1)
        pool.close()
        assert keeper.workers() == 1
        other = speech_pool(settings, cache, 1, engine_version="espeak-ng 2")  # a changed voice: not the same job
        assert other is not pool and not other.started
        other.close()
        again = speech_pool(settings, cache, 1, engine_version="espeak-ng 1")
        assert again is pool and keeper.workers() == 0, "the kept pool was not lent back"
        process = again._workers[0].process
        again.close(kill=True)  # a build that failed: its workers are stopped, never lent again
        assert keeper.workers() == 0 and process.poll() is not None


def test_a_kept_worker_idle_past_the_stall_timeout_is_not_taken_for_stalled(tmp_path):
    settings = VoiceSettings(engine="espeak", voice="en-gb", rate=175, volume=1.0)
    cache = SpeechCache(tmp_path / "speech")
    with KeptPools():
        pool = speech_pool(settings, cache, 1, timeout=1.0)
        pool.grow(1)
        _speak(pool, "a" * 64, "Hello.")
        pool.close()
        time.sleep(1.5)  # idle longer than the stall timeout, as between two edits
        again = speech_pool(settings, cache, 1, timeout=1.0)
        assert again is pool
        _speak(again, "b" * 64, "Hello again.")  # raised WorkerFailed while idle time counted as a stall
        again.close()


@pytest.fixture(autouse=True)
def no_keeper_left():
    yield
    assert KeptPools._current is None
