#!/usr/bin/env python3
"""Times what a person editing waits for in `formatforge watch`, and what the build leaves on disk.

Run: .venv/bin/python benchmarks/bench_watch.py [--runs 3] [--words 12000] [--also 108000] [--engine espeak]
     [--pause 3]

For the strategy master and for generated documents (``--words``, and each ``--also`` size),
in a fresh folder each, inside one resident process exactly as ``formatforge watch`` holds it
(``watch.resident()``: kept models, the resident LibreOffice, the speech workers with their
voice loaded), it times:

1. the first build, every format, with a new cache (cold);
2. ``--runs`` one-word edits (a letter added to one body word; every format rebuilds);
3. a build with nothing changed;
4. with ``--lexicon-edit``, on the largest document: a pronunciation entry for a word said
   all through the book ("learning"); the speech writers' own count of units encoded is printed.

Between one build's end and the next edit there is ``--pause`` (3 s by default): a person
reads what changed, then edits again, and the resident LibreOffice is renewed in that time
after a long export (``ResidentLibreOffice.RENEW_AFTER_SECONDS``). The times are the rebuild
alone: ``watch`` notices a save within its ``--interval`` (1 s by default) on top. Then the disk: the output folder (files with several names counted once,
as ``du`` does) and the speech cache. There is no peer: no other tool rebuilds these formats
together on an edit.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    Timing,
    copy_source,
    documents,
    machine_note,
    print_failures,
    print_header,
    print_table,
    ratio,
)
from generate_document import generate  # noqa: E402
from formatforge.build import BuildReport, build  # noqa: E402  (common put src on the path)
from formatforge.watch import resident  # noqa: E402

RACY_STAT_WINDOW = 1.1  # seconds: an edit older than this is seen by its time stamp alone


def disk_bytes(folder: Path) -> int:
    """Bytes of disk the folder's files take, each file once however many names it has."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            status = os.lstat(os.path.join(root, name))
            if (status.st_dev, status.st_ino) not in seen:
                seen.add((status.st_dev, status.st_ino))
                total += status.st_blocks * 512
    return total


def megabytes(count: int) -> str:
    return f"{count / 1e6:,.0f} MB"


def edit_one_word(source: Path, rng: random.Random) -> None:
    """A letter added to one word of a body paragraph (past the front matter and the first headings)."""
    text = source.read_text(encoding="utf-8")
    lines = text.split("\n")
    body = [i for i, line in enumerate(lines) if i > len(lines) // 10 and line[:1].isalpha() and len(line.split()) > 8]
    index = rng.choice(body)
    words = lines[index].split(" ")
    position = rng.randrange(1, len(words) - 1)
    words[position] += "s" if words[position][-1:].isalpha() else ""
    lines[index] = " ".join(words)
    source.write_text("\n".join(lines), encoding="utf-8")


def audio_work(report: BuildReport) -> str:
    return "; ".join(f"{r.name}: {r.work}" for r in report.results if r.work)


def failed(report: BuildReport) -> str:
    return "; ".join(f"{r.name}: {r.message}" for r in report.results if r.status == "failed")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="one-word edits per document (default 3)")
    parser.add_argument("--words", type=int, default=12_000, help="size of the generated document (default 12000)")
    parser.add_argument("--also", type=int, action="append", default=[], help="another generated size (repeatable)")
    parser.add_argument("--engine", default="", help="speech engine (default: the build's own default)")
    parser.add_argument("--lexicon-edit", action="store_true", help="time a broad lexicon edit on the largest document")
    parser.add_argument("--pause", type=float, default=3.0,
                        help="seconds between a build's end and the next edit, as a person takes (default 3)")
    args = parser.parse_args()
    load_at_start = os.getloadavg()
    options = {"audio.engine": args.engine} if args.engine else {}
    rng = random.Random(21)

    rows, disk_rows, lexicon_rows = [], [], []
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="formatforge-bench-watch-") as tmp:
        scratch = Path(tmp)
        masters = documents(scratch, args.words)
        for size in args.also:
            generated = scratch / f"generated-{size}" / f"generated-{size}.md"
            masters.append((f"generated-{size}.md ({generate(generated, size)} words)", generated))
        for number, (label, master) in enumerate(masters):
            folder = scratch / f"run-{number}"
            source = copy_source(master, folder / "source")
            out, cache = folder / "out", folder / "cache"
            cold, edits, unchanged = Timing(), Timing(), Timing()
            with resident() as reader:
                started = time.perf_counter()
                report = build(source, out, None, options, cache, reader=reader)
                cold.add(time.perf_counter() - started, failed(report))
                for _ in range(args.runs if not cold.error else 0):
                    time.sleep(args.pause)
                    edit_one_word(source, rng)
                    time.sleep(RACY_STAT_WINDOW)
                    started = time.perf_counter()
                    report = build(source, out, None, options, cache, reader=reader)
                    edits.add(time.perf_counter() - started, failed(report))
                    if not report.results or any(r.status == "up to date" for r in report.results):
                        edits.error = edits.error or "an edit left a format up to date"
                if not cold.error:
                    time.sleep(RACY_STAT_WINDOW)
                    for _ in range(3):
                        started = time.perf_counter()
                        report = build(source, out, None, options, cache, reader=reader)
                        unchanged.add(time.perf_counter() - started, failed(report))
                        if any(r.status != "up to date" for r in report.results):
                            unchanged.error = "a build with nothing changed rebuilt something"
                disk_rows.append([label, megabytes(disk_bytes(out)), megabytes(disk_bytes(cache))])
                if args.lexicon_edit and number == len(masters) - 1 and not cold.error:
                    lexicon = source.parent / "pronunciation.toml"
                    entries = lexicon.read_text(encoding="utf-8") if lexicon.exists() else "[say]\n"
                    lexicon.write_text(entries + '\n"learning" = "lurning"\n', encoding="utf-8")
                    time.sleep(RACY_STAT_WINDOW)
                    started = time.perf_counter()
                    report = build(source, out, ["audio", "daisy", "read-aloud"], options, cache, reader=reader)
                    seconds = time.perf_counter() - started
                    if failed(report):
                        failures.append(f"{label}, lexicon edit: {failed(report)}")
                    lexicon_rows.append([label, "\"learning\" respelled", f"{seconds:.2f}", audio_work(report)])
            for name, timing in (("cold", cold), ("one-word edit", edits), ("no change", unchanged)):
                if timing.error:
                    failures.append(f"{label}, {name}: {timing.error}")
            rows.append([label, cold.cell(), edits.cell(), ratio(edits.median, cold.median), unchanged.cell()])
            shutil.rmtree(folder)  # the long documents' audio and speech cache fill gigabytes

    print_header([
        f"formatforge watch's rebuilds, in one resident process (watch.resident()); every format; engine: "
        f"{args.engine or 'the default'}",
        f"one-word edits: {args.runs} per document, each {args.pause:g} s after the last build; min / median / max; "
        f"no change: 3 builds; wall-clock seconds",
        machine_note(load_at_start),
    ])
    print_table(["Document", "First build (s)", "One-word edit (s)", "Edit / first", "No change (s)"], rows,
                numeric={1, 2, 3, 4})
    print("Disk after the first build (files with several names counted once):\n")
    print_table(["Document", "Outputs", "Speech cache"], disk_rows, numeric={1, 2})
    if lexicon_rows:
        print("A broad lexicon edit (the speech formats only):\n")
        print_table(["Document", "Edit", "Rebuild (s)", "Units encoded (the writers' own count)"], lexicon_rows,
                    numeric={2})
    return print_failures(failures)


if __name__ == "__main__":
    sys.exit(main())
