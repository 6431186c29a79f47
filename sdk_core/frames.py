"""Autotask rows as a pandas DataFrame: typed columns, picklist labels beside values, UDF columns.

Column types come from live field metadata (`entityInformation/fields`, cached): integers as
nullable ``Int64``, doubles as ``float64``, booleans as nullable ``boolean``, timestamps as
aware UTC datetimes, text as ``string``. A picklist column ``status`` gets ``status_label``
beside it (dependent picklists such as ``subIssueType`` are labelled through their parent's
value). User-defined fields become columns of their own, typed by their definitions.

The frame is built a chunk at a time while a reader thread fetches the next pages: the JSON
of at most ``chunk_rows`` rows plus the pages read ahead is held at once, never the whole
result. Each chunk's columns are converted to typed Arrow arrays (`_frame_arrays`), which
also hold a chunk far more compactly than its row dicts; the arrays of a column are joined
and turned into pandas once, at the end, and picklist labels are looked up once per column.
pandas and pyarrow are imported only here, when first used.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._frame_arrays import label_array, target_type, typed_array, typed_arrays
from .errors import ConfigurationError, QueryError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["to_dataframe", "entity_frame", "entity_frame_async", "FramePlan"]

log = logging.getLogger("sdk_core.frames")

CHUNK_ROWS = 1000  # small enough that building one never holds the GIL long from the page reader
READ_AHEAD_PAGES = 8  # pages read while chunks are built
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
        import pyarrow  # noqa: F401  (the column conversions)
    except ImportError:
        raise ImportError(
            "to_dataframe needs pandas and pyarrow: pip install 'autotask-liberator[pandas]'"
        ) from None
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
    _kinds: dict[str, list[int]] = field(init=False, default_factory=dict)  # positions of non-UDFs

    def __post_init__(self) -> None:
        self._has_udf_columns = any(c.udf for c in self.columns)
        for i, col in enumerate(c for c in self.columns if not c.udf):
            self._kinds.setdefault(col.kind, []).append(i)

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
        """One chunk: each column as a typed Arrow array (an object ndarray if kept as sent)."""
        pd = _pandas()
        import numpy as np

        fields = [c for c in self.columns if not c.udf]
        matrix = _pivot(pd, np, rows, [c.key for c in fields])
        found: dict[str, Any] = {}
        for kind, at in self._kinds.items():  # the columns of one kind converted together
            block = matrix[:, at].T
            found.update(
                zip(names := [fields[i].name for i in at], typed_arrays(block, kind, udf=False, names=names))
            )
        if self._has_udf_columns:
            udfs = _udf_columns(pd, np, rows, [c for c in self.columns if c.udf])
            found.update(
                (c.name, typed_array(udfs[c.name], c.kind, udf=True, name=c.name))
                for c in self.columns
                if c.udf
            )
        return {c.name: found[c.name] for c in self.columns}

    def assemble(self, chunks: list[dict[str, Any]]) -> pd.DataFrame:
        """The frame: each column's chunks joined once, its labels looked up once.

        Chunks are emptied as their columns are joined, so a column's Arrow copy is freed as
        its pandas copy is made."""
        pd = _pandas()
        import pyarrow as pa

        if not chunks:
            chunks = [self.build([])]
        labelled = [c for c in self.columns if c.labels is not None] if self.labels else []
        names, parents = {c.name for c in labelled}, {c.parent for c in labelled if c.parent}
        values: dict[str, Any] = {}  # by column name: what labels are looked up in
        above: dict[str, Any] = {}  # by row key: the fields dependent picklists hang on
        data: dict[str, Any] = {}
        for col in self.columns:
            parts = [chunk.pop(col.name) for chunk in chunks]
            kind = target_type(col.kind)
            typed = kind is not None and all(isinstance(p, pa.Array) for p in parts)
            whole = pa.chunked_array(parts, kind) if typed else None
            data[col.name] = _to_pandas(pd, whole, col.kind) if typed else _objects(pd, parts, col.kind)
            if col.name in names:
                data[f"{col.name}_label"] = values[col.name] = whole if typed else data[col.name]
            if col.key in parents and not col.udf:
                above[col.key] = whole if typed else data[col.name]
        for col in labelled:  # once every parent is read: one may come after its child
            parent = above.get(col.parent) if col.parent else None
            data[f"{col.name}_label"] = _labels(pd, col, values.pop(col.name), parent)
        return pd.DataFrame(data, copy=False)


def _to_pandas(pd: Any, whole: Any, kind: str) -> Any:
    """A typed Arrow column as the pandas array the frame holds."""
    if kind == "float":
        return whole.to_numpy()  # nulls as NaN
    if kind == "datetime":
        return whole.to_pandas().array
    dtype = {"int": pd.Int64Dtype(), "bool": pd.BooleanDtype(), "string": pd.StringDtype()}[kind]
    return dtype.__from_arrow__(whole)


def _objects(pd: Any, parts: list[Any], kind: str) -> Any:
    """A column some chunk kept as sent: every chunk's values as Python objects."""
    import numpy as np

    if not parts:
        return np.empty(0, dtype=object)
    return np.concatenate(
        [
            np.asarray(_to_pandas(pd, p, kind), dtype=object) if not isinstance(p, np.ndarray) else p
            for p in parts
        ]
    )


def _labels(pd: Any, col: _Column, values: Any, parents: Any) -> Any:
    """The `<column>_label` column: vectorised when the values are typed Arrow, else per value."""
    import pyarrow as pa

    arrow = isinstance(values, pa.ChunkedArray) and (parents is None or isinstance(parents, pa.ChunkedArray))
    found = label_array(col.labels or {}, col.pair_labels, values, parents) if arrow else None
    if found is None:
        listed = values.to_pylist() if isinstance(values, pa.ChunkedArray) else list(values)
        above = None
        if parents is not None:
            above = parents.to_pylist() if isinstance(parents, pa.ChunkedArray) else list(parents)
        found = pa.array(_label_values(col, listed, above), pa.string())
    if isinstance(found, pa.Array):
        found = pa.chunked_array([found])
    return pd.StringDtype().__from_arrow__(found)


def _label_values(col: _Column, values: list[Any], parents: list[Any] | None) -> list[str | None]:
    by_value = col.labels or {}
    if parents is None or not col.pair_labels:
        return [None if v is None else by_value.get(v) for v in values]
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


async def _chunks_async(
    plan: FramePlan, pages: AsyncIterator[list[dict[str, Any]]], chunk_rows: int, depth: int
) -> list[Any]:
    """`_chunks` for the async client: a task reads up to `depth` pages ahead while each chunk
    is built on a worker thread, so the event loop keeps reading pages (and serving the
    caller's other tasks) during a build. One chunk is built at a time, in order."""
    box: asyncio.Queue[Any] = asyncio.Queue(maxsize=depth)
    done = object()

    async def read() -> None:
        try:
            async for page in pages:
                await box.put(page)
            await box.put(done)
        except Exception as exc:  # raised in the consumer
            await box.put(exc)
        finally:
            close = getattr(pages, "aclose", None)
            if close is not None:
                await close()

    reader = asyncio.ensure_future(read())
    out: list[Any] = []
    pending: list[dict[str, Any]] = []
    building: asyncio.Future[Any] | None = None
    try:
        while (item := await box.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            pending.extend(item)
            if len(pending) >= chunk_rows:
                if building is not None:
                    out.append(await building)
                building = asyncio.ensure_future(asyncio.to_thread(plan.build, pending))
                pending = []
        if building is not None:
            out.append(await building)
        if pending:
            out.append(await asyncio.to_thread(plan.build, pending))
        return out
    finally:
        if building is not None:
            building.cancel()  # after an error: its thread finishes, its chunk is dropped
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


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
    pages = entity.pages(where, fields, page_size=page_size)
    return _assemble(pd, plan, await _chunks_async(plan, pages, chunk_rows, READ_AHEAD_PAGES))


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
