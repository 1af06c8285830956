"""Run a sweep: expand the grid, skip what the database already holds, execute, store each point.

``run_sweep`` is the whole of ``fitbench sweep`` without the command line. Resume semantics: a sweep is
identified by its name (``sweep_id``); points by their key. Without ``resume`` a sweep that already has
results is refused (nothing is overwritten); with ``resume`` points stored as ``ok`` are skipped,
``retriable`` ones (an infrastructure failure: a dead Ray worker) are run again, and ``failed`` or ``invalid``
ones are re-run only with ``retry_failed``. Each point is written in its own transaction the
moment it finishes, so Ctrl-C (or a crash, or SIGKILL) loses at most the points that were running.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import FitbenchError
from ..format import cell
from ..store import ResultRecord, Store, UnstorableError, open_store
from .points import Point, PointKind, get_kind
from .spec import MAX_POINTS, SweepSpec, load_sweep


class SweepError(FitbenchError):
    """The sweep cannot run as asked (e.g. it already has results and --resume was not given)."""


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep; ``summary`` tells what was stored before it."""

    def __init__(self, summary: SweepSummary) -> None:
        super().__init__(f"sweep {summary.sweep_id!r} interrupted")
        self.summary = summary


@dataclass
class SweepSummary:
    sweep_id: str
    executor: str
    total: int
    skipped: int = 0
    ran: int = 0
    ok: int = 0
    failed: int = 0  # every stored point that is not ok (retriable and invalid included)
    retriable: int = 0
    elapsed_s: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (point label, cause), first few

    @property
    def points_per_s(self) -> float:
        return self.ran / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {**asdict(self), "points_per_s": self.points_per_s}


class _StoringReporter:
    """Writes each record (own transaction) and drives the progress bar.

    The bar's columns are rich markup: the sweep name and a point's label go in through :func:`format.cell`
    (control characters as ``\\xNN``, markup as text), so a stored name cannot drive the terminal."""

    def __init__(self, store: Store, summary: SweepSummary, total: int, progress: bool) -> None:
        self.store, self.summary = store, summary
        self.bar = None
        if progress:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,  # fmt: skip
            )

            self.bar = Progress(
                TextColumn("[bold]{task.fields[sweep]}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("ok [green]{task.fields[ok]}[/] failed [red]{task.fields[failed]}[/]"),
                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                TextColumn("{task.fields[current]}", style="dim"),
                console=Console(stderr=True), transient=False,
            )  # fmt: skip
            self.task = self.bar.add_task("sweep", total=total, sweep=cell(summary.sweep_id), ok=0, failed=0,
                                         current="")
            self.bar.start()
            from ..measure import progress as measure_progress

            # a measure point's own phases (warm-up, the timed run's share) in the "current" column
            self._listen = measure_progress.listening(self._measuring)
            self._listen.__enter__()
        self._label = ""

    def start(self, point: Point) -> None:
        self._label = cell(point.label[:40])  # escaped once: _measuring appends plain text to it
        if self.bar is not None:
            self.bar.update(self.task, current=self._label)

    def _measuring(self, ev) -> None:
        if self.bar is None:
            return
        fc = ev.forecast
        if ev.phase == "timed" and fc is not None:
            share = (ev.run - 1 + fc.fraction(ev.done, ev.elapsed_s)) / fc.runs
            what = f"timed {share:.0%}"
        else:
            what = ev.phase if ev.phase != "end" else ""
        self.bar.update(self.task, current=f"{self._label} {what}".strip())

    def done(self, point: Point, record: ResultRecord) -> None:
        try:
            self.store.put(record)
        except UnstorableError as exc:  # one bad string fails its point, not the sweep
            record = exc.failed_record
            self.store.put(record)
        s = self.summary
        s.ran += 1
        if record.status == "ok":
            s.ok += 1
        else:
            s.failed += 1
            s.retriable += record.status == "retriable"
            if len(s.failures) < 20:
                s.failures.append((point.label, record.cause or ""))
        if self.bar is not None:
            self.bar.update(self.task, advance=1, ok=s.ok, failed=s.failed)

    def close(self) -> None:
        if self.bar is not None:
            self._listen.__exit__(None, None, None)
            self.bar.stop()


def check_names(spec: SweepSpec) -> None:
    """Fail early, with one line, on a hardware spec or zoo model that does not exist (rather than storing
    thousands of failed points). Factories (``pkg.mod:fn``) and files are checked when they run."""
    from ..errors import SpecError

    if "estimate" in spec.kinds:
        from ..hardware.spec import load_hardware

        for hw in spec._hardware():
            try:
                load_hardware(hw.get("path") or hw["name"])
            except FitbenchError as exc:
                raise SpecError(f"hardware {hw['name']!r}: {exc}") from None
    zoo_names = {m.zoo for m in spec.models if m.zoo is not None and ":" not in m.zoo}
    if zoo_names and set(spec.kinds) & {"profile", "estimate", "measure"}:  # the kinds that build zoo models
        from .. import zoo

        for name in sorted(zoo_names):
            zoo.get(name)


def plan(spec: SweepSpec, store: Store, resume: bool, retry_failed: bool,
         max_points: int | None = MAX_POINTS) -> tuple[list[Point], list[Point]]:
    """``(all points, points to run)`` after checking what the database already holds."""
    points = spec.expand(max_points)
    stored = store.point_statuses(spec.sweep_id)
    wanted = {p.key for p in points}
    relevant = {k: s for k, s in stored.items() if k in wanted}
    if stored and not (resume or retry_failed):
        n_ok = sum(1 for s in relevant.values() if s == "ok")
        raise SweepError(
            f"sweep {spec.sweep_id!r} already has {len(stored)} results in {store.location} ({n_ok} of this "
            f"grid's points ok); use --resume to run only the missing points (--retry-failed to re-run failed "
            f"ones) or give the sweep another name"
        )
    rerun = {"retriable"} | ({"failed", "invalid"} if retry_failed else set())
    todo = [p for p in points if p.key not in relevant or relevant[p.key] in rerun]
    return points, todo


def make_executor(name: str, address: str | None = None, **kwargs: Any) -> Any:
    if name == "local":
        from .executors.local import LocalExecutor

        return LocalExecutor()
    if name == "ray":
        from .executors.ray import RayExecutor

        return RayExecutor(address=address, **kwargs)
    raise SweepError(f"unknown executor {name!r}; use local or ray")


def run_sweep(
    spec: SweepSpec | str | os.PathLike[str],
    db: Store | str | None = None,
    *,
    executor: str | Any = "local",
    address: str | None = None,
    resume: bool = False,
    retry_failed: bool = False,
    progress: bool = False,
    kinds: dict[str, PointKind] | None = None,
    check: bool = True,
    max_points: int | None = MAX_POINTS,
) -> SweepSummary:
    """Run ``spec`` (a :class:`SweepSpec` or a YAML path) into ``db`` (a Store, URL, path or the default).

    Raises :class:`SweepInterrupted` on Ctrl-C (finished points are stored, the database is consistent).
    ``check``: first verify that hardware names and zoo models exist (:func:`check_names`).
    ``max_points``: a grid larger than this is refused before it is expanded (``None``: no limit).
    """
    if not isinstance(spec, SweepSpec):
        spec = load_sweep(spec)
    spec.check_size(max_points)
    if check:
        check_names(spec)
    ex = make_executor(executor, address) if isinstance(executor, str) else executor
    if callable(getattr(ex, "check", None)):
        ex.check()  # e.g. an unreachable Ray cluster: refused before the database is opened or written
    try:
        return _run(spec, db, ex, resume, retry_failed, progress, kinds, max_points)
    finally:
        if callable(getattr(ex, "close", None)):
            ex.close()


LEASE_TTL_S = 60.0  # a sweep's lease, renewed every third of it while the sweep runs


def check_same_spec(spec: SweepSpec, store: Store) -> None:
    """Refuse a sweep whose name is stored with a different grid: the stored points must all be points of
    this grid (a grown grid -- more batches, another model -- is the same sweep extended; one that drops or
    changes stored points is another sweep, and would be mixed with the first and overwrite its spec)."""
    stored = store.point_statuses(spec.sweep_id)
    if not stored:
        return
    wanted = {p.key for p in spec.expand(None)}
    foreign = [k for k in stored if k not in wanted]
    if foreign:
        raise SweepError(f"sweep {spec.sweep_id!r} is stored in {store.location} with a different grid "
                         f"({len(foreign)} of its {len(stored)} stored points are not in this one); give this "
                         "sweep another name (name: in the sweep file)")


class _Lease:
    """The sweep's lease in the database, renewed by a daemon thread; refused (one line) while another live
    sweep holds it."""

    def __init__(self, store: Store, sweep_id: str) -> None:
        import socket
        import threading
        import uuid

        self.store, self.sweep_id = store, sweep_id
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:255]
        other = store.acquire_lease(sweep_id, self.holder, LEASE_TTL_S)
        if other is not None:
            raise SweepError(f"sweep {sweep_id!r} is being run by {other} (its lease in {store.location}); "
                             f"let it finish, then run again with --resume")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name="fitbench-lease", daemon=True)
        self._thread.start()

    def _renew(self) -> None:
        while not self._stop.wait(LEASE_TTL_S / 3):
            try:
                self.store.acquire_lease(self.sweep_id, self.holder, LEASE_TTL_S)
            except FitbenchError:
                pass  # a failed renewal: the next one may succeed; the lease expires otherwise

    def release(self) -> None:
        self._stop.set()
        self._thread.join(5)
        try:
            self.store.release_lease(self.sweep_id, self.holder)
        except FitbenchError:
            pass  # it expires on its own


def _run(spec: SweepSpec, db: Store | str | None, ex: Any, resume: bool, retry_failed: bool, progress: bool,
         kinds: dict[str, PointKind] | None, max_points: int | None = MAX_POINTS) -> SweepSummary:  # fmt: skip
    store = db if isinstance(db, Store) else open_store(db)
    try:
        lease = _Lease(store, spec.sweep_id)
    except BaseException:
        if not isinstance(db, Store):
            store.close()
        raise
    try:
        return _run_leased(spec, store, ex, resume, retry_failed, progress, kinds, max_points)
    finally:
        lease.release()
        if not isinstance(db, Store):
            store.close()


def _run_leased(spec: SweepSpec, store: Store, ex: Any, resume: bool, retry_failed: bool,
                progress: bool, kinds: dict[str, PointKind] | None, max_points: int | None) -> SweepSummary:
    check_same_spec(spec, store)
    points, todo = plan(spec, store, resume, retry_failed, max_points)
    used = {p.kind for p in todo}
    kinds = {k: (kinds or {}).get(k) or get_kind(k) for k in used}
    summary = SweepSummary(spec.sweep_id, ex.name, total=len(points), skipped=len(points) - len(todo))
    store.register_sweep(spec.sweep_id, spec.to_dict(), len(points))
    reporter = _StoringReporter(store, summary, len(todo), progress)
    t0 = time.perf_counter()
    try:
        if todo:
            ex.run(todo, kinds, spec.sweep_id, reporter)
    except KeyboardInterrupt:
        summary.elapsed_s = time.perf_counter() - t0
        raise SweepInterrupted(summary) from None
    finally:
        reporter.close()
    summary.elapsed_s = time.perf_counter() - t0
    return summary


def describe(points: Sequence[Point]) -> dict[str, int]:
    """Point count per kind."""
    out: dict[str, int] = {}
    for p in points:
        out[p.kind] = out.get(p.kind, 0) + 1
    return out
