"""The ID3 tags of the narration's MP3 files: the audio edition's section files and whole
book, and the DAISY book's section files, which carry the very same tags as the audio
edition's so that the two are the same bytes and the build stores them once (issue 21.5).
A player that reads tags shows the title, section, narrator and cover; a DAISY player
skips the tag as any MP3 decoder does, and the clip times count decoded audio only."""

from __future__ import annotations

import io
import mimetypes

from mutagen.id3 import APIC, ID3, TALB, TCON, TDRC, TIT2, TLAN, TPE1, TPUB, TRCK, TXXX

from ...errors import WriterError
from ...front_matter import locate_image
from ...model import Document, Metadata

# ISO 639-2 codes for ID3's TLAN, which does not take BCP 47 tags.
_ISO_639_2 = {
    "en": "eng", "cy": "cym", "gd": "gla", "ga": "gle", "fr": "fra", "de": "deu", "es": "spa", "it": "ita",
    "pt": "por", "nl": "nld", "pl": "pol", "ar": "ara", "ur": "urd", "pa": "pan", "bn": "ben", "zh": "zho",
    "hi": "hin", "gu": "guj", "so": "som", "ro": "ron", "tr": "tur", "el": "ell", "sv": "swe", "da": "dan",
}

def language_code(language: str) -> str:
    primary = (language or "en").split("-")[0].lower()
    return _ISO_639_2.get(primary, primary if len(primary) == 3 else "und")


def common_tags(tags: ID3, metadata: Metadata, cover: tuple[bytes, str] | None, narrator: str = "") -> None:
    if narrator:  # ID3 has no narrator frame: the user-defined one audiobook tools read
        tags.add(TXXX(encoding=3, desc="NARRATOR", text=[narrator]))
    artist = metadata.author or metadata.publisher
    if artist:
        tags.add(TPE1(encoding=3, text=[artist]))
    if metadata.publisher:
        tags.add(TPUB(encoding=3, text=[metadata.publisher]))
    tags.add(TALB(encoding=3, text=[metadata.title]))
    tags.add(TLAN(encoding=3, text=[language_code(metadata.language)]))
    tags.add(TCON(encoding=3, text=["Speech"]))
    if metadata.date[:4].isdigit():
        tags.add(TDRC(encoding=3, text=[metadata.date[:4]]))
    if cover:
        tags.add(APIC(encoding=3, mime=cover[1], type=3, desc="Cover", data=cover[0]))


def cover_image(document: Document) -> tuple[bytes, str] | None:
    if not document.metadata.cover:
        return None
    # `check` has held the cover to the image rules (S1); this is the writer's own guard,
    # for a document that did not come through it.
    path, problem = locate_image(document.metadata.cover, document.source_dir)
    if path is None:
        raise WriterError(f"the cover image named in the front matter {problem}", document.source_path)
    mime = mimetypes.guess_type(path.name)[0] or "image/jpeg"
    return path.read_bytes(), mime


def tag_bytes(tags: ID3) -> bytes:
    """The ID3v2.4 tag as it starts the file, written before the frames so that a file is
    written once (mutagen tagging a written file moves every byte of it to make room). No
    padding: the same tags always give the same bytes."""
    buffer = io.BytesIO()
    tags.save(buffer, v2_version=4, padding=lambda info: 0)
    return buffer.getvalue()


def section_tag(metadata: Metadata, title: str, number: int, count: int, cover: tuple[bytes, str] | None,
                narrator: str) -> bytes:
    """One section file's tag: its title, its place in the book, and the book's tags."""
    tags = ID3()
    tags.add(TIT2(encoding=3, text=[title]))
    tags.add(TRCK(encoding=3, text=[f"{number}/{count}"]))
    common_tags(tags, metadata, cover, narrator)
    return tag_bytes(tags)
