"""Helpers (no tests) for the target-files tests: run the target in-process on built messages."""

from __future__ import annotations

import contextlib
import io
import json
import typing as t

from target_adapters.files.target import TargetFiles


def schema(stream: str, properties: dict, key_properties: list[str] | None = None) -> dict:
    """A SCHEMA message."""
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": properties},
        "key_properties": key_properties if key_properties is not None else ["id"],
    }


def record(stream: str, rec: dict) -> dict:
    """A RECORD message."""
    return {"type": "RECORD", "stream": stream, "record": rec}


def state(value: dict) -> dict:
    """A STATE message."""
    return {"type": "STATE", "value": value}


def run_target(config: dict, messages: t.Iterable[dict]) -> list[dict]:
    """Run the target to the end of its input; return the STATE values it emitted."""
    lines = "".join(json.dumps(m) + "\n" for m in messages)
    target = TargetFiles(config=config, validate_config=True)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        target.process_lines(io.StringIO(lines))
        target.process_endofpipe()
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
