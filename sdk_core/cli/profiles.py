"""Named connection profiles for `autotask --profile NAME`, in one file only its owner can read.

The file is `$AUTOTASK_CONFIG_DIR/profiles.ini` (default `~/.config/autotask/profiles.ini`),
mode 0600, one section per profile with the text settings of the client by name (`username`,
`secret`, `integration_code`, `api_url`, `zone_lookup_url`, `redis_url`, `cache_dir`); numeric
tuning stays in AUTOTASK_* variables. Which settings win:

- `--profile NAME` (or `AUTOTASK_PROFILE`): the profile's values; AUTOTASK_* variables fill
  only what the profile leaves out.
- no profile named: AUTOTASK_* variables; when they hold no username, the `default` profile
  (if the file has one) supplies the settings.
"""

from __future__ import annotations

import configparser
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from .._config import ENV_VARS
from ..errors import ConfigurationError

__all__ = ["profiles_path", "load_profile", "save_profile", "profile_names", "profile_overrides"]

DEFAULT_PROFILE = "default"
PROFILE_KEYS = (
    "username",
    "secret",
    "integration_code",
    "api_url",
    "zone_lookup_url",
    "redis_url",
    "cache_dir",
)


def profiles_path() -> Path:
    base = os.environ.get("AUTOTASK_CONFIG_DIR") or Path.home() / ".config" / "autotask"
    return Path(base) / "profiles.ini"


def _read() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    path = profiles_path()
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ConfigurationError(
                f"{path} can be read by other users (mode {mode:o}); it holds secrets: run chmod 600 {path}"
            )
        parser.read(path, encoding="utf-8")
    return parser


def profile_names() -> list[str]:
    return _read().sections()


def load_profile(name: str) -> dict[str, str]:
    """The settings saved under `name`; a clear error naming the saved profiles if it is absent."""
    parser = _read()
    if not parser.has_section(name):
        known = ", ".join(parser.sections()) or "none yet"
        raise ConfigurationError(
            f"no profile named {name!r} in {profiles_path()} (saved: {known}); "
            f"create it with: autotask config init --profile {name}"
        )
    return {k: v for k, v in parser.items(name) if k in PROFILE_KEYS and v != ""}


def save_profile(name: str, values: Mapping[str, str]) -> Path:
    """Write (or replace) one profile; the file is created 0600 before any secret is written."""
    unknown = sorted(set(values) - set(PROFILE_KEYS))
    if unknown:
        raise ConfigurationError(f"unknown profile settings {unknown}; known: {list(PROFILE_KEYS)}")
    parser = _read()
    if parser.has_section(name):
        parser.remove_section(name)
    parser.add_section(name)
    for key, value in values.items():
        if value not in (None, ""):
            parser.set(name, key, str(value))
    path = profiles_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        parser.write(handle)
    os.replace(tmp, path)
    return path


def profile_overrides(name: str | None, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Client keyword arguments for the chosen profile (empty: use the environment as it is)."""
    env = os.environ if env is None else env
    chosen = name or env.get("AUTOTASK_PROFILE") or None
    if chosen:
        return load_profile(chosen)
    if not env.get(ENV_VARS["username"]) and profiles_path().exists() and DEFAULT_PROFILE in profile_names():
        return load_profile(DEFAULT_PROFILE)
    return {}
