"""sdk_core: the Autotask PSA REST client (sync and async), its filter builder and rate governor.

```python
from sdk_core import AutotaskClient, Q
with AutotaskClient.from_env() as client:
    for ticket in client.tickets.query(Q("status") == 1, fields=["title"]):
        ...
```

Names are loaded on first use, so `from sdk_core.catalog import ...` (the sandbox's only
import) does not pull in the client, its HTTP libraries or the governor.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_ERRORS = (
    "AutotaskError",
    "AuthenticationError",
    "ConfigurationError",
    "NotFoundError",
    "PermissionDeniedError",
    "QueryError",
    "RateLimitedError",
    "ServerError",
    "TransportError",
    "UnknownEntityError",
    "UnknownOutcomeError",
    "UnsupportedOperationError",
    "ValidationError",
    "ZoneError",
)
_WHERE: dict[str, str] = {
    "AutotaskClient": "._client",
    "Entity": "._client",
    "AsyncAutotaskClient": "._async_client",
    "AsyncEntity": "._async_client",
    "EntityInfo": ".catalog",
    "load_catalog": ".catalog",
    "Governor": "._governor",
    "Settings": "._config",
    "Transport": "._transport",
    "AsyncTransport": "._transport",
    "MockTransport": "._transport",
    "AsyncMockTransport": "._transport",
    "Request": "._protocol",
    "Response": "._protocol",
    "Q": "._query",
    "compile_filter": "._query",
    "parse_datetime": "._datetime",
    "format_datetime": "._datetime",
    "CacheConfig": ".cache",
    "HealthMonitor": ".health",
    "to_dataframe": ".frames",
    **{name: ".errors" for name in _ERRORS},
}

__all__ = [
    "AutotaskClient",
    "AsyncAutotaskClient",
    "Entity",
    "AsyncEntity",
    "EntityInfo",
    "Governor",
    "Q",
    "compile_filter",
    "parse_datetime",
    "format_datetime",
    "load_catalog",
    "Settings",
    "Transport",
    "AsyncTransport",
    "MockTransport",
    "AsyncMockTransport",
    "Request",
    "Response",
    "CacheConfig",
    "HealthMonitor",
    "to_dataframe",
    "AutotaskError",
    "AuthenticationError",
    "ConfigurationError",
    "NotFoundError",
    "PermissionDeniedError",
    "QueryError",
    "RateLimitedError",
    "ServerError",
    "TransportError",
    "UnknownEntityError",
    "UnknownOutcomeError",
    "UnsupportedOperationError",
    "ValidationError",
    "ZoneError",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'sdk_core' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    """Exactly `__all__` and the module's dunders: no `Any`, `annotations` or helpers."""
    return sorted({*__all__, *(n for n in globals() if n.startswith("__") and n.endswith("__"))})


if TYPE_CHECKING:
    from ._async_client import AsyncAutotaskClient, AsyncEntity
    from ._client import AutotaskClient, Entity
    from ._config import Settings
    from ._datetime import format_datetime, parse_datetime
    from ._governor import Governor
    from ._protocol import Request, Response
    from ._query import Q, compile_filter
    from ._transport import AsyncMockTransport, AsyncTransport, MockTransport, Transport
    from .cache import CacheConfig
    from .catalog import EntityInfo, load_catalog
    from .errors import (
        AuthenticationError,
        AutotaskError,
        ConfigurationError,
        NotFoundError,
        PermissionDeniedError,
        QueryError,
        RateLimitedError,
        ServerError,
        TransportError,
        UnknownEntityError,
        UnknownOutcomeError,
        UnsupportedOperationError,
        ValidationError,
        ZoneError,
    )
    from .frames import to_dataframe
    from .health import HealthMonitor
