"""The EPUB 3.3 container, shared by the EPUB writer and the read-aloud EPUB writer.

The container is written with lxml and zipfile rather than ebooklib: ebooklib cannot put
``xml:lang`` on the package (Ace ``epub-lang``), writes its own nav without landmarks or
ARIA roles, re-serialises our content documents through its templates, and stamps zip
entries with the clock, so the same source would not give the same bytes. What it would
save us is about a hundred lines; writing them keeps every byte under our control.

Layout inside the zip: ``mimetype`` (first, stored), ``META-INF/container.xml``, and under
``EPUB/``: ``package.opf``, ``nav.xhtml``, ``style.css``, one ``section-NNN.xhtml`` per
section, and the images at their source-relative paths.

``EpubPackage`` builds the plain e-book; an edition that adds to it (media overlays)
subclasses it and overrides the hooks: ``make_renderer``, ``media_overlay``,
``section_items``, ``extra_metadata``, ``summary_parts``, ``extra_entries``,
``stored_entries``, and the ``extra_*`` access modes and features it really offers.
The accessibility metadata is derived from the model, so every claim is true.
"""

from __future__ import annotations

import functools
import re
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Iterable
from urllib.parse import quote

from lxml import etree

from ..errors import WriterError
from ..model import Document, Heading, DocumentSection, Table, inline_text, walk_blocks
from ..reproducible_zip import zip_info
from ..labels import labels_for
from .xhtml import (
    EPUB_TYPE,
    IMAGE_TYPES,
    XML_LANG,
    XhtmlRenderer,
    construct_styles,
    element,
    footnote_id,
    footnotes_by_section,
    heading_tree,
    noteref_id,
    page,
    sub,
    xhtml_bytes,
)

OPF_NS = "http://www.idpf.org/2007/opf"
DC_NS = "http://purl.org/dc/elements/1.1/"
CONTAINER_NS = "urn:oasis:names:tc:opendocument:xmlns:container"

CONFORMANCE = "EPUB Accessibility 1.1 - WCAG 2.2 Level AA"
CONFORMS_TO_RE = re.compile(r"EPUB Accessibility 1\.[01] - WCAG 2\.[0-2] Level A{1,3}")

# Relative units only, and no fonts or colours: the reading system's settings win.
STYLESHEET = """\
body { line-height: 1.4; }
h1, h2, h3, h4, h5, h6 { line-height: 1.2; margin: 1.5em 0 0.5em; break-after: avoid; }
p { margin: 0 0 1em; }
li > p { margin: 0 0 0.25em; }
figure { margin: 1em 0; }
img { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 1em 0; }
caption { font-weight: bold; text-align: left; }
th, td { border: 0.0625em solid; padding: 0.25em 0.5em; vertical-align: top; }
th { text-align: left; }
.align-left { text-align: left; }
.align-center { text-align: center; }
.align-right { text-align: right; }
pre { white-space: pre-wrap; overflow-wrap: break-word; margin: 1em 0; }
pre, code { font-family: monospace; }
blockquote { margin: 1em 0 1em 1.5em; padding-left: 1em; border-left: 0.25em solid; }
aside[role="doc-footnote"] { margin: 1em 0; padding-top: 0.5em; border-top: 0.0625em solid; }
nav ol { list-style: none; }
"""

# Rules for constructs only some books have, added only to the books that have them; like
# the rules above, no colours: a border in the text's own colour shows in every theme.
CONSTRUCT_STYLES = {
    "admonition": """\
.admonition { margin: 1em 0; padding: 0.5em 1em; border: 0.0625em solid; border-left-width: 0.375em; }
.admonition-title { font-weight: bold; margin: 0 0 0.25em; }
""",
    "task": """\
li.task-item { list-style-type: none; }
li.task-item input { margin: 0 0.4em 0 0; }
""",
    "definitions": """\
dt { font-weight: bold; margin: 0.75em 0 0.25em; }
dd { margin: 0 0 0.5em 1.5em; }
""",
}

NAVIGATION_SUMMARY = "This publication has a table of contents and headings for structural navigation"


@dataclass(frozen=True)
class AccessibilityProfile:
    """What the book really offers, derived from the model: the source of every claim."""

    image_count: int
    images_without_alt: int
    has_tables: bool
    has_footnotes: bool
    heading_levels_in_order: bool

    @property
    def all_images_described(self) -> bool:
        return self.images_without_alt == 0

    @property
    def conforms(self) -> bool:
        return self.all_images_described and self.heading_levels_in_order


def accessibility_profile(document: Document) -> AccessibilityProfile:
    images = [i for i in document.images() if not i.decorative]
    levels = [b.level for b in walk_blocks(document.blocks) if isinstance(b, Heading)]
    in_order = all(b <= a + 1 for a, b in zip(levels, levels[1:]))
    return AccessibilityProfile(
        image_count=len(images),
        images_without_alt=sum(1 for i in images if not i.alt.strip()),
        has_tables=any(isinstance(b, Table) for b in walk_blocks(document.all_blocks())),
        has_footnotes=bool(document.footnotes),
        heading_levels_in_order=in_order,
    )


def book_identifier(document: Document) -> str:
    """The publication's identifier: every edition of one book (EPUB, read-aloud, DAISY) shares it."""
    if document.metadata.identifier:
        return document.metadata.identifier
    # Stable across rebuilds and edits of the text: derived from title and author only.
    name = f"formatforge:{document.metadata.title}:{document.metadata.author}"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"


def modified_time(document: Document) -> str:
    return f"{document.metadata.date or '1980-01-01'}T00:00:00Z"


@dataclass(frozen=True)
class ManifestItem:
    id: str
    href: str
    media_type: str
    properties: str = ""
    media_overlay: str = ""


class EpubPackage:
    """One EPUB file: its content documents, navigation, package document and zip."""

    stylesheet = STYLESHEET
    # What an edition offers beyond the text and images, for the accessibility metadata.
    extra_access_modes: tuple[str, ...] = ()
    extra_sufficient_access_modes: tuple[str, ...] = ()
    extra_features: tuple[str, ...] = ()

    def __init__(self, document: Document, sections: list[DocumentSection]):
        self.document = document
        self.metadata = document.metadata
        self.language = document.metadata.language or "en"
        self.sections = sections
        self.files = [f"section-{n:03d}.xhtml" for n in range(1, len(sections) + 1)]
        self.notes = footnotes_by_section(document, sections)
        self.images = self._collect_images()
        self.location = self._locate_ids()
        self.renderer = self.make_renderer(image_src=lambda image: self.images[image.src][0], resolve=self.resolve)
        self.profile = accessibility_profile(document)

    # ------------------------------------------------------------ hooks

    def make_renderer(self, **options: Any) -> XhtmlRenderer:
        """The renderer of the content documents (``options``: ``image_src`` and ``resolve``)."""
        return XhtmlRenderer(self.document, epub=True, **options)

    def media_overlay(self, index: int) -> str:
        """The manifest id of the media overlay of content document ``index``, if any."""
        return ""

    def section_items(self, index: int) -> list[ManifestItem]:
        """Manifest items listed after content document ``index``."""
        return []

    def extra_metadata(self) -> list[tuple[str, str, dict[str, str]]]:
        """``meta`` elements after the accessibility metadata: (property, value, attributes)."""
        return []

    def extra_entries(self) -> list[tuple[str, bytes]]:
        """Compressed zip entries after the content documents; called once they are rendered."""
        return []

    def stored_entries(self) -> Iterable[tuple[str, bytes]]:
        """Zip entries stored uncompressed at the end (media that does not compress)."""
        return []

    # ------------------------------------------------------------ planning

    def _collect_images(self) -> dict[str, tuple[str, Path, str]]:
        """source src → (href inside EPUB/, file on disk, media type)."""
        found: dict[str, tuple[str, Path, str]] = {}
        base = self.document.source_dir.resolve()
        for image in self.document.images():
            if image.src in found:
                continue
            path = self.document.image_file(image).resolve()
            media_type = IMAGE_TYPES.get(path.suffix.lower())
            if media_type is None:
                raise WriterError(
                    f"image {image.src!r}: EPUB takes PNG, JPEG, GIF, SVG or WebP images",
                    self.document.source_path,
                    image.line,
                )
            inside = PurePosixPath(path.relative_to(base).as_posix())
            found[image.src] = (quote(str(inside)), path, media_type)
        return found

    def _locate_ids(self) -> dict[str, str]:
        """Which file holds each id that a link can point at (headings, notes, references)."""
        where: dict[str, str] = {}
        for file, section, notes in zip(self.files, self.sections, self.notes):
            for block in walk_blocks(section.blocks):
                if isinstance(block, Heading):
                    where.setdefault(block.id, file)
            for fn in notes:
                where[footnote_id(fn.number)] = file
        # A note's first reference is in the section that the note closes (or, for a note
        # cited only from another note, beside that note).
        for file, notes in zip(self.files, self.notes):
            for fn in notes:
                where.setdefault(noteref_id(fn.number), file)
        return where

    def resolve(self, fragment: str) -> str | None:
        file = self.location.get(fragment)
        return f"{file}#{quote(fragment)}" if file else None

    # ------------------------------------------------------------ documents

    def stylesheet_link(self) -> etree._Element:
        return element("link", {"rel": "stylesheet", "type": "text/css", "href": "style.css"})

    @functools.cached_property
    def chapter_level(self) -> int:
        # Worked out once: found afresh for each content document, it made the book's cost
        # grow with the square of its sections (100,000 headings did not finish).
        return max(1, min((s.heading.level for s in self.sections if s.heading), default=1))

    def content_document(self, index: int) -> bytes:
        section = self.sections[index]
        title = self._plain(section.heading) if section.heading else self.metadata.title
        html, body = page(title or self.metadata.title, self.language, head=[self.stylesheet_link()], epub=True)
        chapter = section.heading is not None and section.heading.level >= self.chapter_level and index > 0
        body.append(self.renderer.section(section, self.notes[index], chapter))
        return xhtml_bytes(html)

    def nav_document(self) -> bytes:
        labels = labels_for(self.language)
        html, body = page(labels("Contents"), self.language, head=[self.stylesheet_link()], epub=True)
        toc = sub(body, "nav", {"id": "toc", "role": "doc-toc", "aria-labelledby": "toc-title"})
        toc.set(EPUB_TYPE, "toc")
        sub(toc, "h1", {"id": "toc-title"}, labels("Contents"))
        headings = [b for s in self.sections for b in walk_blocks(s.blocks) if isinstance(b, Heading)]
        entries = heading_tree(headings)
        if entries:
            toc.append(self.renderer.toc_list(entries))
        else:
            ol = sub(toc, "ol")
            sub(sub(ol, "li"), "a", {"href": self.files[0]}, self.metadata.title or labels("Start"))

        landmarks = sub(body, "nav", {"id": "landmarks", "aria-labelledby": "landmarks-title", "hidden": "hidden"})
        landmarks.set(EPUB_TYPE, "landmarks")
        sub(landmarks, "h2", {"id": "landmarks-title"}, labels("Landmarks"))
        ol = sub(landmarks, "ol")
        for epub_type, href, label in (
            ("toc", "nav.xhtml#toc", labels("Contents")),
            ("bodymatter", self.files[0], labels("Start of content")),
        ):
            link = sub(sub(ol, "li"), "a", {"href": href}, label)
            link.set(EPUB_TYPE, epub_type)
        return xhtml_bytes(html)

    @staticmethod
    def _plain(heading: Heading) -> str:
        return " ".join(inline_text(heading.children).split())

    # ------------------------------------------------------------ package

    def summary_parts(self) -> list[str]:
        """What the accessibility summary says the book offers, one clause each."""
        p = self.profile
        labels = labels_for(self.language)
        parts = [labels(NAVIGATION_SUMMARY)]
        if p.image_count:
            if p.all_images_described:
                parts.append(labels("every image ({count}) has a text alternative", count=p.image_count))
            else:
                parts.append(labels("{missing} of {count} images lack a text alternative",
                                    missing=p.images_without_alt, count=p.image_count))
        if p.has_tables:
            parts.append(labels("data tables have header cells"))
        if p.has_footnotes:
            parts.append(labels("footnotes link to their references and back"))
        return parts

    def conformance_claim(self) -> str:
        """The master's conformance claim when the content bears it out, else "".

        A claim says that someone evaluated the book (EPUB Accessibility 1.1 asks for the
        evaluator's name with it), so it is never made up here: it comes from front matter
        ``conforms_to`` with ``certified_by``. formatforge's own findings (every image
        described, headings in order) can only withdraw it."""
        m = self.metadata
        where = self.document.source_path

        def line(key: str) -> int | None:
            try:
                lines = where.read_text(encoding="utf-8").split("\n")
            except OSError:
                return None
            return next((n for n, text in enumerate(lines, 1) if text.startswith(f"{key}:")), None)

        if m.conforms_to and not CONFORMS_TO_RE.fullmatch(m.conforms_to):
            raise WriterError(f"front matter conforms_to {m.conforms_to!r} is not an EPUB Accessibility "
                              f"claim such as {CONFORMANCE!r}", where, line("conforms_to"))
        if bool(m.conforms_to) != bool(m.certified_by):
            key = "conforms_to" if m.conforms_to else "certified_by"
            raise WriterError("front matter conforms_to and certified_by go together: a conformance "
                              "claim names who evaluated the book (EPUB Accessibility 1.1)", where, line(key))
        if (m.certifier_credential or m.certifier_report) and not m.certified_by:
            raise WriterError("front matter certifier_credential and certifier_report need certified_by",
                              where, line("certifier_credential") or line("certifier_report"))
        return m.conforms_to if self.profile.conforms else ""

    def accessibility_summary(self) -> str:
        labels = labels_for(self.language)
        summary = labels("{parts}. It has no known hazards.", parts=", ".join(self.summary_parts()))
        claim = self.conformance_claim()
        if claim:
            summary += " " + labels("{certifier} evaluated it: it meets {claim}.",
                                    certifier=self.metadata.certified_by, claim=claim)
        elif self.profile.conforms:
            # What formatforge checked, said as that: not a claim that anyone evaluated it.
            summary += " " + labels("It was made to meet WCAG 2.2 Level AA and passes the automatic checks it was"
                                    " built with (every image described, headings in order); no one has evaluated"
                                    " its conformance.")
        else:
            summary += " " + labels("It does not meet WCAG 2.2 Level AA.")
        return summary

    def package_document(self) -> bytes:
        m = self.metadata
        p = self.profile
        package = etree.Element(
            f"{{{OPF_NS}}}package",
            {"version": "3.0", "unique-identifier": "pub-id", XML_LANG: self.language},
            nsmap={None: OPF_NS},
        )
        metadata = etree.SubElement(package, f"{{{OPF_NS}}}metadata", nsmap={"dc": DC_NS})

        def dc(name: str, value: str, **attrib: str) -> None:
            if value:
                el = etree.SubElement(metadata, f"{{{DC_NS}}}{name}", attrib)
                el.text = value

        def meta(prop: str, value: str, attrib: dict[str, str] | None = None) -> None:
            el = etree.SubElement(metadata, f"{{{OPF_NS}}}meta", {"property": prop, **(attrib or {})})
            el.text = value

        dc("identifier", book_identifier(self.document), id="pub-id")
        dc("title", m.title or self.document.stem)
        dc("language", self.language)
        dc("creator", m.author)
        dc("publisher", m.publisher)
        dc("description", m.description)
        dc("date", m.date)
        for keyword in m.keywords:
            dc("subject", keyword)
        meta("dcterms:modified", modified_time(self.document))

        meta("schema:accessMode", "textual")
        for mode in self.extra_access_modes:
            meta("schema:accessMode", mode)
        if p.image_count:
            meta("schema:accessMode", "visual")
        if p.all_images_described:
            meta("schema:accessModeSufficient", "textual")
        for mode in self.extra_sufficient_access_modes:
            meta("schema:accessModeSufficient", mode)
        if p.image_count:
            meta("schema:accessModeSufficient", "textual,visual")
        features = ["tableOfContents", "readingOrder", "structuralNavigation", "displayTransformability", "ARIA"]
        features += self.extra_features
        if p.image_count and p.all_images_described:
            features.append("alternativeText")
        for feature in features:
            meta("schema:accessibilityFeature", feature)
        meta("schema:accessibilityHazard", "none")
        meta("schema:accessibilitySummary", self.accessibility_summary())
        claim = self.conformance_claim()
        if claim:
            meta("dcterms:conformsTo", claim)
            meta("a11y:certifiedBy", m.certified_by, {"id": "certifier"})
            if m.certifier_credential:
                meta("a11y:certifierCredential", m.certifier_credential, {"refines": "#certifier"})
            if m.certifier_report:
                etree.SubElement(metadata, f"{{{OPF_NS}}}link", {
                    "rel": "a11y:certifierReport", "refines": "#certifier", "href": m.certifier_report})
        for prop, value, attrib in self.extra_metadata():
            meta(prop, value, attrib)

        manifest = etree.SubElement(package, f"{{{OPF_NS}}}manifest")

        def item(entry: ManifestItem) -> None:
            attrib = {"id": entry.id, "href": entry.href, "media-type": entry.media_type}
            if entry.media_overlay:
                attrib["media-overlay"] = entry.media_overlay
            if entry.properties:
                attrib["properties"] = entry.properties
            etree.SubElement(manifest, f"{{{OPF_NS}}}item", attrib)

        item(ManifestItem("nav", "nav.xhtml", "application/xhtml+xml", properties="nav"))
        item(ManifestItem("css", "style.css", "text/css"))
        for index, file in enumerate(self.files):
            item(ManifestItem(f"s{index + 1:03d}", file, "application/xhtml+xml", media_overlay=self.media_overlay(index)))
            for extra in self.section_items(index):
                item(extra)
        cover = self.metadata.cover
        for n, (src, (href, _, media_type)) in enumerate(sorted(self.images.items(), key=lambda kv: kv[1][0]), 1):
            item(ManifestItem(f"img{n:03d}", href, media_type, properties="cover-image" if src == cover else ""))

        spine = etree.SubElement(package, f"{{{OPF_NS}}}spine")
        # In the spine (so the "toc" landmark may point at it) but out of the reading order.
        etree.SubElement(spine, f"{{{OPF_NS}}}itemref", {"idref": "nav", "linear": "no"})
        for n in range(1, len(self.files) + 1):
            etree.SubElement(spine, f"{{{OPF_NS}}}itemref", {"idref": f"s{n:03d}"})
        return etree.tostring(package, xml_declaration=True, encoding="utf-8", pretty_print=True)

    @staticmethod
    def container_document() -> bytes:
        container = etree.Element(f"{{{CONTAINER_NS}}}container", {"version": "1.0"}, nsmap={None: CONTAINER_NS})
        rootfiles = etree.SubElement(container, f"{{{CONTAINER_NS}}}rootfiles")
        etree.SubElement(
            rootfiles,
            f"{{{CONTAINER_NS}}}rootfile",
            {"full-path": "EPUB/package.opf", "media-type": "application/oebps-package+xml"},
        )
        return etree.tostring(container, xml_declaration=True, encoding="utf-8", pretty_print=True)

    # ------------------------------------------------------------ zip

    def write(self, target: Path) -> None:
        # Content documents are rendered in reading order: note references are numbered
        # as the renderer meets them.
        contents = [self.content_document(i) for i in range(len(self.sections))]
        entries: list[tuple[str, bytes]] = [
            ("META-INF/container.xml", self.container_document()),
            ("EPUB/package.opf", self.package_document()),
            ("EPUB/nav.xhtml", self.nav_document()),
            ("EPUB/style.css", (self.stylesheet + construct_styles(self.document, CONSTRUCT_STYLES)).encode("utf-8")),
        ]
        entries += [(f"EPUB/{file}", data) for file, data in zip(self.files, contents)]
        entries += self.extra_entries()
        base = self.document.source_dir.resolve()
        for _, path, _ in sorted(self.images.values()):
            entries.append((f"EPUB/{PurePosixPath(path.relative_to(base).as_posix())}", path.read_bytes()))

        with zipfile.ZipFile(target, "w") as archive:
            # The OCF rule: "mimetype" first, stored, no extra field.
            archive.writestr(zip_info("mimetype", zipfile.ZIP_STORED), b"application/epub+zip")
            for name, data in entries:
                archive.writestr(zip_info(name, zipfile.ZIP_DEFLATED), data)
            for name, data in self.stored_entries():
                archive.writestr(zip_info(name, zipfile.ZIP_STORED), data)
