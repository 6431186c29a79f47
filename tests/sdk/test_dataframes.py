"""DataFrames of sandbox rows: column types, picklist labels, UDF columns, chunked assembly."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

import sdk_core
from sdk_core import AsyncAutotaskClient, AutotaskClient, Q, QueryError, parse_datetime
from sdk_core.frames import FramePlan


@pytest.fixture(scope="module")
def client(sandbox, tmp_path_factory):
    with AutotaskClient(**sandbox.credentials, cache_dir=str(tmp_path_factory.mktemp("meta"))) as c:
        yield c


@pytest.fixture(scope="module")
def frame(client):
    return client.tickets.to_dataframe()


def picklist(client, name):
    meta = next(f for f in client.tickets.fields() if f["name"].lower() == name.lower())
    return {(v["parentValue"], str(v["value"])): v["label"] for v in meta["picklistValues"]}


def test_columns_are_typed_from_field_metadata(frame, all_tickets):
    assert len(frame) == len(all_tickets)
    dtypes = frame.dtypes
    assert dtypes["id"] == "Int64" and dtypes["companyID"] == "Int64" and dtypes["priority"] == "Int64"
    assert (
        str(dtypes["createDate"]) == "datetime64[us, UTC]"
        and str(dtypes["completedDate"]) == "datetime64[us, UTC]"
    )
    assert dtypes["isAssignedToComanaged"] == "boolean" and dtypes["estimatedHours"] == "float64"
    assert dtypes["title"] == "string"
    by_id = {t["id"]: t for t in all_tickets}
    for row in frame.head(50).itertuples(index=False):
        raw = by_id[row.id]
        assert row.title == raw["title"] and row.estimatedHours == raw["estimatedHours"]
        assert row.createDate.to_pydatetime() == parse_datetime(raw["createDate"])
        assert (
            pd.isna(row.completedDate)
            if raw["completedDate"] is None
            else row.completedDate.to_pydatetime() == parse_datetime(raw["completedDate"])
        )
        assert (
            pd.isna(row.assignedResourceID)
            if raw["assignedResourceID"] is None
            else row.assignedResourceID == raw["assignedResourceID"]
        )


def test_picklist_labels_sit_beside_values(client, frame):
    status = picklist(client, "status")
    columns = list(frame.columns)
    assert columns.index("status_label") == columns.index("status") + 1
    for value, label in frame[["status", "status_label"]].drop_duplicates().itertuples(index=False):
        assert label == status[("", str(value))]
    sub = picklist(client, "subIssueType")  # dependent on issueType
    for issue, value, label in (
        frame[["issueType", "subIssueType", "subIssueType_label"]].dropna().itertuples(index=False)
    ):
        assert label == sub[(str(issue), str(value))]


def test_udfs_become_typed_columns(client, frame, all_tickets):
    udfs = {u["name"]: u for u in client.tickets.udfs()}
    assert {"Root Cause", "Root Cause_label", "Customer Impact Score", "Follow Up Date"} <= set(frame.columns)
    assert frame["Customer Impact Score"].dtype == "float64"
    assert str(frame["Follow Up Date"].dtype) == "datetime64[us, UTC]"
    labels = {v["value"]: v["label"] for v in udfs["Root Cause"]["picklistValues"]}
    raw = {t["id"]: {u["name"]: u["value"] for u in t["userDefinedFields"]} for t in all_tickets}
    for tid, cause, label, score in frame[
        ["id", "Root Cause", "Root Cause_label", "Customer Impact Score"]
    ].itertuples(index=False):
        expected = raw[tid]
        assert (pd.isna(cause) and expected["Root Cause"] is None) or cause == expected["Root Cause"]
        assert pd.isna(label) if pd.isna(cause) else label == labels[cause]
        assert (pd.isna(score) and expected["Customer Impact Score"] is None) or score == float(
            expected["Customer Impact Score"]
        )


def test_where_fields_labels_and_udf_modes(client, frame):
    open_ = client.tickets.to_dataframe(Q("status") == 1, fields=["title", "status", "Root Cause"])
    assert list(open_.columns) == ["id", "status", "status_label", "title", "Root Cause", "Root Cause_label"]
    assert len(open_) == client.tickets.count(Q("status") == 1) == (frame["status"] == 1).sum()
    bare = client.tickets.to_dataframe(fields=["status"], labels=False, udfs="none")
    assert list(bare.columns) == ["id", "status"]
    listed = client.tickets.to_dataframe(fields=["title"], udfs="list")
    assert "userDefinedFields" not in listed.columns
    full = client.tickets.to_dataframe(udfs="list")
    assert isinstance(full["userDefinedFields"].iloc[0], list) and "Root Cause" not in full.columns
    with pytest.raises(QueryError, match="udfs must be one of columns, list, none"):
        client.tickets.to_dataframe(udfs="wide")


def test_an_empty_result_is_an_empty_typed_frame(client):
    empty = client.tickets.to_dataframe(Q("id") < 0, fields=["title", "createDate", "status"])
    assert len(empty) == 0 and list(empty.columns) == ["id", "createDate", "status", "status_label", "title"]
    assert str(empty["createDate"].dtype) == "datetime64[us, UTC]" and empty["status"].dtype == "Int64"


def test_built_in_chunks_with_the_same_result(client, frame, monkeypatch):
    seen = []
    build = FramePlan.build

    def spy(self, rows):
        seen.append(len(rows))
        return build(self, rows)

    monkeypatch.setattr(FramePlan, "build", spy)
    chunked = sdk_core.frames.entity_frame(client.tickets, chunk_rows=60, page_size=50)
    pd.testing.assert_frame_equal(chunked, frame)
    assert len(seen) >= 3 and max(seen) < 60 + 50  # never more than a chunk plus one page at once


def test_module_level_to_dataframe_and_the_async_client(sandbox, client, frame, monkeypatch, tmp_path):
    pd.testing.assert_frame_equal(sdk_core.to_dataframe("Tickets", client=client), frame)
    for key, value in sandbox.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AUTOTASK_CACHE_DIR", str(tmp_path))
    companies = sdk_core.to_dataframe("companies", fields=["companyName"])
    assert len(companies) == client.companies.count() and companies["companyName"].dtype == "string"

    async def read():
        async with AsyncAutotaskClient(**sandbox.credentials, cache_dir=str(tmp_path)) as c:
            return await c.tickets.to_dataframe()

    import asyncio

    pd.testing.assert_frame_equal(asyncio.run(read()), frame)


def test_missing_pandas_names_the_extra(client, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"pip install 'autotask-liberator\[pandas\]'"):
        client.tickets.to_dataframe()


TIMESTAMP_FORMS = [
    "2026-01-31T15:04:05.307",
    "2026-01-31T15:04:05",
    "2026-01-31 15:04:05.5",
    "2026-01-31T15:04",
    "2026-01-31",
    "2026-01-31T15:04:05Z",
    "2026-01-31T15:04:05.307Z",
    "2026-01-31T15:04:05.1234567",
    "2026-01-31T15:04:05.1234567Z",
    "2026-01-31T15:04:05+02:00",
    "2026-01-31T15:04:05.25-0530",
    " 2026-01-31T15:04:05 ",
    "",
    None,
]


@pytest.mark.parametrize(
    "values",
    [
        TIMESTAMP_FORMS[:5],  # zone-less only: the fast cast
        TIMESTAMP_FORMS[5:7] + [None],  # all with Z: the other fast cast
        TIMESTAMP_FORMS,  # every form in one chunk: normalised, each form cast on its own
        [*TIMESTAMP_FORMS, "31/01/2026", "2026-13-45T99:99"],  # and values no form fits
    ],
)
def test_timestamps_are_read_as_parse_datetime_reads_them(values, caplog):
    import numpy as np

    from sdk_core._frame_arrays import typed_array

    found = typed_array(np.array(values, dtype=object), "datetime", udf=False, name="when").to_pylist()

    def expected(value):
        try:
            return parse_datetime(value)
        except ValueError:
            return None

    assert found == [expected(v) for v in values]
    assert all(f is None or f.utcoffset().total_seconds() == 0 for f in found)
    assert ("31/01/2026" in caplog.text) == ("31/01/2026" in values)  # a refused value is logged


def test_values_that_break_their_metadata_type_are_kept_as_sent(caplog):
    from sdk_core.frames import _Column

    rows = [
        {"id": 1, "n": 1, "s": "a", "b": True, "d": "2026-01-31T15:04:05Z"},
        {"id": 2, "n": 2.5, "s": 5, "b": None, "d": "2026-01-31T15:04:05.1234567+02:00"},
        {"id": 3, "n": 3, "s": None, "b": False, "d": "2026-01-31T15:04:05"},
    ]
    kinds = {"id": "int", "n": "int", "s": "string", "b": "bool", "d": "datetime"}
    plan = FramePlan([_Column(k, k, kind) for k, kind in kinds.items()])
    frame = plan.assemble([plan.build(rows[:2]), plan.build(rows[2:])])
    assert frame["n"].dtype == object and list(frame["n"]) == [1, 2.5, 3]  # 2.5 is not cut to 2
    assert "column n is not int" in caplog.text
    assert frame["s"].dtype == "string" and list(frame["s"].fillna("-")) == ["a", "5", "-"]
    assert frame["b"].dtype == "boolean" and frame["b"].isna().tolist() == [False, True, False]
    assert [t.to_pydatetime() for t in frame["d"]] == [parse_datetime(r["d"]) for r in rows]


def test_a_tenant_that_sends_zulu_timestamps(sandbox_factory, make_client):
    client = make_client(sandbox_factory(datetime_format="z"))
    raw = {t["id"]: t for t in client.tickets.query()}
    assert next(iter(raw.values()))["createDate"].endswith("Z")
    frame = client.tickets.to_dataframe(fields=["createDate", "completedDate", "Follow Up Date"])
    assert str(frame["createDate"].dtype) == "datetime64[us, UTC]" and len(frame) == len(raw)
    for tid, created, completed in frame[["id", "createDate", "completedDate"]].itertuples(index=False):
        assert created.to_pydatetime() == parse_datetime(raw[tid]["createDate"])
        assert (pd.isna(completed) and raw[tid]["completedDate"] is None) or (
            completed.to_pydatetime() == parse_datetime(raw[tid]["completedDate"])
        )


def test_the_async_frame_builds_chunks_off_the_event_loop(sandbox, frame, monkeypatch, tmp_path):
    import asyncio
    import threading

    threads = []
    build = FramePlan.build

    def spy(self, rows):
        threads.append(threading.current_thread())
        return build(self, rows)

    monkeypatch.setattr(FramePlan, "build", spy)

    async def read():
        async with AsyncAutotaskClient(**sandbox.credentials, cache_dir=str(tmp_path)) as c:
            return await sdk_core.frames.entity_frame_async(c.tickets, chunk_rows=60, page_size=50)

    pd.testing.assert_frame_equal(asyncio.run(read()), frame)
    assert len(threads) >= 3 and threading.main_thread() not in threads  # the loop kept reading


def test_an_error_while_reading_ahead_reaches_the_caller_of_either_client():
    import asyncio

    from sdk_core.frames import _chunks, _chunks_async, _Column, _read_ahead

    plan = FramePlan([_Column("id", "id", "int")])
    closed = []

    def pages():
        try:
            yield [{"id": 1}, {"id": 2}]
            raise QueryError("the API refused page 2")
        finally:
            closed.append("sync")

    async def apages():
        try:
            yield [{"id": 1}, {"id": 2}]
            raise QueryError("the API refused page 2")
        finally:
            closed.append("async")

    with pytest.raises(QueryError, match="refused page 2"):
        _chunks(plan, _read_ahead(pages(), 2), 1)
    with pytest.raises(QueryError, match="refused page 2"):
        asyncio.run(_chunks_async(plan, apages(), 1, 2))
    assert closed == ["sync", "async"]
