"""Naming characters that an output cannot render: shared by the voice and by braille."""

from __future__ import annotations

import unicodedata


def character_name(char: str) -> str:
    """The Unicode name in lower case ("grinning face"), or what kind of character it is."""
    name = unicodedata.name(char, "")
    if name:
        return name.lower()
    kind = {"Cc": "control character", "Co": "private use character"}.get(unicodedata.category(char), "character")
    return f"{kind} {ord(char):04x}"
