"""ONNX Runtime: CPU provider with intra/inter-op threads; the CUDA provider for ``--device cuda``.

Precision: the runner runs the file it is given; an fp32 model is converted to fp16 / int8 beforehand by
:mod:`fitbench.measure.convert` (in its own child; recorded in the conditions).

CUDA (``CUDAExecutionProvider`` with ``device_id``, CPU as the fallback for ops it lacks; TensorRT is not
used even when listed: onnxruntime-gpu lists it without its libraries, and its engine build takes minutes).
A session whose providers do not include CUDA after loading (CUDA or cuDNN libraries missing) is refused.
Every CUDA call goes through an I/O binding (onnxruntime.ai/docs/performance/tune-performance/iobinding.html):
outputs are bound on the device (no device-to-host copy), and the call ends with
``IOBinding.synchronize_outputs()``, so the host wall time around it covers the device work. With
``include_h2d`` the inputs are re-bound from host arrays inside every call (``bind_cpu_input`` copies them
to the device at bind time, so the copy is timed); otherwise they are copied to the device once beforehand
(``OrtValue.ortvalue_from_numpy(..., "cuda", id)``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import MeasurementError
from .base import PreparedRun, Runtime

if TYPE_CHECKING:
    from ..settings import ModelArgs, RunSettings

_PRECISION_DTYPE = {"fp32": np.float32, "fp16": np.float16, "float32": np.float32, "float16": np.float16}


class OrtRunner:
    """An inference session plus the facts to record about it."""

    def __init__(
        self,
        model_path: str,
        *,
        device: str = "cpu",
        threads: int | None = None,
        inter_threads: int | None = None,
        include_h2d: bool = True,
        profile_prefix: str | None = None,
    ) -> None:
        import onnxruntime as ort

        self.ort = ort
        self.device = device
        self.include_h2d = include_h2d
        available = ort.get_available_providers()
        self.device_id = cuda_index(device)
        if device == "cpu":
            providers: list = ["CPUExecutionProvider"]
        elif device.startswith("cuda"):
            if "CUDAExecutionProvider" not in available:
                raise MeasurementError(
                    "onnxruntime has no CUDAExecutionProvider here; "
                    "install onnxruntime-gpu and use a CUDA machine"
                )
            providers = [("CUDAExecutionProvider", {"device_id": self.device_id}), "CPUExecutionProvider"]
        else:
            raise MeasurementError(f"onnxruntime: unsupported device {device!r}")
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        if threads:
            so.intra_op_num_threads = int(threads)
        so.inter_op_num_threads = int(inter_threads or 1)
        if profile_prefix:  # the per-layer pass (measure.layers), never the timed session
            so.enable_profiling = True
            so.profile_file_prefix = profile_prefix
        self.threads = threads
        self.inter_threads = so.inter_op_num_threads
        try:
            self.session = ort.InferenceSession(model_path, sess_options=so, providers=providers)
        except Exception as exc:  # noqa: BLE001 - ORT raises its own Fail/InvalidGraph types
            raise MeasurementError(f"onnxruntime could not load the model: {exc}") from None
        check_session_providers(self.session.get_providers(), device)

    def input_dtypes(self) -> dict[str, str]:
        m = {
            "tensor(float)": "float32",
            "tensor(float16)": "float16",
            "tensor(double)": "float64",
            "tensor(int64)": "int64",
            "tensor(int32)": "int32",
            "tensor(int8)": "int8",
            "tensor(uint8)": "uint8",
            "tensor(bool)": "bool",
        }
        return {i.name: m.get(i.type, i.type) for i in self.session.get_inputs()}

    def make_call(self, arrays: Mapping[str, np.ndarray]) -> Callable[[], Any]:
        """A zero-argument synchronous inference call on fixed inputs (on CUDA: bound, synchronised)."""
        feeds = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
        if self.device.startswith("cuda"):
            return cuda_call(self.session, self.ort, feeds, self.device_id, self.include_h2d)
        run = self.session.run
        return lambda: run(None, feeds)

    def info(self) -> dict[str, Any]:
        so = self.session.get_session_options()
        return {
            "runtime": "onnxruntime",
            "runtime_version": self.ort.__version__,
            "providers": self.session.get_providers(),
            "device": self.device,
            "threads": self.threads if self.threads else "default (one per physical core)",
            "intra_op_num_threads": so.intra_op_num_threads,
            "inter_op_num_threads": so.inter_op_num_threads,
            "execution_mode": "sequential",
            "graph_optimization_level": "ORT_ENABLE_ALL",
            "h2d_in_timer": self.include_h2d if self.device != "cpu" else None,
            "mode": "session.run" if self.device == "cpu" else "session.run_with_iobinding",
            **({} if self.device == "cpu" else {
                "d2h_in_timer": False,
                "gpu_timing": "run_with_iobinding + IOBinding.synchronize_outputs() in every call (outputs "
                              "bound on the device); host perf_counter_ns",
            }),
        }


def cuda_index(device: str) -> int:
    """The CUDA ordinal of ``cuda`` / ``cuda:N`` (0 for ``cuda`` and for ``cpu``)."""
    if ":" not in device:
        return 0
    try:
        idx = int(device.split(":", 1)[1])
    except ValueError:
        raise MeasurementError(f"device {device!r}: write cuda or cuda:N (N a GPU index)") from None
    if idx < 0:
        raise MeasurementError(f"device {device!r}: the GPU index must be >= 0")
    return idx


def check_session_providers(session_providers: list[str], device: str) -> None:
    """Refuse a CUDA session that fell back to the CPU (onnxruntime logs and carries on when the CUDA
    provider's libraries fail to load): it would time the CPU under a GPU label."""
    if device.startswith("cuda") and "CUDAExecutionProvider" not in session_providers:
        raise MeasurementError(
            "onnxruntime could not start its CUDA provider (the session runs on "
            f"{', '.join(session_providers) or 'nothing'}): check the CUDA and cuDNN libraries onnxruntime-gpu needs"
        )


def cuda_call(session, ort, feeds: Mapping[str, np.ndarray], device_id: int, include_h2d: bool):
    """The timed call on CUDA: run through an I/O binding with outputs on the device, ending with a
    synchronise; host-to-device input copies inside the call when ``include_h2d`` (see the module doc)."""
    binding = session.io_binding()
    for out in session.get_outputs():
        binding.bind_output(out.name, "cuda", device_id)
    run_b = session.run_with_iobinding
    if include_h2d:
        items = list(feeds.items())

        def call_h2d() -> None:
            for name, arr in items:
                binding.bind_cpu_input(name, arr)  # copied to the device here, inside the timer
            run_b(binding)
            binding.synchronize_outputs()

        return call_h2d
    for name, arr in feeds.items():
        binding.bind_ortvalue_input(name, ort.OrtValue.ortvalue_from_numpy(arr, "cuda", device_id))
    binding.synchronize_inputs()

    def call_bound() -> None:
        run_b(binding)
        binding.synchronize_outputs()

    return call_bound


class OnnxRuntime(Runtime):
    """ONNX Runtime: ONNX files, zoo models (built as ONNX) and modules exported to ONNX; fp16 / int8 by
    converting the file first (:mod:`fitbench.measure.convert`, in its own child under the memory guard)."""

    name = "onnxruntime"
    aliases = ("ort", "onnx")
    module = "onnxruntime"
    install = "pip install fitbench (onnxruntime is a core dependency)"
    precisions = ("fp32", "fp16", "int8")
    refusals = {
        "bf16": "onnxruntime cannot run bf16 here (no bf16 converter ships with it and its CPU provider lacks "
                "bf16 kernels); use --runtime torch --precision bf16",
    }

    def devices(self, mod: Any) -> dict[str, Any]:
        providers = list(mod.get_available_providers())
        return {"devices": ["cpu"] + (["cuda"] if "CUDAExecutionProvider" in providers else []),
                "providers": providers}

    def prepare(self, model: Any, batch: int | None, src: ModelArgs, run: RunSettings, cache: Any) -> PreparedRun:
        from ..convert import convert
        from ..prepare import prepare_onnx

        prep = prepare_onnx(
            model, batch=batch, inputs=src.inputs, input_files=src.input_files, dims=src.dims, name=src.name,
            zoo_params=dict(src.zoo_params),
        )
        try:
            conv = convert(prep.job_model["model_path"], run.precision, shapes=prep.shapes, dtypes=prep.dtypes,
                           seed=run.seed, cache=cache, estimate=prep.estimate,
                           memory_limit_bytes=run.memory_limit_bytes, timeout_s=run.timeout_s, name=prep.name)
        except BaseException:
            prep.cleanup()
            raise
        prep.job_model = {"model_path": conv.path}
        conversion = conv.to_dict()
        if conv.actual == "fp16" and run.device == "cpu":
            conversion["note"] = (conversion["note"] + " " if conversion["note"] else "") + (
                "onnxruntime's CPU provider lacks fp16 kernels for most ops: its InsertCastTransformer runs "
                "them in fp32 between Casts (fp16-rounded weights), so the compute is largely fp32"
            )
        return PreparedRun(prep, conv.actual, conversion)

    def runner(self, job: dict[str, Any]) -> OrtRunner:
        return OrtRunner(job["model_path"], device=job["device"], threads=job["threads"],
                         include_h2d=job["include_h2d"])
