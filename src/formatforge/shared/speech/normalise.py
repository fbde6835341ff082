"""Text normalisation for speech: written forms turned into what a person reading aloud
would say, before any engine sees the text.

Engines read written conventions literally or in American ways: espeak-ng says "2023-2028"
as "two thousand and twenty-three dash two thousand and twenty-eight", "£182,000" as
"pound one hundred and eighty-two thousand", "from/with" with "slash". The rules here are
for English (British first; American only changes the order of dates); for any other
language only the language-neutral rule (no doubled full stops) applies, since the words
would be wrong.

Applied after the pronunciation lexicon (the author's own respellings win: an entry for
"2023-2028" still matches the text as written) and never inside espeak phonemes
(``[[…]]``) or the neural voice's (``[word](/…/)``) the lexicon put there.
"""

from __future__ import annotations

import re

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")

# Written file types a listener knows by their letters or as a word after "dot".
_EXTENSIONS = ("docx", "doc", "pdf", "epub", "html", "htm", "mp3", "brf", "pef", "txt", "csv", "xlsx", "xls",
               "pptx", "ppt", "odt", "rtf", "md", "zip", "smil", "xml", "json", "png", "jpg", "jpeg", "svg")

# Abbreviations read as their words; a full stop that ended the sentence is kept.
_ABBREVIATIONS = {
    "e.g.": "for example",
    "eg.": "for example",
    "i.e.": "that is",
    "ie.": "that is",
    "etc.": "et cetera",
    "vs.": "versus",
    "cf.": "compare",
    "approx.": "approximately",
}
_CURRENCIES = {"£": ("pound", "pounds", "pence"), "$": ("dollar", "dollars", "cents"), "€": ("euro", "euros", "cents")}


def two_digits(number: int) -> str:
    """0–99 in words, hyphenated as British style guides write them: "twenty-three"."""
    if number < 20:
        return _ONES[number]
    tens, ones = divmod(number, 10)
    return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")


def year_words(year: int) -> str:
    """A year as people say it: 2023 "twenty twenty-three", 2005 "two thousand and five",
    1999 "nineteen ninety-nine", 1905 "nineteen oh five", 1900 "nineteen hundred"."""
    century, rest = divmod(year, 100)
    if 2000 <= year <= 2009:
        return "two thousand" + (f" and {_ONES[rest]}" if rest else "")
    if rest == 0:
        return f"{two_digits(century)} hundred"
    if rest < 10:
        return f"{two_digits(century)} oh {_ONES[rest]}"
    return f"{two_digits(century)} {two_digits(rest)}"


# ---------------------------------------------------------------- the rules, in order

_ISO_DATE = re.compile(r"(?<![\w/.-])(\d{4})-(\d{2})-(\d{2})(?![\w/-])")
_SLASH_DATE = re.compile(r"(?<![\w/.])(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})(?![\w/])")
_YEAR_RANGE_SHORT = re.compile(r"(?<![\w.,£$€-])((?:1[1-9]|20)\d\d)\s?[-–—]\s?(\d\d)(?![\w,.]\d|\d|-)")
_RANGE = re.compile(r"(?<![\w.,/-])([£$€]?\d[\d,]*(?:\.\d+)?)\s?[-–—]\s?([£$€]?\d[\d,]*(?:\.\d+)?)(?![\w/-]|[.,]\d)")
_CURRENCY_LABEL = re.compile(r"\(\s*([£$€])\s*\)")
_MONEY = re.compile(r"([£$€])\s?(\d[\d,]*)(?:\.(\d\d))?(?:\s?(million|billion|thousand|m|bn|k)\b)?")
_BARE_CURRENCY = re.compile(r"(?<!\S)([£$€])(?!\s?\d)")
_YEAR = re.compile(r"(?<![\w.,£$€/:-])((?:1[1-9]|20)\d\d)(?![\w%]|[.,:]\d|\s?(?:%|per ?cent))")
_SLASH_WORDS = re.compile(r"(?<![/:\w.])([A-Za-z][A-Za-z'’-]*)((?:/[A-Za-z][A-Za-z'’-]*)+)(?![/\w.:]|\.\w)")
_FILE_NAME = re.compile(r"(?<=\w)\.(" + "|".join(_EXTENSIONS) + r")\b(?!\.\w)", re.IGNORECASE)
_EXTENSION = re.compile(r"(?<![\w.])\.(" + "|".join(_EXTENSIONS) + r")\b", re.IGNORECASE)
_ABBREVIATION = re.compile(r"(?<![\w.])(" + "|".join(re.escape(a) for a in _ABBREVIATIONS) + r")(?=[\s,;:)\]]|$)",
                           re.IGNORECASE)
_DOUBLED_STOP = re.compile(r"(?<!\.)([.!?…])\s*\.(?!\.)")
_STOP_THEN_SEMICOLON = re.compile(r"\.(\s*[;:])")
_PHONEMES = re.compile(r"(\[\[.*?\]\]|\[[^\]]*\]\(/[^)]*/\))")  # espeak's [[…]], misaki's [word](/…/)


def _date(day: int, month: int, year: str, american: bool) -> str | None:
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    full_year = int(year) if len(year) == 4 else 2000 + int(year)
    name = _MONTHS[month - 1]
    return f"{name} {day}, {full_year}" if american else f"{day} {name} {full_year}"


def _money(match: re.Match[str]) -> str:
    one, many, cents = _CURRENCIES[match.group(1)]
    amount, pence, scale = match.group(2), match.group(3), match.group(4)
    scale = {"m": "million", "bn": "billion", "k": "thousand"}.get((scale or "").lower(), scale)
    if scale:
        return f"{amount}{'.' + pence if pence else ''} {scale} {many}"
    unit = one if amount == "1" else many
    if pence and pence != "00":
        return f"{amount} {unit} {int(pence)}" if amount != "0" else f"{int(pence)} {cents}"
    return f"{amount} {unit}"


def _abbreviation(match: re.Match[str]) -> str:
    words = _ABBREVIATIONS[match.group(1).lower()]
    rest = match.string[match.end():]
    # "…, etc." at the end of a sentence: its full stop was the sentence's too.
    return words + "." if not rest.strip(" \"'”’)]") else words


def _slash_words(match: re.Match[str]) -> str:
    parts = [match.group(1), *match.group(2)[1:].split("/")]
    if [p.lower() for p in parts] == ["and", "or"]:
        return f"{parts[0]} {parts[1]}"
    return " or ".join(parts)


def _english(text: str, american: bool) -> str:
    text = _ISO_DATE.sub(lambda m: _date(int(m.group(3)), int(m.group(2)), m.group(1), american) or m.group(0), text)

    def slash_date(m: re.Match[str]) -> str:
        first, second = int(m.group(1)), int(m.group(2))
        day, month = (second, first) if american else (first, second)
        return _date(day, month, m.group(3), american) or m.group(0)

    text = _SLASH_DATE.sub(slash_date, text)
    text = _YEAR_RANGE_SHORT.sub(lambda m: f"{m.group(1)} to {m.group(1)[:2]}{m.group(2)}"
                                 if int(m.group(2)) > int(m.group(1)[2:]) else m.group(0), text)
    text = _RANGE.sub(lambda m: f"{m.group(1)} to {m.group(2)}", text)
    text = _CURRENCY_LABEL.sub(lambda m: "in " + _CURRENCIES[m.group(1)][1], text)
    text = _MONEY.sub(_money, text)
    text = _BARE_CURRENCY.sub(lambda m: _CURRENCIES[m.group(1)][1], text)
    text = _YEAR.sub(lambda m: year_words(int(m.group(1))), text)
    text = _FILE_NAME.sub(lambda m: f" dot {m.group(1).lower()}", text)
    text = _EXTENSION.sub(lambda m: f"dot {m.group(1).lower()}", text)
    text = _ABBREVIATION.sub(_abbreviation, text)
    text = _SLASH_WORDS.sub(_slash_words, text)
    return text


def _neutral(text: str) -> str:
    text = _DOUBLED_STOP.sub(r"\1", text)
    return _STOP_THEN_SEMICOLON.sub(r"\1", text)


def normalise(text: str, language: str = "en-GB") -> str:
    """``text`` as it should be said in ``language`` (a BCP 47 tag)."""
    primary = (language or "en").lower().replace("_", "-")
    pieces = _PHONEMES.split(text)
    for index in range(0, len(pieces), 2):  # the odd pieces are phonemes: left as they are
        piece = pieces[index]
        if primary.split("-")[0] == "en":
            piece = _english(piece, american=primary in {"en-us", "en-ca", "en-ph"})
        pieces[index] = _neutral(piece)
    return "".join(pieces)
