"""A number beyond double range (or NaN/Infinity) is refused by both targets, never written as null."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

BIN = Path(sys.executable).parent
SCHEMA = {
    "type": "SCHEMA",
    "stream": "t",
    "key_properties": ["id"],
    "schema": {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "x": {"type": ["number", "null"]}},
    },
}


@pytest.mark.parametrize(
    ("target", "number"),
    [
        ("target-files", "1e400"),
        ("target-files", "NaN"),
        ("target-sql", "-1e400"),
        ("target-sql", "Infinity"),
    ],
)
def test_non_finite_numbers_are_refused(target, number, tmp_path):
    config = (
        {"format": "jsonl", "output_dir": str(tmp_path / "out")}
        if target == "target-files"
        else {"sqlalchemy_url": f"sqlite:///{tmp_path / 'x.db'}"}
    )
    (tmp_path / "config.json").write_bytes(orjson.dumps(config))
    lines = [
        orjson.dumps(SCHEMA).decode(),
        '{"type": "RECORD", "stream": "t", "record": {"id": 1, "x": 2.5}}',
        '{"type": "RECORD", "stream": "t", "record": {"id": 2, "x": ' + number + "}}",
    ]
    done = subprocess.run(
        [str(BIN / target), "--config", str(tmp_path / "config.json")],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert f"Input line 3 holds the number {number}" in done.stderr
    assert not (tmp_path / "out" / "t.jsonl").exists()
