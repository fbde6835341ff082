"""outputs/index.html: the page where a reader picks the format that suits them.

Built from what the build actually wrote (the manifest's entries), with links relative to
the folder so that the page works on any shared drive or web server.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree
from lxml.builder import ElementMaker

from .model import Document

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
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; }
dt { font-weight: bold; }
dd { margin: 0; }
"""


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
    """The files a reader downloads for a format (section MP3s are listed by the playlist)."""
    if name == "audio":
        whole = [f for f in files if "/" not in f]
        return whole + [f for f in files if f.endswith(".m3u8")]
    if name == "daisy":
        return [f for f in files if f.endswith(".zip")] or files[:1]
    return files


def render(document: Document, out_dir: Path, entries: dict[str, dict]) -> bytes:
    meta = document.metadata
    title = f"{meta.title}: accessible versions" if meta.title else "Accessible versions"
    sections = []
    for name, entry in entries.items():
        files = sorted(entry.get("files", {}))
        label, who = FORMAT_GUIDE.get(name, (name, ""))
        items = []
        for relative in main_files(name, files):
            size = entry["files"][relative]["size"]
            items.append(H.li(H.a(f"{label}: {Path(relative).name}", href=relative), f" ({Path(relative).suffix[1:].upper()}, {human_size(size)})"))
        details = [H.dt("Language"), H.dd(meta.language or "not stated")]
        if meta.date:
            details += [H.dt("Last updated"), H.dd(meta.date)]
        if name == "audio":
            whole = [f for f in files if f.endswith(".mp3") and "/" not in f]
            length = audio_length(out_dir / whole[0]) if whole else ""
            if length:
                details += [H.dt("Length"), H.dd(length)]
        heading_id = f"format-{name}"
        sections.append(
            H.section(
                H.h2(label, id=heading_id),
                H.p(who),
                H.ul(*items),
                H.dl(*details),
                **{"aria-labelledby": heading_id},
            )
        )
    page = H.html(
        H.head(
            H.meta(charset="utf-8"),
            H.meta(name="viewport", content="width=device-width, initial-scale=1"),
            H.title(title),
            H.style(STYLE),
        ),
        H.body(
            H.a("Skip to the formats", href="#main", **{"class": "skip"}),
            H.header(H.p(meta.publisher) if meta.publisher else H.p(meta.author or "")),
            H.main(
                H.h1(title),
                H.p(meta.description) if meta.description else H.p(f"Choose the version of {meta.title} that suits you."),
                H.p("Every version has the same content. Choose the one that suits you; each link downloads or opens the file."),
                *sections,
                id="main",
                tabindex="-1",
            ),
        ),
        lang=meta.language or "en",
    )
    return b"<!DOCTYPE html>\n" + etree.tostring(page, method="html", encoding="utf-8") + b"\n"


def render_catalogue(documents: list[tuple[str, dict]]) -> bytes:
    """outputs/index.html for a library: placeholder, replaced by issue 17 point 1."""
    items = [H.li(H.a(str(manifest.get("title") or folder), href=f"{folder}/{DOWNLOAD_PAGE}")) for folder, manifest in documents]
    page = H.html(H.head(H.meta(charset="utf-8"), H.title("Accessible documents")),
                  H.body(H.main(H.h1("Accessible documents"), H.ul(*items))), lang="en")
    return b"<!DOCTYPE html>\n" + etree.tostring(page, method="html", encoding="utf-8") + b"\n"


DOWNLOAD_PAGE = "index.html"
