"""sdk_core client benchmark: ratios against baselines measured in the same run.

    .venv/bin/python benchmarks/client_bench.py            # full run (large tenant, ~1M tickets)
    .venv/bin/python benchmarks/client_bench.py --quick    # small tenant, smaller numbers

Prints, for the issue's targets:
1. full scan rows/s of `AutotaskClient.query` vs a minimal hand-written loop (httpx + json,
   same id cursor, no governor) over the same rows (target >= 0.90);
2. `parallel=3` vs `parallel=1` with 50 ms of sandbox latency (target >= 2.5x), over 20,000
   and 50,000 ids (`--parallel-rows`): the first round, page and count, weighs less in the longer scan;
3. requests per 1,000 rows of the full scan (target <= 2.05);
4. peak RSS above the interpreter baseline while scanning 1,000,000 rows (target <= 100 MB).

The large tenant comes from the sandbox's tenant cache (built once per generator version, about
ten minutes) and is copied once into benchmarks/.cache/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autotask_sandbox.cache import cached_tenant
from autotask_sandbox.testing import SandboxServer
from sdk_core import AutotaskClient, Q

CACHE = ROOT / "benchmarks" / ".cache"
NO_LIMITS = {"threshold": 1_000_000_000, "latency_bands": False}


def tenant(scale: str) -> Path:
    """A private copy of the sandbox's cached tenant (the server may write to its db)."""
    pristine = cached_tenant(scale, 1)  # built once per generator version; minutes for "large"
    path = CACHE / f"client-bench-{pristine.name}"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        shutil.copyfile(pristine, tmp)
        os.replace(tmp, path)
    return path


def first_id(server: SandboxServer) -> int:
    with AutotaskClient(**server.credentials) as c:
        return next(iter(c.tickets.pages(page_size=1)))[0]["id"]


def baseline_scan(server: SandboxServer, upper: int) -> tuple[int, float]:
    """The minimal loop: httpx + json, id cursor, no governor, no retries, no prefetch."""
    url = server.api_url + "V1.0/Tickets/query"
    rows, last = 0, None
    started = time.perf_counter()
    with httpx.Client(headers=server.headers, timeout=60) as http:
        while True:
            flt = [{"op": "lte", "field": "id", "value": upper}]
            if last is not None:
                flt.append({"op": "gt", "field": "id", "value": last})
            items = json.loads(http.post(url, json={"filter": flt}).content)["items"]
            rows += len(items)
            if len(items) < 500:
                break
            last = items[-1]["id"]
    return rows, time.perf_counter() - started


def client_scan(server: SandboxServer, upper: int | None, parallel: int = 1) -> tuple[int, float, int]:
    with AutotaskClient(**server.credentials) as client:
        started = time.perf_counter()
        flt = Q("id") <= upper if upper is not None else None
        rows = sum(1 for _ in client.tickets.query(flt, parallel=parallel))
        return rows, time.perf_counter() - started, client.request_count


def bench_throughput(db: Path, rows: int, repeats: int) -> dict[str, float]:
    with SandboxServer(db=db, **NO_LIMITS) as server:
        upper = first_id(server) + rows - 1
        base, ours, requests = [], [], []
        client_scan(server, upper)  # warm the server's page cache for both
        for _ in range(repeats):
            n, t = baseline_scan(server, upper)
            base.append(n / t)
            m, t, r = client_scan(server, upper)
            assert m == n, f"the client saw {m} rows, the baseline {n}"
            ours.append(m / t)
            requests.append(r)
    return {
        "rows": n,
        "baseline_rows_s": statistics.median(base),
        "client_rows_s": statistics.median(ours),
        "ratio": statistics.median(ours) / statistics.median(base),
        "requests": requests[-1],
        "requests_per_1000": requests[-1] / (n / 1000),
    }


def bench_parallel(db: Path, rows: int, repeats: int = 1) -> dict[str, float]:
    """parallel=1 and parallel=3 taken in turn, `repeats` times each; the medians."""
    with SandboxServer(db=db, latency_ms=50, **NO_LIMITS) as server:
        upper = first_id(server) + rows - 1
        t1s, t3s = [], []
        for _ in range(repeats):
            n1, t1, r1 = client_scan(server, upper, parallel=1)
            n3, t3, r3 = client_scan(server, upper, parallel=3)
            assert n1 == n3, f"parallel=3 saw {n3} rows, parallel=1 {n1}"
            t1s.append(t1)
            t3s.append(t3)
    t1, t3 = statistics.median(t1s), statistics.median(t3s)
    return {"rows": n1, "p1_s": t1, "p3_s": t3, "speedup": t1 / t3, "p1_requests": r1, "p3_requests": r3}


def report_parallel(par: dict[str, float], repeats: int) -> None:
    print(
        f"2. 50 ms latency, {par['rows']:,} rows: parallel=1 {par['p1_s']:.2f}s "
        f"({par['p1_requests']} req), parallel=3 {par['p3_s']:.2f}s ({par['p3_requests']} req) "
        f"-> {par['speedup']:.2f}x (target >= 2.5x: {'PASS' if par['speedup'] >= 2.5 else 'MISS'}; "
        f"medians of {repeats} turns)"
    )
    # Rounds of 50 ms: parallel=1 reads one page per round (the next is prefetched);
    # parallel=3 reads the first page beside the count, then the other pages (two ranges per
    # slot) three requests at a time. Request counts may include the governor's threshold read
    # (every 500 requests in the process), so the bound comes from the pages.
    pages = par["rows"] // 500 + 1  # a short last page, or an empty one after a full one
    rounds3 = 1 + -(-(pages - 1) // 3)
    print(
        f"   bound: a perfect plan allows at most {pages / rounds3:.2f}x ({pages} rounds against "
        f"{rounds3}); what is lost beyond it is CPU on 2 cores: the sandbox serves the 3 "
        "requests of a round one after another, the client parses each page holding the GIL"
    )


RSS_CHILD = """
import sys, threading, time, psutil
from sdk_core import AutotaskClient, Q
proc = psutil.Process()
creds = dict(username=sys.argv[1], secret=sys.argv[2], integration_code=sys.argv[3], api_url=sys.argv[4])
upper = int(sys.argv[5])
with AutotaskClient(**creds) as client:
    client.threshold()
    base = proc.memory_info().rss
    peak = [base]
    stop = False
    def sample():
        while not stop:
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.05)
    t = threading.Thread(target=sample, daemon=True); t.start()
    started = time.perf_counter()
    n = sum(1 for _ in client.tickets.query(Q("id") <= upper))
    elapsed = time.perf_counter() - started
    stop = True; t.join()
    print(n, base, peak[0], elapsed, client.request_count)
"""


def bench_rss(db: Path, rows: int) -> dict[str, float]:
    with SandboxServer(db=db, **NO_LIMITS) as server:
        upper = first_id(server) + rows - 1
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                RSS_CHILD,
                server.username,
                server.secret,
                server.integration_code,
                server.api_url,
                str(upper),
            ],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout.split()
    n, base, peak, elapsed, requests = int(out[0]), int(out[1]), int(out[2]), float(out[3]), int(out[4])
    return {
        "rows": n,
        "baseline_rss_mb": base / 2**20,
        "peak_rss_mb": peak / 2**20,
        "growth_mb": (peak - base) / 2**20,
        "rows_s": n / elapsed,
        "requests_per_1000": requests / (n / 1000),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small tenant, scaled-down sizes")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--db", type=Path, help="an existing tenant file to serve (a copy you may spoil)")
    parser.add_argument(
        "--only",
        choices=["throughput", "parallel", "rss"],
        help="run one part (throughput also gives parallel's per-page service time)",
    )
    parser.add_argument(
        "--parallel-rows",
        type=int,
        action="append",
        help="rows the parallel part scans (repeatable; default 20,000 and 50,000, 3,500 with --quick)",
    )
    args = parser.parse_args()
    scale, scan_rows, par_rows, rss_rows = (
        ("small", 3_500, [3_500], 3_500) if args.quick else ("large", 100_000, [20_000, 50_000], 2_000_000)
    )
    par_rows = args.parallel_rows or par_rows
    db = args.db.resolve() if args.db else tenant(scale)
    print(f"tenant: {db.name}")

    if args.only in (None, "throughput"):
        tp = bench_throughput(db, scan_rows, args.repeats)
        print(
            f"1. full scan of {tp['rows']:,} tickets: client {tp['client_rows_s']:,.0f} rows/s, "
            f"hand-written loop {tp['baseline_rows_s']:,.0f} rows/s -> ratio {tp['ratio']:.2f} "
            "(target >= 0.90)"
        )
        print(
            f"3. requests per 1,000 rows (full scan of {tp['rows']:,}): {tp['requests_per_1000']:.3f} "
            f"({tp['requests']} requests, threshold read included; target <= 2.05)"
        )
    if args.only in (None, "parallel"):
        for rows in par_rows:
            report_parallel(bench_parallel(db, rows, args.repeats), args.repeats)
    if args.only in (None, "rss"):
        rss = bench_rss(db, rss_rows)
        print(
            f"4. scanning {rss['rows']:,} rows: RSS {rss['baseline_rss_mb']:.0f} MB -> peak "
            f"{rss['peak_rss_mb']:.0f} MB, growth {rss['growth_mb']:.1f} MB (target <= 100 MB); "
            f"{rss['rows_s']:,.0f} rows/s, {rss['requests_per_1000']:.3f} requests per 1,000 rows"
        )


if __name__ == "__main__":
    main()
