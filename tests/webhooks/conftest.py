"""Fixtures for the webhook tests: private stores (SQLite file, PostgreSQL schema), the
receiver as a real `autotask webhooks serve` process, and a sandbox that delivers quickly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from autotask_sandbox.testing import SandboxServer
from sdk_core import AutotaskClient
from sdk_core.webhooks.store import EventStore, open_store

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECRET = "whsec Tom & Jerry's <key>+1"


def _pg_schema_url(schema: str) -> str:
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


@pytest.fixture
def pg_store_url() -> Iterator[str]:
    """A PostgreSQL store URL in a private schema, dropped afterwards."""
    schema = f"wh_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield _pg_schema_url(schema)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'events.db'}"
    return request.getfixturevalue("pg_store_url")


@pytest.fixture
def store(store_url: str) -> Iterator[EventStore]:
    opened = open_store(store_url)
    yield opened
    opened.close()


class ReceiverProcess:
    """`autotask webhooks serve` in a subprocess; `kill()` is kill -9, `start()` restarts it on
    the same port (the URL registered with the sandbox stays valid)."""

    def __init__(self, tmp: Path, store_url: str, handlers: str | None, env: dict[str, str]):
        self.tmp, self.store_url, self.handlers, self.extra_env = tmp, store_url, handlers, env
        self.port = 0
        self.process: subprocess.Popen[str] | None = None
        self.handled_log = tmp / "handled.jsonl"
        self.stderr_path = tmp / f"receiver-{uuid.uuid4().hex[:6]}.log"

    def start(self, **env: str) -> ReceiverProcess:
        args = [
            sys.executable,
            "-c",
            "from sdk_core.cli import main; main()",
            "webhooks",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--store",
            self.store_url,
        ]
        if self.handlers:
            args += ["--handlers", self.handlers]
        full_env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "AUTOTASK_WEBHOOK_SECRET": SECRET,
            "WEBHOOK_TEST_LOG": str(self.handled_log),
            **self.extra_env,
            **env,
        }
        full_env.pop("AUTOTASK_WEBHOOK_TENANTS", None)
        self._stderr = open(self.stderr_path, "a")
        self.process = subprocess.Popen(
            args, env=full_env, stdout=subprocess.PIPE, stderr=self._stderr, text=True, cwd=self.tmp
        )
        line = self.process.stdout.readline()  # type: ignore[union-attr]  # stdout=PIPE
        if "webhook receiver on http://" not in line:
            self.process.wait(10)
            raise RuntimeError(f"receiver did not start: {line!r} {self.stderr()}")
        self.port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url("_status"), timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"receiver not answering: {self.stderr()}")

    def url(self, path: str = "default/ticket") -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/{path}"

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def status(self) -> dict[str, Any]:
        return httpx.get(self.url("_status"), timeout=5).json()

    def handled(self) -> list[dict[str, Any]]:
        if not self.handled_log.exists():
            return []
        return [json.loads(line) for line in self.handled_log.read_text().splitlines() if line]

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.wait_exit()

    def wait_exit(self, timeout: float = 20) -> int:
        assert self.process is not None
        code = self.process.wait(timeout)
        self._stderr.close()
        return code

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.process is not None and self.process.stdout:
            self.process.stdout.close()


@pytest.fixture
def receiver_factory(tmp_path: Path) -> Iterator[Callable[..., ReceiverProcess]]:
    made: list[ReceiverProcess] = []

    def make(
        store_url: str | None = None, handlers: str | None = "tests.webhooks.handlers_app:server", **env: str
    ) -> ReceiverProcess:
        url = store_url or f"sqlite:///{tmp_path / 'events.db'}"
        receiver = ReceiverProcess(tmp_path, url, handlers, env)
        made.append(receiver)
        return receiver

    yield make
    for receiver in made:
        receiver.stop()


@pytest.fixture
def delivering(sandbox_factory: Callable[..., SandboxServer]) -> SandboxServer:
    """A private sandbox that retries a failed callout after 0.3 s instead of 30 s."""
    sb = sandbox_factory()
    sb.admin.put("webhooks/settings", {"retry_interval": 0.3, "timeout": 5})
    return sb


@pytest.fixture
def client_of(tmp_path: Path) -> Iterator[Callable[[SandboxServer], AutotaskClient]]:
    made: list[AutotaskClient] = []

    def make(sb: SandboxServer) -> AutotaskClient:
        client = AutotaskClient(**sb.credentials, cache_dir=str(tmp_path / "sdk-cache"))
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def settle(sb: SandboxServer, timeout: float = 20.0) -> list[dict[str, Any]]:
    """Wait until the sandbox has nothing left to deliver; returns its delivery log."""
    deadline = time.monotonic() + timeout
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = sb.admin.get("webhooks/deliveries")
        if state["pending"] == 0:
            return state["deliveries"]
        time.sleep(0.05)
    raise AssertionError(f"deliveries still pending: {state}")


def wait_until(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
