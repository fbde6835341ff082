"""Synthesis across cores: a pool of worker processes, each with its own engine.

libespeak-ng is neither thread safe nor able to hold two engines in one process, so each
worker process owns one engine and the parent never loads the library. Workers write
every sentence straight into the speech cache and send back only its key, so the parent's
memory does not grow with the length of the book.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from .cache import SpeechCache
from .encode import trim_silence
from .engines import Engine, VoiceSettings, make_engine

_engine: Engine | None = None
_cache: SpeechCache | None = None


def _start_worker(settings: VoiceSettings, cache_folder: str) -> None:
    global _engine, _cache
    _engine = make_engine(settings)
    _cache = SpeechCache(Path(cache_folder))


def _engine_version() -> str:
    assert _engine is not None
    return _engine.version()


def _synthesise_batch(batch: list[tuple[str, str]]) -> int:
    assert _engine is not None and _cache is not None
    for key, text in batch:
        speech = _engine.synthesise(text)
        speech.pcm = trim_silence(speech.pcm, speech.sample_rate)
        _cache.put(key, speech)
    return len(batch)


def _phonemes(text: str) -> str:
    if not hasattr(_engine, "phonemes"):
        raise TypeError(f"the {_engine.name} engine cannot show phonemes")
    return _engine.phonemes(text)  # type: ignore[union-attr]


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


@dataclass
class SpeechPool:
    """Worker processes for one voice; use as a context manager."""

    settings: VoiceSettings
    cache: SpeechCache
    workers: int = 0

    def __enter__(self) -> "SpeechPool":
        # spawn, not fork: a forked child would inherit whatever the parent's threads held.
        self._executor = ProcessPoolExecutor(
            max_workers=self.workers or default_workers(),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self.settings, str(self.cache.folder)),
        )
        return self

    def __exit__(self, *exc) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def engine_version(self) -> str:
        return self._executor.submit(_engine_version).result()

    def phonemes(self, text: str) -> str:
        return self._executor.submit(_phonemes, text).result()

    def synthesise(self, items: Iterable[tuple[str, str]], done: Callable[[int], None] = lambda n: None,
                   batch_chars: int = 2000) -> None:
        """Synthesise ``(key, spoken text)`` pairs into the cache, in batches of about
        ``batch_chars`` characters (small enough to share work out, large enough that
        passing them between processes costs little)."""
        batches: list[list[tuple[str, str]]] = [[]]
        size = 0
        for key, text in items:
            if size >= batch_chars:
                batches.append([])
                size = 0
            batches[-1].append((key, text))
            size += len(text)
        futures = [self._executor.submit(_synthesise_batch, batch) for batch in batches if batch]
        for future in as_completed(futures):
            done(future.result())
