"""Reads of the emulated API: pages in id order, counts, single items, child collections."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from sdk_core.catalog import EntityInfo

from .attachments import is_attachment
from .errors import ApiError, unknown_field
from .storage import Storage
from .tenant import Tenant

__all__ = ["MAX_PAGE", "QueryPage", "Reads"]

MAX_PAGE = 500


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


class Reads(Tenant):
    """What the API answers without changing anything (all on the reading connection)."""

    def is_active_resource(self, resource_id: int) -> bool:
        with self.reading() as storage:
            row = storage.conn.execute(
                'SELECT "isActive" FROM "Resources" WHERE "id" = ?', (resource_id,)
            ).fetchone()
        return bool(row and row[0])

    def query(
        self,
        entity: str,
        filter: Any,
        include_fields: list[str] | None = None,
        max_records: int = MAX_PAGE,
        *,
        after_id: int | None = None,
        before_id: int | None = None,
    ) -> QueryPage:
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
            rows = storage.select(
                table,
                where,
                params,
                after_id=after_id,
                before_id=before_id,
                limit=max_records + 1,
                fields=fields,
                udfs=sorted(udfs) if udfs is not None else None,
                bounds=bounds,
            )
        has_more = len(rows) > max_records  # more rows in the direction of travel
        rows = rows[-max_records:] if before_id is not None else rows[:max_records]
        raw = [row[1] for row in rows]
        if projection is not None and "id" not in projection[0]:
            if has_more and before_id is None:
                raise ApiError(
                    500, "IncludeFields must contain id when the query returns more than one page of results."
                )
            raw = [_drop_id(text) for text in raw]
        return QueryPage(raw, has_more, [row[0] for row in rows])

    def _projection(
        self, info: EntityInfo, include: list[str] | None, storage: Storage
    ) -> tuple[list[str], set[str]] | None:
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
        return (
            self.query(child, [{"op": "eq", "field": fk, "value": parent_id}], max_records=MAX_PAGE).items
            if fk
            else []
        )

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
