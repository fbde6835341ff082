"""EPUB 3 writer: structure, metadata (E1–E11), reproducibility, text, and the real validators (E12).

EPUBCheck and Ace are slow, so each runs once per reference document per session (module fixtures).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

from conftest import EVERY_CONSTRUCT, STRATEGY, write_format
from formatforge import model
from formatforge.formats import get_writer
from formatforge.shared.epub_package import CONFORMANCE
from formatforge.model import Document, Image, Paragraph, Text
from formatforge.reader import read_source
from formatforge.validate import run_ace, run_epubcheck
from formatforge.shared.xhtml import EPUB_TYPE, XML_LANG, reading_text

OPF = "{http://www.idpf.org/2007/opf}"
DC = "{http://purl.org/dc/elements/1.1/}"
X = "{http://www.w3.org/1999/xhtml}"

# epub:type values and the ARIA role each one needs (from Ace's epub-type-has-matching-role).
MATCHING_ROLE = {
    "chapter": "doc-chapter",
    "footnote": "doc-footnote",
    "noteref": "doc-noteref",
    "toc": "doc-toc",
    "endnotes": "doc-endnotes",
    "part": "doc-part",
    "pagebreak": "doc-pagebreak",
}

SOURCES = {"every-construct": EVERY_CONSTRUCT, "strategy": STRATEGY}


class Book:
    """An unpacked EPUB: the package, its spine documents and every file by name."""

    def __init__(self, path: Path):
        self.path = path
        self.zip = zipfile.ZipFile(path)
        self.opf_name = self._rootfile()
        self.opf = etree.fromstring(self.zip.read(self.opf_name))
        self.base = self.opf_name.rsplit("/", 1)[0] + "/"
        self.manifest = {i.get("id"): i for i in self.opf.iter(f"{OPF}item")}

    def _rootfile(self) -> str:
        container = etree.fromstring(self.zip.read("META-INF/container.xml"))
        return container.find(".//{*}rootfile").get("full-path")

    def meta(self, prop: str) -> list[str]:
        return [m.text for m in self.opf.iter(f"{OPF}meta") if m.get("property") == prop]

    def dc(self, name: str) -> list[str]:
        return [e.text for e in self.opf.iter(f"{DC}{name}")]

    def spine(self, linear_only: bool = True) -> list[str]:
        refs = self.opf.iter(f"{OPF}itemref")
        return [self.manifest[r.get("idref")].get("href") for r in refs if not (linear_only and r.get("linear") == "no")]

    def xhtml_names(self) -> list[str]:
        return [i.get("href") for i in self.manifest.values() if i.get("media-type") == "application/xhtml+xml"]

    def document(self, href: str) -> etree._Element:
        return etree.fromstring(self.zip.read(self.base + href))

    def nav(self) -> etree._Element:
        [nav] = [i.get("href") for i in self.manifest.values() if "nav" in (i.get("properties") or "").split()]
        return self.document(nav)


def build_epub(doc: Document, folder: Path, **options) -> Path:
    return write_format("epub", doc, folder, **options)[f"{doc.stem}.epub"]


@pytest.fixture(scope="module", params=list(SOURCES))
def built(request, tmp_path_factory) -> tuple[Document, Book]:
    doc = read_source(SOURCES[request.param]).document
    path = build_epub(doc, tmp_path_factory.mktemp(f"epub-{request.param}"))
    return doc, Book(path)


@pytest.fixture(scope="module")
def without_alt(every_construct, tmp_path_factory) -> tuple[Document, Book]:
    """every-construct with the alt text removed from its one image."""
    blocks = tuple(replace(b, alt="") if isinstance(b, Image) else b for b in every_construct.blocks)
    doc = replace(every_construct, blocks=blocks)
    assert any(isinstance(b, Image) for b in blocks)
    return doc, Book(build_epub(doc, tmp_path_factory.mktemp("epub-no-alt")))


@pytest.fixture(scope="module")
def epubcheck_result(built):
    return run_epubcheck(built[1].path)


@pytest.fixture(scope="module")
def ace_result(built):
    return run_ace(built[1].path)


# ---------------------------------------------------------------- the real validators


@pytest.mark.slow
def test_e12_epubcheck_reports_no_errors_and_no_warnings(epubcheck_result):
    """E12: EPUBCheck 0 errors, 0 warnings."""
    assert epubcheck_result.ran, epubcheck_result.summary()
    assert (epubcheck_result.errors, epubcheck_result.warnings) == (0, 0), epubcheck_result.messages


@pytest.mark.slow
def test_e12_ace_reports_no_violations(ace_result):
    """E12: DAISY Ace 0 violations."""
    assert ace_result.ran, ace_result.summary()
    assert ace_result.messages == []


@pytest.mark.slow
def test_e5_missing_alt_drops_the_claims_and_ace_reports_the_image(without_alt):
    """E5, E3, E4: no alternativeText or conformance claim when an image lacks alt; Ace names the image."""
    _, book = without_alt
    assert "alternativeText" not in book.meta("schema:accessibilityFeature")
    assert book.meta("dcterms:conformsTo") == [] and book.meta("a11y:certifiedBy") == []
    assert book.meta("schema:accessModeSufficient") == ["textual,visual"]
    ace = run_ace(book.path)
    assert ace.ran
    assert "image-alt" in ace.codes(), ace.messages


@pytest.mark.slow
def test_e12_epubcheck_catches_a_broken_book(every_construct, tmp_path):
    """E12: the checker can fail: a book whose package lost dcterms:modified is reported."""
    good = build_epub(every_construct, tmp_path / "good")
    broken = tmp_path / "broken.epub"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(broken, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith(".opf"):
                data = re.sub(rb'<meta property="dcterms:modified">[^<]*</meta>', b"", data)
            target.writestr(info, data)
    result = run_epubcheck(broken)
    assert result.errors >= 1, result.messages


# ---------------------------------------------------------------- package metadata


def test_e8_language_on_package_and_every_document(built):
    """E8: xml:lang on <package>, dc:language, lang and xml:lang on every XHTML file."""
    doc, book = built
    language = doc.metadata.language
    assert book.opf.get(XML_LANG) == language
    assert book.dc("language") == [language]
    for href in book.xhtml_names():
        html = book.document(href)
        assert html.get("lang") == language and html.get(XML_LANG) == language, href


def test_e9_title_identifier_language_and_one_modified(built):
    """E9: dc:title, dc:identifier, dc:language, exactly one dcterms:modified (from metadata.date)."""
    doc, book = built
    m = doc.metadata
    assert book.dc("title") == [m.title]
    [identifier] = book.opf.iter(f"{DC}identifier")
    assert identifier.text and identifier.get("id") == book.opf.get("unique-identifier")
    if m.identifier:
        assert identifier.text == m.identifier
    assert book.meta("dcterms:modified") == [f"{m.date}T00:00:00Z"]
    assert book.dc("creator") == ([m.author] if m.author else [])
    assert book.dc("publisher") == ([m.publisher] if m.publisher else [])
    assert book.dc("description") == ([m.description] if m.description else [])


def test_e1_e2_accessibility_metadata_present(built):
    """E1, E2: accessMode, accessibilityFeature, accessibilityHazard, accessibilitySummary, accessModeSufficient."""
    _, book = built
    for prop in (
        "schema:accessMode",
        "schema:accessibilityFeature",
        "schema:accessibilityHazard",
        "schema:accessibilitySummary",
        "schema:accessModeSufficient",
    ):
        assert book.meta(prop), prop


def test_e5_claims_follow_the_content(built):
    """E5: visual access mode and alternativeText only with images (all described); no synchronizedAudioText."""
    doc, book = built
    images = [i for i in doc.images() if not i.decorative]
    features = book.meta("schema:accessibilityFeature")
    assert ("visual" in book.meta("schema:accessMode")) == bool(images)
    assert ("alternativeText" in features) == (bool(images) and all(i.alt for i in images))
    assert "synchronizedAudioText" not in features
    assert "textual" in book.meta("schema:accessModeSufficient")


def test_e3_e4_no_claim_and_no_certifier_the_master_did_not_make(built):
    """E3, E4 (issue 16): without conforms_to and certified_by in the front matter the book
    claims no conformance and names no evaluator; the summary says what was checked."""
    doc, book = built
    assert not doc.metadata.conforms_to and not doc.metadata.certified_by
    assert book.meta("dcterms:conformsTo") == []
    for prop in ("a11y:certifiedBy", "a11y:certifierCredential"):
        assert book.meta(prop) == []
    assert not [link for link in book.opf.iter(f"{OPF}link") if link.get("rel") == "a11y:certifierReport"]
    [summary] = book.meta("schema:accessibilitySummary")
    assert "no one has evaluated" in summary and "It meets" not in summary


def _claimed(every_construct, **claim) -> Document:
    return replace(every_construct, metadata=replace(every_construct.metadata, **claim))


CLAIM = {"conforms_to": CONFORMANCE, "certified_by": "Accessible Books Ltd",
         "certifier_credential": "DAISY Ace Certified", "certifier_report": "https://example.org/report.html"}


@pytest.fixture(scope="module")
def claimed(every_construct, tmp_path_factory) -> Book:
    return Book(build_epub(_claimed(every_construct, **CLAIM), tmp_path_factory.mktemp("epub-claimed")))


def test_e3_e4_the_masters_claim_with_its_certifier(claimed):
    """E3, E4: front matter conforms_to and certified_by give the exact conformsTo string, with
    a11y:certifiedBy, its credential and its report refining it."""
    assert claimed.meta("dcterms:conformsTo") == [CONFORMANCE]
    assert CONFORMANCE == "EPUB Accessibility 1.1 - WCAG 2.2 Level AA"
    [certifier] = [m for m in claimed.opf.iter(f"{OPF}meta") if m.get("property") == "a11y:certifiedBy"]
    assert certifier.text == "Accessible Books Ltd"
    [credential] = [m for m in claimed.opf.iter(f"{OPF}meta") if m.get("property") == "a11y:certifierCredential"]
    assert credential.text == "DAISY Ace Certified" and credential.get("refines") == f"#{certifier.get('id')}"
    [report] = [link for link in claimed.opf.iter(f"{OPF}link") if link.get("rel") == "a11y:certifierReport"]
    assert report.get("href") == CLAIM["certifier_report"] and report.get("refines") == f"#{certifier.get('id')}"
    [summary] = claimed.meta("schema:accessibilitySummary")
    assert "Accessible Books Ltd evaluated it" in summary


def test_claim_is_withdrawn_when_the_content_fails(every_construct, tmp_path):
    """E5: a claim the content does not bear out (an image without alt) is not written."""
    blocks = tuple(replace(b, alt="") if isinstance(b, Image) else b for b in every_construct.blocks)
    doc = replace(_claimed(every_construct, **CLAIM), blocks=blocks)
    book = Book(build_epub(doc, tmp_path))
    assert book.meta("dcterms:conformsTo") == [] and book.meta("a11y:certifiedBy") == []


@pytest.mark.parametrize("claim, message", [
    ({"conforms_to": CONFORMANCE}, "go together"),
    ({"certified_by": "Someone"}, "go together"),
    ({"conforms_to": "WCAG 2.2 AA", "certified_by": "Someone"}, "is not an EPUB Accessibility claim"),
    ({"certifier_report": "https://example.org/r"}, "need certified_by"),
])
def test_a_half_made_claim_is_a_clear_error(every_construct, tmp_path, claim, message):
    from formatforge.errors import WriterError

    with pytest.raises(WriterError, match=message):
        build_epub(_claimed(every_construct, **claim), tmp_path)


def test_front_matter_keys_reach_the_metadata(tmp_path):
    source = tmp_path / "claimed.md"
    source.write_text("---\ntitle: T\nlanguage: en-GB\nconforms_to: " + CONFORMANCE
                      + "\ncertified_by: Accessible Books Ltd\ncertifier_credential: C\n"
                      "certifier_report: https://example.org/r\n---\n\n# T\n\nText.\n", encoding="utf-8")
    meta = read_source(source).document.metadata
    assert (meta.conforms_to, meta.certified_by, meta.certifier_credential, meta.certifier_report) == (
        CONFORMANCE, "Accessible Books Ltd", "C", "https://example.org/r")


def test_e6_no_page_list_without_a_page_source(built):
    """E6: there is no print source, so no page-list nav and no pagebreaks."""
    _, book = built
    nav = book.nav()
    assert not [n for n in nav.iter(f"{X}nav") if n.get(EPUB_TYPE) == "page-list"]


# ---------------------------------------------------------------- navigation


def test_e10_one_toc_nav_non_empty_lists_and_links_that_resolve(built):
    """E10: exactly one toc nav; every ol has an li; every link labelled and resolving in the book."""
    doc, book = built
    nav = book.nav()
    tocs = [n for n in nav.iter(f"{X}nav") if n.get(EPUB_TYPE) == "toc"]
    assert len(tocs) == 1
    assert all(len(ol.findall(f"{X}li")) > 0 for ol in nav.iter(f"{X}ol"))
    ids = {href: {e.get("id") for e in book.document(href).iter() if e.get("id")} for href in book.xhtml_names()}
    checked = 0
    for href in book.xhtml_names():
        for a in book.document(href).iter(f"{X}a"):
            target = a.get("href")
            if target is None or re.match(r"^[a-z]+:", target):
                continue
            assert "".join(a.itertext()).strip() or a.get("aria-label"), f"unlabelled link in {href}"
            file, _, fragment = target.partition("#")
            file = file or href
            assert file in ids, f"{href}: {target} leaves the book"
            assert not fragment or fragment in ids[file], f"{href}: {target} does not resolve"
            checked += 1
    assert checked > 0
    headings = [b for b in model.walk_blocks(doc.blocks) if isinstance(b, model.Heading)]
    toc_links = [a.get("href").partition("#")[2] for a in tocs[0].iter(f"{X}a")]
    assert toc_links == [h.id for h in headings]


def test_e11_landmarks_once_with_types_and_every_type_has_its_role(built):
    """E11: one landmarks nav, each link typed; every epub:type has its matching ARIA role."""
    _, book = built
    nav = book.nav()
    landmarks = [n for n in nav.iter(f"{X}nav") if n.get(EPUB_TYPE) == "landmarks"]
    assert len(landmarks) == 1
    links = list(landmarks[0].iter(f"{X}a"))
    assert links and all(a.get(EPUB_TYPE) for a in links)
    assert {a.get(EPUB_TYPE) for a in links} >= {"toc", "bodymatter"}
    for href in book.xhtml_names():
        for el in book.document(href).iter():
            epub_type = el.get(EPUB_TYPE)
            in_landmarks = any(a.get(EPUB_TYPE) == "landmarks" for a in el.iterancestors())
            if not epub_type or in_landmarks:  # Ace, too, leaves the landmark links alone
                continue
            for value in epub_type.split():
                if value in MATCHING_ROLE:
                    assert MATCHING_ROLE[value] in (el.get("role") or "").split(), f"{href}: {value} without its role"


def test_one_content_document_per_top_level_section(built):
    doc, book = built
    assert len(book.spine()) == len(doc.sections())
    for href, section in zip(book.spine(), doc.sections()):
        if section.heading is not None:
            headings = [h for h in book.document(href).iter() if re.fullmatch(rf"{re.escape(X)}h[1-6]", str(h.tag))]
            assert headings[0].get("id") == section.heading.id


def test_split_level_option_changes_the_split(every_construct, tmp_path):
    """epub.split_level: 1 keeps the whole book in one document; 3 splits further."""
    one = Book(build_epub(every_construct, tmp_path / "one", **{"epub.split_level": 1}))
    three = Book(build_epub(every_construct, tmp_path / "three", **{"epub.split_level": 3}))
    assert len(one.spine()) == 1
    assert len(three.spine()) == len(model.split_sections(every_construct.blocks, 3)) > len(every_construct.sections())
    assert "epub.split_level" in {o.name for o in get_writer("epub").options}


# ---------------------------------------------------------------- content


def test_text_in_the_epub_equals_the_model_in_order(built):
    """Nothing is lost: the spine documents, in order, hold the model's words in order."""
    doc, book = built
    body, notes = [], []
    for href in book.spine():
        b, n = reading_text(book.document(href))
        body.append(b)
        notes.append(n)
    assert model.words("\n".join(body) + "\n" + "\n".join(notes)) == model.words(model.document_text(doc))


def test_tables_have_header_cells_with_scope(built):
    doc, book = built
    tables = [t for href in book.spine() for t in book.document(href).iter(f"{X}table")]
    assert len(tables) == sum(isinstance(b, model.Table) for b in model.walk_blocks(doc.all_blocks()))
    for table in tables:
        headers = list(table.iter(f"{X}th"))
        assert headers and all(th.get("scope") in ("col", "row") for th in headers)


def test_figures_carry_alt_text(built):
    doc, book = built
    images = [i for href in book.spine() for i in book.document(href).iter(f"{X}img")]
    assert [i.get("alt") for i in images] == [("" if i.decorative else i.alt) for i in doc.images()]
    for img in images:
        assert img.getparent().tag == f"{X}figure"
        assert book.base + img.get("src") in book.zip.namelist()


def test_footnotes_are_epub3_footnotes_with_back_links(built):
    doc, book = built
    refs, notes = {}, {}
    for href in book.spine():
        for el in book.document(href).iter():
            if el.get(EPUB_TYPE) == "noteref":
                assert el.get("role") == "doc-noteref"
                refs[el.get("id")] = (href, el.get("href"))
            if el.get(EPUB_TYPE) == "footnote":
                assert el.tag == f"{X}aside" and el.get("role") == "doc-footnote"
                [back] = [a for a in el.iter(f"{X}a") if a.get("role") == "doc-backlink"]
                notes[el.get("id")] = (href, back.get("href"))
    assert len(notes) == len(doc.footnotes)
    for _file, target in refs.values():
        assert target.partition("#")[2] in notes
    for _file, back in notes.values():
        file, _, fragment = back.partition("#")
        assert fragment in refs and refs[fragment][0] == file


def test_stylesheet_uses_relative_units_only(built):
    _, book = built
    [css] = [i.get("href") for i in book.manifest.values() if i.get("media-type") == "text/css"]
    text = book.zip.read(book.base + css).decode()
    assert not re.search(r"\d(px|pt|cm|mm|in|pc)\b", text)
    assert "font-family: monospace" in text and "color:" not in text


def test_source_text_is_escaped(tmp_path, every_construct):
    """Raw text from the source never becomes markup."""
    nasty = "<script>alert(1)</script> & <b>not bold</b>"
    doc = replace(every_construct, blocks=every_construct.blocks + (Paragraph((Text(nasty),)),))
    book = Book(build_epub(doc, tmp_path))
    last = book.document(book.spine()[-1])
    assert not list(last.iter(f"{X}script")) and not list(last.iter(f"{X}b"))
    assert nasty in "".join(last.itertext())


# ---------------------------------------------------------------- the container


def test_mimetype_first_and_stored(built):
    _, book = built
    first = book.zip.infolist()[0]
    assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
    assert book.zip.read("mimetype") == b"application/epub+zip" and first.extra == b""


def test_rebuild_is_byte_identical(every_construct, tmp_path):
    a = build_epub(every_construct, tmp_path / "a")
    b = build_epub(every_construct, tmp_path / "b")
    assert a.read_bytes() == b.read_bytes()
    assert {i.date_time for i in zipfile.ZipFile(a).infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_output_names(every_construct):
    assert get_writer("epub").output_names(every_construct, {}) == ["every-construct.epub"]


@pytest.mark.slow
def test_e12_a_claimed_book_is_valid_with_its_certifier(claimed):
    """E12: conformsTo, certifiedBy, certifierCredential and certifierReport pass EPUBCheck and Ace."""
    epubcheck, ace = run_epubcheck(claimed.path), run_ace(claimed.path)
    assert epubcheck.ran and ace.ran
    assert (epubcheck.errors, epubcheck.warnings) == (0, 0), epubcheck.messages
    assert ace.messages == []
