"""Writer options declared once (issue 19 point 4), and the cache folder (point 5).

Each writer's options are one declaration (``formatforge.options.Option``) from which the
command line's flags, the defaults, the checking of a value and the cache key all come; a
writer that reads an option it did not declare fails instead of reusing stale output.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from formatforge import formats
from formatforge.build import build
from formatforge.cache_folder import CacheFolderError, default_cache_dir, usable_cache_dir
from formatforge.formats import BUILTIN_FORMATS, BuildContext, Writer, get_writer
from formatforge.formats.option_specs import BUILTIN_OPTIONS
from formatforge.options import Option, OptionError, UndeclaredOption, WriterOptions

FRONT = "---\ntitle: T\nlanguage: en-GB\n---\n"
FIXTURES = Path(__file__).parent / "fixtures"
WRITES: list[int] = []


class SizedWriter(Writer):
    """Writes its declared size; with ``peek`` set it also reads an option it never declared."""

    name = "test-sized"
    summary = "a test format with one option"
    options = (Option("test.size", int, 3, "How many stars.", minimum=1),)
    peek = ""

    def output_names(self, document, options):
        return [f"{document.stem}.stars"]

    def write(self, context: BuildContext) -> list[str]:
        WRITES.append(context.option("test.size"))
        if self.peek:
            context.option(self.peek)
        name = self.output_names(context.document, context.options)[0]
        context.path(name).write_text("*" * context.option("test.size"))
        return [name]


@pytest.fixture(autouse=True)
def sized_writer():
    formats.register(SizedWriter)
    WRITES.clear()
    yield
    formats._REGISTRY.pop(SizedWriter.name, None)
    SizedWriter.peek = ""


def master(tmp_path: Path, body: str = "# Title\n\nText.\n") -> Path:
    path = tmp_path / "doc.md"
    path.write_text(FRONT + body, encoding="utf-8")
    return path


def run(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "formatforge.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def flat(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------- one declaration, every use


def test_a_writer_reading_an_option_it_did_not_declare_fails_the_build(tmp_path):
    """The stale-output bug: an option missing from the cache key would let a changed value
    reuse the old output. Reading it now fails, naming the option."""
    SizedWriter.peek = "test.colour"
    report = build(master(tmp_path), tmp_path / "out", ["test-sized"])
    (result,) = report.results
    assert result.status == "failed"
    assert "'test.colour' is read but not declared" in result.message
    with pytest.raises(UndeclaredOption):
        WriterOptions(SizedWriter.options, {"test.colour": "red"}).get("test.colour")


def test_the_cache_key_is_the_declared_options_with_their_defaults(tmp_path):
    source, out = master(tmp_path), tmp_path / "out"
    build(source, out, ["test-sized"], {"test.size": 2})
    build(source, out, ["test-sized"], {"test.size": 2, "braille.cells": 20})  # another format's option
    assert WRITES == [2]
    build(source, out, ["test-sized"], {"test.size": 5})
    assert WRITES == [2, 5] and (out / "doc.stars").read_text() == "*****"
    build(source, out, ["test-sized"], {"test.size": 3})
    build(source, out, ["test-sized"], {})  # the default is 3: the same output, not built again
    assert WRITES == [2, 5, 3]


def test_a_value_the_option_does_not_take_fails_that_format_in_plain_words(tmp_path):
    report = build(master(tmp_path), tmp_path / "out", ["test-sized", "braille"],
                   {"test.size": "many", "braille.profile": "loose"})
    messages = {r.name: (r.status, r.message) for r in report.results}
    assert messages["test-sized"] == ("failed", "test.size must be a whole number, not 'many'")
    assert messages["braille"] == ("failed", "braille.profile must be one of ukaaf, bana, not 'loose'")
    with pytest.raises(OptionError, match="at least 1"):
        WriterOptions(SizedWriter.options, {"test.size": 0})


def test_every_builtin_writer_declares_what_the_command_line_offers():
    for name in BUILTIN_FORMATS:
        assert get_writer(name).options == BUILTIN_OPTIONS[name], name
    # large print's size is one declaration for both large-print writers, its default 18 pt (L1)
    assert get_writer("large-print").options == get_writer("large-print-pdf").options
    assert {o.name: o.default for o in BUILTIN_OPTIONS["large-print"]} == {"large_print.size": 18}


def command_flags(command: str) -> set[str]:
    import typer.main

    from formatforge.cli import app

    click_command = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    return {flag for param in click_command.params for flag in [*param.opts, *param.secondary_opts]}


@pytest.mark.parametrize("command", ["build", "watch", "preview"])
def test_every_declared_option_is_a_flag_of_build_watch_and_preview(command):
    flags = command_flags(command)
    declared = {o.name: o for options in BUILTIN_OPTIONS.values() for o in options}
    assert {"epub.split_level", "audio.workers", "braille.table", "braille.producer"} <= set(declared)
    missing = [name for name, option in declared.items() if not set(option.cli_flags) <= flags]
    assert missing == []
    # The flag names the README and the tests use keep working.
    assert {"--grade", "--cells", "--lines", "--profile", "--braille-table", "--interpoint", "--duplex",
            "--volume-pages", "--engine", "--voice", "--voice-file", "--rate", "--bitrate", "--point-size"} <= flags


def test_a_flag_reaches_its_writer_and_a_bad_value_is_a_usage_error(tmp_path):
    """epub.split_level could not be set from the command line before."""
    source = master(tmp_path, "# Title\n\n## One\n\nText.\n\n### Deeper\n\nMore.\n\n## Two\n\nText.\n")
    documents = {}
    for level in ("1", "3"):
        result = run("build", str(source), "-o", str(tmp_path / level), "-f", "epub", "--epub-split-level", level, "-q")
        assert result.returncode == 0, result.stderr
        with zipfile.ZipFile(tmp_path / level / "doc.epub") as book:
            documents[level] = [n for n in book.namelist() if n.endswith(".xhtml") and "nav" not in n]
    assert len(documents["1"]) < len(documents["3"])
    bad = run("build", str(source), "-o", str(tmp_path / "bad"), "-f", "braille", "--profile", "loose")
    assert bad.returncode == 2 and "loose" in bad.stderr and "Traceback" not in bad.stderr


def test_watch_builds_with_the_format_flags(tmp_path):
    """`watch` passed no options, so it ignored the format flags (issue 19 point 5)."""
    source = master(tmp_path, "# Title\n\n" + "A sentence long enough to run over a short braille line. " * 4 + "\n")
    brf = tmp_path / "out" / "doc.brf"
    watcher = subprocess.Popen(
        [sys.executable, "-m", "formatforge.cli", "watch", str(source), "-o", str(tmp_path / "out"), "-f", "braille",
         "--cells", "20", "--interval", "0.2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not brf.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        lines = brf.read_bytes().replace(b"\f", b"").split(b"\r\n")
        assert max(len(line) for line in lines) == 20
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)


# ---------------------------------------------------------------- the cache folder


def test_the_default_cache_is_the_users_cache_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "formatforge"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")  # as the XDG specification says
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "formatforge"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "formatforge"


def test_a_build_without_cache_dir_uses_the_users_cache_folder(tmp_path):
    """Not a folder beside the master's folder (for ~/report.md that was /home/...)."""
    (tmp_path / "docs").mkdir()
    source = master(tmp_path / "docs")
    result = run("build", str(source), "-o", str(tmp_path / "out"), "-f", "large-print-pdf", "-q",
                 env={"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice is not installed")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "xdg" / "formatforge" / "libreoffice-profile").is_dir()
    assert not (tmp_path / ".formatforge-cache").exists()


UNWRITABLE = Path("/sys/formatforge-test-cache")  # even root may not make a folder here


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux's /sys")
@pytest.mark.parametrize("fmt", ["audio", "large-print-pdf"])
def test_an_unwritable_cache_is_reported_up_front_as_a_cache_problem(tmp_path, fmt):
    """It failed as "the espeak speech engine crashed" (audio) and "Operation not permitted"
    with a LibreOffice path (the PDF)."""
    out = tmp_path / "out"
    result = run("build", str(master(tmp_path)), "-o", str(out), "-f", fmt, "-q", env={"XDG_CACHE_HOME": str(UNWRITABLE)})
    message = flat(result.stderr)
    assert result.returncode == 1
    assert f"cannot use the cache folder {UNWRITABLE / 'formatforge'}: operation not permitted" in message
    assert "--cache-dir" in message and "crashed" not in message and "Traceback" not in message
    assert not list(out.glob("doc*"))  # nothing was built


def test_a_cache_folder_that_cannot_be_made_is_said_and_formats_without_a_cache_still_build(tmp_path):
    (tmp_path / "a-file").write_text("")
    beneath_a_file = tmp_path / "a-file" / "cache"
    with pytest.raises(CacheFolderError, match="cannot use the cache folder .*: not a directory; give --cache-dir"):
        usable_cache_dir(beneath_a_file)
    report = build(master(tmp_path), tmp_path / "out", ["html"], cache_dir=beneath_a_file)
    assert report.ok  # HTML keeps nothing in the cache, so it is not asked for
    assert usable_cache_dir(tmp_path / "new" / "cache").is_dir()


def test_the_command_line_reads_the_declarations_without_loading_a_writer():
    """The flags come from light declaration modules: importing the speech writers alone
    took seconds (numpy, scipy, onnxruntime), which a Word build must never pay."""
    probe = ("import sys, formatforge.cli; print(sorted(m for m in sys.modules if m.startswith("
             "('formatforge.formats.', 'formatforge.shared.', 'numpy', 'louis', 'docx'))))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True).stdout
    assert ast.literal_eval(loaded) == ["formatforge.formats.option_specs", "formatforge.shared.speech", "formatforge.shared.speech.options"]
