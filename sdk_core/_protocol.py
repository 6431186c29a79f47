"""The Autotask protocol without I/O: building requests and reading responses.

Pure functions over two plain values, `Request` and `Response`. The sync and async clients
only move these over the network; everything Autotask-specific is decided here.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import orjson

from .errors import (
    APIStatusError,
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RequestInfo,
    ServerError,
    ValidationError,
    ZoneError,
)

__all__ = [
    "Credentials",
    "Request",
    "Response",
    "MAX_PAGE_SIZE",
    "DEFAULT_ZONE_LOOKUP_URL",
    "normalize_root",
    "zone_request",
    "read_zone",
    "query_request",
    "read_query",
    "count_request",
    "read_count",
    "get_request",
    "read_item",
    "write_request",
    "read_item_id",
    "delete_request",
    "threshold_request",
    "read_threshold",
    "metadata_request",
    "read_metadata",
    "error_from_response",
    "retry_after_seconds",
    "api_host",
]

MAX_PAGE_SIZE = 500
DEFAULT_ZONE_LOOKUP_URL = "https://webservices.autotask.net/ATServicesRest/"
_JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


@dataclass(frozen=True)
class Credentials:
    """The API user's identity; `repr` and `str` never show the secret."""

    username: str
    secret: str = field(repr=False)
    integration_code: str = field(repr=False)
    impersonation_resource_id: int | None = None

    def headers(self) -> dict[str, str]:
        out = {"ApiIntegrationCode": self.integration_code, "UserName": self.username, "Secret": self.secret}
        if self.impersonation_resource_id is not None:
            out["ImpersonationResourceId"] = str(self.impersonation_resource_id)
        return out


@dataclass(frozen=True)
class Request:
    """One HTTP request. `endpoint` is the thread-limit bucket; `headers` hold credentials."""

    method: str
    url: str
    headers: Mapping[str, str] = field(repr=False)
    content: bytes | None = None
    endpoint: str | None = None
    idempotent: bool = True
    authenticated: bool = True
    read: bool = False  # a GET, query or count: any 5xx that is not a business rule is transient

    @property
    def info(self) -> RequestInfo:
        return RequestInfo(self.method, self.shown_url, self.endpoint)

    @property
    def shown_url(self) -> str:
        """The URL fit for logs and errors: a `user:password@` of api_url masked."""
        return without_userinfo(self.url)


@dataclass(frozen=True)
class Response:
    status_code: int
    headers: Mapping[str, str]
    content: bytes

    def json(self) -> Any:
        return orjson.loads(self.content) if self.content else None


def without_userinfo(url: str) -> str:
    """`url` with any user name and password replaced by `****` (cheap when there is none)."""
    if "@" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return "****"
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="****@" + parts.netloc.rsplit("@", 1)[-1]))


def normalize_root(url: str) -> str:
    """A REST root always ends with `/` so that `V1.0/...` can be appended."""
    url = url.strip()
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"{without_userinfo(url)!r} is not an http(s) URL")
    return url if url.endswith("/") else url + "/"


def api_host(root: str) -> str:
    """Scheme, host and port: the part that names the tenant's zone."""
    parts = urlsplit(root)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"  # never the user:password


def _url(root: str, path: str) -> str:
    return f"{root}V1.0/{path.lstrip('/')}"


def _json(body: Any) -> bytes:
    return orjson.dumps(body)


# zone -------------------------------------------------------------------------------------


def zone_request(lookup_root: str, username: str) -> Request:
    return Request(
        "GET",
        _url(lookup_root, f"ZoneInformation?user={quote(username, safe='@')}"),
        {"Accept": "application/json"},
        endpoint="ZoneInformation",
        authenticated=False,
    )


def read_zone(request: Request, response: Response) -> str:
    """The REST root of the user's zone; an unknown user becomes a ZoneError."""
    if response.status_code != 200:
        err = error_from_response(request, response)
        if isinstance(err, (AuthenticationError, ZoneError)):
            raise err
        raise ZoneError(
            "Autotask could not find the zone of this username "
            f"({'; '.join(err.messages) or response.status_code}). "
            "Check AUTOTASK_USERNAME (the API user's login), or set api_url to your zone's REST root.",
            request=request.info,
            status_code=response.status_code,
            messages=err.messages,
        )
    body = response.json() or {}
    url = body.get("url") if isinstance(body, dict) else None
    if not url:
        raise ZoneError(
            "ZoneInformation answered without a url; set api_url explicitly.",
            request=request.info,
            status_code=response.status_code,
        )
    return normalize_root(url)


# queries ----------------------------------------------------------------------------------


def query_request(
    root: str,
    credentials: Credentials,
    entity: str,
    filter: list[dict[str, Any]],
    include_fields: list[str] | None = None,
    max_records: int = MAX_PAGE_SIZE,
) -> Request:
    """POST `{Entity}/query`; POST keeps long filters out of the URL (GET breaks near 2 KB)."""
    body: dict[str, Any] = {"filter": filter or [{"op": "exist", "field": "id"}]}
    if include_fields:
        body["includeFields"] = include_fields
    if max_records != MAX_PAGE_SIZE:
        body["maxRecords"] = max_records
    return Request(
        "POST",
        _url(root, f"{entity}/query"),
        {**credentials.headers(), **_JSON_HEADERS},
        _json(body),
        endpoint=entity,
        read=True,
    )


def read_query(response: Response) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    body = response.json()
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise ServerError(
            f"a query answered without an items list: {_snippet(response)}",
            status_code=response.status_code,
            body=_snippet(response),
        )
    return body["items"], body.get("pageDetails") or {}


def count_request(root: str, credentials: Credentials, entity: str, filter: list[dict[str, Any]]) -> Request:
    body = {"filter": filter or [{"op": "exist", "field": "id"}]}
    return Request(
        "POST",
        _url(root, f"{entity}/query/count"),
        {**credentials.headers(), **_JSON_HEADERS},
        _json(body),
        endpoint=entity,
        read=True,
    )


def read_count(response: Response) -> int:
    body = response.json()
    count = body.get("queryCount") if isinstance(body, dict) else None
    if not isinstance(count, int):
        raise ServerError(
            f"a count answered without queryCount: {_snippet(response)}",
            status_code=response.status_code,
            body=_snippet(response),
        )
    return count


def get_request(root: str, credentials: Credentials, entity: str, path: str) -> Request:
    return Request(
        "GET",
        _url(root, path),
        {**credentials.headers(), "Accept": "application/json"},
        endpoint=entity,
        read=True,
    )


def read_item(response: Response) -> dict[str, Any] | None:
    """`{"item": {...}}`; `{"item": null}` (and, in the flow, a 404) mean absent."""
    body = response.json()
    if not isinstance(body, dict) or "item" not in body:
        raise ServerError(
            f"a get answered without an item: {_snippet(response)}",
            status_code=response.status_code,
            body=_snippet(response),
        )
    item: dict[str, Any] | None = body["item"]
    return item


# writes -----------------------------------------------------------------------------------


def write_request(
    root: str, credentials: Credentials, entity: str, method: str, path: str, data: Mapping[str, Any]
) -> Request:
    """POST creates are not idempotent; PUT and PATCH carry the id and may be repeated."""
    return Request(
        method,
        _url(root, path),
        {**credentials.headers(), **_JSON_HEADERS},
        _json(dict(data)),
        endpoint=entity,
        idempotent=method != "POST",
    )


def delete_request(root: str, credentials: Credentials, entity: str, path: str) -> Request:
    return Request(
        "DELETE", _url(root, path), {**credentials.headers(), "Accept": "application/json"}, endpoint=entity
    )


def read_item_id(response: Response) -> int:
    body = response.json()
    item_id = body.get("itemId") if isinstance(body, dict) else None
    if isinstance(item_id, str) and item_id.lstrip("-").isdigit():
        item_id = int(item_id)
    if not isinstance(item_id, int):
        raise ServerError(
            f"a write answered without itemId: {_snippet(response)}",
            status_code=response.status_code,
            body=_snippet(response),
        )
    return item_id


# service endpoints ------------------------------------------------------------------------


def threshold_request(root: str, credentials: Credentials) -> Request:
    return get_request(root, credentials, "ThresholdInformation", "ThresholdInformation")


def read_threshold(response: Response) -> dict[str, int]:
    body = response.json() or {}
    try:
        return {
            "limit": int(body["externalRequestThreshold"]),
            "timeframe_minutes": int(body["requestThresholdTimeframe"]),
            "used": int(body["currentTimeframeRequestCount"]),
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise ServerError(
            f"ThresholdInformation answered an unexpected body: {_snippet(response)}",
            status_code=response.status_code,
        ) from exc


_METADATA = {
    "info": ("entityInformation", "info"),
    "fields": ("entityInformation/fields", "fields"),
    "udfs": ("entityInformation/userDefinedFields", "fields"),
}


def metadata_request(root: str, credentials: Credentials, entity: str, kind: str) -> Request:
    return get_request(root, credentials, entity, f"{entity}/{_METADATA[kind][0]}")


def read_metadata(response: Response, kind: str) -> Any:
    body = response.json()
    key = _METADATA[kind][1]
    if not isinstance(body, dict) or key not in body:
        raise ServerError(
            f"entity information answered without {key!r}: {_snippet(response)}",
            status_code=response.status_code,
        )
    return body[key] if body[key] is not None else ([] if kind != "info" else {})


# errors -----------------------------------------------------------------------------------

_THREAD_LIMIT = re.compile(r"thread threshold|itgenatr005", re.I)
_HOURLY_LIMIT = re.compile(r"request threshold|rate limit|threshold.*exceeded|exceeded.*threshold", re.I)
_PERMISSION = re.compile(r"adequate permissions|not have (the )?permission|not authorized", re.I)
_NOT_FOUND = re.compile(r"no matching records found|was not found|does not exist\.?$", re.I)
_INTEGRATION_CODE = re.compile(r"integration ?code is invalid", re.I)
_ZONE = re.compile(r"zone information could not be determined", re.I)
# Autotask's business-rule rejections (HTTP 500): repeating the request cannot help.
_BUSINESS_RULE = re.compile(
    r"unable to find \S+ in the|reference value|does not exist or is invalid|missing required field"
    r"|is a required field|picklist value|invalid query syntax|only query by one user-defined field"
    r"|maxrecords|includefields|does not reference an existing entity|already exists",
    re.I,
)
# Transient server faults worth a retry even on a write that may be repeated (PUT, PATCH, DELETE).
_SERVER = re.compile(
    r"internal (server )?error|unexpected error|timeout|timed out|try again|deadlock|an error has occurred"
    r"|object reference not set|rerun the transaction",
    re.I,
)


def messages_of(response: Response) -> tuple[str, ...]:
    """Autotask's texts from `{"errors": [...]}` or ASP.NET's `{"Message": ...}`."""
    try:
        body = response.json()
    except orjson.JSONDecodeError:
        text = response.content.decode("utf-8", "replace").strip()
        return (text[:500],) if text else ()
    out: list[str] = []
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list):
            for e in errors:
                if isinstance(e, dict):
                    e = e.get("message") or e.get("Message") or orjson.dumps(e).decode()
                out.append(str(e))
        elif isinstance(errors, str):
            out.append(errors)
        for key in ("Message", "message", "error", "ExceptionMessage"):
            if isinstance(body.get(key), str):
                out.append(body[key])
    elif isinstance(body, str):
        out.append(body)
    return tuple(out)


def retry_after_seconds(response: Response, now: float | None = None) -> float | None:
    value = _header(response, "Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        if parsed is None:
            return None
        return max(0.0, parsed.timestamp() - (now if now is not None else time.time()))


def error_from_response(request: Request, response: Response) -> APIStatusError:
    """The most specific error for an error response (the caller decides to retry or raise)."""
    status = response.status_code
    messages = messages_of(response)
    text = "; ".join(messages) or f"HTTP {status}"
    where = f"{request.method} {request.shown_url}"
    kwargs: dict[str, Any] = dict(
        request=request.info, status_code=status, messages=messages, body=_snippet(response)
    )
    if _THREAD_LIMIT.search(text):
        return RateLimitedError(
            f"Autotask's thread limit for {request.endpoint} was exceeded: {text}",
            retry_after=retry_after_seconds(response),
            thread_limit=True,
            **kwargs,
        )
    if status == 429 or (status >= 500 and _HOURLY_LIMIT.search(text)):
        return RateLimitedError(
            f"Autotask's request threshold was exceeded: {text}",
            retry_after=retry_after_seconds(response),
            **kwargs,
        )
    if _INTEGRATION_CODE.search(text):
        return AuthenticationError(
            f"Autotask does not accept the integration code ({text}) for {where}. Check "
            "AUTOTASK_INTEGRATION_CODE (the API tracking identifier of the API user, under Admin > "
            "Resources > API user > Security) and that it was copied without spaces.",
            **kwargs,
        )
    if _ZONE.search(text):
        return ZoneError(
            f"Autotask could not determine the zone ({text}) for {where}. Check AUTOTASK_USERNAME "
            "(the API user's login), or set api_url to your zone's REST root.",
            **kwargs,
        )
    if status == 401:
        return AuthenticationError(
            f"Autotask refused the credentials ({text}) for {where}. Check the username, secret "
            "and integration code, and that api_url is your user's zone.",
            **kwargs,
        )
    if status == 403 or _PERMISSION.search(text):
        return PermissionDeniedError(
            f"The API user may not do this: {text} ({where}). Give its security level access.", **kwargs
        )
    if status == 404 or (status >= 500 and _NOT_FOUND.search(text) and request.method == "DELETE"):
        return NotFoundError(f"Not found: {text} ({where})", **kwargs)
    if status in (400, 405, 409, 413, 415, 422):
        return ValidationError(f"Autotask rejected the request: {text} ({where})", **kwargs)
    if status >= 500 and _is_json(response) and messages and _is_business_rule(request, text):
        return ValidationError(f"Autotask rejected the request: {text} ({where})", **kwargs)
    if status >= 500:
        return ServerError(f"Autotask failed with HTTP {status}: {text} ({where})", **kwargs)
    return APIStatusError(f"Unexpected HTTP {status}: {text} ({where})", **kwargs)


def _is_business_rule(request: Request, text: str) -> bool:
    """A 500 that states a rule. Reads: only the known texts (anything else may pass, e.g. a
    deadlock). Writes: any message except known server faults (their rules are too many to list)."""
    if _BUSINESS_RULE.search(text):
        return True
    return not request.read and not _SERVER.search(text)


def _is_json(response: Response) -> bool:
    try:
        response.json()
    except orjson.JSONDecodeError:
        return False
    return True


def _header(response: Response, name: str) -> str | None:
    low = name.lower()
    for key, value in response.headers.items():
        if key.lower() == low:
            return value
    return None


def _snippet(response: Response) -> str:
    return response.content[:500].decode("utf-8", "replace")
