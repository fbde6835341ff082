"""The audio edition: one MP3 per section, the whole book as one MP3 with chapters, and a
playlist, for people who listen rather than read.

Files (A2, A5): ``audio/00-about-this-recording.mp3`` (the opening announcement, A1), then
``audio/NN-<section>.mp3`` for every top-level section, each starting with its heading;
``<stem>.mp3``, the same audio end to end with an ID3v2 chapter (CHAP, listed in a CTOC)
for every file; and ``audio/<stem>.m3u8``. Constant bit rate, mono, 64 kbit/s by default.

The frames come from the speech cache's encoded sections (``speech.sections``): the
whole-book file is the section files' frames joined, so a rebuild after an edit encodes
only the sections whose sound changed.
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
    TXXX,
    TPUB,
    TRCK,
    CTOCFlags,
)

from ..labels import labels_for
from ..errors import WriterError
from ..front_matter import locate_image
from ..model import Document, Metadata
from ..shared.speech.engines import voice_label
from ..shared.speech.script import section_file_stems
from ..shared.speech.sections import EncodedSection
from .speech_edition import SpeechWriter
from . import BuildContext, Requirement, register

# ISO 639-2 codes for ID3's TLAN, which does not take BCP 47 tags.
_ISO_639_2 = {
    "en": "eng", "cy": "cym", "gd": "gla", "ga": "gle", "fr": "fra", "de": "deu", "es": "spa", "it": "ita",
    "pt": "por", "nl": "nld", "pl": "pol", "ar": "ara", "ur": "urd", "pa": "pan", "bn": "ben", "zh": "zho",
    "hi": "hin", "gu": "guj", "so": "som", "ro": "ron", "tr": "tur", "el": "ell", "sv": "swe", "da": "dan",
}

def _language_code(language: str) -> str:
    primary = (language or "en").split("-")[0].lower()
    return _ISO_639_2.get(primary, primary if len(primary) == 3 else "und")


def _common_tags(tags: ID3, metadata: Metadata, cover: tuple[bytes, str] | None, narrator: str = "") -> None:
    if narrator:  # ID3 has no narrator frame: the user-defined one audiobook tools read
        tags.add(TXXX(encoding=3, desc="NARRATOR", text=[narrator]))
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
    # `check` has held the cover to the image rules (S1); this is the writer's own guard,
    # for a document that did not come through it.
    path, problem = locate_image(document.metadata.cover, document.source_dir)
    if path is None:
        raise WriterError(f"the cover image named in the front matter {problem}", document.source_path)
    mime = mimetypes.guess_type(path.name)[0] or "image/jpeg"
    return path.read_bytes(), mime


def _save(tags: ID3, path: Path) -> None:
    # No padding: the same tags always give the same bytes.
    tags.save(path, v2_version=4, padding=lambda info: 0)


@register
class AudioWriter(SpeechWriter):
    name = "audio"
    summary = "MP3 narration, a file per section and the whole book with chapters, for people who listen"

    def requirements(self) -> list[Requirement]:
        return super().requirements() + [Requirement.module("mutagen", "pip install mutagen")]

    def output_names(self, document: Document, options: dict[str, Any]) -> list[str]:
        return [f"audio/{stem}.mp3" for stem in section_file_stems(document)] + [f"audio/{document.stem}.m3u8", f"{document.stem}.mp3"]

    def write(self, context: BuildContext) -> list[str]:
        with self.narrated(context, 0.85, 0.97) as (narration, encoded):
            return self._write_files(context, encoded, voice_label(narration.settings, labels_for(context.document.metadata.language)))

    def _write_files(self, context: BuildContext, encoded: list[EncodedSection], narrator: str = "") -> list[str]:
        document = context.document
        metadata = document.metadata
        cover = _cover(document)
        whole_name = f"{document.stem}.mp3"
        whole_path = context.path(whole_name)
        names: list[str] = []
        chapters: list[tuple[str, int, int]] = []  # title, start ms, end ms
        position_ms = 0
        count = len(encoded)
        with open(whole_path, "wb") as whole:
            for section in encoded:
                name = f"audio/{section.file_stem}.mp3"
                with open(context.path(name), "wb") as part:
                    section.copy_to(part, whole)
                # The encoder's own delay and padding are in the frames: time the chapter
                # by the frames, so it matches the section file exactly.
                end_ms = position_ms + round(section.seconds * 1000)
                chapters.append((section.title, position_ms, end_ms))
                position_ms = end_ms
                names.append(name)

        for number, (name, section) in enumerate(zip(names, encoded), start=1):
            tags = ID3()
            tags.add(TIT2(encoding=3, text=[section.title]))
            tags.add(TRCK(encoding=3, text=[f"{number}/{count}"]))
            _common_tags(tags, metadata, cover, narrator)
            _save(tags, context.path(name))

        tags = ID3()
        tags.add(TIT2(encoding=3, text=[metadata.title]))
        _common_tags(tags, metadata, cover, narrator)
        element_ids = [f"chp{number:03d}" for number in range(1, count + 1)]
        tags.add(CTOC(element_id="toc", flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                      child_element_ids=element_ids, sub_frames=[TIT2(encoding=3, text=[labels_for(metadata.language)("Contents")])]))
        for element_id, (title, start, end) in zip(element_ids, chapters):
            tags.add(CHAP(element_id=element_id, start_time=start, end_time=end, start_offset=0xFFFFFFFF,
                          end_offset=0xFFFFFFFF, sub_frames=[TIT2(encoding=3, text=[title])]))
        _save(tags, whole_path)

        playlist_name = f"audio/{document.stem}.m3u8"
        artist = metadata.author or metadata.publisher
        lines = ["#EXTM3U", f"#PLAYLIST:{metadata.title}"]
        for name, section in zip(names, encoded):
            label = f"{artist} - {section.title}" if artist else section.title
            lines += [f"#EXTINF:{round(section.seconds)},{label}", Path(name).name]
        context.path(playlist_name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        context.progress(1.0, f"Audio ready: {len(names)} sections, {position_ms / 60000:.1f} minutes")
        return names + [playlist_name, whole_name]
