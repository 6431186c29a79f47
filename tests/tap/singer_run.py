"""Run tap-autotask in-process or as a process and read its Singer output (test helper)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tap_autotask import TapAutotask

TAP = str(Path(sys.executable).with_name("tap-autotask"))


@dataclass
class Output:
    """Singer messages of one run, grouped the way the tests look at them."""

    messages: list[dict[str, Any]]
    records: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    states: list[dict[str, Any]] = field(default_factory=list)
    activations: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def parse(cls, text: str) -> Output:
        lines = [line for line in text.splitlines() if line.strip()]
        if lines and not text.endswith("\n"):
            lines.pop()  # a process killed mid-write leaves half a line
        messages = [json.loads(line) for line in lines]
        out = cls(messages)
        for msg in messages:
            kind = msg["type"]
            if kind == "RECORD":
                out.records[msg["stream"]].append(msg["record"])
            elif kind == "SCHEMA":
                out.schemas[msg["stream"]] = msg
            elif kind == "STATE":
                out.states.append(msg["value"])
            elif kind == "ACTIVATE_VERSION":
                out.activations[msg["stream"]].append(msg["version"])
        return out

    @property
    def state(self) -> dict[str, Any] | None:
        return self.states[-1] if self.states else None

    def ids(self, stream: str) -> list[int]:
        return [r["id"] for r in self.records.get(stream, [])]


def tap_config(server: Any, **extra: Any) -> dict[str, Any]:
    """Config pointing at a sandbox server."""
    return {
        "username": server.username,
        "secret": server.secret,
        "integration_code": server.integration_code,
        "api_url": server.api_url,
        **extra,
    }


def run_tap(config: dict[str, Any], state: dict[str, Any] | None = None) -> Output:
    """One sync in this process (fast; what most tests use)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        tap = TapAutotask(config=config, state=state or {}, parse_env_config=False)
        tap.sync_all()
    return Output.parse(buffer.getvalue())


def start_tap(
    config: dict[str, Any],
    workdir: Path,
    state: dict[str, Any] | None = None,
) -> tuple[subprocess.Popen[bytes], Path]:
    """The real console script as a child process, stdout to a file (for kill -9 tests)."""
    cfg = workdir / "config.json"
    cfg.write_text(json.dumps(config))
    args = [TAP, "--config", str(cfg)]
    if state is not None:
        st = workdir / "state.json"
        st.write_text(json.dumps(state))
        args += ["--state", str(st)]
    out = workdir / f"out-{len(list(workdir.glob('out-*')))}.jsonl"
    proc = subprocess.Popen(
        args,
        stdout=out.open("wb"),
        stderr=out.with_suffix(".log").open("wb"),
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    return proc, out
