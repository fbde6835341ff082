#!/usr/bin/env python3
"""Counts DAISY Ace accessibility violations in our EPUB, pandoc's and calibre's, from the same master.

Run: .venv/bin/python benchmarks/bench_ace.py [--words 10000]

For the strategy master and for a generated document of about 10,000 words, three EPUB 3
files are made and each is checked with DAISY Ace (``formatforge.validate.run_ace``, the
same check as the tests, where every violation counts):

- formatforge: ``formatforge build SOURCE -f epub``;
- pandoc: ``pandoc SOURCE -f markdown -t epub3 --metadata lang=LANGUAGE``: pandoc reads the
  YAML front matter itself, but knows the language only as ``lang``, not our ``language``;
- calibre: ``ebook-convert BODY.md OUT.epub --epub-version 3 --formatting-type markdown``
  with the front matter's title, author, publisher, date and language given as options,
  since calibre's Markdown input does not read front matter. Calibre is an optional peer
  (``apt-get install calibre``); without it its column says "calibre: not available".

Counts do not vary between runs of the same versions, so each EPUB is made and checked
once. The result is printed as Markdown tables: the counts, then the violations by impact
and by Ace rule.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    REPO,
    add_common_arguments,
    build_command,
    copy_source,
    documents,
    machine_note,
    pandoc_command,
    print_failures,
    print_header,
    print_table,
    ratio,
    run_timed,
    version_of,
)
from formatforge.reader import read_source  # noqa: E402  (common put src on the path)
from formatforge.validate import ValidationResult, ace_command, run_ace  # noqa: E402

IMPACTS = ("critical", "serious", "moderate", "minor")
CALIBRE_MISSING = "calibre: not available"
# Calibre is a Qt program: without a display it needs Qt's offscreen platform.
CALIBRE_ENV = dict(os.environ, QT_QPA_PLATFORM="offscreen")


def without_front_matter(source: Path) -> Path:
    text = source.read_text(encoding="utf-8")
    if text.startswith("---\n"):
        text = text[text.index("\n---", 4) + len("\n---\n"):]
    body = source.with_name(f"{source.stem}-body.md")  # beside the master, so images resolve
    body.write_text(text, encoding="utf-8")
    return body


def calibre_command(ebook_convert: str, source: Path, output: Path) -> list[str]:
    metadata = read_source(source).document.metadata
    command = [ebook_convert, str(without_front_matter(source)), str(output),
               "--epub-version", "3", "--formatting-type", "markdown",
               "--title", metadata.title, "--language", metadata.language]
    for option, value in (("--authors", metadata.author), ("--publisher", metadata.publisher),
                          ("--pubdate", metadata.date), ("--comments", metadata.description)):
        if value:
            command += [option, str(value)]
    return command


def impact_of(text: str) -> str:
    # formatforge.validate writes each Ace violation as "[impact] description".
    return text[1:text.index("]")] if text.startswith("[") and "]" in text else "unknown"


def check(epub: Path) -> tuple[ValidationResult | None, str]:
    result = run_ace(epub)
    if not result.ran:
        return None, result.summary()
    if "no-report" in result.codes():
        return None, f"Ace failed on {epub.name}: {result.messages[0].text}"
    return result, ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, runs=None)
    parser.add_argument("--pandoc", default=shutil.which("pandoc") or "pandoc", help="the pandoc executable")
    parser.add_argument("--ebook-convert", default=shutil.which("ebook-convert"),
                        help="calibre's ebook-convert (optional)")
    args = parser.parse_args()
    load_at_start = os.getloadavg()
    calibre_version = version_of([args.ebook_convert, "--version"]) if args.ebook_convert else "not found"
    calibre_runs = args.ebook_convert is not None and calibre_version not in ("not found", "unknown")

    tools = ["formatforge", "pandoc -t epub3", "calibre ebook-convert"]
    count_rows: list[list[str]] = []
    detail_rows: list[list[str]] = []
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="formatforge-bench-ace-") as tmp:
        scratch = Path(tmp)
        for label, source in documents(scratch, args.words):
            folder = scratch / source.stem
            copy = copy_source(source, folder / "source")
            makers = {
                "formatforge": (
                    build_command(args.formatforge, copy, folder / "ff", folder / "cache", ["epub"]),
                    folder / "ff" / f"{copy.stem}.epub", REPO, None),
                "pandoc -t epub3": (
                    pandoc_command(args.pandoc, copy, "epub3", folder / "pandoc" / f"{copy.stem}.epub",
                                   "--metadata", f"lang={read_source(copy).document.metadata.language}"),
                    folder / "pandoc" / f"{copy.stem}.epub", copy.parent, None),
            }
            if calibre_runs:
                makers["calibre ebook-convert"] = (
                    calibre_command(args.ebook_convert, copy, folder / "calibre" / f"{copy.stem}.epub"),
                    folder / "calibre" / f"{copy.stem}.epub", copy.parent, CALIBRE_ENV)

            counts: dict[str, int | None] = {}
            cells: dict[str, str] = {"calibre ebook-convert": CALIBRE_MISSING}
            for tool, (command, epub, cwd, env) in makers.items():
                epub.parent.mkdir(parents=True, exist_ok=True)
                made = run_timed(command, cwd=cwd, env=env)
                if made.error:
                    failures.append(f"{label}, {tool}: could not make the EPUB: {made.error}")
                    cells[tool] = "no EPUB"
                    continue
                result, problem = check(epub)
                if result is None:
                    failures.append(f"{label}, {tool}: {problem}")
                    cells[tool] = "Ace did not run"
                    continue
                counts[tool] = result.errors
                cells[tool] = str(result.errors)
                impacts = Counter(impact_of(m.text) for m in result.messages if m.severity == "error")
                rules = Counter(result.codes())
                detail_rows.append([
                    label, tool, str(result.errors), *[str(impacts.get(i, 0)) for i in IMPACTS],
                    ", ".join(f"{code} ×{n}" for code, n in sorted(rules.items(), key=lambda r: (-r[1], r[0]))) or "–",
                ])
            ours = counts.get("formatforge")
            count_rows.append([
                label, *[cells.get(tool, "–") for tool in tools],
                ratio(ours, counts.get("pandoc -t epub3")),
                ratio(ours, counts.get("calibre ebook-convert")),
            ])

    ace = ace_command()
    print_header([
        f"formatforge: {version_of([args.formatforge, '--version'])}",
        f"pandoc: {version_of([args.pandoc, '--version'])}",
        f"calibre: {calibre_version if calibre_runs else 'not available'}",
        f"DAISY Ace: {version_of([str(ace), '--version']) if ace else 'not installed'} (every violation counts)",
        "one run each: the counts do not vary between runs",
        machine_note(load_at_start),
    ])
    print("Ace violations in the EPUB 3 that each tool makes of the same master (fewer is better):\n")
    print_table(["Document", *tools, "Ratio (ours / pandoc)", "Ratio (ours / calibre)"],
                count_rows, numeric={1, 2, 3, 4, 5})
    print("\nBy impact and by Ace rule:\n")
    print_table(["Document", "Tool", "Violations", *IMPACTS, "Rules (× violations)"],
                detail_rows, numeric={2, 3, 4, 5, 6})
    return print_failures(failures)


if __name__ == "__main__":
    sys.exit(main())
