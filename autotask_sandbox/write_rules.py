"""The API's write rules: create, update and delete, with Autotask's checks and side effects.

`data` is API JSON (camelCase or any case, `userDefinedFields: [{"name", "value"}]`). Unknown
fields and bad references or picklist values raise `ApiError` with Autotask's messages;
timestamps and actor fields are maintained; creating a ticket note or time entry bumps the
ticket's `lastActivityDate`; deleting a ticket (not allowed over the API, allowed here) writes a
`DeletedTicketLogs` row, deleting a time entry or note a Deleted{Ticket|Task}ActivityLogs row.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sdk_core.catalog import EntityInfo

from .attachments import AttachmentRules, info_row, is_attachment, next_attachment_id
from .errors import (
    ApiError,
    bad_picklist,
    bad_reference,
    duplicate_contact_group,
    missing_required,
    no_matching_records,
    too_long,
    unknown_field,
)
from .field_rules import (
    ACTOR_FIELDS,
    CREATOR_FIELDS,
    REQUIRED,
    field_length,
    is_maintained_timestamp,
    is_read_only,
)
from .reads import Reads
from .storage import Table, coerce_udfs
from .tenant import ChangeEvent
from .values import format_datetime, to_storage

__all__ = ["ACTIVITY_LOG_TYPES", "WriteRules"]

# Deleting these leaves an activity log row; typeID: 1 = time entry, 2 = note.
ACTIVITY_LOG_TYPES = {"TimeEntries": 1, "TicketNotes": 2, "TaskNotes": 2}


class WriteRules(Reads):
    """Every write of the emulated API, checked and completed as Autotask does."""

    def __init__(self, db_path: str | Path, **options: Any):
        super().__init__(db_path, **options)
        self.attachment_rules = AttachmentRules()
        self.on_reset(self.attachment_rules.reset)

    def create(
        self,
        entity: str,
        data: dict[str, Any],
        parent: tuple[str, int] | None = None,
        person_id: int | None = None,
        impersonating: bool = False,
    ) -> int:
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
                    self.storage.insert(
                        self.table("AttachmentInfo"),
                        {"id": new_id, **info_row(info, values, self.catalog)},
                        None,
                    )
                events = [self._event("Create", info, new_id, None, person, now)]
                events += self._bump_parent_activity(info, values, stamp, person, now)
        self._emit(events)
        return new_id

    def update(
        self,
        entity: str,
        id: int,
        data: dict[str, Any],
        sparse: bool = True,
        parent: tuple[str, int] | None = None,
        person_id: int | None = None,
        impersonating: bool = False,
    ) -> int:
        """PATCH (sparse) or PUT (omitted writable fields become null) of one row."""
        info = self.entity(entity)
        person = person_id if person_id is not None else self.api_resource_id
        id = int(id)
        with self.lock:
            table = self.table(info.name)
            before = self.storage.get_row(table, id)
            if before is None or not self._belongs(info, id, parent):
                raise ApiError(
                    500, f"Unable to update {self.internal(info)} with id {id}: no matching record found."
                )
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
                    values[fk] = parent[1]  # type: ignore[index]  # fk is set only when parent is
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

    def delete(
        self, entity: str, id: int, parent: tuple[str, int] | None = None, person_id: int | None = None
    ) -> int:
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

    def _log_ticket_deletion(
        self, table: Table, row: tuple[Any, ...], person: int | None, now: datetime
    ) -> None:
        cols = table.columns
        values = dict(zip(cols, row))
        log_table = self.table("DeletedTicketLogs")
        self.storage.insert(
            log_table,
            {
                "ticketID": values["id"],
                "ticketNumber": values.get("ticketNumber"),
                "ticketTitle": values.get("title"),
                "deletedByResourceID": person,
                "deletedDateTime": format_datetime(now),
            },
            None,
        )
        for child in ("TicketNotes", "TimeEntries"):
            self.storage.conn.execute(f'DELETE FROM "{child}" WHERE "ticketID" = ?', (values["id"],))

    def _log_activity_deletion(
        self, info: EntityInfo, values: dict[str, Any], person: int | None, now: datetime
    ) -> None:
        """A deleted time entry or note leaves a row in Deleted{Ticket|Task}ActivityLogs."""
        type_id = ACTIVITY_LOG_TYPES[info.name]
        stamp = format_datetime(now)
        common = {
            "typeID": type_id,
            "deletedByResourceID": person,
            "deletedDateTime": stamp,
            "createdByResourceID": values.get("resourceID") or values.get("creatorResourceID"),
            "activityDateTime": values.get("dateWorked") or values.get("createDateTime"),
            "startDateTime": values.get("startDateTime"),
            "endDateTime": values.get("endDateTime"),
            "hoursWorked": values.get("hoursWorked"),
            "noteOrAttachmentTitle": values.get("title"),
        }
        for parent, owner, log, number in (
            ("ticketID", "Tickets", "DeletedTicketActivityLogs", "ticketNumber"),
            ("taskID", "Tasks", "DeletedTaskActivityLogs", "taskNumber"),
        ):
            if values.get(parent) is None:
                continue
            owner_item = self.storage.get_item(self.table(owner), values[parent]) or {}
            self.storage.insert(
                self.table(log), {**common, parent: values[parent], number: owner_item.get(number)}, None
            )

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
            raise ApiError(
                500, f"Unable to find the parent {self.internal(parent_info)} with id {parent_id}."
            )
        fk = self.parent_field(info, parent_info.name)
        if fk:
            values[fk] = int(parent_id)

    def _belongs(self, info: EntityInfo, id: int, parent: tuple[str, int] | None) -> bool:
        if parent is None:
            return True
        fk = self.parent_field(info, parent[0])
        if fk is None:
            return True
        row = self.storage.conn.execute(f'SELECT "{fk}" FROM "{info.name}" WHERE "id" = ?', (id,)).fetchone()
        return bool(row) and row[0] == int(parent[1])

    def _check_required(self, info: EntityInfo, values: dict[str, Any], only_sent: bool = False) -> None:
        """Every required field has a value (`only_sent`: a PATCH may not null one it sends)."""
        for name in REQUIRED.get(info.name, ()):
            if (name in values or not only_sent) and values.get(name) is None:
                raise missing_required(name)

    def _validate(
        self, info: EntityInfo, values: dict[str, Any], current: dict[str, Any] | None = None
    ) -> None:
        """Check references and picklists of the written values; rules that tie two fields
        together are checked on the row as it will be (`current` = the stored row on update)."""
        picklists = self._picklist_sets(info.name)
        for name, value in values.items():
            if value is None:
                continue
            f = info.field(name)
            if f is None:
                continue
            ref = f.reference
            if ref is not None and ref in self.catalog and not self.storage.exists(ref, int(value)):
                raise bad_reference(f.name, self.internal(self.entity(ref)))
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
        if (
            info.name in ("Tickets", "Tasks")
            and (row.get("assignedResourceID") is None) != (row.get("assignedResourceRoleID") is None)
            and ("assignedResourceID" in values or "assignedResourceRoleID" in values)
        ):
            raise ApiError(
                500,
                "Data violation: When assigning a Resource, you must assign both a "
                "assignedResourceID and assignedResourceRoleID.",
            )

    def _unique_contact_group(self, name: str, own_id: int | None) -> None:
        # INFERRED: compared case-insensitively, as SQL Server's default collation does.
        clash = self.storage.conn.execute(
            'SELECT 1 FROM "ContactGroups" WHERE lower("name") = lower(?) AND "id" IS NOT ?', (name, own_id)
        ).fetchone()
        if clash:
            raise duplicate_contact_group(name)

    def _picklist_sets(self, entity: str) -> dict[str, set[str]]:
        return {f: {v["value"] for v in values} for f, values in self.storage.picklists(entity).items()}

    def _defaults(self, info: EntityInfo, values: dict[str, Any], now: datetime) -> None:
        if info.name == "Tickets" and not values.get("ticketNumber"):
            seq = self.storage.conn.execute(
                'SELECT COUNT(*) FROM "Tickets" WHERE "ticketNumber" LIKE ?', (f"T{now:%Y%m%d}.%",)
            ).fetchone()[0]
            values["ticketNumber"] = f"T{now:%Y%m%d}.{seq + 1:04d}"

    def _completion(
        self,
        info: EntityInfo,
        values: dict[str, Any],
        person: int | None,
        stamp: str,
        current: dict[str, Any] | None = None,
    ) -> None:
        """Moving a ticket or task to Complete stamps when and by whom, as Autotask does."""
        done_field = {"Tickets": "completedDate", "Tasks": "completedDateTime"}.get(info.name)
        if done_field is None or "status" not in values:
            return
        complete = {
            v["value"]
            for v in self.storage.picklists(info.name).get("status", [])
            if v["label"] == "Complete"
        }
        was = (current or {}).get("status")
        if str(values["status"]) in complete and str(was) not in complete:
            values[done_field] = values.get(done_field) or stamp
            values["completedByResourceID"] = values.get("completedByResourceID") or person
            if info.name == "Tickets" and values.get("resolvedDateTime") is None:
                values["resolvedDateTime"] = stamp

    def _bump_parent_activity(
        self, info: EntityInfo, values: dict[str, Any], stamp: str, person: int | None, now: datetime
    ) -> list[ChangeEvent]:
        ticket = values.get("ticketID") if info.name in ("TicketNotes", "TimeEntries") else None
        if ticket is None:
            return []
        tickets = self.table("Tickets")
        before = self.storage.conn.execute(
            'SELECT "lastActivityResourceID", "lastActivityPersonType" FROM "Tickets" WHERE "id" = ?',
            (int(ticket),),
        ).fetchone()
        shown = stamp + "Z" if self.datetime_z else stamp
        changes: dict[str, Any] = {"lastActivityDate": stamp}
        shown_changes: dict[str, Any] = {"lastActivityDate": shown}
        if person is not None:  # the (impersonated) resource who added the note / time entry
            for name, value, old in zip(
                ("lastActivityResourceID", "lastActivityPersonType"), (person, 1), before or (None, None)
            ):
                changes[name] = value
                if old != value:
                    shown_changes[name] = value
        self.storage.update(tickets, int(ticket), changes, None)
        return [ChangeEvent("Update", "Tickets", int(ticket), shown_changes, {}, person, now)]

    def _event(
        self,
        action: str,
        info: EntityInfo,
        id: int,
        old: dict[str, Any] | None,
        person: int | None,
        now: datetime,
    ) -> ChangeEvent:
        item = self.storage.get_item(self.table(info.name), id) or {}
        new_udfs = {u["name"]: u["value"] for u in item.pop("userDefinedFields", [])}
        if old is None:
            return ChangeEvent(
                action, info.name, id, item, {k: v for k, v in new_udfs.items() if v is not None}, person, now
            )
        old_udfs = {u["name"]: u["value"] for u in old.get("userDefinedFields", [])}
        changed = {k: v for k, v in item.items() if old.get(k) != v}
        udf_changes = {k: v for k, v in new_udfs.items() if old_udfs.get(k) != v}
        return ChangeEvent(action, info.name, id, changed, udf_changes, person, now)
