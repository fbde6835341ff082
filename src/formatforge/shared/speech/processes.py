"""Worker processes for synthesis and encoding: ``python -m formatforge.shared.speech.worker JOB``.

Not ``concurrent.futures`` or ``multiprocessing`` (see the README's "Choices" for the
measurement): a hung engine must be stopped on its own worker and the sentence it was
saying named, which neither pool can do (a killed worker breaks a ProcessPoolExecutor
whole, with no word of which task it was on), and fork would copy the parent's threads
(libespeak-ng must never be loaded in the parent). ``Pool`` keeps long-lived workers fed
one task a line on their standard input; ``run_job`` asks one worker one question.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable


class WorkerFailed(RuntimeError):
    """A worker that exited with an error, was killed by a signal, or stalled and was
    killed: ``worker`` is its index in the order the workers were started, ``task`` the
    pool task it was on (None when it had none)."""

    worker: int
    task: Task | None

    def __init__(self, message: str, worker: int, task: Task | None = None):
        super().__init__(message)
        self.worker = worker
        self.task = task


def pipe(stream: IO[bytes] | None) -> IO[bytes]:
    """A child's standard stream that was opened as a pipe (Popen types them optional)."""
    if stream is None:
        raise RuntimeError("a worker's pipe was not opened")
    return stream


def exit_description(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def worker_command(job: Path) -> list[str]:
    return [sys.executable, "-m", "formatforge.shared.speech.worker", str(job)]


def environment() -> dict[str, str]:
    # The worker must import this very formatforge, even when it is not installed.
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    return env


def run_job(job: dict) -> dict:
    """One job on one worker, for its JSON answer."""
    with tempfile.TemporaryDirectory(prefix="formatforge-jobs-") as folder:
        path = Path(folder) / "job.json"
        path.write_text(json.dumps(job), encoding="utf-8")
        result = subprocess.run(worker_command(path), capture_output=True, env=environment(), check=False)
        if result.returncode != 0:
            raise RuntimeError(result.stderr.decode(errors="replace").strip())
        return json.loads(result.stdout)


@dataclass(eq=False)
class Task:
    """One step for a pool worker: a JSON message, and what to do with its reply lines.
    ``on_line`` returns True on the task's last line. ``watched`` tasks are stopped by the
    stall timeout (an engine can hang; an encoder cannot)."""

    message: list
    on_line: Callable[[str], bool]
    watched: bool
    finished: bool = False


class _PoolWorker:
    def __init__(self, process: subprocess.Popen[bytes], errors: IO[bytes]):
        self.process, self.errors = process, errors
        self.outstanding: deque[Task] = deque()
        self.pending = b""
        self.heard = time.monotonic()


class Pool:
    """Long-lived workers, started once for a whole narration and fed task by task on
    their standard input: sentences to speak, then sections to encode as soon as their
    sentences are spoken, so one start-up serves both and encoding overlaps synthesis.

    Each worker holds at most two tasks (the next is there when it finishes one); sections
    to encode go before sentences, so that long encodes start early rather than last."""

    DEPTH = 2

    def __init__(self, job: dict, size: int):
        self.job, self.size = job, max(1, size)
        self._folder = tempfile.TemporaryDirectory(prefix="formatforge-jobs-")
        self._workers: list[_PoolWorker] = []
        self._speak: deque[Task] = deque()
        self._encode: deque[Task] = deque()
        self.stall_timeout: float | None = None
        self.keeper: KeptPools | None = None  # set while a resident process lends the pool out

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc) -> None:
        self.close(kill=exc[0] is not None)

    @property
    def started(self) -> bool:
        return bool(self._workers)

    def grow(self, count: int) -> None:
        """Start workers up to ``count`` (at most the pool's size)."""
        while len(self._workers) < min(count, self.size):
            index = len(self._workers)
            job_file = Path(self._folder.name) / f"job-{index}.json"
            job_file.write_text(json.dumps(self.job), encoding="utf-8")
            errors = open(Path(self._folder.name) / f"job-{index}.err", "w+b")
            process = subprocess.Popen(worker_command(job_file), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=errors, env=environment())
            os.set_blocking(pipe(process.stdout).fileno(), False)
            self._workers.append(_PoolWorker(process, errors))

    def idle(self) -> bool:
        """No task waiting or running."""
        return not (self._encode or self._speak or any(worker.outstanding for worker in self._workers))

    def submit(self, task: Task) -> None:
        (self._encode if not task.watched else self._speak).append(task)

    def _dispatch(self) -> None:
        for worker in self._workers:
            while len(worker.outstanding) < self.DEPTH and (self._encode or self._speak):
                task = (self._encode or self._speak).popleft()
                if not worker.outstanding:
                    worker.heard = time.monotonic()  # an idle worker (perhaps kept for minutes) starts its clock now
                worker.outstanding.append(task)
                try:
                    stdin = pipe(worker.process.stdin)
                    stdin.write(json.dumps(task.message).encode() + b"\n")
                    stdin.flush()
                except BrokenPipeError:
                    break  # its exit is reported when its output ends

    def run(self, done: Callable[[], bool]) -> None:
        """Feed and follow the workers until ``done()``; raises ``WorkerFailed`` (with
        ``task``, the task the worker was on) if one crashes or stalls on a watched task."""
        while not done():
            self._dispatch()
            if done():
                return
            busy = [worker for worker in self._workers if worker.outstanding]
            if not busy:
                raise RuntimeError("the worker pool has work it cannot hand out")
            wait = None
            if self.stall_timeout is not None:
                now = time.monotonic()
                watched = [(index, worker) for index, worker in enumerate(self._workers)
                           if worker.outstanding and worker.outstanding[0].watched]
                for index, worker in watched:
                    if now - worker.heard >= self.stall_timeout:
                        worker.process.kill()
                        worker.process.wait()
                        raise WorkerFailed(f"made no progress for {self.stall_timeout:g} s and was stopped", index,
                                           worker.outstanding[0])
                if watched:
                    wait = max(0.0, min(worker.heard + self.stall_timeout - now for _, worker in watched))
            ready, _, _ = select.select([pipe(worker.process.stdout) for worker in busy], [], [], wait)
            for stream in ready:
                index = next(i for i, worker in enumerate(self._workers) if worker.process.stdout is stream)
                self._read(index, self._workers[index])

    def _read(self, index: int, worker: _PoolWorker) -> None:
        data = os.read(pipe(worker.process.stdout).fileno(), 65536)
        if not data:
            returncode = worker.process.wait()
            worker.errors.seek(0)
            stderr = worker.errors.read().decode(errors="replace").strip()
            last = stderr.splitlines()[-1] if stderr else ""
            raise WorkerFailed(f"crashed ({exit_description(returncode)})" + (f": {last}" if last else ""), index,
                               worker.outstanding[0] if worker.outstanding else None)
        worker.heard = time.monotonic()
        *lines, worker.pending = (worker.pending + data).split(b"\n")
        for line in lines:
            task = worker.outstanding[0]
            if task.on_line(line.decode()):
                task.finished = True
                worker.outstanding.popleft()

    def alive(self) -> bool:
        return all(worker.process.poll() is None for worker in self._workers)

    def close(self, kill: bool = False) -> None:
        """Stops the workers; a pool lent by a resident process's ``KeptPools`` goes back to
        it instead, idle and alive, unless it failed (``kill``) or has work in hand."""
        if self.keeper is not None:
            keeper, self.keeper = self.keeper, None
            if not kill and self.idle() and self.alive():
                keeper.give_back(self)
                return
        self._stop(kill)

    def _stop(self, kill: bool) -> None:
        for worker in self._workers:
            try:
                pipe(worker.process.stdin).close()
            except OSError:
                pass
        for worker in self._workers:
            if kill:
                worker.process.kill()
            try:
                worker.process.wait(timeout=None if not kill else 5)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
            pipe(worker.process.stdout).close()
            worker.errors.close()
        self._workers = []
        self._folder.cleanup()


class KeptPools:
    """Pools kept alive between the builds of one resident process (watch, the preview):
    a build's speech workers have loaded their engine (the neural voice takes a second to
    load and warm up, longer than speaking an edited sentence), so the next build borrows
    them instead of starting new ones. A pool is lent to one build at a time and only for
    the very job it was started with (the same engine, voice, version and cache folder);
    one that failed is stopped, not kept. ``with KeptPools():`` makes it the process's
    keeper until the block ends, which stops every pool it holds."""

    _current: KeptPools | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self._idle: dict[str, list[Pool]] = {}

    def __enter__(self) -> KeptPools:
        with KeptPools._lock:
            KeptPools._current = self
        return self

    def __exit__(self, *exc) -> None:
        with KeptPools._lock:
            if KeptPools._current is self:
                KeptPools._current = None
            pools = [pool for kept in self._idle.values() for pool in kept]
            self._idle = {}
        for pool in pools:
            pool._stop(kill=False)

    @staticmethod
    def _key(job: dict, size: int) -> str:
        return json.dumps([job, size], sort_keys=True)

    @classmethod
    def pool(cls, job: dict, size: int) -> Pool:
        """An idle kept pool for ``job`` when the process has a keeper and one is there,
        else a new pool (lent to the keeper, if there is one, when it is closed)."""
        with cls._lock:
            keeper = cls._current
            kept = keeper._idle.get(cls._key(job, size), []) if keeper is not None else []
            pool = kept.pop() if kept else None
        if pool is None:
            pool = Pool(job, size)
        pool.keeper = keeper
        return pool

    def give_back(self, pool: Pool) -> None:
        with KeptPools._lock:
            if KeptPools._current is self:
                self._idle.setdefault(self._key(pool.job, pool.size), []).append(pool)
                return
        pool._stop(kill=False)  # the resident process has finished: nobody to lend it to

    def workers(self) -> int:
        """Worker processes kept idle (the tests count them)."""
        with KeptPools._lock:
            return sum(len(pool._workers) for kept in self._idle.values() for pool in kept)
