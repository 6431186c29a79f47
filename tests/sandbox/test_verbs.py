"""Every route of the catalog's verb matrix (appendix A): allowed verbs reach their handler,
forbidden ones get 404 (no such route) or 405 (route exists, wrong method). Write verbs are
probed with bodies the backend rejects, so the shared tenant is never changed."""

from __future__ import annotations

from typing import Any

import pytest

from sdk_core.catalog import load_catalog

CATALOG = load_catalog()
MISSING = 2_000_000_000
NOT_ROUTED = (404, 405)


def route_answers(r: Any) -> bool:
    """The request reached a handler: anything but the framework's 404/405 `Message` bodies."""
    return r.status_code not in NOT_ROUTED or "Message" not in r.json()


@pytest.mark.parametrize("entity", [e for e in CATALOG], ids=lambda e: e.name)
def test_root_verbs(api: Any, entity: Any) -> None:
    verbs = set(entity.root_verbs)
    q = api.post(f"{entity.name}/query", {"filter": [{"op": "lt", "field": "id", "value": 0}]})
    assert (q.status_code == 200) == ("query" in verbs), q.text
    if "query" in verbs:
        assert q.json()["items"] == []
        search = '{"filter":[{"op":"lt","field":"id","value":0}]}'
        assert api.get(f"{entity.name}/query", params={"search": search}).status_code == 200
    c = api.post(f"{entity.name}/query/count", {"filter": [{"op": "lt", "field": "id", "value": 0}]})
    assert (c.status_code == 200) == ("count" in verbs)
    g = api.get(f"{entity.name}/{MISSING}")
    assert route_answers(g) == ("get" in verbs)
    if "get" in verbs:
        assert g.status_code == 404 and "errors" in g.json()
    d = api.delete(f"{entity.name}/{MISSING}")
    assert route_answers(d) == ("delete" in verbs)
    if "delete" in verbs:
        assert d.status_code == 500 and "No matching records found" in d.json()["errors"][0]
    for method, verb in (("POST", "create"), ("PUT", "update"), ("PATCH", "patch")):
        r = api.http.request(method, api.url(entity.name), json={"noSuchFieldAnywhere": 1, "id": MISSING})
        assert route_answers(r) == (verb in verbs), (method, r.status_code, r.text)
        if verb in verbs:
            assert r.status_code == 500
        elif {"create", "update", "patch"} & verbs:
            assert r.status_code == 405
        else:
            assert r.status_code == 404
    for sub in ("entityInformation", "entityInformation/fields", "entityInformation/userDefinedFields"):
        assert api.get(f"{entity.name}/{sub}").status_code == 200


CHILD_ROUTES = [(e, route) for e in CATALOG for route in e.parents if route.parent in CATALOG]


@pytest.mark.parametrize(
    "entity, route", CHILD_ROUTES, ids=[f"{r.parent}-{r.segment}" for _, r in CHILD_ROUTES]
)
def test_child_verbs(api: Any, entity: Any, route: Any) -> None:
    base = f"{route.parent}/{MISSING}/{route.segment}"
    verbs = set(route.verbs)
    for verb, method, path in (
        ("list", "GET", base),
        ("get", "GET", f"{base}/{MISSING}"),
        ("delete", "DELETE", f"{base}/{MISSING}"),
        ("create", route.method("create"), base),
        ("update", "PUT", base),
        ("patch", "PATCH", base),
    ):
        if verb == "create" and method == "GET":
            continue  # a GET action route (TimeOffRequests/{id}/Approve) shares the list URL
        body = None if method in ("GET", "DELETE") else {"noSuchFieldAnywhere": 1, "id": MISSING}
        r = api.http.request(method, api.url(path), json=body)
        allowed = verb in verbs or (
            method == "GET" and path == base and ("list" in verbs or route.method("create") == "GET")
        )
        assert route_answers(r) == allowed, (verb, method, path, r.status_code, r.text)


def test_wrong_verb_and_unknown_route_bodies(api: Any, sandbox: Any) -> None:
    r = api.http.put(api.url(f"QuoteItems/{MISSING}"))
    assert r.status_code == 405
    assert r.json() == {"Message": "The requested resource does not support http method 'PUT'."}
    r = api.post("TicketNotes", {"ticketID": 1})
    assert r.status_code == 404 and r.json()["Message"].startswith(
        "No HTTP resource was found that matches the request URI"
    )
    assert api.get("NoSuchEntity/query").status_code == 404
    assert api.get("Tickets/query/nonsense").status_code == 404
