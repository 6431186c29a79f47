"""`make demo`: the main job, end to end, against a local sandbox.

1. starts the Autotask sandbox (small tenant) on a free loopback port;
2. runs `meltano run tap-autotask target-sqlite` into `output/demo.sqlite`;
3. prints the row count of every table next to the sandbox's own `query/count`;
4. lets the sandbox's activity simulator change, add and delete records;
5. runs the same pipeline again (incremental from the saved state) and shows what changed;
6. forces the periodic reconciliation that finds deletions Autotask keeps no log of.
"""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from rich.console import Console
from rich.live import Live
from rich.table import Table

from sdk_core import AutotaskClient
from sdk_core.catalog import load_catalog

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
OUT = ROOT / "output"
DB = OUT / "demo.sqlite"
STATE_ID = "sandbox:tap-autotask-to-target-sqlite:demo"
SCALE = os.environ.get("DEMO_SCALE", "small")
console = Console(width=None if sys.stdout.isatty() else 100)
WROTE = re.compile(r"Wrote (?P<rows>\d+) rows to (?P<stream>\w+)")
RECORD_COUNT = re.compile(
    r'"metric": ?"record_count", ?"value": ?(?P<value>\d+), ?"tags": ?\{"stream": ?"(?P<stream>\w+)"'
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def sandbox(port: int) -> Iterator[str]:
    """The sandbox as a user would run it: its own command, until it says it is serving."""
    cmd = [
        str(BIN / "autotask-sandbox"),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--scale",
        SCALE,
        "--seed",
        "1",
    ]  # a fresh working copy each run: repeatable
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        with console.status(f"Building and starting the sandbox ({SCALE} tenant)..."):
            for line in proc.stdout:
                if "REST root" in line:
                    api_url = line.split("REST root", 1)[1].strip().split()[0]
                    break
            else:
                raise SystemExit(f"sandbox exited with code {proc.wait()} before serving")
        console.print(f"[green]Sandbox serving[/] {api_url}")
        yield api_url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def meltano_run(label: str, env: dict[str, str]) -> dict[str, int]:
    """`meltano run tap-autotask target-sqlite` with a live view of what it loads.

    Meltano's own log goes to output/; the screen shows rows written per stream as they land.
    Returns the records the tap emitted per stream.
    """
    log_path = OUT / f"demo-{label.replace(' ', '-')}.log"
    cmd = [str(BIN / "meltano"), "run", "--state-id-suffix", "demo", "tap-autotask", "target-sqlite"]
    console.print(
        f"[bold]$ meltano run tap-autotask target-sqlite[/]  ({label}; log: {log_path.relative_to(ROOT)})"
    )
    written: dict[str, int] = {}
    emitted: dict[str, int] = {}
    started = time.monotonic()

    def view() -> Table:
        table = Table(box=None, show_header=False)
        elapsed = time.monotonic() - started
        table.add_row(
            f"[cyan]loading[/] {sum(written.values()):,} rows into {len(written)} tables, {elapsed:.0f} s"
        )
        return table

    with log_path.open("w") as log, Live(view(), console=console, transient=True) as live:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            if m := WROTE.search(line):
                written[m["stream"]] = written.get(m["stream"], 0) + int(m["rows"])
            elif (m := RECORD_COUNT.search(line)) and "tap-autotask" in line:
                emitted[m["stream"]] = emitted.get(m["stream"], 0) + int(m["value"])
            live.update(view())
        code = proc.wait()
    if code != 0:
        tail = "".join(log_path.read_text().splitlines(keepends=True)[-15:])
        raise SystemExit(f"meltano run failed (exit {code}); last lines of {log_path}:\n{tail}")
    console.print(f"  loaded {sum(written.values()):,} rows in {time.monotonic() - started:.1f} s")
    return emitted


def table_counts() -> dict[str, int]:
    with sqlite3.connect(DB) as conn:
        names = [
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
        ]
        return {n: conn.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names}


def sandbox_counts(api_url: str, streams: list[str]) -> dict[str, int]:
    """What the sandbox itself holds, through the SDK's `query/count`."""
    catalog = load_catalog()
    counts = {}
    with AutotaskClient(
        username="sandbox-api@example.com",
        secret="sandbox-secret",
        integration_code="SANDBOX-INTEGRATION",
        api_url=api_url,
    ) as client:
        for stream in streams:
            entity = catalog.find(stream)
            if entity is not None and entity.queryable:
                counts[stream] = client.entity(entity.name).count()
    return counts


def deleted_counts() -> dict[str, int]:
    with sqlite3.connect(DB) as conn:
        out = {}
        for name in table_counts():
            cols = {r[1] for r in conn.execute(f'PRAGMA table_info("{name}")')}
            if "_sdc_deleted_at" in cols:
                out[name] = conn.execute(
                    f'SELECT COUNT(*) FROM "{name}" WHERE _sdc_deleted_at IS NOT NULL'
                ).fetchone()[0]
        return out


def main() -> int:
    OUT.mkdir(exist_ok=True)
    if DB.exists():
        DB.unlink()
    port = free_port()
    with sandbox(port) as api_url:
        env = {
            **os.environ,
            "MELTANO_ENVIRONMENT": "sandbox",
            # The documented override of the sandbox environment's port 8765 (meltano.yml).
            "AUTOTASK_API_URL": api_url,
            "TARGET_SQLITE_SQLALCHEMY_URL": f"sqlite:///{DB}",
        }
        subprocess.run(
            [str(BIN / "meltano"), "state", "clear", "--force", STATE_ID],
            cwd=ROOT,
            env=env,
            capture_output=True,
        )
        meltano_run("full load", env)
        first = table_counts()
        source = sandbox_counts(api_url, list(first))
        show_counts("First run: full load", first, None, source, None, deleted_counts())

        admin_url = "/".join(api_url.split("/")[:3]) + "/_sandbox/activity"
        summary = httpx.post(
            admin_url, json={"updates": 40, "creates": 15, "deletes": 5, "seed": 7}, timeout=60
        ).json()
        console.print(f"[bold]Sandbox activity applied:[/] {summary.get('totals', summary)}")

        emitted = meltano_run("incremental", env)
        now = table_counts()
        source = sandbox_counts(api_url, list(now))
        show_counts("Second run: incremental after activity", now, first, source, emitted, deleted_counts())
        console.print(
            "[dim]Autotask logs deleted tickets (DeletedTicketLogs) but not the notes "
            "and time entries removed with them; the periodic reconciliation "
            "(reconcile_deletes_every, hours) finds those. Forcing it now:[/]"
        )
        # Any bookmark older than ~a second is now "due" for its reconciliation.
        emitted = meltano_run("reconciliation", {**env, "TAP_AUTOTASK_RECONCILE_DELETES_EVERY": "0.0003"})
        show_counts(
            "Third run: reconciliation (full id scan)",
            table_counts(),
            now,
            sandbox_counts(api_url, list(now)),
            emitted,
            deleted_counts(),
        )
    console.print(
        f"\nThe database is at [bold]{DB}[/]  (try: sqlite3 {DB.relative_to(ROOT)} "
        f"'select id, title, status from tickets limit 5')"
    )
    return 0


def show_counts(
    title: str,
    now: dict[str, int],
    before: dict[str, int] | None,
    source: dict[str, int],
    emitted: dict[str, int] | None,
    deleted: dict[str, int],
) -> None:
    table = Table(title=title)
    table.add_column("table")
    table.add_column("rows in SQLite", justify="right")
    table.add_column("sandbox count", justify="right")
    table.add_column("deleted", justify="right")
    if before is not None:
        table.add_column("re-read", justify="right")
        table.add_column("new rows", justify="right")
    for name, rows in now.items():
        live = rows - deleted.get(name, 0)
        src = source.get(name)
        match = "" if src is None else ("[green]=[/]" if src == live else "[red]≠[/]")
        cells = [
            name,
            f"{rows:,}",
            f"{src:,} {match}" if src is not None else "—",
            f"{deleted[name]:,}" if deleted.get(name) else "",
        ]
        if before is not None:
            diff = rows - before.get(name, 0)
            cells += [f"{(emitted or {}).get(name, 0):,}", f"{diff:+,}" if diff else ""]
        table.add_row(*cells)
    console.print(table)
    console.print(
        "[dim]sandbox count: the API's query/count, which equals the rows in SQLite "
        "less those marked deleted (_sdc_deleted_at); re-read: records the tap "
        "emitted[/]"
    )


if __name__ == "__main__":
    raise SystemExit(main())
