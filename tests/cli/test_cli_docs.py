"""Runs every ```bash block of docs/cli.md, in order, in one folder, against the session sandbox."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import openpyxl

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_every_documented_command_runs(sandbox_factory, tmp_path):
    sandbox = sandbox_factory()  # private: the bulk examples write
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOTASK_")}
    env.update(
        sandbox.env,
        AUTOTASK_CACHE_DIR=str(tmp_path / "cache"),
        AUTOTASK_CONFIG_DIR=str(tmp_path / "config"),
        PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    )

    def shell(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-o", "pipefail", "-c", command], env=env, text=True, capture_output=True, timeout=300
        )

    text = DOC.read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 6
    (tmp_path / "answers.txt").write_text(
        "\n".join([sandbox.username, sandbox.secret, sandbox.integration_code, sandbox.api_url]) + "\n"
    )
    (tmp_path / "new-tickets.csv").write_text(
        "Title,Status,Priority,Company ID,Queue ID\nPrinter jammed,New,Medium,29680002,29682844\n"
    )
    book = openpyxl.Workbook()
    book.active.append(["id", "Status"])
    book.active.append([29680001, "Complete"])
    book.save(tmp_path / "closures.xlsx")
    commands = [line.split("  #", 1)[0].strip() for block in blocks for line in block.splitlines()]
    words = [c.split()[1:] for c in commands if c.startswith("autotask ")]
    documented = {
        next(w for i, w in enumerate(ws) if not w.startswith("-") and (i == 0 or ws[i - 1] != "--profile"))
        for ws in words
    }
    assert {
        "config",
        "query",
        "count",
        "get",
        "export",
        "sync",
        "report",
        "entities",
        "fields",
        "completion",
        "health",
        "bulk",
    } <= documented
    for command in filter(None, commands):
        done = shell(f"cd {tmp_path} && {command}")
        assert done.returncode == 0, (
            f"docs/cli.md: {command!r} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        )
    assert (tmp_path / "tickets.xlsx").exists() and (tmp_path / "service.db").exists()
    assert (tmp_path / "open.csv").read_text().startswith("id,title,status")
