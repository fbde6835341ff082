"""DAISY 2.02 talking book: schemas, the Schematron rules checked in Python, synchronisation,
no second synthesis, a real player, reproducibility (standards.md "Audio and talking books")."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from conftest import EVERY_CONSTRUCT, STRATEGY
from formatforge.shared import speech
from formatforge.checks import failing
from formatforge.checks import parse_xml as parse
from formatforge.checks.daisy import XHTML, check_daisy
from formatforge.checks.daisy import npt_seconds as seconds
from formatforge.checks.schemas import DAISY_NCC, relaxng, schema_errors
from formatforge.formats import BuildContext, get_writer
from formatforge.model import Document, document_text, words
from formatforge.reader import read_source

from formatforge.shared.speech.encode import mp3_duration, mp3_frames

SOURCES = {"every-construct": EVERY_CONSTRUCT, "strategy": STRATEGY}

# Every test here synthesises speech (the strategy's and every construct's narration) or runs
# a player: all left out by scripts/test --quick.
pytestmark = pytest.mark.slow


def build(document: Document, staging: Path, cache: Path, name: str = "daisy") -> list[str]:
    return get_writer(name).write(BuildContext(document=document, staging=staging, cache_dir=cache))


@pytest.fixture(scope="module", params=list(SOURCES))
def book(request, tmp_path_factory):
    """(document, folder holding daisy/, cache dir): built once per reference document."""
    document = read_source(SOURCES[request.param]).document
    root = tmp_path_factory.mktemp(f"daisy-{request.param}")
    build(document, root / "out", root / "cache")
    return document, root / "out", root / "cache"


def test_ncc_and_every_smil_validate_against_the_daisy202_schemas(book):
    _, out, _ = book
    folder = out / "daisy"
    assert len(sorted(folder.glob("*.smil"))) >= 2
    findings = check_daisy(folder)
    assert (findings["ncc-schema"], findings["smil-schema"]) == ([], [])


def test_the_schema_check_fails_on_a_broken_ncc(book, tmp_path):
    _, out, _ = book
    broken = (out / "daisy" / "ncc.html").read_bytes().replace(b'class="title"', b'class="heading"')
    (tmp_path / "ncc.html").write_bytes(broken)
    assert schema_errors(relaxng(DAISY_NCC), parse(tmp_path / "ncc.html"))


def test_ncc_metadata_is_complete_and_its_counts_agree_with_its_body(book):
    _, out, _ = book
    findings = check_daisy(out / "daisy")
    assert {rule: findings[rule] for rule in ("ncc-metadata", "ncc-body", "ncc-counts")} == {
        "ncc-metadata": [], "ncc-body": [], "ncc-counts": []}


def test_clips_lie_inside_their_audio_text_references_resolve_and_total_time_is_the_audio(book):
    _, out, _ = book
    assert failing(check_daisy(out / "daisy")) == {}


def test_the_checks_catch_a_hand_broken_book(book, tmp_path):
    _, out, _ = book
    folder = tmp_path / "daisy"
    shutil.copytree(out / "daisy", folder)
    ncc = folder / "ncc.html"
    ncc.write_text(re.sub(r'name="ncc:tocItems" content="\d+"', 'name="ncc:tocItems" content="999"',
                          ncc.read_text(encoding="utf-8")), encoding="utf-8")
    first_smil = sorted(folder.glob("*.smil"))[1]
    text = first_smil.read_text(encoding="utf-8")
    text = re.sub(r'clip-end="npt=[\d.]+s"', 'clip-end="npt=9999.000s"', text, count=1)
    text = re.sub(r'src="([^"#]+)#[^"]+"', r'src="\1#no-such-id"', text, count=1)
    first_smil.write_text(text, encoding="utf-8")
    findings = check_daisy(folder)
    assert any("tocItems" in p for p in findings["ncc-counts"])
    assert any("lies outside" in p for p in findings["smil-clips"])
    assert any("does not resolve" in p for p in findings["references"])


def test_every_narrated_sentence_has_an_id_in_the_text_and_a_par(book):
    document, out, cache = book
    narration = speech.narrate(document, {}, cache)
    try:
        folder = out / "daisy"
        text_ids = {el.get("id") for el in parse(folder / f"{document.stem}.html").iter() if isinstance(el.tag, str)}
        for section in narration.sections:
            smil = parse(folder / f"{section.section.file_stem}.smil").getroot()
            pars = {par.get("id") for par in smil.iter("par")}
            for timed in section.sentences:
                assert f"par-{timed.sentence.id}" in pars
        spans = {t.sentence.id for s in narration.sections for t in s.sentences if t.sentence.role in {"text", "heading", "title"}}
        assert spans <= text_ids
    finally:
        narration.close()


def expected_clip(section, index: int, spoken: float) -> float | None:
    """What a sentence's clip should last: its speech and half the script's pause on either
    side (None for the first and last, which also take the file's edges)."""
    sentences = [t.sentence for t in section.sentences]
    if index == 0 or index == len(sentences) - 1:
        return None
    before = max(sentences[index - 1].pause_after, sentences[index].pause_before)
    after = max(sentences[index].pause_after, sentences[index + 1].pause_before)
    return spoken + before / 2 + after / 2


def test_clip_durations_match_the_synthesised_sentences_within_50_ms(book):
    """Synchronisation (issue 14 point 6): for sampled sentences the clip lasts as long as
    the sentence's synthesised speech (from the speech cache) plus half the pause on either
    side, within 50 ms; consecutive clips touch and the first starts the file."""
    document, out, cache = book
    narration = speech.narrate(document, {}, cache)
    try:
        assert narration.synthesised == 0
        checked = 0
        for section in narration.sections:
            smil = parse(out / "daisy" / f"{section.section.file_stem}.smil").getroot()
            clips = [(seconds(a.get("clip-begin")), seconds(a.get("clip-end"))) for a in smil.iter("audio")]
            assert clips[0][0] == 0.0
            assert all(end == begin for (_, end), (begin, _) in zip(clips, clips[1:]))
            for index, timed in list(enumerate(section.sentences))[::3]:
                spoken = len(narration.pcm(timed)) / 2 / narration.sample_rate
                wanted = expected_clip(section, index, spoken)
                if wanted is None:
                    continue
                clip = clips[index][1] - clips[index][0]
                assert abs(clip - wanted) <= 0.05, (timed.sentence.text, clip, wanted)
                checked += 1
        assert checked >= 5
    finally:
        narration.close()


def test_a_clip_by_clip_player_plays_the_total_time(book):
    """ncc:totalTime is what a player that plays each clip on its own plays: the clips of
    each SMIL file add up to its audio file's length (to the millisecond)."""
    _, out, _ = book
    folder = out / "daisy"
    played = 0.0
    for smil_path in sorted(folder.glob("*.smil")):
        clips = [(seconds(a.get("clip-begin")), seconds(a.get("clip-end"))) for a in parse(smil_path).iter("audio")]
        played_here = sum(end - begin for begin, end in clips)
        audio = folder / parse(smil_path).find(".//audio").get("src")
        assert abs(played_here - mp3_duration(audio.read_bytes())) <= 0.002, smil_path.name
        played += played_here
    ncc = parse(folder / "ncc.html").getroot()
    total = ncc.find(f".//{XHTML}meta[@name='ncc:totalTime']").get("content")
    hours, minutes, secs = (int(part) for part in total.split(":"))
    assert abs(hours * 3600 + minutes * 60 + secs - played) <= 1.0


def test_the_daisy_book_reuses_the_audio_editions_sentences(every_construct, tmp_path, speech_work):
    """No second synthesis and no second encoding: after the audio edition, the DAISY build
    synthesises and encodes nothing, and its audio files are the audio edition's frames."""
    cache = tmp_path / "cache"
    build(every_construct, tmp_path / "audio", cache, "audio")
    assert sum(speech_work.synthesised) > 0 and len(set(speech_work.encoded)) == len(every_construct.sections()) + 1
    speech_work.clear()
    started = time.perf_counter()
    build(every_construct, tmp_path / "daisy", cache)
    assert sum(speech_work.synthesised) == 0
    assert speech_work.encoded == []
    assert time.perf_counter() - started < 30
    for daisy_file in sorted((tmp_path / "daisy" / "daisy").glob("*.mp3")):
        audio_file = tmp_path / "audio" / "audio" / daisy_file.name
        assert list(mp3_frames(daisy_file.read_bytes())) == list(mp3_frames(audio_file.read_bytes()))
        assert audio_file.read_bytes().endswith(daisy_file.read_bytes()), daisy_file.name


def test_an_edit_to_the_pronunciation_lexicon_rebuilds_the_daisy_book(every_construct):
    assert [p.name for p in get_writer("daisy").input_files(every_construct, {})] == ["pronunciation.toml"]


def _reading_order(el: etree._Element) -> list[str]:
    """Text in reading order, images counting as their alt text."""
    parts = [f" {el.get('alt', '')} " if el.tag == f"{XHTML}img" else "", el.text or ""]
    for child in el:
        if isinstance(child.tag, str):
            parts += _reading_order(child)
        parts.append(child.tail or "")
    return parts


def test_nothing_is_lost_in_the_daisy_text(book):
    document, out, _ = book
    root = parse(out / "daisy" / f"{document.stem}.html").getroot()
    body = root.find(f"{XHTML}body")
    body.remove(body.find(f"{XHTML}div[@class='opening']"))
    shown = words(" ".join(_reading_order(body)))

    def in_order(needed: list[str], haystack: list[str]) -> bool:
        position = iter(haystack)
        return all(any(word == seen for seen in position) for word in needed)

    assert in_order(words(document_text(document, include_footnotes=False)), shown)
    for note in document.footnotes:
        assert in_order(words(document_text(Document(document.metadata, note.blocks))), shown)


def test_the_rebuild_is_byte_identical_and_the_zip_holds_the_same_files(book, tmp_path):
    document, out, cache = book
    build(document, tmp_path / "again", cache)
    first = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    second = sorted(p.relative_to(tmp_path / "again") for p in (tmp_path / "again").rglob("*") if p.is_file())
    assert first == second
    for relative in first:
        assert (out / relative).read_bytes() == (tmp_path / "again" / relative).read_bytes(), relative
    with zipfile.ZipFile(out / f"{document.stem}-daisy.zip") as archive:
        inside = {name.split("/", 1)[1]: archive.read(name) for name in archive.namelist()}
    folder = {p.relative_to(out / "daisy").as_posix(): p.read_bytes() for p in (out / "daisy").rglob("*") if p.is_file()}
    assert inside == folder


# The container has no sound card, and daisy-player will not start without
# /proc/asound/cards: give it a private /proc with a dummy card in a mount namespace.
PLAYER_WRAPPER = """
mount -t tmpfs none /proc || exit 97
mkdir -p /proc/asound
printf ' 0 [Dummy          ]: Dummy - Dummy\\n' > /proc/asound/cards
exec daisy-player "$@"
"""


def test_daisy_player_opens_the_book_and_lists_its_sections(every_construct, tmp_path):
    out = tmp_path / "out"
    build(every_construct, out, tmp_path / "cache")
    home = tmp_path / "home"
    home.mkdir()
    session = f"formatforge-daisy-{tmp_path.name}"[:60]
    player = ["env", f"HOME={home}", "unshare", "--mount", "--propagation", "private",
              "sh", "-c", PLAYER_WRAPPER, "daisy-player", str(out / "daisy"), "-i", "-n"]
    command = " ".join(shlex.quote(part) for part in player) + "; sleep 20"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "100", "-y", "40", command], check=True)
    try:
        def screen() -> str:
            return subprocess.run(["tmux", "capture-pane", "-t", session, "-p"], capture_output=True, text=True, check=True).stdout

        deadline = time.monotonic() + 15
        while "Select a soundcard" not in screen() and "total length" not in screen() and time.monotonic() < deadline:
            time.sleep(0.3)
        if "Select a soundcard" in screen():
            subprocess.run(["tmux", "send-keys", "-t", session, "Enter"], check=True)
        while "total length" not in screen() and time.monotonic() < deadline:
            time.sleep(0.3)
        shown = screen()
        ncc = parse(out / "daisy" / "ncc.html").getroot()
        headings = [el.findtext(f"{XHTML}a") for el in ncc.find(f"{XHTML}body")]
        assert "level: 1 of 3" in shown, shown
        for heading in headings:
            assert heading in shown, (heading, shown)
        # daisy-player adds up the clips, playing each on its own: with the pauses inside
        # the clips its length is ncc:totalTime (it truncates to the second, we round).
        def clock_seconds(text: str) -> int:
            hours, minutes, secs = (int(part) for part in text.split(":"))
            return hours * 3600 + minutes * 60 + secs

        played = re.search(r"total length: (\d+:\d+:\d+)", shown)
        assert played, shown
        total = ncc.find(f".//{XHTML}meta[@name='ncc:totalTime']").get("content")
        assert abs(clock_seconds(played.group(1)) - clock_seconds(total)) <= 1, (played.group(1), total)
        subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=False)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, check=False)


def test_issue_21_5_the_daisy_audio_is_the_audio_editions_files_stored_once(tmp_path):
    """The DAISY book's section MP3s carry the audio edition's tags, so they are the same
    bytes and the build keeps one copy (hard links); the tag does not move a clip: a
    decoder skips it (D-criteria timings are checked on these very files above)."""
    from mutagen.id3 import ID3

    from formatforge.build import build as build_all

    source = tmp_path / "short.md"
    source.write_text("---\ntitle: Stored once\nlanguage: en-GB\n---\n\n# First\n\nOne sentence here, long enough to "
                      "say.\n\n## Second\n\nAnother sentence in the second section.\n", encoding="utf-8")
    out = tmp_path / "out"
    build_all(source, out, ["audio", "daisy"], {"audio.engine": "espeak"}, tmp_path / "cache")
    daisy_files = sorted((out / "daisy").glob("*.mp3"))
    assert len(daisy_files) == 3  # the opening and two sections
    for daisy_file in daisy_files:
        audio_file = out / "audio" / daisy_file.name
        assert daisy_file.read_bytes() == audio_file.read_bytes()
        assert daisy_file.stat().st_ino == audio_file.stat().st_ino, f"{daisy_file.name} is stored twice"
        assert ID3(daisy_file)["TIT2"].text[0]


def test_issue_21_3_an_edit_links_the_unchanged_section_files_and_writes_the_rest(tmp_path, monkeypatch):
    """Issue 21 points 1 and 3: after an edit to one section, the other sections' MP3s (of the
    audio edition and the DAISY book) are the very files already in place, linked, not
    written and hashed again; the edited section and the whole book are new files; and
    every file has the bytes a build into an empty folder gives. A record of a file's
    bytes that no output has, or that is not a record at all, is written over, never used."""
    from formatforge.build import build as build_all
    from formatforge.formats import speech_edition
    from formatforge.hashing import HashingWriter
    from formatforge.shared.speech import audio_files

    written: list[str] = []

    class Watched(HashingWriter):
        def __init__(self, stream):
            super().__init__(stream)
            written.append(Path(stream.name).name)

    monkeypatch.setattr(speech_edition, "HashingWriter", Watched)
    source = tmp_path / "three.md"
    text = ("---\ntitle: Linked\nlanguage: en-GB\n---\n\n# Linked\n\n## First\n\nThe first section says one thing.\n\n"
            "## Second\n\nThe second section says {word} thing.\n\n## Third\n\nThe third section says a last thing.\n")
    source.write_text(text.format(word="another"), encoding="utf-8")
    out, cache, options = tmp_path / "out", tmp_path / "cache", {"audio.engine": "espeak", "audio.rate": 320}
    build_all(source, out, ["audio", "daisy"], options, cache)
    names = sorted(path.name for path in (out / "audio").glob("*.mp3"))
    assert len(names) >= 4  # the opening and three sections
    before = {name: (out / "audio" / name).stat().st_ino for name in names}
    whole_before = (out / "three.mp3").stat().st_ino

    source.write_text(text.format(word="a different"), encoding="utf-8")
    written.clear()
    report = build_all(source, out, ["audio", "daisy"], options, cache)
    assert [r.status for r in report.results] == ["built", "built"]
    second = next(name for name in names if "second" in name)
    assert written == [second]  # by the audio edition; the DAISY book links to it
    changed = {name for name in names if (out / "audio" / name).stat().st_ino != before[name]}
    assert changed == {second}
    assert (out / "three.mp3").stat().st_ino != whole_before
    for name in names:
        assert (out / "daisy" / name).stat().st_ino == (out / "audio" / name).stat().st_ino

    # the same bytes as a build with no outputs in place and no record of any file
    audio_files._KNOWN.clear()
    shutil.rmtree(cache / "speech" / "audio-files")
    fresh = tmp_path / "fresh"
    build_all(source, fresh, ["audio", "daisy"], options, cache)
    for relative in [f"audio/{name}" for name in names] + [f"daisy/{name}" for name in names] + ["three.mp3"]:
        assert (out / relative).read_bytes() == (fresh / relative).read_bytes(), relative

    # hostile records: one naming bytes no output has, one that is not a record
    records = sorted((cache / "speech" / "audio-files").rglob("*.txt"))
    assert records
    store = audio_files.AudioFiles(cache / "speech").store
    for number, record in enumerate(records):
        store.write(record.stem, b"123 " + b"0" * 64 if number % 2 else b"not a record")
    audio_files._KNOWN.clear()
    shutil.rmtree(out)
    build_all(source, out, ["audio", "daisy"], options, cache)
    for relative in [f"audio/{name}" for name in names] + ["three.mp3"]:
        assert (out / relative).read_bytes() == (fresh / relative).read_bytes(), relative
