"""Issue 17: a library of masters, one catalogue, readable outputs, a truthful validate,
publishing the library, preview, and the CI matrix."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from formatforge import formats
from formatforge.build import build
from formatforge.formats import BuildContext, Writer

from conftest import EVERY_CONSTRUCT


class NestedWriter(Writer):
    """Writes into a folder two levels down, as the audio and DAISY writers do."""

    name = "test-nested"
    summary = "a test format with folders"

    def output_names(self, document, options):
        return [f"sub/deep/{document.stem}.txt"]

    def write(self, context: BuildContext) -> list[str]:
        name = self.output_names(context.document, context.options)[0]
        context.path(name).write_text("text", encoding="utf-8")
        return [name]


class SectionWriter(Writer):
    """Writes one file named after the first heading, as the audio writer names its
    section MP3s: renaming the heading leaves the old file stale."""

    name = "test-sections"
    summary = "a test format with a file per section"

    def output_names(self, document, options):
        from formatforge.model import Heading, block_text

        first = next(b for b in document.blocks if isinstance(b, Heading))
        return [f"parts/{block_text(first).lower().replace(' ', '-')}.txt"]

    def write(self, context: BuildContext) -> list[str]:
        name = self.output_names(context.document, context.options)[0]
        context.path(name).write_text("section", encoding="utf-8")
        return [name]


@pytest.fixture
def section_writer():
    formats.register(SectionWriter)
    yield
    formats._REGISTRY.pop(SectionWriter.name, None)


@pytest.fixture
def nested_writer():
    formats.register(NestedWriter)
    yield
    formats._REGISTRY.pop(NestedWriter.name, None)


def every_path(folder: Path) -> list[Path]:
    return [folder, *sorted(folder.rglob("*"))]


def test_issue_17_point_5_every_output_is_readable_by_others_whatever_the_umask(tmp_path, nested_writer):
    shutil.copytree(EVERY_CONSTRUCT.parent / "images", tmp_path / "images")
    master = tmp_path / "doc.md"
    master.write_text(EVERY_CONSTRUCT.read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "out"
    previous = os.umask(0o077)
    try:
        report = build(master, out, ["html", "braille", "test-nested"])
    finally:
        os.umask(previous)
    assert report.ok, [r.message for r in report.results]
    paths = every_path(out)
    assert {"manifest.json", "index.html", "doc.html", "doc.pef", "sub"} <= {p.name for p in paths}
    # A library too: the document folders, the catalogue, its manifest and the stamp.
    from formatforge.library import build_library

    previous = os.umask(0o077)
    try:
        library = build_library([two_masters(tmp_path / "source")], tmp_path / "library", ["html", "test-nested"])
    finally:
        os.umask(previous)
    assert library.ok
    library_paths = every_path(tmp_path / "library")
    assert {"strategy", "annual-report", "index.html", "manifest.json", "sub"} <= {p.name for p in library_paths}
    for path in paths + library_paths:
        mode = stat.S_IMODE(path.lstat().st_mode)
        wanted = 0o755 if path.is_dir() else 0o644
        assert mode == wanted, f"{path.relative_to(tmp_path)} is {mode:o}, not {wanted:o}"


# ---------------------------------------------------------------- point 4: validate tells the truth


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "formatforge.cli", *args],
        capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=cwd, timeout=600,
    )


def test_issue_17_point_4_validate_without_an_installed_validator_exits_1_and_0_when_allowed(tmp_path):
    master = tmp_path / "doc.md"
    master.write_text("---\ntitle: T\nlanguage: en-GB\n---\n\n# Title\n\nText.\n", encoding="utf-8")
    assert build(master, tmp_path / "out", ["html", "braille"]).ok
    no_tools = {"FORMATFORGE_TOOLS": str(tmp_path / "no-tools")}  # axe-core is "not installed"
    strict = run_cli("validate", str(tmp_path / "out"), env=no_tools)
    assert strict.returncode == 1, strict.stderr
    said = " ".join(strict.stderr.split())
    assert "axe-core is not installed (scripts/setup --test installs it)" in said
    assert "--allow-missing" in said
    allowed = run_cli("validate", str(tmp_path / "out"), "--allow-missing", env=no_tools)
    assert allowed.returncode == 0, allowed.stderr
    assert "not run" in allowed.stderr


def tagged_pdf(path: Path, **broken: bool) -> Path:
    """A small PDF tagged as the large-print writer tags it; ``broken`` leaves a part out."""
    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page()
    if not broken.get("untagged"):
        pdf.Root.MarkInfo = pikepdf.Dictionary(Marked=True)
    if not broken.get("no_language"):
        pdf.Root.Lang = pikepdf.String("en-GB")
    if not broken.get("no_title"):
        pdf.docinfo["/Title"] = "A title"
        pdf.Root.ViewerPreferences = pikepdf.Dictionary(DisplayDocTitle=True)
    figure = pikepdf.Dictionary(Type=pikepdf.Name.StructElem, S=pikepdf.Name.Figure)
    if not broken.get("no_alt"):
        figure.Alt = pikepdf.String("Two boxes joined by an arrow")
    second = pikepdf.Name("/H3") if broken.get("skipped_heading") else pikepdf.Name("/H2")
    kids = [pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructElem, S=s)) for s in (pikepdf.Name.H1,)]
    kids += [pdf.make_indirect(figure), pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructElem, S=second))]
    document = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructElem, S=pikepdf.Name.Document, K=pikepdf.Array(kids)))
    pdf.Root.StructTreeRoot = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructTreeRoot, K=document))
    pdf.save(path)
    return path


@pytest.mark.parametrize("broken, rule", [
    ("untagged", "tagged"), ("no_language", "language"), ("no_title", "title"),
    ("no_alt", "figure-alt"), ("skipped_heading", "heading-order"),
])
def test_issue_17_point_4_the_large_print_pdf_checker_catches_each_fault(tmp_path, broken, rule):
    from formatforge.checks import failing
    from formatforge.validate import validate_file

    good = tagged_pdf(tmp_path / "good-large-print.pdf")
    assert [r.errors for r in validate_file(good)] == [0]
    bad = tagged_pdf(tmp_path / "bad-large-print.pdf", **{broken: True})
    (result,) = validate_file(bad)
    assert result.validator == "large print PDF tags"
    assert result.codes() and set(result.codes()) == {rule}, result.messages
    from formatforge.checks.pdf import check_large_print_pdf

    assert set(failing(check_large_print_pdf(bad))) == {rule}


# ---------------------------------------------------------------- point 3: publishing the library

FRONT = "---\ntitle: {title}\nlanguage: en-GB\ndate: 2023-10-31\ndescription: {title}, in brief.\n---\n\n"


def two_masters(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "strategy.md").write_text(FRONT.format(title="Our strategy") + "# Our strategy\n\nWe will do well.\n", encoding="utf-8")
    (folder / "annual-report.md").write_text(FRONT.format(title="Annual report") + "# Annual report\n\nWe did well.\n", encoding="utf-8")
    return folder


@pytest.fixture
def library(tmp_path):
    from formatforge.library import build_library

    source = two_masters(tmp_path / "source")
    out = tmp_path / "outputs"
    report = build_library([source], out, ["html", "braille"])
    assert report.ok, report.failed
    return source, out


def test_issue_17_point_3_publishing_a_library_keeps_both_documents_and_a_foreign_file(library, tmp_path, section_writer):
    from formatforge.library import build_library
    from formatforge.publish import publish

    source, out = library
    assert build_library([source], out, ["html", "braille", "test-sections"]).ok
    dest = tmp_path / "shared"
    dest.mkdir()
    (dest / "notes-from-the-team.txt").write_text("not ours")
    (dest / "strategy").mkdir()
    (dest / "strategy" / "their-own.txt").write_text("not ours either")
    report = publish(out, str(dest))
    assert set(report.documents) == {"strategy", "annual-report"}
    for stem, part in (("strategy", "our-strategy"), ("annual-report", "annual-report")):
        for name in (f"{stem}.html", f"{stem}.brf", "index.html", "manifest.json", f"parts/{part}.txt"):
            assert (dest / stem / name).is_file(), f"{stem}/{name}"
    assert (dest / "index.html").is_file() and (dest / "manifest.json").is_file()
    # One document's section is renamed: only that document's stale file goes.
    master = source / "strategy.md"
    master.write_text(master.read_text(encoding="utf-8").replace("# Our strategy", "# Our plan"), encoding="utf-8")
    assert build_library([source / "strategy.md", source / "annual-report.md"], out, ["html", "braille", "test-sections"]).ok
    report = publish(out, str(dest))
    assert report.removed == ["strategy/parts/our-strategy.txt"]
    assert (dest / "strategy" / "parts" / "our-plan.txt").is_file()
    assert (dest / "annual-report" / "parts" / "annual-report.txt").is_file()
    assert (dest / "notes-from-the-team.txt").read_text() == "not ours"
    assert (dest / "strategy" / "their-own.txt").read_text() == "not ours either"
    # A master taken out of the library: its published files go, the rest stay.
    (source / "annual-report.md").unlink()
    assert build_library([source], out, ["html"]).ok
    publish(out, str(dest))
    assert not (dest / "annual-report" / "annual-report.html").exists()
    assert (dest / "strategy" / "strategy.html").is_file()
    assert (dest / "notes-from-the-team.txt").is_file()
    assert "annual-report" not in (dest / "index.html").read_text(encoding="utf-8")


def test_issue_17_point_3_dry_run_shows_the_plan_per_document(library, tmp_path):
    _, out = library
    result = run_cli("publish", str(out), "--to", str(tmp_path / "shared"), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "strategy/: " in result.stdout and "annual-report/: " in result.stdout
    assert "would send strategy/strategy.html" in result.stdout
    assert not (tmp_path / "shared").exists()


def test_issue_17_point_3_an_empty_or_missing_destination_is_a_usage_error(library, tmp_path):
    _, out = library
    for extra in (["--to", ""], ["--to", "  "], []):
        result = run_cli("publish", str(out), *extra, cwd=tmp_path)
        assert result.returncode == 2, (extra, result.stdout, result.stderr)
        assert "--to" in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outputs", "source"], "nothing sent anywhere"


# ---------------------------------------------------------------- point 6: the download page in plain English


def test_issue_17_point_6_the_download_page_speaks_plainly(tmp_path):
    from lxml import html

    master = tmp_path / "doc.md"
    master.write_text(
        "---\ntitle: Short\nlanguage: en-GB\ndate: 2023-10-31\ncontact: the communications team at comms@example.org\n---\n\n"
        "# Short\n\nHello.\n\n## Our aims\n\nTo be brief.\n",
        encoding="utf-8",
    )
    report = build(master, tmp_path / "out", ["braille", "epub", "audio"], cache_dir=tmp_path / "cache")
    assert report.ok, [r.message for r in report.results]
    page = html.parse(str(tmp_path / "out" / "index.html")).getroot()
    text = " ".join(page.text_content().split())
    assert "English (United Kingdom)" in text and "31 October 2023" in text
    assert "Ask the communications team at comms@example.org" in text
    assert "synthetic" in text and "eSpeak NG, voice en-gb" in text
    assert "e-book app" in text and "braille embosser" in text
    assert "text file of braille characters" in text
    links = {a.get("href"): " ".join(a.text_content().split()) for a in page.iter("a")}
    assert links["audio/doc.m3u8"].startswith("Playlist of the sections")
    assert "doc.m3u8" not in links["audio/doc.m3u8"], "the playlist is named for what it is, not its file"
    assert links["audio/02-our-aims.mp3"] == "Our aims" and links["audio/00-about-this-recording.mp3"] == "About this recording"
    for href in links:
        if not href.startswith("#"):
            assert (tmp_path / "out" / href).is_file(), href
    # Without a contact: still a line on how to ask for another format.
    master.write_text(master.read_text(encoding="utf-8").replace("contact: the communications team at comms@example.org\n", ""), encoding="utf-8")
    assert build(master, tmp_path / "out", ["braille"]).ok
    assert "ask whoever sent you this page for another format" in (tmp_path / "out" / "index.html").read_text(encoding="utf-8")


# ---------------------------------------------------------------- point 1: a folder of masters, one catalogue


def test_issue_17_point_1_a_folder_of_two_masters_builds_both_without_collisions(tmp_path):
    source = two_masters(tmp_path / "source")
    (source / "README.md").write_text("Notes for the team, not a document.\n", encoding="utf-8")
    result = run_cli("build", str(source), "-o", str(tmp_path / "outputs"), "-f", "html", "-f", "braille", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "outputs"
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["annual-report", "index.html", "manifest.json", "strategy"]
    for stem in ("strategy", "annual-report"):
        assert sorted(p.name for p in (out / stem).iterdir() if not p.name.startswith(".")) == sorted(
            ["index.html", "manifest.json", f"{stem}.html", f"{stem}.brf", f"{stem}.pef", f"{stem}-braille.txt"]
        )
    import json

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["library"] is True and manifest["documents"] == ["annual-report", "strategy"]


def test_issue_17_point_1_two_masters_of_one_name_are_refused(tmp_path):
    two_masters(tmp_path / "a")
    two_masters(tmp_path / "b")
    result = run_cli("build", str(tmp_path / "a" / "strategy.md"), str(tmp_path / "b" / "strategy.md"), "-o", str(tmp_path / "out"), "-f", "html")
    assert result.returncode == 1 and "would both build into outputs/strategy/" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


def test_issue_17_point_1_the_catalogue_lists_every_document_links_resolve_and_passes_axe(library):
    from urllib.parse import unquote

    from lxml import html

    from formatforge.validate import run_axe_and_layout

    _, out = library
    page = html.parse(str(out / "index.html")).getroot()
    text = " ".join(page.text_content().split())
    for words in ("Our strategy", "Our strategy, in brief.", "Annual report", "31 October 2023", "Braille", "Web page",
                  "any web browser", " KB", "Find documents by format"):
        assert words in text, words
    links = [a.get("href") for a in page.iter("a")]
    assert {"strategy/strategy.html", "annual-report/annual-report.brf", "strategy/index.html"} <= set(links)
    for href in links:
        if href.startswith("#"):
            assert page.get_element_by_id(href[1:]) is not None, href
        else:
            assert (out / unquote(href)).is_file(), href
    # Filtering by format needs no script: a reader jumps to "Braille" and finds every braille file.
    assert not list(page.iter("script"))
    braille = page.get_element_by_id("by-braille").getparent()
    assert {a.get("href") for a in braille.iter("a")} == {"strategy/strategy.brf", "annual-report/annual-report.brf"}
    axe, layout = run_axe_and_layout(out / "index.html")
    assert axe.ran and layout.ran
    assert axe.errors == 0, [str(m) for m in axe.messages if m.severity == "error"]
    assert layout.errors == 0, [str(m) for m in layout.messages if m.severity == "error"]


def test_issue_17_point_1_an_old_single_document_folder_becomes_a_library_without_stale_files(tmp_path):
    from formatforge.library import build_library

    source = two_masters(tmp_path / "source")
    out = tmp_path / "outputs"
    assert build(source / "strategy.md", out, ["html"]).ok  # the layout before libraries
    (out / "notes.txt").write_text("the team's own file")
    assert build_library([source], out, ["html"]).ok
    assert not (out / "strategy.html").exists(), "the old layout's file was ours and is stale"
    assert (out / "strategy" / "strategy.html").is_file() and (out / "notes.txt").is_file()


# ---------------------------------------------------------------- point 2: up to date per document


def test_issue_17_point_2_an_edit_to_one_master_rebuilds_only_that_document(library):
    import json

    from formatforge.library import build_library

    source, out = library
    again = build_library([source], out, ["html", "braille"])
    assert sorted(again.skipped) == ["annual-report", "strategy"] and not again.documents, "nothing read, nothing built"
    untouched = {p: p.stat().st_mtime_ns for p in (out / "annual-report").rglob("*")}
    master = source / "strategy.md"
    master.write_text(master.read_text(encoding="utf-8").replace("title: Our strategy", "title: Our new strategy"), encoding="utf-8")
    edited = build_library([source], out, ["html", "braille"])
    assert list(edited.documents) == ["strategy"] and edited.skipped == ["annual-report"]
    assert {r.status for r in edited.documents["strategy"].results} == {"built"}
    assert {p: p.stat().st_mtime_ns for p in (out / "annual-report").rglob("*")} == untouched
    assert "Our new strategy" in (out / "index.html").read_text(encoding="utf-8"), "the catalogue follows"
    assert json.loads((out / "strategy" / "manifest.json").read_text(encoding="utf-8"))["title"] == "Our new strategy"
    # An output changed by hand is noticed without the master changing.
    (out / "annual-report" / "annual-report.html").write_text("damaged")
    mended = build_library([source], out, ["html", "braille"])
    assert list(mended.documents) == ["annual-report"]
    assert "damaged" not in (out / "annual-report" / "annual-report.html").read_text(encoding="utf-8")
    # New bytes of the same size with the mtime set back (issue 21 point 3): the ctime moved.
    master_before = master.stat()
    master.write_text(master.read_text(encoding="utf-8").replace("Our new strategy", "Our odd strategy"), encoding="utf-8")
    os.utime(master, ns=(master_before.st_atime_ns, master_before.st_mtime_ns))
    assert master.stat().st_size == master_before.st_size
    assert list(build_library([source], out, ["html", "braille"]).documents) == ["strategy"]
    # An image beside the masters changes: every document in the folder is looked at again.
    (source / "images").mkdir()
    (source / "images" / "new.png").write_bytes(b"\x89PNG")
    assert sorted(build_library([source], out, ["html", "braille"]).documents) == ["annual-report", "strategy"]


# ---------------------------------------------------------------- point 7: CI that scales out

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "publish.yml"


def test_issue_17_point_7_the_workflow_matrix_step_lists_the_masters(tmp_path):
    import json
    import re
    import subprocess

    import yaml

    from formatforge.library import masters_in

    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    (step,) = [s for s in workflow["jobs"]["masters"]["steps"] if s.get("id") == "list"]
    command = re.fullmatch(r'echo "matrix=\$\((.+)\)" >> "\$GITHUB_OUTPUT"', step["run"].strip())
    assert command, step["run"]
    assert workflow["jobs"]["build"]["strategy"]["matrix"]["master"] == "${{ fromJSON(needs.masters.outputs.matrix) }}"
    # The same command, in a checkout whose source/ holds two masters and a README.
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    (repo / "scripts" / "list-masters").write_bytes((ROOT / "scripts" / "list-masters").read_bytes())
    two_masters(repo / "source")
    (repo / "source" / "README.md").write_text("notes")
    listed = subprocess.run(["bash", "-c", command.group(1)], cwd=repo, capture_output=True, text=True, check=True).stdout
    matrix = json.loads(listed)
    assert matrix == [{"name": "annual-report", "path": "source/annual-report.md"}, {"name": "strategy", "path": "source/strategy.md"}]
    assert [Path(m["path"]) for m in matrix] == [p.relative_to(repo) for p in masters_in([repo / "source"])]
    # And in this repository, as CI will run it.
    here = subprocess.run(["bash", "-c", command.group(1)], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert {m["name"] for m in json.loads(here)} == {p.stem for p in masters_in([ROOT / "source"])}


def test_issue_17_point_7_the_workflow_is_least_privilege_pinned_and_publishes_once_after_every_job():
    import re

    import yaml

    text = WORKFLOW.read_text(encoding="utf-8")
    workflow = yaml.safe_load(text)
    assert workflow["permissions"] == {"contents": "read"}
    uses = re.findall(r"uses:\s*(\S+)(.*)", text)
    assert uses
    for action, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), f"{action} is not pinned to a full commit SHA"
        assert re.search(r"# v\d+\.\d+\.\d+", comment), f"{action} has no version comment"
    jobs = workflow["jobs"]
    assert jobs["publish"]["needs"] == "build" and "publish" not in str(jobs["build"])
    assert any("actions/cache@" in str(step.get("uses")) for step in jobs["build"]["steps"])
    assert any("formatforge validate" in str(step.get("run")) for step in jobs["build"]["steps"])
    guard = jobs["publish"]["steps"][0]["run"]
    assert 'if [ -z "$PUBLISH_TO" ]' in guard and "exit 1" in guard and "::error::PUBLISH_TO is not set" in guard


def test_issue_17_point_7_documents_built_apart_get_one_catalogue(tmp_path):
    """As the CI's jobs do: each master built on its own into outputs/<name>/, then
    `formatforge catalogue` writes the library's page and manifest over them."""
    source = two_masters(tmp_path / "source")
    for stem in ("strategy", "annual-report"):
        assert build(source / f"{stem}.md", tmp_path / "outputs" / stem, ["html"]).ok
    result = run_cli("catalogue", str(tmp_path / "outputs"))
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "outputs" / "index.html").read_text(encoding="utf-8")
    assert 'href="strategy/strategy.html"' in page and 'href="annual-report/annual-report.html"' in page
    from formatforge.library import library_folders

    assert library_folders(tmp_path / "outputs") == ["annual-report", "strategy"]
    assert run_cli("catalogue", str(tmp_path / "empty")).returncode == 1


# ---------------------------------------------------------------- point 8: a Docker image for running


def test_issue_17_point_8_the_docker_image_runs_as_a_user_without_the_test_toolchain():
    """CI has no container engine (scripts/docker-smoke builds and runs the image where one
    is), so this reads the Dockerfile: every stage on one base, by default an exact tag, the
    runtime stage without the test toolchain, a non-root user, and -u documented."""
    import re

    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    instructions = [line for line in text.splitlines() if line and not line.startswith("#")]
    bases = [line.split()[1] for line in instructions if line.startswith("FROM ")]
    assert len(bases) == 2 and len(set(bases)) == 1
    if bases[0] == "${BASE}":
        # The base is a build argument only so that a machine without a registry can build;
        # what a plain `docker build` uses is its default, declared before the first FROM.
        defaults = [line.split("=", 1)[1] for line in instructions[:instructions.index("FROM ${BASE} AS build")]
                    if line.startswith("ARG BASE=")]
        assert len(defaults) == 1, "ARG BASE=<pinned base> before the first FROM"
        bases = defaults
    assert re.fullmatch(r"debian:bookworm-\d{8}-slim(@sha256:[0-9a-f]{64})?", bases[0]), "pinned by an exact tag or digest"
    runtime = "\n".join(instructions[[i for i, line in enumerate(instructions) if line.startswith("FROM ")][1]:])
    for tool in ("chromium", "default-jre", "openjdk", "nodejs", "npm", "pandoc", "daisy-player", "--test", "pytest", "apt-test"):
        assert tool not in runtime, f"the runtime stage installs {tool}"
    user = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert user and user[-1] not in ("root", "0")
    assert "scripts/requirements/apt.txt" in runtime, "the runtime packages come from the same list as scripts/setup's"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert '-u "$(id -u):$(id -g)"' in readme and '-u "$(id -u):$(id -g)"' in text


# ---------------------------------------------------------------- point 9: preview


def test_issue_17_point_9_preview_serves_rebuilds_and_shows_the_check_over_loopback(tmp_path):
    import re
    import subprocess
    import sys
    import time
    import urllib.request

    source = two_masters(tmp_path / "source")
    log = tmp_path / "preview.log"
    with log.open("w") as handle:
        preview = subprocess.Popen(
            [sys.executable, "-m", "formatforge.cli", "preview", str(source), "-o", str(tmp_path / "outputs"),
             "--port", "0", "--interval", "0.2"],
            stdout=handle, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"http://127\.0\.0\.1:(\d+)/", log.read_text())) and time.monotonic() < deadline:
            assert preview.poll() is None, log.read_text()
            time.sleep(0.1)
        assert found, log.read_text()
        url = found.group(0)

        def get(path: str) -> str:
            with urllib.request.urlopen(url + path, timeout=10) as response:
                return response.read().decode("utf-8")

        def eventually(predicate, what: str) -> None:
            end = time.monotonic() + 60
            while time.monotonic() < end:
                if predicate():
                    return
                time.sleep(0.2)
            raise AssertionError(what + "\n" + log.read_text())

        assert "Our strategy" in get("") and 'href="strategy/strategy.html"' in get("")
        assert "We will do well." in get("strategy/strategy.html")
        master = source / "strategy.md"
        master.write_text(master.read_text(encoding="utf-8").replace("We will do well.", "We will do better."), encoding="utf-8")
        eventually(lambda: "We will do better." in get("strategy/strategy.html"), "the rebuild after a save")
        # A master with an error: the check's message, with file and line, on every page.
        master.write_text(master.read_text(encoding="utf-8").replace("# Our strategy", "### Our strategy"), encoding="utf-8")
        eventually(lambda: "The master has errors" in get("strategy/strategy.html"), "the check's messages on the page")
        page = get("")
        assert re.search(re.escape(str(master)) + r":\d+: error M\d+", page), page
        assert "We will do better." in get("strategy/strategy.html"), "the last good build is still served"
        master.write_text(master.read_text(encoding="utf-8").replace("### Our strategy", "# Our strategy"), encoding="utf-8")
        eventually(lambda: "The master has errors" not in get(""), "the errors go once mended")
        with pytest.raises(urllib.error.HTTPError):
            get(".formatforge-lock")
    finally:
        preview.terminate()
        preview.wait(timeout=10)
    assert preview.returncode is not None


def test_issue_17_point_4_validate_checks_every_document_of_a_library(library, monkeypatch, tmp_path):
    from formatforge.validate import missing, validate_outputs

    monkeypatch.setenv("FORMATFORGE_TOOLS", str(tmp_path / "no-tools"))  # axe "not installed": quick
    _, out = library
    results = validate_outputs(out)
    checked = {(r.file.relative_to(out).as_posix(), r.validator) for r in results}
    assert {("strategy/strategy.brf", "BRF B2 B3"), ("annual-report/annual-report.pef", "PEF B4"),
            ("index.html", "axe-core"), ("strategy/index.html", "axe-core")} <= checked
    assert [r.validator for r in missing(results)] == ["axe-core", "layout"], "each missing validator named once"


def test_issue_17_point_3_a_library_manifest_naming_a_foreign_folder_writes_nothing_there(library, tmp_path):
    """The destination's library manifest lists documents; one it lists that we no longer
    build is emptied only if it has a manifest of ours. A tampered list naming someone
    else's folder changes nothing in it."""
    import json

    from formatforge.publish import publish

    _, out = library
    dest = tmp_path / "shared"
    publish(out, str(dest))
    (dest / "theirs").mkdir()
    (dest / "theirs" / "report.docx").write_text("theirs")
    manifest = json.loads((dest / "manifest.json").read_text(encoding="utf-8"))
    manifest["documents"].append("theirs")
    (dest / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    publish(out, str(dest))
    assert sorted(p.name for p in (dest / "theirs").iterdir()) == ["report.docx"]
    for bad in ("../escape", "a/b", ".hidden"):
        manifest["documents"] = [bad]
        (dest / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        with pytest.raises(Exception, match="documents"):
            publish(out, str(dest))


def test_issue_17_point_1_the_default_source_is_the_source_folder(tmp_path):
    """`formatforge build` with no master (the README's first command, through scripts/build)
    builds every master in source/ into outputs/<name>/."""
    two_masters(tmp_path / "source")
    result = run_cli("build", "-f", "html", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "outputs" / "strategy" / "strategy.html").is_file()
    assert (tmp_path / "outputs" / "annual-report" / "annual-report.html").is_file()
    assert (tmp_path / "outputs" / "index.html").is_file() and not (tmp_path / "outputs" / "strategy.html").exists()
    check = run_cli("check", cwd=tmp_path)
    assert check.returncode == 0 and "source/strategy.md: 0 error(s)" in check.stderr, check.stderr


def test_issue_17_point_1_one_master_is_not_built_over_a_library(library):
    source, out = library
    result = run_cli("build", str(source / "strategy.md"), "-o", str(out), "-f", "html")
    assert result.returncode == 1 and "holds a library of documents" in result.stderr, result.stderr
    assert "Our strategy" in (out / "index.html").read_text(encoding="utf-8") and (out / "annual-report").is_dir()
