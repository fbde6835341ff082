"""The Word package around the body: python-docx's template made lean, the core properties, the
footnotes part, and the package zipped once with fixed dates so that two builds are
byte-identical.

python-docx has no public way to do three of these (write the package without its own zip
writer, set a core property longer than 255 characters, add a footnotes part), so this module
reaches into its internals; so do ``styles.py`` and ``body.py``, for speed on long documents.
Every such name is listed once in ``PRIVATE_API``, and ``tests/test_word_package.py`` checks
each still exists, so that a python-docx upgrade that drops one fails there by name rather
than somewhere in a build.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime, timezone
from importlib import import_module
from typing import Any

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.pkgwriter import PackageWriter
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.parts.story import StoryPart

from ... import model
from ...reproducible_zip import zip_info

FOOTNOTES_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
# Zip entries need some timestamp; a fixed one keeps two builds byte-identical.
FALLBACK_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# Entries are deflated at zlib's default level: level 9 took twice as long for 2 % smaller files.
ZIP_COMPRESS_LEVEL = 6

# Parts of python-docx's template that nothing reads: Word 2010's second copy of the styles
# (later Word versions neither write nor need it) and an empty bibliography source list.
# They are 800 KB of XML to deflate on every build.
TEMPLATE_LEFTOVERS = frozenset({
    "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects",
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/customXml",
})

# The core properties written as text (the dates and revision go through python-docx's setters).
CORE_TEXT_PROPERTIES = ("title", "subject", "creator", "lastModifiedBy", "description", "keywords",
                        "language", "identifier", "category")

# Everything the Word build uses that python-docx does not document: names starting with "_",
# and its internal oxml/opc layers. A path is a module's dotted name and attributes, or starts
# with "Document()" for an attribute only an instance has (one made from python-docx's
# template); "[0]" takes the first item. tests/test_word_package.py walks this list.
PRIVATE_API: tuple[str, ...] = (
    # package.py: the package written without python-docx's zip writer (package_bytes)
    "docx.opc.pkgwriter.PackageWriter._write_content_types_stream",
    "docx.opc.pkgwriter.PackageWriter._write_pkg_rels",
    "docx.opc.pkgwriter.PackageWriter._write_parts",
    "docx.opc.packuri.PackURI.membername",
    "docx.opc.part.Part.before_marshal",
    "docx.opc.package.OpcPackage.parts",
    "Document().part.package.rels",
    "Document().part.rels",
    # package.py: core properties longer than python-docx's 255-character cap
    "Document().core_properties._element",
    "docx.oxml.coreprops.CT_CoreProperties._get_or_add",
    *(f"docx.oxml.coreprops.CT_CoreProperties.get_or_add_{name}" for name in CORE_TEXT_PROPERTIES),
    # package.py: the footnotes part python-docx has no API for
    "docx.parts.story.StoryPart",
    "docx.opc.packuri.PackURI",
    "docx.opc.part.Part.relate_to",
    # styles.py: styles found and added without python-docx's per-style XPath
    "docx.styles.BabelFish.ui2internal",
    "docx.styles.style.StyleFactory",
    "docx.oxml.styles.CT_Styles.add_style_of_type",
    "docx.oxml.styles.CT_Style.get_or_add_rPr",
    "docx.oxml.text.font.CT_RPr.get_or_add_rFonts",
    "Document().sections[0].footer.paragraphs[0]._p",
    "Document().part.numbering_part",
    # body.py: elements made with lxml under python-docx's element classes
    "docx.oxml.OxmlElement",
    "docx.oxml.parse_xml",
    "docx.oxml.ns.qn",
    "docx.oxml.ns.nsdecls",
    "docx.oxml.xmlchemy.BaseOxmlElement",
    "docx.oxml.table.CT_Tbl.new_tbl",
    "docx.oxml.table.CT_Tbl.tblStyle_val",
    "docx.oxml.shape.CT_Inline.new_pic_inline",
    "docx.oxml.shape.CT_Inline.docPr",
    "docx.oxml.shape.CT_Inline.extent",
    "docx.oxml.text.run.CT_R.add_drawing",
    "docx.oxml.text.paragraph.CT_P.get_or_add_pPr",
    "docx.oxml.text.parfmt.CT_PPr.pStyle",
    "docx.oxml.text.parfmt.CT_PPr.style",
    "docx.parts.story.StoryPart.get_or_add_image",
    "docx.image.image.Image.scaled_dimensions",
    "docx.image.image.Image.filename",
    "Document().element.body",
)

_STEP = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?$")


def missing_private_api() -> list[str]:
    """Each entry of ``PRIVATE_API`` this python-docx lacks, as a sentence naming the version,
    the entry and the attribute that is missing; empty when all are there."""
    return [problem for path in PRIVATE_API if (problem := _missing(path))]


def _missing(path: str) -> str | None:
    version = _python_docx_version()
    steps = path.split(".")
    found: Any
    if steps[0] == "Document()":
        found, owner, steps = docx.Document(), "Document()", steps[1:]
    else:
        # the longest prefix that imports is the module; the rest are attributes
        for split in range(len(steps), 0, -1):
            try:
                found = import_module(".".join(steps[:split]))
            except ImportError:
                continue
            owner, steps = ".".join(steps[:split]), steps[split:]
            break
        else:
            return f"python-docx {version}: {path} relies on module {steps[0]}, which does not import"
    for step in steps:
        match = _STEP.match(step)
        if match is None:
            raise ValueError(f"PRIVATE_API entry {path!r}: cannot read the step {step!r}")
        attribute, index = match.groups()
        if not hasattr(found, attribute):
            return (f"python-docx {version} has no attribute {attribute!r} on {owner}: the Word build relies on "
                    f"{path} (see PRIVATE_API in formatforge/shared/word/package.py)")
        found, owner = getattr(found, attribute), f"{owner}.{attribute}"
        if index is not None:
            found, owner = found[int(index)], f"{owner}[{index}]"
    return None


def _python_docx_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("python-docx")
    except PackageNotFoundError:
        return "(version unknown)"


# ---------------------------------------------------------------- the template


def new_document() -> docx.document.Document:
    """python-docx's template without the parts nothing reads."""
    word = docx.Document()
    for rid, relationship in list(word.part.rels.items()):
        if relationship.reltype in TEMPLATE_LEFTOVERS:
            word.part.rels.pop(rid)
    return word


def drop_template_thumbnail(word: docx.document.Document) -> None:
    # The template's thumbnail shows a blank page: misleading in file browsers.
    package = word.part.package
    for rel_id, rel in list(package.rels.items()):
        if rel.reltype == RT.THUMBNAIL:
            package.rels.pop(rel_id)


def set_core_properties(word: docx.document.Document, meta: model.Metadata) -> None:
    props = word.core_properties
    when = document_date(meta.date)
    texts = {
        "title": meta.title,
        "subject": meta.subtitle or meta.description,
        "creator": meta.author or meta.publisher,
        "lastModifiedBy": meta.author or meta.publisher,
        "description": meta.description,
        "keywords": ", ".join(meta.keywords),
        "language": meta.language,
        "identifier": meta.identifier,
        "category": "",
    }
    for name in CORE_TEXT_PROPERTIES:
        # python-docx caps these at 255 characters; OOXML does not, and a summary is longer.
        props._element._get_or_add(name).text = texts[name]
    props.revision = 1
    props.created = when
    props.modified = when
    props.last_printed = when


class FootnotesPart(StoryPart):
    """word/footnotes.xml: python-docx has no footnote API, so the part is made here."""


def add_footnotes_part(word: docx.document.Document) -> tuple[FootnotesPart, BaseOxmlElement]:
    """The footnotes part with Word's two separator notes (ids -1 and 0), related to the body."""
    element = parse_xml(
        f'<w:footnotes {nsdecls("w", "r")}>'
        '<w:footnote w:type="separator" w:id="-1"><w:p><w:pPr><w:spacing w:after="0" w:line="240" w:lineRule="auto"/></w:pPr>'
        '<w:r><w:separator/></w:r></w:p></w:footnote>'
        '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:pPr><w:spacing w:after="0" w:line="240" w:lineRule="auto"/></w:pPr>'
        '<w:r><w:continuationSeparator/></w:r></w:p></w:footnote>'
        "</w:footnotes>")
    part = FootnotesPart(PackURI("/word/footnotes.xml"), FOOTNOTES_CONTENT_TYPE, element, word.part.package)
    word.part.relate_to(part, RT.FOOTNOTES)
    return part, element


# ---------------------------------------------------------------- the zip


class _PackageEntries(dict):
    """Stands in for python-docx's zip writer: keeps each serialised part by member name."""

    def write(self, pack_uri, blob: bytes) -> None:
        self[pack_uri.membername] = blob


def package_bytes(word: docx.document.Document, date_time: tuple[int, int, int, int, int, int]) -> bytes:
    """The saved package, zipped once with fixed dates (``Document.save`` followed by a
    rewrite with fixed dates would deflate every part twice)."""
    package = word.part.package
    parts = package.parts
    for part in parts:
        part.before_marshal()
    entries = _PackageEntries()
    # What PackageWriter.write does, into entries instead of a zip file.
    PackageWriter._write_content_types_stream(entries, parts)
    PackageWriter._write_pkg_rels(entries, package.rels)
    # _PackageEntries has the one method of PhysPkgWriter these private helpers call (write).
    PackageWriter._write_parts(entries, parts)  # type: ignore[arg-type]
    return _zip_entries(entries, date_time)


def document_date(iso_date: str) -> datetime:
    """The front matter's date in UTC, to the second (1980-01-01 when it has none or cannot be read)."""
    try:
        parsed = datetime.fromisoformat(iso_date) if iso_date else datetime(*FALLBACK_ZIP_DATE)
    except ValueError:
        parsed = datetime(*FALLBACK_ZIP_DATE)
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc).replace(microsecond=0)


def zip_date(iso_date: str) -> tuple[int, int, int, int, int, int]:
    when = document_date(iso_date)
    if when.year < 1980:
        return FALLBACK_ZIP_DATE
    return (when.year, when.month, when.day, when.hour, when.minute, when.second - when.second % 2)


def _zip_entries(entries: dict[str, bytes], date_time: tuple[int, int, int, int, int, int]) -> bytes:
    """The package's parts zipped with fixed entry dates and a stable entry order."""
    # [Content_Types].xml first: some consumers sniff the package from the first entry.
    first = [name for name in ("[Content_Types].xml", "_rels/.rels") if name in entries]
    order = first + sorted(name for name in entries if name not in first)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in order:
            info = zip_info(name, zipfile.ZIP_DEFLATED, date_time)
            target.writestr(info, entries[name], compress_type=zipfile.ZIP_DEFLATED,
                            compresslevel=ZIP_COMPRESS_LEVEL)
    return out.getvalue()
