"""Registering webhooks through the REST API with the SDK's own client (reference 11.2).

`client.webhooks.register(entity="Ticket", url=..., secret=..., fields=["status"])` creates the
`{X}Webhooks` row, then its `Fields`, `UdfFields` and `ExcludedResources` children in that
order (the documented creation sequence), field names resolved to `fieldID`s from the
`fieldID` picklist of `{X}WebhookFields/entityInformation/fields`. Registering the same name
again updates that webhook (root fields PATCHed, children reconciled: new ones added before
old ones are removed, so it never stops being ready) and never duplicates it.

Every operation is written once as a generator of `_Op`s, driven by the sync (`Webhooks`) or
async (`AsyncWebhooks`) client, like the client's own flows.
"""

from __future__ import annotations

import builtins
import difflib
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .._datetime import format_datetime
from .entities import CANONICAL, canonical_entity, config_entity, known_entities

__all__ = ["Webhooks", "AsyncWebhooks", "RegisteredWebhook", "RegistrationError"]

_EVENT_WORDS = {
    "create": "Create",
    "created": "Create",
    "update": "Update",
    "updated": "Update",
    "delete": "Delete",
    "deleted": "Delete",
}
_NO_UDF_FIELDS = {"TicketNote"}  # TicketNoteWebhooks have no UdfFields child (reference 11.2)


class RegistrationError(ValueError):
    """A registration request that cannot be carried out as asked."""


@dataclass(frozen=True)
class _Op:
    kind: str  # query | get | create | update | delete | fields
    entity: str
    arg: Any = None
    parent_id: int | None = None


Flow = Generator[_Op, Any, Any]


@dataclass(frozen=True)
class RegisteredWebhook:
    """A webhook as Autotask holds it (its secret key is never read back into this)."""

    entity: str
    id: int
    name: str
    url: str
    deactivation_url: str | None
    active: bool
    ready: bool
    guid: str | None
    events: frozenset[str]
    fields: tuple[str, ...] = ()
    display_fields: tuple[str, ...] = ()
    udf_fields: tuple[str, ...] = ()
    excluded_resources: tuple[int, ...] = ()
    owner_resource_id: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "id": self.id,
            "name": self.name,
            "url": self.url,
            "deactivation_url": self.deactivation_url,
            "active": self.active,
            "ready": self.ready,
            "guid": self.guid,
            "events": sorted(self.events),
            "fields": list(self.fields),
            "display_fields": list(self.display_fields),
            "udf_fields": list(self.udf_fields),
            "excluded_resources": list(self.excluded_resources),
            "owner_resource_id": self.owner_resource_id,
        }


def _canonical(entity: str) -> str:
    name = entity[:-8] if entity.lower().endswith("webhooks") else entity
    found = canonical_entity(name)
    if found is None:
        raise RegistrationError(f"{entity!r} is not a webhook entity; use one of {known_entities()}")
    return found


def _events(events: Iterable[str]) -> set[str]:
    if isinstance(events, str):
        events = [events]
    out = set()
    for item in events:
        word = _EVENT_WORDS.get(str(item).strip().lower())
        if word is None:
            raise RegistrationError(f"unknown webhook event {item!r}; use create, update, delete")
        out.add(word)
    if not out:
        raise RegistrationError("a webhook must subscribe to at least one of create, update, delete")
    return out


def _norm(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _picklist(metadata: list[dict[str, Any]], name: str) -> dict[int, str]:
    """fieldID/udfFieldID picklist of a webhook child entity: id -> label."""
    for item in metadata:
        if str(item.get("name", "")).lower() == name.lower():
            return {
                int(v["value"]): str(v.get("label", ""))
                for v in item.get("picklistValues") or []
                if str(v.get("value", "")).lstrip("-").isdigit()
            }
    return {}


def _resolve(names: Iterable[str | int], picklist: dict[int, str], what: str, entity: str) -> dict[int, str]:
    """Field names (REST names or labels, any case) or raw ids -> {id: label}."""
    by_norm: dict[str, int] = {}
    for number, label in picklist.items():
        by_norm.setdefault(_norm(label), number)
    out: dict[int, str] = {}
    for name in names:
        if isinstance(name, int) and not isinstance(name, bool):
            if name not in picklist:
                raise RegistrationError(f"{what} {name} is not in the {entity} webhook picklist")
            out[name] = picklist[name]
            continue
        found = by_norm.get(_norm(str(name)))
        if found is None:
            close = difflib.get_close_matches(str(name), list(picklist.values()), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise RegistrationError(f"{entity} has no webhook {what} {name!r}{hint}")
        out[found] = picklist[found]
    return out


def _label(picklist: dict[int, str], number: Any) -> str:
    return picklist.get(int(number), str(number)) if number is not None else ""


def _all(entity: str, conditions: list[dict[str, Any]] | None = None) -> _Op:
    return _Op("query", entity, conditions or [{"op": "exist", "field": "id"}])


class _Flows:
    """The operations as flows, shared by the sync and async drivers."""

    # reading ---------------------------------------------------------------------------------
    def _picklists(self, canonical: str, udf: bool) -> Flow:
        fields_meta = yield _Op("fields", f"{canonical}WebhookFields")
        fields = _picklist(fields_meta, "fieldID")
        udfs: dict[int, str] = {}
        if udf and canonical not in _NO_UDF_FIELDS:
            udf_meta = yield _Op("fields", f"{canonical}WebhookUdfFields")
            udfs = _picklist(udf_meta, "udfFieldID")
        return fields, udfs

    def _children(self, canonical: str, ids: list[int]) -> Flow:
        out: dict[str, list[dict[str, Any]]] = {}
        segments = ["Fields", "ExcludedResources"]
        if canonical not in _NO_UDF_FIELDS:
            segments.insert(1, "UdfFields")
        for segment in segments:
            if not ids:
                out[segment] = []
                continue
            cond = [{"op": "in", "field": "webhookID", "value": ids}]
            out[segment] = yield _all(f"{canonical}Webhook{segment}", cond)
        return out

    def _describe(self, canonical: str, rows: list[dict[str, Any]]) -> Flow:
        if not rows:
            return []
        children = yield from self._children(canonical, [r["id"] for r in rows])
        picks, udf_picks = yield from self._picklists(canonical, True)
        out = []
        for row in rows:
            mine = {
                seg: [c for c in items if c.get("webhookID") == row["id"]] for seg, items in children.items()
            }
            fields = mine.get("Fields", [])
            udfs = mine.get("UdfFields", [])
            out.append(
                RegisteredWebhook(
                    entity=canonical,
                    id=row["id"],
                    name=row.get("name") or "",
                    url=row.get("webhookUrl") or "",
                    deactivation_url=row.get("deactivationUrl"),
                    active=bool(row.get("isActive")),
                    ready=bool(row.get("isReady")),
                    guid=row.get("webhookGUID"),
                    events=frozenset(
                        a.lower()
                        for a in ("Create", "Update", "Delete")
                        if row.get(f"isSubscribedTo{a}Events")
                    ),
                    fields=tuple(
                        _label(picks, f.get("fieldID")) for f in fields if f.get("isSubscribedField")
                    ),
                    display_fields=tuple(
                        _label(picks, f.get("fieldID")) for f in fields if f.get("isDisplayAlwaysField")
                    ),
                    udf_fields=tuple(
                        _label(udf_picks, u.get("udfFieldID")) for u in udfs if u.get("isSubscribedField")
                    ),
                    excluded_resources=tuple(r["resourceID"] for r in mine.get("ExcludedResources", [])),
                    owner_resource_id=row.get("ownerResourceID"),
                    raw={k: v for k, v in row.items() if k.lower() != "secretkey"},
                )
            )
        return out

    def _find(self, canonical: str, ref: str | int) -> Flow:
        root = config_entity(canonical)
        if isinstance(ref, int) and not isinstance(ref, bool):
            row = yield _Op("get", root, ref)
            return [row] if row else []
        rows = yield _all(root, [{"op": "eq", "field": "name", "value": str(ref)}])
        return sorted(rows, key=lambda r: r["id"])

    def _list_flow(self, entity: str | None, name: str | None) -> Flow:
        out: list[RegisteredWebhook] = []
        for canonical in [_canonical(entity)] if entity else CANONICAL:
            if name is not None:
                rows = yield from self._find(canonical, name)
            else:
                rows = yield _all(config_entity(canonical))
            out += yield from self._describe(canonical, sorted(rows, key=lambda r: r["id"]))
        return out

    def _get_flow(self, entity: str, ref: str | int) -> Flow:
        canonical = _canonical(entity)
        rows = yield from self._find(canonical, ref)
        described = yield from self._describe(canonical, rows[:1])
        return described[0] if described else None

    # writing ---------------------------------------------------------------------------------
    def _register_flow(
        self,
        entity: str,
        url: str | None,
        secret: str | None,
        name: str | None,
        fields: Iterable[str | int] | None,
        display_fields: Iterable[str | int] | None,
        udf_fields: Iterable[str | int] | None,
        excluded_resources: Iterable[int] | None,
        events: Iterable[str] | None,
        deactivation_url: str | None,
        notification_email: str | None,
        active: bool | None,
        threshold_notification: bool | None,
        must_exist: bool,
    ) -> Flow:
        canonical = _canonical(entity)
        root = config_entity(canonical)
        if canonical in _NO_UDF_FIELDS and udf_fields:
            raise RegistrationError(f"{canonical} webhooks have no UDF fields (reference 11.2)")
        if name is None:
            if url is None:
                raise RegistrationError("give the webhook a name (or a url to name it after)")
            name = f"{canonical} {url}"[:50]
        if len(name) > 50:
            raise RegistrationError(f"a webhook name has at most 50 characters; {name!r} has {len(name)}")
        existing = yield from self._find(canonical, name)
        current = existing[0] if existing else None
        if current is None and must_exist:
            raise RegistrationError(f"no {canonical} webhook is named {name!r}")
        if current is None:
            missing = [n for n, v in (("url", url), ("secret", secret)) if not v]
            if missing:
                raise RegistrationError(f"a new webhook needs {' and '.join(missing)}")
            if not fields and not udf_fields:
                raise RegistrationError(
                    "a webhook needs at least one subscribed field or UDF "
                    "(fields=[...]); Autotask does not call it until then"
                )
        picks, udf_picks = yield from self._picklists(canonical, bool(udf_fields))
        want_fields = _resolve(fields or (), picks, "field", canonical) if fields is not None else None
        want_display = (
            _resolve(display_fields or (), picks, "field", canonical) if display_fields is not None else None
        )
        want_udfs = (
            _resolve(udf_fields or (), udf_picks, "UDF", canonical) if udf_fields is not None else None
        )

        body: dict[str, Any] = {}
        if url is not None:
            body["webhookUrl"] = url
        if deactivation_url is not None or (current is None and url):
            body["deactivationUrl"] = deactivation_url or url.rstrip("/") + "/deactivated"  # type: ignore[union-attr]  # url is set here
        if secret is not None:
            body["secretKey"] = secret
        if active is not None or current is None:
            body["isActive"] = True if active is None else active
        if events is not None or current is None:
            chosen = _events(events if events is not None else ("create", "update", "delete"))
            for action in ("Create", "Update", "Delete"):
                body[f"isSubscribedTo{action}Events"] = action in chosen
        if notification_email is not None:
            body["notificationEmailAddress"] = notification_email
        if threshold_notification is not None or current is None:
            body["sendThresholdExceededNotification"] = bool(threshold_notification)
        if current is None:
            webhook_id = yield _Op("create", root, {"name": name, **body})
        else:
            webhook_id = current["id"]
            if any(current.get(k) != v for k, v in body.items()):
                yield _Op("update", root, {"id": webhook_id, **body})

        # children in the documented order: Fields, UdfFields, ExcludedResources
        if want_fields is not None or want_display is not None:
            yield from self._sync_flags(
                canonical, "Fields", "fieldID", webhook_id, want_fields, want_display, current is None
            )
        if want_udfs is not None:
            yield from self._sync_flags(
                canonical, "UdfFields", "udfFieldID", webhook_id, want_udfs, None, current is None
            )
        if excluded_resources is not None:
            yield from self._sync_excluded(canonical, webhook_id, excluded_resources, current is None)
        return (yield from self._get_flow(canonical, webhook_id))

    def _sync_flags(
        self,
        canonical: str,
        segment: str,
        key: str,
        webhook_id: int,
        subscribed: dict[int, str] | None,
        display: dict[int, str] | None,
        new: bool,
    ) -> Flow:
        child = f"{canonical}Webhook{segment}"
        have: dict[int, dict[str, Any]] = {}
        if not new:
            rows = yield _all(child, [{"op": "eq", "field": "webhookID", "value": webhook_id}])
            have = {int(r[key]): r for r in rows if r.get(key) is not None}
        sub = (
            set(subscribed)
            if subscribed is not None
            else {k for k, r in have.items() if r.get("isSubscribedField")}
        )
        show = (
            set(display)
            if display is not None
            else {k for k, r in have.items() if r.get("isDisplayAlwaysField")}
        )
        wanted = {k: (k in sub, k in show) for k in sub | show}
        for number, (is_sub, is_show) in wanted.items():  # add and change first ...
            row = have.get(number)
            flags = {"isSubscribedField": is_sub, "isDisplayAlwaysField": is_show}
            if row is None:
                yield _Op("create", child, {key: number, "webhookID": webhook_id, **flags}, webhook_id)
            elif any(bool(row.get(k)) != v for k, v in flags.items()):
                yield _Op("update", child, {"id": row["id"], **flags}, webhook_id)
        for number, row in have.items():  # ... then remove, so the webhook stays ready
            if number not in wanted:
                yield _Op("delete", child, row["id"], webhook_id)

    def _sync_excluded(self, canonical: str, webhook_id: int, resources: Iterable[int], new: bool) -> Flow:
        child = f"{canonical}WebhookExcludedResources"
        wanted = {int(r) for r in resources}
        have: dict[int, int] = {}
        if not new:
            rows = yield _all(child, [{"op": "eq", "field": "webhookID", "value": webhook_id}])
            have = {int(r["resourceID"]): r["id"] for r in rows}
        for resource in sorted(wanted - set(have)):
            yield _Op("create", child, {"resourceID": resource, "webhookID": webhook_id}, webhook_id)
        for resource, row_id in have.items():
            if resource not in wanted:
                yield _Op("delete", child, row_id, webhook_id)

    def _set_active_flow(self, entity: str, ref: str | int, active: bool) -> Flow:
        canonical = _canonical(entity)
        rows = yield from self._find(canonical, ref)
        if not rows:
            raise RegistrationError(f"no {canonical} webhook {ref!r}")
        yield _Op("update", config_entity(canonical), {"id": rows[0]["id"], "isActive": active})
        return (yield from self._get_flow(canonical, rows[0]["id"]))

    def _remove_flow(self, entity: str, ref: str | int) -> Flow:
        canonical = _canonical(entity)
        rows = yield from self._find(canonical, ref)
        if not rows:
            return False
        for row in rows:
            children = yield from self._children(canonical, [row["id"]])
            for segment, items in children.items():
                for item in items:
                    yield _Op("delete", f"{canonical}Webhook{segment}", item["id"], row["id"])
            yield _Op("delete", config_entity(canonical), row["id"])
        return True

    def _errors_flow(self, since: datetime | None) -> Flow:
        cond = [{"op": "gte", "field": "createDateTime", "value": format_datetime(since)}] if since else None
        rows = yield _all("WebhookEventErrorLogs", cond)
        return sorted(rows, key=lambda r: r["id"])


_REGISTER_DOC = """Create or update (by name) a webhook of `entity` (Ticket, TicketNote, Company,
        Contact, ConfigurationItem) and its subscribed fields; returns it as Autotask holds it.

        `fields` are subscribed (a change calls the webhook), `display_fields` always sent,
        both by REST name or label (`status`, `Status`) or raw fieldID; `udf_fields` by UDF name;
        `events` from create/update/delete. On an existing webhook, arguments left as None keep
        what it has. The deactivation URL defaults to `{url}/deactivated`."""


class Webhooks(_Flows):
    """`client.webhooks` on the sync client."""

    def __init__(self, client: Any):
        self._client = client

    def _drive(self, flow: Flow) -> Any:
        result: Any = None
        try:
            op = next(flow)
            while True:
                result = self._do(op)
                op = flow.send(result)
        except StopIteration as stop:
            return stop.value

    def _do(self, op: _Op) -> Any:
        entity = self._client.entity(op.entity)
        if op.kind == "query":
            return list(entity.query(op.arg))
        if op.kind == "get":
            return entity.get(op.arg)
        if op.kind == "fields":
            return entity.fields()
        if op.kind == "create":
            return entity.create(op.arg, parent_id=op.parent_id)
        if op.kind == "update":
            return entity.update(op.arg, parent_id=op.parent_id)
        if op.kind == "delete":
            return entity.delete(op.arg, parent_id=op.parent_id)
        raise AssertionError(op.kind)

    def register(
        self,
        entity: str,
        url: str | None = None,
        secret: str | None = None,
        *,
        name: str | None = None,
        fields: Iterable[str | int] | None = None,
        display_fields: Iterable[str | int] | None = None,
        udf_fields: Iterable[str | int] | None = None,
        excluded_resources: Iterable[int] | None = None,
        events: Iterable[str] | None = None,
        deactivation_url: str | None = None,
        notification_email: str | None = None,
        active: bool | None = None,
        threshold_notification: bool | None = None,
    ) -> RegisteredWebhook:
        return self._drive(
            self._register_flow(
                entity,
                url,
                secret,
                name,
                fields,
                display_fields,
                udf_fields,
                excluded_resources,
                events,
                deactivation_url,
                notification_email,
                active,
                threshold_notification,
                False,
            )
        )

    def update(self, entity: str, name: str, **changes: Any) -> RegisteredWebhook:
        """Change an existing webhook (same arguments as `register`)."""
        return self._drive(
            self._register_flow(
                entity,
                changes.pop("url", None),
                changes.pop("secret", None),
                name,
                changes.pop("fields", None),
                changes.pop("display_fields", None),
                changes.pop("udf_fields", None),
                changes.pop("excluded_resources", None),
                changes.pop("events", None),
                changes.pop("deactivation_url", None),
                changes.pop("notification_email", None),
                changes.pop("active", None),
                _no_more(changes, "threshold_notification"),
                True,
            )
        )

    def list(self, entity: str | None = None, name: str | None = None) -> list[RegisteredWebhook]:
        """Registered webhooks (of one entity, or all five)."""
        return self._drive(self._list_flow(entity, name))

    def get(self, entity: str, ref: str | int) -> RegisteredWebhook | None:
        """One webhook by name or id (None when there is none)."""
        return self._drive(self._get_flow(entity, ref))

    def activate(self, entity: str, ref: str | int) -> RegisteredWebhook:
        return self._drive(self._set_active_flow(entity, ref, True))

    def deactivate(self, entity: str, ref: str | int) -> RegisteredWebhook:
        return self._drive(self._set_active_flow(entity, ref, False))

    def remove(self, entity: str, ref: str | int) -> bool:
        """Delete a webhook and its children; False when there was none."""
        return self._drive(self._remove_flow(entity, ref))

    def error_logs(
        self, since: datetime | None = None
    ) -> builtins.list[dict[str, Any]]:  # `list` here is the method above
        """`WebhookEventErrorLogs` rows (payloads Autotask gave up delivering), oldest first."""
        return self._drive(self._errors_flow(since))


class AsyncWebhooks(_Flows):
    """`client.webhooks` on the async client: the same methods, awaited."""

    def __init__(self, client: Any):
        self._client = client

    async def _drive(self, flow: Flow) -> Any:
        result: Any = None
        try:
            op = next(flow)
            while True:
                result = await self._do(op)
                op = flow.send(result)
        except StopIteration as stop:
            return stop.value

    async def _do(self, op: _Op) -> Any:
        entity = self._client.entity(op.entity)
        if op.kind == "query":
            return [row async for row in entity.query(op.arg)]
        if op.kind == "get":
            return await entity.get(op.arg)
        if op.kind == "fields":
            return await entity.fields()
        if op.kind == "create":
            return await entity.create(op.arg, parent_id=op.parent_id)
        if op.kind == "update":
            return await entity.update(op.arg, parent_id=op.parent_id)
        if op.kind == "delete":
            return await entity.delete(op.arg, parent_id=op.parent_id)
        raise AssertionError(op.kind)

    async def register(
        self,
        entity: str,
        url: str | None = None,
        secret: str | None = None,
        *,
        name: str | None = None,
        fields: Iterable[str | int] | None = None,
        display_fields: Iterable[str | int] | None = None,
        udf_fields: Iterable[str | int] | None = None,
        excluded_resources: Iterable[int] | None = None,
        events: Iterable[str] | None = None,
        deactivation_url: str | None = None,
        notification_email: str | None = None,
        active: bool | None = None,
        threshold_notification: bool | None = None,
    ) -> RegisteredWebhook:
        return await self._drive(
            self._register_flow(
                entity,
                url,
                secret,
                name,
                fields,
                display_fields,
                udf_fields,
                excluded_resources,
                events,
                deactivation_url,
                notification_email,
                active,
                threshold_notification,
                False,
            )
        )

    async def list(self, entity: str | None = None, name: str | None = None) -> list[RegisteredWebhook]:
        return await self._drive(self._list_flow(entity, name))

    async def get(self, entity: str, ref: str | int) -> RegisteredWebhook | None:
        return await self._drive(self._get_flow(entity, ref))

    async def activate(self, entity: str, ref: str | int) -> RegisteredWebhook:
        return await self._drive(self._set_active_flow(entity, ref, True))

    async def deactivate(self, entity: str, ref: str | int) -> RegisteredWebhook:
        return await self._drive(self._set_active_flow(entity, ref, False))

    async def remove(self, entity: str, ref: str | int) -> bool:
        return await self._drive(self._remove_flow(entity, ref))

    async def error_logs(
        self, since: datetime | None = None
    ) -> builtins.list[dict[str, Any]]:  # `list` here is the method above
        return await self._drive(self._errors_flow(since))


Webhooks.register.__doc__ = AsyncWebhooks.register.__doc__ = _REGISTER_DOC


def _no_more(changes: dict[str, Any], last: str) -> Any:
    value = changes.pop(last, None)
    if changes:
        raise RegistrationError(f"unknown webhook setting(s) {sorted(changes)}")
    return value
