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

from pathlib import Path
from typing import Any

from mutagen.id3 import CHAP, CTOC, ID3, TIT2, CTOCFlags

from ..hashing import HashingWriter
from ..labels import labels_for
from ..model import Document
from ..shared.speech.engines import voice_label
from ..shared.speech.script import section_file_stems
from ..shared.speech.sections import EncodedSection
from ..shared.speech.tags import common_tags, cover_image, section_tag, tag_bytes
from ..shared.speech.audio_files import AudioFiles
from .speech_edition import SpeechWriter, stage_audio_file
from . import BuildContext, Requirement, register

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
            narrator = voice_label(narration.settings, labels_for(context.document.metadata.language))
            return self._write_files(context, encoded, AudioFiles(narration.cache.folder), narrator)

    def _write_files(self, context: BuildContext, encoded: list[EncodedSection], files: AudioFiles,
                     narrator: str = "") -> list[str]:
        document = context.document
        metadata = document.metadata
        cover = cover_image(document)
        whole_name = f"{document.stem}.mp3"
        names = [f"audio/{section.file_stem}.mp3" for section in encoded]
        count = len(encoded)
        # The encoder's own delay and padding are in the frames: time each chapter by the
        # frames, so it matches the section file exactly. Known before a byte is written,
        # so every file is written once, its tag first, and hashed as it is written.
        chapters: list[tuple[str, int, int]] = []  # title, start ms, end ms
        position_ms = 0
        for section in encoded:
            end_ms = position_ms + round(section.seconds * 1000)
            chapters.append((section.title, position_ms, end_ms))
            position_ms = end_ms

        tags = ID3()
        tags.add(TIT2(encoding=3, text=[metadata.title]))
        common_tags(tags, metadata, cover, narrator)
        element_ids = [f"chp{number:03d}" for number in range(1, count + 1)]
        tags.add(CTOC(element_id="toc", flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                      child_element_ids=element_ids, sub_frames=[TIT2(encoding=3, text=[labels_for(metadata.language)("Contents")])]))
        for element_id, (title, start, end) in zip(element_ids, chapters):
            tags.add(CHAP(element_id=element_id, start_time=start, end_time=end, start_offset=0xFFFFFFFF,
                          end_offset=0xFFFFFFFF, sub_frames=[TIT2(encoding=3, text=[title])]))

        section_tags = [section_tag(metadata, section.title, number, count, cover, narrator)
                        for number, section in enumerate(encoded, start=1)]
        whole_tag = tag_bytes(tags)
        whole_key = files.name(whole_tag, encoded)
        whole_known = files.known(whole_key) if whole_key is not None else None
        if whole_known is not None and context.reuse(whole_name, *whole_known):
            for name, tag, section in zip(names, section_tags, encoded):
                stage_audio_file(context, name, tag, [section], files)
        else:
            # Written once, its tag first, beside the section files, and hashed as it is written.
            with open(context.path(whole_name), "wb") as whole_file:
                whole = HashingWriter(whole_file)
                whole.write(whole_tag)
                for name, tag, section in zip(names, section_tags, encoded):
                    stage_audio_file(context, name, tag, [section], files, whole)
            context.hashed(whole_name, whole)
            if whole_key is not None:
                files.remember(whole_key, whole.size, whole.digest.hexdigest())

        playlist_name = f"audio/{document.stem}.m3u8"
        artist = metadata.author or metadata.publisher
        lines = ["#EXTM3U", f"#PLAYLIST:{metadata.title}"]
        for name, section in zip(names, encoded):
            label = f"{artist} - {section.title}" if artist else section.title
            lines += [f"#EXTINF:{round(section.seconds)},{label}", Path(name).name]
        context.path(playlist_name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        context.progress(1.0, f"Audio ready: {len(names)} sections, {position_ms / 60000:.1f} minutes")
        return names + [playlist_name, whole_name]
