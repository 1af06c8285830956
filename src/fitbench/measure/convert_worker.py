"""The child process of one precision conversion: ``python -m fitbench.measure.convert_worker JOB OUT``.

It runs onnxruntime's converter (:func:`.convert._to_fp16` or :func:`.convert._to_int8`, calibration
included) on the job's model and writes the :class:`.convert.Conversion` fields (a pickle) to OUT; the
parent (:func:`.convert.convert`) watches its memory and time like a measurement's. ``FITBENCH_CONVERT_FAULT``
(oom | raise) is a test hook that makes the child grow without bound or fail before converting.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

FAULT_ENV = "FITBENCH_CONVERT_FAULT"


def _fault() -> None:
    from .worker import _fault as inject

    inject(FAULT_ENV)


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
