"""Content-addressed stores: synthesised sentences, and encoded sections.

Every entry is ``sha256 of the payload (32 bytes) + payload``; an entry whose digest does
not match (a crash mid-write on another system, a disk error, a hand edit) is deleted and
rebuilt. Writes go to a temporary name first and are renamed into place, so parallel
workers and builds never see half an entry.

``SpeechCache`` keys a sentence by everything that changes its sound: the text after the
lexicon, the engine and its version, voice, rate and volume; its payload is the sentence
as FLAC (lossless: the same samples come back; 55 % of the raw size for speech, encoded at
over 1000x real time; see the README's "Choices"). Entries of earlier versions (the sample
rate in 4 bytes, little endian, then raw 16-bit PCM) are still read. The encoded sections'
store is keyed in ``speech.sections``; its payload is the section's MP3 frames.

The sentence index (``SentenceIndex``) keeps each sentence's length, peak, sample rate and
digest, written when it is synthesised, so that laying out a narration reads no audio:
the index is trusted only while the entry file is the one it describes (same size and
modification time), and the audio is checked against the index's digest when it is read
for encoding. Least recently used entries are evicted past a size cap (``prune``), and a
long book's sentence audio past a budget is dropped once its units are encoded, its length
kept in the index (``drop_audio``).

Why one module of about 680 lines: the entry store, the sentence index and eviction share
one rule, that every file in the cache folder is data anyone could have written and is
read only through the checks here (regular files only, digests, bounded sizes); the index
is trusted only against the entry files it describes, and eviction keeps the two in step.
Split, each part would reach into the others' files; the parts are marked by the
``# ----`` section lines.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import re
import stat
import struct
import tempfile
import time
import zlib
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from ...hashing import HashingWriter, Sink
from .engines import Speech, VoiceSettings

FORMAT_VERSION = 2  # bump when the entry layout or the trimming of synthesised audio changes
_DIGEST = 32
_CHUNK = 1 << 20


def sentence_key(spoken_text: str, settings: VoiceSettings, engine_version: str) -> str:
    material = json.dumps(
        {
            "format": FORMAT_VERSION,
            "text": spoken_text,
            "engine": settings.engine,
            "engine_version": engine_version,
            "voice": settings.voice,
            "rate": settings.rate,
            "volume": settings.volume,
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


# ------------------------------------------------------------ the entry store

# Entries this process has already checked, with the file identity they had then. The three
# speech writers of one build read the same sentences; an entry is only ever replaced whole
# (a new file), and an edit in place changes its size or modification time, so either way
# a changed entry is checked again.
_checked: dict[Path, tuple[int, int, int, int]] = {}


def file_identity(status: os.stat_result) -> tuple[int, int, int, int]:
    return status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns


class EntryStore:
    """Digest-checked entries under ``folder/<first two of key>/<key><suffix>``."""

    def __init__(self, folder: Path, suffix: str):
        self.folder = Path(folder)
        self.suffix = suffix

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}{self.suffix}"

    def read(self, key: str) -> bytes | None:
        entry = self.read_entry(key)
        return None if entry is None else entry[1]

    def read_entry(self, key: str) -> tuple[bytes, bytes] | None:
        """(the stored digest, the payload) of a whole, digest-checked entry."""
        path = self.path(key)
        try:
            with open_regular(path) as stream:
                identity = file_identity(os.fstat(stream.fileno()))
                data = stream.read()
        except NotAnEntry:
            remove_entry(path)
            return None
        except OSError:
            return None
        if _checked.get(path) != identity:
            if len(data) < _DIGEST or hashlib.sha256(data[_DIGEST:]).digest() != data[:_DIGEST]:
                path.unlink(missing_ok=True)
                return None
            _checked[path] = identity
        return data[:_DIGEST], data[_DIGEST:]

    def discard(self, key: str) -> None:
        """Drops an entry whose digest holds but whose payload makes no sense (forged)."""
        path = self.path(key)
        _checked.pop(path, None)
        path.unlink(missing_ok=True)

    def identity(self, key: str) -> tuple[int, int, int, int] | None:
        """Which file holds the entry now (device, inode, size, modification time)."""
        try:
            return file_identity(os.stat(self.path(key)))
        except OSError:
            return None

    def stored_digest(self, key: str) -> bytes | None:
        """The SHA-256 of the payload, as the entry records it (not checked here)."""
        try:
            with open_regular(self.path(key)) as stream:
                digest = stream.read(_DIGEST)
        except OSError:
            return None
        return digest if len(digest) == _DIGEST else None

    def copy_payload(self, key: str, *targets: Sink) -> None:
        with open_regular(self.path(key)) as stream:
            stream.seek(_DIGEST)
            while chunk := stream.read(_CHUNK):
                for target in targets:
                    target.write(chunk)

    @contextmanager
    def writing(self, key: str) -> Iterator[HashingWriter]:
        """A stream for the payload; the entry appears, whole, when the block ends."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "w+b") as stream:
                stream.write(bytes(_DIGEST))
                hashing = HashingWriter(stream)
                yield hashing
                stream.seek(0)
                stream.write(hashing.digest.digest())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def write(self, key: str, payload: bytes) -> bytes:
        """Writes the entry; returns its digest."""
        with self.writing(key) as stream:
            stream.write(payload)
        return stream.digest.digest()


class NotAnEntry(OSError):
    """A cache path that holds something other than a regular file."""


def open_regular(path: Path) -> BinaryIO:
    """Opens ``path`` for reading only if it is a regular file, never following a link.

    A FIFO put in the cache would block an ordinary open for ever, and a link to a device
    (/dev/zero) would make a read endless: neither is opened as an entry. O_NONBLOCK makes
    opening a FIFO return at once, so that it can be seen for what it is."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a symbolic link
            raise NotAnEntry(f"a link: {path}") from None
        raise
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise NotAnEntry(f"not a regular file: {path}")
        os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def remove_entry(path: Path) -> None:
    """Removes a FIFO, link or other non-file where an entry belongs; it is rebuilt."""
    try:
        if not path.is_symlink() and path.is_dir():
            return  # a folder in the wrong place is the user's: left, and the entry not cached
        path.unlink()
    except OSError:
        pass


def read_small_file(path: Path, limit: int = 4096) -> str:
    """The text of a small regular file beside an entry ('' for anything else)."""
    try:
        with open_regular(path) as stream:
            return stream.read(limit).decode("utf-8")
    except NotAnEntry:
        remove_entry(path)
        return ""
    except (OSError, UnicodeDecodeError):
        return ""


# ------------------------------------------------------------ sentence audio

# Speech from any engine: anything outside these is a forged or damaged entry.
SAMPLE_RATES = range(4000, 384_001)
MAX_SAMPLES = 1 << 31  # a sentence of more than a day of audio is no sentence

# FLAC's fastest setting: 1 % larger than its strongest on speech, three times as fast to
# write (measured on the strategy's sentences, README "Choices").
FLAC_COMPRESSION = 0.0
_FLAC_MAGIC = b"fLaC"

_KEY = re.compile(r"[0-9a-f]{64}\Z")


def is_key(key: str) -> bool:
    return bool(_KEY.match(key))


def encode_speech(speech: Speech) -> bytes:
    import numpy as np
    import soundfile  # type: ignore[import-untyped]

    buffer = io.BytesIO()
    soundfile.write(buffer, np.frombuffer(speech.pcm, dtype="<i2"), speech.sample_rate, format="FLAC",
                    subtype="PCM_16", compression_level=FLAC_COMPRESSION)
    return buffer.getvalue()


def decode_speech(payload: bytes) -> Speech | None:
    """The speech in an entry's payload (FLAC, or the raw form of earlier versions); None
    for a payload that is no speech (made by hand, or damaged before it was hashed)."""
    if payload[:4] == _FLAC_MAGIC:
        import soundfile

        try:
            with soundfile.SoundFile(io.BytesIO(payload)) as flac:
                if flac.channels != 1 or flac.samplerate not in SAMPLE_RATES or not 0 <= flac.frames < MAX_SAMPLES:
                    return None
                samples = flac.read(dtype="int16")
                rate = flac.samplerate
        except (RuntimeError, ValueError, TypeError, OSError, MemoryError):  # soundfile's LibsndfileError is a RuntimeError
            return None
        return Speech(samples.astype("<i2", copy=False).tobytes(), rate)
    if len(payload) < 4 or len(payload) % 2 or struct.unpack("<I", payload[:4])[0] not in SAMPLE_RATES:
        return None
    return Speech(payload[4:], struct.unpack("<I", payload[:4])[0])


def pcm_peak(pcm: bytes) -> int:
    import numpy as np

    if len(pcm) < 2:
        return 0
    samples = np.frombuffer(pcm, dtype="<i2")
    return max(int(samples.max()), -int(samples.min()))


# ------------------------------------------------------------ the sentence index

@dataclass(frozen=True)
class SentenceFacts:
    """What laying out a narration needs of a cached sentence, without its audio."""

    samples: int
    peak: int  # the largest absolute sample
    sample_rate: int
    digest: str  # hex sha256 of the entry's payload, as stored in the entry


@dataclass(frozen=True)
class _Line:
    facts: SentenceFacts
    size: int  # the entry file's size and modification time when the line was written
    mtime_ns: int

    @property
    def dropped(self) -> bool:
        """The sentence's audio was dropped to keep the cache small (``drop_audio``): its
        length stands, and the audio is made again only if a unit must be encoded again."""
        return self.size == 0 and self.mtime_ns == 0


# Each index this process has parsed: (bytes parsed, their SHA-256, the lines, the dead
# lines). The three speech writers of a build, and every build in watch, read the same index,
# which between compactions only grows, so each parses only what was appended.
_PARSED: dict[Path, tuple[int, bytes, dict[str, "_Line"], int]] = {}


class SentenceIndex:
    """``sentences.index`` in the cache folder: one line a sentence, appended as it is
    synthesised (one write on a file opened for appending, so parallel workers never mix
    their lines), the last line for a key winning. Each line carries its own CRC, and
    every field is checked on reading: the file is data anyone could have written, so a
    line that does not parse is skipped (the sentence is measured from its audio again),
    and a file past ``LIMIT`` is read no further and rewritten from what it holds."""

    NAME = "sentences.index"
    LIMIT = 32 << 20  # about 200,000 sentences, 30 books of 100,000 words

    def __init__(self, folder: Path):
        self.path = Path(folder) / self.NAME
        self._lines: dict[str, _Line] | None = None
        self.dead = 0  # lines read that count for nothing (damaged, or replaced by a later line)

    def _load(self) -> dict[str, _Line]:
        if self._lines is not None:
            return self._lines
        lines: dict[str, _Line] = {}
        self.dead = 0
        data = b""
        try:
            with open_regular(self.path) as stream:
                data = stream.read(self.LIMIT + 1)
        except NotAnEntry:
            remove_entry(self.path)
        except OSError:
            pass
        over = len(data) > self.LIMIT
        data = data[: self.LIMIT]
        # A line still being appended by a worker is read next time, whole.
        data = data[: data.rfind(b"\n") + 1]
        start = 0
        kept = _PARSED.get(self.path)
        if kept is not None and kept[0] <= len(data) and hashlib.sha256(data[: kept[0]]).digest() == kept[1]:
            # The lines read before are there as they were (hashing them is a twentieth of
            # parsing them again): only what was appended since is parsed.
            start, _, kept_lines, self.dead = kept
            lines = dict(kept_lines)
        for raw in data[start:].split(b"\n"):
            if not raw:
                continue
            parsed = _parse_line(raw)
            if parsed is None:
                self.dead += 1
                continue
            key, line = parsed
            self.dead += key in lines
            lines[key] = line
        self._lines = lines
        if len(_PARSED) >= 64:
            _PARSED.clear()
        _PARSED[self.path] = (len(data), hashlib.sha256(data).digest(), dict(lines), self.dead)
        if over or self.dead > max(1000, len(lines)):
            self.compact()
        return lines

    def get(self, key: str) -> _Line | None:
        return self._load().get(key)

    def add(self, key: str, facts: SentenceFacts, size: int, mtime_ns: int) -> None:
        self.add_lines({key: _Line(facts, size, mtime_ns)})

    def add_lines(self, lines: dict[str, _Line]) -> None:
        """Appends the lines in one write (a cache dropping thousands of sentences' audio
        opens the index once)."""
        text = b"".join(_format_line(key, line) for key, line in lines.items())
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except OSError:
            return  # no index (a link or a folder in its place): sentences are measured from their audio
        try:
            if stat.S_ISREG(os.fstat(descriptor).st_mode):
                os.write(descriptor, text)
        finally:
            os.close(descriptor)
        if self._lines is not None:
            self._lines.update(lines)

    def compact(self, keep: Callable[[str], bool] = lambda key: True) -> None:
        """Rewrites the index with one line for each sentence it holds that ``keep``s."""
        lines = {key: line for key, line in self._load().items() if keep(key)}
        self._lines = lines
        try:
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-index-")
        except OSError:
            return
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(b"".join(_format_line(key, line) for key, line in sorted(lines.items())))
            os.replace(temporary, self.path)
        except OSError:
            Path(temporary).unlink(missing_ok=True)
        self.dead = 0


def _format_line(key: str, line: _Line) -> bytes:
    f = line.facts
    body = f"{key} {f.digest} {f.samples} {f.peak} {f.sample_rate} {line.size} {line.mtime_ns}"
    return f"{body} {zlib.crc32(body.encode('ascii')):08x}\n".encode("ascii")


def _parse_line(raw: bytes) -> tuple[str, _Line] | None:
    if len(raw) > 300:
        return None
    try:
        body, _, check = raw.decode("ascii").rpartition(" ")
        if check != f"{zlib.crc32(body.encode('ascii')):08x}":
            return None
        key, digest, samples, peak, rate, size, mtime_ns = body.split(" ")
        numbers = [int(samples), int(peak), int(rate), int(size), int(mtime_ns)]
    except (UnicodeDecodeError, ValueError):
        return None
    samples_, peak_, rate_, size_, mtime_ = numbers
    if not (is_key(key) and is_key(digest) and 0 <= samples_ < MAX_SAMPLES and 0 <= peak_ <= 32768
            and rate_ in SAMPLE_RATES and 0 <= size_ < 1 << 40 and 0 <= mtime_ < 1 << 63 and (size_ or not mtime_)):
        return None
    return key, _Line(SentenceFacts(samples_, peak_, rate_, digest), size_, mtime_)


# ------------------------------------------------------------ the sentence cache

# An entry's last use is its access time, set on use at most this often (a stat finds it).
_TOUCH_EVERY_NS = 3600 * 10**9
DEFAULT_CAP = 2 << 30  # bytes: the speech cache is pruned to this, least recently used first
# Bytes of sentence audio kept once a book's units are encoded (about three hours of speech as
# FLAC): a book up to about 30,000 words keeps all of it, so an edit re-synthesises only what
# changed; a longer book keeps its encoded units and every sentence's length, and an edit
# re-synthesises the few sentences of the unit it touches (README "Choices": a 108,000-word
# book's cache is then about half a gigabyte, not one and a half).
SENTENCE_AUDIO_BUDGET = 256 << 20
KEEP_RECENT = 3600  # seconds: entries used this recently are never evicted (the book being built)


def parse_size(text: str) -> int:
    """Bytes from "500M", "2G", "1.5GB" or a plain number of bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*", text, re.IGNORECASE)
    if not match:
        raise ValueError(f"{text!r} is not a size: write it as, for example, 500M or 2G")
    return int(float(match.group(1)) * 1024 ** " KMGT".index(match.group(2).upper() or " "))


@dataclass(frozen=True)
class CacheUsage:
    sentences: int
    sentence_bytes: int
    sections: int
    section_bytes: int
    other_bytes: int  # the index, the silent-characters answers, frame counts

    @property
    def total_bytes(self) -> int:
        return self.sentence_bytes + self.section_bytes + self.other_bytes


class SpeechCache:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._entries = EntryStore(self.folder, ".pcm")
        self.index = SentenceIndex(self.folder)
        self._memo: OrderedDict[str, tuple[tuple[int, int, int, int], Speech]] = OrderedDict()
        self._memo_bytes = 0

    # Setting a section's level reads its sentences three or four times over: the last few
    # decoded are kept (by the entry's file identity, so a replaced entry is read afresh).
    MEMO_BYTES = 64 << 20

    def get(self, key: str) -> Speech | None:
        """The sentence's speech, checked against its digest and (lazily, here where it is
        used) against the sentence index; a mismatch drops the entry, to be made again."""
        known = self._memo.get(key)
        if known is not None and known[0] == self._entries.identity(key):
            self._memo.move_to_end(key)
            return known[1]
        speech = self._get(key)
        identity = self._entries.identity(key)
        if speech is not None and identity is not None and len(speech.pcm) <= self.MEMO_BYTES // 4:
            self._memo[key] = (identity, speech)
            self._memo_bytes += len(speech.pcm)
            while self._memo_bytes > self.MEMO_BYTES:
                _, (_, dropped) = self._memo.popitem(last=False)
                self._memo_bytes -= len(dropped.pcm)
        return speech

    def _get(self, key: str) -> Speech | None:
        entry = self._entries.read_entry(key)
        if entry is None:
            return None
        digest, payload = entry
        speech = decode_speech(payload)
        if speech is None:
            # the digest matches but the payload is no speech: made by hand, synthesised again
            self._entries.discard(key)
            return None
        line = self.index.get(key) if is_key(key) else None
        if line is not None and line.facts.digest != digest.hex() and self._line_current(key, line):
            # The index describes this very file, yet another payload: the index line or the
            # entry was forged. Laid out from the index, the sentence would be mistimed.
            self._entries.discard(key)  # and with it the index line, which matches no file now
            return None
        return speech

    def identity(self, key: str) -> tuple[int, int, int, int] | None:
        return self._entries.identity(key)

    def put(self, key: str, speech: Speech) -> SentenceFacts:
        digest = self._entries.write(key, encode_speech(speech))
        facts = self._facts(speech, digest)
        if is_key(key):
            try:
                status = os.stat(self._entries.path(key))
            except OSError:
                return facts
            self.index.add(key, facts, status.st_size, status.st_mtime_ns)
        return facts

    def length(self, key: str) -> tuple[int, int] | None:
        """(samples, sample rate) of a cached sentence, from the index (no audio read); None
        if the sentence is not cached."""
        facts = self.sentence_facts(key)
        return None if facts is None else (facts.samples, facts.sample_rate)

    def sentence_facts(self, key: str) -> SentenceFacts | None:
        """The sentence's length, peak, sample rate and digest, from the index when it
        describes the entry as it is on disk (one stat, no audio read); otherwise measured
        from the audio and written to the index. None if the sentence is not cached."""
        line = self.index.get(key) if is_key(key) else None
        if line is not None:
            status = self._status(key)
            if status is None:
                return line.facts if line.dropped else None
            if (status.st_size, status.st_mtime_ns) == (line.size, line.mtime_ns):
                now = time.time_ns()
                if status.st_atime_ns < now - _TOUCH_EVERY_NS:
                    try:  # the last use, for eviction; the modification time stays as indexed
                        os.utime(self._entries.path(key), ns=(now, status.st_mtime_ns), follow_symlinks=False)
                    except OSError:
                        pass
                return line.facts
        entry = self._entries.read_entry(key)
        if entry is None:
            return None
        speech = decode_speech(entry[1])
        if speech is None:
            self._entries.discard(key)
            return None
        facts = self._facts(speech, entry[0])
        status = self._status(key)
        if status is not None and is_key(key):
            self.index.add(key, facts, status.st_size, status.st_mtime_ns)
        return facts

    def has_audio(self, key: str) -> bool:
        """Whether the sentence's audio is on disk (its length may be known without it)."""
        return self._status(key) is not None

    def drop_audio(self, budget: int | None = None) -> int:
        """Removes the least recently used sentences' audio until at most ``budget`` bytes of
        it are left, keeping each one's line in the index (marked dropped) so that laying
        out still reads no audio; returns how many were dropped. Only audio whose line is
        current goes: a sentence the index does not describe would have to be synthesised
        again just to be measured."""
        budget = SENTENCE_AUDIO_BUDGET if budget is None else budget
        sentences = [(status.st_atime_ns, str(path), status) for kind, path, status in self._files() if kind == "sentence"]
        total = sum(status.st_size for _, _, status in sentences)
        if total <= budget:
            return 0
        self.index = SentenceIndex(self.folder)  # read afresh: the workers appended lines since it was read
        chosen: dict[str, tuple[Path, _Line]] = {}
        for _, name, status in sorted(sentences):
            if total <= budget:
                break
            path = Path(name)
            key = path.stem
            line = self.index.get(key) if is_key(key) else None
            if line is None or (line.size, line.mtime_ns) != (status.st_size, status.st_mtime_ns):
                continue
            chosen[key] = (path, line)
            total -= status.st_size
        # The lines first: a line marked dropped beside audio still there is only measured
        # from the audio again, while audio gone under a line that still describes it would
        # be synthesised again.
        self.index.add_lines({key: _Line(line.facts, 0, 0) for key, (_, line) in chosen.items()})
        dropped = 0
        for key, (path, _) in chosen.items():
            try:
                path.unlink()
            except OSError:
                continue
            _checked.pop(path, None)
            remembered = self._memo.pop(key, None)
            if remembered is not None:
                self._memo_bytes -= len(remembered[1].pcm)
            dropped += 1
        return dropped

    def _status(self, key: str) -> os.stat_result | None:
        try:
            status = os.lstat(self._entries.path(key))
        except OSError:
            return None
        return status if stat.S_ISREG(status.st_mode) else None

    def _line_current(self, key: str, line: _Line) -> bool:
        status = self._status(key)
        return status is not None and (status.st_size, status.st_mtime_ns) == (line.size, line.mtime_ns)

    def _dropped(self, key: str) -> bool:
        line = self.index.get(key)
        return line is not None and line.dropped

    @staticmethod
    def _facts(speech: Speech, digest: bytes) -> SentenceFacts:
        return SentenceFacts(len(speech.pcm) // 2, pcm_peak(speech.pcm), speech.sample_rate, digest.hex())

    # ------------------------------------------------------------ size and eviction

    def _files(self) -> Iterator[tuple[str, Path, os.stat_result]]:
        """("sentence" | "section" | "other", path, status) for every regular file in the
        cache folder's own layout; links are never followed out of it."""
        for top in _scan(self.folder):
            if top.is_file(follow_symlinks=False):
                yield "other", Path(top.path), top.stat(follow_symlinks=False)
            elif top.is_dir(follow_symlinks=False) and len(top.name) == 2:
                for entry in _scan(Path(top.path)):
                    if entry.is_file(follow_symlinks=False):
                        kind = "sentence" if entry.name.endswith(".pcm") else "other"
                        yield kind, Path(entry.path), entry.stat(follow_symlinks=False)
            elif top.is_dir(follow_symlinks=False) and top.name in ("units", "sections", "audio-files"):  # sections: before units
                for folder in _scan(Path(top.path)):
                    if folder.is_dir(follow_symlinks=False) and len(folder.name) == 2:
                        for entry in _scan(Path(folder.path)):
                            if entry.is_file(follow_symlinks=False):
                                kind = "section" if entry.name.endswith(".mp3") else "other"
                                yield kind, Path(entry.path), entry.stat(follow_symlinks=False)

    def usage(self) -> CacheUsage:
        counts = {"sentence": [0, 0], "section": [0, 0], "other": [0, 0]}
        for kind, _, status in self._files():
            counts[kind][0] += 1
            counts[kind][1] += status.st_size
        return CacheUsage(counts["sentence"][0], counts["sentence"][1], counts["section"][0], counts["section"][1],
                          counts["other"][1])

    def prune(self, max_bytes: int = DEFAULT_CAP, keep_recent: float = KEEP_RECENT) -> tuple[int, int]:
        """Removes the least recently used sentences and sections until the cache holds at
        most ``max_bytes`` (never one used in the last ``keep_recent`` seconds); returns
        (entries removed, bytes freed). A section's frame count goes with it."""
        files = list(self._files())
        total = sum(status.st_size for _, _, status in files)
        if total <= max_bytes:
            return 0, 0
        recent = time.time() - keep_recent
        candidates = sorted((status.st_atime, str(path), status.st_size) for kind, path, status in files
                            if kind in ("sentence", "section") and status.st_atime < recent)
        removed = freed = 0
        for _, name, size in candidates:
            if total <= max_bytes:
                break
            path = Path(name)
            try:
                path.unlink()
            except OSError:
                continue
            _checked.pop(path, None)
            removed, freed, total = removed + 1, freed + size, total - size
            if path.suffix == ".mp3":
                counted = path.with_suffix(".seconds")
                try:
                    size = counted.stat().st_size
                    counted.unlink()
                    freed, total = freed + size, total - size
                except OSError:
                    pass
        if removed:
            self.index.compact(lambda key: self._status(key) is not None or self._dropped(key))
        return removed, freed


def _scan(folder: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except OSError:
        return []
