"""Runs every ```bash block of docs/cli.md, in order, in one folder, against the session sandbox."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_every_documented_command_runs(sandbox, shell, tmp_path):
    text = DOC.read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 6
    (tmp_path / "answers.txt").write_text("\n".join(
        [sandbox.username, sandbox.secret, sandbox.integration_code, sandbox.api_url]) + "\n")
    commands = [line.split("  #", 1)[0].strip() for block in blocks for line in block.splitlines()]
    words = [c.split()[1:] for c in commands if c.startswith("autotask ")]
    documented = {next(w for i, w in enumerate(ws) if not w.startswith("-") and (i == 0 or ws[i - 1] != "--profile"))
                  for ws in words}
    assert {"config", "query", "count", "get", "export", "sync", "report", "entities", "fields",
            "completion", "health"} <= documented
    for command in filter(None, commands):
        done = shell(f"cd {tmp_path} && {command}")
        assert done.returncode == 0, f"docs/cli.md: {command!r} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    assert (tmp_path / "tickets.xlsx").exists() and (tmp_path / "service.db").exists()
    assert (tmp_path / "open.csv").read_text().startswith("id,title,status")
