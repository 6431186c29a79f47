"""Sandbox serving speed: 500-row Tickets pages by id cursor over real HTTP, and server memory.

    .venv/bin/python benchmarks/sandbox_bench.py               # large tenant (built once, reused)
    .venv/bin/python benchmarks/sandbox_bench.py --scale small # quick try

The tenant is built into benchmarks/.cache/ on first use (minutes for `large`) and reused
afterwards. Pages are fetched sequentially from cursors spread over the whole id range. The
baseline, measured in the same run, is the median time of `GET /V1.0/Version` (the HTTP and
auth path with no data work), so the ratio shows what the page itself costs.
Targets: median page <= 30 ms, server RSS <= 400 MB.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import httpx
import psutil
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autotask_sandbox.generator import build_tenant, version_key
from autotask_sandbox.testing import SandboxServer

TARGET_MEDIAN_MS = 30.0
TARGET_RSS_MB = 400.0


def tenant(scale: str, seed: int, console: Console, db: Path | None) -> tuple[Path, str, float]:
    cache = ROOT / "benchmarks" / ".cache"
    cache.mkdir(parents=True, exist_ok=True)
    path = db or cache / f"tenant-{scale}-seed{seed}-{version_key()}.sqlite"
    started = time.perf_counter()
    if path.exists():
        return path, "reused", time.perf_counter() - started
    with console.status(f"building the {scale} tenant into {path} ..."):
        build_tenant(path, scale, seed)
    return path, "built", time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", default="large")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--db", type=Path, help="a tenant file to use (built there if missing)")
    args = parser.parse_args()
    console = Console()
    path, how, build_seconds = tenant(args.scale, args.seed, console, args.db)
    with SandboxServer(args.scale, args.seed, db=path, threshold=10**9, latency_bands=False) as sb:
        proc = psutil.Process(sb.pid)
        url = sb.api_url + "V1.0/"
        with httpx.Client(headers=sb.headers, timeout=60) as http:
            everything = {"filter": [{"op": "exist", "field": "id"}]}
            total = http.post(url + "Tickets/query/count", json=everything).json()["queryCount"]
            first = http.post(url + "Tickets/query", json={**everything, "MaxRecords": 1}).json()["items"][0][
                "id"
            ]
            last = http.post(
                url + "Tickets/query",
                json={
                    "filter": [{"op": "gt", "field": "id", "value": first + total + total // 50}],
                    "MaxRecords": 1,
                },
            ).json()["items"]
            span = total + total // 50
            for _ in range(20):  # warm-up of both paths
                http.get(url + "Version")
                http.post(
                    url + "Tickets/query", json={"filter": [{"op": "gt", "field": "id", "value": first}]}
                )
            baseline = []
            for _ in range(args.pages):
                t = time.perf_counter()
                http.get(url + "Version")
                baseline.append(time.perf_counter() - t)
            times, rows, peak_rss = [], 0, 0
            step = max(1, (span - 500) // args.pages)
            for i in range(args.pages):
                cursor = first + i * step
                t = time.perf_counter()
                r = http.post(
                    url + "Tickets/query",
                    json={"filter": [{"op": "gt", "field": "id", "value": cursor}], "MaxRecords": 500},
                )
                times.append(time.perf_counter() - t)
                rows += len(r.json()["items"])
                if i % 20 == 0:
                    peak_rss = max(peak_rss, proc.memory_info().rss)
            peak_rss = max(peak_rss, proc.memory_info().rss)
    del last
    median_ms = statistics.median(times) * 1000
    p95_ms = percentile(times, 0.95) * 1000
    base_ms = statistics.median(baseline) * 1000
    rss_mb = peak_rss / 1e6
    table = Table(title=f"Sandbox serving benchmark ({args.scale} tenant, seed {args.seed})")
    for column in ("measure", "value", "target / note"):
        table.add_column(column)
    table.add_row(
        "tenant",
        f"{how} in {build_seconds:.1f} s",
        f"{total:,} tickets, {path.stat().st_size / 1e6:,.0f} MB file",
    )
    table.add_row("baseline GET /Version (median)", f"{base_ms:.2f} ms", "same run")
    table.add_row("500-row page by id cursor, median", f"{median_ms:.2f} ms", f"<= {TARGET_MEDIAN_MS:.0f} ms")
    table.add_row("500-row page by id cursor, p95", f"{p95_ms:.2f} ms", "")
    table.add_row("page / baseline ratio", f"{median_ms / base_ms:.1f}x", "")
    table.add_row(
        "rows served per second", f"{rows / sum(times):,.0f}", f"{rows:,} rows in {len(times)} pages"
    )
    table.add_row("server RSS (peak sampled)", f"{rss_mb:.0f} MB", f"<= {TARGET_RSS_MB:.0f} MB")
    console.print(table)
    ok = median_ms <= TARGET_MEDIAN_MS and rss_mb <= TARGET_RSS_MB
    console.print(f"verdict: {'PASS' if ok else 'FAIL'} (median {median_ms:.1f} ms, RSS {rss_mb:.0f} MB)")


if __name__ == "__main__":
    main()
