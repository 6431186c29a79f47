"""target-sql closes what it opens: no ResourceWarning at the end of a run."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import typing as t
from pathlib import Path

from .conftest import make_sql_destination

TARGET = str(Path(sys.executable).with_name("target-sql"))
MESSAGES = [
    {
        "type": "SCHEMA",
        "stream": "things",
        "key_properties": ["id"],
        "schema": {"properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
    },
    {"type": "RECORD", "stream": "things", "record": {"id": 1, "name": "one"}},
    {"type": "STATE", "value": {"done": True}},
]


def test_run_leaves_no_connection_open(tmp_path: Path) -> None:
    """PostgreSQL: psycopg warns about connections still open when they are collected."""
    with contextlib.contextmanager(make_sql_destination)("postgresql", tmp_path) as destination:
        _check_run(destination, tmp_path)


def _check_run(sql_destination: t.Any, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(sql_destination.config))
    env = {**os.environ, "PYTHONWARNINGS": "error::ResourceWarning", "PYTHONTRACEMALLOC": "1"}
    done = subprocess.run(
        [TARGET, "--config", str(config)],
        input="".join(json.dumps(m) + "\n" for m in MESSAGES).encode(),
        capture_output=True,
        env=env,
        check=False,
        timeout=120,
    )
    stderr = done.stderr.decode()
    assert done.returncode == 0, stderr[-2000:]
    assert "ResourceWarning" not in stderr, stderr[-2000:]
    assert json.loads(done.stdout) == {"done": True}
    assert sql_destination.count("things") == 1
