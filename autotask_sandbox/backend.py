"""The tenant's state and the API's business rules, usable with or without HTTP.

Public surface (used by the HTTP handlers, the activity simulator and the webhooks module):

- `Backend(db_path, pristine=..., scale=..., seed=...)`: opens a tenant file (raises
  `tenant_file.StaleTenantError`, naming the rebuild command, if another generator built it).
- `query(entity, filter, include_fields=None, max_records=500)` -> `QueryPage` (items, has_more);
  `count(entity, filter)`; `get(entity, id)` -> item dict or None.
- `create(entity, data, parent=None, person_id=None) -> id`; `update(entity, id, data,
  sparse=True, ...)`; `delete(entity, id, ...)`. `data` is API JSON (camelCase or any case,
  `userDefinedFields: [{"name", "value"}]`). Rules: unknown fields and bad references or
  picklist values raise `ApiError` with Autotask's messages; timestamps and actor fields are
  maintained; creating a ticket note or time entry bumps the ticket's `lastActivityDate`;
  deleting a ticket (not allowed over the API, allowed here) writes a `DeletedTicketLogs` row.
- `subscribe(callback) -> unsubscribe`: `callback(ChangeEvent)` after every committed change.
- `atomic()`: a context in which several writes commit together (events after the commit) or
  roll back together.
- `random_id(entity, rng, **match)`: a random existing id, deterministic for a given
  `random.Random` state and database; `make_row(entity, rng, fixed=None)`: a plausible new row
  (references respected) ready for `create`.
- `reset()`: back to the freshly generated tenant; `on_reset(hook)` runs `hook()` after each.
All methods are thread-safe. Writes are serialised by `lock` on one writable connection;
reads (`query`, `count`, `get`, `children`, `is_active_resource`) run on a read-only connection of
the calling thread (WAL: concurrent readers see every committed write), except inside a write or
`atomic()` of the same thread, where they read the writable connection (its uncommitted rows).
"""

from __future__ import annotations

import logging
import random
import shutil
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Callable, Iterator

import orjson

from sdk_core.catalog import Catalog, EntityInfo, load_catalog

from .attachments import (AttachmentRules, info_row, is_attachment, next_attachment_id,
                          register_recipes)
from .errors import (ApiError, bad_picklist, bad_reference, duplicate_contact_group,
                     missing_required, no_matching_records, too_long, unknown_field)
from .field_rules import (ACTOR_FIELDS, CREATOR_FIELDS, REQUIRED, field_length,
                          is_maintained_timestamp, is_read_only)
from .rows import RowMaker
from .storage import Storage, Table, UdfDef, coerce_udfs
from .tenant_file import check_version
from .values import format_datetime, to_storage, udf_to_wire

log = logging.getLogger(__name__)

MAX_PAGE = 500
UDF_TYPES = ("string", "double", "datetime")  # the UDF `type`s Autotask's metadata shows
# Deleting these leaves an activity log row; typeID: 1 = time entry, 2 = note.
ACTIVITY_LOG_TYPES = {"TimeEntries": 1, "TicketNotes": 2, "TaskNotes": 2}


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


@dataclass
class QueryPage:
    """One page: item JSON texts as SQLite rendered them (`items` parses them)."""

    raw: list[str]
    has_more: bool
    ids: list[int] = field(default_factory=list)

    @property
    def items(self) -> list[dict[str, Any]]:
        return [orjson.loads(text) for text in self.raw]


def _drop_id(text: str) -> str:
    item = orjson.loads(text)
    item.pop("id", None)
    return orjson.dumps(item).decode()


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


class Backend:
    """Owns the SQLite tenant; every operation of the emulated API goes through here."""

    def __init__(self, db_path: str | Path, *, pristine: str | Path | None = None,
                 scale: str = "tiny", seed: int = 1, datetime_z: bool = False,
                 catalog: Catalog | None = None):
        self.path = Path(db_path)
        self.pristine = Path(pristine) if pristine else None
        self.scale, self.seed = scale, seed
        self.datetime_z = datetime_z
        self.catalog = catalog or load_catalog()
        self.rows = RowMaker(self.catalog)
        register_recipes(self.catalog)
        self.attachment_rules = AttachmentRules()
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
            self.attachment_rules.reset()
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

    def is_active_resource(self, resource_id: int) -> bool:
        with self.reading() as storage:
            row = storage.conn.execute(
                'SELECT "isActive" FROM "Resources" WHERE "id" = ?', (resource_id,)).fetchone()
        return bool(row and row[0])

    # -- reads ------------------------------------------------------------------------------
    def query(self, entity: str, filter: Any, include_fields: list[str] | None = None,
              max_records: int = MAX_PAGE, *, after_id: int | None = None,
              before_id: int | None = None) -> QueryPage:
        """One page of matching items in ascending id (after/before an id cursor)."""
        info = self.entity(entity)
        valid = isinstance(max_records, int) and not isinstance(max_records, bool)
        if not valid or not 1 <= max_records <= MAX_PAGE:
            raise ApiError(500, "maxCountOfRecordsToReturn must be between 1 and 500")
        with self.reading() as storage:
            table = storage.table(info.name)
            where, params, bounds = storage.plan(table, filter)
            projection = self._projection(info, include_fields, storage)
            fields, udfs = projection if projection is not None else (None, None)
            if projection is not None and fields and "id" not in fields:
                fields = ["id", *fields]  # the cursor needs ids; dropped again below
            rows = storage.select(table, where, params, after_id=after_id, before_id=before_id,
                                  limit=max_records + 1, fields=fields,
                                  udfs=sorted(udfs) if udfs is not None else None,
                                  bounds=bounds)
        has_more = len(rows) > max_records  # more rows in the direction of travel
        rows = rows[-max_records:] if before_id is not None else rows[:max_records]
        raw = [row[1] for row in rows]
        if projection is not None and "id" not in projection[0]:
            if has_more and before_id is None:
                raise ApiError(500, "IncludeFields must contain id when the query returns more "
                                    "than one page of results.")
            raw = [_drop_id(text) for text in raw]
        return QueryPage(raw, has_more, [row[0] for row in rows])

    def _projection(self, info: EntityInfo, include: list[str] | None,
                    storage: Storage) -> tuple[list[str], set[str]] | None:
        if not include:
            return None
        if not isinstance(include, list):
            raise ApiError(500, "IncludeFields must be a list of field names.")
        udf_defs = storage.udf_defs(info.name)
        fields: list[str] = []
        udfs: set[str] = set()
        for name in include:
            found = info.field(str(name))
            if found is not None:
                fields.append(found.name)
            elif str(name).lower() == "id":
                fields.append("id")
            elif str(name).lower() in udf_defs:
                udfs.add(udf_defs[str(name).lower()].name)
            else:
                raise unknown_field(str(name), self.internal(info))
        order = {f.name: i for i, f in enumerate(info.fields)}
        return sorted(set(fields), key=lambda f: order.get(f, -1)), udfs

    def count(self, entity: str, filter: Any) -> int:
        info = self.entity(entity)
        with self.reading() as storage:
            table = storage.table(info.name)
            where, params = storage.where(table, filter)
            return storage.count(table, where, params)

    def get(self, entity: str, id: int) -> dict[str, Any] | None:
        info = self.entity(entity)
        with self.reading() as storage:
            return storage.get_item(storage.table(info.name), int(id))

    def children(self, child: str, parent: str, parent_id: int) -> list[dict[str, Any]]:
        """Items of a child collection (`GET /Tickets/{id}/Notes`), ascending id."""
        info = self.entity(child)
        fk = self.parent_field(info, parent)
        return self.query(child, [{"op": "eq", "field": fk, "value": parent_id}],
                          max_records=MAX_PAGE).items if fk else []

    def parent_field(self, info: EntityInfo, parent: str) -> str | None:
        """The child's column holding the parent id (`ticketID` of TicketNotes under Tickets)."""
        parent_info = self.entity(parent)
        for f in info.fields:
            if f.reference == parent_info.name:
                return f.name
        singular = (parent_info.internal_name or parent_info.name).lower() + "id"
        for f in info.fields:
            if f.name.lower() in (singular, parent_info.name.lower().rstrip("s") + "id"):
                return f.name
        if is_attachment(info):  # e.g. TicketNoteAttachments: the note's id is in parentID
            return "parentID"
        return None

    # -- writes -----------------------------------------------------------------------------
    def create(self, entity: str, data: dict[str, Any], parent: tuple[str, int] | None = None,
               person_id: int | None = None, impersonating: bool = False) -> int:
        info = self.entity(entity)
        person = person_id if person_id is not None else self.api_resource_id
        with self.lock:
            table = self.table(info.name)
            values, udfs = self._incoming(info, data)
            values.pop("id", None)
            self._apply_parent(info, values, parent)
            now = datetime.now(UTC)
            stamp = format_datetime(now)
            for f in info.fields:  # server-maintained: `_incoming` dropped what the caller sent
                if is_maintained_timestamp(info, f):
                    values[f.name] = stamp
                elif f.name in CREATOR_FIELDS + ACTOR_FIELDS:
                    values[f.name] = person
                elif f.name == "impersonatorCreatorResourceID":
                    # The acting API user's resource when it writes on behalf of `person`
                    # (creatorResourceID above); null otherwise.
                    values[f.name] = self.api_resource_id if impersonating else None
            if is_attachment(info):
                self.attachment_rules.prepare(info, values, parent, stamp, person)
                values["id"] = next_attachment_id(self.storage.conn, self.catalog)
            self._check_required(info, values)
            self._validate(info, values)
            self._defaults(info, values, now)
            self._completion(info, values, person, stamp)
            all_udfs = {d.name: None for d in self.storage.udf_defs(info.name).values()}
            all_udfs.update(udfs)
            with self._write():
                new_id = self.storage.insert(table, values, all_udfs)
                if is_attachment(info):
                    self.storage.insert(self.table("AttachmentInfo"),
                                        {"id": new_id, **info_row(info, values, self.catalog)}, None)
                events = [self._event("Create", info, new_id, None, person, now)]
                events += self._bump_parent_activity(info, values, stamp, person, now)
        self._emit(events)
        return new_id

    def update(self, entity: str, id: int, data: dict[str, Any], sparse: bool = True,
               parent: tuple[str, int] | None = None, person_id: int | None = None,
               impersonating: bool = False) -> int:
        """PATCH (sparse) or PUT (omitted writable fields become null) of one row."""
        info = self.entity(entity)
        person = person_id if person_id is not None else self.api_resource_id
        id = int(id)
        with self.lock:
            table = self.table(info.name)
            before = self.storage.get_row(table, id)
            if before is None or not self._belongs(info, id, parent):
                raise ApiError(500, f"Unable to update {self.internal(info)} with id {id}: "
                                    "no matching record found.")
            values, udfs = self._incoming(info, data)
            values.pop("id", None)
            if parent is not None:
                self._apply_parent(info, values, parent)
            now = datetime.now(UTC)
            stamp = format_datetime(now)
            if not sparse:
                for f in info.fields:
                    if f.name not in values and not is_read_only(info, f) and f.name != "id":
                        values[f.name] = None
                fk = self.parent_field(info, parent[0]) if parent else None
                if fk:
                    values[fk] = parent[1]  # type: ignore[index]
            for f in info.fields:
                if f.name == info.creation_timestamp or f.name in CREATOR_FIELDS:
                    values.pop(f.name, None)
                elif is_maintained_timestamp(info, f):
                    values[f.name] = stamp
                elif f.name in ACTOR_FIELDS:
                    values[f.name] = person
                elif f.name == "impersonatorUpdaterResourceID":
                    # INFERRED: describes the last update, so cleared by a non-impersonated one.
                    values[f.name] = self.api_resource_id if impersonating else None
            self._check_required(info, values, only_sent=sparse)
            current = dict(zip(table.columns, before))
            self._validate(info, values, current)
            self._completion(info, values, person, stamp, current)
            stored_udfs = self.storage.stored_udfs(table, id) if table.has_udfs else {}
            new_udfs = None
            if table.has_udfs and (udfs or not sparse):
                new_udfs = dict(stored_udfs) if sparse else {k: None for k in stored_udfs}
                new_udfs.update(udfs)
            old_item = self.storage.get_item(table, id) or {}
            with self._write():
                self.storage.update(table, id, values, new_udfs)
            event = self._event("Update", info, id, old_item, person, now)
        if event.changed_fields or event.udf_changes:
            self._emit([event])
        return id

    def delete(self, entity: str, id: int, parent: tuple[str, int] | None = None,
               person_id: int | None = None) -> int:
        info = self.entity(entity)
        person = person_id if person_id is not None else self.api_resource_id
        id = int(id)
        now = datetime.now(UTC)
        with self.lock:
            table = self.table(info.name)
            row = self.storage.get_row(table, id)
            if row is None or not self._belongs(info, id, parent):
                raise no_matching_records()
            with self._write():
                if info.name == "Tickets":
                    self._log_ticket_deletion(table, row, person, now)
                elif info.name in ACTIVITY_LOG_TYPES:
                    self._log_activity_deletion(info, dict(zip(table.columns, row)), person, now)
                self.storage.delete(table, id)
                if is_attachment(info):
                    self.storage.delete(self.table("AttachmentInfo"), id)
        self._emit([ChangeEvent("Delete", info.name, id, {}, {}, person, now)])
        return id

    def _log_ticket_deletion(self, table: Table, row: tuple[Any, ...], person: int | None,
                             now: datetime) -> None:
        cols = table.columns
        values = dict(zip(cols, row))
        log_table = self.table("DeletedTicketLogs")
        self.storage.insert(log_table, {
            "ticketID": values["id"], "ticketNumber": values.get("ticketNumber"),
            "ticketTitle": values.get("title"), "deletedByResourceID": person,
            "deletedDateTime": format_datetime(now)}, None)
        for child in ("TicketNotes", "TimeEntries"):
            self.storage.conn.execute(f'DELETE FROM "{child}" WHERE "ticketID" = ?', (values["id"],))

    def _log_activity_deletion(self, info: EntityInfo, values: dict[str, Any], person: int | None,
                               now: datetime) -> None:
        """A deleted time entry or note leaves a row in Deleted{Ticket|Task}ActivityLogs."""
        type_id = ACTIVITY_LOG_TYPES[info.name]
        stamp = format_datetime(now)
        common = {"typeID": type_id, "deletedByResourceID": person, "deletedDateTime": stamp,
                  "createdByResourceID": values.get("resourceID") or values.get("creatorResourceID"),
                  "activityDateTime": values.get("dateWorked") or values.get("createDateTime"),
                  "startDateTime": values.get("startDateTime"), "endDateTime": values.get("endDateTime"),
                  "hoursWorked": values.get("hoursWorked"), "noteOrAttachmentTitle": values.get("title")}
        for parent, owner, log, number in (
                ("ticketID", "Tickets", "DeletedTicketActivityLogs", "ticketNumber"),
                ("taskID", "Tasks", "DeletedTaskActivityLogs", "taskNumber")):
            if values.get(parent) is None:
                continue
            owner_item = self.storage.get_item(self.table(owner), values[parent]) or {}
            self.storage.insert(self.table(log), {**common, parent: values[parent],
                                                  number: owner_item.get(number)}, None)

    # -- write helpers ----------------------------------------------------------------------
    def _incoming(self, info: EntityInfo, data: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """Request JSON -> storable values by catalog name, and UDF values; unknown -> error."""
        if not isinstance(data, dict):
            raise ApiError(500, f"The request body must be a JSON object describing a {self.internal(info)}.")
        values: dict[str, Any] = {}
        udfs: dict[str, Any] = {}
        for key, value in data.items():
            if str(key).lower() == "userdefinedfields":
                if value in (None, "", {}):
                    continue
                if not isinstance(value, list) or not info.has_udfs:
                    raise unknown_field(str(key), self.internal(info))
                udfs = coerce_udfs(self.storage.udf_defs(info.name), value, self.internal(info))
                choices = self.storage.picklists(info.name, udf=True)
                for name, chosen in udfs.items():
                    allowed = {v["value"] for v in choices.get(name, [])}
                    if allowed and chosen is not None and str(chosen) not in allowed:
                        raise bad_picklist(chosen, name)
                continue
            f = info.field(str(key))
            if f is None:
                if str(key).lower() == "id":
                    continue
                raise unknown_field(str(key), self.internal(info))
            if is_read_only(info, f):
                continue
            values[f.name] = to_storage(value, f.data_type, f.name)
            limit = field_length(info.name, f.name, f.data_type)
            if limit and isinstance(values[f.name], str) and len(values[f.name]) > limit:
                raise too_long(f.name, limit)
        return values, udfs

    def _apply_parent(self, info: EntityInfo, values: dict[str, Any], parent: tuple[str, int] | None) -> None:
        if parent is None:
            return
        parent_name, parent_id = parent
        parent_info = self.entity(parent_name)
        if not self.storage.exists(parent_info.name, int(parent_id)):
            raise ApiError(500, f"Unable to find the parent {self.internal(parent_info)} with id "
                                f"{parent_id}.")
        fk = self.parent_field(info, parent_info.name)
        if fk:
            values[fk] = int(parent_id)

    def _belongs(self, info: EntityInfo, id: int, parent: tuple[str, int] | None) -> bool:
        if parent is None:
            return True
        fk = self.parent_field(info, parent[0])
        if fk is None:
            return True
        row = self.storage.conn.execute(
            f'SELECT "{fk}" FROM "{info.name}" WHERE "id" = ?', (id,)).fetchone()
        return bool(row) and row[0] == int(parent[1])

    def _check_required(self, info: EntityInfo, values: dict[str, Any], only_sent: bool = False) -> None:
        """Every required field has a value (`only_sent`: a PATCH may not null one it sends)."""
        for name in REQUIRED.get(info.name, ()):
            if (name in values or not only_sent) and values.get(name) is None:
                raise missing_required(name)

    def _validate(self, info: EntityInfo, values: dict[str, Any],
                  current: dict[str, Any] | None = None) -> None:
        """Check references and picklists of the written values; rules that tie two fields
        together are checked on the row as it will be (`current` = the stored row on update)."""
        picklists = self._picklist_sets(info.name)
        for name, value in values.items():
            if value is None:
                continue
            f = info.field(name)
            if f is None:
                continue
            known = f.reference is not None and f.reference in self.catalog
            if known and not self.storage.exists(f.reference, int(value)):
                raise bad_reference(f.name, self.internal(self.entity(f.reference)))
            if name in picklists and str(value) not in picklists[name]:
                raise bad_picklist(value, f.name)
        row = {**(current or {}), **values}
        if info.name == "ContactGroups" and values.get("name") is not None:
            self._unique_contact_group(str(values["name"]), (current or {}).get("id"))
        parent, child = row.get("issueType"), row.get("subIssueType")
        touched = "issueType" in values or "subIssueType" in values
        if info.name == "Tickets" and touched and parent is not None and child is not None:
            choices = self.storage.picklists("Tickets")["subIssueType"]
            parents = {v["value"]: v["parentValue"] for v in choices}
            if parents.get(str(child)) != str(parent):
                raise bad_picklist(child, "subIssueType")
        if info.name in ("Tickets", "Tasks") and (row.get("assignedResourceID") is None) != (
                row.get("assignedResourceRoleID") is None) and (
                "assignedResourceID" in values or "assignedResourceRoleID" in values):
            raise ApiError(500, "Data violation: When assigning a Resource, you must assign both a "
                                "assignedResourceID and assignedResourceRoleID.")

    def _unique_contact_group(self, name: str, own_id: int | None) -> None:
        # INFERRED: compared case-insensitively, as SQL Server's default collation does.
        clash = self.storage.conn.execute(
            'SELECT 1 FROM "ContactGroups" WHERE lower("name") = lower(?) AND "id" IS NOT ?',
            (name, own_id)).fetchone()
        if clash:
            raise duplicate_contact_group(name)

    def _picklist_sets(self, entity: str) -> dict[str, set[str]]:
        return {f: {v["value"] for v in values} for f, values in self.storage.picklists(entity).items()}

    def _defaults(self, info: EntityInfo, values: dict[str, Any], now: datetime) -> None:
        if info.name == "Tickets" and not values.get("ticketNumber"):
            seq = self.storage.conn.execute(
                'SELECT COUNT(*) FROM "Tickets" WHERE "ticketNumber" LIKE ?',
                (f"T{now:%Y%m%d}.%",)).fetchone()[0]
            values["ticketNumber"] = f"T{now:%Y%m%d}.{seq + 1:04d}"

    def _completion(self, info: EntityInfo, values: dict[str, Any], person: int | None,
                    stamp: str, current: dict[str, Any] | None = None) -> None:
        """Moving a ticket or task to Complete stamps when and by whom, as Autotask does."""
        done_field = {"Tickets": "completedDate", "Tasks": "completedDateTime"}.get(info.name)
        if done_field is None or "status" not in values:
            return
        complete = {v["value"] for v in self.storage.picklists(info.name).get("status", [])
                    if v["label"] == "Complete"}
        was = (current or {}).get("status")
        if str(values["status"]) in complete and str(was) not in complete:
            values[done_field] = values.get(done_field) or stamp
            values["completedByResourceID"] = values.get("completedByResourceID") or person
            if info.name == "Tickets" and values.get("resolvedDateTime") is None:
                values["resolvedDateTime"] = stamp

    def _bump_parent_activity(self, info: EntityInfo, values: dict[str, Any], stamp: str,
                              person: int | None, now: datetime) -> list[ChangeEvent]:
        ticket = values.get("ticketID") if info.name in ("TicketNotes", "TimeEntries") else None
        if ticket is None:
            return []
        tickets = self.table("Tickets")
        before = self.storage.conn.execute(
            'SELECT "lastActivityResourceID", "lastActivityPersonType" FROM "Tickets" WHERE "id" = ?',
            (int(ticket),)).fetchone()
        shown = stamp + "Z" if self.datetime_z else stamp
        changes: dict[str, Any] = {"lastActivityDate": stamp}
        shown_changes: dict[str, Any] = {"lastActivityDate": shown}
        if person is not None:  # the (impersonated) resource who added the note / time entry
            for name, value, old in zip(("lastActivityResourceID", "lastActivityPersonType"),
                                        (person, 1), before or (None, None)):
                changes[name] = value
                if old != value:
                    shown_changes[name] = value
        self.storage.update(tickets, int(ticket), changes, None)
        return [ChangeEvent("Update", "Tickets", int(ticket), shown_changes, {}, person, now)]

    def _event(self, action: str, info: EntityInfo, id: int, old: dict[str, Any] | None,
               person: int | None, now: datetime) -> ChangeEvent:
        item = self.storage.get_item(self.table(info.name), id) or {}
        new_udfs = {u["name"]: u["value"] for u in item.pop("userDefinedFields", [])}
        if old is None:
            return ChangeEvent(action, info.name, id, item,
                               {k: v for k, v in new_udfs.items() if v is not None}, person, now)
        old_udfs = {u["name"]: u["value"] for u in old.get("userDefinedFields", [])}
        changed = {k: v for k, v in item.items() if old.get(k) != v}
        udf_changes = {k: v for k, v in new_udfs.items() if old_udfs.get(k) != v}
        return ChangeEvent(action, info.name, id, changed, udf_changes, person, now)

    # -- for generators of activity ---------------------------------------------------------
    def random_id(self, entity: str, rng: random.Random, **match: int) -> int | None:
        """A random existing id (optionally where field == value), deterministic per rng state."""
        info = self.entity(entity)
        with self.lock:
            if match:
                (name, value), = match.items()
                f = info.field(name)
                if f is None:
                    raise unknown_field(name, self.internal(info))
                conn = self.storage.conn
                total = conn.execute(f'SELECT COUNT(*) FROM "{info.name}" WHERE "{f.name}" = ?',
                                     (value,)).fetchone()[0]
                if not total:
                    return None
                return conn.execute(
                    f'SELECT "id" FROM "{info.name}" WHERE "{f.name}" = ? ORDER BY "id" LIMIT 1 OFFSET ?',
                    (value, rng.randrange(total))).fetchone()[0]
            low, high, total = self.storage.ids(info.name)
            if not total:
                return None
            return self.storage.id_at_or_after(info.name, rng.randint(low, high))

    def picklist_values(self, entity: str, field: str) -> list[tuple[str, str]]:
        with self.lock:
            return [(v["value"], v["parentValue"])
                    for v in self.storage.picklists(entity).get(field, []) if v["isActive"]]

    def udf_definitions(self, entity: str) -> list[tuple[str, str, list[str]]]:
        with self.lock:
            picks = self.storage.picklists(entity, udf=True)
            return [(d.name, d.type, [v["value"] for v in picks.get(d.name, [])])
                    for d in self.storage.udf_defs(entity).values()]

    def add_udf(self, entity: str, name: str, type: str = "string", *,
                label: str | None = None) -> None:
        """Define a new UDF (tests of names that collide once slugged, of odd scripts...).

        Autotask keeps UDF names unique per entity whatever their case; so does this.
        """
        info = self.entity(entity)
        if not info.has_udfs:
            raise ValueError(f"{info.name} has no user-defined fields")
        if type not in UDF_TYPES:
            raise ValueError(f"type must be one of {', '.join(UDF_TYPES)}, not {type!r}")
        if not isinstance(name, str) or not name.strip():
            raise ValueError("name must be a non-empty string")
        with self.lock:
            if name.lower() in self.storage.udf_defs(info.name):
                raise ValueError(f"{info.name} already has a UDF named {name!r}")
            with self._write():
                self.storage.add_udf_def(info.name, UdfDef(
                    name, label or name, type, 8000 if type == "string" else 0,
                    f"{name} (sandbox UDF)", False, False))
            self._generation += 1  # readers reopen: their cached UDF definitions are stale

    def make_row(self, entity: str, rng: random.Random, fixed: dict[str, Any] | None = None,
                 when: datetime | None = None) -> dict[str, Any]:
        """A plausible new row as API JSON (with `userDefinedFields`), ready for `create`."""
        info = self.entity(entity)
        values, udfs = self.rows.make(info.name, rng, self, when or datetime.now(UTC), fixed)
        data = {k: v for k, v in values.items() if k != "id" and info.field(k) is not None}
        if info.has_udfs:
            data["userDefinedFields"] = [{"name": k, "value": udf_to_wire(v)} for k, v in udfs.items()]
        return data
