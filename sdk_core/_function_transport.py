"""The former name of the in-memory test transport; use `sdk_core.MockTransport`."""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable

from ._protocol import Request, Response
from ._transport import FailureMap, MockTransport

__all__ = ["FunctionTransport"]

Handler = Callable[[Request], Response | Awaitable[Response]]


class FunctionTransport(MockTransport):
    """Deprecated: `MockTransport` (sync) or `AsyncMockTransport` (async). Kept working for
    both clients: the async client awaits what the handler returns when it is awaitable."""

    def __init__(self, handler: Handler, failure: FailureMap | None = None):
        warnings.warn(
            "FunctionTransport is deprecated; use sdk_core.MockTransport or sdk_core.AsyncMockTransport",
            DeprecationWarning,
            stacklevel=2,
        )
        super().__init__(handler, failure)  # type: ignore[arg-type]  # may return an awaitable
