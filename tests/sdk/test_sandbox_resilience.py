"""Faults, limits and zones against private sandbox servers: nothing lost, nothing repeated."""

from __future__ import annotations

import asyncio
import os
import threading

import httpx
import pytest

from sdk_core import AsyncAutotaskClient, RateLimitedError, UnknownOutcomeError
from sdk_core._flow import RetryPolicy

FAULTS = "429:0.06@0,500:0.06,reset:0.06"


def fast(client):
    client.policy = RetryPolicy(max_retries=8, backoff_base=0.02, backoff_max=0.2)
    return client


def test_injected_429_500_and_resets_lose_and_repeat_nothing(sandbox_factory, make_client):
    server = sandbox_factory()
    clean = [r["id"] for r in make_client(server).tickets.query(page_size=20)]
    server.admin.set_faults(FAULTS)
    client = fast(make_client(server))
    got = [r["id"] for r in client.tickets.query(page_size=20)]
    assert got == clean
    faults = server.admin.stats()["faults"]
    assert sum(faults.values()) >= 3, faults  # the faults really happened
    stats = client.governor.stats()
    assert stats["retries"] + stats["rate_limited"] >= 3


async def test_async_recovers_from_the_same_faults(sandbox_factory, make_client):
    server = sandbox_factory(seed=1)
    clean = [r["id"] for r in make_client(server).tickets.query(page_size=20)]
    server.admin.set_faults(FAULTS)
    async with fast(make_client(server, cls=AsyncAutotaskClient)) as client:
        got = [r["id"] async for r in client.tickets.query(page_size=20)]
    assert got == clean


def test_a_reset_create_raises_unknown_outcome_and_is_sent_once(sandbox_factory, make_client):
    server = sandbox_factory()
    client = fast(make_client(server))
    client.threshold()
    company = next(iter(client.companies.query()))["id"]
    server.admin.set_faults("reset:1")
    with pytest.raises(UnknownOutcomeError, match="may or may not exist"):
        client.tickets.create({"title": "x", "companyID": company, "priority": 1, "status": 1})
    assert server.admin.stats()["endpoints"]["Tickets"] == {"create": 1}


def test_governor_holds_the_thread_limit_across_threads_and_tasks(sandbox_factory, make_client):
    server = sandbox_factory(latency_ms=20)
    # control: ungoverned concurrent requests do trip the sandbox's thread limit
    with httpx.Client(headers=server.headers) as raw:
        barrier = threading.Barrier(6)

        def hit():
            barrier.wait()
            raw.post(server.api_url + "V1.0/Tickets/query", json={"filter": [{"op": "exist", "field": "id"}]})

        threads = [threading.Thread(target=hit) for _ in range(6)]
        [t.start() for t in threads]
        [t.join() for t in threads]
    assert server.admin.stats()["rejected"]["thread_limit"] > 0
    server.admin.reset()

    expected = [r["id"] for r in make_client(server).tickets.query()]
    results: list[list[int]] = []

    def scan():
        results.append([r["id"] for r in make_client(server).tickets.query(page_size=60)])

    async def tasks():
        async def one():
            async with make_client(server, cls=AsyncAutotaskClient) as c:
                return [r["id"] async for r in c.tickets.query(page_size=60)]

        results.extend(await asyncio.gather(*[one() for _ in range(4)]))

    threads = [threading.Thread(target=scan) for _ in range(5)]
    threads.append(threading.Thread(target=lambda: asyncio.run(tasks())))
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(results) == 9 and all(r == expected for r in results)
    assert server.admin.stats()["rejected"]["thread_limit"] == 0
    stats = make_client(server).governor.stats()
    assert stats["peak_in_flight"]["tickets"] == 3 and stats["concurrency_waits"] > 0


def test_budget_share_caps_this_clients_requests(sandbox_factory, make_client):
    server = sandbox_factory(threshold=40)
    client = make_client(server, max_api_share=0.25, max_budget_wait=0)
    sent = 0
    with pytest.raises(RateLimitedError, match="share is used up"):
        for _ in range(20):
            client.tickets.count()
            sent += 1
    assert client.governor.budget == 10
    assert server.admin.stats()["total"] == 10 == sent + 1  # 9 counts + the threshold read


def test_zone_is_detected_and_redetected_after_a_401(sandbox_factory, make_client, tmp_path):
    server = sandbox_factory()
    client = make_client(
        server, api_url=None, zone_lookup_url=server.root_url, cache_dir=str(tmp_path / "zones")
    )
    assert client.tickets.count() > 0 and client.root == server.api_url
    stale = server.api_url.replace("/webservices14/", "/webservices2/")
    moved = make_client(
        server, api_url=None, zone_lookup_url=server.root_url, cache_dir=str(tmp_path / "zones")
    )
    moved.remember_zone(stale)  # the cached zone is now wrong (the tenant moved)
    assert moved.tickets.count() > 0
    assert moved.root == server.api_url
    assert moved.cached_zone() == server.api_url


PROCESS = """
import sys, threading, time
from sdk_core import AutotaskClient
creds = dict(username=sys.argv[1], secret=sys.argv[2], integration_code=sys.argv[3], api_url=sys.argv[4])
redis_url = sys.argv[5] or None
time.sleep(max(0.0, float(sys.argv[6]) - time.time()))  # both processes start scanning together
def scan():
    with AutotaskClient(**creds, redis_url=redis_url) as c:
        assert len(list(c.tickets.query(page_size=50))) > 0
threads = [threading.Thread(target=scan) for _ in range(3)]
[t.start() for t in threads]
[t.join() for t in threads]
"""


def _two_processes(server, redis_url):
    import subprocess
    import sys
    import time

    args = [
        sys.executable,
        "-c",
        PROCESS,
        server.username,
        server.secret,
        server.integration_code,
        server.api_url,
        redis_url,
        str(time.time() + 2.5),
    ]
    procs = [subprocess.Popen(args) for _ in range(2)]
    assert [p.wait(120) for p in procs] == [0, 0]
    return server.admin.stats()["rejected"]["thread_limit"]


def test_redis_holds_the_thread_limit_across_processes(sandbox_factory):
    server = sandbox_factory(latency_ms=50)
    assert _two_processes(server, "") > 0  # control: two governors, one per process, collide
    server.admin.reset()
    assert _two_processes(server, os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")) == 0
