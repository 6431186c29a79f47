"""Exit codes of `autotask`, one per kind of failure, so scripts can tell them apart.

| code | meaning |
|---|---|
| 0 | success (also when `--limit` cut the result: stderr says so) |
| 1 | any other error (Autotask refused the content, a server error, ...) |
| 2 | usage or configuration: a bad option, a missing setting, an unknown entity or field |
| 3 | authentication: username, secret or integration code refused |
| 4 | not found: the record or route does not exist |
| 5 | permission: the API user's security level does not allow it |
| 6 | rate limit exhausted: the threshold or thread limit kept refusing |
| 7 | network: the API could not be reached and retries were used up |
| 8 | partial failure: some rows or items failed, the rest succeeded (see the summary) |
"""

from __future__ import annotations

from enum import IntEnum

from .. import errors

__all__ = ["ExitCode", "exit_code_for"]


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    AUTHENTICATION = 3
    NOT_FOUND = 4
    PERMISSION = 5
    RATE_LIMITED = 6
    NETWORK = 7
    PARTIAL = 8


_BY_TYPE: tuple[tuple[type[BaseException], ExitCode], ...] = (
    (errors.ConfigurationError, ExitCode.USAGE),
    (errors.AuthenticationError, ExitCode.AUTHENTICATION),
    (errors.ZoneError, ExitCode.AUTHENTICATION),
    (errors.NotFoundError, ExitCode.NOT_FOUND),
    (errors.PermissionDeniedError, ExitCode.PERMISSION),
    (errors.RateLimitedError, ExitCode.RATE_LIMITED),
    (errors.TransportError, ExitCode.NETWORK),
)


def exit_code_for(exc: BaseException) -> ExitCode:
    """The exit code for an error the SDK raised."""
    for kind, code in _BY_TYPE:
        if isinstance(exc, kind):
            return code
    return ExitCode.ERROR
