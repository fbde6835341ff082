"""The speech options the audio, DAISY and read-aloud writers share, declared once.

Light on purpose (no engine, no numpy): the command line reads these declarations to make
its flags without loading the speech package. The engines, the encoder and the narration
take their defaults from here.
"""

from __future__ import annotations

from ...options import Option

ENGINE_NAMES = ("espeak", "pyttsx3", "neural")
# The engine used when none is named by the library (and so by the tests, which time
# espeak): the direct libespeak-ng engine synthesised a paragraph about twice as fast as
# pyttsx3 over the same library, and ten times as fast as the neural voice.
DEFAULT_ENGINE = "espeak"
DEFAULT_RATE = 175  # words a minute: espeak's own default, comfortable for most listeners
DEFAULT_BITRATE = 64  # kbit/s: clear speech in mono, the usual rate for talking books
BITRATES = (32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)  # what MPEG-2 layer III allows at 22.05 kHz
# Seconds a worker may spend on one sentence before it is taken for hung: espeak speaks a
# long sentence in well under a second, so a minute is only ever reached by a fault.
DEFAULT_TIMEOUT = 60.0

SPEECH_OPTIONS: tuple[Option, ...] = (
    Option("audio.engine", str, DEFAULT_ENGINE, "Speech engine: neural (hibari-tts), espeak or pyttsx3 "
           "(default: neural when hibari-tts is installed; espeak-ng for languages other than English).",
           choices=ENGINE_NAMES, flags=("--engine",)),
    Option("audio.voice", str, None, "Speech voice (default: from the document language); "
           "neural: heart, emma, fable, fenrir, kore.", flags=("--voice",)),
    Option("audio.voice_file", str, None, "A neural voice model (.onnx) of your own.", flags=("--voice-file",),
           metavar="PATH"),
    Option("audio.rate", int, DEFAULT_RATE, "Speech rate in words per minute.", minimum=80, maximum=450,
           flags=("--rate",)),
    Option("audio.volume", float, 1.0, "Speech volume: a fraction of the engine's normal level, above 0 and at "
           "most 2.", maximum=2.0),
    Option("audio.lexicon", str, None, "A pronunciation lexicon (default: pronunciation.toml beside the master).",
           metavar="PATH"),
    Option("audio.workers", int, 0, "Processes synthesising speech side by side (default: 0, one per core).",
           minimum=0),
    Option("audio.timeout", float, DEFAULT_TIMEOUT, "Seconds one sentence may take to synthesise before the "
           "engine is taken for hung."),
    Option("audio.bitrate", int, DEFAULT_BITRATE, "MP3 bit rate in kbit/s.", choices=BITRATES, flags=("--bitrate",)),
)
