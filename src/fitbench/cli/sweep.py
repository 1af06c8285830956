"""``fitbench sweep FILE``: run a grid of estimates / measurements / profiles into the results database."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from .common import fail, user_errors


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep_cmd)


@user_errors
def sweep_cmd(
    file: Path = typer.Argument(..., help="sweep YAML: models, input sizes, batches, precisions, hardware, runtimes"),
    db: str | None = typer.Option(
        None,
        "--db",
        help="results database: a file or postgresql://user@host/db (default: $FITBENCH_DB or ~/.fitbench/results.db)",
    ),  # fmt: skip
    executor: str = typer.Option("local", "--executor", "-x", help="local | ray"),
    address: str | None = typer.Option(
        None, "--address", help="ray: join this cluster (e.g. auto); default: start a local one"
    ),  # fmt: skip
    resume: bool = typer.Option(False, "--resume", help="run only the points not yet stored as ok"),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="with --resume: re-run failed points too"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print the expanded grid and its size; run nothing"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
    allow_outside: bool = typer.Option(False, "--allow-outside",
                                       help="allow model files outside the sweep file's folder"),
    yes: bool = typer.Option(False, "--yes", help="run a grid larger than the limit (100,000 points) anyway"),
) -> None:
    """Run every point of a sweep, each stored in its own transaction the moment it finishes.

    Exit status: 0 when every point that ran is ok, 1 when some failed (they are stored with their cause),
    130 on Ctrl-C (finished points stay; run again with --resume).
    """
    from ..sweep.runner import (
        SweepError,
        SweepInterrupted,
        check_names,
        check_same_spec,
        describe,
        plan,
        run_sweep,
    )
    from ..sweep.spec import MAX_POINTS, load_sweep

    if executor not in ("local", "ray"):
        raise SweepError(f"--executor must be local or ray, got {executor!r}")
    if address and executor != "ray":
        raise SweepError("--address is for --executor ray")
    spec = load_sweep(file, allow_outside=allow_outside)
    limit = None if yes else MAX_POINTS
    spec.check_size(limit)  # before anything is expanded or looked up
    check_names(spec)
    if dry_run:
        points = spec.expand(limit)
        todo = points
        if resume or retry_failed:
            from ..store import NoDatabaseError, open_store

            try:  # a dry run writes nothing: it neither creates the database nor its tables
                with open_store(db, create=False) as store:
                    check_same_spec(spec, store)
                    points, todo = plan(spec, store, resume, retry_failed, limit)
            except NoDatabaseError:
                pass  # nothing stored yet: every point is to run
        todo_keys = {p.key for p in todo}
        out = sys.stdout
        for p in points:
            mark = "" if p.key in todo_keys else "  (stored)"
            out.write(f"{p.key[:12]}  {p.label}{mark}\n")
        kinds = ", ".join(f"{k} {n}" for k, n in describe(points).items())
        out.write(f"sweep {spec.sweep_id!r}: {len(points)} points ({kinds}); {len(todo)} to run\n")
        return
    try:
        summary = run_sweep(spec, db, executor=executor, address=address, resume=resume,
                            retry_failed=retry_failed, progress=not quiet, check=False, max_points=limit)  # fmt: skip
    except SweepInterrupted as exc:
        s = exc.summary
        fail(f"interrupted: {s.ran} points of sweep {s.sweep_id!r} stored in this run, the running one "
             f"discarded; run again with --resume to finish", 130)  # fmt: skip
        return
    typer.echo(
        f"sweep {summary.sweep_id!r}: {summary.total} points, {summary.skipped} already stored, ran "
        f"{summary.ran} ({summary.ok} ok, {summary.failed} failed) in {summary.elapsed_s:.1f} s "
        f"[{summary.executor}, {summary.points_per_s:.1f} points/s]"
    )
    for label, cause in summary.failures[:10]:
        typer.echo(f"  failed: {label}: {cause}", err=True)
    if summary.retriable:
        typer.echo(f"  {summary.retriable} point(s) lost to an infrastructure failure are stored as retriable: "
                   "run again with --resume", err=True)
    if summary.failed:
        raise typer.Exit(1)
