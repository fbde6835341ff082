"""What `formatforge watch` looks at, and what it keeps between rebuilds (issue 21 point 4).

The watch is one process for as long as the person edits, so it keeps what a new process
would have to make again: the parsed model of every master whose bytes (and the images it
shows) have not changed, and the helpers that are slow to start (a resident LibreOffice for
the large-print PDF; the speech workers, with the voice loaded). What each format needs is still decided by the
build's up-to-date check, so an edit rebuilds only the formats whose inputs it changed
(the pronunciation lexicon: the three speech formats), and the speech cache reuses every
sentence the edit did not touch.
"""

from __future__ import annotations

import hashlib
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import Iterator

from .build import Look, look_of, read_checked
from .model import Document
from .reader import Diagnostic


def watched_state(source: Path, output: Path | None = None) -> tuple:
    """Changes whenever the master (or, for a folder, any master in it), an image or the
    lexicon beside it is written. Hidden files and folders (the speech cache, an editor's
    swap files) and the outputs folder, when it is inside, are not looked at: every build
    writes its manifest, and a watch that saw its own writes would rebuild for ever."""
    folder = source.resolve() if source.is_dir() else source.resolve().parent
    skip = output.resolve() if output is not None else None
    entries: list[tuple] = []

    def walk(current: Path) -> None:
        try:
            listing = sorted(os.scandir(current), key=lambda entry: entry.name)
        except OSError:
            entries.append((str(current), "unreadable"))  # looked at again next time round
            return
        for entry in listing:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    if Path(entry.path).resolve() != skip:
                        walk(Path(entry.path))
                    continue
                stat = entry.stat(follow_symlinks=False)
            except OSError:  # removed between listing and looking: an editor saving by rename
                continue
            if S_ISREG(stat.st_mode):
                entries.append((entry.path, stat.st_mtime_ns, stat.st_size, stat.st_ino))

    walk(folder)
    return tuple(entries)


@dataclass
class _Kept:
    digest: str  # SHA-256 of the master's bytes
    looks: dict[Path, Look | None]  # the images and cover it shows, as they were when read
    document: Document
    diagnostics: list[Diagnostic]


class KeptModels:
    """A build's reader (``build(..., reader=...)``) that keeps each master's parsed and
    checked model while the master's bytes and the files it shows are unchanged.

    The master is read every time (a few milliseconds even at 100,000 words) and compared by
    its digest, never by its time stamps alone, so an editor that saves within the same
    clock tick is still seen; only the parsing and the check (the larger part of a
    rebuild's start) are saved. A master with errors is not kept: it is read again until
    it is fixed. Writers only read the model (the house rule), so one model serves any
    number of builds."""

    def __init__(self) -> None:
        self.kept: dict[Path, _Kept] = {}
        self.parsed = 0  # masters read into the model (the tests count them)

    def __call__(self, master: Path) -> tuple[Document, list[Diagnostic]]:
        forget_file_caches()  # once per master and build: cheap, and never a stale answer
        where = master.resolve()
        kept = self.kept.get(where)
        if kept is not None:
            try:
                same = hashlib.sha256(master.read_bytes()).hexdigest() == kept.digest
            except OSError:
                same = False
            if same and all(look_of(path) == look for path, look in kept.looks.items()):
                return kept.document, kept.diagnostics
        self.kept.pop(where, None)
        document, diagnostics = read_checked(master)
        self.parsed += 1
        shown = {image.src for image in document.images()} | ({document.metadata.cover} if document.metadata.cover else set())
        looks = {(document.source_dir / relative).resolve(): None for relative in shown}
        self.kept[where] = _Kept(document.source_sha256, {path: look_of(path) for path in looks}, document, diagnostics)
        return document, diagnostics


def forget_file_caches() -> None:
    """Process-wide caches keyed by a file's path hold what the file said when first read:
    right for one build, stale in a process that outlives an edit. Emptied before each
    rebuild (the caches keyed by a file's identity, such as the speech cache's checked
    entries, see an edit by themselves)."""
    narration = sys.modules.get("formatforge.shared.speech.narration")
    digest = getattr(narration, "_digest", None)  # the neural voice file's digest, by path
    if digest is not None and hasattr(digest, "cache_clear"):
        digest.cache_clear()


@contextmanager
def resident() -> Iterator[KeptModels]:
    """What a resident process (watch, the preview) holds round its loop of rebuilds: the
    kept models, and each helper that is slow to start, kept running until the loop ends.

    Each such helper is a context manager entered once here: the resident LibreOffice
    (``shared.libreoffice.ResidentLibreOffice``, for the large-print PDF's export) and the
    speech workers with their engines loaded (``shared.speech.processes.KeptPools``)."""
    from .shared.libreoffice import ResidentLibreOffice
    from .shared.speech.processes import KeptPools

    with ResidentLibreOffice(), KeptPools():
        yield KeptModels()
