"""The client's seams: transports, settings, the governor per client settings, the scan plan."""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from typing import Any

import orjson
import pytest
import redis

import sdk_core
from sdk_core import (
    AsyncAutotaskClient,
    AsyncMockTransport,
    AsyncTransport,
    AutotaskClient,
    ConfigurationError,
    MockTransport,
    Request,
    Response,
    Settings,
    Transport,
    UnknownEntityError,
)
from sdk_core._async_client import HTTPXTransport
from sdk_core._client import RequestsTransport
from sdk_core._config import settings_from_env
from sdk_core._scan import RANGES_PER_SLOT, IdRange, ScanPlan, plan_ranges, ranges_per_slot

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = "S3CRET-never-shown"
THRESHOLD = {
    "externalRequestThreshold": 10000,
    "requestThresholdTimeframe": 60,
    "currentTimeframeRequestCount": 0,
}


def answer(request: Request) -> Response:
    if request.url.endswith("ThresholdInformation"):
        return Response(200, {}, orjson.dumps(THRESHOLD))
    return Response(200, {}, orjson.dumps({"queryCount": 7}))


def api_url() -> str:
    return f"http://{uuid.uuid4().hex[:8]}.test/ATServicesRest/"


def test_the_transports_satisfy_the_public_protocols() -> None:
    assert isinstance(RequestsTransport(5), Transport)
    assert isinstance(MockTransport(answer), Transport)
    assert isinstance(AsyncMockTransport(answer), AsyncTransport)
    assert isinstance(HTTPXTransport(5), AsyncTransport)
    assert not isinstance(object(), Transport)


def test_mock_transport_answers_and_records_for_users_tests(tmp_path) -> None:
    mock = MockTransport(answer)
    with AutotaskClient(
        "api@example.com", SECRET, "CODE", api_url=api_url(), cache_dir=str(tmp_path), transport=mock
    ) as client:
        assert client.tickets.count(sdk_core.Q("status") == 1) == 7
    sent = [r for r in mock.requests if r.endpoint == "Tickets"]
    assert len(sent) == 1 and sent[0].url.endswith("Tickets/query/count")
    assert b'"status"' in (sent[0].content or b"")


async def test_async_mock_transport_takes_a_coroutine_handler(tmp_path) -> None:
    async def handler(request: Request) -> Response:
        await asyncio.sleep(0)
        return answer(request)

    mock = AsyncMockTransport(handler)
    async with AsyncAutotaskClient(
        "api@example.com", SECRET, "CODE", api_url=api_url(), cache_dir=str(tmp_path), transport=mock
    ) as client:
        assert await client.tickets.count() == 7
    assert any(r.endpoint == "Tickets" for r in mock.requests)


def test_a_mock_handler_raising_a_connection_error_is_a_network_failure(tmp_path) -> None:
    def refuse(request: Request) -> Response:
        raise ConnectionRefusedError("refused")

    client = AutotaskClient(
        "api@example.com",
        SECRET,
        "CODE",
        api_url=api_url(),
        max_retries=0,
        cache_dir=str(tmp_path),
        transport=MockTransport(refuse),
    )
    with pytest.raises(sdk_core.TransportError, match="failed 1 times"):
        client.tickets.count()


def test_from_settings_uses_the_settings_it_is_given(tmp_path) -> None:
    settings = Settings(
        username="api@example.com",
        secret=SECRET,
        integration_code="CODE",
        api_url=api_url(),
        max_concurrency=2,
        cache_dir=str(tmp_path),
        zone_ttl=60,
    )
    client = AutotaskClient.from_settings(settings, transport=MockTransport(answer))
    assert client.settings is settings and client.governor.max_concurrency == 2
    assert client.root == settings.api_url
    with pytest.raises(ConfigurationError, match="takes a Settings"):
        AutotaskClient.from_settings({"username": "x"})  # type: ignore[arg-type]  # the wrong type on purpose


def test_from_env_passes_every_setting_by_name(monkeypatch, tmp_path) -> None:
    seen: dict[str, Any] = {}

    class Recording(AutotaskClient):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            seen.update(args=args, kwargs=kwargs)
            super().__init__(*args, **kwargs)

    env = {
        "AUTOTASK_USERNAME": "api@example.com",
        "AUTOTASK_SECRET": SECRET,
        "AUTOTASK_INTEGRATION_CODE": "CODE",
        "AUTOTASK_API_URL": api_url(),
        "AUTOTASK_MAX_CONCURRENCY": "2",
        "AUTOTASK_CACHE_DIR": str(tmp_path),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    client = Recording.from_env(timeout=7, transport=MockTransport(answer))
    assert seen["args"] == ()
    assert seen["kwargs"]["max_concurrency"] == 2 and seen["kwargs"]["timeout"] == 7
    assert client.settings.max_concurrency == 2


def test_settings_are_validated_in_one_place_with_the_same_message() -> None:
    with pytest.raises(ConfigurationError, match=r"max_concurrency must be 1\.\.100, not 0"):
        AutotaskClient("u", SECRET, "CODE", max_concurrency=0)
    with pytest.raises(ConfigurationError, match=r"max_concurrency must be 1\.\.100, not 0"):
        settings_from_env(
            {
                "AUTOTASK_USERNAME": "u",
                "AUTOTASK_SECRET": SECRET,
                "AUTOTASK_INTEGRATION_CODE": "CODE",
                "AUTOTASK_MAX_CONCURRENCY": "0",
            }
        )
    with pytest.raises(ConfigurationError, match="unknown setting.*max_concurency"):
        settings_from_env({}, max_concurency=2)


def test_one_unknown_entity_error_for_the_catalog_and_the_client(tmp_path) -> None:
    from sdk_core import catalog, errors

    assert catalog.UnknownEntityError is errors.UnknownEntityError is UnknownEntityError
    with pytest.raises(UnknownEntityError, match='Did you mean "Tickets"') as info:
        catalog.load_catalog().get("Tickts")
    assert isinstance(info.value, KeyError) and isinstance(info.value, ConfigurationError)
    client = AutotaskClient(
        "u", SECRET, "CODE", api_url=api_url(), cache_dir=str(tmp_path), transport=MockTransport(answer)
    )
    with pytest.raises(UnknownEntityError, match='Did you mean "Tickets"'):
        client.entity("Tickts")


def test_a_second_client_never_reconfigures_the_first_ones_governor(tmp_path) -> None:
    url = api_url()

    def client(**kw: Any) -> AutotaskClient:
        return AutotaskClient(
            "u", SECRET, "CODE", api_url=url, cache_dir=str(tmp_path), transport=MockTransport(answer), **kw
        )

    first = client(max_concurrency=3, max_api_share=0.5)
    governor = first.governor
    other = client(max_concurrency=1, max_api_share=0.1)
    assert other.governor is not governor
    assert (other.governor.max_concurrency, other.governor.max_api_share) == (1, 0.1)
    assert first.governor is governor
    assert (governor.max_concurrency, governor.max_api_share) == (3, 0.5)
    assert client(max_concurrency=3, max_api_share=0.5).governor is governor  # same limits: shared


async def test_the_async_client_asks_redis_off_the_event_loop(sandbox, tmp_path) -> None:
    loop_thread = threading.get_ident()
    threads: list[int] = []
    client = AsyncAutotaskClient(**sandbox.credentials, cache_dir=str(tmp_path), redis_url=REDIS_URL)
    gov = client.governor
    assert gov._redis is not None
    real = gov._redis.execute_command

    def recording(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.get_ident())
        return real(*args, **kwargs)

    gov._redis.execute_command = recording  # type: ignore[method-assign]  # record the calling thread
    try:
        assert await client.tickets.count() >= 1
        rows = [r async for r in client.tickets.query(page_size=50, parallel=2)]
        assert rows
        assert len(threads) >= 3  # budget reservations, leases and their release went through Redis
        assert loop_thread not in threads
        assert gov.stats()["in_flight"] == {}
    finally:
        gov._redis.execute_command = real  # type: ignore[method-assign]  # put the real one back
        await client.close()
        r = redis.Redis.from_url(REDIS_URL)
        for key in r.scan_iter(f"autotask-liberator:{gov.tenant}*"):
            r.delete(key)


def page(first: int, last: int) -> list[dict[str, int]]:
    return [{"id": i} for i in range(first, last + 1)]


def test_the_plan_deals_whole_pages_evenly_so_ranges_finish_together() -> None:
    plan = ScanPlan([], None, None, page_size=500, parallel=3)
    # 39 full pages after the first, and the open range's empty last page: 14, 13, 12 + 1 requests
    ranges = plan.split(page(1, 500), total=20_000)
    assert [(r.lower, r.upper) for r in ranges] == [(500, 7500), (7500, 14000), (14000, None)]
    uneven = plan.split(page(1, 500), total=20_400)  # 40 pages, the last one short: 14, 13, 13
    assert [r.upper - r.lower for r in uneven[:2]] == [6990, 6490]  # each 10 rows (SLACK) short
    assert plan.split(page(1, 499), total=499) == []  # a short first page is the whole scan
    few = plan.split(page(1, 500), total=900)  # one page left: one range, not three
    assert [(r.lower, r.upper) for r in few] == [(500, None)]
    sparse = plan.split(page(1, 1000)[::2], total=2100)  # every other id: a page spans ~1,000 ids
    assert [(r.lower, r.upper) for r in sparse] == [(999, 2977), (2977, 3956), (3956, None)]


def test_with_the_slots_capping_the_scan_each_slot_reads_two_ranges() -> None:
    assert ranges_per_slot(3, slot_limit=3) == RANGES_PER_SLOT == 2
    assert ranges_per_slot(2, slot_limit=3) == 1  # nothing else would keep it at 2 in flight
    assert ranges_per_slot(1, slot_limit=1) == 1
    plan = ScanPlan([], None, None, page_size=500, parallel=3, per_slot=2)
    ranges = plan.split(page(1, 500), total=20_000)  # 39 pages + the open range's empty one
    assert [(r.lower, r.upper) for r in ranges] == [
        (500, 4000),
        (4000, 7500),
        (7500, 11000),
        (11000, 14500),
        (14500, 17500),
        (17500, None),
    ]


def requests_per_range(ids: list[int], bounds: list[tuple[int, int | None]], page_size: int) -> list[int]:
    """What each range costs when read: full pages, then a short (or empty) one."""
    costs = []
    for lower, upper in bounds:
        rows = sum(1 for i in ids if i > lower and (upper is None or i <= upper))
        full = rows // page_size
        ends_on_bound = (
            upper is not None
            and rows > 0
            and rows % page_size == 0
            and max((i for i in ids if i <= upper), default=None) == upper
        )
        costs.append(full + (0 if ends_on_bound else 1))
    return costs


@pytest.mark.parametrize("ranges", [3, 6])
@pytest.mark.parametrize("gap_every", [0, 97, 13])
def test_ranges_cover_every_id_once_and_cost_the_pages_when_ids_have_gaps(
    ranges: int, gap_every: int
) -> None:
    ids = [i for i in range(1, 20_500) if not gap_every or i % gap_every]  # every n-th id deleted
    first, rest = ids[:500], ids[500:]
    bounds = plan_ranges([{"id": i} for i in first], len(ids), ranges, 500)
    assert len(bounds) == ranges and bounds[0][0] == first[-1] and bounds[-1][1] is None
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))  # contiguous: no id between two
    owners = [sum(1 for lo, hi in bounds if i > lo and (hi is None or i <= hi)) for i in rest]
    assert set(owners) == {1}  # every id after the first page in exactly one range
    costs = requests_per_range(rest, bounds, 500)
    pages = -(-len(rest) // 500)
    assert sum(costs) <= pages + 1  # at most the open range's empty page on top of the pages
    assert max(costs) - min(costs) <= 1  # balanced: the ranges finish in the same round


def test_a_range_stops_on_a_short_page_or_a_full_one_ending_on_its_bound() -> None:
    ids = IdRange(0, 1000)
    assert ids.advance(page(1, 500), 500) and ids.cursor == 500
    assert not ids.advance(page(501, 1000), 500)  # full, but ends on the bound
    open_end = IdRange(None)
    assert open_end.advance(page(1, 10), 10) and open_end.cursor == 10
    assert not open_end.advance(page(11, 15), 10)
    plan = ScanPlan([{"op": "eq", "field": "status", "value": 1}], None, 42, 500, 3)
    assert plan.count_filter[-1] == {"op": "gt", "field": "id", "value": 42}
    assert plan.first().cursor == 42
