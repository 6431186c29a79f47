"""Entity metadata answers: `entityInformation`, `/fields` and `/userDefinedFields`.

Built from the catalog plus the tenant's stored picklists and UDF definitions, in the shapes of
the swagger's `EntityInformationModel`, `FieldInformationModel` and UDF `Field` models.
"""

from __future__ import annotations

from typing import Any

from sdk_core.catalog import EntityInfo

from .backend import Backend
from .field_rules import REQUIRED, field_length, is_read_only

WEBHOOK_ENTITIES = {"Companies", "Contacts", "ConfigurationItems", "Tickets", "TicketNotes"}
PICKLIST_PARENTS = {("Tickets", "subIssueType"): "issueType"}


def entity_information(info: EntityInfo) -> dict[str, Any]:
    verbs = set(info.root_verbs)
    for route in info.parents:
        verbs |= set(route.verbs)
    return {
        "name": info.internal_name or info.name,
        "canCreate": "create" in verbs,
        "canDelete": "delete" in verbs,
        "canQuery": info.queryable,
        "canUpdate": bool({"update", "patch"} & verbs),
        "userAccessForCreate": 0,
        "userAccessForDelete": 0,
        "userAccessForQuery": 0,
        "userAccessForUpdate": 0,
        "hasUserDefinedFields": info.has_udfs,
        "supportsWebhookCallouts": info.name in WEBHOOK_ENTITIES,
    }


def fields(backend: Backend, info: EntityInfo) -> list[dict[str, Any]]:
    with backend.reading() as storage:
        picklists = storage.picklists(info.name)
    required = set(REQUIRED.get(info.name, ()))
    webhooks = info.name in WEBHOOK_ENTITIES
    out = []
    for f in info.fields:
        values = picklists.get(f.name)
        parent = PICKLIST_PARENTS.get((info.name, f.name))
        parent_field = info.field(parent) if parent else None
        parent_label = parent_field.label if parent_field else ""
        reference = backend.catalog.find(f.reference) if f.reference else None
        out.append(
            {
                "name": f.label,
                "dataType": f.data_type,
                "length": field_length(info.name, f.name, f.data_type),
                "isRequired": f.name in required,
                "isReadOnly": is_read_only(info, f),
                "isQueryable": True,
                "isReference": reference is not None,
                "referenceEntityType": (reference.internal_name or reference.name) if reference else "",
                "isPickList": values is not None,
                "picklistValues": values,
                "picklistParentValueField": parent_label,
                "isSupportedWebhookField": webhooks and not is_read_only(info, f),
            }
        )
    return out


def user_defined_fields(backend: Backend, info: EntityInfo) -> list[dict[str, Any]]:
    if not info.has_udfs:
        return []
    with backend.reading() as storage:
        defs = storage.udf_defs(info.name)
        picklists = storage.picklists(info.name, udf=True)
    return [
        {
            "name": d.name,
            "label": d.label,
            "type": d.type,
            "length": d.length,
            "description": d.description,
            "isRequired": d.is_required,
            "isReadOnly": False,
            "isQueryable": True,
            "isReference": False,
            "referenceEntityType": "",
            "isPickList": d.is_picklist,
            "picklistValues": picklists.get(d.name) if d.is_picklist else None,
            "picklistParentValueField": "",
            "defaultValue": None,
            "isSupportedWebhookField": info.name in WEBHOOK_ENTITIES,
        }
        for d in defs.values()
    ]
