"""Runtimes fitbench can measure with, and what is available on this machine.

A runtime turns (model, inputs, device, threads, precision) into a zero-argument callable that
runs one synchronous inference; for GPUs the call includes a device synchronise, so wall time
around it is the inference time. Each runtime is a :class:`.base.Runtime` in the registry below
(``get(name)``); nothing else in :mod:`fitbench.measure` branches on a runtime's name.
"""

from __future__ import annotations

from typing import Any

from ...errors import MeasurementError, UnknownNameError
from .base import PreparedRun, Runtime

__all__ = ["Runtime", "PreparedRun", "REGISTRY", "register", "get", "canonical", "require", "check_device",
           "require_device", "runtime_status", "DEVICES"]

#: canonical name -> runtime, in the order ``fitbench runtimes`` lists them
REGISTRY: dict[str, Runtime] = {}
_ALIASES: dict[str, str] = {}
DEVICES = ("cpu", "cuda")


def register(rt: Runtime) -> Runtime:
    """Add a runtime (its name and aliases) to the registry."""
    REGISTRY[rt.name] = rt
    for alias in rt.aliases:
        _ALIASES[alias] = rt.name
    return rt


def canonical(name: str) -> str:
    """Normalise a runtime name; an unknown one is a one-line error listing the known ones."""
    key = str(name).strip().lower()
    key = _ALIASES.get(key, key)
    if key not in REGISTRY:
        raise UnknownNameError(f"unknown runtime {name!r}; known runtimes: {', '.join(REGISTRY)}")
    return key


def get(name: str) -> Runtime:
    """The registered runtime for ``name`` (or an alias)."""
    return REGISTRY[canonical(name)]


def require(name: str) -> str:
    """Check the runtime is installed; return its version or raise with the pip extra to install."""
    return get(name).version()


def check_device(device: str) -> str:
    key = str(device).strip().lower()
    if key.startswith("cuda:"):
        return key
    if key not in DEVICES:
        raise UnknownNameError(f"unknown device {device!r}; use cpu or cuda")
    return key


def require_device(runtime: str, device: str) -> None:
    """Refuse, before any child starts, a device the runtime cannot use here (``--device cuda`` on a machine
    without a GPU, or with onnxruntime built without its CUDA provider): one line, not a failure table."""
    if device == "cpu":
        return
    row = next((r for r in runtime_status() if r["runtime"] == canonical(runtime)), None)
    if row is None or device.split(":")[0] not in row["devices"]:
        have = ", ".join(row["devices"]) if row else "none"
        raise MeasurementError(f"--device {device}: {canonical(runtime)} has no {device.split(':')[0]} device here "
                               f"(devices: {have}); see fitbench runtimes")


def runtime_status() -> list[dict[str, Any]]:
    """One row per runtime: installed?, version, providers / devices, and how to install it."""
    rows = []
    for key, rt in REGISTRY.items():
        row: dict[str, Any] = {
            "runtime": key,
            "available": False,
            "version": None,
            "devices": [],
            "providers": [],
            "install": rt.install,
        }
        try:
            mod = rt.import_module()
        except MeasurementError:
            rows.append(row)
            continue
        row["available"] = True
        row["version"] = str(getattr(mod, "__version__", "unknown"))
        row.update(rt.devices(mod))
        rows.append(row)
    return rows


def _register_builtins() -> None:
    from .onnxruntime import OnnxRuntime
    from .torch import TorchRuntime

    register(OnnxRuntime())
    register(TorchRuntime())


_register_builtins()
