"""A resident LibreOffice for watch and the preview (issue 21, point 4): one LibreOffice kept
running between large-print PDF exports, giving the same bytes as a one-shot export, and
falling back to one when it cannot serve."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from formatforge.errors import WriterError
from formatforge.formats import BuildContext, get_writer
from formatforge.shared.libreoffice import ResidentLibreOffice, convert_with_libreoffice

from test_safety_build import HANGING_OFFICE, fake_office, running


def build_pdf(document, folder: Path, cache_dir: Path | None) -> Path:
    context = BuildContext(document=document, staging=folder, cache_dir=cache_dir)
    (name,) = get_writer("large-print-pdf").write(context)
    return folder / name


@pytest.mark.slow
def test_exports_through_one_resident_libreoffice_are_byte_identical_to_one_shot_exports(tmp_path, every_construct):
    """The PDF a watch loop rebuilds is the PDF a build writes (page numbers in the contents
    included: the resident LibreOffice runs the same index-updating export), and the second
    export is served by the LibreOffice the first one started."""
    cache = tmp_path / "cache"
    one_shot = build_pdf(every_construct, tmp_path / "one-shot", cache).read_bytes()
    with ResidentLibreOffice() as office:
        first = build_pdf(every_construct, tmp_path / "first", cache).read_bytes()
        started = office._process.pid
        assert office.running
        second = build_pdf(every_construct, tmp_path / "second", cache).read_bytes()
        assert office._process.pid == started, "the second export started a new LibreOffice"
    assert not office.running and not running(started)
    assert first == second == one_shot
    assert not (cache / "libreoffice-profile.pgid").exists()


@pytest.mark.slow
def test_an_ended_resident_libreoffice_is_replaced(tmp_path, every_construct):
    cache = tmp_path / "cache"
    with ResidentLibreOffice() as office:
        first = build_pdf(every_construct, tmp_path / "first", cache).read_bytes()
        ended = office._process.pid
        os.killpg(ended, signal.SIGKILL)
        office._process.wait()
        second = build_pdf(every_construct, tmp_path / "second", cache).read_bytes()
        assert office.running and office._process.pid != ended
    assert first == second


def test_a_resident_export_that_takes_too_long_stops_all_of_libreoffice(tmp_path, monkeypatch):
    """As for a one-shot export (issue 18.9): the limit stops the whole session, says so in
    plain words, and leaves no LibreOffice behind."""
    pids = tmp_path / "pids"
    monkeypatch.setenv("FAKE_OFFICE_PIDS", str(pids))
    fake_office(tmp_path / "bin", HANGING_OFFICE, monkeypatch)
    profile = tmp_path / "cache" / "libreoffice-profile"
    (profile / "user").mkdir(parents=True)
    (profile / "user" / "registrymodifications.xcu").write_text("<made before/>")  # so no first run is needed
    source = tmp_path / "doc.docx"
    source.write_bytes(b"not really Word")
    with ResidentLibreOffice() as office:
        began = time.monotonic()
        with pytest.raises(WriterError) as stopped:
            convert_with_libreoffice(source, tmp_path / "pdf", timeout=1, profile_dir=profile, update_indexes=True)
        assert time.monotonic() - began < 10
        assert not office.running
    assert stopped.value.message == "the PDF export took longer than 1 s; LibreOffice was stopped"
    (child,) = [int(line) for line in pids.read_text().split()]
    deadline = time.monotonic() + 5
    while running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running(child), "the process the resident LibreOffice started is stopped with it"
    assert not profile.exists(), "a timed-out LibreOffice may leave the kept profile half written"


def test_only_index_updating_exports_with_its_filter_go_through_it(tmp_path, monkeypatch):
    """Any other conversion is one-shot, so a resident LibreOffice never changes what it writes;
    one it cannot serve (None) is done one-shot too."""
    import subprocess

    from formatforge.shared import libreoffice

    one_shot = []

    def run(source, out_dir, convert_to, *args, **kwargs):
        one_shot.append(convert_to)
        libreoffice._converted(source, out_dir, convert_to).write_text("converted")
        return subprocess.CompletedProcess([], 0, "", "")

    monkeypatch.setattr(libreoffice, "_run_libreoffice", run)
    monkeypatch.setattr(libreoffice, "_export_updating_indexes", run)
    monkeypatch.setattr(libreoffice, "_require_soffice", lambda: "soffice")
    source = tmp_path / "a.docx"
    with ResidentLibreOffice() as office:
        served = []
        monkeypatch.setattr(office, "export", lambda *args, **kwargs: served.append(args) or None)
        convert_with_libreoffice(source, tmp_path / "out", "pdf", update_indexes=True)
        convert_with_libreoffice(source, tmp_path / "out")
        assert served == [] and len(one_shot) == 2
        convert_with_libreoffice(source, tmp_path / "out", update_indexes=True)
        assert len(served) == 1 and len(one_shot) == 3
    convert_with_libreoffice(source, tmp_path / "out", update_indexes=True)
    assert len(served) == 1, "a resident LibreOffice no longer held serves nothing"


@pytest.mark.slow
def test_a_broken_kept_profile_is_replaced_and_the_export_still_made(tmp_path, every_construct):
    """As for a one-shot export: a profile LibreOffice cannot start with does not fail the export."""
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "libreoffice-profile").write_text("not a LibreOffice profile")
    with ResidentLibreOffice():
        pdf = build_pdf(every_construct, tmp_path / "out", cache)
        assert pdf.read_bytes().startswith(b"%PDF")
        assert (cache / "libreoffice-profile").is_dir(), "the broken profile was not replaced"


@pytest.mark.slow
def test_after_a_long_export_a_new_libreoffice_is_started_beside_the_edits(tmp_path, every_construct, monkeypatch):
    """LibreOffice slows with every long document it has held (a 674-page book: 8.3 s, then
    8.6, 10.7, 11.4 s in one instance): after an export longer than RENEW_AFTER_SECONDS the
    instance is replaced, on a thread of its own, and the next export is as a one-shot
    export makes it. Short exports keep theirs (the test above)."""
    monkeypatch.setattr(ResidentLibreOffice, "RENEW_AFTER_SECONDS", 0.0)
    started: list[int] = []
    real_start = ResidentLibreOffice._start

    def start(office, *arguments):
        made = real_start(office, *arguments)
        started.append(office._process.pid)
        return made

    monkeypatch.setattr(ResidentLibreOffice, "_start", start)
    cache = tmp_path / "cache"
    one_shot = build_pdf(every_construct, tmp_path / "one-shot", cache).read_bytes()
    with ResidentLibreOffice() as office:
        first = build_pdf(every_construct, tmp_path / "first", cache).read_bytes()
        office._renewed()
        assert len(started) == 2 and office.running and office._process.pid == started[1]
        assert not running(started[0])
        second = build_pdf(every_construct, tmp_path / "second", cache).read_bytes()  # renewed in turn
    assert not office.running and not any(running(pid) for pid in started)
    assert first == second == one_shot
    assert not (cache / "libreoffice-profile.pgid").exists()
