"""Typed Arrow arrays from the JSON values of one frame column, and picklist labels beside them.

The frame's hot path: every value of every row passes through here once. Conversions run in
pyarrow's C++ a column at a time, not a value at a time in Python. Whatever the fast path
refuses (values that break their metadata's type, timestamps in unusual forms) takes a slower,
exact path, so a value's result never depends on which path its chunk took.
"""

from __future__ import annotations

import logging
from typing import Any

from ._datetime import parse_datetime

__all__ = ["target_type", "typed_arrays", "typed_array", "timestamps", "label_array"]

log = logging.getLogger("sdk_core.frames")

_ERRORS: tuple[type[BaseException], ...] = (TypeError, ValueError, OverflowError)  # Arrow's too
_ZONE = r"(Z|[+-]\d{2}:?\d{2})$"  # the zone suffixes parse_datetime accepts
_JOIN = "\x1f"  # between a parent's value and a child's in a dependent picklist's key


def _arrow() -> tuple[Any, Any]:
    import pyarrow as pa
    import pyarrow.compute as pc

    return pa, pc


def target_type(kind: str) -> Any:
    """The Arrow type of a column kind; None for `object` (kept as Python values)."""
    pa, _ = _arrow()
    return {
        "int": pa.int64(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "datetime": pa.timestamp("us", "UTC"),
        "string": pa.string(),
    }.get(kind)


def typed_arrays(block: Any, kind: str, *, udf: bool, names: list[str]) -> list[Any]:
    """Columns of one kind (the rows of `block`, an object ndarray) converted at once when all
    take the fast path (one call instead of one a column), else one by one."""
    if len(names) > 1 and kind != "object":
        try:
            whole = _fast(block.ravel(), kind, udf)
        except _ERRORS:
            whole = None
        if whole is not None:
            size = block.shape[1]
            return [whole.slice(i * size, size) for i in range(len(names))]
    return [typed_array(block[i], kind, udf=udf, name=name) for i, name in enumerate(names)]


def typed_array(values: Any, kind: str, *, udf: bool, name: str) -> Any:
    """One chunk of one column (an object ndarray) as an Arrow array of its kind's type, or the
    object ndarray itself when the values break that type (kept as sent, with a warning)."""
    if kind == "object":
        return values
    try:
        found = _fast(values, kind, udf)
    except _ERRORS:
        found = None
    return found if found is not None else _exact(values, kind, udf=udf, name=name)


def _fast(values: Any, kind: str, udf: bool) -> Any:
    """The C++ conversion; None (or an Arrow error) when the values need the exact path."""
    pa, pc = _arrow()
    if kind == "datetime":  # all zone-less (as Autotask sends them), or all with a zone
        text = pa.array(values, pa.string())
        try:
            return pc.cast(text, pa.timestamp("us")).view(target_type(kind))
        except _ERRORS:
            return pc.cast(text, target_type(kind))
    if udf and kind in ("int", "float"):  # UDF numbers arrive as text
        return pc.cast(pa.array(values, pa.string()), target_type(kind))
    if kind == "int":  # inferred: a typed conversion would silently truncate 1.5 to 1
        found = pa.array(values)
        if pa.types.is_null(found.type):
            return found.cast(pa.int64())
        return found if found.type == pa.int64() else None
    return pa.array(values, target_type(kind))  # floats, booleans, text: mismatches raise


def _exact(values: Any, kind: str, *, udf: bool, name: str) -> Any:
    """pandas' value-tolerant conversions (e.g. integers sent as "12"); what still does not fit
    stays as sent."""
    import numpy as np
    import pandas as pd

    pa, _ = _arrow()
    try:
        if kind == "string":
            return pa.array([v if v is None or isinstance(v, str) else str(v) for v in values], pa.string())
        if kind == "datetime":
            return timestamps(values, name)
        if udf and kind in ("int", "float"):
            numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
            return pa.array(numbers.astype("Int64" if kind == "int" else "float64").array)
        dtype = {"int": "Int64", "float": "float64", "bool": "boolean"}[kind]
        return pa.array(pd.array(values, dtype=dtype), target_type(kind), from_pandas=True)
    except _ERRORS as exc:  # metadata is not always truthful: keep the values as sent
        log.warning("column %s is not %s as its metadata says (%s); kept as sent", name, kind, exc)
        return np.asarray(values, dtype=object)


def timestamps(values: Any, name: str) -> Any:
    """Timestamp text as `timestamp[us, UTC]`, read as `parse_datetime` reads it: zone-less means
    UTC, fractions beyond microseconds are truncated; forms Arrow cannot cast go value by value."""
    pa, pc = _arrow()
    utc, naive = pa.timestamp("us", "UTC"), pa.timestamp("us")
    try:
        text = pc.utf8_trim_whitespace(pa.array(values, pa.string()))
    except _ERRORS:  # not text at all
        return pa.array(_each_timestamp(values, name), utc)
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    text = pc.replace_substring_regex(text, r"(\.\d{6})\d+", r"\1")
    zoned = pc.fill_null(pc.match_substring_regex(text, _ZONE), False)
    try:  # each form cast on its own, then put back in place
        found = pc.replace_with_mask(pa.nulls(len(text), utc), zoned, pc.cast(text.filter(zoned), utc))
        plain = pc.invert(zoned)
        return pc.replace_with_mask(found, plain, pc.cast(text.filter(plain), naive).view(utc))
    except _ERRORS:
        return pa.array(_each_timestamp(values, name), utc)


def _each_timestamp(values: Any, name: str) -> list[Any]:
    found: list[Any] = []
    for value in values:
        try:
            found.append(parse_datetime(value))
        except (TypeError, ValueError, AttributeError):
            log.warning("column %s: %r is not a timestamp; left empty", name, value)
            found.append(None)
    return found


def label_array(
    by_value: dict[Any, str], by_pair: dict[tuple[str, str], str] | None, values: Any, parents: Any
) -> Any:
    """The labels of a picklist column (an Arrow chunked array of its values) as Arrow text.

    With `parents` (the column a dependent picklist hangs on) a value is labelled through the
    pair (parent's value, value), else by the value alone. None when the types are not ones
    the vectorised lookup handles the way a dict lookup would (the caller then looks up each).
    """
    pa, pc = _arrow()
    kind = values.type
    if kind not in (pa.int64(), pa.string()):
        return None
    wanted = int if kind == pa.int64() else str
    keys = [k for k in by_value if type(k) is wanted]
    found = pc.take(
        pa.array([by_value[k] for k in keys], pa.string()), pc.index_in(values, pa.array(keys, kind))
    )
    if parents is None or not by_pair:
        return found
    if parents.type not in (pa.int64(), pa.string()):
        return None
    pair_keys = list(by_pair)
    joined = pc.binary_join_element_wise(
        pc.fill_null(pc.cast(parents, pa.string()), ""), pc.cast(values, pa.string()), _JOIN
    )
    at = pc.index_in(joined, pa.array([f"{p}{_JOIN}{v}" for p, v in pair_keys], pa.string()))
    paired = pc.take(pa.array([by_pair[k] for k in pair_keys], pa.string()), at)
    return pc.if_else(pc.is_valid(at), paired, found)
