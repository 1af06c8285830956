"""Runtimes fitbench can measure with, and what is available on this machine.

A runtime turns (model, inputs, device, threads, precision) into a zero-argument callable that
runs one synchronous inference; for GPUs the call includes a device synchronise, so wall time
around it is the inference time.
"""

from __future__ import annotations

import importlib
from typing import Any

from ...errors import MeasurementError, UnknownNameError

#: name -> (import name, pip extra that brings it)
RUNTIMES: dict[str, tuple[str, str]] = {
    "onnxruntime": ("onnxruntime", "pip install fitbench (onnxruntime is a core dependency)"),
    "torch": ("torch", "pip install 'fitbench[torch]'"),
}
ALIASES = {"ort": "onnxruntime", "onnx": "onnxruntime", "pytorch": "torch"}
DEVICES = ("cpu", "cuda")


def canonical(name: str) -> str:
    """Normalise a runtime name; an unknown one is a one-line error listing the known ones."""
    key = str(name).strip().lower()
    key = ALIASES.get(key, key)
    if key not in RUNTIMES:
        raise UnknownNameError(f"unknown runtime {name!r}; known runtimes: {', '.join(RUNTIMES)}")
    return key


def require(name: str) -> str:
    """Check the runtime is installed; return its version or raise with the pip extra to install."""
    key = canonical(name)
    module, extra = RUNTIMES[key]
    try:
        mod = importlib.import_module(module)
    except ImportError:
        raise MeasurementError(f"runtime {key!r} is not installed here; install it with: {extra}") from None
    return str(getattr(mod, "__version__", "unknown"))


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
    for key, (module, extra) in RUNTIMES.items():
        row: dict[str, Any] = {
            "runtime": key,
            "available": False,
            "version": None,
            "devices": [],
            "providers": [],
            "install": extra,
        }
        try:
            mod = importlib.import_module(module)
        except ImportError:
            rows.append(row)
            continue
        row["available"] = True
        row["version"] = str(getattr(mod, "__version__", "unknown"))
        if key == "onnxruntime":
            providers = list(mod.get_available_providers())
            row["providers"] = providers
            row["devices"] = ["cpu"] + (["cuda"] if "CUDAExecutionProvider" in providers else [])
        elif key == "torch":
            row["devices"] = ["cpu"]
            row["modes"] = ["eager", "compile"]
            try:
                if mod.cuda.is_available():
                    row["devices"].append("cuda")
                    row["providers"] = [mod.cuda.get_device_name(i) for i in range(mod.cuda.device_count())]
            except Exception:  # noqa: BLE001 - a broken CUDA install still leaves CPU usable
                pass
        rows.append(row)
    return rows
