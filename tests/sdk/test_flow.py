"""Retries, waits, the zone re-detect and unknown outcomes, through an in-memory transport."""

import logging
import uuid

import httpx
import orjson
import pytest
import requests

from sdk_core import AsyncAutotaskClient, AsyncMockTransport, AutotaskClient, MockTransport, Response
from sdk_core._async_client import HTTPXTransport
from sdk_core._client import RequestsTransport
from sdk_core._flow import RetryPolicy
from sdk_core.errors import (
    AuthenticationError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnknownOutcomeError,
)

SECRET = "S3CRET-never-shown"
THRESHOLD = {
    "externalRequestThreshold": 10000,
    "requestThresholdTimeframe": 60,
    "currentTimeframeRequestCount": 0,
}


def ok(body, status=200, headers=None):
    return Response(status, headers or {}, orjson.dumps(body))


class Script:
    """Answers ThresholdInformation itself; other requests get the scripted answers in order."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.seen = []

    def __call__(self, request):
        if request.url.endswith("ThresholdInformation"):
            return ok(THRESHOLD)
        self.seen.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def make(script, tmp_path, cls=AutotaskClient, **kw):
    host = f"http://{uuid.uuid4().hex[:8]}.test"
    kw.setdefault("api_url", f"{host}/ATServicesRest/")
    mock = AsyncMockTransport if cls is AsyncAutotaskClient else MockTransport
    client = cls("api@example.com", SECRET, "CODE-123", cache_dir=str(tmp_path), transport=mock(script), **kw)
    client.policy = RetryPolicy(
        max_retries=3, backoff_base=0.001, backoff_max=0.01, max_rate_wait=client.policy.max_rate_wait
    )
    return client


def test_429_with_retry_after_is_waited_out(tmp_path):
    script = Script(ok({"errors": ["Rate limit exceeded"]}, 429, {"Retry-After": "0"}), ok({"queryCount": 4}))
    client = make(script, tmp_path)
    assert client.tickets.count() == 4
    assert len(script.seen) == 2
    assert client.governor.stats()["rate_limited"] == 1


def test_thread_limit_error_is_waited_out_not_raised(tmp_path):
    busy = ok({"errors": ["Thread Threshold Exceeded (Itgenatr005)"]}, 500)
    script = Script(busy, busy, ok({"item": {"id": 5}}))
    client = make(script, tmp_path)
    assert client.tickets.get(5) == {"id": 5}
    assert client.governor.stats()["thread_limited"] == 2


def test_rate_limit_gives_up_after_max_rate_wait(tmp_path):
    limited = ok({"errors": ["Rate limit exceeded"]}, 429, {"Retry-After": "0.05"})
    client = make(Script(*[limited] * 10), tmp_path, max_rate_wait=0.12)
    with pytest.raises(RateLimitedError, match="threshold was exceeded"):
        client.tickets.count()


def test_reads_retry_server_errors_but_creates_do_not(tmp_path):
    boom = ok({"errors": ["Internal error"]}, 500)
    script = Script(boom, ok({"queryCount": 1}))
    client = make(script, tmp_path)
    assert client.tickets.count() == 1
    script = Script(boom, ok({"itemId": 1}))
    client = make(script, tmp_path)
    with pytest.raises(ServerError):
        client.tickets.create({"title": "x"})
    assert len(script.seen) == 1


def test_a_create_whose_connection_dropped_is_never_resent(tmp_path):
    script = Script(
        requests.exceptions.ConnectionError("Connection aborted: reset by peer"), ok({"itemId": 7})
    )
    client = make(script, tmp_path)
    with pytest.raises(UnknownOutcomeError, match="may or may not"):
        client.tickets.create({"title": "x"})
    assert len(script.seen) == 1


def test_a_create_that_never_connected_is_retried(tmp_path):
    refused = requests.exceptions.ConnectionError("NewConnectionError: Connection refused")
    script = Script(refused, ok({"itemId": 7}))
    assert make(script, tmp_path).tickets.create({"title": "x"}) == 7
    assert len(script.seen) == 2


def test_reads_survive_resets_until_retries_run_out(tmp_path):
    reset = requests.exceptions.ConnectionError("Connection reset by peer")
    assert make(Script(reset, reset, ok({"queryCount": 2})), tmp_path).tickets.count() == 2
    with pytest.raises(TransportError, match="failed 4 times"):
        make(Script(*[reset] * 4), tmp_path).tickets.count()


def test_404_and_item_null_both_mean_absent(tmp_path):
    client = make(Script(Response(404, {}, b""), ok({"item": None})), tmp_path)
    assert client.tickets.get(1) is None
    assert client.tickets.get(2) is None


ZONE = {"zoneName": "Z", "url": "http://zone-b.test/ATServicesRest/", "webUrl": "", "ci": 1}


def test_zone_is_detected_cached_on_disk_and_redetected_once_on_401(tmp_path):
    denied = ok({"Message": "Authorization has been denied for this request."}, 401)
    script = Script(ok(ZONE), denied, ok(ZONE), ok({"queryCount": 3}))
    client = make(script, tmp_path, api_url=None, zone_lookup_url="http://lookup.test/ATServicesRest/")
    assert client.tickets.count() == 3
    assert [r.url.split("/V1.0/")[1] for r in script.seen] == [
        "ZoneInformation?user=api@example.com",
        "Tickets/query/count",
        "ZoneInformation?user=api@example.com",
        "Tickets/query/count",
    ]
    again = make(
        Script(ok({"queryCount": 3})),
        tmp_path,
        api_url=None,
        zone_lookup_url="http://lookup.test/ATServicesRest/",
    )
    assert again.tickets.count() == 3  # zone from the disk cache: no lookup
    assert again.root == "http://zone-b.test/ATServicesRest/"


def test_a_second_401_is_an_authentication_error_without_the_secret(tmp_path, caplog):
    denied = ok({"Message": "Authorization has been denied for this request."}, 401)
    script = Script(ok(ZONE), denied, ok(ZONE), denied)
    client = make(script, tmp_path, api_url=None, zone_lookup_url="http://lookup.test/ATServicesRest/")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthenticationError) as info:
        client.tickets.count()
    for text in (str(info.value), repr(info.value), repr(client), caplog.text, str(vars(info.value))):
        assert SECRET not in text


def test_with_api_url_a_401_is_raised_at_once(tmp_path):
    denied = ok({"Message": "Authorization has been denied for this request."}, 401)
    script = Script(denied)
    with pytest.raises(AuthenticationError, match="Check the username"):
        make(script, tmp_path).tickets.count()
    assert len(script.seen) == 1


async def test_async_client_runs_the_same_flows(tmp_path):
    async def handler(request):
        return Script.__call__(script, request)

    script = Script(
        ok({"errors": ["Itgenatr005"]}, 429, {"Retry-After": "0"}),
        ok({"queryCount": 9}),
        httpx.ReadError("reset"),
        ok({"itemId": 1}),
    )
    client = make(handler, tmp_path, cls=AsyncAutotaskClient)
    assert await client.tickets.count() == 9
    with pytest.raises(UnknownOutcomeError):
        await client.tickets.create({"title": "x"})
    await client.close()


REQUESTS_ERRORS = [
    e
    for e in vars(requests.exceptions).values()
    if isinstance(e, type)
    and issubclass(e, requests.exceptions.RequestException)
    and issubclass(
        e,
        (
            requests.exceptions.ConnectionError,
            requests.exceptions.Timeout,
            requests.exceptions.ChunkedEncodingError,
        ),
    )
]
HTTPX_ERRORS = [
    e for e in vars(httpx).values() if isinstance(e, type) and issubclass(e, httpx.TransportError)
]


@pytest.mark.parametrize("exc", REQUESTS_ERRORS, ids=lambda e: e.__name__)
def test_every_requests_network_error_is_mapped(exc):
    assert RequestsTransport.failure(exc("x")) is not None


@pytest.mark.parametrize("exc", HTTPX_ERRORS, ids=lambda e: e.__name__)
def test_every_httpx_transport_error_is_mapped(exc):
    failure = HTTPXTransport.failure(exc("x"))
    assert failure is not None
    assert failure.maybe_sent is not issubclass(
        exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
    )


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_create_answered_by_a_gateway_error_is_an_unknown_outcome_sent_once(tmp_path, status):
    script = Script(
        Response(status, {"Content-Type": "text/html"}, b"<html>Bad Gateway</html>"), ok({"itemId": 7})
    )
    client = make(script, tmp_path)
    with pytest.raises(UnknownOutcomeError, match=f"HTTP {status}.*may or may not have created"):
        client.tickets.create({"title": "x"})
    assert len(script.seen) == 1


NO_MATCH = ok(
    {
        "errors": [
            "No message. No matching records found. The logged in Resource may not "
            "have the required permissions to delete the data."
        ]
    },
    500,
)


@pytest.mark.parametrize(
    "first",
    [requests.exceptions.ReadTimeout("read timed out"), ok({"errors": ["Internal error"]}, 500)],
    ids=["timeout", "500"],
)
def test_a_delete_retried_after_a_lost_answer_that_finds_nothing_succeeds(tmp_path, caplog, first):
    script = Script(first, NO_MATCH)
    client = make(script, tmp_path)
    caplog.set_level(logging.WARNING, logger="sdk_core.flow")
    assert client.time_entries.delete(77) == 77
    assert [r.method for r in script.seen] == ["DELETE", "DELETE"]
    assert "earlier attempt deleted it" in caplog.text


def test_a_first_delete_that_finds_nothing_is_still_not_found(tmp_path):
    from sdk_core.errors import NotFoundError

    with pytest.raises(NotFoundError, match="No matching records found"):
        make(Script(NO_MATCH), tmp_path).time_entries.delete(77)


async def test_async_delete_retried_after_a_reset_succeeds(tmp_path):
    async def handler(request):
        return Script.__call__(script, request)

    script = Script(httpx.ReadError("reset"), NO_MATCH)
    client = make(handler, tmp_path, cls=AsyncAutotaskClient)
    assert await client.time_entries.delete(77) == 77
    await client.close()


def test_no_repr_log_or_exception_shows_the_secret_or_the_redis_password(tmp_path, caplog):
    import redis

    from sdk_core._config import settings_from_env

    password = "Redis-Pa55-never-shown"
    redis_url = f"redis://:{password}@127.0.0.1:6379/0"
    denied = ok({"Message": "Authorization has been denied for this request."}, 401)
    client = make(Script(denied), tmp_path, redis_url=redis_url)
    caplog.set_level(logging.DEBUG)
    try:
        with pytest.raises(AuthenticationError) as info:
            client.tickets.count()
        settings = settings_from_env(
            {
                "AUTOTASK_USERNAME": "u",
                "AUTOTASK_SECRET": SECRET,
                "AUTOTASK_INTEGRATION_CODE": "CODE-123",
                "AUTOTASK_REDIS_URL": redis_url,
            }
        )
        texts = [
            repr(client),
            str(client),
            repr(client.settings),
            str(client.settings),
            repr(settings),
            str(settings.masked()),
            repr(client.governor),
            str(client.governor.stats()),
            caplog.text,
            str(info.value),
            repr(info.value),
            str(vars(info.value)),
        ]
        assert "127.0.0.1:6379" in repr(settings)  # the host stays visible, only the password goes
        for text in texts:
            assert SECRET not in text and password not in text and "CODE-123" not in text
    finally:
        r = redis.Redis.from_url("redis://127.0.0.1:6379/0")
        for key in r.scan_iter(f"autotask-liberator:{client.root.split('/ATServices')[0]}*"):
            r.delete(key)


@pytest.mark.parametrize("cls", [AutotaskClient, AsyncAutotaskClient])
def test_from_env_keeps_the_wait_limits(monkeypatch, tmp_path, cls):
    for name, value in {
        "AUTOTASK_USERNAME": "api@example.com",
        "AUTOTASK_SECRET": SECRET,
        "AUTOTASK_INTEGRATION_CODE": "CODE-123",
        "AUTOTASK_API_URL": "http://x.test/ATServicesRest/",
        "AUTOTASK_CACHE_DIR": str(tmp_path),
        "AUTOTASK_MAX_RATE_WAIT": "12",
    }.items():
        monkeypatch.setenv(name, value)
    mock = AsyncMockTransport if cls is AsyncAutotaskClient else MockTransport
    client = cls.from_env(max_budget_wait=5, transport=mock(Script()))
    assert client.settings.max_budget_wait == 5 and client.settings.max_rate_wait == 12
    assert client.policy.max_rate_wait == 12


def test_threshold_has_the_documented_keys(tmp_path):
    client = make(Script(), tmp_path)
    assert client.threshold() == {"limit": 10000, "timeframe": 60, "timeframe_minutes": 60, "used": 0}


def test_a_tenant_past_the_band_stops_the_client_with_the_reason(tmp_path, caplog):
    busy = {**THRESHOLD, "currentTimeframeRequestCount": 9990}

    def answer(request):
        return ok(busy) if request.url.endswith("ThresholdInformation") else ok({"queryCount": 1})

    client = make(answer, tmp_path, max_budget_wait=0)
    caplog.set_level(logging.INFO, logger="sdk_core.governor")
    with pytest.raises(RateLimitedError, match=r"estimated 9990 of 10000 .*latency band \(5000\)") as info:
        client.tickets.count()
    assert info.value.retry_after == 60
    assert "waiting 60.00s: the tenant is at an estimated 9990" in caplog.text
    assert client.request_count == 1  # only the threshold read went out
