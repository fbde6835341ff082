"""Runs the writers: checks the source, skips what is up to date, stages, and moves into place.

Each writer writes into a private staging folder inside the output folder (same file
system), and only when it has finished are its files renamed over the old ones, so a build
that fails or is killed leaves every output either the old complete file or the new one.

Why one module of about 850 lines: its three parts (the up-to-date record, the build, the
outputs folder's lock, journal and ledger) share one invariant, that the outputs folder
always matches its manifest, and each part writes files the others read back. Kept side by
side, every change to that record is visible with everything that relies on it; the parts
are marked by the ``# ----`` section lines.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Protocol

from .labels import reset_warnings as reset_label_warnings
from . import __version__
from .errors import FormatforgeError, SourceProblems
from .cache_folder import inside_cache, usable_cache_dir
from .hashing import sha256_file
from .formats import BuildContext, available_formats, get_writer

if TYPE_CHECKING:
    from .model import Document
    from .reader import Diagnostic

    # What reads a master for a build: ``read_checked``, or a resident process's kept models (watch).
    Reader = Callable[[Path], tuple[Document, list[Diagnostic]]]

# The reader, the check and the download page are imported when a build reads the master:
# a build with nothing to do (``_unchanged_build``) never does.

MANIFEST = "manifest.json"
DOWNLOAD_PAGE = "index.html"
PAGE_FORMAT = "download-page"


class BuildObserver(Protocol):
    def started(self, name: str) -> None: ...
    def progress(self, name: str, fraction: float, message: str) -> None: ...
    def finished(self, result: "FormatResult") -> None: ...


class SilentObserver:
    def started(self, name: str) -> None:
        pass

    def progress(self, name: str, fraction: float, message: str) -> None:
        pass

    def finished(self, result: "FormatResult") -> None:
        pass


@dataclass
class FormatResult:
    name: str
    status: str  # "built", "up to date" or "failed"
    files: list[str] = field(default_factory=list)
    seconds: float = 0.0
    message: str = ""
    detail: str = ""  # the traceback, shown only with --debug
    work: str = ""  # what the writer did, when it says (the speech writers: units encoded and reused)


@dataclass
class BuildReport:
    source: Path
    out_dir: Path
    diagnostics: list[Diagnostic]
    results: list[FormatResult]

    @property
    def ok(self) -> bool:
        return all(r.status != "failed" for r in self.results)


class CheckFailed(FormatforgeError):
    """The source has errors (M rules or unreadable images); nothing was built."""

    def __init__(self, diagnostics: list[Diagnostic]):
        from .source_rules import errors

        found = errors(diagnostics)
        super().__init__(f"{len(found)} error(s) in the source; nothing was built")
        self.diagnostics = diagnostics


# ---------------------------------------------------------------- up to date by stat first (issue 21 point 3)

STATE = ".formatforge-state.json"  # beside the manifest; never published (publish sends what the manifest names)

# A file's look without reading it: size, mtime, inode and ctime (nanoseconds). ctime is in
# because it is the one the owner cannot set back: writing new bytes of the same size and
# then setting the mtime back (``touch -d``) still moves ctime, so the file is hashed.
Look = tuple[int, int, int, int]

# A look taken within one clock tick of the file's last change is not trusted later: a second
# write in the same tick, of the same size, would keep the same look. Such a file is hashed
# next time, and its look recorded then (git's "racily clean" rule). The tick is the file
# system's: a timestamp in whole hundredths of a second or coarser (FAT's 2 s, exFAT's 10 ms,
# 1 s on ext3, HFS+ and some network mounts) gets the 2 s margin; a finer one (ext4, XFS,
# btrfs, tmpfs, APFS, NTFS: the kernel's clock, which ticks every few milliseconds) 100 ms.
RACY_NS = 2_000_000_000
FINE_RACY_NS = 100_000_000


def settled(look: Look, now: int | None = None) -> bool:
    """Whether a look was taken long enough after the file's last change to be trusted."""
    changed = max(look[1], look[3])
    coarse = look[1] % 10_000_000 == 0 and look[3] % 10_000_000 == 0
    return (now or time.time_ns()) - changed > (RACY_NS if coarse else min(FINE_RACY_NS, RACY_NS))


def look_of(path: Path) -> Look | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns)


class FileDigests:
    """SHA-256 of files, taken from the last build's record when a file's look (size, mtime,
    inode, ctime) is what it was then, hashed otherwise. The record is a cache, read as
    hostile input: a malformed one costs hashing, never a wrong answer about a file whose
    look changed, and never a read outside the folder or a crash."""

    def __init__(self, record: object = None):
        self.known: dict[str, tuple[Look, str]] = {}
        if isinstance(record, dict):
            for key, value in record.items():
                if (isinstance(key, str) and isinstance(value, list) and len(value) == 5
                        and all(type(v) is int for v in value[:4]) and isinstance(value[4], str) and len(value[4]) == 64):
                    self.known[key] = ((value[0], value[1], value[2], value[3]), value[4])
        self.seen: dict[str, tuple[Look, str]] = {}  # what this build confirmed, for the next record
        self.absent: set[str] = set()  # files asked about that were not there (a lexicon not written yet)
        self.asked: set[str] = set()  # every file asked about
        self.mutex = threading.Lock()

    def digest(self, path: Path, key: str | None = None, expected: str | None = None) -> str | None:
        """The file's SHA-256 (None if it cannot be read). A recorded digest is used only when
        the look is unchanged and, given ``expected`` (the manifest's digest), equal to it."""
        key = key or str(path)
        look = look_of(path)
        if look is None:
            with self.mutex:
                self.asked.add(key)
            return None
        remembered = self.recorded(path, key, expected, look)
        if remembered is not None:
            return remembered
        try:
            value = sha256_file(path)
        except OSError:
            return None
        if look_of(path) == look:  # not changed while it was read
            self.remember(key, look, value)
        return value

    def recorded(self, path: Path, key: str | None = None, expected: str | None = None,
                 look: Look | None = None) -> str | None:
        """The file's digest as recorded for its look as it is now, never hashing: what this
        build confirmed (a file another format put in place a moment ago, from bytes it
        hashed), then what the last build recorded; None when neither holds."""
        key = key or str(path)
        with self.mutex:
            self.asked.add(key)
            seen = self.seen.get(key)
        look = look or look_of(path)
        if look is None:
            return None
        for remembered in (seen, self.known.get(key)):
            if remembered is not None and remembered[0] == look and (expected is None or remembered[1] == expected):
                self.remember(key, look, remembered[1])
                return remembered[1]
        return None

    def remember(self, key: str, look: Look | None, value: str, ours: bool = False) -> None:
        """Keeps a look for the next build. ``ours``: a file this build has just put in place
        from bytes it hashed itself, trusted at once (only a write by someone else within
        the same clock tick, of the same size, would go unseen)."""
        if look is not None and (ours or settled(look)):
            with self.mutex:
                self.seen[key] = (look, value)

    def record(self, keep: set[str] | None = None) -> dict[str, list]:
        """What this build confirmed; with ``keep``, also the earlier record of those keys (the
        formats this build did not look at)."""
        merged = {key: known for key, known in self.known.items() if keep is not None and key in keep}
        merged.update(self.seen)
        return {key: [*look, value] for key, (look, value) in sorted(merged.items())}


def read_json_object(path: Path) -> dict:
    """A JSON object the tool wrote earlier (a manifest, a record), or {} when it is missing,
    unreadable or not an object: such files are hostile input, and a bad one costs a rebuild."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _read_state(out_dir: Path) -> dict:
    return read_json_object(out_dir / STATE)


def load_state(out_dir: Path) -> dict[str, FileDigests]:
    """The stat record of the last build: ``outputs`` (by path inside the folder) and
    ``inputs`` (the images and lexicon, by absolute path)."""
    data = _read_state(out_dir)
    return {part: FileDigests(data.get(part)) for part in ("outputs", "inputs")}


def save_state(out_dir: Path, state: dict[str, FileDigests], outputs: set[str], unchanged: dict | None = None) -> None:
    record = {"outputs": state["outputs"].record(keep=outputs), "inputs": state["inputs"].record()}
    if unchanged:
        record["unchanged"] = unchanged
    try:
        atomic_write_text(out_dir / STATE, json.dumps(record))
    except OSError:
        pass  # only a cache: the next build hashes instead


def read_checked(source: Path) -> tuple[Document, list[Diagnostic]]:
    """The master read into the model and checked; CheckFailed when it has errors."""
    from .source_rules import check, errors
    from .reader import read_source

    try:
        result = read_source(source)
    except SourceProblems as exc:
        raise CheckFailed(exc.diagnostics) from None
    diagnostics = check(result)
    if errors(diagnostics):
        raise CheckFailed(diagnostics)
    return result.document, diagnostics


# ---------------------------------------------------------------- nothing changed: no reading at all

# A rebuild with nothing changed spent most of its time reading and checking the master (0.3 s
# at 10,000 words). The last good build records the master's look and digest, every file the
# format keys were made from (absent ones too: a lexicon written later must be seen), the keys
# and the check's findings; when all of that is as it was, and every output is the one its
# manifest names, the build is up to date without reading the master or loading a writer.


def _options_text(options: dict[str, Any]) -> str:
    return json.dumps(options, sort_keys=True, default=str)


def _unchanged_record(source: Path, names: list[str], options: dict[str, Any], keys: dict[str, str],
                      inputs: FileDigests, diagnostics: list[Diagnostic]) -> dict | None:
    master = look_of(source)
    if master is None or not settled(master):
        return None  # saved a moment ago: could change again unseen within the same tick
    if inputs.asked - set(inputs.seen):
        return None  # a file it uses was changed a moment ago: its look is not to be trusted yet
    depends: dict[str, list | None] = {key: list(look) for key, (look, _) in inputs.seen.items()}
    depends.update({path: None for path in inputs.absent})
    return {
        "version": __version__,
        "master": [str(source.resolve()), *master],
        "options": _options_text(options),
        "keys": dict(sorted(keys.items())),
        "depends": depends,
        "diagnostics": [[d.rule, d.severity, d.message, str(d.path), d.line] for d in diagnostics],
    }


def _master_as_recorded(source: Path, out_dir: Path) -> bool:
    """A first look, before the folder is locked: only a master whose look is the one the
    last good build recorded can be up to date without being read. (A master with errors is
    never recorded, so a build that stops at its check leaves the folder as it was.)"""
    record = _read_state(out_dir).get("unchanged")
    master = record.get("master") if isinstance(record, dict) else None
    look = look_of(source)
    return isinstance(master, list) and look is not None and master[1:] == list(look)


def _unchanged_build(source: Path, out_dir: Path, names: list[str], options: dict[str, Any],
                     observer: "BuildObserver") -> BuildReport | None:
    """The report of a build with nothing to do, made from the last build's record, or None
    when anything (the master, a file it uses, the options, the formats, an output) may
    have changed. The record is read as hostile input: anything unexpected means None."""
    data = _read_state(out_dir)
    record = data.get("unchanged")
    if not isinstance(record, dict) or record.get("version") != __version__:
        return None
    master, keys, depends = record.get("master"), record.get("keys"), record.get("depends")
    if not (isinstance(master, list) and len(master) == 5 and isinstance(keys, dict) and isinstance(depends, dict)):
        return None
    if master[0] != str(source.resolve()) or list(look_of(source) or ()) != master[1:]:
        return None
    if record.get("options") != _options_text(options) or not all(isinstance(keys.get(name), str) for name in names):
        return None
    for path, look in depends.items():
        now = look_of(Path(path))
        if (list(now) if now is not None else None) != look:
            return None
    diagnostics = []
    for item in record.get("diagnostics") or []:
        if not (isinstance(item, list) and len(item) == 5 and all(isinstance(v, str) for v in item[:4]) and type(item[4]) is int):
            return None
        from .front_matter import Diagnostic  # only when there are findings to show again

        diagnostics.append(Diagnostic(item[0], item[1], item[2], Path(item[3]), item[4]))
    manifest = load_manifest(out_dir)
    if manifest.get("library"):
        return None
    entries = manifest.get("formats", {})
    outputs = FileDigests(data.get("outputs"))
    page = entries.get(PAGE_FORMAT)
    if not page or not up_to_date({**page, "key": ""}, "", out_dir, outputs):
        return None
    for name in names:
        if not up_to_date(entries.get(name), keys[name], out_dir, outputs):
            return None
    results = []
    for name in names:
        observer.started(name)
        results.append(FormatResult(name, "up to date", sorted(entries[name]["files"])))
        observer.finished(results[-1])
    if outputs.seen != {key: known for key, known in outputs.known.items() if key in outputs.seen}:
        # a touched output was hashed: keep its new look, and the rest of the record as it was
        data["outputs"] = outputs.record(keep=set(outputs.known))
        try:
            atomic_write_text(out_dir / STATE, json.dumps(data))
        except OSError:
            pass
    return BuildReport(source, out_dir, diagnostics, results)


def input_fingerprint(document: Document, digests: FileDigests | None = None) -> str:
    """The source and every file it pulls in (images, the cover, the pronunciation lexicon)."""
    digests = digests or FileDigests()
    digest = hashlib.sha256(document.source_sha256.encode())
    extra = sorted({img.src for img in document.images()} | ({document.metadata.cover} if document.metadata.cover else set()))
    for relative in extra:
        path = document.source_dir / relative
        if path.is_file():
            value = digests.digest(path.resolve())
            if value is not None:
                digest.update(relative.encode() + b"\0" + value.encode())
    return digest.hexdigest()


def format_key(name: str, writer, inputs: str, options: dict[str, Any], document: Document,
               digests: FileDigests | None = None) -> str:
    """``options``: the writer's own (``Writer.options_for``), every one it may read."""
    digests = digests or FileDigests()
    chosen = dict(options)
    extra = [str(p) + ":" + (digests.digest(p.resolve()) or "") for p in writer.input_files(document, options) if p.is_file()]
    digests.absent.update(str(p.resolve()) for p in writer.input_files(document, options) if not p.is_file())
    material = json.dumps([__version__, name, inputs, chosen, extra], sort_keys=True, default=str)
    return hashlib.sha256(material.encode()).hexdigest()


def _uses_cache(name: str) -> bool:
    try:
        return get_writer(name).uses_cache
    except FormatforgeError:
        return False  # reported as that format's failure when the writers run


def load_manifest(out_dir: Path) -> dict:
    """The outputs folder's manifest, keeping only well-formed format entries: one edited by
    hand (a list where a mapping belongs, a path leading out of the folder) costs a rebuild
    of that format, never a crash or a read outside the folder."""
    try:
        manifest = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(manifest, dict):
        return {}
    formats = manifest.get("formats")
    manifest["formats"] = {
        name: entry for name, entry in (formats.items() if isinstance(formats, dict) else ())
        if isinstance(entry, dict) and isinstance(entry.get("files"), dict) and all(
            _inside(out_dir, relative) is not None and isinstance(info, dict)
            and isinstance(info.get("size"), int) and isinstance(info.get("sha256"), str)
            for relative, info in entry["files"].items()
        )
    }
    return manifest


def up_to_date(entry: dict | None, key: str, out_dir: Path, digests: FileDigests | None = None) -> bool:
    """Every file of the format is the one the manifest names: by its look when that is
    unchanged since the last build, by its content otherwise."""
    if not entry or entry.get("key") != key:
        return False
    digests = digests or FileDigests()
    for relative, info in entry.get("files", {}).items():
        path = out_dir / relative
        if not path.is_file() or path.is_symlink() or path.stat().st_size != info.get("size"):
            return False
        if digests.digest(path, relative, expected=info.get("sha256")) != info.get("sha256"):
            return False
    return True


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


# Outputs go on shared drives and web servers: every file is readable by everyone and
# every folder listable, whatever the umask or mkstemp (0600) and mkdtemp (0700) gave them.
FILE_MODE = 0o644
FOLDER_MODE = 0o755


def make_readable(out_dir: Path, target: Path) -> None:
    """The folders from ``out_dir`` down to ``target``'s parent made 0755 (issue 17 point 5)."""
    folder = target.parent
    while folder != out_dir and out_dir in folder.parents:
        if folder.stat().st_mode & 0o777 != FOLDER_MODE:
            folder.chmod(FOLDER_MODE)
        folder = folder.parent


def atomic_write_bytes(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(handle, FILE_MODE)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def move_into_place(staging: Path, out_dir: Path, files: list[str]) -> None:
    for relative in files:
        source = staging / relative
        if not source.is_file():
            raise FormatforgeError(f"the writer reported {relative} but did not write it")
        target = out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        make_readable(out_dir, target)
        if target.is_file() and os.path.samefile(source, target):
            # The writer reused the file in place (a link to it): a rename onto the same file
            # does nothing and would leave the link behind, to move the file's ctime later.
            source.unlink()
            continue
        with source.open("rb") as handle:
            os.fchmod(handle.fileno(), FILE_MODE)
            os.fsync(handle.fileno())
        os.replace(source, target)


def build(
    source: Path | str,
    out_dir: Path | str,
    formats: list[str] | None = None,
    options: dict[str, Any] | None = None,
    cache_dir: Path | None = None,
    observer: BuildObserver | None = None,
    force: bool = False,
    jobs: int | None = None,
    lock_wait: float = 300,
    reader: Reader | None = None,
) -> BuildReport:
    """Build ``formats`` (all by default) of ``source`` into ``out_dir``, ``jobs`` lanes of
    writers at a time (by default one per core). Another build writing the same folder is
    waited for up to ``lock_wait`` seconds. ``reader`` reads and checks the master
    (``read_checked`` by default; watch passes one that keeps unchanged masters' models)."""
    source, out_dir = Path(source), Path(out_dir)
    options = dict(options or {})
    reset_label_warnings()  # a label missing from a catalogue is warned about once per build
    observer = observer or SilentObserver()
    names = list(dict.fromkeys(formats or available_formats()))
    unknown = [name for name in names if name not in available_formats()]
    if unknown:
        raise FormatforgeError(f"unknown format {unknown[0]!r}; the formats are: {', '.join(available_formats())}")

    if cache_dir is not None:
        cache_dir = Path(cache_dir)
        if any(_uses_cache(name) for name in names):
            usable_cache_dir(cache_dir)  # before anything is built: a cache problem said as one
    if not force and reader is None and _master_as_recorded(source, out_dir):
        try:
            with outputs_lock(out_dir, lock_wait):
                repair_outputs(out_dir)
                unchanged = _unchanged_build(source, out_dir, names, options, observer)
            if unchanged is not None:
                return unchanged
        except (OSError, FormatforgeError):
            pass  # the build proper says what is wrong
    document, diagnostics = (reader or read_checked)(source)

    try:
        if not out_dir.is_dir():
            out_dir.mkdir(parents=True, exist_ok=True)
            out_dir.chmod(FOLDER_MODE)  # ours: readable like its files (an existing one is the user's)
    except OSError as exc:
        raise FormatforgeError(f"cannot create the output folder: {exc.strerror}", out_dir) from None
    if not os.access(out_dir, os.W_OK):
        raise FormatforgeError("the output folder is not writable; nothing was built", out_dir)

    with outputs_lock(out_dir, lock_wait):
        repair_outputs(out_dir)
        if load_manifest(out_dir).get("library"):
            # One master's files written over a library's top would orphan its catalogue.
            raise FormatforgeError(
                f"{out_dir}/ holds a library of documents: build the folder of masters into it "
                f"(formatforge build source/), or give this master its own folder (-o {out_dir / source.stem})"
            )
        return _build_locked(source, out_dir, document, names, options, cache_dir, observer, force, jobs,
                             BuildReport(source, out_dir, diagnostics, []))


def _build_locked(source, out_dir, document, names, options, cache_dir, observer, force, jobs, report) -> BuildReport:
    """The build proper, with the outputs folder locked and any killed build's work settled."""
    manifest = load_manifest(out_dir)
    previous = manifest.get("formats", {})
    if not isinstance(previous, dict):
        previous = {}
    state = load_state(out_dir)
    inputs = input_fingerprint(document, state["inputs"])
    ledger = Ledger(out_dir, document, previous, state["outputs"])

    def build_one(name: str) -> FormatResult:
        observer.started(name)
        began = time.perf_counter()
        writer = writers[name]
        try:
            own = writer.options_for(options)
        except FormatforgeError as exc:  # a value the option does not take
            outcome = FormatResult(name, "failed", message=str(exc))
        else:
            key = format_key(name, writer, inputs, own, document, state["inputs"])
            keys[name] = key
            if not force and up_to_date(previous.get(name), key, out_dir, state["outputs"]):
                outcome = FormatResult(name, "up to date", sorted(previous[name]["files"]))
            else:
                outcome = run_writer(name, writer, document, out_dir, own, cache_dir, observer, ledger, key)
        outcome.seconds = time.perf_counter() - began
        observer.finished(outcome)
        return outcome

    writers: dict[str, Any] = {}
    outcomes: dict[str, FormatResult] = {}
    keys: dict[str, str] = {}
    for name in names:
        try:
            writers[name] = get_writer(name)
        except FormatforgeError as exc:
            outcomes[name] = FormatResult(name, "failed", message=str(exc))
            observer.started(name)
            observer.finished(outcomes[name])

    # Writers in one lane run in order (the speech writers share synthesised sentences);
    # lanes run side by side, which overlaps LibreOffice and the speech engines' own
    # processes with the pure-Python writers.
    lanes: dict[str, list[str]] = {}
    for name in writers:
        lanes.setdefault(writers[name].lane or name, []).append(name)

    def run_lane(lane: list[str]) -> None:
        for name in lane:
            outcomes[name] = build_one(name)

    # The slow lanes first (their writers say so), each on its own thread; the rest queue
    # behind them in format order.
    ordered = sorted(lanes.values(), key=lambda lane: not any(writers[name].slow for name in lane))
    with ThreadPoolExecutor(max_workers=max(1, min(jobs or os.cpu_count() or 1, len(lanes) or 1))) as pool:
        for future in [pool.submit(run_lane, lane) for lane in ordered]:
            future.result()
    report.results = [outcomes[name] for name in names]

    try:
        from . import download_page

        ledger.commit_page(download_page.render(document, out_dir, ledger.formats(), options))
    except OSError as exc:
        failures = "; ".join(f"{r.name}: {r.message}" for r in report.results if r.status == "failed")
        raise FormatforgeError(
            f"cannot write the manifest: {exc.strerror or exc}" + (f" (and {failures})" if failures else ""), out_dir
        ) from None
    unchanged = None
    if report.ok and len(keys) == len(names):
        unchanged = _unchanged_record(source, names, options, keys, state["inputs"], report.diagnostics)
    save_state(out_dir, state, {relative for entry in ledger.formats().values() for relative in entry["files"]}, unchanged)
    return report


# ---------------------------------------------------------------- the outputs folder, always matching its manifest

LOCK_FILE = ".formatforge-lock"
JOURNAL = ".formatforge-journal.json"


@contextmanager
def outputs_lock(out_dir: Path, wait: float = 300, shared: bool = False) -> Iterator[None]:
    """Holds the outputs folder for one build (or, ``shared``, for readers that copy it).

    Two builds at once each merged their formats into the manifest they had read at the
    start, and the later one's write lost the other's. The lock is ``flock`` on a file in
    the folder: the kernel lets it go when the process ends, however it ends."""
    import fcntl

    path = out_dir / LOCK_FILE
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as exc:
        raise FormatforgeError(f"cannot lock the output folder: {exc.strerror or exc}", out_dir) from None
    try:
        if os.fstat(descriptor).st_uid == os.getuid():
            os.fchmod(descriptor, FILE_MODE)  # a web server copying the folder can read it too
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(descriptor, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(descriptor, 32, 0).decode("ascii", "replace").strip()
                    raise FormatforgeError(
                        f"another build is writing {out_dir}/" + (f" (process {holder})" if holder.isdigit() else "")
                        + f"; waited {wait:g} s. Nothing was built: try again when it has finished"
                    ) from None
                time.sleep(0.05)
            except OSError as exc:
                if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL):
                    break  # a file system without locks (some network mounts): build unlocked
                raise
        if not shared:
            os.ftruncate(descriptor, 0)
            os.pwrite(descriptor, f"{os.getpid()}\n".encode("ascii"), 0)
        yield
    finally:
        os.close(descriptor)


@contextmanager
def settled_outputs(out_dir: Path, wait: float = 300) -> Iterator[None]:
    """For a reader that copies the outputs folder (publishing): while the block runs no
    build writes it, and a step a killed build left half done has been finished, so every
    file is the one the manifest names."""
    with outputs_lock(Path(out_dir), wait):
        repair_outputs(Path(out_dir))
        yield


def _inside(out_dir: Path, relative: object) -> Path | None:
    """``out_dir / relative`` for a plain relative path that stays inside, else None."""
    if not isinstance(relative, str) or not relative or relative.startswith(("/", "\\")):
        return None
    parts = Path(relative).parts
    if ".." in parts or any(part in ("", ".") for part in parts):
        return None
    return out_dir / relative


def repair_outputs(out_dir: Path) -> None:
    """Settles what a killed build left, with the folder locked: a commit it had begun is
    finished from its journal (its files are still in staging), then staging is cleared."""
    journal = out_dir / JOURNAL
    try:
        data = json.loads(journal.read_text(encoding="utf-8"))
    except FileNotFoundError:
        data = None
    except (OSError, ValueError):
        data = {}  # never half written (it is renamed into place): not ours, so not acted on
    if data is not None:
        moves = data.get("moves") if isinstance(data, dict) else None
        manifest = data.get("manifest") if isinstance(data, dict) else None
        if isinstance(moves, list) and isinstance(manifest, str):
            for move in moves:
                if not (isinstance(move, list) and len(move) == 2):
                    continue
                staged, target = _inside(out_dir, move[0]), _inside(out_dir, move[1])
                if staged is None or target is None or not move[0].startswith(".staging-"):
                    continue
                if staged.is_file() and not staged.is_symlink():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    make_readable(out_dir, target)
                    staged.chmod(FILE_MODE)
                    os.replace(staged, target)
            atomic_write_text(out_dir / MANIFEST, manifest)
        journal.unlink(missing_ok=True)
    for folder in out_dir.glob(".staging-*"):
        shutil.rmtree(folder, ignore_errors=True)  # the lock is ours: no build is using them
    for leftover in out_dir.glob(".*.tmp"):
        if leftover.name.startswith((f".{MANIFEST}.", f".{DOWNLOAD_PAGE}.", f".{JOURNAL}.", f".{STATE}.")):
            leftover.unlink(missing_ok=True)


class Ledger:
    """The manifest as this build changes it, one writer at a time.

    Each writer's files go into place as one step with the manifest that names them: the
    journal (the new manifest and the renames) is written first, then the files are
    renamed, then the manifest; a build killed in between is finished from the journal by
    the next (``repair_outputs``). So the folder matches its manifest after every writer,
    not only at the end of the build."""

    def __init__(self, out_dir: Path, document: Document, previous: dict[str, dict], digests: FileDigests | None = None):
        self.out_dir = out_dir
        self.digests = digests or FileDigests()  # the files' looks once in place, for the next build
        self.document = document
        self.entries = {name: entry for name, entry in previous.items() if isinstance(entry, dict)}
        self.mutex = threading.Lock()
        self.stuck = ""  # why a commit could neither finish nor be finished
        self.kept: set[Path] = set()  # staging named by an unfinished journal

    def discard(self, staging: Path) -> None:
        if staging not in self.kept:
            shutil.rmtree(staging, ignore_errors=True)

    def formats(self) -> dict[str, dict]:
        with self.mutex:
            return self._ordered(self.entries, with_page=False)

    def _ordered(self, entries: dict[str, dict], with_page: bool = True) -> dict[str, dict]:
        ordered = {name: entries[name] for name in available_formats() if name in entries and name != PAGE_FORMAT}
        if with_page and PAGE_FORMAT in entries:
            ordered[PAGE_FORMAT] = entries[PAGE_FORMAT]
        return ordered

    def commit(self, name: str, staging: Path, files: list[str], entry: dict) -> None:
        with self.mutex:
            if self.stuck:
                raise FormatforgeError(
                    f"the outputs folder could not be updated ({self.stuck}); the next build finishes the update"
                )
            shared = self.share_identical(name, staging, files, entry)
            entries = {**self.entries, name: entry}
            text = manifest_text(self.document, self._ordered(entries))
            moves = [[(staging / relative).relative_to(self.out_dir).as_posix(), relative] for relative in files]
            atomic_write_text(self.out_dir / JOURNAL, json.dumps({"moves": moves, "manifest": text}))
            try:
                move_into_place(staging, self.out_dir, files)
                atomic_write_text(self.out_dir / MANIFEST, text)
                (self.out_dir / JOURNAL).unlink()
                for relative in files:  # looked at after the rename, which moves ctime
                    self.digests.remember(relative, look_of(self.out_dir / relative), entry["files"][relative]["sha256"], ours=True)
                for relative, digest in shared.items():  # a new link moved the other name's ctime too
                    self.digests.remember(relative, look_of(self.out_dir / relative), digest, ours=True)
            except BaseException as exc:
                try:
                    finish_journal(self.out_dir)  # the renames left to do, then the manifest
                except BaseException:
                    # The journal and the staged files stay for the next build to finish.
                    self.stuck = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
                    self.kept.add(staging)
                    raise exc from None
            self.entries = entries

    def share_identical(self, name: str, staging: Path, files: list[str], entry: dict) -> dict[str, str]:
        """Issue 21 point 5: a staged file with the same bytes as one another format already
        has in place becomes a hard link to it, so the bytes are stored once. Outputs are only
        ever replaced whole (a rename), never written in place, so a later build of either
        format gives it a new file and leaves the other's as it was. Returns the names in
        place that were linked to, with their digests."""
        in_place: dict[tuple[int, str], str] = {}
        for other, other_entry in self.entries.items():
            if other != name:
                for relative, info in other_entry.get("files", {}).items():
                    in_place.setdefault((info["size"], info["sha256"]), relative)
        shared: dict[str, str] = {}
        for relative in files:
            info = entry["files"][relative]
            match = in_place.get((info["size"], info["sha256"]))
            if match is None or info["size"] < SHARE_AT_LEAST:
                continue
            existing = _inside(self.out_dir, match)
            if existing is None or existing.is_symlink() or not existing.is_file():
                continue
            staged = staging / relative
            if os.path.samefile(existing, staged):  # the writer reused it, checked (``BuildContext.reuse``)
                shared[match] = info["sha256"]
                continue
            if self.digests.digest(existing, match, expected=info["sha256"]) != info["sha256"]:
                continue  # changed since its build: not the same bytes after all
            temporary = staged.with_name(f".{staged.name}.link")
            try:
                os.link(existing, temporary)
                os.replace(temporary, staged)
            except OSError:  # a file system without hard links (FAT, some network mounts): the copy stays
                temporary.unlink(missing_ok=True)
                continue
            shared[match] = info["sha256"]
        return shared

    def in_place(self, size: int, digest: str) -> Path | None:
        """An output in place (of any format, as its manifest entry says) that has these
        bytes, checked by its look or, failing that, hashed; None if there is none."""
        with self.mutex:
            candidates = [relative for entry in self.entries.values()
                          for relative, info in entry.get("files", {}).items()
                          if isinstance(info, dict) and info.get("size") == size and info.get("sha256") == digest]
        found = [(relative, path) for relative in candidates
                 if (path := _inside(self.out_dir, relative)) is not None and not path.is_symlink() and path.is_file()]
        # A name whose look is as recorded first: linking to a file moves the look of its
        # other names (its ctime), and hashing one of those would cost what reuse saves.
        for relative, existing in found:
            if self.digests.recorded(existing, relative, expected=digest) == digest:
                return existing
        for relative, existing in found:
            if self.digests.digest(existing, relative, expected=digest) == digest:
                return existing
        return None

    def commit_page(self, page: bytes) -> None:
        target = self.out_dir / DOWNLOAD_PAGE
        entry = {"files": {DOWNLOAD_PAGE: {"size": len(page), "sha256": hashlib.sha256(page).hexdigest()}}}
        staging = Path(tempfile.mkdtemp(dir=self.out_dir, prefix=f".staging-{os.getpid()}-{PAGE_FORMAT}-"))
        try:
            unchanged = target.is_file() and not target.is_symlink() and target.read_bytes() == page
            if not unchanged:
                (staging / DOWNLOAD_PAGE).write_bytes(page)
            self.commit(PAGE_FORMAT, staging, [] if unchanged else [DOWNLOAD_PAGE], entry)
        finally:
            self.discard(staging)


# Smaller files are left as copies: a link saves at most a block and ties two formats' files.
SHARE_AT_LEAST = 4096


def finish_journal(out_dir: Path) -> None:
    """Finishes a commit from its journal: the renames not yet done, then the manifest."""
    journal = out_dir / JOURNAL
    data = json.loads(journal.read_text(encoding="utf-8"))
    for staged, target in data["moves"]:
        if (out_dir / staged).is_file():
            (out_dir / target).parent.mkdir(parents=True, exist_ok=True)
            make_readable(out_dir, out_dir / target)
            (out_dir / staged).chmod(FILE_MODE)
            os.replace(out_dir / staged, out_dir / target)
    atomic_write_text(out_dir / MANIFEST, data["manifest"])
    journal.unlink()


def run_writer(name, writer, document, out_dir, options, cache_dir, observer, ledger: "Ledger", key: str) -> FormatResult:
    missing = writer.missing()
    if missing:
        return FormatResult(name, "failed", message="; ".join(str(m) for m in missing))
    staging = Path(tempfile.mkdtemp(dir=out_dir, prefix=f".staging-{os.getpid()}-{name}-"))
    try:
        context = BuildContext(
            document=document,
            staging=staging,
            options=options,
            cache_dir=cache_dir,
            progress=lambda fraction, message="": observer.progress(name, fraction, message),
            linker=ledger.in_place,
        )
        files = list(writer.write(context))
        for relative in files:
            path = _inside(staging, relative)
            if path is None or not path.is_file():
                raise FormatforgeError(f"the writer reported {relative} but did not write it")
        entry = {"key": key, "files": {rel: _file_record(staging / rel, context.digests.get(rel)) for rel in files}}
        if hasattr(writer, "manifest_fields"):  # the speech writers: which voice read it
            entry.update(writer.manifest_fields(document, options))
        ledger.commit(name, staging, files, entry)
        notice = writer.notice(document, options) if hasattr(writer, "notice") else ""
        return FormatResult(name, "built", files, message=notice, work="; ".join(context.work))
    except FormatforgeError as exc:
        return FormatResult(name, "failed", message=str(exc), detail=traceback.format_exc())
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        if inside_cache(exc.filename, cache_dir):
            return FormatResult(name, "failed", message=f"cannot use the cache folder {cache_dir}: {exc.strerror or exc}{where}; "
                                "give --cache-dir a folder you can write; previous outputs kept", detail=traceback.format_exc())
        return FormatResult(name, "failed", message=f"{exc.strerror or exc}{where}; previous outputs kept", detail=traceback.format_exc())
    except Exception as exc:  # a writer bug must not lose the other formats
        return FormatResult(name, "failed", message=f"internal error: {type(exc).__name__}: {exc}", detail=traceback.format_exc())
    finally:
        ledger.discard(staging)


def _file_record(path: Path, hashed: tuple[int, str] | None) -> dict:
    """The manifest's size and digest of an output, from what the writer hashed as it wrote
    the file when that is the whole file, otherwise read back."""
    size = path.stat().st_size
    return {"size": size, "sha256": hashed[1] if hashed is not None and hashed[0] == size else sha256_file(path)}


def manifest_text(document: Document, entries: dict[str, dict]) -> str:
    files = [
        {"path": rel, "format": name, "size": info["size"], "sha256": info["sha256"]}
        for name, entry in entries.items()
        for rel, info in sorted(entry["files"].items())
    ]
    manifest = {
        "formatforge": __version__,
        "source": {"path": document.source_path.name, "sha256": document.source_sha256},
        "title": document.metadata.title,
        "language": document.metadata.language,
        "date": document.metadata.date,
        "description": document.metadata.description,  # for a library's catalogue
        "formats": entries,
        "files": files,
    }
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"

