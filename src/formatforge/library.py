"""A library: every master in a folder (or several files), each built into its own folder
of the outputs (``outputs/<stem>/``), with one catalogue page and one library manifest at
the top (issue 17 points 1 and 2).

Each document's folder is exactly what ``build()`` makes for one master (its manifest, its
lock, its download page), so the up-to-date checks, the staging and the journal work per
document unchanged, and publishing treats each folder as one document. The top of the
outputs folder holds only ``index.html`` (the catalogue) and ``manifest.json``, which names
the catalogue and lists the document folders.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__, download_page
from .build import (
    DOWNLOAD_PAGE,
    FOLDER_MODE,
    MANIFEST,
    BuildReport,
    CheckFailed,
    _inside,
    atomic_write_text,
    build,
    load_manifest,
    outputs_lock,
    read_json_object,
    repair_outputs,
)
from .errors import FormatforgeError

CATALOGUE_FORMAT = "catalogue"
# Names a document folder cannot take: they are the library's own files at the top.
RESERVED = {MANIFEST, DOWNLOAD_PAGE}


@dataclass
class LibraryReport:
    out_dir: Path
    documents: dict[str, BuildReport] = field(default_factory=dict)  # by folder
    failed: dict[str, BaseException] = field(default_factory=dict)  # a master that did not build at all
    skipped: list[str] = field(default_factory=list)  # unchanged since the last build: not even read

    @property
    def ok(self) -> bool:
        return not self.failed and all(report.ok for report in self.documents.values())


def masters_in(sources: list[Path]) -> list[Path]:
    """The masters named: a folder gives every ``*.md`` directly in it (a README.md is a
    note to the team, not a document), in name order."""
    found: list[Path] = []
    for source in sources:
        if source.is_dir():
            found += sorted(p for p in source.glob("*.md") if p.is_file() and p.name.lower() != "readme.md")
        else:
            found.append(source)
    if not found:
        raise FormatforgeError("no Markdown masters (*.md) here: nothing to build", sources[0] if sources else None)
    return list(dict.fromkeys(found))


def folders_for(masters: list[Path]) -> dict[str, Path]:
    """Each master's outputs folder: its file name without ``.md``. Two masters with the
    same name (from different folders) would overwrite each other's outputs: refused."""
    folders: dict[str, Path] = {}
    for master in masters:
        folder = master.stem
        if folder in RESERVED or folder.startswith(".") or not folder:
            raise FormatforgeError(f"a master cannot be called {master.name}: rename it", master)
        clash = next((other for name, other in folders.items() if name.casefold() == folder.casefold()), None)
        if clash is not None:
            raise FormatforgeError(
                f"{master} and {clash} would both build into outputs/{folder}/: rename one of them", master
            )
        folders[folder] = master
    return folders


def is_library(sources: list[Path]) -> bool:
    """A folder, or more than one master, builds a library; one file builds as before."""
    return len(sources) != 1 or sources[0].is_dir()


# ---------------------------------------------------------------- no-change fast path (point 2)

STAMP = ".formatforge-library.json"  # beside the library manifest: not published, not a reader's


def _file_state(path: Path) -> list[Any] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    # ctime and inode too: new bytes of the same size with the mtime set back still move them.
    return [info.st_mtime_ns, info.st_size, info.st_ino, info.st_ctime_ns]


def source_state(master: Path, out_dir: Path) -> list[Any]:
    """The master and every other file under its folder (images, the lexicon; not the other
    masters, hidden folders such as a cache, or the outputs), by time and size: the cheap
    look that lets an unchanged document be skipped without reading it."""
    states: list[Any] = [[master.name, *(_file_state(master) or [])]]
    folder = master.parent
    skip = out_dir.resolve()

    def walk(current: Path) -> None:
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError:
            states.append([str(current), "unreadable"])
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                if Path(entry.path).resolve() != skip:
                    walk(Path(entry.path))
            elif entry.is_file() and not entry.name.lower().endswith(".md"):
                info = entry.stat()
                states.append([Path(entry.path).relative_to(folder).as_posix(), info.st_mtime_ns, info.st_size,
                               info.st_ino, info.st_ctime_ns])

    walk(folder)
    return states


def outputs_state(out_dir: Path) -> list[Any] | None:
    """Each file the document's manifest names, by time and size (None: no manifest)."""
    manifest = load_manifest(out_dir)
    if not manifest:
        return None
    states: list[Any] = [_file_state(out_dir / MANIFEST)]
    for entry in manifest["formats"].values():
        for relative in sorted(entry["files"]):
            states.append([relative, *(_file_state(out_dir / relative) or [])])
    return states


def build_key(master: Path, formats: list[str] | None, options: dict[str, Any]) -> str:
    material = json.dumps([__version__, str(master.resolve()), formats, options], sort_keys=True, default=str)
    return hashlib.sha256(material.encode()).hexdigest()


# ---------------------------------------------------------------- the build


def build_library(
    sources: list[Path],
    out_dir: Path | str,
    formats: list[str] | None = None,
    options: dict[str, Any] | None = None,
    cache_dir: Path | None = None,
    observer=None,
    force: bool = False,
    jobs: int | None = None,
    lock_wait: float = 300,
    reader=None,
) -> LibraryReport:
    """Build every master of ``sources`` (folders or files) into ``out_dir/<stem>/``, then
    the catalogue and the library manifest. A master whose check fails is reported and the
    others still build; an unchanged master (same files, same outputs as the last build
    left them) is skipped without being read."""
    out_dir = Path(out_dir)
    options = dict(options or {})
    folders = folders_for(masters_in([Path(s) for s in sources]))
    try:
        if not out_dir.is_dir():
            out_dir.mkdir(parents=True, exist_ok=True)
            out_dir.chmod(FOLDER_MODE)
    except OSError as exc:
        raise FormatforgeError(f"cannot create the output folder: {exc.strerror}", out_dir) from None
    report = LibraryReport(out_dir)
    with outputs_lock(out_dir, lock_wait):
        repair_outputs(out_dir)
        stamps = _read_stamps(out_dir)
        for folder, master in folders.items():
            key = build_key(master, formats, options)
            before = stamps.get(folder)
            # Looked at before the build: an edit saved while it runs is seen next time.
            state = source_state(master, out_dir)
            if (
                not force and isinstance(before, dict) and before.get("key") == key
                and before.get("source") == state and before.get("outputs") == outputs_state(out_dir / folder)
            ):
                report.skipped.append(folder)
                continue
            stamps.pop(folder, None)
            try:
                built = build(master, out_dir / folder, formats, options, cache_dir, observer, force, jobs, lock_wait, reader)
            except (CheckFailed, FormatforgeError) as exc:
                report.failed[folder] = exc
                continue
            report.documents[folder] = built
            if built.ok:
                stamps[folder] = {"key": key, "source": state, "outputs": outputs_state(out_dir / folder)}
        write_catalogue(out_dir, list(folders))
        atomic_write_text(out_dir / STAMP, json.dumps(stamps, sort_keys=True))
    return report


def _read_stamps(out_dir: Path) -> dict:
    return read_json_object(out_dir / STAMP)


def write_catalogue(out_dir: Path, folders: list[str]) -> None:
    """The catalogue page and the library manifest, from each document's manifest (so a
    master that failed this time is still listed with the outputs it has). Only folders
    with a manifest are listed; the page is written only when it changed."""
    documents = []
    for folder in folders:
        manifest = load_manifest(out_dir / folder)
        if manifest.get("formats"):
            documents.append((folder, manifest))
    page = download_page.render_catalogue(documents)
    target = out_dir / DOWNLOAD_PAGE
    if not (target.is_file() and not target.is_symlink() and target.read_bytes() == page):
        _write_bytes(target, page)
    # An outputs folder that held one document (the layout before libraries) named its
    # files in its manifest: they are ours, and now stale, so they go like any stale output.
    old = load_manifest(out_dir)
    if old.get("formats") and not old.get("library"):
        for entry in old["formats"].values():
            for relative in entry["files"]:
                path = _inside(out_dir, relative)
                if path is not None and relative != DOWNLOAD_PAGE and path.is_file() and not path.is_symlink():
                    path.unlink()
    entry = {"size": len(page), "sha256": hashlib.sha256(page).hexdigest()}
    manifest = {
        "formatforge": __version__,
        "library": True,
        "documents": [folder for folder, _ in documents],
        "formats": {CATALOGUE_FORMAT: {"files": {DOWNLOAD_PAGE: entry}}},
        "files": [{"path": DOWNLOAD_PAGE, "format": CATALOGUE_FORMAT, **entry}],
    }
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    if not ((out_dir / MANIFEST).is_file() and (out_dir / MANIFEST).read_text(encoding="utf-8") == text):
        atomic_write_text(out_dir / MANIFEST, text)


def write_library_of(out_dir: Path, lock_wait: float = 300) -> list[str]:
    """The catalogue and library manifest over every document folder already in
    ``out_dir`` (each with a manifest), in name order: for builds that ran apart."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise FormatforgeError("there is no outputs folder here: build first", out_dir)
    folders = sorted(
        p.name for p in out_dir.iterdir()
        if p.is_dir() and not p.is_symlink() and not p.name.startswith(".") and (p / MANIFEST).is_file()
    )
    if not folders:
        raise FormatforgeError("no built documents here (folders with a manifest.json): build first", out_dir)
    with outputs_lock(out_dir, lock_wait):
        repair_outputs(out_dir)
        write_catalogue(out_dir, folders)
    return folders


def _write_bytes(path: Path, data: bytes) -> None:
    from .build import atomic_write_bytes

    atomic_write_bytes(path, data)


def library_folders(out_dir: Path) -> list[str] | None:
    """The document folders of a built library, or None when ``out_dir`` holds one document."""
    manifest = read_json_object(Path(out_dir) / MANIFEST)
    if not manifest.get("library"):
        return None
    return [f for f in manifest.get("documents", []) if isinstance(f, str) and _inside(Path(out_dir), f) is not None]

