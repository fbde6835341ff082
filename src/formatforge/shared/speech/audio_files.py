"""What an audio file made of encoded units comes to (its size and SHA-256), known before a
byte of it is written.

A section file is its ID3 tag, then its units' frames; the whole-book file is its tag,
then every section's frames. So the file's bytes are named by the tag and the payload
digests its units' cache entries record. Once a file has been written, its size and
digest are kept under that name, in this process and in the speech cache folder; the
next build that would write the same bytes asks the build to link the output already in
place instead (``BuildContext.reuse``, which links only a file that has that size and
digest). An edit to a long book changes one or two sections, and writing and hashing the
others again cost seconds: a 108,000-word book's section files are 410 MB.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from .cache import EntryStore
from .sections import EncodedSection

_RECORD = re.compile(rb"([0-9]{1,15}) ([0-9a-f]{64})")
# Kept in this process, for watch and the preview; bounded, so a long session cannot grow it.
_KNOWN: dict[str, tuple[int, str]] = {}
_KNOWN_AT_MOST = 100_000


class AudioFiles:
    """The size and digest of audio files written before, by what they are made of."""

    def __init__(self, cache_folder: Path):
        self.store = EntryStore(cache_folder / "audio-files", ".txt")
        # Each unit's payload digest, read once: the whole-book file is named by every unit
        # its section files are named by.
        self._unit_digests: dict[str, bytes | None] = {}

    def name(self, tag: bytes, sections: list[EncodedSection]) -> str | None:
        """The file's name by its content: None when a unit's entry cannot be read."""
        material = hashlib.sha256(tag)
        for section in sections:
            for key in section.keys:
                if key not in self._unit_digests:
                    self._unit_digests[key] = section.store.stored_digest(key)
                digest = self._unit_digests[key]
                if digest is None:
                    return None
                material.update(digest)
        return material.hexdigest()

    def known(self, name: str) -> tuple[int, str] | None:
        if name in _KNOWN:
            return _KNOWN[name]
        payload = self.store.read(name)
        match = _RECORD.fullmatch(payload) if payload is not None else None
        if match is None:
            return None
        return int(match[1]), match[2].decode("ascii")

    def remember(self, name: str, size: int, digest: str) -> None:
        if _KNOWN.get(name) == (size, digest):
            return
        if len(_KNOWN) >= _KNOWN_AT_MOST:
            _KNOWN.clear()
        _KNOWN[name] = (size, digest)
        self.store.write(name, f"{size} {digest}".encode("ascii"))
