"""Numeric settings given as text (as Meltano and environment variables give them)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from singer_sdk.exceptions import ConfigValidationError

from tap_autotask import TapAutotask
from tests.tap.test_meltano import _meltano, _project

BASE = {
    "username": "u@example.com",
    "secret": "s",
    "integration_code": "c",
    "api_url": "http://127.0.0.1:9/unset/",
    "metadata_source": "catalog",
}


def test_numeric_text_is_accepted_and_turned_into_numbers() -> None:
    tap = TapAutotask(
        config={**BASE, "max_api_share": "0.3", "lookback_minutes": "2.5", "reconcile_deletes_every": "0.5"},
        parse_env_config=False,
    )
    assert tap.config["max_api_share"] == 0.3
    assert tap.config["lookback_minutes"] == 2.5
    assert tap.config["reconcile_deletes_every"] == 0.5


def test_numbers_stay_numbers_and_whole_text_becomes_int() -> None:
    tap = TapAutotask(
        config={**BASE, "max_api_share": 0.25, "reconcile_deletes_every": "24"}, parse_env_config=False
    )
    assert tap.config["max_api_share"] == 0.25
    assert tap.config["reconcile_deletes_every"] == 24


def test_text_that_is_no_number_fails_validation_naming_the_setting() -> None:
    with pytest.raises(ConfigValidationError) as err:
        TapAutotask(config={**BASE, "max_api_share": "half"}, parse_env_config=False)
    assert any("max_api_share" in e for e in err.value.errors), err.value.errors


def test_numeric_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in BASE.items():
        monkeypatch.setenv(f"TAP_AUTOTASK_{name.upper()}", value)
    monkeypatch.setenv("TAP_AUTOTASK_MAX_API_SHARE", "0.3")
    monkeypatch.setenv("TAP_AUTOTASK_RECONCILE_DELETES_EVERY", "0.25")
    tap = TapAutotask(config={}, parse_env_config=True)
    assert tap.config["max_api_share"] == 0.3
    assert tap.config["reconcile_deletes_every"] == 0.25


@pytest.mark.slow
def test_meltano_passes_numeric_settings_the_tap_accepts(tmp_path: Path) -> None:
    """`meltano config ... set` and env vars, as `meltano invoke --dump=config` hands them over."""
    project = _project(tmp_path)
    env = {
        **os.environ,
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "NO_COLOR": "1",
        "TAP_AUTOTASK_MAX_API_SHARE": "0.3",
        "TAP_AUTOTASK_METADATA_SOURCE": "catalog",
    }
    for name, value in (("reconcile_deletes_every", "0.5"), ("lookback_minutes", "2.5")):
        done = _meltano(project, env, "config", "set", "tap-autotask", name, value)
        assert done.returncode == 0, done.stderr[-2000:]
    dump = _meltano(project, env, "--environment", "sandbox", "invoke", "--dump=config", "tap-autotask")
    assert dump.returncode == 0, dump.stderr[-2000:]
    config = json.loads(dump.stdout)
    tap = TapAutotask(config=dict(config), parse_env_config=False)
    assert tap.config["max_api_share"] == 0.3
    assert tap.config["reconcile_deletes_every"] == 0.5
    assert tap.config["lookback_minutes"] == 2.5


def test_validation_messages_never_quote_a_secret() -> None:
    with pytest.raises(ConfigValidationError) as err:
        TapAutotask(
            config={
                **BASE,
                "secret": 12345678,
                "username": ["admin@msp.example"],
                "max_api_share": "admin@msp.example",
            },
            parse_env_config=False,
        )
    text = "\n".join(err.value.errors)
    assert "12345678" not in text and "admin@msp.example" not in text, text
    assert "config['secret'] must be of type string" in text
    assert "config['username']" in text and "in config['max_api_share']" in text
