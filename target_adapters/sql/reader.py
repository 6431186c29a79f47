"""The shared orjson reader, plus NUL removal for databases that cannot store it.

PostgreSQL text and jsonb refuse U+0000. Looking for the escape in the raw line
costs one ``memmem``; only the rare line that has it pays for a walk over its
values, so the per-field converters need no NUL test at all.

With the target's parsing process on, the lines are parsed by a child process
(:mod:`.parse_process`); this reader then applies its items in order, and parses
again only the lines the child could not (to explain what is wrong with them).
"""

from __future__ import annotations

import typing as t
from collections import Counter

import orjson
from singer_sdk.singerlib.exceptions import InvalidInputLine

from target_adapters._sdk_compat import unknown_message
from target_adapters.common.reader import FastSingerReader
from target_adapters.sql.parse_process import ParsePool, RowSpec, without_nul
from target_adapters.sql.rows import BadField


class RowConsumer(t.Protocol):
    """The target, as the parsing process's rows need it."""

    def row_spec(self, stream: str) -> RowSpec | None:
        """How the child should build the rows of ``stream`` (None: send its records as messages)."""

    def take_rows(self, stream: str, rows: list[tuple]) -> None:
        """Buffer rows the child built, in order."""

    def take_lines(self, stream: str, keys: list | None, lines: list[bytes]) -> None:
        """Buffer PostgreSQL COPY lines the child made, with their keys, in order."""

    def refuse(self, stream: str, record: dict, error: BadField) -> t.NoReturn:
        """Raise the error for a record the child's row builder refused."""


class SQLSingerReader(FastSingerReader):
    """Parses with orjson; drops NUL characters when ``strip_nul`` is set."""

    strip_nul = False
    # Set by the target: the input is then parsed by a second process (see parse_process).
    row_consumer: RowConsumer | None = None

    def deserialize_json(self, line: str | bytes) -> dict:
        """Parse one line; a line with an escaped NUL has it removed from its values."""
        message = super().deserialize_json(line)
        escape = b"\\u0000" if isinstance(line, bytes) else "\\u0000"
        if self.strip_nul and escape in line:  # type: ignore[operator]  # escape has the type of line
            return t.cast(dict, without_nul(message))
        return message

    def process_lines(
        self,
        file_input: t.IO[t.Any] | None,
        callbacks: dict[str, t.Callable[[dict], None]],
    ) -> t.Counter[str]:
        """The SDK's loop with the per-line bookkeeping cut to what RECORD lines need.

        Same contract: every message needs a ``type``; unknown types are refused.
        """
        counts: Counter[str] = Counter()
        by_type = {getattr(k, "value", k): v for k, v in callbacks.items()}
        if self.row_consumer is not None:
            return self._process_in_child(self.row_consumer, file_input, by_type, counts)
        parse = self.deserialize_json
        loads = orjson.loads
        strip_nul = self.strip_nul
        on_record = by_type.get("RECORD")
        records = 0
        for number, line in enumerate(file_input or self.default_input, start=1):
            # The common line goes straight to orjson; anything unusual (bad JSON, an
            # escaped NUL for PostgreSQL) takes deserialize_json's full path.
            try:
                if strip_nul and (b"\\u0000" if line.__class__ is bytes else "\\u0000") in line:
                    raise ValueError
                message = loads(line)
            except ValueError:
                self.line_number = number
                message = parse(line)
            kind = message.get("type") if message.__class__ is dict else None
            if kind == "RECORD" and on_record is not None:
                on_record(message)
                records += 1
                continue
            self._dispatch(number, line, message, by_type, counts)
        counts["RECORD"] += records
        return counts

    def _dispatch(
        self,
        number: int,
        line: t.Any,
        message: t.Any,
        by_type: dict[str, t.Callable[[dict], None]],
        counts: Counter[str],
    ) -> str:
        """Hand one message to its callback; returns its type."""
        kind = message.get("type") if message.__class__ is dict else None
        if kind is None:
            msg = (
                f"Input line {number} has no 'type' key, so it is not a Singer message: {str(line)[:200]}. "
                "Each line must be a SCHEMA, RECORD, STATE or ACTIVATE_VERSION message."
            )
            raise InvalidInputLine(msg)
        callback = by_type.get(kind)
        if callback is None:
            unknown_message(self, message)
        else:
            callback(message)
        counts[kind] += 1
        return t.cast(str, kind)

    def _process_in_child(
        self,
        consumer: RowConsumer,
        file_input: t.IO[t.Any] | None,
        by_type: dict[str, t.Callable[[dict], None]],
        counts: Counter[str],
    ) -> Counter[str]:
        """stdin parsed and built into rows by the parsing process; its items applied in order."""
        pool = ParsePool(self.strip_nul, file_input)
        try:
            for item in pool.items():
                tag = item[0]
                if tag == "lines":
                    consumer.take_lines(item[1], item[2], item[3])
                    counts["RECORD"] += len(item[3])
                elif tag == "rows":
                    consumer.take_rows(item[1], item[2])
                    counts["RECORD"] += len(item[2])
                elif tag == "msg":
                    self._dispatch(0, item[1], item[1], by_type, counts)
                elif tag in ("line", "schema"):
                    self.line_number = item[1]
                    message = self.deserialize_json(item[2])
                    kind = self._dispatch(item[1], item[2], message, by_type, counts)
                    if tag == "schema":
                        stream = message.get("stream", "") if kind == "SCHEMA" else None
                        pool.resume(consumer.row_spec(stream) if stream is not None else None)
                else:  # "bad"
                    consumer.refuse(item[1], item[2], item[3])
        finally:
            pool.close()
        return counts
