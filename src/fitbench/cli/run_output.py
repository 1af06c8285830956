"""``fitbench run``'s one-line summaries and its ``--db`` / ``--save`` rows.

Every measurement of one ``fitbench run`` is stored under one sweep id (``run-<UTC time>-<digest>``), one row
per batch (kind ``measure``; status ``ok``, ``invalid`` or ``failed`` by :func:`fitbench.measure.validity.
store_status`), with its conditions, its figures (per-query latencies included, LoadGen's log texts left out:
``loadgen.log_dir`` points at them when ``--log-dir`` kept them) and the command line. Rows are only ever
inserted: a run that fails stores its failed rows and changes nothing already stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import socket
from typing import Any


def summary_line(r: Any) -> str:
    """One line per result: what ran, VALID / INVALID (with the reasons) or failed, and the headline figures."""
    from ..format import number

    head = f"{r.model} batch {r.batch} {r.scenario} on {r.runtime} {r.device} {r.precision}"
    if not r.ok:
        return f"{head}: failed: {r.cause}"
    v = r.validity
    verdict = "VALID" if v is None or v.valid else f"INVALID ({'; '.join(v.reasons)})"
    lat = r.latency
    parts = [verdict]
    if lat is not None:
        parts.append(f"{lat.count:,} {'samples' if r.scenario == 'offline' else 'queries'}")
        parts.append(f"p50 {lat.p50_ms:.3f} ms")
        if lat.p90_ms is not None:
            parts.append(f"p90 {lat.p90_ms:.3f} ms")
        if lat.p99_ms is not None:
            parts.append(f"p99 {lat.p99_ms:.3f} ms")
    if r.throughput:
        parts.append(f"{number(r.throughput)} items/s")
    if r.server is not None and r.server.peak_qps:
        parts.append(f"peak {number(r.server.peak_qps)} QPS")
    return f"{head}: " + ", ".join(parts)


def run_sweep_id(command: str | None, started: dt.datetime) -> str:
    digest = hashlib.sha256(f"{command}|{started.isoformat()}".encode()).hexdigest()[:8]
    return f"run-{started.strftime('%Y%m%dT%H%M%S')}-{digest}"


def records(results: list[Any], *, sweep_id: str, command: str | None, started: dt.datetime,
            finished: dt.datetime) -> list[Any]:
    """One :class:`~fitbench.store.ResultRecord` per result (see the module docstring)."""
    from ..measure.validity import store_status
    from ..store import ResultRecord

    node = socket.gethostname()
    out = []
    for i, r in enumerate(results):
        d = r.to_dict(include_samples=True, include_logs=False)
        conditions = d.pop("conditions", None) or {}
        status, cause = store_status(d)
        out.append(ResultRecord(
            kind="measure", model=r.model, model_sha256=conditions.get("model_sha256"), batch=r.batch,
            precision=r.precision, runtime=r.runtime, status=status, cause=cause,
            conditions={**conditions, "command": command}, metrics=d, started_at=started, finished_at=finished,
            duration_s=(finished - started).total_seconds(), sweep_id=sweep_id,
            point_key=f"measure/{r.scenario}/{r.runtime}/b{r.batch}/{i}"[:64], node=node))
    return out


def store_results(store: Any, results: list[Any], *, command: str | None, started: dt.datetime) -> str:
    """Store every result of one run under a new sweep id and return it. A row the database cannot hold is
    stored as a failed row saying why (as a sweep does), never dropped."""
    from ..store import UnstorableError
    from ..store.record import utcnow

    finished = utcnow()
    sweep_id = run_sweep_id(command, started)
    recs = records(results, sweep_id=sweep_id, command=command, started=started, finished=finished)
    first = results[0] if results else None
    spec = {"kind": "run", "command": command, "model": getattr(first, "model", None),
            "scenario": getattr(first, "scenario", None), "runtime": getattr(first, "runtime", None),
            "batches": [r.batch for r in results]}
    store.register_sweep(sweep_id, json.loads(json.dumps(spec, default=str)), len(recs), source="fitbench run")
    for rec in recs:
        try:
            store.put(rec)
        except UnstorableError as exc:
            store.put(exc.failed_record)
    return sweep_id
