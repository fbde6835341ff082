#!/usr/bin/env python3
"""Times full builds of every format: cold, again with nothing changed, and after a one-paragraph edit.

Run: .venv/bin/python benchmarks/bench_incremental.py [--runs 3] [--words 10000]

For the strategy master and for a generated document of about 10,000 words, each run copies
the master (with its images and pronunciation.toml) into a fresh folder and then:

1. cold: ``formatforge build COPY -o OUT --cache-dir CACHE --quiet``, every format, with a
   new output folder and a new cache;
2. no change: the same command again into the same folder. It should say "Nothing changed
   since the last build" and take under a second (issue 8);
3. one-paragraph edit: a sentence is appended to one body paragraph, and the same command
   rebuilds every format, reusing the speech cache. The manifest's hashes show how many
   formats' files the edit changed (the fewest over the runs): all of them should.

Each figure is min / median / max of the runs, with the ratio of its median to the cold build's. There is no peer
tool: no other tool builds these formats together from one master.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    REPO,
    Timing,
    add_common_arguments,
    build_command,
    copy_source,
    documents,
    edit_one_paragraph,
    machine_note,
    print_failures,
    print_header,
    print_table,
    ratio,
    run_timed,
    built_files,
    version_of,
)
from formatforge.formats import available_formats  # noqa: E402  (common put src on the path)

UP_TO_DATE = "Nothing changed since the last build"  # what `formatforge build` prints when it did no work
NO_CHANGE_GOAL_SECONDS = 1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    args = parser.parse_args()
    load_at_start = os.getloadavg()
    # The no-change build prints its table, so that it can be checked; a wide console keeps
    # the message on one line.
    env = dict(os.environ, COLUMNS="200")
    formats = available_formats()  # the manifest also lists the download page, which is not a format

    rows: list[list[str]] = []
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="formatforge-bench-incremental-") as tmp:
        scratch = Path(tmp)
        for label, source in documents(scratch, args.words):
            cold, unchanged, edited = Timing(), Timing(), Timing()
            reported_up_to_date: list[bool] = []
            not_up_to_date: list[str] = []  # what a no-change build rebuilt, when it did
            built_cold: list[int] = []  # formats in the manifest after the cold build
            changed_by_edit: list[int] = []  # formats whose files the edit rebuild changed
            for number in range(args.runs):
                run_dir = scratch / f"{source.stem}-{number}"
                copy = copy_source(source, run_dir / "source")
                out, cache = run_dir / "out", run_dir / "cache"

                if not cold.error:
                    run = run_timed(build_command(args.formatforge, copy, out, cache), cwd=REPO)
                    cold.add(run.seconds, run.error)
                before = {name: files for name, files in built_files(out).items() if name in formats}
                built_cold.append(len(before))
                if not unchanged.error:
                    run = run_timed(build_command(args.formatforge, copy, out, cache, quiet=False), cwd=REPO, env=env)
                    unchanged.add(run.seconds, run.error)
                    reported_up_to_date.append(UP_TO_DATE in run.stdout)
                    if UP_TO_DATE not in run.stdout and not run.error:
                        rebuilt = [line.strip("│ ").split("│")[0].strip() for line in run.stdout.splitlines()
                                   if line.startswith("│") and "up to date" not in line and "│ built" in line]
                        not_up_to_date.append(f"run {number + 1} rebuilt {', '.join(rebuilt) or 'something'}")
                edit_one_paragraph(copy)
                if not edited.error:
                    run = run_timed(build_command(args.formatforge, copy, out, cache), cwd=REPO)
                    edited.add(run.seconds, run.error)
                after = built_files(out)
                changed_by_edit.append(sum(1 for name in before if after.get(name) != before[name]))
                shutil.rmtree(run_dir)  # the long document's speech cache and audio fill hundreds of MB

            for name, timing in (("cold", cold), ("no change", unchanged), ("one-paragraph edit", edited)):
                if timing.error:
                    failures.append(f"{label}, {name}: {timing.error}")
            said = f"{sum(reported_up_to_date)} of {len(reported_up_to_date)}"
            expected = len(formats)
            if any(n != expected for n in built_cold):
                failures.append(f"{label}, cold: formats in the manifest per run {built_cold}, not {expected}")
            if any(n != expected for n in changed_by_edit):
                failures.append(f"{label}, one-paragraph edit: formats whose files changed per run "
                                f"{changed_by_edit}, not {expected}")
            if reported_up_to_date and not all(reported_up_to_date):
                failures.append(f"{label}, no change: did not report up to date in every run ({said}): "
                                + "; ".join(not_up_to_date))
            goal = "–"
            if unchanged.median is not None:
                goal = "met" if unchanged.median < NO_CHANGE_GOAL_SECONDS else "not met"
            rows.append([
                label,
                cold.cell(),
                unchanged.cell(),
                ratio(unchanged.median, cold.median),
                said,
                goal,
                edited.cell(),
                ratio(edited.median, cold.median),
                f"{min(changed_by_edit, default=0)} of {expected}",
            ])

    print_header([
        f"formatforge: {version_of([args.formatforge, '--version'])}",
        f"every format: {', '.join(formats)}",
        f"min / median / max of {args.runs} runs each, wall-clock seconds; no peer tool",
        machine_note(load_at_start),
    ])
    print_table(
        ["Document", "Cold (s)", "No change (s)", "No change / cold", "Said up to date",
         f"No change < {NO_CHANGE_GOAL_SECONDS:.0f} s", "One-paragraph edit (s)", "Edit / cold",
         "Formats the edit changed"],
        rows,
        numeric={1, 2, 3, 6, 7},
    )
    return print_failures(failures)


if __name__ == "__main__":
    sys.exit(main())
