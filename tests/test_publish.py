"""Publishing: only changed files are sent, foreign files survive, interruptions keep the old
version readable, checksums are verified; against a local folder and a real WebDAV server."""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

from formatforge.publish import LocalFolder, PublishError, RcloneRemote, publish


def make_outputs(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for relative, data in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(data)
        entries.append({"path": relative, "format": "x", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    (folder / "manifest.json").write_text(json.dumps({"files": entries}))
    return folder


class CountingFolder(LocalFolder):
    def __init__(self, root: Path, fail_after: int | None = None):
        super().__init__(root)
        self.uploads: list[str] = []
        self.fail_after = fail_after

    def upload(self, local, relative):
        if self.fail_after is not None and len(self.uploads) >= self.fail_after:
            raise OSError(5, "connection lost")
        self.uploads.append(relative)
        super().upload(local, relative)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


V1 = {"a.docx": b"word v1", "audio/01-intro.mp3": b"mp3 v1", "b.epub": b"epub v1"}
V2 = {"a.docx": b"word v2", "audio/01-intro.mp3": b"mp3 v1", "b.epub": b"epub v1"}


def test_first_publish_sends_everything_and_the_manifest(tmp_path):
    out, dest = make_outputs(tmp_path / "out", V1), tmp_path / "drive"
    report = publish(out, str(dest))
    assert report.sent == sorted(V1)
    assert snapshot(dest) == snapshot(out)


def test_only_changed_files_are_sent(tmp_path):
    dest = CountingFolder(tmp_path / "drive")
    publish(make_outputs(tmp_path / "v1", V1), "", destination=dest)
    dest.uploads.clear()
    report = publish(make_outputs(tmp_path / "v2", V2), "", destination=dest)
    assert report.sent == ["a.docx"] and report.unchanged == ["audio/01-intro.mp3", "b.epub"]
    sent = [re.sub(r"\.[0-9a-f]{16}\.formatforge-partial$", "", name) for name in dest.uploads]
    assert [name for name in sent if name not in ("manifest.json", ".formatforge-journal.json.tmp")] == ["a.docx"]
    assert (tmp_path / "drive" / "a.docx").read_bytes() == b"word v2"


def test_foreign_files_survive(tmp_path):
    dest = tmp_path / "drive"
    dest.mkdir()
    (dest / "minutes.docx").write_bytes(b"someone else's file")
    publish(make_outputs(tmp_path / "v1", V1), str(dest))
    publish(make_outputs(tmp_path / "v2", {"a.docx": b"word v2"}), str(dest))
    assert (dest / "minutes.docx").read_bytes() == b"someone else's file"
    assert not (dest / "b.epub").exists(), "a file we published and no longer build is removed"


def test_interrupted_publish_keeps_the_old_version(tmp_path):
    drive = tmp_path / "drive"
    publish(make_outputs(tmp_path / "v1", V1), str(drive))
    before = snapshot(drive)
    changed = {"a.docx": b"word v2", "audio/01-intro.mp3": b"mp3 v2", "b.epub": b"epub v2"}
    with pytest.raises(OSError):
        publish(make_outputs(tmp_path / "v2", changed), "", destination=CountingFolder(drive, fail_after=2))
    after = {k: v for k, v in snapshot(drive).items() if not k.endswith(".formatforge-partial") and not k.startswith(".formatforge-journal")}
    assert after == before
    publish(make_outputs(tmp_path / "v2", changed), str(drive))
    assert snapshot(drive) == snapshot(tmp_path / "v2"), "the next publish completes and clears leftovers"


def test_damaged_upload_is_detected(tmp_path):
    class Corrupting(LocalFolder):
        def upload(self, local, relative):
            super().upload(local, relative)
            if relative.startswith("a.docx"):
                (self.root / relative).write_bytes(b"garbage")

    drive = tmp_path / "drive"
    with pytest.raises(PublishError, match="arrived damaged"):
        publish(make_outputs(tmp_path / "v1", V1), "", destination=Corrupting(drive))
    assert not (drive / "manifest.json").exists() and not (drive / "a.docx").exists()


def test_dry_run_changes_nothing(tmp_path):
    drive = tmp_path / "drive"
    report = publish(make_outputs(tmp_path / "v1", V1), str(drive), dry_run=True)
    assert report.sent == sorted(V1) and not drive.exists()


def test_outputs_that_do_not_match_their_manifest_are_refused(tmp_path):
    out = make_outputs(tmp_path / "v1", V1)
    (out / "a.docx").write_bytes(b"edited by hand")
    with pytest.raises(PublishError, match="does not match"):
        publish(out, str(tmp_path / "drive"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def webdav(tmp_path, monkeypatch):
    """A real `rclone serve webdav` on 127.0.0.1 over a folder, and a remote named for it."""
    served = tmp_path / "served"
    served.mkdir()
    port = free_port()
    server = subprocess.Popen(
        ["rclone", "serve", "webdav", str(served), "--addr", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    monkeypatch.setenv("RCLONE_CONFIG_TESTDAV_TYPE", "webdav")
    monkeypatch.setenv("RCLONE_CONFIG_TESTDAV_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("RCLONE_CONFIG_TESTDAV_VENDOR", "other")
    yield served
    server.terminate()
    server.wait(timeout=10)


def test_publish_to_a_webdav_remote(tmp_path, webdav):
    (webdav / "shared").mkdir()
    (webdav / "shared" / "notes.txt").write_bytes(b"foreign")
    first = publish(make_outputs(tmp_path / "v1", V1), "testdav:shared")
    assert first.sent == sorted(V1)
    second = publish(make_outputs(tmp_path / "v2", V2), "testdav:shared")
    assert second.sent == ["a.docx"]
    published = snapshot(webdav / "shared")
    assert published["notes.txt"] == b"foreign"
    assert {k: v for k, v in published.items() if k != "notes.txt"} == snapshot(tmp_path / "v2")


def test_interrupted_webdav_upload_keeps_the_old_version(tmp_path, webdav):
    publish(make_outputs(tmp_path / "v1", V1), "testdav:")
    before = snapshot(webdav)

    class FailingRemote(RcloneRemote):
        count = 0

        def upload(self, local, relative):
            if self.count == 1:
                raise OSError(5, "connection lost")
            self.count += 1
            super().upload(local, relative)

    changed = {"a.docx": b"word v2", "audio/01-intro.mp3": b"mp3 v2", "b.epub": b"epub v2"}
    with pytest.raises(OSError):
        publish(make_outputs(tmp_path / "v2", changed), "", destination=FailingRemote("testdav:"))
    after = {k: v for k, v in snapshot(webdav).items() if not k.endswith(".formatforge-partial") and not k.startswith(".formatforge-journal")}
    assert after == before
