"""The governor's rules, with threads, asyncio tasks, a fake clock and the real Redis."""

import asyncio
import os
import threading
import time
import uuid

import pytest
import redis

from sdk_core._governor import BAND_MARGIN, LATENCY_BAND, LEASE_SECONDS, EndpointSlots, Governor

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


class Clock:
    def __init__(self, now=1_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


def hold(acquire, release, counter, lock, seconds=0.02):
    lease = acquire()
    with lock:
        counter["now"] += 1
        counter["peak"] = max(counter["peak"], counter["now"])
    time.sleep(seconds)
    with lock:
        counter["now"] -= 1
    release(lease)


def test_threads_and_asyncio_tasks_share_one_limit():
    gov = Governor("t-" + uuid.uuid4().hex, max_concurrency=3)
    counter, lock = {"now": 0, "peak": 0}, threading.Lock()
    threads = [
        threading.Thread(target=hold, args=(lambda: gov.acquire("Tickets"), gov.release, counter, lock))
        for _ in range(8)
    ]

    async def task():
        lease = await gov.acquire_async("Tickets")
        with lock:
            counter["now"] += 1
            counter["peak"] = max(counter["peak"], counter["now"])
        await asyncio.sleep(0.02)
        with lock:
            counter["now"] -= 1
        gov.release(lease)

    async def tasks():
        await asyncio.gather(*[task() for _ in range(8)])

    for t in threads:
        t.start()
    asyncio.run(tasks())
    for t in threads:
        t.join()
    assert counter["peak"] == 3
    stats = gov.stats()
    assert stats["peak_in_flight"]["tickets"] == 3 and stats["concurrency_waits"] > 0
    assert stats["in_flight"] == {}


def test_endpoints_have_independent_slots():
    gov = Governor("t-" + uuid.uuid4().hex, max_concurrency=1)
    a = gov.acquire("Tickets")
    got = []
    t = threading.Thread(target=lambda: got.append(gov.acquire("Companies")), daemon=True)
    t.start()
    t.join(2)  # a shared bucket would block here; the bounded wait turns that into a failure
    assert len(got) == 1, "Companies waited for the Tickets slot"
    assert gov.stats()["in_flight"] == {"tickets": 1, "companies": 1}
    gov.release(a)
    gov.release(got[0])


async def test_a_cancelled_waiter_does_not_leak_a_slot():
    slots = EndpointSlots(1)
    assert await slots.acquire_async() is False
    waiter = asyncio.ensure_future(slots.acquire_async())
    await asyncio.sleep(0.01)
    waiter.cancel()
    slots.release()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await asyncio.sleep(0.01)
    assert slots.in_use == 0
    await asyncio.wait_for(slots.acquire_async(), 1)


def test_a_freed_slot_passes_to_waiting_threads_in_order_then_frees():
    slots = EndpointSlots(1)
    assert slots.acquire() is False
    order: list[str] = []

    def take(name: str) -> None:
        slots.acquire()
        order.append(name)
        slots.release()  # hands the slot on to the next waiter, if any

    threads = []
    for name in "abc":
        threads.append(threading.Thread(target=take, args=(name,)))
        threads[-1].start()
        while len(slots._waiters) < len(threads):  # queued in this order
            time.sleep(0.001)
    slots.release()
    for t in threads:
        t.join(5)
    assert order == ["a", "b", "c"] and slots.in_use == 0 and slots.peak == 1


def test_a_waiter_whose_loop_closed_is_skipped_and_the_slot_freed():
    slots = EndpointSlots(1)
    assert slots.acquire() is False
    loop = asyncio.new_event_loop()
    slots._waiters.append((loop, loop.create_future()))
    loop.close()
    slots.release()
    assert slots.in_use == 0 and not slots._waiters


def test_budget_is_the_share_of_the_threshold():
    clock = Clock()
    gov = Governor("t-" + uuid.uuid4().hex, max_api_share=0.01, clock=clock)
    gov.update_threshold({"limit": 1000, "timeframe_minutes": 60, "used": 0})
    assert gov.budget == 10
    assert [gov.reserve() for _ in range(10)] == [0.0] * 10  # far below the band: no pacing
    wait = gov.reserve()
    assert wait == pytest.approx(3600)  # until the first of the ten leaves the window
    assert gov.stats()["budget_waits"] == 1
    clock.now += wait
    gov.update_threshold({"limit": 1000, "timeframe_minutes": 60, "used": 10})
    assert gov.reserve() == 0.0


def test_other_integrations_usage_caps_our_budget():
    """At 9,990 of 10,000 the tenant is past the band: nothing is sent, however long we try."""
    clock = Clock()
    gov = Governor("t-" + uuid.uuid4().hex, max_api_share=0.5, clock=clock)
    gov.update_threshold({"limit": 10000, "timeframe_minutes": 60, "used": 9990})
    sent = 0
    for _ in range(200):
        wait, why = gov.decide()
        if wait == 0:
            sent += 1
        else:
            assert "9990 of 10000" in why and "latency band (5000)" in why
            clock.now += wait
    assert sent == 0
    assert gov.needs_threshold()  # re-read the tenant's usage before trying again
    gov.update_threshold({"limit": 10000, "timeframe_minutes": 60, "used": 100})
    assert gov.reserve() == 0.0


def test_pacing_starts_before_the_first_latency_band_and_stops_short_of_it():
    clock = Clock()
    gov = Governor("t-" + uuid.uuid4().hex, max_api_share=0.5, clock=clock)
    gov.update_threshold({"limit": 10000, "timeframe_minutes": 60, "used": 3000})
    assert [gov.reserve() for _ in range(3)] == [0.0] * 3  # 30 %: no pacing
    gov.update_threshold({"limit": 10000, "timeframe_minutes": 60, "used": 4500})
    clock.now += 10
    assert gov.reserve() == 0.0
    headroom = int(10000 * LATENCY_BAND - 4501 - 10000 * BAND_MARGIN)
    interval = 3600 / headroom  # the requests left before the band, spread over the timeframe
    assert gov.reserve() == pytest.approx(interval)
    assert gov.stats()["pacing_waits"] == 1
    sent = 1
    for _ in range(5000):  # an eager caller, with no threshold re-read: stays short of the band
        wait = gov.reserve()
        if wait:
            clock.now += wait
        else:
            sent += 1
    assert 4500 + sent <= 10000 * (LATENCY_BAND - BAND_MARGIN)
    assert gov.stats()["headroom_waits"] >= 1


def test_threshold_is_read_more_often_near_the_band():
    clock = Clock()
    gov = Governor("t-" + uuid.uuid4().hex, clock=clock)
    gov.update_threshold({"limit": 10000, "timeframe_minutes": 60, "used": 0})
    for _ in range(100):
        gov.reserve()
    assert not gov.needs_threshold()  # far from the band: every 500 requests or 300 s
    gov.update_threshold({"limit": 10000, "timeframe_minutes": 60, "used": 4800})
    for _ in range(25):
        while gov.reserve():
            clock.now += 1
    assert gov.needs_threshold()  # 100 requests of headroom: re-read after a quarter of them


def test_redis_shares_the_thread_limit_across_processes_and_leases_expire():
    prefix = "test-" + uuid.uuid4().hex
    clock = Clock(time.time())
    # two governors with the same Redis prefix stand for two processes
    one = Governor("tenant", max_concurrency=2, redis_url=REDIS_URL, redis_prefix=prefix, clock=clock)
    two = Governor("tenant", max_concurrency=2, redis_url=REDIS_URL, redis_prefix=prefix, clock=clock)
    try:
        crashed = one.acquire("Tickets")  # never released: its process "crashed"
        held = two.acquire("Tickets")
        blocked = threading.Event()
        got = []

        def third():
            blocked.set()
            got.append(two.acquire("Tickets"))

        t = threading.Thread(target=third, daemon=True)
        t.start()
        blocked.wait()
        time.sleep(0.1)
        assert got == []  # the two leases fill the limit across both "processes"
        clock.now += LEASE_SECONDS + 1  # the crashed process's lease (and the held one) expire
        t.join(2)
        assert len(got) == 1
        two.release(held)
        two.release(got[0])
        del crashed
    finally:
        r = redis.Redis.from_url(REDIS_URL)
        for key in r.scan_iter(f"{prefix}:*"):
            r.delete(key)


def test_redis_shares_the_hourly_budget():
    prefix = "test-" + uuid.uuid4().hex
    clock = Clock(time.time())
    govs = [
        Governor("tenant", max_api_share=0.5, redis_url=REDIS_URL, redis_prefix=prefix, clock=clock)
        for _ in range(2)
    ]
    try:
        for g in govs:
            g.update_threshold({"limit": 8, "timeframe_minutes": 60, "used": 0})
        results = [govs[i % 2].reserve() for i in range(5)]
        assert results[:4] == [0.0] * 4 and results[4] > 3000
        clock.now += 3601
        assert govs[1].reserve() == 0.0
    finally:
        r = redis.Redis.from_url(REDIS_URL)
        for key in r.scan_iter(f"{prefix}:*"):
            r.delete(key)
