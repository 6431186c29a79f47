"""Raw-HTTP access to sandbox servers for the conformance tests: the protocol as sent on the
wire, with no SDK code in between. `api` talks to the shared read-only `sandbox`; `api_for(sb)`
wraps any server (e.g. one from `sandbox_factory`). A module that writes sets `SERVER_SEED` and
uses `server` (its own tiny sandbox) and `w` (raw HTTP to it); `backend` is a private tenant
without HTTP."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from autotask_sandbox.backend import Backend
from autotask_sandbox.cache import cached_tenant
from autotask_sandbox.testing import SandboxServer


class Api:
    def __init__(self, sb: SandboxServer):
        self.sb = sb
        self.http = httpx.Client(headers=sb.headers, timeout=30)

    def url(self, path: str) -> str:
        return self.sb.api_url + "V1.0/" + path.lstrip("/")

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(self.url(path), **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return self.http.post(self.url(path), json=json, **kw)

    def put(self, path: str, json: Any = None) -> httpx.Response:
        return self.http.put(self.url(path), json=json)

    def patch(self, path: str, json: Any = None) -> httpx.Response:
        return self.http.patch(self.url(path), json=json)

    def delete(self, path: str) -> httpx.Response:
        return self.http.delete(self.url(path))

    def query(self, entity: str, filter: Any, **model: Any) -> httpx.Response:
        return self.post(f"{entity}/query", {"filter": filter, **model})

    def ids(self, entity: str, filter: Any, **model: Any) -> list[int]:
        r = self.query(entity, filter, **model)
        assert r.status_code == 200, r.text
        return [item["id"] for item in r.json()["items"]]

    def error(self, response: httpx.Response, status: int = 500) -> str:
        assert response.status_code == status, response.text
        body = response.json()
        assert list(body) == ["errors"], body
        return body["errors"][0]

    def all_items(self, entity: str) -> list[dict[str, Any]]:
        """Every row of an entity, paged by id cursor."""
        out: list[dict[str, Any]] = []
        last = -1
        while True:
            items = self.query(entity, [{"op": "gt", "field": "id", "value": last}]).json()["items"]
            out += items
            if len(items) < 500:
                return out
            last = items[-1]["id"]

    @staticmethod
    def search(filter: Any, **model: Any) -> str:
        return json.dumps({"filter": filter, **model})

    def close(self) -> None:
        self.http.close()


@pytest.fixture(scope="session")
def api(sandbox: SandboxServer) -> Iterator[Api]:
    client = Api(sandbox)
    yield client
    client.close()


@pytest.fixture
def api_for() -> Iterator[Callable[[SandboxServer], Api]]:
    made: list[Api] = []

    def make(sb: SandboxServer) -> Api:
        made.append(Api(sb))
        return made[-1]

    yield make
    for client in made:
        client.close()


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    """A tiny sandbox of the module's own (seed `SERVER_SEED`), for tests that write."""
    with SandboxServer(scale="tiny", seed=getattr(request.module, "SERVER_SEED", 1)) as sb:
        yield sb


@pytest.fixture
def w(server: SandboxServer, api_for: Callable[[SandboxServer], Api]) -> Api:
    return api_for(server)


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    """A private copy of the tiny tenant behind a Backend, with no HTTP in between."""
    pristine = cached_tenant("tiny", 1)
    work = tmp_path / "t.sqlite"
    shutil.copyfile(pristine, work)
    b = Backend(work, pristine=pristine)
    yield b
    b.close()
