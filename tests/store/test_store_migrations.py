"""Schema versioning and database locations (SQLite only: the logic does not depend on the database)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from fitbench.store import ResultRecord, StoreError, migrations, normalise_url, open_store, schema
from fitbench.store.record import utcnow


def test_newer_schema_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "r.db"
    store = open_store(path)
    with store._writer.begin() as conn:
        conn.execute(
            sa.insert(schema.schema_versions).values(version=99, description="future", applied_at=utcnow())
        )
    store.close()
    with pytest.raises(StoreError, match="schema version 99, newer than this fitbench knows"):
        open_store(path)


def test_existing_database_runs_only_missing_steps_in_order(tmp_path):
    store = open_store(tmp_path / "r.db")
    rid = store.put(ResultRecord(kind="estimate", model="m", metrics={"x": 1}))
    calls = []

    n = migrations.LATEST

    def add_note_column(conn):
        calls.append(n + 1)
        conn.execute(sa.text("ALTER TABLE fitbench_results ADD COLUMN note TEXT"))

    def fill_note(conn):
        calls.append(n + 2)
        conn.execute(sa.text("UPDATE fitbench_results SET note = 'v3'"))

    steps = (*migrations.MIGRATIONS, migrations.Migration(n + 1, "note", add_note_column),
             migrations.Migration(n + 2, "fill", fill_note))  # fmt: skip
    assert migrations.migrate(store.engine, steps) == n + 2
    assert migrations.migrate(store.engine, steps) == n + 2  # second run: nothing to do
    assert calls == [n + 1, n + 2]
    with store.engine.connect() as conn:
        assert (
            conn.execute(sa.text("SELECT note FROM fitbench_results WHERE id = :i"), {"i": rid}).scalar()
            == "v3"
        )
        assert migrations.current_version(conn) == n + 2


def test_failed_migration_step_leaves_database_as_it_was(tmp_path):
    store = open_store(tmp_path / "r.db")

    def broken(conn):
        conn.execute(sa.text("ALTER TABLE fitbench_results ADD COLUMN half TEXT"))
        raise RuntimeError("step failed")

    with pytest.raises(RuntimeError):
        migrations.migrate(store.engine, (*migrations.MIGRATIONS,
                                          migrations.Migration(migrations.LATEST + 1, "broken", broken)))
    with store.engine.connect() as conn:
        assert migrations.current_version(conn) == migrations.LATEST
        assert "half" not in {c["name"] for c in sa.inspect(conn).get_columns("fitbench_results")}


@pytest.mark.parametrize(
    "given, expected",
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u:pw@h:5433/db", "postgresql+psycopg://u:pw@h:5433/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
        (":memory:", "sqlite://"),
    ],
)
def test_urls(given, expected):
    assert normalise_url(given).render_as_string(hide_password=False) == expected


def test_default_location_follows_env(tmp_path, monkeypatch):
    monkeypatch.setenv("FITBENCH_DB", str(tmp_path / "env.db"))
    store = open_store()
    assert store.url.database == str(tmp_path / "env.db")
    assert (tmp_path / "env.db").exists()
    monkeypatch.delenv("FITBENCH_DB")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert normalise_url(None).database == str(tmp_path / "home" / ".fitbench" / "results.db")


@pytest.mark.parametrize(
    "location, message",
    [
        ("mysql://u@h/db", "unsupported database 'mysql'"),
        ("postgresql://nobody@127.0.0.1:1/none", "cannot open results database postgresql"),
    ],
)
def test_bad_locations_give_one_line_errors(location, message):
    with pytest.raises(StoreError, match=message) as info:
        open_store(location)
    assert "\n" not in str(info.value)


def test_directory_is_not_a_database(tmp_path):
    with pytest.raises(StoreError, match="is a directory"):
        open_store(tmp_path)


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"status": "maybe"}, "status must be one of ok, failed"),
        ({"status": "failed"}, "a failed result needs a cause"),
        ({"kind": "Bad Kind"}, "result kind must be"),
        ({"sweep_id": "s"}, "sweep_id and point_key go together"),
    ],
)
def test_record_validation(kw, message):
    with pytest.raises(StoreError, match=message):
        ResultRecord(**{"kind": "estimate", "model": "m", **kw})


def test_a_version_1_database_gains_the_new_statuses_and_keeps_its_rows(db_url):
    """v2 widens the status CHECK (retriable, invalid). A v1 database (built here with v1's DDL) keeps every
    row and id through the upgrade, on SQLite (table rebuilt) and PostgreSQL (constraint replaced)."""
    engine = sa.create_engine(db_url if "://" in db_url else f"sqlite:///{db_url}")
    with engine.begin() as conn:
        schema.metadata.create_all(conn)
        check = "status IN ('ok', 'failed')"
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("ALTER TABLE fitbench_results DROP CONSTRAINT ck_fitbench_results_status"))
            conn.execute(sa.text(f"ALTER TABLE fitbench_results ADD CONSTRAINT ck_fitbench_results_status CHECK "
                                 f"({check})"))
        conn.execute(sa.insert(schema.schema_versions).values(version=1, description="v1", applied_at=utcnow()))
    engine.dispose()
    if "://" not in db_url:  # SQLite: v1's CHECK, as a v1 fitbench created it
        import sqlite3

        con = sqlite3.connect(db_url)
        con.execute("PRAGMA writable_schema=ON")
        con.execute("UPDATE sqlite_master SET sql = replace(sql, "
                    "\"'ok', 'failed', 'retriable', 'invalid'\", \"'ok', 'failed'\") WHERE name = 'fitbench_results'")
        con.commit()
        con.close()
        with pytest.raises(sqlite3.IntegrityError):
            with sqlite3.connect(db_url) as c2:
                c2.execute("INSERT INTO fitbench_results (kind, model, status, conditions, metrics, created_at, "
                           "updated_at, attempts) VALUES ('x', 'm', 'invalid', '{}', '{}', '2026', '2026', 1)")
    engine = sa.create_engine(db_url if "://" in db_url else f"sqlite:///{db_url}")
    with engine.begin() as conn:  # a v1 row, stored before the upgrade
        conn.execute(sa.insert(schema.results).values(id=7, kind="estimate", model="old", status="ok", conditions={},
                                                      metrics={"x": 1}, created_at=utcnow(), updated_at=utcnow()))
    engine.dispose()
    with open_store(db_url) as store:  # migrates v1 -> v2
        assert store.schema_version == migrations.LATEST
        old = store.get(7)
        assert (old.model, old.status, old.metrics) == ("old", "ok", {"x": 1})
        rid = store.put(ResultRecord(kind="measure", model="m", status="invalid", cause="LoadGen result INVALID"))
        assert store.get(rid).status == "invalid"
