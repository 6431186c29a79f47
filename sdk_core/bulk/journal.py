"""The bulk journal: one SQLite row per input row, so an interrupted job resumes exactly.

States: `pending` (not sent yet), `sending` (committed BEFORE the request leaves, so a crash
leaves evidence that the write may have happened), `done` (with the record's id), `failed`
(with Autotask's words), `unknown` (a create whose answer was lost and that could not be
reconciled; never resent blindly) and `skipped` (an update that hit a conflict).
A resumed job sends only `pending`, `sending` and `unknown` rows, reconciling the last two
first. One file holds any number of jobs; rows are stored as JSON, never credentials.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ..errors import ConfigurationError

__all__ = ["Journal", "JobInfo", "RowTask", "OPEN_STATES"]

OPEN_STATES = ("pending", "sending", "unknown")
STALE_SECONDS = 120.0  # a job whose runner (on another host) has not stirred for this long is free
HEARTBEAT_SECONDS = 10.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS bulk_jobs (
    job_id TEXT PRIMARY KEY, entity TEXT NOT NULL, operation TEXT NOT NULL,
    created_at REAL NOT NULL, loaded INTEGER NOT NULL DEFAULT 0, total INTEGER NOT NULL DEFAULT 0,
    source TEXT, finished_at REAL, owner TEXT, heartbeat REAL
);
CREATE TABLE IF NOT EXISTS bulk_rows (
    job_id TEXT NOT NULL, idx INTEGER NOT NULL, status TEXT NOT NULL, payload BLOB NOT NULL,
    record_id INTEGER, message TEXT, attempts INTEGER NOT NULL DEFAULT 0, updated_at REAL,
    PRIMARY KEY (job_id, idx)
);
CREATE INDEX IF NOT EXISTS bulk_rows_open ON bulk_rows (job_id, status, idx);
"""


@dataclass(frozen=True)
class JobInfo:
    job_id: str
    entity: str
    operation: str
    loaded: bool
    total: int


@dataclass
class RowTask:
    """One journaled row on its way: what was given and what the journal knew at pick-up."""

    index: int
    row: dict[str, Any]
    status: str
    attempts: int


class Journal:
    """Thread-safe; every state change is committed before the caller goes on."""

    def __init__(self, path: str | Path):
        self.path = None if str(path) == ":memory:" else Path(path).expanduser()
        if self.path is not None:
            if self.path.is_dir():
                self.path = self.path / "journal.sqlite"
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():  # it holds the rows' data: readable by its owner only
                self.path.touch(mode=0o600)
            path = self.path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=30000")
        self._db.executescript(_SCHEMA)
        self._beat = time.monotonic()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # jobs --------------------------------------------------------------------------------
    def new_job(self, entity: str, operation: str, source: str) -> str:
        job_id = uuid.uuid4().hex[:12]
        with self._lock:
            self._db.execute(
                "INSERT INTO bulk_jobs (job_id, entity, operation, created_at, source) VALUES (?,?,?,?,?)",
                (job_id, entity, operation, time.time(), source),
            )
        return job_id

    def job(self, job_id: str) -> JobInfo:
        with self._lock:
            found = self._db.execute(
                "SELECT job_id, entity, operation, loaded, total FROM bulk_jobs WHERE job_id = ?", (job_id,)
            ).fetchone()
            known = [
                r[0]
                for r in self._db.execute("SELECT job_id FROM bulk_jobs ORDER BY created_at DESC LIMIT 5")
            ]
        if found is None:
            hint = f" Recent jobs there: {', '.join(known)}." if known else " It holds no job."
            raise ConfigurationError(f"bulk job {job_id!r} is not in the journal {self.path}.{hint}")
        return JobInfo(found[0], found[1], found[2], bool(found[3]), found[4])

    def load(self, job_id: str, rows: Iterable[dict[str, Any]], start: int = 0, batch: int = 1000) -> int:
        """Journal rows from index `start` on as pending; returns the total once all are in."""
        index = start
        chunk: list[tuple[Any, ...]] = []
        for row in rows:
            chunk.append((job_id, index, "pending", orjson.dumps(row)))
            index += 1
            if len(chunk) >= batch:
                self._insert(job_id, chunk, index)
                chunk = []
        self._insert(job_id, chunk, index)
        with self._lock:
            self._db.execute("UPDATE bulk_jobs SET loaded = 1, total = ? WHERE job_id = ?", (index, job_id))
        return index

    def _insert(self, job_id: str, chunk: list[tuple[Any, ...]], total: int) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT OR IGNORE INTO bulk_rows (job_id, idx, status, payload) VALUES (?,?,?,?)", chunk
                )
                self._db.execute("UPDATE bulk_jobs SET total = ? WHERE job_id = ?", (total, job_id))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def drop(self, job_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM bulk_rows WHERE job_id = ?", (job_id,))
            self._db.execute("DELETE FROM bulk_jobs WHERE job_id = ?", (job_id,))

    def claim(self, job_id: str) -> None:
        """Take the job for this process, or refuse while another live process runs it
        (two runners of one job could send a row twice)."""
        me = f"{socket.gethostname()}:{os.getpid()}"
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                owner, beat = self._db.execute(
                    "SELECT owner, heartbeat FROM bulk_jobs WHERE job_id = ?", (job_id,)
                ).fetchone()
                if owner and owner != me and _alive(owner, beat):
                    raise ConfigurationError(
                        f"bulk job {job_id} is being run by another process ({owner}, last seen "
                        f"{time.time() - (beat or 0):.0f} s ago); wait for it to end before resuming"
                    )
                self._db.execute(
                    "UPDATE bulk_jobs SET owner = ?, heartbeat = ? WHERE job_id = ?",
                    (me, time.time(), job_id),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        self._beat = time.monotonic()

    def release(self, job_id: str) -> None:
        with self._lock:
            self._db.execute("UPDATE bulk_jobs SET owner = NULL WHERE job_id = ?", (job_id,))

    def _heartbeat(self, job_id: str) -> None:
        """Called with the lock held, after a row settles."""
        if time.monotonic() - self._beat > HEARTBEAT_SECONDS:
            self._beat = time.monotonic()
            self._db.execute("UPDATE bulk_jobs SET heartbeat = ? WHERE job_id = ?", (time.time(), job_id))

    def finish(self, job_id: str) -> None:
        with self._lock:
            self._db.execute("UPDATE bulk_jobs SET finished_at = ? WHERE job_id = ?", (time.time(), job_id))

    # rows --------------------------------------------------------------------------------
    def open_rows(self, job_id: str, size: int) -> Iterator[list[RowTask]]:
        """Rows still to do, in input order, in chunks (an index cursor, so updates are safe)."""
        after = -1
        while True:
            with self._lock:
                found = self._db.execute(
                    "SELECT idx, payload, status, attempts FROM bulk_rows WHERE job_id = ? AND idx > ? "
                    f"AND status IN {OPEN_STATES} ORDER BY idx LIMIT ?",
                    (job_id, after, size),
                ).fetchall()
            if not found:
                return
            after = found[-1][0]
            yield [RowTask(i, orjson.loads(p), s, a) for i, p, s, a in found]

    def sending(self, job_id: str, index: int) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE bulk_rows SET status = 'sending', attempts = attempts + 1, updated_at = ? "
                "WHERE job_id = ? AND idx = ?",
                (time.time(), job_id, index),
            )

    def settle(
        self, job_id: str, index: int, status: str, record_id: int | None = None, message: str | None = None
    ) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE bulk_rows SET status = ?, record_id = ?, message = ?, updated_at = ? "
                "WHERE job_id = ? AND idx = ?",
                (status, record_id, message, time.time(), job_id, index),
            )
            self._heartbeat(job_id)

    def outcomes(self, job_id: str) -> list[tuple[int, str, int | None, str | None]]:
        with self._lock:
            return self._db.execute(
                "SELECT idx, status, record_id, message FROM bulk_rows WHERE job_id = ? ORDER BY idx",
                (job_id,),
            ).fetchall()

    def counts(self, job_id: str) -> dict[str, int]:
        with self._lock:
            return dict(
                self._db.execute(
                    "SELECT status, COUNT(*) FROM bulk_rows WHERE job_id = ? GROUP BY status", (job_id,)
                ).fetchall()
            )


def _alive(owner: str, heartbeat: float | None) -> bool:
    """On this host: whether the process lives. Elsewhere: whether it stirred lately."""
    host, _, pid = owner.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return heartbeat is not None and time.time() - heartbeat < STALE_SECONDS
