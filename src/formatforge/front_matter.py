"""Front matter: the YAML block at the top of the master, decoded and checked into ``Metadata``.

Kept apart from the Markdown reader so that what the master says about itself (title,
language, date, cover) is validated in one place, whatever parses the body.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import SourceError
from .model import Metadata

# ISO 639-1: the two-letter primary language subtags a BCP 47 tag may start with.
ISO_639_1 = frozenset("""
aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy
da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu
hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb
lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om
or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw
ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu
""".split())
LANGUAGE_TAG_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?(-[A-Za-z0-9]{5,8})*$")


@dataclass(frozen=True)
class Diagnostic:
    """One finding about the source: a rule id, a severity, a message and a line."""

    rule: str
    severity: str  # "error" stops a build; "warning" is reported and the build goes on
    message: str
    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.severity} {self.rule}: {self.message}"



# ---------------------------------------------------------------- decoding and front matter


def decode_source(data: bytes, path: Path) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SourceError(
            f"not valid UTF-8 at byte offset {exc.start} (byte 0x{data[exc.start]:02x}); "
            "save the file as UTF-8",
            path,
            line,
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    # Text pasted from some systems arrives decomposed (e + combining acute); every output
    # (braille tables, voices, fonts) handles the composed form best.
    text = unicodedata.normalize("NFC", text)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_front_matter(text: str, path: Path) -> tuple[dict, str, int]:
    """Returns (front matter, body, the file line the body starts on)."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, text, 1
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            break
    else:
        raise SourceError("front matter starts with '---' but is never closed", path, 1)
    raw = "\n".join(lines[1:index])
    try:
        data = yaml.safe_load(raw) if raw.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SourceError(f"malformed YAML front matter: {problem}", path, line) from None
    if not isinstance(data, dict):
        raise SourceError("front matter must be a mapping of keys to values", path, 2)
    return data, "\n".join(lines[index + 1 :]), index + 2


def build_metadata(data: dict, path: Path, source_lines: list[str]) -> Metadata:
    def line_of(key: str) -> int:
        for number, line in enumerate(source_lines, 1):
            if line.startswith(f"{key}:"):
                return number
        return 1

    def text(key: str) -> str:
        value = data.get(key, "")
        if value is None:
            return ""
        if isinstance(value, (datetime.date, datetime.datetime)):
            return value.isoformat()[:10]
        if isinstance(value, (list, dict)):
            raise SourceError(f"front matter '{key}' must be text", path, line_of(key))
        return str(value).strip()

    language = text("language") or text("lang")
    primary = language.split("-")[0].lower()
    if language and (not LANGUAGE_TAG_RE.match(language) or (len(primary) == 2 and primary not in ISO_639_1)):
        raise SourceError(
            f"unknown language code {language!r}; use a BCP 47 tag such as en-GB",
            path,
            line_of("language"),
        )
    date = text("date")
    if date:
        try:
            datetime.date.fromisoformat(date[:10])
        except ValueError:
            raise SourceError(f"date {date!r} is not an ISO date (YYYY-MM-DD)", path, line_of("date")) from None
    keywords = data.get("keywords") or ()
    if isinstance(keywords, str):
        keywords = [k.strip() for k in keywords.split(",")]
    return Metadata(
        title=text("title"),
        language=language,
        subtitle=text("subtitle"),
        author=text("author"),
        publisher=text("publisher"),
        date=date[:10],
        identifier=text("identifier"),
        description=text("description"),
        keywords=tuple(str(k) for k in keywords if str(k).strip()),
        cover=text("cover"),
        # issue 16: a conformance claim and its evaluator only when the master makes them
        conforms_to=text("conforms_to"),
        certified_by=text("certified_by"),
        certifier_credential=text("certifier_credential"),
        certifier_report=text("certifier_report"),
    )
