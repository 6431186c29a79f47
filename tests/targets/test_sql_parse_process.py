"""target-sql's parsing process (PostgreSQL): same rows and states as parsing in the target,
in order, bounded in memory, and every failure (a bad record in a later chunk, the child
dying) stops the run with a clear error and no state past unsaved rows."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import time
import typing as t
from pathlib import Path

import psutil
import pytest

from target_adapters.common.schema_types import column_types
from target_adapters.sql import TargetSQL
from target_adapters.sql.parse_process import ParsePool, RowSpec
from target_adapters.sql.rows import POSTGRES, compile_rows

from .conftest import SQLDestination, make_sql_destination

TARGET = str(Path(sys.executable).with_name("target-sql"))
BLOCK_ROWS = 1_000  # more records than a block of input holds (1 MB; these lines are short)
PROPERTIES = {
    "id": {"type": "integer"},
    "title": {"type": ["string", "null"]},
    "hours": {"type": ["number", "null"]},
    "notes": {"type": ["object", "null"]},
    "_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"},
}


def schema(**extra: dict) -> dict:
    return {
        "type": "SCHEMA",
        "stream": "tickets",
        "key_properties": ["id"],
        "schema": {"properties": {**PROPERTIES, **extra}},
    }


def record(id_: int, **fields: t.Any) -> dict:
    return {"type": "RECORD", "stream": "tickets", "record": {"id": id_, **fields}, "version": 7}


def state(position: int) -> dict:
    return {"type": "STATE", "value": {"position": position}}


def encode(messages: t.Iterable[dict]) -> bytes:
    return b"".join(json.dumps(m).encode() + b"\n" for m in messages)


def mixed_stream() -> list[dict]:
    """Chunks and batches cut in different places, duplicates across both, deletion records
    (one for a row buffered in the same batch, one for a row of an earlier batch), a
    schema change, and STATEs in between."""
    messages = [schema()]
    for i in range(1, 2 * BLOCK_ROWS + 500):
        messages.append(record(i % 1700 + 1, title=f"t{i}\ttab", hours=i / 4, notes={"n": i}))
        if i % 400 == 0:
            messages.append(state(i))
        if i == 1500:
            messages.append(record(1490, _sdc_deleted_at="2024-05-01T00:00:00Z"))  # buffered now
            messages.append(record(1000, _sdc_deleted_at="2024-05-02T00:00:00Z"))  # an earlier batch
    messages.append(schema(extra={"type": ["string", "null"]}))
    messages += [record(5000 + i, title="after", extra=str(i)) for i in range(50)]
    messages.append(state(99_999))
    return messages


def run(config: dict, messages: list[dict], capsys: pytest.CaptureFixture) -> list[dict]:
    capsys.readouterr()
    TargetSQL(config=config).listen(io.BytesIO(encode(messages)))
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]


def test_parsing_process_stores_what_the_target_alone_stores(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    messages = mixed_stream()
    stored, states = [], []
    for parse_process in (True, False):
        with contextlib.contextmanager(make_sql_destination)("postgresql", tmp_path) as destination:
            config = {**destination.config, "batch_size_rows": 700, "parse_process": parse_process}
            states.append(run(config, messages, capsys))
            stored.append(
                destination.rows(
                    "tickets",
                    "id",
                    "title",
                    "hours",
                    "notes",
                    "extra",
                    "_sdc_deleted_at",
                    "_sdc_table_version",
                )
            )
    assert stored[0] == stored[1]
    assert states[0] == states[1]
    assert states[0][-1] == {"position": 99_999}
    by_id = {row[0]: row for row in stored[0]}
    assert by_id[1490][1] is not None and by_id[1490][5] is not None, "the mark kept the buffered row"
    assert by_id[1000][5] is not None and by_id[1000][1] == "t999\ttab", "the mark kept the stored row"
    assert "\t" in by_id[2][1]
    assert by_id[5049][4] == "49"


@pytest.mark.parametrize("parse_process", [True, False])
def test_a_bad_record_in_a_later_chunk_rolls_back_its_batch_and_holds_the_state(
    parse_process: bool, tmp_path: Path
) -> None:
    messages: list[dict] = [schema()]
    for i in range(1, 3 * BLOCK_ROWS + 500):
        messages.append(record(i, title="x", hours=1.5) if i != 2700 else record(i, hours="many"))
        if i % 500 == 0:
            messages.append(state(i))
    with contextlib.contextmanager(make_sql_destination)("postgresql", tmp_path) as destination:
        config = tmp_path / "config.json"
        settings = {**destination.config, "batch_size_rows": 1000, "parse_process": parse_process}
        config.write_text(json.dumps(settings))
        done = subprocess.run([TARGET, "--config", str(config)], input=encode(messages), capture_output=True)
        assert done.returncode != 0
        assert "stream 'tickets', record #2700: field 'hours'" in done.stderr.decode()
        assert destination.count("tickets") == 2000  # two whole batches; the third rolled back
        emitted = [json.loads(line) for line in done.stdout.decode().splitlines() if line]
        assert emitted[-1] == {"position": 2000}


@pytest.mark.parametrize("sql_destination", ["postgresql"], indirect=True)
def test_the_parsing_process_dying_stops_the_run_clearly(
    sql_destination: SQLDestination, tmp_path: Path
) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({**sql_destination.config, "batch_size_rows": 100, "parse_process": True}))
    out, err = tmp_path / "out", tmp_path / "err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [TARGET, "--config", str(config)], stdin=subprocess.PIPE, stdout=stdout, stderr=stderr
        )
    assert proc.stdin is not None
    proc.stdin.write(encode([schema(), *(record(i, title="x") for i in range(1, 251)), state(250)]))
    proc.stdin.flush()
    deadline = time.monotonic() + 30
    while not (children := psutil.Process(proc.pid).children()):
        assert time.monotonic() < deadline, "no parsing process started"
        time.sleep(0.05)
    # The input pauses: the child sends what it has at once (not when a chunk is full),
    # so the first two batches of 100 get committed.
    while not (sql_destination.has_table("tickets") and sql_destination.count("tickets") >= 200):
        assert time.monotonic() < deadline, "rows held back while the input paused"
        time.sleep(0.05)
    children[0].kill()  # one of the parsing processes
    with contextlib.suppress(BrokenPipeError):
        for start in range(251, 400, 30):  # blocks for each child in turn, the dead one too
            proc.stdin.write(encode([record(i, title="y") for i in range(start, start + 30)]))
            proc.stdin.flush()
            time.sleep(0.1)
        proc.stdin.close()
    assert proc.wait(timeout=60) != 0
    assert "parsing process stopped before the end of the input" in err.read_text()
    committed = sql_destination.count("tickets") if sql_destination.has_table("tickets") else 0
    emitted = [json.loads(line) for line in out.read_text().splitlines() if line]
    assert all(s["position"] <= committed for s in emitted), "a state ran ahead of the saved rows"


class _Endless(io.RawIOBase):
    """A SCHEMA, then records without end; counts the bytes the parsing process took."""

    def __init__(self) -> None:
        self.taken = 0
        self.next_id = 0
        self.first = encode([schema()])

    def read(self, size: int = -1) -> bytes:
        if self.first:
            data, self.first = self.first, b""
        else:
            data = encode([record(self.next_id + i, title="x" * 80) for i in range(500)])
            self.next_id += 500
        self.taken += len(data)
        return data


def test_memory_is_bounded_by_the_queue_not_the_input() -> None:
    source = _Endless()
    pool = ParsePool(strip_nul=True, source=source)
    try:
        items = pool.items()
        assert next(items)[0] == "schema"  # the feeder waits until the target answers it
        types = column_types(schema()["schema"])
        columns = compile_rows("tickets", types, POSTGRES, required=["id"]).columns
        pool.resume(RowSpec("tickets", dict(types), "postgresql", ["id"], columns, False, 0, 0, True))
        assert next(items)[0] == "lines"
        time.sleep(2)  # the target reads nothing more: the feeder must stop reading too
        taken = source.taken
        time.sleep(1)
        assert source.taken == taken, "the input was read on while nobody took the results"
        assert taken < 24 * 2**20, f"{taken} bytes read ahead"
    finally:
        pool.close()
