#!/usr/bin/env python3
"""Writes a deterministic Markdown document of about N words for the build benchmark.

Run: .venv/bin/python benchmarks/generate_document.py OUTPUT.md [--words 10000] [--seed 2023]

The words come from the strategy master, so the text exercises the same vocabulary (and
the same curly apostrophes) as the real document; the structure is shuffled from a fixed
seed, so the same arguments always give the same bytes. The Journey of Change diagram is
copied beside the output so that the one figure resolves.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STRATEGY = REPO / "source" / "strategy.md"
DIAGRAM = REPO / "source" / "images" / "journey-of-change.png"

sys.path.insert(0, str(REPO / "src"))
from formatforge.model import WORD_RE, document_text  # noqa: E402
from formatforge.reader import read_source  # noqa: E402

FRONT_MATTER = """\
---
title: "Benchmark: a generated strategy-sized document"
subtitle: Text drawn at random from the strategy, for timing builds
author: Formatforge Benchmarks
publisher: Formatforge
language: en-GB
date: 2024-01-01
identifier: urn:uuid:0e5f7c52-6a8e-4d59-9c2b-5a1f0b9e2d47
description: A deterministic document of about {words} words with headings, lists, tables, quotes and one figure.
keywords: [benchmark, generated]
---
"""


class Writer:
    """Builds the document, counting the words the model will see, until the target is met."""

    def __init__(self, vocabulary: list[str], rng: random.Random):
        self.vocabulary = vocabulary
        self.rng = rng
        self.parts: list[str] = []
        self.word_count = 0

    def phrase(self, low: int, high: int) -> str:
        chosen = [self.rng.choice(self.vocabulary) for _ in range(self.rng.randint(low, high))]
        self.word_count += len(chosen)
        return " ".join(chosen)

    def sentence(self) -> str:
        text = self.phrase(6, 18)
        return text[0].upper() + text[1:] + "."

    def title(self, low: int = 2, high: int = 5) -> str:
        text = self.phrase(low, high)
        return text[0].upper() + text[1:]

    def add(self, block: str) -> None:
        self.parts.append(block)

    def paragraph(self) -> None:
        self.add(" ".join(self.sentence() for _ in range(self.rng.randint(2, 6))))

    def bullet_list(self) -> None:
        ordered = self.rng.random() < 0.4
        lines = []
        for number in range(1, self.rng.randint(3, 6) + 1):
            marker = f"{number}." if ordered else "-"
            lines.append(f"{marker} {self.sentence()}")
            if self.rng.random() < 0.25:
                lines.extend(f"    - {self.phrase(3, 8)}" for _ in range(self.rng.randint(2, 3)))
        self.add("\n".join(lines))

    def table(self) -> None:
        columns = self.rng.randint(2, 4)
        header = [self.title(1, 3) for _ in range(columns)]
        rows = [[self.phrase(1, 6) for _ in range(columns)] for _ in range(self.rng.randint(3, 6))]
        lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * columns]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        self.add("\n".join(lines))

    def block_quote(self) -> None:
        self.add("> “" + " ".join(self.sentence() for _ in range(self.rng.randint(2, 4))) + "”")


def vocabulary_from(strategy: Path) -> list[str]:
    # Sorted and de-duplicated so that the draw does not depend on the master's word order.
    text = document_text(read_source(strategy).document)
    return sorted(set(WORD_RE.findall(text)))


def generate(output: Path, target_words: int = 10_000, seed: int = 2023) -> int:
    """Writes the document to ``output`` and returns how many body words it holds."""
    writer = Writer(vocabulary_from(STRATEGY), random.Random(seed))
    writer.add("# " + writer.title(3, 6))
    writer.paragraph()
    chapter = 0
    while writer.word_count < target_words:
        chapter += 1
        writer.add("## " + writer.title())
        writer.paragraph()
        if chapter == 1:
            alt = (
                "Diagram of the Journey of Change: challenges and their causes lead to the change "
                "we want to see, four steps to change make it real, leading to our vision."
            )
            writer.word_count += len(WORD_RE.findall(alt))  # alt text is read aloud and brailled too
            writer.add(f"![{alt}](images/{DIAGRAM.name})")
            writer.paragraph()
        for _ in range(writer.rng.randint(2, 3)):
            if writer.word_count >= target_words:
                break
            writer.add("### " + writer.title())
            for _ in range(writer.rng.randint(2, 4)):
                writer.paragraph()
                roll = writer.rng.random()
                if roll < 0.3:
                    writer.bullet_list()
                elif roll < 0.42:
                    writer.table()
                elif roll < 0.55:
                    writer.block_quote()

    output.parent.mkdir(parents=True, exist_ok=True)
    text = FRONT_MATTER.format(words=target_words) + "\n" + "\n\n".join(writer.parts) + "\n"
    output.write_text(text, encoding="utf-8")
    images = output.parent / "images"
    images.mkdir(exist_ok=True)
    shutil.copyfile(DIAGRAM, images / DIAGRAM.name)
    return writer.word_count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="where to write the Markdown file")
    parser.add_argument("--words", type=int, default=10_000, help="about how many body words (default 10000)")
    parser.add_argument("--seed", type=int, default=2023, help="random seed (default 2023)")
    args = parser.parse_args()
    count = generate(args.output, args.words, args.seed)
    print(f"wrote {args.output} ({count} words)")


if __name__ == "__main__":
    main()
