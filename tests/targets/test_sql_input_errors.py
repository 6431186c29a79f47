"""Bad input says where it is (line, stream, record, field), saves nothing and holds the state.

The reader is shared (target_adapters/common/reader.py), so the line and surrogate cases run
through target-files too.
"""

from __future__ import annotations

import contextlib
import io
import json
import typing as t
from pathlib import Path

import pytest
from singer_sdk.singerlib.exceptions import InvalidInputLine

from target_adapters.files.target import TargetFiles
from target_adapters.sql import RecordRejected, TargetSQL

from .conftest import SQLDestination, make_sql_destination

SCHEMA = {
    "type": "SCHEMA",
    "stream": "things",
    "key_properties": ["id"],
    "schema": {
        "properties": {
            "id": {"type": "integer"},
            "n": {"type": ["integer", "null"]},
            "s": {"type": ["string", "null"]},
        }
    },
}


def line(message: dict) -> bytes:
    return json.dumps(message).encode() + b"\n"


def rec(**fields: t.Any) -> bytes:
    return line({"type": "RECORD", "stream": "things", "record": fields})


STATE = line({"type": "STATE", "value": {"position": 1}})


def listen(target: t.Any, lines: list[bytes]) -> None:
    target.listen(io.BytesIO(b"".join(lines)))


def targets(tmp_path: Path, destination: SQLDestination) -> list[t.Any]:
    return [
        TargetSQL(config=destination.config),
        TargetFiles(config={"format": "csv", "output_dir": str(tmp_path / "out")}),
    ]


@pytest.fixture
def sqlite(tmp_path: Path) -> t.Iterator[SQLDestination]:
    with contextlib.contextmanager(make_sql_destination)("sqlite", tmp_path) as destination:
        yield destination


def saved_nothing(destination: SQLDestination, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert capsys.readouterr().out.strip() == "", "no STATE emitted"
    assert not destination.has_table("things") or destination.count("things") == 0
    assert not list((tmp_path / "out").glob("things*"))


def test_bad_json_names_its_input_line(
    sqlite: SQLDestination, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    for target in targets(tmp_path, sqlite):
        with pytest.raises(InvalidInputLine, match=r"Input line 4 is not valid JSON"):
            listen(target, [line(SCHEMA), rec(id=1), STATE, b'{"type": "RECORD", "stream": \n'])


def test_lone_surrogate_names_stream_record_and_field(
    sqlite: SQLDestination, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    bad = b'{"type": "RECORD", "stream": "things", "record": {"id": 7, "s": "a\\ud800b"}}\n'
    for target in targets(tmp_path, sqlite):
        with pytest.raises(
            InvalidInputLine,
            match=r"stream 'things', record on input line 3 "
            r"\(id 7\), field 's': .*lone UTF-16 surrogate",
        ):
            listen(target, [line(SCHEMA), rec(id=1, s="fine"), bad, STATE])
    saved_nothing(sqlite, tmp_path, capsys)


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_integer_beyond_64_bits_names_the_field(
    dialect: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    with contextlib.contextmanager(make_sql_destination)(dialect, tmp_path) as destination:
        with pytest.raises(
            RecordRejected,
            match=r"stream 'things', record #2: field 'n' is an "
            r"integer beyond 64 bits",
        ):
            listen(
                TargetSQL(config=destination.config),
                [line(SCHEMA), rec(id=1, n=1), rec(id=2, n=2**80), STATE],
            )
        saved_nothing(destination, tmp_path, capsys)


def test_a_number_that_is_not_finite_is_refused_at_its_input_line(
    sqlite: SQLDestination, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    # Before, NaN sent the line through the stdlib parser and was stored; now the reader refuses it.
    bad = b'{"type": "RECORD", "stream": "things", "record": {"id": 2, "n": %d, "s": NaN}}\n' % 2**80
    with pytest.raises(
        InvalidInputLine, match=r"Input line 3 holds the number NaN, which is not a finite number"
    ):
        listen(TargetSQL(config=sqlite.config), [line(SCHEMA), rec(id=1, n=1), bad, STATE])
    saved_nothing(sqlite, tmp_path, capsys)
