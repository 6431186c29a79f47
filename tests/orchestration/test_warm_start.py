"""Warm starts: the tap and target forked by the launcher load exactly what cold starts load,
and their failures fail the run."""

from __future__ import annotations

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
    monkeypatch.delenv("AUTOTASK_WARM_START", raising=False)
    cold = _sync(sandbox, cold_url)
    monkeypatch.setenv("AUTOTASK_WARM_START", "1")
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
