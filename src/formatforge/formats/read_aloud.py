"""Read-aloud EPUB: the EPUB 3 e-book with its narration, highlighted sentence by sentence.

EPUB 3 Media Overlays at sentence level: every section's content document has a SMIL
overlay pairing each narrated sentence with its clip in the section's MP3 (the same
narration as the audio edition, from the speech cache: nothing is synthesised twice).
Reading systems highlight the sentence being read with ``media:active-class``. The
accessibility metadata adds the auditory access mode and ``synchronizedAudioText`` (E5:
claimed because the overlays are there).

The container is built here from the shared modules (``xhtml``, ``sentences``, ``speech``)
because writers do not import one another; it follows the EPUB writer's layout: under
``EPUB/``: ``package.opf``, ``nav.xhtml``, ``style.css``, ``section-NNN.xhtml`` with
``section-NNN.smil``, ``audio/NN-<section>.mp3``, and the images.
"""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from lxml import etree

from ..errors import WriterError
from ..model import Document, Heading, Table, inline_text, walk_blocks
from ..sentences import SentenceRenderer, book_identifier, clip_seconds, clock, encode_section
from ..speech import narration as speech
from ..speech.encode import DEFAULT_BITRATE
from ..xhtml import EPUB_NS, EPUB_TYPE, XML_LANG, element, footnote_id, footnotes_by_section, heading_tree, noteref_id, page, sub, xhtml_bytes
from . import BuildContext, Requirement, Writer, register

OPF_NS = "http://www.idpf.org/2007/opf"
DC_NS = "http://purl.org/dc/elements/1.1/"
SMIL_NS = "http://www.w3.org/ns/SMIL"
CONTAINER_NS = "urn:oasis:names:tc:opendocument:xmlns:container"
CONFORMANCE = "EPUB Accessibility 1.1 - WCAG 2.2 Level AA"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
ACTIVE_CLASS = "-epub-media-overlay-active"
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
               ".svg": "image/svg+xml", ".webp": "image/webp"}
_BITRATES = (32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)

STYLESHEET = f"""\
body {{ line-height: 1.4; }}
h1, h2, h3, h4, h5, h6 {{ line-height: 1.2; margin: 1.5em 0 0.5em; break-after: avoid; }}
p {{ margin: 0 0 1em; }}
li > p {{ margin: 0 0 0.25em; }}
figure {{ margin: 1em 0; }}
img {{ max-width: 100%; height: auto; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
caption {{ font-weight: bold; text-align: left; }}
th, td {{ border: 0.0625em solid; padding: 0.25em 0.5em; vertical-align: top; }}
th {{ text-align: left; }}
.align-left {{ text-align: left; }}
.align-center {{ text-align: center; }}
.align-right {{ text-align: right; }}
pre {{ white-space: pre-wrap; overflow-wrap: break-word; margin: 1em 0; }}
pre, code {{ font-family: monospace; }}
blockquote {{ margin: 1em 0 1em 1.5em; padding-left: 1em; border-left: 0.25em solid; }}
aside[role="doc-footnote"] {{ margin: 1em 0; padding-top: 0.5em; border-top: 0.0625em solid; }}
nav ol {{ list-style: none; }}
/* The sentence being read: dark on light yellow (contrast above 15:1), and an outline
   for readers who have set their own colours. */
.{ACTIVE_CLASS} {{ background-color: #fff3a0; color: #1a1a1a; outline: 0.125em solid #1a1a1a; }}
"""


@register
class ReadAloudWriter(Writer):
    name = "read-aloud"
    summary = "EPUB 3 with the narration synchronised sentence by sentence, for people who read and listen at once"
    option_names = speech.OPTION_NAMES + ("audio.bitrate",)

    def requirements(self) -> list[Requirement]:
        return [
            Requirement.command("espeak-ng", "espeak-ng"),
            Requirement.module("lameenc", "pip install lameenc"),
        ]

    def output_names(self, document: Document, options: dict[str, Any]) -> list[str]:
        return [f"{document.stem}-read-aloud.epub"]

    def write(self, context: BuildContext) -> list[str]:
        bitrate = int(context.option("audio.bitrate", DEFAULT_BITRATE))
        if bitrate not in _BITRATES:
            raise WriterError(f"audio.bitrate must be one of {', '.join(map(str, _BITRATES))} kbit/s")
        try:
            narration = speech.narrate(context.document, context.options, context.cache_dir, context.progress, 0.6)
        except ValueError as error:
            raise WriterError(str(error)) from error
        try:
            name = self.output_names(context.document, context.options)[0]
            ReadAloudBook(context.document, narration).write(context.path(name), context, bitrate)
        finally:
            narration.close()
        context.progress(1.0, name)
        return [name]


class ReadAloudBook:
    def __init__(self, document: Document, narration: speech.Narration):
        self.document = document
        self.metadata = document.metadata
        self.language = document.metadata.language or "en"
        self.narration = narration
        # The narration's body sections are the model's sections, one for one.
        self.narrated = narration.sections[1:]
        self.sections = document.sections()
        if len(self.sections) != len(self.narrated) or not self.sections:
            raise WriterError("the narration's sections do not match the document's")
        self.files = [f"section-{n:03d}.xhtml" for n in range(1, len(self.sections) + 1)]
        self.overlays = [f"section-{n:03d}.smil" for n in range(1, len(self.sections) + 1)]
        self.audio = [f"audio/{s.section.file_stem}.mp3" for s in self.narrated]
        self.notes = footnotes_by_section(document, self.sections)
        self.images = self._collect_images()
        self.location = self._locate_ids()
        self.renderer = SentenceRenderer(document, self.narrated, epub=True,
                                         image_src=lambda image: self.images[image.src][0], resolve=self.resolve)
        self.durations: list[float] = []

    # ------------------------------------------------------------ planning

    def _collect_images(self) -> dict[str, tuple[str, Path, str]]:
        found: dict[str, tuple[str, Path, str]] = {}
        base = self.document.source_dir.resolve()
        for image in self.document.images():
            if image.src in found:
                continue
            path = (base / image.src).resolve()
            if not path.is_file():
                raise WriterError(f"image {image.src!r} not found", self.document.source_path, image.line)
            media_type = IMAGE_TYPES.get(path.suffix.lower())
            if media_type is None:
                raise WriterError(f"image {image.src!r}: EPUB takes PNG, JPEG, GIF, SVG or WebP images",
                                  self.document.source_path, image.line)
            found[image.src] = (quote(path.relative_to(base).as_posix()), path, media_type)
        return found

    def _locate_ids(self) -> dict[str, str]:
        where: dict[str, str] = {}
        for file, section, notes in zip(self.files, self.sections, self.notes):
            for block in walk_blocks(section.blocks):
                if isinstance(block, Heading):
                    where.setdefault(block.id, file)
            for fn in notes:
                where[footnote_id(fn.number)] = file
        for file, notes in zip(self.files, self.notes):
            for fn in notes:
                where.setdefault(noteref_id(fn.number), file)
        return where

    def resolve(self, fragment: str) -> str | None:
        file = self.location.get(fragment)
        return f"{file}#{quote(fragment)}" if file else None

    # ------------------------------------------------------------ documents

    def _stylesheet(self) -> etree._Element:
        return element("link", {"rel": "stylesheet", "type": "text/css", "href": "style.css"})

    def content_document(self, index: int) -> bytes:
        section = self.sections[index]
        title = " ".join(inline_text(section.heading.children).split()) if section.heading else ""
        html, body = page(title or self.metadata.title, self.language, head=[self._stylesheet()], epub=True)
        level = max(1, min((s.heading.level for s in self.sections if s.heading), default=1))
        chapter = section.heading is not None and section.heading.level >= level and index > 0
        body.append(self.renderer.section(section, self.notes[index], chapter))
        return xhtml_bytes(html)

    def nav_document(self) -> bytes:
        html, body = page("Contents", self.language, head=[self._stylesheet()], epub=True)
        toc = sub(body, "nav", {"id": "toc", "role": "doc-toc", "aria-labelledby": "toc-title"})
        toc.set(EPUB_TYPE, "toc")
        sub(toc, "h1", {"id": "toc-title"}, "Contents")
        headings = [b for s in self.sections for b in walk_blocks(s.blocks) if isinstance(b, Heading)]
        entries = heading_tree(headings)
        if entries:
            toc.append(self.renderer.toc_list(entries))
        else:
            sub(sub(sub(toc, "ol"), "li"), "a", {"href": self.files[0]}, self.metadata.title or "Start")
        landmarks = sub(body, "nav", {"id": "landmarks", "aria-labelledby": "landmarks-title", "hidden": "hidden"})
        landmarks.set(EPUB_TYPE, "landmarks")
        sub(landmarks, "h2", {"id": "landmarks-title"}, "Landmarks")
        ol = sub(landmarks, "ol")
        for epub_type, href, label in (("toc", "nav.xhtml#toc", "Contents"), ("bodymatter", self.files[0], "Start of content")):
            sub(sub(ol, "li"), "a", {"href": href}, label).set(EPUB_TYPE, epub_type)
        return xhtml_bytes(html)

    def overlay(self, index: int) -> bytes:
        """The section's media overlay: one ``par`` per narrated sentence, in reading order."""
        smil = etree.Element(f"{{{SMIL_NS}}}smil", {"version": "3.0"}, nsmap={None: SMIL_NS, "epub": EPUB_NS})
        body = etree.SubElement(smil, f"{{{SMIL_NS}}}body")
        seq = etree.SubElement(body, f"{{{SMIL_NS}}}seq", {"id": "seq-1", f"{{{EPUB_NS}}}textref": self.files[index]})
        rate = self.narration.sample_rate
        for timed in self.narrated[index].sentences:
            sid = timed.sentence.id
            target = self.renderer.targets.get(sid)
            if target is None:
                raise WriterError(f"narrated sentence {sid} ({timed.sentence.text[:40]!r}) has no place in the text")
            begin, end = clip_seconds(timed, rate)
            par = etree.SubElement(seq, f"{{{SMIL_NS}}}par", {"id": f"par-{sid}"})
            etree.SubElement(par, f"{{{SMIL_NS}}}text", {"src": f"{self.files[index]}#{target}"})
            etree.SubElement(par, f"{{{SMIL_NS}}}audio", {"src": self.audio[index], "clipBegin": f"{begin:.3f}s",
                                                         "clipEnd": f"{end:.3f}s"})
        return etree.tostring(smil, xml_declaration=True, encoding="utf-8", pretty_print=True)

    # ------------------------------------------------------------ package

    def package_document(self) -> bytes:
        m = self.metadata
        images = [i for i in self.document.images() if not i.decorative]
        described = all(i.alt.strip() for i in images)
        levels = [b.level for b in walk_blocks(self.document.blocks) if isinstance(b, Heading)]
        conforms = described and all(b <= a + 1 for a, b in zip(levels, levels[1:]))
        package = etree.Element(f"{{{OPF_NS}}}package", {"version": "3.0", "unique-identifier": "pub-id",
                                                         XML_LANG: self.language}, nsmap={None: OPF_NS})
        metadata = etree.SubElement(package, f"{{{OPF_NS}}}metadata", nsmap={"dc": DC_NS})

        def dc(name: str, value: str, **attrib: str) -> None:
            if value:
                etree.SubElement(metadata, f"{{{DC_NS}}}{name}", attrib).text = value

        def meta(prop: str, value: str, **attrib: str) -> None:
            etree.SubElement(metadata, f"{{{OPF_NS}}}meta", {"property": prop, **attrib}).text = value

        dc("identifier", book_identifier(self.document), id="pub-id")
        dc("title", m.title or self.document.stem)
        dc("language", self.language)
        dc("creator", m.author)
        dc("publisher", m.publisher)
        dc("description", m.description)
        dc("date", m.date)
        meta("dcterms:modified", f"{m.date or '1980-01-01'}T00:00:00Z")

        meta("schema:accessMode", "textual")
        meta("schema:accessMode", "auditory")
        if images:
            meta("schema:accessMode", "visual")
        if described:
            meta("schema:accessModeSufficient", "textual")
        # The narration reads every image's text alternative: listening alone is enough.
        meta("schema:accessModeSufficient", "auditory")
        if images:
            meta("schema:accessModeSufficient", "textual,visual")
        features = ["tableOfContents", "readingOrder", "structuralNavigation", "displayTransformability", "ARIA",
                    "synchronizedAudioText"]
        if images and described:
            features.append("alternativeText")
        for feature in features:
            meta("schema:accessibilityFeature", feature)
        meta("schema:accessibilityHazard", "none")
        meta("schema:accessibilitySummary", self.accessibility_summary(images, described, conforms))
        if conforms:
            meta("dcterms:conformsTo", CONFORMANCE)
            meta("a11y:certifiedBy", m.publisher or m.author or "formatforge")

        meta("media:duration", clock(sum(self.durations)))
        for n, seconds in enumerate(self.durations, 1):
            meta("media:duration", clock(seconds), refines=f"#mo{n:03d}")
        meta("media:narrator", f"synthetic voice ({self.narration.settings.engine} {self.narration.settings.voice})")
        meta("media:active-class", ACTIVE_CLASS)

        manifest = etree.SubElement(package, f"{{{OPF_NS}}}manifest")

        def item(item_id: str, href: str, media_type: str, **extra: str) -> None:
            etree.SubElement(manifest, f"{{{OPF_NS}}}item",
                             {"id": item_id, "href": href, "media-type": media_type, **{k.replace("_", "-"): v for k, v in extra.items() if v}})

        item("nav", "nav.xhtml", "application/xhtml+xml", properties="nav")
        item("css", "style.css", "text/css")
        for n, (file, overlay, audio) in enumerate(zip(self.files, self.overlays, self.audio), 1):
            item(f"s{n:03d}", file, "application/xhtml+xml", media_overlay=f"mo{n:03d}")
            item(f"mo{n:03d}", overlay, "application/smil+xml")
            item(f"audio{n:03d}", audio, "audio/mpeg")
        for n, (src, (href, _, media_type)) in enumerate(sorted(self.images.items(), key=lambda kv: kv[1][0]), 1):
            item(f"img{n:03d}", href, media_type, properties="cover-image" if src == m.cover else "")

        spine = etree.SubElement(package, f"{{{OPF_NS}}}spine")
        etree.SubElement(spine, f"{{{OPF_NS}}}itemref", {"idref": "nav", "linear": "no"})
        for n in range(1, len(self.files) + 1):
            etree.SubElement(spine, f"{{{OPF_NS}}}itemref", {"idref": f"s{n:03d}"})
        return etree.tostring(package, xml_declaration=True, encoding="utf-8", pretty_print=True)

    def accessibility_summary(self, images: list, described: bool, conforms: bool) -> str:
        parts = ["This publication has a table of contents and headings for structural navigation",
                 "its full text is narrated by a synthetic voice, with each sentence highlighted as it is read"]
        if images:
            parts.append(f"every image ({len(images)}) has a text alternative, which the narration reads" if described
                         else "some images lack a text alternative")
        if any(isinstance(b, Table) for b in walk_blocks(self.document.all_blocks())):
            parts.append("data tables have header cells")
        summary = ", ".join(parts) + ". It has no known hazards."
        return summary + (f" It meets {CONFORMANCE}." if conforms else " It does not meet WCAG 2.2 Level AA.")

    @staticmethod
    def container_document() -> bytes:
        container = etree.Element(f"{{{CONTAINER_NS}}}container", {"version": "1.0"}, nsmap={None: CONTAINER_NS})
        rootfiles = etree.SubElement(container, f"{{{CONTAINER_NS}}}rootfiles")
        etree.SubElement(rootfiles, f"{{{CONTAINER_NS}}}rootfile",
                         {"full-path": "EPUB/package.opf", "media-type": "application/oebps-package+xml"})
        return etree.tostring(container, xml_declaration=True, encoding="utf-8", pretty_print=True)

    # ------------------------------------------------------------ zip

    def write(self, target: Path, context: BuildContext, bitrate: int) -> None:
        audio_entries: list[tuple[str, bytes]] = []
        scratch = context.path(".read-aloud-audio.mp3")
        try:
            for index, section in enumerate(self.narrated):
                context.progress(0.6 + 0.35 * index / len(self.narrated), f"Encoding {section.section.title}")
                self.durations.append(encode_section(self.narration, section, scratch, bitrate))
                audio_entries.append((f"EPUB/{self.audio[index]}", scratch.read_bytes()))
        finally:
            scratch.unlink(missing_ok=True)
        contents = [self.content_document(i) for i in range(len(self.sections))]
        entries = [
            ("META-INF/container.xml", self.container_document()),
            ("EPUB/package.opf", self.package_document()),
            ("EPUB/nav.xhtml", self.nav_document()),
            ("EPUB/style.css", STYLESHEET.encode("utf-8")),
        ]
        entries += [(f"EPUB/{file}", data) for file, data in zip(self.files, contents)]
        entries += [(f"EPUB/{overlay}", self.overlay(i)) for i, overlay in enumerate(self.overlays)]
        base = self.document.source_dir.resolve()
        for _, path, _ in sorted(self.images.values()):
            entries.append((f"EPUB/{PurePosixPath(path.relative_to(base).as_posix())}", path.read_bytes()))
        with zipfile.ZipFile(target, "w") as archive:
            archive.writestr(_zip_info("mimetype", zipfile.ZIP_STORED), b"application/epub+zip")
            for name, data in entries:
                archive.writestr(_zip_info(name, zipfile.ZIP_DEFLATED), data)
            for name, data in audio_entries:
                archive.writestr(_zip_info(name, zipfile.ZIP_STORED), data)


def _zip_info(name: str, compression: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = compression
    info.external_attr = 0o644 << 16
    info.create_system = 3
    return info
