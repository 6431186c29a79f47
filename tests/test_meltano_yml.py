"""meltano.yml says what the plugins accept, and the real `meltano` honours it.

The first tests compare each plugin's own `--about --format=json` with its declaration in
meltano.yml, so a setting added to a plugin without declaring it (or declared with a kind
that makes `meltano config set` store the wrong type) fails here. The last test runs the
real `meltano` binary in a copy of the project (it is slow to start: a few calls only).
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PLUGINS = ["tap-autotask", "target-sql", "target-files"]
# Meltano 4.4 cannot serialise kind: decimal, so a plugin that takes a number must also take
# numeric text (tap_autotask/settings.py), declared as kind: string.
_KINDS = {"boolean": {"boolean"}, "integer": {"integer"}, "array": {"array"}, "object": {"object"}}


def _spec() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "meltano.yml").read_text())


def _declared(name: str) -> dict[str, Any]:
    for kind in ("extractors", "loaders"):
        for plugin in _spec()["plugins"].get(kind) or []:
            if plugin["name"] == name:
                return plugin
    raise AssertionError(f"meltano.yml does not define {name}")


@functools.cache
def _about(plugin: str) -> dict[str, Any]:
    done = subprocess.run(
        [str(BIN / plugin), "--about", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(done.stdout)


def _expected_kinds(name: str, prop: dict[str, Any]) -> set[str]:
    if "enum" in prop:
        return {"options"}
    types = set(prop["type"] if isinstance(prop["type"], list) else [prop["type"]]) - {"null"}
    if "number" in types:
        assert "string" in types, (
            f"{name} takes a number only: accept numeric text (Meltano 4.4 has no decimal)"
        )
        return {"string"}
    if types == {"string"}:
        return {"date_iso8601", "string"} if prop.get("format") in ("date-time", "date") else {"string"}
    assert len(types) == 1, f"{name}: no Meltano kind for the types {sorted(types)}"
    return _KINDS[types.pop()]


@pytest.mark.parametrize("plugin", PLUGINS)
def test_every_setting_is_declared_with_its_kind(plugin):
    settings = _about(plugin)["settings"]["properties"]
    declared = {s["name"]: s for s in _declared(plugin).get("settings") or []}
    assert sorted(set(settings) - set(declared)) == [], f"declare these settings of {plugin} in meltano.yml"
    assert sorted(set(declared) - set(settings)) == [], f"{plugin} has no such settings"
    for name, prop in settings.items():
        setting = declared[name]
        assert setting.get("kind") in _expected_kinds(name, prop), (
            f"{plugin}.{name}: kind {setting.get('kind')}"
        )
        if "enum" in prop:
            assert {o["value"] for o in setting["options"]} == set(prop["enum"]), f"{plugin}.{name}: options"
        if prop.get("secret") or prop.get("writeOnly"):
            assert setting.get("sensitive") is True, f"{plugin}.{name} is a secret: sensitive: true"
        if "value" in setting and prop.get("default") is not None:
            assert str(setting["value"]) == str(prop["default"]), f"{plugin}.{name}: default differs"


@pytest.mark.parametrize("plugin", PLUGINS)
def test_plugins_report_the_distribution_s_version(plugin):
    version = metadata.version("autotask-liberator")
    assert _about(plugin)["version"] == version
    done = subprocess.run(
        [str(BIN / plugin), "--version"], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.startswith(f"{plugin} v{version},"), done.stdout


def test_inherited_loaders_name_a_declared_parent():
    loaders = {p["name"]: p for p in _spec()["plugins"]["loaders"]}
    for name, plugin in loaders.items():
        if "inherit_from" in plugin:
            assert plugin["inherit_from"] in PLUGINS and not plugin.get("settings"), name


def test_server_databases_have_a_url_only_in_the_sandbox_environment():
    spec = _spec()
    assert spec["ff.strict_env_var_mode"] is True, "an unset $VAR must stop the command"
    loaders = {p["name"]: p for p in spec["plugins"]["loaders"]}
    sandbox = {
        p["name"]: p["config"]
        for e in spec["environments"]
        if e["name"] == "sandbox"
        for p in e["config"]["plugins"]["loaders"]
    }
    for name in ("target-postgres", "target-mysql"):
        variable = name.upper().replace("-", "_") + "_SQLALCHEMY_URL"
        assert loaders[name]["config"]["sqlalchemy_url"] == f"${variable}"
        assert "127.0.0.1" in sandbox[name]["sqlalchemy_url"]


def _project(tmp: Path) -> Path:
    spec = _spec()
    for kind in ("extractors", "loaders"):
        for plugin in spec["plugins"][kind]:
            if "executable" in plugin:
                plugin["executable"] = str(ROOT / plugin["executable"])
    (tmp / "meltano.yml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return tmp


def _meltano(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(BIN / "meltano"), *args],
        cwd=project,
        env=env,
        text=True,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert "deprecat" not in done.stderr.lower(), done.stderr[-2000:]
    return done


def _config(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.mark.slow
def test_meltano_environments_defaults_overrides_and_types(sandbox_factory, tmp_path):
    server = sandbox_factory()
    project = _project(tmp_path)
    # Nothing of the caller's Meltano, Autotask or target settings: only what the file says.
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("MELTANO_", "AUTOTASK_", "TAP_", "TARGET_"))
    }
    base["NO_COLOR"] = "1"

    production = _meltano(
        project,
        {**base, **server.env},
        "--environment",
        "production",
        "run",
        "tap-autotask",
        "target-postgres",
    )
    assert production.returncode != 0
    assert "TARGET_POSTGRES_SQLALCHEMY_URL" in production.stderr
    assert server.admin.stats()["total"] == 0, "the missing URL stops the run before anything is read"

    overridden = _config(
        _meltano(
            project,
            {**base, "AUTOTASK_API_URL": server.api_url},
            "--environment",
            "sandbox",
            "config",
            "print",
            "tap-autotask",
        )
    )
    assert overridden["api_url"] == server.api_url, "the shell's AUTOTASK_API_URL wins in sandbox"

    done = _meltano(project, base, "config", "set", "target-postgres", "picklist_label_views", "true")
    assert done.returncode == 0, done.stderr[-2000:]
    target = _config(
        _meltano(project, base, "--environment", "sandbox", "config", "print", "target-postgres")
    )
    assert target["picklist_label_views"] is True
    assert target["sqlalchemy_url"] == "*****", "sandbox points at the test database; the URL is sensitive"

    project_settings = _config(_meltano(project, base, "config", "print", "meltano"))
    assert project_settings["send_anonymous_usage_stats"] is False


@pytest.mark.slow
def test_a_setting_given_under_both_env_names_stops_meltano_before_anything_runs(sandbox_factory, tmp_path):
    """The README's rule: one name per setting; both set is refused by Meltano, naming both."""
    server = sandbox_factory()
    project = _project(tmp_path)
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("MELTANO_", "AUTOTASK_", "TAP_", "TARGET_"))
    }
    base.update(NO_COLOR="1", TARGET_SQLITE_SQLALCHEMY_URL=f"sqlite:///{tmp_path / 'out.sqlite'}")
    both = {**base, "AUTOTASK_API_URL": server.api_url, "TAP_AUTOTASK_API_URL": "http://127.0.0.1:9/other/"}
    for args in (("config", "list", "tap-autotask"), ("run", "tap-autotask", "target-sqlite")):
        done = _meltano(project, both, "--environment", "sandbox", *args)
        assert done.returncode != 0, args
        assert "Conflicting values for setting found in" in done.stderr, done.stderr[-2000:]
        assert "TAP_AUTOTASK_API_URL" in done.stderr and "'AUTOTASK_API_URL'" in done.stderr
    assert server.admin.stats()["total"] == 0, "refused before the tap started"
    same = {**both, "TAP_AUTOTASK_API_URL": server.api_url}
    done = _meltano(project, same, "--environment", "sandbox", "config", "print", "tap-autotask")
    assert done.returncode != 0 and "set via multiple environment variables" in done.stderr
    unset = {k: v for k, v in both.items() if k != "TAP_AUTOTASK_API_URL"}
    config = _config(_meltano(project, unset, "--environment", "sandbox", "config", "print", "tap-autotask"))
    assert config["api_url"] == server.api_url, "with the TAP_AUTOTASK_ name unset, AUTOTASK_API_URL wins"
