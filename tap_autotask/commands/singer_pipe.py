"""Feeding Singer messages to a target process and watching what it says.

The target's stdout (STATE lines) is read on a thread so neither side can block the other;
its stderr goes to a log file whose last lines are shown when it fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

import orjson

from sdk_core.errors import AutotaskError

from .destinations import Destination

__all__ = ["TargetProcess", "TargetFailed"]

_WROTE = re.compile(r"Wrote (?P<rows>\d+) rows to (?P<stream>[\w.-]+)")
_RECORD_COUNT = re.compile(
    r'"metric": ?"record_count", ?"value": ?(?P<rows>\d+), ?"tags": ?\{"stream": ?"(?P<stream>[^"]+)"'
)


class TargetFailed(AutotaskError):
    """The target exited non-zero; nothing it had not confirmed is to be trusted."""


class TargetProcess:
    """One run of a target: `send()` messages, then `close()`; STATE messages reach `on_state`."""

    def __init__(
        self,
        destination: Destination,
        log_path: Path,
        on_state: Callable[[dict], None] | None = None,
        stdin: IO[bytes] | int | None = None,
        on_log: Callable[[str], None] | None = None,
    ):
        self.destination = destination
        self.log_path = log_path
        self.states: list[dict] = []
        self._on_state = on_state
        self._on_log = on_log
        self._log = log_path.open("wb")
        env = {**os.environ, **destination.env()}
        self.proc = subprocess.Popen(
            destination.argv,
            stdin=stdin if stdin is not None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self._readers = [
            threading.Thread(target=self._read_states, daemon=True),
            threading.Thread(target=self._read_log, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_log(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._log.write(line)
            if self._on_log:
                self._on_log(line.decode("utf-8", "replace"))
        self._log.flush()

    def _read_states(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                message = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if not isinstance(message, dict):
                continue
            # singer-sdk targets print the bare state value; others wrap it in a STATE message.
            value = message["value"] if message.get("type") == "STATE" else message
            self.states.append(value)
            if self._on_state:
                self._on_state(value)

    def send(self, messages: Iterable[dict]) -> None:
        assert self.proc.stdin is not None
        write = self.proc.stdin.write
        try:
            for message in messages:
                write(orjson.dumps(message) + b"\n")
        except BrokenPipeError:
            pass  # the target stopped early; close() reports why

    def close(self) -> int:
        """Wait for the target; raises TargetFailed with the end of its log on failure."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
        code = self.proc.wait()
        for reader in self._readers:
            reader.join(timeout=10)
        self._log.close()
        if code != 0:
            raise TargetFailed(
                f"{self.destination.command} failed (exit {code}) writing to "
                f"{self.destination.label}; last lines of {self.log_path}:\n" + last_lines(self.log_path)
            )
        return code

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        for reader in self._readers:
            reader.join(timeout=10)
        self._log.close()


def last_lines(path: Path, n: int = 12) -> str:
    with path.open("rb") as handle:
        tail = deque(handle, maxlen=n)
    return b"".join(tail).decode("utf-8", "replace")


def rows_written(line: str) -> tuple[str, int] | None:
    """(stream, rows) from target-sql's "Wrote N rows to STREAM" line (live progress)."""
    match = _WROTE.search(line)
    return (match["stream"], int(match["rows"])) if match else None


def rows_counted(line: str) -> tuple[str, int] | None:
    """(stream, rows) from singer-sdk's record_count metric, which every target logs."""
    match = _RECORD_COUNT.search(line)
    return (match["stream"], int(match["rows"])) if match else None
