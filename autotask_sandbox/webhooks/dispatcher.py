"""The dispatcher: a backend's committed changes in, webhook callouts out.

One `WebhookDispatcher` per backend (`dispatcher_for`, started by `attach` for each sandbox)
keeps the config entities' read-only fields right, matches changes to webhooks in commit order,
suppresses duplicate callouts, writes `WebhookEventErrorLogs` (kept 30 days) and deactivates
webhooks that keep failing.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
import weakref
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from sdk_core.catalog import Catalog

from ..values import format_datetime
from .delivery import Delivery, DeliveryQueues, WebhookSettings, encode
from .matching import WATCHED_ENTITIES, Webhook, build_payload, field_ids

log = logging.getLogger(__name__)
ERROR_LOG_RETENTION = timedelta(days=30)  # reference 11.5: the Webhook Error Log keeps 30 days
PURGE_EVERY_SECONDS = 3600.0


def _config_entities(catalog: Catalog) -> dict[str, str]:
    """Every webhook config entity and child entity -> its root config entity."""
    out = {root: root for root in WATCHED_ENTITIES}
    for info in catalog:
        for route in info.parents:
            if route.parent in WATCHED_ENTITIES:
                out[info.name] = route.parent
    return out


def _callout_key(url: str) -> str:
    """A webhook URL as compared for duplicates: scheme and host are case-insensitive."""
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, ""))


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

    def __init__(self, backend: Any, settings: WebhookSettings | None = None, history: int = 2000):
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
        self._stopping = threading.Event()
        self._ensure_field_picklists()
        self.purge_error_logs()
        self._unsubscribe = backend.subscribe(self._on_change)
        backend.on_reset(self._after_reset)
        self._thread = threading.Thread(target=self._fan_out, name="webhook-fan-out", daemon=True)
        self._thread.start()
        threading.Thread(target=self._purge_loop, name="webhook-error-log-purge", daemon=True).start()

    # -- status for the admin route ---------------------------------------------------------
    def pending(self) -> int:
        """Events not yet matched plus payloads not yet delivered or dropped."""
        return self._events.unfinished_tasks + self._queues.pending()

    def attempts(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._attempts)

    def close(self) -> None:
        self._stopping.set()
        self._unsubscribe()
        self._queues.close()
        self._events.put(None)
        self._thread.join(5)
        self._http.close()

    # -- change callback (committing thread) ------------------------------------------------
    def _on_change(self, event: Any) -> None:
        self._after_reset()
        root = self._config_of.get(event.entity)
        if root is not None:
            self._sync_config(root, event)
            self._events.put(event)
        elif event.entity in _WATCHED_BY or _owner_left(event):
            self._events.put(event)

    def _after_reset(self) -> None:
        """The backend went back to its pristine tenant: forget every webhook we knew and serve
        the fieldID picklists again (called by the backend's reset, under its lock)."""
        if self.backend.storage is self._storage:
            return
        self._storage = self.backend.storage
        self._queues.discard()
        self._events.put(_RESET)
        self._ensure_field_picklists()

    def _sync_config(self, root: str, event: Any) -> None:
        """Keep the read-only webhook fields as Autotask maintains them."""
        backend = self.backend
        if event.entity == root and event.action == "Create":  # read-only: whatever was sent
            backend.update(
                root,
                event.id,
                {"webhookGUID": str(uuid.uuid4()), "ownerResourceID": event.person_id},
                person_id=event.person_id,
            )
        if event.entity == root and event.action == "Delete":
            return
        for hook in self._rows(root):
            ready = self._is_ready(root, hook["id"])
            if hook.get("isReady") is not ready:
                backend.update(root, hook["id"], {"isReady": ready}, person_id=event.person_id)

    def _is_ready(self, root: str, webhook_id: int) -> bool:
        for segment in ("Fields", "UdfFields"):
            child = self._child_entity(root, segment)
            if child and self.backend.count(
                child,
                [
                    {"op": "eq", "field": "webhookID", "value": webhook_id},
                    {"op": "eq", "field": "isSubscribedField", "value": True},
                ],
            ):
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
                    rows.append(
                        (
                            udf_entity,
                            "udfFieldID",
                            str(definition["id"]),
                            definition["name"],
                            definition["id"],
                        )
                    )
        with backend.lock:
            conn = backend.storage.conn
            have = {
                (e, f, v)
                for e, f, v in conn.execute(
                    "SELECT entity, field, value FROM _picklists WHERE field IN ('fieldID', 'udfFieldID')"
                )
            }
            missing = [r for r in rows if r[:3] not in have]
            if missing:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(
                    "INSERT INTO _picklists (entity, field, is_udf, value, label, is_default, "
                    "sort_order, parent_value, is_active, is_system) "
                    "VALUES (?, ?, 0, ?, ?, 0, ?, '', 1, 1)",
                    missing,
                )
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
                log.exception(
                    "webhook fan-out failed for %s %s %s",
                    getattr(event, "action", ""),
                    getattr(event, "entity", ""),
                    getattr(event, "id", ""),
                )
            finally:
                self._events.task_done()

    def _dispatch(self, event: Any) -> None:
        """Queue one callout per firing webhook; a webhook whose URL already got this event
        for this callout type is a duplicate and suppressed (reference 11.5)."""
        if _owner_left(event):
            self._deactivate_owned_by(event.id)
            return
        current = current_udfs = None
        sent_to: set[str] = set()
        for hook in self._config().get(event.entity, []):
            with self._lock:
                if (hook.entity, hook.id) in self._deactivated:
                    continue
            if not hook.fires_on(event.action, event.changed_fields, event.udf_changes, event.person_id):
                continue
            target = _callout_key(hook.url)
            if target in sent_to:
                self._record_suppressed(hook, event)
                continue
            sent_to.add(target)
            if event.action == "Update" and current is None:
                current = self.backend.get(event.entity, event.id) or {}
                current_udfs = {u["name"]: u["value"] for u in current.pop("userDefinedFields", [])}
            fields = hook.payload_fields(
                event.action, event.changed_fields, event.udf_changes, current, current_udfs
            )
            payload = build_payload(
                hook,
                event.action,
                event.id,
                fields,
                self._event_time(event.occurred_at),
                self._next_sequence(hook),
                event.person_id,
            )
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
                children = {
                    segment: self._rows(child, webhookID=row["id"])
                    for segment in ("Fields", "UdfFields", "ExcludedResources")
                    if (child := self._child_entity(root, segment))
                }
                fields = children.get("Fields", [])
                udfs = children.get("UdfFields", [])
                out.setdefault(watched, []).append(
                    Webhook(
                        entity=root,
                        id=row["id"],
                        guid=row.get("webhookGUID") or "",
                        url=row.get("webhookUrl") or "",
                        deactivation_url=row.get("deactivationUrl"),
                        secret=row.get("secretKey") or "",
                        active=bool(row.get("isActive")),
                        actions=frozenset(
                            action
                            for action in ("Create", "Update", "Delete")
                            if row.get(f"isSubscribedTo{action}Events")
                        ),
                        subscribed=frozenset(
                            ids[f["fieldID"]]
                            for f in fields
                            if f.get("isSubscribedField") and f["fieldID"] in ids
                        ),
                        display_always=frozenset(
                            ids[f["fieldID"]]
                            for f in fields
                            if f.get("isDisplayAlwaysField") and f["fieldID"] in ids
                        ),
                        subscribed_udfs=frozenset(
                            udf_names[u["udfFieldID"]]
                            for u in udfs
                            if u.get("isSubscribedField") and u["udfFieldID"] in udf_names
                        ),
                        display_always_udfs=frozenset(
                            udf_names[u["udfFieldID"]]
                            for u in udfs
                            if u.get("isDisplayAlwaysField") and u["udfFieldID"] in udf_names
                        ),
                        owner=row.get("ownerResourceID"),
                        excluded_resources=frozenset(
                            r["resourceID"]
                            for r in children.get("ExcludedResources", [])
                            if r.get("resourceID") is not None
                        ),
                    )
                )
        return out

    # -- delivery results (delivery threads) ------------------------------------------------
    def _post(self, delivery: Delivery, url: str | None = None) -> str | None:
        try:
            response = self._http.post(
                url or delivery.webhook.url,
                content=delivery.body,
                timeout=self.settings.timeout,
                headers={
                    "Content-Type": "application/json; charset=utf-8",
                    "X-Hook-Signature": delivery.signature,
                },
            )
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"

    def _record(self, delivery: Delivery, error: str | None, final: bool, kind: str, url: str) -> None:
        payload = delivery.payload
        with self._lock:
            self._attempts.append(
                {
                    "kind": kind,
                    "webhookEntity": delivery.webhook.entity,
                    "webhookID": delivery.webhook.id,
                    "url": _public_url(url),
                    "action": payload["Action"],
                    "entityType": payload["EntityType"],
                    "id": payload["Id"],
                    "sequenceNumber": payload["SequenceNumber"],
                    "attempt": delivery.attempts,
                    "ok": error is None,
                    "error": error,
                    "final": final,
                    "at": format_datetime(datetime.now(UTC)),
                }
            )

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

    def _record_suppressed(self, hook: Webhook, event: Any) -> None:
        with self._lock:
            self._attempts.append(
                {
                    "kind": "suppressed",
                    "webhookEntity": hook.entity,
                    "webhookID": hook.id,
                    "url": _public_url(hook.url),
                    "action": event.action,
                    "entityType": self.backend.catalog.get(event.entity).internal_name,
                    "id": event.id,
                    "sequenceNumber": None,
                    "attempt": 0,
                    "ok": None,
                    "error": "duplicate callout (same entity, URL and callout type) suppressed",
                    "final": True,
                    "at": format_datetime(datetime.now(UTC)),
                }
            )

    def purge_error_logs(self, now: datetime | None = None) -> int:
        """Delete `WebhookEventErrorLogs` rows older than the 30-day retention; returns how many."""
        cutoff = format_datetime((now or datetime.now(UTC)) - ERROR_LOG_RETENTION)
        old = self.backend.query(
            "WebhookEventErrorLogs", [{"op": "lt", "field": "createDateTime", "value": cutoff}]
        )
        removed = 0
        while old.ids:
            for id_ in old.ids:
                removed += bool(self.backend.delete("WebhookEventErrorLogs", id_))
            if not old.has_more:
                break
            old = self.backend.query(
                "WebhookEventErrorLogs", [{"op": "lt", "field": "createDateTime", "value": cutoff}]
            )
        return removed

    def _purge_loop(self) -> None:
        while not self._stopping.wait(PURGE_EVERY_SECONDS):
            try:
                self.purge_error_logs()
            except Exception:
                log.exception("could not purge old WebhookEventErrorLogs rows")

    def _log_error(self, delivery: Delivery, error: str) -> None:
        hook = delivery.webhook
        row: dict[str, Any] = {
            "errorMessage": (
                f"{hook.entity} {hook.id}: delivery to {_public_url(hook.url)} "
                f"failed {delivery.attempts} times, last: {error}"
            )[:1000],
            "payload": delivery.body.decode("utf-8"),
            "sequenceNumber": delivery.payload["SequenceNumber"],
        }
        column = {"CompanyWebhooks": "accountWebhookID", "ContactWebhooks": "contactWebhookID"}.get(
            hook.entity
        )
        if column:
            row[column] = hook.id
        try:
            self.purge_error_logs()
            self.backend.create("WebhookEventErrorLogs", row)
        except Exception:
            log.exception("could not write WebhookEventErrorLogs for %s %s", hook.entity, hook.id)

    def _deactivate_owned_by(self, resource_id: int) -> None:
        """The owner resource was deactivated: so are its active webhooks (reference 11.2)."""
        for hooks in self._config().values():
            for hook in hooks:
                if hook.active and hook.owner == resource_id:
                    with self._lock:
                        if (hook.entity, hook.id) in self._deactivated:
                            continue
                        self._deactivated.add((hook.entity, hook.id))
                    self._deactivate(hook)

    def _deactivate(self, hook: Webhook) -> None:
        """After too many dropped payloads or when its owner leaves: isActive false, queue
        emptied, deactivationUrl told."""
        self._queues.discard(hook.entity, hook.id)
        try:
            self.backend.update(hook.entity, hook.id, {"isActive": False})
        except Exception:
            log.exception("could not deactivate %s %s", hook.entity, hook.id)
        if not hook.deactivation_url:
            return
        payload = {
            "Action": "Deactivated",
            "Guid": hook.guid,
            "EntityType": self.backend.catalog.get(hook.entity).internal_name,
            "Id": hook.id,
            "Fields": {},
            "EventTime": self._event_time(datetime.now(UTC)),
            "SequenceNumber": self._next_sequence(hook),
            "PersonID": None,
        }
        notice = encode(hook, payload, self.settings)
        notice.attempts = 1
        error = self._post(notice, hook.deactivation_url)
        self._record(notice, error, True, "deactivation", hook.deactivation_url)


_WATCHED_BY = frozenset(WATCHED_ENTITIES.values())


def _owner_left(event: Any) -> bool:
    """A resource was deactivated (its webhooks go with it)."""
    return (
        event.entity == "Resources"
        and event.action == "Update"
        and event.changed_fields.get("isActive") is False
    )


_RESET = object()  # fan-out marker: the backend was reset


# --- wiring: one dispatcher per sandbox, admin routes -----------------------------------------

_DISPATCHERS: weakref.WeakKeyDictionary[Any, WebhookDispatcher] = weakref.WeakKeyDictionary()


def attach(sandbox: Any) -> WebhookDispatcher:
    """Start delivering webhooks for a running sandbox (called by the app for each sandbox)."""
    return dispatcher_for(sandbox.backend)


def dispatcher_for(backend: Any) -> WebhookDispatcher:
    dispatcher = _DISPATCHERS.get(backend)
    if dispatcher is None:
        dispatcher = _DISPATCHERS[backend] = WebhookDispatcher(backend)
    return dispatcher
