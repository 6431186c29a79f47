"""Which webhooks fire for a change, and what their payload shows (reference 11.2, 11.3).

Field ids: the sandbox numbers a watched entity's fields by their 1-based position in the bundled
catalog (`field_ids()`); clients must read them from the `fieldID` picklist of
`/{X}WebhookFields/entityInformation/fields`, never hard-code them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sdk_core.catalog import load_catalog

# Webhook configuration entity -> the entity whose changes it watches.
WATCHED_ENTITIES: dict[str, str] = {
    "CompanyWebhooks": "Companies",
    "ContactWebhooks": "Contacts",
    "ConfigurationItemWebhooks": "ConfigurationItems",
    "TicketWebhooks": "Tickets",
    "TicketNoteWebhooks": "TicketNotes",
}


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
    owner: int | None = None  # ownerResourceID: deactivating that resource deactivates the hook

    @property
    def watched(self) -> str:
        return WATCHED_ENTITIES[self.entity]

    @property
    def ready(self) -> bool:
        """Autotask's `isReady`: at least one subscribed field or UDF exists."""
        return bool(self.subscribed or self.subscribed_udfs)

    def fires_on(
        self, action: str, changed: Mapping[str, Any], udfs: Mapping[str, Any], person_id: int | None
    ) -> bool:
        if not (self.active and self.ready and action in self.actions):
            return False
        if person_id is not None and person_id in self.excluded_resources:
            return False
        if action != "Update":
            return True
        return bool(self.subscribed.intersection(changed) or self.subscribed_udfs.intersection(udfs))

    def payload_fields(
        self,
        action: str,
        changed: Mapping[str, Any],
        udfs: Mapping[str, Any],
        current: Mapping[str, Any] | None,
        current_udfs: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """Changed subscribed fields plus display-always fields, in catalog order.

        A delete carries only the display-always values the backend still knew; UDFs go in a
        `userDefinedFields` list of `{name, value}` as in REST entities.
        """
        row = {**(current or {}), **changed}
        udf_row = {**(current_udfs or {}), **udfs}
        wanted = _shown(action, self.subscribed, self.display_always, changed)
        fields = {
            name: row[name] for name in field_ids(self.watched).values() if name in wanted and name in row
        }
        udf_wanted = _shown(action, self.subscribed_udfs, self.display_always_udfs, udfs)
        udf_items = [{"name": n, "value": udf_row[n]} for n in sorted(udf_wanted) if n in udf_row]
        if udf_items:
            fields["userDefinedFields"] = udf_items
        return fields


def _shown(
    action: str, subscribed: frozenset[str], display_always: frozenset[str], changed: Mapping[str, Any]
) -> set[str]:
    """Names a payload shows: display-always ones, plus subscribed ones that changed."""
    if action == "Create":
        return set(display_always | subscribed)
    if action == "Update":
        return set(display_always | subscribed.intersection(changed))
    return set(display_always)


def build_payload(
    webhook: Webhook,
    action: str,
    entity_id: int,
    fields: dict[str, Any],
    event_time: str,
    sequence: int,
    person_id: int | None,
) -> dict[str, Any]:
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
