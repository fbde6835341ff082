"""Errors a user can act on: each says what is wrong and where."""

from __future__ import annotations

from pathlib import Path


class FormatforgeError(Exception):
    """An error shown to the user as one readable message, never as a traceback."""

    def __init__(self, message: str, path: Path | str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line

    @property
    def location(self) -> str:
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}" if self.line else str(self.path)

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class SourceError(FormatforgeError):
    """The Markdown master cannot be read or breaks a rule that stops the build."""


class MissingDependency(FormatforgeError):
    """A system tool or library a format needs is not installed."""

    def __init__(self, what: str, install_hint: str):
        super().__init__(f"{what} is not installed; install it with: {install_hint}")
        self.what = what
        self.install_hint = install_hint


class WriterError(FormatforgeError):
    """A writer could not produce its output."""


class SourceProblems(SourceError):
    """Several findings about the source at once (each a Diagnostic), found before parsing."""

    def __init__(self, message: str, diagnostics: list, path: Path | str | None = None, line: int | None = None):
        super().__init__(message, path, line)
        self.diagnostics = list(diagnostics)

