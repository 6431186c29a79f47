"""The former name of the in-memory test transport; use `sdk_core.MockTransport`."""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable
from typing import Any

from ._flow import Failure
from ._protocol import Request, Response
from ._transport import FailureMap, default_failure

__all__ = ["FunctionTransport"]

Handler = Callable[[Request], Response | Awaitable[Response]]


class FunctionTransport:
    """Deprecated: `MockTransport` (sync) or `AsyncMockTransport` (async). Kept working for
    both clients: the async client awaits what the handler returns when it is awaitable."""

    def __init__(self, handler: Handler, failure: FailureMap | None = None):
        warnings.warn(
            "FunctionTransport is deprecated; use sdk_core.MockTransport or sdk_core.AsyncMockTransport",
            DeprecationWarning,
            stacklevel=2,
        )
        self.handler = handler
        self.requests: list[Request] = []
        self._failure = failure or default_failure

    def send(self, request: Request) -> Any:
        self.requests.append(request)
        return self.handler(request)

    def failure(self, exc: BaseException) -> Failure | None:
        return self._failure(exc)

    def close(self) -> None:
        pass
