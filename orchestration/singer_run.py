"""Run `tap-autotask | target` as two processes joined by an OS pipe, and watch them.

The records never pass through Dagster: the tap writes straight into the target. Dagster reads
only the processes' logs (forwarded with secrets masked), the tap's singer-sdk METRIC lines
(`record_count` per stream; `http_request_count` per stream and endpoint, see
`tap_autotask.request_metrics`), and the target's stdout, where each STATE arrives after the
rows before it are committed; every one is saved to the state store at once, so a killed run
resumes from the last committed state.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import warm_start

__all__ = ["SingerCommand", "RunResult", "SingerRunError", "run_pipeline", "Masker", "read_metric"]

_METRIC = re.compile(r"METRIC: (\{.*\})\s*$")
_LEVEL = re.compile(r"\|\s*(DEBUG|INFO|WARNING|ERROR|CRITICAL)\s*\|")
# singer-sdk logs METRIC lines at INFO, on a logger set to the tap's level (TAP_AUTOTASK_LOGLEVEL,
# else LOGLEVEL): a quieter level would hide the counts the materializations report.
_QUIET_LEVELS = {"WARNING", "WARN", "ERROR", "CRITICAL", "FATAL"}


class SingerRunError(RuntimeError):
    """The tap or the target exited with an error; the message carries their last lines."""


class Masker:
    """Replaces every secret value (and URL passwords) in text with `****`."""

    def __init__(self, secrets: Iterable[str]):
        values = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(v) for v in values)) if values else None

    def __call__(self, text: str) -> str:
        return self._pattern.sub("****", text) if self._pattern else text


@dataclass(frozen=True)
class SingerCommand:
    """One process: executable, config (written to a private temp file) and extra arguments."""

    executable: str
    config: dict[str, Any]
    name: str


@dataclass
class RunResult:
    records: Counter = field(default_factory=Counter)
    requests: Counter = field(default_factory=Counter)  # stream (`_tap`: outside any) -> attempts
    endpoints: Counter = field(default_factory=Counter)  # (stream, endpoint) -> attempts
    state: dict[str, Any] = field(default_factory=dict)
    states_saved: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())


def run_pipeline(
    tap: SingerCommand,
    target: SingerCommand,
    *,
    state: dict[str, Any],
    on_state: Callable[[dict[str, Any]], None],
    log: Callable[[str, str], None],
    mask: Masker,
    heartbeat: Callable[[], None] | None = None,
    heartbeat_every: float = 30.0,
    env: dict[str, str] | None = None,
) -> RunResult:
    """Run tap | target to the end; raise SingerRunError (masked) if either fails."""
    result = RunResult()
    started = time.monotonic()
    cpu_before = os.times()
    with tempfile.TemporaryDirectory(prefix="autotask-dagster-") as tmp:
        folder = Path(tmp)
        paths = {}
        for command in (tap, target):
            path = folder / f"{command.name}.json"
            path.touch(mode=0o600)
            path.write_text(json.dumps(command.config))
            paths[command.name] = path
        state_path = folder / "state.json"
        state_path.touch(mode=0o600)
        state_path.write_text(json.dumps(state))
        base_env = dict(os.environ if env is None else env)
        tap_env = _tap_env(base_env)
        tap_args = [tap.executable, "--config", str(paths[tap.name])]
        if state:
            tap_args += ["--state", str(state_path)]
        tap_proc, target_proc, streams = _start(
            tap_args,
            [target.executable, "--config", str(paths[target.name])],
            tap_env,
            base_env,
            tmp,
            (Path(tap.executable).name, Path(target.executable).name),
        )
        tails: dict[str, deque[str]] = {tap.name: deque(maxlen=15), target.name: deque(maxlen=15)}
        failures: list[BaseException] = []

        def watch_stderr(name: str, stream: Any, is_tap: bool) -> None:
            for raw in stream:
                line = mask(raw.decode("utf-8", "replace").rstrip())
                if not line:
                    continue
                if is_tap:
                    metric = _METRIC.search(line)
                    if metric:
                        read_metric(metric.group(1), result)
                tails[name].append(line)
                level = _LEVEL.search(line)
                log(level.group(1) if level else "INFO", f"[{name}] {line}")

        def watch_states() -> None:
            try:
                for raw in streams[1]:
                    text = raw.strip()
                    if not text:
                        continue
                    new_state = json.loads(text)
                    on_state(new_state)  # committed by the target: persist before going on
                    result.state = new_state
                    result.states_saved += 1
            except BaseException as exc:
                failures.append(exc)
                target_proc.kill()
                tap_proc.kill()

        threads = [
            threading.Thread(target=watch_stderr, args=(tap.name, streams[0], True), daemon=True),
            threading.Thread(target=watch_stderr, args=(target.name, streams[2], False), daemon=True),
            threading.Thread(target=watch_states, daemon=True),
        ]
        for thread in threads:
            thread.start()
        try:
            while target_proc.poll() is None or tap_proc.poll() is None:
                try:
                    target_proc.wait(timeout=heartbeat_every)
                    tap_proc.wait(timeout=heartbeat_every)
                except subprocess.TimeoutExpired:
                    if heartbeat is not None:
                        heartbeat()
        except BaseException:
            tap_proc.kill()
            target_proc.kill()
            raise
        finally:
            for thread in threads:
                thread.join(timeout=30)
        cpu_after = os.times()
        result.seconds = time.monotonic() - started
        result.cpu_seconds = (
            (cpu_after.children_user - cpu_before.children_user)
            + (cpu_after.children_system - cpu_before.children_system)
            + sum(getattr(p, "cpu_seconds", 0.0) for p in (tap_proc, target_proc))
        )
        for stream in streams:
            stream.close()
        if failures:
            raise SingerRunError(f"Saving the target's state failed: {mask(str(failures[0]))}")
        # The target first: when it dies the tap fails too (broken pipe), and the cause is
        # the target's; when the tap fails, the target ends cleanly.
        for command, proc in ((target, target_proc), (tap, tap_proc)):
            if proc.returncode != 0:
                raise SingerRunError(
                    f"{command.name} exited with code {proc.returncode}; its last lines:\n"
                    + "\n".join(tails[command.name])
                )
    return result


def _start(
    tap_args: list[str],
    target_args: list[str],
    tap_env: dict[str, str],
    env: dict[str, str],
    cwd: str,
    names: tuple[str, str],
) -> tuple[Any, Any, list[Any]]:
    """Start tap | target: forked warm by the launcher when enabled, else as new processes.

    Returns both processes and the streams to read: tap stderr, target stdout, target stderr.
    """
    if warm_start.enabled() and all(name in warm_start.PROGRAMS for name in names):
        pipe_r, pipe_w = os.pipe()
        reads, writes = zip(*(os.pipe() for _ in range(3)))
        with open(os.devnull, "rb") as null:
            tap = warm_start.spawn(
                names[0],
                tap_args[1:],
                stdin=null.fileno(),
                stdout=pipe_w,
                stderr=writes[0],
                env=tap_env,
                cwd=cwd,
            )
            target = tap and warm_start.spawn(
                names[1], target_args[1:], stdin=pipe_r, stdout=writes[1], stderr=writes[2], env=env, cwd=cwd
            )
        for fd in (pipe_r, pipe_w, *writes):
            os.close(fd)
        if tap is not None and target is not None:
            return tap, target, [os.fdopen(fd, "rb") for fd in reads]
        if tap is not None:
            tap.kill()
        for fd in reads:
            os.close(fd)
    tap_proc = subprocess.Popen(
        tap_args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=tap_env, cwd=cwd
    )
    target_proc = subprocess.Popen(
        target_args, stdin=tap_proc.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd
    )
    assert tap_proc.stdout is not None
    tap_proc.stdout.close()  # the target holds the only reader: a dead target stops the tap
    return tap_proc, target_proc, [tap_proc.stderr, target_proc.stdout, target_proc.stderr]


def _tap_env(env: dict[str, str]) -> dict[str, str]:
    """The tap's environment, with its level no quieter than INFO (see `_QUIET_LEVELS`)."""
    level = env.get("TAP_AUTOTASK_LOGLEVEL") or env.get("LOGLEVEL") or ""
    if level.strip().upper() in _QUIET_LEVELS:
        return {**env, "TAP_AUTOTASK_LOGLEVEL": "INFO"}
    return dict(env)


def read_metric(payload: str, result: RunResult) -> None:
    """Add one METRIC line of the tap (its JSON) to the run's counts; counters add up."""
    try:
        metric = json.loads(payload)
        tags = metric.get("tags") or {}
        name, stream, value = metric.get("metric"), tags.get("stream"), int(metric.get("value") or 0)
    except (ValueError, TypeError, AttributeError):
        return
    if not stream or metric.get("type") != "counter":
        return
    if name == "record_count":
        result.records[stream] += value
    elif name == "http_request_count":
        result.requests[stream] += value
        result.endpoints[(stream, str(tags.get("endpoint") or ""))] += value
