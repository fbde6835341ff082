"""MP3 encoding: constant bit rate, mono, streamed chunk by chunk so memory stays flat.

lameenc writes bare MPEG frames (no Xing/Info frame), so section files can be joined frame
for frame into the whole-book file: chapter times then equal the section lengths exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Protocol

import math
from importlib.metadata import version

import lameenc
import numpy as np

from .options import DEFAULT_BITRATE  # declared with the options

PEAK_CEILING_DBFS = -3.0  # below the −1 dBFS of A3 with room for MP3's overshoot
# The gain moves in whole steps, so that an edit which adds or removes the book's loudest
# sentence rarely changes it (a new gain means every section is encoded again). espeak-ng
# peaks within 3 dB of full scale, so its books keep one gain; the price is at most 3 dB
# of headroom more than needed.
GAIN_STEP_DB = 3.0
# LAME's effort, chosen by measurement on the strategy's own narration (README "Choices",
# benchmarks/bench_lame_quality.py): -q 5 scores as -q 3 did (PESQ-WB 4.27 against 4.28,
# log-spectral distance 5.44 against 5.38 dB for the neural voice; better on espeak-ng) in
# 0.83 of the time; -q 7 halves the time again but its spectral distance is 2.6 dB worse.
QUALITY = 5
# Part of every encoded section's cache key: a new encoder or setting makes new frames.
ENCODER_VERSION = f"lameenc {version('lameenc')} q{QUALITY} cbr mono"

# lameenc writes no LAME/Xing tag, so a player cannot skip the codec's delay: LAME's 576
# samples of encoder delay plus the decoder's 529 (measured on an impulse: it is heard
# 1105 samples late). Synchronised editions shift their clips by it.
MP3_DELAY_SAMPLES = 1105


class Writable(Protocol):
    def write(self, data: bytes, /) -> object: ...


class Mp3Writer:
    """Feeds 16-bit mono PCM to LAME as it arrives and writes the frames straight out."""

    def __init__(self, stream: Writable, sample_rate: int, bitrate: int = DEFAULT_BITRATE, gain: float = 1.0):
        self.stream = stream
        self.gain = gain
        self.samples = 0
        self._encoder = lameenc.Encoder()
        self._encoder.set_bit_rate(int(bitrate))
        self._encoder.set_in_sample_rate(int(sample_rate))
        self._encoder.set_out_sample_rate(int(sample_rate))
        self._encoder.set_channels(1)
        self._encoder.set_quality(QUALITY)

    def write(self, pcm: bytes) -> None:
        if not pcm:
            return
        if self.gain != 1.0:
            samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) * self.gain
            pcm = np.clip(np.rint(samples), -32768, 32767).astype("<i2").tobytes()
        self.samples += len(pcm) // 2
        self.stream.write(self._encoder.encode(pcm))

    def close(self) -> None:
        self.stream.write(self._encoder.flush())


def peak(pcm: bytes) -> int:
    if len(pcm) < 2:
        return 0
    samples = np.frombuffer(pcm, dtype="<i2")
    return max(int(samples.max()), -int(samples.min()))  # no widened copy of the audio


def gain_for_peak(loudest: int, ceiling_dbfs: float = PEAK_CEILING_DBFS) -> float:
    """One gain for the whole recording, so every section keeps the same loudness (A3),
    bringing the loudest sample to the ceiling or at most one step below it."""
    if loudest <= 0:
        return 1.0
    # −32768 is full scale as much as 32767 is: counted as 32767, full scale always gets the
    # same (lowest) gain, which a narration can then know from its first loud sentence.
    loudest = min(loudest, 32767)
    exact_db = 20 * math.log10((10 ** (ceiling_dbfs / 20) * 32767) / loudest)
    return 10 ** (math.floor(exact_db / GAIN_STEP_DB) * GAIN_STEP_DB / 20)


def trim_silence(pcm: bytes, sample_rate: int, threshold: int = 96, margin_seconds: float = 0.02) -> bytes:
    """Drop the engine's own leading and trailing silence: pauses are the script's to set."""
    samples = np.frombuffer(pcm, dtype="<i2")
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > threshold)
    if loud.size == 0:
        return b""
    margin = int(margin_seconds * sample_rate)
    start = max(0, int(loud[0]) - margin)
    end = min(samples.size, int(loud[-1]) + 1 + margin)
    return samples[start:end].tobytes()


# ---------------------------------------------------------------- reading MP3 frames

_BITRATES = {  # kbit/s by MPEG version, layer III
    "1": [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
    "2": [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
}
_SAMPLE_RATES = {3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000]}


@dataclass(frozen=True)
class Frame:
    bitrate: int  # kbit/s
    sample_rate: int
    channels: int
    samples: int
    length: int


def mp3_frames(data: bytes) -> Iterator[Frame]:
    """The MPEG layer III frames of ``data``, skipping an ID3v2 tag at the start."""
    position = 0
    if data[:3] == b"ID3" and len(data) >= 10:
        size = 0
        for byte in data[6:10]:
            size = (size << 7) | (byte & 0x7F)
        position = 10 + size
    while position + 4 <= len(data):
        header = int.from_bytes(data[position : position + 4], "big")
        if header >> 21 != 0x7FF:
            break
        version_bits = (header >> 19) & 3
        bitrate_index = (header >> 12) & 0xF
        rate_index = (header >> 10) & 3
        if version_bits == 1 or bitrate_index in (0, 15) or rate_index == 3 or (header >> 17) & 3 != 1:
            break
        mpeg1 = version_bits == 3
        bitrate = _BITRATES["1" if mpeg1 else "2"][bitrate_index]
        sample_rate = _SAMPLE_RATES[version_bits][rate_index]
        padding = (header >> 9) & 1
        samples = 1152 if mpeg1 else 576
        length = (samples // 8 * bitrate * 1000) // sample_rate + padding
        channels = 1 if (header >> 6) & 3 == 3 else 2
        yield Frame(bitrate, sample_rate, channels, samples, length)
        position += length


def mp3_duration(data: bytes) -> float:
    return sum(frame.samples / frame.sample_rate for frame in mp3_frames(data))
