"""Every error the SDK raises, in one tree.

```
AutotaskError
├── ConfigurationError            a setting or an argument is wrong; nothing was sent
│   ├── QueryError                a malformed filter (also a ValueError)
│   ├── UnknownEntityError        an entity name not in the catalog (also a KeyError)
│   └── UnsupportedOperationError the catalog forbids this verb on this entity
├── TransportError                the network failed and retries were used up
│   └── UnknownOutcomeError       a write was sent but its outcome is unknown
└── APIStatusError                Autotask answered with an error (carries request/response)
    ├── AuthenticationError       401: wrong username, secret or integration code
    ├── PermissionDeniedError     403, or 500 "does not have the adequate permissions"
    ├── NotFoundError             404, or "No matching records found"
    ├── ValidationError           400/405, or 500 with Autotask's business-rule message
    ├── RateLimitedError          429 or the thread-threshold error, after waiting failed
    ├── ServerError               5xx without a business-rule message
    └── ZoneError                 ZoneInformation could not tell the user's zone
```

Messages carry Autotask's own text and say what to do. Nothing here ever holds the secret:
`RequestInfo` keeps only the method, the URL and the entity.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AutotaskError",
    "ConfigurationError",
    "QueryError",
    "UnknownEntityError",
    "UnsupportedOperationError",
    "TransportError",
    "UnknownOutcomeError",
    "APIStatusError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ValidationError",
    "RateLimitedError",
    "ServerError",
    "ZoneError",
    "RequestInfo",
]


@dataclass(frozen=True)
class RequestInfo:
    """What was asked, without headers (so without credentials)."""

    method: str
    url: str
    entity: str | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.url}"


class AutotaskError(Exception):
    """Base of every error raised by sdk_core."""


class ConfigurationError(AutotaskError):
    """A setting or argument is missing or invalid; raised before any request is sent."""


class QueryError(ConfigurationError, ValueError):
    """A filter is malformed (unknown operator, missing value, bad nesting)."""


class UnknownEntityError(ConfigurationError, KeyError):
    """The entity name is not in the catalog; the message suggests the nearest name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class UnsupportedOperationError(ConfigurationError):
    """The catalog says the entity does not allow this verb (at the root or under a parent)."""


class TransportError(AutotaskError):
    """Connecting or reading failed and the retries allowed for this call were used up."""

    def __init__(self, message: str, request: RequestInfo | None = None):
        super().__init__(message)
        self.request = request


class UnknownOutcomeError(TransportError):
    """A create (or other non-idempotent write) was sent, then the connection failed.

    The write may or may not have happened, so it is not retried; check for the record
    (for example by a query on a field you set) before sending it again.
    """


class APIStatusError(AutotaskError):
    """Autotask answered with an error status; `messages` holds its own texts."""

    def __init__(
        self,
        message: str,
        *,
        request: RequestInfo | None = None,
        status_code: int | None = None,
        messages: tuple[str, ...] = (),
        body: str | None = None,
    ):
        super().__init__(message)
        self.request = request
        self.status_code = status_code
        self.messages = messages
        self.body = body


class AuthenticationError(APIStatusError):
    """401: the username, secret or integration code was refused (or the zone is wrong)."""


class PermissionDeniedError(APIStatusError):
    """The API user's security level does not allow this."""


class NotFoundError(APIStatusError):
    """The record or route does not exist."""


class ValidationError(APIStatusError):
    """Autotask rejected the request's content; the message is Autotask's own."""


class RateLimitedError(APIStatusError):
    """The hourly threshold or the thread limit kept refusing after the allowed waits."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        thread_limit: bool = False,
        request: RequestInfo | None = None,
        status_code: int | None = None,
        messages: tuple[str, ...] = (),
        body: str | None = None,
    ):
        super().__init__(message, request=request, status_code=status_code, messages=messages, body=body)
        self.retry_after = retry_after
        self.thread_limit = thread_limit


class ServerError(APIStatusError):
    """Autotask failed (5xx) without a business-rule message; reads are retried first."""


class ZoneError(APIStatusError):
    """ZoneInformation did not give a zone for this username."""
