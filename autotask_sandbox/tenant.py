"""The tenant file and its change events: connections, transactions, reset, subscribers.

`Tenant` opens a tenant file (raises `tenant_file.StaleTenantError`, naming the rebuild command,
if another generator built it) and is the base of `Backend`. Writes are serialised by `lock` on
one writable connection; reads run on a read-only connection per thread (`reading()`: WAL lets
them see every committed write), except inside a write or `atomic()` of the same thread, where
they read the writable connection (its uncommitted rows). Every committed change is told to
the subscribers as a `ChangeEvent` (after the commit; after `atomic()` for the writes in one).
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sdk_core.catalog import Catalog, EntityInfo, load_catalog

from .storage import Storage, Table
from .tenant_file import check_version

__all__ = ["ChangeEvent", "Tenant", "WriteLock"]

log = logging.getLogger("autotask_sandbox.backend")


@dataclass(frozen=True)
class ChangeEvent:
    """A committed change, as webhooks and the activity log see it."""

    action: str  # "Create" | "Update" | "Delete"
    entity: str  # catalog URL name, e.g. "Tickets"
    id: int
    changed_fields: dict[str, Any]
    udf_changes: dict[str, Any]
    person_id: int | None
    occurred_at: datetime


class WriteLock:
    """A re-entrant lock that knows whether the calling thread holds it (reads made while it
    does must use the writable connection, to see the write's own uncommitted rows)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._depth = threading.local()

    def held(self) -> bool:
        return getattr(self._depth, "n", 0) > 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        got = self._lock.acquire(blocking, timeout)
        if got:
            self._depth.n = getattr(self._depth, "n", 0) + 1
        return got

    def release(self) -> None:
        self._depth.n -= 1
        self._lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


class Tenant:
    """Owns the SQLite tenant file: connections, the write lock, transactions, reset, events."""

    def __init__(
        self,
        db_path: str | Path,
        *,
        pristine: str | Path | None = None,
        scale: str = "tiny",
        seed: int = 1,
        datetime_z: bool = False,
        catalog: Catalog | None = None,
    ):
        self.path = Path(db_path)
        self.pristine = Path(pristine) if pristine else None
        self.scale, self.seed = scale, seed
        self.datetime_z = datetime_z
        self.catalog = catalog or load_catalog()
        self.lock = WriteLock()
        self._readers = threading.local()
        self._generation = 0  # bumped by reset(): readers reopen the new file
        self._swap = threading.Lock()  # held while reset() replaces the file; readers open under it
        self._subscribers: list[Callable[[ChangeEvent], None]] = []
        self._reset_hooks: list[Callable[[], None]] = []
        self._atomic_owner: int | None = None  # thread inside atomic()
        self._deferred: list[ChangeEvent] = []
        if not self.path.exists():
            self._rebuild()
        for tenant in (self.path, self.pristine):
            if tenant is not None and tenant.exists():
                check_version(tenant, scale, seed)
        self._open()

    # -- lifecycle --------------------------------------------------------------------------
    def _open(self) -> None:
        self.storage = Storage(self.path, self.catalog, datetime_z=self.datetime_z)
        self.api_resource_id = int(self.storage.meta("api_resource_id") or 0) or None

    def _rebuild(self) -> None:
        if self.pristine and self.pristine.exists():
            shutil.copyfile(self.pristine, self.path)
        else:
            from .generator import build_tenant

            build_tenant(self.path, self.scale, self.seed)

    def reset(self) -> None:
        """Back to the freshly generated tenant (subscribers and reset hooks stay)."""
        with self.lock:
            with self._swap:
                self.storage.close()
                for suffix in ("-wal", "-shm"):
                    Path(str(self.path) + suffix).unlink(missing_ok=True)
                self.path.unlink(missing_ok=True)
                self._rebuild()
                self._open()
                self._generation += 1
            for hook in list(self._reset_hooks):  # under the lock: no request sees a half reset
                hook()

    def on_reset(self, hook: Callable[[], None]) -> None:
        """Call `hook()` after every `reset()`, e.g. to re-register data kept outside the tenant."""
        self._reset_hooks.append(hook)

    def close(self) -> None:
        with self.lock:
            self.storage.close()

    def subscribe(self, callback: Callable[[ChangeEvent], None]) -> Callable[[], None]:
        """Call `callback(event)` after every committed change; returns an unsubscribe function."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def _emit(self, events: list[ChangeEvent]) -> None:
        if self._atomic_owner == threading.get_ident():
            self._deferred.extend(events)  # emitted when atomic() commits
            return
        for event in events:
            for callback in list(self._subscribers):
                try:
                    callback(event)
                except Exception:  # a subscriber's bug must not break the API call
                    log.exception("change subscriber failed for %s %s", event.entity, event.id)

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Several writes as one: all committed and their events emitted after, or none
        (the multi-row actions: stock moves, contract adjustments, checklist libraries)."""
        with self.lock:
            if self._atomic_owner == threading.get_ident():
                yield
                return
            conn = self.storage.conn
            conn.execute("BEGIN IMMEDIATE")
            self._atomic_owner, self._deferred = threading.get_ident(), []
            try:
                yield
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            finally:
                events, self._atomic_owner, self._deferred = self._deferred, None, []
        self._emit(events)

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One write's transaction, or a savepoint of the enclosing `atomic()`."""
        conn = self.storage.conn
        nested = self._atomic_owner == threading.get_ident()
        conn.execute("SAVEPOINT one_write" if nested else "BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK TO one_write" if nested else "ROLLBACK")
            if nested:
                conn.execute("RELEASE one_write")
            raise
        conn.execute("RELEASE one_write" if nested else "COMMIT")

    @contextmanager
    def reading(self) -> Iterator[Storage]:
        """The storage a read uses: this thread's read-only connection, or the writable one
        (under the lock) when this thread is inside a write or `atomic()`."""
        if self.lock.held():
            with self.lock:
                yield self.storage
            return
        mine = getattr(self._readers, "storage", None)
        if mine is None or self._readers.generation != self._generation:
            if mine is not None:
                mine.close()
            with self._swap:  # not while reset() replaces the file
                generation = self._generation
                mine = Storage(self.path, self.catalog, datetime_z=self.datetime_z, readonly=True)
            self._readers.storage, self._readers.generation = mine, generation
        yield mine

    # -- helpers ----------------------------------------------------------------------------
    def entity(self, name: str) -> EntityInfo:
        return self.catalog.get(name)

    def table(self, name: str) -> Table:
        return self.storage.table(name)

    @staticmethod
    def internal(info: EntityInfo) -> str:
        """The entity's name in error messages: its REST model name (`CompanyLocation` in
        "Unable to find limit in the CompanyLocation Entity.", as quoted from live tenants)."""
        if info.model and info.model.endswith("Model"):
            return info.model[: -len("Model")]
        return info.internal_name or info.name

    def reopen_readers(self) -> None:
        """Make every reading thread open a fresh connection (after a change of the tenant's
        metadata, which each connection caches)."""
        self._generation += 1
