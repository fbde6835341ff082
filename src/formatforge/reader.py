"""Markdown master → document model. The only place Markdown is parsed.

markdown-it-py parses the body once, by the CommonMark 0.31.2 and GFM rules (tables, task
items, strikethrough, extended autolinks, alerts) with a few MyST additions; its token stream
is turned into the typed model here, one small function per kind of token. Every line number
comes from the parser's own source map (``token.map``).

Nothing reaches a reader by accident: HTML comments (editors' notes) are dropped, any other
raw HTML loses its tags and keeps its text, with a warning.

Why one module of about 880 lines: it is the one function per token kind that markdown-it-py's
own renderers are, and the kinds share one state (the open list, quotation or note, the
labels MyST defines); splitting by kind would pass that state between modules.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import urlparse

from markdown_it import MarkdownIt
from markdown_it.common.utils import unescapeAll
from markdown_it.token import Token
from mdit_py_plugins.colon_fence import colon_fence_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.gfm_autolink import gfm_autolink_plugin
from mdit_py_plugins.myst_blocks.index import target as myst_target_rule
from mdit_py_plugins.myst_role import myst_role_plugin

from .errors import SourceError
from .front_matter import Diagnostic, build_metadata, decode_source, locate_image, split_front_matter
from .model import (
    ADMONITION_LABELS,
    Admonition,
    Block,
    BlockQuote,
    Code,
    CodeBlock,
    DefinitionItem,
    DefinitionList,
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
    Paragraph,
    Span,
    Strikethrough,
    Strong,
    Table,
    TableCell,
    Text,
    ThematicBreak,
    UsedIds,
    in_language,
    slugify,
)

__all__ = ["Diagnostic", "ReadResult", "read_source", "read_text", "MAX_NESTING"]

SAFE_LINK_SCHEMES = {"http", "https", "mailto", "tel", ""}

# Lists, quotations and notes inside each other, or emphasis inside emphasis, deeper than this
# is never meant: no reader can follow it and braille cannot indent it. The parser's own
# limit sits above ours so that a document it would cut short always gets our error first.
MAX_NESTING = 32
PARSER_MAX_NESTING = 2 * MAX_NESTING + 8

# CommonMark 0.31.2's comment (``<!-->`` and ``<!--->`` included); one left open runs to the
# end of its HTML block, as the parser read it.
COMMENT_RE = re.compile(r"<!--(?:-?>|.*?-->)|<!--.*\Z", re.S)
# What is never text for a reader: tags, processing instructions, declarations, CDATA.
ATTRIBUTE = r"""(?:\s+[A-Za-z_:][\w.:-]*(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)"""
HTML_MARKUP_RE = re.compile(
    r"<[A-Za-z][A-Za-z0-9-]*" + ATTRIBUTE + r"*\s*/?>|</[A-Za-z][A-Za-z0-9-]*\s*>"
    r"|<\?.*?\?>|<![A-Za-z][^>]*>|<!\[CDATA\[.*?\]\]>",
    re.S,
)
TAG_NAME_RE = re.compile(r"</?([A-Za-z][A-Za-z0-9-]*)")
# Python-Markdown's attribute list after an image, which the README documents:
# ``![alt](x.png){: .decorative}``; ``{.decorative}`` is the attributes plugins' form.
ATTR_LIST_RE = re.compile(r"^\{:?\s*([^{}\n]*)\}")
MISSING_FOOTNOTE_RE = re.compile(r"\[\^([^\]\s]+)\]")
REF_WITH_TEXT_RE = re.compile(r"^(.*?)\s*<([^<>]+)>\s*$", re.S)
# A passage in another language: ``[Croeso]{lang=cy}`` inline, ``::: {lang=cy}`` for blocks.
LANGUAGE_ATTRIBUTE_RE = re.compile(r"\{\s*lang=[\"']?([A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*)[\"']?\s*\}")
LANGUAGE_FENCE_RE = re.compile(r"^\{\s*lang=[\"']?([A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*)[\"']?\s*\}$")
DIRECTIVE_RE = re.compile(r"^\{([A-Za-z0-9_+:-]+)\}\s*(.*)$", re.S)
CODE_DIRECTIVES = {"code", "code-block", "code-cell", "sourcecode"}
ADMONITION_ALIASES = {"info": "note", "success": "tip", "danger": "danger", "warn": "warning"}


@dataclass
class ReadResult:
    document: Document
    diagnostics: list[Diagnostic] = field(default_factory=list)
    source_lines: list[str] = field(default_factory=list)  # file lines, 1-based via index + 1
    body_start: int = 1  # the file line the Markdown body starts on


# ---------------------------------------------------------------- the parser


def new_parser() -> MarkdownIt:
    md = MarkdownIt(
        "commonmark",
        {"tasklists": True, "alerts": True, "maxNesting": PARSER_MAX_NESTING, "strikethrough_single_tilde": True},
    )
    md.enable(["table", "strikethrough"])
    md.use(gfm_autolink_plugin)
    md.core.ruler.push("formatforge_email", join_email_local_parts)
    md.use(footnote_plugin, inline=False)
    md.core.ruler.before("footnote_tail", "formatforge_footnotes", keep_footnote_definitions)
    md.use(deflist_plugin)
    md.use(colon_fence_plugin)
    md.use(myst_role_plugin)
    md.inline.ruler.before("link", "formatforge_language_span", language_span)
    # Only MyST's ``(label)=`` targets: its ``%`` comment lines would silently drop a line
    # such as "% of staff", and ``+++`` breaks are notebook cells, not prose.
    md.block.ruler.before(
        "hr", "myst_target", myst_target_rule, {"alt": ["paragraph", "reference", "blockquote", "list", "footnote_def"]}
    )
    # Every link is parsed, whatever its scheme, so that the S2 check sees it and reports it;
    # a javascript: link otherwise stays literal text with its address shown to readers.
    # Replacing the method on the instance is markdown-it-py's documented way to change it.
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    return md


def language_span(state, silent: bool) -> bool:
    """``[words]{lang=cy}``: the words as a passage in that language (only ``lang``: other
    attributes stay text, as before)."""
    if state.src[state.pos] != "[":
        return False
    label_end = state.md.helpers.parseLinkLabel(state, state.pos, False)
    if label_end < 0:
        return False
    found = LANGUAGE_ATTRIBUTE_RE.match(state.src, label_end + 1)
    if found is None or found.end() > state.posMax:
        return False
    if not silent:
        maximum = state.posMax
        state.pos, state.posMax = state.pos + 1, label_end
        token = state.push("span_open", "span", 1)
        token.attrSet("lang", found.group(1))
        state.md.inline.tokenize(state)
        state.push("span_close", "span", -1)
        state.posMax = maximum
    state.pos = found.end()
    return True


FOOTNOTE_DEFINITIONS = "formatforge_footnotes"


def keep_footnote_definitions(state) -> None:
    """Keeps each footnote definition's tokens by label before the footnote plugin moves the
    referenced ones to the end and drops the rest: the reader numbers them itself, keeps an
    unreferenced one's words, and finds a definition cited from inside a directive."""
    definitions = state.env.setdefault(FOOTNOTE_DEFINITIONS, {})
    current: list[Token] | None = None
    label = ""
    for token in state.tokens:
        if token.type == "footnote_reference_open":
            current, label = [], str(token.meta.get("label"))
        elif token.type == "footnote_reference_close":
            definitions.setdefault(label, current)
            current = None
        elif current is not None:
            current.append(token)


EMAIL_LOCAL_TAIL_RE = re.compile(r"[A-Za-z0-9._+-]+$")


def join_email_local_parts(state) -> None:
    """Gives a bare e-mail address back the start of its name: the autolink plugin scans
    back only over plain text, so in ``first_last@example.org`` it links ``last@...``
    (an underscore starts an emphasis run) and would send mail to the wrong person."""
    for block in state.tokens:
        children = block.children
        if block.type != "inline" or not children:
            continue
        for index in range(1, len(children) - 1):
            link = children[index]
            if link.type != "link_open" or link.info != "auto" or not str(link.attrGet("href") or "").startswith("mailto:"):
                continue
            before, text = children[index - 1], children[index + 1]
            tail = EMAIL_LOCAL_TAIL_RE.search(before.content) if before.type == "text" else None
            # only where the source has the whole address (not '<d@a.b>' after a word)
            if tail is None or text.type != "text" or tail.group() + text.content not in block.content:
                continue
            before.content = before.content[: tail.start()]
            text.content = tail.group() + text.content
            link.attrSet("href", "mailto:" + text.content)


_PARSER: MarkdownIt | None = None


def parser() -> MarkdownIt:
    global _PARSER
    if _PARSER is None:
        _PARSER = new_parser()
    return _PARSER


# ---------------------------------------------------------------- tokens → model


class DepthError(Exception):
    """Raised inside the conversion when nesting passes MAX_NESTING; reported once."""


class _Converter:
    def __init__(self, path: Path, first_line: int):
        self.path = path
        self.offset = first_line  # file line of the parsed text's first line
        self.diagnostics: list[Diagnostic] = []
        self.footnote_numbers: dict[str, int] = {}
        self.used_ids: set[str] = UsedIds()  # never a writer's own id (issue 18)
        self.heading_ids: dict[int, str] = {}  # id(heading_open token) → heading id
        self.targets: dict[str, tuple[str, str]] = {}  # MyST label → (heading id, heading text)
        self.depth = 0
        self.too_deep = False
        self.html_warned: set[int] = set()
        self.env: dict = {}
        self.footnote_offsets: dict[str, int] = {}  # label → the offset of the text it was parsed in

    def diagnose(self, rule: str, severity: str, message: str, line: int) -> None:
        self.diagnostics.append(Diagnostic(rule, severity, message[:1].upper() + message[1:], self.path, line))

    def line_of(self, token: Token, default: int = 0) -> int:
        return self.offset + token.map[0] if token.map else default

    # -- the pre-pass: heading ids and MyST targets, so that a {ref} may point forward

    def collect_headings(self, tokens: list[Token]) -> None:
        pending_labels: list[str] = []
        for index, token in enumerate(tokens):
            if token.type == "myst_target":
                pending_labels.append(token.content.strip())
            elif token.type == "heading_open":
                inline = tokens[index + 1]
                text = plain_text(inline.children or [])
                heading_id = self.unique_id(slugify(text))
                self.heading_ids[id(token)] = heading_id
                for label in pending_labels:
                    self.targets[label] = (heading_id, text)
                pending_labels = []
        for label in pending_labels:
            self.targets.setdefault(label, ("", ""))

    def unique_id(self, wanted: str) -> str:
        candidate, n = wanted, 1
        while candidate in self.used_ids:
            n += 1
            candidate = f"{wanted}-{n}"
        self.used_ids.add(candidate)
        return candidate

    # -- blocks

    def blocks(self, tokens: list[Token], start: int, end: int) -> list[Block]:
        """The blocks of ``tokens[start:end]``, a run of sibling tokens."""
        result: list[Block] = []
        index = start
        while index < end:
            token = tokens[index]
            close = matching_close(tokens, index) if token.nesting == 1 else index
            handler = BLOCK_HANDLERS.get(token.type)
            if handler is not None:
                try:
                    result.extend(handler(self, tokens, index, close))
                except DepthError:
                    if self.depth:
                        raise
                    # the too-deep block is left out (its error is reported); the rest is read
            index = close + 1
        return result

    def nested(self, token: Token) -> None:
        """Counts one more level of nesting; the caller undoes it in a ``finally``."""
        if self.depth >= MAX_NESTING or token.level >= PARSER_MAX_NESTING - 2:
            self.report_depth(self.line_of(token, self.offset))
        self.depth += 1

    def report_depth(self, line: int) -> None:
        """Reports the error once, and stops reading the block that is too deep."""
        if not self.too_deep:
            self.too_deep = True
            self.diagnose(
                "M11", "error",
                f"lists, quotations or emphasis are put inside each other more than {MAX_NESTING} levels deep "
                "here, which no reader can follow; use fewer levels (a list inside a list is enough)",
                line,
            )
        raise DepthError

    def container(self, tokens, index, close) -> list[Block]:
        self.nested(tokens[index])
        try:
            return self.blocks(tokens, index + 1, close)
        finally:
            self.depth -= 1

    def heading(self, tokens, index, close) -> list[Block]:
        token = tokens[index]
        line = self.line_of(token)
        children = self.inlines(tokens[index + 1], line)
        heading_id = self.heading_ids.get(id(token)) or self.unique_id(slugify(plain_text(tokens[index + 1].children or [])))
        return [Heading(int(token.tag[1]), tuple(trim(children)), heading_id, line)]

    def paragraph(self, tokens, index, close) -> list[Block]:
        """A paragraph, split around any image so that images stand as figures."""
        line = self.line_of(tokens[index])
        inline = next((t for t in tokens[index + 1 : close] if t.type == "inline"), None)
        if inline is None:
            return []
        result: list[Block] = []
        pending: list[Inline] = []
        for item in self.inline_items(inline, line):
            if isinstance(item, Image):
                if inline_is_content(pending):
                    result.append(Paragraph(tuple(trim(merge_text(pending))), line))
                pending = []
                result.append(item)
            else:
                pending.append(item)
        if inline_is_content(pending):
            result.append(Paragraph(tuple(trim(merge_text(pending))), line))
        return result

    def list_block(self, tokens, index, close) -> list[Block]:
        token = tokens[index]
        line = self.line_of(token)
        self.nested(token)
        try:
            items: list[ListItem] = []
            child = index + 1
            while child < close:
                item_close = matching_close(tokens, child)
                item = tokens[child]
                checked = item.meta.get("checked") if item.meta else None
                blocks = self.blocks(tokens, child + 1, item_close)
                items.append(ListItem(tuple(blocks), self.line_of(item, line), checked))
                child = item_close + 1
        finally:
            self.depth -= 1
        start = token.attrGet("start")
        start = int(start) if token.type == "ordered_list_open" and start is not None else 1
        return [ListBlock(token.type == "ordered_list_open", tuple(items), start, line)]

    def blockquote(self, tokens, index, close) -> list[Block]:
        return [BlockQuote(tuple(self.container(tokens, index, close)), self.line_of(tokens[index]))]

    def alert(self, tokens, index, close) -> list[Block]:
        token = tokens[index]
        line = self.line_of(token)
        kind = str(token.meta.get("kind") or token.info or "note").lower()
        title: list[Inline] = []
        start = index + 1
        if start < close and tokens[start].type == "alert_title_open":
            title_close = matching_close(tokens, start)
            inline = next((t for t in tokens[start:title_close] if t.type == "inline"), None)
            if inline is not None:
                title = trim(self.inlines(inline, line))
            start = title_close + 1
        self.nested(token)
        try:
            blocks = self.blocks(tokens, start, close)
        finally:
            self.depth -= 1
        kind = kind if kind in ADMONITION_LABELS else "note"
        return [Admonition(kind, tuple(title) or (Text(ADMONITION_LABELS[kind]),), tuple(blocks), line)]

    def table(self, tokens, index, close) -> list[Block]:
        line = self.line_of(tokens[index])
        header: tuple[TableCell, ...] = ()
        rows: list[tuple[TableCell, ...]] = []
        in_head = False
        cells: list[TableCell] = []
        row_line = line
        for position in range(index + 1, close):
            token = tokens[position]
            if token.type == "thead_open":
                in_head = True
            elif token.type == "thead_close":
                in_head = False
            elif token.type == "tr_open":
                cells, row_line = [], self.line_of(token, line)
            elif token.type == "tr_close":
                if in_head:
                    header = tuple(cells)
                else:
                    rows.append(tuple(cells))
            elif token.type in ("th_open", "td_open"):
                inline = tokens[position + 1]
                cells.append(TableCell(tuple(trim(self.inlines(inline, row_line))), align_of(token)))
        return [Table(header, tuple(rows), (), line)]

    def code(self, tokens, index, close) -> list[Block]:
        token = tokens[index]
        info = unescapeAll(token.info).strip()
        language = info.split()[0] if info else ""
        return [CodeBlock(token.content.rstrip("\n"), language, self.line_of(token))]

    def fence(self, tokens, index, close) -> list[Block]:
        token = tokens[index]
        directive = DIRECTIVE_RE.match(token.info.strip())
        if directive is None:
            return self.code(tokens, index, close)
        return self.directive(token, directive.group(1), directive.group(2).strip())

    def colon_fence(self, tokens, index, close) -> list[Block]:
        token = tokens[index]
        info = token.info.strip()
        passage = LANGUAGE_FENCE_RE.match(info)
        if passage is not None:  # ``::: {lang=cy}``: the blocks inside are in that language
            self.nested(token)
            try:
                blocks = self.parse_nested(token.content, self.line_of(token) + 1)
            finally:
                self.depth -= 1
            return list(in_language(tuple(blocks), passage.group(1)))
        directive = DIRECTIVE_RE.match(info)
        if directive is not None:
            return self.directive(token, directive.group(1), directive.group(2).strip())
        name, _, argument = info.partition(" ")
        if not name:  # a bare ':::' fence only groups its content
            return self.parse_nested(token.content, self.line_of(token) + 1)
        return self.directive(token, name, argument.strip())

    def directive(self, token: Token, name: str, argument: str) -> list[Block]:
        """A MyST directive: an admonition, code, or (unknown) its content as plain text."""
        line = self.line_of(token)
        content_lines = token.content.split("\n")
        skipped = 0
        # MyST options: ``:class: tip`` lines (or a ``---`` YAML block) before the content
        if content_lines and content_lines[0].strip() == "---":
            for number in range(1, len(content_lines)):
                if content_lines[number].strip() == "---":
                    skipped = number + 1
                    break
        while skipped < len(content_lines) and re.match(r"^:[\w-]+:", content_lines[skipped]):
            skipped += 1
        content = "\n".join(content_lines[skipped:])
        kind = ADMONITION_ALIASES.get(name.lower(), name.lower())
        if name.lower() in CODE_DIRECTIVES:
            return [CodeBlock(content.rstrip("\n"), argument.split()[0] if argument else "", line)]
        self.nested(token)
        try:
            blocks = self.parse_nested(content, line + 1 + skipped)
        finally:
            self.depth -= 1
        if kind in ADMONITION_LABELS:
            if kind == "admonition" and argument:
                title = tuple(trim(self.parse_inline(argument, line)))
            else:
                title = (Text(ADMONITION_LABELS[kind]),)
                if argument:
                    blocks = [Paragraph(tuple(trim(self.parse_inline(argument, line))), line)] + blocks
            return [Admonition(kind, title, tuple(blocks), line)]
        self.diagnose(
            "M10", "warning",
            f"the MyST directive '{{{name}}}' is not supported, so its content is kept as ordinary text; "
            "use a supported one (note, tip, important, warning, caution, admonition, code-block) or plain Markdown",
            line,
        )
        if argument:
            blocks = [Paragraph((Text(argument),), line)] + blocks
        return blocks

    def parse_nested(self, text: str, first_line: int) -> list[Block]:
        if not text.strip():
            return []
        saved = self.offset
        self.offset = first_line
        try:
            tokens = self.parse(text)
            return self.blocks(tokens, 0, len(tokens))
        finally:
            self.offset = saved

    def parse_inline(self, text: str, line: int) -> list[Inline]:
        tokens = parser().parseInline(text, self.env)
        return self.inlines(tokens[0], line) if tokens else [Text(text)]

    def definition_list(self, tokens, index, close) -> list[Block]:
        token = tokens[index]
        line = self.line_of(token)
        self.nested(token)
        try:
            items: list[DefinitionItem] = []
            term: list[Inline] | None = None
            term_line = line
            definitions: list[tuple[Block, ...]] = []
            child = index + 1
            while child < close:
                child_close = matching_close(tokens, child)
                if tokens[child].type == "dt_open":
                    if term is not None:
                        items.append(DefinitionItem(tuple(term), tuple(definitions), term_line))
                    term_line = self.line_of(tokens[child], line)
                    term, definitions = trim(self.inlines(tokens[child + 1], term_line)), []
                elif tokens[child].type == "dd_open":
                    definitions.append(tuple(self.blocks(tokens, child + 1, child_close)))
                child = child_close + 1
            if term is not None:
                items.append(DefinitionItem(tuple(term), tuple(definitions), term_line))
        finally:
            self.depth -= 1
        return [DefinitionList(tuple(items), line)]

    def html_block(self, tokens, index, close) -> list[Block]:
        token = tokens[index]
        line = self.line_of(token)
        text = self.strip_html(token.content, line)
        paragraphs = [re.sub(r"\s+", " ", part).strip() for part in re.split(r"\n\s*\n", text)]
        return [Paragraph((Text(part),), line) for part in paragraphs if part]

    def strip_html(self, raw: str, line: int) -> str:
        """Raw HTML's text without its tags; comments go silently, tags with a warning."""
        without_comments = COMMENT_RE.sub("", raw)
        markup = HTML_MARKUP_RE.search(without_comments)
        if markup is not None:
            self.warn_html(markup.group(0), line)
        return html.unescape(HTML_MARKUP_RE.sub("", without_comments))

    def warn_html(self, markup: str, line: int) -> None:
        """One warning a line, naming the first piece of HTML on it."""
        if line in self.html_warned:
            return
        self.html_warned.add(line)
        name = TAG_NAME_RE.match(markup)
        shown = "<" + name.group(1) + ">" if name else markup[:20]  # for the message, never markup
        self.diagnose(
            "S3", "warning",
            f"raw HTML {shown} is not published: the tag is removed and only its text is kept; "
            "write it in Markdown instead (or as a <!-- comment --> if it is a note for editors)",
            line,
        )

    def myst_target(self, tokens, index, close) -> list[Block]:
        return []  # the label is an anchor on the next heading, read in the pre-pass

    def footnote_block(self, tokens, index, close) -> list[Block]:
        return []  # read by footnotes()

    # -- footnotes

    def footnotes(self) -> list[Footnote]:
        """Every footnote: those referenced, in order of first reference, then any never
        referenced (so that no words are lost), each from its definition's own tokens."""
        definitions = self.env.get(FOOTNOTE_DEFINITIONS, {})
        for label in definitions:
            self.footnote_numbers.setdefault(label, len(self.footnote_numbers) + 1)
        result: list[Footnote] = []
        done: set[str] = set()
        while len(done) < len(self.footnote_numbers):  # a footnote may cite another
            for label, number in list(self.footnote_numbers.items()):
                if label in done:
                    continue
                done.add(label)
                tokens = definitions.get(label)
                if tokens is None:
                    continue  # reported by check_missing_footnote
                saved = self.offset
                self.offset = self.footnote_offsets.get(label, saved)
                try:
                    first = next((t for t in tokens if t.map), None)
                    line = self.line_of(first, self.offset) if first is not None else self.offset
                    blocks = self.blocks(tokens, 0, len(tokens))
                finally:
                    self.offset = saved
                result.append(Footnote(number, label, tuple(blocks), line))
        result.sort(key=lambda fn: fn.number)
        return result

    def parse(self, text: str) -> list[Token]:
        """Parses with the document's one environment, so that footnotes and link
        definitions are shared between the body and the content of directives."""
        tokens = parser().parse(text, self.env)
        for label in self.env.get(FOOTNOTE_DEFINITIONS, {}):
            self.footnote_offsets.setdefault(label, self.offset)
        return tokens

    # -- inlines

    def inlines(self, inline: Token, line: int) -> list[Inline]:
        """The inlines of an ``inline`` token, images kept as their alt text."""
        return merge_text([Text(i.alt) if isinstance(i, Image) else i for i in self.inline_items(inline, line)])

    def inline_items(self, inline: Token, line: int) -> list[Inline | Image]:
        """Inlines, with top-level images returned as ``Image`` figures to split out.

        Iterative, with an explicit stack: emphasis 5,000 deep must give an error, not a
        RecursionError.
        """
        children = inline.children or []
        root: list = []
        # (opening token type, the nodes inside so far, the opening token, its line); the root,
        # which is never closed, stands for the inline token itself.
        stack: list[tuple[str, list, Token, int]] = [("root", root, inline, line)]
        current_line = line
        skip_depth = 0  # opening tokens past the limit, dropped with their closers
        index = 0
        while index < len(children):
            token = children[index]
            kind = token.type
            out = stack[-1][1]
            if kind in ("softbreak", "hardbreak"):
                out.append(Text(" ") if kind == "softbreak" else LineBreak())
                current_line += 1
            elif kind == "text":
                text = token.content
                if index and children[index - 1].type == "html_inline" and out and isinstance(out[-1], Text):
                    if out[-1].text.endswith((" ", "\n")):
                        text = text.lstrip(" ")  # "a <!-- note --> b" reads "a b"
                out.append(Text(text))
                self.check_missing_footnote(token.content, inline.content, current_line)
            elif kind == "code_inline":
                out.append(Code(token.content))
            elif kind.endswith("_open"):
                if len(stack) > MAX_NESTING:
                    skip_depth += 1
                    if not self.too_deep:
                        try:
                            self.report_depth(current_line)
                        except DepthError:
                            pass
                else:
                    stack.append((kind, [], token, current_line))
            elif kind.endswith("_close"):
                if skip_depth:
                    skip_depth -= 1
                elif len(stack) > 1:
                    opened, nodes, open_token, opened_line = stack.pop()
                    stack[-1][1].extend(self.close_inline(opened, nodes, open_token, opened_line))
            elif kind == "image":
                image = self.image(token, current_line)
                index = self.take_attributes(children, index, image, out, current_line)
                continue
            elif kind == "html_inline":
                self.html_inline(token.content, current_line)
            elif kind == "footnote_ref":
                label = str(token.meta.get("label") or token.meta.get("id"))
                number = self.footnote_numbers.setdefault(label, len(self.footnote_numbers) + 1)
                out.append(FootnoteRef(number, label))
            elif kind == "myst_role":
                out.extend(self.role(token, current_line))
            index += 1
        while len(stack) > 1:  # unbalanced (never from the parser): keep the words
            _, nodes, _, _ = stack.pop()
            stack[-1][1].extend(nodes)
        return root

    def close_inline(self, opened: str, nodes: list, token: Token, line: int) -> list:
        inner = merge_text([Text(n.alt) if isinstance(n, Image) else n for n in nodes])
        if opened == "em_open":
            return [Emphasis(tuple(inner))]
        if opened == "strong_open":
            return [Strong(tuple(inner))]
        if opened == "s_open":
            return [Strikethrough(tuple(inner))]
        if opened == "span_open" and token.attrGet("lang"):
            return [Span(tuple(inner), str(token.attrGet("lang")))]
        if opened == "link_open":
            url = str(token.attrGet("href") or "")
            scheme = urlparse(url).scheme.lower()
            if scheme not in SAFE_LINK_SCHEMES:
                self.diagnose(
                    "S2", "warning",
                    f"the link to {url[:60]!r} is not linked in any output, because {scheme}: addresses can run "
                    "code or open files on a reader's device; its words are kept. Link to a web page (https://), "
                    "an e-mail address (mailto:) or a phone number (tel:) instead",
                    line,
                )
                return inner
            return [Link(tuple(inner), url, str(token.attrGet("title") or ""))]
        return nodes

    def image(self, token: Token, line: int) -> Image:
        src = str(token.attrGet("src") or "")
        alt = plain_text(token.children or []).strip()
        image = Image(src, alt, str(token.attrGet("title") or ""), False, line)
        self.check_image(image)
        return image

    def take_attributes(self, children: list[Token], index: int, image: Image, out: list, line: int) -> int:
        """``{: .decorative}`` right after an image marks it decorative; returns the next index."""
        following = children[index + 1] if index + 1 < len(children) else None
        if following is not None and following.type == "text":
            match = ATTR_LIST_RE.match(following.content)
            if match is not None:
                classes = {part[1:] for part in match.group(1).split() if part.startswith(".")}
                image = Image(image.src, image.alt, image.title, "decorative" in classes, image.line)
                rest = following.content[match.end() :]
                out.append(image)
                if rest:
                    out.append(Text(rest))
                return index + 2
        out.append(image)
        return index + 1

    def html_inline(self, raw: str, line: int) -> None:
        if raw.startswith("<!--"):
            return  # comments are editors' notes, never published and never warned about
        self.warn_html(raw, line)

    def role(self, token: Token, line: int) -> list[Inline]:
        name = token.meta.get("name", "")
        content = token.content
        if name == "ref":
            explicit = REF_WITH_TEXT_RE.match(content)
            label = explicit.group(2).strip() if explicit else content.strip()
            heading_id, heading_text = self.targets.get(label, ("", ""))
            text = explicit.group(1).strip() if explicit and explicit.group(1).strip() else heading_text or label
            # an unknown label still becomes a link, so that M5 reports it by name
            return [Link((Text(text),), "#" + (heading_id or label))]
        self.diagnose(
            "M10", "warning",
            f"the MyST role '{{{name}}}' is not supported, so '{content}' is kept as plain text; "
            "remove the role or use {ref} for a link to a section",
            line,
        )
        return [Text(content)]

    def check_missing_footnote(self, text: str, source: str, line: int) -> None:
        if "[^" not in text:
            return
        for match in MISSING_FOOTNOTE_RE.finditer(text):
            if not re.search(r"(?<!\\)\[\^" + re.escape(match.group(1)) + r"\]", source):
                continue  # written as \[^x], meant as text
            self.diagnose(
                "M9", "error",
                f"the footnote reference [^{match.group(1)}] has no footnote; add a line "
                f"'[^{match.group(1)}]: the note's text' at the end of the document, or remove the reference",
                line,
            )

    def check_image(self, image: Image) -> None:
        """S1 for where a body image points (the rule the cover follows too: ``locate_image``)."""
        target, problem = locate_image(image.src, self.path.parent)
        if problem:
            advice = IMAGE_ADVICE.get(problem.partition(";")[0], "")
            self.diagnose("S1", "error", f"image {image.src!r} {problem}{advice}", image.line)


# What to do, for the person writing the master, after each of ``locate_image``'s problems.
IMAGE_ADVICE = {
    "is remote": " and link to that file",
    "is not a file path": "; save the image under the source folder and link to that file",
    "is an absolute path": ", such as images/picture.png",
    "leads outside the source folder": "; copy the image into it",
    "not found": "; check the file name and that it is saved under the source folder",
    "is not a file": "; check the file name and that it is saved under the source folder",
}


# Each handler reads the block that opens at tokens[index] and closes at tokens[close].
BLOCK_HANDLERS: dict[str, Callable[[_Converter, list[Token], int, int], Iterable[Block]]] = {
    "heading_open": _Converter.heading,
    "paragraph_open": _Converter.paragraph,
    "bullet_list_open": _Converter.list_block,
    "ordered_list_open": _Converter.list_block,
    "blockquote_open": _Converter.blockquote,
    "alert_open": _Converter.alert,
    "table_open": _Converter.table,
    "fence": _Converter.fence,
    "code_block": _Converter.code,
    "colon_fence": _Converter.colon_fence,
    "hr": lambda self, tokens, index, close: [ThematicBreak(self.line_of(tokens[index]))],
    "html_block": _Converter.html_block,
    "dl_open": _Converter.definition_list,
    "myst_target": _Converter.myst_target,
    "footnote_block_open": _Converter.footnote_block,
}


def matching_close(tokens: list[Token], index: int) -> int:
    """The index of the token closing ``tokens[index]`` (an opening token)."""
    level = tokens[index].level
    for position in range(index + 1, len(tokens)):
        token = tokens[position]
        if token.nesting == -1 and token.level == level:
            return position
    return len(tokens) - 1


def plain_text(children: list[Token]) -> str:
    parts = []
    for token in children:
        if token.type in ("text", "code_inline"):
            parts.append(token.content)
        elif token.type == "softbreak":
            parts.append(" ")
        elif token.type == "image":
            parts.append(plain_text(token.children or []))
        elif token.type == "myst_role":
            parts.append(token.content)
    return "".join(parts)


def align_of(token: Token) -> str:
    style = str(token.attrGet("style") or "")
    for value in ("left", "center", "right"):
        if value in style:
            return value
    return ""


def merge_text(inlines: list[Inline]) -> list[Inline]:
    """Joins adjacent text; text after a hard break loses its leading spaces."""
    merged: list[Inline] = []
    for node in inlines:
        if isinstance(node, Text):
            if merged and isinstance(merged[-1], LineBreak):
                node = Text(node.text.lstrip())
            if not node.text:
                continue
            if merged and isinstance(merged[-1], Text):
                merged[-1] = Text(merged[-1].text + node.text)
                continue
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


# ---------------------------------------------------------------- entry point


def read_text(text: str, path: Path, sha256: str = "") -> ReadResult:
    front, body, body_start = split_front_matter(text, path)
    source_lines = text.split("\n")
    metadata = build_metadata(front, path, source_lines)
    converter = _Converter(path, body_start)
    tokens = converter.parse(body)
    converter.collect_headings(tokens)
    blocks = converter.blocks(tokens, 0, len(tokens))
    footnotes = converter.footnotes()
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
