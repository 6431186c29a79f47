"""The `autotask` command against the session sandbox."""

from __future__ import annotations

import orjson
import pytest
from click.testing import CliRunner

from sdk_core.cli import main


@pytest.fixture
def run(sandbox, monkeypatch, tmp_path):
    for key, value in sandbox.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AUTOTASK_CACHE_DIR", str(tmp_path))

    def invoke(*args: str, code: int = 0) -> str:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    return invoke


def test_query_count_get_as_json(run, all_tickets):
    rows = orjson.loads(
        run("query", "Tickets", "--where", "status=1", "--fields", "title", "--limit", "0", "--json")
    )
    want = [{"id": r["id"], "title": r["title"]} for r in all_tickets if r["status"] == 1]
    assert [{"id": r["id"], "title": r["title"]} for r in rows] == want
    assert orjson.loads(run("count", "tickets", "--where", "status=1", "--json"))["count"] == len(want)
    assert orjson.loads(run("get", "Tickets", str(want[0]["id"]), "--json"))["title"] == want[0]["title"]
    assert "does not exist" in run("get", "Tickets", "999999999", code=1)


def test_table_output_and_clear_errors(run):
    assert "title" in run("query", "Tickets", "--fields", "title", "--limit", "3")
    assert 'Did you mean "status"?' in run("count", "Tickets", "--where", "stauts=1", code=1)
    assert "not JSON" in run("query", "Tickets", "--filter", "{nope", code=2)


def test_health_and_config_never_show_the_secret(run, sandbox):
    health = orjson.loads(run("health", "--json"))
    assert (
        health["authenticated"] and health["threshold_limit"] == 10000 and health["zone"] == sandbox.api_url
    )
    config = run("config", "--json")
    assert sandbox.secret not in config and orjson.loads(config)["secret"] == "****"


def test_plugin_groups_are_loaded_from_entry_points(run):
    assert "sandbox" in run("--help")
