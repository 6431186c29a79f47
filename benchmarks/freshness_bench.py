"""Freshness of webhook-triggered syncs, and the fixed cost of one run.

1. The fixed cost: CPU seconds (tap and target together) and wall seconds of an incremental
   run of the tickets group that finds nothing new; the median of `--runs` runs. Goal: at most
   1.5 CPU-s. Baseline in the same run: the CPU of a bare `python -c pass` pair, the floor of
   any two-process design.
2. Freshness: the sandbox at `--latency-ms` (100), the webhook receiver, `dagster dev` with the
   webhook sensor, PostgreSQL as the destination. `--changes` (50) ticket changes spread over
   `--minutes` (3); for each, seconds from the change to the row in PostgreSQL. Goal: median at
   most 10 s, p95 at most 20 s. API requests per change (the sandbox's own counter) against
   the same freshness bought by polling: one no-op incremental run a minute.

    .venv/bin/python benchmarks/freshness_bench.py [--changes 50 --minutes 3 --latency-ms 100]

Needs the webhooks package (`autotask webhooks serve`) and PostgreSQL on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autotask_sandbox.testing import SandboxServer
from orchestration.groups import group_named
from orchestration.resources import SingerPipelineResource
from orchestration.state_store import StateStore
from orchestration.sync import sync_group
from orchestration.tenants import Tenant
from scripts.demo_dagster import free_port, start_receiver
from sdk_core import AutotaskClient

POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BIN = Path(sys.executable).parent
console = Console()


def process_pair_floor() -> float:
    """CPU-s of two bare Python processes joined by a pipe: what no design goes below."""
    before = os.times()
    a = subprocess.Popen([sys.executable, "-c", "pass"], stdout=subprocess.PIPE)
    b = subprocess.Popen([sys.executable, "-c", "pass"], stdin=a.stdout)
    a.stdout.close()  # type: ignore[union-attr]  # stdout is a PIPE
    a.wait(), b.wait()
    after = os.times()
    return (after.children_user - before.children_user) + (after.children_system - before.children_system)


def fixed_cost(sandbox: SandboxServer, url: str, schema: str, runs: int, warm: bool) -> dict[str, float]:
    os.environ["AUTOTASK_WARM_START"] = "1" if warm else "0"
    tenant = Tenant(name="default", destination=url, schema=schema, **sandbox.credentials)
    store = StateStore(url, schema=schema)
    pipeline = SingerPipelineResource()
    quiet = lambda level, message: None  # noqa: E731  (a throwaway logger)
    first = sync_group(
        tenant, group_named("tickets"), pipeline=pipeline, store=store, owner="bench", log=quiet
    )
    noop = [
        sync_group(tenant, group_named("tickets"), pipeline=pipeline, store=store, owner="bench", log=quiet)
        for _ in range(runs)
    ]
    store.close()
    return {
        "initial_rows": sum(first.records.values()),
        "cpu": statistics.median(r.cpu_seconds for r in noop),
        "wall": statistics.median(r.seconds for r in noop),
        "requests": statistics.median(r.total_requests for r in noop),
        "rows": sum(sum(r.records.values()) for r in noop),
    }


def freshness(
    sandbox: SandboxServer, url: str, schema: str, changes: int, minutes: float, warm: bool
) -> dict[str, float]:
    out = Path(tempfile.mkdtemp(prefix="freshness-bench-"))
    (out / "home").mkdir()
    shutil.copy(ROOT / "orchestration" / "dagster.yaml", out / "home" / "dagster.yaml")
    store_url = f"sqlite:///{out / 'events.db'}"
    secret = secrets.token_urlsafe(24)
    env = {
        **os.environ,
        **sandbox.env,
        "AUTOTASK_DESTINATION_URL": url,
        "AUTOTASK_WEBHOOK_STORE": store_url,
        "AUTOTASK_WEBHOOK_SECRET": secret,
        "DAGSTER_HOME": str(out / "home"),
        "AUTOTASK_CACHE_DIR": str(out / "cache"),
        "AUTOTASK_WARM_START": "1" if warm else "0",
    }
    tenants = out / "tenants.yaml"
    tenants.write_text(
        f"tenants:\n  default:\n    credentials_env_prefix: AUTOTASK\n"
        f"    api_url: {sandbox.api_url}\n    schema: {schema}\n"
    )
    env["AUTOTASK_TENANTS_FILE"] = str(tenants)
    procs = []
    try:
        receiver, port = start_receiver_in(out, env, store_url)
        procs.append(receiver)
        client = AutotaskClient(**sandbox.credentials)
        client.webhooks.register(
            "Ticket",
            f"http://127.0.0.1:{port}/webhooks/default/ticket",
            secret,
            name="freshness-bench",
            fields=["title"],
        )
        from dagster import DagsterInstance

        os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
        DagsterInstance.get().dispose()  # storage created once, before the daemon starts
        procs.append(
            subprocess.Popen(
                [
                    str(BIN / "dagster"),
                    "dev",
                    "-m",
                    "orchestration",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(free_port()),
                ],
                env=env,
                cwd=ROOT,
                stdout=open(out / "dagster.log", "w"),
                stderr=subprocess.STDOUT,
            )
        )
        ids = [t["id"] for t in client.tickets.query(fields=["id"])][:changes]
        engine = sa.create_engine(url)
        before = sandbox.admin.stats()["total"]
        pending: dict[int, tuple[str, float]] = {}
        latencies: list[float] = []
        gap = minutes * 60 / changes
        next_change = time.monotonic()
        deadline = time.monotonic() + minutes * 60 + 180
        table = sa.table("tickets", sa.column("id"), sa.column("title"), schema=schema)
        with console.status("changes in flight") as status:
            while (ids or pending) and time.monotonic() < deadline:
                if ids and time.monotonic() >= next_change:
                    ticket = ids.pop(0)
                    title = f"bench {uuid.uuid4().hex[:8]}"
                    client.tickets.update({"id": ticket, "title": title})
                    pending[ticket] = (title, time.monotonic())
                    next_change += gap * random.uniform(0.5, 1.5)
                if pending:
                    with engine.connect() as conn:
                        rows = dict(
                            conn.execute(
                                sa.select(table.c.id, table.c.title).where(table.c.id.in_(list(pending)))
                            ).all()
                        )
                    for ticket, (title, at) in list(pending.items()):
                        if rows.get(ticket) == title:
                            latencies.append(time.monotonic() - at)
                            del pending[ticket]
                status.update(
                    f"{len(latencies)} rows arrived, {len(pending)} pending, {len(ids)} changes to make"
                )
                time.sleep(0.25)
        spent = sandbox.admin.stats()["total"] - before - changes  # less the changes themselves
        engine.dispose()
        latencies.sort()
        return {
            "arrived": len(latencies),
            "lost": len(pending),
            "median": statistics.median(latencies) if latencies else float("nan"),
            "p95": latencies[max(0, int(len(latencies) * 0.95) - 1)] if latencies else float("nan"),
            "requests_per_change": spent / changes,
        }
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(out, ignore_errors=True)


def start_receiver_in(out: Path, env: dict[str, str], store_url: str):
    import scripts.demo_dagster as demo

    demo.OUT = out
    return start_receiver(env, store_url)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3, help="no-op runs for the fixed cost")
    parser.add_argument("--skip-freshness", action="store_true")
    parser.add_argument(
        "--cold", action="store_true", help="webhook runs without warm starts (AUTOTASK_WARM_START=0)"
    )
    args = parser.parse_args()
    os.environ.setdefault("AUTOTASK_SANDBOX_CACHE", str(ROOT / "benchmarks" / ".cache"))
    os.environ.setdefault("AUTOTASK_WARM_IDLE_SECONDS", "60")  # no launcher idling an hour after
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(POSTGRES)
    try:
        with SandboxServer(scale="tiny", seed=1, latency_ms=args.latency_ms) as sandbox:
            sandbox.admin.put("webhooks/settings", {"retry_interval": 1, "timeout": 5})
            floor = process_pair_floor()
            cold = fixed_cost(sandbox, POSTGRES, schema, args.runs, warm=False)
            cost = fixed_cost(sandbox, POSTGRES, schema, args.runs, warm=True)
            fresh = (
                None
                if args.skip_freshness
                else freshness(sandbox, POSTGRES, schema, args.changes, args.minutes, warm=not args.cold)
            )
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        engine.dispose()
    table = Table("figure", "value", "goal / baseline")
    table.add_row(
        "no-op incremental run, tickets group: CPU-s (tap + target), cold start (AUTOTASK_WARM_START=0)",
        f"{cold['cpu']:.2f}",
        f"{cold['cpu'] / floor:.1f}x two bare Python processes ({floor:.2f} CPU-s)",
    )
    table.add_row("  wall seconds, cold", f"{cold['wall']:.2f}", "")
    table.add_row(
        "  the same, warm start (the default): CPU-s",
        f"{cost['cpu']:.2f}",
        f"<= 1.5; {cost['cpu'] / cold['cpu']:.2f}x the cold start",
    )
    table.add_row("  wall seconds, warm", f"{cost['wall']:.2f}", "")
    table.add_row("  API requests", f"{cost['requests']:.0f}", f"rows emitted: {cost['rows']}")
    if fresh:
        polling = cost["requests"] * 60 * args.minutes / args.changes  # one no-op run a minute
        table.add_row(f"webhook runs: {'cold' if args.cold else 'warm'} starts", "", "")
        table.add_row("change -> row in PostgreSQL, median s", f"{fresh['median']:.1f}", "<= 10")
        table.add_row("change -> row in PostgreSQL, p95 s", f"{fresh['p95']:.1f}", "<= 20")
        table.add_row("rows arrived / lost", f"{fresh['arrived']} / {fresh['lost']}", "")
        table.add_row(
            "API requests per change (webhooks)",
            f"{fresh['requests_per_change']:.2f}",
            f"polling every minute: {polling:.2f} ({polling / max(fresh['requests_per_change'], 1e-9):.1f}x)",
        )
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
