"""Runs the writers: checks the source, skips what is up to date, stages, and moves into place.

Each writer writes into a private staging folder inside the output folder (same file
system), and only when it has finished are its files renamed over the old ones, so a build
that fails or is killed leaves every output either the old complete file or the new one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from . import __version__, download_page
from .errors import FormatforgeError, SourceError
from .hashing import sha256_file
from .formats import BuildContext, available_formats, get_writer
from .lint import check, errors
from .model import Document
from .reader import Diagnostic, read_source

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
        found = errors(diagnostics)
        super().__init__(f"{len(found)} error(s) in the source; nothing was built")
        self.diagnostics = diagnostics


def input_fingerprint(document: Document) -> str:
    """The source and every file it pulls in (images, the cover, the pronunciation lexicon)."""
    digest = hashlib.sha256(document.source_sha256.encode())
    extra = sorted({img.src for img in document.images()} | ({document.metadata.cover} if document.metadata.cover else set()))
    for relative in extra:
        path = document.source_dir / relative
        if path.is_file():
            digest.update(relative.encode() + b"\0" + sha256_file(path).encode())
    return digest.hexdigest()


def format_key(name: str, writer, inputs: str, options: dict[str, Any], document: Document) -> str:
    chosen = {key: options.get(key) for key in writer.option_names}
    extra = [str(p) + ":" + sha256_file(p) for p in writer.input_files(document, options) if p.is_file()]
    material = json.dumps([__version__, name, inputs, chosen, extra], sort_keys=True, default=str)
    return hashlib.sha256(material.encode()).hexdigest()


def load_manifest(out_dir: Path) -> dict:
    try:
        return json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def up_to_date(entry: dict | None, key: str, out_dir: Path) -> bool:
    if not entry or entry.get("key") != key:
        return False
    for relative, info in entry.get("files", {}).items():
        path = out_dir / relative
        if not path.is_file() or path.stat().st_size != info.get("size") or sha256_file(path) != info.get("sha256"):
            return False
    return True


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
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
        with source.open("rb") as handle:
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
) -> BuildReport:
    """Build ``formats`` (all by default) of ``source`` into ``out_dir``, ``jobs`` lanes of
    writers at a time (by default one per core)."""
    source, out_dir = Path(source), Path(out_dir)
    options = dict(options or {})
    observer = observer or SilentObserver()
    names = list(dict.fromkeys(formats or available_formats()))
    unknown = [name for name in names if name not in available_formats()]
    if unknown:
        raise FormatforgeError(f"unknown format {unknown[0]!r}; the formats are: {', '.join(available_formats())}")

    result = read_source(source)
    diagnostics = check(result)
    if errors(diagnostics):
        raise CheckFailed(diagnostics)
    document = result.document

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FormatforgeError(f"cannot create the output folder: {exc.strerror}", out_dir) from None
    if not os.access(out_dir, os.W_OK):
        raise FormatforgeError("the output folder is not writable; nothing was built", out_dir)

    remove_stale_staging(out_dir)
    manifest = load_manifest(out_dir)
    previous = manifest.get("formats", {})
    inputs = input_fingerprint(document)
    report = BuildReport(source, out_dir, diagnostics, [])

    def build_one(name: str) -> tuple[FormatResult, dict | None]:
        observer.started(name)
        began = time.perf_counter()
        writer = writers[name]
        entry = None
        key = format_key(name, writer, inputs, options, document)
        if not force and up_to_date(previous.get(name), key, out_dir):
            entry = previous[name]
            outcome = FormatResult(name, "up to date", sorted(previous[name]["files"]))
        else:
            outcome = run_writer(name, writer, document, out_dir, options, cache_dir, observer)
            if outcome.status == "built":
                files = {rel: {"size": (out_dir / rel).stat().st_size, "sha256": sha256_file(out_dir / rel)} for rel in outcome.files}
                entry = {"key": key, "files": files}
                if hasattr(writer, "manifest_fields"):  # the speech writers: which voice read it
                    entry.update(writer.manifest_fields(document, options))
                outcome.message = writer.notice(document, options) if hasattr(writer, "notice") else ""
            elif name in previous:
                entry = previous[name]
        outcome.seconds = time.perf_counter() - began
        observer.finished(outcome)
        return outcome, entry

    writers, outcomes = {}, {}
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
    entries: dict[str, dict] = {}

    def run_lane(lane: list[str]) -> None:
        for name in lane:
            outcomes[name], entry = build_one(name)
            if entry is not None:
                entries[name] = entry

    with ThreadPoolExecutor(max_workers=max(1, min(jobs or os.cpu_count() or 1, len(lanes) or 1))) as pool:
        for future in [pool.submit(run_lane, lane) for lane in lanes.values()]:
            future.result()
    report.results = [outcomes[name] for name in names]

    merged = {name: entry for name, entry in {**previous, **entries}.items() if name != PAGE_FORMAT}
    ordered = {name: merged[name] for name in available_formats() if name in merged}
    try:
        ordered[PAGE_FORMAT] = write_download_page(out_dir, document, ordered)
        write_manifest(out_dir, document, ordered, report)
    except OSError as exc:
        failures = "; ".join(f"{r.name}: {r.message}" for r in report.results if r.status == "failed")
        raise FormatforgeError(
            f"cannot write the manifest: {exc.strerror or exc}" + (f" (and {failures})" if failures else ""), out_dir
        ) from None
    return report


def remove_stale_staging(out_dir: Path) -> None:
    """Staging folders left by a build that was killed; a running build's are kept."""
    for folder in out_dir.glob(".staging-*"):
        pid = folder.name.split("-")[1]
        try:
            os.kill(int(pid), 0)
        except (ValueError, ProcessLookupError):
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            pass


def run_writer(name, writer, document, out_dir, options, cache_dir, observer) -> FormatResult:
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
        )
        files = writer.write(context)
        move_into_place(staging, out_dir, files)
        return FormatResult(name, "built", list(files))
    except FormatforgeError as exc:
        return FormatResult(name, "failed", message=str(exc), detail=traceback.format_exc())
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        return FormatResult(name, "failed", message=f"{exc.strerror or exc}{where}; previous outputs kept", detail=traceback.format_exc())
    except Exception as exc:  # a writer bug must not lose the other formats
        return FormatResult(name, "failed", message=f"internal error: {type(exc).__name__}: {exc}", detail=traceback.format_exc())
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_download_page(out_dir: Path, document: Document, entries: dict[str, dict]) -> dict:
    page = download_page.render(document, out_dir, entries)
    target = out_dir / DOWNLOAD_PAGE
    if not target.is_file() or target.read_bytes() != page:
        atomic_write_bytes(target, page)
    return {"files": {DOWNLOAD_PAGE: {"size": len(page), "sha256": hashlib.sha256(page).hexdigest()}}}


def write_manifest(out_dir: Path, document: Document, entries: dict[str, dict], report: BuildReport) -> None:
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
        "formats": entries,
        "files": files,
    }
    atomic_write_text(out_dir / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
