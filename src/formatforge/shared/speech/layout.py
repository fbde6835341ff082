"""Laying out the narration: each sentence's place in its section's audio, in whole samples,
and the section cut into units that are encoded to MP3 on their own (the third stage of
the narration: plan the script → synthesise sentences → lay out → encode).

A unit is a run of sentences (a paragraph, or short blocks taken together) that ends in a
pause of at least ``UNIT_GAP``. Units are encoded separately and their frames joined, so
an edit re-encodes its unit, not its chapter. For the joined frames to play exactly as one
encoding of the section would, every unit but the last fills a whole number of MP3 frames:
its closing pause is lengthened to the next frame boundary (by under one frame, 26 ms at
22,050 Hz), and the encoder is fed the unit less the frames LAME adds of its own (its delay
and flush), which come out of that same pause. A sentence ``p`` samples into a unit that
starts ``s`` samples into the section is then heard at ``s + p`` plus the codec delay every
clip is shifted by already (``encode.MP3_DELAY_SAMPLES``): the clip times stay exact.

Units are chosen from the script alone (pauses and written text, never the audio or the
lexicon), and each unit's audio is laid out from its own sentences and the pauses at its
two ends, so an edit, or a lexicon entry that changes how a sentence is said, changes
only the units holding those sentences.
"""

from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass, replace
from typing import Mapping

from .encode import DEFAULT_BITRATE, Mp3Writer, mp3_frames
from .script import HEADING_PAUSE_BEFORE, PARAGRAPH_PAUSE, ScriptSection, Sentence

# A unit ends only at a pause this long (between paragraphs, around headings, lists and
# tables): half of it is more than LAME's own frames take at any speech sample rate.
UNIT_GAP = PARAGRAPH_PAUSE
# A block of fewer written characters than this (a heading, a short list item: about four
# seconds of speech) joins the next one's unit: each unit costs two frames of encoder
# start-up and flush, and a level of its own is steadier over a few seconds of speech.
MIN_UNIT_CHARACTERS = 60


@dataclass(frozen=True)
class FrameRule:
    """How many MP3 frames LAME makes from ``n`` samples: ``ceil(n / samples) + extra``."""

    samples: int  # samples per frame (576 below 32 kHz, 1152 above)
    extra: int  # frames of encoder delay and flush

    def frames(self, fed: int) -> int:
        return math.ceil(fed / self.samples) + self.extra


@functools.lru_cache(maxsize=None)
def frame_rule(sample_rate: int) -> FrameRule:
    """LAME's rule at this sample rate, found by encoding two tiny inputs (a few ms, once a
    process): the layout must know it before anything is encoded. Checked on a third."""

    def frames(count: int) -> list:
        stream = io.BytesIO()
        writer = Mp3Writer(stream, sample_rate, DEFAULT_BITRATE)
        writer.write(b"\x01\x00" * count)
        writer.close()
        return list(mp3_frames(stream.getvalue()))

    one = frames(1)
    rule = FrameRule(one[0].samples, len(one) - 1)
    if len(frames(3 * rule.samples + 1)) != rule.frames(3 * rule.samples + 1):
        raise RuntimeError(f"the MP3 encoder's frame count at {sample_rate} Hz follows no rule this layout knows")
    return rule


@dataclass(frozen=True)
class Unit:
    """A run of a section's sentences encoded on its own."""

    first: int  # index of its first sentence in the section
    end: int  # one past its last
    start_sample: int  # where it starts in the section's audio
    samples: int  # its length in the section: a whole number of frames unless it ends the section
    fed: int  # samples of it the encoder is given (the rest is LAME's own delay and flush)
    pieces: tuple[tuple[int, str], ...]  # (sample the sentence starts at in the unit, sentence cache key)


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
    units: tuple[Unit, ...] = ()

    @property
    def duration(self) -> float:
        return self.samples / self.sample_rate


@dataclass(frozen=True)
class PlannedSection:
    """A script section with what the engine is given for each sentence and its cache key."""

    section: ScriptSection
    spoken: tuple[str, ...]
    keys: tuple[str, ...]


def _gap(sentences: tuple[Sentence, ...], index: int) -> float:
    """Seconds of pause before sentence ``index`` (0 for the first)."""
    if index == 0:
        return 0.0
    return max(sentences[index - 1].pause_after, sentences[index].pause_before)


def unit_starts(section: ScriptSection, sample_rate: int) -> tuple[int, ...]:
    """The index of each unit's first sentence. A block (sentences between pauses of at
    least ``UNIT_GAP``) closes a unit when it holds ``MIN_UNIT_CHARACTERS`` of text and the
    pause after it is long enough to hold LAME's own frames; otherwise it joins the next.
    Each decision reads one block and one pause, so an edit moves no other unit's edges."""
    sentences = section.sentences
    rule = frame_rule(sample_rate)
    starts = [0]
    characters = 0
    for index in range(1, len(sentences)):
        characters += len(sentences[index - 1].text)
        gap = _gap(sentences, index)
        if gap < UNIT_GAP:
            continue
        samples = round(gap * sample_rate)
        if characters >= MIN_UNIT_CHARACTERS and samples - samples // 2 >= (rule.extra + 1) * rule.samples:
            starts.append(index)
        characters = 0
    return tuple(starts)


def lay_out_unit(planned: PlannedSection, first: int, end: int, lengths: Mapping[str, int], sample_rate: int,
                 start_sample: int = 0) -> Unit:
    """One unit from its own sentences' lengths and the pauses at its ends: half the pause
    before it (none for the section's first), its sentences with the script's pauses, then
    half the pause after it rounded up to a frame boundary (or the section's closing pause)."""
    sentences = planned.section.sentences
    rule = frame_rule(sample_rate)
    position = round(_gap(sentences, first) * sample_rate) // 2 if first else 0
    pieces = []
    for index in range(first, end):
        if index > first:
            position += round(_gap(sentences, index) * sample_rate)
        pieces.append((position, planned.keys[index]))
        position += lengths[planned.keys[index]]
    if end == len(sentences):
        # Close with the pause that comes before the next heading, so that the whole-book
        # file, made of the sections end to end, breathes between them.
        closing = max(sentences[-1].pause_after if sentences else 0.0, HEADING_PAUSE_BEFORE)
        samples = position + round(closing * sample_rate)
        return Unit(first, end, start_sample, samples, samples, tuple(pieces))
    after = round(_gap(sentences, end) * sample_rate)
    samples = math.ceil((position + after - after // 2) / rule.samples) * rule.samples
    return Unit(first, end, start_sample, samples, samples - rule.extra * rule.samples, tuple(pieces))


def lay_out(planned: PlannedSection, lengths: Mapping[str, int], sample_rate: int) -> NarratedSection:
    """The section's units end to end, and every sentence's place and clip; all in whole
    samples, so times never drift from the audio."""
    sentences = planned.section.sentences
    starts = unit_starts(planned.section, sample_rate)
    units: list[Unit] = []
    timed: list[TimedSentence] = []
    position = 0
    for first, end in zip(starts, (*starts[1:], len(sentences))):
        unit = lay_out_unit(planned, first, end, lengths, sample_rate, position)
        for index, (offset, key) in zip(range(first, end), unit.pieces):
            start = position + offset
            stop = start + lengths[key]
            timed.append(TimedSentence(sentences[index], planned.spoken[index], key, start / sample_rate,
                                       stop / sample_rate, start, stop))
        units.append(unit)
        position += unit.samples
    bounds = [0] + [(before.end_sample + after.start_sample) // 2 for before, after in zip(timed, timed[1:])] + [position]
    clipped = tuple(replace(t, clip_start_sample=bounds[i], clip_end_sample=bounds[i + 1]) for i, t in enumerate(timed))
    return NarratedSection(planned.section, clipped, position, sample_rate, tuple(units))
