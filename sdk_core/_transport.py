"""The one I/O seam of each client, and in-memory transports for tests.

A transport sends one `Request` and returns its `Response`; it does not retry, wait or
interpret statuses (the request flows do). `failure(exc)` tells the flows whether an exception
is a network failure and whether the request may have left (a create is never repeated then).

```python
from sdk_core import AutotaskClient, MockTransport, Response

def answer(request):
    return Response(200, {}, b'{"queryCount": 4}')

client = AutotaskClient("user", "secret", "code", api_url="https://example.test/ATServicesRest/",
                        transport=MockTransport(answer))
```

The real transports are `RequestsTransport` (sync, in `_client`) and `HTTPXTransport` (async,
in `_async_client`), so that importing one client does not load the other's HTTP library.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from ._flow import Failure
from ._protocol import Request, Response

__all__ = ["Transport", "AsyncTransport", "MockTransport", "AsyncMockTransport", "Handler", "FailureMap"]

Handler = Callable[[Request], Response | Awaitable[Response]]
FailureMap = Callable[[BaseException], Failure | None]


@runtime_checkable
class Transport(Protocol):
    """What `AutotaskClient(transport=...)` needs."""

    def send(self, request: Request) -> Response: ...

    def failure(self, exc: BaseException) -> Failure | None: ...

    def close(self) -> None: ...


@runtime_checkable
class AsyncTransport(Protocol):
    """What `AsyncAutotaskClient(transport=...)` needs."""

    async def send(self, request: Request) -> Response: ...

    def failure(self, exc: BaseException) -> Failure | None: ...

    async def close(self) -> None: ...


class MockTransport:
    """Answers every request with `handler(request)`, for tests without a server.

    The handler may raise a network error of `requests` or `httpx` (or `OSError`) to stand for
    a failed connection; `failure` maps it as the real transports do. Sent requests are kept in
    `requests`.
    """

    def __init__(self, handler: Callable[[Request], Response], failure: FailureMap | None = None):
        self.handler = handler
        self.requests: list[Request] = []
        self._failure = failure or default_failure

    def send(self, request: Request) -> Response:
        self.requests.append(request)
        return self.handler(request)

    def failure(self, exc: BaseException) -> Failure | None:
        return self._failure(exc)

    def close(self) -> None:
        pass


class AsyncMockTransport:
    """`MockTransport` for `AsyncAutotaskClient`: the handler may be sync or a coroutine function."""

    def __init__(self, handler: Handler, failure: FailureMap | None = None):
        self.handler = handler
        self.requests: list[Request] = []
        self._failure = failure or default_failure

    async def send(self, request: Request) -> Response:
        self.requests.append(request)
        result = self.handler(request)
        if inspect.isawaitable(result):
            return await result
        return result

    def failure(self, exc: BaseException) -> Failure | None:
        return self._failure(exc)

    async def close(self) -> None:
        pass


def default_failure(exc: BaseException) -> Failure | None:
    """The real transports' mapping, plus a bare `OSError` (a connection that never opened)."""
    from ._client import RequestsTransport

    found = RequestsTransport.failure(exc)
    if found is None:
        try:
            from ._async_client import HTTPXTransport
        except ImportError:  # pragma: no cover - httpx is a core dependency
            pass
        else:
            found = HTTPXTransport.failure(exc)
    if found is None and isinstance(exc, OSError):
        found = Failure(exc, maybe_sent=not isinstance(exc, ConnectionRefusedError))
    return found
