"""Running LibreOffice: the one place that starts it, for the large-print PDF export and for
any conversion a test or writer needs (``convert_with_libreoffice``).

LibreOffice runs headless with a user profile of its own, never the user's, in a process
session of its own so that a timeout stops all of it; a profile kept in the build's cache
saves about half a second a start. ``update_indexes`` runs a Basic macro that brings the
table of contents up to date before the export, which ``--convert-to`` never does.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from ..errors import WriterError

TAGGED_PDF_FILTER = ('pdf:writer_pdf_Export:{'
                     '"UseTaggedPDF":{"type":"boolean","value":"true"},'
                     '"PDFUACompliance":{"type":"boolean","value":"true"},'
                     '"ExportBookmarks":{"type":"boolean","value":"true"},'
                     '"UseLosslessCompression":{"type":"boolean","value":"true"}}')


def soffice_command() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _require_soffice() -> str:
    command = soffice_command()
    if command is None:
        raise WriterError("LibreOffice is not installed; install it with: apt-get install libreoffice-writer-nogui")
    return command


def convert_with_libreoffice(source: Path, out_dir: Path, convert_to: str = TAGGED_PDF_FILTER,
                             timeout: float = 180, profile_dir: Path | None = None,
                             update_indexes: bool = False) -> Path:
    """Convert ``source`` with headless LibreOffice; returns the file it wrote.

    LibreOffice runs with its own user profile, never the user's. ``profile_dir`` (in the
    build's cache) is kept from one build to the next, because making a new profile costs
    LibreOffice about half a second on every start; a conversion that finds it in use by
    another, or that fails with it, uses a new private profile instead.

    ``update_indexes``: the table of contents is brought up to date (page numbers) before
    the export, which ``--convert-to`` never does; see ``_export_updating_indexes``. Such an
    export goes through the ``ResidentLibreOffice`` being held, if any. It updates the
    contents twice, or once when a file ``<source>.headings`` beside the source names the
    bookmarks of the headings the contents lists, one a line, and after one update every
    entry gives its heading's page; it says how many times in ``<target>.passes``.
    """
    # Imported here: building a .docx never runs a program, so it need not load these.
    import fcntl
    import tempfile

    _require_soffice()
    out_dir.mkdir(parents=True, exist_ok=True)
    resident = _RESIDENT[-1] if _RESIDENT else None
    if resident is not None and update_indexes and convert_to == resident.convert_to:
        exported = resident.export(source, out_dir, timeout, profile_dir)
        if exported is not None:
            return exported
    run = _export_updating_indexes if update_indexes else _run_libreoffice
    if profile_dir is not None:
        profile_dir.parent.mkdir(parents=True, exist_ok=True)
        with open(profile_dir.with_name(profile_dir.name + ".lock"), "a+b") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pass  # another conversion has it: fall through to a private profile
            else:
                group_file = profile_dir.with_name(profile_dir.name + ".pgid")
                _stop_leftover_office(group_file)
                try:
                    result = run(source, out_dir, convert_to, timeout, profile_dir, group_file=group_file)
                except WriterError:
                    shutil.rmtree(profile_dir, ignore_errors=True)  # a timed-out run may leave it half written
                    raise
                target = _converted(source, out_dir, convert_to)
                if result.returncode == 0 and target.is_file():
                    return target
                # perhaps left broken by a killed build: the next build starts a new one
                if profile_dir.is_dir():
                    shutil.rmtree(profile_dir, ignore_errors=True)
                else:
                    profile_dir.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="formatforge-lo-") as profile:
        result = run(source, out_dir, convert_to, timeout, Path(profile))
    target = _converted(source, out_dir, convert_to)
    if result.returncode != 0 or not target.is_file():
        raise WriterError(f"LibreOffice could not convert {source.name}: "
                          f"{(result.stderr or result.stdout).strip()[-2000:] or 'no output written'}")
    return target


def _run_libreoffice(source: Path, out_dir: Path, convert_to: str, timeout: float, profile: Path,
                     arguments: list[str] | None = None, group_file: Path | None = None):
    """Runs soffice in a session of its own, so that on a timeout (or any interruption) the
    whole group goes: the wrapper script, soffice.bin and anything it started. Killing only
    the wrapper left soffice.bin running with the kept profile, and every later export that
    used the profile waited on it."""
    import signal
    import subprocess

    if arguments is None:
        arguments = ["--convert-to", convert_to, "--outdir", str(out_dir), str(source)]
    process = subprocess.Popen(
        [_require_soffice(), f"-env:UserInstallation={profile.resolve().as_uri()}", "--headless", "--norestore",
         "--nolockcheck", *arguments],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "SAL_USE_VCLPLUGIN": "svp"}, start_new_session=True)
    if group_file is not None:
        # read by the next export if this build is killed before LibreOffice ends
        group_file.write_text(str(process.pid), encoding="ascii")
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process.pid, signal.SIGKILL)
        process.communicate()
        what = "the PDF export" if convert_to.startswith("pdf") else f"the LibreOffice conversion of {source.name}"
        raise WriterError(f"{what} took longer than {timeout:g} s; LibreOffice was stopped") from None
    except BaseException:
        _kill_group(process.pid, signal.SIGKILL)
        process.wait()
        raise
    finally:
        # soffice.bin can outlive the wrapper script that started it
        _kill_group(process.pid, signal.SIGKILL)
        if group_file is not None:
            group_file.unlink(missing_ok=True)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _kill_group(group: int, signal_number: int) -> None:
    try:
        os.killpg(group, signal_number)
    except (ProcessLookupError, PermissionError):
        pass


def _stop_leftover_office(group_file: Path) -> None:
    """A LibreOffice left running by a build that was killed, still holding the kept profile."""
    import signal

    try:
        group = int(group_file.read_text(encoding="ascii"))
    except (OSError, ValueError):
        return
    # The number may since have been given to another program: only a LibreOffice is stopped.
    try:
        processes = [p for p in Path("/proc").iterdir() if p.name.isdigit()]
    except OSError:
        processes = []
    for member in processes:
        try:
            if os.getpgid(int(member.name)) != group:
                continue
            command = (member / "cmdline").read_bytes()
        except OSError:  # ended while we looked
            continue
        if b"soffice" in command or b"oosplash" in command:
            _kill_group(group, signal.SIGKILL)
            break
    group_file.unlink(missing_ok=True)


def _converted(source: Path, out_dir: Path, convert_to: str) -> Path:
    return out_dir / f"{source.stem}.{convert_to.split(':', 1)[0]}"


# A Basic macro in the profile's Standard library: LibreOffice has no conversion option that
# updates indexes, and its Python bridge is a separate package (python3-uno) often missing.
# Macros in the application's own library run whatever the macro security level.
MACRO_MODULE = "FormatForge"
_BASIC_LIBRARY = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE library:library PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "library.dtd">
<library:library xmlns:library="http://openoffice.org/2000/library" library:name="Standard" \
library:readonly="false" library:passwordprotected="false">
 <library:element library:name="{module}"/>
</library:library>
"""
_BASIC_EXPORT = """Sub ExportUpdatingIndexes(sourceUrl As String, targetUrl As String)
    On Error GoTo Failed
    Dim load(0) As New com.sun.star.beans.PropertyValue
    load(0).Name = "Hidden"
    load(0).Value = True
    document = StarDesktop.loadComponentFromURL(sourceUrl, "_blank", 0, load())
    indexes = document.getDocumentIndexes()
    REM twice, unless the contents agree with the pages after once: the first update can
    REM lengthen the contents and move the pages after it
    passes = 0
    For pass = 1 To 2
        For i = 0 To indexes.getCount() - 1
            indexes.getByIndex(i).update()
        Next i
        passes = pass
        If pass = 1 Then
            If ContentsAgree(document, ConvertFromURL(sourceUrl) & ".headings") Then Exit For
        End If
    Next pass
    document.getTextFields().refresh()
    REM for the tests: how many updates it took (the export does not depend on it)
    On Error Resume Next
    n = FreeFile()
    Open ConvertFromURL(targetUrl) & ".passes" For Output As #n
    Print #n, passes
    Close #n
    On Error GoTo Failed
{filter_data}
    Dim store(1) As New com.sun.star.beans.PropertyValue
    store(0).Name = "FilterName"
    store(0).Value = "{filter_name}"
    store(1).Name = "FilterData"
    store(1).Value = filterData()
    document.storeToURL(targetUrl, store())
    document.close(True)
    Exit Sub
Failed:
    REM no output file: the caller reports the failure
End Sub

REM Whether every entry of the one table of contents gives the page its heading is on, the
REM headings named by their bookmarks, one a line, in the file at headingsPath (written by
REM the caller beside the source): then a second update would change nothing.
Function ContentsAgree(document As Object, headingsPath As String) As Boolean
    ContentsAgree = False
    opened = False
    On Error GoTo Disagree
    If Not FileExists(headingsPath) Then Exit Function
    indexes = document.getDocumentIndexes()
    If indexes.getCount() <> 1 Then Exit Function
    lines = Split(indexes.getByIndex(0).getAnchor().getString(), Chr(10))
    marks = document.getBookmarks()
    cursor = document.getCurrentController().getViewCursor()
    n = FreeFile()
    Open headingsPath For Input As #n
    opened = True
    entry = 0
    Do While Not EOF(n)
        Line Input #n, markName
        REM the next line of the contents that ends in a page number, after a tab
        number = ""
        Do While entry <= UBound(lines) And number = ""
            parts = Split(lines(entry), Chr(9))
            If UBound(parts) > 0 Then number = Trim(parts(UBound(parts)))
            entry = entry + 1
        Loop
        If number = "" Or Not marks.hasByName(markName) Then GoTo Disagree
        cursor.gotoRange(marks.getByName(markName).getAnchor(), False)
        If CStr(cursor.getPage()) <> number Then GoTo Disagree
    Loop
    Do While entry <= UBound(lines)
        If InStr(lines(entry), Chr(9)) > 0 Then GoTo Disagree
        entry = entry + 1
    Loop
    Close #n
    ContentsAgree = True
    Exit Function
Disagree:
    On Error Resume Next
    If opened Then Close #n
    ContentsAgree = False
End Function
"""
# The resident LibreOffice's loop (ResidentLibreOffice): it runs as the command line's macro, so
# LibreOffice stays up until it ends. A request is a file "request" in the queue folder (written
# whole, then renamed into place): the source and target URLs, a line each. The answer is the
# file "done", renamed into place after the export (the target is there if it succeeded).
# LibreOffice's own listener (--accept) needs a UNO client, and a second soffice hands its
# command line to a running one but runs no macro from it; a folder needs neither.
_BASIC_SERVE = """
Sub Serve(queueUrl As String)
    Do While Not FileExists(queueUrl & "/stop")
        If FileExists(queueUrl & "/request") Then
            n = FreeFile()
            Open queueUrl & "/request" For Input As #n
            Line Input #n, sourceUrl
            Line Input #n, targetUrl
            Close #n
            Kill queueUrl & "/request"
            ExportUpdatingIndexes(sourceUrl, targetUrl)
            n = FreeFile()
            Open queueUrl & "/answer" For Output As #n
            Print #n, "done"
            Close #n
            Name queueUrl & "/answer" As queueUrl & "/done"
        Else
            Wait 20
        End If
    Loop
End Sub
"""


def _basic_filter_data(options: dict) -> str:
    """Basic statements filling ``filterData()`` from the ``--convert-to`` JSON options."""
    lines = [f"    Dim filterData({len(options) - 1}) As New com.sun.star.beans.PropertyValue"]
    for index, (name, option) in enumerate(options.items()):
        value = str(option["value"])
        if option["type"] == "boolean":
            literal = "True" if value.casefold() == "true" else "False"
        elif option["type"] in ("long", "short", "int"):
            literal = str(int(value))
        else:
            literal = '"' + value.replace('"', '""') + '"'
        lines.append(f'    filterData({index}).Name = "{name}"')
        lines.append(f"    filterData({index}).Value = {literal}")
    return "\n".join(lines)


def _export_updating_indexes(source: Path, out_dir: Path, convert_to: str, timeout: float, profile: Path,
                             group_file: Path | None = None):
    """What ``--convert-to`` does, with every index (the table of contents) updated first."""
    made = _install_macro(source, profile, convert_to, timeout, group_file)
    if made is not None:
        return made
    target = _converted(source, out_dir, convert_to)
    # file URLs: percent-encoded, so no quote or comma in a path can break the macro call
    call = (f'macro:///Standard.{MACRO_MODULE}.ExportUpdatingIndexes('
            f'"{source.resolve().as_uri()}","{target.resolve().as_uri()}")')
    return _run_libreoffice(source, out_dir, convert_to, timeout, profile, [call], group_file)


def _install_macro(source: Path, profile: Path, convert_to: str, timeout: float, group_file: Path | None = None):
    """Puts the macros (with ``convert_to``'s filter) into the profile's Standard library;
    returns LibreOffice's result if making a new profile failed, else None.

    LibreOffice rewrites that library when it makes a new profile, so a new profile is made
    first (``--terminate_after_init``) and the macros written after."""
    import json

    import lxml.etree

    _, filter_name, options = (convert_to.split(":", 2) + ["{}"])[:3]
    user = profile / "user"
    if not (user / "registrymodifications.xcu").is_file():
        first = _run_libreoffice(source, source.parent, convert_to, timeout, profile, ["--terminate_after_init"],
                                group_file)
        if first.returncode != 0:
            return first
    library = user / "basic" / "Standard"
    library.mkdir(parents=True, exist_ok=True)
    code = _BASIC_EXPORT.format(filter_data=_basic_filter_data(json.loads(options)), filter_name=filter_name)
    script = "http://openoffice.org/2000/script"
    module = lxml.etree.Element(f"{{{script}}}module", {f"{{{script}}}name": MACRO_MODULE,
                                                        f"{{{script}}}language": "StarBasic"},
                                nsmap={"script": script})
    module.text = code + _BASIC_SERVE
    (library / f"{MACRO_MODULE}.xba").write_bytes(lxml.etree.tostring(
        module, xml_declaration=True, encoding="UTF-8",
        doctype='<!DOCTYPE script:module PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "module.dtd">'))
    (library / "script.xlb").write_text(_BASIC_LIBRARY.format(module=MACRO_MODULE), encoding="utf-8")
    return None


# ---------------------------------------------------------------- a resident LibreOffice


class ResidentLibreOffice:
    """One LibreOffice kept running between exports, for a process that builds again and again
    (``watch``, the preview): each export then skips LibreOffice's start-up.

    Hold it round the loop; while it is held, every ``convert_with_libreoffice`` call that
    updates indexes with its filter (the large-print PDF's) goes through it::

        with ResidentLibreOffice():
            while watching:
                build(...)

    LibreOffice starts at the first such export (a loop that never exports a PDF never starts
    it), with the profile that export names, or a private one if that profile is in use, and
    stops when the block ends. An export it cannot do (LibreOffice ended, a different filter,
    another thread already using it) is done the one-shot way instead, so the output is the
    same either way; one that takes longer than its limit stops LibreOffice, as a one-shot
    export does, and the next export starts a new one.
    """

    # LibreOffice slows down with every long document it has loaded and closed (a 674-page
    # book: 8.3, 8.6, 10.7, 11.4 s for the same export in one instance, against 6.3 s in a
    # new one), though not with short ones (the strategy: 0.20 s, 0.23 s after 25). After an
    # export longer than this, the instance is replaced by a new one, started beside the
    # edits rather than in the next export's way.
    RENEW_AFTER_SECONDS = 2.0

    def __init__(self, profile_dir: Path | None = None, convert_to: str = TAGGED_PDF_FILTER):
        import threading

        self.profile_dir = profile_dir
        self.convert_to = convert_to
        self._busy = threading.Lock()
        self._renewing: threading.Thread | None = None
        self._process: Any = None  # subprocess.Popen while LibreOffice runs
        self._queue: Path | None = None
        self._profile: Path | None = None
        self._private_profile: Path | None = None
        self._lock_file: Any = None
        self._group_file: Path | None = None

    def __enter__(self) -> ResidentLibreOffice:
        _RESIDENT.append(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        _RESIDENT.remove(self)
        self._renewed()
        with self._busy:
            self._stop()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def export(self, source: Path, out_dir: Path, timeout: float = 180, profile_dir: Path | None = None) -> Path | None:
        """``source`` exported into ``out_dir`` with indexes updated; None when it could not be
        done here (the caller converts the one-shot way)."""
        import time

        self._renewed()
        if not self._busy.acquire(blocking=False):
            return None  # another thread's export: this one need not wait for it
        renew = False
        try:
            began = time.monotonic()
            if not self.running:
                self._stop()  # LibreOffice ended (or never started): let its profile go first
                if not self._start(source, timeout, profile_dir):
                    return None
            assert self._queue is not None and self._process is not None
            requested = time.monotonic()
            out_dir.mkdir(parents=True, exist_ok=True)
            target = _converted(source, out_dir, self.convert_to)
            target.unlink(missing_ok=True)
            request = self._queue / "request.tmp"
            request.write_text(f"{source.resolve().as_uri()}\n{target.resolve().as_uri()}\n", encoding="ascii")
            request.rename(self._queue / "request")
            done = self._queue / "done"
            while not done.exists():
                if self._process.poll() is not None:
                    self._stop()
                    return None
                if time.monotonic() - began > timeout:
                    raise WriterError(f"the PDF export took longer than {timeout:g} s; LibreOffice was stopped")
                time.sleep(0.01)
            done.unlink()
            renew = time.monotonic() - requested > self.RENEW_AFTER_SECONDS
            return target if target.is_file() else None
        except WriterError:
            self._stop(broken=True)  # a timed-out LibreOffice may leave the profile half written
            raise
        except BaseException:
            self._stop()  # interrupted: nothing is left running
            raise
        finally:
            self._busy.release()
            if renew:
                self._renew(source, timeout, profile_dir)

    def _renew(self, source: Path, timeout: float, profile_dir: Path | None) -> None:
        """Replaces LibreOffice by a new instance, on a thread of its own: the old one takes
        a moment to end and the new one a second or two to start."""
        import threading

        def renew() -> None:
            with self._busy:
                self._stop()
                self._start(source, timeout, profile_dir)

        self._renewing = threading.Thread(target=renew, name="formatforge-libreoffice-renew", daemon=True)
        self._renewing.start()

    def _renewed(self) -> None:
        """Waits for a replacement being started, if any (it takes well under a second)."""
        renewing, self._renewing = self._renewing, None
        if renewing is not None:
            renewing.join()

    def _start(self, source: Path, timeout: float, profile_dir: Path | None) -> bool:
        import fcntl
        import subprocess
        import tempfile

        profile = self.profile_dir or profile_dir
        if profile is not None:
            profile.parent.mkdir(parents=True, exist_ok=True)
            lock = open(profile.with_name(profile.name + ".lock"), "a+b")  # held while LibreOffice runs
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                profile = None  # in use by a one-shot export: a private profile instead
            else:
                self._lock_file = lock
                self._group_file = profile.with_name(profile.name + ".pgid")
                _stop_leftover_office(self._group_file)
        if profile is None:
            profile = self._private_profile = Path(tempfile.mkdtemp(prefix="formatforge-lo-"))
        self._profile = profile
        if _install_macro(source, profile, self.convert_to, timeout, self._group_file) is not None:
            self._stop(broken=True)
            return False
        self._queue = Path(tempfile.mkdtemp(prefix="formatforge-lo-queue-"))
        serve = f'macro:///Standard.{MACRO_MODULE}.Serve("{self._queue.resolve().as_uri()}")'
        self._process = subprocess.Popen(
            [_require_soffice(), f"-env:UserInstallation={profile.resolve().as_uri()}", "--headless", "--norestore",
             "--nolockcheck", serve],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "SAL_USE_VCLPLUGIN": "svp"}, start_new_session=True)
        if self._group_file is not None:
            self._group_file.write_text(str(self._process.pid), encoding="ascii")
        return True

    def _stop(self, broken: bool = False) -> None:
        """Ends LibreOffice (asked first, then its whole session), and lets the profile go;
        ``broken``: after a timeout the kept profile may be half written, so it goes too."""
        import signal
        import subprocess

        process, self._process = self._process, None
        if process is not None:
            if not broken and self._queue is not None and process.poll() is None:
                (self._queue / "stop").touch()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
            # soffice.bin can outlive the wrapper script that started it
            _kill_group(process.pid, signal.SIGKILL)
            process.wait()
        if self._group_file is not None:
            self._group_file.unlink(missing_ok=True)
            self._group_file = None
        if broken and self._profile is not None and self._profile != self._private_profile:
            if self._profile.is_dir():
                shutil.rmtree(self._profile, ignore_errors=True)
            else:
                self._profile.unlink(missing_ok=True)  # not a profile at all: the next start makes one
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None
        for folder in (self._queue, self._private_profile):
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
        self._queue = self._private_profile = self._profile = None


# The resident LibreOffice being held, innermost last (ResidentLibreOffice.__enter__).
_RESIDENT: list[ResidentLibreOffice] = []
