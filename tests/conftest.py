"""Shared fixtures: a real sandbox server over HTTP on loopback.

- `sandbox` (session): tiny tenant, seed 1, shared by every test of the session. Read-only:
  tests must not write to it, change its limits or inject faults.
- `sandbox_factory` (function): `sandbox_factory(**options)` starts a private server
  (options of `autotask_sandbox.testing.SandboxServer`: scale, seed, latency_ms, faults,
  threshold, thread_limit, latency_bands, datetime_format, get_missing_as_null_item, ...),
  stopped at the end of the test. Use it for writes, limits and faults.

Test tiers: every test is marked `unit` (no services, no subprocess, no sandbox server) or
`integration`, by `pytest_collection_modifyitems` below: a test is integration when it, a
fixture it uses, or a function of the test tree that either names, mentions a server, a
database, Redis or a subprocess (`SERVICE_WORDS`). An explicit `@pytest.mark.unit` or
`@pytest.mark.integration` wins. `make test-fast` runs `-m unit`.
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from types import FunctionType
from typing import Any

import pytest

from autotask_sandbox.testing import SandboxServer

# Dagster runs start their tap and target through a warm-start launcher (orchestration's
# default); the launchers the tests start go a minute after their last run, not an hour.
os.environ.setdefault("AUTOTASK_WARM_IDLE_SECONDS", "60")


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


TESTS = Path(__file__).resolve().parent
SERVICE_WORDS = re.compile(
    r"SandboxServer|sandbox_factory|\bsandbox\b|subprocess|Popen|sys\.executable|CliRunner\(.*env|"
    r"redis|REDIS|6379|postgres|psycopg|mysql|maria|5432|3306|sql_destination|uvicorn|"
    r"HTTPServer|socket\.|meltano|SQL_URLS|make_sql_destination"
)


@cache
def _needs_services(func: Any) -> bool:
    """Whether `func`, or a function of the test tree that it names, reaches a service."""
    return _reaches(func, set())


def _reaches(func: Any, seen: set[int]) -> bool:
    func = inspect.unwrap(func) if hasattr(func, "__wrapped__") else func
    func = getattr(func, "__func__", func)  # a fixture defined in a test class
    if id(func) in seen or not isinstance(func, FunctionType | type):
        return False
    seen.add(id(func))
    try:
        path = Path(inspect.getsourcefile(func) or "")
        source = inspect.getsource(func)
    except (OSError, TypeError):
        return False
    if TESTS not in path.parents:
        return False  # product code is judged by the test that calls it
    if SERVICE_WORDS.search(source):
        return True
    if isinstance(func, type):  # a helper class of the tests: its methods are in its source
        return False
    names = set(func.__code__.co_names) | {
        c for co in func.__code__.co_consts if hasattr(co, "co_names") for c in co.co_names
    }
    return any(_reaches(func.__globals__.get(name), seen) for name in names)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("unit") or item.get_closest_marker("integration"):
            continue
        funcs = [getattr(item, "function", None)]
        info = getattr(item, "_fixtureinfo", None)
        for name in getattr(item, "fixturenames", ()):
            for fixturedef in info.name2fixturedefs.get(name, ()) if info else ():
                funcs.append(fixturedef.func)
        tier = "integration" if any(f is not None and _needs_services(f) for f in funcs) else "unit"
        item.add_marker(tier)
