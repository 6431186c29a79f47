"""`autotask query`, `count`, `get`: every row streamed, formats, limits that speak, exit codes."""

from __future__ import annotations

import csv
import io

import orjson


def test_jsonl_returns_every_row_and_nothing_else(run, all_tickets):
    assert len(all_tickets) > 50  # more than the old silent cut
    result = run("query", "Tickets", "--format", "jsonl", "--fields", "title")
    rows = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [(r["id"], r["title"]) for r in rows] == [(t["id"], t["title"]) for t in all_tickets]
    assert result.stderr == ""


def test_where_short_form_matches_the_python_filter(run, all_tickets):
    want = [t["id"] for t in all_tickets if t["status"] == 1 and t["priority"] in (1, 2)]
    result = run(
        "query",
        "Tickets",
        "--where",
        "status=1 and priority in (1, 2)",
        "--format",
        "jsonl",
        "--fields",
        "status",
    )
    assert [orjson.loads(line)["id"] for line in result.stdout.splitlines()] == want
    both = run("query", "Tickets", "-w", "status=1", "-w", "priority in (1,2)", "--format", "jsonl")
    assert [orjson.loads(line)["id"] for line in both.stdout.splitlines()] == want
    assert orjson.loads(
        run("count", "tickets", "--where", "status=1 and priority in (1,2)", "--json").stdout
    )["count"] == len(want)


def test_a_limit_that_cuts_says_so_on_stderr(run, all_tickets):
    cut = run("query", "Tickets", "--format", "jsonl", "--limit", "7")
    assert len(cut.stdout.splitlines()) == 7
    assert "showing the first 7 rows; more match" in cut.stderr
    whole = run(
        "query", "Tickets", "--where", f"id={all_tickets[0]['id']}", "--format", "jsonl", "--limit", "7"
    )
    assert len(whole.stdout.splitlines()) == 1 and whole.stderr == ""


def test_table_defaults_to_fifty_rows_and_says_so(run):
    result = run("query", "Tickets", "--fields", "title", "--format", "table")
    assert "title" in result.stdout
    assert "showing the first 50 rows" in result.stderr


def test_csv_and_json_formats_parse(run, all_tickets):
    first = all_tickets[:3]
    where = f"id in ({','.join(str(t['id']) for t in first)})"
    text = run("query", "Tickets", "-w", where, "-f", "title,status", "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(int(r["id"]), r["title"], int(r["status"])) for r in rows] == [
        (t["id"], t["title"], t["status"]) for t in first
    ]
    assert list(rows[0]) == ["id", "title", "status"]
    data = orjson.loads(run("query", "Tickets", "-w", where, "--format", "json").stdout)
    assert [r["id"] for r in data] == [t["id"] for t in first]
    assert orjson.loads(run("query", "Tickets", "-w", "id<0", "--format", "json").stdout) == []


def test_get_and_its_not_found_exit_code(run, all_tickets):
    ticket = all_tickets[0]
    assert orjson.loads(run("get", "Tickets", str(ticket["id"]), "--json").stdout)["title"] == ticket["title"]
    assert "does not exist" in run("get", "Tickets", "999999999", code=4).stderr


def test_usage_errors_say_what_was_wrong(run):
    assert 'Did you mean "status"?' in run("count", "Tickets", "--where", "stauts=1", code=2).stderr
    assert "not JSON" in run("query", "Tickets", "--filter", "{nope", code=2).stderr
    assert "expected an operator" in run("query", "Tickets", "--where", "status 1", code=2).stderr
    assert 'Did you mean "Tickets"?' in run("query", "Tikets", "--format", "jsonl", code=2).stderr


def test_authentication_and_network_failures_have_their_own_codes(run, monkeypatch):
    monkeypatch.setenv("AUTOTASK_SECRET", "wrong-secret")
    auth = run("count", "Tickets", code=3)
    assert "wrong-secret" not in auth.stderr + auth.stdout
    monkeypatch.setenv("AUTOTASK_API_URL", "http://127.0.0.1:9/ATServicesRest/")
    monkeypatch.setenv("AUTOTASK_MAX_RETRIES", "0")
    run("count", "Tickets", code=7)


def test_pipe_into_head_ends_quietly(shell):
    done = shell("autotask query Tickets --format jsonl | head -n 2")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 2
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


def test_version_everywhere(run, shell):
    assert run("--version").stdout.startswith("autotask, version ")
    for command in ("autotask-sandbox", "autotask sandbox"):
        done = shell(f"{command} --version")
        assert done.returncode == 0 and "could not be detected" not in done.stdout + done.stderr, (
            command,
            done.stdout,
            done.stderr,
        )


def test_plugin_groups_are_loaded_from_entry_points(run):
    assert "sandbox" in run("--help").stdout
