"""The results store, on SQLite and on a real PostgreSQL server (every test runs on both)."""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp

import pytest

from fitbench.store import ResultRecord, StoreError, open_store

T0 = dt.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=dt.timezone.utc)


def rec(**kw) -> ResultRecord:
    base = dict(kind="estimate", model="yolov3", model_sha256="ab" * 32, batch=1, precision="int8",
                hardware="edge-npu-slow-dram", conditions={"input_shapes": {"images": [1, 3, 1080, 1920]}},
                metrics={"latency_s": 0.125, "throughput": 8.0}, started_at=T0,
                finished_at=T0 + dt.timedelta(seconds=2), duration_s=2.0, node="host-a")  # fmt: skip
    base.update(kw)
    return ResultRecord(**base)


def test_roundtrip_keeps_every_field(db_url):
    store = open_store(db_url)
    r = rec(sweep_id="s1", point_key="k1", metrics={"latency_s": 0.1 + 0.2, "nested": {"a": [1, 2.5, None]}})
    rid = store.put(r)
    got = store.get(rid)
    assert got.id == rid
    for name in ResultRecord.FIELDS:
        if name != "id":
            assert getattr(got, name) == getattr(r, name), name
    assert got.metrics["latency_s"] == 0.30000000000000004  # the exact float survives the JSON column
    assert got.started_at == T0 and got.started_at.tzinfo is not None
    assert store.get_by_point("s1", "k1").id == rid
    assert store.get(rid + 1000) is None


def test_query_filters_on_indexed_columns(db_url):
    store = open_store(db_url)
    grid = [(m, b, p) for m in ("yolov3", "resnet50") for b in (1, 2, 4) for p in ("int8", "fp16")]
    for m, b, p in grid:
        store.put(rec(model=m, batch=b, precision=p))
    store.put(rec(kind="measure", hardware=None, runtime="onnxruntime", status="failed", cause="child died"))
    assert store.count() == 2 * 3 * 2 + 1
    assert len(store.query(model="yolov3")) == 3 * 2 + 1
    assert len(store.query(model="resnet50", batch=2)) == 2
    assert len(store.query(batch=[1, 4], precision="fp16")) == 2 * 2
    assert len(store.query(kind="measure", runtime="onnxruntime", status="failed")) == 1
    assert len(store.query(batch="2")) == 2 * 2  # CLI strings are converted to the column's type
    assert [r.batch for r in store.query(model="resnet50", precision="int8")] == [1, 2, 4]  # insertion order
    assert len(store.query(limit=5)) == 5
    assert [r.batch for r in store.query(limit=2, newest_first=True, model="resnet50")] == [4, 4]
    assert [r.precision for r in store.query(limit=2, newest_first=True, model="resnet50")] == ["fp16", "int8"]
    with pytest.raises(StoreError, match="cannot filter on 'colour'"):
        store.query(colour="red")
    with pytest.raises(StoreError, match="batch expects int"):
        store.query(batch="one")


@pytest.mark.parametrize(
    "first, second, expected_status, expected_latency, expected_attempts",
    [
        # a retry replaces a failed point...
        ("failed", "ok", "ok", 0.2, 2),
        ("failed", "failed", "failed", 0.2, 2),
        # ...but never an ok one: a failed run or a duplicate ok keeps the stored result
        ("ok", "failed", "ok", 0.1, 1),
        ("ok", "ok", "ok", 0.1, 1),
    ],
)
def test_point_upsert(db_url, first, second, expected_status, expected_latency, expected_attempts):
    store = open_store(db_url)

    def attempt(status, latency):
        return rec(sweep_id="s", point_key="p", status=status, cause="boom" if status == "failed" else None,
                   metrics={"latency_s": latency})  # fmt: skip

    id1 = store.put(attempt(first, 0.1))
    id2 = store.put(attempt(second, 0.2))
    assert id1 == id2
    rows = store.query(sweep_id="s")
    assert len(rows) == 1
    assert (rows[0].status, rows[0].metrics["latency_s"], rows[0].attempts) == (
        expected_status, expected_latency, expected_attempts)  # fmt: skip


def test_results_outside_sweeps_are_never_merged(db_url):
    store = open_store(db_url)
    ids = {store.put(rec()) for _ in range(3)}
    assert len(ids) == 3 and store.count() == 3


def _writer(url: str, worker: int, n_shared: int, n_own: int) -> None:
    store = open_store(url)
    for i in range(n_shared):  # every worker writes the same points: one row each must survive
        store.put(rec(sweep_id="race", point_key=f"shared-{i}", batch=i, metrics={"v": i}))
    for i in range(n_own):  # and its own: none may be lost
        store.put(rec(sweep_id="race", point_key=f"w{worker}-{i}", batch=i, metrics={"v": worker * 1000 + i}))
    store.close()


@pytest.mark.slow
def test_concurrent_writers_lose_and_duplicate_nothing(db_url):
    open_store(db_url).close()  # create the schema (concurrent creation is tested separately)
    workers, n_shared, n_own = 4, 30, 30
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(db_url, w, n_shared, n_own)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    store = open_store(db_url)
    rows = store.query(sweep_id="race")
    keys = [r.point_key for r in rows]
    assert len(keys) == len(set(keys)) == n_shared + workers * n_own
    own = {r.point_key: r.metrics["v"] for r in rows if not r.point_key.startswith("shared")}
    assert own == {f"w{w}-{i}": w * 1000 + i for w in range(workers) for i in range(n_own)}


def test_list_sweeps_counts(db_url):
    store = open_store(db_url)
    store.register_sweep("a", {"name": "a"}, n_points=5)
    for i in range(3):
        store.put(rec(sweep_id="a", point_key=f"k{i}"))
    store.put(rec(sweep_id="a", point_key="bad", status="failed", cause="x"))
    store.put(rec(sweep_id="b", point_key="k0"))
    sweeps = {s["sweep_id"]: s for s in store.list_sweeps()}
    assert (sweeps["a"]["n_points"], sweeps["a"]["stored"], sweeps["a"]["ok"], sweeps["a"]["failed"]) == (
        5,
        4,
        3,
        1,
    )
    assert (sweeps["b"]["n_points"], sweeps["b"]["stored"]) == (None, 1)
    assert store.point_statuses("a") == {"k0": "ok", "k1": "ok", "k2": "ok", "bad": "failed"}
    assert store.get_sweep("a")["spec"] == {"name": "a"}


def test_to_dataframe_flattens_metrics_and_conditions(db_url):
    store = open_store(db_url)
    for b in (1, 2):
        store.put(rec(batch=b, metrics={"latency_s": 0.5 * b}))
    df = store.to_dataframe(model="yolov3")
    assert list(df["batch"]) == [1, 2]
    assert list(df["metrics.latency_s"]) == [0.5 * 1, 0.5 * 2]
    assert list(df["conditions.input_shapes.images"])[0] == [1, 3, 1080, 1920]
    one = store.query(batch=2)[0].to_dataframe()
    assert one.loc[0, "metrics.latency_s"] == 0.5 * 2 and one.loc[0, "batch"] == 2


def test_non_finite_and_numpy_values_are_stored_safely(db_url):
    np = pytest.importorskip("numpy")
    store = open_store(db_url)
    rid = store.put(rec(metrics={"a": np.float32(0.5), "b": float("nan"), "c": (1, 2), "d": np.int64(7)}))
    assert store.get(rid).metrics == {"a": 0.5, "b": "NaN", "c": [1, 2], "d": 7}


def test_reopen_is_idempotent_and_concurrent_open_is_safe(db_url):
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=open_store, args=(db_url,)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    store = open_store(db_url)
    import sqlalchemy as sa

    from fitbench.store import migrations, schema

    with store.engine.connect() as conn:
        versions = conn.execute(sa.select(schema.schema_versions.c.version)).scalars().all()
    assert versions == [m.version for m in migrations.MIGRATIONS]
    assert store.schema_version == migrations.LATEST


@pytest.mark.parametrize("spelling", ["path", "url"])
def test_create_false_refuses_a_missing_sqlite_file_and_creates_nothing(tmp_path, spelling):
    from fitbench.store import NoDatabaseError

    missing = tmp_path / "no" / "such" / "r.db"
    where = str(missing) if spelling == "path" else f"sqlite:///{missing}"
    with pytest.raises(NoDatabaseError, match=f"^no results database at {missing}$"):
        open_store(where, create=False)
    assert not (tmp_path / "no").exists()
    assert issubclass(NoDatabaseError, StoreError)


def test_create_false_reads_an_existing_database(tmp_path):
    path = tmp_path / "r.db"
    with open_store(path) as store:  # the default creates it (writing commands)
        rid = store.put(rec())
    assert path.is_file()
    with open_store(path, create=False) as store:
        assert store.get(rid).metrics == {"latency_s": 0.125, "throughput": 8.0}


def test_create_false_in_memory_is_allowed():
    with open_store(":memory:", create=False) as store:
        assert store.count() == 0


def test_create_false_on_postgres_opens_an_existing_database(db_url):
    """PostgreSQL databases are never created by fitbench; create=False changes nothing there."""
    with open_store(db_url) as store:
        rid = store.put(rec())
    with open_store(db_url, create=False) as store:
        assert store.get(rid).model == "yolov3"
