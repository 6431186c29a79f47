"""Bookmarks (Singer state) per tenant and stream group, in a database every worker shares.

A run saves each STATE the target prints, as it prints it: target-sql prints a state only
after the rows before it are committed, so the stored state never runs ahead of the data and a
run killed at any point resumes from the last committed state (no row lost; the tap's window
re-reads at most one page, which the target's upsert absorbs).

The same row holds a lease: one run per tenant and group at a time, whatever Dagster's run
queue is configured to do (a second run waits, then fails with a message naming the holder).
A holder that died without releasing it (killed with SIGKILL, its machine lost) holds it until
it expires, unless `holder_name` recorded a process of this machine that no longer runs: then
the next run takes the lease over at once and resumes from the committed state.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

__all__ = ["StateStore", "Bookmark", "LeaseHeldError", "merge_state", "holder_name"]

_HOLDER = re.compile(r" \(pid (\d+) on (\S+)\)$")

_metadata = sa.MetaData()
BOOKMARKS = sa.Table(
    "autotask_bookmarks",
    _metadata,
    sa.Column("tenant", sa.String(64), primary_key=True),
    sa.Column("stream_group", sa.String(64), primary_key=True),
    sa.Column("state", sa.Text, nullable=False, default="{}"),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
    sa.Column("lease_owner", sa.String(128)),
    sa.Column("lease_until", sa.DateTime(timezone=True)),
)


class LeaseHeldError(RuntimeError):
    """Another run is syncing this tenant's stream group."""


@dataclass(frozen=True)
class Bookmark:
    state: dict[str, Any]
    updated_at: datetime | None


def merge_state(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """`new` over `old`, per stream: a run of some streams keeps the others' bookmarks."""
    merged = dict(old)
    merged.update({k: v for k, v in new.items() if k != "bookmarks"})
    merged["bookmarks"] = {**old.get("bookmarks", {}), **new.get("bookmarks", {})}
    return merged


def _host() -> str:
    """This machine and pid namespace (containers sharing a hostname see other pids)."""
    try:
        namespace = os.readlink("/proc/self/ns/pid").strip("pid:[]")
    except OSError:
        namespace = ""
    return f"{socket.gethostname()[:48]}:{namespace}"  # the owner column holds 128 characters


def holder_name(run: str) -> str:
    """A lease owner naming the run and this process, so a dead holder can be recognised."""
    return f"{run} (pid {os.getpid()} on {_host()})"


def _process_gone(pid: int) -> bool:
    """True when `pid` does not run on this machine (absent, or a zombie nobody reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # another user's process: alive
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[:1] == ["Z"]


def holder_gone(owner: str) -> bool:
    """Whether a lease owner written by `holder_name` was a process of this machine that died."""
    found = _HOLDER.search(owner)
    if found is None or found.group(2) != _host():
        return False
    return _process_gone(int(found.group(1)))


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)  # SQLite hands back naive datetimes
    return moment


class StateStore:
    """Bookmarks and leases in one table (`autotask_bookmarks`), created if missing."""

    def __init__(self, url: str, schema: str | None = None):
        self.url = url
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 60}
        self.engine = sa.create_engine(url, **kwargs)
        self.table = BOOKMARKS if schema is None else BOOKMARKS.to_metadata(sa.MetaData(), schema=schema)
        with self.engine.begin() as conn:
            if schema is not None and conn.dialect.name == "postgresql":
                conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            self.table.create(conn, checkfirst=True)

    def __repr__(self) -> str:
        return f"StateStore({self.engine.url.render_as_string(hide_password=True)!r})"

    def close(self) -> None:
        self.engine.dispose()

    def _ensure_row(self, conn: sa.Connection, tenant: str, group: str) -> None:
        t = self.table
        exists = conn.execute(
            sa.select(t.c.tenant).where(t.c.tenant == tenant, t.c.stream_group == group)
        ).first()
        if exists is None:
            try:
                with conn.begin_nested():
                    conn.execute(t.insert().values(tenant=tenant, stream_group=group, state="{}"))
            except sa.exc.IntegrityError:
                pass  # another worker inserted it first

    def load(self, tenant: str, group: str) -> Bookmark:
        t = self.table
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(t.c.state, t.c.updated_at).where(t.c.tenant == tenant, t.c.stream_group == group)
            ).first()
        if row is None:
            return Bookmark({}, None)
        return Bookmark(json.loads(row.state or "{}"), _aware(row.updated_at))

    def save(self, tenant: str, group: str, state: dict[str, Any]) -> None:
        """Merge a state the target committed into the stored one."""
        t = self.table
        with self.engine.begin() as conn:
            self._ensure_row(conn, tenant, group)
            where = (t.c.tenant == tenant) & (t.c.stream_group == group)
            current = conn.execute(sa.select(t.c.state).where(where).with_for_update()).scalar()
            merged = merge_state(json.loads(current or "{}"), state)
            conn.execute(t.update().where(where).values(state=json.dumps(merged), updated_at=_now()))

    def acquire(self, tenant: str, group: str, owner: str, ttl: float = 600, wait: float = 0) -> str | None:
        """Take the lease, waiting up to `wait` seconds; raise LeaseHeldError if still held.

        Returns the owner it was taken over from when that one had died (`holder_gone`).
        """
        deadline = time.monotonic() + wait
        while True:
            holder, taken = self._try_acquire(tenant, group, owner, ttl)
            if holder is None:
                return taken
            if time.monotonic() >= deadline:
                raise LeaseHeldError(
                    f"Run {holder} is syncing tenant {tenant!r}, group {group!r}; two runs of "
                    "one tenant's stream group never overlap. This run will retry; the lease "
                    f"expires {ttl:g} s after its holder stops renewing it."
                )
            time.sleep(min(2.0, max(0.1, deadline - time.monotonic())))

    def _try_acquire(self, tenant: str, group: str, owner: str, ttl: float) -> tuple[str | None, str | None]:
        """(live holder, None) if held; else (None, the dead holder taken over, if any)."""
        t = self.table
        now = _now()
        taken = None
        with self.engine.begin() as conn:
            self._ensure_row(conn, tenant, group)
            where = (t.c.tenant == tenant) & (t.c.stream_group == group)
            row = conn.execute(
                sa.select(t.c.lease_owner, t.c.lease_until).where(where).with_for_update()
            ).first()
            until = _aware(row.lease_until) if row else None
            if row and row.lease_owner and row.lease_owner != owner and until and until > now:
                if not holder_gone(row.lease_owner):
                    return str(row.lease_owner), None
                taken = str(row.lease_owner)
            conn.execute(
                t.update().where(where).values(lease_owner=owner, lease_until=now + timedelta(seconds=ttl))
            )
        return None, taken

    def renew(self, tenant: str, group: str, owner: str, ttl: float = 600) -> None:
        t = self.table
        with self.engine.begin() as conn:
            conn.execute(
                t.update()
                .where(
                    t.c.tenant == tenant,
                    t.c.stream_group == group,
                    t.c.lease_owner == owner,
                )
                .values(lease_until=_now() + timedelta(seconds=ttl))
            )

    def release(self, tenant: str, group: str, owner: str) -> None:
        t = self.table
        with self.engine.begin() as conn:
            conn.execute(
                t.update()
                .where(
                    t.c.tenant == tenant,
                    t.c.stream_group == group,
                    t.c.lease_owner == owner,
                )
                .values(lease_owner=None, lease_until=None)
            )
