"""What `formatforge watch` looks at: the master and every file under its folder."""

from __future__ import annotations

from pathlib import Path
from stat import S_ISREG


def watched_state(source: Path) -> tuple:
    """Changes whenever the master (or, for a folder, any master in it), an image or the
    lexicon beside it is written."""
    folder = source.resolve() if source.is_dir() else source.resolve().parent
    entries = []
    try:
        paths = sorted(folder.rglob("*"))
    except OSError:
        return ("unreadable",)  # looked at again next time round
    for path in paths:
        try:
            stat = path.lstat()
        except OSError:  # removed between listing and looking: an editor saving by rename
            continue
        if S_ISREG(stat.st_mode):
            entries.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(entries)
