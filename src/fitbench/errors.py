"""Errors that fitbench reports to the user as one clear line (and exit code 2 from the CLI).

Every problem caused by the user's input (a bad file, an unbound dim, a bad spec) raises a
subclass of :class:`FitbenchError`; the CLI prints ``error: <message>`` on stderr and exits 2.
Anything else is a bug in fitbench and is allowed to show a traceback.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


class FitbenchError(Exception):
    """Base class: a user-facing error with a one-line message."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        # keep it one line whatever the underlying library said
        super().__init__(" ".join(str(message).split()))

    @property
    def message(self) -> str:
        return str(self)


class ModelLoadError(FitbenchError):
    """The model file is missing, empty, malformed, truncated or escapes its folder."""


class ShapeError(FitbenchError):
    """Shapes cannot be bound or inferred: unbound dims, bad dims, overflow, inference failure."""


class UncostedOpError(FitbenchError):
    """Raised in strict mode when the graph contains ops with no cost rule."""


class UnknownNameError(FitbenchError):
    """An unknown zoo model, hardware spec or runtime name."""


class SpecError(FitbenchError):
    """A hardware spec or sweep spec is invalid."""


class MeasurementError(FitbenchError):
    """A measurement could not be run (runtime missing, memory guard, child failure)."""


class OutputError(FitbenchError):
    """An output file or folder cannot be written (no such folder, not a folder, no permission, disk full)."""


@contextlib.contextmanager
def writing(path: str | os.PathLike[str]) -> Iterator[None]:
    """Turn an :class:`OSError` raised while writing ``path`` into a one-line :class:`OutputError`."""
    try:
        yield
    except OSError as exc:
        raise OutputError(f"cannot write {os.fspath(path)}: {exc.strerror or exc}") from None
