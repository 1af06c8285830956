"""The child process of one measurement: ``python -m fitbench.measure.worker JOB OUT``.

It loads the runtime and model, builds the inputs, warms up (first run timed on its own),
calibrates, runs the LoadGen scenario and writes the raw record (a pickle) to OUT. Statistics
are computed by the parent. ``FITBENCH_MEASURE_FAULT`` (segv | hang | oom | raise) is a test
hook that makes the child crash, hang, grow without bound or fail, after the model is loaded, or
(``stall``) hang after 20 timed runs, once some progress is reported. Progress goes to the parent over
the pipe of :mod:`.channel`.
"""

from __future__ import annotations

import faulthandler
import os
import pickle
import signal
import sys
import time
from typing import Any

from .channel import ChildChannel

FAULT_ENV = "FITBENCH_MEASURE_FAULT"


def _fault(env: str = FAULT_ENV) -> None:
    """Test hook: misbehave as the variable ``env`` says (segv | hang | oom | raise); the conversion child
    uses it with its own variable."""
    fault = os.environ.get(env, "")
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


def _stalling(call, after: int):
    """Test hook (``FITBENCH_MEASURE_FAULT=stall``): the call hangs from the ``after``-th timed run on."""
    count = [0]

    def stalled():
        count[0] += 1
        if count[0] > after:
            while True:
                time.sleep(1)
        return call()

    return stalled


def run_job(job: dict[str, Any], channel: ChildChannel | None = None) -> dict[str, Any]:
    from dataclasses import replace

    from . import scenarios as sc
    from .conditions import host_conditions
    from .stats import MIN_SAMPLES

    if job.get("llm_server"):
        from .llm_server import run_job as llm_server_job

        return llm_server_job(job)
    ch = channel or ChildChannel(fd=-1)
    runner = _make_runner(job)
    arrays = _inputs(job)
    call = runner.make_call(arrays)
    _fault()
    ch.send("loaded")
    pc = time.perf_counter_ns
    deadline = time.monotonic() + job["max_duration_s"]
    t0 = pc()
    first_out = call()
    first_ns = pc() - t0
    ch.send("warmup", ns=first_ns, first=True)
    output_shapes = _output_shapes(first_out)
    del first_out
    warm: list[int] = []
    # the warm-up runs until both its count and its time are reached, but never past its cap (a slow
    # model: no warm run at all when the first run alone took the cap) nor past the run's maximum
    cap_ns = job.get("warmup_cap_s", float("inf")) * 1e9
    w_start = last_sent = time.perf_counter()
    while (
        len(warm) < job["warmup_count"] or time.perf_counter() - w_start < job["warmup_s"]
    ) and time.monotonic() < deadline and first_ns + sum(warm) < cap_ns:
        t0 = pc()
        call()
        warm.append(pc() - t0)
        if time.perf_counter() - last_sent > 0.1:  # at most ten reports a second
            last_sent = time.perf_counter()
            ch.send("warmup", ns=warm[-1], n=len(warm))
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
    target = job.get("target_latency_ms")
    # the timed run's plan: what one unit (a query; an offline sample) takes, how many, how long
    unit, per, runs = "queries", calib / 1e9, 1
    if scenario == "multi-stream":
        per *= settings.samples_per_query
    elif scenario == "offline":
        # throughput: calibrate on the warm-up's mean time per run (tails included), not its median
        if warm:
            settings.expected_latency_s = warm_s / len(warm)
        unit, per = "samples", settings.expected_latency_s
        settings.min_count = sc.offline_sample_count(st["min_count"], settings.min_duration_s, 1.0 / max(per, 1e-9))
    elif scenario == "server":
        settings = replace(settings, min_count=max(settings.min_count, MIN_SAMPLES[job["percentile"]]))
        qps = job.get("server_qps") or 0.5 / max(calib / 1e9, 1e-7)
        per = 1.0 / qps
        if target and not job.get("server_qps"):
            runs = job.get("server_trials", 6)
    if scenario == "offline":
        count = settings.min_count
        expected = min(count * per, settings.max_duration_s + per)
    else:
        count, expected = sc.forecast(per, settings.min_count, settings.min_duration_s, settings.max_duration_s)
    plan = {"unit": unit, "per_unit_s": per, "count": count, "expected_s": expected * runs, "runs": runs,
            "max_s": settings.max_duration_s * runs, "min_count_effective": settings.min_count,
            "min_duration_s": settings.min_duration_s}
    ch.send("plan", first_run_ns=first_ns, warmup_ns=warm, warmup_s=warm_s, calibrated_latency_ns=calib,
            runtime_info=runner.info(), fed_shapes={k: list(v.shape) for k, v in arrays.items()},
            fed_dtypes={k: str(v.dtype) for k, v in arrays.items()}, output_shapes=output_shapes, **plan)
    if os.environ.get(FAULT_ENV) == "stall":
        call = _stalling(call, 20)
    out: dict[str, Any] = {
        "ok": True,
        "first_run_ns": first_ns,
        "warmup_ns": warm,
        "warmup_s": warm_s,
        "calibrated_latency_ns": calib,
        "server": None,
        "plan": plan,
    }
    track = ch.track if ch.active else None
    if scenario == "single-stream" and job.get("driver") == "direct":
        rec = sc.single_stream_direct(call, settings, track)
    elif scenario == "single-stream":
        rec = sc.single_stream(call, settings, track)
    elif scenario == "multi-stream":
        rec = sc.multi_stream(call, settings, track)
    elif scenario == "offline":
        rec = sc.offline(call, settings, track)
    elif target and job.get("server_qps"):  # one run at the given rate against the bound (LoadGen's verdict)
        qps = job["server_qps"]
        rec = sc.server(call, settings, qps, target, job["percentile"], track)
        out["server"] = {"peak_qps": None, "trials": [], "qps": qps}
    elif target:
        peak, trials, rec = sc.server_search(call, settings, target, percentile=job["percentile"], track=track)
        out["server"] = {"peak_qps": peak, "trials": trials}
    else:
        rec = sc.server(call, settings, qps, None, job["percentile"], track)
        out["server"] = {"peak_qps": None, "trials": [], "qps": qps}
    ch.close()
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
    return child_main(argv, lambda job: run_job(job, ChildChannel()))


def child_main(argv: list[str], run: Any) -> int:
    """A child's life (``python -m <module> JOB OUT``): tied to its parent, ``run(job)`` on the pickled job,
    its dict (or ``{"ok": False, "error": one line}``) pickled to OUT atomically; exit 0 or 1."""
    faulthandler.enable()
    _tie_to_parent()
    job_path, out_path = argv[1], argv[2]
    with open(job_path, "rb") as f:
        job = pickle.load(f)
    try:
        result = run(job)
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
