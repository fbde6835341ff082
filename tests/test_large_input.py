"""A 10 MB master builds, with memory bounded: the text formats in a child process."""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys

from conftest import STRATEGY

TEN_MB = 10 * 1024 * 1024
MEMORY_LIMIT_MB = 1500


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
