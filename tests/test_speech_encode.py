"""MP3 encoding effort (issue 21 point 6): the LAME setting the README's "Choices" chose by
measurement (benchmarks/bench_lame_quality.py) is the one the encoder uses."""

from __future__ import annotations

import io
import re
from pathlib import Path

import lameenc
import numpy as np

from formatforge.shared.speech import encode

README = Path(__file__).resolve().parent.parent / "README.md"


def lame(pcm: bytes, rate: int, quality: int) -> bytes:
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(64)
    encoder.set_in_sample_rate(rate)
    encoder.set_out_sample_rate(rate)
    encoder.set_channels(1)
    encoder.set_quality(quality)
    return encoder.encode(pcm) + encoder.flush()


def test_issue_21_6_the_encoder_uses_the_lame_quality_the_readme_chose():
    chosen = re.search(r"LAME `-q (\d)` is what the encoder uses", README.read_text(encoding="utf-8"))
    assert chosen, "the README's Choices names the LAME setting"
    assert encode.QUALITY == int(chosen.group(1)) == 5
    assert f"q{encode.QUALITY} " in encode.ENCODER_VERSION  # a new setting makes new section keys
    rate = 22050
    rng = np.random.default_rng(0)
    t = np.arange(rate * 2) / rate
    speechlike = (8000 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)) + rng.normal(0, 800, t.size))
    pcm = np.clip(speechlike, -32768, 32767).astype("<i2").tobytes()
    written = io.BytesIO()
    writer = encode.Mp3Writer(written, rate, 64)
    writer.write(pcm)
    writer.close()
    # The frames are LAME's at the chosen setting, byte for byte, and not those of today's others.
    assert written.getvalue() == lame(pcm, rate, 5)
    assert written.getvalue() != lame(pcm, rate, 3) and written.getvalue() != lame(pcm, rate, 7)
