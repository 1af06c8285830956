"""Results database: every profile, estimate and measurement with its full conditions.

SQLite by default (``~/.fitbench/results.db``, or ``$FITBENCH_DB``), PostgreSQL by URL
(``postgresql://user@host/db``, through psycopg 3). Schema in :mod:`.schema` (SQLAlchemy Core, one
definition for both databases), versions in :mod:`.migrations`, the interface in :mod:`.db`.

>>> from fitbench.store import open_store, ResultRecord
>>> store = open_store(":memory:")
>>> rid = store.put(ResultRecord(kind="estimate", model="resnet50", batch=1, metrics={"latency_s": 0.01}))
>>> store.get(rid).metrics["latency_s"]
0.01
"""

from .db import Store, UnstorableError, default_location, normalise_url, open_store
from .record import KINDS, STATUSES, SUPPLIER_VERIFIED, NoDatabaseError, ResultRecord, StoreError, jsonable

__all__ = [
    "KINDS", "STATUSES", "SUPPLIER_VERIFIED", "NoDatabaseError", "ResultRecord", "Store", "StoreError",
    "UnstorableError",
    "default_location", "jsonable", "normalise_url", "open_store",
]  # fmt: skip
