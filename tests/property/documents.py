"""Hypothesis strategies that generate Markdown masters of every shape the model supports,
with text from many scripts: Latin, Greek, Cyrillic, Arabic and Hebrew (right to left),
Devanagari, CJK, emoji, and combining marks."""

from __future__ import annotations

from hypothesis import strategies as st

SCRIPTS = [
    "abcdefghijklmnopqrstuvwxyz",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "αβγδεζηθικλμνξοπρστυφχψω",
    "абвгдежзийклмнопрстуфхцчшщыэюя",
    "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
    "אבגדהוזחטיכלמנסעפצקרשת",
    "अआइईउऊकखगघचछजझटठडढणतथदधनपफबभमयरलवशसह",
    "中文字漢語日本語한국어",
    "😀🎉👍🏽🌍♿",
    "éèêëçñøåæœß",
]
COMBINING = "\u0301\u0308\u0327"

word = st.one_of(
    st.sampled_from(["the", "co-production", "community", "change", "together", "values", "2023", "it's"]),
    st.builds(
        lambda letters, mark: letters + mark,
        st.sampled_from(SCRIPTS).flatmap(lambda alphabet: st.text(alphabet, min_size=1, max_size=12)),
        st.sampled_from(["", "", "", COMBINING[0], COMBINING[1]]),
    ),
    st.text("abcdefghijklmnopqrstuvwxyz", min_size=30, max_size=70),  # long words
)


def sentence(min_words: int = 1, max_words: int = 12):
    return st.lists(word, min_size=min_words, max_size=max_words).map(" ".join)


inline = st.one_of(
    sentence(),
    sentence(1, 4).map(lambda t: f"*{t}*"),
    sentence(1, 4).map(lambda t: f"**{t}**"),
    sentence(1, 3).map(lambda t: f"`{t}`"),
    sentence(2, 5).map(lambda t: f"[{t}](https://example.org/page)"),
)
paragraph = st.lists(inline, min_size=1, max_size=5).map(" ".join)


def heading(level: int):
    return sentence(1, 6).map(lambda t: "#" * level + " " + t)


def bullet_list(depth: int = 0):
    item = sentence(1, 8)
    if depth < 2:
        nested = st.one_of(item, st.tuples(item, bullet_list(depth + 1)).map(lambda p: p[0] + "\n" + indent(p[1])))
    else:
        nested = item
    return st.lists(nested, min_size=1, max_size=4).map(lambda items: "\n".join("- " + i for i in items))


def indent(text: str) -> str:
    return "\n".join("    " + line for line in text.split("\n"))


numbered_list = st.lists(sentence(1, 8), min_size=1, max_size=4).map(
    lambda items: "\n".join(f"{n}. {i}" for n, i in enumerate(items, 1))
)


@st.composite
def table(draw):
    columns = draw(st.integers(1, 4))
    header = [draw(sentence(1, 3)) for _ in range(columns)]
    rows = [[draw(st.one_of(st.just(""), sentence(1, 4))) for _ in range(columns)] for _ in range(draw(st.integers(1, 4)))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * columns) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


quote = st.lists(paragraph, min_size=1, max_size=2).map(lambda ps: "\n>\n".join("> " + p for p in ps))
code = sentence(1, 8).map(lambda t: "```\n" + t + "\n```")
image = sentence(2, 8).map(lambda alt: f"![{alt}](images/pic.png)")


@st.composite
def section_blocks(draw, level: int):
    blocks = [draw(heading(level))]
    for _ in range(draw(st.integers(0, 4))):
        blocks.append(draw(st.one_of(paragraph, bullet_list(), numbered_list, table(), quote, code, image)))
    return blocks


@st.composite
def markdown_document(draw):
    """A master that passes the source rules: one level-1 heading first, levels in steps."""
    title = draw(sentence(1, 6))
    blocks = [f"# {title}", draw(paragraph)]
    level = 1
    for _ in range(draw(st.integers(0, 4))):
        level = draw(st.integers(2, min(level + 1, 4)))
        blocks.extend(draw(section_blocks(level)))
    front = "---\ntitle: " + repr_yaml(title) + "\nlanguage: en-GB\ndate: 2024-01-01\nidentifier: urn:uuid:00000000-0000-4000-8000-000000000000\n---\n\n"
    return front + "\n\n".join(blocks) + "\n"


def repr_yaml(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
