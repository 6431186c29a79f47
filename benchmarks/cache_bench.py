"""The read cache on a dashboard workload, against the same workload without a cache, same run.

    .venv/bin/python benchmarks/cache_bench.py                 # 60 simulated minutes
    .venv/bin/python benchmarks/cache_bench.py --minutes 20

The dashboard refreshes every minute: the open tickets (one query), then the company and the
assigned resource of the 100 most urgent ones (`get(id)` each). Every fifth minute someone
reassigns a ticket's priority through the same client (our own write). Time is simulated for
the memory backend (its clock moves a minute per refresh), so TTLs expire as they would:
Tickets 120 s, Companies 30 min, Resources 60 min. Targets: hit rate >= 80%, a cached `get`
under 1 ms, and no stale value after our own write: after every refresh the dashboard's rows
are compared with a second client's uncached reads, and each written ticket with the value
written.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autotask_sandbox.testing import SandboxServer
from sdk_core import AutotaskClient, CacheConfig, Q

FIELDS = ["title", "status", "priority", "companyID", "assignedResourceID", "lastActivityDate"]
TTL = {"Tickets": 120, "Companies": 1800, "Resources": 3600}
REDIS_URL = os.environ.get("AUTOTASK_REDIS_URL", "redis://127.0.0.1:6379/0")


def refresh(client: AutotaskClient) -> list[dict]:
    """One dashboard refresh: open tickets, then the company and resource of the top 100."""
    tickets = list(client.tickets.query(Q("status") != 5, fields=FIELDS))
    top = sorted(tickets, key=lambda t: (t["priority"] or 9, t["id"]))[:100]
    for t in top:
        t["company"] = client.companies.get(t["companyID"])["companyName"]
        if t["assignedResourceID"]:
            resource = client.resources.get(t["assignedResourceID"])
            t["resource"] = f"{resource['firstName']} {resource['lastName']}"
    return top


def dashboard(server: SandboxServer, minutes: int, cache: CacheConfig | None) -> dict:
    now = [time.monotonic()]
    with (
        AutotaskClient(**server.credentials, cache=cache) as client,
        AutotaskClient(**server.credentials) as truth,
    ):
        if client.cache is not None and hasattr(client.cache.backend, "clock"):
            client.cache.backend.clock = lambda: now[0]
        stale = checked = 0
        written: dict[int, int] = {}
        started, sent = time.perf_counter(), client.request_count
        for minute in range(minutes):
            shown = refresh(client)
            truth_rows = {t["id"]: t for t in truth.tickets.query(Q("status") != 5, fields=FIELDS)}
            for row in shown:
                checked += 1
                fresh = truth_rows.get(row["id"])
                if fresh is None or any(row[k] != fresh[k] for k in FIELDS):
                    stale += 1
                if row["id"] in written and row["priority"] != written[row["id"]]:
                    stale += 1
            if minute % 5 == 4:  # someone changes a ticket on the dashboard
                target = shown[minute % len(shown)]
                priority = 1 if target["priority"] != 1 else 2
                client.tickets.update({"id": target["id"], "priority": priority})
                written[target["id"]] = priority
            now[0] += 60
        elapsed = time.perf_counter() - started
        return {
            "requests": client.request_count - sent,
            "seconds": elapsed,
            "stale": stale,
            "checked": checked,
            "stats": client.cache_stats(),
        }


def get_latency(server: SandboxServer, cache: CacheConfig | None, n: int) -> float:
    """Median microseconds of `get(id)` of one record (hits, when cached)."""
    with AutotaskClient(**server.credentials, cache=cache) as client:
        tid = next(iter(client.tickets.query(fields=["id"])))["id"]
        client.tickets.get(tid)
        times = []
        for _ in range(n):
            started = time.perf_counter()
            client.tickets.get(tid)
            times.append(time.perf_counter() - started)
        if client.cache is not None:
            client.cache.clear()
        return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--latency-ms", type=int, default=20, help="sandbox latency per request")
    args = parser.parse_args()
    with SandboxServer(
        scale="small", seed=1, latency_ms=args.latency_ms, threshold=1_000_000_000, latency_bands=False
    ) as server:
        print(f"dashboard: {args.minutes} refreshes, sandbox 'small' tenant, {args.latency_ms} ms latency")
        plain = dashboard(server, args.minutes, None)
        cached = dashboard(server, args.minutes, CacheConfig(backend="memory", default_ttl=300, ttl=TTL))
        stats = cached["stats"]
        print(f"  without cache  {plain['requests']:>6} requests  {plain['seconds']:6.1f} s")
        print(
            f"  memory cache   {cached['requests']:>6} requests  {cached['seconds']:6.1f} s   "
            f"hits {stats['hits']}, misses {stats['misses']}, invalidations {stats['invalidations']}"
        )
        hit_rate = stats["hit_rate"]
        print(f"  hit rate {hit_rate:.1%} (target >= 80%)  {'PASS' if hit_rate >= 0.8 else 'MISS'}")
        print(
            f"  requests ratio cached/plain {cached['requests'] / plain['requests']:.3f}, "
            f"time ratio {cached['seconds'] / plain['seconds']:.3f}"
        )
        stale = cached["stale"]
        print(
            f"  stale values after our own writes: {stale} of {cached['checked']} rows checked "
            f"(target 0)  {'PASS' if stale == 0 else 'MISS'}"
        )
        assert plain["stale"] == 0, "the uncached baseline disagreed with itself"

        print("\nget(id) of one ticket, median of repeated calls:")
        plain_us = get_latency(server, None, 200)
        print(f"  no cache        {plain_us / 1000:8.2f} ms  (the baseline, {args.latency_ms} ms latency)")
        backends = {
            "memory": CacheConfig(backend="memory"),
            "redis": CacheConfig(
                backend="redis", redis_url=REDIS_URL, key_prefix=f"cache-bench-{uuid.uuid4().hex[:8]}"
            ),
            "disk": CacheConfig(backend="disk", directory=tempfile.mkdtemp(prefix="cache-bench-")),
        }
        for name, config in backends.items():
            us = get_latency(server, config, 5000)
            print(
                f"  {name:<7} hit    {us / 1000:8.3f} ms  ({plain_us / us:,.0f}x faster; target < 1 ms) "
                f"{'PASS' if us < 1000 else 'MISS'}"
            )


if __name__ == "__main__":
    main()
