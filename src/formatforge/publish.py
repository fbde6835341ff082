"""Publish a built outputs/ folder to a shared folder or an rclone remote, safely.

Only files whose sha256 differs from the destination's manifest are sent. Every file goes
up under a temporary name and is checked before anything is renamed, and the manifest goes
last, so an interrupted publish leaves the destination's previous version readable. Files
the destination holds that we did not publish are never touched.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .errors import FormatforgeError, MissingDependency
from .hashing import sha256_file

MANIFEST = "manifest.json"
PARTIAL = ".formatforge-partial"
REMOTE_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_. -]*:(?![\\/])")  # "remote:path", not "C:\\"


class PublishError(FormatforgeError):
    pass


@dataclass
class PublishReport:
    destination: str
    sent: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    dry_run: bool = False


class LocalFolder:
    """A local or mounted folder (a synced shared drive looks like one)."""

    def __init__(self, root: Path):
        self.root = root

    def __str__(self) -> str:
        return str(self.root)

    def read(self, relative: str) -> bytes | None:
        try:
            return (self.root / relative).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def upload(self, local: Path, relative: str) -> None:
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        with local.open("rb") as source, target.open("wb") as out:
            shutil.copyfileobj(source, out)
            out.flush()
            os.fsync(out.fileno())

    def rename(self, relative: str, new_relative: str) -> None:
        os.replace(self.root / relative, self.root / new_relative)

    def delete(self, relative: str) -> None:
        (self.root / relative).unlink(missing_ok=True)

    def list_partials(self) -> list[str]:
        if not self.root.exists():
            return []
        return [str(p.relative_to(self.root)) for p in self.root.rglob(f"*{PARTIAL}")]


class RcloneRemote:
    """Any rclone remote (Google Drive, OneDrive, SharePoint, SMB, WebDAV, S3 …) configured by
    the user; rclone is given argument lists only, never a shell line."""

    def __init__(self, spec: str, rclone: str = "rclone"):
        if shutil.which(rclone) is None:
            raise MissingDependency("rclone", "apt-get install rclone")
        self.spec = spec.rstrip("/")
        self.rclone = rclone

    def __str__(self) -> str:
        return self.spec

    def _path(self, relative: str) -> str:
        return f"{self.spec}/{relative}" if not self.spec.endswith(":") else f"{self.spec}{relative}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([self.rclone, *args], capture_output=True, timeout=600)
        if check and result.returncode != 0:
            message = result.stderr.decode("utf-8", "replace").strip().splitlines()
            raise PublishError(f"rclone {args[0]} failed: {message[-1] if message else result.returncode}")
        return result

    def read(self, relative: str) -> bytes | None:
        result = self._run("cat", self._path(relative), check=False)
        return result.stdout if result.returncode == 0 else None

    # --ignore-times: rclone would otherwise skip a file whose size and time match what is
    # there, and two versions of a file can share both.
    def upload(self, local: Path, relative: str) -> None:
        self._run("copyto", "--ignore-times", str(local), self._path(relative))

    def rename(self, relative: str, new_relative: str) -> None:
        self._run("moveto", "--ignore-times", self._path(relative), self._path(new_relative))

    def delete(self, relative: str) -> None:
        self._run("deletefile", self._path(relative), check=False)

    def list_partials(self) -> list[str]:
        result = self._run("lsf", "-R", "--files-only", self.spec, check=False)
        if result.returncode != 0:
            return []
        return [line for line in result.stdout.decode().splitlines() if line.endswith(PARTIAL)]


def destination_for(spec: str):
    if REMOTE_RE.match(spec) and not Path(spec).exists():
        return RcloneRemote(spec)
    return LocalFolder(Path(spec))


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(data: bytes | None, where: str) -> dict:
    if data is None:
        return {}
    try:
        manifest = json.loads(data.decode("utf-8"))
    except ValueError:
        raise PublishError(f"the manifest at {where} is not valid JSON; fix or remove it before publishing") from None
    return manifest if isinstance(manifest, dict) else {}


def published_files(manifest: dict) -> dict[str, str]:
    return {entry["path"]: entry["sha256"] for entry in manifest.get("files", []) if "path" in entry and "sha256" in entry}


def publish(outputs: Path | str, to: str, dry_run: bool = False, destination=None) -> PublishReport:
    outputs = Path(outputs)
    local_manifest_bytes = (outputs / MANIFEST).read_bytes() if (outputs / MANIFEST).is_file() else None
    if local_manifest_bytes is None:
        raise PublishError(f"no {MANIFEST} in {outputs}: build before publishing", outputs)
    local = published_files(read_manifest(local_manifest_bytes, str(outputs)))
    for relative, digest in local.items():
        path = outputs / relative
        if not path.is_file() or sha256_file(path) != digest:
            raise PublishError(f"{relative} does not match the manifest: rebuild before publishing", outputs)

    dest = destination or destination_for(to)
    remote = published_files(read_manifest(dest.read(MANIFEST), str(dest)))
    report = PublishReport(str(dest), dry_run=dry_run)
    changed = sorted(rel for rel, digest in local.items() if remote.get(rel) != digest)
    report.unchanged = sorted(set(local) - set(changed))
    report.sent = changed
    report.removed = sorted(set(remote) - set(local))  # ours by the old manifest, gone from the build
    if dry_run:
        return report

    for leftover in dest.list_partials():  # from an earlier publish that was interrupted
        dest.delete(leftover)
    for relative in changed:
        partial = relative + PARTIAL
        dest.upload(outputs / relative, partial)
        arrived = dest.read(partial)
        if arrived is None or sha256_bytes(arrived) != local[relative]:
            dest.delete(partial)
            raise PublishError(f"{relative} arrived damaged at {dest}; the previous version is still published")
    for relative in changed:
        dest.rename(relative + PARTIAL, relative)
    with tempfile.TemporaryDirectory() as scratch:
        staged = Path(scratch) / MANIFEST
        staged.write_bytes(local_manifest_bytes)
        dest.upload(staged, MANIFEST + PARTIAL)
        dest.rename(MANIFEST + PARTIAL, MANIFEST)
    for relative in report.removed:
        dest.delete(relative)
    return report
