"""The narration script and the pronunciation lexicon: no speech is synthesised here."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from formatforge.errors import SourceError
from formatforge.model import (
    BlockQuote,
    Document,
    Footnote,
    FootnoteRef,
    Heading,
    Image,
    Link,
    ListBlock,
    ListItem,
    Metadata,
    Paragraph,
    Table,
    TableCell,
    Text,
    document_text,
    words,
)
from formatforge.shared.speech.lexicon import Lexicon, lexicon_for, lexicon_path
from conftest import STRATEGY
from formatforge.shared.speech.script import OPENING_TITLE, body_sections, build_script, split_sentences

ROOT = Path(__file__).resolve().parent.parent


def para(*parts) -> Paragraph:
    return Paragraph(tuple(Text(p) if isinstance(p, str) else p for p in parts))


def heading(text: str, level: int = 2) -> Heading:
    return Heading(level, (Text(text),), text.lower().replace(" ", "-"))


def small_document(*blocks, footnotes=()) -> Document:
    meta = Metadata(title="Small Book", language="en-GB", author="A Writer", publisher="A Publisher", date="2023-10-31")
    return Document(meta, (Heading(1, (Text("Small Book"),), "small-book"), heading("First"), *blocks), tuple(footnotes))


def texts(document: Document) -> list[str]:
    return [s.text for section in build_script(document).sections for s in section.sentences]


def section_texts(document: Document, title: str) -> list[str]:
    section = next(s for s in build_script(document).sections if s.title == title)
    return [s.text for s in section.sentences if s.kind != "announcement"]  # not the book's closing "End of …"


def test_a1_title_and_publisher_first_then_contents_and_length(every_construct):
    opening = build_script(every_construct, total_seconds=125).sections[0]
    spoken = [s.text for s in opening.sentences]
    assert opening.title == OPENING_TITLE
    assert spoken[0] == "Every Construct."
    assert opening.sentences[0].role == "title"
    assert "Published by Formatforge in 2024." in spoken
    assert "This recording has 5 sections and lasts about 2 minutes." in spoken
    assert spoken[-1] == "The sections are: the introduction; Lists; A table; An image; Quotes and code."
    assert spoken.index("Published by Formatforge in 2024.") < spoken.index("This recording has 5 sections and lasts about 2 minutes.")


def test_a2_every_section_starts_with_its_heading(document):
    sections = body_sections(document)
    headings = [s.heading for s in document.sections()]
    assert len(sections) == len(headings)
    for section, model_heading in zip(sections, headings):
        first = section.sentences[0]
        assert first.role == "heading"
        assert words(first.text) == words("".join(t.text for t in model_heading.children if isinstance(t, Text)) or first.text)
        assert first.pause_after >= 0.5


def test_headings_have_pauses_before_and_after():
    doc = small_document(para("Some words."), heading("Second part", 3), para("More words."))
    section = build_script(doc).sections[2]
    inner = next(s for s in section.sentences if s.text == "Second part")
    assert inner.role == "heading" and inner.level == 3
    assert inner.pause_before >= 1.0 and inner.pause_after >= 0.5


def test_list_is_announced_with_its_length():
    items = tuple(ListItem((para(text),)) for text in ("Apples", "Pears", "Plums"))
    doc = small_document(ListBlock(False, items), ListBlock(True, items[:2], start=4))
    spoken = section_texts(doc, "First")
    assert spoken[1:5] == ["List of 3 items.", "Apples", "Pears", "Plums"]
    assert spoken[5:8] == ["Numbered list of 2 items.", "4. Apples", "5. Pears"]


def test_table_is_read_row_by_row_with_column_headings():
    def row(*cells):
        return tuple(TableCell((Text(c),)) for c in cells)

    table = Table(row("Format", "Who it is for"), (row("Word", "Screen reader users"), row("Braille", "")))
    spoken = section_texts(small_document(table), "First")
    assert spoken[1:] == [
        "Table with 2 rows and 2 columns.",
        "Column headings: Format; Who it is for.",
        "Row 1. Format: Word; Who it is for: Screen reader users.",
        "Row 2. Format: Braille; Who it is for: blank.",
        "End of table.",
    ]


def test_a4_image_is_read_by_its_alt_text_and_decorative_images_are_skipped():
    doc = small_document(Image("a.png", "A map of the town centre"), Image("b.png", "", decorative=True),
                         Image("c.png", ""))
    spoken = section_texts(doc, "First")
    assert spoken[1:] == ["Image: A map of the town centre.", "Image with no description."]


def test_link_is_read_by_its_text_never_its_address():
    doc = small_document(para("Visit ", Link((Text("our website"),), "https://example.org/a/b?c=d"), " today."))
    spoken = section_texts(doc, "First")
    assert spoken[1] == "Visit our website today."
    assert not any("example" in text or "http" in text for text in texts(doc))


def test_footnotes_are_read_at_the_end_of_their_section():
    note = Footnote(1, "n", (para("The note itself."),))
    doc = small_document(para("A claim.", FootnoteRef(1, "n"), " Another sentence."), para("Last words."),
                         heading("Second"), para("Later text."), footnotes=[note])
    first = section_texts(doc, "First")
    assert first[1] == "A claim (footnote 1)."
    assert first[-3:] == ["Last words.", "Footnote 1.", "The note itself."]
    assert "The note itself." not in section_texts(doc, "Second")
    footnote_sentences = [s for s in build_script(doc).sections[2].sentences if s.source.footnote == 1]
    assert [s.text for s in footnote_sentences] == ["Footnote 1.", "The note itself."]


def test_block_quote_is_introduced_and_closed_and_code_announced(every_construct):
    spoken = section_texts(every_construct, "Quotes and code")
    assert spoken[1:5] == ["Quotation.", "A quoted paragraph that someone said.", "A second quoted paragraph.", "End of quotation."]
    assert spoken[5:8] == ["Code example in Python.", 'print("hello, world")', "End of code."]


def test_framing_sentences_say_what_they_are_whatever_their_order(every_construct):
    """Sentence.kind marks what the narrator adds around the text, so the synchronised
    editions place it by what it is, not by where it falls."""
    script = build_script(every_construct)
    assert {s.kind for s in script.sections[0].sentences} == {"announcement"}
    kinds = {s.text: s.kind for section in script.sections[1:] for s in section.sentences}
    assert kinds["Quotation."] == kinds["Code example in Python."] == "intro"
    assert kinds["End of quotation."] == kinds["End of code."] == kinds["End of table."] == "outro"
    assert kinds['print("hello, world")'] == kinds["A quoted paragraph that someone said."] == "text"
    table = next(s for s in script.sections if s.title == "A table").sentences
    assert [s.kind for s in table if s.role in ("table", "table-row")] == ["intro", "column-headings", "text", "text", "outro"]
    assert next(s for s in table if s.kind == "column-headings").text.startswith("Column headings: ")
    lists = next(s for s in script.sections if s.title == "Lists").sentences
    assert all(s.kind == "intro" for s in lists if s.role == "list")
    assert all(s.kind == "text" for s in lists if s.role in ("heading", "list-item"))
    note = Footnote(1, "n", (para("The note itself."),))
    doc = small_document(para("A claim.", FootnoteRef(1, "n")), footnotes=[note])
    read = {s.text: s.kind for s in build_script(doc).sections[2].sentences}
    assert read["Footnote 1."] == "intro" and read["The note itself."] == "text"


def test_nothing_is_lost_every_body_word_is_read_in_order(document):
    script = build_script(document)
    body_words = words(document_text(document, include_footnotes=False))
    spoken = [w for section in script.sections[1:] for s in section.sentences if not s.source.footnote for w in words(s.text)]
    remaining = iter(spoken)
    missing = [w for w in body_words if not any(w == s for s in remaining)]
    assert missing == []
    note_words = [w for section in script.sections for s in section.sentences if s.source.footnote for w in words(s.text)]
    for note in document.footnotes:
        for w in words(" ".join(document_text(Document(document.metadata, note.blocks)).split())):
            assert w in note_words


def test_nothing_is_lost_checker_catches_a_dropped_paragraph(every_construct):
    broken = replace(every_construct, blocks=tuple(b for b in every_construct.blocks
                                                   if not (isinstance(b, Paragraph) and "diagram" in str(b))))
    spoken = [w for section in build_script(broken).sections for s in section.sentences for w in words(s.text)]
    assert "diagram" in words(document_text(every_construct)) and "diagram" not in spoken


def test_sentence_ids_are_unique_stable_and_survive_edits_elsewhere(every_construct):
    first = build_script(every_construct)
    again = build_script(every_construct)
    ids = [s.id for section in first.sections for s in section.sentences]
    assert ids == [s.id for section in again.sections for s in section.sentences]
    assert len(ids) == len(set(ids))
    assert all(i.startswith("snt-") for i in ids)
    # Edit the image section's paragraph: the other sections keep every id.
    blocks = tuple(para("A different description.") if isinstance(b, Paragraph) and "diagram" in str(b) else b
                   for b in every_construct.blocks)
    edited = build_script(replace(every_construct, blocks=blocks))
    for before, after in zip(first.sections[1:], edited.sections[1:]):
        if before.title != "An image":
            assert [s.id for s in before.sentences] == [s.id for s in after.sentences]


def test_sentences_point_back_to_their_model_blocks(every_construct):
    model_sections = every_construct.sections()
    for section in build_script(every_construct).sections[1:]:
        blocks = model_sections[section.number - 1].blocks
        for sentence in section.sentences:
            if sentence.source.footnote or sentence.role != "text":
                continue
            block = blocks[sentence.source.block[0]]
            if isinstance(block, BlockQuote):
                block = block.blocks[sentence.source.block[1]]
            assert set(words(sentence.text)) <= set(words(str(block)))


def test_split_sentences_keeps_abbreviations_and_splits_at_line_breaks():
    assert split_sentences("We met, e.g. on Monday. Then we left! Why? 2 people stayed.") == [
        "We met, e.g. on Monday.", "Then we left!", "Why?", "2 people stayed."]
    assert split_sentences("one line\nanother line") == ["one line", "another line"]


# ---------------------------------------------------------------- lexicon (A6)


def write_lexicon(tmp_path: Path, body: str) -> Lexicon:
    path = tmp_path / "pronunciation.toml"
    path.write_text(body, encoding="utf-8")
    return Lexicon.load(path)


def test_a6_lexicon_whole_words_case_rules_and_longest_first(tmp_path):
    lexicon = write_lexicon(tmp_path, '[say]\n"Cuppa" = "cupper"\n"covid" = "co-vid"\n'
                                      '"co-production" = "co production"\n'
                                      '"Co-Production Collective" = "the collective"\n"US" = "U S"\n')
    assert lexicon.apply("A Cuppa, two Cuppas, a cuppa.") == "A cupper, two Cuppas, a cuppa."
    assert lexicon.apply("COVID and Covid and covid-19") == "co-vid and co-vid and covid-19"
    assert lexicon.apply("Co-Production Collective does co-production.") == "the collective does co production."
    assert lexicon.apply("Tell us about the US.") == "Tell us about the U S."
    assert lexicon.apply("The Cuppa’s time") == "The cupper’s time"


def test_a6_the_strategy_lexicon_names_the_strategy_s_own_words():
    lexicon = Lexicon.load(ROOT / "source" / "pronunciation.toml")
    written = {w for w, _ in lexicon.entries}
    assert {"Co-Production Collective", "co-production", "Cuppa", "COVID"} <= written
    assert lexicon.apply("Co-Production Collective") != "Co-Production Collective"


def test_a6_a_broken_lexicon_is_reported_with_its_file(tmp_path):
    with pytest.raises(SourceError, match="pronunciation lexicon"):
        write_lexicon(tmp_path, '[say]\n"Cuppa" = 3\n')
    with pytest.raises(SourceError):
        write_lexicon(tmp_path, "[say\n")
    assert not Lexicon.load(tmp_path / "absent.toml")


def test_a6_the_lexicon_beside_a_master_named_by_a_relative_path_is_found(monkeypatch):
    """scripts/build runs `formatforge build` from the repository root with the master as
    source/strategy.md: its lexicon is source/pronunciation.toml, not source/source/…"""
    monkeypatch.chdir(STRATEGY.parent.parent)
    relative_dir = STRATEGY.relative_to(STRATEGY.parent.parent).parent
    assert lexicon_path(relative_dir) == relative_dir / "pronunciation.toml"
    assert lexicon_path(relative_dir).is_file()
    assert lexicon_for(relative_dir).apply("our EPUB") == "our ee-pub"
