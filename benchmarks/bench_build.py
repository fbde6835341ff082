#!/usr/bin/env python3
"""Times cold formatforge builds against peer tools on the same inputs, in the same run.

Run: .venv/bin/python benchmarks/bench_build.py [FORMAT ...] [--runs 3] [--words 10000]

For the strategy master and for a generated document of about 10,000 words, each format is
built with ``formatforge build SOURCE -o DIR -f FORMAT --quiet`` into a fresh output folder
with a fresh ``--cache-dir``, so nothing is reused between runs. Where a peer tool writes a
comparable format it is timed on the same document, alternating with formatforge so that
both see the same machine load: pandoc for docx, epub (epub3) and html (standalone), and
for braille liblouis's ``lou_translate`` (UEB grade 2, text only, no page layout) and
liblouisutdml's ``file2brl`` (UEB grade 2, 40 cells by 25 lines, paged BRF). The braille
peers read the document's plain text, taken from the model before the clock starts. Each
figure is min / median / max of the runs (ratios: median over median). pandoc 3.x
(pypandoc_binary, installed on first use) and the system's pandoc (Debian's 2.17) are both
peers, each in its own row. The result is printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    REPO,
    Timing,
    add_common_arguments,
    build_command,
    documents,
    machine_note,
    pandoc_command,
    pandoc_programs,
    plain_text,
    print_failures,
    print_header,
    print_table,
    ratio,
    run_timed,
    startup_note,
    version_of,
)

DEFAULT_FORMATS = ["docx", "epub", "html", "braille"]
UEB_GRADE_2 = "en-ueb-g2.ctb"
# The target for braille (issue: braille speed): no slower than twice file2brl.
BRAILLE_GOAL = ("file2brl", 2.0)


@dataclass(frozen=True)
class Inputs:
    source: Path  # the Markdown master
    plain: Path  # its words as plain text, for peers that do not read Markdown
    run_dir: Path  # a fresh folder for this run's output


@dataclass(frozen=True)
class Peer:
    name: str  # as shown in the table
    program: str  # key into the program paths given on the command line
    version_args: tuple[str, ...]
    command: Callable[[str, Inputs], list[str]]
    stdin_plain: bool = False  # whether the plain text goes to standard input
    cwd_is_source: bool = False


def pandoc_peer(writer: str, suffix: str, *extra: str, program: str = "pandoc", label: str = "pandoc") -> Peer:
    def command(path: str, given: Inputs) -> list[str]:
        return pandoc_command(path, given.source, writer, given.run_dir / f"{given.source.stem}{suffix}", *extra)
    return Peer(f"{label} -t {writer}", program, ("--version",), command, cwd_is_source=True)


PANDOC_WRITERS = {"docx": ("docx", ".docx"), "epub": ("epub3", ".epub"), "html": ("html", ".html", "--standalone")}


LOU_TRANSLATE = Peer(
    f"lou_translate -f {UEB_GRADE_2}",
    "lou_translate",
    ("--version",),
    lambda program, given: [program, "-f", UEB_GRADE_2],
    stdin_plain=True,
)

# file2brl's built-in configuration uses en-us-g2 (EBAE) and reads text as 8-bit, which turns
# curly quotes into escape codes; these settings give UEB, UTF-8 input and our page size.
FILE2BRL_SETTINGS = [
    f"literaryTextTable={UEB_GRADE_2}",
    "inputTextEncoding=utf8",
    "cellsPerLine=40",
    "linesPerPage=25",
    "braillePages=yes",
]
FILE2BRL = Peer(
    "file2brl (UEB g2, 40×25)",
    "file2brl",
    ("-v",),
    lambda program, given: [
        program,
        "-w", str(given.run_dir),  # its temporary and log files, out of the working folder
        *[arg for setting in FILE2BRL_SETTINGS for arg in ("-C", setting)],
        str(given.plain),
        str(given.run_dir / f"{given.source.stem}.brf"),
    ],
)

PEERS: dict[str, list[Peer]] = {"docx": [], "epub": [], "html": [], "braille": [LOU_TRANSLATE, FILE2BRL]}


def add_pandoc_peers(pandocs: list[tuple[str, str]], programs: dict[str, str]) -> None:
    """One row per pandoc for each format pandoc writes (pandoc 3.x first)."""
    for number, (label, path) in enumerate(pandocs):
        key = f"pandoc{number}"
        programs[key] = path
        for fmt, (writer, suffix, *extra) in PANDOC_WRITERS.items():
            PEERS[fmt].append(pandoc_peer(writer, suffix, *extra, program=key, label=label))


def time_formatforge(formatforge: str, source: Path, fmt: str, scratch: Path) -> tuple[float, str]:
    run_dir = Path(tempfile.mkdtemp(prefix=f"ff-{fmt}-", dir=scratch))
    run = run_timed(build_command(formatforge, source, run_dir / "out", run_dir / "cache", [fmt]), cwd=REPO)
    return run.seconds, run.error


def time_peer(peer: Peer, program: str, source: Path, plain: Path, scratch: Path) -> tuple[float, str]:
    given = Inputs(source, plain, Path(tempfile.mkdtemp(prefix=f"{peer.program}-", dir=scratch)))
    run = run_timed(
        peer.command(program, given),
        cwd=source.parent if peer.cwd_is_source else given.run_dir,
        stdin=plain if peer.stdin_plain else None,
    )
    return run.seconds, run.error


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("formats", nargs="*", default=DEFAULT_FORMATS,
                        help=f"formatforge formats to time (default: {' '.join(DEFAULT_FORMATS)})")
    add_common_arguments(parser)
    parser.add_argument("--pandoc", action="append", default=None,
                        help="a pandoc executable (repeatable) [default: pypandoc_binary's pandoc 3.x, then the system's]")
    parser.add_argument("--lou-translate", default=shutil.which("lou_translate") or "lou_translate",
                        help="the lou_translate executable (liblouis-bin)")
    parser.add_argument("--file2brl", default=shutil.which("file2brl") or "file2brl",
                        help="the file2brl executable (liblouisutdml-bin)")
    parser.add_argument("--no-formatforge", action="store_true", help="time only the peer tools")
    args = parser.parse_args()
    programs = {"lou_translate": args.lou_translate, "file2brl": args.file2brl}
    if any(fmt in PANDOC_WRITERS for fmt in args.formats):
        add_pandoc_peers(pandoc_programs(args.pandoc), programs)
    load_at_start = os.getloadavg()

    rows: list[list[str]] = []
    failures: list[str] = []
    goal_lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="formatforge-bench-") as tmp:
        scratch = Path(tmp)
        for label, source in documents(scratch, args.words):
            plain = plain_text(source, scratch / "plain" / f"{source.stem}.txt")
            for fmt in args.formats:
                peers = PEERS.get(fmt, [])
                ours = Timing()
                theirs = {peer.name: Timing() for peer in peers}
                for _ in range(args.runs):
                    if not args.no_formatforge and not ours.error:
                        ours.add(*time_formatforge(args.formatforge, source, fmt, scratch))
                    for peer in peers:
                        if not theirs[peer.name].error:
                            theirs[peer.name].add(*time_peer(peer, programs[peer.program], source, plain, scratch))
                ours_cell = "not run" if args.no_formatforge else ours.cell()
                if ours.error:
                    failures.append(f"{label}, {fmt}, formatforge: {ours.error}")
                for peer in peers:
                    peer_timing = theirs[peer.name]
                    rows.append([label, fmt, ours_cell, peer.name, peer_timing.cell(), ratio(ours.median, peer_timing.median)])
                    if peer_timing.error:
                        failures.append(f"{label}, {fmt}, {peer.name}: {peer_timing.error}")
                    if fmt == "braille" and peer.program == BRAILLE_GOAL[0] and ours.median and peer_timing.median:
                        measured = ours.median / peer_timing.median
                        verdict = "met" if measured <= BRAILLE_GOAL[1] else "not met"
                        goal_lines.append(
                            f"- {label}: braille is {measured:.1f}× file2brl — goal ≤ {BRAILLE_GOAL[1]:.0f}×: {verdict}"
                        )
                if not peers:
                    rows.append([label, fmt, ours_cell, "–", "–", "–"])

    used = {peer.program: peer for fmt in args.formats for peer in PEERS.get(fmt, [])}
    header = [f"formatforge: {version_of([args.formatforge, '--version'])}"]
    header += [f"{name}: {version_of([programs[name], *peer.version_args])}" for name, peer in used.items()]
    header += [f"min / median / max of {args.runs} cold runs each, wall-clock seconds; ratio of the medians"]
    if not args.no_formatforge:
        header.append(startup_note(args.formatforge, args.runs))
    header.append(machine_note(load_at_start))
    print_header(header)
    print_table(
        ["Document", "Format", "formatforge (s)", "Peer tool", "Peer (s)", "Ratio (ours / peer)"],
        rows,
        numeric={2, 4, 5},
    )
    if goal_lines:
        print("\nBraille against file2brl:")
        print("\n".join(goal_lines))
    return print_failures(failures)


if __name__ == "__main__":
    sys.exit(main())
