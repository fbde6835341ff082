"""Loudness: ITU-R BS.1770-4 integrated loudness and true peak, and a section's level set by them.

Every section file is brought to the same integrated loudness (A3: consistent volume; −18
LUFS, where spoken-word apps and ACX sit, rather than the −24 LUFS a peak-based gain left
espeak at), with its true peak (4× oversampled, as BS.1770 measures it) kept under a
ceiling by a look-ahead limiter on the few syllables that would pass it: espeak-ng's peaks
stand about 21 dB above its loudness, so a plain gain could not reach −18 LUFS without
clipping.

Everything streams: the section's audio is read piece by piece (silence, sentence,
silence, …) and only 100 ms block energies are kept, so a long section costs no memory.

numpy only: importing scipy.signal and scipy.ndimage cost 0.7 s of CPU in every process
that encodes (the build and each worker), more than setting the level of the strategy's
longest section. The K-weighting filters run as their impulse response (to 1e-13) by FFT,
the limiter's moving minimum and mean as block minima and a running sum.
"""

from __future__ import annotations

import functools
import math
from typing import Iterable, Iterator

import numpy as np

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
METHOD = f"bs1770-4 {TARGET_LUFS} LUFS +{ENCODING_LOSS_LU} tp {TRUE_PEAK_CEILING_DBTP} limiter-v4"

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


@functools.lru_cache(maxsize=8)
def _k_weighting(rate: int) -> np.ndarray:
    """The impulse response of BS.1770's two filters in turn, to where it has fallen below
    1e-13 of its start (the 38 Hz high pass rings longest: a quarter of a second)."""
    length = max(64, int(rate * 0.25))
    response = np.zeros(length)
    response[0] = 1.0
    for b, a in (_biquad_shelf(rate), _biquad_highpass(rate)):
        x, y = response, np.zeros(length)
        b0, b1, b2 = (float(v) for v in b)
        a1, a2 = float(a[1]), float(a[2])
        x1 = x2 = y1 = y2 = 0.0
        for n in range(length):  # once per sample rate: a quarter of a second of samples
            value = b0 * x[n] + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
            x2, x1, y2, y1 = x1, x[n], y1, value
            y[n] = value
        response = y
    return response


def _convolve(signal: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """The full convolution (``signal.size + kernel.size - 1`` samples), by FFT in blocks,
    in single precision: 1.7x as fast, and the 100 ms energies it gives agree with
    scipy's lfilter in double precision to 2e-7 (1e-6 dB)."""
    taps = kernel.size
    size = 1 << max(12, (4 * taps - 1).bit_length())
    block = size - taps + 1
    count = -(-signal.size // block)
    padded = np.zeros(count * block, dtype=np.float32)
    padded[: signal.size] = signal
    spectra = np.fft.rfft(padded.reshape(count, block), size, axis=1)
    spectra *= _kernel_spectrum(kernel.tobytes(), size)
    pieces = np.fft.irfft(spectra, size, axis=1)
    out = np.zeros(count * block + taps - 1, dtype=np.float32)
    out[: count * block] = pieces[:, :block].ravel()
    tails = pieces[:, block: block + taps - 1]  # each block's last taps-1 samples run into the next block
    if count > 1:
        out[block: count * block].reshape(count - 1, block)[:, : taps - 1] += tails[:-1]
    out[count * block:] += tails[-1]
    return out[: signal.size + taps - 1]


@functools.lru_cache(maxsize=8)
def _kernel_spectrum(kernel: bytes, size: int) -> np.ndarray:
    return np.fft.rfft(np.frombuffer(kernel, dtype=np.float64).astype(np.float32), size)


def _moving_minimum(values: np.ndarray, size: int) -> np.ndarray:
    """scipy.ndimage.minimum_filter1d(values, size, mode="nearest") for an odd ``size``:
    van Herk's method, the minimum of a block's suffix and the next block's prefix."""
    half = size // 2
    padded = np.concatenate([np.full(half, values[0]), values, np.full(half + size, values[-1])])
    count = padded.size // size
    blocks = padded[: count * size].reshape(count, size)
    prefix = np.minimum.accumulate(blocks, axis=1).ravel()
    suffix = np.minimum.accumulate(blocks[:, ::-1], axis=1)[:, ::-1].ravel()
    n = values.size
    return np.minimum(suffix[:n], prefix[size - 1: size - 1 + n])


def _moving_mean(values: np.ndarray, size: int) -> np.ndarray:
    """scipy.ndimage.uniform_filter1d(values, size, mode="nearest"): the mean over
    ``values[i - size // 2 : i - size // 2 + size]``, edges repeated. Summed as the
    shortfall from 1 (mostly exact zeros), so the running sum keeps its precision."""
    left = size // 2
    padded = np.concatenate([np.full(left, values[0]), values, np.full(size - 1 - left, values[-1])])
    running = np.concatenate([[0.0], np.cumsum(1.0 - padded)])
    return 1.0 - (running[size:] - running[:-size]) / size


class LoudnessMeter:
    """Integrated loudness (LUFS) of audio fed in chunks of float samples at full scale 1.0."""

    def __init__(self, rate: int):
        self.rate = rate
        self.kernel = _k_weighting(rate)
        self.carry = np.zeros(self.kernel.size - 1, dtype=np.float32)  # what the audio so far adds to the samples to come
        self.hop = max(1, round(rate / 10))  # 100 ms: blocks of 400 ms overlap by 75 %
        self.partial = 0.0
        self.partial_count = 0
        self.hops: list[float] = []

    def feed(self, samples: np.ndarray) -> None:
        if samples.size == 0:
            return
        filtered = _convolve(samples, self.kernel)
        filtered[: self.carry.size] += self.carry
        weighted, self.carry = filtered[: samples.size], filtered[samples.size:]
        squares = np.square(weighted, dtype=np.float64)
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
        """``count`` samples of silence: the filters ring on for a moment, then every
        sample of it adds nothing (counted, not filtered: long pauses cost no time)."""
        ringing = min(count, self.hop)
        if ringing:
            self.feed(np.zeros(ringing))
        rest = count - ringing
        if rest <= 0:
            return
        # After 100 ms of silence the filters have rung down to a millionth (energy 1e-12).
        self.carry = np.zeros_like(self.carry)
        if self.partial_count:
            take = min(self.hop - self.partial_count, rest)
            self.partial_count += take
            rest -= take
            if self.partial_count == self.hop:
                self.hops.append(self.partial)
                self.partial, self.partial_count = 0.0, 0
        self.hops.extend([0.0] * (rest // self.hop))
        self.partial_count += rest % self.hop

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


@functools.lru_cache(maxsize=1)
def _phases() -> tuple[float, tuple[np.ndarray, ...]]:
    """The 4x interpolation filter of ``resample_poly(x, 4, 1)`` (81 taps, Kaiser window)
    split into its four phases: phase 0 is the signal itself times the centre tap (every
    fourth tap of a quarter-band filter is zero, to 1e-17), phases 1-3 are 20-tap filters."""
    # scipy.signal.firwin(81, 1/4, window=("kaiser", 5.0)), times 4: a windowed sinc scaled
    # to unit gain at 0 Hz.
    count = 20 * _OVERSAMPLING + 1
    ideal = np.sinc((np.arange(count) - (count - 1) / 2) / _OVERSAMPLING) / _OVERSAMPLING
    taps = ideal * np.kaiser(count, 5.0)
    taps = taps / taps.sum() * _OVERSAMPLING
    return float(taps[10 * _OVERSAMPLING]), tuple(taps[k::_OVERSAMPLING].copy() for k in range(1, _OVERSAMPLING))


def envelope(samples: np.ndarray) -> np.ndarray:
    """For each sample, the largest absolute value of the signal around it oversampled 4×
    (BS.1770's true peak, sample by sample). The same interpolation as ``resample_poly``,
    phase by phase: the upsampled signal is never made whole, so it costs a quarter of the
    time (each interpolated point agrees with resample_poly's to 1e-7 of full scale)."""
    centre, phases = _phases()
    x = np.asarray(samples, dtype=np.float64)
    peaks = np.abs(x) * centre
    for taps in phases:
        # y[4n + k] = sum_j taps[j] x[n + 10 - j]: the full convolution from index 10
        np.maximum(peaks, np.abs(np.convolve(x, taps)[10:10 + x.size]), out=peaks)
    return peaks.astype(np.float32)


def true_peak(samples: np.ndarray) -> float:
    """The largest absolute value of ``samples`` (full scale 1.0) oversampled 4×."""
    return float(envelope(samples).max()) if samples.size else 0.0


def limited(samples: np.ndarray, ceiling: float, rate: int, peaks: np.ndarray | None = None) -> np.ndarray:
    """``samples`` with their true peak brought under ``ceiling`` by a smooth gain that
    starts before each peak and ends after it (look-ahead limiting); untouched if below.
    ``peaks`` is their ``envelope`` when it is known already."""
    if samples.size == 0:
        return samples
    peaks = envelope(samples) if peaks is None else peaks
    if float(peaks.max()) <= ceiling:
        return samples
    reach = max(1, round(_LIMITER_ATTACK * rate))
    # The gain is 1 except within the filters' reach of a sample over the ceiling: worked
    # out only from the first such sample to the last (with room for both filters, so the
    # edges see the same ones as the whole would), not over the whole sentence.
    over = np.flatnonzero(peaks > ceiling)
    margin = 2 * reach + 2
    start, end = max(0, int(over[0]) - margin), min(samples.size, int(over[-1]) + 1 + margin)
    need = np.minimum(1.0, ceiling / np.maximum(peaks[start:end].astype(np.float64), 1e-12))
    # Each smoothed value averages minima that all include the sample's own need: never above it.
    gain = _moving_mean(_moving_minimum(need, 2 * reach + 1), reach + 1)
    out = np.array(samples, dtype=np.float64)
    out[start:end] *= gain
    return out


# Samples of a section whose envelopes are kept between the passes that set its level (4
# bytes each): beyond this a long section's envelopes are worked out again each pass.
_ENVELOPE_BUDGET = 30_000_000


def _levelled(pieces: Iterable[bytes], rate: int, gain: float, ceiling_dbtp: float,
              envelopes: dict[int, tuple[np.ndarray, float]] | None) -> Iterator[np.ndarray | int]:
    """Each piece with ``gain`` applied and its true peak limited, as floats (full scale
    1.0), or as a count of samples for silence. The raw envelope scales with the gain, so
    it is worked out once per piece and kept in ``envelopes`` (with its maximum) for the
    next pass."""
    ceiling = 10 ** (ceiling_dbtp / 20)
    kept = sum(e.size for e, _ in envelopes.values()) if envelopes is not None else 0
    for index, pcm in enumerate(pieces):
        samples = np.frombuffer(pcm, dtype="<i2")
        if not samples.any():
            yield samples.size
            continue
        raw = samples / 32768.0
        known = envelopes.get(index) if envelopes is not None else None
        if known is None:
            peaks = envelope(raw)
            known = (peaks, float(peaks.max()))
            if envelopes is not None and kept + peaks.size <= _ENVELOPE_BUDGET:
                envelopes[index] = known
                kept += peaks.size
        peaks, top = known
        if top * gain <= ceiling:
            yield raw * gain
        else:
            yield limited(raw * gain, ceiling, rate, peaks * np.float32(gain))


def level(pieces: Iterable[bytes], rate: int, target_lufs: float) -> float:
    """The gain that brings the 16-bit PCM ``pieces`` to ``target_lufs`` (before limiting)."""
    return _gain_to(_floats(pieces), rate, target_lufs)


def _floats(pieces: Iterable[bytes]) -> Iterator[np.ndarray | int]:
    for pcm in pieces:
        samples = np.frombuffer(pcm, dtype="<i2")
        yield samples / 32768.0 if samples.any() else samples.size


def _gain_to(pieces: Iterable[np.ndarray | int], rate: int, target_lufs: float) -> float:
    meter = LoudnessMeter(rate)
    # Fed ten seconds at a time: the filters' cost is mostly per call, and sentences are short.
    batch: list[np.ndarray] = []
    size = 0
    for piece in pieces:
        if isinstance(piece, int):
            if piece > rate:
                if batch:
                    meter.feed(np.concatenate(batch))
                    batch, size = [], 0
                meter.feed_silence(piece)
                continue
            piece = np.zeros(piece)
        batch.append(piece)
        size += piece.size
        if size >= 10 * rate:
            meter.feed(np.concatenate(batch))
            batch, size = [], 0
    if batch:
        meter.feed(np.concatenate(batch))
    loudness = meter.integrated()
    return 1.0 if loudness == -math.inf else 10 ** ((target_lufs - loudness) / 20)


def processed(pieces: Iterable[bytes], rate: int, gain: float, ceiling_dbtp: float = TRUE_PEAK_CEILING_DBTP,
              envelopes: dict[int, tuple[np.ndarray, float]] | None = None) -> Iterator[bytes]:
    """The 16-bit PCM ``pieces`` with ``gain`` applied and the true peak limited."""
    for piece in _levelled(pieces, rate, gain, ceiling_dbtp, envelopes):
        if isinstance(piece, int):
            yield bytes(2 * piece)
        else:
            yield np.clip(np.rint(piece * 32768.0), -32768, 32767).astype("<i2").tobytes()


def section_gain(pieces_source, rate: int, target_lufs: float, ceiling_dbtp: float = TRUE_PEAK_CEILING_DBTP,
                 envelopes: dict[int, tuple[np.ndarray, float]] | None = None) -> float:
    """The gain for a section: to the target (plus what MP3 encoding takes off), then
    corrected for what the limiter takes off (``pieces_source`` gives
    the section's pieces afresh each call; ``envelopes`` keeps their envelopes for
    ``processed`` to use after)."""
    envelopes = {} if envelopes is None else envelopes
    target = target_lufs + ENCODING_LOSS_LU
    gain_db = 20 * math.log10(level(pieces_source(), rate, target))

    def short_of(gain_db: float) -> float:  # dB the limited audio falls short of the target at this gain
        return 20 * math.log10(_gain_to(_levelled(pieces_source(), rate, 10 ** (gain_db / 20), ceiling_dbtp,
                                                  envelopes), rate, target))

    first = short_of(gain_db)
    if abs(first) < 0.1:
        return 10 ** (gain_db / 20)
    second = short_of(gain_db + first)
    # The limiter takes back a share of every decibel added (about half for espeak-ng, a
    # fifth for the neural voice): one secant step from the two measurements lands within
    # a tenth of a decibel, where adding the shortfall again and again crept up on it.
    reaching = min(1.0, max(0.2, (first - second) / first)) if first > 0 else 1.0
    return 10 ** ((gain_db + first + second / reaching) / 20)
