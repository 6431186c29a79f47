"""The filter language of section 4 against the shared tiny tenant: each operator's result is
compared with the same predicate evaluated in Python over every ticket."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture(scope="module")
def tickets(api: Any) -> list[dict[str, Any]]:
    items = api.all_items("Tickets")
    assert len(items) > 200
    return items


def expect(tickets: list[dict[str, Any]], predicate: Callable[[dict[str, Any]], bool]) -> list[int]:
    return [t["id"] for t in tickets if predicate(t)]


def median_of(tickets: list[dict[str, Any]], field: str) -> Any:
    values = sorted(t[field] for t in tickets if t[field] is not None)
    return values[len(values) // 2]


@pytest.mark.parametrize(
    "op, check",
    [
        ("eq", lambda v, x: v is not None and v == x),
        ("noteq", lambda v, x: v is not None and v != x),
        ("gt", lambda v, x: v is not None and v > x),
        ("gte", lambda v, x: v is not None and v >= x),
        ("lt", lambda v, x: v is not None and v < x),
        ("lte", lambda v, x: v is not None and v <= x),
    ],
)
@pytest.mark.parametrize("field", ["id", "companyID", "lastActivityDate", "estimatedHours"])
def test_comparison_operators(api: Any, tickets: list, op: str, check: Callable, field: str) -> None:
    value = median_of(tickets, field)
    got = api.ids("Tickets", [{"op": op, "field": field, "value": value}])
    wanted = expect(tickets, lambda t: check(t[field], value))
    assert got == wanted and 0 < len(wanted) < len(tickets)


@pytest.mark.parametrize(
    "op, check",
    [
        ("beginsWith", lambda v, x: v.lower().startswith(x.lower())),
        ("endsWith", lambda v, x: v.lower().endswith(x.lower())),
        ("contains", lambda v, x: x.lower() in v.lower()),
    ],
)
def test_string_operators_are_case_insensitive(api: Any, tickets: list, op: str, check: Callable) -> None:
    title = tickets[0]["title"]
    probe = {"beginsWith": title[:4], "endsWith": title[-4:], "contains": title[2:7]}[op].upper()
    got = api.ids("Tickets", [{"op": op, "field": "title", "value": probe}])
    assert got == expect(tickets, lambda t: t["title"] is not None and check(t["title"], probe))
    assert got


def test_like_wildcards_are_literal(api: Any) -> None:
    assert api.ids("Tickets", [{"op": "contains", "field": "title", "value": "%"}]) == []
    assert api.ids("Tickets", [{"op": "beginsWith", "field": "title", "value": "_"}]) == []


def test_eq_on_strings_ignores_case(api: Any, tickets: list) -> None:
    title = tickets[0]["title"]
    assert api.ids("Tickets", [{"op": "eq", "field": "title", "value": title.swapcase()}]) == expect(
        tickets, lambda t: t["title"] == title
    )


@pytest.mark.parametrize("op, present", [("exist", True), ("notExist", False)])
def test_exist_and_not_exist(api: Any, tickets: list, op: str, present: bool) -> None:
    got = api.ids("Tickets", [{"op": op, "field": "contactID"}])
    assert got == expect(tickets, lambda t: (t["contactID"] is not None) == present)
    assert got


def test_eq_null_never_matches(api: Any) -> None:
    assert api.ids("Tickets", [{"op": "eq", "field": "contactID", "value": None}]) == []


@pytest.mark.parametrize("op, inside", [("in", True), ("notIn", False)])
def test_in_and_not_in(api: Any, tickets: list, op: str, inside: bool) -> None:
    statuses = sorted({t["status"] for t in tickets})[:2]
    got = api.ids("Tickets", [{"op": op, "field": "status", "value": statuses}])
    assert got == expect(tickets, lambda t: (t["status"] in statuses) == inside)
    assert got


def test_top_level_conditions_are_anded(api: Any, tickets: list) -> None:
    status, priority = tickets[0]["status"], tickets[0]["priority"]
    got = api.ids(
        "Tickets",
        [
            {"op": "eq", "field": "status", "value": status},
            {"op": "eq", "field": "priority", "value": priority},
        ],
    )
    assert got == expect(tickets, lambda t: t["status"] == status and t["priority"] == priority)


def test_nested_and_or_to_depth(api: Any, tickets: list) -> None:
    a, b = tickets[0], tickets[1]
    nested = [
        {
            "op": "or",
            "items": [
                {
                    "op": "and",
                    "items": [
                        {"op": "eq", "field": "status", "value": a["status"]},
                        {
                            "op": "or",
                            "items": [
                                {"op": "eq", "field": "priority", "value": a["priority"]},
                                {"op": "eq", "field": "id", "value": b["id"]},
                            ],
                        },
                    ],
                },
                {"op": "eq", "field": "companyID", "value": b["companyID"]},
            ],
        }
    ]
    got = api.ids("Tickets", nested)
    assert got == expect(
        tickets,
        lambda t: (
            (t["status"] == a["status"] and (t["priority"] == a["priority"] or t["id"] == b["id"]))
            or t["companyID"] == b["companyID"]
        ),
    )


def test_operator_field_and_model_names_are_case_insensitive(api: Any, tickets: list) -> None:
    status = tickets[0]["status"]
    r = api.post(
        "tickets/QUERY",
        {
            "Filter": [{"Op": "EQ", "Field": "STATUS", "Value": status}],
            "includeFIELDS": ["ID", "Status"],
            "maxrecords": 7,
        },
    )
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 7 and all(set(i) == {"id", "status", "userDefinedFields"} for i in items)
    assert r.json()["pageDetails"]["requestCount"] == 7


def test_dates_with_and_without_z_and_fraction(api: Any, tickets: list) -> None:
    stamp = median_of(tickets, "lastActivityDate")  # zone-less millisecond form by default
    base = api.ids("Tickets", [{"op": "gt", "field": "lastActivityDate", "value": stamp}])
    for form in (stamp + "Z", stamp[:19], stamp[:19] + "Z", stamp + "0000Z", stamp[:19] + "+00:00"):
        assert api.ids("Tickets", [{"op": "gt", "field": "lastActivityDate", "value": form}]) == base


def test_booleans(api: Any, tickets: list) -> None:
    wanted = expect(tickets, lambda t: t["serviceLevelAgreementHasBeenMet"] is True)
    assert (
        api.ids("Tickets", [{"op": "eq", "field": "serviceLevelAgreementHasBeenMet", "value": True}])
        == wanted
    )
    assert (
        api.ids("Tickets", [{"op": "eq", "field": "serviceLevelAgreementHasBeenMet", "value": "true"}])
        == wanted
    )


@pytest.mark.parametrize(
    "condition",
    [
        {"op": "eq", "field": "serviceLevelAgreementHasBeenMet", "value": None},
        {"op": "noteq", "field": "serviceLevelAgreementHasBeenMet"},
        {"op": "in", "field": "serviceLevelAgreementHasBeenMet", "value": [True, None]},
    ],
)
def test_a_boolean_compared_with_null_is_an_error_not_an_empty_page(api: Any, condition: Any) -> None:
    message = api.error(api.query("Tickets", [condition]))
    assert "serviceLevelAgreementHasBeenMet" in message and "true or false" in message


def test_udf_filter(api: Any, tickets: list) -> None:
    def udf(t: dict[str, Any], name: str) -> Any:
        return next(u["value"] for u in t["userDefinedFields"] if u["name"] == name)

    got = api.ids("Tickets", [{"op": "eq", "field": "root cause", "value": "2", "udf": True}])
    assert got == expect(tickets, lambda t: udf(t, "Root Cause") == "2") and got
    got = api.ids("Tickets", [{"op": "gt", "field": "Customer Impact Score", "value": 250, "udf": True}])
    assert (
        got
        == expect(
            tickets,
            lambda t: (
                udf(t, "Customer Impact Score") is not None and float(udf(t, "Customer Impact Score")) > 250
            ),
        )
        and got
    )


def test_only_one_udf_per_query(api: Any) -> None:
    r = api.query(
        "Tickets",
        [
            {"op": "exist", "field": "Root Cause", "udf": True},
            {"op": "exist", "field": "External Reference", "udf": True},
        ],
    )
    assert "one user-defined field" in api.error(r)


def test_or_conditions_limited_to_500(api: Any) -> None:
    ok = [{"op": "or", "items": [{"op": "eq", "field": "id", "value": i} for i in range(500)]}]
    assert api.query("Tickets", ok).status_code == 200
    too_many = [{"op": "or", "items": [{"op": "eq", "field": "id", "value": i} for i in range(501)]}]
    assert api.error(api.query("Tickets", too_many)) == (
        "Invalid query syntax. Queries are limited to 500 or fewer 'OR' conditions."
    )


@pytest.mark.parametrize("max_records", [0, 501, -1])
def test_max_records_out_of_range(api: Any, max_records: int) -> None:
    r = api.query("Tickets", [{"op": "exist", "field": "id"}], MaxRecords=max_records)
    assert api.error(r) == "maxCountOfRecordsToReturn must be between 1 and 500"


def test_unknown_field_error_is_verbatim(api: Any) -> None:
    r = api.query("CompanyLocations", [{"op": "eq", "field": "limit", "value": 1}])
    assert api.error(r) == "Unable to find limit in the CompanyLocation Entity."
    r = api.query("Contacts", [{"op": "exist", "field": "id"}], IncludeFields=["companyName"])
    assert api.error(r) == "Unable to find companyName in the Contact Entity."


@pytest.mark.parametrize("body", [{"filter": []}, {}, {"filter": None}])
def test_empty_filter_is_an_error(api: Any, body: dict) -> None:
    assert "filter" in api.error(api.post("Tickets/query", body))


def test_unknown_operator_is_an_error(api: Any) -> None:
    assert "operator" in api.error(
        api.query("Tickets", [{"op": "startsWith", "field": "title", "value": "a"}])
    )


def test_include_fields_projection(api: Any) -> None:
    r = api.query(
        "Companies",
        [{"op": "exist", "field": "id"}],
        IncludeFields=["Id", "companyName", "CITY", "Customer Ranking"],
    )
    items = r.json()["items"]
    assert items and all(list(i) == ["id", "city", "companyName", "userDefinedFields"] for i in items)
    assert all([u["name"] for u in i["userDefinedFields"]] == ["Customer Ranking"] for i in items)


def test_include_fields_must_keep_id_beyond_one_page(api: Any) -> None:
    flt = [{"op": "exist", "field": "id"}]
    assert api.query("Tickets", flt, IncludeFields=["title"], MaxRecords=500).status_code == 200
    assert "id" in api.error(api.query("Tickets", flt, IncludeFields=["title"], MaxRecords=10))


def test_get_search_and_count(api: Any, tickets: list) -> None:
    flt = [{"op": "eq", "field": "priority", "value": tickets[0]["priority"]}]
    wanted = expect(tickets, lambda t: t["priority"] == tickets[0]["priority"])
    r = api.get("Tickets/query", params={"search": api.search(flt)})
    assert [i["id"] for i in r.json()["items"]] == wanted
    assert api.get("Tickets/query/count", params={"search": api.search(flt)}).json() == {
        "queryCount": len(wanted)
    }
    assert api.post("Tickets/query/count", {"filter": flt}).json() == {"queryCount": len(wanted)}


def test_items_have_every_field_null_when_empty(api: Any, sandbox: Any) -> None:
    from sdk_core.catalog import load_catalog

    item = api.query("Tickets", [{"op": "exist", "field": "id"}], MaxRecords=1).json()["items"][0]
    names = [f.name for f in load_catalog().get("Tickets").fields]
    assert list(item) == names + ["userDefinedFields"]
    assert any(v is None for v in item.values())
    assert item["createDate"][10] == "T" and not item["createDate"].endswith("Z")
    assert len(item["createDate"]) == 23
