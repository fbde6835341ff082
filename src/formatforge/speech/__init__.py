"""Speech shared by the audio, DAISY and read-aloud editions: the narration script, the
pronunciation lexicon, the engines, the sentence cache and MP3 encoding.

``narrate(document, options, cache_dir)`` is the entry point: it returns a ``Narration``
with every sentence's text, id, source block and its start and end in its section's audio.
``sections.encoded_sections`` turns it into MP3 frames, section by section, through the
same cache; ``writer.SpeechWriter`` is the base of the three writers.
"""

from .narration import OPTION_NAMES, Narration, NarratedSection, TimedSentence, narrate, voice_settings
from .lexicon import lexicon_path
from .script import Script, ScriptSection, Sentence, SourceRef, build_script

__all__ = [
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
