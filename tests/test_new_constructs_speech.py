"""The narration script (spoken by the MP3, DAISY and read-aloud editions) for the
constructs issue 13 adds, on the hand-built GitHub-style document (tests/new_constructs.py).
No speech is synthesised: the script is the text the voice is given. A2 (sections open
with their heading) and A4-style conveying of what print shows apply; "nothing lost,
nothing said twice" is the same yardstick as test_speech_script's.
"""

from __future__ import annotations

import re


from formatforge.model import (
    Admonition,
    BlockQuote,
    DefinitionItem,
    DefinitionList,
    Document,
    Emphasis,
    Footnote,
    FootnoteRef,
    ListBlock,
    ListItem,
    Strikethrough,
    Text,
    document_text,
    words,
)
from formatforge.shared.speech.script import INTRO, OUTRO, TEXT, build_script, spoken_inline
from test_new_constructs_braille import document as new_constructs_documents
from test_speech_script import para, small_document


document = new_constructs_documents  # the hand-built one and, once the reader makes them, the fixture read


def section_texts(document: Document, title: str) -> list[str]:
    """The sentences of one section, less the book's closing "End of <title>." where it is the
    last section (the ending is tested in test_speech_opening.py)."""
    sections = build_script(document).sections
    section = next(s for s in sections if s.title == title)
    texts = [s.text for s in section.sentences]
    if section is sections[-1]:
        assert texts[-1] == f"End of {document.metadata.title}."
        texts = texts[:-1]
    return texts


def run_from(spoken: list[str], first: str, length: int) -> list[str]:
    start = spoken.index(first)
    return spoken[start : start + length]


def test_nested_lists_are_announced_per_level(document):
    """Each list counts its own items; a nested list is announced inside its item."""
    spoken = section_texts(document, "Claiming expenses")
    assert run_from(spoken, "Numbered list of 2 items.", 6) == [
        "Numbered list of 2 items.", "1. Fill in the claim",
        "Numbered list of 2 items.", "1. Write your name", "2. Add the date",
        "2. Attach receipts"]
    assert run_from(spoken, "List of 1 item.", 5) == [
        "List of 1 item.", "Receipts", "List of 2 items.", "Train tickets", "Taxi receipts"]


def test_two_quotations_are_announced_separately(document):
    spoken = section_texts(document, "Claiming expenses")
    assert run_from(spoken, "Quotation.", 6) == [
        "Quotation.", "Working here changed how I see my own town.", "End of quotation.",
        "Quotation.", "The team listened to every one of us.", "End of quotation."]


def test_task_items_say_done_or_not_done_first(document):
    spoken = section_texts(document, "Claiming expenses")
    tasks = [text for text in spoken if text.startswith(("Done:", "Not done:"))]
    assert tasks == ["Done: Read the handbook", "Not done: Book your induction"]
    numbered = small_document(ListBlock(True, (ListItem((para("Sign"),), checked=True), ListItem((), checked=False))))
    assert section_texts(numbered, "First")[1:] == ["Numbered list of 2 items.", "1. done: Sign", "2. not done."]


def test_labelled_notes_are_said_between_their_title_and_end_of_note(document):
    script = build_script(document)
    spoken = section_texts(document, "Claiming expenses")
    assert run_from(spoken, "Note.", 3) == ["Note.", "Claims close on the last Friday of the month.", "End of note."]
    assert run_from(spoken, "Warning.", 3) == ["Warning.", "Never share your password.", "End of warning."]
    kinds = {s.text: s.kind for s in script.sentences()}
    assert kinds["Note."] == INTRO and kinds["End of note."] == OUTRO
    titled = small_document(Admonition("tip", (Text("Before you start"),), (para("Bring your badge."),)))
    assert section_texts(titled, "First")[1:] == ["Tip: Before you start.", "Bring your badge.", "End of tip."]


def test_definition_lists_are_announced_then_each_term_and_its_definition(document):
    spoken = section_texts(document, "Claiming expenses")
    assert spoken[-3:] == ["Definition list of 1 term.", "Term one.", "The first definition."]
    several = small_document(DefinitionList((
        DefinitionItem((Text("Cuppa"),), ((para("A cup of tea."),), (para("A meeting."),))),
        DefinitionItem((Text("Rota"),), ((para("Who does what."),),)),
    )))
    assert section_texts(several, "First")[1:] == [
        "Definition list of 2 terms.", "Cuppa.", "Definition 1.", "A cup of tea.", "Definition 2.", "A meeting.",
        "Rota.", "Who does what."]


def test_deleted_text_is_marked_where_it_starts_and_ends(document):
    spoken = section_texts(document, "Claiming expenses")
    assert "Deleted: Paper forms, end deleted, are no longer accepted." in spoken
    assert spoken_inline((Text("We accept "), Strikethrough((Text("cheques"),)), Text("."))) == \
        "We accept deleted: cheques, end deleted."
    assert spoken_inline((Text("Bring "), Strikethrough((Emphasis((Text("two"),)),)))) == \
        "Bring deleted: two, end deleted"
    assert spoken_inline((Strikethrough((Text(" "),)), Text("kept"))) == "kept"


def test_internal_link_is_read_by_its_text(document):
    spoken = section_texts(document, "Claiming expenses")
    assert "See Claiming expenses for the steps." in spoken
    assert not any("#" in text or "claiming-expenses" in text for text in spoken)


# ---------------------------------------------------------------- every word, once, in order

NARRATOR_WORDS = re.compile(r"^\d+\. |^(?:\d+\. )?(?:[Dd]one|[Nn]ot done): |[Dd]eleted: |, end deleted")


def read_words(document: Document) -> list[str]:
    """The words the script reads from the text, in order: framing sentences ("List of …",
    "End of …") and the words the narrator adds inside sentences taken out; a labelled
    note's title is the text's own."""
    out = []
    for section in build_script(document).sections[1:]:
        for sentence in section.sentences:
            if sentence.kind == TEXT or sentence.kind == INTRO and sentence.role == "note":
                out += words(NARRATOR_WORDS.sub(" ", sentence.text))
    return out


def test_every_word_is_read_once_in_order(document):
    assert read_words(document) == words(document_text(document))


def test_the_once_in_order_check_catches_a_lost_and_a_repeated_note(document, monkeypatch):
    from formatforge.shared.speech import script

    expected = words(document_text(document))
    reading = script._SectionBuilder.admonition
    monkeypatch.setattr(script._SectionBuilder, "admonition", lambda self, block, path, footnote: None)
    assert read_words(document) != expected

    def twice(self, block, path, footnote):
        reading(self, block, path, footnote)
        reading(self, block, path, footnote)

    monkeypatch.setattr(script._SectionBuilder, "admonition", twice)
    assert read_words(document) != expected


def test_footnotes_in_a_term_or_a_note_title_are_read_in_their_section():
    note = Footnote(1, "n", (para("The note itself."),))
    doc = small_document(DefinitionList((DefinitionItem((Text("Cuppa"), FootnoteRef(1, "n")), ((para("Tea."),),)),)),
                         footnotes=[note])
    assert section_texts(doc, "First")[-2:] == ["Footnote 1.", "The note itself."]
    assert "Cuppa (footnote 1)." in section_texts(doc, "First")


def follow(blocks, path: tuple[int, ...]):
    """The node a sentence's path names, as SourceRef documents it: indexes into blocks, then
    list items and their blocks, a quote's or a note's blocks, or a definition list's entry
    (the entry itself for its term), definition and block. (sentences._follow, on the xhtml
    branch, reads paths the same way for the DAISY and read-aloud editions.)"""
    node = blocks[path[0]]
    rest = list(path[1:])
    while rest:
        if isinstance(node, ListBlock):
            node, rest = node.items[rest[0]].blocks[rest[1]], rest[2:]
        elif isinstance(node, (BlockQuote, Admonition)):
            node = node.blocks[rest.pop(0)]
        elif isinstance(node, DefinitionList):
            entry = node.items[rest[0]]
            if len(rest) == 1:
                return entry
            node, rest = entry.definitions[rest[1]][rest[2]], rest[3:]
        else:
            return None
    return node


def test_sentences_of_notes_and_definitions_point_back_to_their_model_nodes(document):
    """What the DAISY and read-aloud editions highlight: each sentence's path finds the
    node it reads (a definition list's term finds its entry)."""
    model_sections = document.sections()
    checked = 0
    for section in build_script(document).sections[1:]:
        blocks = model_sections[section.number - 1].blocks
        for sentence in section.sentences:
            if sentence.kind != TEXT:
                continue
            node = follow(blocks, sentence.source.block)
            assert node is not None, sentence.text
            spoken = set(words(NARRATOR_WORDS.sub(" ", sentence.text)))
            assert spoken <= set(words(str(node))), sentence.text
            checked += 1
    assert checked >= 20


def test_the_editors_comment_is_never_said(document):
    """Issue 13 acceptance: an HTML comment's words reach no listener."""
    spoken = [w for s in build_script(document).sentences() for w in words(s.text)]
    assert "editor" not in spoken and "dates" not in spoken
