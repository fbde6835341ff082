"""Loudness: ITU-R BS.1770-4 integrated loudness and true peak, and a section's level set by them.

Every section file is brought to the same integrated loudness (A3: consistent volume; −18
LUFS, where spoken-word apps and ACX sit, rather than the −24 LUFS a peak-based gain left
espeak at), with its true peak (4× oversampled, as BS.1770 measures it) kept under a
ceiling by a look-ahead limiter on the few syllables that would pass it: espeak-ng's peaks
stand about 21 dB above its loudness, so a plain gain could not reach −18 LUFS without
clipping.

Everything streams: the section's audio is read piece by piece (silence, sentence,
silence, …) and only 100 ms block energies are kept, so a long section costs no memory.
"""

from __future__ import annotations

import math
from typing import Iterable, Iterator

import numpy as np
from scipy.ndimage import minimum_filter1d, uniform_filter1d  # type: ignore[import-untyped]
from scipy.signal import lfilter, lfilter_zi, resample_poly  # type: ignore[import-untyped]

TARGET_LUFS = -18.0
# The MP3 encoder adds up to 1.3 dB of overshoot to the true peak (ffmpeg's ebur128 on the
# strategy read by the neural voice): the PCM ceiling sits that far and more below the
# −1.5 dBTP the files must meet (and the −1 dBFS of A3).
TRUE_PEAK_CEILING_DBTP = -4.0
# ffmpeg's ebur128 reads each section 0.5 LU quieter from its MP3 than from the PCM it was
# encoded from (measured on espeak-ng and neural speech at 64 and 128 kbit/s; not the
# encoder's low-pass, which takes off under 0.1 LU): the PCM is aimed that much higher.
ENCODING_LOSS_LU = 0.5
# Part of each encoded section's cache key: a new method makes new frames.
METHOD = f"bs1770-4 {TARGET_LUFS} LUFS +{ENCODING_LOSS_LU} tp {TRUE_PEAK_CEILING_DBTP} limiter-v2"

_ABSOLUTE_GATE = -70.0
_RELATIVE_GATE = -10.0
_OVERSAMPLING = 4
_LIMITER_ATTACK = 0.005  # seconds the limiter looks ahead and holds


def _biquad_shelf(rate: int) -> tuple[np.ndarray, np.ndarray]:
    """BS.1770's pre-filter (a +4 dB high shelf) for any sample rate, as libebur128 (and so
    ffmpeg's ebur128 filter) derives it: at 48 kHz it gives the standard's coefficients."""
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10 ** (gain_db / 20)
    vb = vh ** 0.4996667741545416
    a0 = 1 + k / q + k * k
    b = [(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0]
    a = [1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    return np.array(b), np.array(a)


def _biquad_highpass(rate: int) -> tuple[np.ndarray, np.ndarray]:
    """BS.1770's RLB weighting (a 38 Hz high pass), derived the same way."""
    f0, q = 38.13547087602444, 0.5003270373231831
    k = math.tan(math.pi * f0 / rate)
    a0 = 1 + k / q + k * k
    return np.array([1.0, -2.0, 1.0]), np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])


class LoudnessMeter:
    """Integrated loudness (LUFS) of audio fed in chunks of float samples at full scale 1.0."""

    def __init__(self, rate: int):
        self.rate = rate
        self.filters = [_biquad_shelf(rate), _biquad_highpass(rate)]
        self.states = [lfilter_zi(b, a) * 0.0 for b, a in self.filters]
        self.hop = max(1, round(rate / 10))  # 100 ms: blocks of 400 ms overlap by 75 %
        self.partial = 0.0
        self.partial_count = 0
        self.hops: list[float] = []

    def feed(self, samples: np.ndarray) -> None:
        if samples.size == 0:
            return
        weighted = samples.astype(np.float64)
        for index, (b, a) in enumerate(self.filters):
            weighted, self.states[index] = lfilter(b, a, weighted, zi=self.states[index])
        squares = weighted * weighted
        position = 0
        if self.partial_count:
            take = min(self.hop - self.partial_count, squares.size)
            self.partial += float(squares[:take].sum())
            self.partial_count += take
            position = take
            if self.partial_count == self.hop:
                self.hops.append(self.partial)
                self.partial, self.partial_count = 0.0, 0
        whole = (squares.size - position) // self.hop
        if whole:
            block = squares[position:position + whole * self.hop].reshape(whole, self.hop).sum(axis=1)
            self.hops.extend(block.tolist())
            position += whole * self.hop
        if position < squares.size:
            self.partial += float(squares[position:].sum())
            self.partial_count += squares.size - position

    def feed_silence(self, count: int) -> None:
        # The filters ring on into silence; a long silence is fed in pieces to keep memory flat.
        while count > 0:
            step = min(count, self.rate * 10)
            self.feed(np.zeros(step))
            count -= step

    def integrated(self) -> float:
        """The gated integrated loudness; −inf for silence."""
        hops = np.array(self.hops)
        if hops.size < 4:
            return -math.inf
        energies = (hops[:-3] + hops[1:-2] + hops[2:-1] + hops[3:]) / (4 * self.hop)
        with np.errstate(divide="ignore"):
            loudness = -0.691 + 10 * np.log10(energies)
        kept = energies[loudness > _ABSOLUTE_GATE]
        if kept.size == 0:
            return -math.inf
        relative = -0.691 + 10 * math.log10(kept.mean()) + _RELATIVE_GATE
        kept = energies[(loudness > _ABSOLUTE_GATE) & (loudness > relative)]
        return -0.691 + 10 * math.log10(kept.mean()) if kept.size else -math.inf


def true_peak(samples: np.ndarray) -> float:
    """The largest absolute value of ``samples`` (full scale 1.0) oversampled 4×."""
    if samples.size == 0:
        return 0.0
    return float(np.abs(resample_poly(samples.astype(np.float64), _OVERSAMPLING, 1)).max())


def limited(samples: np.ndarray, ceiling: float, rate: int) -> np.ndarray:
    """``samples`` with their true peak brought under ``ceiling`` by a smooth gain that
    starts before each peak and ends after it (look-ahead limiting); untouched if below."""
    if samples.size == 0 or true_peak(samples) <= ceiling:
        return samples
    up = np.abs(resample_poly(samples.astype(np.float64), _OVERSAMPLING, 1))
    up = up[: samples.size * _OVERSAMPLING].reshape(samples.size, _OVERSAMPLING).max(axis=1)
    need = np.minimum(1.0, ceiling / np.maximum(up, 1e-12))
    reach = max(1, round(_LIMITER_ATTACK * rate))
    # Each smoothed value averages minima that all include the sample's own need: never above it.
    gain = uniform_filter1d(minimum_filter1d(need, size=2 * reach + 1, mode="nearest"), size=reach + 1,
                            mode="nearest")
    return samples * gain


def level(pieces: Iterable[bytes], rate: int, target_lufs: float, ceiling_dbtp: float = TRUE_PEAK_CEILING_DBTP
          ) -> float:
    """The gain that brings the 16-bit PCM ``pieces`` to ``target_lufs`` (before limiting)."""
    meter = LoudnessMeter(rate)
    for pcm in pieces:
        samples = np.frombuffer(pcm, dtype="<i2")
        if samples.any():
            meter.feed(samples / 32768.0)
        else:
            meter.feed_silence(samples.size)
    loudness = meter.integrated()
    return 1.0 if loudness == -math.inf else 10 ** ((target_lufs - loudness) / 20)


def processed(pieces: Iterable[bytes], rate: int, gain: float, ceiling_dbtp: float = TRUE_PEAK_CEILING_DBTP
              ) -> Iterator[bytes]:
    """The 16-bit PCM ``pieces`` with ``gain`` applied and the true peak limited."""
    ceiling = 10 ** (ceiling_dbtp / 20)
    for pcm in pieces:
        samples = np.frombuffer(pcm, dtype="<i2")
        if not samples.any():
            yield pcm
            continue
        scaled = limited(samples / 32768.0 * gain, ceiling, rate)
        yield np.clip(np.rint(scaled * 32768.0), -32768, 32767).astype("<i2").tobytes()


def section_gain(pieces_source, rate: int, target_lufs: float, ceiling_dbtp: float = TRUE_PEAK_CEILING_DBTP) -> float:
    """The gain for a section: to the target (plus what MP3 encoding takes off), then
    corrected for what the limiter took off until within 0.1 LU (``pieces_source`` gives
    the section's pieces afresh each call)."""
    target = target_lufs + ENCODING_LOSS_LU
    gain = level(pieces_source(), rate, target, ceiling_dbtp)
    for _ in range(3):  # the limiter takes more as the gain rises: one correction was 0.3 LU short
        correction = level(processed(pieces_source(), rate, gain, ceiling_dbtp), rate, target, ceiling_dbtp)
        gain *= correction
        if abs(20 * math.log10(correction)) < 0.1:
            break
    return gain
