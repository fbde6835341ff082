"""Issue 18, the build side: hostile or mistaken input gets one clear error with file:line,
in bounded time, and never reaches a writer; the outputs folder always matches its manifest.

Each test names the point of issue 18 it holds to (S1 images, S4 control characters)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from formatforge.build import CheckFailed, build
from formatforge.errors import SourceError
from formatforge.source_rules import check
from formatforge.reader import read_source

FIXTURES = Path(__file__).parent / "fixtures"
PICTURE = FIXTURES / "images" / "arrow.png"
FRONT = "---\ntitle: T\nlanguage: en-GB\n---\n"


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "formatforge.cli", *args], capture_output=True, text=True, timeout=timeout)


def flat(text: str) -> str:
    return " ".join(text.split())


def master(tmp_path: Path, text: str, name: str = "doc.md") -> Path:
    folder = tmp_path / "source"
    folder.mkdir(exist_ok=True)
    shutil.copy(PICTURE, folder / "pic.png")
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def built_once(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """An outputs folder holding a good build, and its files' contents."""
    good = master(tmp_path, FRONT + "# Title\n\nGood text.\n", "good.md")
    out = tmp_path / "out"
    assert build(good, out, ["html"]).ok
    return out, {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}


# ---------------------------------------------------------------- point 2: the cover


@pytest.mark.parametrize("cover, problem", [
    ("/etc/passwd", "is an absolute path"),
    ("../../../../../../../etc/hostname", "leads outside the source folder"),
    ("notes.txt", "is not a readable image"),
    ("missing.png", "not found"),
])
def test_issue_18_point_2_the_cover_follows_the_image_rules_s1(tmp_path, cover, problem):
    source = master(tmp_path, f"---\ntitle: T\nlanguage: en-GB\ncover: {cover}\n---\n\n# Title\n\nText.\n")
    (source.parent / "notes.txt").write_text("root:x:0:0\n")
    result = run("check", str(source))
    assert result.returncode == 1
    assert f"{source}:4: error S1 cover image {cover!r} {problem}" in flat(result.stderr), result.stderr
    with pytest.raises(CheckFailed) as failed:
        build(source, tmp_path / "out", ["html"])
    assert [(d.rule, d.line) for d in failed.value.diagnostics] == [("S1", 4)]
    assert not (tmp_path / "out").exists()


def test_issue_18_point_2_a_real_cover_inside_the_folder_passes(tmp_path):
    source = master(tmp_path, "---\ntitle: T\nlanguage: en-GB\ncover: pic.png\n---\n\n# Title\n\nText.\n")
    assert check(read_source(source)) == []


# ---------------------------------------------------------------- point 5: control characters


def test_issue_18_point_5_control_characters_are_each_reported_s3_and_never_built(tmp_path):
    text = "---\ntitle: Esc\x1bape\nlanguage: en-GB\n---\n\n# Title\n\nA nul \x00 here.\n\nA del \x7f and a C1 \x85.\n"
    source = master(tmp_path, text)
    result = run("check", str(source))
    assert result.returncode == 1, result.stderr
    stderr = flat(result.stderr)
    assert f"{source}:2: error S4 the control character ESC (escape, U+001B)" in stderr
    assert f"{source}:8: error S4 the control character NUL (null, U+0000)" in stderr
    assert f"{source}:10: error S4 the control character DEL (delete, U+007F)" in stderr
    assert f"{source}:10: error S4 the control character C1 (a C1 control character, U+0085)" in stderr
    assert "Traceback" not in result.stderr

    out, before = built_once(tmp_path)
    manifest = (out / "manifest.json").read_bytes()
    result = run("build", str(source), "-o", str(out), "-f", "html", "-f", "epub", "--quiet")
    assert result.returncode == 1 and "S4" in result.stderr and "Traceback" not in result.stderr
    assert (out / "manifest.json").read_bytes() == manifest, "the outputs are untouched"
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_issue_18_point_5_tab_and_line_ends_are_not_control_characters(tmp_path):
    source = tmp_path / "doc.md"
    source.write_bytes(FRONT.encode() + b"# Title\r\n\r\nA\ttab.\r\n")
    assert check(read_source(source)) == []


# ---------------------------------------------------------------- point 6: wrong types


@pytest.mark.parametrize("line, message", [
    ("keywords: 5", "front matter 'keywords' must be a list of words or phrases"),
    ("keywords: [plain, {nested: map}]", "front matter 'keywords' must be a list of words or phrases"),
    ("title: [1, 2]", "front matter 'title' must be text, not a list"),
    ("title: {nested: map}", "front matter 'title' must be text, not a mapping"),
    ("author: yes", "front matter 'author' must be text, not a yes/no value"),
    ("date: 20240101", "date 20240101 is not an ISO date"),
    ("date: [2024]", "date [2024] is not an ISO date"),
    ("language: [en]", "front matter 'language' must be text"),
])
def test_issue_18_point_6_wrong_front_matter_types_are_one_clear_error(tmp_path, line, message):
    front = FRONT.replace("language: en-GB\n", "language: en-GB\n" + line + "\n") if not line.startswith(("title", "language")) \
        else "---\n" + line + "\n" + ("language: en-GB\n" if line.startswith("title") else "title: T\n") + "---\n"
    source = master(tmp_path, front + "# Title\n\nText.\n")
    number = front.split("\n").index(line) + 1
    for args in (("check", str(source)), ("build", str(source), "-o", str(tmp_path / "out"), "-f", "html", "--quiet")):
        result = run(*args)
        assert result.returncode == 1, result.stderr
        assert f"error: {source}:{number}: {message}" in flat(result.stderr), result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- point 7: bounded front matter


def billion_laughs() -> str:
    lines = ["---", "title: T", "language: en-GB", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
        previous = name
    lines += [f"keywords: *{previous}", "---", "", "# Title", ""]
    return "\n".join(lines)


@pytest.mark.parametrize("front, message, line", [
    (billion_laughs(), "front matter uses a YAML anchor or alias", 4),
    (FRONT.replace("---\n", "---\nkeywords: &k [a]\nmore: *k\n", 1), "front matter uses a YAML anchor or alias", 2),
    (FRONT.replace("---\n", "---\nextra: " + "[" * 5000 + "]" * 5000 + "\n", 1), "nested more than", 2),
    (FRONT.replace("---\n", "---\ndescription: " + "x" * 70_000 + "\n", 1), "front matter is over 64 KB", 2),
])
def test_issue_18_point_7_hostile_front_matter_is_refused_quickly(tmp_path, front, message, line):
    source = master(tmp_path, front + "\n# Title\n")
    began = time.perf_counter()
    with pytest.raises(SourceError) as refused:
        read_source(source)
    assert time.perf_counter() - began < 2
    assert message in refused.value.message and refused.value.line == line


# ---------------------------------------------------------------- point 10: images and dates (build side)


def test_issue_18_point_10_svg_is_refused_s1(tmp_path):
    source = master(tmp_path, FRONT + "# Title\n\n![A drawing of a box](box.svg)\n")
    (source.parent / "box.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    found = [(d.rule, d.line, d.message) for d in check(read_source(source))]
    assert found == [("S1", 7, "image 'box.svg' is an SVG drawing, which can carry scripts into the EPUB "
                                "and DAISY books; export it as PNG and use that")]


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n", b"<html>not a picture</html>", PICTURE.read_bytes()[:60]])
def test_issue_18_point_10_an_unreadable_image_fails_check_s1(tmp_path, content):
    source = master(tmp_path, FRONT + "# Title\n\n![A broken picture](broken.png)\n")
    (source.parent / "broken.png").write_bytes(content)
    result = run("check", str(source))
    assert result.returncode == 1
    assert f"{source}:7: error S1 image 'broken.png' is not a readable image (" in flat(result.stderr), result.stderr


@pytest.mark.parametrize("date", ["2024-02-30", "2024-13-01", "20240101", "1 May 2024", "2024-01-01junk"])
def test_issue_18_point_10_an_impossible_date_is_refused(tmp_path, date):
    source = master(tmp_path, FRONT.replace("language", f"date: {date}\nlanguage") + "# Title\n")
    with pytest.raises(SourceError) as refused:
        read_source(source)
    assert refused.value.line == 3 and "date" in refused.value.message


def test_issue_18_point_10_a_real_date_and_time_keep_the_date(tmp_path):
    source = master(tmp_path, FRONT.replace("language", "date: 2024-02-29T10:00:00\nlanguage") + "# Title\n")
    assert read_source(source).document.metadata.date == "2024-02-29"


# ---------------------------------------------------------------- point 9: LibreOffice


HANGING_OFFICE = """#!/bin/sh
# stands in for soffice: starts a child that outlives it (as soffice.bin does) and hangs
sleep 300 &
echo $! >> "$FAKE_OFFICE_PIDS"
wait
"""

QUICK_OFFICE = """#!/bin/sh
# stands in for soffice: writes the converted file at once
for last; do :; done
outdir=""
while [ $# -gt 0 ]; do [ "$1" = "--outdir" ] && outdir="$2"; shift; done
name=$(basename "$last"); echo "%PDF-1.4" > "$outdir/${name%.*}.pdf"
"""


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")  # a zombie waits only for its reaping


def fake_office(folder: Path, script: str, monkeypatch) -> None:
    folder.mkdir(exist_ok=True)
    path = folder / "soffice"
    path.write_text(script)
    path.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}:/usr/bin:/bin")


def test_issue_18_point_9_a_timed_out_export_stops_all_of_libreoffice_and_the_next_is_not_blocked(tmp_path, monkeypatch):
    from formatforge.errors import WriterError
    from formatforge.shared.libreoffice import convert_with_libreoffice

    pids = tmp_path / "pids"
    monkeypatch.setenv("FAKE_OFFICE_PIDS", str(pids))
    fake_office(tmp_path / "bin", HANGING_OFFICE, monkeypatch)
    source = tmp_path / "doc.docx"
    source.write_bytes(b"not really Word")
    profile = tmp_path / "cache" / "libreoffice-profile"
    began = time.monotonic()
    with pytest.raises(WriterError) as stopped:
        convert_with_libreoffice(source, tmp_path / "pdf", timeout=1, profile_dir=profile)
    assert time.monotonic() - began < 10
    assert stopped.value.message == "the PDF export took longer than 1 s; LibreOffice was stopped"
    assert "soffice" not in str(stopped.value) and "-env:" not in str(stopped.value)
    (child,) = [int(line) for line in pids.read_text().split()]
    deadline = time.monotonic() + 5
    while running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running(child), "the process LibreOffice started is stopped with it"

    fake_office(tmp_path / "bin", QUICK_OFFICE, monkeypatch)
    began = time.monotonic()
    assert convert_with_libreoffice(source, tmp_path / "pdf", timeout=30, profile_dir=profile).is_file()
    assert time.monotonic() - began < 10


def test_issue_18_point_9_a_libreoffice_left_by_a_killed_build_is_stopped(tmp_path, monkeypatch):
    from formatforge.shared.libreoffice import convert_with_libreoffice

    pids = tmp_path / "pids"
    monkeypatch.setenv("FAKE_OFFICE_PIDS", str(pids))
    fake_office(tmp_path / "bin", HANGING_OFFICE, monkeypatch)
    profile = tmp_path / "cache" / "libreoffice-profile"
    profile.parent.mkdir()
    # what a build killed during the export leaves: LibreOffice running, its group recorded
    leftover = subprocess.Popen([str(tmp_path / "bin" / "soffice")], start_new_session=True)
    profile.with_name(profile.name + ".pgid").write_text(str(leftover.pid))
    fake_office(tmp_path / "bin", QUICK_OFFICE, monkeypatch)
    source = tmp_path / "doc.docx"
    source.write_bytes(b"not really Word")
    assert convert_with_libreoffice(source, tmp_path / "pdf", timeout=30, profile_dir=profile).is_file()
    assert leftover.wait(timeout=5) is not None


# ---------------------------------------------------------------- point 10: the speech cache


def test_issue_18_point_10_forged_and_foreign_speech_cache_entries_are_skipped(tmp_path):
    import hashlib
    import os
    import threading

    from formatforge.shared.speech.cache import SpeechCache, open_regular
    from formatforge.shared.speech.engines import Speech

    cache = SpeechCache(tmp_path / "cache")
    keys = {name: hashlib.sha256(name.encode()).hexdigest() for name in ("empty", "garbage", "rate0", "odd", "fifo", "link", "good")}
    for name, key in keys.items():
        path = cache._entries.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "garbage": os.urandom(100),
            "rate0": (0).to_bytes(4, "little") + b"\0\0" * 50,  # a good digest over a sample rate of 0
            "odd": (22050).to_bytes(4, "little") + b"\0" * 7,
        }.get(name)
        if name == "empty":
            path.write_bytes(b"")
        elif name == "fifo":
            os.mkfifo(path)
        elif name == "link":
            path.symlink_to("/dev/zero")
        elif name == "good":
            cache.put(key, Speech(b"\x01\x00" * 10, 22050))
        elif name == "garbage":
            path.write_bytes(payload)
        else:
            path.write_bytes(hashlib.sha256(payload).digest() + payload)

    answers: dict[str, object] = {}
    reader = threading.Thread(target=lambda: answers.update({name: cache.get(key) for name, key in keys.items()}), daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert not reader.is_alive(), "reading the cache hung"
    assert {name for name, speech in answers.items() if speech is not None} == {"good"}
    assert answers["good"].sample_rate == 22050
    for name in ("fifo", "link", "rate0", "empty"):
        assert not os.path.lexists(cache._entries.path(keys[name])), f"the {name} entry is cleared, to be made again"
    with pytest.raises(OSError):
        open_regular(tmp_path)  # a folder is no entry either


def test_issue_18_point_10_a_cache_folder_that_is_a_file_is_said_up_front(tmp_path):
    source = master(tmp_path, FRONT + "# Title\n\nText.\n")
    (tmp_path / "cache").write_text("a file")
    result = run("build", str(source), "-o", str(tmp_path / "out"), "-f", "audio", "--cache-dir", str(tmp_path / "cache"), "--quiet")
    assert result.returncode == 1
    assert f"the cache folder {tmp_path / 'cache'} is a file" in flat(result.stderr), result.stderr
    assert "crashed" not in result.stderr and "Traceback" not in result.stderr


# ---------------------------------------------------------------- point 10: ids


def test_issue_18_point_10_a_heading_never_takes_a_writer_s_own_id(tmp_path):
    from collections import Counter

    from lxml import html as lxml_html

    from conftest import write_format

    source = master(tmp_path, FRONT + "# Title {: #main}\n\nText with a note.[^1]\n\n## Fn 1\n\nAgain.[^1]\n\n"
                                      "## Contents {: #toc}\n\n## Fnref 1 2\n\n[^1]: The note.\n")
    document = read_source(source).document
    ids = [block.id for block in document.blocks if hasattr(block, "id")]
    assert not {"main", "toc", "fn-1", "fnref-1-2"} & set(ids), ids
    page = write_format("html", document, tmp_path / "html")["doc.html"]
    every_id = Counter(el.get("id") for el in lxml_html.parse(str(page)).getroot().iter() if el.get("id"))
    assert [name for name, count in every_id.items() if count > 1] == []
    assert check(read_source(source)) == []


# ---------------------------------------------------------------- point 8: the outputs folder and its manifest


TWO_SLOW_FORMATS = """
import sys, time
from formatforge.build import build
from formatforge.formats import Writer, register

def slow(format_name, files, pause):
    class Slow(Writer):
        name = format_name
        summary = "writes slowly"
        lane = format_name
        def output_names(self, document, options):
            return files
        def write(self, context):
            for relative in files:
                with context.path(relative).open("w") as out:
                    for n in range(20):
                        out.write(f"{relative} build {sys.argv[3]} line {n}\\n")
                        out.flush()
                        time.sleep(pause)
            return files
    register(Slow)

slow("test-a", ["a1.txt", "a2.txt"], 0.01)
slow("test-b", ["b1.txt", "sub/b2.txt"], 0.015)
print("started", flush=True)
build(sys.argv[1], sys.argv[2], sys.argv[4].split(","), force=True)
"""


def start_build(src: Path, out: Path, generation: int, formats: str = "test-a,test-b") -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", TWO_SLOW_FORMATS, str(src), str(out), str(generation), formats],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def mismatches(out: Path, pending_allowed: bool) -> list[str]:
    """Files the manifest names that are not what it says (or, while a commit is pending
    in the journal, what the journal's manifest says)."""
    manifest = json.loads((out / "manifest.json").read_text())
    pending = {}
    journal = out / ".formatforge-journal.json"
    if pending_allowed and journal.exists():
        pending = {f["path"]: f["sha256"] for f in json.loads(json.loads(journal.read_text())["manifest"])["files"]}
    wrong = []
    for entry in manifest["files"]:
        path = out / entry["path"]
        actual = sha256(path) if path.is_file() else "missing"
        if actual != entry["sha256"] and actual != pending.get(entry["path"]):
            wrong.append(f"{entry['path']}: {actual[:12]} is not {entry['sha256'][:12]}")
    return wrong


def test_issue_18_point_8_two_builds_at_once_both_land_in_the_manifest(tmp_path):
    src = master(tmp_path, FRONT + "# Title\n\nText.\n")
    out = tmp_path / "out"
    first, second = start_build(src, out, 1, "test-a"), start_build(src, out, 2, "test-b")
    for process in (first, second):
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert {"test-a", "test-b", "download-page"} <= set(manifest["formats"])
    assert {f["path"] for f in manifest["files"]} >= {"a1.txt", "a2.txt", "b1.txt", "sub/b2.txt", "index.html"}
    assert mismatches(out, pending_allowed=False) == []
    assert ".formatforge-lock" not in {f["path"] for f in manifest["files"]}


def test_issue_18_point_8_a_second_build_that_cannot_wait_says_so(tmp_path):
    from formatforge.build import outputs_lock
    from formatforge.errors import FormatforgeError

    src = master(tmp_path, FRONT + "# Title\n\nText.\n")
    out = tmp_path / "out"
    out.mkdir()
    with outputs_lock(out):
        began = time.monotonic()
        with pytest.raises(FormatforgeError) as refused:
            build(src, out, ["html"], lock_wait=0.5)
        assert time.monotonic() - began < 5
    assert f"another build is writing {out}/ (process {__import__('os').getpid()})" in str(refused.value)
    assert not (out / "manifest.json").exists()
    assert build(src, out, ["html"]).ok


def test_issue_18_point_8_a_build_killed_at_any_moment_leaves_the_folder_matching_its_manifest(tmp_path):
    import signal

    src = master(tmp_path, FRONT + "# Title\n\nText.\n")
    out = tmp_path / "out"
    first = start_build(src, out, 0)
    assert first.communicate(timeout=120)[0].strip() == "started" and first.returncode == 0
    for generation, delay in enumerate([0.3, 0.55, 0.8, 1.05, 0.15], start=1):
        process = start_build(src, out, generation)
        assert process.stdout.readline().strip() == "started"
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert mismatches(out, pending_allowed=True) == [], f"after a kill {delay} s in"
    last = start_build(src, out, 99)
    assert last.communicate(timeout=120)[1] == "" and last.returncode == 0
    assert mismatches(out, pending_allowed=False) == []
    assert "build 99" in (out / "sub" / "b2.txt").read_text()
    assert not list(out.glob(".staging-*")) and not (out / ".formatforge-journal.json").exists()


@pytest.mark.parametrize("formats", [
    [1], {"html": {"files": [1]}}, {"html": {"key": "x", "files": {"../../outside.txt": {"size": 1, "sha256": "0"}}}},
    {"html": {"key": "x", "files": {"doc.html": "not a mapping"}}}, "text",
])
def test_issue_18_point_6_a_hand_edited_outputs_manifest_costs_a_rebuild_not_a_crash(tmp_path, formats):
    out, _ = built_once(tmp_path)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["formats"] = formats
    (out / "manifest.json").write_text(json.dumps(manifest))
    report = build(tmp_path / "source" / "good.md", out, ["html"])
    assert [r.status for r in report.results] == ["built"]
    assert mismatches(out, pending_allowed=False) == []


def test_issue_18_point_8_a_half_done_step_is_finished_before_the_folder_is_read(tmp_path):
    """What a build killed between its renames and its manifest leaves (a journal, staged
    files) is finished by the next build or by a reader that settles the folder first."""
    from formatforge.build import settled_outputs

    out, _ = built_once(tmp_path)
    manifest = json.loads((out / "manifest.json").read_text())
    staged = out / ".staging-99999999-html-x"
    staged.mkdir()
    (staged / "good.html").write_text("the new page")
    entry = next(f for f in manifest["files"] if f["path"] == "good.html")
    entry["sha256"], entry["size"] = sha256(staged / "good.html"), len("the new page")
    (out / ".formatforge-journal.json").write_text(json.dumps({
        "moves": [[".staging-99999999-html-x/good.html", "good.html"], ["../escape.txt", "../../escape.txt"]],
        "manifest": json.dumps(manifest),
    }))
    assert mismatches(out, pending_allowed=False) == []  # the old manifest, the old files
    with settled_outputs(out):
        assert (out / "good.html").read_text() == "the new page"
        assert mismatches(out, pending_allowed=False) == []
    assert not staged.exists() and not (out / ".formatforge-journal.json").exists()
    assert not (tmp_path / "escape.txt").exists()
