"""`formatforge watch` rebuilds when the master or an image beside it changes."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

FIXTURE = Path(__file__).parent / "fixtures" / "every-construct.md"


def wait_for(predicate, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_watch_rebuilds_after_an_edit(tmp_path):
    shutil.copytree(FIXTURE.parent / "images", tmp_path / "images")
    source = tmp_path / "doc.md"
    source.write_text(FIXTURE.read_text(encoding="utf-8"), encoding="utf-8")
    page = tmp_path / "out" / "doc.html"
    watcher = subprocess.Popen(
        [sys.executable, "-m", "formatforge.cli", "watch", str(source), "-o", str(tmp_path / "out"), "-f", "html", "--interval", "0.2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        assert wait_for(page.exists), "the first build"
        source.write_text(source.read_text(encoding="utf-8").replace("A bullet item", "A freshly edited item"), encoding="utf-8")
        assert wait_for(lambda: "A freshly edited item" in page.read_text(encoding="utf-8")), "the rebuild after the edit"
        before = page.read_bytes()
        (tmp_path / "images" / "arrow.png").write_bytes((tmp_path / "images" / "arrow.png").read_bytes() + b"\0")
        assert wait_for(lambda: page.read_bytes() != before), "the rebuild after an image changed"
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)
