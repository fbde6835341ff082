"""Synthesis across cores: worker processes, each with its own engine.

libespeak-ng is neither thread safe nor able to hold two engines in one process, so each
worker process (``processes``) owns one engine and the parent never starts the library.
Workers get their share of the sentences in a job file, write every sentence straight
into the speech cache and report only "done" lines, so the parent's memory does not grow
with the book.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Callable, Iterable

from .cache import SpeechCache
from .engines import VoiceSettings
from .processes import WorkerFailed, Workers, default_workers, run_job, share_out


# Seconds a worker may spend on one sentence before it is taken for hung: espeak speaks a
# long sentence in well under a second, so a minute is only ever reached by a fault.
DEFAULT_TIMEOUT = 60.0


class SynthesisFailed(RuntimeError):
    """The engine hung or crashed on one sentence: ``key`` and ``text`` name it."""

    def __init__(self, reason: str, key: str, text: str):
        super().__init__(f"{reason} while speaking {text[:60]!r}")
        self.reason, self.key, self.text = reason, key, text


def synthesise(settings: VoiceSettings, cache: SpeechCache, items: Iterable[tuple[str, str]],
               workers: int = 0, done: Callable[[int], None] = lambda count: None,
               timeout: float | None = DEFAULT_TIMEOUT) -> None:
    """Synthesise ``(key, spoken text)`` pairs into ``cache`` on ``workers`` processes; a
    worker that spends more than ``timeout`` seconds on one sentence is stopped."""
    # every sentence costs a little on its own, besides its length
    shares = share_out(list(items), workers or default_workers(), lambda item: len(item[1]) + 20)
    if not shares:
        return
    finished = [0] * len(shares)  # a worker speaks its share in order, so this points at its sentence

    def on_line(worker: int, line: str) -> None:
        finished[worker] += 1  # one "done" line per sentence
        done(1)

    with Workers() as processes:
        for share in shares:
            processes.start({"task": "synthesise", "settings": asdict(settings), "cache": str(cache.folder),
                             "items": share})
        try:
            processes.follow(on_line, timeout)
        except WorkerFailed as failure:
            share = shares[failure.worker]
            reason = f"the {settings.engine} speech engine {failure}"
            if finished[failure.worker] < len(share):
                key, text = share[finished[failure.worker]]
                raise SynthesisFailed(reason, key, text) from failure
            raise RuntimeError(f"speech synthesis failed ({settings.engine}): {failure}") from failure


def phonemes(settings: VoiceSettings, text: str) -> str:
    """espeak's phoneme mnemonics for ``text``, from a worker running the espeak engine."""
    return run_job({"task": "phonemes", "settings": asdict(settings), "text": text})["phonemes"]


def time_engine(settings: VoiceSettings, text: str, repeat: int = 5) -> tuple[float, float]:
    """(median seconds to synthesise ``text``, seconds of audio it makes), in a worker."""
    result = run_job({"task": "time", "settings": asdict(settings), "text": text, "repeat": repeat})
    return result["seconds"], result["audio_seconds"]


def silent_characters(settings: VoiceSettings, characters: list[str]) -> list[str]:
    """Those of ``characters`` that espeak, with this voice, says nothing for."""
    if not characters:
        return []
    return run_job({"task": "silent", "settings": asdict(settings), "characters": characters})["silent"]
