"""Paging (section 5) across thousands of rows of the small tenant: id cursor, nextPageUrl with
GET- and POST-originated cursors, prevPageUrl, and 405 on GET of a POST cursor."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from autotask_sandbox.testing import SandboxServer

EVERYTHING = [{"op": "exist", "field": "id"}]


@pytest.fixture(scope="module")
def small() -> Iterator[SandboxServer]:
    with SandboxServer(scale="small", seed=1) as server:
        yield server


@pytest.fixture(scope="module")
def http(small: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(headers=small.headers, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def total(small: SandboxServer, http: httpx.Client) -> int:
    n = http.post(small.api_url + "V1.0/Tickets/query/count", json={"filter": EVERYTHING}).json()
    assert n["queryCount"] > 2000
    return n["queryCount"]


def test_id_cursor_reads_every_row_once_in_order(
    small: SandboxServer, http: httpx.Client, total: int
) -> None:
    seen: list[int] = []
    last = 0
    while True:
        r = http.post(
            small.api_url + "V1.0/Tickets/query",
            json={"filter": [{"op": "gt", "field": "id", "value": last}], "IncludeFields": ["id"]},
        )
        items = r.json()["items"]
        assert len(items) <= 500
        seen += [i["id"] for i in items]
        if len(items) < 500:
            break
        last = items[-1]["id"]
    assert len(seen) == total and seen == sorted(set(seen))


def test_post_next_page_url_with_same_body(small: SandboxServer, http: httpx.Client, total: int) -> None:
    body = {"filter": EVERYTHING, "MaxRecords": 400}
    r = http.post(small.api_url + "V1.0/Tickets/query", json=body)
    seen, pages = [], 0
    while True:
        page = r.json()
        seen += [i["id"] for i in page["items"]]
        pages += 1
        details = page["pageDetails"]
        assert details["count"] == len(page["items"]) and details["requestCount"] == 400
        if details["nextPageUrl"] is None:
            break
        assert details["nextPageUrl"].startswith(small.api_url + "V1.0/Tickets/query/next?paging=")
        assert "search=" not in details["nextPageUrl"]
        r = http.post(details["nextPageUrl"], json=body)
        assert r.status_code == 200, r.text
    assert len(seen) == total and seen == sorted(seen) and pages == -(-total // 400)


def test_get_on_a_post_cursor_is_405(small: SandboxServer, http: httpx.Client) -> None:
    r = http.post(small.api_url + "V1.0/Tickets/query", json={"filter": EVERYTHING})
    r = http.get(r.json()["pageDetails"]["nextPageUrl"])
    assert r.status_code == 405
    assert r.json() == {"Message": "The requested resource does not support http method 'GET'."}


def test_get_next_page_url_carries_search(small: SandboxServer, http: httpx.Client, total: int) -> None:
    search = '{"filter":[{"op":"exist","field":"id"}]}'
    r = http.get(small.api_url + "V1.0/Tickets/query", params={"search": search})
    seen = []
    while True:
        page = r.json()
        seen += [i["id"] for i in page["items"]]
        nxt = page["pageDetails"]["nextPageUrl"]
        if nxt is None:
            break
        assert "&search=" in nxt
        r = http.get(nxt)
        assert r.status_code == 200, r.text
    assert len(seen) == total and seen == sorted(seen)


def test_prev_page_url_returns_the_previous_page(small: SandboxServer, http: httpx.Client) -> None:
    body = {"filter": EVERYTHING}
    first = http.post(small.api_url + "V1.0/Tickets/query", json=body).json()
    assert first["pageDetails"]["prevPageUrl"] is None
    second = http.post(first["pageDetails"]["nextPageUrl"], json=body).json()
    back = http.post(second["pageDetails"]["prevPageUrl"], json=body).json()
    assert [i["id"] for i in back["items"]] == [i["id"] for i in first["items"]]
    assert back["pageDetails"]["prevPageUrl"] is None


def test_filtered_paging_keeps_the_filter(small: SandboxServer, http: httpx.Client) -> None:
    flt = [{"op": "eq", "field": "status", "value": 5}]
    expected = http.post(small.api_url + "V1.0/Tickets/query/count", json={"filter": flt}).json()[
        "queryCount"
    ]
    body: dict[str, Any] = {"filter": flt, "MaxRecords": 250}
    r = http.post(small.api_url + "V1.0/Tickets/query", json=body).json()
    got = r["items"]
    while r["pageDetails"]["nextPageUrl"]:
        r = http.post(r["pageDetails"]["nextPageUrl"], json=body).json()
        got += r["items"]
    assert len(got) == expected > 250 and all(i["status"] == 5 for i in got)


def test_empty_result_shape(small: SandboxServer, http: httpx.Client) -> None:
    r = http.post(
        small.api_url + "V1.0/Tickets/query", json={"filter": [{"op": "lt", "field": "id", "value": 0}]}
    )
    assert r.json() == {
        "items": [],
        "pageDetails": {"count": 0, "requestCount": 500, "prevPageUrl": None, "nextPageUrl": None},
    }
