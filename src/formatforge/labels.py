"""Every word formatforge adds to a document, in the document's language.

One gettext catalogue per language (``locale/<language>/LC_MESSAGES/formatforge.po``),
read with the standard library's ``gettext``. The message ids are the English labels, so
English needs no lookup and stays byte-identical to the labels writers used to hard-code.
The ``.po`` files are the only source: they are compiled to ``.mo`` in memory when first
used (``compile_po``), so there is no binary to keep in step with its text.

A label a catalogue lacks, or a language with no catalogue, falls back to English with one
warning per language and label per build (``reset_warnings`` starts a build afresh).
Labels with numbers use gettext's plural forms (``plural``), since Welsh and French count
differently from English.
"""

from __future__ import annotations

import ast
import functools
import gettext
import io
import struct
import threading
import warnings
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "formatforge"


class MissingLabelWarning(UserWarning):
    """A label shown in English because the document's language has no translation for it."""


_warned: set[tuple[str, str]] = set()
_lock = threading.Lock()


def reset_warnings() -> None:
    """Forget the labels already warned about: called when a build starts."""
    with _lock:
        _warned.clear()


def _warn_once(language: str, msgid: str) -> None:
    with _lock:
        if (language, msgid) in _warned:
            return
        _warned.add((language, msgid))
    warnings.warn(f"no {language!r} label for {msgid!r}: using the English", MissingLabelWarning, stacklevel=3)


def primary(language: str) -> str:
    """The primary language subtag of a BCP 47 tag, in lower case ("cy" for "cy-GB")."""
    return (language or "en").replace("_", "-").split("-")[0].casefold() or "en"


# ---------------------------------------------------------------- .po to .mo


def _unquote(text: str) -> str:
    return ast.literal_eval(text) if text.startswith('"') else ""


def parse_po(text: str, keep_empty: bool = False) -> dict[str | tuple[str, int], str]:
    """The translations of a .po file: msgid (or (msgid, plural index)) to msgstr. Only the
    subset of the format our catalogues use: msgid, msgid_plural, msgstr, msgstr[N],
    continuation lines and comments; untranslated (empty) entries are left out."""
    entries: list[dict[str, str]] = []
    current: dict[str, str] = {}
    key = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            if current and not line:
                entries.append(current)
                current, key = {}, ""
            continue
        if line.startswith('"'):
            current[key] += _unquote(line)
            continue
        key, _, value = line.partition(" ")
        if key == "msgid" and "msgid" in current:
            entries.append(current)
            current = {}
        current[key] = _unquote(value.strip())
    if current:
        entries.append(current)
    result: dict[str | tuple[str, int], str] = {}
    for entry in entries:
        msgid = entry.get("msgid")
        if msgid is None:
            continue
        if "msgid_plural" in entry:
            forms = [(k, v) for k, v in entry.items() if k.startswith("msgstr[")]
            if forms and (keep_empty or all(v for _, v in forms)):
                for k, v in forms:
                    result[(msgid, int(k[7:-1]))] = v
                result[(msgid + "\0" + entry["msgid_plural"], -1)] = ""
        elif entry.get("msgstr") or keep_empty:
            result[msgid] = entry["msgstr"]
    return result


def compile_po(text: str) -> bytes:
    """A .mo file (GNU gettext's binary format, little-endian) from a .po file's text."""
    messages: dict[bytes, bytes] = {}
    parsed = parse_po(text)
    plural_ids = {k[0] for k in parsed if isinstance(k, tuple) and k[1] == -1}
    for key, value in parsed.items():
        if isinstance(key, str):
            messages[key.encode()] = value.encode()
    for joined in plural_ids:
        singular = joined.split("\0")[0]
        forms = sorted((k[1], v) for k, v in parsed.items() if isinstance(k, tuple) and k[0] == singular and k[1] >= 0)
        messages[joined.encode()] = "\0".join(v for _, v in forms).encode()
    ids = sorted(messages)
    header = 7 * 4
    table = 8 * len(ids)
    ids_blob = b"".join(i + b"\0" for i in ids)
    strs_blob = b"".join(messages[i] + b"\0" for i in ids)
    ids_start = header + 2 * table
    strs_start = ids_start + len(ids_blob)
    offsets_ids, offsets_strs, position = [], [], 0
    for i in ids:
        offsets_ids += [len(i), ids_start + position]
        position += len(i) + 1
    position = 0
    for i in ids:
        offsets_strs += [len(messages[i]), strs_start + position]
        position += len(messages[i]) + 1
    return (struct.pack("<7I", 0x950412DE, 0, len(ids), header, header + table, 0, 0)
            + struct.pack("<%dI" % len(offsets_ids), *offsets_ids)
            + struct.pack("<%dI" % len(offsets_strs), *offsets_strs) + ids_blob + strs_blob)


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / primary(language) / "LC_MESSAGES" / f"{DOMAIN}.po"


def available_languages() -> list[str]:
    """The languages with a catalogue, English first."""
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return ["en"] + [language for language in found if language != "en"]


def english_labels() -> list[str]:
    """Every English label in the catalogue (the msgids and plural msgids)."""
    result = []
    for key in parse_po(catalogue_path("en").read_text(encoding="utf-8"), keep_empty=True):
        if isinstance(key, tuple):
            if key[1] == -1:
                result += key[0].split("\0")
        elif key:
            result.append(key)
    return sorted(set(result))


@functools.lru_cache(maxsize=None)
def _translations(language: str) -> gettext.GNUTranslations | None:
    path = catalogue_path(language)
    if not path.exists():
        return None
    return gettext.GNUTranslations(io.BytesIO(compile_po(path.read_text(encoding="utf-8"))))


# ---------------------------------------------------------------- lookups


class Labels:
    """The labels of one language: ``labels("Contents")``, ``labels("Footnote {number}.",
    number=3)``, ``labels.plural("{count} item", "{count} items", 3)``."""

    def __init__(self, language: str):
        self.language = primary(language)
        self._catalogue = None if self.language == "en" else _translations(self.language)
        if self.language != "en" and self._catalogue is None:
            _warn_once(self.language, "(every label: no catalogue)")

    def _lookup(self, msgid: str) -> str:
        if self._catalogue is None:
            return msgid
        missing = object()
        found = self._catalogue._catalog.get(msgid, missing)  # type: ignore[attr-defined]
        if found is missing:
            _warn_once(self.language, msgid)
            return msgid
        return found

    def translation(self, msgid: str) -> str | None:
        """The label in this language, or None (and no warning) when there is none."""
        if self._catalogue is None:
            return msgid if self.language == "en" else None
        return self._catalogue._catalog.get(msgid)  # type: ignore[attr-defined]

    def __call__(self, msgid: str, **values: object) -> str:
        text = self._lookup(msgid)
        return text.format(**values) if values else text

    def plural(self, singular: str, plural: str, count: int, **values: object) -> str:
        if self._catalogue is None:
            text = singular if count == 1 else plural
        elif (singular, 0) in self._catalogue._catalog:  # type: ignore[attr-defined]
            text = self._catalogue.ngettext(singular, plural, count)
        else:
            _warn_once(self.language, singular)
            text = singular if count == 1 else plural
        return text.format(count=count, **values)


@functools.lru_cache(maxsize=None)
def labels_for(language: str) -> Labels:
    return Labels(language)


ADMONITION_KINDS = {
    "note": "Note", "tip": "Tip", "important": "Important", "warning": "Warning", "caution": "Caution",
    "attention": "Attention", "danger": "Danger", "error": "Error", "hint": "Hint", "seealso": "See also",
    "admonition": "Note",
}


def admonition_label(kind: str, labels: Labels) -> str:
    return labels(ADMONITION_KINDS.get(kind, "Note"))


def admonition_title(block, labels: Labels) -> tuple:
    """A note's title in the document's language: the reader gives a note without a title
    of its own the English name of its kind, which is swapped for the language's."""
    from .model import Text

    english = ADMONITION_KINDS.get(block.kind, "Note")
    if not block.title or block.title == (Text(english),):
        return (Text(labels(english)),)
    return block.title


LANGUAGE_NAMES = {"en": "English", "cy": "Welsh", "fr": "French"}


def language_name(lang: str, labels: Labels) -> str:
    """A language's name in ``labels``' language ("Saesneg" for en in Welsh), else its tag."""
    english = LANGUAGE_NAMES.get(primary(lang))
    return labels(english) if english else lang
