"""ResultRecord: one stored result (a profile, an estimate or a measurement) with all its conditions.

Conventions
-----------
- ``kind`` names the engine that produced the row: ``profile``, ``estimate`` or ``measure`` (the three
  built-in sweep point kinds); other short lowercase names are accepted for plug-in kinds.
- ``conditions`` (JSON) holds *everything* the result depends on: model identity and shapes, batch,
  precision, hardware spec or runtime + version, threads, library versions, the sweep point definition.
  ``metrics`` (JSON) holds the numbers. The columns ``model``, ``batch``, ``precision``, ``hardware``,
  ``runtime`` duplicate the most queried conditions so that they can be indexed.
- ``status`` is ``ok``; ``failed`` (the point's own failure: its engine raised, its child crashed or timed
  out); ``retriable`` (the infrastructure failed, not the point: a Ray worker or node died; plain
  ``--resume`` runs it again); or ``invalid`` (a measurement LoadGen judged INVALID: its figures are kept
  but it is never used as a valid result). Every status but ``ok`` carries a one-line ``cause``.
- ``conditions["provenance"]`` says who produced a measurement when it was not this machine:
  :data:`SUPPLIER_VERIFIED` marks a supplier's run of a buyer's kit that ``fitbench kit verify`` accepted
  (``hardware`` names the offering; the kit, the supplier's conditions and every check are in the conditions).
- Timestamps are timezone-aware UTC; ``duration_s`` is wall seconds of the run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from .. import __version__
from ..errors import FitbenchError

KINDS = ("profile", "estimate", "measure")
#: ``conditions["provenance"]`` of a supplier's measurement checked by ``fitbench kit verify``
SUPPLIER_VERIFIED = "supplier-measured, verified"
STATUSES = ("ok", "failed", "retriable", "invalid")
_KIND_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


class StoreError(FitbenchError):
    """The results database cannot be opened, is too new, or a query is malformed."""


class NoDatabaseError(StoreError):
    """``open_store(..., create=False)`` on a SQLite file that does not exist (a read-only command never
    creates one: a mistyped ``--db`` must not leave an empty database behind)."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _default(obj: Any) -> Any:
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return obj.item()
    if hasattr(obj, "tolist") and callable(obj.tolist):  # numpy arrays
        return obj.tolist()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if isinstance(obj, (dt.datetime, dt.date)):
        return obj.isoformat()
    if isinstance(obj, PurePath):
        return str(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


def _finite(obj: Any) -> Any:
    """Non-finite floats become strings 'NaN' / 'Infinity' / '-Infinity' (PostgreSQL JSONB rejects them)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return "NaN" if math.isnan(obj) else ("Infinity" if obj > 0 else "-Infinity")
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def jsonable(obj: Any) -> Any:
    """A JSON-safe deep copy of ``obj`` (numpy scalars, tuples, paths, dataclasses converted)."""
    return _finite(json.loads(json.dumps(obj, default=_default)))


def _aware(value: dt.datetime | str | None) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:  # SQLite returns naive datetimes; we always store UTC
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


@dataclass
class ResultRecord:
    """One result row. ``id`` is assigned by the store; ``attempts`` counts runs of a sweep point."""

    kind: str
    model: str
    status: str = "ok"
    model_sha256: str | None = None
    batch: int | None = None
    precision: str | None = None
    hardware: str | None = None
    runtime: str | None = None
    conditions: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    cause: str | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    duration_s: float | None = None
    sweep_id: str | None = None
    point_key: str | None = None
    node: str | None = None
    fitbench_version: str = __version__
    attempts: int = 1
    id: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or not _KIND_RE.match(self.kind):
            raise StoreError(
                f"result kind must be a short lowercase name like {'/'.join(KINDS)}, got {self.kind!r}"
            )
        if self.status not in STATUSES:
            raise StoreError(f"result status must be one of {', '.join(STATUSES)}, got {self.status!r}")
        if self.status != "ok" and not self.cause:
            raise StoreError(f"a {self.status} result needs a cause")
        if not self.model:
            raise StoreError("a result needs a model name")
        if self.batch is not None:
            self.batch = int(self.batch)
        if (self.sweep_id is None) != (self.point_key is None):
            raise StoreError("sweep_id and point_key go together: give both or neither")
        if self.cause is not None:
            self.cause = " ".join(str(self.cause).split())
        self.started_at = _aware(self.started_at)
        self.finished_at = _aware(self.finished_at)
        self.conditions = jsonable(self.conditions or {})
        self.metrics = jsonable(self.metrics or {})

    # the columns a database row holds, in order
    FIELDS = (
        "id", "kind", "model", "model_sha256", "batch", "precision", "hardware", "runtime", "status",
        "cause", "conditions", "metrics", "started_at", "finished_at", "duration_s", "sweep_id",
        "point_key", "node", "fitbench_version", "attempts",
    )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (timestamps as ISO 8601 strings)."""
        out = {name: getattr(self, name) for name in self.FIELDS}
        for name in ("started_at", "finished_at"):
            if out[name] is not None:
                out[name] = out[name].isoformat()
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)

    def to_dataframe(self) -> Any:
        """One-row pandas DataFrame, ``metrics.*`` and ``conditions.*`` flattened (pandas imported lazily)."""
        import pandas as pd

        return pd.json_normalize([self.to_dict()], sep=".")

    @classmethod
    def from_mapping(cls, row: Any) -> ResultRecord:
        return cls(**{name: row[name] for name in cls.FIELDS})

    def same_result(self, other: ResultRecord) -> bool:
        """True when both rows state the same result: identity, status and metrics (not timings/node/id)."""
        keys = ("kind", "model", "model_sha256", "batch", "precision", "hardware", "runtime", "status",
                "cause", "metrics", "sweep_id", "point_key")  # fmt: skip
        return all(getattr(self, k) == getattr(other, k) for k in keys)
