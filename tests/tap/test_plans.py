"""The replication plan table against the catalog and the API reference (section 10)."""

from __future__ import annotations

import pytest

from sdk_core.catalog import load_catalog
from tap_autotask.plans import ReplicationPlan, plan_for


@pytest.mark.parametrize(
    ("entity", "key"),
    [
        ("Tickets", "lastActivityDate"),
        ("TimeEntries", "lastModifiedDateTime"),
        ("Projects", "lastActivityDateTime"),
        ("Tasks", "lastActivityDateTime"),
        ("Companies", "lastActivityDate"),
        ("ConfigurationItems", "lastModifiedTime"),
        ("Contracts", "lastModifiedDateTime"),
        ("TicketNotes", "lastActivityDate"),
        ("DeletedTicketLogs", "deletedDateTime"),
        ("Resources", None),
        ("Invoices", None),
        ("Roles", None),
    ],
)
def test_replication_keys_follow_the_reference(entity: str, key: str | None) -> None:
    assert plan_for(load_catalog().get(entity)).replication_key == key


def test_every_queryable_entity_has_a_valid_plan() -> None:
    plans = {e.name: plan_for(e) for e in load_catalog().queryable()}
    assert len(plans) == len(load_catalog().queryable()) > 200
    for name, plan in plans.items():
        if plan.replication_key:
            field = load_catalog().get(name).field(plan.replication_key)
            assert field is not None and field.data_type == "datetime", name


def test_tickets_read_deletions_from_the_log() -> None:
    deletes = plan_for(load_catalog().get("Tickets")).deletes
    assert deletes is not None
    log = load_catalog().get(deletes.entity)
    assert log.field(deletes.id_field) and log.field(deletes.time_field)


def test_a_plan_naming_a_missing_field_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from tap_autotask import plans

    monkeypatch.setitem(plans.PLAN_OVERRIDES, "Roles", ReplicationPlan("lastEdited"))
    with pytest.raises(ValueError, match="PLAN_OVERRIDES"):
        plan_for(load_catalog().get("Roles"))
