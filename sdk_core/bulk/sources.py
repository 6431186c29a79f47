"""Where bulk rows come from: dicts, iterators, CSV and Parquet files, pandas DataFrames.

Every source becomes an iterator of plain dicts of JSON-ready values. pandas and pyarrow are
imported only when such an input is given, so `import sdk_core` stays light. In files and
frames an empty cell (`""` in CSV, NaN/NA/NaT/None in a frame) means "not given" and is left
out of the row; pass `nulls="send"` to send it as null instead (a PATCH then clears the field).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .._datetime import format_datetime
from ..catalog import EntityInfo
from ..errors import ConfigurationError

__all__ = ["iter_rows", "describe_source"]

_INTEGER = ("integer", "long", "short", "int", "byte")
_DECIMAL = ("double", "decimal", "float")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


def describe_source(source: Any) -> str:
    if isinstance(source, (str, Path)):
        return str(source)
    return type(source).__name__


def iter_rows(source: Any, info: EntityInfo, *, nulls: str = "omit") -> Iterator[dict[str, Any]]:
    """The rows of `source` as dicts (for deletes a bare id is accepted as `{"id": id}`)."""
    if nulls not in ("omit", "send"):
        raise ConfigurationError(f"nulls must be 'omit' or 'send', not {nulls!r}")
    keep_nulls = nulls == "send"
    if isinstance(source, (str, Path)):
        path = Path(source)
        suffix = path.suffix.lower()
        if not path.exists():
            raise ConfigurationError(f"bulk rows: {path} does not exist")
        if suffix in (".csv", ".txt", ".tsv"):
            return _csv_rows(path, info, keep_nulls, "\t" if suffix == ".tsv" else ",")
        if suffix in (".parquet", ".pq"):
            return _parquet_rows(path, keep_nulls)
        raise ConfigurationError(
            f"bulk rows: cannot read {path.name}; give a .csv or .parquet file, a DataFrame, "
            "or a list/iterator of dicts"
        )
    if _is_dataframe(source):
        return _frame_rows(source, keep_nulls)
    if isinstance(source, Mapping):
        raise ConfigurationError(
            "bulk rows must be a list or iterator of dicts, not one dict; wrap it in a list"
        )
    if isinstance(source, Iterable):
        return _plain_rows(source)
    raise ConfigurationError(
        f"bulk rows: {type(source).__name__} is not a row source; give a list or iterator of "
        "dicts, a DataFrame, or the path of a .csv or .parquet file"
    )


def _plain_rows(rows: Iterable[Any]) -> Iterator[dict[str, Any]]:
    for number, row in enumerate(rows):
        if isinstance(row, bool):
            raise ConfigurationError(f"bulk row {number}: {row!r} is not a dict of field values")
        if isinstance(row, int):
            yield {"id": row}
        elif isinstance(row, Mapping):
            yield {str(k): _plain(v) for k, v in row.items()}
        else:
            raise ConfigurationError(f"bulk row {number}: {type(row).__name__} is not a dict of field values")


def _csv_rows(path: Path, info: EntityInfo, keep_nulls: bool, delimiter: str) -> Iterator[dict[str, Any]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh, delimiter=delimiter)
        for number, raw in enumerate(reader):
            row: dict[str, Any] = {}
            for key, text in raw.items():
                if key is None:
                    raise ConfigurationError(f"{path.name} line {number + 2}: more cells than headers")
                key = key.strip()
                if text is None or text == "":
                    if keep_nulls:
                        row[key] = None
                    continue
                row[key] = _from_text(text, info, key)
            yield row


def _from_text(text: str, info: EntityInfo, name: str) -> Any:
    """A CSV cell typed by the catalog field it fills (unknown columns stay text)."""
    field = info.field(name)
    kind = field.data_type.lower() if field is not None else ""
    try:
        if kind in _INTEGER or name.lower() == "id":
            return int(text)
        if kind in _DECIMAL:
            return float(text)
    except ValueError:
        return text  # left as given: validation names the field and the value
    if kind == "boolean":
        low = text.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    return text


def _parquet_rows(path: Path, keep_nulls: bool) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    for batch in parquet.iter_batches(batch_size=2000):
        for row in batch.to_pylist():
            yield _clean(row, keep_nulls)


def _is_dataframe(source: Any) -> bool:
    module = type(source).__module__
    return module.startswith("pandas") and hasattr(source, "to_dict") and hasattr(source, "columns")


def _frame_rows(frame: Any, keep_nulls: bool) -> Iterator[dict[str, Any]]:
    columns = [str(c) for c in frame.columns]
    if len(set(columns)) != len(columns):
        raise ConfigurationError("the DataFrame has duplicate column names")
    for start in range(0, len(frame), 2000):
        for values in frame.iloc[start : start + 2000].itertuples(index=False, name=None):
            yield _clean(dict(zip(columns, values)), keep_nulls)


def _clean(row: Mapping[str, Any], keep_nulls: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        value = _plain(value)
        if value is None and not keep_nulls:
            continue
        out[key] = value
    return out


def _plain(value: Any) -> Any:
    """numpy/pandas scalars and datetimes to JSON-ready Python values (missing -> None)."""
    if value is None or isinstance(value, (str, bool)):
        return value
    module = type(value).__module__
    if module.startswith(("numpy", "pandas")):  # before datetime: NaT is a datetime too
        if _is_missing(value):
            return None
        if hasattr(value, "to_pydatetime"):
            return format_datetime(value.to_pydatetime())
        if hasattr(value, "item"):
            return _plain(value.item())
    if isinstance(value, (datetime, date)):
        return format_datetime(value)
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, int):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _is_missing(value: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
