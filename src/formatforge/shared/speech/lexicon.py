"""The pronunciation lexicon: how to say the words a voice gets wrong, kept in a file the
user edits (``source/pronunciation.toml``), never in code (A6).

The file has one table, ``[say]``, of ``"written form" = "spoken form"``::

    [say]
    "Cuppa" = "cupper"                 # a respelling in plain text
    "COVID" = "[[k'oUvId]]"            # espeak phonemes between double brackets
    "Co-Production Collective" = "co production collective"

Rules:

- Whole words and phrases only: ``Cuppa`` never changes ``Cuppas`` or ``teacuppa``; a
  hyphen counts as part of a word, so ``co-production`` is one entry and ``production``
  inside it is left alone.
- Case: an entry written all in lower case matches any case (``covid`` matches ``COVID``
  and ``Covid``); an entry with any capital matches only exactly that spelling (``US``
  the country, not ``us``).
- Longer entries win over shorter ones they overlap (``Co-Production Collective`` before
  ``co-production``); a replaced piece of text is never replaced again.
- Phonemes in ``[[ ]]`` are espeak-ng's phoneme mnemonics; the pyttsx3 engine passes them
  to espeak on Linux, but system voices elsewhere read them literally, so prefer
  respellings when the book may be built on Windows or macOS. The neural voice is given
  the word as written instead.
- Phonemes between slashes, ``/kˈʌpə/``, are IPA in the alphabet of the neural voice
  (misaki's, as ``hibari "text" --phonemes`` prints it); other engines are given the word
  as written.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ...errors import SourceError

LEXICON_FILE = "pronunciation.toml"
_WORD_EDGE_BEFORE = r"(?<![\w'’-])"
# A possessive ’s may follow a whole word; any other letter, digit or joined hyphen may not.
_WORD_EDGE_AFTER = r"(?!\w|-\w|['’](?!s\b)\w)"
_ESPEAK_PHONEMES = re.compile(r"\[\[.*\]\]", re.DOTALL)
_IPA = re.compile(r"/[^/\s][^/]*/")


@dataclass(frozen=True)
class Lexicon:
    entries: tuple[tuple[str, str], ...] = ()

    @classmethod
    def load(cls, path: Path | None) -> "Lexicon":
        if path is None or not path.is_file():
            return cls()
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise SourceError(f"the pronunciation lexicon cannot be read: {error}", path) from error
        table = data.get("say", {})
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
            raise SourceError('the pronunciation lexicon needs a [say] table of "word" = "how to say it"', path)
        return cls(tuple((written.strip(), spoken) for written, spoken in table.items() if written.strip()))

    def __bool__(self) -> bool:
        return bool(self.entries)

    def apply(self, text: str, engine: str = "espeak") -> str:
        """``text`` with every entry's written form replaced by its spoken form for
        ``engine``: phonemes only reach the engine that reads them (espeak ``[[…]]``, the
        neural voice IPA ``/…/``); another engine is given the word as written."""
        if not self.entries or not text:
            return text
        return self._pattern.sub(lambda match: self._replacement(match, engine), text)

    @property
    def _pattern(self) -> re.Pattern[str]:
        cached = self.__dict__.get("_compiled")
        if cached is None:
            ordered = sorted(self.entries, key=lambda entry: -len(entry[0]))
            alternatives = []
            for written, _ in ordered:
                body = r"\s+".join(re.escape(part) for part in written.split())
                if written == written.lower():
                    body = f"(?i:{body})"
                alternatives.append(body)
            cached = re.compile(_WORD_EDGE_BEFORE + "(?:" + "|".join(alternatives) + ")" + _WORD_EDGE_AFTER)
            object.__setattr__(self, "_compiled", cached)
            object.__setattr__(self, "_spoken", self._spoken_forms())
        return cached

    def _spoken_forms(self) -> dict[str, dict[str, str]]:
        exact = {written: spoken for written, spoken in self.entries if written != written.lower()}
        folded = {written.casefold(): spoken for written, spoken in self.entries if written == written.lower()}
        return {"exact": exact, "folded": folded}

    def _replacement(self, match: re.Match[str], engine: str = "espeak") -> str:
        found = " ".join(match.group(0).split())
        spoken = self.__dict__["_spoken"]
        said = spoken["exact"].get(found) or spoken["folded"].get(found.casefold(), match.group(0))
        if _ESPEAK_PHONEMES.fullmatch(said):
            return said if engine != "neural" else match.group(0)
        if _IPA.fullmatch(said):
            # misaki's inline form, which hibari reads: [word](/phonemes/)
            return f"[{found}]({said})" if engine == "neural" else match.group(0)
        return said


def lexicon_path(source_dir: Path, override: str | Path | None = None) -> Path:
    """The lexicon beside the source, or the one named by the ``audio.lexicon`` option."""
    if not override:
        return source_dir / LEXICON_FILE
    # A relative override is read beside the master, like the images it names.
    path = Path(override)
    return path if path.is_absolute() else source_dir / path


def lexicon_for(source_dir: Path, override: str | Path | None = None) -> Lexicon:
    path = lexicon_path(source_dir, override)
    if override and not path.is_file():
        raise SourceError("the pronunciation lexicon named by audio.lexicon does not exist", path)
    return Lexicon.load(path)
