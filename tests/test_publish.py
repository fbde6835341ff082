"""Publishing: only changed files are sent, foreign files survive, interruptions keep the old
version readable, checksums are verified; against a local folder and a real WebDAV server."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from formatforge.build import LOCK_FILE, STATE

from formatforge import publish as publish_module
from formatforge.publish import LocalFolder, PublishError, RcloneRemote, destination_for, publish


def make_outputs(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for relative, data in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(data)
        entries.append({"path": relative, "format": "x", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    (folder / "manifest.json").write_text(json.dumps({"files": entries}))
    (folder / LOCK_FILE).touch()  # as every build leaves it
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
    """Every file's bytes, leaving aside the build's lock file and stat record (an outputs
    folder's, never published)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name not in (LOCK_FILE, STATE)}


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
    assert [name for name in sent if name not in ("manifest.json", ".formatforge-publish-journal.json.tmp")] == ["a.docx"]
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
    after = {k: v for k, v in snapshot(drive).items() if not k.endswith(".formatforge-partial") and not k.startswith(".formatforge-publish-journal")}
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
def rclone_config(tmp_path, monkeypatch) -> Path:
    """A temporary rclone config (through RCLONE_CONFIG) with `loc`, rclone's local backend."""
    config = tmp_path / "rclone.conf"
    config.write_text("[loc]\ntype = local\n")
    monkeypatch.setenv("RCLONE_CONFIG", str(config))
    return config


@pytest.fixture
def webdav(tmp_path, rclone_config):
    """A real `rclone serve webdav` on 127.0.0.1 over a folder, and a remote `testdav` for it
    in the temporary rclone config; the server is stopped whatever the test does."""
    served = tmp_path / "served"
    served.mkdir()
    port = free_port()
    server = subprocess.Popen(
        ["rclone", "serve", "webdav", str(served), "--addr", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        with rclone_config.open("a") as config:
            config.write(f"[testdav]\ntype = webdav\nurl = http://127.0.0.1:{port}\nvendor = other\n")
        yield served
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


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
    after = {k: v for k, v in snapshot(webdav).items() if not k.endswith(".formatforge-partial") and not k.startswith(".formatforge-publish-journal")}
    assert after == before


# --- issue 18: publish never writes or deletes outside its destination --------------------


def tree_state(folder: Path) -> dict[str, tuple]:
    """Every name below `folder` (links not followed) with its type, size, mtime and content
    hash: what "nothing changed" means. An outputs folder's lock file is left aside: publishing
    holds it (naming itself in it) while it reads the folder."""
    state = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            if name == LOCK_FILE:
                continue
            path = Path(root) / name
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                content = "link:" + os.readlink(path)
            elif stat.S_ISREG(info.st_mode):
                content = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                content = None
            state[str(path.relative_to(folder))] = (stat.S_IFMT(info.st_mode), info.st_size, info.st_mtime_ns, content)
    return state


def assert_matches_its_manifest(root: Path) -> None:
    """Every file the destination's manifest names exists with the manifest's sha256."""
    manifest = root / "manifest.json"
    if not manifest.exists():
        return
    for entry in json.loads(manifest.read_bytes())["files"]:
        path = root / entry["path"]
        assert path.is_file(), f"{entry['path']} is named by the manifest but missing"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"], f"{entry['path']} does not match the manifest"


def tamper(dest: Path, edit) -> None:
    manifest = json.loads((dest / "manifest.json").read_bytes())
    edit(manifest)
    (dest / "manifest.json").write_text(json.dumps(manifest))


def add_entry(path):
    return lambda manifest: manifest["files"].append({"path": path, "sha256": "0" * 64})


@pytest.fixture
def victim(tmp_path) -> Path:
    """A file just outside the destination that a tampered manifest points at."""
    path = tmp_path / "victim.txt"
    path.write_bytes(b"must survive")
    return path


ESCAPES = {
    "dot-dot": "../victim.txt",
    "dot-dot-inside": "audio/../../victim.txt",
    "absolute": None,  # filled in with the victim's absolute path
    "backslash": "..\\victim.txt",
    "drive-letter": "C:/victim.txt",
    "empty-part": "audio//01-intro.mp3",
    "nul": "victim\x00.txt",
    "escape-char": "victim\x1b.txt",
}


@pytest.mark.parametrize("kind", sorted(ESCAPES))
def test_issue_18_point_1_a_manifest_path_outside_the_destination_is_refused(tmp_path, victim, kind):
    """Issue 18 point 1: a tampered destination manifest naming a path outside it, or any
    path that is not plain relative POSIX, is refused naming the manifest and the entry,
    and nothing anywhere is deleted or written."""
    dest = tmp_path / "drive"
    publish(make_outputs(tmp_path / "v1", V1), str(dest))
    bad = ESCAPES[kind] or str(victim)
    tamper(dest, add_entry(bad))
    v2 = make_outputs(tmp_path / "v2", {"a.docx": b"word v2"})
    before = tree_state(tmp_path)
    with pytest.raises(PublishError) as caught:
        publish(v2, str(dest))
    message = str(caught.value)
    assert str(dest / "manifest.json") in message and "entry 4" in message and "nothing was changed" in message
    assert tree_state(tmp_path) == before
    assert victim.read_bytes() == b"must survive"


def test_issue_18_point_1_a_symlinked_folder_in_the_destination_is_never_followed(tmp_path):
    """Issue 18 point 1: a link below the destination is neither written through nor deleted
    through, whether the manifest names a path under it or the build does."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "01-intro.mp3").write_bytes(b"someone else's audio")
    (outside / "b.epub").write_bytes(b"a file the link points at")
    dest = tmp_path / "drive"
    publish(make_outputs(tmp_path / "v1", {"a.docx": b"word v1"}), str(dest))
    (dest / "audio").symlink_to(outside, target_is_directory=True)
    (dest / "b.epub").symlink_to(outside / "b.epub")
    before = tree_state(tmp_path)
    # The build writes into audio/ (a link) and replaces b.epub (a link to a file).
    with pytest.raises(PublishError, match="symbolic link"):
        publish(make_outputs(tmp_path / "v2", V1), str(dest))
    # The manifest names a file through the link, and the build no longer makes it.
    tamper(dest, add_entry("audio/01-intro.mp3"))
    outputs = make_outputs(tmp_path / "v3", {"a.docx": b"word v3"})
    before = tree_state(tmp_path)
    with pytest.raises(PublishError, match="symbolic link"):
        publish(outputs, str(dest))
    assert tree_state(tmp_path) == before
    assert (outside / "01-intro.mp3").read_bytes() == b"someone else's audio"


def test_issue_18_point_1_a_link_swapped_in_after_the_check_is_not_followed_either(tmp_path):
    """Issue 18 point 1: the lstat check gives the clear message, but the writes and deletes
    themselves walk the folders with O_NOFOLLOW, so a link that appears after the check (a
    race) is still not followed."""

    class RacedFolder(LocalFolder):
        def check_path(self, relative, folder=False):
            pass  # as if the link appeared just after the check

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "01-intro.mp3").write_bytes(b"someone else's audio")
    dest = tmp_path / "drive"
    dest.mkdir()
    (dest / "audio").symlink_to(outside, target_is_directory=True)
    (tmp_path / "new.mp3").write_bytes(b"new audio")
    before = tree_state(tmp_path)
    raced = RacedFolder(dest)
    for attempt in (
        lambda: raced.upload(tmp_path / "new.mp3", "audio/01-intro.mp3"),
        lambda: raced.upload(tmp_path / "new.mp3", "audio/new.mp3"),
        lambda: raced.delete("audio/01-intro.mp3"),
        lambda: raced.rename("audio/01-intro.mp3", "moved.mp3"),
        lambda: raced.sha256("audio/01-intro.mp3"),
        lambda: raced.size("audio/01-intro.mp3"),
    ):
        with pytest.raises(PublishError, match="symbolic link"):
            attempt()
    assert tree_state(tmp_path) == before


@pytest.mark.parametrize("how", ["local", "rclone"])
def test_issue_18_point_1_a_manifest_naming_a_folder_is_refused_before_any_change(tmp_path, rclone_config, how):
    """Issue 18 point 1: a manifest entry that is a folder in the destination is refused up
    front, not found half-way through the removals."""
    dest = tmp_path / "drive"
    to = str(dest) if how == "local" else f"loc:{dest}"
    publish(make_outputs(tmp_path / "v1", V1), to)
    (dest / "photos").mkdir()
    (dest / "photos" / "kept.jpg").write_bytes(b"someone's photo")
    tamper(dest, add_entry("photos"))
    v2 = make_outputs(tmp_path / "v2", V2)
    before = tree_state(tmp_path)
    with pytest.raises(PublishError, match="is a folder, not a file"):
        publish(v2, to)
    assert tree_state(tmp_path) == before


def test_issue_18_point_1_the_same_through_an_rclone_local_remote(tmp_path, victim, rclone_config):
    """Issue 18 point 1 through rclone's local backend (`loc:`): a manifest path outside the
    destination, and a path through a symlinked folder, are refused; nothing changes."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "01-intro.mp3").write_bytes(b"someone else's audio")
    dest = tmp_path / "drive"
    remote = f"loc:{dest}"
    publish(make_outputs(tmp_path / "v1", {"a.docx": b"word v1"}), remote)
    assert (dest / "a.docx").read_bytes() == b"word v1"
    for bad in ("../victim.txt", str(victim)):
        tamper(dest, add_entry(bad))
        outputs = make_outputs(tmp_path / "v2", {"a.docx": b"word v2"})
        before = tree_state(tmp_path)
        with pytest.raises(PublishError, match="not a plain relative path"):
            publish(outputs, remote)
        assert tree_state(tmp_path) == before
        tamper(dest, lambda manifest: manifest["files"].pop())
    (dest / "audio").symlink_to(outside, target_is_directory=True)
    outputs = make_outputs(tmp_path / "v3", V1)
    before = tree_state(tmp_path)
    with pytest.raises(PublishError, match="symbolic link"):
        publish(outputs, remote)
    tamper(dest, add_entry("audio/01-intro.mp3"))
    outputs = make_outputs(tmp_path / "v4", {"a.docx": b"word v4"})
    before = tree_state(tmp_path)
    with pytest.raises(PublishError, match="symbolic link"):
        publish(outputs, remote)
    assert tree_state(tmp_path) == before
    assert victim.read_bytes() == b"must survive" and (outside / "01-intro.mp3").read_bytes() == b"someone else's audio"


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "formatforge.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def test_issue_18_point_3_an_unconfigured_remote_is_an_error_never_a_local_folder(tmp_path, rclone_config):
    """Issue 18 point 3: `--to nosuch:/srv/x` with no remote of that name configured is a
    clear error and creates nothing in the working folder; a Windows drive path is not a
    folder on Linux either; an empty --to is a usage error."""
    out = make_outputs(tmp_path / "v1", V1)
    work = tmp_path / "work"
    work.mkdir()
    for spec in ("nosuch:/srv/x", "nosuch:x", "C:\\Shared\\x", "my drive:Accessible"):
        result = run_cli("publish", str(out), "--to", spec, cwd=work)
        assert result.returncode == 1, (spec, result.stdout, result.stderr)
        assert "no remote of that name is configured" in result.stderr and "Traceback" not in result.stderr
    assert list(work.iterdir()) == []
    result = run_cli("publish", str(out), "--to", "", cwd=work)
    assert result.returncode == 2 and "--to" in result.stderr and "Traceback" not in result.stderr
    assert list(work.iterdir()) == []


def test_issue_18_point_3_remote_recognition_without_rclone_and_on_windows(tmp_path, monkeypatch):
    """Issue 18 point 3: with no rclone installed, `drive:x` is a clear error, not a folder;
    on Windows, `C:\\...` is a drive (as rclone reads it there), on Linux it is not a folder."""
    monkeypatch.setenv("PATH", str(tmp_path))  # no rclone here
    with pytest.raises(PublishError, match="rclone is not installed"):
        destination_for("drive:Accessible")
    with pytest.raises(PublishError, match="write ./C:"):
        destination_for("C:\\Shared\\Accessible")
    assert isinstance(destination_for("./drive:Accessible"), LocalFolder)
    assert isinstance(destination_for("/srv/a:b"), LocalFolder)
    monkeypatch.setattr(publish_module, "ON_WINDOWS", True)
    assert isinstance(destination_for("C:\\Shared\\Accessible"), LocalFolder)
    assert isinstance(destination_for("D:/Shared"), LocalFolder)


def test_issue_18_point_3_configured_and_on_the_fly_remotes_and_dot_slash_folders(tmp_path, rclone_config):
    """Issue 18 point 3: a remote configured in RCLONE_CONFIG goes through rclone (so
    loc:/abs/path lands at /abs/path), so does `:local:` on the fly, and ./name:x is a folder."""
    out = make_outputs(tmp_path / "v1", V1)
    work = tmp_path / "work"
    work.mkdir()
    assert run_cli("publish", str(out), "--to", f"loc:{tmp_path / 'via-loc'}", cwd=work).returncode == 0
    assert snapshot(tmp_path / "via-loc") == snapshot(out)
    assert run_cli("publish", str(out), "--to", f":local:{tmp_path / 'on-the-fly'}", cwd=work).returncode == 0
    assert snapshot(tmp_path / "on-the-fly") == snapshot(out)
    assert list(work.iterdir()) == []
    result = run_cli("publish", str(out), "--to", "./nosuch:x", cwd=work)
    assert result.returncode == 0, result.stderr
    assert snapshot(work / "nosuch:x") == snapshot(out)


WRONG_MANIFESTS = {
    "files-of-numbers": b'{"files": [1]}',
    "files-not-a-list": b'{"files": "a.docx"}',
    "not-an-object": b"[]",
    "no-files": b"{}",
    "path-not-text": b'{"files": [{"path": 5, "sha256": "' + b"0" * 64 + b'"}]}',
    "no-sha256": b'{"files": [{"path": "a.docx"}]}',
    "invalid-json": b'{"files": [',
    "not-utf8": b'{"files": ["\xff"]}',
    "deeply-nested": b"[" * 100_000 + b"]" * 100_000,
}


@pytest.mark.parametrize("kind", sorted(WRONG_MANIFESTS))
def test_issue_18_point_6_a_destination_manifest_of_the_wrong_shape_is_one_clear_error(tmp_path, kind):
    """Issue 18 point 6 (and point 4: a manifest that cannot be read is never taken as empty):
    each wrong type gives one message naming the manifest, and nothing changes."""
    dest = tmp_path / "drive"
    publish(make_outputs(tmp_path / "v1", V1), str(dest))
    (dest / "manifest.json").write_bytes(WRONG_MANIFESTS[kind])
    v2 = make_outputs(tmp_path / "v2", V2)
    before = tree_state(tmp_path)
    with pytest.raises(PublishError) as caught:
        publish(v2, str(dest))
    assert str(dest / "manifest.json") in str(caught.value) and "nothing was changed" in str(caught.value)
    assert tree_state(tmp_path) == before


def test_issue_18_point_4_an_unreadable_destination_manifest_stops_the_publish(tmp_path):
    """Issue 18 point 4: a manifest that exists but cannot be read is an error, not 'empty'."""
    dest = tmp_path / "drive"
    publish(make_outputs(tmp_path / "v1", V1), str(dest))
    (dest / "manifest.json").unlink()
    (dest / "manifest.json").mkdir()
    outputs = make_outputs(tmp_path / "v2", V2)
    before = tree_state(tmp_path)
    with pytest.raises(PublishError, match="not a file"):
        publish(outputs, str(dest))
    assert tree_state(tmp_path) == before


TAMPERS = {
    "dot-dot": lambda dest, victim: tamper(dest, add_entry("../victim.txt")),
    "absolute": lambda dest, victim: tamper(dest, add_entry(str(victim))),
    "through-a-symlinked-folder": lambda dest, victim: (
        (dest / "linked").symlink_to(victim.parent, target_is_directory=True),
        tamper(dest, add_entry("linked/victim.txt")),
    ),
    "files-of-numbers": lambda dest, victim: (dest / "manifest.json").write_bytes(b'{"files": [1]}'),
    "invalid-json": lambda dest, victim: (dest / "manifest.json").write_bytes(b"{not json"),
    "path-not-text": lambda dest, victim: tamper(dest, lambda m: m["files"].append({"path": ["x"], "sha256": "0" * 64})),
    "huge-file": lambda dest, victim: (dest / "manifest.json").write_bytes(b'{"files": []}' + b" " * (33 * 1024 * 1024)),
}


@pytest.mark.parametrize("kind", sorted(TAMPERS))
def test_issue_18_a_tampered_manifest_changes_nothing_outside_the_destination(tmp_path, victim, kind):
    """Issue 18 acceptance: publish, tamper with the destination's manifest, publish again
    from the command line: exit 1 with one clear message, and nothing in the parent folder
    (names, sizes, mtimes, contents) changed."""
    dest = tmp_path / "drive"
    publish(make_outputs(tmp_path / "v1", V1), str(dest))
    v2 = make_outputs(tmp_path / "v2", {"a.docx": b"word v2"})
    TAMPERS[kind](dest, victim)
    before = tree_state(tmp_path)
    started = time.monotonic()
    result = run_cli("publish", str(v2), "--to", str(dest))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "manifest.json" in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3, result.stderr
    assert time.monotonic() - started < 30
    assert tree_state(tmp_path) == before


def count_ops(cls):
    """A destination class that fails at its n-th change (upload, rename or delete), as if the
    publish were killed there."""

    class Failing(cls):
        def __init__(self, *args, fail_at: int, **kwargs):
            super().__init__(*args, **kwargs)
            self.fail_at, self.done = fail_at, 0

        def _step(self):
            if self.done == self.fail_at:
                raise KeyboardInterrupt("killed")
            self.done += 1

        def upload(self, local, relative):
            self._step()
            super().upload(local, relative)

        def rename(self, relative, new_relative):
            self._step()
            super().rename(relative, new_relative)

        def delete(self, relative):
            self._step()
            super().delete(relative)

    return Failing


A = {"a.docx": b"word A", "audio/01-intro.mp3": b"mp3 A", "b.epub": b"epub both", "only-a.txt": b"A only"}
B = {"a.docx": b"word B", "audio/01-intro.mp3": b"mp3 B", "b.epub": b"epub both", "only-b.txt": b"B only"}


def test_issue_18_point_4_stopped_at_every_step_the_folder_matches_a_manifest(tmp_path):
    """Issue 18 point 4: stopped before each change a publish makes, the destination matches
    its manifest (every file it names has its sha256), and the next publish repairs
    everything: stale files of the old build go, our partial files go, foreign files stay."""
    out_a, out_b = make_outputs(tmp_path / "A", A), make_outputs(tmp_path / "B", B)
    Failing = count_ops(LocalFolder)
    for fail_at in range(40):
        dest = tmp_path / f"drive{fail_at}"
        publish(out_a, str(dest))
        (dest / "minutes.docx").write_bytes(b"foreign")
        try:
            publish(out_b, "", destination=Failing(dest, fail_at=fail_at))
            finished = True
        except KeyboardInterrupt:
            finished = False
        assert_matches_its_manifest(dest)
        publish(out_b, str(dest))
        assert snapshot(dest) == {**snapshot(out_b), "minutes.docx": b"foreign"}, f"not repaired after step {fail_at}"
        if finished:
            break
    assert fail_at > 10, "the publish should have had many steps to stop at"


def test_issue_18_point_4_a_published_file_missing_or_of_the_wrong_size_is_sent_again(tmp_path):
    """Issue 18 point 4: a folder left mixed (say, by an older version killed during its
    renames) is repaired: a file the manifest names that is missing or has the wrong size is
    sent again, not reported as '0 sent'."""
    dest = tmp_path / "drive"
    publish(make_outputs(tmp_path / "v1", V1), str(dest))
    (dest / "a.docx").write_bytes(b"half of a new version")
    (dest / "b.epub").unlink()
    report = publish(tmp_path / "v1", str(dest))
    assert report.sent == ["a.docx", "b.epub"]
    assert snapshot(dest) == snapshot(tmp_path / "v1")


def test_issue_18_point_4_stale_files_of_a_publish_stopped_after_its_manifest_are_removed(tmp_path):
    """Issue 18 point 4: stopped after the new manifest but before removing what the build no
    longer makes, the next publish (even of the same build, 'nothing changed') removes them."""
    out_a, out_b = make_outputs(tmp_path / "A", A), make_outputs(tmp_path / "B", B)
    dest = tmp_path / "drive"
    publish(out_a, str(dest))

    class StopsBeforeRemoving(LocalFolder):
        def delete(self, relative):
            if relative == "only-a.txt":
                raise KeyboardInterrupt("killed")
            super().delete(relative)

    with pytest.raises(KeyboardInterrupt):
        publish(out_b, "", destination=StopsBeforeRemoving(dest))
    assert (dest / "manifest.json").read_bytes() == (out_b / "manifest.json").read_bytes()
    assert (dest / "only-a.txt").exists()
    report = publish(out_b, str(dest))
    assert report.sent == [] and report.removed == ["only-a.txt"]
    assert snapshot(dest) == snapshot(out_b)


@pytest.mark.parametrize(
    "journal",
    [
        b'{"partials": [], "owned": ["../victim.txt"]}',
        b'{"partials": [], "owned": ["manifest.json"]}',
        b'{"partials": ["notes.formatforge-partial"], "owned": []}',
        b'{"partials": ["../victim.txt.0123456789abcdef.formatforge-partial"], "owned": []}',
        b'{"partials": 1, "owned": []}',
        b"not json",
    ],
)
def test_issue_18_point_1_a_tampered_journal_is_refused_too(tmp_path, victim, journal):
    """Issue 18 points 1 and 10: the journal is read from the destination too, so its paths
    get the same checks, and it can only name partial files of ours."""
    dest = tmp_path / "drive"
    publish(make_outputs(tmp_path / "v1", V1), str(dest))
    (dest / ".formatforge-publish-journal.json").write_bytes(journal)
    v2 = make_outputs(tmp_path / "v2", V2)
    before = tree_state(tmp_path)
    with pytest.raises(PublishError, match="publish journal"):
        publish(v2, str(dest))
    assert tree_state(tmp_path) == before


def test_issue_18_point_10_foreign_partial_files_survive_and_ours_are_removed(tmp_path):
    """Issue 18 point 10: a `*.formatforge-partial` file this tool did not make (no token
    of ours in a journal) survives every publish; ours from an interrupted run go."""
    dest = tmp_path / "drive"
    dest.mkdir()
    foreign = {"a.docx.formatforge-partial": b"not ours", "notes.formatforge-partial": b"nor this",
               "a.docx.0123456789abcdef.formatforge-partial": b"looks like ours, but no journal names it"}
    for name, data in foreign.items():
        (dest / name).write_bytes(data)
    Failing = count_ops(LocalFolder)
    with pytest.raises(KeyboardInterrupt):  # stopped after uploading partials, before renames
        publish(make_outputs(tmp_path / "v1", V1), "", destination=Failing(dest, fail_at=5))
    ours = [p.name for p in dest.rglob("*.formatforge-partial") if p.name not in foreign]
    assert ours, "the interrupted publish left partial files of its own"
    publish(make_outputs(tmp_path / "v1", V1), str(dest))
    assert snapshot(dest) == {**snapshot(tmp_path / "v1"), **foreign}


def kill_loop(tmp_path: Path, to: str, root: Path, big: int, runs: int = 8, a: dict = A, b: dict = B) -> list[str]:
    """Publish two builds in turn and kill -9 each publish (its whole process group, rclone
    children too) at delays spread over a publish's duration; after each kill the destination
    must match its manifest. Returns what each kill interrupted, for the report."""
    rng = random.Random(18)
    out_a = make_outputs(tmp_path / "A", {**a, "big.bin": rng.randbytes(big)})
    out_b = make_outputs(tmp_path / "B", {**b, "big.bin": rng.randbytes(big)})
    command = [sys.executable, "-m", "formatforge.cli", "publish", "--to", to]

    def start(out: Path) -> subprocess.Popen:
        return subprocess.Popen([*command, str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)

    assert start(out_a).wait(timeout=120) == 0
    root.mkdir(parents=True, exist_ok=True)
    (root / "minutes.docx").write_bytes(b"foreign")
    (root / "minutes.docx.formatforge-partial").write_bytes(b"foreign partial")
    # Time a publish, and when it starts changing the destination (its journal appears):
    # most of the kills should land after that, in the part that matters.
    started, changing = time.monotonic(), None
    calibration = start(out_b)
    while calibration.poll() is None:
        if changing is None and (root / ".formatforge-publish-journal.json").exists():
            changing = time.monotonic() - started
        time.sleep(0.002)
    assert calibration.returncode == 0
    duration = time.monotonic() - started
    changing = changing or 0.0
    outcomes: list[str] = []
    # The machine is shared, so a publish's duration drifts: a run that finishes before its
    # kill re-times the rest, and a few extra runs make sure kills did land mid-publish.
    run = 0
    while run < runs or (outcomes.count("killed mid-publish") < 2 and run < runs + 6):
        first = 0.9 * changing
        delay = first + (duration - first) * (run % runs) / runs
        journal = root / ".formatforge-publish-journal.json"
        journal_before = journal.read_bytes() if journal.exists() else None
        # Always the build the destination does not hold, so that there is work to kill.
        holds_a = (root / "manifest.json").exists() and (root / "manifest.json").read_bytes() == (out_a / "manifest.json").read_bytes()
        process = start(out_b if holds_a else out_a)
        began = time.monotonic()
        while process.poll() is None and time.monotonic() - began < delay:
            time.sleep(0.002)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            time.sleep(0.2)  # a request the server had already received finishes there
            # The run had started changing the destination if it had written its own journal.
            journal_now = journal.read_bytes() if journal.exists() else None
            outcomes.append("killed mid-publish" if journal_now != journal_before else "killed early")
        else:
            assert process.returncode == 0, process.stderr.read()
            took = time.monotonic() - began
            changing, duration = changing * took / duration, took
            outcomes.append("finished")
        process.wait(timeout=30)
        assert_matches_its_manifest(root)
        run += 1
    result = start(out_a)
    assert result.wait(timeout=120) == 0, result.stderr.read()
    leftovers = {"minutes.docx": b"foreign", "minutes.docx.formatforge-partial": b"foreign partial"}
    assert snapshot(root) == {**snapshot(out_a), **leftovers}, "the next publish repairs everything"
    assert outcomes.count("killed mid-publish") >= 2, outcomes
    return [f"{duration:.1f} s publish, changes from {changing or 0:.1f} s", *outcomes]


@pytest.mark.slow
def test_issue_18_point_4_kill_9_loop_over_publish_to_a_folder(tmp_path):
    """Issue 18 point 4 (acceptance): kill -9 at 8 delays over a publish to a local folder;
    after each the folder matches its manifest, and the next publish repairs everything."""
    dest = tmp_path / "drive"
    print(kill_loop(tmp_path, str(dest), dest, big=24 * 1024 * 1024))


@pytest.mark.slow
def test_issue_18_point_4_kill_9_loop_over_publish_to_webdav(tmp_path, webdav):
    """Issue 18 point 4 (acceptance): the same over `rclone serve webdav` on 127.0.0.1."""
    # Fewer files than over a folder: each costs rclone start-ups, and the test must stay short.
    a = {"a.docx": b"word A", "only-a.txt": b"A only"}
    b = {"a.docx": b"word B", "only-b.txt": b"B only"}
    print(kill_loop(tmp_path, "testdav:shared", webdav / "shared", big=4 * 1024 * 1024, a=a, b=b))


def test_issue_18_point_4_a_real_build_stopped_at_every_step_matches_a_manifest(tmp_path):
    """Issue 18 point 4 with a real build's manifest (its "formats" section too): stopped
    before each change, the folder matches its manifest; the interim manifest is a manifest
    of the same shape that names only files that are there; the next publish repairs."""
    from formatforge.build import build

    FRONT = "---\ntitle: T\nlanguage: en-GB\n---\n"
    source = tmp_path / "doc.md"
    source.write_text(FRONT + "# Title\n\nFirst text.\n", encoding="utf-8")
    build(source, tmp_path / "v1", formats=["html"])
    source.write_text(FRONT + "# Title\n\nSecond text.\n", encoding="utf-8")
    build(source, tmp_path / "v2", formats=["html"])
    assert snapshot(tmp_path / "v1") != snapshot(tmp_path / "v2")
    Failing = count_ops(LocalFolder)
    interim_seen = False
    for fail_at in range(40):
        dest = tmp_path / f"drive{fail_at}"
        publish(tmp_path / "v1", str(dest))
        try:
            publish(tmp_path / "v2", "", destination=Failing(dest, fail_at=fail_at))
            finished = True
        except KeyboardInterrupt:
            finished = False
        assert_matches_its_manifest(dest)
        manifest = json.loads((dest / "manifest.json").read_bytes())
        assert manifest["title"] == "T" and "html" in manifest["formats"]
        named = {entry["path"] for entry in manifest["files"]}
        assert {path for entry in manifest["formats"].values() for path in entry["files"]} == named
        interim_seen |= manifest not in (json.loads((tmp_path / v / "manifest.json").read_bytes()) for v in ("v1", "v2"))
        publish(tmp_path / "v2", str(dest))
        assert snapshot(dest) == snapshot(tmp_path / "v2")
        if finished:
            break
    assert interim_seen, "some stop fell between the interim manifest and the new one"


def test_issue_18_point_8_publish_waits_for_a_build_writing_the_outputs(tmp_path):
    """A publish started while a build holds the outputs folder waits for it, then sends the
    files the build's new manifest names, never a mix of the old and the new."""
    import threading

    from formatforge.build import outputs_lock

    out = make_outputs(tmp_path / "out", V1)
    holding, release = threading.Event(), threading.Event()

    def build_in_progress():
        with outputs_lock(out):
            holding.set()
            release.wait(5)
            make_outputs(out, V2)  # the build's files and manifest land while it holds the lock

    builder = threading.Thread(target=build_in_progress)
    builder.start()
    holding.wait(5)
    threading.Timer(0.5, release.set).start()
    publish(out, str(tmp_path / "drive"))
    builder.join()
    assert snapshot(tmp_path / "drive") == snapshot(out)
    assert (tmp_path / "drive" / "a.docx").read_bytes() == b"word v2"
