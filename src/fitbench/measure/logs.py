"""Where LoadGen writes its logs: a temporary folder (read back, then removed) or ``--log-dir`` (kept).

Layout under ``--log-dir DIR`` (``log_dir=`` of :func:`fitbench.measure.measure`)::

    DIR/batch-<B>/<run>/mlperf_log_summary.txt
    DIR/batch-<B>/<run>/mlperf_log_detail.txt

``<B>`` is the batch asked for (``model`` when the model's own batch is run) and ``<run>`` the LoadGen run:
``single-stream``, ``multi-stream``, ``offline`` or ``server@<QPS>qps`` (a server search keeps one folder per
trial). A later run into the same folder replaces the files of the same batch and run. The result's
``loadgen`` figures name the folder and the two files (``log_dir``, ``summary_path``, ``detail_path``).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..errors import FitbenchError

SUMMARY = "mlperf_log_summary.txt"
DETAIL = "mlperf_log_detail.txt"


def check_log_dir(path: str | os.PathLike[str] | None) -> None:
    """Refuse a log folder that cannot be used before any work: a file, or a folder (or its nearest existing
    parent, when it is to be created) that cannot be written."""
    if path is None:
        return
    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        raise FitbenchError(f"--log-dir {path}: not a folder")
    parent = p
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise FitbenchError(f"--log-dir {path}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise FitbenchError(f"--log-dir {path}: permission denied in {parent}")


def batch_log_dir(root: str | os.PathLike[str] | None, batch: int | None) -> str | None:
    """The folder of one batch's logs under ``root`` (absolute), or ``None`` without ``root``."""
    if root is None:
        return None
    return str((Path(root).expanduser() / f"batch-{'model' if batch is None else int(batch)}").resolve())


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9@._-]+", "_", name).strip("_") or "run"


@contextlib.contextmanager
def loadgen_outdir(keep_in: str | None, run_name: str) -> Iterator[tuple[str, bool]]:
    """``(folder, kept)`` for one LoadGen run: ``keep_in/<run_name>`` (created) when ``keep_in`` is given, else a
    temporary folder removed afterwards."""
    if keep_in:
        folder = Path(keep_in) / _safe(run_name)
        folder.mkdir(parents=True, exist_ok=True)
        yield str(folder), True
        return
    with tempfile.TemporaryDirectory(prefix="fitbench-loadgen-") as tmp:
        yield tmp, False


def log_paths(folder: str) -> dict[str, str]:
    """The kept log files of one run, as the result states them."""
    return {"log_dir": folder, "summary_path": os.path.join(folder, SUMMARY),
            "detail_path": os.path.join(folder, DETAIL)}
