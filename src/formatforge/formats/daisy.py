"""DAISY 2.02 talking book, full text and full audio, for DAISY players and apps.

Files (all under ``daisy/``, and the same in ``<stem>-daisy.zip``): ``ncc.html``, the
navigation centre (the title, then every heading); ``<stem>.html``, the text, with an id on
every sentence; one ``NN-<section>.smil`` and ``NN-<section>.mp3`` per section of the
narration (``00-about-this-recording`` is the opening announcement). Each SMIL ``par``
pairs one sentence's text with its clip in the section's audio.

The audio is the narration the MP3 edition speaks, and its very frames: with the same
speech cache nothing is synthesised or encoded a second time (``speech.sections``).
"""

from __future__ import annotations

import zipfile
from urllib.parse import quote
from pathlib import Path
from typing import Any

from lxml import etree

from ..shared.epub_package import book_identifier
from ..errors import WriterError
from ..model import Document, Heading, walk_blocks
from ..reproducible_zip import zip_info
from ..shared.xhtml_sentences import SentenceRenderer, clip_seconds, clock
from ..shared.speech import Narration
from ..shared.speech.script import ANNOUNCEMENT, OPENING_SLUG, opening_and_body, section_file_stems
from ..shared.speech.engines import voice_label
from ..shared.speech.sections import EncodedSection
from ..shared.speech.tags import cover_image, section_tag
from ..shared.speech.audio_files import AudioFiles
from .speech_edition import SpeechWriter, stage_audio_file
from ..labels import Labels, labels_for
from ..shared.xhtml import TASK_STATES, XHTML_NS, XML_LANG, footnote_id, footnotes_by_section, noteref_id
from . import BuildContext, register

FOLDER = "daisy"
XHTML1_DOCTYPE = ('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
                  '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">')
SMIL_DOCTYPE = '<!DOCTYPE smil PUBLIC "-//W3C//DTD SMIL 1.0//EN" "http://www.w3.org/TR/REC-smil/SMIL10.dtd">'
# XHTML 1.0, which DAISY 2.02 content documents are, has no HTML5 sectioning elements.
XHTML1_NAMES = {"section": "div", "aside": "div", "figure": "div", "figcaption": "p", "nav": "div", "label": "span"}


def _x(name: str) -> str:
    return f"{{{XHTML_NS}}}{name}"


def _as_xhtml1(el: etree._Element, labels: Labels | None = None) -> None:
    """In place: HTML5-only elements become their XHTML 1.0 kin; ARIA and EPUB attributes go.

    DAISY 2.02 text has no form controls: a task item's checkbox becomes its state in words
    ("Done:", "Not done:"), which every player, voice and braille display renders alike,
    where ☑ and ☐ are named differently by each voice or not at all; a note keeps its label
    paragraph inside a ``div class="note"``."""
    for node in el.iter():
        if not isinstance(node.tag, str):
            continue
        local = etree.QName(node).localname
        if node.get("lang") and node.get(XML_LANG) is None:  # a passage in another language
            node.set(XML_LANG, node.get("lang"))
        if node.get("role") == "doc-footnote":
            node.set("class", "footnote")
        elif node.get("role") == "note":
            node.set("class", "note")
        if local == "input" and node.get("type") == "checkbox":
            labels = labels or labels_for("en")
            state = labels(TASK_STATES[node.get("checked") is not None])
            node.attrib.clear()
            node.tag = _x("span")
            node.set("class", "task-state")
            node.text = labels("{state}:", state=state)
            continue
        if local == "label":
            node.set("class", "task")
        if local in XHTML1_NAMES:
            node.tag = _x(XHTML1_NAMES[local])
        for name in list(node.attrib):
            if name == "role" or name.startswith("aria-") or name.startswith("{http://www.idpf.org/2007/ops}"):
                del node.attrib[name]


@register
class DaisyWriter(SpeechWriter):
    name = "daisy"
    summary = "DAISY 2.02 talking book, text and audio in sync sentence by sentence, for DAISY players"

    def output_names(self, document: Document, options: dict[str, Any]) -> list[str]:
        stems = section_file_stems(document)
        names = [f"{FOLDER}/ncc.html", f"{FOLDER}/{document.stem}.html"]
        names += [f"{FOLDER}/{stem}.smil" for stem in stems] + [f"{FOLDER}/{stem}.mp3" for stem in stems]
        names += [f"{FOLDER}/{inside}" for inside, _ in image_files(document)]
        return names + [f"{document.stem}-daisy.zip"]

    def write(self, context: BuildContext) -> list[str]:
        with self.narrated(context, 0.6, 0.9) as (narration, encoded):
            return DaisyBook(context.document, narration, encoded).write(context)


class DaisyBook:
    def __init__(self, document: Document, narration: Narration, encoded: list[EncodedSection]):
        self.document = document
        self.narration = narration
        self.encoded = encoded
        self.metadata = document.metadata
        self.language = document.metadata.language or "en"
        self.text_name = f"{document.stem}.html"
        self.opening, self.body = opening_and_body(narration.sections)
        self.durations = [section.seconds for section in encoded]

    # ------------------------------------------------------------ text

    def content_document(self) -> tuple[bytes, dict[str, str]]:
        """The full text, and which element each sentence points at."""
        document = self.document
        sections = document.sections()
        notes = footnotes_by_section(document, sections)
        known = {b.id for b in walk_blocks(document.all_blocks()) if isinstance(b, Heading)}
        known |= {footnote_id(fn.number) for fn in document.footnotes} | {noteref_id(fn.number) for fn in document.footnotes}
        renderer = SentenceRenderer(
            document, self.body, epub=False, image_src=lambda image: quote(image_path(document, image)),
            resolve=lambda fragment: f"#{fragment}" if fragment in known else None,
        )
        html = etree.Element(_x("html"), {"lang": self.language, XML_LANG: self.language}, nsmap={None: XHTML_NS})
        head = etree.SubElement(html, _x("head"))
        etree.SubElement(head, _x("meta"), {"http-equiv": "Content-Type", "content": "text/html; charset=utf-8"})
        etree.SubElement(head, _x("title")).text = self.metadata.title or document.stem
        etree.SubElement(head, _x("meta"), {"name": "dc:title", "content": self.metadata.title or document.stem})
        etree.SubElement(head, _x("meta"), {"name": "dc:identifier", "content": book_identifier(document)})
        body = etree.SubElement(html, _x("body"))

        targets: dict[str, str] = {}
        opening = etree.SubElement(body, _x("div"), {"id": OPENING_SLUG, "class": "opening"})
        for timed in self.opening.sentences:
            etree.SubElement(opening, _x("p"), {"id": timed.sentence.id}).text = timed.sentence.text
            targets[timed.sentence.id] = timed.sentence.id
        for section, section_notes in zip(sections, notes):
            body.append(renderer.section(section, section_notes, False))
        targets.update(renderer.targets)
        for narrated in self.body:  # the narrator's closing "End of …" points at the last sentence's text
            for before, timed in zip(narrated.sentences, narrated.sentences[1:]):
                if timed.sentence.kind == ANNOUNCEMENT and before.sentence.id in targets:
                    targets.setdefault(timed.sentence.id, targets[before.sentence.id])
        _as_xhtml1(html, labels_for(self.language))
        etree.cleanup_namespaces(html)
        missing = [t.sentence.id for s in self.narration.sections for t in s.sentences if t.sentence.id not in targets]
        if missing:
            raise WriterError(f"{len(missing)} narrated sentences have no place in the text (first: {missing[0]})")
        data = etree.tostring(html, xml_declaration=True, encoding="utf-8", doctype=XHTML1_DOCTYPE) + b"\n"
        return data, targets

    # ------------------------------------------------------------ SMIL

    def smil(self, index: int, targets: dict[str, str]) -> bytes:
        section = self.narration.sections[index]
        rate = self.narration.sample_rate
        audio = f"{section.section.file_stem}.mp3"
        smil = etree.Element("smil")
        head = etree.SubElement(smil, "head")
        elapsed = sum(self.durations[:index])
        for name, content in (
            ("dc:format", "Daisy 2.02"),
            ("dc:title", self.metadata.title or self.document.stem),
            ("dc:identifier", book_identifier(self.document)),
            ("ncc:generator", "formatforge"),
            ("ncc:totalElapsedTime", clock(elapsed)),
            ("ncc:timeInThisSmil", clock(self.durations[index])),
            ("title", section.section.title),
        ):
            etree.SubElement(head, "meta", {"name": name, "content": content})
        layout = etree.SubElement(head, "layout")
        etree.SubElement(layout, "region", {"id": "text-view"})
        seq = etree.SubElement(etree.SubElement(smil, "body"), "seq", {"dur": f"{self.durations[index]:.3f}s"})
        for timed in section.sentences:
            sid = timed.sentence.id
            last = timed is section.sentences[-1]
            begin, end = clip_seconds(timed, rate, self.durations[index] if last else None)
            par = etree.SubElement(seq, "par", {"endsync": "last", "id": f"par-{sid}"})
            etree.SubElement(par, "text", {"src": f"{self.text_name}#{targets[sid]}", "id": f"txt-{sid}"})
            etree.SubElement(par, "audio", {"src": audio, "clip-begin": f"npt={begin:.3f}s",
                                            "clip-end": f"npt={end:.3f}s", "id": f"aud-{sid}"})
        return etree.tostring(smil, xml_declaration=True, encoding="utf-8", doctype=SMIL_DOCTYPE, pretty_print=True)

    # ------------------------------------------------------------ NCC

    def ncc(self, file_count: int) -> bytes:
        m = self.metadata
        html = etree.Element(_x("html"), {"lang": self.language, XML_LANG: self.language}, nsmap={None: XHTML_NS})
        head = etree.SubElement(html, _x("head"))
        etree.SubElement(head, _x("title")).text = m.title or self.document.stem
        etree.SubElement(head, _x("meta"), {"http-equiv": "Content-Type", "content": "text/html; charset=utf-8"})
        body = etree.SubElement(html, _x("body"))

        def entry(name: str, element_id: str, smil_name: str, sentence_id: str, label: str, css: str = "") -> None:
            el = etree.SubElement(body, _x(name), {"id": element_id})
            if css:
                el.set("class", css)
            etree.SubElement(el, _x("a"), {"href": f"{smil_name}#txt-{sentence_id}"}).text = label

        first = self.opening.sentences[0].sentence
        entry("h1", "ncc-title", f"{self.opening.section.file_stem}.smil", first.id, m.title or self.document.stem, "title")
        depth, previous = 1, 1
        for section in self.body:
            smil_name = f"{section.section.file_stem}.smil"
            for timed in section.sentences:
                sentence = timed.sentence
                if sentence.role != "heading" or sentence.source.footnote:
                    continue
                # The NCC allows no skipped level: a heading is at most one below the one before.
                level = max(1, min(sentence.level, previous + 1, 6))
                previous, depth = level, max(depth, level)
                entry(f"h{level}", f"ncc-{sentence.id}", smil_name, sentence.id, sentence.text)
        total = sum(self.durations)
        unknown = labels_for(self.language)("Unknown")
        creators = [m.author or m.publisher or unknown]
        items = [
            ("dc:title", m.title or self.document.stem),
            *(("dc:creator", c) for c in creators),
            ("dc:publisher", m.publisher or m.author or unknown),
            ("dc:date", m.date or "1980-01-01"),
            ("dc:identifier", book_identifier(self.document)),
            ("dc:language", self.language),
            ("dc:format", "Daisy 2.02"),
            ("ncc:charset", "utf-8"),
            ("ncc:generator", "formatforge"),
            ("ncc:narrator", voice_label(self.narration.settings, labels_for(self.language))),
            ("ncc:multimediaType", "audioFullText"),
            ("ncc:totalTime", clock(total, fraction=False)),
            ("ncc:tocItems", str(len(body))),
            ("ncc:depth", str(depth)),
            ("ncc:pageFront", "0"),
            ("ncc:pageNormal", "0"),
            ("ncc:pageSpecial", "0"),
            ("ncc:maxPageNormal", "0"),
            ("ncc:files", str(file_count)),
        ]
        if m.description:
            items.append(("dc:description", m.description))
        for name, content in items:
            etree.SubElement(head, _x("meta"), {"name": name, "content": content})
        return etree.tostring(html, xml_declaration=True, encoding="utf-8", doctype=XHTML1_DOCTYPE, pretty_print=True)

    # ------------------------------------------------------------ files

    def write(self, context: BuildContext) -> list[str]:
        sections = self.narration.sections
        names: dict[str, bytes | Path] = {}
        # Tagged as the audio edition tags its section files (``speech.tags``): the same
        # bytes, which the build stores once.
        metadata, cover = self.document.metadata, cover_image(self.document)
        narrator = voice_label(self.narration.settings, labels_for(metadata.language))
        files = AudioFiles(self.narration.cache.folder)
        for number, section in enumerate(self.encoded, start=1):
            relative = f"{FOLDER}/{section.file_stem}.mp3"
            tag = section_tag(metadata, section.title, number, len(self.encoded), cover, narrator)
            stage_audio_file(context, relative, tag, [section], files)
            names[relative] = context.path(relative)
        text, targets = self.content_document()
        names[f"{FOLDER}/{self.text_name}"] = text
        for inside, path in image_files(self.document):
            names[f"{FOLDER}/{inside}"] = path.read_bytes()
        for index, narrated in enumerate(sections):
            names[f"{FOLDER}/{narrated.section.file_stem}.smil"] = self.smil(index, targets)
        names[f"{FOLDER}/ncc.html"] = self.ncc(file_count=len(names) + 1)
        for relative, data in names.items():
            if isinstance(data, bytes):
                context.path(relative).write_bytes(data)

        zip_name = f"{self.document.stem}-daisy.zip"
        inside = f"{self.document.stem}-daisy"
        with zipfile.ZipFile(context.path(zip_name), "w") as archive:
            for relative in sorted(names):
                data = context.path(relative).read_bytes()
                # MP3 is already compressed: stored, so players can seek without inflating.
                method = zipfile.ZIP_STORED if relative.endswith(".mp3") else zipfile.ZIP_DEFLATED
                archive.writestr(zip_info(f"{inside}/{relative[len(FOLDER) + 1:]}", method), data)
        context.progress(1.0, f"DAISY ready: {len(sections)} sections, {sum(self.durations) / 60:.1f} minutes")
        return sorted(names) + [zip_name]


def image_files(document: Document) -> list[tuple[str, Path]]:
    """The images the text shows, at their source-relative paths (the reader has checked
    that they stay inside the source folder)."""
    found: dict[str, Path] = {}
    for image in document.images():
        path = document.image_file(image)
        found.setdefault(image_path(document, image), path)
    return sorted(found.items())


def image_path(document: Document, image) -> str:
    base = document.source_dir.resolve()
    return (base / image.src).resolve().relative_to(base).as_posix()
