"""From the document to timed, synthesised speech: what the MP3 and DAISY editions share.

``narrate(document, options, cache_dir)`` returns a ``Narration``: the narration script
with every sentence's start and end in its section's audio, the book's one gain, and the
sentence cache holding the speech (``sections`` encodes it, section by section).
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Callable

from ..model import Document
from .cache import SpeechCache, sentence_key
from .encode import PEAK_CEILING_DBFS, gain_for_peak, peak
from .engines import DEFAULT_RATE, ENGINE_NAMES, VoiceSettings, escape_phoneme_brackets, voice_for_language
from .lexicon import Lexicon, lexicon_for
from .script import HEADING_PAUSE_BEFORE, Script, ScriptSection, Sentence, body_sections, opening_section, spoken_length
from . import synthesis

# The engine used when none is named; chosen by measurement (see the README): the direct
# libespeak-ng engine synthesised a paragraph about twice as fast as pyttsx3 over the same
# library, and it reports word positions.
DEFAULT_ENGINE = "espeak"

OPTION_NAMES = (
    "audio.engine",
    "audio.voice",
    "audio.rate",
    "audio.volume",
    "audio.lexicon",
    "audio.workers",
)

Progress = Callable[[float, str], None]


def voice_settings(document: Document, options: dict[str, Any]) -> VoiceSettings:
    engine = str(options.get("audio.engine") or DEFAULT_ENGINE)
    if engine not in ENGINE_NAMES:
        raise ValueError(f"unknown speech engine {engine!r}; the engines are: {', '.join(ENGINE_NAMES)}")
    voice = str(options.get("audio.voice") or voice_for_language(document.metadata.language))
    rate = int(options.get("audio.rate") or DEFAULT_RATE)
    volume = options.get("audio.volume")
    volume = 1.0 if volume is None else float(volume)
    if not 0.0 < volume <= 2.0:
        raise ValueError("audio.volume is a fraction of the normal level, above 0 and at most 2")
    return VoiceSettings(engine=engine, voice=voice, rate=rate, volume=volume)


def engine_version(settings: VoiceSettings) -> str:
    """The engine's version for cache keys, found without starting the engine (which
    must only ever run inside a worker process)."""
    from .engines import load_libespeak

    try:
        espeak = "espeak-ng " + load_libespeak().espeak_Info(None).decode()
    except OSError:
        espeak = "no espeak-ng"
    if settings.engine == "espeak":
        return espeak
    try:
        pyttsx3 = version("pyttsx3")
    except PackageNotFoundError:
        pyttsx3 = "missing"
    return f"pyttsx3 {pyttsx3} on {sys.platform}" + (f" with {espeak}" if sys.platform.startswith("linux") else "")


@dataclass(frozen=True)
class TimedSentence:
    sentence: Sentence
    spoken: str  # the text the engine was given, after the lexicon
    key: str  # the speech cache key
    start: float  # seconds from the start of the section's audio
    end: float
    start_sample: int
    end_sample: int


@dataclass(frozen=True)
class NarratedSection:
    section: ScriptSection
    sentences: tuple[TimedSentence, ...]
    samples: int  # the section's whole length, its closing pause included
    sample_rate: int

    @property
    def duration(self) -> float:
        return self.samples / self.sample_rate


@dataclass
class Narration:
    script: Script
    sections: list[NarratedSection]
    settings: VoiceSettings
    engine_version: str
    sample_rate: int
    gain: float  # applied to every sample: one gain for the book keeps loudness even
    cache: SpeechCache
    synthesised: int = 0  # sentences synthesised in this run (the rest came from the cache)
    _temporary: Any = field(default=None, repr=False)

    @property
    def duration(self) -> float:
        return sum(section.duration for section in self.sections)

    def pcm(self, timed: TimedSentence) -> bytes:
        """One sentence's synthesised audio, before the gain."""
        speech = self.cache.get(timed.key)
        if speech is None:
            raise RuntimeError(f"the speech cache lost sentence {timed.sentence.id}")
        return speech.pcm

    def close(self) -> None:
        if self._temporary is not None:
            self._temporary.cleanup()
            self._temporary = None


class _Timer:
    """Progress with a time estimate, spread over the share of work synthesis takes."""

    def __init__(self, progress: Progress, total: int, start: float, end: float):
        self.progress, self.total, self.start, self.end = progress, max(total, 1), start, end
        self.done, self.started = 0, time.monotonic()

    def advance(self, count: int, label: str) -> None:
        self.done += count
        fraction = self.done / self.total
        elapsed = time.monotonic() - self.started
        left = elapsed / fraction - elapsed if fraction > 0 else 0
        self.progress(self.start + (self.end - self.start) * fraction, f"{label}: {self.done} of {self.total} sentences, about {math.ceil(left)} s left")


def narrate(
    document: Document,
    options: dict[str, Any] | None = None,
    cache_dir: Path | None = None,
    progress: Progress = lambda fraction, message="": None,
    progress_share: float = 1.0,
) -> Narration:
    """Synthesise the whole narration (cached sentences are not synthesised again)."""
    options = options or {}
    settings = voice_settings(document, options)
    lexicon = lexicon_for(document.source_dir, options.get("audio.lexicon"))
    temporary = None
    if cache_dir is None:
        temporary = tempfile.TemporaryDirectory(prefix="formatforge-speech-")
        folder = Path(temporary.name)
    else:
        folder = Path(cache_dir) / "speech"
    cache = SpeechCache(folder)
    version_text = engine_version(settings)
    workers = int(options.get("audio.workers") or 0)

    body = body_sections(document)
    facts: dict[str, tuple[int, int, int]] = {}  # key → (samples, peak, sample rate)
    synthesised = 0

    def measure(sections: list[ScriptSection], label: str, start: float, end: float) -> None:
        nonlocal synthesised
        missing: dict[str, str] = {}
        for section in sections:
            for sentence in section.sentences:
                spoken = spoken_text(sentence.text, lexicon)
                key = sentence_key(spoken, settings, version_text)
                if key in facts or key in missing:
                    continue
                speech = cache.get(key)
                if speech is None:
                    missing[key] = spoken
                else:
                    facts[key] = (len(speech.pcm) // 2, peak(speech.pcm), speech.sample_rate)
        if missing:
            timer = _Timer(progress, len(missing), start * progress_share, end * progress_share)
            synthesis.synthesise(settings, cache, missing.items(), workers, lambda count: timer.advance(count, label))
            synthesised += len(missing)
            for key in missing:
                speech = cache.get(key)
                if speech is None:
                    raise RuntimeError("a synthesised sentence did not reach the speech cache")
                facts[key] = (len(speech.pcm) // 2, peak(speech.pcm), speech.sample_rate)

    measure(body, "Synthesising", 0.0, 0.9)
    sample_rate = _sample_rate(facts)
    body_timed = [_timed(section, lexicon, settings, version_text, facts, sample_rate) for section in body]
    body_seconds = sum(s.duration for s in body_timed)
    # The opening says how long the recording lasts, itself included: settle the spoken
    # length in a step or two.
    total = body_seconds
    for _ in range(3):
        opening = opening_section(document, body, total)
        measure([opening], "Synthesising the opening", 0.9, 1.0)
        opening_timed = _timed(opening, lexicon, settings, version_text, facts, _sample_rate(facts))
        new_total = body_seconds + opening_timed.duration
        if spoken_length(new_total) == spoken_length(total):
            break
        total = new_total

    sample_rate = _sample_rate(facts)
    timed_sections = [opening_timed, *body_timed]
    used = {t.key for s in timed_sections for t in s.sentences}
    loudest = max((facts[key][1] for key in used), default=0)
    ceiling = PEAK_CEILING_DBFS + 20 * math.log10(min(settings.volume, 1.0))
    progress(progress_share, f"Narration ready: {synthesised} sentences synthesised, {len(used) - synthesised} from the cache")
    return Narration(
        script=Script(tuple(s.section for s in timed_sections)),
        sections=timed_sections,
        settings=settings,
        engine_version=version_text,
        sample_rate=sample_rate,
        gain=gain_for_peak(loudest, ceiling),
        cache=cache,
        synthesised=synthesised,
        _temporary=temporary,
    )


def spoken_text(text: str, lexicon: Lexicon) -> str:
    return lexicon.apply(escape_phoneme_brackets(text))


def _sample_rate(facts: dict[str, tuple[int, int, int]]) -> int:
    rates = {rate for _, _, rate in facts.values()}
    if len(rates) > 1:
        raise RuntimeError(f"the speech engine changed its sample rate mid-book: {sorted(rates)}")
    return rates.pop() if rates else 22050


def _timed(section: ScriptSection, lexicon: Lexicon, settings: VoiceSettings, version_text: str,
           facts: dict[str, tuple[int, int, int]], sample_rate: int) -> NarratedSection:
    """Lay the sentences end to end with the script's pauses; all in whole samples, so
    times never drift from the audio."""
    timed: list[TimedSentence] = []
    position = 0
    previous: Sentence | None = None
    for sentence in section.sentences:
        spoken = spoken_text(sentence.text, lexicon)
        key = sentence_key(spoken, settings, version_text)
        gap = 0.0 if previous is None else max(previous.pause_after, sentence.pause_before)
        start = position + round(gap * sample_rate)
        end = start + facts[key][0]
        timed.append(TimedSentence(sentence, spoken, key, start / sample_rate, end / sample_rate, start, end))
        position, previous = end, sentence
    # Close with the pause that comes before the next heading, so that the whole-book
    # file, made of the sections end to end, breathes between them.
    closing = max(previous.pause_after if previous else 0.0, HEADING_PAUSE_BEFORE)
    return NarratedSection(section, tuple(timed), position + round(closing * sample_rate), sample_rate)
