"""Autotask rows as a pandas DataFrame: typed columns, picklist labels beside values, UDF columns.

Column types come from live field metadata (`entityInformation/fields`, cached): integers as
nullable ``Int64``, doubles as ``float64``, booleans as nullable ``boolean``, timestamps as
aware UTC datetimes, text as ``string``. A picklist column ``status`` gets ``status_label``
beside it (dependent picklists such as ``subIssueType`` are labelled through their parent's
value). User-defined fields become columns of their own, typed by their definitions.

The frame is built a chunk at a time while a reader thread fetches the next pages: the JSON
of at most ``chunk_rows`` rows plus the pages read ahead is held at once, never the whole
result. pandas is imported only here, when first used.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._datetime import parse_datetime
from .errors import ConfigurationError, QueryError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["to_dataframe", "entity_frame", "entity_frame_async", "FramePlan"]

log = logging.getLogger("sdk_core.frames")

CHUNK_ROWS = 1000  # small enough that building one never holds the GIL long from the page reader
READ_AHEAD_PAGES = 8  # pages read while chunks are built
_DATETIME = "datetime64[us, UTC]"  # one resolution for every chunk, whatever a chunk's values infer
UDF_MODES = ("columns", "list", "none")
_KINDS = {
    "integer": "int",
    "long": "int",
    "short": "int",
    "byte": "int",
    "double": "float",
    "decimal": "float",
    "float": "float",
    "boolean": "bool",
    "datetime": "datetime",
    "date": "datetime",
}


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise ImportError("to_dataframe needs pandas: pip install 'autotask-liberator[pandas]'") from None
    return pandas


@dataclass
class _Column:
    name: str  # the DataFrame column
    key: str  # the row key (or the UDF's name)
    kind: str  # int, float, bool, datetime, string, object
    udf: bool = False
    labels: dict[Any, str] | None = None
    pair_labels: dict[tuple[str, str], str] | None = None
    parent: str | None = None  # row key of the field a dependent picklist hangs on


def _picklist(meta: dict[str, Any]) -> tuple[dict[Any, str], dict[tuple[str, str], str]] | None:
    values = meta.get("picklistValues") if meta.get("isPickList") else None
    if not values:
        return None
    by_value: dict[Any, str] = {}
    by_pair: dict[tuple[str, str], str] = {}
    for item in values:
        raw, label = str(item.get("value")), item.get("label")
        by_value.setdefault(raw, label)
        if raw.lstrip("-").isdigit():
            by_value.setdefault(int(raw), label)
        by_pair[(str(item.get("parentValue") or ""), raw)] = label
    return by_value, by_pair


@dataclass
class FramePlan:
    """Which columns a frame has and how each is typed; `build(rows)` makes one chunk."""

    columns: list[_Column]
    labels: bool = True
    udfs: str = "columns"
    _has_udf_columns: bool = field(init=False, default=False)
    _text: set[str] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self._has_udf_columns = any(c.udf for c in self.columns)
        self._text = {c.name for c in self.columns if c.kind == "string"}
        self._text |= {f"{c.name}_label" for c in self.columns if c.labels is not None}

    @classmethod
    def from_metadata(
        cls,
        info: Any,
        fields_meta: list[dict[str, Any]],
        udfs_meta: list[dict[str, Any]],
        wanted: list[str] | None,
        *,
        labels: bool = True,
        udfs: str = "columns",
    ) -> FramePlan:
        """Columns from live metadata; `wanted` (names, any case) narrows them to those + id."""
        keys: dict[str, str] = {}
        for meta in fields_meta:
            name = str(meta.get("name", ""))
            known = info.field(name)
            keys[name.lower()] = known.name if known is not None else name[:1].lower() + name[1:]
        udf_by_lower = {str(u.get("name", "")).lower(): u for u in udfs_meta}
        want = None if wanted is None else {"id", *(w.lower() for w in wanted)}
        columns: list[_Column] = []
        parents: dict[str, str] = {}
        for meta in fields_meta:
            low = str(meta.get("name", "")).lower()
            if want is not None and low not in want:
                continue
            key = keys[low]
            column = _Column(key, key, _KINDS.get(str(meta.get("dataType", "")).lower(), "string"))
            found = _picklist(meta)
            if found:
                column.labels, column.pair_labels = found
                parent = str(meta.get("picklistParentValueField") or "").lower()
                if parent:
                    parents[key] = keys.get(parent, parent)
            columns.append(column)
        for column in columns:
            column.parent = parents.get(column.key)
        if udfs == "columns":
            taken = {c.name.lower() for c in columns}
            for low, meta in udf_by_lower.items():
                if want is not None and low not in want:
                    continue
                name = str(meta["name"])
                col = _Column(
                    f"udf_{name}" if low in taken else name,
                    name,
                    _KINDS.get(str(meta.get("type", "")).lower(), "string"),
                    udf=True,
                )
                found = _picklist(meta)
                if found:
                    col.kind = "string"  # a picklist UDF holds the value's text; its label sits beside it
                    col.labels, col.pair_labels = found
                columns.append(col)
        elif udfs == "list" and (want is None or "userdefinedfields" in want):
            columns.append(_Column("userDefinedFields", "userDefinedFields", "object"))
        return cls(columns, labels, udfs)

    def build(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        """One chunk: typed arrays by column name (text stays object until `assemble`)."""
        pd = _pandas()
        import numpy as np

        fields = [c for c in self.columns if not c.udf]
        matrix = _pivot(pd, np, rows, [c.key for c in fields])
        columns: dict[str, Any] = {c.name: matrix[:, i] for i, c in enumerate(fields)}
        if self._has_udf_columns:
            columns.update(_udf_columns(pd, np, rows, [c for c in self.columns if c.udf]))
        labels: dict[str, Any] = {}
        if self.labels:  # before converting: conversion fills missing values in place
            keyed = {c.key: columns[c.name] for c in fields}
            for col in self.columns:
                if col.labels is not None:
                    parents = keyed.get(col.parent) if col.parent else None
                    labels[col.name] = np.array(self._labels(col, columns[col.name], parents), dtype=object)
        data: dict[str, Any] = {}
        for col in self.columns:
            data[col.name] = _convert(pd, np, columns[col.name], col.kind, udf=col.udf, name=col.name)
            if col.name in labels:
                data[f"{col.name}_label"] = labels[col.name]
        return data

    def assemble(self, chunks: list[dict[str, Any]]) -> pd.DataFrame:
        """The frame: each column's chunks joined once, text typed as `string` once."""
        pd = _pandas()
        import numpy as np

        if not chunks:
            chunks = [self.build([])]
        text = pd.StringDtype()
        data: dict[str, Any] = {}
        for name in chunks[0]:
            parts = [c[name] for c in chunks]
            first = parts[0]
            if isinstance(first, np.ndarray):
                joined = np.concatenate(parts) if len(parts) > 1 else first
                data[name] = (
                    pd.array(joined, dtype=text) if joined.dtype == object and name in self._text else joined
                )
            else:
                data[name] = _join_extension(pd, parts)
        return pd.DataFrame(data, copy=False)

    @staticmethod
    def _labels(col: _Column, values: Any, parents: Any) -> list[str | None]:
        by_value = col.labels or {}
        if parents is None or not col.pair_labels:
            return list(map(by_value.get, values))
        pairs = col.pair_labels
        return [
            None if v is None else pairs.get((str(p if p is not None else ""), str(v)), by_value.get(v))
            for v, p in zip(values, parents)
        ]


def _udf_columns(pd: Any, np: Any, rows: list[dict[str, Any]], columns: list[_Column]) -> dict[str, Any]:
    """UDF values by name. Fast when every row lists the same UDFs in the same order (Autotask
    does); otherwise row by row."""
    lists = [r.get("userDefinedFields") or () for r in rows]
    width = len(lists[0]) if lists else 0
    if width and all(len(x) == width for x in lists):
        flat = _pivot(pd, np, [u for x in lists for u in x], ["name", "value"]).reshape(len(lists), width, 2)
        names = flat[0, :, 0]
        if (flat[:, :, 0] == names).all():
            where = {name: i for i, name in enumerate(names)}
            empty = np.full(len(lists), None, dtype=object)
            return {c.name: flat[:, where[c.key], 1] if c.key in where else empty.copy() for c in columns}
    by_row = [{u.get("name"): u.get("value") for u in x} for x in lists]
    return {c.name: np.array([r.get(c.key) for r in by_row], dtype=object) for c in columns}


def _pivot(pd: Any, np: Any, rows: list[dict[str, Any]], keys: list[str]) -> Any:
    """Rows of dicts to a 2-D object array, one column per key (the costliest step: in C when we can)."""
    if not rows:
        return np.empty((0, len(keys)), dtype=object)
    to_array = getattr(getattr(pd, "_libs", None), "lib", None)
    to_array = getattr(to_array, "dicts_to_array", None)  # pandas' own, used by DataFrame(list of dicts)
    if to_array is not None:
        try:
            return to_array(rows, keys)
        except Exception:  # a pandas whose private helper changed: the portable way below
            pass
    matrix = np.empty((len(rows), len(keys)), dtype=object)
    for i, key in enumerate(keys):
        matrix[:, i] = [r.get(key) for r in rows]
    return matrix


def _convert(pd: Any, np: Any, values: Any, kind: str, *, udf: bool, name: str) -> Any:
    """One column from an object array to its type; values that break the type stay as sent."""
    if kind == "object":
        return values
    if kind == "datetime":
        return _datetimes(pd, np, values, name)
    if udf and kind in ("int", "float"):  # UDF values arrive as text
        numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
        return numbers.astype("Int64" if kind == "int" else "float64").array
    inferred = pd.api.types.infer_dtype(values, skipna=True)
    missing = np.equal(values, None)
    try:
        if kind == "int" and inferred in ("integer", "empty"):
            data = values  # a column of this chunk's own matrix: filled in place
            data[missing] = 0
            return pd.arrays.IntegerArray(data.astype(np.int64), missing)
        if kind == "float" and inferred in ("integer", "floating", "mixed-integer-float", "empty"):
            data = values
            data[missing] = np.nan
            return data.astype(np.float64)
        if kind == "bool" and inferred in ("boolean", "empty"):
            data = values
            data[missing] = False
            return pd.arrays.BooleanArray(data.astype(bool), missing)
        if kind == "string":  # typed once per column in `finish`: per chunk, the fixed cost dominates
            if inferred not in ("string", "empty"):
                values = np.array(
                    [v if v is None or isinstance(v, str) else str(v) for v in values], dtype=object
                )
            return values
        dtype = {"int": "Int64", "float": "float64", "bool": "boolean"}[kind]
        return pd.array(values, dtype=dtype)  # e.g. integers sent as "12": pandas decides
    except (
        TypeError,
        ValueError,
        OverflowError,
    ) as exc:  # metadata is not always truthful: keep the values as sent
        log.warning("column %s is not %s as its metadata says (%s); kept as sent", name, kind, exc)
        values[missing] = None
        return values


def _datetimes(pd: Any, np: Any, values: Any, name: str) -> Any:
    import warnings

    try:  # zone-less ISO text (what Autotask sends) parses in numpy's C code
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            parsed = values.astype("datetime64[us]")
        return pd.array(parsed, dtype=pd.DatetimeTZDtype("us", "UTC"))
    except (TypeError, ValueError, Warning):
        pass
    series = pd.Series(values, dtype=object)
    try:
        return pd.to_datetime(series, format="ISO8601", utc=True).astype(_DATETIME).array
    except (TypeError, ValueError):
        found = []
        for value in values:
            try:
                found.append(parse_datetime(value) if value is not None else None)
            except ValueError:
                log.warning("column %s: %r is not a timestamp; left empty", name, value)
                found.append(None)
        return pd.to_datetime(pd.Series(found, dtype=object), utc=True).astype(_DATETIME).array


def _check(fields: Any, udfs: str, chunk_rows: int) -> list[str] | None:
    if udfs not in UDF_MODES:
        raise QueryError(f"udfs must be one of {', '.join(UDF_MODES)}, not {udfs!r}")
    if chunk_rows < 1:
        raise QueryError(f"chunk_rows must be at least 1, not {chunk_rows}")
    if fields is None:
        return None
    if isinstance(fields, str):
        raise QueryError(f"fields must be a list of names, e.g. [{fields!r}], not a string")
    return [getattr(f, "field", f) for f in fields]


def _join_extension(pd: Any, parts: list[Any]) -> Any:
    """Chunks of one pandas extension array (Int64, boolean, datetime with zone) as one array."""
    if len(parts) == 1:
        return parts[0]
    join = getattr(type(parts[0]), "_concat_same_type", None)  # what pd.concat itself uses
    if join is not None:
        try:
            return join(parts)
        except Exception:  # a pandas without it: the public, slower way
            pass
    return pd.concat([pd.Series(p, copy=False) for p in parts], ignore_index=True).array


def _assemble(pd: Any, plan: FramePlan, chunks: list[Any]) -> pd.DataFrame:
    return plan.assemble(chunks)


def _chunks(plan: FramePlan, pages: Iterable[list[dict[str, Any]]], chunk_rows: int) -> list[Any]:
    out, pending = [], []
    for page in pages:
        pending.extend(page)
        if len(pending) >= chunk_rows:
            out.append(plan.build(pending))
            pending = []
    if pending:
        out.append(plan.build(pending))
    return out


def _read_ahead(pages: Iterable[list[dict[str, Any]]], depth: int) -> Iterator[list[dict[str, Any]]]:
    """Pages from a reader thread, up to `depth` ahead, so the API keeps serving while a chunk
    is built (building blocks the consumer; the reader mostly waits on the network)."""
    box: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def read() -> None:
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        box.put(page, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put(done)
        except BaseException as exc:  # raised in the consumer
            box.put(exc)

    reader = threading.Thread(target=read, name="autotask-frame-reader", daemon=True)
    reader.start()
    try:
        while True:
            item = box.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while reader.is_alive():
            try:
                box.get(timeout=0.05)
            except queue.Empty:
                pass
        close = getattr(pages, "close", None)
        if close is not None:
            close()


def entity_frame(
    entity: Any,
    where: Any = None,
    fields: Any = None,
    *,
    labels: bool = True,
    udfs: str = "columns",
    chunk_rows: int = CHUNK_ROWS,
    page_size: int = 500,
) -> pd.DataFrame:
    """The DataFrame of a sync `Entity`'s rows matching `where` (see the module docstring)."""
    pd = _pandas()
    names = _check(fields, udfs, chunk_rows)
    udf_meta = entity.udfs() if udfs == "columns" and entity._info.has_udf_endpoint else []
    plan = FramePlan.from_metadata(entity._info, entity.fields(), udf_meta, names, labels=labels, udfs=udfs)
    pages = _read_ahead(entity.pages(where, fields, page_size=page_size), READ_AHEAD_PAGES)
    return _assemble(pd, plan, _chunks(plan, pages, chunk_rows))


async def entity_frame_async(
    entity: Any,
    where: Any = None,
    fields: Any = None,
    *,
    labels: bool = True,
    udfs: str = "columns",
    chunk_rows: int = CHUNK_ROWS,
    page_size: int = 500,
) -> pd.DataFrame:
    """`entity_frame` for an `AsyncEntity`."""
    pd = _pandas()
    names = _check(fields, udfs, chunk_rows)
    udf_meta = await entity.udfs() if udfs == "columns" and entity._info.has_udf_endpoint else []
    plan = FramePlan.from_metadata(
        entity._info, await entity.fields(), udf_meta, names, labels=labels, udfs=udfs
    )
    out, pending = [], []
    async for page in entity.pages(where, fields, page_size=page_size):
        pending.extend(page)
        if len(pending) >= chunk_rows:
            out.append(plan.build(pending))
            pending = []
    if pending:
        out.append(plan.build(pending))
    return _assemble(pd, plan, out)


def to_dataframe(
    entity: str,
    where: Any = None,
    fields: Any = None,
    *,
    labels: bool = True,
    udfs: str = "columns",
    client: Any = None,
    chunk_rows: int = CHUNK_ROWS,
) -> pd.DataFrame:
    """`sdk_core.to_dataframe("Tickets", Q("status") == 1)`: with `client`, else one from the environment."""
    if not isinstance(entity, str):
        raise ConfigurationError(f"to_dataframe takes an entity name such as 'Tickets', not {entity!r}")
    if client is not None:
        return entity_frame(
            client.entity(entity), where, fields, labels=labels, udfs=udfs, chunk_rows=chunk_rows
        )
    from ._client import AutotaskClient

    with AutotaskClient.from_env() as own:
        return entity_frame(
            own.entity(entity), where, fields, labels=labels, udfs=udfs, chunk_rows=chunk_rows
        )
