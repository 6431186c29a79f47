"""sdk_core: the Autotask PSA REST client (sync and async), its filter builder and rate governor.

```python
from sdk_core import AutotaskClient, Q
with AutotaskClient.from_env() as client:
    for ticket in client.tickets.query(Q("status") == 1, fields=["title"]):
        ...
```
"""

from ._async_client import AsyncAutotaskClient, AsyncEntity
from ._client import AutotaskClient, Entity
from ._datetime import format_datetime, parse_datetime
from ._governor import Governor
from ._query import Q, compile_filter
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
