"""The API's operations that are not plain entity CRUD (reference section 3 and appendix A).

Routes (matched case-insensitively; `#` is an integer path segment):
  GET  Authenticate                                   -> {"authToken", "expiration"}
  GET  Invoices/#/InvoicePdf                          -> {"id","contentType","fileName","fileSize","data"}
  GET  Invoices/#/InvoiceMarkupHtml | InvoiceMarkupXml -> {"invoiceMarkup"}
  GET|PUT Companies/#/invoiceSettings, POST .../contactRecipients|resourceRecipients {"items": [ids]},
       DELETE .../contactRecipients/# | resourceRecipients/#
  GET  Resources/#/TimeOffBalances[/year]             balances computed from the time off requests
  GET  TimeOffRequests/#/Approve, POST .../Reject     change the request's status
  POST InventoryProducts/#/StockedItemsAdd|Remove|Transfer   move stock, keep product totals
  POST Contracts/#/ServiceAdjustments | ServiceBundleAdjustments (and the root POSTs)
       add units (ContractServiceUnits / ContractServiceBundleUnits) from the effective date
  POST Tickets/#/ChecklistLibraries, Documents/#/ChecklistLibraries (and the root POSTs)
       copy the library's checklist items onto the ticket / document
Balances: annual + additional hours of the resource's `ResourceTimeOffAdditional` row (the
sandbox's defaults for other years) minus approved hours (used when past, planned when future);
pending hours show as waiting approval. Each performer runs in one `Backend.atomic()`
transaction, so a refused action changes nothing. Time off request status values (not given by
the reference) follow the sandbox's convention: 1 waiting approval, 2 approved, 3 rejected.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from .backend import Backend
from .errors import ApiError, method_not_allowed
from .invoice_render import InvoiceDocument, render_html, render_pdf, render_xml

PENDING, APPROVED, REJECTED = 1, 2, 3
TIME_OFF_KINDS = {1: "vacationTime", 2: "personalTime", 3: "sickTime", 4: "floatingHoliday"}
ALLOWANCE_HOURS = {"vacationTime": 120.0, "personalTime": 24.0, "sickTime": 40.0, "floatingHoliday": 16.0}
SETTINGS_FIELDS = {
    "taxexempt": "taxExempt",
    "taxregionid": "taxRegionId",
    "taxid": "taxId",
    "invoiceemailingenabled": "invoiceEmailingEnabled",
    "otheremails": "otherEmails",
}

Performer = Callable[[Backend, list[int], Any, "int | None"], dict[str, Any]]
PERFORMERS: dict[str, Performer] = {}
# path shape -> (thread-limit bucket, {method: action})
ROUTES: dict[tuple[str, ...], tuple[str, dict[str, str]]] = {
    ("authenticate",): ("Authenticate", {"GET": "authenticate"}),
    ("invoices", "#", "invoicepdf"): ("Invoices", {"GET": "invoice_pdf"}),
    ("invoices", "#", "invoicemarkuphtml"): ("Invoices", {"GET": "invoice_html"}),
    ("invoices", "#", "invoicemarkupxml"): ("Invoices", {"GET": "invoice_xml"}),
    ("companies", "#", "invoicesettings"): (
        "Companies",
        {"GET": "invoice_settings", "PUT": "invoice_settings_update"},
    ),
    ("companies", "#", "invoicesettings", "contactrecipients"): (
        "Companies",
        {"POST": "contact_recipients_add"},
    ),
    ("companies", "#", "invoicesettings", "contactrecipients", "#"): (
        "Companies",
        {"DELETE": "contact_recipient_delete"},
    ),
    ("companies", "#", "invoicesettings", "resourcerecipients"): (
        "Companies",
        {"POST": "resource_recipients_add"},
    ),
    ("companies", "#", "invoicesettings", "resourcerecipients", "#"): (
        "Companies",
        {"DELETE": "resource_recipient_delete"},
    ),
    ("resources", "#", "timeoffbalances"): ("ResourceTimeOffBalances", {"GET": "time_off_balances"}),
    ("resources", "#", "timeoffbalances", "#"): ("ResourceTimeOffBalances", {"GET": "time_off_balance"}),
    ("timeoffrequests", "#", "approve"): ("TimeOffRequests", {"GET": "time_off_approve"}),
    ("timeoffrequests", "#", "reject"): ("TimeOffRequests", {"POST": "time_off_reject"}),
    ("inventoryproducts", "#", "stockeditemsadd"): ("InventoryStockedItems", {"POST": "stock_add"}),
    ("inventoryproducts", "#", "stockeditemsremove"): ("InventoryStockedItems", {"POST": "stock_remove"}),
    ("inventoryproducts", "#", "stockeditemstransfer"): ("InventoryStockedItems", {"POST": "stock_transfer"}),
    ("contracts", "#", "serviceadjustments"): ("ContractServiceAdjustments", {"POST": "service_adjustment"}),
    ("contractserviceadjustments",): ("ContractServiceAdjustments", {"POST": "service_adjustment"}),
    ("contracts", "#", "servicebundleadjustments"): (
        "ContractServiceBundleAdjustments",
        {"POST": "bundle_adjustment"},
    ),
    ("contractservicebundleadjustments",): (
        "ContractServiceBundleAdjustments",
        {"POST": "bundle_adjustment"},
    ),
    ("tickets", "#", "checklistlibraries"): ("TicketChecklistLibraries", {"POST": "ticket_checklist"}),
    ("ticketchecklistlibraries",): ("TicketChecklistLibraries", {"POST": "ticket_checklist"}),
    ("documents", "#", "checklistlibraries"): ("DocumentChecklistLibraries", {"POST": "document_checklist"}),
    ("documentchecklistlibraries",): ("DocumentChecklistLibraries", {"POST": "document_checklist"}),
}


def resolve(method: str, parts: list[str]) -> tuple[str, str, list[int]] | None:
    """(action, bucket, path ids) for an action route, None if `parts` is not one; 405 on a
    known action route with a wrong verb."""
    low = [p.lower() for p in parts]
    shape = tuple("#" if _is_int(p) else p for p in low)
    entry = ROUTES.get(shape)
    if entry is None:
        return None
    bucket, methods = entry
    if method not in methods:
        raise method_not_allowed(method)
    return methods[method], bucket, [int(p) for p in low if _is_int(p)]


def perform(action: str, backend: Backend, ids: list[int], body: Any, person: int | None) -> dict[str, Any]:
    """Run an action as one transaction: a refused action leaves no partial writes."""
    with backend.atomic():
        return PERFORMERS[action](backend, ids, body, person)


def performer(name: str) -> Callable[[Performer], Performer]:
    def register(fn: Performer) -> Performer:
        PERFORMERS[name] = fn
        return fn

    return register


def _is_int(text: str) -> bool:
    return text.isdigit() or (text.startswith("-") and text[1:].isdigit())


def _now() -> datetime:
    return datetime.now(UTC)


def _fields(body: Any, what: str) -> dict[str, Any]:
    """A JSON object body with lower-cased keys."""
    if not isinstance(body, dict):
        raise ApiError(500, f"The request body must be a JSON object ({what}).")
    return {str(k).lower(): v for k, v in body.items()}


def _require(backend: Backend, entity: str, id_: Any, *, parent: bool = False) -> dict[str, Any]:
    info = backend.entity(entity)
    item = backend.get(entity, int(id_)) if isinstance(id_, int) or str(id_).lstrip("-").isdigit() else None
    if item is None:
        prefix = "the parent " if parent else ""
        raise ApiError(
            500 if parent else 404, f"Unable to find {prefix}{Backend.internal(info)} with id {id_}."
        )
    return item


def _int_field(fields: dict[str, Any], name: str, *, positive: bool = False) -> int:
    value = fields.get(name.lower())
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise ApiError(500, f"Missing Required Field: {name}. ; on record number [1].")
    if positive and value <= 0:
        raise ApiError(500, f"{name} must be greater than 0; got {value}.")
    return int(value)


def _rows(backend: Backend, entity: str, **eq: Any) -> list[dict[str, Any]]:
    """Every matching row (paged by id), ascending id."""
    flt = [{"op": "eq", "field": k, "value": v} for k, v in eq.items()]
    page = backend.query(entity, flt)
    rows = page.items
    while page.has_more:
        page = backend.query(entity, flt, after_id=page.ids[-1])
        rows += page.items
    return rows


# -- Authenticate ---------------------------------------------------------------------------
@performer("authenticate")
def authenticate(backend: Backend, ids: list[int], body: Any, person: int | None) -> dict[str, Any]:
    expiration = (_now() + timedelta(hours=1)).replace(tzinfo=None)
    return {
        "authToken": secrets.token_urlsafe(32),
        "expiration": expiration.isoformat(timespec="milliseconds"),
    }


# -- invoice rendering ----------------------------------------------------------------------
def _invoice_document(backend: Backend, invoice_id: int) -> InvoiceDocument:
    invoice = _require(backend, "Invoices", invoice_id)
    company = backend.get("Companies", invoice["companyID"]) if invoice.get("companyID") is not None else None
    lines = _rows(backend, "BillingItems", invoiceID=invoice_id)
    return InvoiceDocument(invoice, str((company or {}).get("companyName") or ""), lines)


@performer("invoice_pdf")
def invoice_pdf(backend: Backend, ids: list[int], body: Any, person: int | None) -> dict[str, Any]:
    doc = _invoice_document(backend, ids[0])
    pdf = render_pdf(doc)
    return {
        "id": ids[0],
        "contentType": "application/pdf",
        "fileName": f"Invoice_{doc.number}.pdf",
        "fileSize": len(pdf),
        "data": base64.b64encode(pdf).decode(),
    }


@performer("invoice_html")
def invoice_html(backend: Backend, ids: list[int], body: Any, person: int | None) -> dict[str, Any]:
    return {"invoiceMarkup": render_html(_invoice_document(backend, ids[0]))}


@performer("invoice_xml")
def invoice_xml(backend: Backend, ids: list[int], body: Any, person: int | None) -> dict[str, Any]:
    return {"invoiceMarkup": render_xml(_invoice_document(backend, ids[0]))}


# -- company invoice settings ---------------------------------------------------------------
def _settings_table(backend: Backend) -> Any:
    conn = backend.storage.conn
    conn.execute(
        'CREATE TABLE IF NOT EXISTS "_invoice_settings" '
        '("companyID" INTEGER PRIMARY KEY, "settings" TEXT NOT NULL)'
    )
    return conn


def _load_settings(backend: Backend, company_id: int) -> dict[str, Any]:
    company = _require(backend, "Companies", company_id, parent=True)
    row = (
        _settings_table(backend)
        .execute('SELECT "settings" FROM "_invoice_settings" WHERE "companyID" = ?', (company_id,))
        .fetchone()
    )
    if row:
        return json.loads(row[0])
    return {
        "taxExempt": bool(company.get("isTaxExempt")),
        "taxRegionId": company.get("taxRegionID"),
        "taxId": company.get("taxID"),
        "invoiceEmailingEnabled": False,
        "contactRecipients": [],
        "resourceRecipients": [],
        "otherEmails": None,
    }


def _save_settings(backend: Backend, company_id: int, settings: dict[str, Any]) -> None:
    conn = _settings_table(backend)
    conn.execute(
        'INSERT OR REPLACE INTO "_invoice_settings" VALUES (?, ?)', (company_id, json.dumps(settings))
    )


@performer("invoice_settings")
def invoice_settings(backend: Backend, ids: list[int], body: Any, person: int | None) -> dict[str, Any]:
    return _load_settings(backend, ids[0])


@performer("invoice_settings_update")
def invoice_settings_update(
    backend: Backend, ids: list[int], body: Any, person: int | None
) -> dict[str, Any]:
    settings = _load_settings(backend, ids[0])
    fields = _fields(body, "UpdateAccountInvoiceSettingsModel")
    unknown = sorted(set(fields) - set(SETTINGS_FIELDS))
    if unknown:
        raise ApiError(500, f"Unable to find {unknown[0]} in the AccountInvoiceSettings Entity.")
    region = fields.get("taxregionid")
    if region is not None and backend.get("TaxRegions", int(region)) is None:
        raise ApiError(
            500, "Reference value on field: taxRegionId of type: TaxRegion does not exist or is invalid."
        )
    for key, name in SETTINGS_FIELDS.items():
        settings[name] = fields.get(key)  # PUT: omitted fields become null
    settings["taxExempt"] = bool(settings["taxExempt"])
    settings["invoiceEmailingEnabled"] = bool(settings["invoiceEmailingEnabled"])
    _save_settings(backend, ids[0], settings)
    return {"itemId": ids[0]}


def _recipient_ids(body: Any) -> list[int]:
    items = _fields(body, '{"items": [ids]}').get("items")
    if (
        not isinstance(items, list)
        or not items
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in items)
    ):
        raise ApiError(500, 'The body must be {"items": [id, ...]} with at least one integer id.')
    return items


def _add_recipients(
    backend: Backend, company_id: int, body: Any, key: str, check: Callable[[int], None]
) -> dict[str, Any]:
    settings = _load_settings(backend, company_id)
    new = _recipient_ids(body)
    for id_ in new:
        check(id_)
    settings[key] = sorted(set(settings[key]) | set(new))
    _save_settings(backend, company_id, settings)
    return {key: settings[key]}


def _delete_recipient(backend: Backend, company_id: int, id_: int, key: str, label: str) -> dict[str, Any]:
    settings = _load_settings(backend, company_id)
    if id_ not in settings[key]:
        raise ApiError(500, f"{label} {id_} is not an invoice recipient of company {company_id}.")
    settings[key] = [i for i in settings[key] if i != id_]
    _save_settings(backend, company_id, settings)
    return {"itemId": id_}


@performer("contact_recipients_add")
def contact_recipients_add(backend: Backend, ids: list[int], body: Any, person: int | None) -> dict[str, Any]:
    def check(contact_id: int) -> None:
        contact = backend.get("Contacts", contact_id)
        if contact is None or contact.get("companyID") != ids[0]:
            raise ApiError(
                500,
                f"Contact {contact_id} does not belong to company {ids[0]}; only the "
                "company's own contacts can receive its invoices.",
            )

    return _add_recipients(backend, ids[0], body, "contactRecipients", check)


@performer("resource_recipients_add")
def resource_recipients_add(
    backend: Backend, ids: list[int], body: Any, person: int | None
) -> dict[str, Any]:
    def check(resource_id: int) -> None:
        if not backend.is_active_resource(resource_id):
            raise ApiError(
                500,
                f"Reference value on field: resourceRecipients of type: Resource "
                f"does not exist or is invalid ({resource_id} is not an active resource).",
            )

    return _add_recipients(backend, ids[0], body, "resourceRecipients", check)


@performer("contact_recipient_delete")
def contact_recipient_delete(
    backend: Backend, ids: list[int], body: Any, person: int | None
) -> dict[str, Any]:
    return _delete_recipient(backend, ids[0], ids[1], "contactRecipients", "Contact")


@performer("resource_recipient_delete")
def resource_recipient_delete(
    backend: Backend, ids: list[int], body: Any, person: int | None
) -> dict[str, Any]:
    return _delete_recipient(backend, ids[0], ids[1], "resourceRecipients", "Resource")


# -- time off -------------------------------------------------------------------------------
def _allowances(backend: Backend, resource_id: int, year: int) -> dict[str, float]:
    """Annual plus additional hours per kind from the resource's `ResourceTimeOffAdditional`
    row when it covers the year, else the sandbox's defaults."""
    allowance = dict(ALLOWANCE_HOURS)
    for row in _rows(backend, "ResourceTimeOffAdditional", resourceID=resource_id)[:1]:
        for prefix in ("currentYear", "nextYear"):
            if row.get(prefix) == year:
                for kind in allowance:
                    cap = kind[0].upper() + kind[1:]
                    allowance[kind] = float(
                        (row.get(f"{prefix}Annual{cap}") or 0) + (row.get(f"{prefix}Additional{cap}") or 0)
                    )
    return allowance


def _balance(backend: Backend, resource_id: int, year: int) -> dict[str, Any]:
    item: dict[str, Any] = {"id": resource_id * 10000 + year, "resourceID": resource_id}
    sums = {kind: {"Used": 0.0, "Planned": 0.0, "WaitingApproval": 0.0} for kind in ALLOWANCE_HOURS}
    today = _now().strftime("%Y-%m-%d")
    for req in _rows(backend, "TimeOffRequests", resourceID=resource_id):
        start = str(req.get("startTime") or req.get("requestDate") or "")
        kind = TIME_OFF_KINDS.get(req.get("timeOffRequestType") or 0)
        if kind is None or not start.startswith(str(year)):
            continue
        hours = float(req.get("hours") or 0)
        if req.get("status") == PENDING:
            sums[kind]["WaitingApproval"] += hours
        elif req.get("status") == APPROVED:
            sums[kind]["Used" if start[:10] <= today else "Planned"] += hours
    for kind, allowance in _allowances(backend, resource_id, year).items():
        s = sums[kind]
        item[f"{kind}AnnualAllowance"] = allowance
        item[f"{kind}Used"] = round(s["Used"], 2)
        item[f"{kind}Planned"] = round(s["Planned"], 2)
        item[f"{kind}WaitingApproval"] = round(s["WaitingApproval"], 2)
        item[f"{kind}Balance"] = round(allowance - s["Used"] - s["Planned"], 2)
    item["year"] = year
    item["soapParentPropertyId"] = None
    return item


@performer("time_off_balance")
def time_off_balance(backend: Backend, ids: list[int], body: Any, person: int | None) -> dict[str, Any]:
    _require(backend, "Resources", ids[0], parent=True)
    if not 1900 <= ids[1] <= 2999:
        raise ApiError(500, f"The year {ids[1]} is not valid; give a four-digit year.")
    return {"item": _balance(backend, ids[0], ids[1])}


@performer("time_off_balances")
def time_off_balances(backend: Backend, ids: list[int], body: Any, person: int | None) -> dict[str, Any]:
    _require(backend, "Resources", ids[0], parent=True)
    years = {_now().year}
    for req in _rows(backend, "TimeOffRequests", resourceID=ids[0]):
        start = str(req.get("startTime") or "")
        if start[:4].isdigit():
            years.add(int(start[:4]))
    items = [_balance(backend, ids[0], year) for year in sorted(years)]
    return {
        "items": items,
        "pageDetails": {"count": len(items), "requestCount": 500, "prevPageUrl": None, "nextPageUrl": None},
    }


def _decide(
    backend: Backend, request_id: int, person: int | None, status: int, extra: dict[str, Any]
) -> dict[str, Any]:
    request = _require(backend, "TimeOffRequests", request_id, parent=True)
    if request.get("status") != PENDING:
        raise ApiError(
            500,
            f"Time off request {request_id} is not waiting for approval (status "
            f"{request.get('status')}); only pending requests can be approved or rejected.",
        )
    stamp = _now().replace(tzinfo=None).isoformat(timespec="milliseconds")
    changes = {
        "id": request_id,
        "status": status,
        "approveRejectResourceID": person,
        "approvedDateTime": stamp if status == APPROVED else None,
        **extra,
    }
    backend.update("TimeOffRequests", request_id, changes, sparse=True, person_id=person)
    return {"itemId": request_id}


@performer("time_off_approve")
def time_off_approve(backend: Backend, ids: list[int], body: Any, person: int | None) -> dict[str, Any]:
    level = (_require(backend, "TimeOffRequests", ids[0], parent=True).get("lastApprovedLevel") or 0) + 1
    return _decide(backend, ids[0], person, APPROVED, {"lastApprovedLevel": level})


@performer("time_off_reject")
def time_off_reject(backend: Backend, ids: list[int], body: Any, person: int | None) -> dict[str, Any]:
    fields = _fields(body or {}, "TimeOffRequestRejectModel")
    reason = fields.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise ApiError(500, "Missing Required Field: reason. ; on record number [1].")
    return _decide(backend, ids[0], person, REJECTED, {"rejectReason": reason})


# -- inventory ------------------------------------------------------------------------------
def _stocked_item(backend: Backend, product_id: int, fields: dict[str, Any]) -> dict[str, Any]:
    item_id = _int_field(fields, "inventoryStockedItemID")
    item = backend.get("InventoryStockedItems", item_id)
    if item is None or item.get("inventoryProductID") != product_id:
        raise ApiError(500, f"Stocked item {item_id} does not belong to inventory product {product_id}.")
    return item


def _adjust_product(backend: Backend, product: dict[str, Any], delta: int, person: int | None) -> None:
    backend.update(
        "InventoryProducts",
        product["id"],
        {
            "onHandUnits": (product.get("onHandUnits") or 0) + delta,
            "availableUnits": (product.get("availableUnits") or 0) + delta,
        },
        sparse=True,
        person_id=person,
    )


@performer("stock_add")
def stock_add(backend: Backend, ids: list[int], body: Any, person: int | None) -> dict[str, Any]:
    product = _require(backend, "InventoryProducts", ids[0], parent=True)
    fields = _fields(body, "InventoryStockedItemAddModel")
    quantity = _int_field(fields, "quantityBeingAdded", positive=True)
    new_id = backend.create(
        "InventoryStockedItems",
        {
            "inventoryProductID": product["id"],
            "availableUnits": quantity,
            "onHandUnits": quantity,
            "currentInventoryLocationID": product.get("inventoryLocationID"),
            "serialNumber": fields.get("serialnumber"),
            "unitCost": fields.get("unitcost"),
            "vendorID": fields.get("vendorid"),
            "vendorInvoiceNumber": fields.get("vendorinvoicenumber"),
            "returnPrice": fields.get("returnprice"),
            "returnTypeID": fields.get("returntypeid"),
            "pickedUnits": 0,
            "removedUnits": 0,
            "transferredUnits": 0,
            "reservedUnits": 0,
            "deliveredUnits": 0,
        },
        person_id=person,
    )
    _adjust_product(backend, product, quantity, person)
    return {"itemId": new_id}


@performer("stock_remove")
def stock_remove(backend: Backend, ids: list[int], body: Any, person: int | None) -> dict[str, Any]:
    product = _require(backend, "InventoryProducts", ids[0], parent=True)
    fields = _fields(body, "InventoryStockedItemRemoveModel")
    item = _stocked_item(backend, product["id"], fields)
    quantity = _int_field(fields, "quantityBeingRemoved", positive=True)
    if quantity > (item.get("availableUnits") or 0):
        raise ApiError(
            500,
            f"Cannot remove {quantity} units: stocked item {item['id']} has "
            f"{item.get('availableUnits') or 0} available.",
        )
    backend.update(
        "InventoryStockedItems",
        item["id"],
        {
            "availableUnits": item["availableUnits"] - quantity,
            "onHandUnits": (item.get("onHandUnits") or 0) - quantity,
            "removedUnits": (item.get("removedUnits") or 0) + quantity,
            "pickedRemovedByResourceID": person,
        },
        sparse=True,
        person_id=person,
    )
    _adjust_product(backend, product, -quantity, person)
    return {"itemId": item["id"]}


@performer("stock_transfer")
def stock_transfer(backend: Backend, ids: list[int], body: Any, person: int | None) -> dict[str, Any]:
    product = _require(backend, "InventoryProducts", ids[0], parent=True)
    fields = _fields(body, "InventoryStockedItemTransferModel")
    item = _stocked_item(backend, product["id"], fields)
    quantity = _int_field(fields, "quantityBeingTransferred", positive=True)
    location = _int_field(fields, "newInventoryLocationID")
    if backend.get("InventoryLocations", location) is None:
        raise ApiError(
            500,
            "Reference value on field: newInventoryLocationID of type: "
            "InventoryLocation does not exist or is invalid.",
        )
    if quantity > (item.get("availableUnits") or 0):
        raise ApiError(
            500,
            f"Cannot transfer {quantity} units: stocked item {item['id']} has "
            f"{item.get('availableUnits') or 0} available.",
        )
    backend.update(
        "InventoryStockedItems",
        item["id"],
        {
            "availableUnits": item["availableUnits"] - quantity,
            "onHandUnits": (item.get("onHandUnits") or 0) - quantity,
            "transferredUnits": (item.get("transferredUnits") or 0) + quantity,
        },
        sparse=True,
        person_id=person,
    )
    new_id = backend.create(
        "InventoryStockedItems",
        {
            "inventoryProductID": product["id"],
            "availableUnits": quantity,
            "onHandUnits": quantity,
            "currentInventoryLocationID": location,
            "parentInventoryStockedItemID": item["id"],
            "serialNumber": item.get("serialNumber"),
            "unitCost": item.get("unitCost"),
            "pickedUnits": 0,
            "removedUnits": 0,
            "transferredUnits": 0,
            "reservedUnits": 0,
            "deliveredUnits": 0,
        },
        person_id=person,
    )
    return {"itemId": new_id}


# -- contract adjustments -------------------------------------------------------------------
def _contract_id(ids: list[int], fields: dict[str, Any]) -> int:
    return ids[0] if ids else _int_field(fields, "contractID")


def _adjust(backend: Backend, ids: list[int], body: Any, person: int | None, *, kind: str) -> dict[str, Any]:
    """Add `unitChange` units of a (bundle) service to a contract from `effectiveDate`."""
    bundle = kind == "ServiceBundle"
    fields = _fields(body, f"Contract{kind}AdjustmentModel")
    contract = _require(backend, "Contracts", _contract_id(ids, fields), parent=True)
    link_entity = "ContractServiceBundles" if bundle else "ContractServices"
    link_key, item_key = (
        ("contractServiceBundleID", "serviceBundleID") if bundle else ("contractServiceID", "serviceID")
    )
    units = _int_field(fields, "unitChange")
    effective = fields.get("effectivedate")
    if not isinstance(effective, str) or not effective[:10].replace("-", "").isdigit():
        raise ApiError(500, "Missing Required Field: effectiveDate. ; on record number [1].")
    effective = effective[:10] + "T00:00:00.000"  # date-only field: midnight, no zone conversion
    link = None
    if fields.get(link_key.lower()) is not None:
        link = backend.get(link_entity, int(fields[link_key.lower()]))
        if link is None or link.get("contractID") != contract["id"]:
            raise ApiError(
                500,
                f"Reference value on field: {link_key} of type: "
                f"{Backend.internal(backend.entity(link_entity))} does not exist or is invalid.",
            )
    else:
        item_id = _int_field(fields, item_key)
        existing = _rows(backend, link_entity, contractID=contract["id"], **{item_key: item_id})
        if existing:
            link = existing[0]
        else:
            catalog_item = backend.get("ServiceBundles" if bundle else "Services", item_id)
            if catalog_item is None:
                raise ApiError(
                    500,
                    f"Reference value on field: {item_key} of type: "
                    f"{'ServiceBundle' if bundle else 'Service'} does not exist or is invalid.",
                )
            new = {
                "contractID": contract["id"],
                item_key: item_id,
                "unitPrice": catalog_item.get("unitPrice"),
                "invoiceDescription": catalog_item.get("invoiceDescription") or catalog_item.get("name"),
            }
            if not bundle:
                new["unitCost"] = catalog_item.get("unitCost")
            link = backend.get(link_entity, backend.create(link_entity, new, person_id=person))
    assert link is not None
    price = fields.get("adjustedunitprice", link.get("unitPrice"))
    adjustment = {
        "contractID": contract["id"],
        link_key: link["id"],
        item_key: link.get(item_key),
        "unitChange": units,
        "effectiveDate": effective,
        "adjustedUnitPrice": price,
        "quoteItemID": fields.get("quoteitemid"),
    }
    if not bundle:
        adjustment["adjustedUnitCost"] = fields.get("adjustedunitcost", link.get("unitCost"))
    adjustment_id = backend.create(f"Contract{kind}Adjustments", adjustment, person_id=person)
    unit_row = {
        "contractID": contract["id"],
        link_key: link["id"],
        item_key: link.get(item_key),
        "units": units,
        "price": price,
        "startDate": effective,
        "endDate": contract.get("endDate"),
    }
    if not bundle:
        unit_row["cost"] = adjustment["adjustedUnitCost"]
    backend.create(f"Contract{kind}Units", unit_row, person_id=person)
    return {"itemId": adjustment_id}


@performer("service_adjustment")
def service_adjustment(backend: Backend, ids: list[int], body: Any, person: int | None) -> dict[str, Any]:
    return _adjust(backend, ids, body, person, kind="Service")


@performer("bundle_adjustment")
def bundle_adjustment(backend: Backend, ids: list[int], body: Any, person: int | None) -> dict[str, Any]:
    return _adjust(backend, ids, body, person, kind="ServiceBundle")


# -- checklist libraries --------------------------------------------------------------------
def _apply_checklist(
    backend: Backend,
    ids: list[int],
    body: Any,
    person: int | None,
    *,
    parent: str,
    key: str,
    items_entity: str,
    link_entity: str,
) -> dict[str, Any]:
    fields = _fields(body, f"{link_entity} model")
    parent_id = ids[0] if ids else _int_field(fields, key)
    _require(backend, parent, parent_id, parent=True)
    library_id = _int_field(fields, "checklistLibraryID")
    if backend.get("ChecklistLibraries", library_id) is None:
        raise ApiError(
            500,
            "Reference value on field: checklistLibraryID of type: ChecklistLibrary "
            "does not exist or is invalid.",
        )
    template = sorted(
        _rows(backend, "ChecklistLibraryChecklistItems", checklistLibraryID=library_id),
        key=lambda i: (i.get("position") or 0, i["id"]),
    )
    existing = _rows(backend, items_entity, **{key: parent_id})
    position = max((i.get("position") or 0 for i in existing), default=0)
    link_id = backend.create(
        link_entity, {key: parent_id, "checklistLibraryID": library_id}, person_id=person
    )
    wanted = {f.name for f in backend.entity(items_entity).fields}
    for offset, item in enumerate(template, start=1):
        row = {
            key: parent_id,
            "itemName": item.get("itemName"),
            "isImportant": item.get("isImportant"),
            "knowledgebaseArticleID": item.get("knowledgebaseArticleID"),
            "position": position + offset,
            "isCompleted": False,
        }
        backend.create(items_entity, {k: v for k, v in row.items() if k in wanted}, person_id=person)
    return {"itemId": link_id}


@performer("ticket_checklist")
def ticket_checklist(backend: Backend, ids: list[int], body: Any, person: int | None) -> dict[str, Any]:
    return _apply_checklist(
        backend,
        ids,
        body,
        person,
        parent="Tickets",
        key="ticketID",
        items_entity="TicketChecklistItems",
        link_entity="TicketChecklistLibraries",
    )


@performer("document_checklist")
def document_checklist(backend: Backend, ids: list[int], body: Any, person: int | None) -> dict[str, Any]:
    return _apply_checklist(
        backend,
        ids,
        body,
        person,
        parent="Documents",
        key="documentID",
        items_entity="DocumentChecklistItems",
        link_entity="DocumentChecklistLibraries",
    )
