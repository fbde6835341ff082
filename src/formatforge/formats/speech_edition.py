"""The base of the writers made from the narration: the audio edition, the DAISY book and
the read-aloud EPUB.

It holds what the three share: the speech options and the bit rate, the tools they need,
the pronunciation lexicon as an input (an edit to it rebuilds them), and the narration
with its sections already encoded, from the one speech cache, so that whichever of them
runs first synthesises and encodes, and the others only copy.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from ..errors import WriterError
from ..hashing import HashingWriter, Sink
from . import BuildContext, Requirement, Writer
from ..shared.speech.audio_files import AudioFiles
from ..shared.speech.engines import neural_voice_file, voice_label
from ..shared.speech.lexicon import lexicon_path
from ..shared.speech.narration import LayoutChanged, Narration, narrate, voice_choice
from ..shared.speech.options import SPEECH_OPTIONS
from ..shared.speech.sections import EncodedSection


class SpeechWriter(Writer):
    options = SPEECH_OPTIONS
    # One after another in a build: the first synthesises and encodes, the rest reuse it.
    lane = "speech"
    slow = True
    uses_cache = True

    def requirements(self) -> list[Requirement]:
        return [
            Requirement.command("espeak-ng", "espeak-ng"),
            Requirement.module("lameenc", "pip install lameenc"),
        ]

    def input_files(self, document, options: dict[str, Any]):
        files = [lexicon_path(document.source_dir, options.get("audio.lexicon"))]
        # The neural voice's model: installing the British voice (or replacing a voice file)
        # changes the voice a build uses, so the editions are built again.
        try:
            settings = voice_choice(document, options)[0]
        except ValueError:
            return files
        if settings.engine == "neural":
            model = Path(settings.voice) if Path(settings.voice).is_file() else neural_voice_file(settings.voice)
            if model is not None:
                files.append(model)
        return files

    def manifest_fields(self, document, options: dict[str, Any]) -> dict[str, str]:
        """What the build manifest records beside the files: the voice that read them."""
        try:
            return {"narrator": voice_label(voice_choice(document, options)[0])}
        except ValueError:
            return {}

    def notice(self, document, options: dict[str, Any]) -> str:
        """A line for the build summary when the voice is not the one the language asks for."""
        try:
            return voice_choice(document, options)[1]
        except ValueError:
            return ""

    @contextmanager
    def narrated(self, context: BuildContext, synthesis_share: float,
                 encoding_share: float) -> Iterator[tuple[Narration, list[EncodedSection]]]:
        """The narration and every section's MP3 frames; progress runs to ``synthesis_share``
        while synthesising, then to ``encoding_share`` while encoding, and then says how many
        audio units were encoded and how many reused. The frames are only there inside the
        block (without a cache folder they live in a temporary one)."""
        options = self.options_for(context.options)  # checked, with defaults, even when a test gives a dict
        bitrate = int(options["audio.bitrate"])
        for attempt in (1, 2):
            try:
                narration = narrate(context.document, options, context.cache_dir, context.progress, synthesis_share,
                                    bitrate)
            except ValueError as error:
                raise WriterError(str(error)) from error
            try:
                book = narration.encode(bitrate, context.progress, (synthesis_share, encoding_share))
                break
            except LayoutChanged as changed:
                # Audio made again for a dropped sentence came out another length: the index
                # now holds the new one, so a second narration lays it out right.
                narration.close()
                if attempt == 2:
                    raise WriterError(f"the speech engine gave different audio for the same sentence twice ({changed}); "
                                      f"delete the speech cache folder {context.cache_dir} and build again") from changed
            except BaseException:
                narration.close()
                raise
        try:
            context.progress(encoding_share, f"Audio encoded: {book.summary}")
            context.work.append(book.summary)
            yield narration, book.sections
        finally:
            narration.close()


def stage_audio_file(context: BuildContext, relative: str, tag: bytes, sections: list[EncodedSection],
                     files: AudioFiles, *also: Sink) -> None:
    """Stages an MP3 made of ``tag`` and then ``sections``' frames; ``also`` are given the
    frames too. When a build has written these very bytes before and an output in place
    still has them, that file is linked instead of written again (``AudioFiles``)."""
    name = files.name(tag, sections)
    known = files.known(name) if name is not None else None
    if known is not None and context.reuse(relative, *known):
        for section in sections if also else ():
            section.copy_to(*also)
        return
    with open(context.path(relative), "wb") as stream:
        writer = HashingWriter(stream)
        writer.write(tag)
        for section in sections:
            section.copy_to(writer, *also)
    context.hashed(relative, writer)
    if name is not None:
        files.remember(name, writer.size, writer.digest.hexdigest())
