"""Builds a deterministic MSP tenant into a SQLite file.

Same (scale, seed) => byte-for-byte the same file: one `random.Random(seed)`, a fixed anchor
date (timestamps spread over the two years before it), fixed iteration order, and no build
time stored. Rows go in with executemany in one big transaction; indexes are created last.
Scales: `tiny` (tests), `small` (demo), `large` (about a million tickets).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sdk_core.catalog import Catalog, load_catalog

from . import tenant_data as words
from .attachments import info_row, is_attachment, register_recipes
from .rows import NO_GENERIC_ROWS, RowMaker, ts
from .storage import create_schema, item_expression, quote

ANCHOR = datetime(2026, 10, 1, tzinfo=UTC)
SPAN = timedelta(days=730)
ID_BASE = 29_680_001
API_USER = "sandbox-api@example.com"


@dataclass(frozen=True)
class Scale:
    companies: int
    resources: int
    tickets: int
    notes_per_ticket: float
    time_per_ticket: float
    projects: int
    tasks_per_project: int
    contracts: int
    configuration_items: int
    opportunities: int
    quotes: int
    invoices: int
    billing_items: int
    generic_rows: int


SCALES: dict[str, Scale] = {
    "tiny": Scale(12, 10, 300, 1.5, 1.0, 4, 4, 10, 30, 10, 6, 15, 40, 3),
    "small": Scale(120, 30, 4000, 1.5, 1.0, 30, 6, 100, 400, 80, 50, 300, 1500, 5),
    "large": Scale(4000, 300, 1_000_000, 1.5, 1.0, 2000, 8, 3000, 30000, 3000, 2000, 30000, 200000, 5),
}
INDEXES = [
    ("Tickets", "lastActivityDate"),
    ("Tickets", "companyID"),
    ("TicketNotes", "ticketID"),
    ("TicketNotes", "lastActivityDate"),
    ("TimeEntries", "ticketID"),
    ("TimeEntries", "taskID"),
    ("TimeEntries", "lastModifiedDateTime"),
    ("Contacts", "companyID"),
    ("CompanyLocations", "companyID"),
    ("Tasks", "projectID"),
    ("Phases", "projectID"),
    ("ContractServices", "contractID"),
    ("ContractBlocks", "contractID"),
    ("ConfigurationItems", "companyID"),
    ("Contracts", "companyID"),
    ("Opportunities", "companyID"),
    ("BillingItems", "ticketID"),
]


def version_key() -> str:
    """Changes whenever the generator's code or the catalog changes (used by tenant caches)."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for name in ("generator.py", "rows.py", "attachments.py", "tenant_data.py", "storage.py", "values.py"):
        digest.update((here / name).read_bytes())
    digest.update(json_catalog_bytes())
    return digest.hexdigest()[:16]


def json_catalog_bytes() -> bytes:
    from importlib import resources

    return resources.files("sdk_core").joinpath("data/catalog.json").read_bytes()


class GenSource:
    """RowSource over the ids generated so far (kept in memory, per company where needed)."""

    def __init__(self) -> None:
        self.ids: dict[str, list[int]] = {}
        self.ranges: dict[str, tuple[int, int]] = {}
        self.by_company: dict[str, dict[int, list[int]]] = {}
        self.picklists: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self.udfs: dict[str, list[tuple[str, str, list[str]]]] = {}
        self.skip: dict[str, set[int]] = {}

    def random_id(self, entity: str, rng: random.Random, **match: int) -> int | None:
        if match:
            ids = self.by_company.get(entity, {}).get(match.get("companyID", -1), [])
            return rng.choice(ids) if ids else None
        if entity in self.ranges:
            first, last = self.ranges[entity]
            skip = self.skip.get(entity, ())
            while True:
                value = rng.randint(first, last)
                if value not in skip:
                    return value
        known = self.ids.get(entity)
        return rng.choice(known) if known else None

    def picklist_values(self, entity: str, field: str) -> list[tuple[str, str]]:
        return self.picklists.get((entity, field), [])

    def udf_definitions(self, entity: str) -> list[tuple[str, str, list[str]]]:
        return self.udfs.get(entity, [])


class Builder:
    """Writes rows in batches; tracks ids for references."""

    BATCH = 20000

    def __init__(self, conn: sqlite3.Connection, catalog: Catalog, rng: random.Random):
        self.conn = conn
        self.catalog = catalog
        self.rng = rng
        self.tables = create_schema(conn, catalog)
        self.src = GenSource()
        self.rows = RowMaker(catalog)
        self.pending: dict[str, list[tuple[Any, ...]]] = {}
        self.next_id: dict[str, int] = {}
        self.counts: dict[str, int] = {}

    def add(
        self,
        entity: str,
        when: datetime,
        fixed: dict[str, Any] | None = None,
        id_: int | None = None,
        track: str = "list",
    ) -> int:
        values, udfs = self.rows.make(entity, self.rng, self.src, when, fixed)
        return self.put(entity, values, udfs, id_, track)

    def put(
        self,
        entity: str,
        values: dict[str, Any],
        udfs: dict[str, Any] | None = None,
        id_: int | None = None,
        track: str = "list",
    ) -> int:
        table = self.tables[entity.lower()]
        if id_ is None:
            id_ = self.next_id.get(entity, ID_BASE)
        self.next_id[entity] = max(self.next_id.get(entity, ID_BASE), id_ + 1)
        values["id"] = id_
        row = [values.get(c) for c in table.columns]
        if table.has_udfs:
            row.append(_udf_json(udfs or {}))
        self.pending.setdefault(entity, []).append(tuple(row))
        if len(self.pending[entity]) >= self.BATCH:
            self.flush(entity)
        if track == "list":
            self.src.ids.setdefault(entity, []).append(id_)
        elif track == "range":
            first = self.src.ranges.get(entity, (id_, id_))[0]
            self.src.ranges[entity] = (first, id_)
        company = values.get("companyID")
        if company is not None and entity in COMPANY_INDEXED:
            self.src.by_company.setdefault(entity, {}).setdefault(company, []).append(id_)
        self.counts[entity] = self.counts.get(entity, 0) + 1
        return id_

    def flush(self, entity: str | None = None) -> None:
        for name in [entity] if entity else list(self.pending):
            rows = self.pending.pop(name, [])
            if not rows:
                continue
            table = self.tables[name.lower()]
            names = table.columns + (["_udfs"] if table.has_udfs else [])
            cols = ", ".join(quote(c) for c in names)
            udfs = [udf for udf, _, _ in self.src.udfs.get(table.name, [])]
            expr, params = item_expression(table, udfs)
            # the item JSON is rendered in the same statement, so rows are written once
            values = ", ".join(f"? AS {quote(c)}" for c in names)
            sql = (
                f'INSERT INTO {quote(table.name)} ({cols}, "_json") '
                f"SELECT {cols}, {expr} FROM (SELECT {values})"
            )
            prefix = tuple(params)
            self.conn.executemany(sql, [prefix + row for row in rows])


COMPANY_INDEXED = {"CompanyLocations", "Contacts", "Contracts", "ConfigurationItems", "Opportunities"}


def _udf_json(udfs: dict[str, Any]) -> str:
    return json.dumps(udfs, sort_keys=True)


def build_tenant(
    path: str | Path,
    scale: str = "tiny",
    seed: int = 1,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, int]:
    """Build the tenant into `path` (replaced if present); returns row counts per entity."""
    if scale not in SCALES:
        raise ValueError(f"Unknown scale {scale!r}; choose one of {', '.join(SCALES)}.")
    path = Path(path)
    tmp = path.with_name(path.name + f".building-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(str(tmp), isolation_level=None)
    conn.execute("PRAGMA page_size=16384")  # a ticket row with its item JSON is ~3 KB
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-200000")
    try:
        catalog = load_catalog()
        register_recipes(catalog)
        builder = Builder(conn, catalog, random.Random(seed))
        conn.execute("BEGIN")
        _populate(builder, SCALES[scale], seed, scale, progress or (lambda *_: None))
        builder.flush()
        for entity, column in INDEXES:
            conn.execute(
                f"CREATE INDEX IF NOT EXISTS {quote('ix_' + entity + '_' + column)} "
                f"ON {quote(entity)} ({quote(column)})"
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.close()
        tmp.unlink(missing_ok=True)
        raise
    conn.close()
    os.replace(tmp, path)
    return builder.counts


def _populate(b: Builder, s: Scale, seed: int, scale: str, progress: Callable[[str, int, int], None]) -> None:
    rng = b.rng
    start = ANCHOR - SPAN

    def at(fraction: float) -> datetime:
        return start + SPAN * min(max(fraction, 0.0), 1.0) + timedelta(seconds=rng.randint(0, 3600))

    def anywhen() -> datetime:
        return at(rng.random())

    _picklists(b, rng)
    _meta(b, seed, scale)
    progress("reference data", 0, 1)
    for name in words.DEPARTMENTS:
        b.put(
            "Departments",
            {"name": name, "description": f"{name} department", "number": str(rng.randint(100, 999))},
        )
    for name in words.ROLES:
        rate = float(rng.choice([85, 95, 125, 150, 175]))
        b.put(
            "Roles",
            {
                "name": name,
                "description": name,
                "hourlyRate": rate,
                "hourlyFactor": 1.0,
                "isActive": True,
                "isSystemRole": False,
                "isExcludedFromNewContracts": False,
                "roleType": 1,
            },
        )
    api_values, _ = b.rows.make("Resources", rng, b.src, start)
    api_values.update(
        firstName="Sandbox",
        lastName="API User",
        email=API_USER,
        userName=API_USER,
        licenseType=7,
        resourceType="API User",
        title="API User (API-only)",
    )
    api_id = b.put("Resources", api_values)
    b.conn.execute("INSERT INTO _meta VALUES ('api_resource_id', ?)", (str(api_id),))
    for i in range(s.resources - 1):
        # the last two are former employees (inactive), e.g. for impersonation checks
        b.add("Resources", anywhen(), {"isActive": False} if i >= s.resources - 3 else None)
    for resource in list(b.src.ids["Resources"]):
        b.put("ResourceTimeOffAdditional", _time_off_allowance(rng, resource))
    for entity in ("BillingCodes", "Services", "Products", "ConfigurationItemTypes"):
        for _ in range(max(4, s.generic_rows * 2)):
            b.add(entity, anywhen())
    msp = b.rows.make("Companies", rng, b.src, start)[0]
    msp.update(companyName="Sandbox MSP (own company)", companyType=8, isActive=True)
    b.put("Companies", msp, {}, id_=0)
    b.next_id["Companies"] = ID_BASE
    progress("companies", 0, s.companies)
    for _ in range(s.companies):
        when = at(rng.random() * 0.3)
        cid = b.add("Companies", when)
        for j in range(rng.randint(1, 2)):
            b.add("CompanyLocations", when, {"companyID": cid, "isPrimary": j == 0})
        for _ in range(rng.randint(2, 6)):
            b.add("Contacts", at(rng.random()), {"companyID": cid})
    for _ in range(s.contracts):
        when = at(rng.random() * 0.8)
        contract = b.add("Contracts", when)
        for _ in range(rng.randint(1, 3)):
            b.put(
                "ContractServices",
                {
                    "contractID": contract,
                    "serviceID": b.src.random_id("Services", rng),
                    "unitPrice": float(rng.randint(10, 300)),
                    "unitCost": float(rng.randint(5, 100)),
                    "invoiceDescription": rng.choice(words.PRODUCT_WORDS),
                },
            )
        if rng.random() < 0.4:
            b.put(
                "ContractBlocks",
                {
                    "contractID": contract,
                    "hours": float(rng.choice([10, 20, 40])),
                    "hourlyRate": float(rng.choice([95, 125])),
                    "datePurchased": ts(when),
                    "startDate": ts(when),
                    "endDate": ts(when + timedelta(days=365)),
                    "isPaid": True,
                    "status": 1,
                    "hoursApproved": 0.0,
                },
            )
    for _ in range(s.configuration_items):
        b.add("ConfigurationItems", anywhen())
    for _ in range(s.opportunities):
        b.add("Opportunities", anywhen())
    for _ in range(s.quotes):
        b.add("Quotes", anywhen())
    tasks: list[tuple[int, datetime]] = []
    for _ in range(s.projects):
        when = anywhen()
        project = b.add("Projects", when)
        phases = [b.add("Phases", when, {"projectID": project}) for _ in range(2)]
        for _ in range(s.tasks_per_project):
            task = b.add(
                "Tasks",
                when + timedelta(days=rng.randint(0, 30)),
                {"projectID": project, "phaseID": rng.choice(phases)},
            )
            tasks.append((task, when))
    for task, when in tasks:
        for _ in range(rng.randint(0, 3)):
            b.add("TimeEntries", min(when + timedelta(days=rng.randint(0, 40)), ANCHOR), {"taskID": task})
    _tickets(b, s, at, progress)
    for _ in range(s.invoices):
        b.add("Invoices", anywhen())
    for _ in range(s.billing_items):
        b.add("BillingItems", anywhen())
    _udf_definition_rows(b)
    progress("other entities", 0, 1)
    done = {
        "Departments",
        "Roles",
        "Resources",
        "BillingCodes",
        "Services",
        "Products",
        "ConfigurationItemTypes",
        "Companies",
        "CompanyLocations",
        "Contacts",
        "Contracts",
        "ContractServices",
        "ContractBlocks",
        "ConfigurationItems",
        "Opportunities",
        "Quotes",
        "Projects",
        "Phases",
        "Tasks",
        "TimeEntries",
        "Tickets",
        "TicketNotes",
        "Invoices",
        "BillingItems",
        "DeletedTicketLogs",
        "UserDefinedFieldDefinitions",
        "AttachmentInfo",
    }
    for info in b.catalog:
        if (
            not info.queryable
            or info.name in done
            or not info.fields
            or is_attachment(info)
            or any(word in info.name for word in NO_GENERIC_ROWS)
        ):
            continue
        for _ in range(s.generic_rows):
            b.add(info.name, anywhen())
    _attachments(b, s, anywhen)


def _attachments(b: Builder, s: Scale, anywhen: Callable[[], datetime]) -> None:
    """Attachments of every kind after their parents exist, ids from one global sequence, each
    with its AttachmentInfo row."""
    next_id = ID_BASE
    for info in b.catalog:
        if not is_attachment(info) or not info.parents:
            continue
        for _ in range(s.generic_rows):
            values, udfs = b.rows.make(info.name, b.rng, b.src, anywhen())
            b.put(info.name, values, udfs, id_=next_id)
            b.put("AttachmentInfo", info_row(info, values, b.catalog), id_=next_id)
            next_id += 1


def _tickets(
    b: Builder, s: Scale, at: Callable[[float], datetime], progress: Callable[[str, int, int], None]
) -> None:
    rng = b.rng
    deleted = b.src.skip.setdefault("Tickets", set())
    api_resources = b.src.ids["Resources"]
    step = max(1, s.tickets // 100)
    for i in range(s.tickets):
        if i % step == 0:
            progress("tickets", i, s.tickets)
        created = at(i / s.tickets)
        values, udfs = b.rows.make("Tickets", rng, b.src, created)
        last = min(created + timedelta(minutes=int(rng.expovariate(1 / 4000))), ANCHOR)
        tid = b.next_id.get("Tickets", ID_BASE)
        if rng.random() < 0.01:
            b.next_id["Tickets"] = tid + 1
            deleted.add(tid)
            b.put(
                "DeletedTicketLogs",
                {
                    "ticketID": tid,
                    "ticketNumber": values["ticketNumber"],
                    "ticketTitle": values["title"],
                    "deletedByResourceID": rng.choice(api_resources),
                    "deletedDateTime": ts(last),
                },
            )
            continue
        events: list[tuple[str, datetime]] = []
        for _ in range(_poisson(rng, s.notes_per_ticket)):
            events.append(("TicketNotes", created + (last - created) * rng.random()))
        for _ in range(_poisson(rng, s.time_per_ticket)):
            events.append(("TimeEntries", created + (last - created) * rng.random()))
        values["lastActivityDate"] = values["lastTrackedModificationDateTime"] = ts(last)
        b.put("Tickets", values, udfs, track="range")
        for entity, when in events:
            b.add(entity, when, {"ticketID": tid}, track="none")
    progress("tickets", s.tickets, s.tickets)


def _time_off_allowance(rng: random.Random, resource: int) -> dict[str, Any]:
    """A resource's time off allowance (hours) for the anchor year and the next one."""
    row: dict[str, Any] = {"resourceID": resource}
    for prefix, year in (("currentYear", ANCHOR.year), ("nextYear", ANCHOR.year + 1)):
        row[prefix] = year
        for kind, annual in (
            ("VacationTime", rng.choice([80.0, 120.0, 160.0])),
            ("PersonalTime", 24.0),
            ("SickTime", 40.0),
            ("FloatingHoliday", 16.0),
        ):
            row[f"{prefix}Annual{kind}"] = annual
            row[f"{prefix}Additional{kind}"] = rng.choice([0.0, 0.0, 8.0, 16.0])
    return row


def _poisson(rng: random.Random, mean: float) -> int:
    count, threshold, product = 0, pow(2.718281828459045, -mean), rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count


def _picklists(b: Builder, rng: random.Random) -> None:
    rows: list[tuple[Any, ...]] = []

    def add(
        entity: str,
        field: str,
        values: list[tuple[int, str]],
        parent: dict[int, int] | None = None,
        is_udf: bool = False,
    ) -> None:
        default = rng.randrange(len(values))
        for order, (value, label) in enumerate(values):
            parent_value = str(parent[value]) if parent else ""
            rows.append(
                (
                    entity,
                    field,
                    int(is_udf),
                    str(value),
                    label,
                    int(order == default),
                    order,
                    parent_value,
                    1,
                    int(not parent and not is_udf and value < 20),
                )
            )
            b.src.picklists.setdefault((entity, field), []).append((str(value), parent_value))

    for (entity, field), values in words.SYSTEM_PICKLISTS.items():
        add(entity, field, values)
    queues = rng.sample(words.QUEUE_POOL, rng.randint(5, 8))
    add("Tickets", "queueID", [(29_682_800 + rng.randint(1, 199) * 7 + i, q) for i, q in enumerate(queues)])
    issues = rng.sample(sorted(words.ISSUE_POOL), rng.randint(5, 7))
    issue_values = [(i + 1, name) for i, name in enumerate(issues)]
    add("Tickets", "issueType", issue_values)
    subs: list[tuple[int, str]] = []
    parents: dict[int, int] = {}
    for value, name in issue_values:
        for sub in rng.sample(words.ISSUE_POOL[name], rng.randint(2, len(words.ISSUE_POOL[name]))):
            sub_value = 100 + len(subs) + 1
            subs.append((sub_value, sub))
            parents[sub_value] = value
    add("Tickets", "subIssueType", subs, parents)
    udf_rows = []
    for entity, defs in words.UDFS.items():
        b.src.udfs[entity] = []
        for order, (name, kind, labels) in enumerate(defs):
            numbers = [str(i + 1) for i in range(len(labels))] if labels else []
            b.src.udfs[entity].append((name, kind, numbers))
            udf_rows.append(
                (
                    entity,
                    name,
                    name,
                    kind,
                    8000 if kind == "string" else 0,
                    f"{name} (sandbox UDF)",
                    0,
                    int(bool(labels)),
                    order,
                )
            )
            if labels:
                add(entity, name, [(i + 1, label) for i, label in enumerate(labels)], is_udf=True)
    b.conn.executemany("INSERT INTO _picklists VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    b.conn.executemany("INSERT INTO _udf_defs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", udf_rows)


def _udf_definition_rows(b: Builder) -> None:
    udf_types = {"Companies": 1, "Contacts": 2, "Tickets": 3}
    data_types = {"string": 1, "double": 2, "datetime": 3}
    info = b.catalog.get("UserDefinedFieldDefinitions")
    for entity, defs in words.UDFS.items():
        for order, (name, kind, _labels) in enumerate(defs):
            values = {
                "name": name,
                "description": f"{name} (sandbox UDF)",
                "udfType": udf_types[entity],
                "dataType": data_types[kind],
                "isActive": True,
                "isRequired": False,
                "isProtected": False,
                "isEncrypted": False,
                "isPrivate": False,
                "isFieldMapping": False,
                "isVisibleToClientPortal": False,
                "displayFormat": 1,
                "sortOrder": order,
                "createDate": ts(ANCHOR - SPAN),
            }
            b.put(
                "UserDefinedFieldDefinitions", {k: v for k, v in values.items() if info.field(k) is not None}
            )


def _meta(b: Builder, seed: int, scale: str) -> None:
    b.conn.executemany(
        "INSERT INTO _meta VALUES (?, ?)",
        [
            ("seed", str(seed)),
            ("scale", scale),
            ("anchor", ts(ANCHOR)),
            ("version", version_key()),
        ],
    )
