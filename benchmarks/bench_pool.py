#!/usr/bin/env python3
"""Times the speech worker pool against concurrent.futures' ProcessPoolExecutor (issue 19 point 1).

Run: .venv/bin/python benchmarks/bench_pool.py [--runs 3] [--sentences 200] [--workers 2]

Each run speaks the same sentences (distinct, so none comes from the cache) into a fresh
speech cache with espeak-ng, on ``--workers`` processes, two ways:

1. ``processes.Pool`` (what narration uses): ``python -m formatforge.shared.speech.worker``
   processes fed one sentence a line, each sentence spoken in a fork of the started engine;
2. ``concurrent.futures.ProcessPoolExecutor`` with the ``spawn`` context (fork would copy
   the parent's threads; forkserver starts the same way), an initializer that starts the
   engine in each worker, and the same fork-per-sentence speaking, one future a sentence.

Also shown: what each does when a worker is killed mid-sentence (SIGKILL), which decides
whether the sentence can be named in the error (issue 9).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from formatforge.shared.speech import synthesis  # noqa: E402
from formatforge.shared.speech.cache import SpeechCache  # noqa: E402
from formatforge.shared.speech.engines import VoiceSettings, make_engine  # noqa: E402

_engine = None
_cache: SpeechCache | None = None


def _start(settings: dict, folder: str) -> None:
    global _engine, _cache
    _engine = make_engine(VoiceSettings(**settings))
    _cache = SpeechCache(Path(folder))


def _speak(key: str, text: str) -> str:
    from formatforge.shared.speech.worker import _speak as speak

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        os.write(write, speak(_engine, _cache, key, text).encode())
        os._exit(0)
    os.close(write)
    line = os.read(read, 200).decode()
    os.close(read)
    os.waitpid(pid, 0)
    return line


def _die(_: int) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def sentences(count: int, run: int) -> list[tuple[str, str]]:
    return [(f"{run:02d}{n:062d}", f"Sentence {n} of run {run} says something plain about the strategy.")
            for n in range(count)]


def with_pool(settings: VoiceSettings, folder: Path, items, workers: int) -> float:
    started = time.perf_counter()
    synthesis.synthesise(settings, SpeechCache(folder), items, workers=workers)
    return time.perf_counter() - started


def with_executor(settings: VoiceSettings, folder: Path, items, workers: int) -> float:
    from dataclasses import asdict

    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context, initializer=_start,
                                                initargs=(asdict(settings), str(folder))) as executor:
        for future in [executor.submit(_speak, key, text) for key, text in items]:
            future.result()
    return time.perf_counter() - started


def killed_worker() -> str:
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as executor:
        futures = [executor.submit(time.sleep, 0.2), executor.submit(_die, 0), executor.submit(time.sleep, 0.2)]
        outcomes = []
        for future in futures:
            try:
                future.result()
                outcomes.append("ok")
            except concurrent.futures.process.BrokenProcessPool:
                outcomes.append("BrokenProcessPool")
    return ", ".join(outcomes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sentences", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    settings = VoiceSettings()
    timings: dict[str, list[float]] = {"processes.Pool": [], "ProcessPoolExecutor (spawn)": []}
    with tempfile.TemporaryDirectory(prefix="formatforge-bench-pool-") as scratch:
        for run in range(args.runs):
            items = sentences(args.sentences, 2 * run)
            timings["processes.Pool"].append(with_pool(settings, Path(scratch) / f"pool-{run}", items, args.workers))
            items = sentences(args.sentences, 2 * run + 1)
            timings["ProcessPoolExecutor (spawn)"].append(
                with_executor(settings, Path(scratch) / f"executor-{run}", items, args.workers))
    print(f"{args.sentences} sentences, {args.workers} workers, espeak-ng; load average {os.getloadavg()[0]:.1f}")
    print("| pool | min | median | max |\n|---|---|---|---|")
    for name, values in timings.items():
        print(f"| {name} | {min(values):.2f} s | {statistics.median(values):.2f} s | {max(values):.2f} s |")
    print(f"ProcessPoolExecutor, the second of three tasks killed by SIGKILL: {killed_worker()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
