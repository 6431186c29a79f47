"""Singer message reader that parses with orjson instead of json + Decimal.

singer-sdk's reader parses every float as ``decimal.Decimal`` with the stdlib
parser, which costs more than the rest of a file target's work. orjson is
several times faster; numbers become ``float`` (or ``int``), which is what
every file format here stores anyway. orjson reads integers beyond 64 bits as
floats; checking every line for them would cost more than the parse, so
:class:`~target_adapters.common.validator.CompiledValidator` refuses such a
float in an integer column instead (it costs nothing on valid records).

What orjson refuses takes a slow path that says what is wrong and where: the
input line number for bad JSON, and stream, record and field for a string
holding a lone UTF-16 surrogate (``"\\ud800"``: valid JSON, but not Unicode,
so no database or file can store it).
"""

from __future__ import annotations

import json
import math
import sys
import typing as t

import orjson
from singer_sdk.singerlib.encoding import SimpleSingerReader
from singer_sdk.singerlib.exceptions import InvalidInputLine

_SHOWN = 200


def surrogate_path(value: t.Any, path: tuple[str, ...] = ()) -> tuple[str, ...] | None:
    """Where in ``value`` a string (or key) holds a lone surrogate; None if nowhere."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = surrogate_path(key, (*path, key)) or surrogate_path(item, (*path, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = surrogate_path(item, (*path, str(index)))
            if found is not None:
                return found
    return None


def _printable(name: str) -> str:
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


class FastSingerReader(SimpleSingerReader):
    """Reads Singer lines from stdin (as bytes) or any text/bytes file."""

    line_number = 0  # of the line being read, for error messages

    @property
    def default_input(self) -> t.IO[t.Any]:  # type: ignore[override]  # a property in singer-sdk
        """Binary stdin: orjson parses bytes without a decode step."""
        return sys.stdin.buffer

    def process_lines(
        self,
        file_input: t.IO[t.Any] | None,
        callbacks: dict[str, t.Callable[[dict], None]],
    ) -> t.Counter[str]:
        """singer-sdk's loop, counting lines so that errors can say which one."""
        return super().process_lines(
            t.cast(t.IO[t.Any], self._numbered(file_input or self.default_input)), callbacks
        )

    def _numbered(self, lines: t.Iterable[t.Any]) -> t.Iterator[t.Any]:
        for self.line_number, line in enumerate(lines, start=1):
            yield line

    def deserialize_json(self, line: str | bytes) -> dict:
        """Parse one line; what orjson refuses is tried once more with the stdlib parser."""
        try:
            return orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            try:
                message = json.loads(line, parse_float=_finite, parse_constant=_no_constant)
            except _NonFinite as refused:
                msg = (
                    f"Input line {self.line_number} holds the number {refused}, which is not a finite "
                    "number: no destination can store it (JSON Lines and Parquet would turn it into "
                    "null). Fix the value at its source."
                )
                raise InvalidInputLine(msg) from None
            except ValueError:
                shown = line[:_SHOWN]
                msg = (
                    f"Input line {self.line_number} is not valid JSON ({exc}); it starts with "
                    f"{shown!r}. Each line of a Singer stream must be one JSON message."
                )
                raise InvalidInputLine(msg) from exc
            self._refuse_surrogates(message)
            return message

    def _refuse_surrogates(self, message: t.Any) -> None:
        path = surrogate_path(message)
        if path is None:
            return
        stream = message.get("stream") if isinstance(message, dict) else None
        where = ".".join(_printable(p) for p in path)
        if path[:1] == ("record",) and len(path) > 1:
            record = message.get("record") or {}
            key = f" (id {record['id']!r})" if isinstance(record, dict) and "id" in record else ""
            where = f"record on input line {self.line_number}{key}, field '{where[7:]}'"
        else:
            where = f"input line {self.line_number}, '{where}'"
        msg = (
            f"stream '{_printable(str(stream))}', {where}: the text holds a lone UTF-16 surrogate "
            "(such as \\ud800), which is not valid Unicode and cannot be stored. Nothing of "
            "this batch was written and no state past it was emitted; fix the tap's output."
        )
        raise InvalidInputLine(msg)


class _NonFinite(ValueError):
    """A number the stdlib parser read as infinity or NaN (orjson refuses them outright)."""


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value) or math.isnan(value):
        raise _NonFinite(text)
    return value


def _no_constant(text: str) -> float:
    raise _NonFinite(text)
