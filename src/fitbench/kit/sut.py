"""The supplier's side: the Python interface a vendor implements around its SDK, and two built-in ones.

A system under test (SUT) is any object with three methods (subclass :class:`SystemUnderTest` for the
optional ones)::

    class MyChip(SystemUnderTest):
        precision = "int8"                        # what it runs at (the kit states a tolerance per precision)

        def load(self, model_path, inputs):       # inputs: {name: InputSpec(shape, dtype)}, batch included
            self.engine = my_sdk.compile(model_path, precision="int8")

        def predict(self, inputs):                # {name: numpy array of the shape above} -> outputs
            return self.engine.run(inputs)        # list in the model's output order, or {name: array}

        def device_name(self):
            return "MyChip X1 (dev board rev B)"

        def conditions(self):                     # optional: as the device reports them
            return {"sdk": "my_sdk", "sdk_version": my_sdk.__version__, "clocks": "NPU 1.2 GHz",
                    "power_mode": "MAXN"}

``predict`` is one synchronous inference of one batch: it returns when the outputs are ready (host
copies included, as an application pays them). It is what LoadGen times.

Built in: :class:`OnnxRuntimeSUT` (``--runtime onnxruntime``, through
:class:`fitbench.measure.runtimes.onnxruntime.OrtRunner`) and :class:`TorchSUT` (``--runtime torch``,
through :class:`fitbench.measure.runtimes.torch.TorchRunner`, running a PyTorch port of the model
given as ``package.module:factory``; fitbench does not convert ONNX to torch).
"""

from __future__ import annotations

import importlib.util
import platform
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .manifest import KitError

REQUIRED_CONDITIONS = ("device", "sdk", "sdk_version", "precision", "clocks", "power_mode")
NOT_REPORTED = "not reported"


@dataclass(frozen=True)
class InputSpec:
    """One model input as fed to ``predict``: its full shape (batch first) and numpy dtype name."""

    shape: tuple[int, ...]
    dtype: str


class SystemUnderTest:
    """Base class of a supplier's SUT: implement ``load``, ``predict`` and ``device_name``."""

    #: the precision the SUT runs the model at: fp32 | fp16 | bf16 | int8
    precision: str = "fp32"

    def load(self, model_path: str, inputs: Mapping[str, InputSpec]) -> None:
        raise NotImplementedError

    def predict(self, inputs: Mapping[str, np.ndarray]) -> Sequence[np.ndarray] | Mapping[str, np.ndarray]:
        raise NotImplementedError

    def device_name(self) -> str:
        raise NotImplementedError

    def conditions(self) -> dict[str, Any]:
        """SDK, version, clocks, power mode... as the device reports them (strings or numbers)."""
        return {}


def normalise_outputs(out: Any, names: Sequence[str]) -> list[np.ndarray]:
    """``predict``'s return value (a list/tuple, a dict by output name, or one array) -> arrays in ``names``
    order; a wrong count or a missing name is a one-line :class:`KitError`."""
    if isinstance(out, Mapping):
        missing = [n for n in names if n not in out]
        if missing:
            raise KitError(f"the SUT's predict returned no output named {missing[0]!r}; the model's outputs "
                           f"are {list(names)}")
        out = [out[n] for n in names]
    elif not isinstance(out, (list, tuple)):
        out = [out]
    arrays = [np.asarray(_to_numpy(o)) for o in out]
    if len(arrays) != len(names):
        raise KitError(f"the SUT's predict returned {len(arrays)} output(s); the model has {len(names)} "
                       f"({', '.join(names)})")
    return arrays


def _to_numpy(x: Any) -> Any:
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().float().cpu().numpy() if x.is_floating_point() else x.detach().cpu().numpy()
    return x


def _cpu_conditions() -> dict[str, Any]:
    """Clocks and power mode of this CPU as Linux reports them (cpufreq), else "not reported"."""
    base = Path("/sys/devices/system/cpu/cpu0/cpufreq")

    def read(name: str) -> str | None:
        try:
            return (base / name).read_text().strip()
        except OSError:
            return None

    cur, top = read("scaling_cur_freq"), read("cpuinfo_max_freq")
    clocks = (f"cpu0 {int(cur) / 1e6:.3g} GHz now, {int(top) / 1e6:.3g} GHz max (cpufreq)"
              if cur and top and cur.isdigit() and top.isdigit() else NOT_REPORTED)
    gov = read("scaling_governor")
    return {"clocks": clocks, "power_mode": f"cpufreq governor {gov}" if gov else NOT_REPORTED}


def _cpu_name() -> str:
    from ..measure.conditions import cpu_info

    return str(cpu_info()["cpu_model"] or platform.machine())


class OnnxRuntimeSUT(SystemUnderTest):
    """ONNX Runtime on this machine (CPU, or CUDA with onnxruntime-gpu), through fitbench's OrtRunner."""

    precision = "fp32"

    def __init__(self, device: str = "cpu", threads: int | None = None) -> None:
        self.device, self.threads = device, threads

    def load(self, model_path: str, inputs: Mapping[str, InputSpec]) -> None:
        from ..measure.runtimes.onnxruntime import OrtRunner

        self.runner = OrtRunner(model_path, device=self.device, threads=self.threads)
        self._run = self.runner.session.run

    def predict(self, inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        return self._run(None, dict(inputs))

    def device_name(self) -> str:
        return _cpu_name() if self.device == "cpu" else f"{self.device} (onnxruntime)"

    def conditions(self) -> dict[str, Any]:
        info = self.runner.info()
        return {"sdk": "onnxruntime", "sdk_version": info["runtime_version"], "providers": info["providers"],
                "threads": info["threads"], **_cpu_conditions()}


class TorchSUT(SystemUnderTest):
    """A PyTorch port of the kit's model (``package.module:factory`` or an ``nn.Module``), through TorchRunner."""

    def __init__(self, module: Any, device: str = "cpu", threads: int | None = None, precision: str = "fp32") -> None:
        self.module_spec, self.device, self.threads, self.precision = module, device, threads, precision

    def load(self, model_path: str, inputs: Mapping[str, InputSpec]) -> None:
        from ..graph.torch_io import load_factory
        from ..measure.runtimes.torch import TorchRunner

        module = load_factory(self.module_spec) if isinstance(self.module_spec, str) else self.module_spec
        self.runner = TorchRunner(module, device=self.device, threads=self.threads, precision=self.precision)

    def predict(self, inputs: Mapping[str, np.ndarray]) -> Any:
        return self.runner.make_call(inputs)()

    def device_name(self) -> str:
        return _cpu_name() if self.device == "cpu" else self.runner.info().get("gpu_name", self.device)

    def conditions(self) -> dict[str, Any]:
        info = self.runner.info()
        return {"sdk": "torch", "sdk_version": info["runtime_version"], "mode": info["mode"],
                "threads": info["threads"], **_cpu_conditions()}


def builtin_sut(runtime: str, device: str = "cpu", threads: int | None = None, torch_module: str | None = None,
                precision: str = "fp32") -> SystemUnderTest:
    """``--runtime onnxruntime|torch`` -> a built-in SUT (the runtime must be installed)."""
    from ..measure.runtimes import canonical, check_device, require

    rt = canonical(runtime)
    require(rt)
    device = check_device(device)
    if rt == "onnxruntime":
        if precision != "fp32":
            raise KitError("the built-in onnxruntime SUT runs the kit's fp32 model as it is; "
                           "wrap a quantised model in your own SUT (--sut FILE.py:Class)")
        return OnnxRuntimeSUT(device=device, threads=threads)
    if not torch_module:
        raise KitError("--runtime torch needs the PyTorch port of the model: --torch-module package.module:factory")
    return TorchSUT(torch_module, device=device, threads=threads, precision=precision)


def load_sut(spec: str) -> SystemUnderTest:
    """``path/to/file.py:ClassName`` -> an instance (constructed without arguments); one-line errors."""
    path, sep, cls_name = str(spec).rpartition(":")
    if not sep or not path or not cls_name:
        raise KitError(f"--sut expects PYTHON_FILE:ClassName, got {spec!r}")
    p = Path(path)
    if not p.is_file():
        raise KitError(f"--sut file {p} does not exist")
    mod_name = f"fitbench_kit_sut_{abs(hash(str(p.resolve())))}"
    loader = importlib.util.spec_from_file_location(mod_name, p)
    if loader is None or loader.loader is None:
        raise KitError(f"--sut file {p} is not a Python file")
    module = importlib.util.module_from_spec(loader)
    sys.modules[mod_name] = module
    try:
        loader.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - the supplier's code: report it as one line
        raise KitError(f"--sut file {p} failed to import: {type(exc).__name__}: {exc}") from None
    cls = getattr(module, cls_name, None)
    if cls is None:
        raise KitError(f"--sut file {p} has no {cls_name!r}")
    try:
        sut = cls()
    except Exception as exc:  # noqa: BLE001
        raise KitError(f"{cls_name}() failed: {type(exc).__name__}: {exc}") from None
    for method in ("load", "predict", "device_name"):
        if not callable(getattr(sut, method, None)):
            raise KitError(f"{cls_name} lacks the method {method}(); see docs/kit.md for the SUT interface")
    return sut
