"""The callout's bytes and signature (reference section 11.4).

Autotask signs a .NET-JSON (HTML-safe escaped) serialization: `X-Hook-Signature: sha1=<base64
HMAC-SHA1(secretKey, body)>`. `dotnet_json` writes that form, `plain_json` the unescaped one
(for the switch that reproduces the raw-body mismatch integrators report).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
from collections.abc import Mapping
from typing import Any

# Characters .NET's default (HTML-safe) JSON encoder writes as \uXXXX inside strings.
_DOTNET_ESCAPED = frozenset("&<>'+`\"")
_SHORT_ESCAPES = {"\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _dotnet_string(text: str) -> str:
    out = ['"']
    for char in text:
        code = ord(char)
        if char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif char in _DOTNET_ESCAPED or code < 0x20 or 0x7F <= code <= 0xFFFF:
            out.append(f"\\u{code:04X}")
        elif code > 0xFFFF:  # astral plane: a UTF-16 surrogate pair, as .NET strings hold it
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04X}\\u{0xDC00 + (code & 0x3FF):04X}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def dotnet_json(value: Any) -> str:
    """Compact JSON as Autotask's .NET serializer writes it, the text the signature covers.

    Inside strings `& < > ' + ` "` and every non-ASCII character become `\\uXXXX` (upper-case
    hex), so the text is pure ASCII and identical to what a verifier rebuilds by escaping.
    """
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _dotnet_string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot serialize {value!r} in a webhook payload")
        return json.dumps(value)
    if isinstance(value, Mapping):
        items = (f"{_dotnet_string(str(k))}:{dotnet_json(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(dotnet_json(v) for v in value) + "]"
    raise TypeError(f"cannot serialize {type(value).__name__} in a webhook payload")


def plain_json(value: Any) -> str:
    """Compact JSON without the HTML-safe escaping: the bytes of the mismatch switch."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def sign(secret: str, body: bytes) -> str:
    """`X-Hook-Signature` value: `sha1=` + base64 of HMAC-SHA1 keyed with the secret."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha1).digest()
    return "sha1=" + base64.b64encode(digest).decode("ascii")
