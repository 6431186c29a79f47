"""UDFs whose names slug alike keep their own column, type and value (no silent loss)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.tap.singer_run import run_tap, tap_config

UDFS = [
    ("Contract Value", "double", "12.5"),
    ("contract-value", "string", "twelve"),
    ("Стоимость", "double", "7"),
    ("Стоимостъ", "datetime", "2026-01-02T03:04:05"),
    ("日本語", "string", "kanji"),
    ("中文", "string", "hanzi"),
]


def test_colliding_udf_names_get_distinct_columns_of_their_own_type(sandbox_factory: Any) -> None:
    server = sandbox_factory()
    for name, kind, _ in UDFS:
        server.admin.add_udf("Companies", name, kind)
    with httpx.Client(headers=server.headers) as http:
        company = http.post(
            server.api_url + "V1.0/Companies/query",
            json={"filter": [{"op": "exist", "field": "id"}], "MaxRecords": 1},
        ).json()["items"][0]
        r = http.patch(
            server.api_url + "V1.0/Companies",
            json={"id": company["id"], "userDefinedFields": [{"name": n, "value": v} for n, _, v in UDFS]},
        )
        assert r.status_code == 200, r.text

    out = run_tap(tap_config(server, include_streams=["companies", "udf_definitions"]))

    columns = {r["name"]: r["column"] for r in out.records["udf_definitions"] if r["entity"] == "Companies"}
    ours = [columns[name] for name, _, _ in UDFS]
    assert len(set(ours)) == len(UDFS), columns
    assert len(set(columns.values())) == len(columns)  # the generated UDFs too
    props = out.schemas["companies"]["schema"]["properties"]
    kinds = {"double": ["number", "null"], "string": ["string", "null"], "datetime": ["string", "null"]}
    for name, kind, _ in UDFS:
        assert props[columns[name]]["type"] == kinds[kind], name
    assert props[columns["Стоимостъ"]]["format"] == "date-time"
    row = next(r for r in out.records["companies"] if r["id"] == company["id"])
    assert [row[c] for c in ours] == [12.5, "twelve", 7.0, "2026-01-02T03:04:05.000Z", "kanji", "hanzi"]
    other = next(r for r in out.records["companies"] if r["id"] != company["id"])
    assert all(other[c] is None for c in ours)

    again = run_tap(tap_config(server, include_streams=["udf_definitions"], picklist_entities=["Companies"]))
    assert {r["name"]: r["column"] for r in again.records["udf_definitions"]} == columns
