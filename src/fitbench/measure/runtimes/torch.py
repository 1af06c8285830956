"""PyTorch runtime: eager or ``torch.compile``; CPU or CUDA; fp32 / fp16 / bf16.

The model is a user ``nn.Module`` or a builder from :mod:`.torch_models` (no ONNX conversion).
GPU timing: every call ends with ``torch.cuda.synchronize()``, so host wall time around the call
is the device time; host-to-device input copies are inside the timer when ``include_h2d`` (the
default, as an application pays them) and done once beforehand otherwise. Both are recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import MeasurementError
from .base import PreparedRun, Runtime

if TYPE_CHECKING:
    from ..settings import ModelArgs, RunSettings

_DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


class TorchRunner:
    def __init__(
        self,
        module: Any,
        *,
        device: str = "cpu",
        threads: int | None = None,
        precision: str = "fp32",
        compile: bool = False,
        include_h2d: bool = True,
    ) -> None:
        import torch

        self.torch = torch
        if precision not in _DTYPES:
            raise MeasurementError(
                f"torch runtime supports precision {', '.join(_DTYPES)}; got {precision!r}"
            )
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise MeasurementError("torch has no CUDA device here (torch.cuda.is_available() is False)")
        if threads:
            torch.set_num_threads(int(threads))
        self.device = torch.device(device)
        if self.device.type == "cuda":
            # let cuDNN pick the fastest kernels for these shapes (during the warm-up)
            torch.backends.cudnn.benchmark = True
        self.dtype = getattr(torch, _DTYPES[precision])
        self.precision = precision
        self.include_h2d = include_h2d
        self.compiled = bool(compile)
        module = module.eval().to(self.device)
        if precision != "fp32":
            module = module.to(self.dtype)
        self.module = torch.compile(module) if compile else module

    def make_call(self, arrays: Mapping[str, np.ndarray]) -> Callable[[], Any]:
        torch = self.torch
        cuda = self.device.type == "cuda"
        host = []
        for arr in arrays.values():
            t = torch.from_numpy(np.ascontiguousarray(arr))
            if t.is_floating_point():
                t = t.to(self.dtype)
            host.append(t.pin_memory() if cuda else t)
        module = self.module
        if cuda and self.include_h2d:
            dev = self.device

            def call_h2d():
                with torch.inference_mode():
                    xs = [t.to(dev, non_blocking=True) for t in host]
                    out = module(*xs)
                torch.cuda.synchronize()
                return out

            return call_h2d
        xs = [t.to(self.device) for t in host]
        if cuda:
            torch.cuda.synchronize()

            def call_dev():
                with torch.inference_mode():
                    out = module(*xs)
                torch.cuda.synchronize()
                return out

            return call_dev

        def call_cpu():
            with torch.inference_mode():
                return module(*xs)

        return call_cpu

    def info(self) -> dict[str, Any]:
        torch = self.torch
        d: dict[str, Any] = {
            "runtime": "torch",
            "runtime_version": torch.__version__,
            "mode": "torch.compile" if self.compiled else "eager",
            "device": str(self.device),
            "precision": self.precision,
            "threads": torch.get_num_threads(),
            "interop_threads": torch.get_num_interop_threads(),
            "providers": [str(self.device)],
            "torch_parallel_info": torch.__config__.parallel_info(),
            "mkldnn": bool(torch.backends.mkldnn.is_available()),
        }
        if self.device.type == "cuda":
            idx = self.device.index or 0
            d.update(
                {
                    "gpu_name": torch.cuda.get_device_name(idx),
                    "cuda_version": torch.version.cuda,
                    "cudnn_version": torch.backends.cudnn.version(),
                    "h2d_in_timer": self.include_h2d,
                    "gpu_timing": "torch.cuda.synchronize() after every call; host perf_counter_ns",
                    "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
                }
            )
        return d


class TorchRuntime(Runtime):
    """PyTorch: ``nn.Module`` objects, ``package.module:factory`` specs and the torch zoo builders; fp16 /
    bf16 by casting the module and its float inputs in the child."""

    name = "torch"
    aliases = ("pytorch",)
    module = "torch"
    install = "pip install 'fitbench[torch]'"
    precisions = ("fp32", "fp16", "bf16")
    refusals = {
        "int8": "the torch runtime does not run int8 (fp32, fp16, bf16); use --runtime onnxruntime --precision int8",
    }

    def devices(self, mod: Any) -> dict[str, Any]:
        row: dict[str, Any] = {"devices": ["cpu"], "providers": [], "modes": ["eager", "compile"]}
        try:
            if mod.cuda.is_available():
                row["devices"].append("cuda")
                row["providers"] = [mod.cuda.get_device_name(i) for i in range(mod.cuda.device_count())]
        except Exception:  # noqa: BLE001 - a broken CUDA install still leaves CPU usable
            pass
        return row

    def prepare(self, model: Any, batch: int | None, src: ModelArgs, run: RunSettings, cache: Any) -> PreparedRun:
        from ..prepare import prepare_torch

        prep = prepare_torch(model, batch=batch, inputs=src.inputs, input_files=src.input_files, name=src.name,
                             seed=run.seed, zoo_params=dict(src.zoo_params))
        p = run.precision
        conversion = {
            "precision_requested": p,
            "as_is": p == "fp32",
            "tool": None if p == "fp32" else f"torch.nn.Module.to(torch.{_DTYPES[p]})",
            "note": "module and float inputs cast in the child before timing" if p != "fp32" else "",
        }
        return PreparedRun(prep, p, conversion)

    def runner(self, job: dict[str, Any]) -> TorchRunner:
        spec = job["torch_model"]
        if "llm" in spec:  # the zoo's Llama family in torch (prefill or decode graph of a preset)
            from . import torch_llama

            module = torch_llama.build(spec["llm"], seed=job["seed"])
        elif "zoo" in spec:
            from .torch_models import build

            module, _ = build(spec["zoo"], batch=spec["batch"], resolution=spec.get("resolution"), seed=job["seed"],
                              **spec.get("params", {}))
        else:
            import pickle

            with open(spec["pickle_path"], "rb") as f:
                module = pickle.load(f)
        return TorchRunner(module, device=job["device"], threads=job["threads"], precision=job["precision"],
                           compile=job["compile"], include_h2d=job["include_h2d"])
