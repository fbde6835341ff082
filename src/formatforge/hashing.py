"""Content hashes: how builds, manifests and publishing recognise a file."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO, Protocol


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class Sink(Protocol):
    """Anything bytes can be written to: a file, or a ``HashingWriter`` over one."""

    def write(self, data: bytes, /) -> int: ...


class HashingWriter:
    """A stream's writes, hashed as they go: a file written whole in one pass need not be
    read back to be hashed (a long book's audio files are hundreds of megabytes)."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.stream.write(data)
