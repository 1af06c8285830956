"""The child process of one precision conversion: ``python -m fitbench.measure.convert_worker JOB OUT``.

It runs onnxruntime's converter (:func:`.convert._to_fp16` or :func:`.convert._to_int8`, calibration
included) on the job's model and writes the :class:`.convert.Conversion` fields (a pickle) to OUT; the
parent (:func:`.convert.convert`) watches its memory and time like a measurement's. ``FITBENCH_CONVERT_FAULT``
(oom | raise) is a test hook that makes the child grow without bound or fail before converting.
"""

from __future__ import annotations

import dataclasses
import os
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
    from .worker import child_main

    return child_main(argv, run_job)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
