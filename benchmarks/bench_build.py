#!/usr/bin/env python3
"""Times cold formatforge builds against pandoc on the same inputs, in the same run.

Run: .venv/bin/python benchmarks/bench_build.py [FORMAT ...] [--runs 3] [--words 10000]

For the strategy master and for a generated document of about 10,000 words, each format is
built with ``formatforge build SOURCE -o DIR -f FORMAT --quiet`` into a fresh output folder
with a fresh ``--cache-dir``, so nothing is reused between runs. Where pandoc writes a
comparable format (docx, epub → epub3, html → standalone html) it is timed on the same
file, alternating with formatforge so that both see the same machine load. Each figure is
the median of the runs. The result is printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from generate_document import generate  # noqa: E402

DEFAULT_FORMATS = ["docx", "epub", "html", "braille"]
# formatforge format → (pandoc writer, extra pandoc arguments, output suffix)
PANDOC_PEERS = {
    "docx": ("docx", [], ".docx"),
    "epub": ("epub3", [], ".epub"),
    "html": ("html", ["--standalone"], ".html"),
}


@dataclass
class Timing:
    seconds: list[float] = field(default_factory=list)
    error: str = ""

    def cell(self) -> str:
        if self.error:
            return "failed"
        return f"{statistics.median(self.seconds):.2f}" if self.seconds else "–"

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds and not self.error else None


def timed(command: list[str], cwd: Path | None = None) -> tuple[float, str]:
    """Runs a command; returns (wall seconds, error text or "")."""
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        detail = (completed.stderr or completed.stdout).strip().splitlines()[-5:]
        return elapsed, f"exit {completed.returncode}: " + " / ".join(detail)
    return elapsed, ""


def time_formatforge(formatforge: str, source: Path, fmt: str, scratch: Path) -> tuple[float, str]:
    run_dir = Path(tempfile.mkdtemp(prefix=f"ff-{fmt}-", dir=scratch))
    command = [
        formatforge, "build", str(source),
        "-o", str(run_dir / "out"),
        "-f", fmt,
        "--cache-dir", str(run_dir / "cache"),
        "--quiet",
    ]
    return timed(command, cwd=REPO)


def time_pandoc(pandoc: str, source: Path, fmt: str, scratch: Path) -> tuple[float, str]:
    writer, extra, suffix = PANDOC_PEERS[fmt]
    run_dir = Path(tempfile.mkdtemp(prefix=f"pandoc-{fmt}-", dir=scratch))
    command = [
        pandoc, str(source),
        "-f", "markdown",
        "-t", writer, *extra,
        "--resource-path", str(source.parent),  # so the figure is found and embedded
        "-o", str(run_dir / f"{source.stem}{suffix}"),
    ]
    return timed(command, cwd=source.parent)


def version_of(command: list[str]) -> str:
    try:
        completed = subprocess.run(command, capture_output=True, text=True)
    except OSError:
        return "not found"
    lines = completed.stdout.strip().splitlines()
    return lines[0] if completed.returncode == 0 and lines else "unknown"


def default_formatforge() -> str:
    beside_python = Path(sys.executable).parent / "formatforge"
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("formatforge") or str(REPO / ".venv" / "bin" / "formatforge")


def ratio(ours: float | None, peer: float | None) -> str:
    if ours is None or peer is None or peer == 0:
        return "–"
    return f"{ours / peer:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("formats", nargs="*", default=DEFAULT_FORMATS,
                        help=f"formatforge formats to time (default: {' '.join(DEFAULT_FORMATS)})")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure; the median is shown (default 3)")
    parser.add_argument("--words", type=int, default=10_000, help="size of the generated document (default 10000)")
    parser.add_argument("--formatforge", default=default_formatforge(), help="the formatforge executable")
    parser.add_argument("--pandoc", default=shutil.which("pandoc") or "pandoc", help="the pandoc executable")
    parser.add_argument("--no-formatforge", action="store_true", help="time only the peer tools")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="formatforge-bench-") as tmp:
        scratch = Path(tmp)
        generated = scratch / "generated" / "generated.md"
        word_count = generate(generated, args.words)
        documents = [
            ("strategy.md", REPO / "source" / "strategy.md"),
            (f"generated.md ({word_count} words)", generated),
        ]

        results: list[tuple[str, str, Timing, str, Timing]] = []
        for label, source in documents:
            for fmt in args.formats:
                ours, peer = Timing(), Timing()
                has_peer = fmt in PANDOC_PEERS
                for _ in range(args.runs):
                    if not args.no_formatforge and not ours.error:
                        seconds, error = time_formatforge(args.formatforge, source, fmt, scratch)
                        ours.seconds.append(seconds)
                        ours.error = error
                    if has_peer and not peer.error:
                        seconds, error = time_pandoc(args.pandoc, source, fmt, scratch)
                        peer.seconds.append(seconds)
                        peer.error = error
                peer_name = f"pandoc -t {PANDOC_PEERS[fmt][0]}" if has_peer else "–"
                results.append((label, fmt, ours, peer_name, peer))

    print(f"formatforge: {version_of([args.formatforge, '--version'])}  ")
    print(f"pandoc: {version_of([args.pandoc, '--version'])}  ")
    print(f"median of {args.runs} cold runs each, wall-clock seconds\n")
    print("| Document | Format | formatforge (s) | Peer tool | Peer (s) | Ratio (ours / peer) |")
    print("| --- | --- | ---: | --- | ---: | ---: |")
    for label, fmt, ours, peer_name, peer in results:
        ours_cell = "not run" if args.no_formatforge else ours.cell()
        print(f"| {label} | {fmt} | {ours_cell} | {peer_name} | {peer.cell()} | {ratio(ours.median, peer.median)} |")

    failures = [(label, fmt, "formatforge", t.error) for label, fmt, t, _, _ in results if t.error]
    failures += [(label, fmt, name, p.error) for label, fmt, _, name, p in results if p.error]
    if failures:
        print("\nFailures:")
        for label, fmt, tool, error in failures:
            print(f"- {label}, {fmt}, {tool}: {error}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
