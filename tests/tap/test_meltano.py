"""`meltano run tap-autotask target-files` with the project's own meltano.yml, twice.

Runs in a copy of the project file inside a temporary directory (so `.meltano/` and the state
database stay out of the repository), with the executables made absolute and the loader
`target-files` (our own, from this virtualenv: no PyPI needed) added if meltano.yml does not
define it yet. The sandbox environment's api_url is overridden by `TAP_AUTOTASK_API_URL`,
which Meltano ranks above meltano.yml.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _project(tmp: Path) -> Path:
    spec = yaml.safe_load((ROOT / "meltano.yml").read_text())
    for kind in ("extractors", "loaders"):
        for plugin in spec["plugins"].get(kind) or []:
            exe = plugin.get("executable")
            if exe and not Path(exe).is_absolute():
                plugin["executable"] = str(ROOT / exe)
    loaders = spec["plugins"].get("loaders") or []
    if not any(p["name"] == "target-files" for p in loaders):
        loaders.append(
            {
                "name": "target-files",
                "namespace": "target_files",
                "executable": str(BIN / "target-files"),
                "settings": [{"name": "format"}, {"name": "output_dir"}],
            }
        )
    spec["plugins"]["loaders"] = loaders
    (tmp / "meltano.yml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return tmp


def _meltano(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "meltano"), *args], cwd=project, env=env, text=True, capture_output=True, timeout=300
    )


def _rows(out_dir: Path, stream: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in out_dir.rglob(f"{stream}*.jsonl"):
        rows += [json.loads(line) for line in path.read_text().splitlines() if line]
    return rows


@pytest.mark.slow
def test_meltano_run_into_target_files_then_incrementally(sandbox_factory: Any, tmp_path: Path) -> None:
    server = sandbox_factory()
    project = _project(tmp_path)
    out1, out2 = tmp_path / "out1", tmp_path / "out2"
    env = {
        **os.environ,
        "TAP_AUTOTASK_API_URL": server.api_url,
        "TAP_AUTOTASK_METADATA_SOURCE": "catalog",
        "TARGET_FILES_FORMAT": "jsonl",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "NO_COLOR": "1",
    }

    first = _meltano(
        project,
        {**env, "TARGET_FILES_OUTPUT_DIR": str(out1)},
        "--environment",
        "sandbox",
        "run",
        "tap-autotask",
        "target-files",
    )
    assert first.returncode == 0, "\n".join(
        line for line in first.stderr.splitlines() if "Skipping deselected" not in line
    )[-5000:]
    tickets = _rows(out1, "tickets")
    assert len(tickets) == server.admin.health()["tickets"]
    assert _rows(out1, "companies") and _rows(out1, "time_entries")
    assert not _rows(out1, "roles"), "roles is not in the default select"

    summary = server.admin.post("activity", {"updates": 5, "seed": 3})
    expected = {
        c["id"]
        for c in summary["changes"]
        if c["entity"] == "Tickets" and c["action"] in ("Create", "Update")
    }
    assert expected, "the activity should change some tickets"
    second = _meltano(
        project,
        {**env, "TARGET_FILES_OUTPUT_DIR": str(out2)},
        "--environment",
        "sandbox",
        "run",
        "tap-autotask",
        "target-files",
    )
    assert second.returncode == 0, second.stderr[-3000:]
    changed = _rows(out2, "tickets")
    assert sorted(r["id"] for r in changed) == sorted(expected), (
        "the second run reads from Meltano's saved state: exactly the changed tickets"
    )
    assert _rows(out1, "projects") and not _rows(out2, "projects"), "no project changed"
