"""Django's SQLite backend, with the writers of one process queuing on a lock of their own.

SQLite lets one writer in at a time. A writer that finds the database taken waits in SQLite's busy
handler, which *sleeps* — 1, 2, 5, 10 … up to 100 ms between tries — and so misses the moment the
lock is free: with a hundred writers at once (bidders signing in to the hall at the deadline) the
database stood idle most of the time while each write took seconds. Here an immediate transaction
first takes a process-wide lock for its database file, so the next writer starts the moment the
last one commits, and SQLite's own lock is then free at once. Writers in other processes (the task
worker) still meet SQLite's busy handler, as before. PostgreSQL needs none of this."""

from __future__ import annotations

import threading
from typing import Any

from django.db import OperationalError
from django.db.backends.sqlite3 import base

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(name: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(name, threading.Lock())


# The stubs do not declare the private methods overridden here.
_SQLiteWrapper: Any = base.DatabaseWrapper


class DatabaseWrapper(_SQLiteWrapper):
    _holds_write_lock = False

    def _write_lock(self) -> threading.Lock:
        return _lock_for(str(self.settings_dict["NAME"]))

    def _start_transaction_under_autocommit(self) -> None:
        if self.transaction_mode in ("IMMEDIATE", "EXCLUSIVE") and not self._holds_write_lock:
            timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
            if not self._write_lock().acquire(timeout=timeout):
                raise OperationalError(
                    f"database is locked (another writer of this process for {timeout:g} s)"
                )
            self._holds_write_lock = True
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_write_lock()
            raise

    def _release_write_lock(self) -> None:
        if self._holds_write_lock:
            self._holds_write_lock = False
            self._write_lock().release()

    def _commit(self) -> Any:
        try:
            return super()._commit()
        finally:
            self._release_write_lock()

    def _rollback(self) -> Any:
        try:
            return super()._rollback()
        finally:
            self._release_write_lock()

    def _close(self) -> Any:
        try:
            return super()._close()
        finally:
            self._release_write_lock()
