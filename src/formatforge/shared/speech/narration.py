"""From the document to timed, synthesised speech: what the MP3, DAISY and read-aloud editions share.

``narrate(document, options, cache_dir)`` returns a ``Narration``: every sentence's start
and end in its section's audio, each section cut into units to encode, the loudness they
are brought to, and the sentence cache holding the speech. It runs the stages in order,
each in its own module and each handing the next a typed result:

1. plan the script (``script``, then ``spoken``): each sentence as the engine is given it,
   and its cache key (``layout.PlannedSection``);
2. synthesise the sentences the cache lacks (``synthesis``, on ``processes.Pool``);
3. lay out sections, units and clips in whole samples (``layout``);
4. encode each unit to MP3 (``sections``): as soon as a unit's sentences are spoken when a
   bit rate is given (``EarlyUnits``), the rest when ``Narration.encode`` is called.
"""

from __future__ import annotations

import functools
import math
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ...errors import WriterError
from ...hashing import sha256_file
from ...labels import labels_for
from ...model import Document
from ...progress import Progress, no_progress
from . import synthesis
from .cache import SpeechCache, sentence_key
from .engines import (DEFAULT_RATE, ENGINE_NAMES, VoiceSettings, neural_voice_file, neural_voice_for, neural_voices,
                      voice_for_language, voice_in_words)
from .layout import NarratedSection, PlannedSection, TimedSentence, lay_out, lay_out_unit, unit_starts
from .lexicon import lexicon_for
from .loudness import TARGET_LUFS
from .script import Script, ScriptSection, Sentence, body_sections, opening_section, spoken_length, with_ending
from .sections import EncodedBook, EncodingProgress, UnitEncoder, UnitJob, encoded_sections, unit_job, unit_store
from .spoken import SpokenForm, narration_silent_characters, spoken_sentence
from .options import DEFAULT_ENGINE, SPEECH_OPTIONS

__all__ = ["DEFAULT_ENGINE", "OPTION_NAMES", "NarratedSection", "Narration", "TimedSentence", "narrate",
           "voice_choice", "voice_settings"]

OPTION_NAMES = tuple(option.name for option in SPEECH_OPTIONS)  # declared once, in .options



def voice_choice(document: Document, options: dict[str, Any]) -> tuple[VoiceSettings, str]:
    """The voice settings, and a notice for the build summary when the voice is not the
    one the master's language asks for (or "" when it is)."""
    engine = str(options.get("audio.engine") or DEFAULT_ENGINE)
    if engine not in ENGINE_NAMES:
        raise ValueError(f"unknown speech engine {engine!r}; the engines are: {', '.join(ENGINE_NAMES)}")
    language = document.metadata.language
    voice = str(options.get("audio.voice") or "")
    notice = ""
    if engine == "neural":
        voice_file = options.get("audio.voice_file")
        if voice_file:
            path = Path(str(voice_file)).expanduser()
            path = path if path.is_absolute() else (Path.cwd() / path)
            if not path.is_file() or path.suffix != ".onnx":
                raise ValueError(f"the voice file {path} is not there or is not an .onnx voice model")
            voice = str(path.resolve())
        elif voice:
            if voice not in neural_voices():
                raise ValueError(f"the neural engine has no voice {voice!r}; its voices are: "
                                 f"{', '.join(neural_voices()) or 'none (hibari-tts is not installed)'}")
            if neural_voice_file(voice) is None:
                raise ValueError(f"the neural voice {voice!r} is not on this machine; run "
                                 f"`.venv/bin/hibari \"test\" --voice {voice} -o /dev/null` once with a network")
        elif (language or "en").lower().split("-")[0] != "en":
            # hibari speaks English only: espeak-ng reads other languages.
            engine, voice = "espeak", voice_for_language(language)
            notice = f"the neural voice speaks English only, so espeak-ng reads this {language} book"
        else:
            voice, notice = neural_voice_for(language)
        if engine == "neural" and not neural_voices():
            raise ValueError("the neural engine needs hibari-tts: pip install hibari-tts==0.2.1")
    voice = voice or voice_for_language(language)
    rate = int(options.get("audio.rate") or DEFAULT_RATE)
    volume = options.get("audio.volume")
    volume = 1.0 if volume is None else float(volume)
    if not 0.0 < volume <= 2.0:
        raise ValueError("audio.volume is a fraction of the normal level, above 0 and at most 2")
    return VoiceSettings(engine=engine, voice=voice, rate=rate, volume=volume), notice


def voice_settings(document: Document, options: dict[str, Any]) -> VoiceSettings:
    return voice_choice(document, options)[0]


def synthesis_timeout(options: dict[str, Any]) -> float:
    value = options.get("audio.timeout")
    timeout = synthesis.DEFAULT_TIMEOUT if value is None else float(value)
    if not timeout > 0:
        raise ValueError("audio.timeout is the seconds one sentence may take to synthesise, above 0")
    return timeout


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
    if settings.engine == "neural":
        try:
            hibari = version("hibari-tts")
        except PackageNotFoundError:
            hibari = "missing"
        # The voice model's digest: another model under the same name makes new speech.
        path = Path(settings.voice) if Path(settings.voice).is_file() else neural_voice_file(settings.voice)
        return f"hibari-tts {hibari} {_digest(path) if path is not None else 'no model'}"
    try:
        pyttsx3 = version("pyttsx3")
    except PackageNotFoundError:
        pyttsx3 = "missing"
    return f"pyttsx3 {pyttsx3} on {sys.platform}" + (f" with {espeak}" if sys.platform.startswith("linux") else "")


@functools.lru_cache(maxsize=8)
def _digest(path: Path) -> str:
    return sha256_file(path)[:16]


class LayoutChanged(RuntimeError):
    """Audio made again for a sentence was not the length the layout used: narrate again."""


# Each sentence's length (samples, sample rate) by cache folder and key, with the identity
# its entry file had (None once its audio was dropped), as this process found it: the three
# speech editions of a build, and every build of a resident process, lay out the same
# sentences, and a stat is all it takes to know the entry is the one measured (a changed or
# damaged entry has another identity and goes through the index and its checks again).
# Audio made again for a dropped sentence is checked against this length
# (``Narration._restore_audio``), which is forgotten if it does not hold.
_known_lengths: dict[tuple[Path, str], tuple[tuple[int, int, int, int] | None, tuple[int, int]]] = {}


@dataclass
class Narration:
    script: Script
    sections: list[NarratedSection]
    settings: VoiceSettings
    engine_version: str
    sample_rate: int
    loudness: float  # LUFS every unit is brought to (A3: the same loudness through the book)
    cache: SpeechCache
    encoder: UnitEncoder  # holds the workers, still there for encoding, and what they encoded early
    synthesised: int = 0  # sentences synthesised in this run (the rest came from the cache)
    restored: int = 0  # sentences whose dropped audio was made again for a unit to encode
    timeout: float = synthesis.DEFAULT_TIMEOUT
    source_path: Path | None = None  # the master, to name it in an error
    notice: str = ""  # for the build summary: the voice is not the one the language asks for
    temporary: tempfile.TemporaryDirectory | None = field(default=None, repr=False)

    @property
    def duration(self) -> float:
        return sum(section.duration for section in self.sections)

    def pcm(self, timed: TimedSentence) -> bytes:
        """One sentence's synthesised audio, before the gain."""
        speech = self.cache.get(timed.key)
        if speech is None:
            raise RuntimeError(f"the speech cache lost sentence {timed.sentence.id}")
        return speech.pcm

    def encode(self, bitrate: int, progress: Progress = no_progress,
               progress_range: tuple[float, float] = (0.0, 1.0)) -> EncodedBook:
        """Every section's MP3 frames, encoding only the units the cache lacks. Then, for a
        long book, the sentence audio past the cache's budget is dropped (its units are
        encoded, and every length stays in the index)."""
        book = encoded_sections(self.sections, self.loudness, bitrate, self.encoder, progress, progress_range,
                                before_encoding=self._restore_audio)
        if (self.synthesised or self.restored) and self.temporary is None:
            self.cache.drop_audio()
        return book

    def _restore_audio(self, jobs: list[UnitJob]) -> None:
        """Synthesises again the sentences of ``jobs`` whose audio was dropped (their units
        must be encoded again: an edit beside them, or a unit evicted). The engines give the
        same samples for the same text, so each must come back as long as the index said,
        which the layout was made from; if one does not (an engine that is not
        reproducible, or a forged index), ``LayoutChanged`` asks for the narration again,
        which then lays the sentence out from its new audio."""
        timed = {t.key: t for section in self.sections for t in section.sentences}
        needed = {key for job in jobs for _, key in job.pieces if not self.cache.has_audio(key)}
        items = [(key, timed[key].spoken) for key in sorted(needed) if key in timed]
        if not items:
            return
        try:
            synthesis.synthesise(self.settings, self.cache, items, timeout=self.timeout, pool=self.encoder.pool)
        except synthesis.SynthesisFailed as failure:
            sentence = timed[failure.key].sentence
            raise WriterError(f"{failure.reason} while speaking the sentence {sentence.text[:60]!r}",
                              self.source_path, sentence.source.line or None) from failure
        self.restored += len(items)
        for key, _ in items:
            length = self.cache.length(key)
            expected = timed[key].end_sample - timed[key].start_sample
            if length is None or length[0] != expected:
                _known_lengths.pop((self.cache.folder, key), None)
                raise LayoutChanged(f"a sentence made again came out {length} samples long, not {expected}")

    def close(self) -> None:
        if self.encoder.pool is not None:
            self.encoder.pool.close()
            self.encoder.pool = None
        if self.temporary is not None:
            self.temporary.cleanup()
            self.temporary = None


@dataclass
class _Reporter:
    """Progress that remembers the last fraction it reported, for work that says what it is
    doing without moving the bar (units encoded early, while sentences are spoken)."""

    progress: Progress
    fraction: float = 0.0

    def __call__(self, fraction: float, message: str = "") -> None:
        self.fraction = fraction
        self.progress(fraction, message)

    def saying(self, fraction: float, message: str = "") -> None:
        self.progress(self.fraction, message)


class _Timer:
    """Progress with a time estimate, spread over the share of work synthesis takes."""

    def __init__(self, progress: Progress, label: str, total: int, start: float, end: float):
        self.progress, self.label, self.total, self.start, self.end = progress, label, max(total, 1), start, end
        self.done, self.started = 0, time.monotonic()

    def advance(self, count: int) -> None:
        self.done += count
        fraction = self.done / self.total
        elapsed = time.monotonic() - self.started
        left = elapsed / fraction - elapsed if fraction > 0 else 0
        self.progress(self.start + (self.end - self.start) * fraction,
                      f"{self.label}: {self.done} of {self.total} sentences, about {math.ceil(left)} s left")


@dataclass
class Lengths:
    """Each sentence's length in samples, by cache key, and the one sample rate they share."""

    samples: dict[str, int] = field(default_factory=dict)
    rates: set[int] = field(default_factory=set)

    def add(self, key: str, samples: int, rate: int) -> None:
        self.samples[key] = samples
        self.rates.add(rate)
        if len(self.rates) > 1:
            raise RuntimeError(f"the speech engine changed its sample rate mid-book: {sorted(self.rates)}")

    @property
    def rate(self) -> int | None:
        return next(iter(self.rates), None)


@dataclass
class EarlyUnits:
    """Hands each unit to the encoder as soon as all its sentences are spoken: a unit's
    audio depends on its own sentences alone (``layout``), so nothing waits for the rest
    of its section or book. The job is the very one ``Narration.encode`` makes later, which
    then finds it done."""

    planned: list[PlannedSection]
    lengths: Lengths
    encoder: UnitEncoder
    loudness: float
    bitrate: int
    progress: Progress
    waiting: dict[tuple[int, int], set[str]] = field(default_factory=dict)  # (section, first sentence) → keys
    units_of: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    ends: dict[tuple[int, int], int] = field(default_factory=dict)
    started: bool = False

    def start(self) -> None:
        """Registers every unit once the sample rate is known (it sets where units end)."""
        rate = self.lengths.rate
        if self.started or rate is None:
            return
        self.started = True
        for number, planned in enumerate(self.planned):
            starts = unit_starts(planned.section, rate)
            for first, end in zip(starts, (*starts[1:], len(planned.keys))):
                unit = (number, first)
                self.ends[unit] = end
                self.waiting[unit] = {key for key in planned.keys[first:end] if key not in self.lengths.samples}
                for key in self.waiting[unit]:
                    self.units_of.setdefault(key, []).append(unit)
        self._submit([unit for unit, keys in self.waiting.items() if not keys])

    def spoken(self, key: str) -> None:
        if not self.started:
            self.start()
            return
        ready = []
        for unit in self.units_of.pop(key, []):
            self.waiting[unit].discard(key)
            if not self.waiting[unit]:
                ready.append(unit)
        self._submit(ready)

    def _submit(self, ready: list[tuple[int, int]]) -> None:
        rate = self.lengths.rate
        if not ready or rate is None:
            return
        jobs = []
        for number, first in ready:
            planned = self.planned[number]
            unit = lay_out_unit(planned, first, self.ends[number, first], self.lengths.samples, rate)
            job = unit_job(unit, planned.section.title, rate, self.loudness, self.bitrate)
            # A unit beside an edit whose other sentences' audio was dropped waits for
            # ``Narration.encode``, which makes that audio again first.
            if not self.encoder.store.path(job.key).exists() and all(self.encoder.cache.has_audio(key) for _, key in job.pieces):
                jobs.append(job)
        if jobs:
            self.encoder.submit(jobs, EncodingProgress(self.progress, 0.0, 0.0, sum(job.fed for job in jobs)))


@dataclass
class Speaker:
    """The synthesis stage for one narration: finds which sentences the cache lacks, has
    the workers speak them (an engine that fails is named with the sentence and its line),
    and keeps every sentence's length."""

    document: Document
    settings: VoiceSettings
    cache: SpeechCache
    pool: synthesis.Pool
    timeout: float
    lengths: Lengths = field(default_factory=Lengths)
    early: EarlyUnits | None = None
    synthesised: int = 0

    def speak(self, planned: list[PlannedSection], timer: _Timer) -> None:
        missing: dict[str, str] = {}
        sentence_for: dict[str, Sentence] = {}
        for section in planned:
            for sentence, spoken, key in zip(section.section.sentences, section.spoken, section.keys):
                if key in self.lengths.samples or key in missing:
                    continue
                identity = self.cache.identity(key)
                known = _known_lengths.get((self.cache.folder, key))
                measured = known[1] if known is not None and known[0] == identity else self.cache.length(key)
                if measured is None:
                    missing[key] = spoken
                    sentence_for[key] = sentence
                else:
                    _known_lengths[self.cache.folder, key] = (identity, measured)
                    self.lengths.add(key, *measured)
        if not missing:
            return
        timer.total = len(missing)
        # the longest sections first, so that their units are encoded while the rest is spoken
        order = {key: -len(section.keys) for section in sorted(planned, key=lambda s: len(s.keys)) for key in section.keys}
        items = sorted(missing.items(), key=lambda item: order.get(item[0], 0))
        if self.early is not None:
            synthesis.grow_for(self.pool, items)
            self.early.start()
        try:
            synthesis.synthesise(self.settings, self.cache, items, done=timer.advance, timeout=self.timeout,
                                 pool=self.pool, spoken=self._spoken)
        except synthesis.SynthesisFailed as failure:
            self.pool.close(kill=True)
            sentence = sentence_for[failure.key]
            raise WriterError(f"{failure.reason} while speaking the sentence {sentence.text[:60]!r}",
                              self.document.source_path, sentence.source.line or None) from failure
        except BaseException:
            self.pool.close(kill=True)
            raise
        self.synthesised += len(missing)
        for key in missing:
            if key not in self.lengths.samples:
                measured = self.cache.length(key)
                if measured is None:
                    raise RuntimeError("a synthesised sentence did not reach the speech cache")
                self.lengths.add(key, *measured)

    def _spoken(self, key: str, length: synthesis.Length) -> None:
        if length is not None:
            self.lengths.add(key, *length)
            if self.early is not None:
                self.early.spoken(key)


@dataclass(frozen=True)
class ScriptPlanner:
    """The planning stage: each sentence as the engine is given it, with its cache key."""

    spoken_form: SpokenForm
    silent: frozenset[str]
    settings: VoiceSettings
    engine_version: str

    def plan(self, section: ScriptSection) -> PlannedSection:
        spoken = tuple(spoken_sentence(sentence, self.spoken_form, self.silent) for sentence in section.sentences)
        keys = tuple(sentence_key(text, self.settings, self.engine_version) for text in spoken)
        return PlannedSection(section, spoken, keys)


@dataclass(frozen=True)
class _PlannedBody:
    document: Document
    key: tuple
    body: list[ScriptSection]
    planner: ScriptPlanner
    planned: list[PlannedSection]


# The last body planned, for the next speech writer of the same build (and the next build
# of a resident process, while the master is unchanged): the three editions plan the very
# same script, which at 12,000 words costs a fifth of a second each time. It is the same
# only for the very same model object (writers never change it) with the same lexicon,
# voice, engine version and cache folder.
_last_plan: _PlannedBody | None = None
_plan_lock = threading.Lock()


def _planned_body(document: Document, spoken_form: SpokenForm, settings: VoiceSettings, folder: Path,
                  version_text: str) -> tuple[list[ScriptSection], ScriptPlanner, list[PlannedSection]]:
    global _last_plan
    key = (spoken_form, settings, version_text, str(folder))
    with _plan_lock:
        last = _last_plan
    if last is not None and last.document is document and last.key == key:
        return last.body, last.planner, last.planned
    body = with_ending(document, body_sections(document))
    planner = ScriptPlanner(spoken_form, narration_silent_characters(document, body, settings, folder, version_text), settings,
                            version_text)
    planned = [planner.plan(section) for section in body]
    with _plan_lock:
        _last_plan = _PlannedBody(document, key, body, planner, planned)
    return body, planner, planned


def narrate(
    document: Document,
    options: dict[str, Any] | None = None,
    cache_dir: Path | None = None,
    progress: Progress = no_progress,
    progress_share: float = 1.0,
    bitrate: int | None = None,
) -> Narration:
    """Synthesise and lay out the whole narration (cached sentences are not synthesised
    again). With a ``bitrate``, units are encoded into the cache as soon as their sentences
    are spoken, on the same workers, while the rest is being spoken; the workers stay with
    the narration's encoder for ``Narration.encode`` to finish."""
    options = options or {}
    reporter = _Reporter(progress)
    settings, notice = voice_choice(document, options)
    temporary = tempfile.TemporaryDirectory(prefix="formatforge-speech-") if cache_dir is None else None
    folder = Path(temporary.name) if temporary is not None else Path(cache_dir or ".") / "speech"
    cache = SpeechCache(folder)
    version_text = engine_version(settings)
    # A quieter volume asked for lowers the target loudness; a louder one is the peak limiter's to bound.
    loudness = TARGET_LUFS + 20 * math.log10(min(settings.volume, 1.0))

    # 1. Plan the body (the opening, which says how long the recording lasts, comes after).
    spoken_form = SpokenForm(lexicon_for(document.source_dir, options.get("audio.lexicon")), document.metadata.language,
                             settings.engine)
    body, planner, planned_body = _planned_body(document, spoken_form, settings, folder, version_text)

    # 2. Synthesise what the cache lacks, encoding units as soon as they are spoken.
    pool = synthesis.speech_pool(settings, cache, int(options.get("audio.workers") or 0), synthesis_timeout(options),
                                 version_text)
    encoder = UnitEncoder(cache, unit_store(cache), pool)
    speaker = Speaker(document, settings, cache, pool, synthesis_timeout(options))
    if bitrate:
        speaker.early = EarlyUnits(planned_body, speaker.lengths, encoder, loudness, bitrate, reporter.saying)
    speaker.speak(planned_body, _Timer(reporter, "Synthesising", 0, 0.0, 0.9 * progress_share))

    # 3. Lay out the body, then the opening until the length it announces settles.
    rate = speaker.lengths.rate or 22050
    body_timed = [lay_out(planned, speaker.lengths.samples, rate) for planned in planned_body]
    body_seconds = sum(section.duration for section in body_timed)
    total = body_seconds
    voice = voice_in_words(settings, labels_for(document.metadata.language))
    for _ in range(3):
        opening = planner.plan(opening_section(document, body, total, voice))
        speaker.speak([opening], _Timer(reporter, "Synthesising the opening", 0, 0.9 * progress_share, progress_share))
        rate = speaker.lengths.rate or 22050
        opening_timed = lay_out(opening, speaker.lengths.samples, rate)
        new_total = body_seconds + opening_timed.duration
        if spoken_length(new_total) == spoken_length(total):
            break
        total = new_total

    timed_sections = [opening_timed, *body_timed]
    used = {t.key for s in timed_sections for t in s.sentences}
    reporter(progress_share, f"Narration ready: {speaker.synthesised} sentences synthesised, "
                             f"{len(used) - speaker.synthesised} from the cache")
    if speaker.synthesised and temporary is None:
        cache.prune()  # the cache grew: least recently used entries past its size cap go (issue 21.5)
    if not bitrate:
        pool.close()
        encoder.pool = None
    return Narration(
        script=Script(tuple(s.section for s in timed_sections)),
        sections=timed_sections,
        settings=settings,
        engine_version=version_text,
        sample_rate=rate,
        loudness=loudness,
        cache=cache,
        encoder=encoder,
        synthesised=speaker.synthesised,
        timeout=synthesis_timeout(options),
        source_path=document.source_path,
        notice=notice,
        temporary=temporary,
    )
