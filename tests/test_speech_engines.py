"""The speech engines, the lexicon's effect on espeak's phonemes, and the sentence cache.

Every engine runs in a worker process (as in a build): libespeak-ng allows one engine a
process, and pyttsx3 loads the same library.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from formatforge.shared.speech import synthesis
from formatforge.shared.speech.cache import SpeechCache, sentence_key
from formatforge.shared.speech.engines import Speech, VoiceSettings, pyttsx3_voice, voice_for_language
from formatforge.shared.speech.lexicon import Lexicon
from formatforge.shared.speech.script import split_sentences

PARAGRAPH = (
    "Co-Production Collective brings together people with lived experience, researchers and "
    "practitioners. We meet for a Cuppa, we listen, and we change how research is done. "
    "Our four steps are to lead culture change, to promote and embed learning, to plan for the "
    "future, and to grow our community and live our values."
)


def synthesise_all(settings: VoiceSettings, texts: list[str], folder: Path) -> list[Speech]:
    cache = SpeechCache(folder)
    keys = [sentence_key(text, settings, "test") for text in texts]
    synthesis.synthesise(settings, cache, list(dict.fromkeys(zip(keys, texts))))
    return [cache.get(key) for key in keys]


def test_front_matter_language_picks_the_voice():
    assert voice_for_language("en-GB") == "en-gb"

    class Voice:
        def __init__(self, id, languages):
            self.id, self.languages = id, languages

    voices = [Voice("gmw/en-us", ["en-us"]), Voice("gmw/en", ["en-gb"]), Voice("roa/fr", ["fr-fr"])]
    assert pyttsx3_voice(voices, "en-gb") == "gmw/en"
    assert pyttsx3_voice(voices, "fr") == "roa/fr"
    assert pyttsx3_voice(voices, "cy") is None


@pytest.mark.slow
def test_espeak_engine_speaks_at_the_chosen_rate(tmp_path):
    slow, fast = synthesise_all(VoiceSettings("espeak", "en-gb", 150), [PARAGRAPH], tmp_path / "a") + \
        synthesise_all(VoiceSettings("espeak", "en-gb", 300), [PARAGRAPH], tmp_path / "b")
    assert slow.sample_rate == 22050
    word_count = len(PARAGRAPH.split())
    assert 0.6 < slow.seconds / (word_count / 150 * 60) < 1.5
    assert 1.6 < slow.seconds / fast.seconds < 2.4


@pytest.mark.slow
def test_a6_a_lexicon_entry_changes_the_phonemes(tmp_path):
    """Checked through espeak's own phoneme output, not by ear."""
    path = tmp_path / "pronunciation.toml"
    path.write_text('[say]\n"COVID" = "co-vid"\n"Cuppa" = "[[k\'u:p@]]"\n', encoding="utf-8")
    lexicon = Lexicon.load(path)
    settings = VoiceSettings("espeak", "en-gb")
    plain = synthesis.phonemes(settings, "COVID")
    fixed = synthesis.phonemes(settings, lexicon.apply("COVID"))
    assert plain != fixed
    assert fixed.replace("'", "").replace(",", "").startswith("koU")
    # Phoneme entries reach the engine as phonemes: the audio follows them.
    before, after = synthesise_all(settings, ["a Cuppa", lexicon.apply("a Cuppa")], tmp_path / "c")
    assert before.pcm != after.pcm


@pytest.mark.slow
def test_pyttsx3_long_text_is_complete(tmp_path):
    """pyttsx3's save_to_file loses long texts (issues 149 and 259): several thousand
    characters, sentence by sentence, must last as long as espeak makes them."""
    long_text = " ".join(f"Paragraph {n}. {PARAGRAPH}" for n in range(1, 15))
    assert len(long_text) > 4000
    sentences = split_sentences(long_text)
    pyttsx3 = synthesise_all(VoiceSettings("pyttsx3", "en-gb", 175), sentences, tmp_path / "p")
    espeak = synthesise_all(VoiceSettings("espeak", "en-gb", 175), sentences, tmp_path / "e")
    short = [(text, speech and round(speech.seconds, 3)) for text, speech in zip(sentences, pyttsx3) if speech is None or speech.seconds <= 0.2]
    assert short == [], "sentences pyttsx3 left (nearly) silent"
    total = sum(s.seconds for s in pyttsx3)
    expected = sum(s.seconds for s in espeak)
    assert abs(total - expected) / expected < 0.05
    assert total > len(long_text.split()) / 175 * 60 * 0.6


@pytest.mark.slow
def test_engine_speed_is_measured_and_the_default_is_the_faster(capsys):
    """The default engine is chosen by measurement: espeak (direct libespeak-ng) against
    pyttsx3, both on the same paragraph, one sentence at a time as a build uses them."""
    from formatforge.shared.speech.narration import DEFAULT_ENGINE

    results = {}
    for engine in ("espeak", "pyttsx3"):
        timings = [synthesis.time_engine(VoiceSettings(engine, "en-gb"), s, repeat=5) for s in split_sentences(PARAGRAPH)]
        results[engine] = (sum(t for t, _ in timings), sum(a for _, a in timings))
    with capsys.disabled():
        for engine, (seconds, audio) in results.items():
            print(f"\n{engine}: {seconds * 1000:.1f} ms for {audio:.1f} s of speech ({audio / seconds:.0f}x real time)")
    assert DEFAULT_ENGINE == "espeak"
    # A generous margin: the machine is shared, and a tie would still favour word timings.
    assert results["espeak"][0] < results["pyttsx3"][0] * 1.5


def test_cache_detects_a_corrupt_entry_and_drops_it(tmp_path):
    cache = SpeechCache(tmp_path)
    speech = Speech(np.arange(1000, dtype="<i2").tobytes(), 22050)
    cache.put("ab" * 32, speech)
    assert cache.get("ab" * 32).pcm == speech.pcm
    path = tmp_path / "ab" / f"{'ab' * 32}.pcm"
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    assert cache.get("ab" * 32) is None
    assert not path.exists()


def test_cache_key_covers_everything_that_changes_the_sound():
    base = VoiceSettings("espeak", "en-gb", 175, 1.0)
    key = sentence_key("Hello.", base, "espeak-ng 1.51")
    variants = [
        sentence_key("Hello!", base, "espeak-ng 1.51"),
        sentence_key("Hello.", VoiceSettings("pyttsx3", "en-gb", 175, 1.0), "espeak-ng 1.51"),
        sentence_key("Hello.", VoiceSettings("espeak", "en-us", 175, 1.0), "espeak-ng 1.51"),
        sentence_key("Hello.", VoiceSettings("espeak", "en-gb", 180, 1.0), "espeak-ng 1.51"),
        sentence_key("Hello.", VoiceSettings("espeak", "en-gb", 175, 0.5), "espeak-ng 1.51"),
        sentence_key("Hello.", base, "espeak-ng 1.52"),
    ]
    assert key == sentence_key("Hello.", base, "espeak-ng 1.51")
    assert len({key, *variants}) == 7
