"""Metadata (section 7): entityInformation, /fields with tenant picklists, /userDefinedFields."""

from __future__ import annotations

from typing import Any

from sdk_core.catalog import load_catalog

FIELD_KEYS = [
    "name",
    "dataType",
    "length",
    "isRequired",
    "isReadOnly",
    "isQueryable",
    "isReference",
    "referenceEntityType",
    "isPickList",
    "picklistValues",
    "picklistParentValueField",
    "isSupportedWebhookField",
]
PICK_KEYS = ["value", "label", "isDefaultValue", "sortOrder", "parentValue", "isActive", "isSystem"]


def test_entity_information(api: Any) -> None:
    info = api.get("Companies/entityInformation").json()["info"]
    assert info == {
        "name": "Account",
        "canCreate": True,
        "canDelete": False,
        "canQuery": True,
        "canUpdate": True,
        "userAccessForCreate": 0,
        "userAccessForDelete": 0,
        "userAccessForQuery": 0,
        "userAccessForUpdate": 0,
        "hasUserDefinedFields": True,
        "supportsWebhookCallouts": True,
    }
    notes = api.get("TicketNotes/entityInformation").json()["info"]
    assert notes["canCreate"] and not notes["canDelete"] and not notes["hasUserDefinedFields"]


def test_fields_follow_the_catalog_with_pascal_case_names(api: Any) -> None:
    fields = api.get("Tickets/entityInformation/fields").json()["fields"]
    catalog = load_catalog().get("Tickets")
    assert [f["name"] for f in fields] == [f.label for f in catalog.fields]
    assert all(list(f) == FIELD_KEYS for f in fields)
    by_name = {f["name"]: f for f in fields}
    assert by_name["CompanyID"]["isReference"] and by_name["CompanyID"]["referenceEntityType"] == "Account"
    assert by_name["Title"]["isRequired"] and by_name["Title"]["picklistValues"] is None
    assert by_name["Id"]["isReadOnly"]


def test_picklists_come_from_the_tenant(api: Any) -> None:
    fields = {f["name"]: f for f in api.get("Tickets/entityInformation/fields").json()["fields"]}
    status = fields["Status"]
    assert status["isPickList"] and all(list(v) == PICK_KEYS for v in status["picklistValues"])
    assert all(isinstance(v["value"], str) for v in status["picklistValues"])
    assert {"1", "5"} <= {v["value"] for v in status["picklistValues"]}
    issue_values = {v["value"] for v in fields["IssueType"]["picklistValues"]}
    sub = fields["SubIssueType"]
    assert sub["picklistParentValueField"] == "IssueType"
    assert {v["parentValue"] for v in sub["picklistValues"]} <= issue_values
    used = api.ids(
        "Tickets",
        [
            {
                "op": "notIn",
                "field": "queueID",
                "value": [int(v["value"]) for v in fields["QueueID"]["picklistValues"]],
            }
        ],
    )
    assert used == []  # every generated ticket uses a queue of the picklist


def test_user_defined_fields(api: Any) -> None:
    udfs = api.get("Tickets/entityInformation/userDefinedFields").json()["fields"]
    types = {u["name"]: u["type"] for u in udfs}
    assert types == {
        "Root Cause": "string",
        "Customer Impact Score": "double",
        "Follow Up Date": "datetime",
        "External Reference": "string",
    }
    root = next(u for u in udfs if u["name"] == "Root Cause")
    assert root["isPickList"] and [v["label"] for v in root["picklistValues"]][0] == "User Error"
    assert api.get("TicketNotes/entityInformation/userDefinedFields").json() == {"fields": []}


def test_udf_definition_entity_mirrors_metadata(api: Any) -> None:
    rows = api.all_items("UserDefinedFieldDefinitions")
    assert {r["name"] for r in rows} >= {"Root Cause", "Customer Ranking", "Preferred Channel"}
