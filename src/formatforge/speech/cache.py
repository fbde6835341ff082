"""A content-addressed store of synthesised sentences.

The key is everything that changes the sound: the text after the lexicon, the engine and
its version, voice, rate and volume. An entry is ``digest of payload (32 bytes) + sample
rate (4 bytes, little endian) + 16-bit PCM``; an entry whose digest does not match (a
crash mid-write on another system, a disk error, a hand edit) is deleted and rebuilt.
Writes go to a temporary name first and are renamed into place, so parallel workers and
builds never see half an entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
from pathlib import Path

from .engines import Speech, VoiceSettings

FORMAT_VERSION = 1  # bump when the entry layout or the trimming of synthesised audio changes


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


class SpeechCache:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.pcm"

    def get(self, key: str) -> Speech | None:
        path = self._path(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        digest, header, payload = data[:32], data[32:36], data[36:]
        if len(data) < 36 or hashlib.sha256(payload).digest() != digest:
            path.unlink(missing_ok=True)
            return None
        (sample_rate,) = struct.unpack("<I", header)
        return Speech(payload, sample_rate)

    def has(self, key: str) -> bool:
        return self.get(key) is not None

    def put(self, key: str, speech: Speech) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        entry = hashlib.sha256(speech.pcm).digest() + struct.pack("<I", speech.sample_rate) + speech.pcm
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(entry)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
