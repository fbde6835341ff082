"""One self-contained, accessible web page (WCAG 2.2 AA) for reading in any browser.

Images are embedded as ``data:`` URIs rather than copied beside the page: the output is then
a single file that survives being emailed, attached or uploaded on its own, and the build's
list of outputs stays one name. The cost (a third more bytes per image) is small for the
diagrams a strategy document carries.
"""

from __future__ import annotations

import base64
import mimetypes
from typing import Any

from lxml import etree

from ..errors import WriterError
from ..model import Document, Heading, Image, DocumentSection, walk_blocks
from ..labels import Labels, labels_for
from ..shared.xhtml import (
    IMAGE_TYPES,
    XhtmlRenderer,
    as_html5,
    construct_styles,
    element,
    footnote_id,
    footnotes_by_section,
    heading_tree,
    noteref_id,
    page,
    sub,
    tag,
)
from . import BuildContext, Writer, register

# Relative units throughout so that text zoom and reflow work; colours chosen for ≥ 4.5:1
# contrast in both schemes (links ≥ 4.5:1 against the background, focus ring ≥ 3:1).
STYLESHEET = """\
:root {
  color-scheme: light dark;
  --text: #1b1b1b; --background: #ffffff; --link: #0b57d0; --visited: #6b2fa0;
  --focus: #b3261e; --panel: #f2f2f2; --rule: #6f6f6f;
}
@media (prefers-color-scheme: dark) {
  :root {
    --text: #ececec; --background: #121212; --link: #8ab4f8; --visited: #d7aefb;
    --focus: #ffb74d; --panel: #1f1f1f; --rule: #9e9e9e;
  }
}
html { font-size: 100%; -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body {
  margin: 0 auto; padding: 1rem; max-width: 42rem;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  line-height: 1.5; color: var(--text); background: var(--background);
  overflow-wrap: break-word;
}
a { color: var(--link); text-underline-offset: 0.15em; }
a:visited { color: var(--visited); }
:focus-visible { outline: 0.1875rem solid var(--focus); outline-offset: 0.125rem; }
main:focus { outline: none; }
.skip-link {
  position: absolute; left: 1rem; top: -100rem; padding: 0.5rem 1rem;
  background: var(--background); color: var(--link); z-index: 1;
}
.skip-link:focus { top: 1rem; }
h1, h2, h3, h4, h5, h6 { line-height: 1.25; margin: 1.5em 0 0.5em; }
p { margin: 0 0 1em; }
li > p { margin: 0 0 0.25em; }
figure { margin: 1.5em 0; }
img { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 1em 0; }
caption { font-weight: bold; text-align: left; }
/* Words in cells stay whole ("overflow-wrap: anywhere" let a column shrink to one letter);
   a table wider than the screen scrolls inside its labelled region (WCAG 1.4.10's exception
   for data tables) while the page itself still reflows at 320 px. */
.table-scroll { overflow-x: auto; max-width: 100%; margin: 1em 0; }
.table-scroll > table { margin: 0; }
th, td {
  border: 0.0625rem solid var(--rule); padding: 0.25em 0.5em; vertical-align: top;
  overflow-wrap: normal; word-break: normal; hyphens: manual;
}
th { text-align: left; }
.align-left { text-align: left; }
.align-center { text-align: center; }
.align-right { text-align: right; }
pre, code { font-family: ui-monospace, "DejaVu Sans Mono", Consolas, monospace; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: var(--panel); padding: 0.75em; }
blockquote { margin: 1em 0; padding-left: 1em; border-left: 0.25rem solid var(--rule); }
aside[role="doc-footnote"] { margin: 1em 0; padding-top: 0.5em; border-top: 0.0625rem solid var(--rule); }
nav ol { padding-left: 1.25em; }
.subtitle { font-size: 1.25em; margin: 0 0 1.5em; }
hgroup > h1 { margin-bottom: 0.25em; }
nav.contents { margin: 0 0 2em; }
nav.contents > h2 { margin-top: 0; }
@media print { .skip-link, nav.contents { display: none; } }
"""

# Rules for constructs only some documents have, added only to the pages that have them.
CONSTRUCT_STYLES = {
    # A labelled note: a bordered panel with a coloured bar (both schemes, ≥ 3:1 against the
    # background), the label in bold; the label's words carry the kind, not the colour.
    "admonition": """\
:root { --note-bar: #0b57d0; --warning-bar: #b3261e; }
@media (prefers-color-scheme: dark) { :root { --note-bar: #8ab4f8; --warning-bar: #ffb74d; } }
.admonition {
  margin: 1em 0; padding: 0.5em 1em; background: var(--panel);
  border: 0.0625rem solid var(--rule); border-left: 0.375rem solid var(--note-bar);
}
.admonition-warning, .admonition-caution, .admonition-danger, .admonition-error,
.admonition-attention, .admonition-important { border-left-color: var(--warning-bar); }
.admonition-title { font-weight: bold; margin: 0 0 0.25em; }
.admonition > :last-child { margin-bottom: 0; }
""",
    # The box stands where the bullet was. Browsers grey out a disabled box until its state
    # is hard to see; here the state is content, so the box is drawn in the text's colour
    # (and in the system's text colour when colours are forced).
    "task": """\
li.task-item { list-style-type: none; }
li.task-item input {
  appearance: none; -webkit-appearance: none; display: inline-grid; place-content: center;
  width: 1em; height: 1em; margin: 0 0.4em 0 0; vertical-align: -0.125em;
  border: 0.125em solid var(--text); border-radius: 0.125em; background: var(--background);
}
li.task-item input:checked::before {
  content: ""; width: 0.6em; height: 0.6em; box-shadow: inset 1em 1em var(--text);
  clip-path: polygon(14% 44%, 0 65%, 50% 100%, 100% 16%, 80% 0%, 43% 62%);
}
@media (forced-colors: active) { li.task-item input:checked::before { background: CanvasText; } }
""",
    "definitions": """\
dt { font-weight: bold; margin: 0.75em 0 0.25em; }
dd { margin: 0 0 0.5em 1.5em; }
""",
    # Screen readers seldom say that text is struck through: words they read, hidden from view.
    "deleted": """\
del::before, del::after {
  position: absolute; width: 0.0625rem; height: 0.0625rem; overflow: hidden;
  clip-path: inset(50%); white-space: nowrap;
}
del::before { content: " [deleted: "; }
del::after { content: "] "; }
""",
}


@register
class HtmlWriter(Writer):
    name = "html"
    summary = "a single accessible web page for any browser, screen reader or magnifier"

    def output_names(self, document: Document, options: dict[str, Any]) -> list[str]:
        return [f"{document.stem}.html"]

    def write(self, context: BuildContext) -> list[str]:
        name = self.output_names(context.document, context.options)[0]
        context.path(name).write_bytes(render_page(context.document))
        context.progress(1.0, name)
        return [name]


def data_uri(document: Document, image: Image) -> str:
    path = document.image_file(image).resolve()
    media_type = IMAGE_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
    if not media_type or not media_type.startswith("image/"):
        raise WriterError(f"image {image.src!r} is not an image type a browser shows", document.source_path, image.line)
    return f"data:{media_type};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def render_page(document: Document) -> bytes:
    metadata = document.metadata
    language = metadata.language or "en"
    uris: dict[str, str] = {}

    def image_src(image: Image) -> str:
        if image.src not in uris:
            uris[image.src] = data_uri(document, image)
        return uris[image.src]

    # A link to an id the page does not hold keeps its words but is no link (as in the EPUB).
    known = {b.id for b in walk_blocks(document.all_blocks()) if isinstance(b, Heading)}
    known |= {footnote_id(fn.number) for fn in document.footnotes} | {noteref_id(fn.number) for fn in document.footnotes}
    renderer = XhtmlRenderer(
        document, epub=False, image_src=image_src, resolve=lambda fragment: f"#{fragment}" if fragment in known else None
    )
    sections: list[DocumentSection] = document.sections()
    notes = footnotes_by_section(document, sections)

    head = [
        element("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}),
        *_meta("author", metadata.author),
        *_meta("description", metadata.description),
        *_meta("keywords", ", ".join(metadata.keywords)),
        element("style", text=STYLESHEET + construct_styles(document, CONSTRUCT_STYLES)),
    ]
    title = metadata.title or document.stem
    if metadata.subtitle:
        title = f"{title}: {metadata.subtitle}"
    html, body = page(title, language, head=head, epub=False)

    sub(body, "a", {"class": "skip-link", "href": "#main"}, labels_for(language)("Skip to main content"))
    headings = [b for b in walk_blocks(document.blocks) if isinstance(b, Heading)]
    entries = heading_tree(headings)
    # A single title heading holding everything would make the contents one long branch:
    # list what is under it instead.
    if len(entries) == 1 and entries[0].children:
        entries = entries[0].children

    main = sub(body, "main", {"id": "main", "tabindex": "-1"})
    for section, section_notes in zip(sections, notes):
        main.append(renderer.section(section, section_notes, chapter=False))
    title_heading = _title_heading(main)
    if title_heading is not None and metadata.subtitle:
        _show_subtitle(title_heading, metadata.subtitle)
    if entries:
        taken = {heading.id for heading in headings}
        nav = _contents_nav(renderer.toc_list(entries), language, taken)
        # After the title, as in the Word file: a reader meets the title (and the subtitle)
        # first, then a contents with a visible heading.
        if title_heading is not None:
            parent = title_heading.getparent()
            (parent if etree.QName(parent).localname == "hgroup" else title_heading).addnext(nav)
        else:
            main.insert(0, nav)
    _scrolling_tables(main, labels_for(language))

    return etree.tostring(as_html5(html), method="html", encoding="utf-8", doctype="<!DOCTYPE html>") + b"\n"


def _unique_id(base: str, taken: set[str]) -> str:
    candidate, counter = base, 1
    while candidate in taken:
        counter += 1
        candidate = f"{base}-{counter}"
    taken.add(candidate)
    return candidate


def _title_heading(main: etree._Element) -> etree._Element | None:
    """The page's h1 when the document opens with it, else None."""
    first = next((el for el in main.iter() if el is not main and etree.QName(el).localname
                  not in ("section",)), None)
    return first if first is not None and etree.QName(first).localname == "h1" else None


def _show_subtitle(h1: etree._Element, subtitle: str) -> None:
    """The subtitle under the title, grouped with it (HTML's hgroup: a heading and its
    subheading paragraph, one heading in the outline)."""
    group = element("hgroup")
    h1.addprevious(group)
    group.append(h1)
    sub(group, "p", {"class": "subtitle"}, subtitle)


def _contents_nav(toc: etree._Element, language: str, taken: set[str]) -> etree._Element:
    heading_id = _unique_id("contents-heading", taken)
    nav = element("nav", {"class": "contents", "aria-labelledby": heading_id})
    label = labels_for(language)("Contents")
    sub(nav, "h2", {"id": heading_id}, label)
    nav.append(toc)
    return nav


def _scrolling_tables(main: etree._Element, labels: Labels) -> None:
    """Each table in a region that scrolls sideways when the table is wider than the screen,
    focusable so keyboard users can scroll it. The region is named by the table's caption,
    else by its section's heading and its column headings (the heading alone would give the
    region the same name as its section's, and landmarks need names of their own)."""
    for table in list(main.iter(tag("table"))):
        region = element("div", {"class": "table-scroll", "role": "region", "tabindex": "0"})
        caption = table.find(tag("caption"))
        if caption is not None:
            caption_id = caption.get("id") or f"{table.get('id')}-caption"
            caption.set("id", caption_id)
            region.set("aria-labelledby", caption_id)
        else:
            section = next(table.iterancestors(tag("section")), None)
            heading_id = section.get("aria-labelledby") if section is not None else None
            heading = next((el for el in main.iter() if heading_id and el.get("id") == heading_id), None)
            headers = ", ".join(_words(th) for th in table.iter(tag("th")) if _words(th))
            label = ": ".join(part for part in (_words(heading) if heading is not None else "", headers) if part)
            region.set("aria-label", label or labels("Table"))
        table.addprevious(region)
        region.append(table)


def _words(el: etree._Element) -> str:
    return " ".join("".join(el.itertext()).split())


def _meta(name: str, content: str) -> list[etree._Element]:
    return [element("meta", {"name": name, "content": content})] if content else []
