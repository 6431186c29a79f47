"""A tenant file built by another generator version is refused with the rebuild command,
by the backend and by `serve --db` (reported at once through SandboxServer)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from autotask_sandbox.backend import Backend
from autotask_sandbox.cache import cached_tenant
from autotask_sandbox.generator import version_key
from autotask_sandbox.tenant_file import StaleTenantError
from autotask_sandbox.testing import SandboxError, SandboxServer


def stale_copy(tmp_path: Path, version: str | None) -> Path:
    path = tmp_path / "old-tenant.sqlite"
    shutil.copyfile(cached_tenant("tiny", 1), path)
    with sqlite3.connect(path) as conn:
        if version is None:
            conn.execute("DELETE FROM _meta WHERE key = 'version'")
        else:
            conn.execute("UPDATE _meta SET value = ? WHERE key = 'version'", (version,))
    return path


def test_the_current_version_is_stored_and_accepted(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    shutil.copyfile(cached_tenant("tiny", 1), path)
    with sqlite3.connect(path) as conn:
        stored = conn.execute("SELECT value FROM _meta WHERE key = 'version'").fetchone()[0]
    assert stored == version_key()
    Backend(path).close()


@pytest.mark.parametrize("version", ["0123456789abcdef", None])
def test_backend_refuses_a_stale_file_naming_the_rebuild(tmp_path: Path, version: str | None) -> None:
    path = stale_copy(tmp_path, version)
    with pytest.raises(StaleTenantError) as caught:
        Backend(path)
    message = str(caught.value)
    assert (version or "no version recorded") in message and version_key() in message
    assert f"autotask-sandbox build --scale tiny --seed 1 --db {path}" in message


@pytest.mark.timeout(90)
def test_serve_refuses_a_stale_db_at_once(tmp_path: Path) -> None:
    path = stale_copy(tmp_path, "0123456789abcdef")
    with pytest.raises(SandboxError) as caught:
        SandboxServer(db=path, startup_timeout=600).start()
    message = str(caught.value)
    assert "exited with code 1" in message and "autotask-sandbox build" in message
    assert "Traceback" not in message
