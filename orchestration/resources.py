"""Dagster resources: tenants, destination, bookmarks, the webhook event store, the pipeline.

Every field has a default read from the environment when the resource is used, so the same
definitions serve the sandbox (nothing configured), one tenant (`AUTOTASK_*`) and many (a
tenants file), and tests swap any of them with `materialize(resources=...)`.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource
from pydantic import Field

from sdk_core.errors import ConfigurationError

from .state_store import StateStore
from .tenants import Tenant, is_sql_url, load_tenants

__all__ = [
    "TenantsResource",
    "StateStoreResource",
    "WebhookStoreResource",
    "SingerPipelineResource",
    "default_resources",
]


class TenantsResource(ConfigurableResource):
    """The configured Autotask tenants (see `orchestration.tenants`)."""

    tenants_file: str | None = Field(
        default=None,
        description="YAML tenants file; default AUTOTASK_TENANTS_FILE, else "
        "AUTOTASK_TENANTS, else one tenant `default` from AUTOTASK_* variables.",
    )

    def all(self) -> list[Tenant]:
        return load_tenants(self.tenants_file)

    def names(self) -> list[str]:
        return [t.name for t in self.all()]

    def get(self, name: str) -> Tenant:
        for tenant in self.all():
            if tenant.name == name:
                return tenant
        raise ConfigurationError(
            f"No tenant {name!r} is configured (tenants: {', '.join(self.names())}). Add it to "
            "the tenants file (AUTOTASK_TENANTS_FILE), or remove its partition."
        )

    def client(self, name: str, **overrides: Any) -> Any:
        """An `sdk_core.AutotaskClient` for the tenant (its governor shared through Redis)."""
        from sdk_core import AutotaskClient

        return AutotaskClient(**{**self.get(name).client_settings(), **overrides})


class StateStoreResource(ConfigurableResource):
    """Where bookmarks live: a SQLAlchemy URL shared by every worker.

    Default: `AUTOTASK_STATE_STORE`, else the tenant's destination database when it is one
    (PostgreSQL in production), else `autotask_state.sqlite` in the files destination folder.
    """

    url: str | None = Field(default=None, description="SQLAlchemy URL of the state store.")

    def url_for(self, tenant: Tenant) -> tuple[str, str | None]:
        url = self.url or os.environ.get("AUTOTASK_STATE_STORE")
        if url:
            return url, None
        destination = tenant.require_destination()
        if is_sql_url(destination):
            return destination, tenant.schema
        folder = Path(destination).expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{folder.resolve() / 'autotask_state.sqlite'}", None

    def open(self, tenant: Tenant) -> StateStore:
        url, schema = self.url_for(tenant)
        return StateStore(url, schema=schema)


class WebhookStoreResource(ConfigurableResource):
    """The webhook receiver's event store (`autotask webhooks serve --store URL`)."""

    url: str | None = Field(default=None, description="Store URL; default AUTOTASK_WEBHOOK_STORE.")
    receiver_url: str | None = Field(
        default=None,
        description="The receiver's base URL (http://host:port), whose liveness the health job "
        "checks; default AUTOTASK_WEBHOOK_RECEIVER_URL.",
    )

    def configured_url(self) -> str | None:
        return self.url or os.environ.get("AUTOTASK_WEBHOOK_STORE") or None

    def receiver(self) -> str | None:
        return self.receiver_url or os.environ.get("AUTOTASK_WEBHOOK_RECEIVER_URL") or None

    def open(self) -> Any:
        url = self.configured_url()
        if not url:
            raise ConfigurationError(
                "No webhook event store: set AUTOTASK_WEBHOOK_STORE to the URL the receiver "
                "was started with (`autotask webhooks serve --store URL`)."
            )
        from sdk_core.webhooks.store import open_store

        return open_store(url)


def _executable(name: str) -> str:
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise ConfigurationError(
            f"{name} is not installed in this environment (pip install autotask-liberator)."
        )
    return found


class SingerPipelineResource(ConfigurableResource):
    """How the tap and the targets are run (executables and sync settings)."""

    tap_executable: str | None = None
    target_sql_executable: str | None = None
    target_files_executable: str | None = None
    lookback_minutes: float = Field(default=5, description="Overlap re-read before bookmarks.")
    metadata_source: str = Field(default="live", description="`live` or `catalog` (offline).")
    start_date: str | None = None
    batch_size_rows: int | None = Field(
        default=None,
        description="Rows per target-sql transaction; each commit saves a bookmark. Default "
        "AUTOTASK_BATCH_SIZE_ROWS, else 10000.",
    )

    def batch_rows(self) -> int:
        value = self.batch_size_rows or os.environ.get("AUTOTASK_BATCH_SIZE_ROWS") or 10000
        try:
            rows = int(value)
        except ValueError:
            rows = 0
        if rows < 1:
            raise ConfigurationError(
                f"AUTOTASK_BATCH_SIZE_ROWS must be a whole number of rows above 0, not {value!r}."
            )
        return rows

    def tap(self) -> str:
        return self.tap_executable or _executable("tap-autotask")

    def target(self, destination: str) -> tuple[str, str]:
        """(executable, name) of the target for a destination."""
        if is_sql_url(destination):
            return self.target_sql_executable or _executable("target-sql"), "target-sql"
        return self.target_files_executable or _executable("target-files"), "target-files"


def default_resources() -> dict[str, Any]:
    return {
        "tenants": TenantsResource(),
        "state_store": StateStoreResource(),
        "webhook_store": WebhookStoreResource(),
        "pipeline": SingerPipelineResource(),
    }
