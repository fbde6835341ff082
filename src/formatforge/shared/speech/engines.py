"""Speech engines behind one interface: text in, 16-bit mono PCM out.

Three engines: ``espeak`` drives libespeak-ng directly through ctypes in synchronous mode,
``pyttsx3`` goes through pyttsx3 (which on Linux wraps the same library, and on Windows
and macOS reaches the system voices), and ``neural`` is hibari-tts, a Kokoro-82M voice
distilled to a small ONNX model (numpy and onnxruntime only, offline once the voice file
is there). libespeak-ng keeps global state and one
synth callback per process, so an engine lives alone in a worker process: never load
both in one process, and never share one between threads.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import sys
import re
import ctypes.util
import tempfile
import threading
import wave
from array import array
from dataclasses import dataclass, field
from typing import Any
from pathlib import Path

from ...labels import Labels, labels_for

from .options import DEFAULT_RATE, ENGINE_NAMES  # declared with the options


@dataclass(frozen=True)
class VoiceSettings:
    engine: str = "espeak"
    voice: str = "en-gb"
    rate: int = DEFAULT_RATE
    volume: float = 1.0  # 0..1 of the engine's normal level, as pyttsx3 counts it


@dataclass
class Speech:
    """One synthesised utterance."""

    pcm: bytes  # signed 16-bit little-endian mono
    sample_rate: int
    words: list[tuple[int, int]] = field(default_factory=list)  # (text offset, audio ms)

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / self.sample_rate


def voice_for_language(language: str) -> str:
    """An espeak voice name for a BCP 47 tag: ``en-GB`` → ``en-gb``, ``fr`` → ``fr``."""
    return (language or "en").strip().lower().replace("_", "-") or "en"


_LANGUAGE_NAMES = {"en-gb": "British English", "en-us": "American English", "en": "English", "fr": "French",
                   "de": "German", "es": "Spanish", "it": "Italian", "cy": "Welsh", "ga": "Irish", "nl": "Dutch"}


def language_in_words(voice: str, labels: Labels | None = None) -> str:
    """A voice's language by name, in the language of ``labels`` (English without)."""
    name = _LANGUAGE_NAMES.get(voice.lower(), _LANGUAGE_NAMES.get(voice.lower().split("-")[0]))
    if name is None:
        return voice
    return (labels or labels_for("en"))(name)


def voice_in_words(settings: VoiceSettings, labels: Labels | None = None) -> str:
    """The voice as the opening announcement names it: what a listener can look up, in
    the language of ``labels`` (English without)."""
    labels = labels or labels_for("en")
    if settings.engine == "espeak":
        return labels("espeak N G, speaking {language}", language=language_in_words(settings.voice, labels))
    if settings.engine == "neural":
        known = neural_voices().get(settings.voice)
        if known is None:
            return labels("the neural voice {name}, with hibari", name=Path(settings.voice).stem)
        # hibari's voices are all English ones, described for an English opening.
        article = "an" if known["accent"][:1] in "AEIOU" else "a"
        return (f"{settings.voice.capitalize()}, {article} {known['accent']} English {known['gender']} neural voice "
                f"made with hibari")
    return labels("the system voice {voice}, through pyttsx3", voice=settings.voice)


def voice_label(settings: VoiceSettings, labels: Labels | None = None) -> str:
    """The voice for metadata (ID3, DAISY narrator, EPUB narrator, manifest), in the
    language of ``labels`` (English without)."""
    labels = labels or labels_for("en")
    if settings.engine == "neural":
        known = neural_voices().get(settings.voice)
        name = settings.voice if known else Path(settings.voice).name
        detail = f"Kokoro {known['kokoro']}, {known['language']}" if known else labels("voice file")
        return labels("synthetic voice (hibari-tts {name}: {detail})", name=name, detail=detail)
    return labels("synthetic voice ({engine} {voice})", engine=settings.engine, voice=settings.voice)


# ---------------------------------------------------------------- hibari-tts (neural)

NEURAL_DEFAULT_VOICE = "heart"  # the voice inside the hibari-tts wheel: always there offline
NEURAL_SPEED_RATE = 175  # words a minute taken as hibari's pace 1.0, so --rate means the same for every engine


@functools.lru_cache(maxsize=1)
def _voice_registry() -> Any:
    """hibari's ``voices`` module (the registry, its paths and cache folder), or None without
    hibari-tts. It is loaded from its file on its own, under a private name: ``import
    hibari.voices`` would first run the package's ``__init__``, which imports the synthesiser
    and scipy (0.17 s) into a build that only looks a voice up; the module itself uses the
    standard library alone."""
    already = sys.modules.get("hibari.voices")
    if already is not None:
        return already
    try:
        spec = importlib.util.find_spec("hibari")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "voices.py"
    loader_spec = importlib.util.spec_from_file_location("formatforge._hibari_voices", path)
    if loader_spec is None or loader_spec.loader is None:
        return None
    module = importlib.util.module_from_spec(loader_spec)
    try:
        loader_spec.loader.exec_module(module)
    except (OSError, ImportError, ValueError):
        return None
    return module


def neural_voices() -> dict[str, dict]:
    """hibari's voice registry (name → language, accent, file, …); empty without hibari-tts.
    Reads a JSON file: no model is loaded."""
    registry = _voice_registry()
    return {} if registry is None else registry.VOICES


def neural_voice_file(name: str) -> Path | None:
    """Where a hibari voice's model is on this machine, or None if it would need a download."""
    registry = _voice_registry()
    if registry is None:
        return None
    try:
        return Path(registry.voice_path(name, download_missing=False))
    except (FileNotFoundError, ValueError):
        return None


def neural_voice_for(language: str) -> tuple[str, str]:
    """The hibari voice for a language, and a notice when the one wanted is not here: a
    British master gets a British voice (emma) when its file is present, else the bundled
    American voice, with how to install the British one."""
    british = (language or "").lower().replace("_", "-") in {"en-gb", "en-uk"}
    if not british:
        return NEURAL_DEFAULT_VOICE, ""
    for name in ("emma", "fable"):
        if neural_voice_file(name) is not None:
            return name, ""
    registry = _voice_registry()
    where = "hibari's voice cache" if registry is None else str(Path(registry.cache_dir()) / registry.VOICES["emma"]["file"])
    return NEURAL_DEFAULT_VOICE, (
        "the British neural voice (emma) is not installed, so the American voice heart reads this en-GB book; "
        f"to install it, run `.venv/bin/hibari \"test\" --voice emma -o /dev/null` once with a network, "
        f"or copy bf_emma.int8.onnx to {where}")


# ---------------------------------------------------------------- libespeak-ng

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_EVENT_LIST_TERMINATED, _EVENT_WORD = 0, 1
_POS_CHARACTER = 1
_CHARS_UTF8, _PHONEMES, _ENDPAUSE, _SSML = 1, 0x100, 0x1000, 0x10
_RATE, _VOLUME = 1, 2
_PHONEMES_ASCII = 0


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


class _VoiceSpec(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_char_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


def load_libespeak() -> ctypes.CDLL:
    name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
    lib = ctypes.CDLL(name)
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByProperties.argtypes = [ctypes.POINTER(_VoiceSpec)]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
        ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p,
    ]
    lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
    lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
    lib.espeak_Info.argtypes = [ctypes.POINTER(ctypes.c_char_p)]
    lib.espeak_Info.restype = ctypes.c_char_p
    return lib


class Engine:
    name: str

    def __init__(self, settings: VoiceSettings):
        self.settings = settings

    def version(self) -> str:
        raise NotImplementedError

    def synthesise(self, text: str) -> Speech:
        raise NotImplementedError


class EspeakEngine(Engine):
    """libespeak-ng in synchronous mode: ``espeak_Synth`` returns when the callback has
    received every sample, so no threads, no polling and no temporary files."""

    name = "espeak"

    def __init__(self, settings: VoiceSettings):
        super().__init__(settings)
        self._lib = load_libespeak()
        self.sample_rate = self._lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None, 0)
        if self.sample_rate <= 0:
            raise RuntimeError("libespeak-ng could not be initialised")
        self._chunks: list[bytes] = []
        self._words: list[tuple[int, int]] = []
        self._callback = _SynthCallback(self._on_audio)  # kept referenced: C holds the pointer
        self._lib.espeak_SetSynthCallback(self._callback)
        self._select_voice(settings.voice)
        self._lib.espeak_SetParameter(_RATE, int(settings.rate), 0)
        self._lib.espeak_SetParameter(_VOLUME, int(round(settings.volume * 100)), 0)

    def _select_voice(self, voice: str) -> None:
        """A voice file name (``gmw/en``) or, failing that, a language (``en-gb``)."""
        if self._lib.espeak_SetVoiceByName(voice.encode()) == 0:
            return
        wanted = _VoiceSpec(languages=voice.encode())
        if self._lib.espeak_SetVoiceByProperties(ctypes.byref(wanted)) != 0:
            raise ValueError(f"espeak-ng has no voice or language {voice!r}")

    def version(self) -> str:
        return "espeak-ng " + self._lib.espeak_Info(None).decode()

    def _on_audio(self, wav, count, events) -> int:
        if count > 0:
            self._chunks.append(ctypes.string_at(wav, count * 2))
        index = 0
        while events[index].type != _EVENT_LIST_TERMINATED:
            event = events[index]
            if event.type == _EVENT_WORD:
                self._words.append((event.text_position - 1, event.audio_position))
            index += 1
        return 0  # go on

    def synthesise(self, text: str) -> Speech:
        self._chunks, self._words = [], []
        data = text.encode("utf-8") + b"\0"
        # A sentence with passages in other languages comes as SSML (narration.spoken_sentence).
        ssml = _SSML if text.startswith("<speak>") else 0
        status = self._lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8 | _PHONEMES | _ENDPAUSE | ssml,
                                        None, None)
        if status != 0:
            raise RuntimeError(f"espeak_Synth failed with status {status}")
        self._lib.espeak_Synchronize()
        return Speech(b"".join(self._chunks), self.sample_rate, self._words)

    def phonemes(self, text: str) -> str:
        """espeak's phoneme mnemonics for ``text`` (as ``espeak-ng -x`` prints them)."""
        buffer = ctypes.create_string_buffer(text.encode("utf-8"))
        pointer = ctypes.c_void_p(ctypes.addressof(buffer))
        parts = []
        while pointer.value:
            parts.append(self._lib.espeak_TextToPhonemes(ctypes.byref(pointer), _CHARS_UTF8, _PHONEMES_ASCII).decode())
        return " ".join(p.strip() for p in parts if p.strip())


class Pyttsx3Engine(Engine):
    """pyttsx3, one short utterance per ``save_to_file`` call.

    Its ``save_to_file`` loses audio on long texts (pyttsx3 issues 149 and 259), so the
    engine is only ever given one sentence at a time and the narration joins them.
    """

    name = "pyttsx3"

    def __init__(self, settings: VoiceSettings):
        super().__init__(settings)
        import pyttsx3

        _keep_the_last_chunk_of_each_utterance()
        self._engine = pyttsx3.init()
        voice = pyttsx3_voice(self._engine.getProperty("voices"), settings.voice)
        if voice:  # else the system's default voice
            self._engine.setProperty("voice", voice)
        self._engine.setProperty("rate", int(settings.rate))
        self._engine.setProperty("volume", float(settings.volume))
        self._folder = tempfile.TemporaryDirectory(prefix="formatforge-pyttsx3-")
        # runAndWait can return before the espeak driver has written the file (its
        # callback runs on espeak's own thread), so wait for the utterance to finish.
        self._finished = threading.Event()
        self._errors: list[BaseException] = []
        self._engine.connect("finished-utterance", lambda **_: self._finished.set())
        self._engine.connect("error", lambda exception=None, **_: self._errors.append(exception))
        _quieten_pyttsx3_espeak_driver()

    def version(self) -> str:
        from importlib.metadata import version

        driver = type(self._engine.proxy._driver).__name__
        return f"pyttsx3 {version('pyttsx3')} {driver}"

    def synthesise(self, text: str) -> Speech:
        text = words_of_ssml(text)
        if type(self._engine.proxy._driver).__name__ != "EspeakDriver":
            return self._take(text)
        # On Linux pyttsx3's espeak driver now and then drops about a second (one buffer)
        # of a long utterance, depending on its thread's timing (seen in about one run in
        # five of the 4,400-character test). Loss only ever shortens a take, so two takes are
        # compared, a third is made when they disagree, and the longest is kept.
        takes = [self._take(text), self._take(text)]
        if abs(takes[0].seconds - takes[1].seconds) > 0.25:
            takes.append(self._take(text))
        return max(takes, key=lambda take: take.seconds)

    def _take(self, text: str) -> Speech:
        target = Path(self._folder.name) / "utterance.wav"
        target.unlink(missing_ok=True)
        self._finished.clear()
        self._engine.save_to_file(text, str(target))
        self._engine.runAndWait()
        if not self._finished.wait(timeout=max(30.0, len(text) / 5)):
            raise RuntimeError(f"pyttsx3 did not finish speaking: {text[:60]!r}")
        if self._errors:
            raise RuntimeError(f"pyttsx3 failed: {self._errors.pop()}")
        with wave.open(str(target), "rb") as wav:
            if wav.getsampwidth() != 2:
                raise RuntimeError("pyttsx3 wrote audio that is not 16-bit")
            frames = wav.readframes(wav.getnframes())
            if wav.getnchannels() == 2:
                samples = array("h", frames)
                frames = array("h", samples[0::2]).tobytes()
            return Speech(frames, wav.getframerate())


def _keep_the_last_chunk_of_each_utterance() -> None:
    """pyttsx3's espeak driver (2.99) writes the file when it meets the end-of-message event
    and only then adds the samples that came with that same callback, into a buffer the
    next utterance clears: add them before the driver writes."""
    try:
        from pyttsx3.drivers import _espeak
        from pyttsx3.drivers import espeak as driver
    except Exception:  # another platform's driver: nothing to mend
        return
    original = driver.EspeakDriver._onSynth
    if getattr(original, "keeps_last_chunk", False):
        return

    def on_synth(self, wav, numsamples, events):
        if self._speaking and numsamples > 0 and _ends_message(events, _espeak):
            self._data_buffer += ctypes.string_at(wav, numsamples * ctypes.sizeof(ctypes.c_short))
            numsamples = 0
        return original(self, wav, numsamples, events)

    on_synth.keeps_last_chunk = True  # type: ignore[attr-defined]  # a mark on pyttsx3's patched method
    driver.EspeakDriver._onSynth = on_synth


def _ends_message(events, espeak_module) -> bool:
    index = 0
    while events[index].type != espeak_module.EVENT_LIST_TERMINATED:
        if events[index].type == espeak_module.EVENT_MSG_TERMINATED:
            return True
        index += 1
    return False


def _quieten_pyttsx3_espeak_driver() -> None:
    """pyttsx3's espeak driver prints a line for every file it saves, from espeak's thread
    (so ``redirect_stdout`` cannot catch it): shadow ``print`` in that module only."""
    import sys

    driver = sys.modules.get("pyttsx3.drivers.espeak")
    if driver is not None:
        driver.print = lambda *args, **kwargs: None  # type: ignore[attr-defined]  # shadows the builtin


def pyttsx3_voice(voices, wanted: str) -> str | None:
    """The id of the pyttsx3 voice named ``wanted`` or speaking its language, the exact
    language before a voice of the same primary language."""
    wanted = wanted.lower().replace("_", "-")

    def languages(voice) -> list[str]:
        return [str(code).lower().replace("_", "-") for code in (voice.languages or [])]

    for voice in voices:
        if voice.id.lower() == wanted or wanted in languages(voice):
            return voice.id
    primary = wanted.split("-")[0]
    for voice in voices:
        if any(code.split("-")[0] == primary for code in languages(voice)):
            return voice.id
    return None


class NeuralEngine(Engine):
    """hibari-tts: one sentence at a time, with a fixed noise seed so the same text always
    gives the same samples (byte-identical books); one onnxruntime thread per worker, the
    workers being the parallelism."""

    name = "neural"

    def __init__(self, settings: VoiceSettings):
        super().__init__(settings)
        from hibari import Hibari  # type: ignore[import-untyped]

        voice = settings.voice
        if voice in neural_voices():
            self._tts = Hibari(voice=voice, threads=1)
        else:
            path = Path(voice)
            if not path.is_file():
                raise ValueError(f"hibari-tts has no voice {voice!r} and no voice file is at {path}")
            # A voice file of one's own: British spelling-to-sound rules unless its name says American.
            g2p_voice = "heart" if any(tag in path.name for tag in ("af_", "am_", "us")) else "emma"
            self._tts = Hibari(voice=g2p_voice, model=str(path), threads=1)
        self.sample_rate = int(self._tts.sample_rate)
        self.speed = min(2.0, max(0.5, settings.rate / NEURAL_SPEED_RATE))

    def version(self) -> str:
        from importlib.metadata import version

        return f"hibari-tts {version('hibari-tts')}"

    def synthesise(self, text: str) -> Speech:
        import numpy as np

        text = words_of_ssml(text)  # hibari has one language's voices: a passage is read in it
        audio = self._tts(text, speed=self.speed, seed=0)
        samples = np.clip(np.rint(audio * (32767.0 * self.settings.volume)), -32768, 32767).astype("<i2")
        return Speech(samples.tobytes(), self.sample_rate)


def words_of_ssml(text: str) -> str:
    """The words alone of SSML for a passage in another language (narration.spoken_sentence),
    for an engine that cannot switch voice; any other text as it is."""
    if not text.startswith("<speak>"):
        return text
    from xml.sax.saxutils import unescape

    return unescape(re.sub(r"<[^>]+>", "", text))


def escape_phoneme_brackets(text: str) -> str:
    """Stop ``[[`` in the author's text from switching espeak into phoneme input: only the
    lexicon may do that."""
    return text.replace("[[", "[ [").replace("]]", "] ]")


def make_engine(settings: VoiceSettings) -> Engine:
    if settings.engine == "espeak":
        return EspeakEngine(settings)
    if settings.engine == "pyttsx3":
        return Pyttsx3Engine(settings)
    if settings.engine == "neural":
        return NeuralEngine(settings)
    raise ValueError(f"unknown speech engine {settings.engine!r}; the engines are: {', '.join(ENGINE_NAMES)}")
