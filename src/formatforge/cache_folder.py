"""Where the build keeps what it can make again (synthesised speech, LibreOffice's profile),
and the check that it can write there.

By default the user's cache folder: ``$XDG_CACHE_HOME/formatforge``, else
``~/.cache/formatforge``. It was once ``.formatforge-cache`` beside the folder holding the
master, which for ``~/report.md`` is ``/home/.formatforge-cache``: a folder a normal user
cannot create, found out only when the speech engine or LibreOffice failed to write there.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import FormatforgeError


def default_cache_dir() -> Path:
    """The user's cache folder for formatforge (the XDG base directory rule)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    # The specification says a relative value is to be ignored.
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache"
    return root / "formatforge"


class CacheFolderError(FormatforgeError):
    """The cache folder cannot be created or written."""


def usable_cache_dir(folder: Path) -> Path:
    """``folder``, created if need be, once a file has been written in it; otherwise a
    ``CacheFolderError`` that says so in plain words and what to do."""
    folder = Path(folder)
    advice = "give --cache-dir a folder you can write (or set XDG_CACHE_HOME)"
    if folder.exists() and not folder.is_dir():
        raise CacheFolderError(f"the cache folder {folder} is a file; {advice}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # os.access is not enough: a read-only mount, or root's files, answer it wrongly.
        with tempfile.TemporaryFile(dir=folder, prefix=".formatforge-probe-"):
            pass
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise CacheFolderError(f"cannot use the cache folder {folder}: {reason}; {advice}") from None
    return folder


def inside_cache(path: str | os.PathLike | None, folder: Path | None) -> bool:
    """Whether ``path`` (an OSError's file name) lies in the cache folder."""
    if not path or folder is None:
        return False
    try:
        return Path(os.fsdecode(path)).resolve().is_relative_to(Path(folder).resolve())
    except (OSError, ValueError):
        return False
