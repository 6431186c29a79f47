"""Rationing (section 8): the thread limit under real concurrency, the hourly threshold with
ThresholdInformation counting, latency bands, and their isolation per entity."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

THREAD_MESSAGE = (
    "Thread Threshold Exceeded: The Autotask API thread threshold of 3 threads has "
    "been exceeded. (Itgenatr005)"
)


def concurrent_gets(urls: list[str], headers: dict[str, str]) -> list[httpx.Response]:
    with httpx.Client(headers=headers, timeout=30, limits=httpx.Limits(max_connections=len(urls))) as http:
        with ThreadPoolExecutor(len(urls)) as pool:
            return list(pool.map(http.get, urls))


def test_thread_limit_per_entity_rejects_extra_requests(sandbox_factory: Any) -> None:
    sb = sandbox_factory(latency_ms=1500)
    base = sb.api_url + "V1.0/"
    urls = [
        base + "Tickets/query?search=" + '{"filter":[{"op":"eq","field":"id","value":1}]}',
        base + "Tickets/entityInformation/fields",
        base + "Tickets/2",
    ] * 2
    urls += [base + "Companies/entityInformation"] * 3
    responses = concurrent_gets(urls, sb.headers)
    tickets, companies = responses[:6], responses[6:]
    rejected = [r for r in tickets if r.status_code == 429]
    assert len(rejected) == 3 and all(r.json() == {"errors": [THREAD_MESSAGE]} for r in rejected)
    assert all(r.status_code in (200, 404) for r in tickets if r.status_code != 429)
    assert all(r.status_code == 200 for r in companies)  # another entity, another bucket
    assert sb.admin.stats()["rejected"]["thread_limit"] == 3


def test_thread_limit_is_configurable(sandbox_factory: Any) -> None:
    sb = sandbox_factory(latency_ms=1500, thread_limit=1)
    urls = [sb.api_url + "V1.0/Tickets/entityInformation"] * 3
    assert sorted(r.status_code for r in concurrent_gets(urls, sb.headers)) == [200, 429, 429]


def test_hourly_threshold_and_threshold_information(sandbox_factory: Any) -> None:
    sb = sandbox_factory(threshold=6, latency_bands=False)
    with httpx.Client(headers=sb.headers) as http:
        info = http.get(sb.api_url + "V1.0/ThresholdInformation").json()
        assert info == {
            "externalRequestThreshold": 6,
            "requestThresholdTimeframe": 60,
            "currentTimeframeRequestCount": 1,
        }
        for _ in range(3):
            http.get(sb.api_url + "V1.0/Tickets/entityInformation")
        zone = http.get(sb.root_url + "V1.0/ZoneInformation", params={"user": sb.username})
        assert zone.status_code == 200  # exempt, not counted
        info = http.get(sb.api_url + "V1.0/ThresholdInformation").json()
        assert info["currentTimeframeRequestCount"] == 5
        assert http.get(sb.api_url + "V1.0/Tickets/entityInformation").status_code == 200
        r = http.get(sb.api_url + "V1.0/Tickets/entityInformation")
        assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
        assert "threshold" in r.json()["errors"][0]
        assert http.get(sb.admin_url + "health").status_code == 200  # admin path never limited
    assert sb.admin.stats()["rejected"]["threshold"] == 1
    sb.admin.reset()
    with httpx.Client(headers=sb.headers) as http:
        assert http.get(sb.api_url + "V1.0/ThresholdInformation").json()["currentTimeframeRequestCount"] == 1


def test_latency_band_from_half_the_threshold(sandbox_factory: Any) -> None:
    sb = sandbox_factory(threshold=4)
    with httpx.Client(headers=sb.headers) as http:
        url = sb.api_url + "V1.0/Version"
        http.get(url), http.get(url)
        started = time.perf_counter()
        http.get(url)  # third request: 2 of 4 already counted -> 50 % band
        assert time.perf_counter() - started >= 0.45
    sb.admin.configure(latency_bands=False)
    with httpx.Client(headers=sb.headers) as http:
        assert http.get(sb.api_url + "V1.0/Version").status_code == 200


def test_latency_band_from_three_quarters_of_the_threshold(sandbox_factory: Any) -> None:
    sb = sandbox_factory(threshold=8)
    with httpx.Client(headers=sb.headers) as http:
        url = sb.api_url + "V1.0/Version"
        for _ in range(6):  # 6 of 8 counted once these are done: the 75 % band applies next
            http.get(url)
        started = time.perf_counter()
        assert http.get(url).status_code == 200
        assert time.perf_counter() - started >= 0.95
        info = http.get(sb.api_url + "V1.0/ThresholdInformation").json()
        assert info["currentTimeframeRequestCount"] == 8
