"""JSON Lines: each record as it arrived, one per line, optionally gzip.

orjson writes nearly every record; what it refuses (a lone surrogate, an integer
beyond 64 bits, nesting deeper than 254 levels) the stdlib writes, with each lone
surrogate as a ``\\uXXXX`` escape: legal JSON that reads back as the same string.
"""

from __future__ import annotations

import json
import re
import shutil
import typing as t
from pathlib import Path

import orjson

from target_adapters.common import ColumnType
from target_adapters.files.output_dir import OutputDir
from target_adapters.files.streams import close_binary, open_binary
from target_adapters.files.unstorable import SURROGATE, refused

_OPTIONS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS


def _default(value: t.Any) -> str:
    return str(value)


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _stdlib_line(record: dict) -> bytes:
    """What orjson refuses; ValueError for what JSON cannot hold at all (NaN, Infinity)."""
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=_default, allow_nan=False)
    return (SURROGATE.sub(_escape, text) + "\n").encode()


def _fails(value: t.Any) -> bool:
    try:
        _stdlib_line({"": value})
    except (ValueError, TypeError, RecursionError):
        return True
    return False


class JsonlWriter:
    """Schema changes need nothing here: JSON Lines has no header."""

    def __init__(self, out: OutputDir, stream_name: str, gzip_level: int | None, append: bool) -> None:
        self._out = out
        suffix = ".jsonl.gz" if gzip_level is not None else ".jsonl"
        self._name = out.stem(stream_name) + suffix
        self._append = append
        self._staged = out.staged(self._name)
        self._fh = open_binary(self._staged, gzip_level)
        self._write = self._fh.write
        self._stream = stream_name
        self._records = 0

    def set_schema(self, columns: dict[str, ColumnType], schema: dict, key_properties: list[str]) -> None:
        """Nothing to do: every line carries its own keys."""

    def write(self, record: dict) -> None:
        """One line per record."""
        self._records += 1
        try:
            line = orjson.dumps(record, default=_default, option=_OPTIONS)
        except orjson.JSONEncodeError:
            line = self._slow_line(record)
        self._write(line)

    def _slow_line(self, record: dict) -> bytes:
        try:
            return _stdlib_line(record)
        except (ValueError, TypeError, RecursionError) as exc:
            field = next((k for k in record if _fails(record[k])), next(iter(record), ""))
            raise refused(
                self._stream,
                self._records,
                str(field),
                f"JSON cannot hold this value ({exc})",
                "Fix the source value, or its stream map.",
            ) from None

    def abort(self) -> None:
        """Close the staged file; the staging folder is removed by the caller."""
        close_binary(self._fh)

    def close(self) -> list[tuple[Path, str]]:
        """Stage for publishing; when appending, the previous file's bytes come first (gzip members concatenate)."""
        close_binary(self._fh)
        existing = self._out.final(self._name)
        if self._append and existing.exists():
            merged = self._out.staged("merged-" + self._name)
            with open(merged, "wb") as dst:
                for src in (existing, self._staged):
                    with open(src, "rb") as fh:
                        shutil.copyfileobj(fh, dst, 1 << 20)
            self._staged.unlink()
            return [(merged, self._name)]
        return [(self._staged, self._name)]
