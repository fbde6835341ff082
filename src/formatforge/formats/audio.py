"""The audio edition: one MP3 per section, the whole book as one MP3 with chapters, and a
playlist, for people who listen rather than read.

Files (A2, A5): ``audio/00-about-this-recording.mp3`` (the opening announcement, A1), then
``audio/NN-<section>.mp3`` for every top-level section, each starting with its heading;
``<stem>.mp3``, the same audio end to end with an ID3v2 chapter (CHAP, listed in a CTOC)
for every file; and ``audio/<stem>.m3u8``. Constant bit rate, mono, 64 kbit/s by default.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from mutagen.id3 import (
    APIC,
    CHAP,
    CTOC,
    ID3,
    TALB,
    TCON,
    TDRC,
    TIT2,
    TLAN,
    TPE1,
    TPUB,
    TRCK,
    CTOCFlags,
)

from ..errors import WriterError
from ..model import Document, Metadata
from .. import speech
from ..speech.encode import DEFAULT_BITRATE, Mp3Writer, mp3_frames
from ..speech.script import OPENING_SLUG, body_sections
from . import BuildContext, Requirement, Writer, register

# ISO 639-2 codes for ID3's TLAN, which does not take BCP 47 tags.
_ISO_639_2 = {
    "en": "eng", "cy": "cym", "gd": "gla", "ga": "gle", "fr": "fra", "de": "deu", "es": "spa", "it": "ita",
    "pt": "por", "nl": "nld", "pl": "pol", "ar": "ara", "ur": "urd", "pa": "pan", "bn": "ben", "zh": "zho",
    "hi": "hin", "gu": "guj", "so": "som", "ro": "ron", "tr": "tur", "el": "ell", "sv": "swe", "da": "dan",
}
_BITRATES = (32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)  # what MPEG-2 layer III allows at 22.05 kHz


class _Tee:
    """Writes every MP3 frame to the section file and the whole-book file at once, so each
    section is encoded once."""

    def __init__(self, *streams):
        self.streams = streams

    def write(self, data: bytes) -> None:
        for stream in self.streams:
            stream.write(data)


def _language_code(language: str) -> str:
    primary = (language or "en").split("-")[0].lower()
    return _ISO_639_2.get(primary, primary if len(primary) == 3 else "und")


def _common_tags(tags: ID3, metadata: Metadata, cover: tuple[bytes, str] | None) -> None:
    artist = metadata.author or metadata.publisher
    if artist:
        tags.add(TPE1(encoding=3, text=[artist]))
    if metadata.publisher:
        tags.add(TPUB(encoding=3, text=[metadata.publisher]))
    tags.add(TALB(encoding=3, text=[metadata.title]))
    tags.add(TLAN(encoding=3, text=[_language_code(metadata.language)]))
    tags.add(TCON(encoding=3, text=["Speech"]))
    if metadata.date[:4].isdigit():
        tags.add(TDRC(encoding=3, text=[metadata.date[:4]]))
    if cover:
        tags.add(APIC(encoding=3, mime=cover[1], type=3, desc="Cover", data=cover[0]))


def _cover(document: Document) -> tuple[bytes, str] | None:
    if not document.metadata.cover:
        return None
    path = document.source_dir / document.metadata.cover
    if not path.is_file():
        raise WriterError("the cover image named in the front matter does not exist", path)
    mime = mimetypes.guess_type(path.name)[0] or "image/jpeg"
    return path.read_bytes(), mime


def _save(tags: ID3, path: Path) -> None:
    # No padding: the same tags always give the same bytes.
    tags.save(path, v2_version=4, padding=lambda info: 0)


@register
class AudioWriter(Writer):
    name = "audio"
    summary = "MP3 narration, a file per section and the whole book with chapters, for people who listen"
    option_names = speech.OPTION_NAMES + ("audio.bitrate",)

    def input_files(self, document, options) -> list[Path]:
        return [speech.lexicon_path(document.source_dir, options.get("audio.lexicon"))]

    def requirements(self) -> list[Requirement]:
        return [
            Requirement.command("espeak-ng", "espeak-ng"),
            Requirement.module("lameenc", "pip install lameenc"),
            Requirement.module("mutagen", "pip install mutagen"),
        ]

    def output_names(self, document: Document, options: dict[str, Any]) -> list[str]:
        stems = [f"00-{OPENING_SLUG}"] + [s.file_stem for s in body_sections(document)]
        return [f"audio/{stem}.mp3" for stem in stems] + [f"audio/{document.stem}.m3u8", f"{document.stem}.mp3"]

    def write(self, context: BuildContext) -> list[str]:
        document = context.document
        bitrate = int(context.option("audio.bitrate", DEFAULT_BITRATE))
        if bitrate not in _BITRATES:
            raise WriterError(f"audio.bitrate must be one of {', '.join(map(str, _BITRATES))} kbit/s")
        try:
            narration = speech.narrate(document, context.options, context.cache_dir, context.progress, 0.85)
        except ValueError as error:
            raise WriterError(str(error)) from error
        try:
            return self._write_files(context, narration, bitrate)
        finally:
            narration.close()

    def _write_files(self, context: BuildContext, narration: speech.Narration, bitrate: int) -> list[str]:
        document = context.document
        metadata = document.metadata
        cover = _cover(document)
        whole_name = f"{document.stem}.mp3"
        whole_path = context.path(whole_name)
        names: list[str] = []
        chapters: list[tuple[str, int, int]] = []  # title, start ms, end ms
        durations: list[float] = []
        position_ms = 0
        count = len(narration.sections)
        with open(whole_path, "wb") as whole:
            for index, section in enumerate(narration.sections):
                context.progress(0.85 + 0.15 * index / count, f"Encoding {section.section.title}")
                name = f"audio/{section.section.file_stem}.mp3"
                path = context.path(name)
                with open(path, "wb") as part:
                    mp3 = Mp3Writer(_Tee(part, whole), narration.sample_rate, bitrate, narration.gain)
                    for pcm in narration.section_pcm(section):
                        mp3.write(pcm)
                    mp3.close()
                # The encoder's own delay and padding are in the frames: time the chapter
                # by the frames, so it matches the section file exactly.
                seconds = sum(f.samples / f.sample_rate for f in mp3_frames(path.read_bytes()))
                end_ms = position_ms + round(seconds * 1000)
                chapters.append((section.section.title, position_ms, end_ms))
                durations.append(seconds)
                position_ms = end_ms
                names.append(name)

        for number, (name, section) in enumerate(zip(names, narration.sections), start=1):
            tags = ID3()
            tags.add(TIT2(encoding=3, text=[section.section.title]))
            tags.add(TRCK(encoding=3, text=[f"{number}/{count}"]))
            _common_tags(tags, metadata, cover)
            _save(tags, context.path(name))

        tags = ID3()
        tags.add(TIT2(encoding=3, text=[metadata.title]))
        _common_tags(tags, metadata, cover)
        element_ids = [f"chp{number:03d}" for number in range(1, count + 1)]
        tags.add(CTOC(element_id="toc", flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                      child_element_ids=element_ids, sub_frames=[TIT2(encoding=3, text=["Contents"])]))
        for element_id, (title, start, end) in zip(element_ids, chapters):
            tags.add(CHAP(element_id=element_id, start_time=start, end_time=end, start_offset=0xFFFFFFFF,
                          end_offset=0xFFFFFFFF, sub_frames=[TIT2(encoding=3, text=[title])]))
        _save(tags, whole_path)

        playlist_name = f"audio/{document.stem}.m3u8"
        artist = metadata.author or metadata.publisher
        lines = ["#EXTM3U", f"#PLAYLIST:{metadata.title}"]
        for name, section, seconds in zip(names, narration.sections, durations):
            label = f"{artist} - {section.section.title}" if artist else section.section.title
            lines += [f"#EXTINF:{round(seconds)},{label}", Path(name).name]
        context.path(playlist_name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        context.progress(1.0, f"Audio ready: {len(names)} sections, {position_ms / 60000:.1f} minutes")
        return names + [playlist_name, whole_name]
