"""core.sqlite: writers of one process queue on a lock for their database file (released on
commit, rollback and close) instead of sleeping in SQLite's busy handler."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError, connections

from tenderhall.core.sqlite.base import DatabaseWrapper


@pytest.fixture(autouse=True)
def _own_databases(django_db_blocker: Any) -> Any:
    """These tests open their own database files, not the test database."""
    with django_db_blocker.unblock():
        yield


def _wrapper(path: Path, timeout: float = 5) -> Any:
    settings_dict = {
        **connections["default"].settings_dict,
        "ENGINE": "tenderhall.core.sqlite",
        "NAME": str(path),
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": timeout},
    }
    return DatabaseWrapper(settings_dict, alias="sqlite_lock_test")


def _begin(w: Any) -> None:
    w.ensure_connection()
    w._start_transaction_under_autocommit()


def _table(path: Path) -> None:
    w = _wrapper(path)
    w.ensure_connection()
    w.cursor().execute("CREATE TABLE t (n INTEGER)")
    w.close()


def test_a_second_writer_waits_for_the_first_to_commit_then_goes(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    _table(path)
    first = _wrapper(path)
    order: list[str] = []
    began = threading.Event()

    def other() -> None:
        second = _wrapper(path)  # a connection belongs to its thread
        _begin(second)
        began.set()
        order.append("second began")
        second.cursor().execute("INSERT INTO t VALUES (2)")
        second.commit()
        second.close()

    _begin(first)
    assert first._holds_write_lock and first._write_lock().locked()
    first.cursor().execute("INSERT INTO t VALUES (1)")
    thread = threading.Thread(target=other)
    thread.start()
    assert not began.wait(0.3)  # queued on the lock, not failing
    order.append("first commits")
    first.commit()
    thread.join(10)
    assert order == ["first commits", "second began"]
    assert not first._write_lock().locked()
    assert sorted(r[0] for r in first.cursor().execute("SELECT n FROM t").fetchall()) == [1, 2]
    first.close()


def test_rollback_and_close_release_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    _table(path)
    a, b = _wrapper(path, timeout=2), _wrapper(path, timeout=2)
    _begin(a)
    a.rollback()
    assert not a._write_lock().locked()
    _begin(b)  # free again after a rollback
    b.commit()
    _begin(a)
    a.close()  # a connection closed mid-transaction gives the lock back
    assert not a._write_lock().locked()
    _begin(b)
    b.commit()
    b.close()


def test_a_writer_that_waits_past_the_timeout_gets_database_is_locked(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    _table(path)
    holder = _wrapper(path)
    _begin(holder)
    failure: list[BaseException] = []

    def other() -> None:
        late = _wrapper(path, timeout=0.2)
        try:
            _begin(late)
        except OperationalError as exc:
            failure.append(exc)
        finally:
            late.close()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(10)
    holder.commit()
    holder.close()
    assert failure and "another writer of this process" in str(failure[0])


def test_the_embedded_profile_uses_this_backend() -> None:
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] != "tenderhall.core.sqlite":
        pytest.skip("the suite runs on PostgreSQL")
    assert isinstance(connections["default"], DatabaseWrapper)
