"""From the document to timed, synthesised speech: what the MP3 and DAISY editions share.

``narrate(document, options, cache_dir)`` returns a ``Narration``: the narration script
with every sentence's start and end in its section's audio, the loudness every section is
brought to, and the sentence cache holding the speech (``sections`` encodes it, section by
section).
"""

from __future__ import annotations

import functools
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ...errors import WriterError
from ...labels import labels_for
from ...hashing import sha256_file
from ...progress import Progress, no_progress
from ...model import Document
from .cache import SpeechCache, read_small_file, sentence_key
from .engines import (DEFAULT_RATE, ENGINE_NAMES, VoiceSettings, escape_phoneme_brackets, neural_voice_file,
                      neural_voice_for, neural_voices, voice_for_language, voice_in_words)
from .loudness import TARGET_LUFS
from .lexicon import Lexicon, lexicon_for
from .normalise import normalise
from .script import (HEADING_PAUSE_BEFORE, Script, ScriptSection, Sentence, body_sections, may_be_silent,
                     name_silent_characters, opening_section, spoken_length, with_ending)
from . import synthesis

from .options import DEFAULT_ENGINE, SPEECH_OPTIONS

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


@dataclass(frozen=True)
class TimedSentence:
    sentence: Sentence
    spoken: str  # the text the engine was given, after the lexicon
    key: str  # the speech cache key
    start: float  # seconds from the start of the section's audio
    end: float
    start_sample: int
    end_sample: int
    # The sentence's clip: its speech with half the pause on either side (from the section's
    # start for the first, to its end for the last), so that consecutive clips touch and a
    # player that plays clip by clip keeps every pause.
    clip_start_sample: int = 0
    clip_end_sample: int = 0


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
    loudness: float  # LUFS every section is brought to (A3: the same loudness through the book)
    cache: SpeechCache
    synthesised: int = 0  # sentences synthesised in this run (the rest came from the cache)
    notice: str = ""  # for the build summary: the voice is not the one the language asks for
    _temporary: Any = field(default=None, repr=False)
    pool: Any = field(default=None, repr=False)  # the workers, still there for encoding

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
        if self.pool is not None:
            self.pool.close()
            self.pool = None
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


def _measure_entry(cache: SpeechCache, key: str) -> tuple[int, int, int] | None:
    # From the sentence index: laying out a cached narration reads no audio (issue 21.2).
    facts = cache.sentence_facts(key)
    return None if facts is None else (facts.samples, facts.peak, facts.sample_rate)


def narrate(
    document: Document,
    options: dict[str, Any] | None = None,
    cache_dir: Path | None = None,
    progress: Progress = no_progress,
    progress_share: float = 1.0,
    bitrate: int | None = None,
) -> Narration:
    """Synthesise the whole narration (cached sentences are not synthesised again). With a
    ``bitrate``, sections are encoded into the cache as soon as their sentences are spoken
    (each to its own loudness), on the same workers, while the rest is being spoken;
    the workers stay with the narration (``Narration.pool``) for ``sections`` to finish."""
    options = options or {}
    reported = [0.0]  # the last fraction reported: encoding done early says what it does there

    def report(fraction: float, message: str = "") -> None:
        reported[0] = fraction
        progress(fraction, message)

    settings, notice = voice_choice(document, options)
    lexicon = SpokenForm(lexicon_for(document.source_dir, options.get("audio.lexicon")), document.metadata.language,
                         settings.engine)
    temporary = None
    if cache_dir is None:
        temporary = tempfile.TemporaryDirectory(prefix="formatforge-speech-")
        folder = Path(temporary.name)
    else:
        folder = Path(cache_dir) / "speech"
    cache = SpeechCache(folder)
    version_text = engine_version(settings)
    workers = int(options.get("audio.workers") or 0)
    timeout = synthesis_timeout(options)

    body = with_ending(document, body_sections(document))
    silent = narration_silent_characters(document, body, settings, folder, version_text)
    facts: dict[str, tuple[int, int, int]] = {}  # key → (samples, peak, sample rate)
    synthesised = 0
    pool = synthesis.speech_pool(settings, cache, workers, timeout)
    # A quieter volume asked for lowers the target loudness; a louder one is the peak limiter's to bound.
    loudness = TARGET_LUFS + 20 * math.log10(min(settings.volume, 1.0))
    early = _EarlyEncoding(body, lexicon, silent, settings, version_text, facts, cache, pool, bitrate, loudness,
                           lambda fraction, message="": report(reported[0], message)) if bitrate else None

    def measure(sections: list[ScriptSection], label: str, start: float, end: float) -> None:
        nonlocal synthesised
        missing: dict[str, str] = {}
        sentence_for: dict[str, Sentence] = {}
        for section in sections:
            for sentence in section.sentences:
                spoken = spoken_sentence(sentence, lexicon, silent)
                key = sentence_key(spoken, settings, version_text)
                if key in facts or key in missing:
                    continue
                measured = _measure_entry(cache, key)
                if measured is None:
                    missing[key] = spoken
                    sentence_for[key] = sentence
                else:
                    facts[key] = measured
        if missing:
            timer = _Timer(report, len(missing), start * progress_share, end * progress_share)

            def spoken_one(key: str, reported: tuple[int, int, int] | None) -> None:
                if reported is not None:
                    facts[key] = reported
                    if early is not None:
                        early.spoken(key)

            # the body's longest sections first, so that their encoding starts early
            order = {key: -len(section.sentences) for section in sorted(sections, key=lambda s: len(s.sentences))
                     for key in (sentence_key(spoken_sentence(x, lexicon, silent), settings, version_text)
                                 for x in section.sentences)}
            items = sorted(missing.items(), key=lambda item: order.get(item[0], 0))
            if early is not None:
                synthesis.grow_for(pool, items)
                early.start()
            try:
                synthesis.synthesise(settings, cache, items, workers,
                                     lambda count: timer.advance(count, label), timeout, pool=pool, spoken=spoken_one)
            except synthesis.SynthesisFailed as failure:
                pool.close(kill=True)
                sentence = sentence_for[failure.key]
                raise WriterError(f"{failure.reason} while speaking the sentence {sentence.text[:60]!r}",
                                  document.source_path, sentence.source.line or None) from failure
            except BaseException:
                pool.close(kill=True)
                raise
            synthesised += len(missing)
            for key in missing:
                if key in facts:
                    continue
                measured = _measure_entry(cache, key)
                if measured is None:
                    raise RuntimeError("a synthesised sentence did not reach the speech cache")
                facts[key] = measured

    measure(body, "Synthesising", 0.0, 0.9)
    sample_rate = _sample_rate(facts)
    body_timed = [_timed(section, lexicon, silent, settings, version_text, facts, sample_rate) for section in body]
    body_seconds = sum(s.duration for s in body_timed)
    # The opening says how long the recording lasts, itself included: settle the spoken
    # length in a step or two.
    total = body_seconds
    for _ in range(3):
        opening = opening_section(document, body, total, voice_in_words(settings, labels_for(document.metadata.language)))
        measure([opening], "Synthesising the opening", 0.9, 1.0)
        opening_timed = _timed(opening, lexicon, silent, settings, version_text, facts, _sample_rate(facts))
        new_total = body_seconds + opening_timed.duration
        if spoken_length(new_total) == spoken_length(total):
            break
        total = new_total

    sample_rate = _sample_rate(facts)
    timed_sections = [opening_timed, *body_timed]
    used = {t.key for s in timed_sections for t in s.sentences}
    if synthesised and temporary is None:
        cache.prune()  # the cache grew: least recently used entries past its size cap go (issue 21.5)
    report(progress_share, f"Narration ready: {synthesised} sentences synthesised, {len(used) - synthesised} from the cache")
    return Narration(
        script=Script(tuple(s.section for s in timed_sections)),
        sections=timed_sections,
        settings=settings,
        engine_version=version_text,
        sample_rate=sample_rate,
        loudness=loudness,
        cache=cache,
        synthesised=synthesised,
        notice=notice,
        _temporary=temporary,
        pool=pool if bitrate else _closed(pool),
    )


@dataclass(frozen=True)
class SpokenForm:
    """The lexicon, then normalisation for speech (``normalise``): the author's respellings
    first, so that an entry for a written form ("2023-2028") still finds it as written."""

    lexicon: Lexicon
    language: str = "en-GB"
    engine: str = "espeak"

    def apply(self, text: str) -> str:
        return normalise(self.lexicon.apply(text, self.engine), self.language)


def spoken_sentence(sentence: Sentence, lexicon: Lexicon | SpokenForm, silent: frozenset[str] = frozenset()) -> str:
    """What the engine is given for a sentence. A sentence with passages in other languages
    (or all in one) goes as SSML, each passage in a ``voice`` element with its language,
    which espeak-ng switches voice for; any other sentence as plain text, as before. Each
    stretch goes through ``spoken_text`` (the lexicon, then normalisation), a passage's
    normalised for its own language."""
    if not sentence.language and not sentence.passages:
        return spoken_text(sentence.text, lexicon, silent)
    from lxml import etree

    stretches: list[tuple[str, str]] = []  # (text, language; "" for the document's voice)
    if sentence.language:
        stretches.append((sentence.text, sentence.language))
    else:
        position = 0
        for start, end, language in sentence.passages:
            stretches += [(sentence.text[position:start], ""), (sentence.text[start:end], language)]
            position = end
        stretches.append((sentence.text[position:], ""))
    # Built with lxml: the words and the language tag come from the master, so they are
    # escaped as text and as an attribute value, never spliced into markup.
    speak = etree.Element("speak")
    for text, language in stretches:
        if not text:
            continue
        form = replace(lexicon, language=language) if language and isinstance(lexicon, SpokenForm) else lexicon
        said = spoken_text(text, form, silent)
        if language:
            etree.SubElement(speak, "voice", {XML_LANG: voice_for_language(language)}).text = said
        elif len(speak):
            speak[-1].tail = (speak[-1].tail or "") + said
        else:
            speak.text = (speak.text or "") + said
    return etree.tostring(speak, encoding="unicode")


XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


SSML_START = "<speak>"  # engines.EspeakEngine reads text that starts so as SSML


def spoken_text(text: str, lexicon: Lexicon | SpokenForm, silent: frozenset[str] = frozenset()) -> str:
    """What the engine is given: characters it would pass over silently named (before the
    lexicon, so that the lexicon can fix how a name is said too), then the lexicon."""
    return lexicon.apply(escape_phoneme_brackets(name_silent_characters(text, silent)))


def narration_silent_characters(document: Document, body: list[ScriptSection], settings: VoiceSettings,
                                folder: Path, version_text: str) -> frozenset[str]:
    """The characters of the narration that the voice would say nothing for, asked of
    espeak (which also speaks for pyttsx3 on Linux) in a worker; the answers are kept
    beside the speech cache, per engine version and voice. Without espeak only the
    characters no voice can say (controls, private use) are named."""
    meta = document.metadata
    text = "".join(s.text for section in body for s in section.sentences)
    text += meta.title + meta.subtitle + meta.author + meta.publisher
    candidates = sorted({char for char in text if may_be_silent(char)})
    if not candidates:
        return frozenset()
    if settings.engine != "espeak" and not (settings.engine == "pyttsx3" and sys.platform.startswith("linux")):
        return frozenset()
    if version_text == "no espeak-ng":
        return frozenset()
    answers_file = folder / f"silent-{sentence_key('', replace(settings, engine='espeak'), version_text)[:16]}.json"
    try:
        answers = json.loads(read_small_file(answers_file, 1 << 20) or "{}")
        answers = answers if isinstance(answers, dict) else {}
    except ValueError:
        answers = {}
    unknown = [char for char in candidates if char not in answers]
    if unknown:
        found = set(synthesis.engine_silent_characters(replace(settings, engine="espeak"), unknown))
        answers.update({char: char in found for char in unknown})
        folder.mkdir(parents=True, exist_ok=True)
        staging = answers_file.with_suffix(f".{os.getpid()}.tmp")
        staging.write_text(json.dumps(answers, ensure_ascii=False, sort_keys=True), encoding="utf-8")
        os.replace(staging, answers_file)
    return frozenset(char for char in candidates if answers.get(char))


def _sample_rate(facts: dict[str, tuple[int, int, int]]) -> int:
    rates = {rate for _, _, rate in facts.values()}
    if len(rates) > 1:
        raise RuntimeError(f"the speech engine changed its sample rate mid-book: {sorted(rates)}")
    return rates.pop() if rates else 22050


def _timed(section: ScriptSection, lexicon: Lexicon | SpokenForm, silent: frozenset[str], settings: VoiceSettings, version_text: str,
           facts: dict[str, tuple[int, int, int]], sample_rate: int) -> NarratedSection:
    """Lay the sentences end to end with the script's pauses; all in whole samples, so
    times never drift from the audio."""
    timed: list[TimedSentence] = []
    position = 0
    previous: Sentence | None = None
    for sentence in section.sentences:
        spoken = spoken_sentence(sentence, lexicon, silent)
        key = sentence_key(spoken, settings, version_text)
        gap = 0.0 if previous is None else max(previous.pause_after, sentence.pause_before)
        start = position + round(gap * sample_rate)
        end = start + facts[key][0]
        timed.append(TimedSentence(sentence, spoken, key, start / sample_rate, end / sample_rate, start, end))
        position, previous = end, sentence
    # Close with the pause that comes before the next heading, so that the whole-book
    # file, made of the sections end to end, breathes between them.
    closing = max(previous.pause_after if previous else 0.0, HEADING_PAUSE_BEFORE)
    samples = position + round(closing * sample_rate)
    bounds = [0] + [(before.end_sample + after.start_sample) // 2 for before, after in zip(timed, timed[1:])] + [samples]
    clipped = tuple(replace(t, clip_start_sample=bounds[i], clip_end_sample=bounds[i + 1]) for i, t in enumerate(timed))
    return NarratedSection(section, clipped, samples, sample_rate)


def _closed(pool):
    pool.close()
    return None


class _EarlyEncoding:
    """Hands each body section to the workers for encoding as soon as all its sentences
    are spoken (``encode_jobs`` without waiting): each section's level is set from its own
    audio, so nothing waits for the rest of the book. The job is the very one
    ``sections.encoded_sections`` makes later, which then finds it done."""

    def __init__(self, body, lexicon, silent, settings, version_text, facts, cache, pool, bitrate, loudness, progress):
        self.progress = progress
        self.body, self.lexicon, self.silent, self.settings = body, lexicon, silent, settings
        self.version_text, self.facts, self.cache, self.pool = version_text, facts, cache, pool
        self.bitrate, self.loudness = bitrate, loudness
        self.keys = [{sentence_key(spoken_sentence(s, lexicon, silent), settings, version_text) for s in section.sentences}
                     for section in body]
        self.waiting: list[set[str]] = []
        self.sections_of: dict[str, list[int]] = {}
        self.ready: list[int] = []
        self.started = False

    def start(self) -> None:
        if self.started:
            return
        self.started = True
        self.waiting = [{key for key in keys if key not in self.facts} for keys in self.keys]
        for index, keys in enumerate(self.waiting):
            for key in keys:
                self.sections_of.setdefault(key, []).append(index)
        self.ready = [index for index, keys in enumerate(self.waiting) if not keys]
        self._submit()

    def spoken(self, key: str) -> None:
        if not self.started:
            return
        for index in self.sections_of.pop(key, []):
            self.waiting[index].discard(key)
            if not self.waiting[index]:
                self.ready.append(index)
        self._submit()

    def _submit(self) -> None:
        if not self.ready:
            return
        from . import sections

        store = sections.section_store(self.cache)
        rates = {self.facts[key][2] for index in self.ready for key in self.keys[index]}
        if len(rates) != 1:
            self.ready = []
            return
        rate = rates.pop()
        jobs = []
        for index in self.ready:
            narrated = _timed(self.body[index], self.lexicon, self.silent, self.settings, self.version_text,
                              self.facts, rate)
            job = sections.section_job(narrated, rate, self.loudness, self.bitrate)
            if not store.path(job.key).exists():
                jobs.append(job)
        self.ready = []
        if jobs:
            reporter = sections._Reporter(self.progress, (0.0, 1.0), jobs)
            sections.encode_jobs(jobs, self.cache, store, reporter=reporter, pool=self.pool, wait=False)
