"""Record every condition of a measurement: host, CPU, GPU, OS, Python, BLAS/threadpools.

Model-level conditions (sha256, shapes, batch, precision) and runtime-level ones (name, version,
providers, threads) are added by the caller and the runtime; this module describes the machine.
"""

from __future__ import annotations

import io
import os
import platform
import subprocess
import sys
from contextlib import redirect_stdout
from typing import Any


def cpu_info() -> dict[str, Any]:
    """CPU model, flags and counts from /proc/cpuinfo (Linux) or platform (elsewhere)."""
    model, flags = platform.processor() or platform.machine(), []
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and model in ("", platform.machine(), platform.processor()):
                    model = value.strip()
                elif key in ("flags", "Features") and not flags:
                    flags = value.split()
    except OSError:
        pass
    try:
        affinity = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        affinity = None
    return {
        "cpu_model": model,
        "cpu_flags": flags,
        "cpu_count_logical": os.cpu_count(),
        "cpu_affinity": affinity,
    }


def gpu_info() -> dict[str, Any] | None:
    """GPU name(s) and driver via nvidia-smi, when present; None on a machine without one."""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0 or not out.stdout.strip():
        return None
    gpus = []
    for line in out.stdout.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        gpus.append(
            {
                "name": parts[0],
                "driver": parts[1] if len(parts) > 1 else None,
                "memory": parts[2] if len(parts) > 2 else None,
            }
        )
    return {"gpus": gpus}


def blas_info() -> Any:
    """The BLAS / OpenMP thread pools in use: threadpoolctl if installed, else numpy's build config."""
    try:
        from threadpoolctl import threadpool_info  # type: ignore[import-not-found]

        return {"source": "threadpoolctl", "pools": threadpool_info()}
    except ImportError:
        pass
    import numpy as np

    buf = io.StringIO()
    try:
        with redirect_stdout(buf):
            np.show_config()
    except Exception as exc:  # noqa: BLE001
        return {"source": "numpy.show_config", "error": str(exc)}
    return {"source": "numpy.show_config", "text": buf.getvalue()}


def thread_env() -> dict[str, str]:
    """Environment variables that steer thread pools (recorded, never changed)."""
    keys = (
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "OPENBLAS_CORETYPE",
        "KMP_AFFINITY",
        "GOMP_CPU_AFFINITY",
        "CUDA_VISIBLE_DEVICES",
    )
    return {k: os.environ[k] for k in keys if k in os.environ}


def host_conditions() -> dict[str, Any]:
    """Everything about the machine and the interpreter that a result depends on."""
    from .. import __version__

    return {
        **cpu_info(),
        "gpu": gpu_info(),
        "os": platform.platform(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "fitbench_version": __version__,
        "numpy_version": __import__("numpy").__version__,
        "blas": blas_info(),
        "thread_env": thread_env(),
        "hostname": platform.node(),
    }
