"""to_dataframe vs the plain scan it is built on, over 100,000 tickets, in the same run.

    .venv/bin/python benchmarks/dataframe_bench.py              # 100k tickets (tenant built once)
    .venv/bin/python benchmarks/dataframe_bench.py --rows 20000 # the first 20k of them

Target: `client.tickets.to_dataframe()` reaches at least 80% of the rows/s of
`list(client.tickets.query())` over the same rows (the scan is the baseline: the API, here the
sandbox, is what both wait for). The async client's scan and `to_dataframe` are timed beside
them, after the sync pair in each round. Also
prints the client's CPU seconds for each (rusage: what typing the columns costs beyond the
scan's own JSON parsing), the frame's memory against the rows' JSON, and the peak RSS.

The 100k-ticket tenant is generated once into benchmarks/.cache/ (a few minutes) with the
sandbox's own generator at a custom scale (tickets only matter here).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import resource
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autotask_sandbox import generator
from autotask_sandbox.testing import SandboxServer
from sdk_core import AsyncAutotaskClient, AutotaskClient, Q
from sdk_core.frames import entity_frame

CACHE = ROOT / "benchmarks" / ".cache"
SCALE = generator.Scale(400, 60, 100_000, 0.2, 0.2, 20, 4, 50, 500, 50, 30, 100, 200, 3)


def tenant() -> Path:
    path = CACHE / f"dataframe-bench-100k-{generator.version_key()[:12]}.sqlite"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        generator.SCALES["bench100k"] = SCALE
        print(f"building the 100k-ticket tenant into {path} (once) ...", flush=True)
        started = time.perf_counter()
        generator.build_tenant(path, "bench100k", 1)
        print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)
    return path


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RssGrowth:
    """The peak growth of this process's resident memory while the block runs (sampled every
    5 ms from /proc), so the frame's bound shows apart from the scan's list of rows."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._stop = threading.Event()

    @staticmethod
    def _resident_mb() -> float:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    def _sample(self, start: float) -> None:
        while not self._stop.wait(0.005):
            self.peak_mb = max(self.peak_mb, self._resident_mb() - start)

    def __enter__(self) -> RssGrowth:
        self._thread = threading.Thread(target=self._sample, args=(self._resident_mb(),), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def cpu_s() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


async def async_runs(credentials: dict[str, str], where: Q) -> tuple[int, float, float, int, float, float]:
    """The async client's scan, then its to_dataframe: rows, seconds and CPU seconds of each
    (the client is set up untimed)."""
    async with AsyncAutotaskClient(**credentials, cache_dir=str(CACHE / "meta")) as client:
        await client.tickets.fields(), await client.tickets.udfs()
        gc.collect()
        started, cpu = time.perf_counter(), cpu_s()
        rows = [row async for row in client.tickets.query(where)]
        scanned, scan_s, scan_cpu = len(rows), time.perf_counter() - started, cpu_s() - cpu
        rows = []
        gc.collect()
        started, cpu = time.perf_counter(), cpu_s()
        frame = await client.tickets.to_dataframe(where)
        return scanned, scan_s, scan_cpu, len(frame), time.perf_counter() - started, cpu_s() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="tickets to read (first N by id)")
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs of each (median kept)")
    parser.add_argument(
        "--chunk-rows", type=int, default=None, help="rows per built chunk (default: the SDK's)"
    )
    parser.add_argument("--latency-ms", type=int, default=0, help="sandbox latency per request")
    parser.add_argument("--no-async", action="store_true", help="skip the async client's to_dataframe")
    args = parser.parse_args()
    db = tenant()
    with SandboxServer(
        db=db, threshold=1_000_000_000, latency_bands=False, latency_ms=args.latency_ms
    ) as server:
        with AutotaskClient(**server.credentials, cache_dir=str(CACHE / "meta")) as client:
            first = next(iter(client.tickets.pages(page_size=1)))[0]["id"]
            where = Q("id") < first + args.rows
            client.tickets.fields(), client.tickets.udfs()  # metadata cached before timing
            scan_times, frame_times, async_times, ascan_times = [], [], [], []
            scan_cpu, frame_cpu, async_cpu, ascan_cpu = [], [], [], []
            scan_rss, frame_rss = [], []
            frame = rows = None
            for _ in range(args.repeat):
                rows = None
                gc.collect()
                started, cpu = time.perf_counter(), cpu_s()
                with RssGrowth() as grown:
                    rows = list(client.tickets.query(where))
                scan_times.append(time.perf_counter() - started)
                scan_rss.append(grown.peak_mb)
                scan_cpu.append(cpu_s() - cpu)
                n = len(rows)
                json_mb = sum(len(str(r)) for r in rows[:1000]) / 1000 * n / 2**20
                rows = None
                gc.collect()
                started, cpu = time.perf_counter(), cpu_s()
                with RssGrowth() as grown:
                    frame = (
                        client.tickets.to_dataframe(where)
                        if args.chunk_rows is None
                        else entity_frame(client.tickets, where, chunk_rows=args.chunk_rows)
                    )
                frame_times.append(time.perf_counter() - started)
                frame_rss.append(grown.peak_mb)
                frame_cpu.append(cpu_s() - cpu)
                assert len(frame) == n, (len(frame), n)
                if not args.no_async:
                    scanned, scan_s, scan_used, got, seconds, used = asyncio.run(
                        async_runs(server.credentials, where)
                    )
                    assert scanned == got == n, (scanned, got, n)
                    ascan_times.append(scan_s)
                    ascan_cpu.append(scan_used)
                    async_times.append(seconds)
                    async_cpu.append(used)
                frame = None if _ < args.repeat - 1 else frame
    scan, built = statistics.median(scan_times), statistics.median(frame_times)
    ratio = (n / built) / (n / scan)
    med = statistics.median
    print(
        f"\ntickets: {n:,} ({len(frame.columns)} columns in the frame), sandbox latency {args.latency_ms} ms,"
        f" load {os.getloadavg()[0]:.2f}"
    )
    print(
        f"plain scan    list(query())   {n / scan:>9,.0f} rows/s  (median of {args.repeat}: {scan:.2f} s,"
        f" client CPU {med(scan_cpu):.2f} s)"
    )
    print(
        f"to_dataframe  typed, labels   {n / built:>9,.0f} rows/s  (median of {args.repeat}: {built:.2f} s,"
        f" client CPU {med(frame_cpu):.2f} s)"
    )
    if async_times:
        ascan, aframe = med(ascan_times), med(async_times)
        print(
            f"async client  scan            {n / ascan:>9,.0f} rows/s  (median of {args.repeat}:"
            f" {ascan:.2f} s, client CPU {med(ascan_cpu):.2f} s)"
        )
        print(
            f"async client  to_dataframe    {n / aframe:>9,.0f} rows/s  (median of {args.repeat}:"
            f" {aframe:.2f} s, client CPU {med(async_cpu):.2f} s; ratio to the async scan"
            f" {ascan / aframe:.2f}, to the sync scan {scan / aframe:.2f})"
        )
    print(f"ratio to_dataframe / scan: {ratio:.2f}  (target >= 0.80)  {'PASS' if ratio >= 0.8 else 'MISS'}")
    print(
        f"frame memory {frame.memory_usage(deep=True).sum() / 2**20:,.0f} MiB vs about {json_mb:,.0f} MiB "
        f"of row dicts' text; peak RSS of this process {rss_mb():,.0f} MiB"
    )
    print(
        f"peak RSS growth while running (max of {args.repeat}): the scan's list of rows"
        f" +{max(scan_rss):,.0f} MiB, to_dataframe +{max(frame_rss):,.0f} MiB"
    )


if __name__ == "__main__":
    os.environ.setdefault("AUTOTASK_SANDBOX_CACHE", str(CACHE))
    main()
