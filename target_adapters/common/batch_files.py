"""Records of a Singer BATCH message, read from its files in bounded memory.

A BATCH message names files (``manifest``) holding a stream's records, and how
they are encoded: ``jsonl`` (one JSON record a line) or ``parquet``, each with
or without ``gzip``. The targets feed every record read here through the same
path as a RECORD message, so validation, upserts and the rule that a STATE is
emitted only after the rows before it are saved hold for batches too.

Files are opened through fsspec (a dependency of singer-sdk), so ``file://``
works everywhere and other storage (``s3://`` ...) wherever its fsspec driver
is installed. An encoding this module cannot read is refused when the message
arrives, before any of its records is taken.
"""

from __future__ import annotations

import datetime as dt
import gzip
import typing as t

import fsspec
import orjson

FORMATS = ("jsonl", "parquet")
COMPRESSIONS = (None, "none", "gzip")
_PARQUET_ROWS = 10_000  # rows decoded at a time from a Parquet file
_SHOWN = 200
_GZIP_MAGIC = b"\x1f\x8b"


class BatchFileError(ValueError):
    """A BATCH message or one of its files that cannot be read; says which and why."""


def check_encoding(message: dict) -> tuple[str, str | None]:
    """The message's (format, compression), or BatchFileError naming what is unsupported."""
    stream = message.get("stream")
    encoding = message.get("encoding")
    if not isinstance(encoding, dict):
        msg = f"BATCH message of stream '{stream}' has no 'encoding' object: {str(message)[:_SHOWN]}"
        raise BatchFileError(msg)
    fmt = encoding.get("format")
    compression = encoding.get("compression")
    if fmt not in FORMATS or compression not in COMPRESSIONS:
        msg = (
            f"BATCH message of stream '{stream}' uses encoding format={fmt!r}, "
            f"compression={compression!r}, which this target cannot read; supported: format "
            f"{' or '.join(FORMATS)}, compression gzip or none. Change the tap's "
            "batch_config.encoding, or run the tap without batch_config."
        )
        raise BatchFileError(msg)
    manifest = message.get("manifest")
    if not isinstance(manifest, list) or not all(isinstance(u, str) for u in manifest):
        msg = f"BATCH message of stream '{stream}' needs 'manifest', a list of file URLs"
        raise BatchFileError(msg)
    return fmt, None if compression == "none" else compression


def batch_records(message: dict) -> t.Iterator[dict]:
    """Every record of a BATCH message's files, in order."""
    fmt, compression = check_encoding(message)
    stream = message.get("stream")
    for url in message["manifest"]:
        try:
            with fsspec.open(url, "rb") as raw:
                if fmt == "jsonl":
                    yield from _jsonl(raw, _is_gzip(raw), stream, url)
                else:
                    yield from _parquet(raw)
        except (OSError, ValueError, ImportError) as exc:
            if isinstance(exc, BatchFileError):
                raise
            msg = (
                f"stream '{stream}': cannot read batch file {url} ({fmt}"
                f"{', gzip' if compression else ''}): {type(exc).__name__}: {exc}"
            )
            raise BatchFileError(msg) from exc


def _is_gzip(raw: t.BinaryIO) -> bool:
    """Whether a file is gzip, by its magic bytes.

    The declared compression is not trusted: singer-sdk's JSONL batcher (0.54)
    gzips every file whatever ``compression`` says.
    """
    magic = raw.read(2)
    raw.seek(0)
    return magic == _GZIP_MAGIC


def _jsonl(raw: t.BinaryIO, gzipped: bool, stream: object, url: str) -> t.Iterator[dict]:
    source = t.cast(t.IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb")) if gzipped else raw
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            msg = (
                f"stream '{stream}': batch file {url}, line {number} is not valid JSON ({exc}); "
                f"it starts with {line[:_SHOWN]!r}"
            )
            raise BatchFileError(msg) from exc
        if not isinstance(record, dict):
            msg = f"stream '{stream}': batch file {url}, line {number} is not a JSON object"
            raise BatchFileError(msg)
        yield record


def _parquet(raw: t.BinaryIO) -> t.Iterator[dict]:
    """Rows as JSON would carry them: date/time values become ISO 8601 text."""
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(raw)
    for chunk in parquet.iter_batches(batch_size=_PARQUET_ROWS):
        for row in chunk.to_pylist():
            for name, value in row.items():
                if isinstance(value, (dt.date, dt.time)):
                    row[name] = _iso(value)
            yield row


def _iso(value: dt.date | dt.time) -> str:
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat()
