"""`formatforge preview`: build, serve the outputs folder on 127.0.0.1, rebuild on save, and
put the check's messages at the top of every page while the master has errors (issue 17
point 9).

Only the loopback address is ever bound: the preview is for the person editing, not a web
server. Hidden files (the lock, staging folders) are never served.
"""

from __future__ import annotations

import threading
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlsplit

import lxml.html
from lxml.html.builder import E

from .build import CheckFailed, build
from .errors import FormatforgeError
from .library import build_library, is_library
from .watch import resident, watched_state

HOST = "127.0.0.1"
BANNER_STYLE = (
    "border:3px solid #b00020;background:#fff4f4;color:#1a1a1a;padding:1rem;margin:0 0 1rem;"
    "font-family:Arial,sans-serif;font-size:1rem;line-height:1.5"
)


class Problems:
    """What the last build found wrong, shared between the builder and the server."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lines: list[str] = []
        self.builds = 0  # finished builds, for anyone waiting on a rebuild

    def set(self, lines: list[str]) -> None:
        with self.lock:
            self.lines = list(lines)
            self.builds += 1

    def get(self) -> list[str]:
        with self.lock:
            return list(self.lines)


def diagnostic_lines(diagnostics) -> list[str]:
    return [f"{d.path}:{d.line}: {d.severity} {d.rule} {d.message}" for d in diagnostics if d.severity == "error"]


def rebuild(source: Path, output: Path, formats: list[str] | None, cache: Path, options: dict | None = None,
            reader=None) -> list[str]:
    """One build; returns the problems to show (empty when all went well). Never raises for
    a bad edit: the preview goes on. ``reader``: the resident one that keeps unchanged
    masters' models (``watch.resident``)."""
    lines: list[str] = []
    try:
        if is_library([source]):
            library = build_library([source], output, formats, options, cache, reader=reader)
            for folder, problem in library.failed.items():
                lines += diagnostic_lines(problem.diagnostics) if isinstance(problem, CheckFailed) else []
                lines.append(f"{folder}: not built: {problem}")
            reports = list(library.documents.values())
        else:
            reports = [build(source, output, formats, options, cache, reader=reader)]
        for report in reports:
            lines += [f"{r.name} failed: {r.message}" for r in report.results if r.status == "failed"]
    except CheckFailed as exc:
        lines = diagnostic_lines(exc.diagnostics) + [str(exc)]
    except FormatforgeError as exc:
        lines = [str(exc)]
    except Exception as exc:  # noqa: BLE001 - a bad edit must never end the preview
        lines = [f"internal error: {type(exc).__name__}: {exc}"]
    return lines


def banner(lines: list[str]) -> bytes:
    """The problems as a section for the top of every page; built with lxml, so a message
    quoting the master (a heading's words, a path) is always text, never markup."""
    section = E.section({"role": "alert", "aria-labelledby": "formatforge-problems", "style": BANNER_STYLE},
                        E.h2({"id": "formatforge-problems"},
                             "The master has errors: these pages are from the last good build"),
                        E.ul(*(E.li(line) for line in lines)),
                        E.p("Fix them and save; this page shows the new build when you reload it."))
    return lxml.html.tostring(section, encoding="utf-8")


def problems_page(lines: list[str]) -> bytes:
    page = E.html({"lang": "en"},
                  E.head(E.meta({"charset": "utf-8"}), E.title("formatforge preview: errors")),
                  E.body(E.main(E.h1("formatforge preview"), lxml.html.fromstring(banner(lines)))))
    return lxml.html.tostring(page, doctype="<!DOCTYPE html>", encoding="utf-8") + b"\n"


class Handler(SimpleHTTPRequestHandler):
    problems: Problems

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass  # the terminal is for build messages

    def do_GET(self) -> None:  # noqa: N802 - the base class's name
        path = unquote(urlsplit(self.path).path)
        if any(part.startswith(".") for part in path.split("/") if part):
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        lines = self.problems.get()
        target = Path(self.translate_path(self.path))
        if target.is_dir():
            target = target / "index.html"
        if lines and (target.suffix == ".html" or not target.exists()) and path.endswith(("/", ".html")):
            body = target.read_bytes() if target.is_file() else problems_page(lines)
            if target.is_file():
                at = body.find(b">", body.find(b"<body")) + 1 if b"<body" in body else 0
                body = body[:at] + banner(lines) + body[at:]
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")  # a reload always shows the latest build
        super().end_headers()


def serve(
    source: Path,
    output: Path,
    formats: list[str] | None,
    cache: Path,
    port: int = 8000,
    interval: float = 1.0,
    say: Callable[[str], None] = print,
    stop: threading.Event | None = None,
    options: dict | None = None,
) -> None:
    """Builds (with the writer ``options``, as ``build`` takes them), serves ``output`` on 127.0.0.1:``port`` (0: any free port), and rebuilds
    whenever the master (or a file beside it) changes, until ``stop`` is set or Ctrl+C."""
    output.mkdir(parents=True, exist_ok=True)
    problems = Problems()
    handler = type("PreviewHandler", (Handler,), {"problems": problems})
    server = ThreadingHTTPServer((HOST, port), partial(handler, directory=str(output)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stop = stop or threading.Event()
    try:
        with resident() as reader:  # unchanged masters' models, LibreOffice and the speech workers, kept round the loop
            _loop(source, output, formats, cache, options, interval, say, stop, problems, server, reader)
    finally:
        server.shutdown()
        server.server_close()


def _loop(source, output, formats, cache, options, interval, say, stop, problems, server, reader) -> None:
    last = None
    announced = False
    while not stop.is_set():
        state = watched_state(source, output)
        if state != last:
            last = state
            lines = rebuild(source, output, formats, cache, options, reader)
            problems.set(lines)
            for line in lines:
                say(f"error: {line}")
            if not announced:
                say(f"Previewing {output}/ at http://{HOST}:{server.server_address[1]}/ (Ctrl+C to stop)")
                announced = True
            else:
                say("rebuilt" + (f" with {len(lines)} problem(s)" if lines else ""))
        stop.wait(interval)
