"""The command line: parses options, calls the library, prints results. Nothing else."""

from __future__ import annotations

import gc

# A build makes many objects and frees few until the end, so the collector's default of a
# pass every 700 allocations spends about 5 % of a Word build finding nothing to free.
gc.set_threshold(100_000, 50, 50)

import functools
import inspect
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal, NoReturn, Optional

import typer

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from .build import BuildReport, FormatResult
    from .reader import Diagnostic

# Each command imports what it uses when it runs (issue 21 point 7): `--version` needs none
# of the build chain, `check` no writer, `formats` no reader.
from . import __version__
from .cache_folder import default_cache_dir
from .errors import FormatforgeError
from .formats.option_specs import BUILTIN_OPTIONS
from .options import Option

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Turn one Markdown master into every accessible format.",
    pretty_exceptions_enable=False,
)


class LazyConsole:
    """A rich console made on first use: a quiet build never pays for importing rich."""

    def __init__(self, **options):
        self.options = options
        self.console = None

    def get(self):
        if self.console is None:
            from rich.console import Console

            self.console = Console(**self.options)
        return self.console

    def __getattr__(self, name):
        return getattr(self.get(), name)


def Table(**options):
    from rich.table import Table as RichTable

    return RichTable(**options)


out = LazyConsole()
err = LazyConsole(stderr=True, soft_wrap=True)

# A folder of masters (issue 17 point 1): each builds into outputs/<its name>/, with a
# catalogue at outputs/index.html. One file given on its own builds straight into outputs/.
DEFAULT_SOURCE = Path("source")
DEFAULT_OUTPUTS = Path("outputs")
CACHE_HELP = ("Where synthesised speech and LibreOffice's profile are kept "
              "(default: $XDG_CACHE_HOME/formatforge or ~/.cache/formatforge).")


class State:
    debug = False


def fail(exc: BaseException, code: int = 1) -> NoReturn:
    if State.debug:
        raise exc
    err.print(f"[bold red]error:[/] {exc}", highlight=False)
    raise typer.Exit(code)


def print_diagnostics(diagnostics: list[Diagnostic]) -> None:
    for d in diagnostics:
        colour = "red" if d.severity == "error" else "yellow"
        err.print(f"{d.path}:{d.line}: [{colour}]{d.severity}[/] [bold]{d.rule}[/] {d.message}", highlight=False)


class RichObserver:
    """Progress bars, one per format, with a time estimate for the slow ones."""

    def __init__(self, progress: Progress):
        self.bars = progress
        self.tasks: dict[str, TaskID] = {}

    def started(self, name: str) -> None:
        self.tasks[name] = self.bars.add_task(name, total=1.0)

    def progress(self, name: str, fraction: float, message: str) -> None:
        self.bars.update(self.tasks[name], completed=min(max(fraction, 0.0), 1.0), description=f"{name} {message}".strip())

    def finished(self, result: FormatResult) -> None:
        self.bars.update(self.tasks[result.name], completed=1.0, description=f"{result.name}: {result.status}")


def print_report(report: BuildReport, quiet: bool) -> None:
    for result in report.results:
        if result.status == "failed":
            err.print(f"[bold red]{result.name} failed:[/] {result.message}", highlight=False)
            if State.debug and result.detail:
                err.print(result.detail, highlight=False)
    if quiet:
        return
    table = Table(title=f"Built into {report.out_dir}/", title_justify="left")
    table.add_column("format")
    table.add_column("status")
    table.add_column("seconds", justify="right")
    table.add_column("files")
    for result in report.results:
        table.add_row(result.name, result.status, f"{result.seconds:.2f}", ", ".join(result.files[:3]) + (" …" if len(result.files) > 3 else ""))
    out.print(table)
    for result in report.results:
        if result.status == "built" and result.work:
            out.print(f"{result.name}: {result.work}", highlight=False)
    if all(r.status == "up to date" for r in report.results):
        out.print("Nothing changed since the last build: no work done.")
    # Notes from the writers (the speech writers share one about the voice): each said once.
    for note in dict.fromkeys(r.message for r in report.results if r.status != "failed" and r.message):
        out.print(f"Note: {note}.", highlight=False)


def print_version(value: bool) -> None:
    if value:
        print(f"formatforge {__version__}")  # plain: rich's console alone costs more than the rest
        raise typer.Exit(0)


@app.callback()
def main_options(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    version: bool = typer.Option(False, "--version", callback=print_version, is_eager=True, help="Print the version and exit."),
) -> None:
    State.debug = debug


def typer_option(option: Option) -> Any:
    """The command-line flag for a writer option, from its one declaration."""
    help_text = option.help
    if option.default is not None and option.default is not False and "default" not in help_text:
        shown = f"{option.default:g}" if isinstance(option.default, float) else (
            repr(option.default) if not str(option.default).isprintable() else str(option.default))
        help_text = help_text.removesuffix(".") + f" (default: {shown})."
    extra: dict[str, Any] = {}
    if option.type in (int, float) and not option.choices:
        extra.update(min=option.minimum, max=option.maximum)
    flags = option.cli_flags
    if option.type is bool and option.off_flags:
        flags = ("/".join((flags[0], option.off_flags[0])), *flags[1:])
    if option.metavar:
        extra["metavar"] = option.metavar
    return typer.Option(None, *flags, help=help_text, show_default=False, **extra)


def writer_options() -> list[Option]:
    """Every built-in writer's options, each once, in the order the formats are listed."""
    unique: dict[str, Option] = {}
    for declared in BUILTIN_OPTIONS.values():
        for option in declared:
            unique.setdefault(option.name, option)
    return list(unique.values())


def with_writer_options(command: Callable[..., None]) -> Callable[..., None]:
    """Gives ``command`` a flag for every writer option (made from its declaration) and
    calls it with the ones given as ``options``, keyed by option name."""
    declared = writer_options()
    own = [p for name, p in inspect.signature(command).parameters.items() if name != "options"]
    flags = [
        inspect.Parameter(o.parameter, inspect.Parameter.KEYWORD_ONLY, default=typer_option(o),
                          # a choice as typer offers one (the build turns "2" back into 2)
                          annotation=Optional[Literal[tuple(str(c) for c in o.choices)] if o.choices else o.type])
        for o in declared
    ]

    @functools.wraps(command)
    def run(**values: Any) -> None:
        given = {option.name: values.pop(option.parameter) for option in declared}
        options = {name: value for name, value in given.items() if value is not None}
        from .shared.speech import publishing_engine

        options.setdefault("audio.engine", publishing_engine())
        command(**values, options=options)

    run.__signature__ = inspect.Signature(own + flags)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in own + flags}
    return run


@app.command("build")
@with_writer_options
def build_command(
    sources: Optional[list[Path]] = typer.Argument(
        None, help="Markdown masters, or folders of them (default: source/). One file builds into the output folder itself; "
        "a folder or several files build a library: each into its own folder, with a catalogue.", show_default=False,
    ),
    output: Path = typer.Option(DEFAULT_OUTPUTS, "-o", "--output", help="Folder to write the outputs into."),
    formats: Optional[list[str]] = typer.Option(None, "-f", "--format", help="A format to build (repeatable); all by default."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help=CACHE_HELP),
    force: bool = typer.Option(False, "--force", help="Rebuild even what is up to date."),
    jobs: Optional[int] = typer.Option(None, "-j", "--jobs", min=1, help="Writers to run side by side (default: one per core)."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Print only errors (for CI)."),
    options: Optional[dict[str, Any]] = None,
) -> None:
    """Build every format (or those given with -f) of each master into the output folder."""
    from .build import CheckFailed, build
    from .formats import available_formats

    options = options or {}
    for name in formats or []:
        if name not in available_formats():
            err.print(f"error: unknown format {name!r}; the formats are: {', '.join(available_formats())}")
            raise typer.Exit(2)
    sources = list(sources or [DEFAULT_SOURCE])
    cache = cache_dir or default_cache_dir()
    from .library import LibraryReport, build_library, is_library

    library = is_library(sources)

    def run(observer: "RichObserver | None") -> "BuildReport | LibraryReport":
        if library:
            return build_library(sources, output, formats, options, cache, observer=observer, force=force, jobs=jobs)
        return build(sources[0], output, formats, options, cache, observer=observer, force=force, jobs=jobs)

    try:
        if quiet or not sys.stderr.isatty() and not sys.stdout.isatty():
            result = run(None)
        else:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), TimeRemainingColumn())
            with Progress(*columns, console=err.get(), transient=False) as bars:
                result = run(RichObserver(bars))
    except CheckFailed as exc:
        print_diagnostics(exc.diagnostics)
        fail(exc)
    except FormatforgeError as exc:
        fail(exc)
    reports = list(result.documents.values()) if isinstance(result, LibraryReport) else [result]
    for report in reports:
        if not quiet:
            print_diagnostics(report.diagnostics)
        print_report(report, quiet)
    if isinstance(result, LibraryReport):
        for folder, problem in result.failed.items():
            if isinstance(problem, CheckFailed):
                print_diagnostics(problem.diagnostics)
            err.print(f"[bold red]{folder} not built:[/] {problem}", highlight=False)
        if result.skipped and not quiet:
            out.print(f"Unchanged since the last build: {', '.join(result.skipped)}", highlight=False)
        if not quiet:
            out.print(f"Catalogue: {output / 'index.html'}", highlight=False)
    if not result.ok:
        raise typer.Exit(1)


@app.command("check")
def check_command(
    source: Path = typer.Argument(DEFAULT_SOURCE, help="The Markdown master, or a folder of them."),
    explain_rule: Optional[str] = typer.Option(
        None, "--explain", metavar="RULE", help="Explain a rule (such as M1): why it matters and how to fix it."
    ),
) -> None:
    """Check the source against the rules (M1–M11, S1–S3); exit 1 if any error is found."""
    from .errors import SourceProblems
    from .source_rules import RULES, check, errors, explain
    from .reader import read_source

    if explain_rule is not None:
        if explain_rule.upper() not in RULES:
            err.print(f"no rule {explain_rule!r}; the rules are {', '.join(RULES)}", highlight=False)
            raise typer.Exit(2)
        print(explain(explain_rule), end="")
        return
    try:
        if source.is_dir():
            from .library import masters_in  # the library module brings the build chain

            masters = masters_in([source])
        else:
            masters = [source]
    except FormatforgeError as exc:
        fail(exc)
    failed = False
    for master in masters:
        try:
            diagnostics = check(read_source(master))
        except SourceProblems as exc:
            diagnostics = exc.diagnostics
        except FormatforgeError as exc:
            fail(exc)
        print_diagnostics(diagnostics)
        found = errors(diagnostics)
        warnings = len(diagnostics) - len(found)
        err.print(f"{master}: {len(found)} error(s), {warnings} warning(s)", highlight=False)
        failed = failed or bool(found)
    if failed:
        raise typer.Exit(1)


@app.command("formats")
def formats_command() -> None:
    """List each format, its output files, and whether its system dependencies are present."""
    from .formats import available_formats, get_writer
    from .model import Document, Metadata

    table = Table(title="Formats")
    for column in ("format", "outputs", "for", "dependencies"):
        table.add_column(column)
    empty = Document(Metadata(title="", language=""), (), source_path=Path("<name>.md"))
    for name in available_formats():
        try:
            writer = get_writer(name)
        except (FormatforgeError, ImportError) as exc:
            table.add_row(name, "", "", f"[red]unavailable: {exc}[/]")
            continue
        missing = writer.missing()
        deps = "[green]present[/]" if not missing else "[red]" + "; ".join(str(m) for m in missing) + "[/]"
        table.add_row(name, ", ".join(writer.output_names(empty, {})), writer.summary, deps)
    out.print(table)


@app.command("publish")
def publish_command(
    outputs: Path = typer.Argument(DEFAULT_OUTPUTS, help="A built outputs folder."),
    to: str = typer.Option(..., "--to", help="A local or mounted folder, or an rclone remote such as drive:Accessible"),
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would be sent; change nothing."),
) -> None:
    """Send changed files to a shared folder or rclone remote; the manifest goes last."""
    from .publish import publish

    if not to.strip():
        raise typer.BadParameter("give a folder or an rclone remote such as drive:Accessible, not an empty text", param_hint="--to")
    try:
        report = publish(outputs, to, dry_run=dry_run)
    except FormatforgeError as exc:
        fail(exc)
    except OSError as exc:
        fail(FormatforgeError(f"publishing stopped: {exc.strerror or exc}; the previous version is still published"))
    verb = "would send" if dry_run else "sent"
    for relative in report.sent:
        out.print(f"{verb} {relative}", highlight=False)
    for relative in report.removed:
        out.print(f"{'would remove' if dry_run else 'removed'} {relative} (no longer built)", highlight=False)
    for folder, part in report.documents.items():  # a library: the plan per document
        out.print(
            f"{folder}/: {len(part.sent)} {verb}, {len(part.removed)} {'to remove' if dry_run else 'removed'}, "
            f"{len(part.unchanged)} unchanged", highlight=False,
        )
    out.print(f"{report.destination}: {len(report.sent)} {verb}, {len(report.unchanged)} unchanged", highlight=False)


@app.command("validate")
def validate_command(
    outputs: Path = typer.Argument(DEFAULT_OUTPUTS, help="A built outputs folder."),
    allow_missing: bool = typer.Option(
        False, "--allow-missing", help="Pass even when a validator that applies is not installed (it is still listed)."
    ),
) -> None:
    """Run every validator that applies on a built outputs folder; exit 1 on any error, or
    when a validator that applies is not installed (unless --allow-missing)."""
    from .validate import missing, validate_outputs

    try:
        results = validate_outputs(outputs)
    except FormatforgeError as exc:
        fail(exc)
    table = Table(title=f"Validation of {outputs}/")
    for column in ("file", "validator", "errors", "warnings"):
        table.add_column(column)
    for result in results:
        table.add_row(str(result.file), result.validator, str(result.errors), str(result.warnings))
    out.print(table)
    for result in results:
        for message in result.messages[:20]:
            err.print(f"{result.file}: {result.validator}: {message}", highlight=False)
    absent = missing(results)
    for result in absent:
        err.print(f"[yellow]not run:[/] {result.validator}: {result.messages[0].text if result.messages else ''}", highlight=False)
    if any(result.errors for result in results):
        raise typer.Exit(1)
    if absent and not allow_missing:
        err.print(
            f"error: {len(absent)} validator(s) that apply are not installed, so these files were not fully checked; "
            "install them as shown above, or give --allow-missing to pass without them",
            highlight=False,
        )
        raise typer.Exit(1)


@app.command("catalogue")
def catalogue_command(output: Path = typer.Argument(DEFAULT_OUTPUTS, help="An outputs folder of built document folders.")) -> None:
    """Write the catalogue (index.html) and library manifest over document folders built
    elsewhere, such as one CI job per master; builds nothing."""
    from .library import write_library_of

    try:
        folders = write_library_of(output)
    except FormatforgeError as exc:
        fail(exc)
    out.print(f"{output / 'index.html'}: {len(folders)} document(s): {', '.join(folders)}", highlight=False)


@app.command("cache")
def cache_command(
    action: str = typer.Argument("show", help="show: what the speech cache holds; prune: remove the least recently used entries down to --max-size."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help=CACHE_HELP),
    max_size: str = typer.Option("2G", "--max-size", help="prune: the size to bring the speech cache under, such as 500M or 2G."),
) -> None:
    """Show the speech cache's size and entries, or prune it."""
    from .shared.speech.cache import SpeechCache, parse_size

    cache = SpeechCache((cache_dir or default_cache_dir()) / "speech")
    if action not in ("show", "prune"):
        fail(FormatforgeError(f"unknown cache action {action!r}; the actions are: show, prune"), 2)
    if action == "prune":
        try:
            removed, freed = cache.prune(parse_size(max_size))
        except ValueError as exc:
            fail(FormatforgeError(str(exc)), 2)
        out.print(f"removed {removed} entries ({freed / 1e6:.1f} MB)", highlight=False)
    usage = cache.usage()
    out.print(f"{cache.folder}: {usage.total_bytes / 1e6:.1f} MB; {usage.sentences} sentences "
              f"({usage.sentence_bytes / 1e6:.1f} MB), {usage.sections} encoded audio units "
              f"({usage.section_bytes / 1e6:.1f} MB)", highlight=False)


@app.command("preview")
@with_writer_options
def preview_command(
    source: Path = typer.Argument(DEFAULT_SOURCE, help="The Markdown master, or a folder of them."),
    output: Path = typer.Option(DEFAULT_OUTPUTS, "-o", "--output"),
    formats: Optional[list[str]] = typer.Option(None, "-f", "--format", help="A format to build, repeatable (default: html)."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port on 127.0.0.1 (0: any free port)."),
    interval: float = typer.Option(1.0, "--interval", help="Seconds between looks at the source."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help=CACHE_HELP),
    options: Optional[dict[str, Any]] = None,
) -> None:
    """Build, serve the outputs on 127.0.0.1, and rebuild on every save (Ctrl+C to stop).
    While the master has errors, every page shows them at the top."""
    from .preview import serve

    try:
        serve(source, output, formats or ["html"], cache_dir or default_cache_dir(), port, interval,
              say=lambda line: print(line, flush=True), options=options)
    except OSError as exc:
        fail(FormatforgeError(f"cannot serve on 127.0.0.1:{port}: {exc.strerror or exc}; try another --port"))


@app.command("watch")
@with_writer_options
def watch_command(
    source: Path = typer.Argument(DEFAULT_SOURCE, help="The Markdown master, or a folder of them."),
    output: Path = typer.Option(DEFAULT_OUTPUTS, "-o", "--output"),
    formats: Optional[list[str]] = typer.Option(None, "-f", "--format"),
    interval: float = typer.Option(1.0, "--interval", help="Seconds between looks at the source."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help=CACHE_HELP),
    options: Optional[dict[str, Any]] = None,
) -> None:
    """Rebuild whenever the master or its images change (Ctrl+C to stop). The process stays
    resident: unchanged masters are not parsed again, and LibreOffice and the speech workers
    (with their voice loaded) are kept running."""
    import time

    from .build import CheckFailed, build
    from .library import build_library, is_library
    from .watch import resident, watched_state

    cache = cache_dir or default_cache_dir()
    last = None
    with resident() as reader:
        while True:
            state = watched_state(source, output)
            if state != last:
                last = state
                try:
                    if is_library([source]):
                        library = build_library([source], output, formats, options, cache, reader=reader)
                        for report in library.documents.values():
                            print_report(report, quiet=False)
                        for folder, problem in library.failed.items():
                            if isinstance(problem, CheckFailed):
                                print_diagnostics(problem.diagnostics)
                            err.print(f"[bold red]{folder} not built:[/] {problem}", highlight=False)
                    else:
                        report = build(source, output, formats, options, cache, reader=reader)
                        print_report(report, quiet=False)
                except CheckFailed as exc:
                    print_diagnostics(exc.diagnostics)
                except FormatforgeError as exc:
                    err.print(f"[bold red]error:[/] {exc}", highlight=False)
                except Exception as exc:  # noqa: BLE001 - a bad edit must never end the watch
                    err.print(f"[bold red]error:[/] internal error: {type(exc).__name__}: {exc}", highlight=False)
                out.print(f"watching {source} for changes…", highlight=False)
            time.sleep(interval)


class Stopped(BaseException):
    """SIGTERM or SIGHUP (a CI job's time limit, a closed terminal), taken as Ctrl-C is: the
    build or watch ends through its clean-up, so that no LibreOffice or speech worker is left
    running and no temporary folder behind. Its argument is the signal's number. Not a
    KeyboardInterrupt, which typer turns into exit status 130 on its way out."""


def _stop_on_signals() -> None:
    import signal

    def stop(number: int, frame: object) -> None:
        raise Stopped(number)

    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None and signal.getsignal(number) is signal.SIG_DFL:  # not under nohup
            signal.signal(number, stop)


def main() -> None:
    _stop_on_signals()
    try:
        app()
    except SystemExit as exit_request:
        leave(exit_request.code)
    except Stopped as stopped:
        err.print("stopped; previous outputs are intact")
        leave(128 + stopped.args[0])
    except KeyboardInterrupt:
        err.print("interrupted; previous outputs are intact")
        leave(130)
    leave(0)


def leave(code: int | str | None) -> NoReturn:
    """Exits without Python's interpreter teardown. Freeing every module and object at exit
    took about 40 ms, a sixth of a Word build, after every output was already written and
    closed. The exit handlers still run (thread joins, temporary folder clean-up), and the
    exit status is the one ``sys.exit(code)`` would give."""
    import atexit
    import os

    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed pipe: nobody is reading
    os._exit(code or 0)


if __name__ == "__main__":
    main()
