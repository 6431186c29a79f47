"""A sync killed with SIGKILL in the middle of loading resumes from the last committed state.

`dagster asset materialize` runs the tickets group of the default tenant against a slowed
sandbox into SQLite or PostgreSQL, committing every page (AUTOTASK_BATCH_SIZE_ROWS=500). Once
a bookmark inside the first window is saved, the whole process group (CLI, step process, tap,
target) is killed; the next run must take over the dead run's lease at once, load every row
exactly once and move the bookmarks past the window.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from dagster import AssetKey, DagsterInstance

from sdk_core import AutotaskClient

from .conftest import env_without_tenants

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STREAMS = {"tickets": "Tickets", "ticket_notes": "TicketNotes"}
PAGE = 500


@pytest.fixture(params=["sqlite", "postgresql"])
def destination(request, tmp_path: Path) -> tuple[str, str | None]:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'warehouse.sqlite'}", None
    return request.getfixturevalue("pg_schema")


def _command() -> list[str]:
    return [
        str(BIN / "dagster"),
        "asset",
        "materialize",
        "-m",
        "orchestration",
        "--select",
        "autotask/tickets,autotask/ticket_notes",
        "--partition",
        "default",
    ]


def _stored_state(engine: sa.Engine, schema: str | None) -> dict[str, Any]:
    table = f'"{schema}".autotask_bookmarks' if schema else "autotask_bookmarks"
    try:
        with engine.connect() as conn:
            raw = conn.execute(
                sa.text(f"select state from {table} where tenant = 'default' and stream_group = 'tickets'")
            ).scalar()
    except sa.exc.DBAPIError:
        return {}  # not created yet
    return json.loads(raw) if raw else {}


def _cut_stream(state: dict[str, Any]) -> str | None:
    """The stream whose saved bookmark lies inside its window (a page committed, more to come)."""
    for stream, bookmark in state.get("bookmarks", {}).items():
        if (bookmark.get("window") or {}).get("last_id"):
            return stream
    return None


def _ids(engine: sa.Engine, schema: str | None, stream: str) -> list[int]:
    table = f'"{schema}".{stream}' if schema else stream
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(sa.text(f"select id from {table}"))]


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_sigkill_mid_load_then_resume_loses_and_duplicates_nothing(sandbox_factory, tmp_path, destination):
    url, schema = destination
    server = sandbox_factory(scale="small", latency_ms=300)
    home = tmp_path / "home"
    home.mkdir()
    env = env_without_tenants()
    env.update(
        server.env,
        AUTOTASK_DESTINATION_URL=url,
        AUTOTASK_BATCH_SIZE_ROWS=str(PAGE),
        AUTOTASK_CACHE_DIR=str(tmp_path / "cache"),
        DAGSTER_HOME=str(home),
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    if schema:
        env["AUTOTASK_SCHEMA"] = schema
    engine = sa.create_engine(url)
    with AutotaskClient(**server.credentials) as client:
        api = {stream: client.entity(entity).count() for stream, entity in STREAMS.items()}
    assert api["tickets"] > 3 * PAGE  # several pages, so the kill lands inside a window

    first = subprocess.Popen(
        _command(),
        cwd=ROOT,
        env=env,
        stdout=open(tmp_path / "first.log", "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # one group: the CLI, its step process, the tap and the target
    )
    cut = None
    try:
        deadline = time.monotonic() + 120
        while cut is None and first.poll() is None and time.monotonic() < deadline:
            cut = _cut_stream(_stored_state(engine, schema))
            time.sleep(0.05)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(30)
    log = (tmp_path / "first.log").read_text()
    assert cut is not None, f"no bookmark inside a window was saved before the run ended:\n{log[-3000:]}"
    assert "RUN_SUCCESS" not in log

    # What the killed run left: the saved bookmark never runs ahead of the committed rows.
    saved = _stored_state(engine, schema)
    last_id = int(saved["bookmarks"][cut]["window"]["last_id"])
    committed = set(_ids(engine, schema, cut))
    with AutotaskClient(**server.credentials) as client:
        owed = client.entity(STREAMS[cut]).count([{"op": "lte", "field": "id", "value": last_id}])
    assert len({i for i in committed if i <= last_id}) == owed
    assert len(committed) < api[cut]  # the kill really came in the middle

    before = server.admin.stats()["endpoints"].get(STREAMS[cut], {}).get("query", 0)
    second = subprocess.run(_command(), cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert (
        "Took over the lease" in second.stdout + second.stderr
    )  # no wait for the dead run's lease to expire

    for stream, count in api.items():
        ids = _ids(engine, schema, stream)
        assert len(ids) == len(set(ids)), f"{stream}: duplicate primary keys"
        assert len(ids) == count, f"{stream}: {len(ids)} rows loaded, the API counts {count}"
    final = _stored_state(engine, schema)
    for stream in STREAMS:
        bookmark = final["bookmarks"][stream]
        assert not (bookmark.get("window") or {}).get("last_id"), f"{stream}: window left open"
        assert bookmark["replication_key_value"] >= saved["bookmarks"].get(stream, {}).get(
            "replication_key_value", ""
        )
    # Resumed, not restarted: the cut stream read only what its saved bookmark had not covered.
    pages = server.admin.stats()["endpoints"][STREAMS[cut]]["query"] - before
    assert pages <= math.ceil((api[cut] - owed) / PAGE) + 1 < math.ceil(api[cut] / PAGE) + 1
    os.environ["DAGSTER_HOME"], previous = str(home), os.environ.get("DAGSTER_HOME")
    try:
        with DagsterInstance.get() as instance:
            event = instance.get_latest_materialization_event(AssetKey(["autotask", cut]))
    finally:
        if previous is None:
            os.environ.pop("DAGSTER_HOME")
        else:
            os.environ["DAGSTER_HOME"] = previous
    assert event is not None and event.asset_materialization is not None
    rows = event.asset_materialization.metadata["rows"].value
    assert api[cut] - owed <= rows <= api[cut] - owed + PAGE
    engine.dispose()


def test_a_lease_holder_is_gone_only_when_its_process_on_this_machine_is(tmp_path):
    from orchestration.state_store import LeaseHeldError, StateStore, holder_gone, holder_name

    alive = holder_name("run-a")
    assert not holder_gone(alive)
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    exited.wait()
    dead = alive.replace(f"pid {os.getpid()} ", f"pid {exited.pid} ")
    assert holder_gone(dead)
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    while Path(f"/proc/{zombie.pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert holder_gone(alive.replace(f"pid {os.getpid()} ", f"pid {zombie.pid} "))  # exited, not reaped
    zombie.wait()
    elsewhere = dead.rsplit(" on ", 1)[0] + " on another-host:1)"
    assert not holder_gone(elsewhere) and not holder_gone("run-b")  # unknown: wait for expiry

    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    assert store.acquire("acme", "tickets", dead) is None
    assert store.acquire("acme", "tickets", alive) == dead  # taken over at once
    with pytest.raises(LeaseHeldError, match="is syncing"):
        store.acquire("acme", "tickets", elsewhere)  # a live holder keeps it
    store.close()
