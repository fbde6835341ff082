"""Source checks M1–M8 (shared/standards.md), each finding with its rule id and file:line.

They run on the document model, so they see the document as every writer will; only the
table column count (M6) looks at the raw lines, because the parser silently pads rows.
Messages are for the person who writes the master, often not a developer: each says what
is wrong and how to fix it, in plain words. ``RULES`` explains every rule at more length
(``formatforge check --explain M1``), including the ones the reader reports (S1–S3, M9–M11).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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
        found.append(Diagnostic(rule, severity, message[:1].upper() + message[1:], path, line))

    meta = doc.metadata
    example = {"title": "title: Our strategy 2024", "language": "language: en-GB"}
    for key, value in (("title", meta.title), ("language", meta.language)):
        if not value:
            report(
                "M7", "error",
                f"the front matter at the top of the file does not give the document's {key}; "
                f"add a line '{example[key]}' between the two '---' lines",
                1,
            )

    headings = [b for b in doc.blocks if isinstance(b, Heading)]
    level_ones = [h for h in headings if h.level == 1]
    first = doc.blocks[0] if doc.blocks else None
    if not level_ones:
        report(
            "M2", "error",
            "the document has no main title (a level-1 heading); start it with a line such as '# Our strategy'",
            result.body_start,
        )
    else:
        if not (isinstance(first, Heading) and first.level == 1):
            report(
                "M2", "error",
                f"the main title '{inline_text(level_ones[0].children)}' must come before anything else; "
                "move it to the top of the document",
                getattr(first, "line", result.body_start),
            )
        for extra in level_ones[1:]:
            report(
                "M2", "error",
                f"heading '{inline_text(extra.children)}' is a second main title (level 1), and there can be "
                "only one; make it level 2 (##)",
                extra.line,
            )

    previous = 0
    for heading in headings:
        if previous and heading.level > previous + 1:
            report(
                "M1", "error",
                f"heading '{inline_text(heading.children)}' jumps from level {previous} to level {heading.level}; "
                f"make it level {previous + 1} ({'#' * (previous + 1)})",
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
            text = inline_text(block.children).strip()
            report(
                "M8", "warning",
                f"The line '{text}' is in bold or italic and stands like a heading, but screen readers cannot find it "
                f"as one; make it a real heading ('## {text}') or part of a sentence",
                block.line,
            )

    found.sort(key=lambda d: (d.line, d.rule))
    return found


def check_image(image: Image, report) -> None:
    if image.decorative:
        return
    if not image.alt:
        report(
            "M3", "error",
            f"image '{image.src}' has no description (alt text) for people who cannot see it; write what it "
            f"shows between the square brackets: ![What the picture shows]({image.src}), "
            "or add {: .decorative} after it if it is only decoration",
            image.line,
        )
    elif IMAGE_FILE_RE.search(image.alt.strip()) or image.alt.strip() == PurePosixPath(image.src).name:
        report(
            "M3", "error",
            f"the description of image '{image.src}' is only a file name ('{image.alt}'); "
            "say in a few words what the picture shows instead",
            image.line,
        )


def check_link(link: Link, heading_ids: set[str], line: int, report) -> None:
    text = inline_text(link.children).strip()
    if not text or not link.url:
        if link.url:
            report("M5", "error", f"the link to '{link.url}' has no words, so readers hear nothing; put the words between the square brackets: [our website]({link.url})", line)
        else:
            report("M5", "error", f"the link '{text}' goes nowhere; put its address between the round brackets: [{text}](https://...)", line)
        return
    if re.sub(r"[^\w\s]", "", text).strip().casefold() in VAGUE_LINK_TEXT:
        report(
            "M4", "error",
            f"the link text '{text}' does not say where the link goes, and screen reader users often hear "
            "links on their own; use words that name the destination, such as 'our annual report'",
            line,
        )
    if link.url.startswith("#") and link.url[1:] not in heading_ids:
        report(
            "M5", "error",
            f"the link to '{link.url}' points to no heading in this document; check the heading's spelling "
            "(a heading 'Our values' is '#our-values')",
            line,
        )


def check_table(table: Table, result: ReadResult, report) -> None:
    if not table.header or not any(inline_text(c.children).strip() for c in table.header):
        report(
            "M6", "error",
            "the table has no header row; put the column names in its first row, with a line such as "
            "| --- | --- | under it",
            table.line,
        )
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
                report(
                    "M6", "error",
                    f"this table row has {count} cells but the header row has {expected}; give every row "
                    f"{expected} cells (an empty cell is | |)",
                    number,
                )


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


# ---------------------------------------------------------------- the rules, explained


@dataclass(frozen=True)
class Rule:
    id: str
    rule: str  # what the rule asks, in a line (the README's list)
    why: str  # why it matters to a reader
    wrong: str  # a small example that breaks it
    fixed: str  # the same example, fixed


RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule("M1", "Heading levels go down one step at a time (# then ## then ###).",
             "People using screen readers move around by headings and hear their levels; a jump from level 1 "
             "to level 4 sounds as if two sections were lost, and the contents page in Word and EPUB skips too.",
             "# Our strategy\n\n#### Our values", "# Our strategy\n\n## Our values"),
        Rule("M2", "There is exactly one main title (# heading), and it comes first.",
             "The main title names the document in every format: the book title in an e-book, the first thing "
             "read aloud, the title of the Word file. Two titles, or text before it, confuse that.",
             "Welcome!\n\n# Our strategy\n\n# Our values", "# Our strategy\n\nWelcome!\n\n## Our values"),
        Rule("M3", "Every image has a description (alt text) that says what it shows, not a file name.",
             "People who cannot see the picture hear or feel the description instead, in speech, braille and "
             "on screen readers; without one they meet 'image' or a file name and miss the point.",
             "![](images/chart.png)",
             "![Bar chart: volunteers doubled from 40 in 2022 to 80 in 2024](images/chart.png)\n"
             "(or ![](images/border.png){: .decorative} for decoration only)"),
        Rule("M4", "Link text says where the link goes.",
             "Screen reader users often list the links of a page and hear each on its own; ten links called "
             "'click here' tell them nothing. In print and braille the words are all there is.",
             "To read our report [click here](https://example.org/report).",
             "Read [our annual report 2024](https://example.org/report)."),
        Rule("M5", "Every link has words and an address, and a link to a section (#...) finds its heading.",
             "An empty link is read out as nothing, or as its address; a link to a section that is not there "
             "leads nowhere in every format.",
             "See [](https://example.org) and [our values](#values).",
             "See [our website](https://example.org) and [our values](#our-values)."),
        Rule("M6", "Tables have a header row, and every row has as many cells as the header.",
             "Screen readers announce each cell with its column's name; without a header row, or with cells "
             "out of place, readers cannot tell what a number means.",
             "| Word | docx |\n| Braille |",
             "| Format | File |\n| --- | --- |\n| Word | docx |\n| Braille | brf |"),
        Rule("M7", "The front matter gives the document's title and language.",
             "The title names the files and the book; the language chooses the voice that reads it aloud, "
             "the braille table and the hyphenation. Without it a Welsh text may be read in an English voice.",
             "---\nauthor: Our team\n---",
             "---\ntitle: Our strategy 2024\nlanguage: en-GB\nauthor: Our team\n---"),
        Rule("M8", "Bold or italic lines are not used as headings.",
             "A line in bold looks like a heading on screen, but screen readers, the contents page and the "
             "audio chapters cannot find it as one.",
             "**Our values**\n\nWe listen.", "## Our values\n\nWe listen."),
        Rule("M9", "Every footnote reference has its footnote.",
             "A reference with no note either shows as '[^1]' in the text or leads readers to a note that is "
             "not there.",
             "Half our members are volunteers.[^survey]",
             "Half our members are volunteers.[^survey]\n\n[^survey]: Members' survey, March 2024."),
        Rule("M10", "Only supported MyST roles and directives are used.",
             "A directive or role formatforge does not know would show as code or braces; its words are kept "
             "as plain text instead, but any meaning it had (a figure, a glossary term) is lost.",
             "```{figure} images/team.png\nOur team\n```",
             "![Our team at the 2024 away day](images/team.png)"),
        Rule("M11", "Lists, quotations and emphasis are nested at most 32 levels deep.",
             "Nobody can follow a list inside a list 30 times over, and braille and large print run out of "
             "room to indent it; such depth is nearly always a mistake in the file.",
             "- one\n  - two\n    - three ... (40 levels)", "- one\n  - two\n    - three"),
        Rule("S1", "Images are files saved under the source folder.",
             "Images are never fetched from the internet, so every format holds exactly the picture that was "
             "checked; a web address or a file elsewhere would be missing from the outputs.",
             "![Our logo](https://example.org/logo.png)", "![Our logo](images/logo.png)"),
        Rule("S2", "Links use only web, e-mail or phone addresses (https:, http:, mailto:, tel:).",
             "Other kinds of address (javascript:, file:, data:) can run code or open files on a reader's "
             "device; they are never linked, and their words are kept as plain text.",
             "[Open the form](javascript:openForm())", "[Open the form](https://example.org/form)"),
        Rule("S3", "No raw HTML: the text is written in Markdown.",
             "Raw HTML is never published, so that nothing pasted from a web page reaches a reader by accident: "
             "its tags are removed and only its text is kept, which may not be what was meant. Comments "
             "(<!-- ... -->) are notes for editors and are dropped without a warning.",
             "Please <b>register</b> by <span style=\"color:red\">Friday</span>.",
             "Please **register** by Friday.\n<!-- editors: check the date -->"),
        Rule("S4", "No control characters (ESC, NUL, DEL and the like) anywhere in the file.",
             "Control characters are invisible in most editors and cannot be printed, spoken or embossed; "
             "they usually arrive with text pasted from a terminal or an old system, and would break the "
             "outputs, so the build stops until they are deleted.",
             "Our plan\x1b[0m for 2025", "Our plan for 2025"),
    )
}


def explain(rule_id: str) -> str:
    """The rule, why it matters to a reader, and an example before and after the fix."""
    rule = RULES[rule_id.upper()]
    indent = lambda text: "\n".join(("    " + line).rstrip() for line in text.split("\n"))  # noqa: E731
    return (
        f"{rule.id}: {rule.rule}\n\n"
        f"Why it matters: {rule.why}\n\n"
        f"Instead of:\n{indent(rule.wrong)}\n\n"
        f"write:\n{indent(rule.fixed)}\n"
    )
