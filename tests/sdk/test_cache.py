"""The read cache against a private sandbox: hits, invalidation by our writes and by change
signals, TTLs and the byte bound (memory backend; Redis and disk in their own modules)."""

from __future__ import annotations

import time

import httpx
import pytest

from sdk_core import AsyncAutotaskClient, CacheConfig, ConfigurationError, Q
from sdk_core.cache.codec import decode
from sdk_core.change_signals import Change, publish


@pytest.fixture(scope="module")
def server():
    from autotask_sandbox.testing import SandboxServer

    with SandboxServer(scale="tiny", seed=1) as s:
        yield s


def change_behind_our_back(server, entity: str, data: dict) -> None:
    """A write by someone else (another integration): no change signal reaches our cache."""
    r = httpx.patch(f"{server.api_url}V1.0/{entity}", headers=server.headers, json=data)
    assert r.status_code == 200, r.text


def test_get_is_served_from_the_cache_as_a_private_copy(server, make_client):
    client = make_client(server, cache=CacheConfig())
    first = client.tickets.get(29680001)
    sent = client.request_count
    again = client.tickets.get(29680001)
    assert again == first and client.request_count == sent
    again["title"] = "mutated by the caller"
    assert client.tickets.get(29680001)["title"] == first["title"]
    stats = client.cache_stats()
    assert stats["hits"] == 2 and stats["misses"] == 1
    assert client.tickets.get(999_999_999) is None and client.tickets.get(999_999_999) is None
    assert client.request_count == sent + 2  # absence is never cached


def test_queries_are_cached_by_normalized_query(server, make_client):
    client = make_client(server, cache=CacheConfig())
    rows = list(client.tickets.query({"status": 1, "priority": 2}, fields=["title"]))
    sent = client.request_count
    assert list(client.tickets.query({"priority": 2, "status": 1}, fields=["title"])) == rows
    assert client.request_count == sent
    list(client.tickets.query({"status": 1}, fields=["title"]))
    assert client.request_count == sent + 1
    pages = list(client.tickets.pages(page_size=100))
    sent = client.request_count
    assert list(client.tickets.pages(page_size=100)) == pages and client.request_count == sent


def test_our_own_write_is_never_followed_by_a_stale_read(server, make_client):
    client = make_client(server, cache=CacheConfig(default_ttl=3600))
    other = make_client(server, cache=CacheConfig(default_ttl=3600))  # another cache, same process
    tid = 29680002
    query = Q("id") == tid
    assert client.tickets.get(tid)["title"] == other.tickets.get(tid)["title"]
    before = list(client.tickets.query(query, fields=["title"]))
    client.tickets.update({"id": tid, "title": "patched through the cache"})
    assert client.tickets.get(tid)["title"] == "patched through the cache"
    assert other.tickets.get(tid)["title"] == "patched through the cache"
    after = list(client.tickets.query(query, fields=["title"]))
    assert after != before and after[0]["title"] == "patched through the cache"


def test_counts_are_cached_by_normalized_query_and_dropped_by_our_create(server, make_client):
    client = make_client(server, cache=CacheConfig(default_ttl=3600))
    company = next(iter(client.companies.query(fields=["id"])))["id"]
    where = (Q("companyID") == company) & (Q("status") == 1)
    first = client.tickets.count(where)
    seen = server.admin.stats()["total"]
    assert client.tickets.count({"status": 1, "companyID": company}) == first  # same query, reordered
    assert server.admin.stats()["total"] == seen  # the second count cost no request
    assert client.cache_stats()["hits"] >= 1
    client.tickets.count({"status": 1})
    assert server.admin.stats()["total"] == seen + 1  # another filter is another entry
    client.tickets.create({"title": "counted", "companyID": company, "priority": 1, "status": 1})
    seen = server.admin.stats()["total"]
    assert client.tickets.count(where) == first + 1  # never the stale count
    assert server.admin.stats()["total"] == seen + 1


def test_a_count_of_zero_is_cached_and_a_note_under_the_ticket_drops_it(server, make_client):
    client = make_client(server, cache=CacheConfig(default_ttl=3600))
    tid = 29680006
    notes = Q("ticketID") == tid
    before = client.ticket_notes.count(notes)
    client.ticket_notes.count(notes)
    stats = client.cache_stats()
    client.ticket_notes.create(
        {"ticketID": tid, "title": "n", "description": "d", "noteType": 1, "publish": 1}, parent_id=tid
    )
    assert client.ticket_notes.count(notes) == before + 1
    assert client.cache_stats()["misses"] == stats["misses"] + 1
    empty = Q("id") == 999_999_999
    assert client.tickets.count(empty) == 0
    sent = client.request_count
    assert client.tickets.count(empty) == 0 and client.request_count == sent


def test_counts_follow_ttl_and_change_signals(server, make_client):
    client = make_client(server, cache=CacheConfig(default_ttl=3600, ttl={"Companies": 0}, tenant="acme"))
    client.tickets.count()
    sent = client.request_count
    client.tickets.count()
    assert client.request_count == sent
    publish(Change("Ticket", None, "update", tenant="acme"))  # a webhook event for the entity
    client.tickets.count()
    assert client.request_count == sent + 1
    client.companies.count()
    client.companies.count()
    assert client.request_count == sent + 3  # a TTL of 0: never cached


def test_a_note_written_under_a_ticket_drops_the_cached_ticket(server, make_client):
    client = make_client(server, cache=CacheConfig(default_ttl=3600))
    tid = 29680003
    client.tickets.get(tid)
    client.tickets.get(tid)
    misses = client.cache_stats()["misses"]
    client.ticket_notes.create(
        {"ticketID": tid, "title": "n", "description": "d", "noteType": 1, "publish": 1}, parent_id=tid
    )
    client.tickets.get(tid)
    assert client.cache_stats()["misses"] == misses + 1


def test_delete_and_create_drop_the_entity_queries(server, make_client):
    client = make_client(server, cache=CacheConfig(default_ttl=3600))
    entry = next(iter(client.time_entries.query()))
    total = len(list(client.time_entries.query()))
    client.time_entries.delete(entry["id"])
    assert len(list(client.time_entries.query())) == total - 1
    assert client.time_entries.get(entry["id"]) is None


def test_a_change_signal_from_webhooks_invalidates(server, make_client):
    client = make_client(server, cache=CacheConfig(default_ttl=3600, tenant="acme"))
    tid = 29680004
    client.tickets.get(tid)
    change_behind_our_back(server, "Tickets", {"id": tid, "title": "changed by another integration"})
    assert client.tickets.get(tid)["title"] != "changed by another integration"  # cached, as asked
    publish(Change("Tickets", tid, "update", tenant="other-tenant"))
    assert client.tickets.get(tid)["title"] != "changed by another integration"
    publish(Change("Ticket", tid, "update", tenant="acme"))  # webhook names are mapped
    assert client.tickets.get(tid)["title"] == "changed by another integration"
    rows = list(client.tickets.query(Q("id") == tid, fields=["title"]))
    change_behind_our_back(server, "Tickets", {"id": tid, "title": "again"})
    publish(Change("Tickets", None, "update"))  # entity only, any tenant: everything of it goes
    assert (
        list(client.tickets.query(Q("id") == tid, fields=["title"]))[0]["title"]
        == "again"
        != rows[0]["title"]
    )


def test_ttl_per_entity(server, make_client):
    client = make_client(server, cache=CacheConfig(default_ttl=3600, ttl={"tickets": 0.3, "Companies": 0}))
    client.tickets.get(29680001)
    client.tickets.get(29680001)
    assert client.cache_stats()["hits"] == 1
    time.sleep(0.4)
    sent = client.request_count
    client.tickets.get(29680001)
    assert client.request_count == sent + 1
    company = next(iter(client.companies.query(fields=["id"])))["id"]
    sent = client.request_count
    client.companies.get(company)
    client.companies.get(company)
    assert client.request_count == sent + 2  # a TTL of 0: never cached


def test_the_byte_bound_evicts_least_recently_used(server, make_client):
    client = make_client(server, cache=CacheConfig(max_bytes=8 * 1024, queries=False))
    ids = [t["id"] for t in client.tickets.query(fields=["id"])][:12]
    for tid in ids:
        client.tickets.get(tid)
    stats = client.cache_stats()
    assert stats["evictions"] > 0 and 0 < stats["bytes"] <= 8 * 1024
    sent = client.request_count
    client.tickets.get(ids[-1])  # the most recent survives
    client.tickets.get(ids[0])  # the oldest was evicted
    assert client.request_count == sent + 1


def test_large_values_are_compressed(server, make_client):
    client = make_client(server, cache=CacheConfig(compress_over=1024))
    rows = list(client.tickets.query(fields=["title", "description"]))
    backend, cache = client.cache.backend, client.cache
    (group, key), (_, blob) = next(iter(backend._entries.items()))
    assert group.endswith(":q:Tickets") and blob[:1] == b"z"
    assert [r for page in decode(blob) for r in page] == rows
    assert len(blob) < len(str(rows)) / 2 and cache.stats()["bytes"] < len(str(rows))


async def test_the_async_client_caches_and_invalidates(server, make_client):
    client = make_client(server, AsyncAutotaskClient, cache=CacheConfig())
    try:
        tid = 29680005
        await client.tickets.get(tid)
        rows = [r async for r in client.tickets.query(Q("id") == tid, fields=["title"])]
        sent = client.request_count
        assert await client.tickets.get(tid) is not None
        assert [r async for r in client.tickets.query(Q("id") == tid, fields=["title"])] == rows
        assert client.request_count == sent
        await client.tickets.update({"id": tid, "title": "async patch"})
        assert (await client.tickets.get(tid))["title"] == "async patch"
        assert [r async for r in client.tickets.query(Q("id") == tid, fields=["title"])][0][
            "title"
        ] == "async patch"
    finally:
        await client.close()


async def test_the_async_client_caches_counts(server, make_client):
    client = make_client(server, AsyncAutotaskClient, cache=CacheConfig())
    try:
        tid = 29680007
        notes = Q("ticketID") == tid
        before = await client.ticket_notes.count(notes)
        sent = client.request_count
        assert await client.ticket_notes.count(notes) == before and client.request_count == sent
        assert client.cache_stats()["hits"] == 1
        await client.ticket_notes.create(
            {"ticketID": tid, "title": "n", "description": "d", "noteType": 1, "publish": 1}, parent_id=tid
        )
        assert await client.ticket_notes.count(notes) == before + 1
    finally:
        await client.close()


def test_a_read_in_flight_during_an_invalidation_is_not_stored(server, make_client):
    client = make_client(server, cache=CacheConfig())
    cache = client.cache
    token = cache.token("Tickets")
    cache.invalidate("Tickets", 1)  # our write lands while the read is on the wire
    cache.store("Tickets", 1, {"id": 1, "title": "read before the write"}, token)
    assert cache.lookup("Tickets", 1) is None and cache.stats()["skipped_stale"] == 1


def test_bad_configuration_says_what_to_do(server, make_client, monkeypatch):
    with pytest.raises(ConfigurationError, match="use one of memory, redis, disk"):
        CacheConfig(backend="memcached")
    with pytest.raises(ConfigurationError, match="TTLs are seconds"):
        CacheConfig(ttl={"Tickets": -1})
    monkeypatch.delenv("AUTOTASK_REDIS_URL", raising=False)
    with pytest.raises(ConfigurationError, match="AUTOTASK_REDIS_URL"):
        make_client(server, cache=CacheConfig(backend="redis"))
    with pytest.raises(ConfigurationError, match="takes a CacheConfig"):
        make_client(server, cache={"backend": "memory"})
