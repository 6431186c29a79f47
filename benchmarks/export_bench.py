"""`autotask export`: peak memory at two sizes (it must stay flat) and rows/s, per format.

    .venv/bin/python benchmarks/export_bench.py [--scale large] [--rows 10000,100000] [--formats csv,xlsx]

Against a sandbox serving the `large` tenant (about 1,000,000 tickets; built once into the
sandbox's tenant cache, minutes), `autotask export Tickets --where "id<=N"` runs as a process at
each size. Peak RSS is the sum over the process tree (the command and the target it starts),
sampled every 20 ms with psutil. Flat means the peak at the big size is within a small factor of
the small one while the rows grow tenfold. The baseline is the same rows read by a bare
`autotask query --format jsonl > /dev/null` in the same run, so rows/s is a ratio.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autotask_sandbox.testing import SandboxServer
from sdk_core import AutotaskClient

BIN = Path(sys.executable).parent


def run_measured(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(seconds, peak MiB of the whole process tree) of one command."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stderr.read().decode()[-3000:]}")
    return elapsed, peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", default="large")
    parser.add_argument("--rows", default="10000,100000")
    parser.add_argument("--formats", default="csv,parquet,xlsx,sqlite")
    args = parser.parse_args()
    sizes = [int(n) for n in args.rows.split(",")]
    formats = args.formats.split(",")
    print(f"starting the sandbox ({args.scale} tenant; built once, may take minutes) ...", flush=True)
    with SandboxServer(scale=args.scale, seed=1) as server, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {**os.environ, **server.env, "AUTOTASK_CACHE_DIR": str(work / "cache")}
        with AutotaskClient(**server.credentials) as client:
            bounds, seen = {}, 0
            for row in client.tickets.query(None, ["id"]):  # the id of the n-th ticket bounds each size
                seen += 1
                if seen in sizes:
                    bounds[seen] = row["id"]
                    if seen == max(sizes):
                        break
            if len(bounds) != len(sizes):
                raise SystemExit(f"the tenant has {seen:,} tickets, fewer than {max(sizes):,}")
        print(f"{'format':8} {'rows':>8} {'seconds':>8} {'rows/s':>9} {'vs query':>9} {'peak MiB':>9}")
        results: dict[str, list[tuple[int, float]]] = {}
        for n in sizes:
            where = f"id<={bounds[n]}"
            base_s, base_mib = run_measured(
                [str(BIN / "autotask"), "query", "Tickets", "--where", where, "--format", "jsonl"], env, work
            )
            print(f"{'query':8} {n:>8,} {base_s:>8.1f} {n / base_s:>9,.0f} {'1.00':>9} {base_mib:>9.0f}")
            for fmt in formats:
                out = work / (f"t.{fmt}" if fmt in ("xlsx", "sqlite") else f"t_{fmt}")
                seconds, mib = run_measured(
                    [
                        str(BIN / "autotask"),
                        "export",
                        "Tickets",
                        "--where",
                        where,
                        "--format",
                        fmt,
                        "--out",
                        str(out),
                    ],
                    env,
                    work,
                )
                results.setdefault(fmt, []).append((n, mib))
                print(
                    f"{fmt:8} {n:>8,} {seconds:>8.1f} {n / seconds:>9,.0f} {base_s / seconds:>9.2f} {mib:>9.0f}",
                    flush=True,
                )
        print("\npeak memory, largest size against smallest (flat is near 1.0):")
        for fmt, points in results.items():
            (small_n, small), (big_n, big) = points[0], points[-1]
            print(
                f"  {fmt:8} {big:.0f} MiB at {big_n:,} rows vs {small:.0f} MiB at {small_n:,}: {big / small:.2f}x"
            )


if __name__ == "__main__":
    main()
