"""Both target commands end refused input with exit 1 and one `Error:` line saying what was
wrong and what to do; no traceback unless LOGLEVEL=debug asks for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
SCHEMA = {
    "type": "SCHEMA",
    "stream": "t",
    "key_properties": ["id"],
    "schema": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "x": {"type": ["number", "null"]},
            "s": {"type": ["string", "null"]},
        },
    },
}
BAD_LINES = {
    "bad JSON": ('{"type": "RECORD", "stream": "t", "record": {"id": 2', "is not valid JSON"),
    "lone surrogate": (
        '{"type": "RECORD", "stream": "t", "record": {"id": 2, "s": "a\\ud800"}}',
        "lone UTF-16 surrogate",
    ),
    "non-finite number": ('{"type": "RECORD", "stream": "t", "record": {"id": 2, "x": NaN}}', "NaN"),
    "schema violation": ('{"type": "RECORD", "stream": "t", "record": {"id": 2, "x": "abc"}}', "'abc'"),
    "missing key": ('{"type": "RECORD", "stream": "t", "record": {"x": 1}}', "key propert"),
}


def run(target: str, tmp_path: Path, bad: str, **env: str) -> subprocess.CompletedProcess[str]:
    config = (
        {"format": "jsonl", "output_dir": str(tmp_path / "out")}
        if target == "target-files"
        else {"sqlalchemy_url": f"sqlite:///{tmp_path / 'x.db'}"}
    )
    (tmp_path / "config.json").write_text(json.dumps(config))
    good = '{"type": "RECORD", "stream": "t", "record": {"id": 1, "x": 2.5}}'
    clean = {k: v for k, v in os.environ.items() if not k.endswith("LOGLEVEL")}
    return subprocess.run(
        [str(BIN / target), "--config", str(tmp_path / "config.json")],
        input="\n".join([json.dumps(SCHEMA), good, bad]) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, **env},
    )


@pytest.mark.parametrize("target", ["target-sql", "target-files"])
@pytest.mark.parametrize("case", list(BAD_LINES))
def test_refused_input_is_one_error_line_without_traceback(target, case, tmp_path):
    bad, expected = BAD_LINES[case]
    done = run(target, tmp_path, bad)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and expected in errors[0], done.stderr[-2000:]
    assert not [line for line in done.stderr.splitlines() if "| ERROR " in line], done.stderr[-2000:]


@pytest.mark.parametrize("target", ["target-sql", "target-files"])
def test_debug_logging_shows_the_traceback(target, tmp_path):
    bad, expected = BAD_LINES["schema violation"]
    done = run(target, tmp_path, bad, LOGLEVEL="debug")
    assert done.returncode == 1 and "Traceback" in done.stderr
    assert expected in [line for line in done.stderr.splitlines() if line.startswith("Error:")][0]


@pytest.mark.parametrize("target", ["target-sql", "target-files"])
def test_a_config_file_missing_or_not_json_is_a_usage_error(target, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    for path in (tmp_path / "absent.json", broken):
        done = subprocess.run(
            [str(BIN / target), "--config", str(path)], input="", capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
        (error,) = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
        assert f"(reading {path})" in error and "JSON files of settings" in error
