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


# ---------------------------------------------------------------- hostile input (issue 18)

# Every character the source may not hold: C0 controls less TAB and LF (CR is a line end),
# DEL, the C1 controls and the two noncharacters.
CONTROL_CHARACTERS = "".join(chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0), 0xFFFE, 0xFFFF])


@st.composite
def with_control_characters(draw):
    """(a valid master with control characters put in anywhere, the (line, character) of each)."""
    text = draw(markdown_document())
    spots = sorted(draw(st.lists(st.integers(0, len(text)), min_size=1, max_size=5)))
    characters = [draw(st.sampled_from(CONTROL_CHARACTERS)) for _ in spots]
    pieces, expected, previous = [], [], 0
    for spot, char in zip(spots, characters):
        pieces += [text[previous:spot], char]
        previous = spot
    pieces.append(text[previous:])
    result = "".join(pieces)
    line = 1
    for char in result:
        if char == "\n":
            line += 1
        elif char in CONTROL_CHARACTERS:
            expected.append((line, char))
    return result, expected


yaml_scalar = st.one_of(sentence(1, 4).map(repr_yaml), st.integers(-5, 10**9).map(str), st.sampled_from(["yes", "no", "null", "2024-01-01", "~"]))


@st.composite
def alias_laden_front_matter(draw):
    """A master whose front matter defines anchors and uses aliases, in any key, at any depth."""
    names = draw(st.lists(st.text("abcdefgh", min_size=1, max_size=4), min_size=1, max_size=4, unique=True))
    keys = ["keywords", "title", "description", "author", "extra", "more"]
    lines = ["---", "language: en-GB"]
    for number, name in enumerate(names):
        key = draw(st.sampled_from(keys)) + str(number)
        shape = draw(st.sampled_from(["scalar", "list", "map"]))
        value = draw(yaml_scalar)
        if shape == "scalar":
            lines.append(f"{key}: &{name} {value}")
        elif shape == "list":
            lines.append(f"{key}: &{name} [{value}, {draw(yaml_scalar)}]")
        else:
            lines.append(f"{key}: &{name}\n  inner: {value}")
    for number in range(draw(st.integers(1, 4))):
        alias = draw(st.sampled_from(names))
        use = draw(st.sampled_from([f"keywords{number}x: *{alias}", f"title{number}x: [*{alias}, *{alias}]",
                                    f"nested{number}x:\n  deeper: *{alias}"]))
        lines.append(use)
    order = draw(st.permutations(lines[2:]))
    return "\n".join(lines[:2] + list(order) + ["---", "", "# Title", "", "Text.", ""])


json_like = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)),
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(st.text("abc", min_size=1, max_size=3), children, max_size=3)),
    max_leaves=10,
)
