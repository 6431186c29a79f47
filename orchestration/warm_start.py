"""Warm starts for the tap and the targets: a resident process forks them already imported.

Nearly all the CPU of a run that finds nothing new is the two processes importing singer-sdk
and SQLAlchemy (about 3.5 of 3.7 CPU-s). A launcher process loads the console-script entry
points (`tap-autotask`, `target-sql`, `target-files`, looked up by name like any console script)
once; each run forks a child per program that calls the entry point with its own argv,
environment and the caller's pipes (passed over a Unix socket with SCM_RIGHTS). The programs
are still separate processes joined by an OS pipe: nothing of theirs is imported into Dagster.

On by default; `AUTOTASK_WARM_START=0` starts the programs as new processes instead. The first
run starts the launcher (detached, one per user, Python environment, installed packages and
code version of sdk_core, the tap and the targets, so it never runs stale code); it exits after
`AUTOTASK_WARM_IDLE_SECONDS` (default an hour) without requests. It is started with a bare
environment (no credentials: each program gets its run's environment explicitly), and a
program whose requesting run goes away (killed) is killed with it. Any failure to reach the
launcher falls back to starting the programs normally.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import logging
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import sysconfig
import tempfile
import time
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

__all__ = ["enabled", "WarmProcess", "spawn", "socket_path", "serve"]

PROGRAMS = ("tap-autotask", "target-sql", "target-files")
_HEADER = struct.Struct("!I")
START_TIMEOUT = 30.0  # seconds a first run waits for a new launcher to import the programs
log = logging.getLogger(__name__)
# What the launcher inherits: enough to find Python and its packages, never a credential.
_LAUNCHER_ENV = ("PATH", "HOME", "LANG", "TZ", "TMPDIR", "XDG_RUNTIME_DIR", "VIRTUAL_ENV", "PYTHONPATH")


def enabled() -> bool:
    """On unless `AUTOTASK_WARM_START` says off, where the OS can pass pipes to a fork."""
    off = os.environ.get("AUTOTASK_WARM_START", "").strip().lower() in ("0", "false", "no", "off")
    return not off and hasattr(os, "fork") and hasattr(socket, "send_fds") and hasattr(os, "pidfd_open")


def idle_seconds() -> float:
    return float(os.environ.get("AUTOTASK_WARM_IDLE_SECONDS") or 3600)


def _code_version() -> str:
    """Changes when the programs' code or the environment changes (a new launcher starts).

    site-packages' own mtime moves whenever a distribution is installed, removed or upgraded.
    """
    purelib = Path(sysconfig.get_paths()["purelib"])
    stamp = [
        sys.executable,
        f"{__file__}:{Path(__file__).stat().st_mtime_ns}",
        f"{purelib}:{purelib.stat().st_mtime_ns if purelib.exists() else 0}",
    ]
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


def _launcher_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in _LAUNCHER_ENV or k.startswith("LC_")}
    env.update({k: v for k, v in os.environ.items() if k.startswith("PYTHON") and k != "PYTHONSTARTUP"})
    return env


def _start_launcher() -> None:
    subprocess.Popen(
        [sys.executable, "-m", "orchestration.warm_start", str(socket_path()), str(idle_seconds())],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_launcher_env(),
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
) -> WarmProcess | None:
    """Fork `program` in the launcher with these file descriptors; None (logged) if unavailable."""
    sock = _connect()
    if sock is None:
        _start_launcher()
        deadline = time.monotonic() + START_TIMEOUT
        while sock is None and time.monotonic() < deadline:
            time.sleep(0.1)
            sock = _connect()
        if sock is None:
            log.warning(
                "the warm-start launcher did not start in %g s: starting %s cold", START_TIMEOUT, program
            )
            return None
    try:
        _send(sock, {"program": program, "args": args, "env": env, "cwd": cwd}, [stdin, stdout, stderr])
        message, _ = _recv(sock)
    except OSError as exc:
        sock.close()
        log.warning("the warm-start launcher failed (%s): starting %s cold", exc, program)
        return None
    if not message or "pid" not in message:
        sock.close()
        log.warning("the warm-start launcher refused %s: starting it cold", program)
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
    _kill_if_abandoned(conn, pid)
    _, status, usage = os.wait4(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    try:
        _send(conn, {"code": code, "cpu": usage.ru_utime + usage.ru_stime})
    except OSError:
        pass  # the run that asked is gone; nobody is left to tell


def _kill_if_abandoned(conn: socket.socket, pid: int) -> None:
    """Wait for the program to end; kill it if the run that asked for it goes away first.

    A cold start's programs die with their run's process group; a forked one belongs to the
    launcher, so the requester's end of the socket closing (its process killed) stands in.
    """
    pidfd = os.pidfd_open(pid)
    try:
        while True:
            ready, _, _ = select.select([conn.fileno(), pidfd], [], [])
            if pidfd in ready:
                return
            if not conn.recv(1, socket.MSG_PEEK):  # end of file: the requester is gone
                os.kill(pid, signal.SIGKILL)
                return
    finally:
        os.close(pidfd)


def _single(path: str) -> int | None:
    """A lock held for the launcher's life: two runs starting one at once leave one running."""
    fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def serve(path: str, idle: float) -> None:
    """Load the programs, then fork a handler per request until idle for `idle` seconds."""
    if _single(path) is None:
        return
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
    server.settimeout(idle)
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
    serve(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else idle_seconds())
