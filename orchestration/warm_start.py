"""Warm starts for the tap and the targets: a resident process forks them already imported.

Nearly all the CPU of a run that finds nothing new is the two processes importing singer-sdk
and SQLAlchemy (about 3.5 of 3.7 CPU-s). A launcher process loads the console-script entry
points (`tap-autotask`, `target-sql`, `target-files`, looked up by name like any console script)
once; each run forks a child per program that calls the entry point with its own argv,
environment and the caller's pipes (passed over a Unix socket with SCM_RIGHTS). The programs
are still separate processes joined by an OS pipe: nothing of theirs is imported into Dagster.

Opt-in with `AUTOTASK_WARM_START=1`. The first run starts the launcher (detached, one per
user, Python environment and code version of sdk_core, the tap and the targets); it exits after
`AUTOTASK_WARM_IDLE_SECONDS` (default an hour) without requests.
Any failure to reach it falls back to starting the programs normally.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

__all__ = ["enabled", "WarmProcess", "spawn", "socket_path", "serve"]

PROGRAMS = ("tap-autotask", "target-sql", "target-files")
IDLE_SECONDS = float(os.environ.get("AUTOTASK_WARM_IDLE_SECONDS", 3600))
_HEADER = struct.Struct("!I")


def enabled() -> bool:
    return os.environ.get("AUTOTASK_WARM_START", "").strip().lower() in ("1", "true", "yes")


def _code_version() -> str:
    """Changes when the programs' code or the environment changes (a new launcher starts)."""
    stamp = [sys.executable, f"{__file__}:{Path(__file__).stat().st_mtime_ns}"]
    packages = {"sdk_core"} | {
        ep.value.split(":")[0].split(".")[0]
        for ep in entry_points(group="console_scripts")
        if ep.name in PROGRAMS
    }
    for package in sorted(packages):
        spec = importlib.util.find_spec(package)
        if spec and spec.submodule_search_locations:
            for folder in spec.submodule_search_locations:
                for path in sorted(Path(folder).rglob("*.py")):
                    stamp.append(f"{path}:{path.stat().st_mtime_ns}")
    return hashlib.sha256("\n".join(stamp).encode()).hexdigest()[:12]


def socket_path() -> Path:
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir())
    return base / f"autotask-warm-{os.getuid()}-{_code_version()}.sock"


def _send(sock: socket.socket, payload: dict[str, Any], fds: list[int] | None = None) -> None:
    data = json.dumps(payload).encode()
    message = _HEADER.pack(len(data)) + data
    if fds:
        socket.send_fds(sock, [message], fds)
    else:
        sock.sendall(message)


def _recv(sock: socket.socket, with_fds: int = 0) -> tuple[dict[str, Any] | None, list[int]]:
    if with_fds:
        data, fds, _flags, _addr = socket.recv_fds(sock, 1 << 20, with_fds)
    else:
        data, fds = sock.recv(1 << 20), []
    if not data:
        return None, list(fds)
    (size,) = _HEADER.unpack(data[:4])
    body = data[4:]
    while len(body) < size:
        more = sock.recv(size - len(body))
        if not more:
            return None, list(fds)
        body += more
    return json.loads(body), list(fds)


class WarmProcess:
    """A program forked by the launcher; the subset of `subprocess.Popen` the runner uses."""

    def __init__(self, sock: socket.socket, pid: int):
        self._sock, self.pid = sock, pid
        self.returncode: int | None = None
        self.cpu_seconds = 0.0

    def poll(self) -> int | None:
        if self.returncode is None:
            self._sock.setblocking(False)
            try:
                self._finish()
            except (BlockingIOError, InterruptedError):
                pass
            finally:
                if self.returncode is None:
                    self._sock.setblocking(True)
        return self.returncode

    def _finish(self) -> None:
        message, _ = _recv(self._sock)
        self._sock.setblocking(True)
        if message is None:
            self.returncode = -1  # the launcher died: report a failure, never a success
        else:
            self.returncode = int(message["code"])
            self.cpu_seconds = float(message.get("cpu", 0.0))
        self._sock.close()

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self._sock.settimeout(timeout)
            try:
                self._finish()
            except TimeoutError:
                self._sock.settimeout(None)
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0) from None
        return self.returncode  # type: ignore[return-value]  # set by wait() first

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _connect() -> socket.socket | None:
    path = socket_path()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
        return sock
    except OSError:
        sock.close()
        return None


def _start_launcher() -> None:
    subprocess.Popen(
        [sys.executable, "-m", "orchestration.warm_start", str(socket_path())],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def spawn(
    program: str,
    args: list[str],
    *,
    stdin: int,
    stdout: int,
    stderr: int,
    env: dict[str, str],
    cwd: str,
    start_timeout: float = 30.0,
) -> WarmProcess | None:
    """Fork `program` in the launcher with these file descriptors; None if unavailable."""
    sock = _connect()
    if sock is None:
        _start_launcher()
        deadline = time.monotonic() + start_timeout
        while sock is None and time.monotonic() < deadline:
            time.sleep(0.1)
            sock = _connect()
        if sock is None:
            return None
    try:
        _send(sock, {"program": program, "args": args, "env": env, "cwd": cwd}, [stdin, stdout, stderr])
        message, _ = _recv(sock)
    except OSError:
        sock.close()
        return None
    if not message or "pid" not in message:
        sock.close()
        return None
    return WarmProcess(sock, int(message["pid"]))


# -- the launcher ---------------------------------------------------------------------------


def _load_programs() -> dict[str, Any]:
    """The programs' entry points, imported once (what every run would import again)."""
    loaded = {}
    for ep in entry_points(group="console_scripts"):
        if ep.name in PROGRAMS:
            ep.load()
            loaded[ep.name] = ep
    import tap_autotask.tap  # noqa: F401  (tap-autotask's entry point defers singer-sdk to first use)

    logging.getLogger().handlers.clear()  # set up again in each child, with its environment
    return loaded


def _run_child(entry: Any, name: str, request: dict[str, Any], fds: list[int]) -> None:
    """In the forked child: become the program (never returns)."""
    code = 1
    try:
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = [name, *request["args"]]
        program = entry.load()  # modules are loaded: this only sets up logging, as a start does
        try:
            if hasattr(program, "main"):  # a click command (the targets)
                program(args=request["args"], prog_name=name)
            else:  # a plain function reading sys.argv (tap-autotask's warm-discovery front door)
                program()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)


def _handle(conn: socket.socket, programs: dict[str, Any]) -> None:
    """In a forked handler: fork the program, report its pid, then its exit code and CPU."""
    request, fds = _recv(conn, with_fds=3)
    if request is None or len(fds) != 3 or request.get("program") not in programs:
        _send(conn, {"error": "bad request"})
        return
    pid = os.fork()
    if pid == 0:
        conn.close()
        _run_child(programs[request["program"]], request["program"], request, fds)
    for fd in fds:
        os.close(fd)
    _send(conn, {"pid": pid})
    _, status, usage = os.wait4(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    _send(conn, {"code": code, "cpu": usage.ru_utime + usage.ru_stime})


def serve(path: str) -> None:
    """Load the programs, then fork a handler per request until idle for IDLE_SECONDS."""
    programs = _load_programs()
    import singer_sdk  # noqa: F401  (warm the shared heavy imports too)
    import sqlalchemy  # noqa: F401  (loaded once for every child)

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # handlers are reaped automatically
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    tmp = f"{path}.{os.getpid()}"
    server.bind(tmp)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)  # atomically: clients never see a half-made socket
    server.listen(64)
    server.settimeout(IDLE_SECONDS)
    try:
        while True:
            try:
                conn, _ = server.accept()
            except TimeoutError:
                return
            if os.fork() == 0:
                server.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                try:
                    _handle(conn, programs)
                finally:
                    os._exit(0)
            conn.close()
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
        server.close()


if __name__ == "__main__":
    serve(sys.argv[1])
