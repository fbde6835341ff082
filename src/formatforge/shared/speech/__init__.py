"""Speech shared by the audio, DAISY and read-aloud editions: the narration script, the
pronunciation lexicon, the engines, the sentence cache and MP3 encoding.

``narrate(document, options, cache_dir)`` is the entry point: it returns a ``Narration``
with every sentence's text, id, source block and its start and end in its section's audio.
``Narration.encode`` turns it into MP3 frames, unit by unit, through the same cache;
``formats.speech_edition.SpeechWriter`` is the base of the three writers. The stages, and
the module each lives in, are listed in ``narration``.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the type checker sees the real names; at run time __getattr__ imports them
    from .lexicon import lexicon_path
    from .layout import NarratedSection, TimedSentence
    from .narration import OPTION_NAMES, Narration, narrate, voice_settings
    from .script import Script, ScriptSection, Sentence, SourceRef, build_script

# Imported on first use, so that a worker process (``python -m formatforge.shared.speech.worker``)
# starts without the narration, the script and the document model it never needs.
_EXPORTS = {
    "OPTION_NAMES": "narration", "Narration": "narration", "NarratedSection": "layout",
    "TimedSentence": "layout", "narrate": "narration", "voice_settings": "narration",
    "lexicon_path": "lexicon",
    "Script": "script", "ScriptSection": "script", "Sentence": "script", "SourceRef": "script",
    "build_script": "script",
}


def publishing_engine() -> str:
    """The engine ``formatforge build`` uses when none is named: the neural voice, which
    listeners bear for hours, when hibari-tts is installed (see the README's "Choices");
    espeak-ng otherwise. The library's own default (``narration.DEFAULT_ENGINE``) stays
    espeak-ng: ten times faster, for drafts and for the tests. Here, not in ``engines``,
    and by find_spec, not an import: a build of any format asks, and importing hibari
    (onnxruntime, scipy) or even the engines module would cost it start-up time."""
    import importlib.util

    return "neural" if importlib.util.find_spec("hibari") is not None else "espeak"


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "publishing_engine",
    "OPTION_NAMES",
    "lexicon_path",
    "Narration",
    "NarratedSection",
    "TimedSentence",
    "narrate",
    "voice_settings",
    "Script",
    "ScriptSection",
    "Sentence",
    "SourceRef",
    "build_script",
]
