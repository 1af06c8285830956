"""The results database: one interface over SQLite (default, a file) and PostgreSQL (by URL).

Writes
------
:meth:`Store.put` writes one result in its own transaction. A sweep point (``sweep_id`` + ``point_key``)
is stored at most once: ``INSERT ... ON CONFLICT (sweep_id, point_key) DO UPDATE ... WHERE status <>
'ok'``. So a retry replaces a *failed* row (``attempts`` + 1) but never an ``ok`` one: a second ``ok`` for
the same point (a retried Ray task, two sweeps racing) keeps the first and returns its id, and a failed
run never deletes or overwrites stored data. Concurrent writers are serialised by the database (SQLite:
WAL journal, ``BEGIN IMMEDIATE`` and a busy timeout; PostgreSQL: the unique index), so nothing is lost
and nothing is duplicated.

Durability: SQLite runs ``synchronous=FULL`` under WAL, so a result is on disk when :meth:`Store.put`
returns -- it survives a power loss, not only a killed process (the README's "the moment it finishes").

Read-only opening (``create=False``, the results and report commands): a SQLite file is opened with
``mode=ro`` (nothing is written: no tables created, no journal-mode switch; on read-only media
``immutable=1``, see :func:`_connect_read_only`), its schema version read, and a file that is not a fitbench
database (no ``fitbench_schema`` table, or a ``fitbench_results`` table that is not ours) refused with one
line. Errors after opening (disk full, a read-only file, a lost PostgreSQL
connection) are :class:`StoreError` (one line); a lost connection is retried (:data:`RETRIES`).
"""

from __future__ import annotations

import functools
import os
import sqlite3
import time
import urllib.parse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from . import migrations, schema
from .record import NoDatabaseError, ResultRecord, StoreError, _aware, jsonable, utcnow


class UnstorableError(StoreError):
    """A result holds a string the database cannot store (a NUL byte, a label over its column's length).

    Nothing was written. ``failed_record`` is the same point as a ``failed`` row whose cause names the
    problem and whose strings are made storable: a sweep stores that instead of aborting."""

    def __init__(self, message: str, failed_record: ResultRecord) -> None:
        super().__init__(message)
        self.failed_record = failed_record


_TEXT_COLUMNS = ("kind", "model", "model_sha256", "precision", "hardware", "runtime", "status", "cause",
                 "sweep_id", "point_key", "node", "fitbench_version")  # fmt: skip


def _string_problems(record: ResultRecord) -> list[str]:
    """What in ``record`` PostgreSQL would refuse (SQLite would take it, so both are checked alike)."""
    import json

    problems = []
    for name in _TEXT_COLUMNS:
        value = getattr(record, name)
        if not isinstance(value, str):
            continue
        if "\x00" in value:
            problems.append(f"{name} holds a NUL byte")
        limit = getattr(schema.results.c[name].type, "length", None)
        if limit and len(value) > limit:
            problems.append(f"{name} is {len(value):,} characters, over the {limit} the database holds")
    for name in ("conditions", "metrics"):
        if "\\u0000" in json.dumps(getattr(record, name)):
            problems.append(f"{name} hold a NUL byte")
    return problems


def _scrub(obj: Any) -> Any:
    """``obj`` with every NUL in its strings replaced by U+FFFD (PostgreSQL's JSONB cannot hold one)."""
    if isinstance(obj, str):
        return obj.replace("\x00", "\ufffd")
    if isinstance(obj, dict):
        return {_scrub(k): _scrub(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_scrub(v) for v in obj]
    return obj


def _storable(record: ResultRecord, problem: str) -> ResultRecord:
    """``record`` as a failed row with only storable strings (NUL -> U+FFFD, labels cut to their column)."""
    import dataclasses

    fields = {}
    for name in _TEXT_COLUMNS:
        value = getattr(record, name)
        if isinstance(value, str):
            value = value.replace("\x00", "\ufffd")
            limit = getattr(schema.results.c[name].type, "length", None)
            if limit and len(value) > limit:
                value = value[: limit - 1] + "\u2026"
            fields[name] = value
    fields.update(cause=f"cannot store this result: {problem}", status="failed")
    return dataclasses.replace(record, **fields, metrics={}, conditions={"unstorable": problem})

DEFAULT_PATH = Path("~/.fitbench/results.db")
ENV_VAR = "FITBENCH_DB"
_SQLITE_BUSY_TIMEOUT_S = 60
RETRIES = 3  # attempts after a lost connection (PostgreSQL restart, network), with 0.5 s, 1 s, 2 s waits


def default_location() -> str:
    """``$FITBENCH_DB`` when set, else ``~/.fitbench/results.db``."""
    return os.environ.get(ENV_VAR) or str(DEFAULT_PATH.expanduser())


def normalise_url(url_or_path: str | os.PathLike[str] | None) -> sa.URL:
    """A path, ``sqlite:///...`` or ``postgresql://...`` -> a SQLAlchemy URL with the driver we use.

    ``postgresql://`` and ``postgres://`` select the psycopg 3 driver (``postgresql+psycopg://``).
    """
    text = str(url_or_path) if url_or_path is not None else default_location()
    text = text.strip()
    if not text:
        raise StoreError("empty database location")
    if text == ":memory:":
        return sa.make_url("sqlite://")
    if "://" not in text:
        path = Path(text).expanduser()
        if path.is_dir():
            raise StoreError(f"database path {text!r} is a directory; give a file like {text}/results.db")
        return sa.URL.create("sqlite", database=str(path.resolve()))
    if text.startswith("postgres://"):
        text = "postgresql://" + text[len("postgres://") :]
    try:
        url = sa.make_url(text)
    except sa.exc.ArgumentError as exc:
        raise StoreError(f"bad database URL {text!r}: {exc}") from None
    backend = url.get_backend_name()
    if backend == "postgresql":
        if url.drivername != "postgresql+psycopg":
            url = url.set(drivername="postgresql+psycopg")
    elif backend != "sqlite":
        raise StoreError(
            f"unsupported database {backend!r}: use a file path, sqlite:///PATH or postgresql://..."
        )
    return url


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return lines[0] if lines else type(orig).__name__


def _lost_connection(exc: sa.exc.DBAPIError) -> bool:
    if exc.connection_invalidated:
        return True
    try:
        import psycopg

        return isinstance(exc.orig, (psycopg.OperationalError, psycopg.InterfaceError))
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False


def _one_line_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Database errors after open become one-line :class:`StoreError`; a lost PostgreSQL connection is
    retried (the pool reconnects) up to :data:`RETRIES` times. A write is one transaction, so a retried sweep
    point is never duplicated: either the first attempt committed (and the upsert keeps its row) or nothing
    did. (A row outside a sweep has no key: a commit whose acknowledgement was lost may be written twice.)"""

    @functools.wraps(fn)
    def wrapper(self: Store, *args: Any, **kwargs: Any) -> Any:
        for attempt in range(RETRIES + 1):
            try:
                return fn(self, *args, **kwargs)
            except StoreError:
                raise
            except sa.exc.DBAPIError as exc:
                if self.dialect == "postgresql" and _lost_connection(exc) and attempt < RETRIES:
                    self.engine.dispose()
                    time.sleep(0.5 * 2**attempt)
                    continue
                raise StoreError(f"results database {self.location}: {_reason(exc)}") from None
            except sa.exc.SQLAlchemyError as exc:
                raise StoreError(f"results database {self.location}: {_reason(exc)}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    return wrapper


def _cannot_open(exc: sqlite3.OperationalError) -> bool:
    """SQLITE_CANTOPEN ("unable to open database file"; the code is on the exception from Python 3.11)."""
    return getattr(exc, "sqlite_errorcode", sqlite3.SQLITE_CANTOPEN) == sqlite3.SQLITE_CANTOPEN and \
        "unable to open" in str(exc)


def _connect_read_only(path: str) -> sqlite3.Connection:
    """A read-only connection to the SQLite file ``path`` (for the read-only commands only, never a writer).

    ``mode=ro`` first: nothing is written to the database, but reading a WAL database needs its ``-shm``
    file (the WAL index), which SQLite creates when it is missing -- impossible on read-only media (a
    read-only mount, a CD, a folder this user cannot write), where ``mode=ro`` fails with "unable to open
    database file". Only then, and only when the folder is not writable, the file is opened ``immutable=1``:
    SQLite then takes no locks and reads no ``-shm`` or ``-wal`` file. That is safe there because no
    process can be writing the file: a writer would have made the ``-shm`` file (with it, ``mode=ro``
    works and sees every committed row, the ``-wal`` file's included; a writer starting while a folder that
    only its owner may write is read so is not seen). One case cannot be read so: a
    ``-wal`` file that still holds rows not checkpointed into the database file, without its ``-shm``
    (copied without it, say) -- ``immutable`` would silently show fewer rows, so that is refused with one
    line saying why and what to do."""
    quoted = urllib.parse.quote(str(path))

    def connect(query: str) -> sqlite3.Connection:
        con = sqlite3.connect(f"file:{quoted}?{query}", uri=True, timeout=_SQLITE_BUSY_TIMEOUT_S,
                              check_same_thread=False)
        con.isolation_level = None
        return con

    con = connect("mode=ro")
    try:
        con.execute("PRAGMA schema_version").fetchone()  # the first read opens (or creates) the -shm file
        return con
    except sqlite3.OperationalError as exc:
        con.close()
        folder = os.path.dirname(path) or "."
        if not _cannot_open(exc) or os.access(folder, os.W_OK):
            raise
    wal = Path(f"{path}-wal")
    if wal.is_file() and wal.stat().st_size > 0:
        raise StoreError(f"its -wal file ({wal.stat().st_size:,} bytes) holds changes not yet in the database "
                         "file, which read-only media cannot show (SQLite needs to create a -shm file to read "
                         "them): copy the database and its -wal file to a writable folder and read that copy")
    return connect("mode=ro&immutable=1")


def _make_engine(url: sa.URL, read_only: bool = False) -> sa.Engine:
    if url.get_backend_name() == "sqlite" and read_only and url.database not in (None, "", ":memory:"):
        path = str(url.database)

        def connect() -> sqlite3.Connection:
            return _connect_read_only(path)

        return sa.create_engine("sqlite://", creator=connect, poolclass=sa.pool.QueuePool)
    if url.get_backend_name() == "sqlite":
        memory = url.database in (None, "", ":memory:")
        if not memory:
            folder = Path(url.database).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the folder of results database {url.database}: "
                                 f"{exc.strerror or exc}") from None
        engine = sa.create_engine(
            url,
            connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
            poolclass=sa.pool.StaticPool if memory else sa.pool.QueuePool,
        )

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (pysqlite's own is broken for DDL)
            cur = dbapi_conn.cursor()
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=FULL")  # a committed result survives a power loss too
            cur.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_S * 1000}")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _on_begin(conn: sa.Connection) -> None:
            # writers take the lock up front: no deadlock-prone read->write upgrade between processes
            write = conn.get_execution_options().get("fitbench_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=4)


def open_store(url_or_path: str | os.PathLike[str] | None = None, create: bool = True) -> Store:
    """Open (creating and migrating if needed) the results database.

    ``None`` -> ``$FITBENCH_DB`` or ``~/.fitbench/results.db``; a path -> SQLite file; ``sqlite:///PATH``;
    ``postgresql://user[:pw]@host[:port]/db`` -> PostgreSQL through psycopg 3.

    ``create=False`` (read-only commands: results, report): a SQLite file that does not exist raises
    :class:`NoDatabaseError` ("no results database at PATH") and neither it nor its folder is created.
    A PostgreSQL database is never created here (only its tables, by the migrations).
    """
    return Store(normalise_url(url_or_path), create=create)


class Store:
    """Results database. Use :func:`open_store`. Thread-safe; safe to share between processes by URL."""

    def __init__(self, url: sa.URL, create: bool = True) -> None:
        if not create and url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            if not Path(url.database).is_file():
                raise NoDatabaseError(f"no results database at {url.database}")
        self.url = url
        self.read_only = not create and url.database not in (None, "", ":memory:")
        self.engine = _make_engine(url, read_only=self.read_only)
        self._writer = self.engine.execution_options(fitbench_write=True)
        try:
            if self.read_only:
                self.schema_version = migrations.check(self.engine)
            else:
                self.schema_version = migrations.migrate(self.engine)
        except StoreError as exc:
            self.engine.dispose()
            raise StoreError(f"results database {self.location}: {exc}") from None
        except sa.exc.DatabaseError as exc:  # cannot connect (OperationalError), or not a database file
            self.engine.dispose()
            raise StoreError(f"cannot open results database {self.location}: {_reason(exc)}") from None
        self._insert = pg_dialect.insert if self.dialect == "postgresql" else sqlite_dialect.insert
        self._stmts: tuple[Any, Any, Any] | None = None

    # ---------------------------------------------------------------- basics
    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def location(self) -> str:
        """The URL without its password (safe to print)."""
        return self.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.location!r})"

    # ---------------------------------------------------------------- writes
    def _statements(self) -> tuple[Any, Any, Any]:
        """Insert / upsert / lookup statements, built once (SQLAlchemy then caches their compiled SQL)."""
        if self._stmts is None:
            t = schema.results
            cols = [n for n in ResultRecord.FIELDS if n != "id"] + ["created_at", "updated_at"]
            ins = self._insert(t)
            update = {c: ins.excluded[c] for c in cols if c not in ("sweep_id", "point_key", "created_at")}
            update["attempts"] = t.c.attempts + 1
            upsert = ins.on_conflict_do_update(
                index_elements=[t.c.sweep_id, t.c.point_key], set_=update, where=t.c.status != "ok"
            ).returning(t.c.id)
            lookup = sa.select(t.c.id).where(
                t.c.sweep_id == sa.bindparam("sweep_id"), t.c.point_key == sa.bindparam("point_key")
            )
            self._stmts = (sa.insert(t).returning(t.c.id), upsert, lookup)
        return self._stmts

    @_one_line_errors
    def put(self, record: ResultRecord) -> int:
        """Store ``record`` in one transaction and return its id (see the module doc for retries).

        A string the database cannot hold raises :class:`UnstorableError` before anything is written."""
        problems = _string_problems(record)
        if problems:
            problem = "; ".join(problems)
            raise UnstorableError(f"cannot store the result of {record.model[:80]!r}: {problem}",
                                  _storable(record, problem))
        row = {name: getattr(record, name) for name in ResultRecord.FIELDS if name != "id"}
        row["created_at"] = row["updated_at"] = utcnow()
        plain, upsert, lookup = self._statements()
        with self._writer.begin() as conn:
            if record.sweep_id is None:
                return int(conn.execute(plain, row).scalar_one())
            rid = conn.execute(upsert, row).scalar_one_or_none()
            if rid is None:  # an ok row exists for this point: it stays as it is
                rid = conn.execute(lookup, {"sweep_id": record.sweep_id, "point_key": record.point_key}).scalar_one()
            return int(rid)

    @_one_line_errors
    def register_sweep(
        self, sweep_id: str, spec: dict[str, Any], n_points: int, source: str | None = None
    ) -> None:
        """Record (or update) a sweep's spec and size (NULs in the spec's strings stored as U+FFFD)."""
        t = schema.sweeps
        limit = t.c.sweep_id.type.length
        if "\x00" in sweep_id or len(sweep_id) > limit:
            raise StoreError(f"sweep name {sweep_id[:40]!r}... cannot be stored: at most {limit} characters, "
                             "no NUL byte")
        now = utcnow()
        row = {"sweep_id": sweep_id, "spec": _scrub(jsonable(spec)), "n_points": int(n_points), "source": source,
               "created_at": now, "updated_at": now}  # fmt: skip
        ins = self._insert(t).values(row)
        stmt = ins.on_conflict_do_update(
            index_elements=[t.c.sweep_id],
            set_={
                "spec": ins.excluded.spec,
                "n_points": ins.excluded.n_points,
                "source": ins.excluded.source,
                "updated_at": ins.excluded.updated_at,
            },  # fmt: skip
        )
        with self._writer.begin() as conn:
            conn.execute(stmt)

    # ---------------------------------------------------------------- sweep leases
    @_one_line_errors
    def acquire_lease(self, sweep_id: str, holder: str, ttl_s: float) -> str | None:
        """Take (or renew) the lease of ``sweep_id`` for ``holder`` until now + ``ttl_s``; ``None`` when taken,
        else the live holder's name. A lease whose holder is gone is taken over: it expired, or its holder
        (``host:pid:...``) is a dead process of this host. Atomic: one upsert whose update applies only
        when the lease is free, expired or already ours."""
        import datetime as dt
        import socket

        t = schema.leases
        now = utcnow()
        row = {"sweep_id": sweep_id, "holder": holder, "expires_at": now + dt.timedelta(seconds=ttl_s)}
        with self._writer.begin() as conn:
            current = conn.execute(sa.select(t.c.holder, t.c.expires_at).where(t.c.sweep_id == sweep_id)).first()
            dead = False
            if current is not None:
                host, _, rest = current.holder.partition(":")
                pid = rest.split(":", 1)[0]
                if host == socket.gethostname() and pid.isdigit():
                    from ..tempdirs import pid_alive

                    dead = not pid_alive(int(pid))
            ins = self._insert(t).values(row)
            free = (t.c.expires_at < now) | (t.c.holder == holder)
            if dead:
                free = free | (t.c.holder == current.holder)
            stmt = ins.on_conflict_do_update(index_elements=[t.c.sweep_id],
                                             set_={"holder": ins.excluded.holder,
                                                   "expires_at": ins.excluded.expires_at},
                                             where=free).returning(t.c.holder)
            got = conn.execute(stmt).scalar_one_or_none()
            if got == holder:
                return None
            return current.holder if current is not None else "another sweep"

    @_one_line_errors
    def release_lease(self, sweep_id: str, holder: str) -> None:
        t = schema.leases
        with self._writer.begin() as conn:
            conn.execute(sa.delete(t).where(t.c.sweep_id == sweep_id, t.c.holder == holder))

    # ---------------------------------------------------------------- reads
    def _where(self, where: dict[str, Any]) -> list[sa.ColumnElement[bool]]:
        t = schema.results
        clauses = []
        for key, value in where.items():
            if key not in schema.FILTERS:
                raise StoreError(f"cannot filter on {key!r}; use one of: {', '.join(schema.FILTERS)}")
            col = t.c[key]
            if value is None:
                clauses.append(col.is_(None))
            elif isinstance(value, (list, tuple, set, frozenset)):
                clauses.append(col.in_([self._coerce(key, v) for v in value]))
            else:
                clauses.append(col == self._coerce(key, value))
        return clauses

    @staticmethod
    def _coerce(key: str, value: Any) -> Any:
        kind = schema.FILTERS[key]
        try:
            return kind(value)
        except (TypeError, ValueError):
            raise StoreError(f"{key} expects {kind.__name__}, got {value!r}") from None

    def _rows(self, stmt: sa.Select) -> list[ResultRecord]:
        with self.engine.connect() as conn:
            return [ResultRecord.from_mapping(r._mapping) for r in conn.execute(stmt)]

    @_one_line_errors
    def query(self, limit: int | None = None, newest_first: bool = False, **where: Any) -> list[ResultRecord]:
        """Results matching every ``column=value`` (a list/tuple value means "any of"), oldest first
        (``newest_first=True``: the newest first, so that ``limit`` keeps the latest).

        Filterable columns: kind, model, model_sha256, batch, precision, hardware, runtime, status,
        sweep_id, point_key, node, id.
        """
        t = schema.results
        order = t.c.id.desc() if newest_first else t.c.id
        stmt = sa.select(*[t.c[n] for n in ResultRecord.FIELDS]).where(*self._where(where)).order_by(order)
        if limit is not None:
            stmt = stmt.limit(int(limit))
        return self._rows(stmt)

    @_one_line_errors
    def count(self, **where: Any) -> int:
        t = schema.results
        with self.engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(t).where(*self._where(where))).scalar()
            )

    def get(self, result_id: int) -> ResultRecord | None:
        found = self.query(id=result_id)
        return found[0] if found else None

    def get_by_point(self, sweep_id: str, point_key: str) -> ResultRecord | None:
        found = self.query(sweep_id=sweep_id, point_key=point_key)
        return found[0] if found else None

    @_one_line_errors
    def point_statuses(self, sweep_id: str) -> dict[str, str]:
        """``{point_key: status}`` of every stored point of a sweep (what ``--resume`` needs)."""
        t = schema.results
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.c.point_key, t.c.status).where(t.c.sweep_id == sweep_id))
            return {k: s for k, s in rows}

    @_one_line_errors
    def list_sweeps(self) -> list[dict[str, Any]]:
        """One dict per sweep: sweep_id, n_points (planned), ok, failed, invalid, stored, created_at, first/last."""
        t, s = schema.results, schema.sweeps
        ok = sa.func.sum(sa.case((t.c.status == "ok", 1), else_=0))
        failed = sa.func.sum(sa.case((t.c.status == "failed", 1), else_=0))
        invalid = sa.func.sum(sa.case((t.c.status == "invalid", 1), else_=0))
        stmt = (
            sa.select(
                t.c.sweep_id,
                sa.func.count(),
                ok,
                failed,
                invalid,
                sa.func.min(t.c.started_at),
                sa.func.max(t.c.finished_at),
            )  # fmt: skip
            .where(t.c.sweep_id.is_not(None))
            .group_by(t.c.sweep_id)
        )
        with self.engine.connect() as conn:
            counts = {r[0]: r[1:] for r in conn.execute(stmt)}
            planned = {
                r.sweep_id: r for r in conn.execute(sa.select(s.c.sweep_id, s.c.n_points, s.c.created_at))
            }
        out = []
        for sweep_id in sorted(set(counts) | set(planned)):
            n, n_ok, n_failed, n_invalid, first, last = counts.get(sweep_id, (0, 0, 0, 0, None, None))
            info = planned.get(sweep_id)
            out.append({
                "sweep_id": sweep_id,
                "n_points": info.n_points if info else None,
                "stored": int(n),
                "ok": int(n_ok or 0),
                "failed": int(n_failed or 0),
                "invalid": int(n_invalid or 0),
                "created_at": info.created_at if info else None,
                "first_started": _aware(first),
                "last_finished": _aware(last),
            })  # fmt: skip
        return out

    @_one_line_errors
    def get_sweep(self, sweep_id: str) -> dict[str, Any] | None:
        s = schema.sweeps
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(s).where(s.c.sweep_id == sweep_id)).first()
        return dict(row._mapping) if row else None

    def to_dataframe(self, records: Iterable[ResultRecord] | None = None, **where: Any) -> Any:
        """Results as a pandas DataFrame: one row per result, the columns of the table plus
        ``metrics.*`` and ``conditions.*`` flattened (nested keys joined with dots)."""
        import pandas as pd

        rows = list(records) if records is not None else self.query(**where)
        if not rows:
            return pd.DataFrame(columns=list(ResultRecord.FIELDS))
        flat = []
        for r in rows:
            d = {k: v for k, v in r.to_dict().items() if k not in ("metrics", "conditions")}
            d["started_at"], d["finished_at"] = r.started_at, r.finished_at
            d.update({"metrics": r.metrics, "conditions": r.conditions})
            flat.append(d)
        return pd.json_normalize(flat, sep=".")

    def to_parquet(self, path: str | os.PathLike[str], records: Iterable[ResultRecord] | None = None,
                   **where: Any) -> None:
        """Write :meth:`to_dataframe` as Parquet. Columns holding lists, dicts or mixed types become JSON text,
        so that every column has one Arrow type. Needs pyarrow (``pip install 'fitbench[parquet]'``)."""
        import json

        from ..errors import writing

        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise StoreError("parquet export needs pyarrow: pip install 'fitbench[parquet]'") from None
        df = self.to_dataframe(records, **where)
        for col in df.columns:
            if df[col].dtype == object:
                types = {type(v) for v in df[col] if v is not None}
                if len(types) > 1 or types & {list, dict}:
                    df[col] = df[col].map(lambda v: None if v is None else json.dumps(v, sort_keys=True, default=str))
        with writing(path):
            df.to_parquet(path, index=False)
