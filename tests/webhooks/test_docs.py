"""Runs the examples of docs/webhooks.md, in order, as one bash script against a private
sandbox: bash blocks as written, python blocks through `python -`, blocks marked
`<!-- file: NAME -->` written to NAME. Ports 8765 (sandbox) and 8080 (receiver) are replaced
by free ones. The nginx block is configuration for another program and is not run."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from autotask_sandbox.testing import SandboxServer

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
BLOCK = re.compile(r"(?:<!-- file: (?P<file>[\w.]+) -->\n)?```(?P<lang>\w+)\n(?P<body>.*?)```", re.S)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def script(text: str, sandbox_port: int, receiver_port: int) -> tuple[str, dict[str, str], int]:
    text = text.replace("127.0.0.1:8765", f"127.0.0.1:{sandbox_port}")
    text = re.sub(r"\b8080\b", str(receiver_port), text)
    parts = ["set -euo pipefail", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT"]
    files: dict[str, str] = {}
    run = 0
    for match in BLOCK.finditer(text):
        lang, body = match["lang"], match["body"]
        if match["file"]:
            files[match["file"]] = body
        elif lang == "bash":
            parts.append(body)
            run += 1
        elif lang == "python":
            parts.append(f"python - <<'PYTHON_BLOCK'\n{body}PYTHON_BLOCK")
            run += 1
    return "\n".join(parts) + "\n", files, run


def test_the_webhooks_guide_runs(sandbox_factory: Callable[..., SandboxServer], tmp_path: Path) -> None:
    server = sandbox_factory()
    port = int(server.base_url.rsplit(":", 1)[1])
    body, files, run = script(DOC.read_text(), port, free_port())
    assert run >= 7 and set(files) == {"my_hooks.py", "tenants.toml"}
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    venv_bin = str(Path(sys.executable).parent)
    env = {
        "PATH": f"{venv_bin}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AUTOTASK_CACHE_DIR": str(tmp_path / "cache"),
    }
    done = subprocess.run(
        ["bash", "-c", body], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    out = done.stdout
    assert '"title": "Printer on fire"' in out and '"status": "done"' in out  # events --json
    assert "FIRE on ticket" in out  # the handler ran on the replayed event
    assert "removed Ticket webhook 'tickets to my laptop'" in out
    assert done.stderr.count("Traceback") == 0
