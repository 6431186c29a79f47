"""Client settings: validated once, read from the environment, shown with the secret masked."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ._protocol import DEFAULT_ZONE_LOOKUP_URL, Credentials, normalize_root
from .errors import ConfigurationError

__all__ = ["Settings", "ENV_VARS", "settings_from_env", "client_options", "mask_url"]

ENV_VARS = {
    "username": "AUTOTASK_USERNAME",
    "secret": "AUTOTASK_SECRET",
    "integration_code": "AUTOTASK_INTEGRATION_CODE",
    "api_url": "AUTOTASK_API_URL",
    "impersonation_resource_id": "AUTOTASK_IMPERSONATION_RESOURCE_ID",
    "zone_lookup_url": "AUTOTASK_ZONE_LOOKUP_URL",
    "max_api_share": "AUTOTASK_MAX_API_SHARE",
    "max_concurrency": "AUTOTASK_MAX_CONCURRENCY",
    "redis_url": "AUTOTASK_REDIS_URL",
    "timeout": "AUTOTASK_TIMEOUT",
    "max_retries": "AUTOTASK_MAX_RETRIES",
    "cache_dir": "AUTOTASK_CACHE_DIR",
    "max_rate_wait": "AUTOTASK_MAX_RATE_WAIT",
    "max_budget_wait": "AUTOTASK_MAX_BUDGET_WAIT",
}
_SECRET_FIELDS = {"secret", "integration_code"}
_URL_FIELDS = {"api_url", "zone_lookup_url", "redis_url"}


def mask_url(url: str | None) -> str | None:
    """The URL with any user name and password replaced by `****` (safe for reprs and logs)."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return "****"
    if parts.username is None and parts.password is None and "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"****@{host}"))


@dataclass(frozen=True)
class Settings:
    """Every client setting, validated here and nowhere else (`AutotaskClient.from_settings`)."""

    username: str
    secret: str = field(repr=False)
    integration_code: str = field(repr=False)
    api_url: str | None = None
    impersonation_resource_id: int | None = None
    zone_lookup_url: str | None = None
    max_api_share: float = 0.5
    max_concurrency: int = 3
    redis_url: str | None = field(default=None, repr=False)
    timeout: float = 60.0
    max_retries: int = 5
    cache_dir: str | None = None
    zone_ttl: float = 24 * 3600.0
    metadata_ttl: float = 6 * 3600.0
    max_rate_wait: float = 900.0
    max_budget_wait: float | None = None

    def __post_init__(self) -> None:
        for name in ("username", "secret", "integration_code"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ConfigurationError(f"{name} is required: pass {name}=... or set {ENV_VARS[name]}")
        try:
            if self.api_url:
                object.__setattr__(self, "api_url", normalize_root(self.api_url))
            object.__setattr__(
                self, "zone_lookup_url", normalize_root(self.zone_lookup_url or DEFAULT_ZONE_LOOKUP_URL)
            )
        except ValueError as exc:
            raise ConfigurationError(f"api_url/zone_lookup_url: {exc}") from None
        if not 0 < self.max_api_share <= 1:
            raise ConfigurationError(f"max_api_share must be in (0, 1], not {self.max_api_share}")
        if not 1 <= self.max_concurrency <= 100:
            raise ConfigurationError(f"max_concurrency must be 1..100, not {self.max_concurrency}")
        if self.timeout <= 0 or self.max_retries < 0:
            raise ConfigurationError("timeout must be > 0 and max_retries >= 0")

    @classmethod
    def names(cls) -> frozenset[str]:
        return frozenset(f.name for f in fields(cls))

    @property
    def credentials(self) -> Credentials:
        return Credentials(self.username, self.secret, self.integration_code, self.impersonation_resource_id)

    def masked(self) -> dict[str, Any]:
        """Every setting, with the secret and integration code masked (for `autotask config`)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _SECRET_FIELDS and value:
                value = "****" + (value[-2:] if f.name == "integration_code" and len(value) > 8 else "")
            if f.name in _URL_FIELDS:
                value = mask_url(value)
            out[f.name] = value
        return out

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.masked().items())
        return f"Settings({shown})"


def settings_from_env(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    casts = {
        "impersonation_resource_id": int,
        "max_api_share": float,
        "max_concurrency": int,
        "timeout": float,
        "max_retries": int,
        "max_rate_wait": float,
        "max_budget_wait": float,
    }
    for name, var in ENV_VARS.items():
        raw = env.get(var)
        if raw in (None, ""):
            continue
        try:
            values[name] = casts.get(name, str)(raw)
        except ValueError:
            raise ConfigurationError(f"{var}={raw!r} is not a valid {casts[name].__name__}") from None
    unknown = sorted(set(overrides) - Settings.names())
    if unknown:
        raise ConfigurationError(
            f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(Settings.names()))}"
        )
    values.update({k: v for k, v in overrides.items() if v is not None})
    missing = [ENV_VARS[n] for n in ("username", "secret", "integration_code") if not values.get(n)]
    if missing:
        raise ConfigurationError(f"set {', '.join(missing)} (or pass them to the client)")
    return Settings(**values)


# Settings the client's constructor does not take (module defaults; see `from_settings`).
_NOT_CONSTRUCTOR = frozenset({"zone_ttl", "metadata_ttl"})


def client_options(settings: Settings) -> dict[str, Any]:
    """The constructor's keywords for `settings`, all by name."""
    return {f.name: getattr(settings, f.name) for f in fields(settings) if f.name not in _NOT_CONSTRUCTOR}
