"""Bulk write benchmark: the engine against the thread limit, and exactly-once under faults.

    .venv/bin/python benchmarks/bulk_bench.py              # 600 rows per measurement
    .venv/bin/python benchmarks/bulk_bench.py --rows 300   # quicker

Against a sandbox with 50 ms of latency per request (no hourly threshold, no latency bands),
it prints:
1. creates and updates per second of `bulk_create` / `bulk_update`, as a share of what the
   thread limit allows (3 requests in flight per endpoint: 3 per latency period is the
   ideal) and against a bare loop measured in the same run (3 threads posting with httpx, no
   journal, no governor); the target is >= 90 % of the ideal;
2. with 5 % injected faults (429, 500, reset, reset-after-commit), that every row ends up
   written exactly once (creates looked up by title; updates read back).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autotask_sandbox.testing import SandboxServer
from sdk_core import AutotaskClient, Q
from sdk_core._flow import RetryPolicy

LATENCY_MS = 50
THREADS = 3
FAULTS = "429:0.0125@0,500:0.0125,reset:0.0125,reset-after:0.0125"  # 5 % of requests


def bare_creates(server: SandboxServer, company: int, rows: int) -> float:
    """Rows/s of 3 threads posting creates back to back: what the limit allows in practice."""
    url = server.api_url + "V1.0/Tickets"
    todo = iter(range(rows))
    lock = threading.Lock()

    def worker() -> None:
        with httpx.Client(headers=server.headers, timeout=60) as http:
            while True:
                with lock:
                    i = next(todo, None)
                if i is None:
                    return
                r = http.post(
                    url, json={"title": f"bare-{i}", "companyID": company, "priority": 1, "status": 1}
                )
                r.raise_for_status()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return rows / (time.perf_counter() - started)


def single_round_trip(server: SandboxServer, company: int, rows: int = 40) -> float:
    """Seconds per create of one thread alone: the latency plus the sandbox's own work."""
    url = server.api_url + "V1.0/Tickets"
    with httpx.Client(headers=server.headers, timeout=60) as http:
        started = time.perf_counter()
        for i in range(rows):
            http.post(
                url, json={"title": f"alone-{i}", "companyID": company, "priority": 1, "status": 1}
            ).raise_for_status()
        return (time.perf_counter() - started) / rows


def client_for(server: SandboxServer, cache: str) -> AutotaskClient:
    client = AutotaskClient(**server.credentials, cache_dir=cache)
    client.policy = RetryPolicy(max_retries=10, backoff_base=0.05, backoff_max=0.5)
    return client


def measure(server: SandboxServer, company: int, rows: int, cache: str) -> dict[str, float]:
    with client_for(server, cache) as client:
        client.tickets.fields(), client.tickets.udfs(), client.threshold()  # metadata outside the clock
        started = time.perf_counter()
        created = client.tickets.bulk_create(
            [{"title": f"speed-{i}", "companyID": company, "priority": 1, "status": 1} for i in range(rows)],
            journal=Path(cache) / "journal.sqlite",
            progress=False,
            match=["title"],
        )
        create_rate = rows / (time.perf_counter() - started)
        assert created.ok, created.errors[:3]
        started = time.perf_counter()
        updated = client.tickets.bulk_update(
            [{"id": i, "priority": 2} for i in created.ids],
            journal=Path(cache) / "journal.sqlite",
            progress=False,
        )
        update_rate = rows / (time.perf_counter() - started)
        assert updated.ok, updated.errors[:3]
        return {
            "create": create_rate,
            "update": update_rate,
            "create_requests": created.requests / rows,
            "update_requests": updated.requests / rows,
        }


def faulty(server: SandboxServer, company: int, rows: int, cache: str) -> dict[str, object]:
    with client_for(server, cache) as client:
        client.tickets.fields(), client.tickets.udfs(), client.threshold()
        before = server.admin.stats()["faults"]
        server.admin.set_faults(FAULTS)
        titles = [f"faulty-{i:05d}" for i in range(rows)]
        created = client.tickets.bulk_create(
            [{"title": t, "companyID": company, "priority": 1, "status": 1} for t in titles],
            journal=Path(cache) / "journal.sqlite",
            progress=False,
            match=["title"],
        )
        updated = client.tickets.bulk_update(
            [{"id": i, "priority": 2} for i in created.ids if i],
            journal=Path(cache) / "journal.sqlite",
            progress=False,
        )
        server.admin.set_faults(None)
        faults = {k: v - before.get(k, 0) for k, v in server.admin.stats()["faults"].items()}
        found = list(
            client.tickets.query(Q("title").begins_with("faulty-"), fields=["id", "title", "priority"])
        )
        counts: dict[str, int] = {}
        for row in found:
            counts[row["title"]] = counts.get(row["title"], 0) + 1
        return {
            "faults": faults,
            "created_ok": created.ok,
            "updated_ok": updated.ok,
            "reconciled": created.reconciled,
            "missing": sum(1 for t in titles if t not in counts),
            "duplicated": sum(1 for n in counts.values() if n > 1),
            "wrong_priority": sum(1 for r in found if r["priority"] != 2),
            "errors": created.errors[:3] + updated.errors[:3],
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=600)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # retries and reconciliations are expected here
    ideal = THREADS / (LATENCY_MS / 1000)
    with (
        tempfile.TemporaryDirectory(prefix="bulk-bench-") as cache,
        SandboxServer(
            scale="tiny", seed=1, latency_ms=LATENCY_MS, threshold=1_000_000_000, latency_bands=False
        ) as server,
    ):
        with client_for(server, cache) as c:
            company = next(iter(c.tickets.query(fields=["companyID"])))["companyID"]
        alone = single_round_trip(server, company)
        measured_ideal = THREADS / alone
        bare = bare_creates(server, company, args.rows)
        got = measure(server, company, args.rows, cache)
        print(
            f"sandbox latency {LATENCY_MS} ms, thread limit {THREADS}: nominal ideal {ideal:.1f} requests/s; "
            f"one request alone takes {alone * 1000:.1f} ms, so 3 in flight allow {measured_ideal:.1f}/s; "
            f"bare 3-thread httpx loop {bare:.1f} creates/s ({bare / ideal:.0%} of nominal)"
        )
        for kind in ("create", "update"):
            rate = got[kind]
            print(
                f"bulk_{kind}: {rate:.1f} rows/s = {rate / ideal:.0%} of nominal "
                f"({'meets' if rate >= 0.9 * ideal else 'misses'} the 90% target), "
                f"{rate / measured_ideal:.0%} of the measured limit, {rate / bare:.2f}x the bare loop, "
                f"{got[kind + '_requests']:.3f} requests per row"
            )
        result = faulty(server, company, args.rows, cache)
        exact = not result["missing"] and not result["duplicated"] and not result["wrong_priority"]
        print(
            f"with 5% faults {result['faults']}: {args.rows} creates + updates, missing "
            f"{result['missing']}, duplicated {result['duplicated']}, not updated "
            f"{result['wrong_priority']}, lost creates reconciled {result['reconciled']}: "
            f"{'every row written exactly once' if exact else 'NOT EXACTLY ONCE'}"
        )
        if result["errors"]:
            print("errors:", result["errors"])


if __name__ == "__main__":
    main()
