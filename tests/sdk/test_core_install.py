"""The SDK alone: a fresh environment with the core dependencies only runs README.md's quick start
against a sandbox served from the full environment, and the tap names its missing extra."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sdk_core import AutotaskClient, Q

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FEATURE_MODULES = [
    "singer_sdk",
    "starlette",
    "uvicorn",
    "dagster",
    "pandas",
    "pyarrow",
    "meltano",
    "sqlalchemy",
]


def quick_start() -> str:
    """The Python block that follows "From Python:" in README.md."""
    text = (ROOT / "README.md").read_text()
    found = re.search(r"From Python:\s*```python\n(.*?)```", text, flags=re.S)
    assert found, "README.md has no quick start block after 'From Python:'"
    return found.group(1)


@pytest.fixture(scope="module")
def core_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv with the project and its core dependencies (lock pins, uv's cache, offline)."""
    uv = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.base_prefix) / "bin"))
    assert uv, "uv is needed to build the core-only environment (make .venv/.installed installs it)"
    venv = tmp_path_factory.mktemp("core") / "venv"
    env = {**os.environ, "UV_OFFLINE": "1"}
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for cmd in (
        [uv, "venv", "--quiet", "--python", version, str(venv)],
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            "-c",
            str(ROOT / "requirements.lock"),
            "-e",
            str(ROOT),
        ],
    ):
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stderr}"
    return venv / "bin" / "python"


def run(python: Path, code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        cwd=python.parent,
    )


def test_the_core_has_no_feature_dependencies(core_python: Path) -> None:
    code = f"import importlib.util as u\nprint(sorted(m for m in {FEATURE_MODULES!r} if u.find_spec(m)))"
    done = run(core_python, code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_readme_quick_start_runs_with_the_core_alone(core_python: Path, sandbox, tmp_path) -> None:
    env = {**sandbox.env, "AUTOTASK_CACHE_DIR": str(tmp_path)}
    done = run(core_python, quick_start(), env)
    assert done.returncode == 0, done.stderr
    with AutotaskClient(**sandbox.credentials, cache_dir=str(tmp_path / "full")) as client:
        expected = [
            f"{t['id']} {t['title']}" for t in client.tickets.query(Q("status") == 1, fields=["id", "title"])
        ]
    assert expected, "the tiny tenant should have open tickets"
    assert done.stdout.splitlines() == expected


def test_the_tap_without_its_extra_fails_with_one_line_naming_it(core_python: Path) -> None:
    done = run(core_python, "import tap_autotask")
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last == (
        "sdk_core._extras.MissingExtraError: tap_autotask needs the 'tap' extra "
        "(singer_sdk not installed): pip install 'autotask-liberator[tap]'"
    )
    done = run(core_python, "import autotask_sandbox")
    assert "pip install 'autotask-liberator[sandbox]'" in done.stderr.strip().splitlines()[-1]


def test_the_autotask_command_works_and_names_the_extra_of_a_missing_group(
    core_python: Path, sandbox
) -> None:
    autotask = str(core_python.parent / "autotask")
    done = subprocess.run(
        [autotask, "count", "Tickets", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **sandbox.env},
    )
    assert done.returncode == 0, done.stderr
    with AutotaskClient(**sandbox.credentials) as client:
        assert json.loads(done.stdout) == {"entity": "Tickets", "count": client.tickets.count()}
    done = subprocess.run(
        [autotask, "sandbox", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )  # rich wraps at 80 off a terminal
    assert "pip install 'autotask-liberator[sandbox]'" in done.stdout + done.stderr


@pytest.mark.unit
def test_a_missing_extra_is_one_line_naming_the_extra_and_the_modules() -> None:
    from sdk_core._extras import MissingExtraError, require_extra

    require_extra("sdk_core", "core", "json", "orjson")  # present: nothing happens
    with pytest.raises(MissingExtraError) as info:
        require_extra("sdk_core.frames", "pandas", "orjson", "no_such_module_xyz")
    assert str(info.value) == (
        "sdk_core.frames needs the 'pandas' extra (no_such_module_xyz not "
        "installed): pip install 'autotask-liberator[pandas]'"
    )
    assert isinstance(info.value, ImportError) and info.value.name == "no_such_module_xyz"
