"""The child process of one measurement: ``python -m fitbench.measure.worker JOB OUT``.

It loads the runtime and model, builds the inputs, warms up (first run timed on its own),
calibrates, runs the LoadGen scenario and writes the raw record (a pickle) to OUT. Statistics
are computed by the parent. ``FITBENCH_MEASURE_FAULT`` (segv | hang | oom | raise) is a test
hook that makes the child crash, hang, grow without bound or fail, after the model is loaded.
"""

from __future__ import annotations

import faulthandler
import os
import pickle
import signal
import sys
import time
from typing import Any

FAULT_ENV = "FITBENCH_MEASURE_FAULT"


def _fault() -> None:
    fault = os.environ.get(FAULT_ENV, "")
    if fault == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif fault == "hang":
        while True:
            time.sleep(1)
    elif fault == "oom":
        hog = []
        while True:
            hog.append(bytearray(64 * 2**20))
            for i in range(0, len(hog[-1]), 4096):
                hog[-1][i] = 1
            time.sleep(0.01)
    elif fault == "raise":
        raise RuntimeError("injected failure (test hook)")


def _make_runner(job: dict[str, Any]):
    from .runtimes import get

    return get(job["runtime"]).runner(job)


def _inputs(job: dict[str, Any]):
    from .inputs import check_arrays, load_npy, synthetic

    if job.get("input_files"):
        arrays = load_npy(job["input_files"])
    else:
        arrays = synthetic(job["shapes"], job["dtypes"], job["seed"])
    check_arrays(arrays, job["shapes"])
    return arrays


def _output_shapes(out: Any) -> list[list[int]] | None:
    """Shapes of what the first run returned (arrays or tensors, alone or in a list/tuple/dict), in
    order; ``None`` when the runner returns nothing readable (e.g. outputs bound on the device)."""
    if isinstance(out, dict):
        out = list(out.values())
    if not isinstance(out, (list, tuple)):
        out = [out]
    shapes = [list(int(d) for d in o.shape) for o in out if hasattr(o, "shape")]
    return shapes or None


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    from . import scenarios as sc
    from .conditions import host_conditions

    if job.get("llm_server"):
        from .llm_server import run_job as llm_server_job

        return llm_server_job(job)
    runner = _make_runner(job)
    arrays = _inputs(job)
    call = runner.make_call(arrays)
    _fault()
    pc = time.perf_counter_ns
    deadline = time.monotonic() + job["max_duration_s"]
    t0 = pc()
    first_out = call()
    first_ns = pc() - t0
    output_shapes = _output_shapes(first_out)
    del first_out
    warm: list[int] = []
    w_start = time.perf_counter()
    while (
        len(warm) < job["warmup_count"] or time.perf_counter() - w_start < job["warmup_s"]
    ) and time.monotonic() < deadline:
        t0 = pc()
        call()
        warm.append(pc() - t0)
    warm_s = time.perf_counter() - w_start
    calib = sorted(warm)[len(warm) // 2] if warm else first_ns
    st = job["settings"]
    settings = sc.Settings(
        min_count=st["min_count"],
        min_duration_s=st["min_duration_s"],
        max_duration_s=st["max_duration_s"],
        expected_latency_s=calib / 1e9,
        samples_per_query=st["samples_per_query"],
        seed=job["seed"],
        log_dir=st.get("log_dir"),
    )
    scenario = job["scenario"]
    out: dict[str, Any] = {
        "ok": True,
        "first_run_ns": first_ns,
        "warmup_ns": warm,
        "warmup_s": warm_s,
        "calibrated_latency_ns": calib,
        "server": None,
    }
    if scenario == "single-stream" and job.get("driver") == "direct":
        rec = sc.single_stream_direct(call, settings)
    elif scenario == "single-stream":
        rec = sc.single_stream(call, settings)
    elif scenario == "multi-stream":
        rec = sc.multi_stream(call, settings)
    elif scenario == "offline":
        # throughput: calibrate on the warm-up's mean time per run (tails included), not its median
        if warm:
            settings.expected_latency_s = warm_s / len(warm)
        rec = sc.offline(call, settings)
    else:
        target = job.get("target_latency_ms")
        if target and job.get("server_qps"):  # one run at the given rate against the bound (LoadGen's verdict)
            from dataclasses import replace

            from .stats import MIN_SAMPLES

            qps = job["server_qps"]
            settings = replace(settings, min_count=max(settings.min_count, MIN_SAMPLES[job["percentile"]]))
            rec = sc.server(call, settings, qps, target, job["percentile"])
            out["server"] = {"peak_qps": None, "trials": [], "qps": qps}
        elif target:
            peak, trials, rec = sc.server_search(call, settings, target, percentile=job["percentile"])
            out["server"] = {"peak_qps": peak, "trials": trials}
        else:
            qps = job.get("server_qps") or 0.5 / max(calib / 1e9, 1e-7)
            rec = sc.server(call, settings, qps, None, job["percentile"])
            out["server"] = {"peak_qps": None, "trials": [], "qps": qps}
    out["record"] = None if rec is None else rec.__dict__
    info = runner.info()
    info["fed_shapes"] = {k: list(v.shape) for k, v in arrays.items()}
    info["fed_dtypes"] = {k: str(v.dtype) for k, v in arrays.items()}
    info["output_shapes"] = output_shapes
    out["runtime_info"] = info
    out["host"] = host_conditions()
    if job.get("layers"):  # a separate profiled pass after the timed run (measure.layers)
        from .layers import collect

        del call  # (it holds the timed session)
        out["layers"] = collect(job, runner, arrays, calib / 1e9)
    return out


def _tie_to_parent() -> None:
    """Die with the parent (the sweep or ``fitbench run`` that started this child).

    Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)``, so the kernel kills this process the moment its parent
    dies. Everywhere, and for the window before prctl took effect: a daemon thread checks every 0.2 s that
    the parent's pid is still this process's parent, and otherwise kills this process group (the child
    leads its own session, so any process a runtime started goes too).
    """
    import threading

    try:
        parent = int(os.environ.get("FITBENCH_PARENT_PID", "0"))
    except ValueError:
        parent = 0
    if not parent:
        return
    if sys.platform.startswith("linux") and not os.environ.get("FITBENCH_NO_PDEATHSIG"):  # (test hook)
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    def orphaned() -> bool:
        return os.getppid() != parent

    def die() -> None:
        try:
            os.killpg(os.getpgid(0), signal.SIGKILL)
        finally:
            os._exit(137)

    if orphaned():
        die()

    def watch() -> None:
        while True:
            time.sleep(0.2)
            if orphaned():
                die()

    threading.Thread(target=watch, name="fitbench-parent-watch", daemon=True).start()


def main(argv: list[str]) -> int:
    faulthandler.enable()
    _tie_to_parent()
    job_path, out_path = argv[1], argv[2]
    with open(job_path, "rb") as f:
        job = pickle.load(f)
    try:
        result = run_job(job)
        code = 0
    except Exception as exc:  # noqa: BLE001 - every failure goes back to the parent as its cause
        from ..errors import FitbenchError

        msg = str(exc) if isinstance(exc, FitbenchError) else f"{type(exc).__name__}: {exc}"
        result = {"ok": False, "error": " ".join(msg.split())}
        code = 1
    with open(out_path + ".tmp", "wb") as f:
        pickle.dump(result, f)
    os.replace(out_path + ".tmp", out_path)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
