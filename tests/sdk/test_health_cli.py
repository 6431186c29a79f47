"""`autotask health --html out.html` against the session sandbox."""

from __future__ import annotations

import orjson
from click.testing import CliRunner

from sdk_core.cli import main


def test_health_writes_a_self_contained_html_page(sandbox, monkeypatch, tmp_path):
    for key, value in sandbox.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AUTOTASK_CACHE_DIR", str(tmp_path))
    page = tmp_path / "health.html"
    result = CliRunner().invoke(main, ["health", "--json", "--html", str(page)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout)["authenticated"] is True  # stdout stays JSON
    assert f"written to {page}" in result.stderr
    html = page.read_text()
    assert html.startswith("<!doctype html>") and "<svg" in html and "threshold" in html
    assert sandbox.secret not in html and "<script" not in html
