"""The command line: exit codes 0/1/2, readable errors with file:line, never a traceback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

FRONT = "---\ntitle: T\nlanguage: en-GB\n---\n"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "formatforge.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def test_check_clean_source_exits_0(tmp_path):
    source = tmp_path / "ok.md"
    source.write_text(FRONT + "# Title\n\nText.\n", encoding="utf-8")
    result = run("check", str(source))
    assert result.returncode == 0, result.stderr
    assert "0 error(s)" in result.stderr


def test_check_reports_rule_and_line_and_exits_1(tmp_path):
    source = tmp_path / "bad.md"
    source.write_text(FRONT + "# Title\n\n### Skipped a level\n", encoding="utf-8")
    result = run("check", str(source))
    assert result.returncode == 1
    assert f"{source}:7: error M1" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


def test_build_of_bad_source_exits_1_and_writes_nothing(tmp_path):
    source = tmp_path / "bad.md"
    source.write_text(FRONT + "## No title\n", encoding="utf-8")
    out = tmp_path / "out"
    result = run("build", str(source), "-o", str(out), "-f", "docx", "--quiet")
    assert result.returncode == 1
    assert "M2" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_unreadable_source_is_one_clear_line(tmp_path):
    source = tmp_path / "latin1.md"
    source.write_bytes(FRONT.encode() + b"# Caf\xe9\n")
    result = run("build", str(source), "-o", str(tmp_path / "out"), "--quiet")
    assert result.returncode == 1
    assert "not valid UTF-8 at byte offset" in result.stderr and "Traceback" not in result.stderr


def test_missing_source_file(tmp_path):
    result = run("build", str(tmp_path / "nope.md"), "-o", str(tmp_path / "out"), "--quiet")
    assert result.returncode == 1 and "source file not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_format_is_a_usage_error(tmp_path):
    result = run("build", "-f", "pdf-of-doom", "-o", str(tmp_path / "out"))
    assert result.returncode == 2 and "unknown format" in result.stderr


def test_bad_option_is_a_usage_error():
    assert run("build", "--cells", "nonsense").returncode == 2
    assert run("no-such-command").returncode == 2


def test_formats_lists_every_format():
    result = run("formats")
    assert result.returncode == 0
    for name in ("docx", "epub", "html", "braille", "audio"):
        assert name in result.stdout


def test_version():
    result = run("--version")
    assert result.returncode == 0 and result.stdout.startswith("formatforge ")


def test_the_version_is_written_once_and_shown_from_a_source_checkout():
    """Issue 19 point 9: pyproject.toml reads formatforge.__version__ rather than repeating it;
    this run imports the package from src/ (PYTHONPATH), installed or not."""
    import tomllib

    import formatforge

    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "formatforge.__version__"}
    assert run("--version").stdout.split() == ["formatforge", formatforge.__version__]


def test_publish_before_building_is_a_clear_error(tmp_path):
    result = run("publish", str(tmp_path / "empty"), "--to", str(tmp_path / "drive"))
    assert result.returncode == 1 and "build before publishing" in result.stderr
    assert "Traceback" not in result.stderr


def test_publish_dry_run_lists_and_changes_nothing(tmp_path):
    source = tmp_path / "doc.md"
    source.write_text(FRONT + "# Title\n\nText.\n", encoding="utf-8")
    assert run("build", str(source), "-o", str(tmp_path / "out"), "-f", "html", "--quiet").returncode == 0
    result = run("publish", str(tmp_path / "out"), "--to", str(tmp_path / "drive"), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would send doc.html" in result.stdout and "would send index.html" in result.stdout
    assert not (tmp_path / "drive").exists()


def test_progress_is_shown_per_format_while_a_build_works(tmp_path):
    """In a terminal, each format gets a bar that ends with its status (tmux is a real one)."""
    import shutil as _shutil
    import time as _time

    assert _shutil.which("tmux"), "tmux is installed by scripts/setup --test"
    source = tmp_path / "doc.md"
    source.write_text(FRONT + "# Title\n\nText.\n", encoding="utf-8")
    session = f"ff-progress-{tmp_path.name}"[:40]
    command = f"{sys.executable} -m formatforge.cli build {source} -o {tmp_path / 'out'} -f html -f braille; sleep 30"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "40", command], check=True)
    try:
        screen = ""
        deadline = _time.monotonic() + 60
        while _time.monotonic() < deadline and "braille: built" not in screen:
            _time.sleep(0.3)
            screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    assert "html: built" in screen and "braille: built" in screen, screen


def test_fast_exit_keeps_exit_status_output_and_exit_handlers(tmp_path):
    """``leave`` skips the interpreter's teardown but not what an exit must do: buffered
    output reaches the pipe, exit handlers run, and the status is what sys.exit gives."""
    marker = tmp_path / "handler-ran"
    program = (
        "import atexit, sys\n"
        "from formatforge.cli import leave\n"
        f"atexit.register(lambda: open({str(marker)!r}, 'w').close())\n"
        "sys.stdout.write('buffered output')\n"
        "leave(sys.argv[1] if sys.argv[1] != 'none' else None) if not sys.argv[1].isdigit() else leave(int(sys.argv[1]))\n"
    )
    for argument, status, stderr in (("3", 3, ""), ("none", 0, ""), ("a message", 1, "a message")):
        marker.unlink(missing_ok=True)
        # buffered as a pipe normally is, so that a missing flush would lose the output
        environment = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
        result = subprocess.run([sys.executable, "-c", program, argument], capture_output=True, text=True,
                                env=environment)
        assert result.returncode == status
        assert result.stdout == "buffered output"
        assert result.stderr.strip() == stderr
        assert marker.exists()


# ---------------------------------------------------------------- lazy start-up (issue 21 point 7)

HEAVY = ("lxml", "docx", "numpy", "onnxruntime", "PIL")


def modules_after(*args: str, cwd: Path | None = None) -> set[str]:
    """The modules a command has imported when it ends (the command run in-process in a new
    interpreter, its exit caught before formatforge's own quick exit)."""
    probe = (
        "import sys\n"
        "sys.argv = ['formatforge', *sys.argv[1:]]\n"
        "from formatforge.cli import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, cwd=cwd, timeout=120)
    return {line for line in result.stderr.splitlines() if line and " " not in line}


def loaded_writers(loaded: set[str]) -> set[str]:
    """The writer modules among ``loaded``: the registry (``formatforge.formats`` and its light
    ``option_specs``, from which the flags are made) may load, a writer may not."""
    from formatforge.formats import BUILTIN_FORMATS

    return {name for name in loaded for module in BUILTIN_FORMATS.values()
            if name == f"formatforge.formats.{module}" or name.startswith(f"formatforge.formats.{module}.")}


def test_issue_21_version_imports_none_of_the_build_chain():
    loaded = modules_after("--version")
    assert "formatforge" in loaded
    assert not {name for name in loaded if name.split(".")[0] in HEAVY}
    assert not {"formatforge.build", "formatforge.reader", "formatforge.model", "rich"} & loaded
    assert not loaded_writers(loaded)


def test_issue_21_check_imports_no_writer_and_no_build(tmp_path):
    source = tmp_path / "ok.md"
    source.write_text(FRONT + "# Title\n\nText.\n", encoding="utf-8")
    loaded = modules_after("check", str(source))
    assert "formatforge.reader" in loaded
    assert not {name for name in loaded if name.split(".")[0] in HEAVY}
    assert not {"formatforge.build", "formatforge.download_page"} & loaded
    assert not loaded_writers(loaded)


def test_issue_21_1_the_build_says_how_many_audio_units_an_edit_encoded(tmp_path):
    """The summary under the build's table counts the units encoded and reused: all at
    first, then only the edited paragraph's unit (and the opening's, which says the length)."""
    source = tmp_path / "units.md"
    text = ("---\ntitle: Units\nlanguage: en-GB\n---\n\n# Units\n\n"
            "The first paragraph is long enough to be a unit of its own, said in one breath.\n\n"
            "The second paragraph is also long enough to be a unit of its own, said slowly.\n\n"
            "The third paragraph closes the book, again long enough to be a unit on its own.\n")
    source.write_text(text, encoding="utf-8")
    command = ("build", str(source), "-o", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"),
               "-f", "audio", "--engine", "espeak")
    first = run(*command)
    assert first.returncode == 0, first.stderr
    counts = re.search(r"audio: (\d+) of (\d+) audio units encoded, 0 reused", first.stdout)
    assert counts and counts[1] == counts[2], first.stdout
    source.write_text(text.replace("said slowly", "said very slowly"), encoding="utf-8")
    second = run(*command)
    assert second.returncode == 0, second.stderr
    edited = re.search(r"audio: (\d+) of (\d+) audio units encoded, (\d+) reused", second.stdout)
    assert edited and 1 <= int(edited[1]) <= 2 and int(edited[3]) >= int(edited[2]) - 2, second.stdout
