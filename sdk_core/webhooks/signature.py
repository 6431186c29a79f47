"""`X-Hook-Signature` verification (reference 11.4).

Autotask signs `sha1=<base64 HMAC-SHA1(secretKey, body)>`, but over a .NET (HTML-safe) escaped
serialization that differs from the bytes on the wire when string values hold `& < > ' + ` "`
or non-ASCII characters. So a body is accepted when the signature matches the raw bytes or
that escaped form; both comparisons are constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable
from typing import Any

__all__ = ["sign", "escaped_form", "verify"]

_HTML_SAFE = frozenset("&<>'+`\"")
_SHORT = {"\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def sign(secret: str, body: bytes) -> str:
    """The header value Autotask would send for `body`."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha1).digest()
    return "sha1=" + base64.b64encode(digest).decode("ascii")


def _string(text: str) -> str:
    out = ['"']
    for char in text:
        code = ord(char)
        if char in _SHORT:
            out.append(_SHORT[char])
        elif char in _HTML_SAFE or code < 0x20 or 0x7F <= code <= 0xFFFF:
            out.append(f"\\u{code:04X}")
        elif code > 0xFFFF:  # a UTF-16 surrogate pair, as .NET strings hold it
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04X}\\u{0xDC00 + (code & 0x3FF):04X}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _dump(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{_string(str(k))}:{_dump(v)}" for k, v in value.items()) + "}"
    return "[" + ",".join(_dump(v) for v in value) + "]"


def escaped_form(parsed: Any) -> bytes:
    """Compact JSON with .NET's HTML-safe escaping, key order kept: what Autotask signs."""
    return _dump(parsed).encode("ascii")


def _digest(header: str) -> bytes | None:
    scheme, sep, value = header.strip().partition("=")
    if not sep or scheme.strip().lower() != "sha1":
        return None
    try:
        return base64.b64decode(value.strip(), validate=True)
    except ValueError:
        return None


def _matches(secrets: list[bytes], form: bytes, wanted: bytes) -> bool:
    ok = False
    for key in secrets:  # no early exit: the time taken says nothing about which key matched
        ok |= hmac.compare_digest(hmac.new(key, form, hashlib.sha1).digest(), wanted)
    return ok


def verify(secrets: Iterable[str], body: bytes, header: str | None, parsed: Any = None) -> bool:
    """Whether `header` signs `body` (raw, or else its escaped form) with one of `secrets`.

    `parsed` is the decoded JSON when the caller already has it (spares a second parse).
    """
    if not header:
        return False
    wanted = _digest(header)
    if wanted is None:
        return False
    keys = [s.encode("utf-8") for s in secrets]
    if _matches(keys, body, wanted):
        return True
    try:
        escaped = escaped_form(parsed if parsed is not None else json.loads(body))
    except (ValueError, TypeError, RecursionError):
        return False
    return escaped != body and _matches(keys, escaped, wanted)
