"""Read-aloud EPUB: the EPUB 3 e-book with its narration, highlighted sentence by sentence.

EPUB 3 Media Overlays at sentence level: every section's content document has a SMIL
overlay pairing each narrated sentence with its clip in the section's MP3 (the audio
edition's own frames, from the speech cache: nothing is synthesised or encoded twice).
Reading systems highlight the sentence being read with ``media:active-class``. The
accessibility metadata adds the auditory access mode and ``synchronizedAudioText`` (E5:
claimed because the overlays are there).

The container is the EPUB writer's (``epub_package``), with the sentence renderer of
``sentences``; beside each ``section-NNN.xhtml`` under ``EPUB/`` it adds
``section-NNN.smil`` and ``audio/NN-<section>.mp3``.
"""

from __future__ import annotations

from typing import Any, Iterator

from lxml import etree

from ..labels import labels_for
from ..shared.epub_package import NAVIGATION_SUMMARY, STYLESHEET, EpubPackage, ManifestItem
from ..errors import WriterError
from ..model import Document
from ..shared.xhtml_sentences import SentenceRenderer, clip_seconds, clock
from ..shared.speech import Narration
from ..shared.speech.engines import voice_label
from ..shared.speech.script import ANNOUNCEMENT, opening_and_body
from ..shared.speech.sections import EncodedSection
from .speech_edition import SpeechWriter
from ..shared.xhtml import EPUB_NS
from . import BuildContext, register

SMIL_NS = "http://www.w3.org/ns/SMIL"
ACTIVE_CLASS = "-epub-media-overlay-active"

HIGHLIGHT_STYLE = f"""\
/* The sentence being read: dark on light yellow (contrast above 15:1), and an outline
   for readers who have set their own colours. */
.{ACTIVE_CLASS} {{ background-color: #fff3a0; color: #1a1a1a; outline: 0.125em solid #1a1a1a; }}
"""


@register
class ReadAloudWriter(SpeechWriter):
    name = "read-aloud"
    summary = "EPUB 3 with the narration synchronised sentence by sentence, for people who read and listen at once"

    def output_names(self, document: Document, options: dict[str, Any]) -> list[str]:
        return [f"{document.stem}-read-aloud.epub"]

    def write(self, context: BuildContext) -> list[str]:
        name = self.output_names(context.document, context.options)[0]
        with self.narrated(context, 0.6, 0.9) as (narration, encoded):
            ReadAloudPackage(context.document, narration, encoded).write(context.path(name))
        context.progress(1.0, name)
        return [name]


class ReadAloudPackage(EpubPackage):
    stylesheet = STYLESHEET + HIGHLIGHT_STYLE
    extra_access_modes = ("auditory",)
    # The narration reads every image's text alternative: listening alone is enough.
    extra_sufficient_access_modes = ("auditory",)
    extra_features = ("synchronizedAudioText",)
    # Unlike the EPUB writer's package, this edition has never listed the keywords (dc:subject).
    renderer: SentenceRenderer  # what make_renderer below makes: the overlays read its targets

    def __init__(self, document: Document, narration: Narration, encoded: list[EncodedSection]):
        self.narration = narration
        # The narration's body sections are the model's sections, one for one.
        self.narrated = opening_and_body(narration.sections)[1]
        self.encoded = opening_and_body(encoded)[1]
        sections = document.sections()
        if len(sections) != len(self.narrated) or not sections:
            raise WriterError("the narration's sections do not match the document's")
        self.overlays = [f"section-{n:03d}.smil" for n in range(1, len(sections) + 1)]
        self.audio = [f"audio/{s.section.file_stem}.mp3" for s in self.narrated]
        self.durations = [section.seconds for section in self.encoded]
        super().__init__(document, sections)

    def make_renderer(self, **options: Any) -> SentenceRenderer:
        return SentenceRenderer(self.document, self.narrated, epub=True, **options)

    # ------------------------------------------------------------ hooks

    @staticmethod
    def _overlay_id(index: int) -> str:
        return f"mo{index + 1:03d}"

    def media_overlay(self, index: int) -> str:
        return self._overlay_id(index)

    def section_items(self, index: int) -> list[ManifestItem]:
        return [
            ManifestItem(self._overlay_id(index), self.overlays[index], "application/smil+xml"),
            ManifestItem(f"audio{index + 1:03d}", self.audio[index], "audio/mpeg"),
        ]

    def extra_metadata(self) -> list[tuple[str, str, dict[str, str]]]:
        settings = self.narration.settings
        return [
            ("media:duration", clock(sum(self.durations)), {}),
            *(("media:duration", clock(seconds), {"refines": f"#{self._overlay_id(i)}"})
              for i, seconds in enumerate(self.durations)),
            ("media:narrator", voice_label(settings, labels_for(self.language)), {}),
            ("media:active-class", ACTIVE_CLASS, {}),
        ]

    def summary_parts(self) -> list[str]:
        p = self.profile
        labels = labels_for(self.language)
        parts = [labels(NAVIGATION_SUMMARY),
                 labels("its full text is narrated by a synthetic voice, with each sentence highlighted as it is read")]
        if p.image_count:
            parts.append(labels("every image ({count}) has a text alternative, which the narration reads", count=p.image_count)
                         if p.all_images_described else labels("some images lack a text alternative"))
        if p.has_tables:
            parts.append(labels("data tables have header cells"))
        return parts

    def extra_entries(self) -> list[tuple[str, bytes]]:
        return [(f"EPUB/{overlay}", self.overlay(i)) for i, overlay in enumerate(self.overlays)]

    def stored_entries(self) -> Iterator[tuple[str, bytes]]:
        # One section's audio in memory at a time.
        for name, section in zip(self.audio, self.encoded):
            yield f"EPUB/{name}", section.data()

    # ------------------------------------------------------------ overlays

    def overlay(self, index: int) -> bytes:
        """The section's media overlay: one ``par`` per narrated sentence, in reading order."""
        smil = etree.Element(f"{{{SMIL_NS}}}smil", {"version": "3.0"}, nsmap={None: SMIL_NS, "epub": EPUB_NS})
        body = etree.SubElement(smil, f"{{{SMIL_NS}}}body")
        seq = etree.SubElement(body, f"{{{SMIL_NS}}}seq", {"id": "seq-1", f"{{{EPUB_NS}}}textref": self.files[index]})
        rate = self.narration.sample_rate
        target = None
        for timed in self.narrated[index].sentences:
            sid = timed.sentence.id
            # The narrator's closing "End of …" reads no text: it lights the last sentence.
            target = self.renderer.targets.get(sid) or (target if timed.sentence.kind == ANNOUNCEMENT else None)
            if target is None:
                raise WriterError(f"narrated sentence {sid} ({timed.sentence.text[:40]!r}) has no place in the text")
            last = timed is self.narrated[index].sentences[-1]
            begin, end = clip_seconds(timed, rate, self.durations[index] if last else None)
            par = etree.SubElement(seq, f"{{{SMIL_NS}}}par", {"id": f"par-{sid}"})
            etree.SubElement(par, f"{{{SMIL_NS}}}text", {"src": f"{self.files[index]}#{target}"})
            etree.SubElement(par, f"{{{SMIL_NS}}}audio", {"src": self.audio[index], "clipBegin": f"{begin:.3f}s",
                                                         "clipEnd": f"{end:.3f}s"})
        return etree.tostring(smil, xml_declaration=True, encoding="utf-8", pretty_print=True)
