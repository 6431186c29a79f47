"""`HealthMonitor(client).check_all()`: is the Autotask integration healthy, and why not.

One probe per run (ThresholdInformation, and Version unless turned off: two requests), the
rest from what the client already knows: its recent requests (latency, failures by cause),
the governor (budget, waits) and, when given, the freshness of synced tables and the webhook
backlog. With an async client, `check_all()` returns an awaitable.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Any

from .. import _protocol as proto
from .._datetime import parse_datetime
from .._flow import request_flow
from ..errors import AuthenticationError, AutotaskError, TransportError, ZoneError
from .alerts import AlertChannel, AlertState, LogChannel, deliver
from .recorder import percentile
from .report import Check, HealthReport

__all__ = ["HealthMonitor", "Thresholds", "sql_freshness"]

log = logging.getLogger("sdk_core.health")

LATENCY_BAND = 0.5  # Autotask adds latency from half the threshold on
PACING_START = 0.4  # the governor starts pacing here
TRANSIENT = ("rate_limited", "thread_limited", "server_error", "network")  # failures that are retried


@dataclass(frozen=True)
class Thresholds:
    """Where a figure turns a check to warn or fail (ratios are 0..1, times in ms or seconds)."""

    threshold_use_warn: float = PACING_START
    threshold_use_fail: float = LATENCY_BAND
    budget_use_warn: float = 0.8
    budget_use_fail: float = 1.0
    latency_p95_warn_ms: float = 2000.0
    latency_p95_fail_ms: float = 10000.0
    failure_ratio_warn: float = 0.05
    failure_ratio_fail: float = 0.25
    thread_limited_warn: float = 0.02
    freshness_max_age: float = 2 * 3600.0
    backlog_warn: int = 100
    backlog_fail: int = 1000


def _level(value: float, warn: float, fail: float) -> str:
    return "fail" if value >= fail else "warn" if value >= warn else "ok"


def sql_freshness(url: str, table: str, column: str) -> Callable[[], datetime | None]:
    """A freshness source: the newest `column` of a synced `table` (SQLAlchemy URL)."""

    def newest() -> datetime | None:
        import sqlalchemy as sa

        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                value = conn.execute(
                    sa.select(sa.func.max(sa.column(column))).select_from(sa.table(table))
                ).scalar()
        finally:
            engine.dispose()
        return parse_datetime(value) if value is not None else None

    return newest


class HealthMonitor:
    def __init__(
        self,
        client: Any,
        *,
        thresholds: Thresholds | None = None,
        channels: Sequence[AlertChannel] | None = None,
        state_file: str | None = None,
        freshness: Mapping[str, Any] | None = None,
        webhook_store: Any = None,
        tenant: str | None = None,
        window: float = 900.0,
        check_version: bool = True,
    ):
        self.client = client
        self.thresholds = thresholds or Thresholds()
        self.channels = list(channels) if channels is not None else [LogChannel()]
        self.state = AlertState(state_file)
        self.freshness = dict(freshness or {})
        self.webhook_store = webhook_store
        self.tenant = tenant
        self.window = window
        self.check_version = check_version

    def check_all(self) -> Any:
        """The report (sync client), or an awaitable of it (async client)."""
        if inspect.iscoroutinefunction(getattr(self.client, "threshold", None)):
            return self._check_all_async()
        return self._finish(self.client._run(self._probe_flow()))

    async def _check_all_async(self) -> HealthReport:
        return self._finish(await self.client._run(self._probe_flow()))

    # the probe ---------------------------------------------------------------------------
    def _probe_flow(self) -> Any:
        client, out = self.client, {}
        started = time.perf_counter()
        try:
            out["threshold"] = yield from client._threshold_flow()
        except AutotaskError as exc:
            out["error"] = exc
        out["probe_ms"] = (time.perf_counter() - started) * 1000
        t = out.get("threshold")
        if t is not None and t["used"] >= t["limit"] * LATENCY_BAND * 0.99:
            out["version_error"] = "not asked: the tenant is at its latency band"  # spend nothing more
        elif self.check_version and "error" not in out:
            try:
                creds = client.credentials
                response = yield from request_flow(
                    client, lambda root: proto.get_request(root, creds, "Version", "Version")
                )
                out["version"] = response.json() if response is not None else None
            except AutotaskError as exc:
                out["version_error"] = exc
        return out

    # the checks --------------------------------------------------------------------------
    def _finish(self, probe: dict[str, Any]) -> HealthReport:
        since = time.time() - self.window
        samples = self.client.request_stats.samples(since)
        checks = [
            self._zone(probe),
            self._authentication(probe),
            self._threshold(probe),
            self._budget(probe),
            self._latency(samples),
            self._thread_limit(samples),
            self._retries(samples),
            self._version(probe),
        ]
        checks += [self._fresh(name, source) for name, source in self.freshness.items()]
        if self.webhook_store is not None:
            checks.append(self._backlog())
        alerts = self.state.update(checks)
        deliver(alerts, self.channels)
        series = [(s.at, s.ms, s.endpoint) for s in samples if s.status is not None]
        return HealthReport(checks, latency_series=series, alerts=[a.to_dict() for a in alerts])

    def _zone(self, probe: dict[str, Any]) -> Check:
        root, error = self.client.root, probe.get("error")
        how = "detected through ZoneInformation" if self.client.zone_detected else "configured (api_url)"
        if isinstance(error, (ZoneError, TransportError)) or root is None:
            return Check("zone", "fail", f"cannot reach the API: {error}", {"root": root})
        return Check("zone", "ok", f"{root} ({how})", {"root": root, "detected": self.client.zone_detected})

    def _authentication(self, probe: dict[str, Any]) -> Check:
        error = probe.get("error")
        if isinstance(error, AuthenticationError):
            return Check("authentication", "fail", f"{error}", {"authenticated": False})
        if error is not None:
            return Check("authentication", "skip", f"not known: {type(error).__name__}: {error}", {})
        return Check("authentication", "ok", f"user {self.client.username} accepted", {"authenticated": True})

    def _threshold(self, probe: dict[str, Any]) -> Check:
        t = probe.get("threshold")
        if t is None:
            return Check("threshold", "skip", "ThresholdInformation not read", {})
        used, limit = t["used"], max(1, t["limit"])
        ratio = used / limit
        headroom = int(limit * LATENCY_BAND) - used
        status = _level(ratio, self.thresholds.threshold_use_warn, self.thresholds.threshold_use_fail)
        return Check(
            "threshold",
            status,
            f"{used} of {limit} requests used in {t['timeframe_minutes']} min ({ratio:.0%}); "
            f"{max(0, headroom)} left before the latency band",
            {
                "used": used,
                "limit": limit,
                "ratio": round(ratio, 4),
                "headroom": headroom,
                "timeframe_minutes": t["timeframe_minutes"],
            },
        )

    def _budget(self, probe: dict[str, Any]) -> Check:
        gov = self.client.governor
        stats = gov.stats()
        budget = stats.get("budget") or gov.budget
        window = getattr(getattr(gov, "_budget", None), "window", None)
        timeframe = float(stats.get("timeframe_minutes") or 60) * 60
        used = (
            len(window)
            if window is not None
            else len(self.client.request_stats.samples(time.time() - timeframe))
        )
        ratio = used / max(1, budget)
        status = _level(ratio, self.thresholds.budget_use_warn, self.thresholds.budget_use_fail)
        return Check(
            "budget",
            status,
            f"{used} of this process's {budget} requests per {timeframe / 60:.0f} min used ({ratio:.0%})",
            {
                "used": used,
                "budget": budget,
                "ratio": round(ratio, 4),
                "timeframe_minutes": timeframe / 60,
                "max_api_share": gov.max_api_share,
                "budget_waits": stats.get("budget_waits", 0),
                "pacing_waits": stats.get("pacing_waits", 0),
            },
        )

    def _latency(self, samples: list[Any]) -> Check:
        times = [s.ms for s in samples if s.status is not None]
        if not times:
            return Check("latency", "skip", "no requests in the window", {"count": 0})
        p50, p95, p99 = (round(percentile(times, q) or 0.0, 1) for q in (50, 95, 99))
        status = _level(p95, self.thresholds.latency_p95_warn_ms, self.thresholds.latency_p95_fail_ms)
        return Check(
            "latency",
            status,
            f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms over "
            f"{len(times)} requests in {self.window / 60:.0f} min",
            {
                "count": len(times),
                "p50_ms": p50,
                "p95_ms": p95,
                "p99_ms": p99,
                "max_ms": round(max(times), 1),
            },
        )

    def _thread_limit(self, samples: list[Any]) -> Check:
        stats = self.client.governor.stats()
        refused = sum(1 for s in samples if s.cause == "thread_limited")
        ratio = refused / max(1, len(samples))
        status = "warn" if samples and ratio >= self.thresholds.thread_limited_warn else "ok"
        return Check(
            "thread_limit",
            status,
            f"{refused} thread-limit refusals in the window; {stats.get('concurrency_waits', 0)} "
            f"waits for a slot (at most {stats.get('max_concurrency')} per endpoint)",
            {
                "refused": refused,
                "ratio": round(ratio, 4),
                "concurrency_waits": stats.get("concurrency_waits", 0),
                "peak_in_flight": stats.get("peak_in_flight", {}),
            },
        )

    def _retries(self, samples: list[Any]) -> Check:
        causes = Counter(s.cause for s in samples if s.cause in TRANSIENT)
        failed = sum(causes.values())
        ratio = failed / max(1, len(samples))
        status = _level(ratio, self.thresholds.failure_ratio_warn, self.thresholds.failure_ratio_fail)
        words = ", ".join(f"{n} {cause}" for cause, n in causes.most_common()) or "none"
        stats = self.client.governor.stats()
        return Check(
            "retries",
            status if samples else "skip",
            f"{failed} of {len(samples)} attempts failed ({ratio:.0%}): {words}",
            {
                "failed": failed,
                "attempts": len(samples),
                "ratio": round(ratio, 4),
                "by_cause": dict(causes),
                "retries_total": stats.get("retries", 0),
                "rate_limited_total": stats.get("rate_limited", 0),
            },
        )

    def _version(self, probe: dict[str, Any]) -> Check:
        try:
            sdk = package_version("autotask-liberator")
        except PackageNotFoundError:
            sdk = "unknown"
        found = probe.get("version")
        if not found:
            why = probe.get("version_error") or ("not asked" if not self.check_version else "no answer")
            return Check("version", "skip", f"Autotask version unknown ({why}); SDK {sdk}", {"sdk": sdk})
        text = f"{found.get('majorVersion')}.{found.get('minorVersion')} build {found.get('build')}"
        return Check("version", "ok", f"Autotask {text}; SDK {sdk}", {"autotask": found, "sdk": sdk})

    def _fresh(self, name: str, source: Any) -> Check:
        try:
            value = source() if callable(source) else source
            newest = parse_datetime(value) if value is not None else None
        except Exception as exc:
            return Check(f"freshness:{name}", "fail", f"could not read: {type(exc).__name__}: {exc}", {})
        if newest is None:
            return Check(f"freshness:{name}", "warn", "never synced (no rows)", {"newest": None})
        age = (datetime.now(UTC) - newest).total_seconds()
        status = "fail" if age > self.thresholds.freshness_max_age else "ok"
        return Check(
            f"freshness:{name}",
            status,
            f"newest row {age / 60:.0f} min old (limit {self.thresholds.freshness_max_age / 60:.0f} min)",
            {"newest": newest.isoformat(), "age_seconds": round(age)},
        )

    def _backlog(self) -> Check:
        store = self.webhook_store
        try:
            if isinstance(store, str):
                from ..webhooks.store import open_store  # optional extra

                store = self.webhook_store = open_store(store)
            backlog = int(store.backlog(tenant=self.tenant))
        except Exception as exc:
            return Check(
                "webhook_backlog", "fail", f"could not read the event store: {type(exc).__name__}: {exc}", {}
            )
        status = _level(backlog, self.thresholds.backlog_warn, self.thresholds.backlog_fail)
        return Check(
            "webhook_backlog",
            status,
            f"{backlog} webhook events waiting for their handler",
            {"backlog": backlog},
        )
