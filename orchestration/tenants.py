"""Tenants: who to sync, with which credentials, into which destination.

Three sources, first match wins:

1. a YAML tenants file (`AUTOTASK_TENANTS_FILE`, or the resource's `tenants_file`)::

       tenants:
         acme:
           credentials_env_prefix: ACME_AUTOTASK   # ACME_AUTOTASK_USERNAME, _SECRET, ...
           # or: secrets_file: /run/secrets/acme.yaml  (username, secret, integration_code)
           api_url: https://webservices5.autotask.net/ATServicesRest/   # optional
           destination: postgresql+psycopg://loader@db/warehouse          # optional
           schema: acme                                                   # optional
           max_api_share: 0.3                                             # optional

2. `AUTOTASK_TENANTS=acme,globex`: each tenant's settings from `AUTOTASK_<NAME>_*` variables;
3. neither: one tenant `default` from the `AUTOTASK_*` variables.

Credentials are read when a run needs them, never when definitions load, so Dagster loads with
no tenant configured. Secrets stay out of reprs (`field(repr=False)`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sdk_core.errors import ConfigurationError

__all__ = ["Tenant", "load_tenants", "DEFAULT_TENANT", "is_sql_url"]

DEFAULT_TENANT = "default"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_CREDENTIALS = ("username", "secret", "integration_code")
SYNC_FILE_FORMATS = ("parquet", "csv", "jsonl")  # target-files formats that append run after run

_SETTINGS = (
    "api_url",
    "zone_lookup_url",
    "destination",
    "schema",
    "max_api_share",
    "redis_url",
    "webhook_store",
    "files_format",
    "impersonation_resource_id",
)


def is_sql_url(destination: str) -> bool:
    """A SQLAlchemy URL (`dialect+driver://...`) rather than a folder for target-files."""
    return "://" in destination


@dataclass(frozen=True)
class Tenant:
    """One Autotask tenant (database) and where its data goes."""

    name: str
    username: str | None = None
    secret: str | None = field(default=None, repr=False)
    integration_code: str | None = field(default=None, repr=False)
    api_url: str | None = None
    zone_lookup_url: str | None = None
    destination: str | None = field(default=None, repr=False)
    schema: str | None = None
    max_api_share: float = 0.5
    redis_url: str | None = field(default=None, repr=False)
    webhook_store: str | None = field(default=None, repr=False)
    files_format: str = "parquet"
    impersonation_resource_id: int | None = None
    source: str = "environment"

    def require_credentials(self) -> None:
        missing = [name for name in _CREDENTIALS if not getattr(self, name)]
        if missing:
            raise ConfigurationError(
                f"Tenant {self.name!r} ({self.source}) has no {', '.join(missing)}. "
                + (
                    "Set " + ", ".join(f"AUTOTASK_{m.upper()}" for m in missing)
                    if self.name == DEFAULT_TENANT and self.source == "environment"
                    else "Give them in its environment variables or secrets file"
                )
                + " (see docs/orchestration.md)."
            )

    def require_destination(self) -> str:
        if not self.destination:
            raise ConfigurationError(
                f"Tenant {self.name!r} has no destination: set AUTOTASK_DESTINATION_URL to a "
                "SQLAlchemy URL (postgresql+psycopg://..., mysql+pymysql://..., sqlite:///...) "
                "or a folder for files, or give the tenant a `destination` in the tenants file."
            )
        return self.destination

    def client_settings(self) -> dict[str, Any]:
        """Keyword arguments of `sdk_core.AutotaskClient`."""
        self.require_credentials()
        return {
            "username": self.username,
            "secret": self.secret,
            "integration_code": self.integration_code,
            "api_url": self.api_url or None,
            "zone_lookup_url": self.zone_lookup_url or None,
            "max_api_share": self.max_api_share,
            "redis_url": self.redis_url or None,
            "impersonation_resource_id": self.impersonation_resource_id,
        }

    def secrets(self) -> list[str]:
        """Values to mask wherever the tenant's processes write text."""
        values = [self.secret, self.integration_code]
        for url in (self.destination, self.redis_url, self.webhook_store):
            password = _password(url)
            if password:
                values.append(password)
        return [v for v in values if v and len(v) >= 3]


def _password(url: str | None) -> str | None:
    if not url or "://" not in url or "@" not in url:
        return None
    userinfo = url.split("://", 1)[1].rsplit("@", 1)[0]
    return userinfo.split(":", 1)[1] if ":" in userinfo else None


def _env_tenant(
    name: str, prefix: str, env: Mapping[str, str], defaults: Mapping[str, Any], source: str
) -> Tenant:
    values: dict[str, Any] = {}
    for key in (*_CREDENTIALS, *_SETTINGS):
        value = env.get(f"{prefix}_{key.upper()}")
        if value not in (None, ""):
            values[key] = value
    if "destination" not in values and env.get(f"{prefix}_DESTINATION_URL"):
        values["destination"] = env[f"{prefix}_DESTINATION_URL"]
    return _tenant(name, {**defaults, **values}, source)


def _tenant(name: str, values: Mapping[str, Any], source: str) -> Tenant:
    if not _NAME.match(name):
        raise ConfigurationError(
            f"Tenant name {name!r} ({source}) must be lower case letters, digits and _ "
            "(it becomes a Dagster partition key and a run tag)."
        )
    unknown = set(values) - {*_CREDENTIALS, *_SETTINGS, "credentials_env_prefix", "secrets_file"}
    if unknown:
        raise ConfigurationError(
            f"Tenant {name!r} ({source}) has unknown settings {sorted(unknown)}; known: "
            f"{', '.join(sorted({*_CREDENTIALS, *_SETTINGS}))}, credentials_env_prefix, "
            "secrets_file."
        )
    clean = {k: v for k, v in values.items() if k in (*_CREDENTIALS, *_SETTINGS)}
    try:
        if "max_api_share" in clean:
            clean["max_api_share"] = float(clean["max_api_share"])
        if clean.get("impersonation_resource_id") is not None:
            clean["impersonation_resource_id"] = int(clean["impersonation_resource_id"])
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"Tenant {name!r} ({source}): {exc}") from None
    if not 0 < clean.get("max_api_share", 0.5) <= 1:
        raise ConfigurationError(f"Tenant {name!r} ({source}): max_api_share must be in (0, 1].")
    files_format = clean.get("files_format", "parquet")
    if files_format not in SYNC_FILE_FORMATS:
        hint = (
            " Excel workbooks are written anew by every run, so each incremental sync would replace "
            "the rows of the runs before it; export to Excel with `autotask export --format xlsx`."
            if files_format == "xlsx"
            else ""
        )
        raise ConfigurationError(
            f"Tenant {name!r} ({source}): files_format {files_format!r} cannot hold a sync; use "
            f"{', '.join(SYNC_FILE_FORMATS)} (AUTOTASK_DESTINATION_FORMAT).{hint}"
        )
    return Tenant(name=name, source=source, **clean)


def _file_tenants(path: Path, env: Mapping[str, str], defaults: Mapping[str, Any]) -> list[Tenant]:
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise ConfigurationError(f"Tenants file {path} does not exist (AUTOTASK_TENANTS_FILE).") from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"Tenants file {path} is not valid YAML: {exc}") from None
    entries = document.get("tenants") if isinstance(document, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise ConfigurationError(f"Tenants file {path} needs a `tenants:` mapping of name -> settings.")
    tenants = []
    for name, raw in entries.items():
        raw = dict(raw or {})
        source = f"tenants file {path}"
        values: dict[str, Any] = dict(defaults)
        secrets_file = raw.pop("secrets_file", None)
        if secrets_file:
            secrets = yaml.safe_load(Path(secrets_file).expanduser().read_text()) or {}
            values.update({k: secrets[k] for k in _CREDENTIALS if secrets.get(k)})
        prefix = raw.pop("credentials_env_prefix", None)
        if prefix:
            values.update(
                {k: env[f"{prefix}_{k.upper()}"] for k in _CREDENTIALS if env.get(f"{prefix}_{k.upper()}")}
            )
        values.update(raw)
        tenants.append(_tenant(str(name), values, source))
    return tenants


def load_tenants(tenants_file: str | None = None, env: Mapping[str, str] | None = None) -> list[Tenant]:
    """Every configured tenant (see the module docstring); never empty."""
    env = os.environ if env is None else env
    defaults: dict[str, Any] = {}
    for key, var in (
        ("destination", "AUTOTASK_DESTINATION_URL"),
        ("webhook_store", "AUTOTASK_WEBHOOK_STORE"),
        ("redis_url", "AUTOTASK_REDIS_URL"),
        ("files_format", "AUTOTASK_DESTINATION_FORMAT"),
    ):
        if env.get(var):
            defaults[key] = env[var]
    path = tenants_file or env.get("AUTOTASK_TENANTS_FILE")
    if path:
        tenants = _file_tenants(Path(path).expanduser(), env, defaults)
    elif env.get("AUTOTASK_TENANTS"):
        names = [n.strip() for n in env["AUTOTASK_TENANTS"].split(",") if n.strip()]
        tenants = [
            _env_tenant(n, f"AUTOTASK_{n.upper()}", env, defaults, f"AUTOTASK_{n.upper()}_* variables")
            for n in names
        ]
    else:
        tenants = [_env_tenant(DEFAULT_TENANT, "AUTOTASK", env, defaults, "environment")]
    _check_distinct_destinations(tenants)
    return tenants


def _check_distinct_destinations(tenants: list[Tenant]) -> None:
    """Two tenants writing the same tables would overwrite each other's rows."""
    seen: dict[tuple[str | None, str | None], str] = {}
    for tenant in tenants:
        if not tenant.destination or not is_sql_url(tenant.destination):
            continue  # files go to a folder per tenant
        where = (tenant.destination, tenant.schema)
        if where in seen:
            raise ConfigurationError(
                f"Tenants {seen[where]!r} and {tenant.name!r} write to the same destination "
                "and schema; give each a `schema` (PostgreSQL, MySQL) or its own `destination`."
            )
        seen[where] = tenant.name
