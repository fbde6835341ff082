"""The shared model → XHTML renderer used by the EPUB, HTML and DAISY writers."""

from __future__ import annotations

from lxml import etree

from formatforge import model
from formatforge.model import Document, FootnoteRef, Heading, Image, Metadata, Paragraph, Text
from formatforge.shared.xhtml import (
    EPUB_TYPE,
    XhtmlRenderer,
    as_html5,
    footnotes_by_section,
    heading_tree,
    page,
    reading_text,
    tag,
)

BLOCK_TAGS = {tag(n) for n in ("p", "ul", "ol", "li", "blockquote", "table", "figure", "pre", "hr", "h1", "h2", "h3", "h4", "h5", "h6")}


def renderer(doc: Document, epub: bool = True) -> XhtmlRenderer:
    return XhtmlRenderer(doc, epub=epub, image_src=lambda image: image.src, resolve=lambda fragment: f"#{fragment}")


def render_all(doc: Document, epub: bool = True) -> etree._Element:
    r = renderer(doc, epub)
    html, body = page(doc.metadata.title, doc.metadata.language, epub=epub)
    sections = doc.sections()
    for section, notes in zip(sections, footnotes_by_section(doc, sections)):
        body.append(r.section(section, notes, chapter=True))
    return html


def test_every_block_element_has_a_unique_stable_id(document):
    html = render_all(document)
    blocks = [el for el in html.iter() if el.tag in BLOCK_TAGS]
    ids = [el.get("id") for el in blocks]
    assert blocks and all(ids), "every block element has an id"
    all_ids = [el.get("id") for el in html.iter() if el.get("id")]
    assert len(all_ids) == len(set(all_ids))
    assert ids == [el.get("id") for el in render_all(document).iter() if el.tag in BLOCK_TAGS]
    headings = [b.id for b in model.walk_blocks(document.blocks) if isinstance(b, Heading)]
    assert [el.get("id") for el in blocks if el.tag in {tag(f"h{n}") for n in range(1, 7)}] == headings


def test_every_model_block_maps_to_its_element(every_construct):
    """A DAISY writer can find each model block's element by the renderer's id."""
    r = renderer(every_construct)
    html = render_all(every_construct)
    rendered = {el.get("id") for el in html.iter() if el.get("id")}
    for block in model.walk_blocks(every_construct.all_blocks()):
        assert r.id_of(block) in rendered, block


def test_text_round_trips_with_footnotes_after_the_body(document):
    body, notes = reading_text(render_all(document))
    assert model.words(body + "\n" + notes) == model.words(model.document_text(document))


def test_tables_get_th_with_scope_and_alignment(every_construct):
    html = render_all(every_construct)
    [table] = html.iter(tag("table"))
    headers = list(table.iter(tag("th")))
    assert [th.get("scope") for th in headers] == ["col"] * 3
    assert headers[1].get("class") == "align-center"
    assert table.find(tag("thead")) is not None and table.find(tag("tbody")) is not None


def test_images_alt_missing_and_decorative():
    """A missing alt leaves no alt attribute (so checkers report it); decorative is alt=""."""
    doc = Document(
        Metadata("T", "en"),
        (Image("a.png", "A described image"), Image("b.png", ""), Image("c.png", "", decorative=True)),
    )
    imgs = list(render_all(doc).iter(tag("img")))
    assert imgs[0].get("alt") == "A described image"
    assert "alt" not in imgs[1].attrib
    assert imgs[2].get("alt") == "" and imgs[2].get("role") == "presentation"


def test_footnotes_roles_types_and_back_links(every_construct):
    epub = render_all(every_construct, epub=True)
    refs = [a for a in epub.iter(tag("a")) if a.get("role") == "doc-noteref"]
    notes = [el for el in epub.iter(tag("aside")) if el.get("role") == "doc-footnote"]
    assert len(notes) == len(every_construct.footnotes) == len(refs)
    assert all(a.get(EPUB_TYPE) == "noteref" for a in refs) and all(n.get(EPUB_TYPE) == "footnote" for n in notes)
    for ref, note in zip(refs, notes):
        assert ref.get("href") == f"#{note.get('id')}"
        [back] = [a for a in note.iter(tag("a")) if a.get("role") == "doc-backlink"]
        assert back.get("href") == f"#{ref.get('id')}"
    html = render_all(every_construct, epub=False)
    assert not [el for el in html.iter() if el.get(EPUB_TYPE)]


def test_repeated_note_references_get_distinct_ids():
    doc = Document(
        Metadata("T", "en"),
        (Paragraph((Text("One"), FootnoteRef(1, "a"))), Paragraph((Text("Two"), FootnoteRef(1, "a")))),
        (model.Footnote(1, "a", (Paragraph((Text("Note"),)),)),),
    )
    ids = [a.get("id") for a in render_all(doc).iter(tag("a")) if a.get("role") == "doc-noteref"]
    assert ids == ["fnref-1", "fnref-1-2"]


def test_source_text_is_escaped_when_serialised():
    nasty = '<script>alert("x")</script> & "quotes"'
    doc = Document(Metadata(nasty, "en"), (Heading(1, (Text(nasty),), "h"), Paragraph((Text(nasty),))))
    data = etree.tostring(render_all(doc), encoding="unicode")
    assert "<script>" not in data and "&lt;script&gt;" in data


def test_heading_tree_nests_and_survives_skipped_levels():
    h = [Heading(level, (Text(str(i)),), f"h{i}") for i, level in enumerate([1, 2, 4, 2, 3, 1])]
    tree = heading_tree(h)
    assert [e.heading.id for e in tree] == ["h0", "h5"]
    assert [e.heading.id for e in tree[0].children] == ["h1", "h3"]
    assert [e.heading.id for e in tree[0].children[0].children] == ["h2"]


def test_as_html5_drops_namespaces_and_epub_attributes(every_construct):
    html5 = as_html5(render_all(every_construct, epub=True))
    assert all(isinstance(el.tag, str) and not el.tag.startswith("{") for el in html5.iter())
    assert not [k for el in html5.iter() for k in el.attrib if k.startswith("{")]
    out = etree.tostring(html5, method="html", encoding="unicode")
    assert "<br>" in out and "<br/>" not in out and "epub:" not in out
