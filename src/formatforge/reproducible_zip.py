"""Zip entries that are the same bytes whenever and wherever they are built (EPUB, DAISY, Word)."""

from __future__ import annotations

import zipfile

# Entries carry this time, not the clock, so that rebuilds are byte-identical.
ZIP_TIME: tuple[int, int, int, int, int, int] = (1980, 1, 1, 0, 0, 0)


def zip_info(name: str, compression: int, date_time: tuple[int, int, int, int, int, int] = ZIP_TIME) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=date_time)
    info.compress_type = compression
    info.external_attr = 0o644 << 16
    info.create_system = 3  # Unix, whichever system builds it
    return info
