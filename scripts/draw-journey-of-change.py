#!/usr/bin/env python3
"""Draws source/images/journey-of-change.png, the strategy's Journey of Change diagram.

Run: .venv/bin/python scripts/draw-journey-of-change.py [OUTPUT.png]

The stages run top to bottom, not left to right, so that the text stays large when the
picture is scaled to the width of a page, a phone screen or a large-print document.
Every label comes from the strategy text; the diagram claims nothing the strategy does not.
The output is byte-identical on every run with the same Pillow version and font files:
the basic layout engine is used (Raqm may be absent or differ between machines) and
Pillow writes no timestamp into PNG files.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")  # Debian package fonts-dejavu-core
REGULAR = FONT_DIR / "DejaVuSans.ttf"
BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"

WIDTH = 1200
MARGIN = 60
BOX_WIDTH = WIDTH - 2 * MARGIN
PADDING = 28
ARROW_GAP = 84

INK = "#111111"  # body text on PALE: contrast about 17:1
DARK = "#1d3557"  # header bands and arrows; white text on it: contrast about 12:1
PALE = "#eef3f9"
WHITE = "#ffffff"

TITLE = "Our Journey of Change"
STAGES = [
    (
        "1. The challenges and their causes",
        ["The challenges we want to overcome, and what causes them, such as the barriers "
         "that stop co-production being valued and widely embedded."],
    ),
    (
        "2. The change we want to see",
        ["Co-production valued and widely embedded, with people at the heart of everything "
         "organisations and systems do."],
    ),
    (
        "3. Our four steps to change",
        [
            "• Lead culture change",
            "• Promote and embed learning",
            "• Plan for the future",
            "• Grow our community and live our values",
        ],
    ),
    (
        "4. Our vision",
        ["Our vision and mission made real: creating change together."],
    ),
]
REVIEW_NOTE = "All the way through, we review our progress on an ongoing basis."


def font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    if not path.is_file():
        sys.exit(f"font {path} not found: install the Debian package fonts-dejavu-core")
    return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.BASIC)


def wrap(text: str, face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and face.getlength(candidate) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def line_height(face: ImageFont.FreeTypeFont) -> int:
    ascent, descent = face.getmetrics()
    return round((ascent + descent) * 1.2)


def draw(output: Path) -> None:
    title_face = font(BOLD, 56)
    heading_face = font(BOLD, 42)
    body_face = font(REGULAR, 36)
    text_width = BOX_WIDTH - 2 * PADDING

    # Lay out first, so the canvas is exactly as tall as its content.
    laid_out = []
    for heading, paragraphs in STAGES:
        body_lines = [line for paragraph in paragraphs for line in wrap(paragraph, body_face, text_width)]
        header_height = line_height(heading_face) + PADDING + 8
        body_height = len(body_lines) * line_height(body_face) + 2 * PADDING
        laid_out.append((heading, body_lines, header_height, body_height))
    note_lines = wrap(REVIEW_NOTE, body_face, text_width)
    note_height = len(note_lines) * line_height(body_face) + 2 * PADDING

    height = MARGIN + line_height(title_face) + 30
    height += sum(h + b for _, _, h, b in laid_out) + ARROW_GAP * (len(laid_out) - 1)
    height += 50 + note_height + MARGIN

    image = Image.new("RGB", (WIDTH, height), WHITE)
    pen = ImageDraw.Draw(image)

    y = MARGIN
    pen.text((WIDTH // 2, y), TITLE, font=title_face, fill=INK, anchor="ma")
    y += line_height(title_face) + 30

    left, right = MARGIN, MARGIN + BOX_WIDTH
    for index, (heading, body_lines, header_height, body_height) in enumerate(laid_out):
        top, bottom = y, y + header_height + body_height
        pen.rectangle((left, top, right, bottom), fill=PALE, outline=DARK, width=4)
        pen.rectangle((left, top, right, top + header_height), fill=DARK)
        pen.text((left + PADDING, top + header_height // 2), heading, font=heading_face, fill=WHITE, anchor="lm")
        text_y = top + header_height + PADDING
        for line in body_lines:
            pen.text((left + PADDING, text_y), line, font=body_face, fill=INK)
            text_y += line_height(body_face)
        y = bottom
        if index < len(laid_out) - 1:
            draw_down_arrow(pen, WIDTH // 2, y + 8, y + ARROW_GAP - 8)
            y += ARROW_GAP

    y += 50
    draw_dashed_box(pen, (left, y, right, y + note_height))
    text_y = y + PADDING
    for line in note_lines:
        pen.text((left + PADDING, text_y), line, font=body_face, fill=INK)
        text_y += line_height(body_face)

    output.parent.mkdir(parents=True, exist_ok=True)
    # A small palette keeps the file small; the colours above are all in it exactly.
    image.quantize(colors=32, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        output, format="PNG", optimize=True
    )


def draw_down_arrow(pen: ImageDraw.ImageDraw, x: int, top: int, bottom: int) -> None:
    head = 26
    pen.line((x, top, x, bottom - head), fill=DARK, width=12)
    pen.polygon([(x - head, bottom - head), (x + head, bottom - head), (x, bottom)], fill=DARK)


def draw_dashed_box(pen: ImageDraw.ImageDraw, box: tuple[int, int, int, int]) -> None:
    left, top, right, bottom = box
    dash, gap, width = 24, 14, 4
    for x in range(left, right, dash + gap):
        end = min(x + dash, right)
        pen.line((x, top, end, top), fill=DARK, width=width)
        pen.line((x, bottom, end, bottom), fill=DARK, width=width)
    for y in range(top, bottom, dash + gap):
        end = min(y + dash, bottom)
        pen.line((left, y, left, end), fill=DARK, width=width)
        pen.line((right, y, right, end), fill=DARK, width=width)


if __name__ == "__main__":
    default = Path(__file__).resolve().parent.parent / "source" / "images" / "journey-of-change.png"
    draw(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
