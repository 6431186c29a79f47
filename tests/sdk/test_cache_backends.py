"""The Redis backend (a real server, a private key prefix) and the disk backend (a file that
outlives the client), against a private sandbox."""

from __future__ import annotations

import os
import uuid

import pytest
import redis

from sdk_core import CacheConfig

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="module")
def server():
    from autotask_sandbox.testing import SandboxServer

    with SandboxServer(scale="tiny", seed=1) as s:
        yield s


@pytest.fixture
def prefix():
    name = f"test-cache-{uuid.uuid4().hex}"
    yield name
    r = redis.Redis.from_url(REDIS_URL)
    keys = list(r.scan_iter(match=f"{name}:*"))
    if keys:
        r.delete(*keys)
    r.close()


def test_redis_is_shared_by_clients_and_partitioned_by_tenant(server, make_client, prefix):
    config = CacheConfig(backend="redis", redis_url=REDIS_URL, key_prefix=prefix)
    one, two = make_client(server, cache=config), make_client(server, cache=config)
    row = one.tickets.get(29680001)
    sent = two.request_count
    assert two.tickets.get(29680001) == row and two.request_count == sent  # another client's entry
    keys = [k.decode() for k in redis.Redis.from_url(REDIS_URL).scan_iter(match=f"{prefix}:*")]
    assert keys == [f"{prefix}:{one.cache.tenant}:rec:Tickets"]
    other_tenant = make_client(
        server,
        cache=CacheConfig(backend="redis", redis_url=REDIS_URL, key_prefix=prefix, tenant="another-tenant"),
    )
    sent = other_tenant.request_count
    other_tenant.tickets.get(29680001)
    assert other_tenant.request_count == sent + 1


def test_redis_entries_are_dropped_by_our_write_and_expire(server, make_client, prefix):
    config = CacheConfig(backend="redis", redis_url=REDIS_URL, key_prefix=prefix, ttl={"Tickets": 1})
    client = make_client(server, cache=config)
    tid = 29680006
    list(client.tickets.query({"id": tid}, fields=["title"]))
    client.tickets.get(tid)
    client.tickets.update({"id": tid, "title": "redis patch"})
    assert client.tickets.get(tid)["title"] == "redis patch"
    assert list(client.tickets.query({"id": tid}, fields=["title"]))[0]["title"] == "redis patch"
    r = redis.Redis.from_url(REDIS_URL)
    assert 0 < r.ttl(f"{prefix}:{client.cache.tenant}:rec:Tickets") <= 2


def test_redis_counts_are_shared_and_dropped_by_another_clients_write(server, make_client, prefix):
    config = CacheConfig(backend="redis", redis_url=REDIS_URL, key_prefix=prefix, default_ttl=3600)
    one, two = make_client(server, cache=config), make_client(server, cache=config)
    tid = 29680008
    notes = one.ticket_notes.count({"ticketID": tid})
    sent = two.request_count
    assert two.ticket_notes.count({"ticketID": tid}) == notes and two.request_count == sent
    one.ticket_notes.create(
        {"ticketID": tid, "title": "n", "description": "d", "noteType": 1, "publish": 1}, parent_id=tid
    )
    assert two.ticket_notes.count({"ticketID": tid}) == notes + 1  # the shared entry was dropped


def test_redis_down_means_requests_not_failures(server, make_client):
    client = make_client(server, cache=CacheConfig(backend="redis", redis_url="redis://127.0.0.1:1/0"))
    assert client.tickets.get(29680001)["id"] == 29680001
    assert client.tickets.get(29680001)["id"] == 29680001
    assert client.cache_stats()["errors"] >= 2


def test_disk_survives_a_restart_and_stays_bounded(server, make_client, tmp_path):
    config = CacheConfig(backend="disk", directory=str(tmp_path / "cache"), default_ttl=3600)
    first = make_client(server, cache=config)
    row = first.tickets.get(29680001)
    rows = list(first.companies.query(fields=["companyName"]))
    first.close()
    again = make_client(server, cache=config)
    sent = again.request_count
    assert again.tickets.get(29680001) == row
    assert list(again.companies.query(fields=["companyName"])) == rows
    assert again.request_count == sent
    again.tickets.update({"id": 29680001, "title": "disk patch"})
    assert again.tickets.get(29680001)["title"] == "disk patch"

    small = make_client(
        server,
        cache=CacheConfig(
            backend="disk", directory=str(tmp_path / "small"), max_bytes=8 * 1024, queries=False
        ),
    )
    for tid in range(29680001, 29680013):
        small.tickets.get(tid)
    stats = small.cache_stats()
    assert stats["evictions"] > 0 and 0 < stats["bytes"] <= 8 * 1024
