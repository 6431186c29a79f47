"""The durable event store: one table of webhook events in SQLite (WAL) or PostgreSQL.

The receiver commits each event here before answering 2xx; duplicates (same Guid and
SequenceNumber, or same Guid, entity, id, action and EventTime) hit a unique key and are
stored once. `seq` is assigned inside the writing transaction under a store-wide lock
(SQLite's write lock, a PostgreSQL advisory lock), so it increases in commit order and a
reader that remembers the last `seq` it saw never skips an event committed later.

The handler worker claims events from here (`claim` or `lease`, `renew` while handlers run,
`finish`, `fail`); other consumers (the Dagster sensor) read with `events`/`unacked` and
record progress with `ack`. Contract:
`open_store`, `EventStore.events/max_seq/unacked/ack/backlog/close`, `StoredEvent`.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .._extras import require_extra

require_extra("sdk_core.webhooks", "webhooks", "sqlalchemy")

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .entities import canonical_entity
from .events import Incoming, StoredEvent

__all__ = ["EventStore", "Lease", "StoredEvent", "StoreError", "open_store", "DEFAULT_STORE_URL"]

DEFAULT_STORE_URL = "sqlite:///autotask-webhooks.db"
STATUSES = ("pending", "done", "failed", "dead")
UNFINISHED = ("pending", "failed")
_PG_LOCK_KEY = 0x61757477  # advisory lock that orders seq assignment with commits


class StoreError(RuntimeError):
    """The store URL cannot be used; the message says what to change."""


class _UTC(sa.types.TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every database."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the webhook store; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


metadata = sa.MetaData()
_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

events_table = sa.Table(
    "webhook_events",
    metadata,
    sa.Column("seq", _BIG, primary_key=True, autoincrement=True),
    sa.Column("tenant", sa.String(100), nullable=False),
    sa.Column("entity", sa.String(40), nullable=False),
    sa.Column("entity_type", sa.String(100), nullable=False),
    sa.Column("entity_id", sa.BigInteger, nullable=False),
    sa.Column("action", sa.String(10), nullable=False),
    sa.Column("guid", sa.String(100), nullable=False),
    sa.Column("sequence_number", sa.BigInteger),
    sa.Column("event_time", _UTC, nullable=False),
    sa.Column("event_time_raw", sa.String(64), nullable=False),
    sa.Column("received_at", _UTC, nullable=False),
    sa.Column("person_id", sa.BigInteger),
    sa.Column("fields", sa.JSON, nullable=False),
    sa.Column("udf_fields", sa.JSON, nullable=False),
    sa.Column("key_seq", sa.String(300), unique=True),
    sa.Column("key_event", sa.String(500), unique=True, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", _UTC),
    sa.Column("locked_until", _UTC),
    sa.Column("last_error", sa.Text),
    sa.Column("handled_at", _UTC),
    sa.Index("ix_webhook_events_status_seq", "status", "seq"),
    sa.Index("ix_webhook_events_record", "tenant", "entity", "entity_id", "seq"),
    sa.Index("ix_webhook_events_received", "received_at"),
    sqlite_autoincrement=True,  # a seq is never reused, even after the newest row is deleted
)

acks_table = sa.Table(
    "webhook_acks",
    metadata,
    sa.Column("consumer", sa.String(100), primary_key=True),
    sa.Column("seq", _BIG, primary_key=True),
    sa.Column("acked_at", _UTC, nullable=False),
)

deactivations_table = sa.Table(
    "webhook_deactivations",
    metadata,
    sa.Column("id", _BIG, primary_key=True, autoincrement=True),
    sa.Column("tenant", sa.String(100), nullable=False),
    sa.Column("entity", sa.String(40), nullable=False),
    sa.Column("guid", sa.String(100)),
    sa.Column("webhook_id", sa.BigInteger),
    sa.Column("verified", sa.Boolean, nullable=False),
    sa.Column("received_at", _UTC, nullable=False),
    sa.Column("payload", sa.JSON),
)


def _now() -> datetime:
    return datetime.now(UTC)


def _row_event(row: Any) -> StoredEvent:
    return StoredEvent(
        seq=row.seq,
        tenant=row.tenant,
        entity=row.entity,
        id=row.entity_id,
        action=row.action,
        guid=row.guid,
        sequence_number=row.sequence_number,
        event_time=row.event_time,
        received_at=row.received_at,
        status=row.status,
        fields=dict(row.fields or {}),
        udf_fields=dict(row.udf_fields or {}),
        person_id=row.person_id,
        entity_type=row.entity_type,
        attempts=row.attempts,
        last_error=row.last_error,
    )


def _values(incoming: Incoming, received_at: datetime) -> dict[str, Any]:
    return {
        "tenant": incoming.tenant,
        "entity": incoming.entity,
        "entity_type": incoming.entity_type,
        "entity_id": incoming.id,
        "action": incoming.action,
        "guid": incoming.guid,
        "sequence_number": incoming.sequence_number,
        "event_time": incoming.event_time,
        "event_time_raw": incoming.event_time_raw,
        "received_at": received_at,
        "person_id": incoming.person_id,
        "fields": incoming.fields,
        "udf_fields": incoming.udf_fields,
        "key_seq": incoming.key_seq,
        "key_event": incoming.key_event,
        "status": "pending",
        "attempts": 0,
    }


def _entity_names(entities: Iterable[str] | None) -> list[str] | None:
    if entities is None:
        return None
    if isinstance(entities, str):
        entities = [entities]
    return [canonical_entity(e) or e for e in entities]


@dataclass(frozen=True)
class Lease:
    """Events claimed for handling, and the end of their lease as the claim wrote it."""

    events: list[StoredEvent]
    until: datetime


class EventStore:
    """Webhook events in one database; safe to share between threads and processes."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self.dialect = engine.dialect.name
        # SQLite has one writer at a time; threads of this process queue here rather than in
        # SQLite's busy handler, which sleeps in steps of up to 100 ms
        self._write_lock = threading.Lock() if self.dialect == "sqlite" else nullcontext()
        with self._write(ordered=True) as conn:  # processes opening at once do not race
            metadata.create_all(conn, checkfirst=True)

    def __repr__(self) -> str:
        return f"<EventStore {self.url}>"

    @property
    def url(self) -> str:
        """The store URL with any password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    # transactions ----------------------------------------------------------------------------
    @contextmanager
    def _write(self, ordered: bool = False) -> Iterator[sa.Connection]:
        """One write transaction; `ordered` (inserts, DDL) takes the seq-ordering lock first."""
        with self._write_lock, self.engine.connect() as conn:
            conn = conn.execution_options(webhook_write=True)
            with conn.begin():
                if ordered and self.dialect == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
                yield conn

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    # receiving -------------------------------------------------------------------------------
    def add(self, incoming: Incoming, received_at: datetime | None = None) -> int | None:
        """Store one event durably; returns its seq, or None when it was a duplicate."""
        return self.add_many([incoming], received_at)[0]

    def add_many(self, batch: list[Incoming], received_at: datetime | None = None) -> list[int | None]:
        """Store events in one transaction (one commit for all: group commit); returns each
        one's seq, None for a duplicate (also of an earlier event of the same batch)."""
        if not batch:
            return []
        insert = pg_insert if self.dialect == "postgresql" else sqlite_insert
        statement = (
            insert(events_table)
            .on_conflict_do_nothing()
            .returning(events_table.c.seq, events_table.c.key_event)
        )
        at = received_at or _now()
        with self._write(ordered=True) as conn:  # one statement for the batch (insertmanyvalues)
            stored = dict(
                (key, seq)
                for seq, key in conn.execute(statement, [_values(item, at) for item in batch]).all()
            )
        out: list[int | None] = []
        for item in batch:  # a skipped row (duplicate) returns nothing; the first of twins wins
            out.append(stored.pop(item.key_event, None))
        return out

    def record_deactivation(self, tenant: str, entity: str, payload: Any, verified: bool) -> int:
        """Remember a deactivation callout (its format is undocumented: kept whole)."""
        body = payload if isinstance(payload, dict) else {"raw": payload}
        guid = body.get("Guid")
        webhook_id = body.get("Id") if isinstance(body.get("Id"), int) else None
        with self._write() as conn:
            return conn.execute(
                deactivations_table.insert()
                .values(
                    tenant=tenant,
                    entity=entity,
                    guid=None if guid is None else str(guid)[:100],
                    webhook_id=webhook_id,
                    verified=verified,
                    received_at=_now(),
                    payload=body,
                )
                .returning(deactivations_table.c.id)
            ).scalar_one()

    def deactivations(self, tenant: str | None = None) -> list[dict[str, Any]]:
        query = sa.select(deactivations_table).order_by(deactivations_table.c.id)
        if tenant is not None:
            query = query.where(deactivations_table.c.tenant == tenant)
        with self._read() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    # reading (the contract) ------------------------------------------------------------------
    def _filtered(
        self,
        query: Any,
        tenant: str | None,
        entities: Iterable[str] | None,
        status: str | Iterable[str] | None = None,
        since: datetime | None = None,
        entity_id: int | None = None,
    ) -> Any:
        t = events_table.c
        if tenant is not None:
            query = query.where(t.tenant == tenant)
        names = _entity_names(entities)
        if names is not None:
            query = query.where(t.entity.in_(names))
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            unknown = set(wanted) - set(STATUSES)
            if unknown:
                raise ValueError(f"unknown status {sorted(unknown)}; use {', '.join(STATUSES)}")
            query = query.where(t.status.in_(wanted))
        if since is not None:
            query = query.where(t.received_at >= since)
        if entity_id is not None:
            query = query.where(t.entity_id == entity_id)
        return query

    def events(
        self,
        after_seq: int = 0,
        limit: int = 1000,
        *,
        tenant: str | None = None,
        entities: Iterable[str] | None = None,
        status: str | Iterable[str] | None = None,
        since: datetime | None = None,
        entity_id: int | None = None,
    ) -> list[StoredEvent]:
        """Stored events with seq > after_seq, ascending seq (at most `limit`)."""
        query = sa.select(events_table).where(events_table.c.seq > after_seq)
        query = self._filtered(query, tenant, entities, status, since, entity_id)
        with self._read() as conn:
            rows = conn.execute(query.order_by(events_table.c.seq).limit(limit))
            return [_row_event(r) for r in rows]

    def get(self, seq: int) -> StoredEvent | None:
        with self._read() as conn:
            row = conn.execute(sa.select(events_table).where(events_table.c.seq == seq)).first()
        return None if row is None else _row_event(row)

    def max_seq(self) -> int:
        with self._read() as conn:
            return conn.execute(sa.select(sa.func.max(events_table.c.seq))).scalar() or 0

    def unacked(
        self,
        consumer: str,
        *,
        after_seq: int = 0,
        limit: int = 1000,
        tenant: str | None = None,
        entities: Iterable[str] | None = None,
    ) -> list[StoredEvent]:
        """Events `consumer` has not acked, ascending seq."""
        a = acks_table.c
        acked = sa.select(a.seq).where(a.consumer == consumer, a.seq == events_table.c.seq)
        query = sa.select(events_table).where(events_table.c.seq > after_seq, ~acked.exists())
        query = self._filtered(query, tenant, entities)
        with self._read() as conn:
            rows = conn.execute(query.order_by(events_table.c.seq).limit(limit))
            return [_row_event(r) for r in rows]

    def ack(self, consumer: str, seqs: Iterable[int]) -> None:
        """Record that `consumer` processed these events; acking twice is harmless."""
        rows = [{"consumer": consumer, "seq": int(s), "acked_at": _now()} for s in set(seqs)]
        if not rows:
            return
        insert = pg_insert if self.dialect == "postgresql" else sqlite_insert
        with self.engine.connect() as conn, conn.begin():
            conn.execute(insert(acks_table).on_conflict_do_nothing(), rows)

    def backlog(self, *, tenant: str | None = None) -> int:
        """Events the handler worker has not finished (pending or failed and to be retried)."""
        query = sa.select(sa.func.count()).select_from(events_table)
        query = self._filtered(query, tenant, None, UNFINISHED)
        with self._read() as conn:
            return conn.execute(query).scalar_one()

    def counts(self, *, tenant: str | None = None) -> dict[str, int]:
        """Events per handler status (every status present, zero included)."""
        query = sa.select(events_table.c.status, sa.func.count()).group_by(events_table.c.status)
        query = self._filtered(query, tenant, None)
        with self._read() as conn:
            found = {status: count for status, count in conn.execute(query)}
        return {s: int(found.get(s, 0)) for s in STATUSES}

    # the handler worker ----------------------------------------------------------------------
    def claim(self, limit: int = 50, lease: float = 300.0) -> list[StoredEvent]:
        """Lease due events for handling: ascending seq, at most one per record (tenant,
        entity, id), and only when no earlier event of that record is unfinished, so each
        record's events are handled in order. A crashed worker's lease runs out and the
        events are handed out again (at least once)."""
        return self.lease(limit, lease).events

    def lease(self, limit: int = 50, lease: float = 300.0) -> Lease:
        """`claim`, also returning the lease's end as written, which `renew` needs to prove
        the holder still has the events."""
        now = _now()
        e = events_table.c
        earlier = events_table.alias("earlier")
        blocked = (
            sa.select(earlier.c.seq)
            .where(
                earlier.c.tenant == e.tenant,
                earlier.c.entity == e.entity,
                earlier.c.entity_id == e.entity_id,
                earlier.c.seq < e.seq,
                earlier.c.status.in_(UNFINISHED),
            )
            .exists()
        )
        query = (
            sa.select(events_table)
            .where(
                e.status.in_(UNFINISHED),
                sa.or_(e.next_attempt_at.is_(None), e.next_attempt_at <= now),
                sa.or_(e.locked_until.is_(None), e.locked_until < now),
                ~blocked,
            )
            .order_by(e.seq)
            .limit(limit)
        )
        if self.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True, of=events_table)
        with self._write() as conn:
            rows = conn.execute(query).all()
            if rows:
                conn.execute(
                    events_table.update()
                    .where(e.seq.in_([r.seq for r in rows]))
                    .values(locked_until=now + timedelta(seconds=lease))
                )
        return Lease([_row_event(r) for r in rows], now + timedelta(seconds=lease))

    def renew(self, seqs: Iterable[int], until: datetime, lease: float) -> tuple[datetime, set[int]]:
        """Extend a lease (ending at `until`) by `lease` seconds from now, for the events still
        held: unfinished and still leased until `until`, which no other claim or replay wrote.
        Returns the new end and the seqs renewed; a seq missing from them was lost."""
        seqs = list(seqs)
        if not seqs:
            return until, set()
        e = events_table.c
        renewed_until = _now() + timedelta(seconds=lease)
        with self._write() as conn:
            held = conn.execute(
                events_table.update()
                .where(e.seq.in_(seqs), e.status.in_(UNFINISHED), e.locked_until == until)
                .values(locked_until=renewed_until)
                .returning(e.seq)
            ).scalars()
            return renewed_until, set(held)

    def release(self, seqs: Iterable[int], until: datetime) -> None:
        """Give back events of a lease (ending at `until`) that no handler started, so they are
        claimable at once instead of when the lease runs out; events another claim or a replay
        took since are left alone."""
        seqs = list(seqs)
        if not seqs:
            return
        e = events_table.c
        with self._write() as conn:
            conn.execute(
                events_table.update()
                .where(e.seq.in_(seqs), e.status.in_(UNFINISHED), e.locked_until == until)
                .values(locked_until=None)
            )

    def finish(self, seq: int | Iterable[int]) -> None:
        """Handlers are done with these events."""
        seqs = [seq] if isinstance(seq, int) else list(seq)
        if not seqs:
            return
        with self._write() as conn:
            conn.execute(
                events_table.update()
                .where(events_table.c.seq.in_(seqs))
                .values(
                    status="done",
                    locked_until=None,
                    next_attempt_at=None,
                    last_error=None,
                    handled_at=_now(),
                    attempts=events_table.c.attempts + 1,
                )
            )

    def fail(self, seq: int, error: str, retry_in: float | None) -> None:
        """A handler failed: retry after `retry_in` seconds, or dead-letter it (None)."""
        values: dict[str, Any] = {
            "locked_until": None,
            "last_error": error[:4000],
            "attempts": events_table.c.attempts + 1,
        }
        if retry_in is None:
            values.update(status="dead", next_attempt_at=None, handled_at=_now())
        else:
            values.update(status="failed", next_attempt_at=_now() + timedelta(seconds=retry_in))
        with self._write() as conn:
            conn.execute(events_table.update().where(events_table.c.seq == seq).values(**values))

    def requeue(
        self,
        *,
        tenant: str | None = None,
        entities: Iterable[str] | None = None,
        entity_id: int | None = None,
        since: datetime | None = None,
        status: str | Iterable[str] | None = None,
    ) -> int:
        """Hand matching events to the handlers again (replay); returns how many."""
        query = events_table.update()
        query = self._filtered(query, tenant, entities, status, since, entity_id)
        with self._write() as conn:
            return conn.execute(
                query.values(
                    status="pending", attempts=0, next_attempt_at=None, locked_until=None, last_error=None
                )
            ).rowcount

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_engine(url: sa.URL) -> sa.Engine:
    synchronous = url.query.get("synchronous", "full")
    synchronous = (synchronous[-1] if isinstance(synchronous, tuple) else synchronous).upper()
    if synchronous not in ("FULL", "NORMAL"):
        raise StoreError(
            "synchronous= takes full (the default: a commit survives power loss) "
            "or normal (survives a crash of the receiver, not of the machine)"
        )
    url = url.difference_update_query(["synchronous"])
    database = url.database
    if not database or database == ":memory:":
        raise StoreError(
            "the webhook store needs a file: use sqlite:///path/events.db "
            "(an in-memory database would lose every event on restart)"
        )
    Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url, connect_args={"timeout": 30, "check_same_thread": False}, pool_size=8, max_overflow=8
    )

    @sa_event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun below, explicitly
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")  # FULL: a commit survives power loss
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @sa_event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        # writers take the write lock up front: no deadlocked lock upgrades between processes
        immediate = conn.get_execution_options().get("webhook_write")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def open_store(url: str | None = None) -> EventStore:
    """Open (creating its tables if missing) the store at `url`.

    `sqlite:///path/events.db` (WAL mode; the default, in the working folder; add
    `?synchronous=normal` to skip the fsync per commit: answered events then survive a crash of
    the receiver but not of the machine) or `postgresql+psycopg://user:password@host/db` (a
    schema via `?options=-csearch_path%3Dname`).
    """
    try:
        parsed = sa.make_url(url or DEFAULT_STORE_URL)
    except sa.exc.ArgumentError as exc:
        raise StoreError(
            f"not a database URL: use sqlite:///path/events.db or postgresql+psycopg://user@host/db ({exc})"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = _sqlite_engine(parsed)
    elif backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = sa.create_engine(parsed, pool_size=10, max_overflow=10, pool_pre_ping=True)
    else:
        raise StoreError(
            f"the webhook store runs on SQLite or PostgreSQL, not {backend!r}; "
            "use sqlite:///path/events.db or postgresql+psycopg://user@host/db"
        )
    try:
        return EventStore(engine)
    except sa.exc.OperationalError as exc:
        engine.dispose()
        shown = parsed.render_as_string(hide_password=True)
        raise StoreError(f"cannot open the webhook store {shown}: {exc.orig}") from None


def backoff(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with jitter for the `attempt`-th failure (1-based)."""
    delay = min(cap, base * 2 ** (attempt - 1))
    return delay * (0.5 + random.random() / 2)
