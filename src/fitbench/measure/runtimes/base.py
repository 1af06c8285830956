"""The :class:`Runtime` interface: what fitbench needs from a runtime it measures with.

A runtime has a name (and aliases), a version (from its installed package), the devices it can use here,
the precisions it runs, a ``prepare`` step in the parent (model argument -> what the child loads, plus any
precision conversion) and a ``runner`` built in the child (a ``make_call(arrays)`` giving a zero-argument
synchronous inference call, and ``info()``). Adding a runtime is one subclass registered in
:mod:`fitbench.measure.runtimes`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...errors import MeasurementError

if TYPE_CHECKING:
    from ..prepare import Prepared
    from ..settings import ModelArgs, RunSettings


@dataclass
class PreparedRun:
    """What ``Runtime.prepare`` hands back: the prepared model, the precision it will run at and how it got
    there (``conversion``, recorded in the result's conditions)."""

    prep: Prepared
    precision: str
    conversion: dict[str, Any] = field(default_factory=dict)


class Runtime:
    """Base class of a measurable runtime; subclasses set the class attributes and the two steps."""

    name: str = ""
    aliases: tuple[str, ...] = ()
    #: the import name of its package, and how to install it
    module: str = ""
    install: str = ""
    precisions: tuple[str, ...] = ("fp32",)
    #: precision -> the one-line refusal when asked for a precision it does not run
    refusals: dict[str, str] = {}

    def import_module(self):
        """The runtime's package; raises with the install hint when it is not installed."""
        try:
            return importlib.import_module(self.module)
        except ImportError:
            raise MeasurementError(
                f"runtime {self.name!r} is not installed here; install it with: {self.install}"
            ) from None

    def version(self) -> str:
        return str(getattr(self.import_module(), "__version__", "unknown"))

    def check_precision(self, precision: str) -> None:
        if precision not in self.precisions:
            raise MeasurementError(
                self.refusals.get(precision)
                or f"the {self.name} runtime does not run {precision} ({', '.join(self.precisions)})"
            )

    def devices(self, mod: Any) -> dict[str, Any]:
        """``{"devices": [...], "providers": [...], ...}`` for the installed package ``mod``."""
        return {"devices": ["cpu"], "providers": []}

    def prepare(self, model: Any, batch: int | None, src: ModelArgs, run: RunSettings, cache: Any) -> PreparedRun:
        raise NotImplementedError

    def runner(self, job: dict[str, Any]) -> Any:
        """In the child: the runner for ``job`` (``make_call(arrays)``, ``info()``)."""
        raise NotImplementedError
