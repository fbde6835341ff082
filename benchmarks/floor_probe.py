#!/usr/bin/env python3
"""Times, inside one fresh Python process, the steps every build of a document must take
before a writer adds anything of its own; prints them as JSON for bench_floor.py.

Run: .venv/bin/python benchmarks/floor_probe.py SOURCE.md

- "imports": importing the command line and everything a build imports (formatforge.cli);
- "parse": reading the master into the document model (Python-Markdown plus our reader);
- "docx_import": importing the Word writer (python-docx);
- "louis": liblouis translating the document's text to UEB grade 2, one call per block as
  the braille writer makes them, with no layout.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main() -> None:
    source = Path(sys.argv[1])
    timings: dict[str, float] = {}

    start = time.perf_counter()
    import formatforge.cli  # noqa: F401
    timings["imports"] = time.perf_counter() - start

    from formatforge.model import document_text
    from formatforge.reader import read_source

    start = time.perf_counter()
    document = read_source(source).document
    timings["parse"] = time.perf_counter() - start

    start = time.perf_counter()
    from formatforge.formats import get_writer

    get_writer("docx")
    timings["docx_import"] = time.perf_counter() - start

    import louis

    blocks = [line for line in document_text(document).split("\n") if line.strip()]
    mode = louis.dotsIO | louis.ucBrl
    louis.translate(["en-ueb-g2.ctb"], "table load", mode=mode)  # the table compiles once per process
    start = time.perf_counter()
    for block in blocks:
        louis.translate(["en-ueb-g2.ctb"], block, mode=mode)
    timings["louis"] = time.perf_counter() - start

    print(json.dumps(timings))


if __name__ == "__main__":
    main()
