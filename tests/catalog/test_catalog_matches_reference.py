"""The generated catalog agrees with the reference's verb matrix (appendix A).

The reference lives in ../shared beside the project (CI has it); the product never reads it, only
this check does, so a regenerated catalog that drifts from the documented matrix fails here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from sdk_core.catalog import load_catalog

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "autotask-rest-api.md"
ROOT_CODES = {
    "Q": {"query"},
    "N": {"count"},
    "G": {"get"},
    "C": {"create"},
    "U(PUT)": {"update"},
    "P(PATCH)": {"patch"},
    "D": {"delete"},
}
CHILD_CODES = {"L": "list", "G": "get", "C": "create", "U(PUT)": "update", "P(PATCH)": "patch", "D": "delete"}
# Appendix A names three entities by their swagger tag; their URL segment carries an "s".
URL_NAMES = {
    "OrganizationalLevel1": "OrganizationalLevel1s",
    "OrganizationalLevel2": "OrganizationalLevel2s",
    "OrganizationalLevelAssociation": "OrganizationalLevelAssociations",
}


def http_shape(verbs: Iterable[str], method: Callable[[str], str] | None) -> set[str]:
    """Verbs as HTTP methods: the appendix lists `GET .../Approve` (a create action) as L."""
    plain = {
        "list": "GET",
        "get": "GET /{id}",
        "create": "POST",
        "update": "PUT",
        "patch": "PATCH",
        "delete": "DELETE",
    }
    return {(method(v) if method and method(v) != "POST" and v == "create" else plain[v]) for v in verbs}


def appendix_rows() -> list[tuple[str, str, str, set[str], list[str]]]:
    if not REFERENCE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI runs with the reference beside the project, but {REFERENCE} is missing")
        pytest.skip(f"reference not found at {REFERENCE}")
    text = REFERENCE.read_text()
    section = text.split("## Appendix A", 1)[1].split("## Appendix B", 1)[0]
    rows = []
    for line in section.splitlines():
        if not line.startswith("| "):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or cells[0] in ("Entity (URL name)",) or set(cells[0]) <= {"-"}:
            continue
        name, internal, root, child_path, child_verbs = cells
        verbs: set[str] = set()
        if root != "meta only":
            for code in root.split():
                verbs |= ROOT_CODES[code]
        paths = re.findall(r"`([^`]+)`", child_path)
        rows.append((URL_NAMES.get(name, name), internal, child_verbs, verbs, paths))
    return rows


def test_appendix_has_every_entity_and_221_are_queryable() -> None:
    catalog = load_catalog()
    rows = appendix_rows()
    assert len(rows) == 232
    assert {r[0] for r in rows} == {e.name for e in catalog}
    assert len(catalog.queryable()) == 221


def test_root_and_child_verbs_match_appendix_a() -> None:
    catalog = load_catalog()
    mismatches = []
    for name, internal, child_verbs, root_verbs, paths in appendix_rows():
        entity = catalog.get(name)
        if set(entity.root_verbs) != root_verbs:
            mismatches.append(f"{name}: root {sorted(entity.root_verbs)} != {sorted(root_verbs)}")
        if internal and entity.internal_name != internal:
            mismatches.append(f"{name}: internal {entity.internal_name} != {internal}")
        expected_child = {CHILD_CODES[c] for c in child_verbs.split()}
        for path in paths:
            route = next((p for p in entity.parents if p.path == path), None)
            if route is None:
                mismatches.append(f"{name}: missing parent route {path}")
            elif http_shape(route.verbs, route.method) != http_shape(expected_child, None):
                mismatches.append(f"{name}: {path} {sorted(route.verbs)} != {sorted(expected_child)}")
    assert not mismatches, "\n".join(mismatches)


def test_incremental_timestamps_follow_the_reference() -> None:
    catalog = load_catalog()
    expected = {
        "Tickets": "lastActivityDate",
        "TimeEntries": "lastModifiedDateTime",
        "Projects": "lastActivityDateTime",
        "Tasks": "lastActivityDateTime",
        "Contacts": "lastModifiedDate",
        "Companies": "lastActivityDate",
        "ConfigurationItems": "lastModifiedTime",
        "Contracts": "lastModifiedDateTime",
        "TicketNotes": "lastActivityDate",
        "Resources": None,
        "Invoices": None,
        "TicketCharges": None,  # statusLastModifiedDate only tracks status changes
    }
    got = {name: catalog.get(name).modification_timestamp for name in expected}
    assert got == expected


def test_unknown_entity_suggests_the_nearest_name() -> None:
    with pytest.raises(KeyError, match='Did you mean "TicketNotes"'):
        load_catalog().get("TiketNotes")
