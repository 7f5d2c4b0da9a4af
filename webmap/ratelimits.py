"""Rate-limit counters every server process on this machine shares, without a server: an SQLite file.

Flask-Limiter counts in its storage (the ``limits`` library). ``memory://`` counts per process, so with two
gunicorn workers every limit allowed twice its rate; Redis shares counts between machines but is a server
to run. This storage (``scenemap+sqlite:///path``) is the default for a served app: a small table in
``instance/ratelimits.sqlite`` (mode 600), one row per key and window, each increment one short write
transaction. ``limits`` has no file-based storage; this is its fixed-window interface, written here.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

from limits.storage import Storage

SCHEME = "scenemap+sqlite"


class SQLiteStorage(Storage):
    """Fixed-window counters in an SQLite file (WAL, one connection per thread and process)."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = Path(uri.split("://", 1)[1])
        self._local = threading.local()

    @property
    def base_exceptions(self):
        return sqlite3.Error

    def _conn(self) -> sqlite3.Connection:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():  # a connection never crosses a fork (gunicorn --preload)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=5)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")  # counters, not records: losing a window on a crash is fine
            conn.execute("CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, count INTEGER NOT NULL, "
                         "expires REAL NOT NULL)")
            local.conn, local.pid = conn, os.getpid()
        return local.conn

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("DELETE FROM counters WHERE expires <= ?", (now,))
            conn.execute("INSERT INTO counters (key, count, expires) VALUES (?, ?, ?) "
                         "ON CONFLICT(key) DO UPDATE SET count = count + excluded.count", (key, amount, now + expiry))
            (count,) = conn.execute("SELECT count FROM counters WHERE key = ?", (key,)).fetchone()
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return count

    def get(self, key: str) -> int:
        row = self._conn().execute("SELECT count FROM counters WHERE key = ? AND expires > ?",
                                   (key, time.time())).fetchone()
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._conn().execute("SELECT expires FROM counters WHERE key = ?", (key,)).fetchone()
        return row[0] if row else time.time()

    def check(self) -> bool:
        try:
            self._conn().execute("SELECT 1")
            return True
        except sqlite3.Error:
            return False

    def reset(self) -> int | None:
        return self._conn().execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        self._conn().execute("DELETE FROM counters WHERE key = ?", (key,))


def default_uri(app) -> str:
    """Where limits count unless RATELIMIT_STORAGE_URI says: per process in tests, else a file in instance/."""
    return "memory://" if app.testing else f"{SCHEME}://{Path(app.instance_path).resolve() / 'ratelimits.sqlite'}"
