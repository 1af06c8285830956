"""The results database under faults and hostile strings: one line, never a traceback; nothing written by a
read-only command; a bad string fails its point, not the sweep; a lost PostgreSQL connection is retried."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from fitbench.store import ResultRecord, StoreError, UnstorableError, open_store


def rec(**kw) -> ResultRecord:
    base = dict(kind="estimate", model="yolov3", batch=1, metrics={"latency_s": 0.125})
    base.update(kw)
    return ResultRecord(**base)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_read_only_open_leaves_another_applications_file_as_it_was(tmp_path):
    other = tmp_path / "other-app.sqlite"
    with sqlite3.connect(other) as con:
        con.execute("create table notes (id integer primary key, text text)")
        con.execute("insert into notes (text) values ('keep me')")
    con.close()
    before = _digest(other)
    with pytest.raises(StoreError, match="not a fitbench results database"):
        open_store(other, create=False)
    assert _digest(other) == before
    with sqlite3.connect(other) as con:
        assert con.execute("pragma journal_mode").fetchone()[0] == "delete"  # not switched to WAL
        assert [r[0] for r in con.execute("select name from sqlite_master where type='table'")] == ["notes"]


def test_foreign_fitbench_results_table_is_one_line(tmp_path):
    path = tmp_path / "foreign.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("create table fitbench_results (id integer primary key, whatever text)")
    with pytest.raises(StoreError, match="not a fitbench results database"):
        open_store(path, create=False)


def test_read_only_open_writes_nothing_and_refuses_writes(tmp_path):
    path = tmp_path / "r.db"
    with open_store(path) as store:
        store.put(rec())
    before = _digest(path)
    with open_store(path, create=False) as store:
        assert store.count() == 1
        with pytest.raises(StoreError, match="readonly"):  # a database error after open: one line
            store.put(rec())
    assert _digest(path) == before


def test_newer_schema_is_refused_read_only_without_a_write(tmp_path):
    path = tmp_path / "r.db"
    open_store(path).close()
    with sqlite3.connect(path) as con:
        con.execute("insert into fitbench_schema values (99, 'from the future', '2030-01-01')")
    con.close()
    before = _digest(path)
    with pytest.raises(StoreError, match="schema version 99 is newer"):
        open_store(path, create=False)
    assert _digest(path) == before


def test_malformed_pages_after_open_are_one_line(tmp_path):
    path = tmp_path / "r.db"
    store = open_store(path)
    for i in range(200):
        store.put(rec(model=f"m{i}", conditions={"pad": "x" * 500}))
    store.close()
    data = bytearray(path.read_bytes())
    page = 4096
    data[2 * page:] = b"\xff" * (len(data) - 2 * page)  # keep the header and schema page, ruin the rest
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError) as info:
        with open_store(path, create=False) as s:
            s.query()
    assert "\n" not in str(info.value) and "malformed" in str(info.value)


def test_sqlite_commits_with_synchronous_full(tmp_path):
    with open_store(tmp_path / "r.db") as store, store.engine.connect() as conn:
        assert conn.exec_driver_sql("pragma synchronous").scalar() == 2  # FULL (NORMAL is 1)


@pytest.mark.parametrize("bad", [{"model": "nul\x00name"}, {"model": "m" * 300}, {"hardware": "h" * 256},
                                 {"conditions": {"note": "a\x00b"}}], ids=["nul", "long-model", "long-hw", "nul-json"])
def test_unstorable_strings_are_refused_before_writing_and_offer_a_failed_row(db_url, bad):
    store = open_store(db_url)
    with pytest.raises(UnstorableError) as info:
        store.put(rec(sweep_id="s", point_key="k", **bad))
    assert store.count() == 0
    failed = info.value.failed_record
    rid = store.put(failed)
    got = store.get(rid)
    assert got.status == "failed" and got.cause.startswith("cannot store this result: ")
    assert len(got.model) <= 255 and "\x00" not in got.model
    store.close()


@pytest.mark.postgres
def test_lost_postgres_connection_during_a_read_is_retried(pg_url):
    """The server ends the backend after checkout (so the pool's pre-ping passed) and before the SELECT, as a
    restart would: the read fails on a dead connection and only the retry (RETRIES) answers it. (Killing an
    idle pooled connection instead, as this test once did, is hidden by pre-ping and passes with RETRIES=0;
    a kill inside a write is tests/store/test_store_faults.py's.)"""
    import psycopg
    import sqlalchemy as sa

    store = open_store(pg_url)
    store.put(rec(model="first"))
    store.put(rec(model="second"))
    killed = []

    @sa.event.listens_for(store.engine, "before_cursor_execute")
    def _kill_once(conn, cursor, statement, *args):
        if not killed and statement.lstrip().upper().startswith("SELECT") and "fitbench_results" in statement:
            killed.append(conn.connection.dbapi_connection.info.backend_pid)
            with psycopg.connect(pg_url, autocommit=True) as admin:
                admin.execute("select pg_terminate_backend(%s)", (killed[0],))

    models = sorted(r.model for r in store.query())
    assert len(killed) == 1  # the fault did happen, inside the read
    assert models == ["first", "second"]
    store.close()
