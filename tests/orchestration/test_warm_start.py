"""Warm starts: the tap and target forked by the launcher load exactly what cold starts load,
and their failures fail the run."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import psutil
import pytest
import sqlalchemy as sa

from orchestration import warm_start
from orchestration.groups import group_named
from orchestration.resources import SingerPipelineResource
from orchestration.singer_run import SingerRunError
from orchestration.state_store import StateStore
from orchestration.sync import sync_group
from orchestration.tenants import Tenant


def _sync(sandbox, url: str):
    tenant = Tenant(name="default", destination=url, **sandbox.credentials)
    store = StateStore(url)
    try:
        return sync_group(
            tenant,
            group_named("tickets"),
            pipeline=SingerPipelineResource(),
            store=store,
            owner="test",
            log=lambda level, message: None,
        )
    finally:
        store.close()


def _rows(url: str) -> list[tuple]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select id, title, status from tickets order by id")).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def test_warm_runs_load_what_cold_runs_load(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOTASK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("AUTOTASK_WARM_IDLE_SECONDS", "30")  # the launcher goes soon after
    cold_url, warm_url = (f"sqlite:///{tmp_path / name}.sqlite" for name in ("cold", "warm"))
    monkeypatch.setenv("AUTOTASK_WARM_START", "0")
    cold = _sync(sandbox, cold_url)
    monkeypatch.delenv("AUTOTASK_WARM_START")  # the default
    warm = _sync(sandbox, warm_url)
    assert warm_start.socket_path().exists()  # the launcher forked them
    assert warm.records == cold.records and sum(warm.records.values()) > 0
    assert warm.requests["tickets"] >= 1  # (the cold run also read the metadata it cached)
    assert _rows(warm_url) == _rows(cold_url)
    again = _sync(sandbox, warm_url)
    assert sum(again.records.values()) == 0
    assert (
        again.state["bookmarks"]["tickets"]["replication_key_value"]
        == warm.state["bookmarks"]["tickets"]["replication_key_value"]
    )


@pytest.mark.parametrize("warm", ["0", "1"])
def test_a_failing_target_fails_the_run_and_saves_no_state(sandbox, tmp_path, monkeypatch, warm):
    monkeypatch.setenv("AUTOTASK_WARM_START", warm)
    monkeypatch.setenv("AUTOTASK_WARM_IDLE_SECONDS", "30")
    tenant = Tenant(
        name="default", destination="postgresql+psycopg://nobody@127.0.0.1:1/none", **sandbox.credentials
    )
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    with pytest.raises(SingerRunError, match="target-sql exited with code"):
        sync_group(
            tenant,
            group_named("tickets"),
            pipeline=SingerPipelineResource(),
            store=store,
            owner="test",
            log=lambda level, message: None,
        )
    assert store.load("default", "tickets").state == {}
    store.close()


def _launcher() -> psutil.Process:
    path = str(warm_start.socket_path())
    for proc in psutil.process_iter(["cmdline"]):
        if path in (proc.info["cmdline"] or []):
            return proc
    raise AssertionError(f"no launcher serves {path}")


@pytest.mark.unit
def test_warm_starts_are_the_default_and_can_be_turned_off(monkeypatch):
    monkeypatch.delenv("AUTOTASK_WARM_START", raising=False)
    assert warm_start.enabled()
    for off in ("0", "false", "off", "No"):
        monkeypatch.setenv("AUTOTASK_WARM_START", off)
        assert not warm_start.enabled()


def test_the_launcher_holds_no_credentials(sandbox, tmp_path, monkeypatch):
    monkeypatch.delenv("AUTOTASK_WARM_START", raising=False)
    for name, value in sandbox.env.items():
        monkeypatch.setenv(name, value)  # as a Dagster process configured by AUTOTASK_* has them
    monkeypatch.setenv("AUTOTASK_CACHE_DIR", str(tmp_path / "cache"))
    result = _sync(sandbox, f"sqlite:///{tmp_path / 'dest'}.sqlite")
    assert sum(result.records.values()) > 0
    environ = _launcher().environ()
    assert not [k for k in environ if k.startswith("AUTOTASK_")]
    assert sandbox.credentials["secret"] not in json.dumps(environ)


def test_a_forked_program_dies_with_the_run_that_asked_for_it(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"sqlalchemy_url": f"sqlite:///{tmp_path / 'dest.sqlite'}"}))
    reader, writer = os.pipe()  # held open: the target waits for input until it is killed
    with open(os.devnull, "wb") as null:
        proc = warm_start.spawn(
            "target-sql",
            ["--config", str(config)],
            stdin=reader,
            stdout=null.fileno(),
            stderr=null.fileno(),
            env=dict(os.environ),
            cwd=str(tmp_path),
        )
    os.close(reader)
    assert proc is not None and psutil.pid_exists(proc.pid)
    proc._sock.close()  # what the kernel does when the requesting run is killed
    deadline = time.monotonic() + 10
    while psutil.pid_exists(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.close(writer)
    assert not psutil.pid_exists(proc.pid), "the forked target outlived the run that started it"


def test_an_unreachable_launcher_falls_back_to_a_cold_start(sandbox, tmp_path, monkeypatch, caplog):
    monkeypatch.delenv("AUTOTASK_WARM_START", raising=False)
    monkeypatch.setenv("AUTOTASK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(warm_start, "socket_path", lambda: tmp_path / "missing" / "launcher.sock")
    monkeypatch.setattr(warm_start, "START_TIMEOUT", 0.3)
    with caplog.at_level(logging.WARNING, logger="orchestration.warm_start"):
        result = _sync(sandbox, f"sqlite:///{tmp_path / 'dest'}.sqlite")
    assert sum(result.records.values()) > 0
    assert "starting tap-autotask cold" in caplog.text


@pytest.mark.unit
def test_an_upgraded_environment_gets_a_new_launcher(tmp_path, monkeypatch):
    """Installing or upgrading a package changes site-packages' mtime, hence the socket path."""
    purelib = tmp_path / "site-packages"
    purelib.mkdir()
    monkeypatch.setattr(warm_start.sysconfig, "get_paths", lambda: {"purelib": str(purelib)})
    before = warm_start.socket_path()
    os.utime(purelib, ns=(0, Path(purelib).stat().st_mtime_ns + 1_000_000))
    assert warm_start.socket_path() != before
