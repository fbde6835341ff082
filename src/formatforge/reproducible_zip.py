"""Zip entries that are the same bytes whenever and wherever they are built (EPUB, DAISY)."""

from __future__ import annotations

import zipfile

# Entries carry this time, not the clock, so that rebuilds are byte-identical.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def zip_info(name: str, compression: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = compression
    info.external_attr = 0o644 << 16
    info.create_system = 3  # Unix, whichever system builds it
    return info
