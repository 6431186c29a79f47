"""Shared fixtures: a real sandbox server over HTTP on loopback.

- `sandbox` (session): tiny tenant, seed 1, shared by every test of the session. Read-only:
  tests must not write to it, change its limits or inject faults.
- `sandbox_factory` (function): `sandbox_factory(**options)` starts a private server
  (options of `autotask_sandbox.testing.SandboxServer`: scale, seed, latency_ms, faults,
  threshold, thread_limit, latency_bands, datetime_format, get_missing_as_null_item, ...),
  stopped at the end of the test. Use it for writes, limits and faults.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from autotask_sandbox.testing import SandboxServer


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(scale="tiny", seed=1) as server:
        yield server


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., SandboxServer]]:
    servers: list[SandboxServer] = []

    def start(**options: Any) -> SandboxServer:
        server = SandboxServer(**{"scale": "tiny", "seed": 1, **options}).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
