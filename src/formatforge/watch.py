"""What `formatforge watch` looks at: the master and every file under its folder."""

from __future__ import annotations

from pathlib import Path


def watched_state(source: Path) -> tuple:
    """Changes whenever the master, an image or the lexicon beside it is written."""
    folder = source.resolve().parent
    entries = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            stat = path.stat()
            entries.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(entries)
