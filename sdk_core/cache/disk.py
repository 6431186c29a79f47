"""A SQLite file that survives restarts and is shared by processes (WAL), bounded in bytes.

A running total of the stored bytes is kept by triggers, so the bound costs no scan; above it,
the least recently used entries go first.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

__all__ = ["DiskBackend"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (grp TEXT NOT NULL, key TEXT NOT NULL, expires REAL NOT NULL,
    used REAL NOT NULL, size INTEGER NOT NULL, value BLOB NOT NULL, PRIMARY KEY (grp, key));
CREATE INDEX IF NOT EXISTS entries_used ON entries (used);
CREATE TABLE IF NOT EXISTS total (one INTEGER PRIMARY KEY CHECK (one = 1), bytes INTEGER NOT NULL);
INSERT OR IGNORE INTO total VALUES (1, 0);
CREATE TRIGGER IF NOT EXISTS entries_ins AFTER INSERT ON entries
    BEGIN UPDATE total SET bytes = bytes + new.size; END;
CREATE TRIGGER IF NOT EXISTS entries_del AFTER DELETE ON entries
    BEGIN UPDATE total SET bytes = bytes - old.size; END;
CREATE TRIGGER IF NOT EXISTS entries_upd AFTER UPDATE OF size ON entries
    BEGIN UPDATE total SET bytes = bytes - old.size + new.size; END;
"""
_TOUCH_AFTER = 30.0  # seconds: recency is refreshed at most this often per entry (a read stays a read)


class DiskBackend:
    def __init__(self, path: Path, max_bytes: int):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_bytes = max_bytes
        self.evictions = 0
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        with self._lock:
            self._db.executescript(_SCHEMA)

    def get(self, group: str, key: str) -> bytes | None:
        now = time.time()
        with self._lock:
            row = self._db.execute(
                "SELECT expires, used, value FROM entries WHERE grp = ? AND key = ?", (group, key)
            ).fetchone()
            if row is None:
                return None
            if row[0] <= now:
                self._db.execute("DELETE FROM entries WHERE grp = ? AND key = ?", (group, key))
                return None
            if now - row[1] > _TOUCH_AFTER:
                self._db.execute("UPDATE entries SET used = ? WHERE grp = ? AND key = ?", (now, group, key))
            return bytes(row[2])

    def set(self, group: str, key: str, value: bytes, ttl: float) -> None:
        size = len(value) + len(group) + len(key)
        if size > self.max_bytes:
            return
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (grp, key) DO UPDATE SET "
                    "expires = excluded.expires, used = excluded.used, size = excluded.size, "
                    "value = excluded.value",
                    (group, key, now + ttl, now, size, value),
                )
                self._evict()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _evict(self) -> None:
        over = self._db.execute("SELECT bytes FROM total").fetchone()[0] - self.max_bytes
        while over > 0:
            rows = self._db.execute("SELECT rowid, size FROM entries ORDER BY used LIMIT 64").fetchall()
            if not rows:
                return
            for rowid, size in rows:
                self._db.execute("DELETE FROM entries WHERE rowid = ?", (rowid,))
                self.evictions += 1
                over -= size
                if over <= 0:
                    return

    def delete(self, group: str, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM entries WHERE grp = ? AND key = ?", (group, key))

    def drop(self, group: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM entries WHERE grp = ?", (group,))

    def clear(self, prefix: str = "") -> None:
        with self._lock:
            self._db.execute("DELETE FROM entries WHERE substr(grp, 1, ?) = ?", (len(prefix), prefix))

    def size(self) -> dict[str, int]:
        with self._lock:
            entries = self._db.execute("SELECT count(*) FROM entries").fetchone()[0]
            total = self._db.execute("SELECT bytes FROM total").fetchone()[0]
        return {"entries": entries, "bytes": total}

    def close(self) -> None:
        with self._lock:
            self._db.close()
