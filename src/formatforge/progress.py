"""How long-running work reports how far it has got: a fraction from 0 to 1 and a message."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def __call__(self, fraction: float, message: str = "") -> None: ...


def no_progress(fraction: float, message: str = "") -> None:
    """The progress callback of work nobody is watching."""
