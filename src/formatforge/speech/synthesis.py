"""Synthesis across cores: worker processes, each with its own engine.

libespeak-ng is neither thread safe nor able to hold two engines in one process, so each
worker process owns one engine and the parent never starts the library. Workers are
plain ``python -m formatforge.speech.worker`` processes (not multiprocessing: spawn
re-imports the caller's main script, fork copies the parent's threads), given their share
of the sentences in a job file. They write every sentence straight into the speech cache
and report only "done" lines, so the parent's memory does not grow with the book.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Iterable

from .cache import SpeechCache
from .engines import VoiceSettings


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def _share_out(items: list[tuple[str, str]], workers: int) -> list[list[tuple[str, str]]]:
    """Longest first to the least loaded worker: even work without a queue."""
    shares: list[list[tuple[str, str]]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for item in sorted(items, key=lambda item: -len(item[1])):
        lightest = loads.index(min(loads))
        shares[lightest].append(item)
        loads[lightest] += len(item[1]) + 20  # every sentence costs a little on its own
    return [share for share in shares if share]


def _worker_command(job: Path) -> list[str]:
    return [sys.executable, "-m", "formatforge.speech.worker", str(job)]


def _environment() -> dict[str, str]:
    # The worker must import this very formatforge, even when it is not installed.
    environment = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])
    environment["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, environment.get("PYTHONPATH", "")) if p)
    return environment


def synthesise(settings: VoiceSettings, cache: SpeechCache, items: Iterable[tuple[str, str]],
               workers: int = 0, done: Callable[[int], None] = lambda count: None) -> None:
    """Synthesise ``(key, spoken text)`` pairs into ``cache`` on ``workers`` processes."""
    shares = _share_out(list(items), workers or default_workers())
    if not shares:
        return
    with tempfile.TemporaryDirectory(prefix="formatforge-jobs-") as folder:
        processes = []
        selector = selectors.DefaultSelector()
        for index, share in enumerate(shares):
            job = Path(folder) / f"job-{index}.json"
            job.write_text(json.dumps({"task": "synthesise", "settings": asdict(settings),
                                       "cache": str(cache.folder), "items": share}), encoding="utf-8")
            # stderr to a file: a pipe nobody reads until the end could fill and stall the worker
            errors = open(Path(folder) / f"job-{index}.err", "w+b")
            process = subprocess.Popen(_worker_command(job), stdout=subprocess.PIPE, stderr=errors,
                                       env=_environment())
            processes.append((process, errors))
            selector.register(process.stdout.fileno(), selectors.EVENT_READ, process)
        try:
            open_streams = len(processes)
            while open_streams:
                for key, _ in selector.select():
                    data = os.read(key.fd, 65536)  # one "done" line per sentence
                    if not data:
                        selector.unregister(key.fd)
                        open_streams -= 1
                    elif data.count(b"\n"):
                        done(data.count(b"\n"))
            failures = []
            for process, errors in processes:
                errors.seek(0)
                stderr = errors.read().decode(errors="replace")
                if process.wait() != 0:
                    failures.append(stderr.strip().splitlines()[-1] if stderr.strip() else f"exit {process.returncode}")
            if failures:
                raise RuntimeError(f"speech synthesis failed ({settings.engine}): {failures[0]}")
        finally:
            for process, errors in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()
                process.stdout.close()
                errors.close()
            selector.close()


def _run_job(job: dict) -> dict:
    with tempfile.TemporaryDirectory(prefix="formatforge-jobs-") as folder:
        path = Path(folder) / "job.json"
        path.write_text(json.dumps(job), encoding="utf-8")
        result = subprocess.run(_worker_command(path), capture_output=True, env=_environment(), check=False)
        if result.returncode != 0:
            raise RuntimeError(result.stderr.decode(errors="replace").strip())
        return json.loads(result.stdout)


def phonemes(settings: VoiceSettings, text: str) -> str:
    """espeak's phoneme mnemonics for ``text``, from a worker running the espeak engine."""
    return _run_job({"task": "phonemes", "settings": asdict(settings), "text": text})["phonemes"]


def time_engine(settings: VoiceSettings, text: str, repeat: int = 5) -> tuple[float, float]:
    """(median seconds to synthesise ``text``, seconds of audio it makes), in a worker."""
    result = _run_job({"task": "time", "settings": asdict(settings), "text": text, "repeat": repeat})
    return result["seconds"], result["audio_seconds"]
