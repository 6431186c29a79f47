"""Queries against the read-only session sandbox over real HTTP."""

from __future__ import annotations

import math

import pytest

from sdk_core import AsyncAutotaskClient, Q, QueryError, UnknownEntityError, parse_datetime


def ids(rows):
    return [r["id"] for r in rows]


def test_full_scan_returns_every_row_once_in_id_order(sandbox, make_client, all_tickets):
    client = make_client(sandbox)
    assert len(all_tickets) == client.tickets.count() > 0
    assert ids(all_tickets) == sorted(set(ids(all_tickets)))


def test_paging_reaches_the_last_row_with_full_pages_and_no_wasted_calls(sandbox, make_client, all_tickets):
    client = make_client(sandbox)
    client.threshold()
    before = client.request_count
    pages = list(client.tickets.pages(page_size=40))
    assert [len(p) for p in pages[:-1]] == [40] * (len(pages) - 1) and 0 < len(pages[-1]) <= 40
    assert [r["id"] for p in pages for r in p] == ids(all_tickets)
    # one request per page, plus one empty page only when the total is a multiple of 40
    assert client.request_count - before == math.floor(len(all_tickets) / 40) + 1


def test_after_id_resumes_strictly_after_the_given_id(sandbox, make_client, all_tickets):
    client = make_client(sandbox)
    cut = all_tickets[100]["id"]
    assert ids(client.tickets.query(after_id=cut, page_size=50)) == [i for i in ids(all_tickets) if i > cut]


def test_parallel_scan_returns_the_same_rows_without_wasted_calls(sandbox, make_client, all_tickets):
    client = make_client(sandbox)
    client.threshold()
    before = client.request_count
    got = ids(client.tickets.query(page_size=25, parallel=3))
    assert sorted(got) == ids(all_tickets) and len(set(got)) == len(got)
    pages = math.ceil(len(all_tickets) / 25)
    # the count, one request per page, at most one short or empty page per range
    assert pages + 1 <= client.request_count - before <= pages + 1 + 3
    with pytest.raises(QueryError, match="parallel must be between 1 and max_concurrency"):
        list(client.tickets.query(parallel=4))


async def test_parallel_scans_with_a_filter_and_after_id_agree_across_both_clients(
    sandbox, make_client, all_tickets
):
    """Two ranges per slot over ids with gaps (a filter): no row missed or doubled, same plan."""
    client = make_client(sandbox)
    cut = all_tickets[37]["id"]
    flt = Q("status") != 5
    want = [r["id"] for r in all_tickets if r["id"] > cut and r["status"] != 5]
    client.threshold()
    before = client.request_count
    got = ids(client.tickets.query(flt, after_id=cut, page_size=20, parallel=3))
    sync_requests = client.request_count - before
    assert sorted(got) == want and len(got) == len(want)
    pages = math.ceil(len(want) / 20)
    # the count, one request per page, at most one short or empty page per range (6 of them)
    assert pages + 1 <= sync_requests <= pages + 1 + 6
    async with AsyncAutotaskClient(**sandbox.credentials, cache_dir=client.settings.cache_dir) as aclient:
        await aclient.threshold()
        before = aclient.request_count
        agot = [r["id"] async for r in aclient.tickets.query(flt, after_id=cut, page_size=20, parallel=3)]
        assert sorted(agot) == want and aclient.request_count - before == sync_requests
        empty = [r async for r in aclient.tickets.query(Q("id") > all_tickets[-1]["id"], parallel=3)]
    assert empty == [] and list(client.tickets.query(after_id=all_tickets[-1]["id"], parallel=3)) == []


def _udf(row, name):
    for u in row.get("userDefinedFields") or []:
        if u["name"] == name:
            return u["value"]
    return None


def _lower(v):
    return (v or "").lower()


OPERATOR_CASES = [
    ("eq", Q("priority") == 2, lambda r: r["priority"] == 2),
    ("noteq", Q("priority") != 2, lambda r: r["priority"] is not None and r["priority"] != 2),
    ("gt", Q("priority") > 2, lambda r: r["priority"] is not None and r["priority"] > 2),
    ("gte", Q("priority") >= 2, lambda r: r["priority"] is not None and r["priority"] >= 2),
    ("lt", Q("priority") < 2, lambda r: r["priority"] is not None and r["priority"] < 2),
    ("lte", Q("priority") <= 2, lambda r: r["priority"] is not None and r["priority"] <= 2),
    ("beginsWith", Q("title").begins_with("slow"), lambda r: _lower(r["title"]).startswith("slow")),
    ("endsWith", Q("title").ends_with("office"), lambda r: _lower(r["title"]).endswith("office")),
    ("contains", Q("title").contains("print"), lambda r: "print" in _lower(r["title"])),
    ("exist", Q("completedDate").exists(), lambda r: r["completedDate"] is not None),
    ("notExist", Q("completedDate").not_exists(), lambda r: r["completedDate"] is None),
    ("in", Q("status").in_([1, 5]), lambda r: r["status"] in (1, 5)),
    ("notIn", Q("status").not_in([1, 5]), lambda r: r["status"] is not None and r["status"] not in (1, 5)),
    (
        "datetime",
        Q("lastActivityDate") >= "2025-01-01T00:00:00",
        lambda r: parse_datetime(r["lastActivityDate"]) >= parse_datetime("2025-01-01T00:00:00"),
    ),
    (
        "or/and nested",
        (Q("status") == 5) | ((Q("priority") == 1) & Q("title").contains("e")),
        lambda r: r["status"] == 5 or (r["priority"] == 1 and "e" in _lower(r["title"])),
    ),
    ("udf", Q("Root Cause", udf=True) == "1", lambda r: _udf(r, "Root Cause") == "1"),
    (
        "dict shorthand",
        {"status": 1, "priority": [1, 2]},
        lambda r: r["status"] == 1 and r["priority"] in (1, 2),
    ),
]


@pytest.mark.parametrize("name, expr, expected", OPERATOR_CASES, ids=[c[0] for c in OPERATOR_CASES])
def test_every_operator_selects_what_it_says(sandbox, make_client, all_tickets, name, expr, expected):
    client = make_client(sandbox)
    want = [r["id"] for r in all_tickets if expected(r)]
    assert want, f"the tenant has no row for {name}; the test would prove nothing"
    assert ids(client.tickets.query(expr)) == want
    assert client.tickets.count(expr) == len(want)


def test_include_fields_returns_only_those_plus_id(sandbox, make_client):
    client = make_client(sandbox)
    rows = list(client.tickets.query(Q("status") == 1, fields=["title", "Status"]))
    assert rows and all({"id", "title", "status"} <= set(r) and "description" not in r for r in rows)


def test_get_returns_the_row_or_none(sandbox, make_client, all_tickets):
    client = make_client(sandbox)
    assert client.tickets.get(all_tickets[3]["id"]) == all_tickets[3]
    assert client.tickets.get(999_999_999) is None


def test_child_get_through_the_parent_route(sandbox, make_client):
    client = make_client(sandbox)
    note = next(iter(client.ticket_notes.query()))
    assert client.ticket_notes.get(note["id"]) == note
    assert client.ticket_notes.get(note["id"], parent_id=note["ticketID"])["id"] == note["id"]


def test_malformed_filters_and_unknown_entities_send_nothing(sandbox, make_client):
    client = make_client(sandbox)
    with pytest.raises(QueryError, match='Did you mean "status"'):
        list(client.tickets.query(Q("stauts") == 1))
    with pytest.raises(QueryError, match="unknown operator"):
        client.tickets.count([{"op": "like", "field": "title", "value": "x"}])
    with pytest.raises(UnknownEntityError, match='Did you mean "TicketNotes"'):
        client.entity("TiketNotes")
    with pytest.raises(AttributeError, match="not an Autotask entity"):
        _ = client.tikets
    assert client.request_count == 0


def test_metadata_is_cached_in_memory_and_on_disk(sandbox, make_client, tmp_path):
    client = make_client(sandbox, cache_dir=str(tmp_path / "meta"))
    fields = client.tickets.fields()
    assert {"name", "dataType", "isPickList"} <= set(fields[0])
    assert any(f["isPickList"] and f["picklistValues"] for f in fields)
    assert {u["name"] for u in client.tickets.udfs()} >= {"Root Cause"}
    assert client.tickets.info()["name"] == "Ticket"
    sent = client.request_count
    client.tickets.fields(), client.tickets.udfs(), client.tickets.info_live()
    assert client.request_count == sent
    fresh = make_client(sandbox, cache_dir=str(tmp_path / "meta"))
    assert fresh.tickets.fields() == fields and fresh.request_count == 0
    assert client.time_entries.udfs() == []  # TimeEntries have the endpoint but no UDFs
    no_endpoint = next(e for e in client.catalog if e.queryable and not e.has_udf_endpoint)
    sent = client.request_count
    assert client.entity(no_endpoint.name).udfs() == [] and client.request_count == sent


def test_threshold_reports_usage(sandbox, make_client):
    client = make_client(sandbox)
    first = client.threshold()
    second = client.threshold()
    assert first["limit"] == 10000 and first["timeframe_minutes"] == 60
    assert second["used"] > first["used"]


async def test_async_client_matches_the_sync_client(sandbox, make_client, all_tickets):
    client = make_client(sandbox, cls=AsyncAutotaskClient)
    async with client:
        rows = [r async for r in client.tickets.query(Q("status").in_([1, 5]), page_size=30)]
        assert rows == [r for r in all_tickets if r["status"] in (1, 5)]
        assert await client.tickets.count(Q("status").in_([1, 5])) == len(rows)
        parallel = [r["id"] async for r in client.tickets.query(page_size=30, parallel=3)]
        assert sorted(parallel) == ids(all_tickets)
        assert await client.tickets.get(all_tickets[0]["id"]) == all_tickets[0]
        assert await client.tickets.get(999_999_999) is None
        pages = [p async for p in client.tickets.pages(page_size=100)]
        assert [r["id"] for p in pages for r in p] == ids(all_tickets)
        assert (await client.tickets.info())["name"] == "Ticket"
        assert len(await client.tickets.fields()) > 10


def test_item_null_variant_and_z_timestamps(sandbox_factory, make_client):
    server = sandbox_factory(get_missing_as_null_item=True, datetime_format="z")
    client = make_client(server)
    assert client.tickets.get(999_999_999) is None
    row = next(iter(client.tickets.query(fields=["lastActivityDate"])))
    assert row["lastActivityDate"].endswith("Z")
    assert parse_datetime(row["lastActivityDate"]).utcoffset().total_seconds() == 0


def test_fields_are_checked_against_the_catalog_and_known_udfs_before_any_request(sandbox, make_client):
    client = make_client(sandbox)
    client.threshold()
    sent = client.request_count
    with pytest.raises(QueryError, match=r"Tickets has no field 'Root Cause'.*Q\('Root Cause', udf=True\)"):
        next(client.tickets.query(fields=["title", "Root Cause"]))
    with pytest.raises(QueryError, match='Did you mean "title"'):
        next(client.tickets.query(fields=["titel"]))
    with pytest.raises(QueryError, match="'lastActivityDate' is a datetime field"):
        client.tickets.count(Q("lastActivityDate") >= "not a date")
    assert client.request_count == sent  # nothing was sent
    row = next(client.tickets.query(fields=["title", Q("Root Cause", udf=True)]))
    assert set(row) >= {"id", "title"} and "status" not in row
    assert any(u["name"] == "Root Cause" for u in row["userDefinedFields"])
    client.tickets.udfs()  # now known: the plain name is accepted
    assert next(client.tickets.query(fields=["title", "root cause"]))["id"] == row["id"]
