"""The neural engine (hibari-tts; issue 14 points 1 and 2): voices chosen by language, the
bundled voice offline with a notice, reproducible speech, and the voice recorded wherever
the editions name their narrator. Synthesis is kept to a few short sentences."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from mutagen.id3 import ID3

from formatforge.build import build
from formatforge.model import Document, Metadata
from formatforge.shared.speech import synthesis
from formatforge.shared.speech.cache import SpeechCache, sentence_key
from formatforge.shared.speech.engines import VoiceSettings, neural_voice_file, neural_voices, voice_label
from formatforge.shared.speech.narration import voice_choice

pytest.importorskip("hibari")

BRITISH_MISSING = neural_voice_file("emma") is None and neural_voice_file("fable") is None
SMALL = """---
title: Small Book
language: en-GB
author: A Writer
publisher: A Publisher
date: 2024-01-01
---

# Small Book

It costs £5 a year.
"""


def document(language: str) -> Document:
    return Document(Metadata(title="T", language=language), ())


@pytest.mark.skipif(not BRITISH_MISSING, reason="a British voice is installed here")
def test_offline_a_british_book_gets_the_bundled_voice_and_a_notice_saying_how_to_install_the_british_one():
    settings, notice = voice_choice(document("en-GB"), {"audio.engine": "neural"})
    assert settings == VoiceSettings("neural", "heart", settings.rate, 1.0)
    assert "emma" in notice and "--voice emma" in notice and "bf_emma.int8.onnx" in notice


def test_an_american_book_gets_heart_with_no_notice():
    assert voice_choice(document("en-US"), {"audio.engine": "neural"}) == (VoiceSettings("neural", "heart"), "")


def test_a_language_the_neural_voice_lacks_falls_back_to_espeak_with_a_notice():
    settings, notice = voice_choice(document("fr"), {"audio.engine": "neural"})
    assert (settings.engine, settings.voice) == ("espeak", "fr")
    assert "English only" in notice


def test_voice_and_voice_file_errors_are_plain_english(tmp_path):
    with pytest.raises(ValueError, match="no voice 'nobody'.*heart"):
        voice_choice(document("en-GB"), {"audio.engine": "neural", "audio.voice": "nobody"})
    with pytest.raises(ValueError, match="not there or is not an .onnx"):
        voice_choice(document("en-GB"), {"audio.engine": "neural", "audio.voice_file": str(tmp_path / "x.onnx")})
    own = Path(neural_voice_file("heart"))
    settings, _ = voice_choice(document("en-GB"), {"audio.engine": "neural", "audio.voice_file": str(own)})
    assert settings.voice == str(own.resolve())
    assert "hibari" in neural_voices()["heart"]["file"] or own.suffix == ".onnx"


def test_neural_speech_is_reproducible_from_one_worker_to_another(tmp_path):
    settings = VoiceSettings("neural", "heart")
    texts = ["The same text gives the same audio.", "Another sentence between."]
    first = SpeechCache(tmp_path / "a")
    keys = [sentence_key(text, settings, "test") for text in texts]
    synthesis.synthesise(settings, first, list(zip(keys, texts)), workers=2)
    second = SpeechCache(tmp_path / "b")
    synthesis.synthesise(settings, second, list(zip(keys, texts))[::-1], workers=1)
    for key in keys:
        one, two = first.get(key), second.get(key)
        assert one.sample_rate == 24000 and one.seconds > 0.5
        assert one.pcm == two.pcm


def test_the_voice_used_is_named_in_id3_daisy_epub_and_the_manifest(tmp_path):
    source = tmp_path / "source" / "small.md"
    source.parent.mkdir()
    source.write_text(SMALL, encoding="utf-8")
    out = tmp_path / "out"
    report = build(source, out, ["audio", "daisy", "read-aloud"], {"audio.engine": "neural"}, tmp_path / "cache")
    assert report.ok, [r.message for r in report.results]
    label = voice_label(VoiceSettings("neural", "heart"))
    assert "hibari-tts heart" in label
    assert ID3(out / "small.mp3").getall("TXXX:NARRATOR")[0].text == [label]
    ncc = etree.parse(str(out / "daisy" / "ncc.html"))
    assert ncc.xpath("//*[local-name()='meta'][@name='ncc:narrator']/@content") == [label]
    with zipfile.ZipFile(out / "small-read-aloud.epub") as epub:
        opf = etree.fromstring(epub.read("EPUB/package.opf"))
    narrators = opf.xpath("//*[local-name()='meta'][@property='media:narrator']/text()")
    assert narrators == [label]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {manifest["formats"][name]["narrator"] for name in ("audio", "daisy", "read-aloud")} == {label}
    if BRITISH_MISSING:  # said once in the summary, from each speech writer alike
        assert {r.message for r in report.results} == {voice_choice(document("en-GB"), {"audio.engine": "neural"})[1]}


def test_a6_lexicon_phonemes_reach_only_the_engine_that_reads_them():
    from formatforge.shared.speech.lexicon import Lexicon
    from formatforge.shared.speech.spoken import SpokenForm

    lexicon = Lexicon((("Cuppa", "/kˈʌpɐ/"), ("COVID", "[[k'oUvId]]"), ("NHS", "N H S")))
    text = "A Cuppa, COVID and the NHS and/or us."
    assert SpokenForm(lexicon, "en-GB", "espeak").apply(text) == "A Cuppa, [[k'oUvId]] and the N H S and or us."
    assert SpokenForm(lexicon, "en-GB", "neural").apply(text) == "A [Cuppa](/kˈʌpɐ/), COVID and the N H S and or us."


def test_a6_the_neural_voice_reads_ipa_from_the_lexicon():
    from hibari import Hibari

    tts = Hibari(voice="heart")
    assert tts.phonemize("A [Cuppa](/kˈʌpɐzz/) now.") != tts.phonemize("A Cuppa now.")
    assert "kˈʌpɐzz" in tts.phonemize("A [Cuppa](/kˈʌpɐzz/) now.")[0]


def test_the_voice_model_is_an_input_so_installing_another_voice_rebuilds_the_editions(strategy):
    from formatforge.formats import get_writer

    for name in ("audio", "daisy", "read-aloud"):
        inputs = get_writer(name).input_files(strategy, {"audio.engine": "neural"})
        assert Path(neural_voice_file(voice_choice(strategy, {"audio.engine": "neural"})[0].voice)) in inputs
        assert not any(p.suffix == ".onnx" for p in get_writer(name).input_files(strategy, {"audio.engine": "espeak"}))


def test_looking_a_voice_up_loads_no_synthesiser():
    """The build looks the neural voice up (its file is an input of the speech editions) in
    every build; that must not import hibari's synthesiser and scipy (0.17 s a build)."""
    import subprocess
    import sys

    probe = ("import sys\n"
             "from formatforge.shared.speech.engines import neural_voice_file, neural_voice_for, neural_voices\n"
             "assert 'heart' in neural_voices()\n"
             "assert neural_voice_file('heart') is not None\n"
             "neural_voice_for('en-GB')\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('hibari', 'scipy', 'onnxruntime')))\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
