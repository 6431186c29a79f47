"""The async client's bulk writes: the same guarantees as the sync ones, awaited."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from autotask_sandbox.testing import SandboxServer
from sdk_core import AsyncAutotaskClient, Q
from sdk_core._flow import RetryPolicy
from sdk_core.bulk import BulkInterruptedError

FAULTS = "429:0.03,500:0.05,reset:0.05,reset-after:0.07"


@pytest.fixture(scope="module")
def server():
    with SandboxServer(scale="tiny", seed=1) as s:
        yield s


@pytest.fixture
async def client(server, tmp_path):
    async with AsyncAutotaskClient(**server.credentials, cache_dir=str(tmp_path / "cache")) as c:
        c.policy = RetryPolicy(max_retries=8, backoff_base=0.02, backoff_max=0.2)
        await c.tickets.fields()
        await c.tickets.udfs()
        yield c
    server.admin.set_faults(None)


@pytest.fixture
async def company(client):
    async for row in client.tickets.query(fields=["companyID"]):
        return row["companyID"]


def ticket(company, title, **extra):
    return {"title": title, "companyID": company, "priority": 1, "status": 1, **extra}


def creates(server, entity="Tickets"):
    ops = server.admin.stats()["endpoints"].get(entity, {})
    return ops.get("create", 0) + ops.get("child_create", 0)


async def titled(client, prefix):
    return [r async for r in client.tickets.query(Q("title").begins_with(prefix), fields=["id", "title"])]


async def test_async_faults_write_every_row_exactly_once(server, client, company, tmp_path):
    rows = [ticket(company, f"async-faulty-{i:03d}") for i in range(40)]
    server.admin.set_faults(FAULTS)
    result = await client.tickets.bulk_create(
        rows, journal=tmp_path / "j.sqlite", progress=False, marker="externalID"
    )
    server.admin.set_faults(None)
    faults = server.admin.stats()["faults"]
    assert faults.get("reset-after", 0) + faults.get("reset", 0) >= 2 and faults.get("500", 0) >= 1, faults
    assert result.errors == [] and None not in result.ids
    found = await titled(client, "async-faulty-")
    assert sorted(r["title"] for r in found) == [r["title"] for r in rows]
    assert {r["id"]: r["title"] for r in found} == {i: r["title"] for i, r in zip(result.ids, rows)}


async def test_async_interrupted_job_resumes_and_repeats_nothing(server, client, company, tmp_path):
    rows = [ticket(company, f"async-resume-{i:02d}") for i in range(16)]
    journal = tmp_path / "j.sqlite"

    def stop_after_five(event):
        if event.finished == 5:
            raise RuntimeError("stopped by the caller")

    before = creates(server)
    with pytest.raises(BulkInterruptedError) as caught:
        await client.tickets.bulk_create(rows, journal=journal, progress=stop_after_five, match=["title"])
    assert 5 <= caught.value.result.done < 16
    result = await client.tickets.bulk_create(
        resume=caught.value.job_id, journal=journal, progress=False, match=["title"]
    )
    assert result.ok and creates(server) - before == 16
    assert sorted(r["title"] for r in await titled(client, "async-resume-")) == [r["title"] for r in rows]


async def test_async_dry_run_sends_nothing(server, client, company):
    rows = [ticket(company, "fine"), ticket(company, "bad", priority=999), ticket(1, "no company")]
    before = server.admin.stats()["endpoints"]["Tickets"]
    result = await client.tickets.bulk_create(rows, dry_run=True, progress=False)
    after = server.admin.stats()["endpoints"]["Tickets"]
    assert {k: v for k, v in after.items() if k != "query"} == {
        k: v for k, v in before.items() if k != "query"
    }
    assert [i for i, _ in result.errors] == [1, 2] and result.journal is None
    assert result.errors[0][1] == "Picklist value [999] does not exist for priority."


async def test_async_ticket_notes_go_under_their_ticket(server, client, company, tmp_path):
    parents = (
        await client.tickets.bulk_create(
            [ticket(company, f"async-parent-{i}") for i in range(2)],
            journal=tmp_path / "j.sqlite",
            progress=False,
        )
    ).ids
    notes = [
        {"ticketID": t, "title": "async note", "description": "bulk", "noteType": 1, "publish": 1}
        for t in parents
    ]
    before = creates(server, "TicketNotes")
    result = await client.ticket_notes.bulk_create(notes, journal=tmp_path / "j.sqlite", progress=False)
    assert result.ok and creates(server, "TicketNotes") - before == 2
    assert [(await client.ticket_notes.get(i))["ticketID"] for i in result.ids] == parents


async def test_async_update_conflict_is_skipped(server, client, company, tmp_path):
    ids = (
        await client.tickets.bulk_create(
            [ticket(company, f"async-conflict-{i}") for i in range(2)],
            journal=tmp_path / "j.sqlite",
            progress=False,
        )
    ).ids
    read = [r async for r in client.tickets.query(Q("id").in_(ids), fields=["id", "lastActivityDate"])]
    await client.tickets.update({"id": ids[0], "title": "renamed by someone"})
    result = await client.tickets.bulk_update(
        [{**r, "priority": 2} for r in read], journal=tmp_path / "j.sqlite", progress=False
    )
    assert [i for i, _ in result.errors] == [0] and result.ids == [None, ids[1]]
    assert (await client.tickets.get(ids[0]))["priority"] == 1
    assert (await client.tickets.get(ids[1]))["priority"] == 2


async def test_a_cancelled_async_job_resumes_without_repeating(sandbox_factory, tmp_path):
    slow = sandbox_factory(latency_ms=100)
    journal = tmp_path / "j.sqlite"
    async with AsyncAutotaskClient(**slow.credentials, cache_dir=str(tmp_path / "cache")) as c:
        company = (await anext(c.tickets.pages(page_size=1)))[0]["companyID"]
        rows = [ticket(company, f"cancelled-{i:02d}") for i in range(24)]
        with pytest.raises((asyncio.TimeoutError, TimeoutError)):
            await asyncio.wait_for(
                c.tickets.bulk_create(rows, journal=journal, progress=False, match=["title"]), timeout=0.6
            )
        await asyncio.sleep(0.3)  # requests cut off in flight reach the sandbox (or not)
        committed = len(await titled(c, "cancelled-"))
        sent = creates(slow)
        assert 0 < committed < 24
        with sqlite3.connect(journal) as db:
            job = db.execute("SELECT job_id FROM bulk_jobs").fetchone()[0]
        result = await c.tickets.bulk_create(resume=job, journal=journal, progress=False, match=["title"])
        found = await titled(c, "cancelled-")
    assert result.ok and sorted(r["title"] for r in found) == [r["title"] for r in rows]
    assert creates(slow) - sent == 24 - committed
