"""`make demo-dagster`: webhook-triggered syncs with Dagster, end to end, against the sandbox.

1. starts the sandbox, the webhook receiver (`autotask webhooks serve`) and `dagster dev`;
2. registers a ticket webhook in the sandbox that posts to the receiver;
3. materializes the tickets group once (`dagster asset materialize ... --partition default`);
4. changes a ticket through the sandbox's API;
5. waits for the webhook sensor's run, and shows it and the updated row.

Everything lives in `output/dagster-demo/` (DAGSTER_HOME, the warehouse, the event store).
`DEMO_KEEP=1` leaves Dagster's UI running until Ctrl-C.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from autotask_sandbox.testing import SandboxServer
from sdk_core import AutotaskClient

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
OUT = ROOT / "output" / "dagster-demo"
WAREHOUSE = OUT / "warehouse.sqlite"
SCALE = os.environ.get("DEMO_SCALE", "tiny")
console = Console(width=None if sys.stdout.isatty() else 100)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 180) -> Any:
    deadline = time.monotonic() + timeout
    with console.status(f"Waiting for {what}..."):
        while time.monotonic() < deadline:
            value = probe()
            if value:
                return value
            time.sleep(1)
    raise SystemExit(f"Gave up waiting for {what} after {timeout:g} s (see {OUT}/*.log).")


def start_receiver(env: dict[str, str], store_url: str) -> tuple[subprocess.Popen, int]:
    log = open(OUT / "receiver.log", "w")
    proc = subprocess.Popen(
        [
            str(BIN / "autotask"),
            "webhooks",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--store",
            store_url,
            "--no-worker",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "http://127.0.0.1:" not in line:
        raise SystemExit(f"The webhook receiver did not start: {line!r}; see {OUT}/receiver.log")
    return proc, int(line.split("http://127.0.0.1:")[1].split("/")[0])


def runs(env: dict[str, str]) -> list[Any]:
    from dagster import DagsterInstance, RunsFilter

    os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
    with DagsterInstance.get() as instance:
        return [
            r.dagster_run
            for r in instance.get_run_records(RunsFilter(tags={"autotask/trigger": "webhook"}), limit=5)
        ]


def main() -> int:
    shutil.rmtree(OUT, ignore_errors=True)
    (OUT / "home").mkdir(parents=True)
    shutil.copy(ROOT / "orchestration" / "dagster.yaml", OUT / "home" / "dagster.yaml")
    store_url = f"sqlite:///{OUT / 'events.db'}"
    webhook_secret = secrets.token_urlsafe(24)
    with console.status(f"Starting the sandbox ({SCALE} tenant)..."):
        sandbox = SandboxServer(scale=SCALE, seed=1).start()
    processes: list[subprocess.Popen] = []
    try:
        env = {
            **os.environ,
            **sandbox.env,
            "AUTOTASK_DESTINATION_URL": f"sqlite:///{WAREHOUSE}",
            "AUTOTASK_WEBHOOK_STORE": store_url,
            "AUTOTASK_WEBHOOK_SECRET": webhook_secret,
            "DAGSTER_HOME": str(OUT / "home"),
            "AUTOTASK_CACHE_DIR": str(OUT / "sdk-cache"),
            # The runs' warm-start launcher goes a minute after the demo, not an hour.
            "AUTOTASK_WARM_IDLE_SECONDS": os.environ.get("AUTOTASK_WARM_IDLE_SECONDS", "60"),
        }
        receiver, receiver_port = start_receiver(env, store_url)
        processes.append(receiver)
        hook_url = f"http://127.0.0.1:{receiver_port}/webhooks/default/ticket"
        client = AutotaskClient(**sandbox.credentials)
        client.webhooks.register(
            "Ticket", hook_url, webhook_secret, name="dagster-demo", fields=["title", "status"]
        )
        console.print(f"[bold]Sandbox[/] {sandbox.api_url}\n[bold]Receiver[/] {hook_url}")

        runs(env)  # creates the instance's storage once, before two processes race to
        ui_port = free_port()
        dagster = subprocess.Popen(
            [str(BIN / "dagster"), "dev", "-m", "orchestration", "-h", "127.0.0.1", "-p", str(ui_port)],
            env=env,
            cwd=ROOT,
            stdout=open(OUT / "dagster.log", "w"),
            stderr=subprocess.STDOUT,
        )
        processes.append(dagster)
        console.print(f"[bold]Dagster UI[/] http://127.0.0.1:{ui_port}")

        console.rule("1. Materialize the tickets group once (the fixed CLI surface)")
        started = time.monotonic()
        done = subprocess.run(
            [
                str(BIN / "dagster"),
                "asset",
                "materialize",
                "-m",
                "orchestration",
                "--select",
                "autotask/tickets,autotask/ticket_notes",
                "--partition",
                "default",
            ],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            console.print(done.stderr[-3000:])
            raise SystemExit("The materialization failed (its log is above).")
        with sqlite3.connect(WAREHOUSE) as db:
            loaded = db.execute("select count(*) from tickets").fetchone()[0]
        console.print(
            f"{loaded} tickets loaded (API count {client.tickets.count()}) in "
            f"{time.monotonic() - started:.0f} s"
        )

        console.rule("2. Change a ticket through the sandbox's API")
        ticket = next(iter(client.tickets.query(fields=["id", "title"])))
        title = f"Changed by the Dagster demo at {time.strftime('%H:%M:%S')}"
        client.tickets.update({"id": ticket["id"], "title": title})
        changed_at = time.monotonic()
        console.print(f"ticket {ticket['id']}: {ticket['title']!r} -> {title!r}")

        console.rule("3. The webhook sensor's run")

        def finished_run() -> Any:
            found = [r for r in runs(env) if r.is_finished]
            return found[0] if found else None

        run = wait_for("the webhook-triggered run", finished_run)
        with sqlite3.connect(WAREHOUSE) as db:
            row = db.execute("select id, title from tickets where id = ?", (ticket["id"],)).fetchone()
        table = Table("run", "job", "tenant", "events", "status", "row in the warehouse")
        table.add_row(
            run.run_id[:8],
            run.job_name,
            run.tags.get("dagster/partition"),
            run.tags.get("autotask/webhook_events"),
            run.status.value,
            repr(row),
        )
        console.print(table)
        console.print(
            f"Change to row: {time.monotonic() - changed_at:.1f} s. "
            f"See it in the UI: http://127.0.0.1:{ui_port}/runs/{run.run_id}"
        )
        if row is None or row[1] != title:
            raise SystemExit("The row was not updated.")
        if os.environ.get("DEMO_KEEP"):
            console.print("DEMO_KEEP is set: Dagster keeps running; Ctrl-C to stop.")
            dagster.wait()
        return 0
    finally:
        for proc in reversed(processes):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        sandbox.stop()


if __name__ == "__main__":
    sys.exit(main())
