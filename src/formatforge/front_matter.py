"""Front matter: the YAML block at the top of the master, decoded and checked into ``Metadata``.

Kept apart from the Markdown reader so that what the master says about itself (title,
language, date, cover) is validated in one place, whatever parses the body.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

import yaml

from .errors import SourceError, SourceProblems
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

# C0 controls other than TAB and LF (CR is turned into LF on reading), DEL, the C1 controls,
# the two noncharacters U+FFFE/U+FFFF, and lone surrogates (which a UTF-8 decoder refuses,
# but text handed in by a library caller may hold). An XML writer cannot carry any of them
# and a braille embosser or a voice would act on some: they are refused, never passed on.
CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
C0_NAMES = (
    "NUL null", "SOH start of heading", "STX start of text", "ETX end of text", "EOT end of transmission",
    "ENQ enquiry", "ACK acknowledge", "BEL bell", "BS backspace", "HT tab", "LF line feed",
    "VT vertical tab", "FF form feed", "CR carriage return", "SO shift out", "SI shift in",
    "DLE data link escape", "DC1 device control one", "DC2 device control two", "DC3 device control three",
    "DC4 device control four", "NAK negative acknowledge", "SYN synchronous idle",
    "ETB end of transmission block", "CAN cancel", "EM end of medium", "SUB substitute", "ESC escape",
    "FS file separator", "GS group separator", "RS record separator", "US unit separator",
)


def control_character_name(char: str) -> str:
    """'ESC (escape, U+001B)': the short name a terminal shows, the long one, and the code."""
    code = ord(char)
    if code < 0x20:
        short, _, long = C0_NAMES[code].partition(" ")
        return f"{short} ({long}, U+{code:04X})"
    if code == 0x7F:
        return f"DEL (delete, U+{code:04X})"
    if 0x80 <= code <= 0x9F:
        return f"C1 (a C1 control character, U+{code:04X})"
    if 0xD800 <= code <= 0xDFFF:
        return f"a lone surrogate (U+{code:04X})"
    return f"the noncharacter U+{code:04X}"


def control_character_diagnostics(text: str, path: Path) -> list[Diagnostic]:
    """One S4 error for each control character in ``text``, with its line and name."""
    found = []
    line, line_start = 1, 0
    for match in CONTROL_RE.finditer(text):
        # Count lines only between findings: a clean text costs one regular expression pass.
        line += text.count("\n", line_start, match.start())
        line_start = match.start()
        found.append(Diagnostic(
            "S4", "error",
            f"the control character {control_character_name(match.group())} cannot be printed, "
            "spoken or embossed; delete it",
            path, line,
        ))
    return found


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
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    found = control_character_diagnostics(text, path)
    if found:
        # Stopped here, before the front matter or the Markdown is parsed, so that no parser
        # and no writer ever sees them; each is reported, not only the first.
        raise SourceProblems(f"{len(found)} control character(s) in the source", found, path, found[0].line)
    return text


# Front matter is a few lines of metadata: anything bigger is a mistake or an attack on the
# parser's time and memory.
FRONT_MATTER_LIMIT = 64 * 1024
FRONT_MATTER_DEPTH = 8


class _FrontMatterRefused(Exception):
    def __init__(self, message: str, mark):
        super().__init__(message)
        self.message = message
        self.line = mark.line if mark is not None else 0


class _FrontMatterLoader(yaml.SafeLoader):
    """The safe loader, less the parts of YAML that metadata never needs and that cost
    unbounded time or memory: anchors and aliases (a "billion laughs" expands a few lines
    into gigabytes) and deep nesting (the composer recurses). Dates stay text, so that an
    impossible date is reported with its line instead of failing inside the parser."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _FrontMatterRefused(
                "front matter uses a YAML anchor or alias (& or *); write each value out in full",
                event.start_mark,
            )
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > FRONT_MATTER_DEPTH:
                raise _FrontMatterRefused(
                    f"front matter is nested more than {FRONT_MATTER_DEPTH} levels deep", event.start_mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


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
    if len(raw.encode("utf-8")) > FRONT_MATTER_LIMIT:
        raise SourceError(
            f"front matter is over {FRONT_MATTER_LIMIT // 1024} KB; keep it to the document's metadata", path, 2
        )
    try:
        data = yaml.load(raw, Loader=_FrontMatterLoader) if raw.strip() else {}
    except _FrontMatterRefused as exc:
        raise SourceError(exc.message, path, exc.line + 2) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SourceError(f"malformed YAML front matter: {problem}", path, line) from None
    except (ValueError, TypeError, OverflowError) as exc:  # a value the safe constructors refuse
        raise SourceError(f"malformed YAML front matter: {exc}", path, 2) from None
    if not isinstance(data, dict):
        raise SourceError("front matter must be a mapping of keys to values", path, 2)
    return data, "\n".join(lines[index + 1 :]), index + 2


TEXT_KEYS = ("title", "subtitle", "author", "publisher", "identifier", "description", "cover", "contact")
ISO_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def type_name(value) -> str:
    if isinstance(value, bool):
        return "yes/no value"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, dict):
        return "mapping of keys to values"
    if isinstance(value, list):
        return "list"
    return type(value).__name__


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
        # A title such as 1984 arrives from YAML as a number; it is still the title's text.
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise SourceError(
                f"front matter '{key}' must be text, not a {type_name(value)}"
                + ("; put it in quotes" if isinstance(value, bool) else ""),
                path,
                line_of(key),
            )
        return str(value).strip()

    language_key = "language" if "language" in data or "lang" not in data else "lang"
    language = text(language_key)
    primary = language.split("-")[0].lower()
    if language and (not LANGUAGE_TAG_RE.match(language) or (len(primary) == 2 and primary not in ISO_639_1)):
        raise SourceError(
            f"unknown language code {language!r}; use a BCP 47 tag such as en-GB",
            path,
            line_of(language_key),
        )
    date = check_date(data.get("date"), path, line_of("date"))
    keywords = data.get("keywords")
    if keywords is None:
        keywords = []
    elif isinstance(keywords, str):
        keywords = [k.strip() for k in keywords.split(",")]
    elif not isinstance(keywords, list) or not all(
        isinstance(k, (str, int, float)) and not isinstance(k, bool) for k in keywords
    ):
        raise SourceError(
            "front matter 'keywords' must be a list of words or phrases, or one line of them "
            f"separated by commas, not a {type_name(keywords)}"
            + (" holding other structures" if isinstance(keywords, list) else ""),
            path,
            line_of("keywords"),
        )
    return Metadata(
        title=text("title"),
        language=language,
        subtitle=text("subtitle"),
        author=text("author"),
        publisher=text("publisher"),
        date=date,
        identifier=text("identifier"),
        description=text("description"),
        keywords=tuple(str(k).strip() for k in keywords if str(k).strip()),
        cover=text("cover"),
        # issue 16: a conformance claim and its evaluator only when the master makes them
        conforms_to=text("conforms_to"),
        certified_by=text("certified_by"),
        certifier_credential=text("certifier_credential"),
        certifier_report=text("certifier_report"),
        contact=text("contact"),
    )


def check_date(value, path: Path, line: int) -> str:
    """The date as YYYY-MM-DD: a real calendar date (DAISY and EPUB refuse anything else)."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        raise SourceError(
            f"date {value!r} is not an ISO date; write it as YYYY-MM-DD, for example 2024-01-31", path, line
        )
    value = value.strip()
    # A time after the date (2024-01-31T10:00) is allowed and dropped.
    if not ISO_DATE_RE.match(value) or (len(value) > 10 and value[10] not in "T "):
        raise SourceError(f"date {value!r} is not an ISO date (YYYY-MM-DD)", path, line)
    try:
        datetime.date.fromisoformat(value[:10])
    except ValueError:
        raise SourceError(f"date {value!r} is not a real date", path, line) from None
    return value[:10]


# ---------------------------------------------------------------- images named by the master

# What every image-carrying output can hold. SVG is refused: it is a program as much as a
# picture (scripts, event handlers, external references), and the EPUB and DAISY would ship
# it live; no maintained library here sanitises it safely, so it is converted by the author.
READABLE_IMAGE_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "GIF": "GIF", "WEBP": "WebP"}


def locate_image(src: str, base: Path) -> tuple[Path | None, str]:
    """(the file, "") for a path that stays inside ``base``, or (None, what is wrong)."""
    parsed = urlparse(src)
    if parsed.scheme in ("http", "https", "ftp", "data") or src.startswith("//"):
        return None, "is remote; images are never fetched: save it under the source folder"
    if parsed.scheme and not re.match(r"^[A-Za-z]:[\\/]", src):
        return None, "is not a file path"
    if PurePosixPath(src).is_absolute() or re.match(r"^[A-Za-z]:[\\/]", src) or src.startswith("\\"):
        return None, "is an absolute path; use a path inside the source folder"
    base = base.resolve()
    target = (base / src).resolve()
    if base != target and base not in target.parents:
        return None, "leads outside the source folder"
    if not target.exists():
        return None, "not found"
    if not target.is_file():
        return None, "is not a file"
    return target, ""


def image_content_problem(path: Path) -> str:
    """What makes ``path`` (a regular file) unusable as an image, or ""."""
    with path.open("rb") as handle:
        head = handle.read(512)
    if path.suffix.lower() in (".svg", ".svgz") or re.search(rb"<svg[\s>]", head.lstrip(b"\xef\xbb\xbf")[:512]):
        return ("is an SVG drawing, which can carry scripts into the EPUB and DAISY books; "
                "export it as PNG and use that")
    from PIL import Image as PillowImage

    try:
        with PillowImage.open(path) as picture:
            kind = picture.format or ""
            picture.verify()
    except PillowImage.UnidentifiedImageError:
        return "is not a readable image (its contents are not PNG, JPEG, GIF or WebP)"
    except PillowImage.DecompressionBombError:
        return "has too many pixels to be a picture in a document; save it smaller"
    except Exception as exc:  # Pillow raises many kinds for a damaged or foreign file
        reason = str(exc).strip() or type(exc).__name__
        return f"is not a readable image ({reason})"
    if kind not in READABLE_IMAGE_FORMATS:
        return f"is a {kind or 'kind of'} image, which not every format can hold; save it as PNG or JPEG"
    return ""


def image_diagnostics(document, source_lines: list[str]) -> list[Diagnostic]:
    """S1 for the cover (any rule) and for each body image that exists but is no usable
    image; the reader has already reported a body image that is missing or outside."""
    found: list[Diagnostic] = []
    path, base = document.source_path, document.source_dir
    cover = document.metadata.cover
    if cover:
        line = next((n for n, text in enumerate(source_lines, 1) if text.startswith("cover:")), 1)
        target, problem = locate_image(cover, base)
        if target is not None:
            problem = image_content_problem(target)
        if problem:
            found.append(Diagnostic("S1", "error", f"cover image {cover!r} {problem}", path, line))
    seen: set[str] = set()
    for image in document.images():
        if image.src in seen:
            continue
        seen.add(image.src)
        target, _ = locate_image(image.src, base)
        problem = image_content_problem(target) if target is not None else ""
        if problem:
            found.append(Diagnostic("S1", "error", f"image {image.src!r} {problem}", path, image.line))
    return found
