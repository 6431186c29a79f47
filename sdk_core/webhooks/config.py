"""Tenants and their webhook secrets: from the environment or a tenants file, never argv.

With no tenants file there is one tenant, `default`, whose secret is `AUTOTASK_WEBHOOK_SECRET`.
A tenants file (TOML; keep it readable by the service user only) names more:

    [tenants.acme]
    secret_env = "ACME_WEBHOOK_SECRET"       # or: secret = "..." (a list allows rotation)
    entities = ["Ticket", "TicketNote"]       # optional; default: all five
    [tenants.acme.secrets]                    # optional per-entity secrets
    Company = "..."

Secrets are held in `Secret`, whose repr and str never show the value.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .entities import CANONICAL, canonical_entity, known_entities

__all__ = [
    "Secret",
    "Tenant",
    "Tenants",
    "ConfigError",
    "SECRET_ENV",
    "TENANTS_ENV",
    "DEFAULT_TENANT",
    "load_tenants",
]

SECRET_ENV = "AUTOTASK_WEBHOOK_SECRET"
TENANTS_ENV = "AUTOTASK_WEBHOOK_TENANTS"
DEFAULT_TENANT = "default"


class ConfigError(ValueError):
    """The tenants or secrets configuration is unusable; the message says how to fix it."""


class Secret:
    """A webhook secret key that never shows itself in logs, errors or reprs."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))


@dataclass(frozen=True)
class Tenant:
    """One Autotask database whose webhooks post to `/webhooks/{name}/{entity}`."""

    name: str
    secrets: tuple[Secret, ...]
    entity_secrets: Mapping[str, tuple[Secret, ...]] = field(default_factory=dict)
    entities: frozenset[str] = frozenset(CANONICAL)

    def secrets_for(self, entity: str) -> tuple[Secret, ...]:
        return self.entity_secrets.get(entity) or self.secrets

    def secret_for(self, entity: str) -> str:
        """The secret to register a webhook with (the first one, when rotating)."""
        found = self.secrets_for(entity)
        if not found:
            raise ConfigError(f"tenant {self.name!r} has no secret for {entity}")
        return found[0].reveal()


class Tenants:
    """Tenants by name (case-insensitive)."""

    def __init__(self, tenants: Iterable[Tenant]):
        self._by_name = {t.name.lower(): t for t in tenants}
        if not self._by_name:
            raise ConfigError("no tenants configured")

    def get(self, name: str) -> Tenant | None:
        return self._by_name.get(name.lower())

    def __iter__(self) -> Any:
        return iter(self._by_name.values())

    def names(self) -> list[str]:
        return [t.name for t in self._by_name.values()]

    def __repr__(self) -> str:
        return f"Tenants({self.names()!r})"


def _secrets(value: Any, where: str, env: Mapping[str, str]) -> tuple[Secret, ...]:
    """`secret` (string or list) or `secret_env` (name or list of names) -> secrets."""
    out: list[Secret] = []
    literal = value.get("secret") if isinstance(value, Mapping) else value
    if literal is not None:
        items = [literal] if isinstance(literal, str) else literal
        if not isinstance(items, list) or not all(isinstance(s, str) and s for s in items):
            raise ConfigError(f"{where}: secret must be a non-empty string or a list of them")
        out += [Secret(s) for s in items]
    names = value.get("secret_env") if isinstance(value, Mapping) else None
    if names is not None:
        for name in [names] if isinstance(names, str) else names:
            found = env.get(name)
            if not found:
                raise ConfigError(
                    f"{where}: the environment variable {name} is not set; "
                    f"export it with the webhook's secret key"
                )
            out.append(Secret(found))
    return tuple(out)


def _tenant(name: str, raw: Any, env: Mapping[str, str]) -> Tenant:
    where = f"tenant {name!r}"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a table ([tenants.{name}])")
    unknown = set(raw) - {"secret", "secret_env", "secrets", "entities"}
    if unknown:
        raise ConfigError(
            f"{where}: unknown setting(s) {sorted(unknown)}; known: secret, secret_env, secrets, entities"
        )
    entities = frozenset(CANONICAL)
    if "entities" in raw:
        named = [(e, canonical_entity(str(e))) for e in raw["entities"]]
        bad = [e for e, c in named if c is None]
        if bad:
            raise ConfigError(f"{where}: unknown entities {bad}; use {known_entities()}")
        entities = frozenset(c for _, c in named if c)
    per_entity: dict[str, tuple[Secret, ...]] = {}
    for entity, value in (raw.get("secrets") or {}).items():
        canonical = canonical_entity(entity)
        if canonical is None:
            raise ConfigError(f"{where}: secrets names unknown entity {entity!r}; use {known_entities()}")
        per_entity[canonical] = _secrets(value, f"{where} {canonical}", env)
    secrets = _secrets(raw, where, env)
    missing = [e for e in sorted(entities) if not (per_entity.get(e) or secrets)]
    if missing:
        raise ConfigError(
            f"{where} has no secret for {', '.join(missing)}: set secret or "
            "secret_env (or [tenants.NAME.secrets])"
        )
    return Tenant(name, secrets, per_entity, entities)


def load_tenants(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Tenants:
    """Tenants from `path` (or `$AUTOTASK_WEBHOOK_TENANTS`), else `default` from
    `$AUTOTASK_WEBHOOK_SECRET`."""
    env = os.environ if env is None else env
    path = path or env.get(TENANTS_ENV)
    if not path:
        secret = env.get(SECRET_ENV)
        if not secret:
            raise ConfigError(
                f"no webhook secret: export {SECRET_ENV} (the secretKey the "
                f"webhooks are registered with) or give a tenants file "
                f"(--tenants or {TENANTS_ENV})"
            )
        return Tenants([Tenant(DEFAULT_TENANT, (Secret(secret),))])
    file = Path(path).expanduser()
    try:
        raw = tomllib.loads(file.read_text())
    except FileNotFoundError:
        raise ConfigError(f"tenants file {file} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"tenants file {file} is not valid TOML: {exc}") from None
    tenants = raw.get("tenants")
    if not isinstance(tenants, Mapping) or not tenants:
        raise ConfigError(f"tenants file {file} has no [tenants.NAME] tables")
    return Tenants(_tenant(str(name), value, env) for name, value in tenants.items())


def tenants_from(value: Any) -> Tenants:
    """Accept a Tenants, a {name: secret} mapping, or None (the environment)."""
    if value is None:
        return load_tenants()
    if isinstance(value, Tenants):
        return value
    if isinstance(value, (str, Path)):
        return load_tenants(value)
    if isinstance(value, Mapping):
        return Tenants(
            Tenant(
                str(name),
                _secrets(
                    secret if isinstance(secret, Mapping) else {"secret": secret},
                    f"tenant {name!r}",
                    os.environ,
                ),
            )
            for name, secret in value.items()
        )
    raise ConfigError(
        f"tenants must be a Tenants, a tenants file path or a {{name: secret}} "
        f"mapping, not {type(value).__name__}"
    )
