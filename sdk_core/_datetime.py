"""Autotask timestamps: UTC, with or without `Z`, with 0 to 7 fraction digits."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

__all__ = ["parse_datetime", "format_datetime"]

_PATTERN = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)


def parse_datetime(value: str | datetime | date | None) -> datetime | None:
    """Parse any form Autotask sends to an aware UTC datetime; zone-less values are UTC.

    Fractions beyond microseconds (Autotask sends up to 7 digits) are truncated.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return _to_utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    match = _PATTERN.match(value.strip())
    if match is None:
        raise ValueError(
            f"{value!r} is not an Autotask timestamp; expected e.g. 2026-01-31T15:04:05.307 "
            "or 2026-01-31T15:04:05Z"
        )
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    parsed = datetime(
        int(year),
        int(month),
        int(day),
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
        micro,
        tzinfo=UTC,
    )
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 60 + int(digits[2:]))
        parsed = parsed.replace(tzinfo=timezone(timedelta(minutes=offset))).astimezone(UTC)
    return parsed


def format_datetime(value: datetime | date | str) -> str:
    """The form to send in filters and writes: UTC, milliseconds, `Z` (naive means UTC)."""
    parsed = parse_datetime(value) if not isinstance(value, datetime) else _to_utc(value)
    if parsed is None:
        raise ValueError("an empty value cannot be formatted as a timestamp")
    return parsed.strftime("%Y-%m-%dT%H:%M:%S.") + f"{parsed.microsecond // 1000:03d}Z"


def _to_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
