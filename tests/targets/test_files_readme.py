"""target_adapters/files/README.md: its commands run as written, its settings table is the code's."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow.parquet as pq

README = Path(__file__).resolve().parents[2] / "target_adapters" / "files" / "README.md"
BIN = Path(sys.executable).parent
STREAMS = ["companies", "tickets"]


def _blocks(language: str) -> list[str]:
    found = re.findall(rf"^( *)```{language}\n(.*?)^ *```", README.read_text(), flags=re.S | re.M)
    return [textwrap.dedent(body) for _, body in found]


def _readme_defaults() -> dict[str, str]:
    table = README.read_text().split("## Settings", 1)[1].split("\n\n", 2)[1]
    rows = [line.split("|")[1:3] for line in table.splitlines()[2:]]
    return {name.strip().strip("`"): default.strip().strip("`") for name, default in rows}


def test_about_markdown_is_a_document_whose_defaults_match_the_readme():
    done = subprocess.run(
        [str(BIN / "target-files"), "--about", "--format=markdown"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    text = done.stdout
    assert text.startswith("# `target-files`\n\n"), text[:200]
    assert not [line for line in text.splitlines() if line.startswith("    ")], "no indented code block"
    rows = [line.split("|")[1:4] for line in text.splitlines() if line.startswith("| ")][1:]
    defaults = {name.strip(): default.strip() for name, _, default in rows}
    readme = {
        name: "" if value in ("(required)", "(none)") else value for name, value in _readme_defaults().items()
    }
    assert readme == {name: defaults[name] for name in readme}


def test_readme_commands_run(sandbox_factory, tmp_path):
    sandbox = sandbox_factory()
    (tmp_path / "tap.json").write_text(
        json.dumps({**sandbox.credentials, "include_streams": STREAMS, "metadata_source": "catalog"})
    )
    commands = [line for line in _blocks("bash")[0].splitlines() if line and "meltano" not in line]
    assert len(commands) == 6, commands
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "AUTOTASK_CACHE_DIR": str(tmp_path / "cache"),
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", "\n".join(commands)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(r"^target-files v\d+\.\d+\.\d+, Meltano SDK v", done.stdout, flags=re.M)
    out = tmp_path / "out"
    counts = {s: pq.ParquetFile(out / f"{s}.parquet").metadata.num_rows for s in STREAMS}
    assert counts["tickets"] == sandbox.admin.health()["tickets"] and counts["companies"] > 0
    with open(out / "csv" / "tickets.csv", encoding="utf-8") as fh:
        assert sum(1 for _ in fh) - 1 == counts["tickets"]

    # The manifest snippet, as printed, finds every stream's file.
    scope: dict = {}
    cwd = Path.cwd()
    try:
        os.chdir(tmp_path)
        exec(_blocks("python")[0], scope)
    finally:
        os.chdir(cwd)
    assert {s: [p.name for p in paths] for s, paths in scope["files"].items()} == {
        s: [f"{s}.parquet"] for s in STREAMS
    }
