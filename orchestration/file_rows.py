"""Rows a target-files folder holds per stream, for the count-parity check.

target-files lists the files holding each stream in
`target-files-manifest.json`. Its files are append logs: a row changed after it was loaded
comes again further down, and a deleted one comes again with `_sdc_deleted_at` set. So the
rows loaded are the ids whose last row is not marked deleted. Only the `id` and
`_sdc_deleted_at` columns are read (Parquet reads nothing else from disk).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["MANIFEST", "loaded_file_rows"]

MANIFEST = "target-files-manifest.json"
KEY, DELETED = "id", "_sdc_deleted_at"

Row = tuple[Any, bool]  # (id, marked deleted)


def _key(value: Any) -> Any:
    """Ids as integers whatever the format stored (CSV text, Excel float)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def _text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _csv_rows(path: Path) -> Iterator[Row]:
    with _text(path) as handle:
        for row in csv.DictReader(handle):
            yield _key(row.get(KEY)), bool(row.get(DELETED))


def _jsonl_rows(path: Path) -> Iterator[Row]:
    with _text(path) as handle:
        for line in handle:
            if line.strip():
                record = json.loads(line)
                yield _key(record.get(KEY)), bool(record.get(DELETED))


def _parquet_rows(path: Path) -> Iterator[Row]:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    columns = [c for c in (KEY, DELETED) if c in parquet.schema_arrow.names]
    for batch in parquet.iter_batches(columns=columns):
        ids = batch.column(KEY).to_pylist() if KEY in columns else [None] * batch.num_rows
        deleted = batch.column(DELETED).to_pylist() if DELETED in columns else [None] * batch.num_rows
        yield from ((_key(i), d is not None) for i, d in zip(ids, deleted, strict=True))


def _file_rows(path: Path) -> Iterator[Row]:
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    kind = suffixes[-1] if suffixes else ""
    if kind == ".csv":
        return _csv_rows(path)
    if kind == ".jsonl":
        return _jsonl_rows(path)
    if kind == ".parquet":
        return _parquet_rows(path)
    raise ValueError(f"{path}: not a file target-files writes (csv, jsonl, parquet)")


def loaded_file_rows(folder: Path, stream: str) -> int | None:
    """Rows of `stream` in the folder not marked deleted; None when it holds none of its files."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    last: dict[Any, bool] = {}
    found = False
    for name in (manifest.get("streams") or {}).get(stream, {}).get("files", []):
        path = folder / name
        if path.is_file():
            found = True
            last.update(_file_rows(path))
    if not found:
        return None
    return sum(1 for deleted in last.values() if not deleted)
