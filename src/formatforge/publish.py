"""Publish a built outputs/ folder to a shared folder or an rclone remote, safely.

What a reader of the destination trusts is its manifest.json: every file it names exists
with the manifest's sha256, at every instant, even if a publish is killed. To keep that
true while files keep their names (strategy.docx stays strategy.docx):

1. a journal (.formatforge-publish-journal.json) is written first: it names every partial file this
   run may make (each carries the run's random token) and every path we have published, so a
   later publish can clear up after this one whatever point it dies at;
2. every new or changed file goes up under `<name>.<token>.formatforge-partial` and its
   sha256 is checked where it landed;
3. if a changed file replaces one the current manifest names, an interim manifest without
   those entries is written first, so the renames never change a file a manifest vouches for;
4. the partials are renamed into place, then the new manifest is written (atomically);
5. files the previous manifest (or an interrupted run's journal) named and this build does
   not make are removed, and the journal goes last.

Nothing read from the destination is trusted: every path in its manifest or journal must be
a plain relative path inside it, and no symbolic link below the destination is ever
followed, so a tampered manifest can neither delete nor write anything outside it.
Files the destination holds that we did not publish are never touched.

Why one module of about 690 lines: the journal, the partial files and the manifest order
above are one protocol; its steps are only safe together, so they are read together.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import FormatforgeError, MissingDependency
from .build import settled_outputs
from .hashing import sha256_file

MANIFEST = "manifest.json"
JOURNAL = ".formatforge-publish-journal.json"  # not the build's journal: a folder may be both
JOURNAL_TMP = JOURNAL + ".tmp"  # a fixed name: a leftover is simply overwritten next time
PARTIAL = ".formatforge-partial"
OUR_PARTIAL_RE = re.compile(r"\.[0-9a-f]{16}" + re.escape(PARTIAL) + r"$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
# A manifest of 100,000 files is about 20 MB; anything far bigger is not one of ours, and
# reading it whole would cost unbounded memory.
MAX_MANIFEST_BYTES = 32 * 1024 * 1024
MAX_PATH_BYTES = 4096
MAX_PART_BYTES = 255
# rclone's own rule for a configured remote's name (fspath.remoteNameMatcher), then an
# optional ",option=value" connection string, then the colon.
REMOTE_NAME_RE = re.compile(r"^([\w.+@-]+(?: +[\w.+@-]+)*)(,[^:/]*)?:")
ON_THE_FLY_RE = re.compile(r"^:([\w.+@-]+)(,[^:]*)?:")
WINDOWS_DRIVE_RE = re.compile(r"^[A-Za-z]:([\\/]|$)")
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
ON_WINDOWS = os.name == "nt"
FD_RELATIVE = bool(NOFOLLOW) and hasattr(os, "O_DIRECTORY") and {os.open, os.stat, os.mkdir, os.unlink, os.rename} <= os.supports_dir_fd


class PublishError(FormatforgeError):
    pass


@dataclass
class PublishReport:
    destination: str
    sent: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    dry_run: bool = False
    documents: dict[str, "PublishReport"] = field(default_factory=dict)  # a library's, by folder

    def add(self, folder: str, part: "PublishReport") -> None:
        self.documents[folder] = part
        for mine, theirs in ((self.sent, part.sent), (self.unchanged, part.unchanged), (self.removed, part.removed)):
            mine.extend(f"{folder}/{relative}" for relative in theirs)


def path_problem(path: object) -> str | None:
    """Why `path` is not a plain relative POSIX path inside a folder, or None if it is."""
    if not isinstance(path, str):
        return f"has a path that is not text ({type(path).__name__})"
    if not path:
        return "has an empty path"
    if len(path.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        return f"has a path longer than {MAX_PATH_BYTES} bytes"
    for char in path:
        if ord(char) < 32 or 127 <= ord(char) < 160:
            return f"has a control character (U+{ord(char):04X}) in its path"
    if "\\" in path:
        return "has a backslash in its path"
    if path.startswith("/"):
        return "has an absolute path"
    if ":" in path:  # a drive letter, a remote, or an NTFS alternate stream
        return "has a colon in its path"
    parts = path.split("/")
    if "" in parts:
        return "has an empty part (// or a trailing /) in its path"
    if ".." in parts or "." in parts:
        return "has a . or .. part in its path"
    if any(len(part.encode("utf-8", "surrogatepass")) > MAX_PART_BYTES for part in parts):
        return f"has a path part longer than {MAX_PART_BYTES} bytes"
    return None


def reserved_problem(path: str) -> str | None:
    if path in (MANIFEST, JOURNAL, JOURNAL_TMP) or path.endswith(PARTIAL):
        return "names a file publishing keeps for itself"
    return None


def _shown(path: object) -> str:
    text = repr(path)
    return text if len(text) <= 80 else text[:77] + "..."


def _refuse(where: str, what: str) -> PublishError:
    return PublishError(f"{where}: {what}; nothing was changed. Fix or remove that file, then publish again")


def _load_json(data: bytes, where: str) -> object:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _refuse(where, "is not valid JSON") from None
    except RecursionError:
        raise _refuse(where, "is nested too deeply to be a manifest") from None


def parse_manifest(data: bytes, where: str) -> tuple[dict, dict[str, str]]:
    """The manifest, and its files as {path: sha256}; anything malformed stops the publish."""
    manifest = _load_json(data, where)
    if not isinstance(manifest, dict):
        raise _refuse(where, f"is not a manifest (a JSON object), but a {type(manifest).__name__}")
    entries = manifest.get("files")
    if not isinstance(entries, list):
        raise _refuse(where, 'has no "files" list')
    files: dict[str, str] = {}
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise _refuse(where, f"entry {number} of \"files\" is not an object but {_shown(entry)}")
        path, digest = entry.get("path"), entry.get("sha256")
        problem = path_problem(path)
        if problem is None and isinstance(path, str):  # path_problem passes only text
            problem = reserved_problem(path)
        if problem or not isinstance(path, str):
            raise _refuse(where, f"entry {number} ({_shown(path)}) {problem}, not a plain relative path inside the folder")
        if not isinstance(digest, str) or not SHA256_RE.match(digest):
            raise _refuse(where, f"entry {number} ({path!r}) has no valid sha256")
        if path in files:
            raise _refuse(where, f"entry {number} ({path!r}) repeats a path")
        files[path] = digest
    return manifest, files


def parse_journal(data: bytes, where: str) -> tuple[list[str], set[str]]:
    """(partials, owned) from a journal an interrupted publish left."""
    journal = _load_json(data, where)
    if not isinstance(journal, dict) or not isinstance(journal.get("partials"), list) or not isinstance(journal.get("owned"), list):
        raise _refuse(where, 'is not a publish journal (an object with "partials" and "owned" lists)')
    for kind in ("partials", "owned"):
        for number, path in enumerate(journal[kind], 1):
            problem = path_problem(path)
            if problem is None and kind == "partials" and not OUR_PARTIAL_RE.search(path):
                problem = "is not a partial file this tool makes"
            if problem is None and kind == "owned":
                problem = reserved_problem(path)
            if problem:
                raise _refuse(where, f'entry {number} of "{kind}" ({_shown(path)}) {problem}')
    return list(journal["partials"]), set(journal["owned"])


class LocalFolder:
    """A local or mounted folder (a synced shared drive looks like one).

    Every component below the root is checked with lstat before a read, write or delete
    (for a clear message), and the operation itself then walks the folders with O_NOFOLLOW
    and acts relative to the open folder: a symbolic link in the destination is refused,
    never followed, even one swapped in between. The root itself may be a link (a mounted
    drive often is)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def __str__(self) -> str:
        return str(self.root)

    def describe(self, relative: str) -> str:
        return str(self.root / relative)

    def prepare(self) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise PublishError(f"{self.root} is not a folder")

    def check_path(self, relative: str, folder: bool = False) -> None:
        current = self.root
        parts = relative.split("/")
        for index, part in enumerate(parts):
            current = current / part
            try:
                info = current.lstat()
            except (FileNotFoundError, NotADirectoryError):
                return  # nothing below a missing folder exists yet; we create real folders
            if stat.S_ISLNK(info.st_mode):
                raise PublishError(
                    f"{current} is a symbolic link; publishing never follows links in the destination, "
                    "so nothing was changed. Replace the link with a real folder or file"
                )
            if index < len(parts) - 1 and not stat.S_ISDIR(info.st_mode):
                raise PublishError(f"{current} is not a folder, but {relative} needs it to be one; nothing was changed")
            if index == len(parts) - 1 and not folder and stat.S_ISDIR(info.st_mode):
                raise PublishError(f"{current} is a folder, not a file; nothing was changed")

    @contextlib.contextmanager
    def _parent(self, relative: str, create: bool = False) -> Iterator[tuple[int | None, str]]:
        """The open folder that holds `relative`, reached one component at a time with
        O_NOFOLLOW (so a link swapped in after check_path is not followed either), and the
        file's name in it. Without *at() calls (Windows) the full path and None."""
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        if not FD_RELATIVE:
            yield None, str(self.root / relative)
            return
        parts = relative.split("/")
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for part in parts[:-1]:
                made = False
                if create:
                    try:
                        os.mkdir(part, 0o755, dir_fd=fd)
                        made = True
                    except FileExistsError:
                        pass
                try:
                    child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise PublishError(f"{self.root / relative}: a folder on the way is a symbolic link or a file; nothing was followed") from None
                    raise
                if made:
                    os.fchmod(child, 0o755)  # listable by the web server, whatever the umask (issue 17 point 5)
                os.close(fd)
                fd = child
            yield fd, parts[-1]
        finally:
            os.close(fd)

    def size(self, relative: str) -> int | None:
        self.check_path(relative)
        try:
            with self._parent(relative) as (folder, name):
                info = os.stat(name, dir_fd=folder, follow_symlinks=False)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return info.st_size if stat.S_ISREG(info.st_mode) else None

    def _open_read(self, relative: str) -> int:
        self.check_path(relative)
        with self._parent(relative) as (folder, name):
            return os.open(name, os.O_RDONLY | NOFOLLOW | getattr(os, "O_BINARY", 0), dir_fd=folder)

    def read_small(self, relative: str, limit: int) -> bytes | None:
        self.check_path(relative)
        try:
            info = (self.root / relative).lstat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not stat.S_ISREG(info.st_mode):
            raise PublishError(f"{self.root / relative} is not a file; nothing was changed")
        if info.st_size > limit:
            raise _refuse(str(self.root / relative), f"is {info.st_size:,} bytes, more than a manifest can be ({limit:,})")
        try:
            with os.fdopen(self._open_read(relative), "rb") as handle:
                return handle.read(limit + 1)
        except OSError as exc:
            raise PublishError(f"cannot read {self.root / relative}: {exc.strerror or exc}; nothing was changed") from None

    def sha256(self, relative: str) -> str | None:
        try:
            handle = os.fdopen(self._open_read(relative), "rb")
        except OSError:
            return None
        digest = hashlib.sha256()
        with handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()

    def upload(self, local: Path, relative: str) -> None:
        self.check_path(relative)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | NOFOLLOW | getattr(os, "O_BINARY", 0)
        with self._parent(relative, create=True) as (folder, name):
            target = os.open(name, flags, 0o644, dir_fd=folder)
        if hasattr(os, "fchmod"):
            os.fchmod(target, 0o644)  # readable by everyone, whatever the umask (issue 17 point 5)
        with local.open("rb") as source, os.fdopen(target, "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())

    def rename(self, relative: str, new_relative: str) -> None:
        self.check_path(relative)
        self.check_path(new_relative)
        with self._parent(relative) as (source, name), self._parent(new_relative) as (target, new_name):
            os.replace(name, new_name, src_dir_fd=source, dst_dir_fd=target)
            # A rename is durable across a power cut only once its folder is synced.
            if target is not None:
                os.fsync(target)

    def delete(self, relative: str) -> None:
        self.check_path(relative)
        try:
            with self._parent(relative) as (folder, name):
                os.unlink(name, dir_fd=folder)  # unlink never follows a link
        except (FileNotFoundError, NotADirectoryError):
            pass


class RcloneRemote:
    """Any rclone remote (Google Drive, OneDrive, SharePoint, SMB, WebDAV, S3 …) configured by
    the user; rclone is given argument lists only, never a shell line.

    The destination is listed once with --links, so that on rclone's local backend a
    symbolic link shows as `name.rclonelink`; a path through one is refused."""

    def __init__(self, spec: str, rclone: str = "rclone"):
        if shutil.which(rclone) is None:
            raise MissingDependency("rclone", "apt-get install rclone")
        # "remote:/" is the remote's root and "remote:" its home: only strip slashes after a path.
        while spec.endswith("/") and not spec.endswith(":/"):
            spec = spec[:-1]
        self.spec = spec
        self.rclone = rclone
        self.files: dict[str, int] = {}
        self.dirs: set[str] = set()

    def __str__(self) -> str:
        return self.spec

    def _path(self, relative: str) -> str:
        return f"{self.spec}{relative}" if self.spec.endswith((":", "/")) else f"{self.spec}/{relative}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([self.rclone, *args], capture_output=True, timeout=600)
        if check and result.returncode != 0:
            message = result.stderr.decode("utf-8", "replace").strip().splitlines()
            raise PublishError(f"rclone {args[0]} failed: {message[-1] if message else result.returncode}")
        return result

    def describe(self, relative: str) -> str:
        return self._path(relative)

    def prepare(self) -> None:
        self.files, self.dirs = {}, set()  # listed afresh: a library publish prepares once per document
        result = self._run("lsjson", "-R", "--links", "--no-modtime", "--no-mimetype", self.spec, check=False)
        if result.returncode == 3:  # directory not found: a first publish
            return
        if result.returncode != 0:
            message = result.stderr.decode("utf-8", "replace").strip().splitlines()
            raise PublishError(f"cannot list {self.spec}: {message[-1] if message else result.returncode}; nothing was changed")
        try:
            entries = json.loads(result.stdout.decode("utf-8"))
        except ValueError:
            raise PublishError(f"rclone lsjson gave an unreadable listing of {self.spec}") from None
        for entry in entries:
            if entry.get("IsDir"):
                self.dirs.add(entry["Path"])
            else:
                self.files[entry["Path"]] = entry.get("Size", -1)

    def check_path(self, relative: str) -> None:
        parts = relative.split("/")
        for index in range(1, len(parts) + 1):
            prefix = "/".join(parts[:index])
            if prefix + ".rclonelink" in self.files:
                raise PublishError(
                    f"{self._path(prefix)} is a symbolic link; publishing never follows links in the destination, "
                    "so nothing was changed. Replace the link with a real folder or file"
                )
            if index < len(parts) and prefix in self.files:
                raise PublishError(f"{self._path(prefix)} is not a folder, but {relative} needs it to be one; nothing was changed")
        if relative in self.dirs:
            raise PublishError(f"{self._path(relative)} is a folder, not a file; nothing was changed")

    def size(self, relative: str) -> int | None:
        return self.files.get(relative)

    def read_small(self, relative: str, limit: int) -> bytes | None:
        self.check_path(relative)
        if relative not in self.files:
            return None
        if self.files[relative] > limit:
            raise _refuse(self._path(relative), f"is {self.files[relative]:,} bytes, more than a manifest can be ({limit:,})")
        result = self._run("cat", "--count", str(limit + 1), self._path(relative), check=False)
        if result.returncode != 0:
            message = result.stderr.decode("utf-8", "replace").strip().splitlines()
            raise PublishError(f"cannot read {self._path(relative)}: {message[-1] if message else result.returncode}; nothing was changed")
        return result.stdout

    def sha256(self, relative: str) -> str | None:
        digest = hashlib.sha256()
        with subprocess.Popen([self.rclone, "cat", self._path(relative)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as cat:
            out = cat.stdout
            assert out is not None  # stdout=PIPE
            for chunk in iter(lambda: out.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest() if cat.returncode == 0 else None

    # --ignore-times: rclone would otherwise skip a file whose size and time match what is
    # there, and two versions of a file can share both.
    def upload(self, local: Path, relative: str) -> None:
        self.check_path(relative)
        self._run("copyto", "--ignore-times", str(local), self._path(relative))

    def rename(self, relative: str, new_relative: str) -> None:
        self.check_path(relative)
        self.check_path(new_relative)
        self._run("moveto", "--ignore-times", self._path(relative), self._path(new_relative))

    def delete(self, relative: str) -> None:
        self.check_path(relative)
        self._run("deletefile", self._path(relative), check=False)


class Subfolder:
    """One document's folder inside the destination (a library publish): every path is
    the parent destination's, prefixed, so each of its checks (links refused, folders where
    folders belong) covers the document's folder too."""

    def __init__(self, parent, folder: str):
        self.parent = parent
        self.folder = folder

    def __str__(self) -> str:
        return self.parent.describe(self.folder)

    def _at(self, relative: str) -> str:
        return f"{self.folder}/{relative}"

    def describe(self, relative: str) -> str:
        return self.parent.describe(self._at(relative))

    def prepare(self) -> None:
        self.parent.prepare()
        self.parent.check_path(self.folder, **({"folder": True} if isinstance(self.parent, LocalFolder) else {}))

    def check_path(self, relative: str) -> None:
        self.parent.check_path(self._at(relative))

    def size(self, relative: str) -> int | None:
        return self.parent.size(self._at(relative))

    def read_small(self, relative: str, limit: int) -> bytes | None:
        return self.parent.read_small(self._at(relative), limit)

    def sha256(self, relative: str) -> str | None:
        return self.parent.sha256(self._at(relative))

    def upload(self, local: Path, relative: str) -> None:
        self.parent.upload(local, self._at(relative))

    def rename(self, relative: str, new_relative: str) -> None:
        self.parent.rename(self._at(relative), self._at(new_relative))

    def delete(self, relative: str) -> None:
        self.parent.delete(self._at(relative))


def library_documents(manifest: dict, where: str) -> list[str] | None:
    """A library manifest's document folders (each a plain name), or None for one document's."""
    if not manifest.get("library"):
        return None
    documents = manifest.get("documents")
    if not isinstance(documents, list):
        raise _refuse(where, 'is a library manifest without a "documents" list')
    for number, folder in enumerate(documents, 1):
        problem = path_problem(folder) or reserved_problem(folder)
        if problem is None and ("/" in folder or folder.startswith(".") or folder in (MANIFEST, "index.html")):
            problem = "is not a plain folder name"
        if problem:
            raise _refuse(where, f'entry {number} of "documents" ({_shown(folder)}) {problem}')
    return list(dict.fromkeys(documents))


def configured_remotes(rclone: str = "rclone") -> set[str]:
    """Remote names as rclone itself knows them (its config file, honouring RCLONE_CONFIG,
    and RCLONE_CONFIG_<NAME>_TYPE variables)."""
    if shutil.which(rclone) is None:
        raise MissingDependency("rclone", "apt-get install rclone")
    result = subprocess.run([rclone, "listremotes"], capture_output=True, timeout=60)
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise PublishError(f"rclone listremotes failed: {message[-1] if message else result.returncode}")
    return {line[:-1] for line in result.stdout.decode("utf-8", "replace").splitlines() if line.endswith(":")}


def destination_for(spec: str):
    """A local folder or an rclone remote, told apart the way rclone tells them apart."""
    if not spec:
        raise PublishError("the destination (--to) is empty; give a folder or an rclone remote such as drive:Accessible")
    if ON_WINDOWS and WINDOWS_DRIVE_RE.match(spec):
        return LocalFolder(Path(spec))  # rclone, too, reads C:\... as a drive on Windows
    if spec.startswith(":"):
        if not ON_THE_FLY_RE.match(spec):
            raise PublishError(f"{spec!r} is neither a folder nor an rclone remote: on-the-fly remotes are written :backend:path")
        return RcloneRemote(spec)
    match = REMOTE_NAME_RE.match(spec)
    if match is None:
        return LocalFolder(Path(spec))
    name = match.group(1)
    try:
        remotes = configured_remotes()
    except MissingDependency:
        raise PublishError(
            f"{spec!r} names an rclone remote, but rclone is not installed (apt-get install rclone). "
            f"For a local folder whose name has a colon, write ./{spec}"
        ) from None
    if name in remotes:
        return RcloneRemote(spec)
    hint = (
        " A Windows drive path is not a folder on this system."
        if len(name) == 1
        else " Set it up with `rclone config`, or check RCLONE_CONFIG."
    )
    raise PublishError(
        f"{spec!r} names an rclone remote {name!r}, but no remote of that name is configured "
        f"(see `rclone listremotes`).{hint} For a local folder whose name has a colon, write ./{spec}"
    )


def _interim_manifest(manifest: dict, dropped: set[str]) -> bytes:
    """The destination's manifest without the entries about to be replaced."""
    interim = dict(manifest)
    interim["files"] = [entry for entry in manifest["files"] if entry["path"] not in dropped]
    formats = manifest.get("formats")
    if isinstance(formats, dict):
        interim["formats"] = {
            name: (
                {**entry, "files": {k: v for k, v in entry["files"].items() if k not in dropped}}
                if isinstance(entry, dict) and isinstance(entry.get("files"), dict)
                else entry
            )
            for name, entry in formats.items()
        }
    return (json.dumps(interim, indent=2, sort_keys=True) + "\n").encode("utf-8")


def publish(outputs: Path | str, to: str, dry_run: bool = False, destination=None) -> PublishReport:
    """Publish the built ``outputs`` folder to ``to``. No build writes the folder while it is
    read, and a step a killed build left half done is finished first (``settled_outputs``)."""
    outputs = Path(outputs)
    if not outputs.is_dir():
        raise PublishError(f"no outputs folder at {outputs}: build before publishing", outputs)
    with settled_outputs(outputs):
        top = (outputs / MANIFEST).read_bytes() if (outputs / MANIFEST).is_file() else None
        documents = library_documents(parse_manifest(top, str(outputs / MANIFEST))[0], str(outputs / MANIFEST)) if top else None
        if documents is None:
            return _publish(outputs, to, dry_run, destination)
    return publish_library(outputs, documents, to, dry_run, destination)


def publish_library(outputs: Path, documents: list[str], to: str, dry_run: bool, destination) -> PublishReport:
    """A library (issue 17 point 3): each document's folder is published as one document
    into the same folder of the destination, with its own manifest and journal, so stale
    removal only ever touches what this tool published for that document; the catalogue
    and the library manifest go last, so they never link to a file not yet there. A
    document the destination's library manifest lists but this build no longer has is
    emptied the same way (its published files removed, nothing else)."""
    dest = destination or destination_for(to)
    dest.prepare()
    report = PublishReport(str(dest), dry_run=dry_run)
    remote_bytes = dest.read_small(MANIFEST, MAX_MANIFEST_BYTES)
    where = f"the destination's manifest {dest.describe(MANIFEST)}"
    earlier = (library_documents(parse_manifest(remote_bytes, where)[0], where) or []) if remote_bytes is not None else []
    for folder in documents:
        if not (outputs / folder / MANIFEST).is_file():
            raise PublishError(f"{outputs / folder} has no {MANIFEST}: build the library before publishing", outputs)
        with settled_outputs(outputs / folder):
            report.add(folder, _publish(outputs / folder, to, dry_run, Subfolder(dest, folder)))
    with tempfile.TemporaryDirectory() as empty:
        (Path(empty) / MANIFEST).write_text('{"files": []}\n', encoding="utf-8")
        for folder in sorted(set(earlier) - set(documents)):
            gone = Subfolder(dest, folder)
            gone.check_path(MANIFEST)
            if gone.read_small(MANIFEST, MAX_MANIFEST_BYTES) is None:
                continue  # no manifest of ours there: nothing in it is ours to remove, or to write
            report.add(folder, _publish(Path(empty), to, dry_run, gone))
    with settled_outputs(outputs):
        top = _publish(outputs, to, dry_run, dest)
    report.sent += top.sent
    report.unchanged += top.unchanged
    report.removed += top.removed
    return report


def _publish(outputs: Path, to: str, dry_run: bool, destination) -> PublishReport:
    local_manifest_bytes = (outputs / MANIFEST).read_bytes() if (outputs / MANIFEST).is_file() else None
    if local_manifest_bytes is None:
        raise PublishError(f"no {MANIFEST} in {outputs}: build before publishing", outputs)
    _, local = parse_manifest(local_manifest_bytes, str(outputs / MANIFEST))
    sizes: dict[str, int] = {}
    for relative, digest in local.items():
        path = outputs / relative
        if not path.is_file() or sha256_file(path) != digest:
            raise PublishError(f"{relative} does not match the manifest: rebuild before publishing", outputs)
        sizes[relative] = path.stat().st_size

    dest = destination or destination_for(to)
    dest.prepare()
    remote_bytes = dest.read_small(MANIFEST, MAX_MANIFEST_BYTES)
    remote_manifest, remote = parse_manifest(remote_bytes, f"the destination's manifest {dest.describe(MANIFEST)}") if remote_bytes is not None else ({}, {})
    journal_bytes = dest.read_small(JOURNAL, MAX_MANIFEST_BYTES)
    old_partials, owned = parse_journal(journal_bytes, f"the publish journal {dest.describe(JOURNAL)}") if journal_bytes is not None else ([], set())
    # Refuse links and misplaced paths before the first change, not half-way through.
    for origin, paths in (
        (f"the destination's manifest {dest.describe(MANIFEST)}", set(remote)),
        (f"the publish journal {dest.describe(JOURNAL)}", owned | set(old_partials)),
        (f"the build ({outputs / MANIFEST})", set(local)),
        ("publishing", {JOURNAL, JOURNAL_TMP}),
    ):
        for relative in sorted(paths):
            try:
                dest.check_path(relative)
            except PublishError as exc:
                raise PublishError(f"{origin} names {relative!r}, but {exc}") from None

    # A file the manifest vouches for but that is missing or of the wrong size (a hand edit,
    # or a publish by an older version killed mid-way) is sent again. Some remotes cannot
    # tell a size (-1); those are trusted.
    def needs_sending(relative: str) -> bool:
        size = dest.size(relative)
        return remote.get(relative) != local[relative] or size is None or size not in (sizes[relative], -1)

    changed = sorted(filter(needs_sending, local))
    report = PublishReport(str(dest), dry_run=dry_run)
    report.sent = changed
    report.unchanged = sorted(set(local) - set(changed))
    report.removed = sorted((set(remote) | owned) - set(local))  # ours by a manifest or journal, gone from the build
    if dry_run or (not changed and not report.removed and journal_bytes is None and remote_bytes == local_manifest_bytes):
        return report

    token = secrets.token_hex(8)
    partial_of = {rel: f"{rel}.{token}{PARTIAL}" for rel in changed}
    manifest_partial = f"{MANIFEST}.{token}{PARTIAL}"
    for relative in [*partial_of.values(), manifest_partial]:
        dest.check_path(relative)
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)

        def put(relative: str, data: bytes, temporary: str) -> None:
            staged = scratch / "staged"
            staged.write_bytes(data)
            dest.upload(staged, temporary)
            if dest.sha256(temporary) != hashlib.sha256(data).hexdigest():
                raise PublishError(f"{relative} arrived damaged at {dest}; the previous version is still published")
            dest.rename(temporary, relative)

        journal = {
            "partials": sorted(set(old_partials) | set(partial_of.values()) | {manifest_partial}),
            "owned": sorted(set(remote) | owned | set(local)),
        }
        put(JOURNAL, json.dumps(journal, indent=1).encode("utf-8"), JOURNAL_TMP)
        for leftover in old_partials:  # from an earlier publish that was interrupted
            dest.delete(leftover)
        for relative in changed:
            dest.upload(outputs / relative, partial_of[relative])
            if dest.sha256(partial_of[relative]) != local[relative]:
                dest.delete(partial_of[relative])
                raise PublishError(f"{relative} arrived damaged at {dest}; the previous version is still published")
        replaced = set(changed) & set(remote)
        if replaced:
            put(MANIFEST, _interim_manifest(remote_manifest, replaced), manifest_partial)
        for relative in changed:
            dest.rename(partial_of[relative], relative)
        put(MANIFEST, local_manifest_bytes, manifest_partial)
    for relative in report.removed:
        dest.delete(relative)
    dest.delete(JOURNAL)
    return report
