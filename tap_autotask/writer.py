"""Singer output for a tap whose rows are already JSON: orjson, and no flush per record.

singer-sdk's writer serializes with simplejson and flushes stdout after every message; at
thousands of rows a second both show up in the profile. Order is unchanged, and stdout is
flushed after every message that is not a RECORD, so a STATE never waits in a buffer and
never overtakes the rows it covers.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import Any

import orjson
from singer_sdk.singerlib.encoding import SimpleSingerWriter
from singer_sdk.singerlib.messages import Message, SingerMessageType
from typing_extensions import override

__all__ = ["FastSingerWriter"]


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):  # singer-sdk reads state files with Decimal numbers
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class FastSingerWriter(SimpleSingerWriter):
    """SimpleSingerWriter with orjson, bytes straight to stdout's buffer, and flushes only
    after non-RECORD messages."""

    _text_flushed = False

    @override
    def serialize_message(self, message: Message) -> str:
        """One JSON line, as singer-sdk writes it (UTC datetimes in ISO 8601)."""
        return orjson.dumps(message.to_dict(), default=_default).decode()

    @override
    def write_message(self, message: Message) -> None:
        """Write one line; flush unless it is a RECORD (a STATE flushes the rows before it)."""
        line = orjson.dumps(message.to_dict(), default=_default) + b"\n"
        stream = sys.stdout
        raw = getattr(stream, "buffer", None)
        if raw is None:  # a text stream without bytes underneath (tests' StringIO)
            stream.write(line.decode())
        else:
            if not self._text_flushed:
                stream.flush()  # anything written as text before must come first
                self._text_flushed = True
            raw.write(line)
        if message.type != SingerMessageType.RECORD:
            (raw or stream).flush()
