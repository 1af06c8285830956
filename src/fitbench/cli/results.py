"""``fitbench results``: list, show and export what the results database holds."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from ..errors import FitbenchError
from .common import cell, check_output, database_files, emit, user_errors

results_app = typer.Typer(help="List, show and export stored results (profiles, estimates, measurements).",
                          no_args_is_help=True)  # fmt: skip

DB_HELP = "results database: a file or postgresql://user@host/db (default: $FITBENCH_DB or ~/.fitbench/results.db)"
WHERE_HELP = "filter KEY=VALUE (repeatable; bare KEY=VALUE arguments work too): kind, model, batch, precision, "
WHERE_HELP += "hardware, runtime, status, sweep_id, node, model_sha256, point_key, id"


def register(app: typer.Typer) -> None:
    app.add_typer(results_app, name="results")


def parse_where(items: list[str] | None) -> dict[str, Any]:
    """``["model=yolov3", "batch=1"]`` -> ``{"model": "yolov3", "batch": "1"}`` (the store converts types)."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise FitbenchError(f"filters are KEY=VALUE like model=yolov3, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def _open(db: str | None):
    """Read-only: a database that does not exist is an error, never created (a mistyped --db)."""
    from ..store import open_store

    return open_store(db, create=False)


def _fmt_model(r) -> str:
    """The model name plus its sweep variant (zoo parameters, input sizes) when the row has one."""
    model = (r.conditions.get("point") or {}).get("model") or {}
    extra = [f"{k}={v}" for k, v in sorted((model.get("params") or {}).items())]
    extra += [f"{k}={v}" for k, v in (model.get("inputs") or {}).items()]
    return " ".join([r.model, *extra])


def _fmt_metric(r) -> str:
    m = r.metrics
    for key in ("throughput", "latency_s", "macs"):
        if isinstance(m.get(key), (int, float)):
            return f"{key}={m[key]:.4g}"
    return ""


@results_app.command("list")
@user_errors
def list_cmd(
    filters: list[str] | None = typer.Argument(None, help="KEY=VALUE filters", show_default=False),
    where: list[str] | None = typer.Option(None, "--where", "-w", help=WHERE_HELP),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    limit: int = typer.Option(50, "--limit", "-n", min=0, help="show at most N results (the latest)"),
    sweeps: bool = typer.Option(False, "--sweeps", help="list sweeps (points planned / ok / failed) instead"),
) -> None:
    """Stored results (newest last), or with --sweeps one line per sweep."""
    _list(filters, where, db, limit, sweeps)


def _list(filters, where, db, limit, sweeps) -> None:
    from rich.console import Console
    from rich.table import Table

    store = _open(db)
    console = Console(width=200)
    if sweeps:
        table = Table("sweep", "planned", "stored", "ok", "failed", "invalid", "last finished")
        for s in store.list_sweeps():
            planned = str(s["n_points"] if s["n_points"] is not None else "?")
            table.add_row(cell(s["sweep_id"]), planned, str(s["stored"]), str(s["ok"]), str(s["failed"]),
                          str(s.get("invalid", 0)), str(s["last_finished"] or ""))  # fmt: skip
        console.print(table)
        return
    cond = parse_where([*(where or []), *(filters or [])])
    total = store.count(**cond)
    rows = store.query(limit=limit, newest_first=True, **cond)[::-1] if limit > 0 else []
    table = Table("id", "kind", "model", "batch", "precision", "hardware / runtime", "status", "metric", "sweep",
                  "node")  # fmt: skip
    for r in rows:
        status = r.status if r.status == "ok" else f"[red]{r.status}[/]"
        table.add_row(str(r.id), cell(r.kind), cell(_fmt_model(r)), str(r.batch or ""), cell(r.precision or ""),
                      cell(r.hardware or r.runtime or ""), status, _fmt_metric(r), cell(r.sweep_id or ""),
                      cell(r.node or ""))  # fmt: skip
    console.print(table)
    console.print(f"{len(rows)} of {total} results in {cell(store.location)}")


@results_app.command("show")
@user_errors
def show_cmd(
    result_id: int = typer.Argument(..., help="result id (see fitbench results list)"),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """One result with all its conditions and metrics, as JSON."""
    store = _open(db)
    record = store.get(result_id)
    if record is None:
        raise FitbenchError(f"no result with id {result_id} in {store.location}")
    sys.stdout.write(record.to_json() + "\n")


@results_app.command("export")
@user_errors
def export_cmd(
    filters: list[str] | None = typer.Argument(None, help="KEY=VALUE filters", show_default=False),
    fmt: str = typer.Option("csv", "--format", "-f", help="csv | parquet | json"),
    where: list[str] | None = typer.Option(None, "--where", "-w", help=WHERE_HELP),
    output: Path | None = typer.Option(None, "--output", "-o", help="file to write (required for parquet)"),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Export results: csv/parquet flatten metrics.* and conditions.* into columns; json keeps the nesting."""
    if fmt not in ("csv", "parquet", "json"):
        raise FitbenchError(f"--format must be csv, parquet or json, got {fmt!r}")
    if fmt == "parquet" and output is None:
        raise FitbenchError("parquet is binary: give --output FILE.parquet")
    check_output(output, protect=database_files(db))
    store = _open(db)
    records = store.query(**parse_where([*(where or []), *(filters or [])]))
    if fmt == "json":
        emit(json.dumps([r.to_dict() for r in records], indent=2, sort_keys=True), output)
        return
    if fmt == "csv":
        emit(store.to_dataframe(records).to_csv(index=False), output)
        return
    store.to_parquet(output, records)
