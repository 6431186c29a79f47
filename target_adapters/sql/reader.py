"""The shared orjson reader, plus NUL removal for databases that cannot store it.

PostgreSQL text and jsonb refuse U+0000. Looking for the escape in the raw line
costs one ``memmem``; only the rare line that has it pays for a walk over its
values, so the per-field converters need no NUL test at all.
"""

from __future__ import annotations

import typing as t
from collections import Counter

import orjson
from singer_sdk.singerlib.exceptions import InvalidInputLine

from target_adapters._sdk_compat import unknown_message
from target_adapters.common.reader import FastSingerReader


def without_nul(value: t.Any) -> t.Any:
    """``value`` with NUL characters removed from every string in it."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    return value


class SQLSingerReader(FastSingerReader):
    """Parses with orjson; drops NUL characters when ``strip_nul`` is set."""

    strip_nul = False

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
        parse = self.deserialize_json
        loads = orjson.loads
        strip_nul = self.strip_nul
        by_type = {getattr(k, "value", k): v for k, v in callbacks.items()}
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
        counts["RECORD"] += records
        return counts
