#!/usr/bin/env python3
"""LAME's effort (-q) on the project's own narration: encoding time and objective quality.

Run: .venv/bin/python benchmarks/bench_lame_quality.py [--engine neural|espeak] [--cache-dir DIR]

Narrates source/strategy.md (from the speech cache in --cache-dir when it is there), sets each
section's level exactly as the build does, and encodes the whole narration at 64 kbit/s mono
with lameenc at -q 2, 3, 5 and 7. Each encoding is decoded with ffmpeg, aligned by the
encoder's known delay, and compared with the PCM it was made from:

- CPU seconds to encode (best of three) and the real-time factor on one core;
- SNR (waveform; LAME's psychoacoustic shaping lowers it on purpose, so it is shown, not used);
- log-spectral distance (512-sample frames, speech frames only) over 0-8 kHz and the whole band;
- PESQ wide band (ITU-T P.862.2, the PyPI `pesq` package; needs `pip install pesq==0.0.4`),
  on 16 kHz copies, averaged over 15-second stretches.

Needs ffmpeg. Not a test; the README's "Choices" quotes its table.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import lameenc
import numpy as np
from scipy.signal import resample_poly, stft

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from formatforge.reader import read_source  # noqa: E402
from formatforge.shared.speech import loudness, narration, sections  # noqa: E402
from formatforge.shared.speech.encode import MP3_DELAY_SAMPLES  # noqa: E402

BITRATE = 64
QUALITIES = (2, 3, 5, 7)


def narrated_pcm(engine: str, cache_dir: Path) -> tuple[np.ndarray, int]:
    document = read_source(REPO / "source" / "strategy.md").document
    narrated = narration.narrate(document, {"audio.engine": engine}, cache_dir)
    narrated.close()
    parts = []
    for section in narrated.sections:
        job = sections.section_job(section, narrated.sample_rate, narrated.loudness, BITRATE)

        def pieces(job=job):
            return sections.section_pcm(narrated.cache, job.pieces, job.samples)

        envelopes: dict = {}
        gain = loudness.section_gain(pieces, job.sample_rate, job.loudness, envelopes=envelopes)
        parts.append(b"".join(loudness.processed(pieces(), job.sample_rate, gain, envelopes=envelopes)))
    return np.frombuffer(b"".join(parts), "<i2"), narrated.sample_rate


def encode(pcm: np.ndarray, rate: int, quality: int) -> tuple[bytes, float]:
    best, data = float("inf"), b""
    for _ in range(3):
        encoder = lameenc.Encoder()
        encoder.set_bit_rate(BITRATE)
        encoder.set_in_sample_rate(rate)
        encoder.set_out_sample_rate(rate)
        encoder.set_channels(1)
        encoder.set_quality(quality)
        started = time.process_time()
        data = b"".join(encoder.encode(pcm[i:i + 65536].tobytes()) for i in range(0, pcm.size, 65536))
        data += encoder.flush()
        best = min(best, time.process_time() - started)
    return data, best


def decode(mp3: bytes, rate: int, length: int) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-v", "quiet", "-f", "mp3", "-i", "-", "-f", "s16le", "-ac", "1", "-ar", str(rate), "-"],
                         input=mp3, capture_output=True, check=True).stdout
    # lameenc writes no LAME tag, so ffmpeg keeps the encoder's and decoder's whole delay.
    return np.frombuffer(raw, "<i2")[MP3_DELAY_SAMPLES:MP3_DELAY_SAMPLES + length]


def log_spectral_distance(reference: np.ndarray, decoded: np.ndarray, rate: int, top_hz: float) -> float:
    frequencies, _, a = stft(reference.astype(np.float64), rate, nperseg=512)
    _, _, b = stft(decoded.astype(np.float64), rate, nperseg=512)
    band = frequencies <= top_hz
    power_a, power_b = np.abs(a[band]) ** 2 + 1e-3, np.abs(b[band]) ** 2 + 1e-3
    energy = power_a.sum(axis=0)
    speech = energy > energy.max() * 1e-4  # frames with speech, not the pauses between sentences
    difference = 10 * np.log10(power_a[:, speech]) - 10 * np.log10(power_b[:, speech])
    return float(np.mean(np.sqrt(np.mean(difference * difference, axis=0))))


def pesq_wide_band(reference: np.ndarray, decoded: np.ndarray, rate: int) -> float | None:
    try:
        from pesq import pesq
    except ImportError:
        return None
    up, down = (2, 3) if rate == 24000 else (320, 441)
    a = resample_poly(reference.astype(np.float64), up, down) / 32768
    b = resample_poly(decoded.astype(np.float64), up, down) / 32768
    stretch = 16000 * 15
    return float(np.mean([pesq(16000, a[i:i + stretch], b[i:i + stretch], "wb")
                          for i in range(0, a.size - stretch, stretch)]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="neural", help="the speech engine: neural or espeak")
    parser.add_argument("--cache-dir", type=Path, default=None, help="a speech cache to reuse (default: a fresh one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="formatforge-lame-") as scratch:
        pcm, rate = narrated_pcm(args.engine, args.cache_dir or Path(scratch))
        print(f"{args.engine}: {pcm.size / rate:.0f} s of the strategy at {rate} Hz, {BITRATE} kbit/s mono, "
              f"lameenc {version('lameenc')}\n")
        print("| LAME -q | encode CPU (s) | × real time | SNR (dB) | LSD 0–8 kHz (dB) | LSD whole band (dB) | PESQ-WB |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for quality in QUALITIES:
            mp3, seconds = encode(pcm, rate, quality)
            decoded = decode(mp3, rate, pcm.size)
            reference = pcm[: decoded.size].astype(np.float64)
            snr = 10 * np.log10(np.sum(reference ** 2) / np.sum((reference - decoded) ** 2))
            score = pesq_wide_band(pcm[: decoded.size], decoded, rate)
            print(f"| {quality} | {seconds:.2f} | {pcm.size / rate / seconds:.0f} | {snr:.1f} | "
                  f"{log_spectral_distance(pcm[: decoded.size], decoded, rate, 8000):.2f} | "
                  f"{log_spectral_distance(pcm[: decoded.size], decoded, rate, rate / 2):.2f} | "
                  f"{'–' if score is None else f'{score:.2f}'} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
