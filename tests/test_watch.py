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


# ---------------------------------------------------------------- the resident watch (issue 21 point 4)

GOOD = "---\ntitle: T\nlanguage: en-GB\n---\n\n# Title\n\nFirst text.\n\n![An arrow pointing right](images/arrow.png)\n"


def test_issue_21_watch_keeps_the_model_of_an_unchanged_master(tmp_path):
    """The resident reader parses a master once while its bytes and the images it shows are
    unchanged; an edit, or a changed image, is read again, and the outputs follow."""
    import os

    from formatforge.build import build
    from formatforge.watch import KeptModels

    shutil.copytree(FIXTURE.parent / "images", tmp_path / "images")
    source, out = tmp_path / "doc.md", tmp_path / "out"
    source.write_text(GOOD, encoding="utf-8")
    reader = KeptModels()
    assert [r.status for r in build(source, out, ["html"], reader=reader).results] == ["built"]
    os.utime(source)  # saved again, same words
    assert [r.status for r in build(source, out, ["html"], reader=reader).results] == ["up to date"]
    assert reader.parsed == 1

    source.write_text(GOOD.replace("First text", "Edited text"), encoding="utf-8")
    build(source, out, ["html"], reader=reader)
    assert reader.parsed == 2 and "Edited text" in (out / "doc.html").read_text(encoding="utf-8")

    image = tmp_path / "images" / "arrow.png"
    image.write_bytes(image.read_bytes() + b"\0")
    assert [r.status for r in build(source, out, ["html"], reader=reader).results] == ["built"]
    assert reader.parsed == 3


def test_issue_21_a_master_with_errors_is_not_kept(tmp_path):
    import pytest

    from formatforge.build import CheckFailed
    from formatforge.watch import KeptModels

    source = tmp_path / "doc.md"
    source.write_text("---\ntitle: T\nlanguage: en-GB\n---\n\n# Title\n\n#### Skipped\n", encoding="utf-8")
    reader = KeptModels()
    for _ in range(2):
        with pytest.raises(CheckFailed):
            reader(source)
    assert reader.parsed == 0 and not reader.kept


def test_issue_21_watch_does_not_see_its_own_outputs(tmp_path):
    """An outputs folder inside the master's folder, and hidden files (the speech cache, an
    editor's swap file), are not what the watch rebuilds for; the master is."""
    from formatforge.watch import watched_state

    source = tmp_path / "doc.md"
    source.write_text(GOOD, encoding="utf-8")
    (tmp_path / "out").mkdir()
    before = watched_state(source, tmp_path / "out")
    (tmp_path / "out" / "manifest.json").write_text("{}")
    (tmp_path / ".doc.md.swp").write_text("x")
    assert watched_state(source, tmp_path / "out") == before
    source.write_text(GOOD + "\nMore.\n", encoding="utf-8")
    assert watched_state(source, tmp_path / "out") != before


def test_issue_21_an_idle_watch_builds_once(tmp_path):
    """With nothing edited the watch builds once and then waits: its own writes (the manifest
    every build rewrites) do not set off another build."""
    (tmp_path / "source").mkdir()
    source = tmp_path / "source" / "doc.md"
    source.write_text(GOOD.replace("\n\n![An arrow pointing right](images/arrow.png)", ""), encoding="utf-8")
    page = tmp_path / "source" / "out" / "doc.html"
    log = tmp_path / "watch.log"  # outside the watched folder
    with log.open("w") as stdout:
        watcher = subprocess.Popen(
            [sys.executable, "-m", "formatforge.cli", "watch", str(source), "-o", str(page.parent), "-f", "html", "--interval", "0.2"],
            stdout=stdout, stderr=subprocess.STDOUT, env={**__import__("os").environ, "COLUMNS": "200"},
        )
    try:
        assert wait_for(page.exists), "the first build"
        time.sleep(2)  # ten looks at the folder
        assert log.read_text().count("watching") == 1, log.read_text()
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)


def test_issue_21_the_resident_hook_holds_libreoffice_for_the_whole_loop(monkeypatch):
    """The hook for a resident LibreOffice (``shared.libreoffice.ResidentLibreOffice``, a
    context manager): entered once when the watch starts, left when it ends."""
    import types

    from formatforge.watch import resident

    events: list[str] = []

    class ResidentLibreOffice:
        def __enter__(self):
            events.append("start")
            return self

        def __exit__(self, *exc_info):
            events.append("stop")

    module = types.ModuleType("formatforge.shared.libreoffice")
    module.ResidentLibreOffice = ResidentLibreOffice  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "formatforge.shared.libreoffice", module)
    with resident() as reader:
        assert events == ["start"] and callable(reader)
    assert events == ["start", "stop"]


def test_a_terminated_watch_stops_its_libreoffice(tmp_path):
    """SIGTERM (a CI job's time limit, a service stopped) ends a watch as Ctrl-C does: through
    its clean-up, so the resident LibreOffice is stopped with it (it was left running), with
    the conventional status 128 + 15."""
    import signal

    shutil.copytree(FIXTURE.parent / "images", tmp_path / "images")
    source = tmp_path / "doc.md"
    source.write_text(GOOD, encoding="utf-8")
    pdf = tmp_path / "out" / "doc-large-print.pdf"
    watcher = subprocess.Popen(
        [sys.executable, "-m", "formatforge.cli", "watch", str(source), "-o", str(tmp_path / "out"), "-f",
         "large-print-pdf", "--cache-dir", str(tmp_path / "cache"), "--interval", "0.2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )

    def offices() -> list[str]:
        found = []
        for process in Path("/proc").iterdir():
            try:
                command = (process / "cmdline").read_bytes()
            except OSError:
                continue
            if b"soffice" in command and str(tmp_path).encode() in command:
                found.append(process.name)
        return found

    try:
        assert wait_for(pdf.exists, 120), "the first build"
        assert offices(), "the resident LibreOffice is running"
        watcher.send_signal(signal.SIGTERM)
        assert watcher.wait(timeout=30) == 128 + signal.SIGTERM
        assert b"Traceback" not in watcher.stderr.read()
        assert wait_for(lambda: not offices(), 10), f"LibreOffice left running: {offices()}"
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait(timeout=10)
