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


def test_issue_18_point_6_watch_survives_a_bad_edit_and_recovers(tmp_path):
    """Issue 18 point 6: a wrong front matter type is reported with file:line and the watch
    goes on; the next good edit is built."""
    source = tmp_path / "doc.md"
    good = "---\ntitle: T\nlanguage: en-GB\n---\n\n# Title\n\nFirst text.\n"
    source.write_text(good, encoding="utf-8")
    page = tmp_path / "out" / "doc.html"
    log = tmp_path / "watch.log"
    with log.open("a") as stderr:  # appended, so that emptying it between edits is safe
        watcher = subprocess.Popen(
            [sys.executable, "-m", "formatforge.cli", "watch", str(source), "-o", str(tmp_path / "out"), "-f", "html", "--interval", "0.2"],
            stdout=subprocess.DEVNULL, stderr=stderr,
        )
    try:
        assert wait_for(page.exists), "the first build"
        for bad, line in (("keywords: 5\n", 4), ("keywords: &a [x, *a]\n", 4), ("date: 20240101\n", 4)):
            source.write_text(good.replace("---\n\n", bad + "---\n\n"), encoding="utf-8")
            assert wait_for(lambda line=line: f"{source}:{line}:" in " ".join(log.read_text().split())), log.read_text()
            assert watcher.poll() is None, "the watch is still running"
            log.write_text("")
        source.write_text(good.replace("First text", "Mended text"), encoding="utf-8")
        assert wait_for(lambda: "Mended text" in page.read_text(encoding="utf-8")), "the rebuild after the mend"
        assert "Traceback" not in log.read_text()
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)
