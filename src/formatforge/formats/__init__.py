"""Output formats, each a writer registered by name.

A writer reads the document model and writes files into the build's staging folder; the
build moves them into place. Writers never import one another: what two of them share
lives in ``formatforge.shared`` below this package (``shared.xhtml``, ``shared.speech``).
"""

from __future__ import annotations

import importlib
import os
import shutil
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar

from ..errors import FormatforgeError, MissingDependency
from ..hashing import HashingWriter
from ..options import Option, WriterOptions, options_for
from ..progress import Progress, no_progress

if TYPE_CHECKING:  # the command line reads the registry for its flags without loading the model
    from ..model import Document

# name → module under formatforge.formats; imported only when the format is asked for.
BUILTIN_FORMATS: dict[str, str] = {
    "docx": "docx",
    "large-print": "large_print",
    "large-print-pdf": "large_print_pdf",
    "epub": "epub",
    "html": "html",
    "braille": "braille",
    "audio": "audio",
    "daisy": "daisy",
    "read-aloud": "read_aloud",
}

_REGISTRY: dict[str, type["Writer"]] = {}


@dataclass(frozen=True)
class Requirement:
    """A system dependency of a format, with how to check for it and how to install it."""

    what: str
    present: Callable[[], bool]
    install_hint: str

    @staticmethod
    def command(name: str, package: str) -> "Requirement":
        return Requirement(f"{name} (command)", lambda: shutil.which(name) is not None, f"apt-get install {package}")

    @staticmethod
    def module(name: str, package: str) -> "Requirement":
        def present() -> bool:
            try:
                importlib.import_module(name)
            except Exception:
                return False
            return True

        return Requirement(f"{name} (Python module)", present, package)


@dataclass
class BuildContext:
    """What a writer gets: the model, where to write, its options, and a progress callback.

    The build hands a writer ``WriterOptions``: only the options it declared, each with its
    value or default, and reading any other raises ``UndeclaredOption``. A test that calls
    a writer directly may give a plain dict: a writer with options narrows it through its
    declaration (``Writer.options_for``), so its defaults and checks apply either way."""

    document: Document
    staging: Path  # write here only; the build moves finished files into the output folder
    options: dict[str, Any] = field(default_factory=dict)
    cache_dir: Path | None = None
    progress: Progress = no_progress
    # What the writer did, for the build's summary ("3 of 412 audio units encoded, 409 reused").
    work: list[str] = field(default_factory=list)
    # (size, SHA-256) of files the writer hashed as it wrote them whole, by relative name:
    # the build records these instead of reading the files back.
    digests: dict[str, tuple[int, str]] = field(default_factory=dict)
    # The build's ``reuse``: puts an output already in place with the given bytes at a
    # staged name, as a hard link (see ``reuse``). A writer called on its own has none.
    linker: Callable[[int, str], Path | None] | None = None

    def hashed(self, relative: str, writer: HashingWriter) -> None:
        self.digests[relative] = (writer.size, writer.digest.hexdigest())

    def reuse(self, relative: str, size: int, digest: str) -> bool:
        """Whether a file of ``size`` bytes with SHA-256 ``digest`` is already among the
        outputs in place (this format's last build or another format's); if so it is staged
        at ``relative`` as a hard link and the writer need not write it. A long book's
        section MP3s are hundreds of megabytes, and an edit changes one or two of them."""
        if self.linker is None:
            return False
        target = self.path(relative)
        existing = self.linker(size, digest)
        if existing is None:
            return False
        try:
            target.unlink(missing_ok=True)
            os.link(existing, target)
        except OSError:  # a file system without hard links: the writer writes it
            return False
        self.digests[relative] = (size, digest)
        return True

    def option(self, name: str, default: Any = None) -> Any:
        value = self.options[name] if isinstance(self.options, WriterOptions) else self.options.get(name)
        return default if value is None else value

    def path(self, relative: str) -> Path:
        target = self.staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        return target


class Writer(ABC):
    name: ClassVar[str]
    summary: ClassVar[str]  # one line for readers: who this format is for
    # Every option this writer reads (``formats.option_specs`` for the built-in ones): the
    # build passes it only these, checked and with their defaults, and keys its cache on them.
    options: ClassVar[tuple[Option, ...]] = ()
    # Writers that name the same lane run one after another in a build, in format order
    # (the speech writers share a cache); other writers may run side by side.
    lane: ClassVar[str] = ""
    # The writers that take longest (LibreOffice's export, the speech editions): their lanes
    # start first, so that the quick writers run beside them rather than before them.
    slow: ClassVar[bool] = False
    # Whether it writes into ``BuildContext.cache_dir``: the build checks the folder is
    # usable before any writer runs, so that a cache problem is reported as one.
    uses_cache: ClassVar[bool] = False

    def requirements(self) -> list[Requirement]:
        return []

    def input_files(self, document: Document, options: dict[str, Any]) -> list[Path]:
        """Files besides the source and its images whose content changes this output."""
        return []

    def options_for(self, given: dict[str, Any] | None) -> WriterOptions:
        """``given`` (a build's options, for every format) narrowed to this writer's own."""
        return options_for(self.options, given)

    def missing(self) -> list[MissingDependency]:
        return [MissingDependency(r.what, r.install_hint) for r in self.requirements() if not r.present()]

    @abstractmethod
    def output_names(self, document: Document, options: dict[str, Any]) -> list[str]:
        """The files this writer produces, relative to the output folder."""

    @abstractmethod
    def write(self, context: BuildContext) -> list[str]:
        """Write every output into ``context.staging``; return their relative names."""


def register(cls: type[Writer]) -> type[Writer]:
    _REGISTRY[cls.name] = cls
    return cls


def get_writer(name: str) -> Writer:
    if name not in _REGISTRY:
        if name not in BUILTIN_FORMATS:
            known = ", ".join(available_formats())
            raise FormatforgeError(f"unknown format {name!r}; the formats are: {known}")
        try:
            importlib.import_module(f"{__name__}.{BUILTIN_FORMATS[name]}")
        except ImportError as exc:
            raise FormatforgeError(f"the {name} format cannot load: {exc}") from exc
    return _REGISTRY[name]()


def available_formats() -> list[str]:
    """Every format name, in the order outputs are listed: built-in ones, then any other
    writer registered by a plug-in."""
    return list(BUILTIN_FORMATS) + [name for name in _REGISTRY if name not in BUILTIN_FORMATS]
