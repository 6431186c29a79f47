from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from sdk_core import format_datetime, parse_datetime

UTC = UTC


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-01-31T15:04:05", datetime(2026, 1, 31, 15, 4, 5, tzinfo=UTC)),
        ("2026-01-31T15:04:05Z", datetime(2026, 1, 31, 15, 4, 5, tzinfo=UTC)),
        ("2026-01-31T15:04:05.3", datetime(2026, 1, 31, 15, 4, 5, 300000, tzinfo=UTC)),
        ("2018-01-23T11:00:00.00Z", datetime(2018, 1, 23, 11, tzinfo=UTC)),
        ("2024-01-31T15:04:05.307", datetime(2024, 1, 31, 15, 4, 5, 307000, tzinfo=UTC)),
        ("2024-01-31T15:04:05.1234", datetime(2024, 1, 31, 15, 4, 5, 123400, tzinfo=UTC)),
        ("2024-01-31T15:04:05.123456Z", datetime(2024, 1, 31, 15, 4, 5, 123456, tzinfo=UTC)),
        ("2024-01-31T15:04:05.1234567", datetime(2024, 1, 31, 15, 4, 5, 123456, tzinfo=UTC)),
        ("2024-01-31T15:04:05.9999999Z", datetime(2024, 1, 31, 15, 4, 5, 999999, tzinfo=UTC)),
        ("2020-06-15", datetime(2020, 6, 15, tzinfo=UTC)),
        ("2024-01-31T17:04:05+02:00", datetime(2024, 1, 31, 15, 4, 5, tzinfo=UTC)),
        ("2024-01-31T10:04:05-0500", datetime(2024, 1, 31, 15, 4, 5, tzinfo=UTC)),
    ],
)
def test_every_autotask_form_parses_to_aware_utc(text, expected):
    parsed = parse_datetime(text)
    assert parsed == expected
    assert parsed.tzinfo is UTC


def test_empty_values_are_none_and_garbage_is_a_clear_error():
    assert parse_datetime(None) is None
    assert parse_datetime("") is None
    with pytest.raises(ValueError, match="not an Autotask timestamp"):
        parse_datetime("31/01/2024")


def test_naive_datetime_is_utc_and_aware_is_converted():
    assert parse_datetime(datetime(2026, 1, 1, 12)) == datetime(2026, 1, 1, 12, tzinfo=UTC)
    cet = timezone(timedelta(hours=1))
    assert parse_datetime(datetime(2026, 1, 1, 12, tzinfo=cet)) == datetime(2026, 1, 1, 11, tzinfo=UTC)
    assert parse_datetime(date(2026, 1, 2)) == datetime(2026, 1, 2, tzinfo=UTC)


def test_format_is_utc_milliseconds_with_z_and_round_trips():
    cet = timezone(timedelta(hours=1))
    assert format_datetime(datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=cet)) == "2026-01-01T11:00:00.123Z"
    assert format_datetime(datetime(2026, 1, 1)) == "2026-01-01T00:00:00.000Z"
    assert format_datetime("2026-03-04T05:06:07.1234567") == "2026-03-04T05:06:07.123Z"
    text = "2025-12-31T23:59:59.999Z"
    assert format_datetime(parse_datetime(text)) == text
