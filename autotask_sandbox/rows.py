"""Plausible rows for any catalog entity, respecting references and picklists.

`RowMaker.make(entity, rng, source, when)` is used by the tenant generator and, at run time, by
whoever needs "a plausible new row" (the activity simulator): `source` answers random existing
ids (optionally of one company), picklist values and UDF definitions, so the same recipes work
against the generator's in-memory id ranges and against the live database.
The result maps camelCase field names to storable values (datetimes as stored text) plus a
dict of UDF values by name.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from sdk_core.catalog import Catalog, EntityInfo

from . import tenant_data as words
from .values import format_datetime


class RowSource(Protocol):
    """What row recipes need to know about the tenant they add to."""

    def random_id(self, entity: str, rng: random.Random, **match: int) -> int | None: ...

    def picklist_values(self, entity: str, field: str) -> list[tuple[str, str]]:
        """[(value, parentValue)] of a field's picklist; empty when it has none."""
        ...

    def udf_definitions(self, entity: str) -> list[tuple[str, str, list[str]]]:
        """[(name, type, picklist values)] of an entity's UDFs."""
        ...


Recipe = Callable[["RowMaker", random.Random, RowSource, datetime, dict[str, Any]], dict[str, Any]]
RECIPES: dict[str, Recipe] = {}
# Entities whose rows only the generator's dedicated code (or the API) creates.
NO_GENERIC_ROWS = ("Webhook", "DeletedTicket", "DeletedTask", "UserDefinedField")


def recipe(entity: str) -> Callable[[Recipe], Recipe]:
    def register(fn: Recipe) -> Recipe:
        RECIPES[entity] = fn
        return fn

    return register


def pick_value(
    rng: random.Random, src: RowSource, entity: str, field: str, parent: str | None = None
) -> int | None:
    values = src.picklist_values(entity, field)
    if parent is not None:
        values = [(v, p) for v, p in values if p == parent]
    return int(rng.choice(values)[0]) if values else None


def person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(words.FIRST_NAMES), rng.choice(words.LAST_NAMES)


def ts(value: datetime) -> str:
    return format_datetime(value)


class RowMaker:
    """Makes rows; dedicated recipes for the main entities, typed filler for the others."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    def make(
        self,
        entity: str,
        rng: random.Random,
        src: RowSource,
        when: datetime,
        fixed: dict[str, Any] | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        info = self.catalog.get(entity)
        fixed = dict(fixed or {})
        maker = RECIPES.get(info.name)
        values = maker(self, rng, src, when, fixed) if maker else self.generic(info, rng, src, when)
        values.update(fixed)
        for name in (info.creation_timestamp, info.modification_timestamp):
            if name and values.get(name) is None:
                values[name] = ts(when)
        udfs = self.udfs(info, rng, src, when)
        return values, udfs

    def udfs(self, info: EntityInfo, rng: random.Random, src: RowSource, when: datetime) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, kind, choices in src.udf_definitions(info.name):
            if rng.random() < 0.25:
                continue
            if choices:
                out[name] = rng.choice(choices)
            elif kind == "double":
                out[name] = float(rng.randint(1, 500))
            elif kind == "datetime":
                out[name] = ts(
                    (when + timedelta(days=rng.randint(-200, 400))).replace(
                        hour=0, minute=0, second=0, microsecond=0
                    )
                )
            else:
                out[name] = f"{name} {rng.randint(100, 999)}"
        return out

    def generic(self, info: EntityInfo, rng: random.Random, src: RowSource, when: datetime) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for f in info.fields:
            if f.name == "id":
                continue
            if f.reference:
                values[f.name] = src.random_id(f.reference, rng)
            elif src.picklist_values(info.name, f.name):
                values[f.name] = pick_value(rng, src, info.name, f.name)
            elif f.data_type in ("integer", "long"):
                values[f.name] = rng.randint(1, 20) if not f.name.endswith("ID") else None
            elif f.data_type == "double":
                values[f.name] = round(rng.uniform(0, 500), 2)
            elif f.data_type == "boolean":
                values[f.name] = rng.random() < 0.5
            elif f.data_type == "datetime":
                values[f.name] = ts(when - timedelta(minutes=rng.randint(0, 60 * 24 * 60)))
            elif f.data_type == "string":
                values[f.name] = f"{f.label} {rng.randint(1, 999)}"
        return values


def _company(src: RowSource, rng: random.Random, fixed: dict[str, Any]) -> int | None:
    if "companyID" in fixed:
        return fixed["companyID"]
    return src.random_id("Companies", rng)


@recipe("Companies")
def _companies(
    rm: RowMaker, rng: random.Random, src: RowSource, when: datetime, fixed: dict[str, Any]
) -> dict[str, Any]:
    city, state = rng.choice(words.CITIES)
    name = f"{rng.choice(words.COMPANY_WORDS)} {rng.choice(words.COMPANY_SUFFIX)}"
    return {
        "companyName": name,
        "companyNumber": str(rng.randint(10000, 99999)),
        "companyType": pick_value(rng, src, "Companies", "companyType"),
        "address1": f"{rng.randint(1, 9999)} {rng.choice(words.STREETS)}",
        "address2": None,
        "city": city,
        "state": state,
        "postalCode": f"{rng.randint(10000, 99999)}",
        "countryID": 237,
        "phone": f"(555) 555-{rng.randint(1000, 9999)}",
        "webAddress": f"www.{name.split()[0].lower()}{rng.randint(1, 99)}.example.com",
        "isActive": rng.random() < 0.92,
        "isClientPortalActive": rng.random() < 0.3,
        "isTaskFireActive": False,
        "isTaxExempt": False,
        "isSample": False,
        "isEnabledForComanaged": False,
        "ownerResourceID": src.random_id("Resources", rng),
        "createdByResourceID": src.random_id("Resources", rng),
        "taxID": "",
        "createDate": ts(when),
        "lastActivityDate": ts(when),
        "lastTrackedModifiedDateTime": ts(when),
    }


@recipe("CompanyLocations")
def _locations(
    rm: RowMaker, rng: random.Random, src: RowSource, when: datetime, fixed: dict[str, Any]
) -> dict[str, Any]:
    city, state = rng.choice(words.CITIES)
    return {
        "companyID": _company(src, rng, fixed),
        "name": f"{city} Office",
        "address1": f"{rng.randint(1, 9999)} {rng.choice(words.STREETS)}",
        "city": city,
        "state": state,
        "postalCode": f"{rng.randint(10000, 99999)}",
        "countryID": 237,
        "isActive": True,
        "isPrimary": False,
        "isTaxExempt": False,
        "overrideCompanyTaxSettings": False,
        "phone": f"(555) 555-{rng.randint(1000, 9999)}",
    }


@recipe("Contacts")
def _contacts(
    rm: RowMaker, rng: random.Random, src: RowSource, when: datetime, fixed: dict[str, Any]
) -> dict[str, Any]:
    first, last = person(rng)
    company = _company(src, rng, fixed)
    return {
        "companyID": company,
        "firstName": first,
        "lastName": last,
        "middleInitial": None,
        "companyLocationID": src.random_id("CompanyLocations", rng, companyID=company)
        if company is not None
        else None,
        "emailAddress": f"{first}.{last}{rng.randint(1, 999)}@example.com".lower(),
        "phone": f"(555) 555-{rng.randint(1000, 9999)}",
        "title": rng.choice(["Office Manager", "CFO", "IT Contact", "Owner", "Receptionist", "Director"]),
        "isActive": 1 if rng.random() < 0.93 else 0,
        "primaryContact": rng.random() < 0.2,
        "isOptedOutFromBulkEmail": False,
        "receivesEmailNotifications": True,
        "createDate": ts(when),
        "lastActivityDate": ts(when),
        "lastModifiedDate": ts(when),
    }


@recipe("Resources")
def _resources(
    rm: RowMaker, rng: random.Random, src: RowSource, when: datetime, fixed: dict[str, Any]
) -> dict[str, Any]:
    first, last = person(rng)
    login = f"{first[0]}{last}{rng.randint(1, 99)}".lower()
    return {
        "firstName": first,
        "lastName": last,
        "initials": f"{first[0]}{last[0]}",
        "email": f"{login}@msp.example.com",
        "userName": login,
        "isActive": True,
        "resourceType": "Employee",
        "licenseType": 1,
        "userType": 1,
        "title": rng.choice(words.ROLES),
        "hireDate": ts(when - timedelta(days=rng.randint(30, 3000))),
        "defaultServiceDeskRoleID": src.random_id("Roles", rng),
        "officePhone": f"(555) 555-{rng.randint(1000, 9999)}",
        "travelAvailabilityPct": "50",
        "internalCost": round(rng.uniform(30, 90), 2),
    }


@recipe("Tickets")
def _tickets(
    rm: RowMaker, rng: random.Random, src: RowSource, when: datetime, fixed: dict[str, Any]
) -> dict[str, Any]:
    company = _company(src, rng, fixed)
    issue = pick_value(rng, src, "Tickets", "issueType")
    status = pick_value(rng, src, "Tickets", "status")
    assigned = src.random_id("Resources", rng) if rng.random() < 0.85 else None
    subject = rng.choice(words.TICKET_SUBJECTS)
    values = {
        "companyID": company,
        "title": subject,
        "description": f"{subject}. {rng.choice(words.NOTE_PHRASES)}",
        "contactID": src.random_id("Contacts", rng, companyID=company)
        if company and rng.random() < 0.9
        else None,
        "companyLocationID": src.random_id("CompanyLocations", rng, companyID=company) if company else None,
        "status": status,
        "priority": pick_value(rng, src, "Tickets", "priority"),
        "queueID": pick_value(rng, src, "Tickets", "queueID"),
        "issueType": issue,
        "subIssueType": pick_value(rng, src, "Tickets", "subIssueType", str(issue))
        if issue is not None
        else None,
        "ticketType": pick_value(rng, src, "Tickets", "ticketType"),
        "source": pick_value(rng, src, "Tickets", "source"),
        "ticketCategory": pick_value(rng, src, "Tickets", "ticketCategory"),
        "assignedResourceID": assigned,
        "assignedResourceRoleID": src.random_id("Roles", rng) if assigned else None,
        "contractID": src.random_id("Contracts", rng, companyID=company)
        if company and rng.random() < 0.4
        else None,
        "configurationItemID": src.random_id("ConfigurationItems", rng, companyID=company)
        if company and rng.random() < 0.25
        else None,
        "creatorResourceID": src.random_id("Resources", rng),
        "creatorType": 1,
        "lastActivityPersonType": 1,
        "lastActivityResourceID": assigned,
        "estimatedHours": round(rng.choice([0.5, 1, 1.5, 2, 4, 8]), 2),
        "hoursToBeScheduled": 0.0,
        "createDate": ts(when),
        "dueDateTime": ts(when + timedelta(days=rng.randint(1, 10))),
        "lastActivityDate": ts(when),
        "lastTrackedModificationDateTime": ts(when),
        "ticketNumber": f"T{when:%Y%m%d}.{rng.randint(1, 9999):04d}",
        "isAssignedToComanaged": False,
        "isVisibleToComanaged": False,
        "serviceLevelAgreementHasBeenMet": rng.random() < 0.8,
        "externalID": "",
        "purchaseOrderNumber": "",
        "resolution": "",
    }
    if status == 5:
        values["completedDate"] = values["resolvedDateTime"] = ts(when)
        values["completedByResourceID"] = assigned
        values["resolution"] = rng.choice(words.NOTE_PHRASES)
    return values


@recipe("TicketNotes")
def _ticket_notes(
    rm: RowMaker, rng: random.Random, src: RowSource, when: datetime, fixed: dict[str, Any]
) -> dict[str, Any]:
    phrase = rng.choice(words.NOTE_PHRASES)
    return {
        "ticketID": fixed.get("ticketID") or src.random_id("Tickets", rng),
        "title": phrase.split(",")[0].rstrip("."),
        "description": phrase,
        "noteType": pick_value(rng, src, "TicketNotes", "noteType"),
        "publish": pick_value(rng, src, "TicketNotes", "publish"),
        "creatorResourceID": src.random_id("Resources", rng),
        "createdByContactID": None,
        "createDateTime": ts(when),
        "lastActivityDate": ts(when),
    }


@recipe("TimeEntries")
def _time_entries(
    rm: RowMaker, rng: random.Random, src: RowSource, when: datetime, fixed: dict[str, Any]
) -> dict[str, Any]:
    hours = rng.choice([0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0])
    start = when - timedelta(hours=hours)
    on_task = "taskID" in fixed
    return {
        "ticketID": None if on_task else fixed.get("ticketID") or src.random_id("Tickets", rng),
        "taskID": fixed.get("taskID"),
        "resourceID": src.random_id("Resources", rng),
        "roleID": src.random_id("Roles", rng),
        "billingCodeID": src.random_id("BillingCodes", rng),
        "dateWorked": ts(start.replace(hour=0, minute=0, second=0, microsecond=0)),
        "startDateTime": ts(start),
        "endDateTime": ts(when),
        "hoursWorked": hours,
        "hoursToBill": hours,
        "offsetHours": 0.0,
        "summaryNotes": rng.choice(words.NOTE_PHRASES),
        "internalNotes": "",
        "isNonBillable": rng.random() < 0.15,
        "showOnInvoice": True,
        "timeEntryType": 6 if on_task else 2,
        "createDateTime": ts(when),
        "lastModifiedDateTime": ts(when),
        "isInternalNotesVisibleToComanaged": False,
    }


@recipe("Projects")
def _projects(
    rm: RowMaker, rng: random.Random, src: RowSource, when: datetime, fixed: dict[str, Any]
) -> dict[str, Any]:
    company = _company(src, rng, fixed)
    return {
        "companyID": company,
        "projectName": rng.choice(words.PROJECT_NAMES),
        "projectNumber": f"P{when:%Y%m%d}.{rng.randint(1, 999):04d}",
        "projectType": 4,
        "status": pick_value(rng, src, "Projects", "status"),
        "projectLeadResourceID": src.random_id("Resources", rng),
        "creatorResourceID": src.random_id("Resources", rng),
        "startDateTime": ts(when),
        "endDateTime": ts(when + timedelta(days=rng.randint(20, 120))),
        "estimatedTime": float(rng.randint(20, 300)),
        "description": "Scoped project",
        "createDateTime": ts(when),
        "lastActivityDateTime": ts(when),
        "lastActivityPersonType": 1,
        "contractID": src.random_id("Contracts", rng, companyID=company) if company else None,
    }


@recipe("Phases")
def _phases(
    rm: RowMaker, rng: random.Random, src: RowSource, when: datetime, fixed: dict[str, Any]
) -> dict[str, Any]:
    return {
        "projectID": fixed.get("projectID") or src.random_id("Projects", rng),
        "title": rng.choice(["Planning", "Execution", "Closing", "Rollout"]),
        "description": "Project phase",
        "estimatedHours": float(rng.randint(5, 80)),
        "startDate": ts(when),
        "dueDate": ts(when + timedelta(days=rng.randint(10, 60))),
        "isScheduled": True,
        "creatorResourceID": src.random_id("Resources", rng),
        "createDate": ts(when),
        "lastActivityDateTime": ts(when),
    }


@recipe("Tasks")
def _tasks(
    rm: RowMaker, rng: random.Random, src: RowSource, when: datetime, fixed: dict[str, Any]
) -> dict[str, Any]:
    assigned = src.random_id("Resources", rng)
    return {
        "projectID": fixed.get("projectID") or src.random_id("Projects", rng),
        "phaseID": fixed.get("phaseID"),
        "title": rng.choice(words.TASK_NAMES),
        "description": "Project task",
        "status": pick_value(rng, src, "Tasks", "status"),
        "assignedResourceID": assigned,
        "assignedResourceRoleID": src.random_id("Roles", rng),
        "billingCodeID": src.random_id("BillingCodes", rng),
        "departmentID": src.random_id("Departments", rng),
        "estimatedHours": float(rng.randint(1, 24)),
        "hoursToBeScheduled": 0.0,
        "remainingHours": float(rng.randint(0, 12)),
        "isTaskBillable": True,
        "isVisibleInClientPortal": False,
        "canClientPortalUserCompleteTask": False,
        "taskType": 1,
        "priority": rng.randint(1, 5),
        "creatorType": 1,
        "creatorResourceID": src.random_id("Resources", rng),
        "lastActivityPersonType": 1,
        "startDateTime": ts(when),
        "endDateTime": ts(when + timedelta(days=rng.randint(1, 20))),
        "taskNumber": f"T{rng.randint(10000, 99999)}",
        "createDateTime": ts(when),
        "lastActivityDateTime": ts(when),
        "lastActivityResourceID": assigned,
    }


@recipe("Contracts")
def _contracts(
    rm: RowMaker, rng: random.Random, src: RowSource, when: datetime, fixed: dict[str, Any]
) -> dict[str, Any]:
    company = _company(src, rng, fixed)
    kind = pick_value(rng, src, "Contracts", "contractType")
    return {
        "companyID": company,
        "contractName": f"{rng.choice(words.PRODUCT_WORDS)} Agreement",
        "contractNumber": f"C-{rng.randint(1000, 9999)}",
        "contractType": kind,
        "status": 1 if rng.random() < 0.85 else 0,
        "contractCategory": 1,
        "contactID": src.random_id("Contacts", rng, companyID=company) if company else None,
        "startDate": ts(when.replace(hour=0, minute=0, second=0, microsecond=0)),
        "endDate": ts((when + timedelta(days=365)).replace(hour=0, minute=0, second=0, microsecond=0)),
        "isDefaultContract": False,
        "isCompliant": True,
        "contractPeriodType": "m",
        "timeReportingRequiresStartAndStopTimes": 0,
        "billingPreference": 1,
        "estimatedHours": float(rng.randint(0, 200)),
        "estimatedRevenue": float(rng.randint(0, 90000)),
        "setupFee": 0.0,
        "lastModifiedDateTime": ts(when),
        "description": "Managed services",
    }


@recipe("ConfigurationItems")
def _configuration_items(
    rm: RowMaker, rng: random.Random, src: RowSource, when: datetime, fixed: dict[str, Any]
) -> dict[str, Any]:
    company = _company(src, rng, fixed)
    host = f"{rng.choice(['WS', 'SRV', 'LT', 'FW', 'SW'])}-{rng.randint(100, 999)}"
    return {
        "companyID": company,
        "referenceTitle": host,
        "serialNumber": f"SN{rng.randint(10**7, 10**8)}",
        "configurationItemType": src.random_id("ConfigurationItemTypes", rng),
        "productID": src.random_id("Products", rng),
        "isActive": rng.random() < 0.9,
        "installDate": ts(when),
        "contactID": src.random_id("Contacts", rng, companyID=company) if company else None,
        "rmmDeviceAuditHostname": host,
        "numberOfUsers": 1.0,
        "createDate": ts(when),
        "lastModifiedTime": ts(when),
        "location": "Main office",
        "warrantyExpirationDate": ts(when + timedelta(days=rng.randint(200, 1100))),
    }


@recipe("Opportunities")
def _opportunities(
    rm: RowMaker, rng: random.Random, src: RowSource, when: datetime, fixed: dict[str, Any]
) -> dict[str, Any]:
    company = _company(src, rng, fixed)
    amount = float(rng.randint(1, 200) * 500)
    return {
        "companyID": company,
        "title": f"{rng.choice(words.PRODUCT_WORDS)} expansion",
        "contactID": src.random_id("Contacts", rng, companyID=company) if company else None,
        "amount": amount,
        "cost": round(amount * 0.6, 2),
        "probability": rng.choice([10, 25, 50, 75, 90]),
        "stage": pick_value(rng, src, "Opportunities", "stage"),
        "status": pick_value(rng, src, "Opportunities", "status"),
        "ownerResourceID": src.random_id("Resources", rng),
        "creatorResourceID": src.random_id("Resources", rng),
        "projectedCloseDate": ts(when + timedelta(days=rng.randint(10, 120))),
        "rating": 1,
        "totalAmountMonths": 12,
        "useQuoteTotals": False,
        "createDate": ts(when),
        "lastActivity": ts(when),
        "startDate": ts(when),
    }


@recipe("Quotes")
def _quotes(
    rm: RowMaker, rng: random.Random, src: RowSource, when: datetime, fixed: dict[str, Any]
) -> dict[str, Any]:
    company = _company(src, rng, fixed)
    return {
        "companyID": company,
        "name": f"Quote for {rng.choice(words.PRODUCT_WORDS)}",
        "opportunityID": src.random_id("Opportunities", rng, companyID=company) if company else None,
        "contactID": src.random_id("Contacts", rng, companyID=company) if company else None,
        "creatorResourceID": src.random_id("Resources", rng),
        "isActive": True,
        "quoteNumber": str(rng.randint(1000, 99999)),
        "effectiveDate": ts(when),
        "expirationDate": ts(when + timedelta(days=30)),
        "primaryQuote": True,
        "calculateTaxSeparately": False,
        "showEachTaxInGroup": False,
        "showTaxCategory": False,
        "createDate": ts(when),
        "lastActivityDate": ts(when),
    }


@recipe("Invoices")
def _invoices(
    rm: RowMaker, rng: random.Random, src: RowSource, when: datetime, fixed: dict[str, Any]
) -> dict[str, Any]:
    total = round(rng.uniform(100, 20000), 2)
    paid = rng.random() < 0.7
    return {
        "companyID": _company(src, rng, fixed),
        "invoiceNumber": str(rng.randint(10000, 999999)),
        "invoiceDateTime": ts(when),
        "createDateTime": ts(when),
        "creatorResourceID": src.random_id("Resources", rng),
        "fromDate": ts(when - timedelta(days=30)),
        "toDate": ts(when),
        "dueDate": ts(when + timedelta(days=30)),
        "invoiceTotal": total,
        "totalTaxValue": round(total * 0.07, 2),
        "isVoided": False,
        "paidDate": ts(when + timedelta(days=rng.randint(3, 40))) if paid else None,
        "invoiceStatus": 2 if paid else 1,
        "paymentTerm": 1,
    }


@recipe("BillingItems")
def _billing_items(
    rm: RowMaker, rng: random.Random, src: RowSource, when: datetime, fixed: dict[str, Any]
) -> dict[str, Any]:
    quantity = float(rng.randint(1, 8))
    rate = float(rng.choice([95, 125, 150, 175]))
    return {
        "companyID": _company(src, rng, fixed),
        "ticketID": src.random_id("Tickets", rng),
        "timeEntryID": src.random_id("TimeEntries", rng),
        "invoiceID": src.random_id("Invoices", rng),
        "billingCodeID": src.random_id("BillingCodes", rng),
        "roleID": src.random_id("Roles", rng),
        "itemName": "Labour",
        "description": rng.choice(words.NOTE_PHRASES),
        "quantity": quantity,
        "rate": rate,
        "extendedPrice": quantity * rate,
        "totalAmount": quantity * rate,
        "ourCost": quantity * 40,
        "itemDate": ts(when),
        "postedDate": ts(when),
        "billingItemType": 1,
        "subType": 1,
        "nonBillable": False,
        "webServiceDate": ts(when),
    }
