"""Values a format cannot hold: find them and refuse the run naming stream, record and field.

Writers take the fast path (orjson, Arrow's converters, the csv module) and come
here only when it fails, so valid records pay nothing for these checks.
"""

from __future__ import annotations

import json
import re
import typing as t

import orjson

from target_adapters.files.errors import RefusedInput

# Python strings from JSON hold a lone surrogate as one code point; paired ones arrive combined.
SURROGATE = re.compile("[\ud800-\udfff]")
_SHOWN = 40


def json_text(value: t.Any) -> str:
    """JSON text of an object or array; the stdlib takes what orjson refuses.

    orjson refuses integers beyond 64 bits, nesting deeper than 254 levels and lone
    surrogates; the stdlib writes the first two exactly and leaves a surrogate in
    the text for the format to accept (JSON Lines escapes it) or refuse.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def surrogate_at(value: t.Any, path: str) -> str | None:
    """The path (``field.key[2]``) of the first string or key holding a lone surrogate."""
    if isinstance(value, str):
        return path if SURROGATE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}"
            if isinstance(key, str) and SURROGATE.search(key):
                return inner
            found = surrogate_at(item, inner)
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = surrogate_at(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def first_surrogate(record: dict, fields: t.Iterable[str] | None = None) -> str | None:
    """The first field (of ``fields``, or all) whose value or name holds a lone surrogate."""
    for name in record if fields is None else fields:
        if SURROGATE.search(name) and name in record:
            return name
        found = surrogate_at(record.get(name), name)
        if found is not None:
            return found
    return None


def shown(value: t.Any) -> str:
    """A short, printable excerpt of a value (repr escapes surrogates and control characters)."""
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def refused(stream: str, number: int, field: str, problem: str, advice: str) -> RefusedInput:
    """The one-line refusal: where, what, what to do, and that nothing was published."""
    msg = (
        f"Stream {stream!r}, record {number}, field {field!r}: {problem}. {advice} "
        "Nothing of this run was published; the previous files are kept."
    )
    return RefusedInput(msg)


SURROGATE_ADVICE = (
    "It usually comes from text cut in the middle of a character pair: fix the source "
    "value, or use format jsonl, which keeps it as a \\uXXXX escape."
)


def surrogate_problem(fmt: str) -> str:
    """What is wrong with a lone surrogate, for a format that stores UTF-8 text."""
    return f"the text holds a lone UTF-16 surrogate (U+D800..U+DFFF), which {fmt} cannot store"


def surrogate_refused(stream: str, number: int, field: str, fmt: str) -> RefusedInput:
    """A lone surrogate where the format stores UTF-8 text."""
    return refused(stream, number, field, surrogate_problem(fmt), SURROGATE_ADVICE)
