"""Database faults after open that issue 13 names and test_store_hostile.py did not reproduce: a PostgreSQL
connection lost in the middle of a write (the pool's pre-ping cannot see it: only the retry saves the point),
a full disk, and a database on read-only media."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from fitbench.store import ResultRecord, StoreError, open_store

SRC = str(Path(__file__).resolve().parents[2] / "src")


def rec(**kw) -> ResultRecord:
    base = dict(kind="estimate", model="yolov3", batch=1, metrics={"latency_s": 0.125})
    base.update(kw)
    return ResultRecord(**base)


@pytest.mark.postgres
def test_connection_killed_during_a_write_is_retried_and_stored_once(pg_url):
    """The server ends the backend between checkout (pre-ping passed) and the INSERT, as a restart would:
    the write fails on a dead connection, is retried on a new one, and the point is stored exactly once."""
    import psycopg

    store = open_store(pg_url)
    store.put(rec(model="first", sweep_id="s", point_key="a"))
    killed = []

    @sa.event.listens_for(store.engine, "before_cursor_execute")
    def _kill_once(conn, cursor, statement, *args):
        if not killed and statement.lstrip().upper().startswith("INSERT"):
            killed.append(conn.connection.dbapi_connection.info.backend_pid)
            with psycopg.connect(pg_url, autocommit=True) as admin:
                admin.execute("select pg_terminate_backend(%s)", (killed[0],))

    store.put(rec(model="second", sweep_id="s", point_key="b"))
    assert len(killed) == 1  # the fault did happen, inside the write
    rows = store.query(sweep_id="s")
    assert sorted((r.point_key, r.model, r.attempts) for r in rows) == [("a", "first", 1), ("b", "second", 1)]
    store.close()


def test_full_disk_is_one_line(tmp_path):
    """SQLITE_FULL ("database or disk is full"), made with a page limit: a StoreError of one line."""
    store = open_store(tmp_path / "r.db")

    @sa.event.listens_for(store.engine, "connect")
    def _small(dbapi_conn, _record):
        dbapi_conn.execute("PRAGMA max_page_count=40")

    store.engine.dispose()  # new connections take the limit
    with pytest.raises(StoreError) as info:
        for i in range(1000):  # 40 pages of 4 KiB: full within a few hundred of these
            store.put(rec(model=f"m{i}", conditions={"pad": "x" * 2000}))
    assert "\n" not in str(info.value) and "full" in str(info.value)
    store.close()


def _can_mount_read_only() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount --bind /tmp /tmp && mount -o remount,ro,bind /tmp"],
                           capture_output=True)
    return probe.returncode == 0


READ_ONLY_MEDIA = pytest.mark.skipif(not _can_mount_read_only(), reason="needs unshare -m and mount (root, "
                                                                         "CAP_SYS_ADMIN)")


def _list_on_read_only_media(media: Path) -> subprocess.CompletedProcess:
    """``fitbench results list --db MEDIA/r.db`` with ``media`` bind-mounted read-only (in a mount namespace)."""
    script = (f"mount --bind {media} {media} && mount -o remount,ro,bind {media} && "
              f"PYTHONPATH={SRC} {sys.executable} -m fitbench.cli.app results list --db {media / 'r.db'}")
    return subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=120)


def _crash_after_put(db: Path, model: str) -> None:
    """Store one row and die without closing: the row stays in the -wal file (not checkpointed), -shm beside it."""
    code = (f"import os; from fitbench.store import ResultRecord, open_store; s = open_store({str(db)!r}); "
            f"s.put(ResultRecord(kind='estimate', model={model!r}, batch=1, metrics={{}})); os._exit(0)")
    subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": SRC}, check=True, timeout=120)


@READ_ONLY_MEDIA
def test_a_database_on_read_only_media_can_be_listed(tmp_path):
    """A clean WAL database (no -shm): mode=ro cannot create the -shm there, immutable=1 reads it."""
    media = tmp_path / "media"
    media.mkdir()
    with open_store(media / "r.db") as store:  # closed cleanly: no -wal or -shm file left, still WAL mode
        store.put(rec(model="kept"))
    assert not (media / "r.db-shm").exists()
    proc = _list_on_read_only_media(media)
    assert proc.returncode == 0, proc.stderr
    assert "kept" in proc.stdout
    assert sorted(p.name for p in media.iterdir()) == ["r.db"]  # nothing written


@READ_ONLY_MEDIA
def test_uncheckpointed_rows_on_read_only_media_are_shown_with_their_shm(tmp_path):
    """A writer killed with rows only in its -wal, -shm still there: mode=ro reads them all (no immutable)."""
    media = tmp_path / "media"
    media.mkdir()
    with open_store(media / "r.db") as store:
        store.put(rec(model="checkpointed"))
    _crash_after_put(media / "r.db", "only-in-the-wal")
    assert (media / "r.db-wal").stat().st_size > 0 and (media / "r.db-shm").exists()
    proc = _list_on_read_only_media(media)
    assert proc.returncode == 0, proc.stderr
    assert "checkpointed" in proc.stdout and "only-in-the-wal" in proc.stdout


@READ_ONLY_MEDIA
def test_uncheckpointed_rows_without_shm_on_read_only_media_are_refused_not_hidden(tmp_path):
    """The -wal file holds a row, its -shm is gone (copied without it): immutable=1 would show one row of two,
    so the list is refused with one line naming the -wal file."""
    media = tmp_path / "media"
    media.mkdir()
    with open_store(media / "r.db") as store:
        store.put(rec(model="checkpointed"))
    _crash_after_put(media / "r.db", "only-in-the-wal")
    (media / "r.db-shm").unlink()
    proc = _list_on_read_only_media(media)
    assert proc.returncode == 2, proc.stdout
    assert "checkpointed" not in proc.stdout
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1 and "-wal file" in proc.stderr
