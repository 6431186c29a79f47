"""`meltano run tap-autotask target-sqlite` with the tap's batch_config: BATCH through Meltano.

Runs in a copy of the project's meltano.yml inside a temporary directory (so `.meltano/` stays
out of the repository), with the executables made absolute; the tap's settings come from
`TAP_AUTOTASK_*` variables, which Meltano ranks above meltano.yml.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STREAMS = ["companies", "tickets"]


def _project(tmp: Path) -> Path:
    spec = yaml.safe_load((ROOT / "meltano.yml").read_text())
    for kind in ("extractors", "loaders"):
        for plugin in spec["plugins"].get(kind) or []:
            exe = plugin.get("executable")
            if exe and not Path(exe).is_absolute():
                plugin["executable"] = str(ROOT / exe)
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "meltano.yml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return tmp


@pytest.mark.slow
def test_meltano_run_with_batch_config_loads_every_row(sandbox: t.Any, tmp_path: Path) -> None:
    from sdk_core import AutotaskClient
    from sdk_core.catalog import load_catalog

    project = _project(tmp_path / "project")
    database = tmp_path / "batch.sqlite"
    batch_config = {
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "storage": {"root": (tmp_path / "batches").as_uri()},
    }
    env = {
        **os.environ,
        "TAP_AUTOTASK_API_URL": sandbox.api_url,
        "TAP_AUTOTASK_METADATA_SOURCE": "catalog",
        "TAP_AUTOTASK_INCLUDE_STREAMS": json.dumps(STREAMS),
        "TAP_AUTOTASK_BATCH_CONFIG": json.dumps(batch_config),
        "TARGET_SQLITE_SQLALCHEMY_URL": f"sqlite:///{database}",
        "AUTOTASK_CACHE_DIR": str(tmp_path / "cache"),
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "NO_COLOR": "1",
    }
    done = subprocess.run(
        [str(BIN / "meltano"), "--environment", "sandbox", "run", "tap-autotask", "target-sqlite"],
        cwd=project,
        env=env,
        text=True,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert list((tmp_path / "batches").glob("*.gz")), "the tap should have written batch files"

    catalog = load_catalog()
    client = AutotaskClient(
        username=sandbox.username,
        secret=sandbox.secret,
        integration_code=sandbox.integration_code,
        api_url=sandbox.api_url,
    )
    try:
        expected = {s: client.entity(catalog.get(s).name).count() for s in STREAMS}
    finally:
        client.close()
    engine = sa.create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as conn:
            loaded = {s: conn.exec_driver_sql(f'SELECT count(*) FROM "{s}"').scalar_one() for s in STREAMS}
    finally:
        engine.dispose()
    assert loaded == expected
    assert all(expected.values())
