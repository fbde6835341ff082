"""The tagged large-print PDF: tagged (PDF/UA), language, title and alt text carried through."""

from __future__ import annotations

import re
import subprocess

import pikepdf
import pytest

from formatforge import model

pytestmark = pytest.mark.slow


@pytest.fixture
def built_pdf(build_format, document):
    return build_format("large-print-pdf", document)[f"{document.stem}-large-print.pdf"]


def pdfinfo(path) -> dict[str, str]:
    out = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    return {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in out.splitlines() if ":" in line)}


def structure_elements(pdf: pikepdf.Pdf):
    """Every structure element, depth first."""
    stack = [pdf.Root.StructTreeRoot]
    while stack:
        node = stack.pop()
        kids = node.get("/K")
        children = list(kids) if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []
        for child in reversed(children):
            if isinstance(child, pikepdf.Dictionary) and "/S" in child:
                yield child
                stack.append(child)


def test_tagged_with_title_and_language(built_pdf, document):
    info = pdfinfo(built_pdf)
    assert info["Tagged"] == "yes"
    assert info["Title"] == document.metadata.title
    assert info["Page size"].endswith("(A4)")
    with pikepdf.open(built_pdf) as pdf:
        assert str(pdf.Root.Lang) == document.metadata.language
        assert pdf.Root.ViewerPreferences.DisplayDocTitle  # PDF/UA: show the title, not the file name
        with pdf.open_metadata() as xmp:
            assert xmp.get("{http://www.aiim.org/pdfua/ns/id/}part") == "1"


def test_every_image_has_alt_text(built_pdf, document):
    with pikepdf.open(built_pdf) as pdf:
        figures = [e for e in structure_elements(pdf) if e.S == "/Figure"]
        alts = [str(f.get("/Alt", "")) for f in figures]
    expected = [image.alt for image in document.images() if not image.decorative]
    assert alts == expected
    assert all(alts)


def test_headings_are_tagged(built_pdf, document):
    with pikepdf.open(built_pdf) as pdf:
        tags = [str(e.S) for e in structure_elements(pdf)]
    headings = [b for b in model.walk_blocks(document.blocks) if isinstance(b, model.Heading)]
    assert len([t for t in tags if re.fullmatch(r"/H[1-6]", t)]) == len(headings)


def test_nothing_is_lost(built_pdf, document):
    text = subprocess.run(["pdftotext", str(built_pdf), "-"], check=True, capture_output=True, text=True).stdout
    found = set(model.words(text))
    # the PDF shows text, not alt text; pdftotext joins words hyphenated at line ends
    shown = [b for b in document.all_blocks() if not isinstance(b, model.Image)]
    source = "\n".join(model.block_text(b) for b in shown)
    # "co-deliver" broken at its hyphen across lines comes back from pdftotext as "codeliver"
    missing = [token for token in re.findall(r"[^\W_]+(?:[-'’][^\W_]+)*", source)
               if not set(model.words(token)) <= found
               and not set(model.words(token.replace("-", ""))) <= found]
    assert missing == [], missing


def test_two_builds_are_byte_identical(tmp_path, every_construct):
    from conftest import write_format

    name = "every-construct-large-print.pdf"
    first = write_format("large-print-pdf", every_construct, tmp_path / "one")[name]
    second = write_format("large-print-pdf", every_construct, tmp_path / "two")[name]
    assert first.read_bytes() == second.read_bytes()


def test_untagged_pdf_would_be_caught(built_pdf, tmp_path):
    """The tagging checks can fail: strip the structure and pdfinfo says so."""
    broken = tmp_path / "untagged.pdf"
    with pikepdf.open(built_pdf) as pdf:
        del pdf.Root["/StructTreeRoot"]
        del pdf.Root["/MarkInfo"]
        del pdf.Root["/Lang"]
        pdf.save(broken)
    assert pdfinfo(broken)["Tagged"] == "no"


def _build_pdf(document, folder, cache_dir):
    from formatforge.formats import BuildContext, get_writer

    context = BuildContext(document=document, staging=folder, cache_dir=cache_dir)
    (name,) = get_writer("large-print-pdf").write(context)
    return folder / name


def test_libreoffice_profile_is_kept_in_the_cache_and_reused(tmp_path, every_construct):
    """A new LibreOffice profile costs about half a second a build, so the build cache keeps
    one; a reused profile gives the same bytes as a new private one."""
    cache = tmp_path / "cache"
    first = _build_pdf(every_construct, tmp_path / "one", cache)
    profile = cache / "libreoffice-profile"
    assert (profile / "user").is_dir()
    marker = profile / "user" / "formatforge-test-marker"
    marker.write_text("kept")
    second = _build_pdf(every_construct, tmp_path / "two", cache)
    assert marker.exists(), "the second build made a new profile instead of reusing the cached one"
    without_cache = _build_pdf(every_construct, tmp_path / "three", None)
    assert first.read_bytes() == second.read_bytes() == without_cache.read_bytes()


def test_broken_libreoffice_profile_is_replaced(tmp_path, every_construct):
    """A profile LibreOffice cannot start with (a killed build may leave one) does not fail
    the build: it converts with a private profile and removes the broken one."""
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "libreoffice-profile").write_text("not a LibreOffice profile")
    pdf = _build_pdf(every_construct, tmp_path / "out", cache)
    assert pdfinfo(pdf)["Tagged"] == "yes"
    assert not (cache / "libreoffice-profile").exists()


def test_profile_in_use_gives_a_private_profile(tmp_path, every_construct):
    """Two conversions never share a profile: while one holds it, another uses its own."""
    import fcntl

    cache = tmp_path / "cache"
    cache.mkdir()
    with open(cache / "libreoffice-profile.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        pdf = _build_pdf(every_construct, tmp_path / "out", cache)
    assert pdfinfo(pdf)["Tagged"] == "yes"
    assert not (cache / "libreoffice-profile").exists()
