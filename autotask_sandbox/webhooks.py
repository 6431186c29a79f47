"""Webhook delivery: what Autotask does when a watched record changes.

The five webhook configuration entities (`CompanyWebhooks`, `ContactWebhooks`,
`ConfigurationItemWebhooks`, `TicketWebhooks`, `TicketNoteWebhooks`) and their children
(`Fields`, `UdfFields`, `ExcludedResources`) are ordinary entities stored by the backend. This
module listens to the backend's committed changes and turns them into callouts, as reference
section 11 describes:

* a change of a watched entity fans out to every active, ready webhook of that entity that
  subscribes to the action; creates and deletes always fire, an update only when one of the
  webhook's subscribed fields (or UDFs) changed; changes made by an excluded resource never fire;
* the payload is `{Action, Guid, EntityType, Id, Fields, EventTime, SequenceNumber, PersonID}`
  and is signed `X-Hook-Signature: sha1=<base64 HMAC-SHA1(secretKey, body)>` over the .NET
  (HTML-safe) escaped serialization, which is also the body sent, unless `unescaped_body` is
  switched on to reproduce the mismatch integrators report;
* delivery runs on background threads, never in the API request, FIFO per (webhook, action)
  (no order across actions or webhooks, as documented); an attempt fails on a non-2xx answer,
  a connection error or `timeout` (10 s); it is retried every `retry_interval` (30 s) up to
  `max_attempts` (5) attempts, then the payload is dropped into `WebhookEventErrorLogs`;
  `deactivate_after` (25) consecutive dropped payloads of one webhook set its `isActive` to
  false, drop what it still had queued and POST a signed `{"Action": "Deactivated", ...}` to its
  `deactivationUrl` (that payload's shape is undocumented; this one is the sandbox's guess).
* `webhookGUID`, `ownerResourceID` and `isReady` (a subscribed field or UDF exists) are kept by
  this module, as Autotask keeps those read-only fields.

Admin routes: `GET /_sandbox/webhooks/deliveries[?webhook=TicketWebhooks/5]` lists recent
attempts (`ok`, `error`, `attempt`, `final`, ...) and `pending` (events and payloads not yet
delivered or dropped); `GET|PUT /_sandbox/webhooks/settings` shows or changes the settings above
(tests use short intervals). Secrets never appear there: URLs are shown without query strings.

Field ids. Autotask's `fieldID` is an internal number the API does not publish. The sandbox
numbers an entity's fields by their 1-based position in the bundled catalog's field list
(`Tickets`: 1 = `id`, 75 = `title`), see `field_ids()`. Real tenants use other numbers: clients
must read them from `/{X}WebhookFields/entityInformation/fields` (the `fieldID` picklist), never
hard-code them. `udfFieldID` is the id of the UDF definition.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import math
import queue
import threading
import uuid
import weakref
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit, urlunsplit

import httpx
from starlette.requests import Request
from starlette.responses import Response

from sdk_core.catalog import Catalog, load_catalog

from .admin import register_admin_route
from .values import format_datetime

log = logging.getLogger(__name__)

__all__ = [
    "WATCHED_ENTITIES",
    "Delivery",
    "Webhook",
    "WebhookDispatcher",
    "WebhookSettings",
    "attach",
    "build_payload",
    "dispatcher_for",
    "dotnet_json",
    "encode",
    "field_ids",
    "plain_json",
    "sign",
]

# Webhook configuration entity -> the entity whose changes it watches.
WATCHED_ENTITIES: dict[str, str] = {
    "CompanyWebhooks": "Companies",
    "ContactWebhooks": "Contacts",
    "ConfigurationItemWebhooks": "ConfigurationItems",
    "TicketWebhooks": "Tickets",
    "TicketNoteWebhooks": "TicketNotes",
}


@dataclass
class WebhookSettings:
    """Delivery knobs; the defaults are Autotask's documented values (reference section 11.5)."""

    timeout: float = 10.0
    retry_interval: float = 30.0
    max_attempts: int = 5
    deactivate_after: int = 25
    unescaped_body: bool = False

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply admin-route changes; nothing changes when any of them is refused."""
        for key, value in changes.items():
            if key not in self.__dataclass_fields__:
                known = ", ".join(self.__dataclass_fields__)
                raise ValueError(f"unknown webhook setting {key!r}; known settings: {known}")
            current = getattr(self, key)
            if isinstance(current, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"webhook setting {key!r} must be true or false")
            elif isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"webhook setting {key!r} must be a positive number")
            elif isinstance(current, int) and not float(value).is_integer():
                raise ValueError(f"webhook setting {key!r} must be a whole number")
        for key, value in changes.items():
            setattr(self, key, type(getattr(self, key))(value))


# --- serialization and signature -------------------------------------------------------------

# Characters .NET's default (HTML-safe) JSON encoder writes as \uXXXX inside strings.
_DOTNET_ESCAPED = frozenset("&<>'+`\"")
_SHORT_ESCAPES = {"\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _dotnet_string(text: str) -> str:
    out = ['"']
    for char in text:
        code = ord(char)
        if char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif char in _DOTNET_ESCAPED or code < 0x20 or 0x7F <= code <= 0xFFFF:
            out.append(f"\\u{code:04X}")
        elif code > 0xFFFF:  # astral plane: a UTF-16 surrogate pair, as .NET strings hold it
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04X}\\u{0xDC00 + (code & 0x3FF):04X}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def dotnet_json(value: Any) -> str:
    """Compact JSON as Autotask's .NET serializer writes it, the text the signature covers.

    Inside strings `& < > ' + ` "` and every non-ASCII character become `\\uXXXX` (upper-case
    hex), so the text is pure ASCII and identical to what a verifier rebuilds by escaping.
    """
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _dotnet_string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot serialize {value!r} in a webhook payload")
        return json.dumps(value)
    if isinstance(value, Mapping):
        items = (f"{_dotnet_string(str(k))}:{dotnet_json(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(dotnet_json(v) for v in value) + "]"
    raise TypeError(f"cannot serialize {type(value).__name__} in a webhook payload")


def plain_json(value: Any) -> str:
    """Compact JSON without the HTML-safe escaping: the bytes of the mismatch switch."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def sign(secret: str, body: bytes) -> str:
    """`X-Hook-Signature` value: `sha1=` + base64 of HMAC-SHA1 keyed with the secret."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha1).digest()
    return "sha1=" + base64.b64encode(digest).decode("ascii")


# --- field ids ---------------------------------------------------------------------------------


@cache
def field_ids(entity: str) -> dict[int, str]:
    """fieldID -> REST field name for a watched entity: its 1-based catalog position."""
    info = load_catalog().get(entity)
    return {position: f.name for position, f in enumerate(info.fields, start=1)}


# --- which webhooks fire, with which fields ---------------------------------------------------


@dataclass(frozen=True)
class Webhook:
    """One webhook's configuration, read from the backend's config entities."""

    entity: str  # the config entity, e.g. "TicketWebhooks"
    id: int
    guid: str
    url: str
    deactivation_url: str | None
    secret: str = field(repr=False)
    active: bool
    actions: frozenset[str]  # subset of Create, Update, Delete
    subscribed: frozenset[str] = frozenset()  # REST field names
    display_always: frozenset[str] = frozenset()
    subscribed_udfs: frozenset[str] = frozenset()  # UDF names
    display_always_udfs: frozenset[str] = frozenset()
    excluded_resources: frozenset[int] = frozenset()

    @property
    def watched(self) -> str:
        return WATCHED_ENTITIES[self.entity]

    @property
    def ready(self) -> bool:
        """Autotask's `isReady`: at least one subscribed field or UDF exists."""
        return bool(self.subscribed or self.subscribed_udfs)

    def fires_on(self, action: str, changed: Mapping[str, Any], udfs: Mapping[str, Any],
                 person_id: int | None) -> bool:
        if not (self.active and self.ready and action in self.actions):
            return False
        if person_id is not None and person_id in self.excluded_resources:
            return False
        if action != "Update":
            return True
        return bool(self.subscribed.intersection(changed)
                    or self.subscribed_udfs.intersection(udfs))

    def payload_fields(self, action: str, changed: Mapping[str, Any], udfs: Mapping[str, Any],
                       current: Mapping[str, Any] | None,
                       current_udfs: Mapping[str, Any] | None) -> dict[str, Any]:
        """Changed subscribed fields plus display-always fields, in catalog order.

        A delete carries only the display-always values the backend still knew; UDFs go in a
        `userDefinedFields` list of `{name, value}` as in REST entities.
        """
        row = {**(current or {}), **changed}
        udf_row = {**(current_udfs or {}), **udfs}
        wanted = _shown(action, self.subscribed, self.display_always, changed)
        fields = {name: row[name] for name in field_ids(self.watched).values()
                  if name in wanted and name in row}
        udf_wanted = _shown(action, self.subscribed_udfs, self.display_always_udfs, udfs)
        udf_items = [{"name": n, "value": udf_row[n]} for n in sorted(udf_wanted) if n in udf_row]
        if udf_items:
            fields["userDefinedFields"] = udf_items
        return fields


def _shown(action: str, subscribed: frozenset[str], display_always: frozenset[str],
           changed: Mapping[str, Any]) -> set[str]:
    """Names a payload shows: display-always ones, plus subscribed ones that changed."""
    if action == "Create":
        return set(display_always | subscribed)
    if action == "Update":
        return set(display_always | subscribed.intersection(changed))
    return set(display_always)


def build_payload(webhook: Webhook, action: str, entity_id: int, fields: dict[str, Any],
                  event_time: str, sequence: int, person_id: int | None) -> dict[str, Any]:
    """The callout envelope in the key order integrators' samples show."""
    return {
        "Action": action,
        "Guid": webhook.guid,
        "EntityType": load_catalog().get(webhook.watched).internal_name,
        "Id": entity_id,
        "Fields": fields,
        "EventTime": event_time,
        "SequenceNumber": sequence,
        "PersonID": person_id,
    }


# --- delivery ---------------------------------------------------------------------------------


@dataclass
class Delivery:
    """One payload on its way to one callout, with the exact bytes and signature to send."""

    webhook: Webhook
    action: str
    payload: dict[str, Any]
    body: bytes
    signature: str
    attempts: int = 0

    @property
    def queue_key(self) -> tuple[str, int, str]:
        return (self.webhook.entity, self.webhook.id, self.action)


def encode(webhook: Webhook, payload: dict[str, Any], settings: WebhookSettings) -> Delivery:
    """Sign the escaped form; send it too, or the plain form when reproducing the mismatch."""
    escaped = dotnet_json(payload).encode("ascii")
    body = plain_json(payload).encode("utf-8") if settings.unescaped_body else escaped
    return Delivery(webhook, payload["Action"], payload, body, sign(webhook.secret, escaped))


@dataclass
class _Callout:
    items: deque[Delivery] = field(default_factory=deque)
    running: bool = False


class DeliveryQueues:
    """Per (webhook, action) FIFO queues, each drained by its own short-lived thread.

    The head of a queue is retried until it is delivered or dropped, so newer events of the
    same callout wait behind it in trigger order while other callouts carry on.
    """

    def __init__(self, settings: WebhookSettings, post: Callable[[Delivery], str | None],
                 on_result: Callable[[Delivery, str | None, bool], None]):
        self._settings = settings
        self._post = post  # returns None when delivered, else what went wrong
        self._on_result = on_result  # (delivery, error, final)
        self._lock = threading.Lock()
        self._queues: dict[tuple[str, int, str], _Callout] = {}
        self._closed = threading.Event()

    def put(self, delivery: Delivery) -> None:
        with self._lock:
            callout = self._queues.setdefault(delivery.queue_key, _Callout())
            callout.items.append(delivery)
            if not callout.running and not self._closed.is_set():
                callout.running = True
                threading.Thread(target=self._drain, args=(callout,), daemon=True,
                                 name=f"webhook-{delivery.webhook.entity}-{delivery.webhook.id}"
                                 ).start()

    def pending(self) -> int:
        with self._lock:
            return sum(len(c.items) for c in self._queues.values())

    def discard(self, webhook_entity: str | None = None, webhook_id: int | None = None) -> int:
        """Forget what is queued for one webhook (or for all); returns how many were dropped.

        A delivery already being attempted finishes that attempt but is not retried.
        """
        dropped = 0
        with self._lock:
            for key, callout in self._queues.items():
                if webhook_entity is None or key[:2] == (webhook_entity, webhook_id):
                    dropped += len(callout.items)
                    callout.items.clear()
        return dropped

    def close(self) -> None:
        self._closed.set()

    def _drain(self, callout: _Callout) -> None:
        while True:
            with self._lock:
                if not callout.items or self._closed.is_set():
                    callout.running = False
                    return
                delivery = callout.items[0]
            delivery.attempts += 1
            error = self._post(delivery)
            final = error is None or delivery.attempts >= self._settings.max_attempts
            try:
                self._on_result(delivery, error, final)
            finally:
                if final:
                    with self._lock:
                        if callout.items and callout.items[0] is delivery:
                            callout.items.popleft()
            if not final:
                self._closed.wait(self._settings.retry_interval)


# --- the dispatcher: backend changes in, callouts out -----------------------------------------


def _config_entities(catalog: Catalog) -> dict[str, str]:
    """Every webhook config entity and child entity -> its root config entity."""
    out = {root: root for root in WATCHED_ENTITIES}
    for info in catalog:
        for route in info.parents:
            if route.parent in WATCHED_ENTITIES:
                out[info.name] = route.parent
    return out


def _public_url(url: str) -> str:
    """A URL without credentials or query string, safe for logs and error rows."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit((parts.scheme, host + port, parts.path, "", ""))


class WebhookDispatcher:
    """Watches one backend and delivers its webhooks' callouts.

    The change callback runs in the thread that committed the change: it only keeps the
    read-only facts of the config entities right (`webhookGUID`, `ownerResourceID`, `isReady`)
    and queues the event. A fan-out thread matches events to webhooks in commit order (so the
    per-webhook `SequenceNumber` follows trigger order) and hands payloads to `DeliveryQueues`.
    """

    def __init__(self, backend: Any, settings: WebhookSettings | None = None,
                 history: int = 2000):
        self.backend = backend
        self.settings = settings or WebhookSettings()
        self._config_of = _config_entities(backend.catalog)
        self._events: queue.Queue[Any] = queue.Queue()
        self._webhooks: dict[str, list[Webhook]] | None = None
        self._sequence: dict[tuple[str, int], int] = {}
        self._failures: dict[tuple[str, int], int] = {}
        self._deactivated: set[tuple[str, int]] = set()
        self._attempts: deque[dict[str, Any]] = deque(maxlen=history)
        self._lock = threading.Lock()
        self._http = httpx.Client(follow_redirects=False)
        self._queues = DeliveryQueues(self.settings, self._post, self._on_result)
        self._storage = backend.storage
        self._ensure_field_picklists()
        self._unsubscribe = backend.subscribe(self._on_change)
        self._thread = threading.Thread(target=self._fan_out, name="webhook-fan-out", daemon=True)
        self._thread.start()

    # -- status for the admin route ---------------------------------------------------------
    def pending(self) -> int:
        """Events not yet matched plus payloads not yet delivered or dropped."""
        return self._events.unfinished_tasks + self._queues.pending()

    def attempts(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._attempts)

    def close(self) -> None:
        self._unsubscribe()
        self._queues.close()
        self._events.put(None)
        self._thread.join(5)
        self._http.close()

    # -- change callback (committing thread) ------------------------------------------------
    def _on_change(self, event: Any) -> None:
        if self.backend.storage is not self._storage:
            self._after_reset()
        root = self._config_of.get(event.entity)
        if root is not None:
            self._sync_config(root, event)
            self._events.put(event)
        elif event.entity in _WATCHED_BY:
            self._events.put(event)

    def _after_reset(self) -> None:
        """The backend went back to its pristine tenant: forget every webhook we knew."""
        self._storage = self.backend.storage
        self._queues.discard()
        self._events.put(_RESET)
        self._ensure_field_picklists()

    def _sync_config(self, root: str, event: Any) -> None:
        """Keep the read-only webhook fields as Autotask maintains them."""
        backend = self.backend
        if event.entity == root and event.action == "Create":  # read-only: whatever was sent
            backend.update(root, event.id, {"webhookGUID": str(uuid.uuid4()),
                                            "ownerResourceID": event.person_id},
                           person_id=event.person_id)
        if event.entity == root and event.action == "Delete":
            return
        for hook in self._rows(root):
            ready = self._is_ready(root, hook["id"])
            if hook.get("isReady") is not ready:
                backend.update(root, hook["id"], {"isReady": ready}, person_id=event.person_id)

    def _is_ready(self, root: str, webhook_id: int) -> bool:
        for segment in ("Fields", "UdfFields"):
            child = self._child_entity(root, segment)
            if child and self.backend.count(child, [
                    {"op": "eq", "field": "webhookID", "value": webhook_id},
                    {"op": "eq", "field": "isSubscribedField", "value": True}]):
                return True
        return False

    def _child_entity(self, root: str, segment: str) -> str | None:
        for name, parent in self._config_of.items():
            info = self.backend.catalog.get(name)
            if parent == root and any(r.segment == segment and r.parent == root for r in info.parents):
                return name
        return None

    def _rows(self, entity: str, **equals: Any) -> list[dict[str, Any]]:
        conditions = [{"op": "eq", "field": k, "value": v} for k, v in equals.items()]
        conditions = conditions or [{"op": "exist", "field": "id"}]
        rows: list[dict[str, Any]] = []
        after = None
        while True:
            page = self.backend.query(entity, conditions, after_id=after)
            rows.extend(page.items)
            if not page.has_more:
                return rows
            after = page.ids[-1]

    def _ensure_field_picklists(self) -> None:
        """Serve the fieldID / udfFieldID picklists that clients choose subscribed fields from."""
        backend = self.backend
        rows: list[tuple[Any, ...]] = []
        for root, watched in WATCHED_ENTITIES.items():
            info = backend.catalog.get(watched)
            fields_entity = self._child_entity(root, "Fields")
            if fields_entity:
                for number, name in field_ids(watched).items():
                    label = info.field(name).label if info.field(name) else name
                    rows.append((fields_entity, "fieldID", str(number), label, number))
            udf_entity = self._child_entity(root, "UdfFields")
            if udf_entity:
                for definition in self._udf_definitions(watched):
                    rows.append((udf_entity, "udfFieldID", str(definition["id"]),
                                 definition["name"], definition["id"]))
        with backend.lock:
            conn = backend.storage.conn
            have = {(e, f, v) for e, f, v in conn.execute(
                "SELECT entity, field, value FROM _picklists WHERE field IN ('fieldID', 'udfFieldID')")}
            missing = [r for r in rows if r[:3] not in have]
            if missing:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(
                    "INSERT INTO _picklists (entity, field, is_udf, value, label, is_default, "
                    "sort_order, parent_value, is_active, is_system) "
                    "VALUES (?, ?, 0, ?, ?, 0, ?, '', 1, 1)", missing)
                conn.execute("COMMIT")

    def _udf_definitions(self, watched: str) -> list[dict[str, Any]]:
        """UserDefinedFieldDefinitions rows of a watched entity (matched by name)."""
        names = {name for name, _, _ in self.backend.udf_definitions(watched)}
        if not names:
            return []
        return [row for row in self._rows("UserDefinedFieldDefinitions") if row.get("name") in names]

    # -- fan-out (one thread, commit order) -------------------------------------------------
    def _fan_out(self) -> None:
        while True:
            event = self._events.get()
            try:
                if event is None:
                    return
                if event is _RESET:
                    self._webhooks = None
                    with self._lock:
                        self._sequence.clear()
                        self._failures.clear()
                        self._deactivated.clear()
                elif event.entity in self._config_of:
                    self._webhooks = None
                else:
                    self._dispatch(event)
            except Exception:
                log.exception("webhook fan-out failed for %s %s %s", getattr(event, "action", ""),
                              getattr(event, "entity", ""), getattr(event, "id", ""))
            finally:
                self._events.task_done()

    def _dispatch(self, event: Any) -> None:
        current = current_udfs = None
        for hook in self._config().get(event.entity, []):
            with self._lock:
                if (hook.entity, hook.id) in self._deactivated:
                    continue
            if not hook.fires_on(event.action, event.changed_fields, event.udf_changes,
                                 event.person_id):
                continue
            if event.action == "Update" and current is None:
                current = self.backend.get(event.entity, event.id) or {}
                current_udfs = {u["name"]: u["value"] for u in current.pop("userDefinedFields", [])}
            fields = hook.payload_fields(event.action, event.changed_fields, event.udf_changes,
                                         current, current_udfs)
            payload = build_payload(hook, event.action, event.id, fields,
                                    self._event_time(event.occurred_at),
                                    self._next_sequence(hook), event.person_id)
            self._queues.put(encode(hook, payload, self.settings))

    def _next_sequence(self, hook: Webhook) -> int:
        key = (hook.entity, hook.id)
        with self._lock:
            self._sequence[key] = self._sequence.get(key, 0) + 1
            return self._sequence[key]

    def _event_time(self, when: datetime) -> str:
        text = format_datetime(when)
        return text + "Z" if getattr(self.backend, "datetime_z", False) else text

    def _config(self) -> dict[str, list[Webhook]]:
        if self._webhooks is None:
            self._webhooks = self._load_webhooks()
            active = {(h.entity, h.id) for hooks in self._webhooks.values() for h in hooks if h.active}
            with self._lock:
                self._deactivated -= active
        return self._webhooks

    def _load_webhooks(self) -> dict[str, list[Webhook]]:
        out: dict[str, list[Webhook]] = {}
        for root, watched in WATCHED_ENTITIES.items():
            ids = field_ids(watched)
            udf_names = {d["id"]: d["name"] for d in self._udf_definitions(watched)}
            for row in self._rows(root):
                children = {segment: self._rows(child, webhookID=row["id"])
                            for segment in ("Fields", "UdfFields", "ExcludedResources")
                            if (child := self._child_entity(root, segment))}
                fields = children.get("Fields", [])
                udfs = children.get("UdfFields", [])
                out.setdefault(watched, []).append(Webhook(
                    entity=root, id=row["id"], guid=row.get("webhookGUID") or "",
                    url=row.get("webhookUrl") or "", deactivation_url=row.get("deactivationUrl"),
                    secret=row.get("secretKey") or "", active=bool(row.get("isActive")),
                    actions=frozenset(action for action in ("Create", "Update", "Delete")
                                      if row.get(f"isSubscribedTo{action}Events")),
                    subscribed=frozenset(ids[f["fieldID"]] for f in fields
                                         if f.get("isSubscribedField") and f["fieldID"] in ids),
                    display_always=frozenset(ids[f["fieldID"]] for f in fields
                                             if f.get("isDisplayAlwaysField") and f["fieldID"] in ids),
                    subscribed_udfs=frozenset(udf_names[u["udfFieldID"]] for u in udfs
                                              if u.get("isSubscribedField")
                                              and u["udfFieldID"] in udf_names),
                    display_always_udfs=frozenset(udf_names[u["udfFieldID"]] for u in udfs
                                                  if u.get("isDisplayAlwaysField")
                                                  and u["udfFieldID"] in udf_names),
                    excluded_resources=frozenset(r["resourceID"] for r in
                                                 children.get("ExcludedResources", [])
                                                 if r.get("resourceID") is not None),
                ))
        return out

    # -- delivery results (delivery threads) ------------------------------------------------
    def _post(self, delivery: Delivery, url: str | None = None) -> str | None:
        try:
            response = self._http.post(
                url or delivery.webhook.url, content=delivery.body, timeout=self.settings.timeout,
                headers={"Content-Type": "application/json; charset=utf-8",
                         "X-Hook-Signature": delivery.signature})
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"

    def _record(self, delivery: Delivery, error: str | None, final: bool, kind: str,
                url: str) -> None:
        payload = delivery.payload
        with self._lock:
            self._attempts.append({
                "kind": kind, "webhookEntity": delivery.webhook.entity,
                "webhookID": delivery.webhook.id, "url": _public_url(url),
                "action": payload["Action"], "entityType": payload["EntityType"],
                "id": payload["Id"], "sequenceNumber": payload["SequenceNumber"],
                "attempt": delivery.attempts, "ok": error is None, "error": error,
                "final": final, "at": format_datetime(datetime.now(UTC)),
            })

    def _on_result(self, delivery: Delivery, error: str | None, final: bool) -> None:
        hook = delivery.webhook
        self._record(delivery, error, final, "callout", hook.url)
        if not final:
            return
        key = (hook.entity, hook.id)
        if error is None:
            with self._lock:
                self._failures[key] = 0
            return
        self._log_error(delivery, error)
        with self._lock:
            self._failures[key] = failures = self._failures.get(key, 0) + 1
            deactivate = failures >= self.settings.deactivate_after and key not in self._deactivated
            if deactivate:
                self._deactivated.add(key)
                self._failures[key] = 0
        if deactivate:
            self._deactivate(hook)

    def _log_error(self, delivery: Delivery, error: str) -> None:
        hook = delivery.webhook
        row: dict[str, Any] = {
            "errorMessage": (f"{hook.entity} {hook.id}: delivery to {_public_url(hook.url)} "
                             f"failed {delivery.attempts} times, last: {error}")[:1000],
            "payload": delivery.body.decode("utf-8"),
            "sequenceNumber": delivery.payload["SequenceNumber"],
        }
        column = {"CompanyWebhooks": "accountWebhookID",
                  "ContactWebhooks": "contactWebhookID"}.get(hook.entity)
        if column:
            row[column] = hook.id
        try:
            self.backend.create("WebhookEventErrorLogs", row)
        except Exception:
            log.exception("could not write WebhookEventErrorLogs for %s %s", hook.entity, hook.id)

    def _deactivate(self, hook: Webhook) -> None:
        """After too many dropped payloads: isActive false, queue emptied, deactivationUrl told."""
        self._queues.discard(hook.entity, hook.id)
        try:
            self.backend.update(hook.entity, hook.id, {"isActive": False})
        except Exception:
            log.exception("could not deactivate %s %s", hook.entity, hook.id)
        if not hook.deactivation_url:
            return
        payload = {"Action": "Deactivated", "Guid": hook.guid,
                   "EntityType": self.backend.catalog.get(hook.entity).internal_name,
                   "Id": hook.id, "Fields": {}, "EventTime": self._event_time(datetime.now(UTC)),
                   "SequenceNumber": self._next_sequence(hook), "PersonID": None}
        notice = encode(hook, payload, self.settings)
        notice.attempts = 1
        error = self._post(notice, hook.deactivation_url)
        self._record(notice, error, True, "deactivation", hook.deactivation_url)


_WATCHED_BY = frozenset(WATCHED_ENTITIES.values())
_RESET = object()  # fan-out marker: the backend was reset


# --- wiring: one dispatcher per sandbox, admin routes -----------------------------------------

_DISPATCHERS: "weakref.WeakKeyDictionary[Any, WebhookDispatcher]" = weakref.WeakKeyDictionary()


def attach(sandbox: Any) -> WebhookDispatcher:
    """Start delivering webhooks for a running sandbox (called by the app for each sandbox)."""
    return dispatcher_for(sandbox.backend)


def dispatcher_for(backend: Any) -> WebhookDispatcher:
    dispatcher = _DISPATCHERS.get(backend)
    if dispatcher is None:
        dispatcher = _DISPATCHERS[backend] = WebhookDispatcher(backend)
    return dispatcher


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status_code=status, media_type="application/json")


async def deliveries(request: Request) -> Response:
    """Recent delivery attempts, newest last; `?webhook=TicketWebhooks/5` narrows to one."""
    dispatcher = dispatcher_for(request.app.state.backend)
    attempts = dispatcher.attempts()
    wanted = request.query_params.get("webhook")
    if wanted:
        entity, _, id_text = wanted.partition("/")
        attempts = [a for a in attempts if a["webhookEntity"].lower() == entity.lower()
                    and (not id_text or str(a["webhookID"]) == id_text)]
    return _json({"pending": dispatcher.pending(), "deliveries": attempts})


async def settings(request: Request) -> Response:
    """`GET` the delivery settings, `PUT` a JSON object to change some of them."""
    dispatcher = dispatcher_for(request.app.state.backend)
    if request.method == "PUT":
        try:
            changes = json.loads(await request.body() or b"{}")
            if not isinstance(changes, dict):
                raise ValueError("send a JSON object of webhook settings")
            dispatcher.settings.update(changes)
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
    return _json(asdict(dispatcher.settings))


register_admin_route("/_sandbox/webhooks/deliveries", deliveries, ["GET"])
register_admin_route("/_sandbox/webhooks/settings", settings, ["GET", "PUT"])
