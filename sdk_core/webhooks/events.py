"""The typed event (`WebhookEvent`) and reading a callout's payload into one.

A payload is `{Action, Guid, EntityType, Id, Fields, EventTime, SequenceNumber, PersonID}`
(reference 11.3). `Guid`, `EntityType`, `Id` and `Action` are required; the rest is taken as
sent when present. UDFs arrive inside `Fields` as a `userDefinedFields` list of
`{name, value}` and are exposed as `udf_fields`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from .._datetime import parse_datetime
from .entities import REST_ENTITY, canonical_entity, known_entities

__all__ = ["ACTIONS", "PayloadError", "Incoming", "WebhookEvent", "StoredEvent", "read_payload"]

ACTIONS = ("create", "update", "delete")
REQUIRED = ("Guid", "EntityType", "Id", "Action")


class PayloadError(ValueError):
    """A callout body the receiver cannot store (answered 400 with this message)."""


@dataclass(frozen=True)
class WebhookEvent:
    """One stored webhook event, as handlers and readers of the store see it.

    `entity` is the canonical webhook name (`Ticket`, `TicketNote`, `Company`, `Contact`,
    `ConfigurationItem`); `rest_entity` the catalog's (`Tickets`, ...); `entity_type` what the
    payload said (`Account` for a company). `action` is `create`, `update` or `delete`.
    `status` is the handler status: `pending`, `done`, `failed` (will be retried) or `dead`.
    """

    seq: int
    tenant: str
    entity: str
    id: int
    action: str
    guid: str
    sequence_number: int | None
    event_time: datetime
    received_at: datetime
    status: str
    fields: dict[str, Any] = field(default_factory=dict)
    udf_fields: dict[str, Any] = field(default_factory=dict)
    person_id: int | None = None
    entity_type: str = ""
    attempts: int = 0
    last_error: str | None = None

    @property
    def rest_entity(self) -> str:
        return REST_ENTITY[self.entity]

    @property
    def name(self) -> str:
        """`ticket.created`-style name that handler patterns match."""
        return f"{self.entity.lower()}.{self.action}d"

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict (timestamps as ISO 8601 UTC)."""
        return {
            "seq": self.seq,
            "tenant": self.tenant,
            "entity": self.entity,
            "rest_entity": self.rest_entity,
            "entity_type": self.entity_type,
            "id": self.id,
            "action": self.action,
            "guid": self.guid,
            "sequence_number": self.sequence_number,
            "event_time": self.event_time.isoformat(),
            "received_at": self.received_at.isoformat(),
            "status": self.status,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "person_id": self.person_id,
            "fields": self.fields,
            "udf_fields": self.udf_fields,
        }


StoredEvent = WebhookEvent  # the name the store contract uses


@dataclass(frozen=True)
class Incoming:
    """A verified payload, ready to store."""

    tenant: str
    entity: str
    entity_type: str
    id: int
    action: str
    guid: str
    sequence_number: int | None
    event_time: datetime
    event_time_raw: str
    person_id: int | None
    fields: dict[str, Any]
    udf_fields: dict[str, Any]

    @property
    def key_seq(self) -> str | None:
        """Duplicate key 1: the webhook's Guid and SequenceNumber."""
        if self.sequence_number is None:
            return None
        return f"{self.tenant}|{self.guid}|{self.sequence_number}"

    @property
    def key_event(self) -> str:
        """Duplicate key 2: Guid, entity, id, action and EventTime."""
        return f"{self.tenant}|{self.guid}|{self.entity}|{self.id}|{self.action}|{self.event_time_raw}"


def _int(value: Any, name: str, required: bool) -> int | None:
    if value is None and not required:
        return None
    if isinstance(value, bool):
        raise PayloadError(f"{name} must be an integer, not {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not required and value == "":
        return None
    raise PayloadError(f"{name} must be an integer, not {value!r}")


def read_payload(payload: Any, tenant: str, url_entity: str, received_at: datetime | None = None) -> Incoming:
    """Check a decoded body and turn it into an `Incoming`; `PayloadError` says what is wrong."""
    if not isinstance(payload, Mapping):
        raise PayloadError("the body must be a JSON object with Guid, EntityType, Id and Action")
    missing = [k for k in REQUIRED if payload.get(k) in (None, "")]
    if missing:
        raise PayloadError(
            f"the payload is missing {', '.join(missing)} (an Autotask callout has {', '.join(REQUIRED)})"
        )
    entity_type = str(payload["EntityType"])
    named = canonical_entity(entity_type)
    if named is not None and named != url_entity:
        raise PayloadError(
            f"EntityType {entity_type!r} was posted to the URL of {url_entity}; "
            f"register each entity's webhook with its own URL"
        )
    if len(str(payload["Guid"])) > 100 or len(entity_type) > 100:
        raise PayloadError("Guid and EntityType have at most 100 characters")
    action = str(payload["Action"]).strip().lower()
    if action not in ACTIONS:
        raise PayloadError(f"Action must be Create, Update or Delete, not {payload['Action']!r}")
    raw_fields = payload.get("Fields") or {}
    if not isinstance(raw_fields, Mapping):
        raise PayloadError("Fields must be a JSON object")
    fields = {k: v for k, v in raw_fields.items() if k != "userDefinedFields"}
    udfs: dict[str, Any] = {}
    for item in raw_fields.get("userDefinedFields") or ():
        if isinstance(item, Mapping) and "name" in item:
            udfs[str(item["name"])] = item.get("value")
    now = received_at or datetime.now(UTC)
    raw_time = payload.get("EventTime")
    try:
        event_time = parse_datetime(raw_time) if isinstance(raw_time, str) else None
    except ValueError:
        event_time = None  # an unknown format must not lose the event; received time stands in
    return Incoming(
        tenant=tenant,
        entity=url_entity,
        entity_type=entity_type,
        id=cast(int, _int(payload["Id"], "Id", True)),
        action=action,
        guid=str(payload["Guid"]),
        sequence_number=_int(payload.get("SequenceNumber"), "SequenceNumber", False),
        event_time=event_time or now,
        event_time_raw="" if raw_time is None else str(raw_time)[:64],
        person_id=_int(payload.get("PersonID"), "PersonID", False),
        fields=dict(fields),
        udf_fields=udfs,
    )


def check_known(entity: str) -> str:
    """Canonical name of a user-given entity, or a ValueError naming the accepted ones."""
    found = canonical_entity(entity)
    if found is None:
        raise ValueError(f"{entity!r} is not a webhook entity; use one of {known_entities()}")
    return found
