"""The large-print PDF, judged as PDF/UA asks of a reader's first needs: tagged, with a
language, a title shown instead of the file name, alt text on every figure, and headings
that do not skip a level.

No maintained PDF/UA checker installs from PyPI (veraPDF is a Java application), so these
are our own checks with pikepdf. standards.md has no criteria for the PDF, so the ids are
the checks' names.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from . import Findings

RULES = ("tagged", "language", "title", "figure-alt", "heading-order")
HEADING = re.compile(r"^/H([1-6])$")


def structure_elements(root) -> Iterator:
    """Every structure element below ``root``, in document (depth-first) order."""
    import pikepdf

    stack = [root]
    seen: set[tuple[int, int]] = set()
    while stack:
        node = stack.pop()
        kids = node.get("/K")
        children = list(kids) if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []
        for child in reversed(children):
            if isinstance(child, pikepdf.Dictionary) and "/S" in child:
                if child.is_indirect:
                    if child.objgen in seen:  # a loop in a damaged tree must not hang the check
                        continue
                    seen.add(child.objgen)
                stack.append(child)
        if node is not root:
            yield node


def check_large_print_pdf(path: Path) -> Findings:
    import pikepdf

    findings: Findings = {rule: [] for rule in RULES}
    with pikepdf.open(path) as pdf:
        root = pdf.Root
        mark = root.get("/MarkInfo")
        tree = root.get("/StructTreeRoot")
        if tree is None or mark is None or not bool(mark.get("/Marked", False)):
            findings["tagged"].append("not tagged: no structure tree or MarkInfo /Marked true, so a screen reader gets no structure")
        language = str(root.get("/Lang", "")).strip()
        if not language:
            findings["language"].append("no document language (/Lang): a screen reader cannot pick its voice")
        title = str(pdf.docinfo.get("/Title", "")).strip() if pdf.docinfo is not None else ""
        if not title:
            findings["title"].append("no document title (Info /Title)")
        preferences = root.get("/ViewerPreferences")
        if preferences is None or not bool(preferences.get("/DisplayDocTitle", False)):
            findings["title"].append("the window shows the file name, not the title (ViewerPreferences /DisplayDocTitle)")
        if tree is None:
            return findings
        level = 0
        for element in structure_elements(tree):
            kind = str(element.get("/S"))
            if kind == "/Figure" and not str(element.get("/Alt", "")).strip():
                findings["figure-alt"].append("a figure has no alt text (/Alt)")
            heading = HEADING.match(kind)
            if heading:
                new = int(heading.group(1))
                if new > level + 1:
                    findings["heading-order"].append(f"heading level {new} follows level {level}: a level is skipped")
                level = new
    return findings
