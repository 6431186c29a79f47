"""Values as bytes: JSON (orjson), zlib-compressed above a size, so every backend stores the same."""

from __future__ import annotations

import zlib
from typing import Any

import orjson

__all__ = ["encode", "decode"]

_PLAIN, _ZLIB = b"j", b"z"


def encode(value: Any, compress_over: int) -> bytes:
    raw = orjson.dumps(value)
    if compress_over and len(raw) > compress_over:
        return _ZLIB + zlib.compress(raw, 1)
    return _PLAIN + raw


def decode(blob: bytes) -> Any:
    kind, body = blob[:1], blob[1:]
    if kind == _ZLIB:
        body = zlib.decompress(body)
    elif kind != _PLAIN:
        raise ValueError(f"not a cache value (marker {kind!r})")
    return orjson.loads(body)
