"""Synthesis across cores: worker processes, each with its own engine.

libespeak-ng is neither thread safe nor able to hold two engines in one process, so each
worker process (``processes``) owns one engine and the parent never starts the library.
A pool of workers (``processes.Pool``) takes the sentences one message at a time, writes
every sentence straight into the speech cache and reports only a "done" line with its
length and peak, so the parent's memory does not grow with the book.
"""

from __future__ import annotations

import functools
from dataclasses import asdict
from typing import Callable, Iterable

from .cache import SpeechCache
from .engines import VoiceSettings
from .processes import KeptPools, Pool, Task, WorkerFailed, default_workers, run_job
from .options import DEFAULT_TIMEOUT  # declared with the options

# Characters of text (about 25 ms of espeak's time each 100) that pay for starting a worker.
MIN_CHARACTERS_A_WORKER = 1500


class SynthesisFailed(RuntimeError):
    """The engine hung or crashed on one sentence: ``key`` and ``text`` name it."""

    def __init__(self, reason: str, key: str, text: str):
        super().__init__(f"{reason} while speaking {text[:60]!r}")
        self.reason, self.key, self.text = reason, key, text


# What a worker reports of a sentence it has put in the cache: (samples, sample rate), or
# None from a worker that does not say.
Length = tuple[int, int] | None


def speech_pool(settings: VoiceSettings, cache: SpeechCache, workers: int = 0,
                timeout: float | None = DEFAULT_TIMEOUT, engine_version: str = "") -> Pool:
    """Worker processes for a whole narration, started as work comes (see ``processes.Pool``),
    or, in a resident process, the ones a previous build left with their engine loaded
    (``processes.KeptPools``: the engine's version is part of the job, so a changed voice
    model never speaks through a worker that loaded the old one)."""
    pool = KeptPools.pool({"task": "serve", "settings": asdict(settings), "cache": str(cache.folder),
                           "engine_version": engine_version}, workers or default_workers())
    pool.stall_timeout = timeout
    return pool


def grow_for(pool: Pool, items: list[tuple[str, str]]) -> None:
    """Start as many workers as ``items`` are worth: a worker costs a start-up (Python, the
    engine), which a handful of sentences does not pay for twice."""
    pool.grow(max(1, sum(len(text) + 20 for _, text in items) // MIN_CHARACTERS_A_WORKER))


def _reported_length(line: str) -> Length:
    """A worker's ``done SAMPLES PEAK RATE`` line, read."""
    fields = line.split()
    return (int(fields[1]), int(fields[3])) if len(fields) == 4 else None


def _on_reply(key: str, spoken: Callable[[str, Length], None], done: Callable[[int], None], line: str) -> bool:
    spoken(key, _reported_length(line))
    done(1)
    return True


def synthesise(settings: VoiceSettings, cache: SpeechCache, items: Iterable[tuple[str, str]],
               workers: int = 0, done: Callable[[int], None] = lambda count: None,
               timeout: float | None = DEFAULT_TIMEOUT, pool: Pool | None = None,
               spoken: Callable[[str, Length], None] = lambda key, length: None) -> None:
    """Synthesise ``(key, spoken text)`` pairs into ``cache`` on ``workers`` processes (or
    on ``pool``'s, which stay for more work); a worker that spends more than ``timeout``
    seconds on one sentence is stopped. ``spoken(key, length)`` is called for each sentence
    as it reaches the cache. Raises ``SynthesisFailed`` naming the sentence an engine
    failed on."""
    items = list(items)
    if not items:
        return
    if pool is None:
        with speech_pool(settings, cache, workers, timeout) as own:
            return synthesise(settings, cache, items, workers, done, timeout, own, spoken)
    grow_for(pool, items)
    said: dict[Task, tuple[str, str]] = {}
    for key, text in items:
        task = Task(["speak", key, text], functools.partial(_on_reply, key, spoken, done), watched=True)
        said[task] = (key, text)
        pool.submit(task)
    try:
        pool.run(lambda: all(task.finished for task in said))
    except WorkerFailed as failure:
        reason = f"the {settings.engine} speech engine {failure}"
        if failure.task in said:
            key, text = said[failure.task]
            raise SynthesisFailed(reason, key, text) from failure
        raise RuntimeError(f"speech synthesis failed ({settings.engine}): {failure}") from failure


def phonemes(settings: VoiceSettings, text: str) -> str:
    """espeak's phoneme mnemonics for ``text``, from a worker running the espeak engine."""
    return run_job({"task": "phonemes", "settings": asdict(settings), "text": text})["phonemes"]


def time_engine(settings: VoiceSettings, text: str, repeat: int = 5) -> tuple[float, float]:
    """(median seconds to synthesise ``text``, seconds of audio it makes), in a worker."""
    result = run_job({"task": "time", "settings": asdict(settings), "text": text, "repeat": repeat})
    return result["seconds"], result["audio_seconds"]


def engine_silent_characters(settings: VoiceSettings, characters: list[str]) -> list[str]:
    """Those of ``characters`` that espeak, with this voice, says nothing for."""
    if not characters:
        return []
    return run_job({"task": "silent", "settings": asdict(settings), "characters": characters})["silent"]
