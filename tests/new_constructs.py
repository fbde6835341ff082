"""A small document built by hand with every construct issue 13 adds to the model, so writers
can be tested on them without going through the reader (tests/fixtures/github-style.md is
the same document as Markdown)."""

from __future__ import annotations

from pathlib import Path

from formatforge.model import (
    Admonition,
    BlockQuote,
    DefinitionItem,
    DefinitionList,
    Document,
    Heading,
    LineBreak,
    Link,
    ListBlock,
    ListItem,
    Metadata,
    Paragraph,
    Strikethrough,
    Text,
)

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "github-style.md"


def p(text: str) -> Paragraph:
    return Paragraph((Text(text),))


def new_constructs_document() -> Document:
    metadata = Metadata(
        title="Staff handbook, GitHub style",
        language="en-GB",
        publisher="Co-Production Collective",
        date="2024-05-01",
        identifier="urn:uuid:6f1c2a52-3a57-4f0e-9a8e-2b9b1f1c0d11",
    )
    nested_numbers = ListBlock(True, (ListItem((p("Write your name"),)), ListItem((p("Add the date"),))))
    nested_bullets = ListBlock(False, (ListItem((p("Train tickets"),)), ListItem((p("Taxi receipts"),))))
    steps = ListBlock(
        True,
        (
            ListItem((p("Fill in the claim"), nested_numbers)),
            ListItem((p("Attach receipts"),)),
        ),
    )
    keep = ListBlock(False, (ListItem((p("Receipts"), nested_bullets)),))
    blocks = (
        Heading(1, (Text("Staff handbook"),), "staff-handbook", 9),
        Heading(2, (Text("Claiming expenses"),), "claiming-expenses", 14),
        p("To claim expenses:"),
        steps,
        p("Keep these:"),
        keep,
        BlockQuote((p("Working here changed how I see my own town."),)),
        BlockQuote((p("The team listened to every one of us."),)),
        ListBlock(
            False,
            (ListItem((p("Read the handbook"),), checked=True), ListItem((p("Book your induction"),), checked=False)),
        ),
        Admonition("note", (Text("Note"),), (p("Claims close on the last Friday of the month."),)),
        Paragraph(
            (
                Strikethrough((Text("Paper forms"),)),
                Text(" are no longer accepted. Write to "),
                Link((Text("finance@example.org"),), "mailto:finance@example.org"),
                Text(" or see "),
                Link((Text("https://example.org/finance"),), "https://example.org/finance"),
                Text(" for the rules."),
                LineBreak(),
                Text("A backslash break ends this line."),
            )
        ),
        Paragraph((Text("See "), Link((Text("Claiming expenses"),), "#claiming-expenses"), Text(" for the steps."))),
        Admonition("warning", (Text("Warning"),), (p("Never share your password."),)),
        DefinitionList((DefinitionItem((Text("Term one"),), ((p("The first definition."),),)),)),
        Heading(2, (Text("Other help"),), "other-help"),
        p("Ask your manager."),
    )
    return Document(metadata, blocks, (), FIXTURE, "")
