"""Multi-step request flows, written once as generators and driven by sync or async code.

A flow yields `Send(request)` and receives a `Response` or a `Failure`, or yields
`Sleep(seconds)`; it returns the final response. Retries after 429 and the thread-limit error,
backoff after 5xx and network failures, the zone re-detect after a 401 and the refusal to
repeat a create whose outcome is unknown all live here, in one place.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Protocol

from ._protocol import Request, Response, error_from_response, read_zone, zone_request
from .errors import (
    AuthenticationError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnknownOutcomeError,
)

__all__ = [
    "Send",
    "Sleep",
    "Admit",
    "Failure",
    "RetryPolicy",
    "FlowContext",
    "request_flow",
    "zone_flow",
    "Flow",
]

log = logging.getLogger("sdk_core.flow")


@dataclass(frozen=True)
class Send:
    request: Request


@dataclass(frozen=True)
class Sleep:
    seconds: float
    reason: str


@dataclass(frozen=True)
class Admit:
    """Ask the governor whether one request may go now; the driver sends back `(wait, why)`.

    An action rather than a call, so that the async driver can ask Redis off the event loop.
    """


@dataclass(frozen=True)
class Failure:
    """A transport failure; `maybe_sent` is False only when the request surely never left."""

    error: BaseException
    maybe_sent: bool


Action = Send | Sleep | Admit
Outcome = Response | Failure | None
Flow = Generator[Action, Outcome, "Response | None"]


_JITTER = random.Random()


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_rate_wait: float = 900.0  # total seconds one call may wait out rate limiting

    def backoff(self, attempt: int, rng: random.Random = _JITTER) -> float:
        """Exponential backoff with full jitter (never zero, so a retry storm spreads out)."""
        ceiling = min(self.backoff_max, self.backoff_base * (2.0 ** (attempt - 1)))
        return ceiling / 2 + rng.random() * ceiling / 2


class FlowContext(Protocol):
    root: str | None
    zone_detected: bool
    username: str
    lookup_root: str
    policy: RetryPolicy

    def cached_zone(self) -> str | None: ...
    def remember_zone(self, root: str) -> None: ...
    def forget_zone(self) -> None: ...
    def count(self, name: str) -> None: ...


def zone_flow(ctx: FlowContext, *, use_cache: bool = True) -> Generator[Action, Outcome, None]:
    """Find the user's REST root through ZoneInformation (from the disk cache when fresh)."""
    if use_cache:
        cached = ctx.cached_zone()
        if cached:
            ctx.root, ctx.zone_detected = cached, True
            return
    else:
        ctx.forget_zone()
    request = zone_request(ctx.lookup_root, ctx.username)
    attempt = 0
    while True:
        outcome = yield Send(request)
        if isinstance(outcome, Failure):
            attempt += 1
            if attempt > ctx.policy.max_retries:
                raise TransportError(
                    f"zone lookup failed: {outcome.error!r}", request.info
                ) from outcome.error
            yield Sleep(ctx.policy.backoff(attempt), "zone lookup failed")
            continue
        assert outcome is not None
        if outcome.status_code >= 502 and attempt < ctx.policy.max_retries:
            attempt += 1
            yield Sleep(ctx.policy.backoff(attempt), f"zone lookup HTTP {outcome.status_code}")
            continue
        root = read_zone(request, outcome)
        log.info("zone detected: %s", root)
        ctx.root, ctx.zone_detected = root, True
        ctx.remember_zone(root)
        return


def request_flow(ctx: FlowContext, build: Callable[[str], Request], *, not_found_ok: bool = False) -> Flow:
    """Send one logical call until it succeeds, is absent (`None`), or fails for good.

    A DELETE repeated after a lost answer that then finds nothing also returns `None`: the
    first attempt most likely deleted the record.
    """
    if ctx.root is None:
        yield from zone_flow(ctx)
    policy = ctx.policy
    attempts = rate_hits = 0
    rate_waited = 0.0
    redetected = False
    while True:
        assert ctx.root is not None
        request = build(ctx.root)
        outcome = yield Send(request)
        if isinstance(outcome, Failure):
            if not request.idempotent and outcome.maybe_sent:
                raise UnknownOutcomeError(
                    f"{request.method} {request.shown_url} was sent but the connection failed before "
                    f"the answer ({type(outcome.error).__name__}); the record may or may not "
                    "exist. Look for it before creating it again.",
                    request.info,
                ) from outcome.error
            attempts += 1
            if attempts > policy.max_retries:
                raise TransportError(
                    f"{request.method} {request.shown_url} failed {attempts} times: {outcome.error!r}. "
                    "Check the network and api_url.",
                    request.info,
                ) from outcome.error
            ctx.count("retries")
            delay = policy.backoff(attempts)
            log.warning(
                "%s %s: %s; retry %d in %.1fs",
                request.method,
                request.shown_url,
                type(outcome.error).__name__,
                attempts,
                delay,
            )
            yield Sleep(delay, "transport failure")
            continue
        assert outcome is not None
        if outcome.status_code < 300:
            return outcome
        error = error_from_response(request, outcome)
        if isinstance(error, NotFoundError) and not_found_ok:
            return None
        if isinstance(error, NotFoundError) and request.method == "DELETE" and attempts:
            log.warning(
                "%s %s: not found on retry %d after a lost or failed answer; the earlier "
                "attempt deleted it, counted as success",
                request.method,
                request.shown_url,
                attempts,
            )
            return None
        if not request.idempotent and outcome.status_code in (502, 503, 504):
            raise UnknownOutcomeError(
                f"{request.method} {request.shown_url} got HTTP {outcome.status_code} from a gateway: "
                "Autotask may or may not have created the record. Look for it before creating "
                "it again.",
                request.info,
            )
        if isinstance(error, AuthenticationError) and ctx.zone_detected and not redetected:
            redetected = True
            log.warning("401 from %s; detecting the zone again", ctx.root)
            yield from zone_flow(ctx, use_cache=False)
            continue
        if isinstance(error, RateLimitedError):
            rate_hits += 1
            ctx.count("thread_limited" if error.thread_limit else "rate_limited")
            if error.retry_after is not None:
                delay = error.retry_after
            elif error.thread_limit:
                delay = min(5.0, 0.05 * (2 ** min(rate_hits, 8))) * (0.5 + random.random())
            else:
                delay = min(60.0, policy.backoff_base * (2 ** min(rate_hits, 8)))
            if rate_waited + delay > policy.max_rate_wait:
                raise error
            rate_waited += delay
            log.info(
                "%s %s rate limited (%s); waiting %.2fs",
                request.method,
                request.shown_url,
                "thread limit" if error.thread_limit else "threshold",
                delay,
            )
            yield Sleep(delay, "rate limited")
            continue
        if isinstance(error, ServerError) and request.idempotent and attempts < policy.max_retries:
            attempts += 1
            ctx.count("retries")
            delay = policy.backoff(attempts)
            log.warning(
                "%s %s: HTTP %s; retry %d in %.1fs",
                request.method,
                request.shown_url,
                outcome.status_code,
                attempts,
                delay,
            )
            yield Sleep(delay, "server error")
            continue
        raise error
