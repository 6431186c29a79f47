"""A `user:password@` in api_url reaches no log line, error message or request info."""

from __future__ import annotations

import logging
import socket

import pytest

from sdk_core import AutotaskClient
from sdk_core.errors import AuthenticationError, TransportError

PASSWORD = "hunter2-in-the-url"


def _with_userinfo(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://proxy-user:{PASSWORD}@{rest}"


def _no_password(caplog: pytest.LogCaptureFixture, *texts: str) -> None:
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert logged and PASSWORD not in logged
    for text in texts:
        assert PASSWORD not in text and "proxy-user" not in text


def test_request_logs_and_errors_mask_the_url_password(sandbox, tmp_path, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="sdk_core")
    url = _with_userinfo(sandbox.api_url)
    with AutotaskClient(**{**sandbox.credentials, "api_url": url}, cache_dir=str(tmp_path)) as client:
        assert client.tickets.count() > 0
        assert "****@" in "\n".join(r.getMessage() for r in caplog.records)
        _no_password(caplog, repr(client))
    with AutotaskClient(
        **{**sandbox.credentials, "api_url": url, "secret": "wrong"}, cache_dir=str(tmp_path)
    ) as client:
        with pytest.raises(AuthenticationError) as caught:
            client.tickets.count()
    _no_password(caplog, str(caught.value), repr(caught.value.request), str(caught.value.request))
    assert "****@" in str(caught.value)


def test_connection_failures_mask_the_url_password(tmp_path, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="sdk_core")
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://proxy-user:{PASSWORD}@127.0.0.1:{port}/ATServicesRest/"
    with AutotaskClient(
        username="u@example.com",
        secret="s",
        integration_code="c",
        api_url=url,
        max_retries=1,
        cache_dir=str(tmp_path),
    ) as client:
        with pytest.raises(TransportError) as caught:
            client.tickets.count()
    chain = [str(caught.value), repr(caught.value.__cause__), str(caught.value.__cause__)]
    _no_password(caplog, *chain)


def test_a_url_that_is_not_http_is_refused_without_its_password() -> None:
    from sdk_core.errors import ConfigurationError

    with pytest.raises(ConfigurationError) as caught:
        AutotaskClient(
            username="u", secret="s", integration_code="c", api_url=f"ftp://proxy-user:{PASSWORD}@host/"
        )
    assert PASSWORD not in str(caught.value) and "****@host" in str(caught.value)
