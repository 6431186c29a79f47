"""Helpers for the SDK tests against the sandbox (fixtures `sandbox`, `sandbox_factory` come
from tests/conftest.py)."""

from __future__ import annotations

import pytest

from sdk_core import AsyncAutotaskClient, AutotaskClient


@pytest.fixture
def make_client(tmp_path):
    """A client of a sandbox server with a private metadata/zone cache directory."""
    made = []

    def make(server, cls=AutotaskClient, **kw):
        kw.setdefault("cache_dir", str(tmp_path / "cache"))
        client = cls(**{**server.credentials, **kw})
        made.append(client)
        return client

    yield make
    for client in made:
        if isinstance(client, AutotaskClient):
            client.close()


@pytest.fixture(scope="module")
def all_tickets(sandbox):
    """Every ticket of the read-only session tenant (one scan, shared by the module)."""
    with AutotaskClient(**sandbox.credentials) as client:
        return list(client.tickets.query())


__all__ = ["AsyncAutotaskClient"]
