"""Stream groups: which tap streams run together, and which webhook entities wake them.

One group is one multi-asset and one `tap-autotask | target` process pair per tenant. Streams
that Autotask changes together (a ticket and its notes) share a group, so one run brings both.
This table is the one place to edit when a group should hold more streams.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["StreamGroup", "GROUPS", "group_named", "group_of_entity", "group_of_stream"]


@dataclass(frozen=True)
class StreamGroup:
    """Streams synced by one run, the webhook entities that trigger it and its freshness limit."""

    name: str
    streams: tuple[str, ...]
    description: str
    webhook_entities: tuple[str, ...] = ()
    freshness_minutes: float = 60.0
    picklist_entities: tuple[str, ...] = ()

    @property
    def asset_keys(self) -> list[list[str]]:
        return [["autotask", stream] for stream in self.streams]


GROUPS: tuple[StreamGroup, ...] = (
    StreamGroup(
        "tickets",
        ("tickets", "ticket_notes"),
        "Tickets and their notes.",
        webhook_entities=("Ticket", "TicketNote"),
        freshness_minutes=60,
    ),
    StreamGroup(
        "time_entries", ("time_entries",), "Time entries (billable and internal).", freshness_minutes=60
    ),
    StreamGroup(
        "companies",
        ("companies", "contacts"),
        "Companies (accounts) and contacts.",
        webhook_entities=("Company", "Contact"),
        freshness_minutes=240,
    ),
    StreamGroup(
        "contracts",
        ("contracts", "contract_services", "contract_charges", "billing_items", "invoices"),
        "Contracts and what they bill.",
        freshness_minutes=24 * 60,
    ),
    StreamGroup(
        "projects", ("projects", "phases", "tasks"), "Projects, phases and tasks.", freshness_minutes=240
    ),
    StreamGroup(
        "configuration_items",
        ("configuration_items",),
        "Configuration items (managed assets).",
        webhook_entities=("ConfigurationItem",),
        freshness_minutes=240,
    ),
    StreamGroup(
        "reference",
        ("resources", "roles", "departments", "billing_codes", "picklist_values", "udf_definitions"),
        "Reference data, picklist labels and UDF definitions.",
        freshness_minutes=48 * 60,
        picklist_entities=(
            "Tickets",
            "TicketNotes",
            "TimeEntries",
            "Companies",
            "Contacts",
            "Contracts",
            "Projects",
            "Tasks",
            "ConfigurationItems",
        ),
    ),
)

_BY_NAME = {group.name: group for group in GROUPS}
_BY_STREAM = {stream: group for group in GROUPS for stream in group.streams}
_BY_ENTITY = {entity: group for group in GROUPS for entity in group.webhook_entities}


def group_named(name: str) -> StreamGroup:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no stream group {name!r}; groups are {', '.join(_BY_NAME)}") from None


def group_of_stream(stream: str) -> StreamGroup | None:
    return _BY_STREAM.get(stream)


def group_of_entity(entity: str) -> StreamGroup | None:
    """The group a webhook EntityType ("Ticket", "TicketNote", ...) belongs to."""
    return _BY_ENTITY.get(entity)
