"""Tables of the results database (SQLAlchemy Core), the same for SQLite and PostgreSQL.

``fitbench_results`` holds one row per result. JSON columns are ``JSON`` on SQLite (text) and ``JSONB`` on
PostgreSQL. The pair (``sweep_id``, ``point_key``) is unique: a sweep point is stored at most once, and a
retry updates its row (see :meth:`fitbench.store.Store.put`). Rows outside a sweep have NULL in both and
are never in conflict. ``fitbench_sweeps`` describes each sweep (its spec and size); ``fitbench_leases``
holds the lease of a sweep being run (so that identical sweeps started at once do not all run every
point); ``fitbench_schema``
records the applied schema versions (see :mod:`fitbench.store.migrations`).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

metadata = sa.MetaData()

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
IdType = sa.BigInteger().with_variant(
    sa.Integer(), "sqlite"
)  # SQLite autoincrement needs INTEGER PRIMARY KEY
Timestamp = sa.DateTime(timezone=True)

results = sa.Table(
    "fitbench_results",
    metadata,
    sa.Column("id", IdType, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("model", sa.String(255), nullable=False),
    sa.Column("model_sha256", sa.String(64)),
    sa.Column("batch", sa.Integer),
    sa.Column("precision", sa.String(32)),
    sa.Column("hardware", sa.String(255)),
    sa.Column("runtime", sa.String(64)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("cause", sa.Text),
    sa.Column("conditions", JSONType, nullable=False),
    sa.Column("metrics", JSONType, nullable=False),
    sa.Column("started_at", Timestamp),
    sa.Column("finished_at", Timestamp),
    sa.Column("duration_s", sa.Float),
    sa.Column("sweep_id", sa.String(255)),
    sa.Column("point_key", sa.String(64)),
    sa.Column("node", sa.String(255)),
    sa.Column("fitbench_version", sa.String(32)),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.UniqueConstraint("sweep_id", "point_key", name="uq_fitbench_results_point"),
    sa.CheckConstraint("status IN ('ok', 'failed', 'retriable', 'invalid')", name="ck_fitbench_results_status"),
)

sa.Index(
    "ix_fitbench_results_kind_model", results.c.kind, results.c.model, results.c.batch, results.c.precision
)
sa.Index("ix_fitbench_results_hardware", results.c.hardware)
sa.Index("ix_fitbench_results_runtime", results.c.runtime)
sa.Index("ix_fitbench_results_status", results.c.status)
sa.Index("ix_fitbench_results_model_sha256", results.c.model_sha256)
# (sweep_id, point_key) is indexed by its unique constraint; it also serves "WHERE sweep_id = ?".

sweeps = sa.Table(
    "fitbench_sweeps",
    metadata,
    sa.Column("sweep_id", sa.String(255), primary_key=True),
    sa.Column("spec", JSONType, nullable=False),
    sa.Column("n_points", sa.Integer, nullable=False),
    sa.Column("source", sa.Text),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)

leases = sa.Table(
    "fitbench_leases",
    metadata,
    sa.Column("sweep_id", sa.String(255), primary_key=True),
    sa.Column("holder", sa.String(255), nullable=False),  # host:pid:random of the sweep that runs it
    sa.Column("expires_at", Timestamp, nullable=False),
)

schema_versions = sa.Table(
    "fitbench_schema",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("applied_at", Timestamp, nullable=False),
)

# columns that Store.query(**where) accepts, with the Python type a CLI string is converted to
FILTERS: dict[str, type] = {
    "id": int,
    "kind": str,
    "model": str,
    "model_sha256": str,
    "batch": int,
    "precision": str,
    "hardware": str,
    "runtime": str,
    "status": str,
    "sweep_id": str,
    "point_key": str,
    "node": str,
}
