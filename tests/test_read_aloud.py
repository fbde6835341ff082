"""Read-aloud EPUB: EPUB 3 Media Overlays at sentence level (E5, E12, EPUB 3.3 Media Overlays)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from conftest import EVERY_CONSTRUCT, STRATEGY
from formatforge.shared import speech
from formatforge.formats import BuildContext, get_writer
from formatforge.model import Document
from formatforge.reader import read_source

from formatforge.validate import run_ace, run_epubcheck

OPF = "{http://www.idpf.org/2007/opf}"
SMIL = "{http://www.w3.org/ns/SMIL}"
EPUB = "{http://www.idpf.org/2007/ops}"
SAFE_PARSER = etree.XMLParser(load_dtd=False, no_network=True, resolve_entities=False)
SOURCES = {"every-construct": EVERY_CONSTRUCT, "strategy": STRATEGY}


def build(document: Document, staging: Path, cache: Path, name: str = "read-aloud") -> Path:
    names = get_writer(name).write(BuildContext(document=document, staging=staging, cache_dir=cache))
    return staging / names[0]


@pytest.fixture(scope="module", params=list(SOURCES))
def book(request, tmp_path_factory):
    document = read_source(SOURCES[request.param]).document
    root = tmp_path_factory.mktemp(f"read-aloud-{request.param}")
    return document, build(document, root / "out", root / "cache"), root / "cache"


def read_entries(epub: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(epub) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def clock(value: str) -> float:
    if value.endswith("s") and ":" not in value:
        return float(value[:-1])
    parts = [float(p) for p in value.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0.0)
    return parts[0] * 3600 + parts[1] * 60 + parts[2]


def overlay_problems(entries: dict[str, bytes]) -> list[str]:
    """The Media Overlays rules of EPUB 3.3 as standards.md states them: every content item
    with audio names a SMIL item; each par has one text and one audio, clipBegin < clipEnd;
    every text target resolves; total media:duration and one per overlay, summing within
    ±1 s; media:active-class set; synchronizedAudioText claimed only with overlays (E5)."""
    problems = []
    opf = etree.fromstring(entries["EPUB/package.opf"], SAFE_PARSER)
    items = {item.get("id"): item for item in opf.iter(f"{OPF}item")}
    metas = [(m.get("property"), m.get("refines"), m.text) for m in opf.iter(f"{OPF}meta")]
    overlays = [items[i.get("media-overlay")] for i in items.values() if i.get("media-overlay")]
    if not overlays:
        problems.append("no content document has a media overlay")
    features = {text for prop, _, text in metas if prop == "schema:accessibilityFeature"}
    if ("synchronizedAudioText" in features) != bool(overlays):
        problems.append("synchronizedAudioText claimed without overlays, or overlays not claimed")
    if "auditory" not in {text for prop, _, text in metas if prop == "schema:accessMode"}:
        problems.append("no auditory access mode")
    if not any(prop == "media:active-class" and text for prop, _, text in metas):
        problems.append("no media:active-class")
    total = [text for prop, refines, text in metas if prop == "media:duration" and not refines]
    each = {refines.lstrip("#"): clock(text) for prop, refines, text in metas if prop == "media:duration" and refines}
    if len(total) != 1:
        problems.append("no single total media:duration")
    elif abs(clock(total[0]) - sum(each.values())) > 1.0:
        problems.append("the overlay durations do not add up to the total")
    ids_cache: dict[str, set[str]] = {}
    for overlay in overlays:
        if overlay.get("media-type") != "application/smil+xml":
            problems.append(f"{overlay.get('href')} is not application/smil+xml")
        if overlay.get("id") not in each:
            problems.append(f"{overlay.get('href')} has no media:duration")
        smil = etree.fromstring(entries[f"EPUB/{overlay.get('href')}"], SAFE_PARSER)
        for par in smil.iter(f"{SMIL}par"):
            texts, audios = par.findall(f"{SMIL}text"), par.findall(f"{SMIL}audio")
            if len(texts) != 1 or len(audios) > 1:
                problems.append(f"{par.get('id')}: not one text and at most one audio")
                continue
            name, _, fragment = texts[0].get("src").partition("#")
            if name not in ids_cache:
                content = etree.fromstring(entries.get(f"EPUB/{name}", b"<x/>"), SAFE_PARSER)
                ids_cache[name] = {el.get("id") for el in content.iter() if isinstance(el.tag, str)}
            if fragment not in ids_cache[name]:
                problems.append(f"{par.get('id')}: text {texts[0].get('src')} does not resolve")
            if audios and not clock(audios[0].get("clipBegin")) < clock(audios[0].get("clipEnd")):
                problems.append(f"{par.get('id')}: clipBegin is not before clipEnd")
            if audios and f"EPUB/{audios[0].get('src')}" not in entries:
                problems.append(f"{par.get('id')}: audio {audios[0].get('src')} is not in the book")
    return problems


def test_epubcheck_and_ace_find_nothing(book):
    """E12: EPUBCheck (which checks media overlays) 0 errors 0 warnings; Ace 0 violations."""
    _, epub, _ = book
    check = run_epubcheck(epub)
    assert check.ran and check.errors == 0 and check.warnings == 0, [m for m in check.messages if m.severity != "info"]
    ace = run_ace(epub)
    assert ace.ran and ace.errors == 0, ace.messages


def test_media_overlays_are_complete_and_consistent(book):
    """E5 and EPUB 3.3 Media Overlays, checked in Python."""
    _, epub, _ = book
    assert overlay_problems(read_entries(epub)) == []


def test_the_overlay_checks_catch_a_hand_broken_book(book):
    _, epub, _ = book
    entries = read_entries(epub)
    opf = entries["EPUB/package.opf"].decode()
    opf = re.sub(r'<meta property="media:active-class">[^<]*</meta>', "", opf)
    opf = re.sub(r'(<meta property="media:duration">)[^<]*(</meta>)', r"\g<1>99:00:00\2", opf, count=1)
    entries["EPUB/package.opf"] = opf.encode()
    smil_name = next(name for name in entries if name.endswith(".smil"))
    entries[smil_name] = re.sub(rb'#snt-[0-9a-f]+"', b'#nowhere"', entries[smil_name], count=1)
    problems = overlay_problems(entries)
    assert "no media:active-class" in problems
    assert "the overlay durations do not add up to the total" in problems
    assert any("does not resolve" in p for p in problems)


def test_every_narrated_sentence_is_a_par_pointing_into_its_section(book):
    document, epub, cache = book
    entries = read_entries(epub)
    narration = speech.narrate(document, {}, cache)
    try:
        assert narration.synthesised == 0
        for number, section in enumerate(narration.sections[1:], 1):
            smil = etree.fromstring(entries[f"EPUB/section-{number:03d}.smil"], SAFE_PARSER)
            pars = [par.get("id") for par in smil.iter(f"{SMIL}par")]
            assert pars == [f"par-{t.sentence.id}" for t in section.sentences]
            content = etree.fromstring(entries[f"EPUB/section-{number:03d}.xhtml"], SAFE_PARSER)
            ids = {el.get("id") for el in content.iter() if isinstance(el.tag, str)}
            spoken_text = {t.sentence.id for t in section.sentences if t.sentence.role in {"text", "heading"}}
            assert spoken_text <= ids
        # Synchronisation: sampled clips last as long as the synthesised sentence and half the
        # pause on either side, within 50 ms; consecutive clips touch (issue 14 point 6).
        for number, section in enumerate(narration.sections[1:], 1):
            smil = etree.fromstring(entries[f"EPUB/section-{number:03d}.smil"], SAFE_PARSER)
            clips = [(clock(a.get("clipBegin")), clock(a.get("clipEnd"))) for a in smil.iter(f"{SMIL}audio")]
            assert all(abs(end - begin) < 1e-6 for (_, end), (begin, _) in zip(clips, clips[1:]))
            sentences = [t.sentence for t in section.sentences]
            for index in range(1, len(sentences) - 1, 4):
                before = max(sentences[index - 1].pause_after, sentences[index].pause_before)
                after = max(sentences[index].pause_after, sentences[index + 1].pause_before)
                spoken = len(narration.pcm(section.sentences[index])) / 2 / narration.sample_rate
                clip = clips[index][1] - clips[index][0]
                assert abs(clip - (spoken + before / 2 + after / 2)) <= 0.05
    finally:
        narration.close()


def test_the_read_aloud_epub_reuses_the_audio_editions_sentences(every_construct, tmp_path, speech_work):
    """No second synthesis and no second encoding after the audio edition."""
    cache = tmp_path / "cache"
    get_writer("audio").write(BuildContext(document=every_construct, staging=tmp_path / "audio", cache_dir=cache))
    assert sum(speech_work.synthesised) > 0 and speech_work.encoded
    speech_work.clear()
    epub = build(every_construct, tmp_path / "read-aloud", cache)
    assert sum(speech_work.synthesised) == 0
    assert speech_work.encoded == []
    entries = read_entries(epub)
    for name in (n for n in entries if n.startswith("EPUB/audio/")):
        audio_file = tmp_path / "audio" / "audio" / name.rsplit("/", 1)[1]
        assert audio_file.read_bytes().endswith(entries[name]), name


def test_an_edit_to_the_pronunciation_lexicon_rebuilds_the_read_aloud_epub(every_construct):
    assert [p.name for p in get_writer("read-aloud").input_files(every_construct, {})] == ["pronunciation.toml"]


def test_the_rebuild_is_byte_identical(book, tmp_path):
    document, epub, cache = book
    again = build(document, tmp_path / "again", cache)
    assert again.read_bytes() == epub.read_bytes()


def test_the_epub_opens_with_mimetype_first_and_stored(book):
    _, epub, _ = book
    with zipfile.ZipFile(epub) as archive:
        first = archive.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        assert archive.read("mimetype") == b"application/epub+zip"
