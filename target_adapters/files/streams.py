"""The interface every format's per-stream writer implements."""

from __future__ import annotations

import gzip
import io
import typing as t
from pathlib import Path

from target_adapters.common import ColumnType

_BUFFER = 1 << 20


class StreamWriter(t.Protocol):
    """Receives one stream's records, in order, across schema changes."""

    def set_schema(self, columns: dict[str, ColumnType], schema: dict, key_properties: list[str]) -> None:
        """Called for the first SCHEMA message and for every changed one."""

    def write(self, record: dict) -> None:
        """Take one record (already validated)."""

    def close(self) -> list[tuple[Path, str]]:
        """Finish the stream's file(s) in staging; return (staged path, final name) pairs."""

    def abort(self) -> None:
        """Close open handles after a failure; nothing is published."""


def open_binary(path: Path, gzip_level: int | None) -> t.BinaryIO:
    """A buffered binary file, gzip-compressed when a level is given."""
    if gzip_level is None:
        return open(path, "wb", buffering=_BUFFER)
    raw = open(path, "wb", buffering=_BUFFER)
    return t.cast(t.BinaryIO, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=gzip_level, mtime=0))


def close_binary(fh: t.BinaryIO) -> None:
    """Close a file from :func:`open_binary`, including the file under a gzip layer."""
    inner = getattr(fh, "fileobj", None)
    fh.close()
    if inner is not None:
        inner.close()


def open_text_write(path: Path, gzip_level: int | None) -> io.TextIOWrapper:
    """UTF-8 text for the csv module (newline='' so it controls line endings)."""
    return io.TextIOWrapper(open_binary(path, gzip_level), encoding="utf-8", newline="", write_through=False)


def open_text_read(path: Path) -> io.TextIOWrapper:
    """Read back a (possibly gzip) UTF-8 text file written by this package."""
    raw: t.BinaryIO = open(path, "rb")
    if path.name.endswith(".gz"):
        raw = t.cast(t.BinaryIO, gzip.GzipFile(fileobj=raw, mode="rb"))
    return io.TextIOWrapper(raw, encoding="utf-8", newline="")
