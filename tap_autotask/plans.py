"""How each entity is replicated: the one table to edit when Autotask's timestamps differ.

By default an entity is INCREMENTAL on the catalog's modification timestamp (appendix B of the
API reference) and FULL_TABLE when it has none. The overrides below cover what the catalog
cannot know: the deletion logs carry their own timestamp, and deleted tickets can be read from
`DeletedTicketLogs`. Other entities' deletions are only visible to a full id reconciliation.
"""

from __future__ import annotations

from dataclasses import dataclass

from sdk_core.catalog import EntityInfo

__all__ = ["DeleteLog", "ReplicationPlan", "PLAN_OVERRIDES", "plan_for"]


@dataclass(frozen=True)
class DeleteLog:
    """An entity that records deletions of another: which field names the deleted id."""

    entity: str
    id_field: str
    time_field: str
    carried: tuple[tuple[str, str], ...] = ()
    """(log field, record field) pairs copied onto the deletion record, e.g. the number."""


@dataclass(frozen=True)
class ReplicationPlan:
    """The replication key (None means FULL_TABLE) and where deletions come from."""

    replication_key: str | None
    deletes: DeleteLog | None = None

    @property
    def incremental(self) -> bool:
        return self.replication_key is not None


PLAN_OVERRIDES: dict[str, ReplicationPlan] = {
    "Tickets": ReplicationPlan(
        "lastActivityDate",
        deletes=DeleteLog(
            "DeletedTicketLogs",
            "ticketID",
            "deletedDateTime",
            carried=(("ticketNumber", "ticketNumber"), ("ticketTitle", "title")),
        ),
    ),
    # Append-only logs: the deletion time is when the row appeared.
    "DeletedTicketLogs": ReplicationPlan("deletedDateTime"),
    "DeletedTicketActivityLogs": ReplicationPlan("deletedDateTime"),
    "DeletedTaskActivityLogs": ReplicationPlan("deletedDateTime"),
}


def plan_for(entity: EntityInfo) -> ReplicationPlan:
    """The plan for an entity: an override, else its modification timestamp, else full table."""
    plan = PLAN_OVERRIDES.get(entity.name) or ReplicationPlan(entity.modification_timestamp)
    if plan.replication_key and entity.field(plan.replication_key) is None:
        raise ValueError(
            f"Replication plan for {entity.name} names {plan.replication_key!r}, which the "
            "catalog does not list; fix PLAN_OVERRIDES in tap_autotask/plans.py."
        )
    return plan
