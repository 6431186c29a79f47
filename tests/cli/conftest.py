"""The `autotask` command against the session sandbox, in-process (CliRunner) and as a process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sdk_core import AutotaskClient
from sdk_core.cli import main

AUTOTASK = str(Path(sys.executable).with_name("autotask"))


@pytest.fixture
def cli_env(sandbox, tmp_path) -> dict[str, str]:
    """AUTOTASK_* variables of the session sandbox, with private cache and profile folders."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOTASK_")}
    env.update(sandbox.env)
    env["AUTOTASK_CACHE_DIR"] = str(tmp_path / "cache")
    env["AUTOTASK_CONFIG_DIR"] = str(tmp_path / "config")
    return env


@pytest.fixture
def run(cli_env, monkeypatch):
    """`run(*args, code=0, input=None)` -> the result of `autotask ARGS` in-process."""
    for key in [k for k in os.environ if k.startswith("AUTOTASK_")]:
        monkeypatch.delenv(key)
    for key, value in cli_env.items():
        if key.startswith("AUTOTASK_"):
            monkeypatch.setenv(key, value)

    def invoke(*args: str, code: int = 0, input: str | None = None):
        result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    return invoke


@pytest.fixture
def shell(cli_env):
    """`shell(command)` -> CompletedProcess of a shell pipeline with `autotask` on PATH."""
    env = dict(cli_env, PATH=f"{Path(AUTOTASK).parent}:{cli_env.get('PATH', '')}")

    def go(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-o", "pipefail", "-c", command], env=env, text=True, capture_output=True, timeout=120
        )

    return go


@pytest.fixture(scope="module")
def all_tickets(sandbox):
    """Every ticket of the read-only session tenant."""
    with AutotaskClient(**sandbox.credentials) as client:
        return list(client.tickets.query())
