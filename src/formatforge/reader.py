"""Markdown master → document model. The only place Markdown is parsed.

Python-Markdown builds an ElementTree; a tree processor hands us that tree after its inline
pass, and we turn it into the typed model once. Raw HTML is switched off in the parser so
that markup pasted into the master reaches every output as plain, escaped text.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import re
import xml.etree.ElementTree as etree
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

import markdown
from markdown.extensions.attr_list import AttrListExtension
from markdown.extensions.fenced_code import FencedCodeExtension
from markdown.extensions.footnotes import FootnoteExtension
from markdown.extensions.sane_lists import SaneListExtension
from markdown.extensions.tables import TableExtension
from markdown.treeprocessors import Treeprocessor

from .errors import SourceError
from .front_matter import Diagnostic, build_metadata, decode_source, split_front_matter
from .model import (
    Block,
    BlockQuote,
    Code,
    CodeBlock,
    Document,
    Emphasis,
    Footnote,
    FootnoteRef,
    Heading,
    Image,
    Inline,
    LineBreak,
    Link,
    ListBlock,
    ListItem,
    Metadata,
    Paragraph,
    Strong,
    Table,
    TableCell,
    Text,
    ThematicBreak,
    UsedIds,
    WORD_RE,
    slugify,
    words,
)

SAFE_LINK_SCHEMES = {"http", "https", "mailto", "tel", ""}
STASH_RE = re.compile("\x02wzxhzdk:(\\d+)\x03")
LEFTOVER_PLACEHOLDER_RE = re.compile("\x02[^\x03]*\x03")
INLINE_TAGS = {"em", "strong", "code", "a", "br", "img", "sup", "span", "b", "i"}


@dataclass
class ReadResult:
    document: Document
    diagnostics: list[Diagnostic] = field(default_factory=list)
    source_lines: list[str] = field(default_factory=list)  # file lines, 1-based via index + 1
    body_start: int = 1  # the file line the Markdown body starts on


# ---------------------------------------------------------------- source positions


class LineLocator:
    """Finds where each block starts in the source, moving forward in reading order.

    Python-Markdown keeps no positions, so each block is matched to the first source line at
    or after the previous block's line that holds the block's first word.
    """

    def __init__(self, body: str, first_line: int):
        self.first_line = first_line
        self.lines = body.split("\n")
        # filled as the cursor reaches each line: most lines are looked at once or never
        self.line_words: list[set[str] | None] = [None] * len(self.lines)
        self.cursor = 0

    def words_of_line(self, index: int) -> set[str]:
        found = self.line_words[index]
        if found is None:
            found = self.line_words[index] = set(words(self.lines[index]))
        return found

    def holds(self, index: int, tokens: set[str]) -> bool:
        # Case folding goes character by character, so a word of the line is a substring of
        # the folded line: the cheap test rules out most lines before splitting into words.
        folded = self.lines[index].casefold().replace("’", "'")
        return all(token in folded for token in tokens) and tokens <= self.words_of_line(index)

    def locate(self, hint: str, pattern: re.Pattern | None = None, heading: bool = False) -> int:
        tokens = set(first_words(hint, 3))
        for index in range(self.cursor, len(self.lines)):
            if pattern is not None and pattern.search(self.lines[index]):
                break
            if pattern is None and tokens and self.holds(index, tokens):
                if not heading or self.is_heading_line(index):
                    break
        else:
            if pattern is None and len(tokens) > 1:
                return self.locate(words(hint)[0], heading=heading)
            return self.first_line + self.cursor
        self.cursor = index
        return self.first_line + index

    def is_heading_line(self, index: int) -> bool:
        if self.lines[index].lstrip().startswith("#"):
            return True
        following = self.lines[index + 1] if index + 1 < len(self.lines) else ""
        return bool(SETEXT_UNDERLINE_RE.match(following))

    def find_anywhere(self, pattern: re.Pattern) -> int:
        for index, line in enumerate(self.lines):
            if pattern.search(line):
                return self.first_line + index
        return self.first_line


def first_words(text: str, count: int) -> list[str]:
    """``words(text)[:count]`` without splitting the rest of a long paragraph."""
    return words(" ".join(match.group() for match in itertools.islice(WORD_RE.finditer(text), count)))


SETEXT_UNDERLINE_RE = re.compile(r"^ {0,3}(=+|-+) *$")
THEMATIC_BREAK_RE = re.compile(r"^ {0,3}([-*_])( *\1){2,} *$")


# ---------------------------------------------------------------- the tree → model conversion


class _CaptureTree(Treeprocessor):
    """Keeps the finished tree and hands Python-Markdown an empty one: we never use its HTML,
    and serialising a long document would cost as much as a fifth of reading it."""

    def run(self, root):
        self.md.formatforge_root = root
        return etree.Element(self.md.doc_tag)


class _Converter:
    def __init__(self, md: markdown.Markdown, path: Path, locator: LineLocator):
        self.md = md
        self.path = path
        self.locator = locator
        self.diagnostics: list[Diagnostic] = []
        self.footnote_numbers: dict[str, int] = {}
        self.used_ids: set[str] = UsedIds()  # never a writer's own id (issue 18)

    # -- text

    def clean(self, text: str | None) -> str:
        if not text:
            return ""

        def unstash(match: re.Match) -> str:
            raw = self.md.htmlStash.rawHtmlBlocks[int(match.group(1))]
            return html.unescape(re.sub(r"<[^>]+>", "", str(raw)))

        text = STASH_RE.sub(unstash, text)
        text = text.replace(markdown.util.AMP_SUBSTITUTE, "&")
        return LEFTOVER_PLACEHOLDER_RE.sub("", text)

    def diagnose(self, rule: str, severity: str, message: str, line: int) -> None:
        self.diagnostics.append(Diagnostic(rule, severity, message, self.path, line))

    # -- inlines

    def inlines(self, element: etree.Element, include_text: bool = True) -> list[Inline]:
        result: list[Inline] = []
        if include_text and element.text:
            result.append(Text(self.clean(element.text)))
        for child in element:
            result.extend(self.inline(child))
            if child.tail:
                result.append(Text(self.clean(child.tail)))
        return merge_text(result)

    def inline(self, el: etree.Element) -> list[Inline]:
        tag = el.tag
        if tag in ("em", "i"):
            return [Emphasis(tuple(self.inlines(el)))]
        if tag in ("strong", "b"):
            return [Strong(tuple(self.inlines(el)))]
        if tag == "code":
            return [Code(self.clean("".join(el.itertext())))]
        if tag == "br":
            return [LineBreak()]
        if tag == "sup" and (el.get("id") or "").startswith("fnref"):
            anchor = el.find("a")
            label = (anchor.get("href") or "#fn:").split(":", 1)[-1] if anchor is not None else ""
            number = self.footnote_numbers.setdefault(label, len(self.footnote_numbers) + 1)
            return [FootnoteRef(number, label)]
        if tag == "a":
            children = tuple(self.inlines(el))
            url = self.clean(el.get("href") or "")
            scheme = urlparse(url).scheme.lower()
            if scheme not in SAFE_LINK_SCHEMES:
                self.diagnose(
                    "S2", "warning",
                    f"link to {url!r} uses the {scheme}: scheme, which is not linked in any output",
                    self.locator.locate("", re.compile(re.escape(url[:40]))),
                )
                return list(children)
            return [Link(children, url, self.clean(el.get("title") or ""))]
        if tag == "img":
            # An image inside running text: kept as its alt text; figures are split out earlier.
            return [Text(self.clean(el.get("alt") or ""))]
        return self.inlines(el)

    # -- blocks

    def blocks(self, parent: etree.Element) -> list[Block]:
        result: list[Block] = []
        for el in parent:
            result.extend(self.block(el))
        return result

    def block(self, el: etree.Element) -> list[Block]:
        tag = el.tag
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            children = tuple(self.inlines(el))
            text = "".join(el.itertext())
            line = self.locator.locate(text, heading=True)
            return [Heading(int(tag[1]), children, self.unique_id(el.get("id") or slugify(text)), line)]
        if tag == "p":
            return self.paragraph(el)
        if tag in ("ul", "ol"):
            return [self.list_block(el)]
        if tag == "blockquote":
            line = self.locator.locate("".join(el.itertext()))
            return [BlockQuote(tuple(self.blocks(el)), line)]
        if tag == "table":
            return [self.table(el)]
        if tag == "pre":
            code = el.find("code")
            target = code if code is not None else el
            text = self.clean("".join(target.itertext())).rstrip("\n")
            language = (target.get("class") or "").replace("language-", "")
            return [CodeBlock(text, language, self.locator.locate(text))]
        if tag == "hr":
            return [ThematicBreak(self.locator.locate("", THEMATIC_BREAK_RE))]
        if tag == "div" and "footnote" in (el.get("class") or ""):
            return []
        # Anything else (an element from an extension): keep its text as a paragraph.
        text_blocks = self.blocks(el)
        if text_blocks:
            return text_blocks
        inlines = self.inlines(el)
        return [Paragraph(tuple(inlines), self.locator.locate("".join(el.itertext())))] if inlines else []

    def paragraph(self, el: etree.Element) -> list[Block]:
        """A paragraph, split around any image so that images stand as figures."""
        text = self.clean(el.text or "")
        stash = STASH_RE.fullmatch((el.text or "").strip()) if len(el) == 0 else None
        if stash is not None:
            raw = str(self.md.htmlStash.rawHtmlBlocks[int(stash.group(1))])
            if raw.lstrip().startswith("<pre"):
                # fenced code is kept in the stash as rendered HTML; take its text back out
                code = html.unescape(re.sub(r"<[^>]+>", "", raw)).rstrip("\n")
                lang = re.search(r'class="language-([^"]+)"', raw)
                return [CodeBlock(code, lang.group(1) if lang else "", self.locator.locate(code))]
        first_image = el.find("img")
        hint = "".join(el.itertext()).strip()
        if not hint and first_image is not None:
            hint = first_image.get("alt") or first_image.get("src") or ""
        line = self.locator.locate(hint)
        result: list[Block] = []
        pending: list[Inline] = [Text(text)] if text else []
        for child in el:
            if child.tag == "img":
                if inline_is_content(pending):
                    result.append(Paragraph(tuple(merge_text(pending)), line))
                pending = []
                result.append(self.image(child, line))
            else:
                pending.extend(self.inline(child))
            if child.tail:
                pending.append(Text(self.clean(child.tail)))
        if inline_is_content(pending):
            result.append(Paragraph(tuple(trim(merge_text(pending))), line))
        return result

    def image(self, el: etree.Element, line: int) -> Image:
        src = self.clean(el.get("src") or "")
        alt = self.clean(el.get("alt") or "").strip()
        decorative = "decorative" in (el.get("class") or "").split()
        parsed = urlparse(src)
        if parsed.scheme in ("http", "https", "ftp", "data") or src.startswith("//"):
            self.diagnose("S1", "error", f"image {src!r} is remote; images are never fetched: save it under the source folder", line)
        elif parsed.scheme:
            self.diagnose("S1", "error", f"image {src!r} is not a file path", line)
        elif PurePosixPath(src).is_absolute() or re.match(r"^[A-Za-z]:[\\/]", src):
            self.diagnose("S1", "error", f"image path {src!r} is absolute; use a path inside the source folder", line)
        else:
            base = self.path.parent.resolve()
            target = (base / src).resolve()
            if base != target and base not in target.parents:
                self.diagnose("S1", "error", f"image path {src!r} leads outside the source folder", line)
            elif not target.is_file():
                self.diagnose("S1", "error", f"image {src!r} not found", line)
        return Image(src, alt, self.clean(el.get("title") or ""), decorative, line)

    def list_block(self, el: etree.Element) -> ListBlock:
        items: list[ListItem] = []
        line = self.locator.locate("".join(el.itertext()))
        for li in el.findall("li"):
            item_line = self.locator.locate("".join(li.itertext()))
            blocks: list[Block] = []
            leading: list[Inline] = [Text(self.clean(li.text))] if li.text and li.text.strip() else []
            children = list(li)
            index = 0
            while index < len(children) and children[index].tag in INLINE_TAGS and children[index].tag != "img":
                leading.extend(self.inline(children[index]))
                if children[index].tail:
                    leading.append(Text(self.clean(children[index].tail)))
                index += 1
            if inline_is_content(leading):
                blocks.append(Paragraph(tuple(trim(merge_text(leading))), item_line))
            for child in children[index:]:
                blocks.extend(self.block(child) if child.tag != "img" else [self.image(child, item_line)])
                if child.tail and child.tail.strip():
                    blocks.append(Paragraph((Text(self.clean(child.tail).strip()),), item_line))
            items.append(ListItem(tuple(blocks), item_line))
        start = int(el.get("start") or 1)
        return ListBlock(el.tag == "ol", tuple(items), start, line)

    def table(self, el: etree.Element) -> Table:
        line = self.locator.locate("".join(el.itertext()))
        rows = el.iter("tr")
        header: tuple[TableCell, ...] = ()
        body: list[tuple[TableCell, ...]] = []
        for tr in rows:
            cells = tuple(
                TableCell(tuple(trim(self.inlines(cell))), align_of(cell)) for cell in tr if cell.tag in ("th", "td")
            )
            if not header and all(cell.tag == "th" for cell in tr):
                header = cells
            else:
                body.append(cells)
        return Table(header, tuple(body), (), line)

    def footnotes(self, root: etree.Element) -> list[Footnote]:
        result: list[Footnote] = []
        for div in root.iter("div"):
            if "footnote" not in (div.get("class") or ""):
                continue
            for li in div.iter("li"):
                label = (li.get("id") or "fn:").split(":", 1)[-1]
                for anchor in li.iter("a"):
                    if "footnote-backref" in (anchor.get("class") or ""):
                        anchor.clear()
                        anchor.tag = "span"
                number = self.footnote_numbers.setdefault(label, len(self.footnote_numbers) + 1)
                line = self.locator.find_anywhere(re.compile(r"^\s*\[\^" + re.escape(label) + r"\]:"))
                self.locator.cursor = max(0, line - self.locator.first_line)
                blocks = [strip_trailing_space(b) for b in self.blocks(li)]
                result.append(Footnote(number, label, tuple(blocks), line))
        result.sort(key=lambda fn: fn.number)
        return result

    def unique_id(self, wanted: str) -> str:
        candidate, n = wanted, 1
        while candidate in self.used_ids:
            n += 1
            candidate = f"{wanted}-{n}"
        self.used_ids.add(candidate)
        return candidate


def align_of(cell: etree.Element) -> str:
    style = cell.get("style") or cell.get("align") or ""
    for value in ("left", "center", "right"):
        if value in style:
            return value
    return ""


def merge_text(inlines: list[Inline]) -> list[Inline]:
    """Joins adjacent text and turns soft line breaks into spaces."""
    merged: list[Inline] = []
    for node in inlines:
        if isinstance(node, Text):
            text = re.sub(r"[ \t]*\n[ \t]*", " ", node.text)
            if merged and isinstance(merged[-1], LineBreak):
                text = text.lstrip()
            node = Text(text)
        if isinstance(node, Text) and merged and isinstance(merged[-1], Text):
            merged[-1] = Text(merged[-1].text + node.text)
        elif not (isinstance(node, Text) and node.text == ""):
            merged.append(node)
    return merged


def trim(inlines: list[Inline]) -> list[Inline]:
    if inlines and isinstance(inlines[0], Text):
        inlines = [Text(inlines[0].text.lstrip())] + inlines[1:]
    if inlines and isinstance(inlines[-1], Text):
        inlines = inlines[:-1] + [Text(inlines[-1].text.rstrip())]
    return [n for n in inlines if not (isinstance(n, Text) and not n.text)]


def inline_is_content(inlines: list[Inline]) -> bool:
    return any(not isinstance(n, Text) or n.text.strip() for n in inlines)


def strip_trailing_space(block: Block) -> Block:
    if isinstance(block, Paragraph):
        return Paragraph(tuple(trim([Text(n.text.replace("\xa0", " ")) if isinstance(n, Text) else n for n in block.children])), block.line)
    return block


# ---------------------------------------------------------------- entry point


def new_markdown() -> markdown.Markdown:
    # Extension objects, not names: names are looked up through the installed packages'
    # entry points, which costs more than the whole parse of a short document.
    md = markdown.Markdown(
        extensions=[TableExtension(), AttrListExtension(), FootnoteExtension(), FencedCodeExtension(), SaneListExtension()]
    )
    # Raw HTML is never passed through: with these gone, tags stay literal text.
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    md.treeprocessors.register(_CaptureTree(md), "formatforge-capture", -10)
    return md


def read_text(text: str, path: Path, sha256: str = "") -> ReadResult:
    front, body, body_start = split_front_matter(text, path)
    source_lines = text.split("\n")
    metadata = build_metadata(front, path, source_lines)
    md = new_markdown()
    md.convert(body)
    # Python-Markdown skips its tree processors altogether when the body is blank.
    root = getattr(md, "formatforge_root", None)
    if root is None:
        root = etree.Element("div")
    converter = _Converter(md, path, LineLocator(body, body_start))
    blocks = converter.blocks(root)
    footnotes = converter.footnotes(root)
    document = Document(metadata, tuple(blocks), tuple(footnotes), path, sha256)
    return ReadResult(document, converter.diagnostics, source_lines, body_start)


def read_source(path: Path | str) -> ReadResult:
    """Read the Markdown master at ``path`` into the document model."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SourceError("source file not found", path) from None
    except IsADirectoryError:
        raise SourceError("is a folder, not a Markdown file", path) from None
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror}", path) from None
    text = decode_source(data, path)
    return read_text(text, path, hashlib.sha256(data).hexdigest())
