#!/usr/bin/env python3
"""Times formatforge's audio edition against a plain espeak-ng + lame pipeline, and its rebuilds.

Run: .venv/bin/python benchmarks/bench_audio.py [--runs 3] [--words 10000]

For the strategy master and for a generated document of about 10,000 words, each run:

1. copies the master, with its images and pronunciation.toml, into a fresh folder;
2. builds ``-f audio`` cold (fresh output folder and ``--cache-dir``), and, alternating with
   it, runs the serial peer pipeline on the same words as plain text:
   ``espeak-ng -v en-gb -w out.wav < plain.txt`` then ``lame -b 64 -m m out.wav out.mp3``;
3. builds ``-f daisy -f read-aloud`` into the same output folder with the same cache, on top
   of the audio edition just built;
4. appends a sentence to one body paragraph and builds ``-f audio`` again with the same cache
   (the warm rebuild, from a new command line);
5. in one resident process, as ``formatforge watch`` and the preview hold it (the speech
   workers kept with their voice loaded), adds a new sentence three times and times each
   ``-f audio`` rebuild (the warm rebuild an editor waits for).

Each figure is min / median / max of the runs. The recorded lengths (from mutagen) of our whole-book
MP3 and of the peer's MP3 are printed too: ours is longer because it announces headings,
lists and tables and pauses between blocks, so the two are not the same listening.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from mutagen.mp3 import MP3

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    EDIT_SENTENCE,
    REPO,
    Timing,
    add_common_arguments,
    build_command,
    copy_source,
    documents,
    edit_one_paragraph,
    machine_note,
    plain_text,
    print_failures,
    print_header,
    print_table,
    ratio,
    run_timed,
    timed_pipeline,
    version_of,
)

VOICE = "en-gb"
BITRATE = "64"  # kbit/s, mono: formatforge's default for the audio edition


def peer_pipeline(espeak: str, lame: str, plain: Path, folder: Path) -> tuple[float, str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    wav, mp3 = folder / "out.wav", folder / "out.mp3"
    seconds, error = timed_pipeline([
        ([espeak, "-v", VOICE, "-w", str(wav)], plain),
        ([lame, "--quiet", "-b", BITRATE, "-m", "m", str(wav), str(mp3)], None),
    ])
    return seconds, error, mp3


RESIDENT_EDITS = 3


def resident_edits(source: Path, out: Path, cache: Path, engine: str, timing: Timing) -> None:
    """One-sentence edits rebuilt in one resident process (``watch.resident()``, what
    ``formatforge watch`` and the preview hold: the speech workers stay with their voice
    loaded): a first build that finds everything cached starts them, then each edit adds a
    new sentence to the same paragraph and is timed."""
    from formatforge.build import build
    from formatforge.watch import resident

    options = {"audio.engine": engine}
    with resident() as reader:
        build(source, out, ["audio"], options, cache, reader=reader)
        for number in range(RESIDENT_EDITS):
            text = source.read_text(encoding="utf-8")
            marker = EDIT_SENTENCE.strip()
            source.write_text(text.replace(marker, f"{marker} Resident edit {'ABC'[number]} changed this.", 1),
                              encoding="utf-8")
            started = time.perf_counter()
            report = build(source, out, ["audio"], options, cache, reader=reader)
            failed = "; ".join(r.message for r in report.results if r.status != "built")
            timing.add(time.perf_counter() - started, failed)


def mp3_length(path: Path) -> float | None:
    return MP3(path).info.length if path.exists() else None


def minutes(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument("--espeak", default=shutil.which("espeak-ng") or "espeak-ng", help="the espeak-ng executable")
    parser.add_argument("--lame", default=shutil.which("lame") or "lame", help="the lame executable")
    parser.add_argument("--engine", default="espeak", help="the speech engine to time: espeak (as the peer) or neural")
    args = parser.parse_args()
    load_at_start = os.getloadavg()

    speed_rows, warm_rows, daisy_rows, length_rows = [], [], [], []
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="formatforge-bench-audio-") as tmp:
        scratch = Path(tmp)
        for label, source in documents(scratch, args.words):
            plain = plain_text(source, scratch / "plain" / f"{source.stem}.txt")
            cold, peer, on_top, warm, resident_warm = Timing(), Timing(), Timing(), Timing(), Timing()
            peaks: list[int] = []  # a cold build's process tree, largest total PSS (an untimed run)
            our_length = peer_length = None
            edited = ""
            for number in range(args.runs):
                run_dir = scratch / f"{source.stem}-{number}"
                copy = copy_source(source, run_dir / "source")
                out, cache = run_dir / "out", run_dir / "cache"

                def build(formats: list[str], timing: Timing, copy: Path = copy, out: Path = out, cache: Path = cache) -> None:
                    if not timing.error:
                        run = run_timed(build_command(args.formatforge, copy, out, cache, formats,
                                                           extra=("--engine", args.engine)), cwd=REPO)
                        timing.add(run.seconds, run.error)

                build(["audio"], cold)
                if not peer.error:
                    seconds, error, peer_mp3 = peer_pipeline(args.espeak, args.lame, plain, run_dir / "peer")
                    peer.add(seconds, error)
                    if peer_length is None and not error:
                        peer_length = mp3_length(peer_mp3)
                if cold.error:  # the later steps would time a build on top of nothing
                    shutil.rmtree(run_dir)
                    break
                whole_book = out / f"{copy.stem}.mp3"
                if our_length is None:
                    our_length = mp3_length(whole_book)
                build(["daisy", "read-aloud"], on_top)
                before_edit = whole_book.read_bytes() if whole_book.exists() else b""
                edited = edit_one_paragraph(copy)
                build(["audio"], warm)
                if not warm.error and whole_book.exists() and whole_book.read_bytes() == before_edit:
                    warm.error = "the warm rebuild left the whole-book MP3 unchanged after the edit"
                if not resident_warm.error:
                    resident_edits(copy, out, cache, args.engine, resident_warm)
                shutil.rmtree(run_dir)  # a WAV and a speech cache of the long document fill hundreds of MB
            if not cold.error:
                # Memory in a run of its own, untimed: sampling /proc every 50 ms takes some of
                # the machine, which the timed runs must not pay.
                run_dir = scratch / f"{source.stem}-memory"
                copy = copy_source(source, run_dir / "source")
                run = run_timed(build_command(args.formatforge, copy, run_dir / "out", run_dir / "cache", ["audio"],
                                              extra=("--engine", args.engine)), cwd=REPO, measure_memory=True)
                if not run.error:
                    peaks.append(run.peak_bytes)
                shutil.rmtree(run_dir)

            for name, timing in (("cold audio", cold), ("espeak-ng + lame", peer),
                                 ("daisy + read-aloud", on_top), ("warm audio", warm),
                                 ("warm audio in a resident process", resident_warm)):
                if timing.error:
                    failures.append(f"{label}, {name}: {timing.error}")
            speed_rows.append([label, cold.cell(), peer.cell(), ratio(cold.median, peer.median),
                               f"{max(peaks) / 2**20:.0f}" if peaks else "–"])
            warm_rows.append([label, edited, cold.cell(), warm.cell(), ratio(warm.median, cold.median),
                              resident_warm.cell(), ratio(resident_warm.median, cold.median)])
            daisy_rows.append([label, cold.cell(), on_top.cell(), ratio(on_top.median, cold.median)])
            difference = (
                f"{(our_length - peer_length) / peer_length:+.0%}" if our_length and peer_length else "–"
            )
            length_rows.append([label, minutes(our_length), minutes(peer_length), difference])

    print_header([
        f"formatforge: {version_of([args.formatforge, '--version'])} (audio: {args.engine} engine, voice from the "
        f"document language, 175 words a minute, {BITRATE} kbit/s mono)",
        f"espeak-ng: {version_of([args.espeak, '--version'])}",
        f"lame: {version_of([args.lame, '--version'])}",
        f"min / median / max of {args.runs} runs each, wall-clock seconds; peer: espeak-ng -v {VOICE} -w out.wav < plain.txt, "
        f"then lame -b {BITRATE} -m m out.wav out.mp3",
        machine_note(load_at_start),
    ])
    print("Cold audio build (fresh cache) against the serial espeak-ng + lame pipeline:\n")
    print_table(["Document", "formatforge -f audio (s)", "espeak-ng + lame (s)", "Ratio (ours / peer)",
                 "Peak memory, whole process tree (MiB, PSS; a run of its own)"], speed_rows, numeric={1, 2, 3, 4})
    print("\nWarm audio rebuild after a one-sentence edit (same --cache-dir): from a new command line, and in a "
          f"resident process as watch and preview hold it ({RESIDENT_EDITS} edits a run, each a new sentence):\n")
    print_table(["Document", "Edited paragraph", "Cold (s)", "Warm, command line (s)", "Warm / cold",
                 "Warm, resident (s)", "Resident / cold"], warm_rows, numeric={2, 3, 4, 5, 6})
    print("\nDAISY + read-aloud built on top of the audio edition (same output folder and cache):\n")
    print_table(["Document", "Cold audio (s)", "-f daisy -f read-aloud (s)", "Ratio to cold audio"],
                daisy_rows, numeric={1, 2, 3})
    print("\nRecorded length of the whole-book MP3 (mutagen), minutes:seconds:\n")
    print_table(["Document", "formatforge", "espeak-ng + lame", "Difference"], length_rows, numeric={1, 2, 3})
    return print_failures(failures)


if __name__ == "__main__":
    sys.exit(main())
