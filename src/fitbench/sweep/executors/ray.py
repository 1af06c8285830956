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
  the task; a task that still fails stores its points as ``retriable`` (cause = the Ray error: an infrastructure
  failure, not the point's own, so plain ``--resume`` runs them again), never stops the sweep.
- **Driver death.** A local cluster started here cannot outlive its driver: a reaper process ends every Ray
  process it started, and removes its ``fitbench-ray-*`` temp folder, if the driver is killed
  (:mod:`.ray_reaper`).
- **Node.** Each record's ``node`` is the host that ran it; ``conditions.ray`` holds the Ray node id/IP.
- **Ctrl-C** cancels outstanding tasks; records already returned are written, the rest are discarded.
- **Unreachable cluster.** ``ray.init(address=...)`` retries an unreachable GCS for minutes. So before
  anything is stored, :meth:`RayExecutor.check` opens a plain TCP connection to the cluster's bootstrap
  address (``host:port``, ``ray://host:port``, or what ``auto`` / ``$RAY_ADDRESS`` resolve to) with a
  timeout, and ``ray.init`` itself runs against the same deadline (``connect_timeout_s``, default
  ``$FITBENCH_RAY_CONNECT_TIMEOUT_S`` or 20 s). Either failure is one :class:`RayConnectError`
  ("cannot connect to the Ray cluster at ADDRESS: ...").
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...errors import FitbenchError
from ...store.record import ResultRecord, utcnow
from ..points import Point, PointContext, PointKind, run_point
from . import Reporter

MEASURE_RESOURCE = "fitbench_measure_slot"
DEFAULT_MAX_RETRIES = 3
DEFAULT_CONNECT_TIMEOUT_S = 20.0
CONNECT_TIMEOUT_ENV = "FITBENCH_RAY_CONNECT_TIMEOUT_S"


class RayConnectError(FitbenchError):
    """The Ray cluster named by ``--address`` cannot be reached (nothing was run)."""


def connect_timeout_s(value: float | None = None) -> float:
    """``value``, else ``$FITBENCH_RAY_CONNECT_TIMEOUT_S``, else 20 s."""
    if value is None:
        text = os.environ.get(CONNECT_TIMEOUT_ENV, "").strip()
        if not text:
            return DEFAULT_CONNECT_TIMEOUT_S
        try:
            value = float(text)
        except ValueError:
            raise FitbenchError(f"${CONNECT_TIMEOUT_ENV} must be a number of seconds, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise FitbenchError(f"the Ray connect timeout must be > 0 seconds, got {value!r}")
    return float(value)


def _host_port(address: str) -> tuple[str, int]:
    """``host:port``, ``[v6]:port`` or ``scheme://host:port[/...]`` -> (host, port)."""
    text = address.split("://", 1)[1] if "://" in address else address
    text = text.split("/", 1)[0]
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise RayConnectError(f"bad Ray address {address!r}: give HOST:PORT, ray://HOST:PORT or auto")
    return host, int(port)


def bootstrap_address(address: str) -> tuple[str, int] | None:
    """The (host, port) that ``ray.init(address=address)`` will connect to, or ``None`` when it cannot be
    worked out here (Ray then decides). ``auto`` (or ``$RAY_ADDRESS``) is resolved as Ray does."""
    if address == "auto" and os.environ.get("RAY_ADDRESS"):
        address = os.environ["RAY_ADDRESS"]
    if "://" in address:
        return _host_port(address)
    if address == "auto":
        try:
            from ray._private.services import canonicalize_bootstrap_address
        except ImportError:  # pragma: no cover - a Ray without this helper: let ray.init decide
            return None
        try:
            resolved = canonicalize_bootstrap_address(address)
        except ConnectionError as exc:  # no running cluster found on this machine
            raise RayConnectError(f"cannot connect to the Ray cluster at {address}: {exc}") from None
        if resolved is None:
            return None
        address = resolved
    return _host_port(address)


def probe(address: str, timeout_s: float) -> None:
    """Raise :class:`RayConnectError` unless a TCP connection to ``address``'s GCS (or Ray Client server)
    opens within ``timeout_s``. Cheap and bounded; says nothing yet about whether Ray answers there."""
    where = bootstrap_address(address)
    if where is None:
        return
    host, port = where
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except TimeoutError:
        raise RayConnectError(
            f"cannot connect to the Ray cluster at {address}: no answer from {host}:{port} within "
            f"{timeout_s:.3g} s (${CONNECT_TIMEOUT_ENV} sets the wait)"
        ) from None
    except OSError as exc:  # refused, no route, unknown host
        reason = exc.strerror or str(exc) or type(exc).__name__
        where_ = "" if address == f"{host}:{port}" else f" ({host}:{port})"
        raise RayConnectError(f"cannot connect to the Ray cluster at {address}{where_}: {reason}") from None


class _DropThreadWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("SIGTERM handler is not set")


def init_within(address: str, timeout_s: float, budget_s: float | None = None, **kwargs: Any) -> None:
    """``ray.init(address=address, **kwargs)``, given up after ``timeout_s`` (Ray itself would retry an
    unanswering GCS for minutes). It runs in a daemon thread so that the wait is bounded; a connection
    that never completes stays behind in that thread until the process exits. ``budget_s``: the whole
    connect timeout, as the error message names it (default ``timeout_s``)."""
    import ray

    box: dict[str, BaseException] = {}

    def connect() -> None:
        try:
            ray.init(address=address, **kwargs)
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    log = logging.getLogger("ray._private.worker")
    quiet = _DropThreadWarning()
    log.addFilter(quiet)
    try:
        thread = threading.Thread(target=connect, name="fitbench-ray-init", daemon=True)
        thread.start()
        thread.join(timeout_s)
    finally:
        log.removeFilter(quiet)
    if thread.is_alive():
        raise RayConnectError(
            f"cannot connect to the Ray cluster at {address}: Ray did not connect within "
            f"{budget_s or timeout_s:.3g} s "
            f"(${CONNECT_TIMEOUT_ENV} sets the wait)"
        )
    error = box.get("error")
    if isinstance(error, (ConnectionError, RuntimeError, ValueError, TimeoutError)):
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise RayConnectError(f"cannot connect to the Ray cluster at {address}: {first}") from None
    if error is not None:
        raise error

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


_LOCAL: dict[str, Any] = {}  # the local cluster started here: its reaper process and owned temp folder


def _short_temp_root() -> str:
    """Where a local cluster's temp folder goes: the temp dir, or /tmp when that path is too long for Ray's unix
    sockets (``<root>/fitbench-ray-XXXXXXXX/session_<date>_<pid>/sockets/plasma_store`` must fit in 107 bytes)."""
    import tempfile

    root = tempfile.gettempdir()
    return root if len(root) <= 24 else "/tmp"


def start_local_ray(num_cpus: int | None = None, temp_dir: str | None = None, **kwargs: Any) -> None:
    """Start a local Ray cluster with one measurement slot (no dashboard) that cannot outlive this process.

    Every Ray process started here inherits a marker in its environment, and a reaper process
    (:mod:`.ray_reaper`) ends them all, and removes the cluster's temp folder, if this process dies without
    :func:`stop_local_ray` (SIGKILL, OOM kill). Without ``temp_dir`` the cluster's temp folder is a new
    ``fitbench-ray-*`` folder, removed when the cluster stops (Ray would keep ``/tmp/ray/session_*``)."""
    import secrets
    import subprocess
    import sys
    import tempfile

    import psutil
    import ray

    from .ray_reaper import MARKER

    _ensure_importable()
    owned = ""
    if temp_dir is None:
        owned = temp_dir = tempfile.mkdtemp(prefix="fitbench-ray-", dir=_short_temp_root())
    token = f"{os.getpid()}:{secrets.token_hex(8)}"
    os.environ[MARKER] = token  # inherited by the GCS, the raylet, the agents and every worker
    reaper = subprocess.Popen(
        # run as a plain script: it needs psutil only, not fitbench's imports (a light, quick process)
        [sys.executable, str(Path(__file__).with_name("ray_reaper.py")), str(os.getpid()),
         repr(psutil.Process().create_time()), token.split(":", 1)[1], owned],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)  # fmt: skip  # its own session: nothing aimed at the driver's group reaches it
    _LOCAL.update(reaper=reaper, owned=owned, token=token)
    # Ray's own INFO/WARNING lines about starting the cluster fitbench owns ("Started a local Ray instance",
    # the token-authentication notice) are noise in a sweep's terminal; its errors still show
    kwargs.setdefault("logging_level", logging.ERROR)
    try:
        ray.init(num_cpus=num_cpus, resources={MEASURE_RESOURCE: 1}, include_dashboard=False,
                 _temp_dir=temp_dir, log_to_driver=False, **kwargs)  # fmt: skip
    except BaseException:
        stop_local_ray()
        raise


def stop_local_ray() -> None:
    """``ray.shutdown()`` of the cluster :func:`start_local_ray` started; then any of its processes still there
    are ended, the reaper is stopped and the temp folder fitbench created is removed."""
    import ray

    from .ray_reaper import MARKER, reap

    ray.shutdown()
    reaper, owned, token = _LOCAL.pop("reaper", None), _LOCAL.pop("owned", ""), _LOCAL.pop("token", "")
    if reaper is not None:
        reaper.terminate()
        reaper.wait()
    if token:
        reap(token, grace_s=2.0)  # workers still exiting after shutdown
        if os.environ.get(MARKER) == token:
            del os.environ[MARKER]
    if owned:
        import shutil

        shutil.rmtree(owned, ignore_errors=True)


class RayExecutor:
    """Run points on Ray. ``address=None`` uses an already initialised Ray, else starts a local cluster
    (and shuts it down afterwards); ``address="auto"``, ``"host:6379"`` or ``"ray://host:10001"`` joins a
    cluster, giving up after ``connect_timeout_s`` (default ``$FITBENCH_RAY_CONNECT_TIMEOUT_S`` or 20 s)."""

    name = "ray"

    def __init__(self, address: str | None = None, max_retries: int = DEFAULT_MAX_RETRIES,
                 chunk_size: int | None = None, num_cpus: int | None = None,
                 connect_timeout_s: float | None = None) -> None:  # fmt: skip
        self.address = address
        self.max_retries = max_retries
        self.chunk_size = chunk_size
        self.num_cpus = num_cpus
        self.connect_timeout_s = connect_timeout_s
        self._owned = False  # joined by check(): run() or close() leaves

    @staticmethod
    def _ray() -> Any:
        try:
            import ray
        except ImportError:
            raise FitbenchError("the ray executor needs Ray: pip install 'fitbench[ray]'") from None
        return ray

    def check(self) -> None:
        """Before anything is stored: Ray is installed and, with an ``address``, the cluster is joined
        (within the connect timeout; :class:`RayConnectError` otherwise). :meth:`run` uses this connection;
        :meth:`close` ends it when ``run`` is not called."""
        ray = self._ray()
        if self.address and not ray.is_initialized():
            self._owned = self._connect()

    def close(self) -> None:
        """Leave the cluster joined by :meth:`check` (a no-op after :meth:`run`, which leaves it itself)."""
        if self._owned:
            self._owned = False
            self._shutdown()

    def _shutdown(self) -> None:
        if self.address:
            self._ray().shutdown()
        else:
            stop_local_ray()

    def _connect(self) -> bool:
        ray = self._ray()
        if ray.is_initialized():
            return False
        if self.address:
            timeout = connect_timeout_s(self.connect_timeout_s)
            deadline = time.monotonic() + timeout
            probe(self.address, timeout)
            init_within(self.address, max(1.0, deadline - time.monotonic()), timeout, log_to_driver=False)
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

        started_here, self._owned = self._owned or self._connect(), False
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
                self._shutdown()


def _lost(point: Point, sweep_id: str, cause: str) -> ResultRecord:
    from .local import _failed

    # the worker or its node died, not the point: stored as retriable, so that plain --resume runs it again
    return _failed(point, sweep_id, cause.splitlines()[0][:2000], utcnow(), None, status="retriable")
