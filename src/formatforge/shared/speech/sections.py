"""Encoding (the last stage of the narration): each unit's MP3 frames, encoded once and kept
in the speech cache, and every section's file as its units' frames end to end.

The audio edition, the DAISY book and the read-aloud EPUB all take their section audio
from here, so with one cache folder a unit is encoded once for all three, and a rebuild
after an edit encodes only the units whose sound changed (``layout`` says how units are
cut so that their frames join exactly). lameenc writes bare, constant-bit-rate frames, so
units join into sections, and sections into the whole-book MP3, without re-encoding.

A unit's key is everything its frames are made of: the cache key of every sentence and the
sample it starts at in the unit, the samples fed to the encoder, the sample rate, the
loudness it is brought to and how (``loudness``), the bit rate and the encoder. It says
nothing of where the unit stands in its section or book, so a unit moved by an edit before
it is found again. Each unit is brought to the book's loudness on its own (A3): its gain is
set from its own audio, so an edit costs the unit's audio alone, and a section made of
units at −18 LUFS measures −18 LUFS.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ...hashing import Sink
from ...progress import Progress, no_progress
from .cache import FORMAT_VERSION, EntryStore, SpeechCache, file_identity, is_key, open_regular
from .encode import ENCODER_VERSION, Mp3Writer, mp3_frames
from .layout import NarratedSection, Unit, frame_rule
from .loudness import METHOD as LEVEL_METHOD, processed, section_gain
from .processes import Pool, Task, WorkerFailed

# A worker process takes about as long to start as encoding 45 s of speech here: below
# this much audio to encode, this process encodes it sooner itself.
PARALLEL_MIN_SECONDS = 60.0
UNIT_FORMAT = "unit-v1"  # part of every unit's key: how a unit is fed to the encoder


@dataclass(frozen=True)
class UnitJob:
    """What a worker needs to encode one unit, with no reference to the narration."""

    key: str
    title: str  # the section's, for progress
    pieces: tuple[tuple[int, str], ...]  # (sample the sentence starts at in the unit, sentence cache key)
    fed: int  # samples given to the encoder
    frames: int  # MP3 frames it must come to (its length in the section)
    sample_rate: int
    loudness: float  # the integrated loudness (LUFS) the unit is brought to
    bitrate: int


@dataclass(frozen=True)
class EncodedSection:
    narrated: NarratedSection
    keys: tuple[str, ...]  # its units' entries, in order
    seconds: float  # counted in frames, as a player counts them
    store: EntryStore

    @property
    def title(self) -> str:
        return self.narrated.section.title

    @property
    def file_stem(self) -> str:
        return self.narrated.section.file_stem

    def copy_to(self, *streams: Sink) -> None:
        for key in self.keys:
            self.store.copy_payload(key, *streams)

    def data(self) -> bytes:
        parts = []
        for key in self.keys:
            payload = self.store.read(key)
            if payload is None:
                raise RuntimeError(f"the speech cache lost a unit of the encoded section {self.title!r}")
            parts.append(payload)
        return b"".join(parts)


@dataclass(frozen=True)
class EncodedBook:
    sections: list[EncodedSection]
    encoded: int  # units encoded in this run (early ones included)
    reused: int  # units taken from the cache

    @property
    def summary(self) -> str:
        return f"{self.encoded} of {self.encoded + self.reused} audio units encoded, {self.reused} reused"


def unit_store(cache: SpeechCache) -> EntryStore:
    return EntryStore(cache.folder / "units", ".mp3")


def unit_job(unit: Unit, title: str, sample_rate: int, loudness: float, bitrate: int) -> UnitJob:
    frames = frame_rule(sample_rate).frames(unit.fed)
    material = json.dumps({"format": FORMAT_VERSION, "unit": UNIT_FORMAT, "encoder": ENCODER_VERSION,
                           "pieces": unit.pieces, "fed": unit.fed, "sample_rate": sample_rate,
                           "loudness": repr(loudness), "level": LEVEL_METHOD, "bitrate": bitrate})
    key = hashlib.sha256(material.encode()).hexdigest()
    return UnitJob(key, title, unit.pieces, unit.fed, frames, sample_rate, loudness, bitrate)


def section_jobs(section: NarratedSection, loudness: float, bitrate: int) -> list[UnitJob]:
    return [unit_job(unit, section.section.title, section.sample_rate, loudness, bitrate) for unit in section.units]


def unit_pcm(cache: SpeechCache, job: UnitJob) -> Iterator[bytes]:
    """The unit's audio in pieces (silence, sentence, silence, …), before the gain; the
    pieces join into exactly ``job.fed`` samples."""
    position = 0
    for start, key in job.pieces:
        speech = cache.get(key)
        if speech is None:
            raise RuntimeError("the speech cache lost a sentence of the unit being encoded")
        yield bytes(2 * (start - position))
        yield speech.pcm
        position = start + len(speech.pcm) // 2
    if position > job.fed:
        raise RuntimeError("a unit's speech runs past the samples it is encoded from")
    yield bytes(2 * (job.fed - position))


def encode_unit(job: UnitJob, cache: SpeechCache, store: EntryStore) -> None:
    def pieces() -> Iterator[bytes]:
        return unit_pcm(cache, job)

    envelopes: dict = {}  # each sentence's true-peak envelope, worked out once for every pass
    gain = section_gain(pieces, job.sample_rate, job.loudness, envelopes=envelopes)
    with store.writing(job.key) as stream:
        mp3 = Mp3Writer(stream, job.sample_rate, job.bitrate)
        for pcm in processed(pieces(), job.sample_rate, gain, envelopes=envelopes):
            mp3.write(pcm)
        mp3.close()


# Units this process has found whole, with the file identity they had then: the three
# speech writers of a build, and every build of a resident process, ask about the same
# units, and reading and counting every frame of a long book costs a tenth of a second or
# more each time. A unit replaced or changed on disk has another identity and is checked again.
_whole: dict[Path, tuple[int, int, int, int]] = {}


class CheckedUnits:
    """The units found whole by this build or an earlier one, each with the look its file had
    then (device, inode, size, modification and change times), in the store's folder: a
    new process need not read and count the frames of every unit of a long book again (3 s
    for 108,000 words) to use them. The rule is the outputs' (``build.FileDigests``): a unit
    is only ever written whole and renamed into place, so any change to its file changes
    its change time, which no program can set back; such a unit is checked again. The file is
    read as hostile: a line that does not parse counts for nothing, and one past ``LIMIT``
    is not read at all."""

    NAME = "checked"
    LIMIT = 16 << 20

    def __init__(self, store: EntryStore):
        self.path = store.folder / self.NAME
        self._looks: dict[str, tuple[int, ...]] | None = None
        self.changed = False
        self.asked: set[str] = set()  # this build's units

    @property
    def looks(self) -> dict[str, tuple[int, ...]]:
        if self._looks is None:
            self._looks = {}
            try:
                with open_regular(self.path) as stream:
                    data = stream.read(self.LIMIT + 1)
            except OSError:
                data = b""
            for line in data.split(b"\n") if len(data) <= self.LIMIT else []:
                fields = line.split(b" ")
                if len(fields) != 6 or not is_key(fields[0].decode("ascii", "replace")):
                    continue
                try:
                    look = tuple(int(field) for field in fields[1:])
                except ValueError:
                    continue
                self._looks[fields[0].decode("ascii")] = look
        return self._looks

    def holds(self, key: str, look: tuple[int, ...]) -> bool:
        self.asked.add(key)
        return self.looks.get(key) == look

    def add(self, key: str, look: tuple[int, ...]) -> None:
        self.asked.add(key)
        if self.looks.get(key) != look:
            self.looks[key] = look
            self.changed = True

    def save(self) -> None:
        if not self.changed:
            return
        def text(keys: Iterable[str]) -> bytes:
            return "".join(f"{key} {' '.join(map(str, self.looks[key]))}\n" for key in sorted(keys)).encode("ascii")

        data = text(self.looks)
        if len(data) > self.LIMIT:  # units of many books and editions: this build's are kept
            data = text(self.asked & self.looks.keys())
        try:
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-checked-")
        except OSError:
            return  # an unwritable cache: the units are checked again next time
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            os.replace(temporary, self.path)
        except OSError:
            Path(temporary).unlink(missing_ok=True)
        self.changed = False


def _good_entry(store: EntryStore, job: UnitJob, checked: CheckedUnits) -> bool:
    """Whether the store holds the unit: its digest checked (a corrupt entry is dropped
    here, and encoded again) and its frames as many as its place in the section needs."""
    path = store.path(job.key)
    try:
        status = os.lstat(path)
    except OSError:
        return False
    identity = file_identity(status)
    look = (*identity, status.st_ctime_ns)
    if stat.S_ISREG(status.st_mode) and (_whole.get(path) == identity or checked.holds(job.key, look)):
        _whole[path] = identity
        return True
    payload = store.read(job.key)
    if payload is None:
        return False
    if sum(1 for _ in mp3_frames(payload)) != job.frames:  # forged, or an encoder that broke the rule
        store.discard(job.key)
        return False
    _whole[path] = identity
    checked.add(job.key, look)
    return True


@dataclass
class EncodingProgress:
    """Progress over the units being encoded, weighted by their length, with a time estimate."""

    progress: Progress
    start: float
    end: float
    total: int
    done: int = 0
    started: float = field(default_factory=time.monotonic)

    def starting(self, job: UnitJob) -> None:
        fraction = self.done / max(1, self.total)
        elapsed = time.monotonic() - self.started
        left = f", about {elapsed / fraction - elapsed:.0f} s left" if fraction > 0 else ""
        self.progress(self.start + (self.end - self.start) * fraction, f"Encoding {job.title}{left}")

    def finished(self, job: UnitJob, line: str = "") -> bool:
        self.done += job.fed
        return True


@dataclass
class UnitEncoder:
    """Encodes units into the store: on the pool's workers when it has any running (or the
    work outlasts starting some), otherwise in this process. Remembers what it encoded."""

    cache: SpeechCache
    store: EntryStore
    pool: Pool | None = None
    encoded: set[str] = field(default_factory=set)
    tasks: list[Task] = field(default_factory=list)

    def submit(self, jobs: Iterable[UnitJob], progress: EncodingProgress | None = None) -> None:
        """Starts encoding ``jobs`` (each key once); ``finish`` waits for them."""
        jobs = [job for job in {job.key: job for job in jobs}.values() if job.key not in self.encoded]
        if not jobs:
            return
        self.encoded.update(job.key for job in jobs)
        progress = progress or EncodingProgress(no_progress, 0.0, 1.0, sum(job.fed for job in jobs))
        seconds = sum(job.fed / job.sample_rate for job in jobs)
        if self.pool is None or not (self.pool.started or seconds >= PARALLEL_MIN_SECONDS):
            for job in jobs:
                progress.starting(job)
                encode_unit(job, self.cache, self.store)
                progress.finished(job)
            return
        self.pool.grow(max(1, math.ceil(seconds / max(PARALLEL_MIN_SECONDS, 1e-9))))
        for job in sorted(jobs, key=lambda job: -job.fed):  # the longest first: no long one left for last
            task = Task(["encode", {**asdict(job), "store": str(self.store.folder)}],
                        _Finished(progress, job), watched=False)
            progress.starting(job)
            self.tasks.append(task)
            self.pool.submit(task)

    def finish(self) -> None:
        if self.pool is None or not self.tasks:
            return
        try:
            self.pool.run(lambda: all(task.finished for task in self.tasks))
        except WorkerFailed as failure:
            raise RuntimeError(f"MP3 encoding failed: {failure}") from failure
        self.tasks = []


@dataclass(frozen=True)
class _Finished:
    """A pool task's reply handler: the unit's one line says it is in the store."""

    progress: EncodingProgress
    job: UnitJob

    def __call__(self, line: str) -> bool:
        return self.progress.finished(self.job, line)


def encoded_sections(sections: list[NarratedSection], loudness: float, bitrate: int, encoder: UnitEncoder,
                     progress: Progress = no_progress, progress_range: tuple[float, float] = (0.0, 1.0),
                     before_encoding: Callable[[list[UnitJob]], None] = lambda jobs: None) -> EncodedBook:
    """Every section as MP3 frames, encoding only the units the store lacks (after those
    ``encoder`` is already encoding have finished); ``before_encoding`` is given those units
    first (the narration makes again any sentence audio they need that was dropped)."""
    encoder.finish()
    jobs = [section_jobs(section, loudness, bitrate) for section in sections]
    every = {job.key: job for section in jobs for job in section}
    checked = CheckedUnits(encoder.store)
    missing = [job for job in every.values() if not _good_entry(encoder.store, job, checked)]
    if missing:
        before_encoding(missing)
    encoder.encoded.difference_update(job.key for job in missing)  # an early one that went bad is encoded again
    encoder.submit(missing, EncodingProgress(progress, *progress_range, sum(job.fed for job in missing)))
    encoder.finish()
    for job in missing:
        if not _good_entry(encoder.store, job, checked):
            raise RuntimeError(f"a unit of the section {job.title!r} did not reach the speech cache")
    checked.save()
    encoded = len(encoder.encoded & every.keys())
    result = []
    for section, section_jobs_ in zip(sections, jobs):
        frames = sum(job.frames for job in section_jobs_)
        seconds = frames * frame_rule(section.sample_rate).samples / section.sample_rate
        result.append(EncodedSection(section, tuple(job.key for job in section_jobs_), seconds, encoder.store))
    return EncodedBook(result, encoded, len(every) - encoded)


def encode_message(fields: dict, cache: SpeechCache) -> None:
    """A pool worker's side of ``UnitEncoder.submit``: one unit."""
    fields = dict(fields)
    store = EntryStore(Path(fields.pop("store")), ".mp3")
    encode_unit(UnitJob(**{**fields, "pieces": tuple(tuple(piece) for piece in fields["pieces"])}), cache, store)

