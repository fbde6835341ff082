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


def synthesise(settings: VoiceSettings, cache: SpeechCache, items: Iterable[tuple[str, str]],
               workers: int = 0, done: Callable[[int], None] = lambda count: None) -> None:
    """Synthesise ``(key, spoken text)`` pairs into ``cache`` on ``workers`` processes."""
    # every sentence costs a little on its own, besides its length
    shares = share_out(list(items), workers or default_workers(), lambda item: len(item[1]) + 20)
    if not shares:
        return
    with Workers() as processes:
        for share in shares:
            processes.start({"task": "synthesise", "settings": asdict(settings), "cache": str(cache.folder),
                             "items": share})
        try:
            processes.follow(lambda worker, line: done(1))  # one "done" line per sentence
        except WorkerFailed as failure:
            raise RuntimeError(f"speech synthesis failed ({settings.engine}): {failure}") from failure


def phonemes(settings: VoiceSettings, text: str) -> str:
    """espeak's phoneme mnemonics for ``text``, from a worker running the espeak engine."""
    return run_job({"task": "phonemes", "settings": asdict(settings), "text": text})["phonemes"]


def time_engine(settings: VoiceSettings, text: str, repeat: int = 5) -> tuple[float, float]:
    """(median seconds to synthesise ``text``, seconds of audio it makes), in a worker."""
    result = run_job({"task": "time", "settings": asdict(settings), "text": text, "repeat": repeat})
    return result["seconds"], result["audio_seconds"]
