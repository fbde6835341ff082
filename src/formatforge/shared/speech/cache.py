"""Content-addressed stores: synthesised sentences, and encoded sections.

Every entry is ``sha256 of the payload (32 bytes) + payload``; an entry whose digest does
not match (a crash mid-write on another system, a disk error, a hand edit) is deleted and
rebuilt. Writes go to a temporary name first and are renamed into place, so parallel
workers and builds never see half an entry.

``SpeechCache`` keys a sentence by everything that changes its sound: the text after the
lexicon, the engine and its version, voice, rate and volume; its payload is the sample
rate (4 bytes, little endian) and 16-bit PCM. The encoded sections' store is keyed in
``speech.sections``; its payload is the section's MP3 frames.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import struct
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

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


class _Hashing:
    """A write-only stream that hashes what passes through it."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.digest.update(data)
        self.stream.write(data)


# Entries this process has already checked, with the file identity they had then. The three
# speech writers of one build read the same sentences; an entry is only ever replaced whole
# (a new file), and an edit in place changes its size or modification time, so either way
# a changed entry is checked again.
_checked: dict[Path, tuple[int, int, int, int]] = {}


def _identity(status: os.stat_result) -> tuple[int, int, int, int]:
    return status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns


class EntryStore:
    """Digest-checked entries under ``folder/<first two of key>/<key><suffix>``."""

    def __init__(self, folder: Path, suffix: str):
        self.folder = Path(folder)
        self.suffix = suffix

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}{self.suffix}"

    def read(self, key: str) -> bytes | None:
        path = self.path(key)
        try:
            with open_regular(path) as stream:
                identity = _identity(os.fstat(stream.fileno()))
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
        return data[_DIGEST:]

    def discard(self, key: str) -> None:
        """Drops an entry whose digest holds but whose payload makes no sense (forged)."""
        path = self.path(key)
        _checked.pop(path, None)
        path.unlink(missing_ok=True)

    def identity(self, key: str) -> tuple[int, int, int, int] | None:
        """Which file holds the entry now (device, inode, size, modification time)."""
        try:
            return _identity(os.stat(self.path(key)))
        except OSError:
            return None

    def copy_payload(self, key: str, *targets: BinaryIO) -> None:
        with open_regular(self.path(key)) as stream:
            stream.seek(_DIGEST)
            while chunk := stream.read(_CHUNK):
                for target in targets:
                    target.write(chunk)

    @contextmanager
    def writing(self, key: str) -> Iterator[_Hashing]:
        """A stream for the payload; the entry appears, whole, when the block ends."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "w+b") as stream:
                stream.write(bytes(_DIGEST))
                hashing = _Hashing(stream)
                yield hashing
                stream.seek(0)
                stream.write(hashing.digest.digest())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def write(self, key: str, payload: bytes) -> None:
        with self.writing(key) as stream:
            stream.write(payload)


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


# Speech from any engine: anything outside these is a forged or damaged entry.
SAMPLE_RATES = range(4000, 384_001)


class SpeechCache:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._entries = EntryStore(self.folder, ".pcm")

    def get(self, key: str) -> Speech | None:
        payload = self._entries.read(key)
        if payload is None:
            return None
        if len(payload) < 4 or len(payload) % 2 or struct.unpack("<I", payload[:4])[0] not in SAMPLE_RATES:
            # the digest matches but the payload is no speech: made by hand, synthesised again
            self._entries.discard(key)
            return None
        (sample_rate,) = struct.unpack("<I", payload[:4])
        return Speech(payload[4:], sample_rate)

    def identity(self, key: str) -> tuple[int, int, int, int] | None:
        return self._entries.identity(key)

    def length(self, key: str) -> tuple[int, int] | None:
        """(samples, sample rate) of a good entry, None if there is none. An entry this
        process has checked already is measured from its size and header alone, reading no
        PCM. (A stand-in: the sentence index of issue 21 point 2 answers this from the index.)"""
        path = self._entries.path(key)
        identity = self._entries.identity(key)
        if identity is not None and _checked.get(path) == identity:
            try:
                with open_regular(path) as stream:
                    header = stream.read(_DIGEST + 4)
                (sample_rate,) = struct.unpack("<I", header[_DIGEST:])
                return (identity[2] - _DIGEST - 4) // 2, sample_rate
            except (OSError, struct.error):
                pass
        speech = self.get(key)
        return None if speech is None else (len(speech.pcm) // 2, speech.sample_rate)

    def put(self, key: str, speech: Speech) -> None:
        self._entries.write(key, struct.pack("<I", speech.sample_rate) + speech.pcm)
