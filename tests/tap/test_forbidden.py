"""A stream the API user may not read fails the run at the end (or is skipped, if asked).

The sandbox cannot deny one entity, so the client's transport is the real HTTP transport to the
sandbox except for `Roles` queries, which get the 403 Autotask answers for a missing permission.
`test_sync.py` covers `skip_forbidden_streams` (the same denial as a warning).
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

from sdk_core import AutotaskClient
from sdk_core._client import SyncTransport
from sdk_core._function_transport import FunctionTransport
from sdk_core._protocol import Request, Response
from sdk_core.errors import AutotaskError
from tap_autotask import TapAutotask
from tests.tap.singer_run import Output, tap_config

DENIAL = b'{"errors":["The logged in Resource does not have the adequate permissions."]}'


def _denying_client(server: Any) -> AutotaskClient:
    real = SyncTransport(timeout=30)

    def handler(request: Request) -> Response:
        if "/Roles/query" in request.url:
            return Response(403, {"Content-Type": "application/json"}, DENIAL)
        return real.send(request)

    return AutotaskClient(
        username=server.username,
        secret=server.secret,
        integration_code=server.integration_code,
        api_url=server.api_url,
        transport=FunctionTransport(handler, failure=SyncTransport.failure),
    )


def _sync(server: Any, **extra: Any) -> tuple[Output, BaseException | None]:
    config = tap_config(server, metadata_source="catalog", include_streams=["roles", "tickets"], **extra)
    buffer, error = io.StringIO(), None
    with contextlib.redirect_stdout(buffer):
        tap = TapAutotask(config=config, parse_env_config=False)
        tap._client = _denying_client(server)
        try:
            tap.sync_all()
        except AutotaskError as exc:
            error = exc
        finally:
            tap._client.close()
    return Output.parse(buffer.getvalue()), error


def test_a_forbidden_stream_fails_the_run_after_the_others(sandbox: Any) -> None:
    out, error = _sync(sandbox)
    assert error is not None, "a stream that could not be read must not end in success"
    assert "roles" in str(error) and "skip_forbidden_streams" in str(error)
    assert "tickets" not in str(error)
    assert len(out.records["tickets"]) == sandbox.admin.health()["tickets"] > 0
    assert "lastActivityDate" in str(out.state["bookmarks"]["tickets"]), "tickets state saved"
    assert not out.records["roles"]
