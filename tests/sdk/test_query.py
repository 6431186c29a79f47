from datetime import UTC, datetime

import pytest

from sdk_core import Q, QueryError, compile_filter, load_catalog

TICKETS = load_catalog().get("Tickets")


@pytest.mark.parametrize(
    "expr, expected",
    [
        (Q("status") == 1, {"op": "eq", "field": "status", "value": 1}),
        (Q("status") != 5, {"op": "noteq", "field": "status", "value": 5}),
        (Q("priority") > 1, {"op": "gt", "field": "priority", "value": 1}),
        (Q("priority") >= 1, {"op": "gte", "field": "priority", "value": 1}),
        (Q("priority") < 3, {"op": "lt", "field": "priority", "value": 3}),
        (Q("priority") <= 3, {"op": "lte", "field": "priority", "value": 3}),
        (Q("title").begins_with("Printer"), {"op": "beginsWith", "field": "title", "value": "Printer"}),
        (Q("title").ends_with("down"), {"op": "endsWith", "field": "title", "value": "down"}),
        (Q("title").contains("VPN"), {"op": "contains", "field": "title", "value": "VPN"}),
        (Q("dueDateTime").exists(), {"op": "exist", "field": "dueDateTime"}),
        (Q("dueDateTime").not_exists(), {"op": "notExist", "field": "dueDateTime"}),
        (Q("priority").in_([1, 2]), {"op": "in", "field": "priority", "value": [1, 2]}),
        (Q("priority").not_in((3,)), {"op": "notIn", "field": "priority", "value": [3]}),
        (
            Q("Customer Ranking", udf=True) == "Golden",
            {"op": "eq", "field": "Customer Ranking", "value": "Golden", "udf": True},
        ),
    ],
)
def test_every_documented_operator_compiles(expr, expected):
    assert compile_filter(expr, TICKETS) == [expected]


def test_and_spreads_at_top_level_and_nesting_is_kept():
    expr = (Q("status") == 1) & ((Q("priority") == 1) | (Q("queueID") == 8) | (Q("title").contains("x")))
    assert compile_filter(expr) == [
        {"op": "eq", "field": "status", "value": 1},
        {
            "op": "or",
            "items": [
                {"op": "eq", "field": "priority", "value": 1},
                {"op": "eq", "field": "queueID", "value": 8},
                {"op": "contains", "field": "title", "value": "x"},
            ],
        },
    ]
    top_or = (Q("status") == 1) | ((Q("priority") == 1) & (Q("queueID") == 8))
    assert compile_filter(top_or) == [
        {
            "op": "or",
            "items": [
                {"op": "eq", "field": "status", "value": 1},
                {
                    "op": "and",
                    "items": [
                        {"op": "eq", "field": "priority", "value": 1},
                        {"op": "eq", "field": "queueID", "value": 8},
                    ],
                },
            ],
        }
    ]


def test_dict_shorthand_and_raw_lists():
    assert compile_filter({"status": 1, "queueID": [8, 9]}, TICKETS) == [
        {"op": "eq", "field": "status", "value": 1},
        {"op": "in", "field": "queueID", "value": [8, 9]},
    ]
    raw = [{"op": "AND", "items": [{"op": "EQ", "field": "STATUS", "value": 1}]}]
    assert compile_filter(raw, TICKETS) == [
        {"op": "and", "items": [{"op": "eq", "field": "status", "value": 1}]}
    ]
    assert compile_filter(None) == []
    assert compile_filter({"op": "exist", "field": "id"}) == [{"op": "exist", "field": "id"}]


def test_datetime_values_are_sent_as_utc_text():
    when = datetime(2026, 1, 1, 1, tzinfo=UTC)
    assert compile_filter(Q("lastActivityDate") >= when) == [
        {"op": "gte", "field": "lastActivityDate", "value": "2026-01-01T01:00:00.000Z"}
    ]


@pytest.mark.parametrize(
    "bad, message",
    [
        ([{"op": "equals", "field": "id", "value": 1}], "unknown operator 'equals'"),
        ([{"op": "startsWith", "field": "title", "value": "a"}], 'use "beginsWith"'),
        ([{"op": "eq", "field": "id"}], 'needs a "value"'),
        ([{"op": "eq", "value": 1}], 'needs a "field"'),
        ([{"op": "or", "items": []}], "non-empty"),
        ([{"op": "in", "field": "id", "value": "1,2"}], "needs a list"),
        ([{"op": "in", "field": "id", "value": []}], "at least one value"),
        ([{"op": "contains", "field": "title", "value": 5}], "needs a string"),
        ([{"op": "eq", "field": "status", "value": None}], "not_exists"),
        ([{"op": "eq", "field": "stauts", "value": 1}], 'Did you mean "status"'),
        ("status = 1", "must be a Q expression"),
        (Q("status"), "is a field, not a condition"),
        ((Q("a", udf=True) == 1) & (Q("b", udf=True) == 2), "one user-defined field"),
        (
            [{"op": "or", "items": [{"op": "eq", "field": "id", "value": i} for i in range(501)]}],
            "500 or fewer 'OR'",
        ),
    ],
)
def test_malformed_filters_fail_locally_with_a_clear_message(bad, message):
    with pytest.raises(QueryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        compile_filter(bad, TICKETS)


def test_python_and_or_keywords_are_refused():
    with pytest.raises(TypeError, match="combine with & and |"):
        (Q("status") == 1) and (Q("priority") == 2)
    with pytest.raises(QueryError):
        (Q("status") == 1) & "priority = 2"


@pytest.mark.parametrize("value", ["not a date", "2026-13-45", 20260101, True])
def test_datetime_fields_refuse_values_that_are_no_timestamps(value):
    with pytest.raises(QueryError, match="'lastActivityDate' is a datetime field"):
        compile_filter(Q("lastActivityDate") >= value, TICKETS)
    with pytest.raises(QueryError, match="datetime field"):
        compile_filter([{"op": "in", "field": "createDate", "value": ["2026-01-01", value]}], TICKETS)


def test_datetime_fields_accept_both_timestamp_forms_and_datetimes():
    for value in (
        "2026-01-01T00:00:00",
        "2026-01-01T00:00:00.1234567Z",
        "2026-01-01",
        datetime(2026, 1, 1, tzinfo=UTC),
    ):
        assert compile_filter(Q("lastActivityDate") >= value, TICKETS)[0]["field"] == "lastActivityDate"
    with pytest.raises(QueryError, match='"contains" does not apply'):
        compile_filter(Q("lastActivityDate").contains("2026"), TICKETS)


@pytest.mark.parametrize(
    "alias, valid",
    [("startswith", "beginsWith"), ("ne", "noteq"), ("like", "contains"), ("isnull", "notExist")],
)
def test_invented_operators_are_refused_naming_the_valid_one(alias, valid):
    with pytest.raises(QueryError, match=f"Autotask has no '{alias}': use \"{valid}\""):
        compile_filter([{"op": alias, "field": "title", "value": "a"}], TICKETS)
