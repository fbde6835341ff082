"""The python-docx internals the Word build relies on are still there (issue 19, point 2).

The Word, large-print and PDF editions reach past python-docx's documented API (its package
writer's private helpers, the core properties' element, its oxml layer): ``PRIVATE_API`` in
``formatforge/shared/word/package.py`` lists every such name in one place. An upgrade of
python-docx that drops one should fail here, naming the version and the attribute, rather
than as an AttributeError in the middle of a build (D5: the package is well formed).
"""

from __future__ import annotations

import io
import zipfile

import docx
import pytest

from formatforge.shared.word import package


def test_every_private_python_docx_name_the_word_build_uses_exists():
    missing = package.missing_private_api()
    assert not missing, "python-docx changed under the Word build:\n" + "\n".join(missing)


def test_a_missing_name_is_reported_with_the_version_and_the_attribute(monkeypatch):
    # What an upgrade that renamed a private helper looks like to the test above.
    monkeypatch.setattr(package, "PRIVATE_API", (
        "docx.opc.pkgwriter.PackageWriter._write_parts_renamed",
        "Document().core_properties._element_gone",
        "docx.no_such_module.Thing",
        "docx.opc.pkgwriter.PackageWriter._write_parts",
    ))
    version = package._python_docx_version()
    assert package.missing_private_api() == [
        f"python-docx {version} has no attribute '_write_parts_renamed' on docx.opc.pkgwriter.PackageWriter: the "
        "Word build relies on docx.opc.pkgwriter.PackageWriter._write_parts_renamed (see PRIVATE_API in "
        "formatforge/shared/word/package.py)",
        f"python-docx {version} has no attribute '_element_gone' on Document().core_properties: the Word build "
        "relies on Document().core_properties._element_gone (see PRIVATE_API in formatforge/shared/word/package.py)",
        f"python-docx {version} has no attribute 'no_such_module' on docx: the Word build relies on "
        "docx.no_such_module.Thing (see PRIVATE_API in formatforge/shared/word/package.py)",
    ]


def test_the_list_names_what_the_package_writer_calls():
    # The entries this module itself calls, so that the list cannot quietly lose them.
    for name in ("_write_content_types_stream", "_write_pkg_rels", "_write_parts"):
        assert f"docx.opc.pkgwriter.PackageWriter.{name}" in package.PRIVATE_API
    assert "Document().core_properties._element" in package.PRIVATE_API
    assert "docx.oxml.coreprops.CT_CoreProperties._get_or_add" in package.PRIVATE_API


@pytest.mark.parametrize("build", ["template", "with footnotes"])
def test_package_bytes_holds_what_python_docx_itself_saves(build):
    """D5: the parts written through PackageWriter's private helpers are the parts and bytes
    python-docx's own save writes; only the zip around them (dates, order) differs. Catches an
    upgrade that keeps the helpers' names but changes what writing a package takes."""
    word = package.new_document()
    if build == "with footnotes":
        package.add_footnotes_part(word)
    ours = zipfile.ZipFile(io.BytesIO(package.package_bytes(word, package.FALLBACK_ZIP_DATE)))
    saved = io.BytesIO()
    word.save(saved)
    theirs = zipfile.ZipFile(saved)
    assert sorted(ours.namelist()) == sorted(theirs.namelist())
    for name in theirs.namelist():
        assert ours.read(name) == theirs.read(name), name
    assert ours.namelist()[:2] == ["[Content_Types].xml", "_rels/.rels"]
    assert {info.date_time for info in ours.infolist()} == {package.FALLBACK_ZIP_DATE}
    if build == "with footnotes":
        assert "word/footnotes.xml" in ours.namelist()


def test_a_long_core_property_is_kept_whole():
    """python-docx's setter caps core properties at 255 characters; the private route keeps a
    long description whole."""
    from formatforge import model

    description = "A summary longer than python-docx allows. " * 10
    word = docx.Document()
    meta = model.Metadata(title="T", language="en-GB", description=description)
    package.set_core_properties(word, meta)
    assert word.core_properties.comments == description
    assert len(description) > 255
