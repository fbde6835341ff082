#!/usr/bin/env python3
"""A library of generated masters (issue 17 point 2): a cold build of the folder, a
no-change rebuild (goal: 1 s or less for 20 masters of about 2,000 words), and a
one-master edit, which must rebuild that master only.

Run: .venv/bin/python benchmarks/bench_library.py [--masters 20] [--words 2000] [--runs 3] [FORMAT ...]

Each figure is `formatforge build SOURCE_FOLDER -o OUT --cache-dir CACHE --quiet` in a new
process (Python's start-up included). Which documents a rebuild touched is read from the
mtimes of each document's manifest.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Timing, add_common_arguments, build_command, edit_one_paragraph, machine_note, print_header, print_table, run_timed  # noqa: E402
from generate_document import generate  # noqa: E402

DEFAULT_FORMATS = ["docx", "epub", "html", "braille"]


def manifest_times(out: Path) -> dict[str, int]:
    return {p.parent.name: p.stat().st_mtime_ns for p in out.glob("*/manifest.json")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.set_defaults(words=2_000)
    parser.add_argument("--masters", type=int, default=20, help="how many masters (default 20)")
    parser.add_argument("formats", nargs="*", default=DEFAULT_FORMATS, help=f"formats (default {' '.join(DEFAULT_FORMATS)})")
    args = parser.parse_args()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-library-") as scratch:
        scratch = Path(scratch)
        source, out, cache = scratch / "source", scratch / "outputs", scratch / "cache"
        words = [generate(source / f"document-{n:02d}.md", args.words, seed=2023 + n) for n in range(args.masters)]
        command = build_command(args.formatforge, source, out, cache, args.formats)
        cold = run_timed(command)
        if cold.error:
            sys.exit(f"cold build failed: {cold.error}")
        before = manifest_times(out)
        quiet = Timing()
        for _ in range(args.runs):
            run = run_timed(command)
            if run.error:
                sys.exit(f"no-change rebuild failed: {run.error}")
            quiet.add(run.seconds)
        touched_by_nothing = sorted(k for k, v in manifest_times(out).items() if before.get(k) != v)
        edited = source / "document-07.md"
        edit_one_paragraph(edited)
        before = manifest_times(out)
        one = run_timed(command)
        if one.error:
            sys.exit(f"one-master rebuild failed: {one.error}")
        touched = sorted(k for k, v in manifest_times(out).items() if before.get(k) != v)
    print_header([
        f"{args.masters} generated masters of about {round(statistics.mean(words))} words each; formats: {' '.join(args.formats)}",
        machine_note(load),
    ])
    print_table(
        ["build", "seconds", "documents rebuilt"],
        [
            ["cold, whole folder", f"{cold.seconds:.2f}", str(args.masters)],
            [f"no change (min / median / max of {args.runs}; goal ≤ 1 s)", quiet.cell(), ", ".join(touched_by_nothing) or "none"],
            ["one master edited (document-07)", f"{one.seconds:.2f}", ", ".join(touched) or "none"],
        ],
        numeric={1},
    )
    if touched != ["document-07"] or touched_by_nothing:
        sys.exit("FAILED: a rebuild touched documents it should not have")


if __name__ == "__main__":
    main()
