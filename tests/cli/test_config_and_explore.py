"""`autotask config init`/profiles, `entities`, `fields`, `health --json`, shell completion."""

from __future__ import annotations

import os
import stat

import orjson


def _answers(sandbox, secret: str | None = None) -> str:
    return (
        "\n".join([sandbox.username, secret or sandbox.secret, sandbox.integration_code, sandbox.api_url])
        + "\n"
    )


def test_config_init_checks_then_saves_a_private_profile(run, sandbox, monkeypatch, tmp_path):
    for var in ("AUTOTASK_USERNAME", "AUTOTASK_SECRET", "AUTOTASK_INTEGRATION_CODE", "AUTOTASK_API_URL"):
        monkeypatch.delenv(var)
    done = run("config", "init", "--profile", "customer-a", input=_answers(sandbox))
    assert "logged in" in done.stderr and sandbox.secret not in done.stdout + done.stderr
    path = tmp_path / "config" / "profiles.ini"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert orjson.loads(run("config", "profiles", "--json").stdout)["profiles"] == ["customer-a"]
    assert run("--profile", "customer-a", "count", "Companies").stdout.strip().isdigit()
    shown = orjson.loads(run("--profile", "customer-a", "config", "--json").stdout)
    assert shown["username"] == sandbox.username and shown["secret"] == "****"
    assert "no profile named 'nope'" in run("--profile", "nope", "count", "Companies", code=2).stderr


def test_config_init_refuses_credentials_that_do_not_log_in(run, sandbox, tmp_path):
    done = run("config", "init", input=_answers(sandbox, secret="not-the-secret"), code=3)
    assert "not saved" in done.stderr and "not-the-secret" not in done.stdout + done.stderr
    assert not (tmp_path / "config" / "profiles.ini").exists()


def test_default_profile_is_used_when_the_environment_has_no_username(run, sandbox, monkeypatch):
    run("config", "init", input=_answers(sandbox))
    for var in ("AUTOTASK_USERNAME", "AUTOTASK_SECRET", "AUTOTASK_INTEGRATION_CODE", "AUTOTASK_API_URL"):
        monkeypatch.delenv(var)
    assert int(run("count", "Companies").stdout) > 0


def test_a_profile_file_others_can_read_is_refused(run, sandbox, tmp_path):
    run("config", "init", "--print-env", input=_answers(sandbox))
    assert not (tmp_path / "config" / "profiles.ini").exists()
    run("config", "init", input=_answers(sandbox))
    path = tmp_path / "config" / "profiles.ini"
    os.chmod(path, 0o644)
    assert "chmod 600" in run("--profile", "default", "count", "Companies", code=2).stderr


def test_print_env_prints_export_lines(run, sandbox):
    lines = run("config", "init", "--print-env", input=_answers(sandbox)).stdout.splitlines()
    assert f"export AUTOTASK_USERNAME={sandbox.username}" in lines
    assert any(line.startswith("export AUTOTASK_SECRET=") for line in lines)


def test_entities_and_fields_with_picklists(run):
    rows = [
        orjson.loads(line) for line in run("entities", "--queryable", "--format", "jsonl").stdout.splitlines()
    ]
    tickets = next(r for r in rows if r["entity"] == "Tickets")
    assert tickets["stream"] == "tickets" and "query" in tickets["verbs"]
    assert all(r["queryable"] for r in rows)
    raw = orjson.loads(run("fields", "Tickets", "--json").stdout)
    status = next(f for f in raw["fields"] if f["name"].lower() == "status")
    assert status["isPickList"] and status["picklistValues"]
    table = run("fields", "Tickets").stdout
    assert "Status" in table and status["picklistValues"][0]["label"] in table


def test_health_json_on_every_path(run, monkeypatch):
    assert orjson.loads(run("health", "--json").stdout)["ok"] is True
    monkeypatch.setenv("AUTOTASK_SECRET", "wrong")
    failed = orjson.loads(run("health", "--json", code=3).stdout)
    assert failed["ok"] is False and failed["exit_code"] == 3 and "wrong" not in failed["error"]
    monkeypatch.delenv("AUTOTASK_USERNAME")
    missing = orjson.loads(run("health", "--json", code=2).stdout)
    assert "AUTOTASK_USERNAME" in missing["error"]


def test_completion_scripts_and_entity_names(run, shell):
    for sh in ("bash", "zsh", "fish"):
        assert "_AUTOTASK_COMPLETE" in run("completion", sh).stdout
    done = shell("COMP_WORDS='autotask query Ticket' COMP_CWORD=2 _AUTOTASK_COMPLETE=bash_complete autotask")
    names = {line.split(",", 1)[1] for line in done.stdout.splitlines()}
    assert {"Tickets", "TicketNotes"} <= names and "Companies" not in names
