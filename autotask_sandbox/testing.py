"""Run a real sandbox server in a subprocess, for tests, demos and benchmarks.

    with SandboxServer(scale="tiny", seed=1, latency_ms=50) as sb:
        AutotaskClient(**sb.credentials)          # username, secret, integration_code, api_url
        sb.admin.set_faults("500:0.5"); sb.admin.reset(); sb.admin.stats()
        sb.admin.add_udf("Companies", "contract-value", "double")

The tenant comes from the cache (`autotask_sandbox.cache`) and is copied per server, so servers
never share state; `admin.reset()` restores that copy. The server listens on a free port of
127.0.0.1 chosen by the OS and reports it on stdout once it answers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from collections import deque
from pathlib import Path
from typing import Any

import httpx

from .cache import working_copy
from .settings import DEFAULT_INTEGRATION_CODE, DEFAULT_SECRET, DEFAULT_USERNAME

READY = "Autotask sandbox serving REST root "


class SandboxError(RuntimeError):
    """The sandbox server could not start or an admin call failed."""


class Admin:
    """Client of the `/_sandbox/` control path."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/") + "/"
        self._http = httpx.Client(timeout=30)

    def _check(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise SandboxError(
                f"{response.request.method} {response.request.url} -> {response.status_code}: {response.text}"
            )
        return response.json() if response.content else None

    def get(self, path: str) -> Any:
        return self._check(self._http.get(self.base_url + path.lstrip("/")))

    def post(self, path: str, json: Any = None) -> Any:
        """POST a JSON body (`{}` when none: the control path takes JSON only)."""
        return self._check(
            self._http.post(self.base_url + path.lstrip("/"), json={} if json is None else json)
        )

    def put(self, path: str, json: Any = None) -> Any:
        return self._check(
            self._http.put(self.base_url + path.lstrip("/"), json={} if json is None else json)
        )

    def reset(self) -> Any:
        return self.post("reset")

    def stats(self) -> dict[str, Any]:
        return self.get("stats")

    def health(self) -> dict[str, Any]:
        return self.get("health")

    def set_faults(self, spec: str | dict[str, Any] | None) -> Any:
        return self.put("faults", {"spec": spec or ""} if not isinstance(spec, dict) else spec)

    def configure(self, **settings: Any) -> Any:
        return self.put("config", settings)

    def add_udf(self, entity: str, name: str, type: str = "string", label: str | None = None) -> Any:
        """Define a UDF on `entity` (e.g. names that collide once slugged); gone on reset."""
        body = {"entity": entity, "name": name, "type": type}
        return self.post("udfs", body if label is None else {**body, "label": label})

    def close(self) -> None:
        self._http.close()


class SandboxServer:
    """Context manager around `autotask-sandbox serve` in a subprocess."""

    def __init__(
        self,
        scale: str = "tiny",
        seed: int = 1,
        *,
        latency_ms: int = 0,
        faults: str | None = None,
        threshold: int = 10000,
        thread_limit: int = 3,
        latency_bands: bool = True,
        zone: str = "webservices14",
        username: str = DEFAULT_USERNAME,
        secret: str = DEFAULT_SECRET,
        integration_code: str = DEFAULT_INTEGRATION_CODE,
        datetime_format: str = "plain",
        get_missing_as_null_item: bool = False,
        activity_per_minute: float | None = None,
        db: str | Path | None = None,
        startup_timeout: float = 120,
    ):
        self.scale, self.seed, self.zone = scale, seed, zone
        self.username, self.secret, self.integration_code = username, secret, integration_code
        self.db = Path(db) if db else None
        self.startup_timeout = startup_timeout
        self.options = {
            "latency-ms": latency_ms,
            "faults": faults,
            "threshold": threshold,
            "thread-limit": thread_limit,
            "zone": zone,
            "username": username,
            "integration-code": integration_code,
            "datetime-format": datetime_format,
            "activity-per-minute": activity_per_minute,
        }
        self.flags = [
            f
            for f, on in (
                ("--no-latency-bands", not latency_bands),
                ("--get-missing-as-null-item", get_missing_as_null_item),
            )
            if on
        ]
        self.process: subprocess.Popen[str] | None = None
        self.base_url = ""
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.admin: Admin

    def __repr__(self) -> str:
        return f"SandboxServer(scale={self.scale!r}, seed={self.seed}, url={self.base_url!r})"

    # -- URLs and credentials ---------------------------------------------------------------
    @property
    def root_url(self) -> str:
        """Bootstrap REST root without a zone (where ZoneInformation is asked)."""
        return f"{self.base_url}/ATServicesRest/"

    @property
    def api_url(self) -> str:
        """The zone's REST root, as ZoneInformation returns it."""
        return f"{self.base_url}/{self.zone}/ATServicesRest/"

    @property
    def admin_url(self) -> str:
        return f"{self.base_url}/_sandbox/"

    @property
    def credentials(self) -> dict[str, str]:
        return {
            "username": self.username,
            "secret": self.secret,
            "integration_code": self.integration_code,
            "api_url": self.api_url,
        }

    @property
    def headers(self) -> dict[str, str]:
        return {"UserName": self.username, "Secret": self.secret, "ApiIntegrationCode": self.integration_code}

    @property
    def env(self) -> dict[str, str]:
        return {
            "AUTOTASK_USERNAME": self.username,
            "AUTOTASK_SECRET": self.secret,
            "AUTOTASK_INTEGRATION_CODE": self.integration_code,
            "AUTOTASK_API_URL": self.api_url,
        }

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> SandboxServer:
        self._tmp = tempfile.TemporaryDirectory(prefix="autotask-sandbox-test-")
        tmp = Path(self._tmp.name)
        args = [
            sys.executable,
            "-m",
            "autotask_sandbox.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--scale",
            self.scale,
            "--seed",
            str(self.seed),
        ]
        if self.db is not None:
            args += ["--db", str(self.db)]
        else:
            work, pristine = working_copy(self.scale, self.seed, tmp / "tenant.sqlite")
            args += ["--db", str(work), "--reset-from", str(pristine)]
        for name, value in self.options.items():
            if value is not None:
                args += [f"--{name}", str(value)]
        args += self.flags
        env = dict(os.environ, AUTOTASK_SANDBOX_SECRET=self.secret)
        self._stderr = open(tmp / "stderr.log", "w+")
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self._stderr, text=True, env=env)
        settled = threading.Event()  # the server is ready, or its stdout ended (it exited)
        self._stdout_tail: deque[str] = deque(maxlen=20)

        def read() -> None:
            assert self.process and self.process.stdout
            for line in self.process.stdout:
                self._stdout_tail.append(line)
                if line.startswith(READY) and not self.base_url:
                    root = line[len(READY) :].strip()
                    self.base_url = root.split(f"/{self.zone}/")[0]
                    settled.set()
            settled.set()

        threading.Thread(target=read, daemon=True).start()
        settled.wait(self.startup_timeout)
        if not self.base_url or self.process.poll() is not None:
            try:
                self.process.wait(5 if self.base_url or settled.is_set() else 0.1)
            except subprocess.TimeoutExpired:
                pass
            code = self.process.poll()
            why = (
                f"the server exited with code {code}"
                if code is not None
                else f"the server did not answer within {self.startup_timeout:g} s"
            )
            output = self._output_tail()  # before stop() closes the stderr file
            self.stop()
            raise SandboxError(f"sandbox server did not start ({why}); its last output:\n{output}")
        self.admin = Admin(self.admin_url)
        return self

    def _output_tail(self) -> str:
        try:
            self._stderr.flush()
            self._stderr.seek(0)
            err = self._stderr.read()[-3000:]
        except (OSError, ValueError):
            err = ""
        out = "".join(getattr(self, "_stdout_tail", ()))[-1000:]
        return "\n".join(part for part in (err.strip(), out.strip()) if part) or "(no output)"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if getattr(self, "admin", None) is not None:
            self.admin.close()
        if hasattr(self, "_stderr"):
            self._stderr.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
