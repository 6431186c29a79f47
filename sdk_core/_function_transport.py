"""An in-memory transport that answers with a plain function, for unit tests of one function.

`FunctionTransport(handler)` works for both clients: `handler(request) -> Response` may be a
normal function or a coroutine function; it may also raise a transport exception.
"""

from __future__ import annotations

from typing import Awaitable, Callable, Union

from ._async_client import AsyncTransport
from ._client import SyncTransport
from ._flow import Failure
from ._protocol import Request, Response

__all__ = ["FunctionTransport"]

Handler = Callable[[Request], Union[Response, Awaitable[Response]]]


class FunctionTransport:
    def __init__(self, handler: Handler, failure: Callable[[BaseException], Failure | None] | None = None):
        self.handler = handler
        self.requests: list[Request] = []
        self._failure = failure or _either

    def send(self, request: Request) -> Response | Awaitable[Response]:
        """Returns what the handler returns; the async client awaits it when it is awaitable."""
        self.requests.append(request)
        return self.handler(request)

    def failure(self, exc: BaseException) -> Failure | None:
        return self._failure(exc)

    def close(self) -> None:
        pass


def _either(exc: BaseException) -> Failure | None:
    return SyncTransport.failure(exc) or AsyncTransport.failure(exc)
