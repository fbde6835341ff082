"""A 10 MB master builds, with memory bounded: the text formats in a child process."""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import time

import pytest

from conftest import STRATEGY

TEN_MB = 10 * 1024 * 1024
MEMORY_LIMIT_MB = 1500


@pytest.mark.slow  # about 73 s
def test_a_10_mb_document_builds_with_bounded_memory(tmp_path):
    text = STRATEGY.read_text(encoding="utf-8")
    front, body = text.split("\n---\n", 1)
    title_line, rest = body.lstrip("\n").split("\n", 1)
    copies = TEN_MB // len(rest.encode("utf-8")) + 1
    (tmp_path / "big.md").write_text(front + "\n---\n\n" + title_line + "\n" + rest * copies, encoding="utf-8")
    shutil.copytree(STRATEGY.parent / "images", tmp_path / "images")
    assert (tmp_path / "big.md").stat().st_size >= TEN_MB

    command = [sys.executable, "-m", "formatforge.cli", "build", str(tmp_path / "big.md"), "-o", str(tmp_path / "out"),
               "-f", "html", "-f", "braille", "-f", "docx", "--quiet"]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stderr[-2000:]
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"\npeak memory building 10 MB: {peak_mb:.0f} MB")
    assert peak_mb < MEMORY_LIMIT_MB
    for name in ("big.html", "big.brf", "big.pef", "big.docx"):
        assert (tmp_path / "out" / name).stat().st_size > 0


# CPU seconds each text format may take for 100,000 headings (each with a paragraph),
# reading included: about two and a half times what this machine measured (html 23, epub
# 30, docx 24, large-print 24, braille 35; 7 minutes of wall time on a busy machine), so
# that a quadratic step fails at once (the EPUB's took over 10 minutes) and a slow day
# does not. CPU time of the child, not wall time: the machine is shared.
HEADINGS = 100_000
CPU_LIMITS = {"html": 60, "epub": 75, "docx": 60, "large-print": 60, "braille": 90}


@pytest.mark.slow
def test_issue_18_point_7_every_text_writer_is_linear_in_100000_headings(tmp_path):
    """Issue 18 point 7: an EPUB of 100,000 headings did not finish in 10 minutes; every text
    format now builds them in bounded time."""
    lines = ["---", "title: Many headings", "language: en-GB", "date: 2024-01-01", "---", "", "# Many headings", ""]
    for number in range(HEADINGS):
        lines.append(f"## Heading {number}\n\nText {number}.\n")
    (tmp_path / "many.md").write_text("\n".join(lines), encoding="utf-8")
    spent = {}
    for name in CPU_LIMITS:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.monotonic()
        command = [sys.executable, "-m", "formatforge.cli", "build", str(tmp_path / "many.md"), "-o", str(tmp_path / name),
                   "-f", name, "--quiet"]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=1200)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        spent[name] = (round(cpu, 1), round(time.monotonic() - began, 1))
        assert completed.returncode == 0, completed.stderr[-2000:]
    print(f"\n{HEADINGS} headings, (CPU s, wall s) per format: {spent}")
    assert {name: cpu for name, (cpu, _) in spent.items() if cpu > CPU_LIMITS[name]} == {}
