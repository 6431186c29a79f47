"""The `autotask-sandbox` command and the SandboxServer helper's surface."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from autotask_sandbox.cli import sandbox_group
from autotask_sandbox.testing import SandboxError, SandboxServer


def test_build_command_writes_a_tenant_and_summarises(tmp_path: Path) -> None:
    db = tmp_path / "tenant.sqlite"
    result = CliRunner().invoke(sandbox_group, ["build", "--scale", "tiny", "--seed", "4", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "Built tiny tenant (seed 4)" in result.output and "tickets" in result.output
    with sqlite3.connect(db) as conn:
        assert conn.execute('SELECT COUNT(*) FROM "Tickets"').fetchone()[0] > 200


def test_serve_help_documents_faults_and_rejects_bad_specs() -> None:
    runner = CliRunner()
    help_text = " ".join(
        runner.invoke(sandbox_group, ["serve", "--help"], terminal_width=1000).output.split()
    )
    assert "reset (connection aborted before the request is processed)" in help_text
    assert "reset-after (request processed and any write committed, then the connection aborted" in help_text
    assert "slow (delayed MS" in help_text
    result = runner.invoke(sandbox_group, ["serve", "--faults", "boom:1"])
    assert result.exit_code != 0 and "Unknown fault kind 'boom'" in result.output


def test_server_helper_surface(sandbox: Any) -> None:
    assert sandbox.api_url == sandbox.base_url + "/webservices14/ATServicesRest/"
    assert sandbox.root_url == sandbox.base_url + "/ATServicesRest/"
    assert sandbox.credentials["api_url"] == sandbox.api_url
    assert sandbox.env["AUTOTASK_API_URL"] == sandbox.api_url
    assert set(sandbox.env) == {
        "AUTOTASK_USERNAME",
        "AUTOTASK_SECRET",
        "AUTOTASK_INTEGRATION_CODE",
        "AUTOTASK_API_URL",
    }
    assert sandbox.secret not in repr(sandbox)
    assert sandbox.admin.get("health")["status"] == "ok"
    assert httpx.get(sandbox.admin_url + "config").json()["zone"] == "webservices14"


def test_custom_credentials_and_zone(sandbox_factory: Any) -> None:
    sb = sandbox_factory(
        zone="webservices5", username="me@example.com", secret="s3cr3t-value", integration_code="CODE-1"
    )
    r = httpx.get(sb.api_url + "V1.0/Version", headers=sb.headers)
    assert sb.api_url.endswith("/webservices5/ATServicesRest/") and r.status_code == 200
    assert (
        httpx.get(sb.root_url + "V1.0/ZoneInformation", params={"user": "me@example.com"}).json()["url"]
        == sb.api_url
    )
    assert "s3cr3t-value" not in " ".join(sb.process.args)  # passed by environment, not argv


@pytest.mark.timeout(90)  # the startup timeout below is 600 s: waiting it out fails the test
def test_a_server_dying_at_startup_is_reported_at_once_with_its_output() -> None:
    server = SandboxServer(faults="boom:1", startup_timeout=600)
    with pytest.raises(SandboxError) as caught:
        server.start()
    message = str(caught.value)
    assert "exited with code 2" in message
    assert "boom" in message and "(no output)" not in message
    assert server.process is not None and server.process.poll() is not None
