"""The child process of one precision conversion: ``python -m fitbench.measure.convert_worker JOB OUT``.

It runs onnxruntime's converter (:func:`.convert._to_fp16` or :func:`.convert._to_int8`, calibration
included) on the job's model and writes the :class:`.convert.Conversion` fields (a pickle) to OUT; the
parent (:func:`.convert.convert`) watches its memory and time like a measurement's. ``FITBENCH_CONVERT_FAULT``
(oom | raise) is a test hook that makes the child grow without bound or fail before converting.
"""

from __future__ import annotations

import dataclasses
import faulthandler
import os
import pickle
import sys
import time
from typing import Any

FAULT_ENV = "FITBENCH_CONVERT_FAULT"


def _fault() -> None:
    fault = os.environ.get(FAULT_ENV, "")
    if fault == "oom":
        hog = []
        while True:
            hog.append(bytearray(64 * 2**20))
            for i in range(0, len(hog[-1]), 4096):
                hog[-1][i] = 1
            time.sleep(0.01)
    elif fault == "raise":
        raise RuntimeError("injected failure (test hook)")


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    from .convert import _to_fp16, _to_int8

    _fault()
    if job["precision"] == "fp16":
        conv = _to_fp16(job["src"], job["out"])
    else:
        conv = _to_int8(job["src"], job["out"], job["shapes"], job["dtypes"], job["seed"], job["samples"])
    return {"ok": True, "conversion": dataclasses.asdict(conv)}


def main(argv: list[str]) -> int:
    from .worker import _tie_to_parent

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
