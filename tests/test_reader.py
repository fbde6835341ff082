"""The reader: one parse into the typed model, with source lines, and clear errors on bad input."""

from __future__ import annotations

import pytest

from formatforge.errors import SourceError
from formatforge.model import (
    BlockQuote,
    Code,
    CodeBlock,
    Emphasis,
    FootnoteRef,
    Heading,
    Image,
    LineBreak,
    Link,
    ListBlock,
    Paragraph,
    Strong,
    Table,
    Text,
    ThematicBreak,
    document_text,
    walk_blocks,
    words,
)
from formatforge.reader import MAX_NESTING, read_source

FRONT = "---\ntitle: T\nlanguage: en-GB\n---\n"


def read(tmp_path, body: str, front: str = FRONT, name: str = "doc.md"):
    path = tmp_path / name
    path.write_text(front + body, encoding="utf-8")
    return read_source(path)


def test_every_construct_reaches_the_model(every_construct):
    blocks = list(walk_blocks(every_construct.all_blocks()))
    kinds = {type(b) for b in blocks}
    assert {Heading, Paragraph, ListBlock, BlockQuote, Table, Image, CodeBlock, ThematicBreak} <= kinds
    inline_kinds = set()

    def visit(nodes):
        for node in nodes:
            inline_kinds.add(type(node))
            visit(getattr(node, "children", ()))

    for block in blocks:
        visit(getattr(block, "children", ()))
    assert {Text, Emphasis, Strong, Code, Link, LineBreak, FootnoteRef} <= inline_kinds
    nested = [b for b in blocks if isinstance(b, ListBlock) and any(isinstance(x, ListBlock) for i in b.items for x in i.blocks)]
    assert nested, "a nested list"
    assert [fn.number for fn in every_construct.footnotes] == [1, 2]
    assert every_construct.metadata.language == "en-GB"


def test_source_lines_are_kept(every_construct):
    lines = {type(b).__name__ + ":" + str(b.line) for b in walk_blocks(every_construct.blocks)}
    assert {"Heading:12", "Heading:18", "Table:32", "Image:39", "ThematicBreak:53", "Heading:55"} <= lines


def test_document_text_is_in_reading_order(every_construct):
    text = words(document_text(every_construct))
    assert text[:4] == ["every", "construct", "this", "paragraph"]
    assert text[-5:] == ["the", "second", "footnote", "with", "emphasis"]


def test_byte_order_mark_and_crlf_are_accepted(tmp_path):
    path = tmp_path / "doc.md"
    path.write_bytes(("\ufeff" + FRONT + "# Title\r\n\r\nText here.\r\n").encode("utf-8"))
    doc = read_source(path).document
    assert doc.metadata.title == "T"
    assert isinstance(doc.blocks[0], Heading) and doc.blocks[1].line == 7


def test_not_utf8_names_the_byte_offset(tmp_path):
    path = tmp_path / "doc.md"
    path.write_bytes(FRONT.encode() + b"# Title\n\nCaf\xe9\n")
    with pytest.raises(SourceError) as caught:
        read_source(path)
    assert "byte offset 45" in str(caught.value) and ":7:" in str(caught.value)


def test_malformed_front_matter_names_the_line(tmp_path):
    with pytest.raises(SourceError) as caught:
        read(tmp_path, "# Title\n", front="---\ntitle: T\nlanguage: [en-GB\n---\n")
    assert "front matter" in str(caught.value) and "doc.md:" in str(caught.value)


def test_unclosed_front_matter(tmp_path):
    with pytest.raises(SourceError, match="never closed"):
        read(tmp_path, "# Title\n", front="---\ntitle: T\n")


@pytest.mark.parametrize("code", ["english please", "xx-GB", "en_GB"])
def test_unknown_language_code(tmp_path, code):
    with pytest.raises(SourceError) as caught:
        read(tmp_path, "# Title\n", front=f"---\ntitle: T\nlanguage: {code}\n---\n")
    assert "doc.md:3" in str(caught.value) and "unknown language code" in str(caught.value)


@pytest.mark.parametrize("code", ["en-GB", "cy", "fr-CA", "zh-Hans-CN", "haw"])
def test_known_language_codes_are_accepted(tmp_path, code):
    assert read(tmp_path, "# Title\n", front=f"---\ntitle: T\nlanguage: {code}\n---\n").document.metadata.language == code


@pytest.mark.parametrize(
    "src, message",
    [
        ("missing.png", "not found"),
        ("../outside.png", "outside the source folder"),
        ("/etc/passwd", "absolute"),
        ("https://example.org/pic.png", "remote"),
    ],
)
def test_bad_image_paths_are_refused(tmp_path, src, message):
    (tmp_path / "outside.png").write_bytes(b"x")
    folder = tmp_path / "src"
    folder.mkdir()
    path = folder / "doc.md"
    path.write_text(FRONT + f"# Title\n\n![A picture]({src})\n", encoding="utf-8")
    diagnostics = read_source(path).diagnostics
    assert [(d.rule, d.severity, d.line) for d in diagnostics] == [("S1", "error", 7)]
    assert message in diagnostics[0].message


def test_raw_html_loses_its_tags_keeps_its_text_and_is_warned_about(tmp_path):
    # Issue 13, rule 4: raw HTML is never passed through; its words stay, with file:line.
    body = '# Title\n\n<script>alert(1)</script>\n\nSome <b onclick="x()">bold</b> text.\n'
    result = read(tmp_path, body)
    doc = result.document
    text = document_text(doc)
    assert "alert(1)" in text and "Some bold text." in text
    assert "<" not in text and "onclick" not in text
    assert all(isinstance(n, Text) for b in doc.blocks[1:] for n in b.children)
    assert [(d.rule, d.severity, d.line) for d in result.diagnostics] == [("S3", "warning", 7), ("S3", "warning", 9)]


def test_html_comments_are_dropped_silently(tmp_path):
    body = "# Title\n\n<!-- EDITOR NOTE: check the dates -->\n\nText <!-- inline note --> here.\n"
    result = read(tmp_path, body)
    assert document_text(result.document) == "Title\nText here."
    assert result.diagnostics == []


def test_javascript_links_are_not_linked(tmp_path):
    result = read(tmp_path, "# Title\n\nA [bad link](javascript:alert(1)) here.\n")
    paragraph = result.document.blocks[1]
    assert not any(isinstance(n, Link) for n in paragraph.children)
    assert "bad link" in document_text(result.document)
    assert [(d.rule, d.line) for d in result.diagnostics] == [("S2", 7)]


def test_entities_and_escapes_become_text(tmp_path):
    doc = read(tmp_path, "# Title\n\nAT&T &copy; 2024 \\*not emphasis\\*.\n").document
    assert document_text(doc).endswith("AT&T © 2024 *not emphasis*.")


def test_image_in_running_text_becomes_a_figure(tmp_path):
    (tmp_path / "pic.png").write_bytes(b"x")
    doc = read(tmp_path, "# Title\n\nBefore ![A small picture](pic.png) after.\n").document
    assert [type(b).__name__ for b in doc.blocks] == ["Heading", "Paragraph", "Image", "Paragraph"]


def test_heading_line_is_the_heading_not_earlier_text(tmp_path):
    doc = read(tmp_path, "# Title\n\nSee part two below.\n\n## Part two\n\nText.\n").document
    assert doc.blocks[2].line == 9


@pytest.mark.parametrize(
    "body",
    [
        "- " * 10_000 + "x\n",  # 10,000 nested list levels
        "> " * 10_000 + "x\n",  # 10,000 nested quotations
        "*" * 5_000 + "x" + "*" * 5_000 + "\n",  # 5,000 nested emphasis
        "*a " * 5_000 + "x" + " b*" * 5_000 + "\n",
        "".join("  " * level + "- x\n" for level in range(1_000)),  # indented, a line a level
    ],
    ids=["lists", "quotes", "stars", "words-and-stars", "indented-lists"],
)
def test_deep_nesting_is_a_clear_error_quickly(tmp_path, body):
    import time

    started = time.perf_counter()
    result = read(tmp_path, "# Title\n\n" + body + "\nAfter the deep part.\n")
    elapsed = time.perf_counter() - started
    deep = [d for d in result.diagnostics if d.rule == "M11"]
    # one error, on the line where the nesting passes the limit (line 7 when all on one line)
    assert [d.severity for d in deep] == ["error"]
    assert deep[0].line == (7 + MAX_NESTING if body.startswith("- x") else 7)
    assert "levels deep" in deep[0].message and "doc.md" in str(deep[0])
    assert elapsed < 5, f"{elapsed:.1f} s"
    text = document_text(result.document)
    assert text.startswith("Title")  # what is not too deep is still read


def test_nesting_within_the_limit_is_kept(tmp_path):
    body = "".join("  " * level + "- level " + str(level) + "\n" for level in range(10))
    result = read(tmp_path, "# Title\n\n" + body)
    assert not [d for d in result.diagnostics if d.rule == "M11"]
    depth, block = 0, result.document.blocks[1]
    while isinstance(block, ListBlock):
        depth += 1
        block = block.items[0].blocks[-1]
    assert depth == 10


def test_footnotes_are_numbered_by_first_reference_wherever_they_are_cited(tmp_path):
    body = (
        "# Title\n\nFirst.[^b] Second.[^a]\n\n```{note}\nInside a note.[^c]\n```\n\n"
        "[^a]: Note A.\n[^b]: Note B.\n[^c]: Note C.\n[^unused]: Never cited, still kept.\n"
    )
    result = read(tmp_path, body)
    footnotes = result.document.footnotes
    assert [(fn.number, fn.label, fn.line) for fn in footnotes] == [(1, "b", 14), (2, "a", 13), (3, "c", 15), (4, "unused", 16)]
    assert result.diagnostics == []


def test_a_footnote_reference_with_no_footnote_is_an_error_with_its_line(tmp_path):
    result = read(tmp_path, "# Title\n\nText\nwith a reference.[^missing]\n")
    assert [(d.rule, d.severity, d.line) for d in result.diagnostics] == [("M9", "error", 8)]
    assert "[^missing]" in result.diagnostics[0].message


def test_unknown_myst_roles_and_directives_keep_their_words_as_plain_text(tmp_path):
    body = "# Title\n\nSay {abbr}`RNIB` here.\n\n```{figure} images/team.png\nOur team\n```\n"
    result = read(tmp_path, body)
    text = document_text(result.document)
    assert "Say RNIB here." in text and "Our team" in text
    assert "{" not in text and "`" not in text
    assert [(d.rule, d.severity, d.line) for d in result.diagnostics] == [("M10", "warning", 7), ("M10", "warning", 9)]


def test_inline_diagnostics_take_the_line_of_their_soft_break(tmp_path):
    result = read(tmp_path, "# Title\n\nA first line\nand a [bad](javascript:x) one\nthen <b>bold</b>.\n")
    assert [(d.rule, d.line) for d in result.diagnostics] == [("S2", 8), ("S3", 9)]


def test_a_link_over_two_lines_is_reported_on_the_line_it_starts(tmp_path):
    result = read(tmp_path, "# Title\n\nA [bad link over\ntwo lines](javascript:x) here.\n")
    assert [(d.rule, d.line) for d in result.diagnostics] == [("S2", 7)]


def test_an_email_address_with_an_underscore_links_to_the_whole_address(tmp_path):
    doc = read(tmp_path, "# Title\n\nWrite to first_last@example.org or <help@example.org>.\n").document
    links = [n for n in doc.blocks[1].children if isinstance(n, Link)]
    assert [(link.url, link.children) for link in links] == [
        ("mailto:first_last@example.org", (Text("first_last@example.org"),)),
        ("mailto:help@example.org", (Text("help@example.org"),)),
    ]


def test_an_escaped_footnote_mark_is_text_not_an_error(tmp_path):
    result = read(tmp_path, "# Title\n\nWrite \\[^1] for a footnote.\n")
    assert result.diagnostics == [] and "Write [^1] for a footnote." in document_text(result.document)
