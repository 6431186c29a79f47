"""Row sources of the bulk engine (pure functions: no server needed)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from sdk_core import ConfigurationError, load_catalog
from sdk_core.bulk.sources import iter_rows

TICKETS = load_catalog().get("Tickets")


def test_a_frame_becomes_plain_json_ready_rows_without_missing_cells():
    frame = pd.DataFrame(
        {
            "id": pd.array([1, 2], dtype="Int64"),
            "priority": pd.array([2, None], dtype="Int64"),
            "estimatedHours": [1.5, np.nan],
            "dueDateTime": [pd.Timestamp("2030-01-02 03:04:05", tz="UTC"), pd.NaT],
            "title": ["a", None],
        }
    )
    rows = list(iter_rows(frame, TICKETS))
    assert rows == [
        {
            "id": 1,
            "priority": 2,
            "estimatedHours": 1.5,
            "dueDateTime": "2030-01-02T03:04:05.000Z",
            "title": "a",
        },
        {"id": 2},
    ]
    assert all(type(v) in (int, float, str) for row in rows for v in row.values())
    assert list(iter_rows(frame, TICKETS, nulls="send"))[1] == {
        "id": 2,
        "priority": None,
        "estimatedHours": None,
        "dueDateTime": None,
        "title": None,
    }


def test_csv_cells_are_typed_by_the_catalog(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text(
        "id,priority,title,isVisibleToComanaged,estimatedHours,dueDateTime\n"
        "7,2,007,true,1.25,\n8,high,x,0,,2030-01-01T00:00:00Z\n"
    )
    first, second = iter_rows(path, TICKETS)
    assert first == {
        "id": 7,
        "priority": 2,
        "title": "007",
        "isVisibleToComanaged": True,
        "estimatedHours": 1.25,
    }
    assert second["priority"] == "high"  # left as given: the checks name the field and the value
    assert second["isVisibleToComanaged"] is False and "estimatedHours" not in second


def test_deletes_take_bare_ids_and_dicts_keep_their_values():
    when = datetime(2030, 1, 2, tzinfo=UTC)
    assert list(iter_rows([5, {"id": 6, "dueDateTime": when, "title": None}], TICKETS)) == [
        {"id": 5},
        {"id": 6, "dueDateTime": "2030-01-02T00:00:00.000Z", "title": None},
    ]


@pytest.mark.parametrize(
    "source, words",
    [
        ({"title": "x"}, "not one dict"),
        (42, "not a row source"),
        ("missing.csv", "does not exist"),
    ],
)
def test_wrong_sources_say_what_to_give(source, words, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError, match=words):
        list(iter_rows(source, TICKETS))


def test_a_row_that_is_not_a_dict_is_named():
    with pytest.raises(ConfigurationError, match="bulk row 1: str is not a dict"):
        list(iter_rows([{"id": 1}, "oops"], TICKETS))


def test_pandas_and_pyarrow_load_only_for_frames_and_parquet():
    import subprocess
    import sys

    code = (
        "import sys\nfrom sdk_core import AutotaskClient, load_catalog\n"
        "from sdk_core.bulk.runner import run_bulk\nfrom sdk_core.bulk.sources import iter_rows\n"
        "rows = list(iter_rows([{'id': 1}, 2], load_catalog().get('Tickets')))\n"
        "print(rows, sorted({'pandas', 'pyarrow', 'numpy'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[{'id': 1}, {'id': 2}] []"
