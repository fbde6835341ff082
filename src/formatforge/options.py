"""Writer options, each declared once: its name, type, default, help and the values it takes.

A writer names its declarations (``Writer.options``); from them come the command line's
flags (``formatforge build``, ``watch`` and ``preview``), the defaults, the checking of a
value, and the build's cache key. A writer is handed only the options it declared
(``WriterOptions``) and asking for any other is an error, so an option that changes an
output can never be left out of that output's cache key.

The declarations live in light modules (``formats.option_specs``, ``shared.speech.options``)
rather than beside each writer's code, because the command line must know every flag
without loading the writers: the speech writers alone take seconds to import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from .errors import WriterError


class OptionError(WriterError):
    """An option's value is not one it takes (the writer that reads it reports it)."""


class UndeclaredOption(LookupError):
    """A writer read an option it did not declare: a bug in the writer, since the option
    would be missing from its cache key and a changed value would reuse stale output."""


@dataclass(frozen=True)
class Option:
    name: str  # "braille.grade": the writer family, a dot, the setting
    type: type  # int, float, str or bool
    default: Any
    help: str
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    # Command-line flags; by default one made from the name ("--braille-line-ending").
    flags: tuple[str, ...] = ()
    # For a yes/no option whose default is "neither" (None): the flags that say no.
    off_flags: tuple[str, ...] = ()
    metavar: str | None = None

    @property
    def cli_flags(self) -> tuple[str, ...]:
        return self.flags or ("--" + self.name.replace(".", "-").replace("_", "-"),)

    @property
    def parameter(self) -> str:
        """The Python name the command line's function receives the value under."""
        return "option_" + self.name.replace(".", "_")

    def convert(self, value: Any) -> Any:
        """``value`` as this option's type, checked; None stays None (the default)."""
        if value is None:
            return None
        try:
            if self.type is bool:
                converted: Any = yes_or_no(value)
            elif self.type is int and isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            else:
                converted = self.type(value)
        except (TypeError, ValueError):
            kind = {int: "a whole number", float: "a number", bool: "true or false", str: "text"}.get(self.type, self.type.__name__)
            raise OptionError(f"{self.name} must be {kind}, not {value!r}") from None
        if self.choices and converted not in self.choices:
            raise OptionError(f"{self.name} must be one of {', '.join(map(str, self.choices))}, not {value!r}")
        if self.minimum is not None and converted < self.minimum:
            raise OptionError(f"{self.name} must be at least {self.minimum:g}, not {value!r}")
        if self.maximum is not None and converted > self.maximum:
            raise OptionError(f"{self.name} must be at most {self.maximum:g}, not {value!r}")
        return converted


def yes_or_no(value: Any) -> bool:
    """A yes/no option as a config file or the command line gives it."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().casefold()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(value)


class WriterOptions(dict):
    """The options one writer declared, each with its value or default, checked.

    Reading any other name raises ``UndeclaredOption`` (also through ``get``), so a
    writer cannot depend on an option its cache key leaves out."""

    def __init__(self, declared: Iterable[Option], given: Mapping[str, Any] | None = None):
        given = dict(given or {})  # a writer's own options, narrowed again, read as plain values
        super().__init__()
        for option in declared:
            value = option.convert(given.get(option.name))
            self[option.name] = option.default if value is None else value

    def __missing__(self, name: str) -> Any:
        raise UndeclaredOption(
            f"option {name!r} is read but not declared; add it to the writer's options "
            f"so that it is part of the cache key (declared: {', '.join(self) or 'none'})"
        )

    def get(self, name: str, default: Any = None) -> Any:
        value = self[name]
        return default if value is None else value


def options_for(declared: Iterable[Option], given: Mapping[str, Any] | None) -> WriterOptions:
    """``given`` (a build's options, for every format) narrowed to ``declared``."""
    return WriterOptions(declared, given)
