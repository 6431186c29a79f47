"""A warm `--discover` prints the stored catalog, and only while nothing it depends on changed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tap_autotask import discovery_cache
from tests.tap.singer_run import TAP, tap_config

FAST = "catalog unchanged since the last discovery"


class Discover:
    """`tap-autotask --config FILE --discover` as a process, with a private sdk_core cache."""

    def __init__(self, tmp_path: Path, config: dict[str, Any]):
        self.cache = tmp_path / "cache"
        self.file = tmp_path / "config.json"
        self.config = config
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_AUTOTASK_")}
        self.env["AUTOTASK_CACHE_DIR"] = str(self.cache)

    def __call__(self, **env: str) -> tuple[dict[str, Any], bool]:
        self.file.write_text(json.dumps(self.config))
        done = subprocess.run(
            [TAP, "--config", str(self.file), "--discover"],
            capture_output=True,
            text=True,
            env={**self.env, **env},
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout), FAST in done.stderr


def _columns(catalog: dict[str, Any], stream: str) -> set[str]:
    entry = next(s for s in catalog["streams"] if s["tap_stream_id"] == stream)
    return set(entry["schema"]["properties"])


@pytest.fixture
def discover(sandbox_factory: Any, tmp_path: Path) -> Discover:
    server = sandbox_factory()
    run = Discover(tmp_path, tap_config(server, include_streams=["companies", "udf_definitions"]))
    run.server = server  # type: ignore[attr-defined]  # kept on the fixture for the test
    return run


def test_a_warm_discovery_repeats_the_catalog_until_the_metadata_cache_changes(discover: Discover) -> None:
    cold, fast = discover()
    assert not fast  # cold: metadata read from the API and cached; nothing stored yet
    warm, fast = discover()
    assert not fast and warm == cold  # warm: built again, and now stored
    again, fast = discover()
    assert fast and again == warm
    built, fast = discover(AUTOTASK_TAP_DISCOVERY_CACHE="off")
    assert not fast and built == again  # the switch, and the very same catalog

    discover.server.admin.add_udf("Companies", "Renewal Tier")  # type: ignore[attr-defined]  # set by the fixture
    again, fast = discover()
    assert fast and "udf_renewal_tier" not in _columns(again, "companies")  # metadata cached
    shutil.rmtree(discover.cache / "metadata")  # as its expiry or an invalidation would
    fresh, fast = discover()
    assert not fast and "udf_renewal_tier" in _columns(fresh, "companies")


def test_other_settings_get_their_own_catalog(discover: Discover) -> None:
    discover()
    discover()
    _, fast = discover()
    assert fast
    discover.config = {**discover.config, "secret": "other-secret-value"}
    _, fast = discover()
    assert fast  # the secret is not part of the key (and never stored)
    discover.config = {**discover.config, "include_udfs": False}
    plain, fast = discover()
    assert not fast and not any(c.startswith("udf_") for c in _columns(plain, "companies"))
    discover.config = {k: v for k, v in discover.config.items() if k != "secret"}
    discover.file.write_text(json.dumps(discover.config))
    done = subprocess.run(
        [TAP, "--config", str(discover.file), "--discover"],
        capture_output=True,
        text=True,
        env=discover.env,
        timeout=120,
    )
    assert done.returncode != 0 and "Missing Autotask credentials: secret" in done.stderr
    stored = list((discover.cache / discovery_cache.OWN_DIR).glob("*.json"))
    assert stored and all("secret-value" not in p.read_text() for p in stored)


def test_a_stored_catalog_expires_with_the_metadata_it_was_built_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOTASK_CACHE_DIR", str(tmp_path))
    (tmp_path / "metadata").mkdir()
    (tmp_path / "metadata" / "entry.json").write_text("{}")
    config = tmp_path / "c.json"
    config.write_text('{"username": "u"}')
    key = discovery_cache.key_from_argv(["--config", str(config), "--discover"])
    assert key is not None and discovery_cache.store(key, "{}", metadata_ttl=3600)
    assert discovery_cache.load(key) == "{}"
    assert discovery_cache.store(key, "{}", metadata_ttl=0)
    assert discovery_cache.load(key) is None


@pytest.mark.parametrize(
    "argv",
    [
        ["--discover"],
        ["--config", "c.json"],
        ["--config", "c.json", "--discover", "--about"],
        ["--config", "c.json", "--catalog", "x.json", "--discover"],
    ],
)
def test_only_a_plain_discovery_with_a_config_file_takes_the_shortcut(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.json").write_text("{}")
    assert discovery_cache.key_from_argv(argv) is None
    assert discovery_cache.key_from_argv(["--config", "c.json", "--discover"]) is not None
    meltano = ["--config", "c.json", "--state", "state.json", "--discover"]  # Meltano's call
    assert discovery_cache.key_from_argv(meltano) is not None
