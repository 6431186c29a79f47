"""Runs every ```python block of docs/sdk.md, in order, against a private sandbox server."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "sdk.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_the_sdk_guide_examples_run(sandbox_factory, monkeypatch, tmp_path, capsys):
    server = sandbox_factory()
    for key, value in server.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AUTOTASK_CACHE_DIR", str(tmp_path))
    blocks = python_blocks(DOC.read_text())
    assert len(blocks) >= 10
    namespace: dict = {"__name__": "sdk_guide"}
    for number, block in enumerate(blocks, 1):
        try:
            exec(compile(block, f"{DOC.name} block {number}", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"docs/sdk.md python block {number} failed: {exc!r}\n{block}") from exc
    out = capsys.readouterr().out
    assert 'Did you mean "TicketNotes"?' in out and 'Did you mean "status"?' in out
    assert "Tickets cannot be deleted" in out and "Picklist value [999]" in out
    assert "True False\n" in out and "max_api_share must be in (0, 1], not 2" in out
    assert "\n42\n['ThresholdInformation', 'Tickets']\n" in out
