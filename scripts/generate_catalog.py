"""Generate sdk_core/data/catalog.json from the vendor's swagger.

The product never reads ../shared at run time: this script turns the swagger into one compact,
committed data file that the SDK, the tap and the sandbox all share. Run it with `make catalog`
when the swagger changes, and commit the result.

Per entity it records: the URL name, the internal (SOAP-era) name, whether it is queryable, the
root verbs, the parent-scoped routes and their verbs, the fields (JSON type, swagger format,
Autotask data type, read-only flag, inferred reference) and the date-time fields, with the
modification timestamp that incremental syncs should use.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "sdk_core" / "data" / "catalog.json"

# Root verbs, from operation-id suffixes.
ROOT_OPS = {
    "Query": "query",
    "UrlParameterQuery": "query",
    "QueryCount": "count",
    "UrlParameterQueryCount": "count",
    "QueryItem": "get",
    "CreateEntity": "create",
    "UpdateEntity": "update",
    "PatchEntity": "patch",
    "DeleteEntity": "delete",
}
CHILD_OPS = {
    "Query": "list",
    "QueryItem": "get",
    "CreateEntity": "create",
    "UpdateEntity": "update",
    "PatchEntity": "patch",
    "DeleteEntity": "delete",
}
VERB_ORDER = ["query", "count", "list", "get", "create", "update", "patch", "delete"]

# Swagger (type, format) -> Autotask `dataType` as /entityInformation/fields reports it.
DATA_TYPES = {
    ("integer", "int32"): "integer",
    ("integer", "int64"): "long",
    ("number", "double"): "double",
    ("number", "decimal"): "decimal",
    ("string", "date-time"): "datetime",
    ("string", "byte"): "byte[]",
    ("string", None): "string",
    ("boolean", None): "boolean",
}

# Preferred incremental cursor per entity where the reference (section 10.2) names one
# explicitly; otherwise the first modification-style field of the model is used.
PREFERRED_CURSOR = {
    "Tickets": "lastActivityDate",
    "Companies": "lastActivityDate",
    "Contacts": "lastModifiedDate",
    "ConfigurationItems": "lastModifiedTime",
    "TimeEntries": "lastModifiedDateTime",
    "Projects": "lastActivityDateTime",
    "Tasks": "lastActivityDateTime",
    "Phases": "lastActivityDateTime",
    "Contracts": "lastModifiedDateTime",
    "Opportunities": "lastActivity",
}
MODIFICATION_RE = re.compile(r"^(lastModified|lastActivity|lastTracked|lastUpdated)", re.I)
# statusLastModifiedDate only moves when the status changes: not a safe incremental cursor.
WEAK_CURSOR_RE = re.compile(r"^statusLastModified", re.I)
CREATION_RE = re.compile(r"^(createDate|createDateTime|createdDateTime|createdTime)$")
# Set by Autotask itself on every write, so read-only to callers though the swagger does not
# say so: modification-style timestamps and the creator, actor and impersonator ids.
SERVER_SET_TIMESTAMP_RE = re.compile(r"(lastmodified|lastactivitydate|lasttracked)|^lastactivity$", re.I)
SERVER_SET_IDS = {
    "creatorResourceID",
    "createdByResourceID",
    "createdByPersonID",
    "lastActivityResourceID",
    "lastActivityPersonID",
    "lastModifiedByResourceID",
    "impersonatorCreatorResourceID",
    "impersonatorUpdaterResourceID",
}

# Reference inference: a field named <stem>ID (or <stem>ResourceID, ...) points at an entity.
# The swagger carries no reference metadata; /entityInformation/fields does on a real tenant.
REFERENCE_SUFFIXES = [
    ("contractserviceid", "ContractServices"),
    ("contractservicebundleid", "ContractServiceBundles"),
    ("contractblockid", "ContractBlocks"),
    ("companylocationid", "CompanyLocations"),
    ("resourceroleid", "Roles"),
    ("resourceid", "Resources"),
    ("companyid", "Companies"),
    ("accountid", "Companies"),
    ("contactid", "Contacts"),
    ("ticketid", "Tickets"),
    ("projectid", "Projects"),
    ("taskid", "Tasks"),
    ("phaseid", "Phases"),
    ("contractid", "Contracts"),
    ("configurationitemid", "ConfigurationItems"),
    ("opportunityid", "Opportunities"),
    ("quoteid", "Quotes"),
    ("invoiceid", "Invoices"),
    ("roleid", "Roles"),
    ("departmentid", "Departments"),
    ("billingcodeid", "BillingCodes"),
    ("productid", "Products"),
    ("serviceid", "Services"),
    ("timeentryid", "TimeEntries"),
    ("companylocationid", "CompanyLocations"),
    ("webhookid", None),  # resolved per webhook family below
]


def camel_to_snake(name: str) -> str:
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.lower()


def pascal(name: str) -> str:
    """Field-metadata names are PascalCase (`ticketID` -> `TicketID`)."""
    return name[:1].upper() + name[1:]


def model_of(ref: str) -> tuple[str, str | None]:
    """`#/definitions/QueryActionResult[TicketModel,Ticket]` -> ("TicketModel", "Ticket")."""
    name = ref.rsplit("/", 1)[-1]
    m = re.match(r"^\w+\[(\w+),(\w+)\]$", name)
    if m:
        return m.group(1), m.group(2)
    return name, None


def infer_reference(entity: str, field: str, entities: set[str]) -> str | None:
    low = field.lower()
    if low == "id" or not low.endswith("id"):
        return None
    if low == "webhookid" and entity.endswith(
        ("WebhookFields", "WebhookUdfFields", "WebhookExcludedResources")
    ):
        root = re.sub(r"(Fields|UdfFields|ExcludedResources)$", "", entity)
        root = root.replace("WebhookUdf", "Webhook").replace("WebhookExcluded", "Webhook")
        candidate = root + "s" if not root.endswith("s") else root
        return candidate if candidate in entities else None
    if low == "parentcompanyid":
        return "Companies"
    for suffix, target in REFERENCE_SUFFIXES:
        if target and low.endswith(suffix) and target in entities:
            return target
    return None


def entity_url_name(tag: str, ops: list[tuple[str, str, dict[str, Any]]]) -> str | None:
    """The URL segment of a root tag: usually the tag itself (`OrganizationalLevel1s` is not)."""
    for _, path, op in ops:
        if op["operationId"].endswith("_QueryEntityInformation"):
            m = re.match(r"^/V1\.0/(\w+)/entityInformation$", path)
            if m:
                return m.group(1)
    return None


def build(swagger: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, Any] = swagger["paths"]
    defs: dict[str, Any] = swagger["definitions"]

    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = defaultdict(list)
    for path, ops in paths.items():
        for verb, op in ops.items():
            if verb == "parameters":
                continue
            by_tag[op["tags"][0]].append((verb, path, op))

    def op_model(op: dict[str, Any]) -> tuple[str | None, str | None]:
        for param in op.get("parameters", []):
            if param.get("in") == "body" and "$ref" in param.get("schema", {}):
                name, internal = model_of(param["schema"]["$ref"])
                if name.endswith("Model") and name != "QueryModel":
                    return name, internal
        schema = op.get("responses", {}).get("200", {}).get("schema", {})
        if "$ref" in schema:
            name, internal = model_of(schema["$ref"])
            # Attachment queries answer the bare model, not QueryActionResult[Model,Internal].
            if internal or (name.endswith("Model") and not name.endswith("ResultModel") and name in defs):
                return name, internal
        return None, None

    entities: dict[str, dict[str, Any]] = {}
    model_to_entity: dict[str, str] = {}
    service_tags = []
    for tag, ops in by_tag.items():
        if tag.endswith("Child"):
            continue
        url_name = entity_url_name(tag, ops)
        if url_name is None:
            service_tags.append(tag)
            continue
        entity_paths = [p for _, p, _ in ops if re.match(rf"^/V1\.0/{url_name}(/|$)", p)]
        verbs: set[str] = set()
        model = internal = None
        for _verb, path, op in ops:
            suffix = op["operationId"].split("_", 1)[1]
            if path.startswith(f"/V1.0/{url_name}/{{parentId}}"):
                continue
            if suffix in ROOT_OPS:
                verbs.add(ROOT_OPS[suffix])
            m, i = op_model(op)
            if m and (model is None or i):
                model, internal = m, i or internal
        has_meta = any(p.endswith("/entityInformation") for p in entity_paths)
        has_udf_endpoint = any(p.endswith("/entityInformation/userDefinedFields") for p in entity_paths)
        entities[url_name] = {
            "name": url_name,
            "swagger_tag": tag,
            "internal_name": internal,
            "model": model,
            "queryable": "query" in verbs,
            "root_verbs": [v for v in VERB_ORDER if v in verbs],
            "has_metadata": has_meta,
            "has_udf_endpoint": has_udf_endpoint,
            "parents": [],
            "extra_routes": sorted(
                f"{verb.upper()} {p}"
                for verb, p, op in ops
                if op["operationId"].split("_", 1)[1] not in ROOT_OPS
                and "entityInformation" not in p
                and not p.startswith(f"/V1.0/{url_name}/{{parentId}}")
            ),
        }
        if model:
            model_to_entity.setdefault(model, url_name)

    # Parent-scoped routes: resolve each *Child tag to its entity through the shared model.
    unresolved = []
    for tag, ops in by_tag.items():
        if not tag.endswith("Child"):
            continue
        model = None
        routes: dict[tuple[str, str], set[str]] = defaultdict(set)
        odd_methods: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
        for verb, path, op in ops:
            m, _ = op_model(op)
            model = model or m
            suffix = op["operationId"].split("_", 1)[1]
            mm = re.match(r"^/V1\.0/(\w+)/\{parentId\}/(\w+)", path)
            if not mm or suffix not in CHILD_OPS:
                continue
            routes[(mm.group(1), mm.group(2))].add(CHILD_OPS[suffix])
            if suffix == "CreateEntity" and verb != "post":
                # e.g. `GET /TimeOffRequests/{id}/Approve` is an action answered with an itemId.
                odd_methods[(mm.group(1), mm.group(2))]["create"] = verb.upper()
        target = model_to_entity.get(model or "")
        by_tag = next((k for k, e in entities.items() if e["swagger_tag"] == tag[: -len("Child")]), None)
        if target is None and by_tag and entities[by_tag]["model"] is None and model:
            # Meta-only roots (e.g. InventoryStockedItemsAdd) take the model of their child action.
            entities[by_tag]["model"] = model
            target = by_tag
        if target is None:
            # Create-only child actions (e.g. Tickets/{id}/ChecklistLibraries) name their entity
            # in the tag itself.
            name = tag[: -len("Child")]
            target = next((k for k, e in entities.items() if e["swagger_tag"] == name), None)
        if target is None:
            unresolved.append(tag)
            continue
        for (parent, segment), verbs in routes.items():
            entities[target]["parents"].append(
                {
                    "parent": parent,
                    "segment": segment,
                    "path": f"/{parent}/{{parentId}}/{segment}",
                    "verbs": [v for v in VERB_ORDER if v in verbs],
                    **(
                        {"methods": odd_methods[(parent, segment)]}
                        if odd_methods.get((parent, segment))
                        else {}
                    ),
                }
            )

    names = set(entities)
    for name, ent in entities.items():
        ent["parents"].sort(key=lambda p: (p["parent"], p["segment"]))
        fields = []
        model = defs.get(ent["model"] or "", {})
        props: dict[str, Any] = model.get("properties", {})
        ent["has_udfs"] = "userDefinedFields" in props
        for fname, prop in props.items():
            if fname == "userDefinedFields":
                continue
            jtype, fmt = prop.get("type"), prop.get("format")
            if jtype is None or jtype in ("array", "object"):
                continue  # nested structures are not columns
            field: dict[str, Any] = {
                "name": fname,
                "label": pascal(fname),
                "type": jtype,
                "format": fmt,
                "data_type": DATA_TYPES.get((jtype, fmt), "string"),
                "read_only": bool(prop.get("readOnly")) or fname == "id",
            }
            ref = infer_reference(name, fname, names)
            if ref and ref != name:
                field["reference"] = ref
            fields.append(field)
        ent["fields"] = fields
        dt = [f["name"] for f in fields if f["data_type"] == "datetime"]
        ent["datetime_fields"] = dt
        mods = [f for f in dt if MODIFICATION_RE.match(f) and not WEAK_CURSOR_RE.match(f)]
        preferred = PREFERRED_CURSOR.get(name)
        ent["modification_timestamp"] = preferred if preferred in dt else (mods[0] if mods else None)
        ent["weak_timestamps"] = [f for f in dt if WEAK_CURSOR_RE.match(f)]
        created = [f for f in dt if CREATION_RE.match(f)]
        ent["creation_timestamp"] = created[0] if created else None
        maintained = {ent["creation_timestamp"], ent["modification_timestamp"]}
        for f in fields:
            if (
                f["name"] in maintained
                or f["name"] in SERVER_SET_IDS
                or (f["data_type"] == "datetime" and SERVER_SET_TIMESTAMP_RE.search(f["name"]))
            ):
                f["read_only"] = True
        ent["stream_name"] = camel_to_snake(name)

    if unresolved:
        print(f"warning: child tags not matched to an entity: {unresolved}", file=sys.stderr)

    return {
        "source": {
            "title": swagger.get("info", {}).get("title"),
            "version": swagger.get("info", {}).get("version"),
            "paths": len(paths),
            "definitions": len(defs),
        },
        "service_tags": sorted(service_tags),
        "entities": [entities[k] for k in sorted(entities)],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--swagger", required=True, type=Path)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    raw = args.swagger.read_bytes()
    catalog = build(json.loads(raw))
    catalog["source"]["sha256"] = hashlib.sha256(raw).hexdigest()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(catalog, indent=1, sort_keys=False) + "\n")
    ents = catalog["entities"]
    q = sum(e["queryable"] for e in ents)
    inc = sum(bool(e["modification_timestamp"]) for e in ents if e["queryable"])
    print(f"wrote {args.out}: {len(ents)} entities, {q} queryable, {inc} with a modification timestamp")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
