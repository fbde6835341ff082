"""outputs/index.html: the page where a reader picks the format that suits them.

Built from what the build actually wrote (the manifest's entries), with links relative to
the folder so that the page works on any shared drive or web server.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree
from lxml.builder import ElementMaker

from .labels import Labels, labels_for
from .model import Document, languages_used
from .shared.speech.options import DEFAULT_ENGINE

H = ElementMaker()

# Who each format suits, in plain language, and what kind of file it is.
FORMAT_GUIDE: dict[str, tuple[str, str]] = {
    "docx": ("Word document", "For reading with a screen reader, or on screen with your own settings. You can also edit or print it."),
    "large-print": ("Large print Word document", "For people with low vision: 18 point Arial text, bold for emphasis, left aligned."),
    "large-print-pdf": ("Large print PDF", "For printing in large print, or reading on screen at a fixed layout. Tagged for screen readers."),
    "epub": ("EPUB e-book", "For e-book readers and apps, where you can change the text size, font and colours, or have it read aloud."),
    "html": ("Web page", "For reading in any web browser. It follows your browser's text size and dark mode settings."),
    "braille": ("Braille", "Unified English Braille, contracted: BRF for embossers and braille notetakers, PEF for embossers, and a text file of braille characters."),
    "audio": ("MP3 audio", "A narrated version to listen to: one file for the whole document with chapters, and one file for each section."),
    "daisy": ("DAISY talking book", "For DAISY players and apps: listen and move by heading, with the text shown as it is read."),
    "read-aloud": ("Read-aloud EPUB", "An e-book with the narration built in: apps that support it read aloud and highlight each sentence as it is spoken."),
}

STYLE = """
:root { color-scheme: light dark; --text: #1a1a1a; --back: #ffffff; --link: #0b4f9c; --rule: #767676; }
@media (prefers-color-scheme: dark) { :root { --text: #f2f2f2; --back: #121212; --link: #9cc7ff; --rule: #9a9a9a; } }
html { font-family: Arial, "Liberation Sans", sans-serif; font-size: 100%; line-height: 1.5; }
body { color: var(--text); background: var(--back); margin: 0 auto; max-width: 50rem; padding: 1rem; }
a { color: var(--link); }
a:focus-visible { outline: 3px solid currentColor; outline-offset: 2px; }
.skip { position: absolute; left: -999rem; }
.skip:focus { position: static; }
section { border-top: 1px solid var(--rule); padding: 0.5rem 0; }
dl { display: grid; grid-template-columns: fit-content(50%) 1fr; gap: 0.25rem 1rem; }
dt { font-weight: bold; }
dd { margin: 0; }
"""


# ---------------------------------------------------------------- the words on the pages
# Every English string the download page and the catalogue show (issue 17 point 6) is here,
# in one place. Each is a msgid of labels.py's catalogue: a document's page shows it in
# the document's language (issue 20), the library's catalogue in English.
ENGLISH = labels_for("en")
# The narrator's opening section: the audio file says it in English (speech.script's
# OPENING_SLUG), the page in the document's language.
OPENING_TITLE = "About this recording"

# Which app opens each format.
OPENS_WITH: dict[str, str] = {
    "docx": "Opens in Microsoft Word, LibreOffice Writer, Google Docs or Apple Pages.",
    "large-print": "Opens in Microsoft Word, LibreOffice Writer, Google Docs or Apple Pages.",
    "large-print-pdf": "Opens in any PDF reader, such as Adobe Acrobat Reader, or in your web browser.",
    "epub": "Opens in an e-book app, such as Apple Books, Google Play Books or Thorium Reader.",
    "html": "Opens in any web browser.",
    "braille": "For a braille display, braille notetaker or braille embosser.",
    "audio": "Plays in any music or podcast app, or in your web browser.",
    "daisy": "Opens on a DAISY player, or in a DAISY app such as Dolphin EasyReader. Unzip it first if your player asks for a folder.",
    "read-aloud": "Opens in an e-book app that reads aloud with highlighting (EPUB Media Overlays), such as Thorium Reader or Apple Books.",
}
# What each braille file is, and who it is for.
BRAILLE_FILES: dict[str, str] = {
    ".brf": "BRF file, for braille notetakers, braille displays and embossers",
    ".pef": "PEF file, for embossers and braille software",
    ".txt": "text file of braille characters, for reading braille on screen or on a braille display through a screen reader",
}
WORDS = {
    "title": "{title}: accessible versions",
    "untitled": "Accessible versions",
    "choose": "Choose the version of {title} that suits you.",
    "same_content": "Every version has the same content. Choose the one that suits you; each link downloads or opens the file.",
    "skip": "Skip to the formats",
    "language": "Language",
    "updated": "Last updated",
    "length": "Length",
    "opens": "Opens with",
    "not_stated": "not stated",
    "whole_audio": "The whole document as one MP3 file",
    "playlist": "Playlist of the sections, to play them in order in a music app",
    "sections": "Each section as its own MP3 file",
    "synthetic": "The narration is a synthetic (computer-made) voice, not a recorded person: {engine}, voice {voice}.",
    "contact": "Need another format, such as easy read, a different language or a printed copy? Ask {contact}.",
    "no_contact": "If none of these suits you, ask whoever sent you this page for another format.",
    "catalogue_title": "Accessible documents",
    "catalogue_intro": "Every document here comes in several formats with the same content. Choose a document, then the format that suits you.",
    "catalogue_skip": "Skip to the documents",
    "by_format": "Find documents by format",
    "by_format_intro": "Each format below lists every document you can get in it.",
    "by_format_section": "Documents by format",
    "documents": "Documents",
    "all_versions": "All versions of {title}",
    "date": "Date",
    "formats_here": "Formats",
    "no_documents": "No documents have been built yet.",
}
ENGINE_NAMES = {"espeak": "eSpeak NG", "pyttsx3": "your system's voice"}
# English names for the language tags a master is likely to carry; anything else is shown
# as its tag.
LANGUAGES = {
    "en": "English", "cy": "Welsh", "ga": "Irish", "gd": "Scottish Gaelic", "fr": "French", "de": "German",
    "es": "Spanish", "it": "Italian", "pt": "Portuguese", "nl": "Dutch", "pl": "Polish", "ro": "Romanian",
    "ar": "Arabic", "ur": "Urdu", "bn": "Bengali", "pa": "Punjabi", "gu": "Gujarati", "hi": "Hindi",
    "zh": "Chinese", "so": "Somali", "tr": "Turkish", "uk": "Ukrainian", "ru": "Russian", "lt": "Lithuanian",
    "da": "Danish", "sv": "Swedish", "nb": "Norwegian Bokmål", "fi": "Finnish", "el": "Greek", "ja": "Japanese",
}
REGIONS = {
    "GB": "United Kingdom", "US": "United States", "IE": "Ireland", "AU": "Australia", "CA": "Canada",
    "NZ": "New Zealand", "ZA": "South Africa", "IN": "India", "FR": "France", "BE": "Belgium", "CH": "Switzerland",
    "DE": "Germany", "AT": "Austria", "ES": "Spain", "MX": "Mexico", "PT": "Portugal", "BR": "Brazil",
    "NL": "Netherlands", "CN": "China", "TW": "Taiwan", "HK": "Hong Kong",
}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")


def language_name(tag: str, labels: Labels = ENGLISH) -> str:
    """``en-GB`` → ``English (United Kingdom)``, in the language of ``labels``; a tag we
    have no name for stays a tag."""
    if not tag:
        return labels(WORDS["not_stated"])
    parts = tag.replace("_", "-").split("-")
    language = LANGUAGES.get(parts[0].lower())
    if language is None:
        return tag
    region = next((labels(REGIONS[p.upper()]) if p.upper() in REGIONS else p.upper() for p in parts[1:] if len(p) == 2), "")
    return f"{labels(language)} ({region})" if region else labels(language)


def human_date(iso: str, labels: Labels = ENGLISH) -> str:
    """``2023-10-31`` → ``31 October 2023``, as people write dates in the UK (the month
    in the language of ``labels``)."""
    try:
        year, month, day = (int(part) for part in iso[:10].split("-"))
        return f"{day} {labels(MONTHS[month - 1])} {year}"
    except (ValueError, IndexError):
        return iso


def section_label(relative: str, labels: Labels = ENGLISH) -> str:
    """``audio/03-our-aims.mp3`` → ``Our aims``; the narrator's opening by its title in
    the document's language (its file name is always English)."""
    words = Path(relative).stem.split("-")
    if words and words[0].isdigit():
        words = words[1:]
    if words == OPENING_TITLE.casefold().split():
        return labels(OPENING_TITLE)
    text = " ".join(words) or Path(relative).stem
    return text[:1].upper() + text[1:]


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def audio_length(path: Path) -> str:
    try:
        from mutagen.mp3 import MP3

        info = MP3(path).info
        if info is None:
            return ""
        total = int(round(info.length))
    except Exception:  # a page without the length is better than no page
        return ""
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {seconds} s"


def main_files(name: str, files: list[str]) -> list[str]:
    """The files a reader downloads for a format (the section MP3s are listed under them)."""
    if name == "audio":
        whole = [f for f in files if "/" not in f]
        return whole + [f for f in files if f.endswith(".m3u8")]
    if name == "daisy":
        return [f for f in files if f.endswith(".zip")] or files[:1]
    if name == "braille":  # BRF first: what most braille readers want
        order = list(BRAILLE_FILES)
        return sorted(files, key=lambda f: order.index(Path(f).suffix) if Path(f).suffix in order else len(order))
    return files


def file_label(name: str, label: str, relative: str, labels: Labels) -> str:
    if name == "braille" and Path(relative).suffix in BRAILLE_FILES:
        text = labels(BRAILLE_FILES[Path(relative).suffix])
        return f"{label}: {text}"
    if name == "audio":
        return labels(WORDS["playlist"]) if relative.endswith(".m3u8") else labels(WORDS["whole_audio"])
    return label


def synthetic_voice(language: str, options: dict | None, labels: Labels) -> str:
    options = options or {}
    engine = str(options.get("audio.engine") or DEFAULT_ENGINE)
    voice = str(options.get("audio.voice") or (language or "en").strip().lower().replace("_", "-") or "en")
    return labels(WORDS["synthetic"], engine=labels(ENGINE_NAMES[engine]) if engine in ENGINE_NAMES else engine,
                  voice=voice)


def language_names(document: Document, labels: Labels) -> str:
    """The document's language; for a master with passages marked in other languages,
    every language it uses, each by name with the tag the master writes."""
    used = languages_used(document)  # a walk of the whole model: render asks once for every format
    if len(used) < 2:
        return language_name(document.metadata.language, labels)
    return ", ".join(f"{language_name(code.replace('_', '-').split('-')[0], labels)} ({code})" for code in used)


def html_page(title: str, language: str, skip: str, *body) -> bytes:
    """A reader's page: the head every page shares, a skip link, then ``body``."""
    page = H.html(
        H.head(
            H.meta(charset="utf-8"),
            H.meta(name="viewport", content="width=device-width, initial-scale=1"),
            H.title(title),
            H.style(STYLE),
        ),
        H.body(H.a(skip, href="#main", **{"class": "skip"}), *body),
        lang=language,
    )
    return b"<!DOCTYPE html>\n" + etree.tostring(page, method="html", encoding="utf-8") + b"\n"


def render(document: Document, out_dir: Path, entries: dict[str, dict], options: dict | None = None) -> bytes:
    meta = document.metadata
    labels = labels_for(meta.language)
    title = labels(WORDS["title"], title=meta.title) if meta.title else labels(WORDS["untitled"])
    languages = language_names(document, labels)
    sections = []
    for name, entry in entries.items():
        files = sorted(entry.get("files", {}))
        label, who = FORMAT_GUIDE.get(name, (name, ""))
        label, who = labels(label), labels(who) if who else who
        items = []
        for relative in main_files(name, files):
            size = entry["files"][relative]["size"]
            item = H.li(H.a(file_label(name, label, relative, labels), href=relative),
                        f" ({Path(relative).suffix[1:].upper()}, {human_size(size)})")
            if name == "audio" and relative.endswith(".mp3") and "/" not in relative:
                parts = [f for f in files if f.endswith(".mp3") and "/" in f]
                if parts:
                    item.append(H.p(labels(WORDS["sections"])))
                    item.append(H.ul(*(H.li(H.a(section_label(f, labels), href=f), f" (MP3, {human_size(entry['files'][f]['size'])})") for f in parts)))
            items.append(item)
        details = [H.dt(labels(WORDS["language"])), H.dd(languages)]
        if meta.date:
            details += [H.dt(labels(WORDS["updated"])), H.dd(human_date(meta.date, labels))]
        if name in OPENS_WITH:
            details += [H.dt(labels(WORDS["opens"])), H.dd(labels(OPENS_WITH[name]))]
        if name == "audio":
            whole = [f for f in files if f.endswith(".mp3") and "/" not in f]
            length = audio_length(out_dir / whole[0]) if whole else ""
            if length:
                details += [H.dt(labels(WORDS["length"])), H.dd(length)]
        notes = [H.p(synthetic_voice(meta.language, options, labels))] if name in ("audio", "daisy", "read-aloud") else []
        heading_id = f"format-{name}"
        sections.append(
            H.section(
                H.h2(label, id=heading_id),
                H.p(who),
                *notes,
                H.ul(*items),
                H.dl(*details),
                **{"aria-labelledby": heading_id},
            )
        )
    contact = H.p(labels(WORDS["contact"], contact=meta.contact)) if meta.contact else H.p(labels(WORDS["no_contact"]))
    return html_page(title, meta.language or "en", labels(WORDS["skip"]),
        H.header(H.p(meta.publisher) if meta.publisher else H.p(meta.author or "")),
        H.main(
            H.h1(title),
            H.p(meta.description) if meta.description else H.p(labels(WORDS["choose"], title=meta.title)),
            H.p(labels(WORDS["same_content"])),
            *sections,
            contact,
            id="main",
            tabindex="-1",
        ),
    )


def render_catalogue(documents: list[tuple[str, dict]]) -> bytes:
    """outputs/index.html for a library (issue 17 point 1): every document with its title,
    description and date, and each of its formats with who it suits and its size; then the
    same documents grouped by format, so a reader who needs braille (say) finds every
    braille file in one list. Plain links and headings: nothing needs JavaScript."""
    labels = ENGLISH  # a library holds documents in many languages: its own words are English
    title = labels(WORDS["catalogue_title"])
    cards = []
    by_format: dict[str, list] = {}
    for folder, manifest in documents:
        doc_title = str(manifest.get("title") or folder)
        language = str(manifest.get("language") or "")
        heading_id = f"doc-{folder}"
        formats = []
        for name, entry in manifest.get("formats", {}).items():
            if name not in FORMAT_GUIDE:
                continue  # the document's own page, and formats this page has no words for
            label, who = (labels(text) for text in FORMAT_GUIDE[name])
            files = sorted(entry["files"])
            chosen = main_files(name, files)
            size = sum(entry["files"][f]["size"] for f in chosen)
            first = f"{folder}/{chosen[0]}" if chosen else f"{folder}/{DOWNLOAD_PAGE}"
            formats.append(H.li(H.a(label, href=first), f" ({human_size(size)}). {who}"))
            by_format.setdefault(name, []).append(
                H.li(H.a(doc_title, href=first, **({"lang": language} if language else {})), f" ({human_size(size)})")
            )
        details = []
        if manifest.get("date"):
            details += [H.dt(labels(WORDS["date"])), H.dd(human_date(str(manifest["date"]), labels))]
        details += [H.dt(labels(WORDS["language"])), H.dd(language_name(language, labels))]
        cards.append(
            H.section(
                H.h3(doc_title, id=heading_id, **({"lang": language} if language else {})),
                *([H.p(str(manifest["description"]), **({"lang": language} if language else {}))] if manifest.get("description") else []),
                H.dl(*details),
                H.p(H.a(labels(WORDS["all_versions"], title=doc_title), href=f"{folder}/{DOWNLOAD_PAGE}")),
                H.h4(WORDS["formats_here"], id=f"{heading_id}-formats"),
                H.ul(*formats),
                **{"aria-labelledby": heading_id},
            )
        )
    index = [H.li(H.a(labels(FORMAT_GUIDE[name][0]), href=f"#by-{name}")) for name in FORMAT_GUIDE if name in by_format]
    groups = [
        H.section(H.h3(labels(FORMAT_GUIDE[name][0]), id=f"by-{name}"), H.p(labels(FORMAT_GUIDE[name][1])), H.ul(*by_format[name]),
                  **{"aria-labelledby": f"by-{name}"})
        for name in FORMAT_GUIDE if name in by_format
    ]
    return html_page(title, "en", WORDS["catalogue_skip"],
        H.main(
            H.h1(title),
            H.p(labels(WORDS["catalogue_intro"])),
            H.nav(H.h2(WORDS["by_format"], id="find"), H.ul(*index), **{"aria-labelledby": "find"}) if index else H.p(labels(WORDS["no_documents"])),
            H.h2(WORDS["documents"], id="documents"),
            *cards,
            *([H.h2(WORDS["by_format_section"], id="by-format"), H.p(labels(WORDS["by_format_intro"])), *groups] if groups else []),
            id="main",
            tabindex="-1",
        ),
    )


DOWNLOAD_PAGE = "index.html"
