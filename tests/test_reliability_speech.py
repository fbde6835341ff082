"""Faults in the speech engine (issue 9): an engine that hangs or crashes on a sentence is
stopped and reported with the sentence and where it comes from, and the other formats
still build. Characters the voice would pass over in silence are spoken by name.

How the faulty engine is faked: the parent starts every worker through
``processes.worker_command``; the tests monkeypatch it to run ``FAKE_WORKER`` below (written
to a temporary folder) instead of ``python -m formatforge.shared.speech.worker``. The fake speaks
each sentence as a short tone, but hangs on a sentence containing HANG, kills itself with
SIGKILL on CRASH and raises on FAIL. Nothing in the shipped worker reads a test switch, so
no hidden behaviour ships: the parent's timeout and crash handling, which is what is under
test, runs exactly as in a build.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from formatforge.build import build
from formatforge.errors import WriterError
from formatforge.formats import get_writer
from formatforge.reader import read_source
from formatforge.shared.speech import OPTION_NAMES, narrate, processes, synthesis
from formatforge.shared.speech.cache import SpeechCache
from formatforge.shared.speech.engines import VoiceSettings
from formatforge.shared.speech.script import may_be_silent, name_silent_characters

FAKE_WORKER = '''
import json, os, signal, sys, time
from pathlib import Path
from formatforge.shared.speech.cache import SpeechCache
from formatforge.shared.speech.engines import Speech

job = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
cache = SpeechCache(Path(job["cache"]))

def speak(key, text):
    if "HANG" in text:
        time.sleep(3600)
    if "CRASH" in text:
        os.kill(os.getpid(), signal.SIGKILL)
    if "FAIL" in text:
        raise RuntimeError("the engine rejected the sentence")
    cache.put(key, Speech(b"\\xe8\\x03\\x18\\xfc" * 1100, 22050))
    print("done", flush=True)

if job["task"] == "serve":  # a pool worker: one task a line on stdin
    while line := sys.stdin.readline():
        message = json.loads(line)
        if message[0] == "speak":
            speak(message[1], message[2])
        else:
            from formatforge.shared.speech.sections import encode_message
            encode_message(message[1], cache)
            print("encoded", flush=True)
else:
    for key, text in job["items"]:
        speak(key, text)
'''

FRONT = "---\ntitle: Faults\nlanguage: en-GB\npublisher: Test\n---\n"


@pytest.fixture
def fake_engine(tmp_path, monkeypatch):
    script = tmp_path / "fake_worker.py"
    script.write_text(FAKE_WORKER, encoding="utf-8")
    monkeypatch.setattr(processes, "worker_command", lambda job: [sys.executable, str(script), str(job)])
    return script


def source(tmp_path: Path, trouble: str) -> Path:
    """A master whose line 10 holds the sentence the fake engine trips on."""
    path = tmp_path / "doc.md"
    body = f"# Faults\n\nA calm first sentence.\n\n{trouble} This sentence is fine.\n"
    path.write_text(FRONT + body, encoding="utf-8")
    assert path.read_text(encoding="utf-8").splitlines()[9].startswith(trouble)
    return path


def narrate_failure(path: Path, **options) -> WriterError:
    document = read_source(path).document
    with pytest.raises(WriterError) as caught:
        narrate(document, {"audio.workers": 2, **options})
    return caught.value


def test_a_hung_engine_is_stopped_and_the_sentence_named(tmp_path, fake_engine):
    trouble = "The engine will HANG on this long sentence that goes on well past sixty characters of text."
    started = time.monotonic()
    error = narrate_failure(source(tmp_path, trouble), **{"audio.timeout": 1})
    assert time.monotonic() - started < 30
    message = str(error)
    assert "made no progress for 1 s" in message
    assert repr(trouble[:60]) in message  # the first 60 characters, and no more
    assert trouble[:61] not in message
    assert error.location == f"{tmp_path / 'doc.md'}:10"


def test_an_engine_killed_by_a_signal_names_the_sentence(tmp_path, fake_engine):
    error = narrate_failure(source(tmp_path, "The engine will CRASH here."))
    assert "crashed (killed by signal SIGKILL)" in str(error)
    assert "'The engine will CRASH here.'" in str(error)
    assert error.location.endswith("doc.md:10")


def test_an_engine_that_raises_names_the_sentence_and_its_error(tmp_path, fake_engine):
    error = narrate_failure(source(tmp_path, "The engine will FAIL here."))
    assert "crashed (exit status 1): RuntimeError: the engine rejected the sentence" in str(error)
    assert "'The engine will FAIL here.'" in str(error)
    assert error.location.endswith("doc.md:10")


def test_a_healthy_engine_is_never_stopped_by_the_timeout(tmp_path, fake_engine):
    document = read_source(source(tmp_path, "Nothing odd here.")).document
    narration = narrate(document, {"audio.workers": 2, "audio.timeout": 5})
    try:
        assert narration.synthesised == len({t.key for s in narration.sections for t in s.sentences})
    finally:
        narration.close()


def test_the_build_reports_the_audio_failure_and_builds_the_other_formats(tmp_path, fake_engine):
    trouble = "The engine will HANG on this sentence."
    report = build(source(tmp_path, trouble), tmp_path / "out", ["audio", "html", "braille"],
                   {"audio.timeout": 1, "audio.workers": 1})
    results = {r.name: r for r in report.results}
    assert results["audio"].status == "failed"
    assert "made no progress" in results["audio"].message and repr(trouble) in results["audio"].message
    assert "doc.md:10" in results["audio"].message
    assert "Traceback" not in results["audio"].message
    assert results["html"].status == "built" and results["braille"].status == "built"
    assert not list((tmp_path / "out").glob("*.mp3"))


def test_the_timeout_is_an_option_every_speech_writer_declares(every_construct):
    assert "audio.timeout" in OPTION_NAMES
    for name in ("audio", "daisy", "read-aloud"):
        assert "audio.timeout" in {o.name for o in get_writer(name).options}
    with pytest.raises(WriterError, match="audio.timeout"):
        with get_writer("audio").narrated(_context(every_construct, {"audio.timeout": 0}), 0.5, 1.0):
            pass


def _context(document, options):
    from formatforge.formats import BuildContext

    return BuildContext(document=document, options=options, staging=Path("/nonexistent"), cache_dir=None)


def test_the_real_engine_reports_a_synthesis_timeout_with_the_sentence(tmp_path):
    """Against the real espeak worker: a timeout too short for any sentence stops it."""
    settings = VoiceSettings()
    cache = SpeechCache(tmp_path)
    text = "A sentence for the real engine."
    with pytest.raises(synthesis.SynthesisFailed) as caught:
        synthesis.synthesise(settings, cache, [("k", text)], workers=1, timeout=0.001)
    assert caught.value.key == "k" and caught.value.text == text


# ---------------------------------------------------------------- characters the voice cannot say

# class → text; espeak-ng (en-gb) names emoji and symbols it knows, reads letters of the
# scripts it knows (Chinese, Arabic, Hebrew and Cyrillic by letter, Devanagari in Hindi),
# and says nothing at all for the rest.
SPEECH_CLASSES = {
    "emoji": "😀",
    "symbol": "♿",
    "cjk": "中文",
    "arabic": "مرحبا",
    "devanagari": "नमस्ते",
    "hebrew": "שלום",
    "cyrillic": "Привет",
    "combining mark": "q\u0301",
    "control": "\x01",
    "private use": "\ue000",
    "block element": "█",
    "cherokee": "ᏣᎳᎩ",
    "arabic-indic digits": "١٢",
}
SILENT_IN_ESPEAK = {"\x01", "\ue000", "█", "Ꮳ", "Ꮃ", "Ꭹ", "١", "٢"}


def test_espeak_is_asked_which_characters_it_would_pass_over():
    chars = sorted({char for text in SPEECH_CLASSES.values() for char in text if may_be_silent(char)})
    assert set(synthesis.engine_silent_characters(VoiceSettings(), chars)) == SILENT_IN_ESPEAK


@pytest.mark.parametrize("name", SPEECH_CLASSES)
def test_each_class_is_heard_once_silent_characters_are_named(name):
    text = SPEECH_CLASSES[name]
    silent = frozenset(SILENT_IN_ESPEAK)
    spoken = name_silent_characters(text, silent)
    said = synthesis.phonemes(VoiceSettings(), spoken)
    assert said.strip(), name
    if any(char in silent for char in text):
        assert spoken.startswith(text + " (") and synthesis.phonemes(VoiceSettings(), text).strip() != said.strip()


def test_the_narration_names_what_the_voice_would_skip(tmp_path):
    path = tmp_path / "doc.md"
    path.write_text(FRONT + "# Characters\n\nA box █ and ᏣᎳᎩ, with 😀.\n", encoding="utf-8")
    narration = narrate(read_source(path).document, {}, tmp_path / "cache")
    try:
        spoken = [t.spoken for s in narration.sections for t in s.sentences if "box" in t.spoken]
        assert spoken == ["A box █ (full block) and ᏣᎳᎩ, (cherokee letter tsa, cherokee letter la, "
                          "cherokee letter gi) with 😀."]
        # the script keeps the text as written: the naming is only in what the engine is given
        assert [t.sentence.text for s in narration.sections for t in s.sentences if "box" in t.sentence.text] == [
            "A box █ and ᏣᎳᎩ, with 😀."]
    finally:
        narration.close()
    assert list((tmp_path / "cache" / "speech").glob("silent-*.json"))  # asked once, then remembered
