"""Schema versioning without alembic: an ordered list of migrations and a small version table.

How it works
------------
- ``fitbench_schema`` holds one row per applied version (version, description, applied_at).
- :data:`MIGRATIONS` is the ordered list of steps. Step 1 creates the tables of :mod:`.schema`; each later
  step (when the schema changes) is a function that alters an existing database from version N-1 to N
  (``ALTER TABLE ... ADD COLUMN``, a new index, a data fix) and :mod:`.schema` is edited to match.
- A *fresh* database is created directly at the latest schema (``metadata.create_all``) and stamped with
  every version; an *existing* one runs the steps it lacks, in order, then is stamped. A database stamped
  with a version newer than this fitbench knows is refused with a clear error (never modified).
- Everything happens in one transaction that holds the database's write lock (``BEGIN IMMEDIATE`` on
  SQLite, ``pg_advisory_xact_lock`` on PostgreSQL, whose DDL is transactional), so two processes opening a
  new database at once cannot both create it, and a failed step leaves the database as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from . import schema
from .record import StoreError, utcnow

# arbitrary constant: the PostgreSQL advisory lock that serialises schema set-up
_PG_LOCK_KEY = 0x46_49_54_42  # "FITB"


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    upgrade: Callable[[sa.Connection], None]


def _create_initial(conn: sa.Connection) -> None:
    schema.metadata.create_all(conn)


def _more_statuses(conn: sa.Connection) -> None:
    """v2: status may also be 'retriable' (an infrastructure failure) or 'invalid' (LoadGen INVALID)."""
    check = "status IN ('ok', 'failed', 'retriable', 'invalid')"
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("ALTER TABLE fitbench_results DROP CONSTRAINT IF EXISTS ck_fitbench_results_status"))
        conn.execute(sa.text(f"ALTER TABLE fitbench_results ADD CONSTRAINT ck_fitbench_results_status CHECK ({check})"))
        return
    # SQLite cannot alter a CHECK constraint: rebuild the table (same columns, rows and ids), in this transaction
    t = schema.results
    for index in t.indexes:
        conn.execute(sa.text(f"DROP INDEX IF EXISTS {index.name}"))
    conn.execute(sa.text("ALTER TABLE fitbench_results RENAME TO fitbench_results_v1"))
    t.create(conn)
    cols = ", ".join(c.name for c in t.columns)
    conn.execute(sa.text(f"INSERT INTO fitbench_results ({cols}) SELECT {cols} FROM fitbench_results_v1"))
    conn.execute(sa.text("DROP TABLE fitbench_results_v1"))


def _leases(conn: sa.Connection) -> None:
    """v3: the sweep lease table."""
    schema.leases.create(conn, checkfirst=True)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "results, sweeps and schema tables with indices", _create_initial),
    Migration(2, "status may be retriable (infrastructure failure) or invalid (LoadGen INVALID)", _more_statuses),
    Migration(3, "a lease per running sweep", _leases),
)
LATEST = MIGRATIONS[-1].version


def current_version(conn: sa.Connection) -> int:
    if not sa.inspect(conn).has_table(schema.schema_versions.name):
        return 0
    return conn.execute(sa.select(sa.func.max(schema.schema_versions.c.version))).scalar() or 0


def check(engine: sa.Engine, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Read-only: the database's schema version, without writing anything. Refuses (``StoreError``) a
    database that is not fitbench's (no version table: another application's file, or a foreign table that
    happens to be named ``fitbench_results``) or is newer than this fitbench."""
    latest = migrations[-1].version
    with engine.connect() as conn:
        names = set(sa.inspect(conn).get_table_names())
        if schema.schema_versions.name not in names or schema.results.name not in names:
            raise StoreError("not a fitbench results database (no fitbench tables in it); check --db")
        version = current_version(conn)
        if version < 1:
            raise StoreError("not a fitbench results database (its schema table is empty); check --db")
        if version > latest:
            raise StoreError(f"schema version {version} is newer than this fitbench knows ({latest}); "
                             "upgrade fitbench to read it")
        cols = {c["name"] for c in sa.inspect(conn).get_columns(schema.results.name)}
        missing = {c.name for c in schema.results.columns} - cols
        if version == latest and missing:
            raise StoreError(f"its fitbench_results table is not fitbench's (no column {sorted(missing)[0]!r})")
        return version


def migrate(engine: sa.Engine, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring the database at ``engine`` to the latest version; return that version."""
    latest = migrations[-1].version
    with engine.execution_options(fitbench_write=True).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        version = current_version(conn)
        if version > latest:
            raise StoreError(
                f"the results database has schema version {version}, newer than this fitbench knows "
                f"({latest}); upgrade fitbench to use it"
            )
        if version == latest:
            return version
        fresh = version == 0 and not sa.inspect(conn).has_table(schema.results.name)
        if fresh:
            schema.metadata.create_all(conn)
            pending = list(migrations)
        else:
            schema.schema_versions.create(conn, checkfirst=True)
            pending = [m for m in migrations if m.version > version]
            for step in pending:
                step.upgrade(conn)
        for step in pending:
            conn.execute(
                sa.insert(schema.schema_versions).values(
                    version=step.version, description=step.description, applied_at=utcnow()
                )
            )
        return latest
