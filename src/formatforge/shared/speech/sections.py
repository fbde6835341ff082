"""Encoded sections: each section's MP3 frames, encoded once and kept in the speech cache.

The audio edition, the DAISY book and the read-aloud EPUB all take their section audio
from here, so with one cache folder a section is encoded once for all three, and a
rebuild after an edit encodes only the sections whose sound changed. The whole-book MP3
is the section entries end to end: lameenc writes bare, constant-bit-rate frames, which
join without re-encoding.

A section's key is everything its frames are made of: the cache key of every sentence and
the sample it starts at, the section's length (its closing pause), the sample rate, the
loudness it is brought to and how (``loudness``), the bit rate and the encoder. Sections that miss the cache are encoded in parallel:
this process takes one share, ``python -m formatforge.shared.speech.worker`` processes the
others; each streams PCM from the sentence cache into the entry, so memory stays flat.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from ...progress import Progress, no_progress
from .cache import FORMAT_VERSION, EntryStore, SpeechCache, read_small_file
from .encode import ENCODER_VERSION, Mp3Writer, mp3_duration
from .loudness import METHOD as LEVEL_METHOD, processed, section_gain
from .processes import Pool, Task, WorkerFailed, Workers, default_workers, share_out

if TYPE_CHECKING:
    from .narration import NarratedSection, Narration

# A worker process takes about as long to start as encoding 45 s of speech here: below
# this much audio for a worker, this process encodes it sooner itself.
PARALLEL_MIN_SECONDS = 60.0



@dataclass(frozen=True)
class SectionJob:
    """What a worker needs to encode one section, with no reference to the narration."""

    key: str
    title: str
    pieces: tuple[tuple[int, str], ...]  # (sample the sentence starts at, sentence cache key)
    samples: int
    sample_rate: int
    loudness: float  # the integrated loudness (LUFS) the section is brought to
    bitrate: int


@dataclass(frozen=True)
class EncodedSection:
    narrated: NarratedSection
    key: str
    seconds: float  # counted from the frames, as a player counts them
    store: EntryStore

    @property
    def title(self) -> str:
        return self.narrated.section.title

    @property
    def file_stem(self) -> str:
        return self.narrated.section.file_stem

    def copy_to(self, *streams) -> None:
        self.store.copy_payload(self.key, *streams)

    def data(self) -> bytes:
        payload = self.store.read(self.key)
        if payload is None:
            raise RuntimeError(f"the speech cache lost the encoded section {self.title!r}")
        return payload


def section_store(cache: SpeechCache) -> EntryStore:
    return EntryStore(cache.folder / "sections", ".mp3")


def section_job(section: NarratedSection, sample_rate: int, loudness: float, bitrate: int) -> SectionJob:
    pieces = tuple((timed.start_sample, timed.key) for timed in section.sentences)
    material = json.dumps({"format": FORMAT_VERSION, "encoder": ENCODER_VERSION, "pieces": pieces,
                           "samples": section.samples, "sample_rate": sample_rate, "loudness": repr(loudness),
                           "level": LEVEL_METHOD,
                           "bitrate": bitrate})
    key = hashlib.sha256(material.encode()).hexdigest()
    return SectionJob(key, section.section.title, pieces, section.samples, sample_rate, loudness, bitrate)


def section_pcm(cache: SpeechCache, pieces, samples: int) -> Iterator[bytes]:
    """The section's audio in pieces (silence, sentence, silence, …), before the gain; the
    pieces join into exactly ``samples`` samples."""
    position = 0
    for start, key in pieces:
        speech = cache.get(key)
        if speech is None:
            raise RuntimeError("the speech cache lost a sentence of the section being encoded")
        yield bytes(2 * (start - position))
        yield speech.pcm
        position = start + len(speech.pcm) // 2
    yield bytes(2 * (samples - position))


def encode_job(job: SectionJob, cache: SpeechCache, store: EntryStore) -> None:
    def pieces() -> Iterator[bytes]:
        return section_pcm(cache, job.pieces, job.samples)

    # Each section to the same loudness (A3), measured on its own audio: a section is
    # encoded as soon as its sentences are spoken, with no wait for the rest of the book.
    envelopes: dict = {}  # each sentence's true-peak envelope, worked out once for every pass
    gain = section_gain(pieces, job.sample_rate, job.loudness, envelopes=envelopes)
    with store.writing(job.key) as stream:
        mp3 = Mp3Writer(stream, job.sample_rate, job.bitrate)
        for pcm in processed(pieces(), job.sample_rate, gain, envelopes=envelopes):
            mp3.write(pcm)
        mp3.close()


def encoded_sections(narration: Narration, bitrate: int, progress: Progress = no_progress,
                     progress_range: tuple[float, float] = (0.0, 1.0), workers: int = 0,
                     pool: Pool | None = None) -> list[EncodedSection]:
    """Every section of the narration as MP3 frames, encoding only those the cache lacks
    (on ``pool``'s workers if it has any, after the encodes it is already running)."""
    store = section_store(narration.cache)
    if pool is not None:
        try:
            pool.run(pool.idle)
        except WorkerFailed as failure:
            raise RuntimeError(f"MP3 encoding failed: {failure}") from failure
    jobs = [section_job(section, narration.sample_rate, narration.loudness, bitrate) for section in narration.sections]

    def seconds(job: SectionJob) -> float | None:
        payload = store.read(job.key)  # a corrupt entry is dropped here, and encoded again
        if payload is None:
            return None
        # Counting the frames of a long book takes longer than reading it: the count is kept
        # beside the entry, under the digest of the frames it counts.
        counted = store.path(job.key).with_suffix(".seconds")
        digest = hashlib.sha256(payload).hexdigest()
        try:
            kept_digest, kept = read_small_file(counted).split()
            if kept_digest == digest:
                return float(kept)
        except ValueError:
            pass
        length = mp3_duration(payload)
        if length <= 0 and payload:  # a forged entry with a good digest but no MP3 frames
            store.discard(job.key)
            return None
        staging = counted.with_suffix(f".{os.getpid()}.tmp")
        staging.write_text(f"{digest} {length!r}", encoding="ascii")
        os.replace(staging, counted)
        return length

    known = {job.key: seconds(job) for job in jobs}
    lengths = {key: length for key, length in known.items() if length is not None}
    missing = list({job.key: job for job in jobs if job.key not in lengths}.values())
    if missing:
        encode_jobs(missing, narration.cache, store, workers, _Reporter(progress, progress_range, missing), pool=pool)
        for job in missing:
            length = seconds(job)
            if length is None:
                raise RuntimeError(f"the section {job.title!r} did not reach the speech cache")
            lengths[job.key] = length
    return [EncodedSection(section, job.key, lengths[job.key], store) for section, job in zip(narration.sections, jobs)]


class _Reporter:
    """Progress per section, weighted by its length, with a time estimate."""

    def __init__(self, progress: Progress, progress_range: tuple[float, float], jobs: list[SectionJob]):
        self.progress, (self.start, self.end) = progress, progress_range
        self.total = max(1, sum(job.samples for job in jobs))
        self.done = 0
        self.started = time.monotonic()

    def starting(self, job: SectionJob) -> None:
        fraction = self.done / self.total
        elapsed = time.monotonic() - self.started
        left = f", about {elapsed / fraction - elapsed:.0f} s left" if fraction > 0 else ""
        self.progress(self.start + (self.end - self.start) * fraction, f"Encoding {job.title}{left}")

    def finished(self, job: SectionJob) -> None:
        self.done += job.samples


def encode_jobs(jobs: list[SectionJob], cache: SpeechCache, store: EntryStore, workers: int = 0,
                reporter: _Reporter | None = None, pool: Pool | None = None, wait: bool = True) -> None:
    """Encode ``jobs`` into ``store``: on ``pool``'s workers if it has any (and, unless
    ``wait``, without waiting for them: ``pool.run`` or a later call finishes them);
    otherwise this process takes the heaviest share, new workers the rest."""
    reporter = reporter or _Reporter(no_progress, (0.0, 1.0), jobs)
    if pool is not None and pool.started:
        tasks = []
        for job in sorted(jobs, key=lambda job: -job.samples):  # the longest first: no long one left for last
            def on_line(line: str, job=job) -> bool:
                reporter.finished(job)
                return True

            tasks.append(Task(["encode", {**asdict(job), "store": str(store.folder)}], on_line, watched=False))
            reporter.starting(job)
            pool.submit(tasks[-1])
        if wait:
            try:
                pool.run(lambda: all(task.finished for task in tasks))
            except WorkerFailed as failure:
                raise RuntimeError(f"MP3 encoding failed: {failure}") from failure
        return
    shares = share_out(jobs, workers or default_workers(), lambda job: job.samples)
    # Parallel only pays when the work a worker would take off this process outlasts its start.
    if len(shares) > 1 and sum(job.samples / job.sample_rate for job in shares[1]) < PARALLEL_MIN_SECONDS:
        shares = [[job for share in shares for job in share]]

    def on_worker_line(worker: int, line: str) -> None:
        word, _, number = line.partition(" ")
        job = shares[1 + worker][int(number)]
        if word == "start":
            reporter.starting(job)
        else:
            reporter.finished(job)

    with Workers() as processes:
        for share in shares[1:]:
            processes.start({"task": "encode", "cache": str(cache.folder), "store": str(store.folder),
                             "jobs": [asdict(job) for job in share]})
        for job in shares[0]:
            reporter.starting(job)
            encode_job(job, cache, store)
            reporter.finished(job)
        try:
            processes.follow(on_worker_line)
        except WorkerFailed as failure:
            raise RuntimeError(f"MP3 encoding failed: {failure}") from failure


def encode_message(fields: dict, cache: SpeechCache) -> None:
    """A pool worker's side of ``encode_jobs``: one section."""
    fields = dict(fields)
    store = EntryStore(Path(fields.pop("store")), ".mp3")
    encode_job(SectionJob(**{**fields, "pieces": tuple(tuple(piece) for piece in fields["pieces"])}), cache, store)


def run_encode_task(task: dict, report: Callable[[str], None]) -> None:
    """A worker's side of ``encode_jobs``."""
    cache, store = SpeechCache(Path(task["cache"])), EntryStore(Path(task["store"]), ".mp3")
    for number, fields in enumerate(task["jobs"]):
        job = SectionJob(**{**fields, "pieces": tuple(tuple(piece) for piece in fields["pieces"])})
        report(f"start {number}")
        encode_job(job, cache, store)
        report(f"done {number}")
