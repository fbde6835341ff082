"""Source checks M1–M8 (shared/standards.md), each finding with its rule id and file:line.

They run on the document model, so they see the document as every writer will; only the
table column count (M6) looks at the raw lines, because the parser silently pads rows.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from .model import (
    Emphasis,
    Heading,
    Image,
    Link,
    Paragraph,
    Strong,
    Table,
    Text,
    inline_text,
    walk_blocks,
)
from .front_matter import image_diagnostics
from .reader import Diagnostic, ReadResult

VAGUE_LINK_TEXT = {"click here", "here", "link", "more", "read more", "this link", "click", "this", "learn more", "go"}
IMAGE_FILE_RE = re.compile(r"\.(png|jpe?g|gif|svg|webp|bmp|tiff?)$|^(img|image|dsc|screenshot)[-_ ]?\d*$", re.I)


def check(result: ReadResult) -> list[Diagnostic]:
    """Every finding, the reader's first, in source order."""
    doc = result.document
    path = doc.source_path
    found: list[Diagnostic] = list(result.diagnostics) + image_diagnostics(doc, result.source_lines)

    def report(rule: str, severity: str, message: str, line: int) -> None:
        found.append(Diagnostic(rule, severity, message, path, line))

    meta = doc.metadata
    for key, value in (("title", meta.title), ("language", meta.language)):
        if not value:
            report("M7", "error", f"front matter does not declare '{key}'", 1)

    headings = [b for b in doc.blocks if isinstance(b, Heading)]
    level_ones = [h for h in headings if h.level == 1]
    first = doc.blocks[0] if doc.blocks else None
    if not level_ones:
        report("M2", "error", "the document has no level-1 heading", result.body_start)
    else:
        if not (isinstance(first, Heading) and first.level == 1):
            report("M2", "error", "the level-1 heading must come first", getattr(first, "line", result.body_start))
        for extra in level_ones[1:]:
            report("M2", "error", f"a second level-1 heading: '{inline_text(extra.children)}'", extra.line)

    previous = 0
    for heading in headings:
        if previous and heading.level > previous + 1:
            report(
                "M1", "error",
                f"heading level jumps from {previous} to {heading.level}: '{inline_text(heading.children)}'",
                heading.line,
            )
        previous = heading.level

    heading_ids = {h.id for h in headings}
    for block in walk_blocks(doc.all_blocks()):
        if isinstance(block, Image):
            check_image(block, report)
        for link in links_in(block):
            check_link(link, heading_ids, block.line, report)
        if isinstance(block, Table):
            check_table(block, result, report)
        if isinstance(block, Paragraph) and looks_like_fake_heading(block):
            report(
                "M8", "warning",
                f"a bold or italic line used as a heading: '{inline_text(block.children)}'; use a Markdown heading",
                block.line,
            )

    found.sort(key=lambda d: (d.line, d.rule))
    return found


def check_image(image: Image, report) -> None:
    if image.decorative:
        return
    if not image.alt:
        report("M3", "error", f"image '{image.src}' has no alt text", image.line)
    elif IMAGE_FILE_RE.search(image.alt.strip()) or image.alt.strip() == PurePosixPath(image.src).name:
        report("M3", "error", f"the alt text of image '{image.src}' is a file name: '{image.alt}'", image.line)


def check_link(link: Link, heading_ids: set[str], line: int, report) -> None:
    text = inline_text(link.children).strip()
    if not text or not link.url:
        report("M5", "error", f"empty link{f' to {link.url!r}' if link.url else ''}", line)
        return
    if re.sub(r"[^\w\s]", "", text).strip().casefold() in VAGUE_LINK_TEXT:
        report("M4", "error", f"link text '{text}' does not say where the link goes", line)
    if link.url.startswith("#") and link.url[1:] not in heading_ids:
        report("M5", "error", f"link to '{link.url}' matches no heading", line)


def check_table(table: Table, result: ReadResult, report) -> None:
    if not table.header or not any(inline_text(c.children).strip() for c in table.header):
        report("M6", "error", "the table has no header row", table.line)
    counts: list[tuple[int, int]] = []
    index = table.line - 1
    lines = result.source_lines
    while index < len(lines) and "|" in lines[index]:
        row = lines[index].strip()
        if not re.fullmatch(r"\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?", row):
            cells = re.split(r"(?<!\\)\|", row.strip("|"))
            counts.append((index + 1, len(cells)))
        index += 1
    if counts:
        expected = counts[0][1]
        for number, count in counts[1:]:
            if count != expected:
                report("M6", "error", f"table row has {count} cells, the header has {expected}", number)


def links_in(block) -> list[Link]:
    found: list[Link] = []

    def visit(nodes) -> None:
        for node in nodes:
            if isinstance(node, Link):
                found.append(node)
            if hasattr(node, "children"):
                visit(node.children)

    if isinstance(block, (Paragraph, Heading)):
        visit(block.children)
    elif isinstance(block, Table):
        for row in (block.header,) + block.rows:
            for cell in row:
                visit(cell.children)
    return found


def looks_like_fake_heading(paragraph: Paragraph) -> bool:
    children = [c for c in paragraph.children if not (isinstance(c, Text) and not c.text.strip())]
    if len(children) != 1 or not isinstance(children[0], (Strong, Emphasis)):
        return False
    text = inline_text(children).strip()
    return 0 < len(text) <= 80 and not text.endswith((".", "!", "?", ":", ";", ","))


def errors(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.severity == "error"]
