"""DAISY 2.02 talking book checks on a book folder (the one holding ``ncc.html``).

``check_daisy`` validates ``ncc.html`` and every SMIL file against the DAISY Consortium's
RELAX NG schemas, then checks in Python the rules the schemas' Schematron states but lxml
cannot run (XPath 2.0), and those of standards.md "Audio and talking books": required
metadata once, counts that agree with the body, every link and text reference resolving,
every clip inside its audio file, and ``ncc:totalTime`` the length of the audio.
standards.md gives these rules no ids, so each is named for what it checks (``ncc-counts``…).
"""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree
from mutagen import MutagenError
from mutagen.mp3 import MP3

from . import Findings, parse_xml
from .schemas import DAISY_NCC, DAISY_SMIL, relaxng, schema_errors

XHTML = "{http://www.w3.org/1999/xhtml}"
RULES = ("ncc-schema", "smil-schema", "ncc-metadata", "ncc-body", "ncc-counts",
         "smil-par", "smil-clips", "references", "total-time")
REQUIRED_ONCE = ["dc:date", "dc:format", "dc:identifier", "dc:title", "dc:publisher", "ncc:charset",
                 "ncc:pageFront", "ncc:pageNormal", "ncc:pageSpecial", "ncc:tocItems", "ncc:totalTime"]
REQUIRED_SOME = ["dc:language", "dc:creator"]
NPT = re.compile(r"^npt=(\d+(?:\.\d+)?)s$")
CLOCK = re.compile(r"^(\d+):([0-5]\d):([0-5]\d(?:\.\d+)?)$")
HEADING = re.compile(rf"^{re.escape(XHTML)}h([1-6])$")
PAGE_COUNTS = (("ncc:pageFront", "page-front"), ("ncc:pageNormal", "page-normal"), ("ncc:pageSpecial", "page-special"))
# Lengths from MP3 frame headers are exact to a frame; a little slack absorbs rounding in npt values.
CLIP_TOLERANCE = 0.001
TOTAL_TIME_TOLERANCE = 1.0


def npt_seconds(value: str | None) -> float | None:
    match = NPT.match(value or "")
    return float(match.group(1)) if match else None


def clock_seconds(value: str | None) -> float | None:
    match = CLOCK.match(value or "")
    return int(match.group(1)) * 3600 + int(match.group(2)) * 60 + float(match.group(3)) if match else None


class Book:
    """The files of one book folder, each parsed or measured at most once."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._ids: dict[str, set[str]] = {}
        self._lengths: dict[str, float | None] = {}

    def ids(self, name: str) -> set[str]:
        if name not in self._ids:
            try:
                tree = parse_xml(self.folder / name)
                self._ids[name] = {el.get("id") for el in tree.iter() if isinstance(el.tag, str) and el.get("id")}
            except (OSError, etree.XMLSyntaxError):
                self._ids[name] = set()
        return self._ids[name]

    def audio_length(self, name: str) -> float | None:
        """Seconds of audio in ``name``, or None when it is missing or not MP3."""
        if name not in self._lengths:
            try:
                info = MP3(str(self.folder / name)).info
                self._lengths[name] = None if info is None else info.length
            except (OSError, MutagenError):
                self._lengths[name] = None
        return self._lengths[name]


def check_daisy(folder: Path) -> Findings:
    folder = Path(folder)
    findings: Findings = {rule: [] for rule in RULES}
    try:
        ncc = parse_xml(folder / "ncc.html")
    except (OSError, etree.XMLSyntaxError) as exc:
        findings["ncc-schema"].append(f"ncc.html cannot be read as XML: {exc}")
        return findings
    smils = {}
    for path in sorted(folder.glob("*.smil")):
        try:
            smils[path.name] = parse_xml(path)
        except etree.XMLSyntaxError as exc:
            findings["smil-schema"].append(f"{path.name} is not well-formed: {exc}")
    findings["ncc-schema"] += [f"ncc.html {error}" for error in schema_errors(relaxng(DAISY_NCC), ncc)]
    for name, smil in smils.items():
        findings["smil-schema"] += [f"{name} {error}" for error in schema_errors(relaxng(DAISY_SMIL), smil)]
    if not smils:
        findings["smil-schema"].append("the book has no SMIL file")
    book = Book(folder)
    _check_ncc(ncc.getroot(), findings)
    _check_smils(smils, book, findings)
    _check_references_and_time(ncc.getroot(), book, findings)
    return findings


def _metadata(ncc) -> dict[str, list[str]]:
    metas: dict[str, list[str]] = {}
    for meta in ncc.iter(f"{XHTML}meta"):
        if meta.get("name"):
            metas.setdefault(meta.get("name"), []).append(meta.get("content"))
    return metas


def _check_ncc(ncc, findings: Findings) -> None:
    metas = _metadata(ncc)
    for name in REQUIRED_ONCE:
        if len(metas.get(name, [])) != 1:
            findings["ncc-metadata"].append(f"{name} appears {len(metas.get(name, []))} times, not once")
    for name in REQUIRED_SOME:
        if not metas.get(name):
            findings["ncc-metadata"].append(f"{name} is missing")
    if metas.get("dc:format") != ["Daisy 2.02"]:
        findings["ncc-metadata"].append(f"dc:format is {metas.get('dc:format')}, not Daisy 2.02")
    if metas.get("ncc:multimediaType") != ["audioFullText"]:
        findings["ncc-metadata"].append(f"ncc:multimediaType is {metas.get('ncc:multimediaType')}, not audioFullText")

    body_element = ncc.find(f"{XHTML}body")
    body = [] if body_element is None else [el for el in body_element if isinstance(el.tag, str)]
    if not body or body[0].tag != f"{XHTML}h1" or body[0].get("class") != "title":
        findings["ncc-body"].append('the body does not start with <h1 class="title">')
    allowed = {f"{XHTML}h{n}" for n in range(1, 7)} | {f"{XHTML}span", f"{XHTML}div"}
    for el in body:
        if el.tag not in allowed or not el.get("id"):
            findings["ncc-body"].append(f"body child {etree.QName(el).localname} id={el.get('id')!r} is not allowed or has no id")
        link = el.find(f"{XHTML}a")
        if link is None or not re.match(r"^[^#]+\.smil#.+$", link.get("href", "")):
            findings["ncc-body"].append(f"{el.get('id')} has no link into a SMIL file")

    if metas.get("ncc:tocItems") != [str(len(body))]:
        findings["ncc-counts"].append(f"ncc:tocItems is {metas.get('ncc:tocItems')} but the body has {len(body)} items")
    levels = [int(match.group(1)) for el in body if (match := HEADING.match(el.tag))]
    deepest = max(levels, default=0)
    if metas.get("ncc:depth") != [str(deepest)]:
        findings["ncc-counts"].append(f"ncc:depth is {metas.get('ncc:depth')} but the deepest heading is h{deepest}")
    for meta_name, css_class in PAGE_COUNTS:
        count = sum(1 for el in body if el.tag == f"{XHTML}span" and el.get("class") == css_class)
        if metas.get(meta_name) != [str(count)]:
            findings["ncc-counts"].append(f"{meta_name} is {metas.get(meta_name)} but the body has {count}")


def _check_smils(smils: dict[str, etree._ElementTree], book: Book, findings: Findings) -> None:
    for name, smil in smils.items():
        clips: dict[str, list[tuple[float, float]]] = {}
        for par in smil.iter("par"):
            text, audio = par.find("text"), par.find("audio")
            if par.get("endsync") != "last" or text is None or audio is None:
                findings["smil-par"].append(f"{name}: par {par.get('id')!r} lacks endsync=last, a text or an audio")
                continue
            source, fragment = text.get("src", "").partition("#")[::2]
            if fragment not in book.ids(source):
                findings["references"].append(f"{name}: text {text.get('src')} does not resolve")
            audio_name = audio.get("src", "")
            begin, end = npt_seconds(audio.get("clip-begin")), npt_seconds(audio.get("clip-end"))
            if begin is None or end is None:
                findings["smil-par"].append(f"{name}: clip {audio.get('clip-begin')}–{audio.get('clip-end')} is not npt=…s")
                continue
            length = book.audio_length(audio_name)
            if length is None:
                findings["references"].append(f"{name}: audio {audio_name!r} is missing or not MP3")
            elif not 0 <= begin < end <= length + CLIP_TOLERANCE:
                findings["smil-clips"].append(f"{name}: clip {begin}–{end} s lies outside {audio_name} ({length:.3f} s)")
            clips.setdefault(audio_name, []).append((begin, end))
        for audio_name, spans in clips.items():
            spans.sort()
            for (_, first_end), (second_begin, _) in zip(spans, spans[1:]):
                if second_begin < first_end:
                    findings["smil-clips"].append(f"{name}: clips overlap in {audio_name} at {second_begin} s")


def _check_references_and_time(ncc, book: Book, findings: Findings) -> None:
    for link in ncc.iter(f"{XHTML}a"):
        source, fragment = link.get("href", "").partition("#")[::2]
        if fragment not in book.ids(source):
            findings["references"].append(f"ncc.html link {link.get('href')} does not resolve")
    lengths = [book.audio_length(path.name) for path in sorted(book.folder.glob("*.mp3"))]
    total = sum(length or 0.0 for length in lengths)
    stated = _metadata(ncc).get("ncc:totalTime", [])
    stated_seconds = clock_seconds(stated[0]) if stated else None
    if stated_seconds is None or abs(stated_seconds - total) > TOTAL_TIME_TOLERANCE:
        findings["total-time"].append(f"ncc:totalTime is {stated} but the audio lasts {total:.1f} s")
