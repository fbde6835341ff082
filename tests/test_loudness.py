"""BS.1770 loudness and true peak (A3; issue 14 point 5): the meter against the standard's
own reference signal, the limiter, and a section's level. No speech is synthesised here."""

from __future__ import annotations

import numpy as np
import pytest

from formatforge.shared.speech.loudness import ENCODING_LOSS_LU, LoudnessMeter, limited, processed, section_gain, true_peak


def sine(rate: int, seconds: float, amplitude: float, frequency: float = 997.0) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * frequency * np.arange(int(rate * seconds)) / rate)


@pytest.mark.parametrize("rate", [22050, 24000, 48000])
def test_a3_a_minus_20_dbfs_1khz_sine_measures_minus_23_lufs(rate):
    # BS.1770-4: a 0 dBFS 997 Hz sine reads −3.01 LUFS; in chunks of odd sizes as the encoder feeds it.
    meter = LoudnessMeter(rate)
    signal = sine(rate, 5, 0.1)
    for start in range(0, signal.size, 7919):
        meter.feed(signal[start:start + 7919])
    assert meter.integrated() == pytest.approx(-23.01, abs=0.05)


def test_a3_silence_is_gated_out_of_the_integrated_loudness():
    rate = 22050
    meter = LoudnessMeter(rate)
    meter.feed(sine(rate, 3, 0.1))
    meter.feed_silence(rate * 30)
    assert meter.integrated() == pytest.approx(-23.0, abs=0.3)  # only the blocks that straddle its end count


def test_a3_true_peak_sees_the_peak_between_samples():
    rate = 22050
    # A quarter-rate sine sampled 45° off its crests: every sample is at 0.707, the wave at 1.0.
    x = np.sin(2 * np.pi * (rate / 4) * np.arange(2000) / rate + np.pi / 4)
    assert np.abs(x).max() == pytest.approx(0.707, abs=0.001)
    assert true_peak(x) == pytest.approx(1.0, abs=0.03)


def test_a3_the_limiter_keeps_the_true_peak_under_its_ceiling_and_leaves_quiet_audio_alone():
    rate = 22050
    quiet = sine(rate, 1, 0.2)
    assert limited(quiet, 0.7, rate) is quiet
    loud = sine(rate, 1, 0.2)
    loud[rate // 2: rate // 2 + 200] *= 5  # a burst up to 1.0
    out = limited(loud, 0.7, rate)
    assert true_peak(out) <= 0.7 * 1.02
    assert np.allclose(out[: rate // 4], loud[: rate // 4])  # far from the burst: untouched


def test_a3_a_section_is_brought_to_the_target_whatever_its_level():
    rate = 22050
    for amplitude in (0.02, 0.3, 0.9):
        speechlike = sine(rate, 4, amplitude) * (1 + 0.8 * np.sin(2 * np.pi * 3 * np.arange(rate * 4) / rate))
        pcm = [bytes(2 * rate), np.clip(np.rint(speechlike * 32767), -32768, 32767).astype("<i2").tobytes()]
        gain = section_gain(lambda pcm=pcm: iter(pcm), rate, -18.0)
        out = np.frombuffer(b"".join(processed(iter(pcm), rate, gain)), dtype="<i2") / 32768.0
        meter = LoudnessMeter(rate)
        meter.feed(out)
        assert meter.integrated() == pytest.approx(-18.0 + ENCODING_LOSS_LU, abs=0.15)
        assert 20 * np.log10(true_peak(out)) <= -3.8


def test_a3_the_numpy_filters_agree_with_scipy_s():
    """The meter, the true peak and the limiter run on numpy alone (no scipy import in the
    build or its workers): each agrees with the scipy function it replaces."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d
    from scipy.signal import lfilter, resample_poly

    from formatforge.shared.speech import loudness

    rng = np.random.default_rng(0)
    for rate in (22050, 24000):
        x = rng.normal(0, 0.2, rate * 5) * (1 + np.sin(np.arange(rate * 5) / rate * 6))
        meter = LoudnessMeter(rate)
        for start in range(0, x.size, 7919):
            meter.feed(x[start:start + 7919])
        y = x
        for b, a in (loudness._biquad_shelf(rate), loudness._biquad_highpass(rate)):
            y = lfilter(b, a, y)
        reference = (y[: len(meter.hops) * meter.hop] ** 2).reshape(-1, meter.hop).sum(axis=1)
        assert np.abs(np.array(meter.hops) / reference - 1).max() < 1e-6
        up = np.abs(resample_poly(x[:5000], 4, 1))[:20000].reshape(5000, 4).max(axis=1)
        assert np.abs(loudness.envelope(x[:5000]) - up).max() < 1e-6
    need = np.minimum(1.0, rng.uniform(0.3, 1.5, 3001))
    for size in (3, 111, 241):
        assert np.array_equal(loudness._moving_minimum(need, size), minimum_filter1d(need, size=size, mode="nearest"))
        assert np.abs(loudness._moving_mean(need, size) - uniform_filter1d(need, size=size, mode="nearest")).max() < 1e-12
