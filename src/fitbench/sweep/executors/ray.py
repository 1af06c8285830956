"""Ray executor: points as Ray tasks on a local or existing cluster.

Design
------
- **Who writes.** Workers compute and return records; the *driver* writes every record to the database,
  each in its own transaction, as tasks finish. Workers need no database access (SQLite files cannot be
  shared between machines, and a team PostgreSQL need not be reachable from every node); a retried or
  duplicated task is harmless because the store's upsert keeps one row per (sweep, point).
- **Estimates/profiles** are grouped into chunks of points (tasks of ~tens of ms are dominated by Ray's
  per-task overhead otherwise), one CPU each, so they spread over every CPU of the cluster; a worker
  process keeps its :class:`PointContext`, so profiles are cached across the chunks it runs.
- **Measurements** run one point per task and ask for the custom resource ``fitbench_measure_slot``; a
  local cluster started here has one per node, and nodes of an existing cluster must be started with
  ``--resources '{"fitbench_measure_slot": 1}'`` (one per node, or one per GPU), so at most one measurement
  runs on a node at a time.
- **Worker loss.** Tasks have ``max_retries`` (default 3): if a worker process or node dies, Ray re-runs
  the task; a task that still fails marks its points failed (cause = the Ray error), never stops the sweep.
- **Node.** Each record's ``node`` is the host that ran it; ``conditions.ray`` holds the Ray node id/IP.
- **Ctrl-C** cancels outstanding tasks; records already returned are written, the rest are discarded.
"""

from __future__ import annotations

import math
import os
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...errors import FitbenchError
from ...store.record import ResultRecord, utcnow
from ..points import Point, PointContext, PointKind, run_point
from . import Reporter

MEASURE_RESOURCE = "fitbench_measure_slot"
DEFAULT_MAX_RETRIES = 3

_WORKER_CTX: PointContext | None = None


def _worker_context() -> PointContext:
    global _WORKER_CTX
    if _WORKER_CTX is None:
        _WORKER_CTX = PointContext()
    return _WORKER_CTX


def _run_chunk(kinds: dict[str, PointKind], points: list[Point], sweep_id: str) -> list[ResultRecord]:
    """Ray task body: run points in this worker, return their records (the driver stores them)."""
    import ray

    ctx = _worker_context()
    rt = ray.get_runtime_context()
    where = {"node_id": rt.get_node_id(), "node_ip": ray.util.get_node_ip_address()}
    out = []
    for point in points:
        record = run_point(point, kinds[point.kind], ctx, sweep_id)
        record.node = socket.gethostname()
        record.conditions["ray"] = where
        out.append(record)
    return out


def _ensure_importable() -> None:
    """Workers of a cluster started here inherit the driver's environment: make sure fitbench is on it."""
    src = str(Path(__file__).resolve().parents[3])
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if src not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([src, *paths])


def start_local_ray(num_cpus: int | None = None, temp_dir: str | None = None, **kwargs: Any) -> None:
    """Start a local Ray cluster with one measurement slot (no dashboard)."""
    import ray

    _ensure_importable()
    ray.init(num_cpus=num_cpus, resources={MEASURE_RESOURCE: 1}, include_dashboard=False,
             _temp_dir=temp_dir, log_to_driver=False, **kwargs)  # fmt: skip


class RayExecutor:
    """Run points on Ray. ``address=None`` uses an already initialised Ray, else starts a local cluster
    (and shuts it down afterwards); ``address="auto"`` or ``"ray://host:10001"`` joins a cluster."""

    name = "ray"

    def __init__(self, address: str | None = None, max_retries: int = DEFAULT_MAX_RETRIES,
                 chunk_size: int | None = None, num_cpus: int | None = None) -> None:  # fmt: skip
        self.address = address
        self.max_retries = max_retries
        self.chunk_size = chunk_size
        self.num_cpus = num_cpus

    def _connect(self) -> bool:
        try:
            import ray
        except ImportError:
            raise FitbenchError("the ray executor needs Ray: pip install 'fitbench[ray]'") from None
        if ray.is_initialized():
            return False
        if self.address:
            try:
                ray.init(address=self.address, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise FitbenchError(f"cannot connect to Ray at {self.address}: {exc}") from None
        else:
            start_local_ray(num_cpus=self.num_cpus)
        return True

    def _chunks(self, points: Sequence[Point], kinds: dict[str, PointKind], cpus: int) -> list[list[Point]]:
        light = [p for p in points if not kinds[p.kind].exclusive]
        heavy = [[p] for p in points if kinds[p.kind].exclusive]
        size = self.chunk_size or max(1, min(64, math.ceil(len(light) / max(1, cpus * 4))))
        return [light[i : i + size] for i in range(0, len(light), size)] + heavy

    def run(self, points: Sequence[Point], kinds: dict[str, PointKind], sweep_id: str, reporter: Reporter) -> None:
        import ray

        started_here = self._connect()
        try:
            resources = ray.cluster_resources()
            exclusive = [p for p in points if kinds[p.kind].exclusive]
            if exclusive and resources.get(MEASURE_RESOURCE, 0) < 1:
                raise FitbenchError(
                    f"the Ray cluster has no {MEASURE_RESOURCE!r} resource for measurements; start each node "
                    f"with --resources '{{\"{MEASURE_RESOURCE}\": 1}}'"
                )
            cpus = int(resources.get("CPU", 1))
            task = ray.remote(_run_chunk)
            kinds_ref = ray.put({name: kinds[name] for name in {p.kind for p in points}})
            pending: dict[Any, list[Point]] = {}
            for chunk in self._chunks(points, kinds, cpus):
                opts: dict[str, Any] = {"num_cpus": 1, "max_retries": self.max_retries, "retry_exceptions": False}
                if kinds[chunk[0].kind].exclusive:
                    opts["resources"] = {MEASURE_RESOURCE: 1}
                pending[task.options(**opts).remote(kinds_ref, chunk, sweep_id)] = chunk
            try:
                while pending:
                    done, _ = ray.wait(list(pending), num_returns=1)
                    for ref in done:
                        chunk = pending.pop(ref)
                        reporter.start(chunk[0])
                        try:
                            records = ray.get(ref)
                        except ray.exceptions.RayError as exc:
                            cause = f"ray task failed after {self.max_retries} retries: {type(exc).__name__}: {exc}"
                            records = [_lost(p, sweep_id, cause) for p in chunk]
                        for point, record in zip(chunk, records):
                            reporter.done(point, record)
            except KeyboardInterrupt:
                for ref in pending:
                    ray.cancel(ref, force=True)
                raise
        finally:
            if started_here:
                ray.shutdown()


def _lost(point: Point, sweep_id: str, cause: str) -> ResultRecord:
    from .local import _failed

    return _failed(point, sweep_id, cause.splitlines()[0][:2000], utcnow(), None)
