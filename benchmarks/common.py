"""What every benchmark script shares: timing commands, the two documents, plain text for
peer tools, the one-paragraph edit, and printing Markdown tables with a header of versions.

Not a test helper: CI does not run the benchmarks.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
STRATEGY = REPO / "source" / "strategy.md"

sys.path.insert(0, str(HERE))
from generate_document import generate  # noqa: E402

# The files a build reads beside the master besides the master itself.
SOURCE_COMPANIONS = ("images", "pronunciation.toml")

# Appended to one body paragraph: new words, so every writer and the speech cache see a change.
EDIT_SENTENCE = " This sentence was added to time a rebuild after a one-paragraph edit."


@dataclass
class Timing:
    """Wall-clock seconds of repeated runs of one thing; the first failure stops further runs."""

    seconds: list[float] = field(default_factory=list)
    error: str = ""

    def add(self, seconds: float, error: str = "") -> None:
        self.seconds.append(seconds)
        if error and not self.error:
            self.error = error

    def cell(self) -> str:
        """min / median / max: one shared machine's load moves single figures by a third."""
        if self.error:
            return "failed"
        if not self.seconds:
            return "–"
        if len(self.seconds) == 1:
            return f"{self.seconds[0]:.2f}"
        return f"{min(self.seconds):.2f} / {statistics.median(self.seconds):.2f} / {max(self.seconds):.2f}"

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds and not self.error else None


@dataclass
class Run:
    seconds: float
    error: str
    stdout: str
    peak_bytes: int = 0  # the process tree's largest total PSS seen (with measure_memory)


def _tree_pss(root: int) -> int:
    """The proportional set size of ``root`` and every process under it, from /proc (a
    library shared by several processes counts once across them, as PSS shares it)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()
                parents[int(entry)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    total = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as rollup:
                for line in rollup:
                    if line.startswith(b"Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
    return total


def run_timed(
    command: list[str],
    cwd: Path | None = None,
    stdin: Path | None = None,
    env: dict[str, str] | None = None,
    measure_memory: bool = False,
) -> Run:
    """Runs a command and returns its wall seconds, an error text ("" when it succeeded) and
    its standard output; with ``measure_memory``, also the largest total PSS of its process
    tree, sampled every 50 ms by a thread (the sampling takes a little of the machine)."""
    import threading

    stdin_file = open(stdin, "rb") if stdin else subprocess.DEVNULL
    peak = [0]
    try:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdin=stdin_file, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=env)
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.05):
                peak[0] = max(peak[0], _tree_pss(process.pid))

        sampler = threading.Thread(target=sample, daemon=True) if measure_memory else None
        if sampler is not None:
            sampler.start()
        out, err = process.communicate()
        elapsed = time.perf_counter() - start
        done.set()
        if sampler is not None:
            sampler.join()
    finally:
        if stdin:
            stdin_file.close()
    stdout = out.decode("utf-8", "replace")
    if process.returncode != 0:
        stderr = err.decode("utf-8", "replace")
        detail = (stderr or stdout).strip().splitlines()[-5:]
        return Run(elapsed, f"exit {process.returncode}: " + " / ".join(detail), stdout, peak[0])
    return Run(elapsed, "", stdout, peak[0])


def timed(command: list[str], cwd: Path | None = None) -> tuple[float, str]:
    """Runs a command; returns (wall seconds, error text or "")."""
    run = run_timed(command, cwd=cwd)
    return run.seconds, run.error


def timed_pipeline(steps: list[tuple[list[str], Path | None]], cwd: Path | None = None) -> tuple[float, str]:
    """Runs commands one after another (each with an optional stdin file), as a shell script
    of serial steps would; returns the total wall seconds and the first error."""
    total = 0.0
    for command, stdin in steps:
        run = run_timed(command, cwd=cwd, stdin=stdin)
        total += run.seconds
        if run.error:
            return total, f"{Path(command[0]).name}: {run.error}"
    return total, ""


def build_command(
    formatforge: str,
    source: Path,
    out_dir: Path,
    cache_dir: Path,
    formats: list[str] | None = None,
    quiet: bool = True,
    force: bool = False,
    extra: tuple[str, ...] = (),
) -> list[str]:
    """``formatforge build``; no formats means every format; ``extra`` options are passed on."""
    command = [formatforge, "build", str(source), "-o", str(out_dir), "--cache-dir", str(cache_dir), *extra]
    for fmt in formats or []:
        command += ["-f", fmt]
    if quiet:
        command.append("--quiet")
    if force:
        command.append("--force")
    return command


def pandoc_command(pandoc: str, source: Path, writer: str, output: Path, *extra: str) -> list[str]:
    """pandoc on the Markdown master, run from the master's folder."""
    return [
        pandoc, str(source),
        "-f", "markdown",
        "-t", writer, *extra,
        "--resource-path", str(source.parent),  # so the figure is found and embedded
        "-o", str(output),
    ]


def version_of(command: list[str]) -> str:
    try:
        completed = subprocess.run(command, capture_output=True, text=True)
    except OSError:
        return "not found"
    lines = completed.stdout.strip().splitlines()
    return lines[0] if completed.returncode == 0 and lines else "unknown"


def timed_runs(command: list[str], runs: int, cwd: Path | None = None) -> Timing:
    """The command run ``runs`` times (at least once), one after another."""
    timing = Timing()
    for _ in range(max(runs, 1)):
        timing.add(*timed(command, cwd=cwd))
    return timing


def startup_note(formatforge: str, runs: int) -> str:
    """How long the program takes just to start, so that short builds can be read against it."""
    timing = timed_runs([formatforge, "--version"], runs)
    return f"formatforge start-up alone (`formatforge --version`, median): {timing.cell()} s"


def default_formatforge() -> str:
    beside_python = Path(sys.executable).parent / "formatforge"
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("formatforge") or str(REPO / ".venv" / "bin" / "formatforge")


def ratio(ours: float | None, peer: float | None) -> str:
    if ours is None or peer is None or peer == 0:
        return "–"
    return f"{ours / peer:.2f}"


def add_common_arguments(parser: argparse.ArgumentParser, runs: int | None = 3) -> None:
    """--runs (unless ``runs`` is None), --words and --formatforge."""
    if runs is not None:
        parser.add_argument("--runs", type=int, default=runs,
                            help=f"runs per figure; the median is shown (default {runs})")
    parser.add_argument("--words", type=int, default=10_000, help="size of the generated document (default 10000)")
    parser.add_argument("--formatforge", default=default_formatforge(), help="the formatforge executable")


def documents(scratch: Path, words: int) -> list[tuple[str, Path]]:
    """The two benchmark documents, as (label, path): the strategy master and the generated one."""
    generated = scratch / "generated" / "generated.md"
    word_count = generate(generated, words)
    return [
        ("strategy.md", STRATEGY),
        (f"generated.md ({word_count} words)", generated),
    ]


def plain_text(source: Path, destination: Path) -> Path:
    """Writes the document's words in reading order, one block a line, as the peer tools'
    input: the same text our writers receive through the model, without the Markdown."""
    sys.path.insert(0, str(REPO / "src"))
    from formatforge.model import document_text
    from formatforge.reader import read_source

    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_text(document_text(read_source(source).document) + "\n", encoding="utf-8")
    return destination


def copy_source(source: Path, folder: Path) -> Path:
    """Copies the master with the images and pronunciation lexicon it uses into ``folder``,
    so that a benchmark may edit it; returns the copy's path."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in SOURCE_COMPANIONS:
        companion = source.parent / name
        if companion.is_dir():
            shutil.copytree(companion, folder / name, dirs_exist_ok=True)
        elif companion.is_file():
            shutil.copy2(companion, folder / name)
    copy = folder / source.name
    shutil.copy2(source, copy)
    return copy


_BODY_PARAGRAPH = re.compile(r"^[^\W\d_]")  # starts with a letter: not a heading, list, table, quote or image


def edit_one_paragraph(source: Path) -> str:
    """Appends a sentence to the body paragraph nearest the middle of the master (front matter,
    headings, lists, tables, quotes, figures and fenced code are left alone). Returns the
    paragraph's first words, to say what was edited."""
    text = source.read_text(encoding="utf-8")
    body_start = 0
    if text.startswith("---\n"):
        body_start = text.index("\n---", 4) + len("\n---\n")
    blocks = re.split(r"(\n\s*\n)", text[body_start:])
    candidates: list[int] = []
    in_fence = False
    for index, block in enumerate(blocks):
        if index % 2:  # the separators that re.split kept
            continue
        if block.count("```") % 2:
            in_fence = not in_fence
            continue
        # A paragraph that ends with a full stop: one ending with a colon introduces a list.
        if not in_fence and _BODY_PARAGRAPH.match(block) and block.rstrip().endswith(".") and len(block.split()) >= 8:
            candidates.append(index)
    if not candidates:
        raise ValueError(f"{source}: no body paragraph to edit")
    chosen = candidates[len(candidates) // 2]
    blocks[chosen] = blocks[chosen].rstrip() + EDIT_SENTENCE
    source.write_text(text[:body_start] + "".join(blocks), encoding="utf-8")
    return " ".join(blocks[chosen].split()[:6]) + " …"


def built_files(out_dir: Path) -> dict[str, dict[str, str]]:
    """Per format, each output file's SHA-256, from the build's manifest.json: what a build
    left, to tell which formats a rebuild changed."""
    manifest = out_dir / "manifest.json"
    if not manifest.exists():
        return {}
    formats = json.loads(manifest.read_text(encoding="utf-8")).get("formats", {})
    return {name: {path: entry["sha256"] for path, entry in record.get("files", {}).items()}
            for name, record in formats.items()}


def machine_note(load_at_start: tuple[float, float, float]) -> str:
    load_now = os.getloadavg()
    return (
        f"machine: {os.cpu_count()} cores, shared with other work; load average (1/5/15 min) "
        f"{'/'.join(f'{x:.1f}' for x in load_at_start)} at start, "
        f"{'/'.join(f'{x:.1f}' for x in load_now)} at end"
    )


def print_header(lines: list[str]) -> None:
    """Versions and conditions above a table; two trailing spaces keep Markdown line breaks."""
    for line in lines:
        print(f"{line}  ")
    print()


def load_note() -> str:
    load = os.getloadavg()
    return f"load average (1/5/15 min) when this table was printed: {'/'.join(f'{x:.1f}' for x in load)} on {os.cpu_count()} cores"


def print_table(headers: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> None:
    """A Markdown table, the load average under it (figures from a loaded machine are read
    with it); the columns whose indexes are in ``numeric`` are right-aligned. Timed cells
    are min / median / max of the runs."""
    print("| " + " | ".join(headers) + " |")
    print("| " + " | ".join("---:" if i in numeric else "---" for i in range(len(headers))) + " |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\n_{load_note()}_\n")


# The peer a user installs today: pandoc 3.x from PyPI's pypandoc_binary (pinned in
# pyproject.toml's ``benchmarks`` extra). It is 155 MB unpacked, so scripts/setup leaves it
# out and the first benchmark that needs it installs it into this Python's environment.
PYPANDOC_BINARY = "pypandoc-binary==1.17"


def pandoc_3(install: bool = True) -> str | None:
    """The path of pypandoc_binary's pandoc, installed on first use; None when it cannot be."""
    import importlib.util

    spec = importlib.util.find_spec("pypandoc")
    if spec is None and install:
        print(f"installing {PYPANDOC_BINARY} for the pandoc 3 peer (once)…", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", PYPANDOC_BINARY],
                       check=False)
        importlib.invalidate_caches()
        spec = importlib.util.find_spec("pypandoc")
    if spec is None or not spec.origin:
        return None
    binary = Path(spec.origin).parent / "files" / "pandoc"
    return str(binary) if binary.is_file() else None


def pandoc_programs(given: list[str] | None) -> list[tuple[str, str]]:
    """(label, path) of each pandoc to compare with: those given, else pandoc 3.x from
    pypandoc_binary first and the system's pandoc (Debian's 2.17) beside it."""
    paths = list(given or [])
    if not paths:
        paths = [p for p in (pandoc_3(), shutil.which("pandoc")) if p]
    labelled = []
    for path in dict.fromkeys(paths):
        version = version_of([path, "--version"])
        labelled.append((version if version.startswith("pandoc") else f"pandoc ({path})", path))
    return labelled


def print_failures(failures: list[str]) -> int:
    """Lists the failures under the table; returns the exit status."""
    if failures:
        print("\nFailures:")
        for failure in failures:
            print(f"- {failure}")
    return 1 if failures else 0
