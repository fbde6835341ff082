"""What the engine is given for each sentence: the author's lexicon, then normalisation for
speech, with characters the voice would pass over in silence named (the first stage of the
narration: planning the spoken script)."""

from __future__ import annotations

import functools
import json
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from ...model import Document
from . import synthesis
from .cache import read_small_file, sentence_key
from .engines import VoiceSettings, escape_phoneme_brackets, voice_for_language
from .lexicon import Lexicon
from .normalise import normalise
from .script import ScriptSection, Sentence, may_be_silent, name_silent_characters


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


# A resident process (watch) plans the same sentences after every edit, and a build's three
# speech editions plan them three times over: the lexicon and normalisation run once per
# sentence text (a fifth of a second at 12,000 words).
@functools.lru_cache(maxsize=1 << 17)
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
