"""Local executor: points run in this process, one after another - so two measurements never run at
once. Kinds registered as *isolated* run each point in a fresh child process (spawned), so a crash
cannot take the sweep down; the built-in ``measure`` kind does not need it because
:func:`fitbench.measure.measure` already runs every measurement in its own child process.

Ctrl-C: the running point is discarded (an isolated child is killed) and ``KeyboardInterrupt``
propagates; every point finished before is already committed.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Sequence
from typing import Any

from ...store.record import ResultRecord, utcnow
from ..points import Point, PointContext, PointKind, run_point
from . import Reporter

DEFAULT_TIMEOUT_S = 3600.0


def _child_main(conn: Any, point: Point, kind: PointKind, sweep_id: str) -> None:
    try:
        conn.send(run_point(point, kind, PointContext(), sweep_id))
    finally:
        conn.close()


def run_isolated(point: Point, kind: PointKind, sweep_id: str, node: str | None = None) -> ResultRecord:
    """Run one point in a spawned child; a crash or a timeout becomes a ``failed`` record."""
    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child_main, args=(send, point, kind, sweep_id), daemon=True)
    started = utcnow()
    timeout = float(point.options.get("timeout_s", DEFAULT_TIMEOUT_S))
    proc.start()
    send.close()
    try:
        if recv.poll(timeout):
            try:
                record = recv.recv()
                proc.join(30)
                return record
            except EOFError:
                pass
        proc.join(1)
        if proc.is_alive():
            cause = f"timed out after {timeout:g} s"
        else:
            cause = f"child process died (exit code {proc.exitcode}) without a result"
        return _failed(point, sweep_id, cause, started, node)
    finally:
        if proc.is_alive():
            proc.kill()
            proc.join(10)
        recv.close()


def _failed(point: Point, sweep_id: str, cause: str, started: Any, node: str | None,
            status: str = "failed") -> ResultRecord:
    from ..points import versions

    finished = utcnow()
    return ResultRecord(
        kind=point.kind, model=point.model_name, model_sha256=point.model.get("sha256"), batch=point.batch,
        precision=point.precision, hardware=point.hardware_name, runtime=point.runtime, status=status,
        cause=cause, conditions={"point": point.definition(), "versions": versions()}, started_at=started,
        finished_at=finished, duration_s=(finished - started).total_seconds(), sweep_id=sweep_id,
        point_key=point.key, node=node,
    )  # fmt: skip


class LocalExecutor:
    name = "local"

    def __init__(self) -> None:
        self.ctx = PointContext()

    def run(self, points: Sequence[Point], kinds: dict[str, PointKind], sweep_id: str, reporter: Reporter) -> None:
        for point in points:
            kind = kinds[point.kind]
            reporter.start(point)
            if kind.isolated:
                record = run_isolated(point, kind, sweep_id, node=self.ctx.node)
            else:
                record = run_point(point, kind, self.ctx, sweep_id)
            reporter.done(point, record)
