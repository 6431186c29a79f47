"""Bulk writes against the sandbox over real HTTP: exactly once under faults, resumable,
dry runs that send nothing, parent routes, conflicts, Autotask's own error words."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from autotask_sandbox.testing import SandboxServer
from sdk_core import AutotaskClient, ConfigurationError, Q, UnsupportedOperationError
from sdk_core._flow import RetryPolicy
from sdk_core.bulk import BulkInterruptedError

FAULTS = "429:0.03,500:0.05,reset:0.05,reset-after:0.07"
WRITES = ("create", "update", "patch", "delete")  # by the sandbox's stats name, child_ for parent routes


@pytest.fixture(scope="module")
def server():
    with SandboxServer(scale="tiny", seed=1) as s:
        yield s


@pytest.fixture
def client(server, tmp_path):
    c = AutotaskClient(**server.credentials, cache_dir=str(tmp_path / "cache"))
    c.policy = RetryPolicy(max_retries=8, backoff_base=0.02, backoff_max=0.2)
    c.tickets.fields(), c.tickets.udfs()  # metadata read before any fault is switched on
    yield c
    server.admin.set_faults(None)
    c.close()


@pytest.fixture
def company(client):
    return next(iter(client.tickets.query(fields=["companyID"])))["companyID"]


def ticket(company, title, **extra):
    return {"title": title, "companyID": company, "priority": 1, "status": 1, **extra}


def writes(server, entity="Tickets"):
    ops = server.admin.stats()["endpoints"].get(entity, {})
    return {op: ops.get(op, 0) + ops.get(f"child_{op}", 0) for op in WRITES}


def titled(client, prefix):
    return list(client.tickets.query(Q("title").begins_with(prefix), fields=["id", "title"]))


def test_creates_come_back_in_input_order_with_autotask_errors(server, client, company, tmp_path):
    rows = [ticket(company, f"order-{i}") for i in range(6)]
    rows[2]["priority"] = 999  # refused before sending, in Autotask's words
    rows[4]["companyID"] = 1  # refused by Autotask itself
    before, total = writes(server)["create"], server.admin.stats()["total"]
    result = client.tickets.bulk_create(rows, journal=tmp_path / "j.sqlite", progress=False)
    assert result.requests == server.admin.stats()["total"] - total
    assert writes(server)["create"] - before == 5
    assert [i for i, _ in result.errors] == [2, 4]
    assert result.errors[0][1] == "Picklist value [999] does not exist for priority."
    assert result.errors[1][1] == (
        "Reference value on field: companyID of type: Company does not exist or is invalid."
    )
    assert result.ids[2] is None and result.ids[4] is None
    for row, new_id in zip(rows, result.ids):
        if new_id is not None:
            assert client.tickets.get(new_id)["title"] == row["title"]
    assert result.journal == str(tmp_path / "j.sqlite") and not result.ok
    assert "4 of 6 rows written, 2 failed" in result.summary()


@pytest.mark.parametrize("key", [{"match": ["title"]}, {"marker": "External Reference"}])
def test_with_faults_every_row_is_written_exactly_once(server, client, company, tmp_path, key):
    prefix = f"faulty-{next(iter(key))}-"
    rows = [ticket(company, f"{prefix}{i:03d}") for i in range(40)]
    server.admin.set_faults(FAULTS)
    result = client.tickets.bulk_create(rows, journal=tmp_path / "j.sqlite", progress=False, **key)
    server.admin.set_faults(None)
    faults = server.admin.stats()["faults"]
    assert faults.get("reset-after", 0) + faults.get("reset", 0) >= 2 and faults.get("500", 0) >= 1, faults
    assert result.errors == [] and None not in result.ids
    found = titled(client, prefix)
    assert sorted(r["title"] for r in found) == [r["title"] for r in rows]  # each exactly once
    assert {r["id"]: r["title"] for r in found} == {i: r["title"] for i, r in zip(result.ids, rows)}


def test_an_interrupted_job_resumes_and_repeats_nothing(server, client, company, tmp_path):
    rows = [ticket(company, f"resume-{i:02d}") for i in range(20)]
    journal = tmp_path / "j.sqlite"

    class Stop(Exception):
        pass

    def stop_after_eight(event):
        if event.finished == 8:
            raise Stop("stopped by the caller")

    before = writes(server)["create"]
    with pytest.raises(BulkInterruptedError, match="resume with resume=") as caught:
        client.tickets.bulk_create(rows, journal=journal, progress=stop_after_eight, match=["title"])
    partial = caught.value.result
    assert 8 <= partial.done < 20
    result = client.tickets.bulk_create(
        resume=caught.value.job_id, journal=journal, progress=False, match=["title"]
    )
    assert result.job_id == caught.value.job_id and result.ok
    assert all(result.ids[i] == new_id for i, new_id in enumerate(partial.ids) if new_id is not None)
    assert writes(server)["create"] - before == 20
    assert sorted(r["title"] for r in titled(client, "resume-")) == [r["title"] for r in rows]


def test_a_lost_create_is_never_resent_blindly_and_is_reconciled_on_resume(server, client, company, tmp_path):
    rows = [ticket(company, f"lost-{i}") for i in range(3)]
    journal = tmp_path / "j.sqlite"
    before = writes(server)["create"]
    server.admin.set_faults("reset-after:1")
    result = client.tickets.bulk_create(rows, journal=journal, progress=False)
    server.admin.set_faults(None)
    assert result.ids == [None, None, None] and result.counts == {"unknown": 3}
    assert all("it was not sent again" in message for _, message in result.errors)
    assert writes(server)["create"] - before == 3  # each sent once, none repeated
    again = client.tickets.bulk_create(resume=result.job_id, journal=journal, progress=False, match=["title"])
    assert again.ok and again.reconciled == 3
    assert writes(server)["create"] - before == 3
    assert sorted(again.ids) == sorted(r["id"] for r in titled(client, "lost-"))


def test_dry_run_checks_every_row_and_sends_nothing(server, client, company):
    fields = {f["name"].lower(): f for f in client.tickets.fields()}
    sub = next(v for v in fields["subissuetype"]["picklistValues"] if v["parentValue"] != "1")
    rows = [
        ticket(company, "fine"),
        {"companyID": company, "priority": 1, "status": 1},
        ticket(company, "read-only", createDate="2025-01-01T00:00:00"),
        ticket(company, "picklist", priority=999),
        ticket(company, "dependent", issueType=1, subIssueType=int(sub["value"])),
        ticket(company, "x" * 256),
        ticket(1, "reference"),
        ticket(company, "unknown", nonsense=1),
    ]
    before, stats = writes(server), server.admin.stats()
    result = client.tickets.bulk_create(rows, dry_run=True, progress=False)
    assert writes(server) == before
    assert server.admin.stats()["total"] - stats["total"] == result.requests == 1  # the reference check
    assert result.journal is None and result.ids == [None] * len(rows)
    errors = dict(result.errors)
    assert sorted(errors) == [1, 2, 3, 4, 5, 6, 7]
    assert errors[1] == "Missing Required Field: title."
    assert errors[2].startswith("createDate is read-only")
    assert errors[3] == "Picklist value [999] does not exist for priority."
    assert errors[4].startswith(f"Picklist value [{sub['value']}] does not exist for subIssueType")
    assert errors[5] == "The value of title exceeds the maximum length of 255 characters."
    kind = fields["companyid"]["referenceEntityType"]  # the live metadata's name (Account)
    assert errors[6] == f"Reference value on field: companyID of type: {kind} does not exist or is invalid."
    assert errors[7] == "Unable to find nonsense in the Ticket Entity."


def test_dry_run_of_updates_checks_ids_and_dependent_picklists_against_the_record(server, client):
    record = next(iter(client.tickets.query(Q("issueType").exists(), fields=["issueType"])))
    fields = {f["name"].lower(): f for f in client.tickets.fields()}
    other = next(
        v
        for v in fields["subissuetype"]["picklistValues"]
        if v["parentValue"] not in ("", str(record["issueType"]))
    )
    rows = [
        {"id": record["id"], "priority": 2},
        {"id": 1, "priority": 2},
        {"id": record["id"], "subIssueType": int(other["value"])},
    ]
    before = writes(server)
    result = client.tickets.bulk_update(rows, dry_run=True, progress=False)
    assert writes(server) == before
    assert result.ids == [record["id"], None, None]
    errors = dict(result.errors)
    assert errors[1] == "Unable to update Ticket with id 1: no matching record found."
    assert errors[2].startswith(f"Picklist value [{other['value']}] does not exist for subIssueType")


def test_ticket_notes_go_under_their_ticket_from_the_row(server, client, company, tmp_path):
    parents = client.tickets.bulk_create(
        [ticket(company, f"parent-{i}") for i in range(3)], journal=tmp_path / "j.sqlite", progress=False
    ).ids
    notes = [
        {"ticketID": t, "title": f"note {i}", "description": "bulk", "noteType": 1, "publish": 1}
        for i, t in enumerate(parents)
    ]
    notes.append({"title": "orphan", "description": "bulk", "noteType": 1, "publish": 1})
    before = writes(server, "TicketNotes")["create"]
    result = client.ticket_notes.bulk_create(notes, journal=tmp_path / "j.sqlite", progress=False)
    assert writes(server, "TicketNotes")["create"] - before == 3
    assert result.errors == [
        (
            3,
            "TicketNotes are created under their Tickets (/Tickets/{parentId}/Notes): "
            "the row needs ticketID (the Tickets id).",
        )
    ]
    assert [client.ticket_notes.get(i)["ticketID"] for i in result.ids[:3]] == parents
    renamed = client.ticket_notes.bulk_update(
        [{"id": i, "title": "renamed"} for i in result.ids[:3]], journal=tmp_path / "j.sqlite", progress=False
    )
    assert renamed.ok  # the parent ids were looked up: one query for the chunk
    assert {client.ticket_notes.get(i)["title"] for i in result.ids[:3]} == {"renamed"}


def _read(client, ids, fields=("id", "title", "priority", "description", "lastActivityDate")):
    return {r["id"]: r for r in client.tickets.query(Q("id").in_(ids), fields=list(fields))}


@pytest.mark.parametrize("policy", ["skip", "overwrite", "merge"])
def test_update_conflicts_follow_the_policy(server, client, company, tmp_path, policy):
    ids = client.tickets.bulk_create(
        [ticket(company, f"conflict-{policy}-{i}", description="as read") for i in range(3)],
        journal=tmp_path / "j.sqlite",
        progress=False,
    ).ids
    read = _read(client, ids)
    time.sleep(0.01)
    theirs = ids[0]  # someone else changes this one after our read
    client.tickets.update({"id": theirs, "title": "renamed by someone", "description": "theirs"})
    rows = [{**read[i], "priority": 2, "description": "mine"} for i in ids]
    options = {"base": list(read.values())} if policy == "merge" else {}
    result = client.tickets.bulk_update(
        rows, journal=tmp_path / "j.sqlite", progress=False, on_conflict=policy, **options
    )
    now = _read(client, ids)
    assert all(now[i]["priority"] == 2 and now[i]["description"] == "mine" for i in ids[1:])
    if policy == "skip":
        assert [i for i, _ in result.errors] == [0] and "changed in Autotask" in result.errors[0][1]
        assert result.ids[0] is None
        assert (now[theirs]["priority"], now[theirs]["description"]) == (1, "theirs")
    elif policy == "overwrite":
        assert result.ok and (now[theirs]["priority"], now[theirs]["description"]) == (2, "mine")
        assert now[theirs]["title"] == read[theirs]["title"]  # the row carried the old title
    else:
        assert result.ok and result.conflicts == [(0, "kept Autotask's value of description")]
        assert now[theirs]["priority"] == 2  # only we changed it
        assert now[theirs]["title"] == "renamed by someone"  # only they changed it
        assert now[theirs]["description"] == "theirs"  # both did: theirs is kept and reported


def test_dataframe_round_trip_with_the_same_dry_run(server, client, company, tmp_path):
    ids = client.tickets.bulk_create(
        [ticket(company, f"frame-{i}") for i in range(4)], journal=tmp_path / "j.sqlite", progress=False
    ).ids
    frame = pd.DataFrame(_read(client, ids, ("id", "title", "priority", "lastActivityDate")).values())
    frame["priority"] = 2
    frame["title"] = frame["title"] + " (edited)"
    bad = frame.copy()
    bad.loc[1, "priority"] = 999
    checked = client.tickets.bulk_update(bad, dry_run=True, progress=False)
    assert checked.errors == [(1, "Picklist value [999] does not exist for priority.")]
    result = client.tickets.bulk_update(frame, journal=tmp_path / "j.sqlite", progress=False)
    assert result.ok and result.ids == frame["id"].tolist()
    again = pd.DataFrame(_read(client, ids, ("id", "title", "priority")).values()).sort_values("id")
    assert again["priority"].tolist() == [2] * 4
    assert again["title"].tolist() == frame.sort_values("id")["title"].tolist()


def test_csv_and_parquet_files_are_row_sources(server, client, company, tmp_path):
    csv_path = tmp_path / "tickets.csv"
    csv_path.write_text(
        "title,companyID,priority,status,dueDateTime\n"
        f"from-csv-1,{company},1,1,\nfrom-csv-2,{company},2,1,2030-01-02T03:04:05Z\n"
    )
    table = pa.table(
        {
            "title": ["from-parquet-1", "from-parquet-2"],
            "companyID": [company, company],
            "priority": [1, 2],
            "status": [1, 1],
            "dueDateTime": [None, None],
        }
    )
    pq.write_table(table, tmp_path / "tickets.parquet")
    for path in (csv_path, tmp_path / "tickets.parquet"):
        result = client.tickets.bulk_create(path, journal=tmp_path / "j.sqlite", progress=False)
        assert result.ok, result.errors
    got = {
        r["title"]: r
        for r in client.tickets.query(
            Q("title").begins_with("from-"), fields=["title", "priority", "dueDateTime"]
        )
    }
    assert {t: r["priority"] for t, r in got.items()} == {
        "from-csv-1": 1,
        "from-csv-2": 2,
        "from-parquet-1": 1,
        "from-parquet-2": 2,
    }
    assert got["from-csv-2"]["dueDateTime"].startswith("2030-01-02T03:04:05")


def test_bulk_delete_takes_bare_ids_and_reports_missing_ones(server, client, tmp_path):
    entries = [r["id"] for r in client.time_entries.query(page_size=2)][:2]
    before = writes(server, "TimeEntries")["delete"]
    result = client.time_entries.bulk_delete([*entries, 1], progress=False)  # the default journal
    assert result.journal == str(tmp_path / "cache" / "bulk" / "journal.sqlite")
    assert result.ids == [*entries, None]
    assert result.errors[0][0] == 2 and "No matching records found" in result.errors[0][1]
    assert writes(server, "TimeEntries")["delete"] - before == 3
    assert all(client.time_entries.get(i) is None for i in entries)


def test_a_verb_the_entity_does_not_allow_fails_before_any_request(server, client):
    total = server.admin.stats()["total"]
    with pytest.raises(UnsupportedOperationError, match="Tickets cannot be deleted"):
        client.tickets.bulk_delete([1, 2])
    assert server.admin.stats()["total"] == total


KILLED = """
import sys
from sdk_core import AutotaskClient
creds = dict(username=sys.argv[1], secret=sys.argv[2], integration_code=sys.argv[3], api_url=sys.argv[4])
rows = [{"title": f"killed-{i:02d}", "companyID": int(sys.argv[6]), "priority": 1, "status": 1} for i in range(30)]
AutotaskClient(**creds, cache_dir=sys.argv[7]).tickets.bulk_create(rows, journal=sys.argv[5], progress=False,
                                                                  match=["title"])
"""


def test_a_killed_process_resumes_without_repeating_a_create(sandbox_factory, tmp_path):
    server = sandbox_factory(latency_ms=150)
    journal = tmp_path / "j.sqlite"
    with AutotaskClient(**server.credentials, cache_dir=str(tmp_path / "cache")) as c:
        company = next(iter(c.tickets.query(fields=["companyID"])))["companyID"]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            KILLED,
            server.username,
            server.secret,
            server.integration_code,
            server.api_url,
            str(journal),
            str(company),
            str(tmp_path / "cache"),
        ]
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        time.sleep(0.05)
        try:
            with sqlite3.connect(journal) as db:
                done = db.execute("SELECT COUNT(*) FROM bulk_rows WHERE status = 'done'").fetchone()[0]
        except sqlite3.OperationalError:
            continue
        if done >= 6:
            break
    os.kill(proc.pid, signal.SIGKILL)  # mid-flight: some rows are 'sending'
    proc.wait(10)
    with sqlite3.connect(journal) as db:
        (job,) = db.execute("SELECT job_id FROM bulk_jobs").fetchone()
        states = dict(db.execute("SELECT status, COUNT(*) FROM bulk_rows GROUP BY status").fetchall())
    assert states.get("pending", 0) > 0, states
    time.sleep(0.3)  # requests the dead process left in flight reach the sandbox
    with AutotaskClient(**server.credentials, cache_dir=str(tmp_path / "cache")) as c:
        committed = len(titled(c, "killed-"))
        sent = writes(server)["create"]  # includes requests the kill cut off before they committed
        result = c.tickets.bulk_create(resume=job, journal=journal, progress=False, match=["title"])
        found = titled(c, "killed-")
    assert result.ok and committed >= 6
    assert sorted(r["title"] for r in found) == [f"killed-{i:02d}" for i in range(30)]
    assert writes(server)["create"] - sent == 30 - committed  # only what had not happened was sent


def test_bulk_replace_nulls_what_the_row_leaves_out_and_read_only_can_be_dropped(
    server, client, company, tmp_path
):
    ids = client.tickets.bulk_create(
        [ticket(company, f"replace-{i}", description="keep?") for i in range(2)],
        journal=tmp_path / "j.sqlite",
        progress=False,
    ).ids
    rows = [
        {"id": i, **ticket(company, f"replaced-{n}"), "createDate": "2020-01-01T00:00:00"}
        for n, i in enumerate(ids)
    ]
    refused = client.tickets.bulk_replace(rows, dry_run=True, progress=False)
    assert [m.split(":")[0] for _, m in refused.errors] == ["createDate is read-only"] * 2
    missing = client.tickets.bulk_replace(
        [{"id": ids[0], "title": "no status"}], dry_run=True, progress=False
    )
    assert "Missing Required Field: companyID." in missing.errors[0][1]
    before = writes(server)["update"]
    result = client.tickets.bulk_replace(
        rows, journal=tmp_path / "j.sqlite", progress=False, read_only="drop"
    )
    assert result.ok and writes(server)["update"] - before == 2
    assert [client.tickets.get(i)["description"] for i in ids] == [None, None]  # PUT: left out -> null
    assert client.tickets.get(ids[0])["createDate"] != "2020-01-01T00:00:00"


def test_wrong_options_fail_before_anything_is_journaled_or_sent(server, client, tmp_path):
    total = server.admin.stats()["total"]
    with pytest.raises(ConfigurationError, match="needs base="):
        client.tickets.bulk_update([{"id": 1}], journal=tmp_path / "j.sqlite", on_conflict="merge")
    with pytest.raises(ConfigurationError, match="match: Tickets has no field 'titel'"):
        client.tickets.bulk_create([{"title": "x"}], journal=tmp_path / "j.sqlite", match=["titel"])
    with pytest.raises(ConfigurationError, match="is not in the journal"):
        client.tickets.bulk_create(resume="nope", journal=tmp_path / "j.sqlite")
    with pytest.raises(ConfigurationError, match="cannot resume"):
        client.tickets.bulk_create(resume="nope", dry_run=True)
    assert server.admin.stats()["total"] == total
    assert (
        not (tmp_path / "j.sqlite").exists()
        or not sqlite3.connect(tmp_path / "j.sqlite").execute("SELECT COUNT(*) FROM bulk_jobs").fetchone()[0]
    )


def test_a_job_runs_in_one_process_at_a_time(server, client, company, tmp_path):
    journal = tmp_path / "j.sqlite"
    job = client.tickets.bulk_create(
        [ticket(company, "claimed", priority=999)], journal=journal, progress=False
    ).job_id
    with sqlite3.connect(journal) as db:  # as if the parent process (alive) were running it now
        db.execute(
            "UPDATE bulk_jobs SET owner = ?, heartbeat = ?",
            (f"{socket.gethostname()}:{os.getppid()}", time.time()),
        )
    with pytest.raises(ConfigurationError, match="being run by another process"):
        client.tickets.bulk_create(resume=job, journal=journal, progress=False)
    with sqlite3.connect(journal) as db:  # a runner that died (no such process) holds nothing
        db.execute("UPDATE bulk_jobs SET owner = ?", (f"{socket.gethostname()}:999999999",))
    assert client.tickets.bulk_create(resume=job, journal=journal, progress=False).job_id == job


def test_progress_reaches_the_caller_and_the_bar_ends_with_the_summary(
    server, client, company, tmp_path, capsys
):
    seen = []
    client.tickets.bulk_create(
        [ticket(company, f"progress-{i}") for i in range(5)],
        journal=tmp_path / "j.sqlite",
        progress=seen.append,
    )
    assert [e.finished for e in seen] == [1, 2, 3, 4, 5] and seen[-1].done == 5 and seen[-1].total == 5
    client.tickets.bulk_create([ticket(company, "bar")], journal=tmp_path / "j.sqlite", progress=True)
    err = capsys.readouterr().err
    assert "Tickets create" in err and "1 of 1 rows written" in err


def test_an_exhausted_budget_share_stops_the_job_resumably(sandbox_factory, tmp_path):
    server = sandbox_factory(threshold=200)
    journal = tmp_path / "j.sqlite"
    rows = [
        {"title": f"budget-{i:02d}", "companyID": 29680002, "priority": 1, "status": 1} for i in range(30)
    ]
    with AutotaskClient(
        **server.credentials, cache_dir=str(tmp_path / "cache"), max_api_share=0.1, max_budget_wait=0
    ) as tight:
        with pytest.raises(BulkInterruptedError, match="share is used up") as caught:
            tight.tickets.bulk_create(rows, journal=journal, progress=False, match=["title"])
    assert 0 < caught.value.result.done < 30
    stats = server.admin.stats()
    reads = stats["endpoints"]["ThresholdInformation"]["ThresholdInformation"]
    assert stats["total"] - reads <= 20  # 10 % of 200: the share held
    with AutotaskClient(**server.credentials, cache_dir=str(tmp_path / "cache"), max_api_share=0.5) as wider:
        result = wider.tickets.bulk_create(
            resume=caught.value.job_id, journal=journal, progress=False, match=["title"]
        )
        assert sorted(r["title"] for r in titled(wider, "budget-")) == [r["title"] for r in rows]
    assert result.ok and writes(server)["create"] == 30
    assert server.admin.stats()["rejected"]["threshold"] == 0


def test_a_source_that_breaks_while_being_read_sends_nothing_and_leaves_no_job(
    server, client, company, tmp_path
):
    def rows():
        yield ticket(company, "never-sent-1")
        raise OSError("the export file went away")

    before = writes(server)["create"]
    with pytest.raises(OSError, match="went away"):
        client.tickets.bulk_create(rows(), journal=tmp_path / "j.sqlite", progress=False)
    assert writes(server)["create"] == before
    with sqlite3.connect(tmp_path / "j.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM bulk_jobs").fetchone()[0] == 0
