#!/usr/bin/env python3
"""Sets each speed goal beside the least time any build of ours can take to reach it.

Run: .venv/bin/python benchmarks/bench_floor.py [--runs 3] [--words 10000]

A goal such as "within 2x of file2brl" or "a rebuild under 5% of the cold build" is only
reachable if the work that cannot be skipped fits under it. For the strategy master and the
generated document, in the same run, this script measures:

- the floor steps, in a fresh Python process (``floor_probe.py``): starting Python
  (``python -c pass``), importing the build, Python-Markdown reading the master into the
  model, importing python-docx, and liblouis translating the text with no layout;
- LibreOffice converting the large-print .docx to a tagged PDF, as our large-print PDF
  writer does (``soffice --headless --convert-to pdf``), one fresh process a run;
- the figures the goals are set against: ``pandoc -t docx``, ``file2brl``, a cold audio
  build and a cold build of every format.

The table gives each goal's target, the floor (the sum of the steps that goal's build cannot
skip) and whether the floor leaves any room. Medians of ``--runs`` runs, wall-clock seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    HERE,
    REPO,
    Timing,
    add_common_arguments,
    build_command,
    copy_source,
    documents,
    machine_note,
    pandoc_command,
    pandoc_programs,
    plain_text,
    print_failures,
    print_header,
    print_table,
    timed,
    timed_runs,
    version_of,
)
from bench_build import FILE2BRL_SETTINGS  # noqa: E402


def file2brl_command(plain: Path, brf: Path) -> list[str]:
    return ["file2brl", "-w", str(brf.parent), *[arg for setting in FILE2BRL_SETTINGS for arg in ("-C", setting)],
            str(plain), str(brf)]


def probe(python: str, source: Path, runs: int) -> dict[str, float]:
    """Median of each in-process floor step over ``runs`` fresh processes."""
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        completed = subprocess.run([python, str(HERE / "floor_probe.py"), str(source)],
                                   capture_output=True, text=True, check=True, cwd=REPO)
        for name, seconds in json.loads(completed.stdout).items():
            samples.setdefault(name, []).append(seconds)
    return {name: statistics.median(values) for name, values in samples.items()}


def verdict(floor: float, target: float | None) -> str:
    if target is None:
        return "–"
    if floor >= target:
        return f"no room: the floor is {floor / target:.1f}x the target"
    return f"{(target - floor) / target:.0%} of the target left for the writer"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument("--pandoc", default=None, help="the pandoc to set goal #3 against [default: pypandoc_binary's pandoc 3.x]")
    parser.add_argument("--soffice", default=shutil.which("soffice") or "soffice")
    args = parser.parse_args()
    args.pandoc = args.pandoc or pandoc_programs(None)[0][1]
    load_at_start = os.getloadavg()
    python = str(Path(args.formatforge).parent / "python")
    if not Path(python).exists():
        python = sys.executable

    steps_rows: list[list[str]] = []
    goal_rows: list[list[str]] = []
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="formatforge-bench-floor-") as tmp:
        scratch = Path(tmp)
        for label, source in documents(scratch, args.words):
            folder = scratch / source.stem
            copy = copy_source(source, folder / "source")
            plain = plain_text(copy, folder / "plain.txt")

            interpreter = timed_runs([python, "-c", "pass"], args.runs)
            steps = probe(python, copy, args.runs)
            start_up = (interpreter.median or 0.0) + steps["imports"]

            large_print = folder / "large-print"
            run = subprocess.run(build_command(args.formatforge, copy, large_print, folder / "cache-lp", ["large-print"]),
                                 capture_output=True, text=True, cwd=REPO)
            if run.returncode:
                failures.append(f"{label}: large-print build failed: {run.stderr.strip()[-300:]}")
                continue
            docx = large_print / f"{copy.stem}-large-print.docx"
            profile = (folder / "lo-profile").as_uri()
            libreoffice = timed_runs([args.soffice, f"-env:UserInstallation={profile}", "--headless",
                                      "--convert-to", "pdf", "--outdir", str(folder / "pdf"), str(docx)], args.runs)

            pandoc = timed_runs(pandoc_command(args.pandoc, copy, "docx", folder / "pandoc.docx"), args.runs,
                                cwd=copy.parent)
            file2brl = timed_runs(file2brl_command(plain, folder / "file2brl.brf"), args.runs)
            cold_audio, cold_all = Timing(), Timing()
            for number in range(args.runs):
                cold_audio.add(*timed(build_command(args.formatforge, copy, folder / f"audio-{number}",
                                                    folder / f"cache-audio-{number}", ["audio"]), cwd=REPO))
                cold_all.add(*timed(build_command(args.formatforge, copy, folder / f"all-{number}",
                                                  folder / f"cache-all-{number}"), cwd=REPO))
                shutil.rmtree(folder / f"audio-{number}", ignore_errors=True)
                shutil.rmtree(folder / f"cache-audio-{number}", ignore_errors=True)
                shutil.rmtree(folder / f"all-{number}", ignore_errors=True)
                shutil.rmtree(folder / f"cache-all-{number}", ignore_errors=True)
            for name, timing in (("soffice", libreoffice), ("pandoc", pandoc), ("file2brl", file2brl),
                                 ("cold audio build", cold_audio), ("cold build", cold_all)):
                if timing.error:
                    failures.append(f"{label}, {name}: {timing.error}")

            steps_rows.append([
                label,
                interpreter.cell(),
                f"{steps['imports']:.3f}",
                f"{steps['parse']:.3f}",
                f"{steps['docx_import']:.3f}",
                f"{steps['louis']:.3f}",
                libreoffice.cell(),
            ])
            parse_floor = start_up + steps["parse"]
            goals = [
                ("#3 docx no slower than pandoc", pandoc.median,
                 parse_floor + steps["docx_import"], "start-up, parse, python-docx import"),
                ("#5 braille within 2x of file2brl", 2 * file2brl.median if file2brl.median else None,
                 parse_floor + steps["louis"], "start-up, parse, liblouis translation"),
                ("#6 audio rebuild after an edit under 5% of cold", 0.05 * cold_audio.median if cold_audio.median else None,
                 parse_floor, "start-up, parse"),
                ("#8 every format after an edit under 10% of cold", 0.10 * cold_all.median if cold_all.median else None,
                 parse_floor + (libreoffice.median or 0.0), "start-up, parse, LibreOffice PDF"),
            ]
            for goal, target, floor, made_of in goals:
                goal_rows.append([label, goal, f"{target:.3f}" if target else "–", f"{floor:.3f}", made_of,
                                  verdict(floor, target)])

    print_header([
        f"formatforge: {version_of([args.formatforge, '--version'])}",
        f"pandoc: {version_of([args.pandoc, '--version'])}; file2brl: "
        f"{version_of(['file2brl', '-v'])}; LibreOffice: {version_of([args.soffice, '--version'])}",
        f"min / median / max of {args.runs} runs each, wall-clock seconds",
        machine_note(load_at_start),
    ])
    print("Floor steps (in-process steps measured inside one fresh Python process)\n")
    print_table(["Document", "Python start (s)", "Import the build (s)", "Parse to model (s)",
                 "Import python-docx (s)", "liblouis, text only (s)", "LibreOffice to PDF (s)"],
                steps_rows, numeric={1, 2, 3, 4, 5, 6})
    print("\nGoals against their floors\n")
    print_table(["Document", "Goal", "Target (s)", "Floor (s)", "Floor made of", "Room"], goal_rows,
                numeric={2, 3})
    return print_failures(failures)


if __name__ == "__main__":
    sys.exit(main())
