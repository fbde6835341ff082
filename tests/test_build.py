"""The build runner: skips what is up to date, stages and renames, and never half-writes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from formatforge.build import build
from formatforge.errors import FormatforgeError
from formatforge import formats
from formatforge.formats import BuildContext, Writer
from formatforge.model import document_text
from formatforge.options import Option
from formatforge.reader import read_source

FRONT = "---\ntitle: T\nlanguage: en-GB\n---\n"
CALLS: list[str] = []


TEST_WRITERS: list[type[Writer]] = []


def only_in_these_tests(cls: type[Writer]) -> type[Writer]:
    TEST_WRITERS.append(cls)
    return cls


@pytest.fixture(autouse=True)
def registered_test_writers():
    """The test writers exist only while this module's tests run, so that no other test's
    build of "every format" picks them up."""
    for cls in TEST_WRITERS:
        formats.register(cls)
    yield
    for cls in TEST_WRITERS:
        formats._REGISTRY.pop(cls.name, None)


@only_in_these_tests
class EchoWriter(Writer):
    """Writes the document's text; counts its calls."""

    name = "test-echo"
    summary = "a test format"

    def output_names(self, document, options):
        return [f"{document.stem}.txt"]

    def write(self, context: BuildContext) -> list[str]:
        CALLS.append(context.document.stem)
        name = self.output_names(context.document, context.options)[0]
        context.path(name).write_text(document_text(context.document), encoding="utf-8")
        return [name]


@only_in_these_tests
class BrokenWriter(Writer):
    name = "test-broken"
    summary = "a format whose writer fails half-way"

    def output_names(self, document, options):
        return [f"{document.stem}.broken"]

    def write(self, context: BuildContext) -> list[str]:
        context.path(f"{context.document.stem}.broken").write_text("half")
        raise RuntimeError("the writer crashed")


def source(tmp_path: Path, body: str = "# Title\n\nFirst text.\n") -> Path:
    path = tmp_path / "doc.md"
    path.write_text(FRONT + body, encoding="utf-8")
    return path


def test_unchanged_rebuild_does_no_writer_work(tmp_path):
    src, out = source(tmp_path), tmp_path / "out"
    CALLS.clear()
    first = build(src, out, ["test-echo"])
    second = build(src, out, ["test-echo"])
    assert [r.status for r in first.results] == ["built"]
    assert [r.status for r in second.results] == ["up to date"]
    assert CALLS == ["doc"]


def test_an_edit_rebuilds(tmp_path):
    src, out = source(tmp_path), tmp_path / "out"
    build(src, out, ["test-echo"])
    source(tmp_path, "# Title\n\nEdited text.\n")
    report = build(src, out, ["test-echo"])
    assert report.results[0].status == "built"
    assert "Edited text." in (out / "doc.txt").read_text()


def test_a_changed_output_is_rebuilt(tmp_path):
    src, out = source(tmp_path), tmp_path / "out"
    build(src, out, ["test-echo"])
    (out / "doc.txt").write_text("tampered")
    assert build(src, out, ["test-echo"]).results[0].status == "built"
    assert (out / "doc.txt").read_text().startswith("Title")


def test_manifest_lists_every_file_with_its_hash(tmp_path):
    src, out = source(tmp_path), tmp_path / "out"
    build(src, out, ["test-echo"])
    manifest = json.loads((out / "manifest.json").read_text())
    entry, page = manifest["files"]
    import hashlib

    assert entry["path"] == "doc.txt" and entry["format"] == "test-echo"
    assert page["path"] == "index.html" and page["format"] == "download-page"
    assert entry["sha256"] == hashlib.sha256((out / "doc.txt").read_bytes()).hexdigest()
    assert manifest["source"]["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()


def test_a_failing_writer_leaves_previous_outputs_and_other_formats_build(tmp_path):
    src, out = source(tmp_path), tmp_path / "out"
    (out).mkdir()
    (out / "doc.broken").write_text("the previous complete file")
    report = build(src, out, ["test-broken", "test-echo"])
    statuses = {r.name: (r.status, r.message) for r in report.results}
    assert statuses["test-broken"][0] == "failed" and "the writer crashed" in statuses["test-broken"][1]
    assert statuses["test-echo"][0] == "built"
    assert (out / "doc.broken").read_text() == "the previous complete file"
    assert not [p for p in out.iterdir() if p.name.startswith(".staging")]


def test_a_read_only_output_folder_is_a_clear_error_and_keeps_previous_outputs(tmp_path, monkeypatch):
    src, out = source(tmp_path), tmp_path / "out"
    build(src, out, ["test-echo"])
    before = (out / "doc.txt").read_bytes()
    source(tmp_path, "# Title\n\nChanged.\n")

    # Tests run as root here, which ignores permission bits, so the refusal comes at the rename.
    def refuse(source, target):
        raise OSError(30, "Read-only file system", str(target))

    monkeypatch.setattr("formatforge.build.os.replace", refuse)
    with pytest.raises(FormatforgeError) as caught:
        build(src, out, ["test-echo"])
    assert "Read-only file system" in str(caught.value)
    assert (out / "doc.txt").read_bytes() == before
    assert sorted(p.name for p in out.iterdir() if p.name not in (".formatforge-lock", ".formatforge-state.json")) == ["doc.txt", "index.html", "manifest.json"]


SLOW_BUILD = """
import sys, time
from formatforge.build import build
from formatforge.formats import Writer, register

@register
class Slow(Writer):
    name = "test-slow"
    summary = "writes slowly"
    def output_names(self, document, options):
        return ["big.txt"]
    def write(self, context):
        with context.path("big.txt").open("w") as out:
            for n in range(400):
                out.write("new line %d\\n" % n)
                out.flush()
                time.sleep(0.01)
        return ["big.txt"]

print("started", flush=True)
build(sys.argv[1], sys.argv[2], ["test-slow"])
"""


def test_killed_build_leaves_the_old_file_whole_and_next_build_completes(tmp_path):
    src, out = source(tmp_path), tmp_path / "out"
    out.mkdir()
    old = "old complete file\n"
    (out / "big.txt").write_text(old)
    process = subprocess.Popen([sys.executable, "-c", SLOW_BUILD, str(src), str(out)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "started"
    time.sleep(1.0)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert (out / "big.txt").read_text() == old
    finished = subprocess.run([sys.executable, "-c", SLOW_BUILD, str(src), str(out)], capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert (out / "big.txt").read_text().count("new line") == 400
    assert not list(out.glob(".staging-*")), "the killed build's staging folder is cleared"


def test_editing_the_pronunciation_lexicon_rebuilds_the_audio(tmp_path):
    from formatforge.formats import get_writer

    src = source(tmp_path)
    writer = get_writer("audio")
    assert [p.name for p in writer.input_files(read_source(src).document, {})] == ["pronunciation.toml"]
    from formatforge.build import format_key, input_fingerprint

    document = read_source(src).document
    before = format_key("audio", writer, input_fingerprint(document), {}, document)
    (tmp_path / "pronunciation.toml").write_text('[say]\n"Title" = "tie tull"\n')
    assert format_key("audio", writer, input_fingerprint(document), {}, document) != before


MEETING = threading.Barrier(2, timeout=20)
LANE_LOG: list[str] = []


def lane_writer(name: str, lane: str, meet: bool):
    class LaneWriter(Writer):
        summary = "a writer in a lane"

        def output_names(self, document, options):
            return [f"{name}.txt"]

        def write(self, context):
            LANE_LOG.append(f"start {name}")
            if meet:
                MEETING.wait()  # passes only if the other lane is running at the same time
            time.sleep(0.05)
            LANE_LOG.append(f"end {name}")
            context.path(f"{name}.txt").write_text(name)
            return [f"{name}.txt"]

    LaneWriter.name = name
    LaneWriter.lane = lane
    return only_in_these_tests(LaneWriter)


lane_writer("test-lane-a1", "lane-a", meet=False)
lane_writer("test-lane-a2", "lane-a", meet=False)
lane_writer("test-lane-b", "lane-b", meet=True)
lane_writer("test-lane-c", "lane-c", meet=True)


def test_writers_in_one_lane_run_in_order(tmp_path):
    LANE_LOG.clear()
    report = build(source(tmp_path), tmp_path / "out", ["test-lane-a1", "test-lane-a2"], jobs=2)
    assert report.ok
    assert LANE_LOG == ["start test-lane-a1", "end test-lane-a1", "start test-lane-a2", "end test-lane-a2"]


def test_writers_in_different_lanes_run_side_by_side(tmp_path):
    report = build(source(tmp_path), tmp_path / "out", ["test-lane-b", "test-lane-c"], jobs=2)
    assert [r.status for r in report.results] == ["built", "built"], [r.message for r in report.results]


# ---------------------------------------------------------------- up to date by stat first (issue 21 point 3)


@only_in_these_tests
class EchoWithInputWriter(EchoWriter):
    """Like test-echo, with a companion file (as the audio has its lexicon) in its key."""

    name = "test-echo-input"
    options = (Option("test.option", int, 0, "A setting of this test writer, in its key."),)

    def output_names(self, document, options):
        return [f"{document.stem}.input.txt"]

    def input_files(self, document, options):
        return [document.source_dir / "extra.txt"]

    def write(self, context: BuildContext) -> list[str]:
        CALLS.append(context.document.stem)
        name = self.output_names(context.document, context.options)[0]
        path = context.document.source_dir / "extra.txt"
        extra = path.read_text(encoding="utf-8") if path.exists() else ""  # as a lexicon not written yet
        context.path(name).write_text(document_text(context.document) + extra, encoding="utf-8")
        return [name]


def counting_hashes(monkeypatch) -> list[Path]:
    """Every file the build reads to hash it, in order."""
    import formatforge.build as build_module

    hashed: list[Path] = []
    real = build_module.sha256_file

    def counting(path):
        hashed.append(Path(path))
        return real(path)

    monkeypatch.setattr(build_module, "sha256_file", counting)
    return hashed


def set_back(path: Path, data: bytes) -> None:
    """New bytes of the same size, with the mtime set back to what it was (ctime still moves)."""
    before = path.stat()
    assert len(data) == before.st_size
    path.write_bytes(data)
    import os

    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_mtime_ns == before.st_mtime_ns and path.stat().st_size == before.st_size


def test_issue_21_no_change_hashes_no_output_and_no_input(tmp_path, monkeypatch):
    """Issue 21 point 3: a rebuild with nothing changed trusts every file whose size, mtime,
    inode and ctime are as the last build left them: nothing is read to be hashed."""
    import formatforge.build as build_module

    monkeypatch.setattr(build_module, "RACY_NS", 0)  # the files were written a moment ago
    src, out = source(tmp_path), tmp_path / "out"
    (tmp_path / "extra.txt").write_text("lexicon\n", encoding="utf-8")
    build(src, out, ["test-echo", "test-echo-input"])
    build(src, out, ["test-echo", "test-echo-input"])  # the input's look is recorded on this one
    hashed = counting_hashes(monkeypatch)
    report = build(src, out, ["test-echo", "test-echo-input"])
    assert [r.status for r in report.results] == ["up to date", "up to date"]
    assert hashed == []


def test_issue_21_touch_rebuilds_nothing(tmp_path, monkeypatch):
    """Issue 21 acceptance: a stat-only change (touch the master, an input or an output with
    the same content) rebuilds nothing; the touched output is hashed once to be sure."""
    import os

    src, out = source(tmp_path), tmp_path / "out"
    (tmp_path / "extra.txt").write_text("lexicon\n", encoding="utf-8")
    build(src, out, ["test-echo", "test-echo-input"])
    CALLS.clear()
    for path in (src, tmp_path / "extra.txt", out / "doc.txt", out / "doc.input.txt"):
        os.utime(path)  # touch
    hashed = counting_hashes(monkeypatch)
    report = build(src, out, ["test-echo", "test-echo-input"])
    assert [r.status for r in report.results] == ["up to date", "up to date"]
    assert CALLS == []
    assert out / "doc.txt" in hashed and out / "doc.input.txt" in hashed


def test_issue_21_same_size_same_mtime_new_content_is_rebuilt(tmp_path):
    """New bytes of the same size with the mtime set back (``touch -d``): the ctime moved,
    so the file is hashed and the change seen, for an output and for an input."""
    src, out = source(tmp_path), tmp_path / "out"
    (tmp_path / "extra.txt").write_text("lexicon\n", encoding="utf-8")
    build(src, out, ["test-echo", "test-echo-input"])
    good = (out / "doc.txt").read_bytes()
    set_back(out / "doc.txt", b"X" * len(good))
    report = build(src, out, ["test-echo", "test-echo-input"])
    assert [r.status for r in report.results] == ["built", "up to date"]
    assert (out / "doc.txt").read_bytes() == good
    set_back(tmp_path / "extra.txt", b"LEXICON\n")
    report = build(src, out, ["test-echo", "test-echo-input"])
    assert [r.status for r in report.results] == ["up to date", "built"]
    assert (out / "doc.input.txt").read_text().endswith("LEXICON\n")


def rebuilt_after_tampering(tmp_path: Path, record: str) -> tuple[Path, Path]:
    """Builds, puts ``record`` in place of the stat record and tampers with the output, then
    checks the next build rebuilt it rather than trusting the record; returns (master, outputs)."""
    src, out = source(tmp_path), tmp_path / "out"
    build(src, out, ["test-echo"])
    (out / ".formatforge-state.json").write_text(record)
    (out / "doc.txt").write_text("tampered")
    assert build(src, out, ["test-echo"]).results[0].status == "built"
    assert (out / "doc.txt").read_text().startswith("Title")
    return src, out


@pytest.mark.parametrize("record", [
    "not json",
    "[1, 2]",
    '{"outputs": [], "inputs": "x"}',
    '{"outputs": {"doc.txt": [1, 2, 3]}}',
    '{"outputs": {"doc.txt": ["1", 2, 3, 4, "' + "0" * 64 + '"]}}',
    '{"outputs": {"../outside.txt": [1, 2, 3, 4, "' + "0" * 64 + '"]}}',
])
def test_issue_21_a_hostile_stat_record_costs_hashing_never_a_wrong_answer(tmp_path, record):
    src, out = rebuilt_after_tampering(tmp_path, record)
    assert build(src, out, ["test-echo"]).results[0].status == "up to date"


def test_issue_21_a_record_that_disagrees_with_the_manifest_is_checked_by_hashing(tmp_path, monkeypatch):
    """A stat record whose look matches the file but whose digest is not the manifest's (left
    by an older build, or forged) is not believed either way: the file is hashed, and as it
    is the manifest's, nothing is rebuilt."""
    import formatforge.build as build_module

    src, out = source(tmp_path), tmp_path / "out"
    build(src, out, ["test-echo"])
    look = build_module.look_of(out / "doc.txt")
    (out / ".formatforge-state.json").write_text(json.dumps({"outputs": {"doc.txt": [*look, "f" * 64]}}))
    hashed = counting_hashes(monkeypatch)
    assert build(src, out, ["test-echo"]).results[0].status == "up to date"
    assert out / "doc.txt" in hashed


def test_issue_21_a_look_taken_in_the_same_clock_tick_as_a_change_is_not_kept():
    """Racily clean (git's rule): a file changed moments before its look was taken could be
    changed again within the same tick with the same size and look; such a look is not kept
    for an input, so the next build hashes it. A coarse timestamp (whole hundredths of a
    second or coarser: FAT, exFAT, 1 s file systems) needs 2 s; a fine one 100 ms."""
    import time as clock

    from formatforge.build import FileDigests

    digests = FileDigests()
    now = clock.time_ns()
    fine_second_ago = now - 10**9 + 123_457
    coarse_second_ago = (now // 10**9 - 1) * 10**9
    digests.remember("fresh", (1, now, 1, now), "a" * 64)
    digests.remember("old", (1, now - 10**10, 1, now - 10**10), "b" * 64)
    digests.remember("ours", (1, now, 1, now), "c" * 64, ours=True)
    digests.remember("fine, a second ago", (1, fine_second_ago, 1, fine_second_ago), "d" * 64)
    digests.remember("coarse, a second ago", (1, coarse_second_ago, 1, coarse_second_ago), "e" * 64)
    assert set(digests.record()) == {"old", "ours", "fine, a second ago"}


# ---------------------------------------------------------------- the same bytes stored once (issue 21 point 5)


class TwinWriter(EchoWriter):
    """Writes a large file whose bytes depend only on the document, as the speech writers'
    section audio does."""

    def output_names(self, document, options):
        return [f"{self.name}/{document.stem}.bin", f"{self.name}/{document.stem}.small"]

    def write(self, context: BuildContext) -> list[str]:
        big, small = self.output_names(context.document, context.options)
        context.path(big).write_bytes(document_text(context.document).encode() * 1000)
        context.path(small).write_bytes(b"tiny")
        return [big, small]


@only_in_these_tests
class TwinA(TwinWriter):
    name = "test-twin-a"


@only_in_these_tests
class TwinB(TwinWriter):
    name = "test-twin-b"


def test_issue_21_identical_outputs_are_stored_once_and_stay_right(tmp_path):
    """Issue 21 point 5: a file with the same bytes as another format's is a hard link to it
    (one copy on disk), readable by all (0644), in the manifest as before; rebuilding one
    format leaves the other's bytes as they were; publishing copies real files."""
    import stat

    from formatforge.publish import publish

    src, out = source(tmp_path), tmp_path / "out"
    build(src, out, ["test-twin-a", "test-twin-b"])
    a, b = out / "test-twin-a" / "doc.bin", out / "test-twin-b" / "doc.bin"
    assert a.read_bytes() == b.read_bytes()
    assert a.stat().st_ino == b.stat().st_ino and a.stat().st_nlink == 2
    assert stat.S_IMODE(b.stat().st_mode) == 0o644
    small_a, small_b = out / "test-twin-a" / "doc.small", out / "test-twin-b" / "doc.small"
    assert small_a.stat().st_ino != small_b.stat().st_ino  # a few bytes: not worth tying two formats
    manifest = json.loads((out / "manifest.json").read_text())
    assert {f["path"] for f in manifest["files"]} >= {"test-twin-a/doc.bin", "test-twin-b/doc.bin"}

    assert [r.status for r in build(src, out, ["test-twin-a", "test-twin-b"]).results] == ["up to date", "up to date"]

    before = b.read_bytes()
    source(tmp_path, "# Title\n\nChanged text.\n")
    build(src, out, ["test-twin-a"])
    assert b.read_bytes() == before and a.read_bytes() != before
    assert a.stat().st_ino != b.stat().st_ino
    assert [r.status for r in build(src, out, ["test-twin-b"]).results] == ["built"]
    assert a.stat().st_ino == b.stat().st_ino

    publish(out, str(tmp_path / "shared"))
    sent_a, sent_b = tmp_path / "shared" / "test-twin-a" / "doc.bin", tmp_path / "shared" / "test-twin-b" / "doc.bin"
    assert sent_a.read_bytes() == sent_b.read_bytes() == a.read_bytes()
    assert sent_a.stat().st_ino != sent_b.stat().st_ino and sent_a.stat().st_nlink == 1


def test_issue_21_an_identical_file_changed_in_place_is_not_linked_to(tmp_path):
    """The file in place is linked to only if it still holds the manifest's bytes."""
    src, out = source(tmp_path), tmp_path / "out"
    build(src, out, ["test-twin-a"])
    a = out / "test-twin-a" / "doc.bin"
    a.write_bytes(b"x" * a.stat().st_size)
    build(src, out, ["test-twin-b"])
    b = out / "test-twin-b" / "doc.bin"
    assert a.stat().st_ino != b.stat().st_ino and b.read_bytes().startswith(b"Title")


# ---------------------------------------------------------------- nothing changed: the master not even read


@pytest.fixture
def trusted_at_once(monkeypatch):
    """Looks of files written a moment ago trusted (the tests write and build within a tick)."""
    import formatforge.build as build_module

    monkeypatch.setattr(build_module, "RACY_NS", -10**12)


def not_read(monkeypatch) -> None:
    import formatforge.reader as reader_module

    def refuse(path):
        raise AssertionError(f"read {path}")

    monkeypatch.setattr(reader_module, "read_source", refuse)


def test_issue_21_no_change_reads_no_master_and_shows_the_same_findings(tmp_path, monkeypatch, trusted_at_once):
    src, out = source(tmp_path, "# Title\n\nText with <b>raw</b> HTML.\n"), tmp_path / "out"
    first = build(src, out, ["test-echo"])
    assert first.diagnostics and first.results[0].status == "built"
    not_read(monkeypatch)
    again = build(src, out, ["test-echo"])
    assert [r.status for r in again.results] == ["up to date"]
    assert [str(d) for d in again.diagnostics] == [str(d) for d in first.diagnostics]


@pytest.mark.parametrize("change", ["edit same size, mtime set back", "input created", "input edited", "output removed",
                                    "options", "another format", "forced"])
def test_issue_21_no_change_path_sees_every_change(tmp_path, trusted_at_once, change):
    """Whatever could change an output takes the build proper: the master's bytes (even with
    its size and mtime kept), a file a format uses appearing or changing, an output gone,
    other options or formats, --force."""
    src, out = source(tmp_path), tmp_path / "out"
    names, options, force = ["test-echo", "test-echo-input"], {}, False
    (tmp_path / "extra.txt").write_text("one\n", encoding="utf-8")
    if change == "input created":
        (tmp_path / "extra.txt").unlink()
    build(src, out, names)
    if change == "edit same size, mtime set back":
        set_back(src, src.read_bytes().replace(b"First", b"Fresh"))
    elif change == "input created":
        (tmp_path / "extra.txt").write_text("two\n", encoding="utf-8")
    elif change == "input edited":
        (tmp_path / "extra.txt").write_text("two\n", encoding="utf-8")
    elif change == "output removed":
        (out / "doc.txt").unlink()
    elif change == "options":
        options = {"test.option": 1}
    elif change == "another format":
        names = ["test-echo", "test-echo-input", "test-twin-a"]
    elif change == "forced":
        force = True
    CALLS.clear()
    report = build(src, out, names, options, force=force)
    assert "built" in [r.status for r in report.results]
    assert (out / "doc.txt").read_text().startswith("Title")
    if change == "edit same size, mtime set back":
        assert "Fresh" in (out / "doc.txt").read_text()


@pytest.mark.parametrize("record", [
    '{"unchanged": []}',
    '{"unchanged": {"version": "0.1.0", "master": "x", "keys": {}, "depends": {}}}',
    '{"unchanged": {"master": [1, 2, 3, 4, 5], "keys": [], "depends": []}}',
])
def test_issue_21_a_hostile_no_change_record_means_the_build_proper(tmp_path, record):
    rebuilt_after_tampering(tmp_path, record)


# ---------------------------------------------------------------- the slow lanes start first (issue 21 point 4)

STARTED: list[str] = []


class OrderedWriter(EchoWriter):
    def write(self, context: BuildContext) -> list[str]:
        STARTED.append(self.name)
        return super().write(context)


@only_in_these_tests
class QuickWriter(OrderedWriter):
    name = "test-quick"


@only_in_these_tests
class SlowWriter(OrderedWriter):
    name = "test-slow"
    slow = True


def test_issue_21_the_slow_writers_lanes_start_before_the_quick_ones(tmp_path):
    """A LibreOffice export or the speech editions started last would leave the quick
    writers done and one core idle while they run: their lanes go first."""
    STARTED.clear()
    build(source(tmp_path), tmp_path / "out", ["test-quick", "test-slow"], jobs=1)
    assert STARTED == ["test-slow", "test-quick"]


def test_issue_21_3_a_file_put_in_place_in_this_build_is_not_hashed_again_to_be_linked_to(tmp_path, monkeypatch):
    """The DAISY book's section files are linked to the audio edition's, committed a moment
    earlier in the same build: that file's digest is what this build just recorded, so it
    is not read again (at 108,000 words, hundreds of megabytes)."""
    import formatforge.build as build_module

    src, out = source(tmp_path), tmp_path / "out"
    hashed: list[Path] = []
    real = build_module.sha256_file
    monkeypatch.setattr(build_module, "sha256_file", lambda path: hashed.append(Path(path)) or real(path))
    build(src, out, ["test-twin-a", "test-twin-b"], jobs=1)
    a, b = out / "test-twin-a" / "doc.bin", out / "test-twin-b" / "doc.bin"
    assert a.stat().st_ino == b.stat().st_ino
    assert not [path for path in hashed if ".staging-" not in str(path)], hashed
