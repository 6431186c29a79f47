"""Configuration mistakes end the CLI with one clear line, not a traceback."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.tap.singer_run import TAP


def _run(tmp_path: Path, config: dict, *args: str) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_AUTOTASK_")}
    return subprocess.run(
        [TAP, "--config", str(cfg), *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_discover_without_credentials_names_what_is_missing(tmp_path: Path) -> None:
    done = _run(tmp_path, {"api_url": "http://127.0.0.1:9/unset/", "username": "u@example.com"}, "--discover")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and "KeyError" not in done.stderr, done.stderr
    error = [line for line in done.stderr.splitlines() if "Missing Autotask credentials" in line]
    assert len(error) == 1, done.stderr
    assert "credentials: secret, integration_code." in error[0], "names exactly the missing"
    assert "TAP_AUTOTASK_SECRET" in error[0] and "TAP_AUTOTASK_INTEGRATION_CODE" in error[0]
    assert "AUTOTASK_USERNAME" not in error[0], "username was given"
    assert done.stdout == "", "no catalog on failure"


def test_offline_discover_needs_no_credentials(tmp_path: Path) -> None:
    done = _run(tmp_path, {"metadata_source": "catalog", "include_streams": ["tickets"]}, "--discover")
    assert done.returncode == 0, done.stderr[-2000:]
    assert [s["tap_stream_id"] for s in json.loads(done.stdout)["streams"]] == ["tickets"]


def test_about_describes_the_overlap_as_deduplicated(tmp_path: Path) -> None:
    done = subprocess.run([TAP, "--about", "--format=json"], capture_output=True, text=True, timeout=120)
    settings = json.loads(done.stdout)["settings"]["properties"]
    text = settings["lookback_minutes"]["description"]
    assert "emitted again" not in text and "skipped" in text, text


def test_about_documents_the_shape_of_deletion_records() -> None:
    done = subprocess.run([TAP, "--about", "--format=markdown"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("# `tap-autotask`"), done.stdout[:300]
    text = " ".join(done.stdout.split())
    assert "carry only `id`, `_sdc_deleted_at`" in text, text[:2000]
    assert "absent, not null" in text


def test_a_secret_of_the_wrong_type_is_named_but_never_shown(tmp_path: Path) -> None:
    done = _run(
        tmp_path,
        {
            "api_url": "http://127.0.0.1:9/unset/",
            "username": "u@example.com",
            "secret": ["sandbox-secret"],
            "integration_code": {"k": "INTEG-CODE-1"},
            "parallelism": "INTEG-CODE-1",
        },
    )
    assert done.returncode != 0
    assert "sandbox-secret" not in done.stderr and "INTEG-CODE-1" not in done.stderr, done.stderr
    assert "config['secret'] must be of type string" in done.stderr
    assert "config['integration_code'] must be of type string" in done.stderr
    assert "in config['parallelism']" in done.stderr  # other settings still named


def test_a_config_file_missing_or_not_json_is_one_line_naming_it(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"username": "u@example.com", "secret": "hunter2-secret",')
    for path, reason in ((tmp_path / "absent.json", "was not found"), (broken, "Expecting")):
        for extra in ((), ("--discover",)):
            done = subprocess.run(
                [TAP, "--config", str(path), *extra], capture_output=True, text=True, timeout=120
            )
            assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
            (error,) = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
            assert reason in error and f"(reading {path})" in error and "JSON files of settings" in error
            assert "hunter2" not in done.stderr


def test_a_start_date_that_is_not_a_timestamp_fails_before_the_sync(tmp_path: Path) -> None:
    config = {
        "api_url": "http://127.0.0.1:9/unset/",
        "username": "u@example.com",
        "secret": "s",
        "integration_code": "c",
        "metadata_source": "catalog",
        "include_streams": ["tickets"],
        "start_date": "yesterday",
    }
    done = _run(tmp_path, config)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    (error,) = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert error.startswith("Error: ConfigurationError: start_date: 'yesterday' is not an Autotask timestamp")
    assert "ConnectionError" not in done.stderr, "refused before any request"
