"""Settings that need more than JSON Schema: numbers given as text, missing credentials, a
start date that is not a timestamp, and validation messages that never show a secret.

Meltano passes a `kind: string` setting (and any value from an environment variable) as text,
and its `kind: decimal` cannot be used (Meltano 4.4 fails to serialise it), so the numeric
settings accept numeric text, checked by a pattern and turned into numbers here, once, before
validation. Everything else reads plain numbers from the config.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from typing import Any

from sdk_core import parse_datetime
from sdk_core.errors import ConfigurationError

__all__ = [
    "CREDENTIALS",
    "NUMERIC_SETTINGS",
    "NUMERIC_TEXT",
    "accept_numeric_text",
    "check_start_date",
    "coerce_numeric",
    "hide_secrets",
    "require_credentials",
]

NUMERIC_TEXT = r"^\s*[0-9]+(\.[0-9]+)?\s*$"
NUMERIC_SETTINGS = ("lookback_minutes", "max_api_share", "reconcile_deletes_every")
CREDENTIALS = ("username", "secret", "integration_code")

_NUMERIC = re.compile(NUMERIC_TEXT)
_WHERE = re.compile(r" in config\['([^']+)'\]")


def accept_numeric_text(schema: dict[str, Any]) -> dict[str, Any]:
    """The config schema with the numeric settings also taking numeric text (non-negative)."""
    props = schema["properties"]
    for name in NUMERIC_SETTINGS:
        props[name] = {**props[name], "type": ["number", "string"], "pattern": NUMERIC_TEXT, "minimum": 0}
    return schema


def coerce_numeric(config: MutableMapping[str, Any]) -> None:
    """Turn numeric text of the numeric settings into numbers, in place.

    Text that is not a number is left as it is, so validation reports it against the pattern.
    """
    for name in NUMERIC_SETTINGS:
        value = config.get(name)
        if isinstance(value, str) and _NUMERIC.match(value):
            number = float(value)
            config[name] = int(number) if number.is_integer() else number


def check_start_date(config: Mapping[str, Any]) -> None:
    """A `start_date` that is not a timestamp fails before the run, naming the setting, rather
    than in the middle of the first incremental stream (JSON Schema does not check formats)."""
    value = config.get("start_date")
    if not isinstance(value, str) or not value.strip():
        return
    try:
        parse_datetime(value)
    except ValueError as exc:
        raise ConfigurationError(
            f"start_date: {exc}; a date such as 2026-01-01 (UTC midnight) works too"
        ) from None


def require_credentials(config: Mapping[str, Any]) -> None:
    """Fail with one line naming the missing credentials and where they come from."""
    missing = [name for name in CREDENTIALS if not config.get(name)]
    if missing:
        env = ", ".join(f"TAP_AUTOTASK_{name.upper()}" for name in missing)
        meltano_env = ", ".join(f"AUTOTASK_{name.upper()}" for name in missing)
        raise ConfigurationError(
            f"Missing Autotask credentials: {', '.join(missing)}. Put them in the --config "
            f"file, or in the environment as {env} (with --config=ENV); with Meltano, "
            f"`meltano config set tap-autotask <name> <value>` or, for the meltano.yml "
            f"environments, {meltano_env}."
        )


def hide_secrets(errors: list[str], schema: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    """Validation messages with no secret in them.

    jsonschema quotes the offending value (`['s3cr3t'] is not of type 'string'`); a message
    about a secret setting is replaced by one naming the setting and the expected type, and any
    other message has the secret values blanked, in case one is quoted there.
    """
    props = schema.get("properties", {})
    secret = {name for name, prop in props.items() if prop.get("secret")}
    # Texts shorter than 4 characters would blank ordinary words; no real secret is that short.
    values = sorted(
        {text for name in secret for text in _texts(config.get(name)) if len(text) >= 4},
        key=len,
        reverse=True,
    )
    safe = []
    for error in errors:
        where = _WHERE.search(error)
        if where and where.group(1) in secret:
            name = where.group(1)
            kind = props[name].get("type", "string")
            kinds = " or ".join(kind) if isinstance(kind, list) else kind
            safe.append(
                f"config[{name!r}] must be of type {kinds}; the value given is not shown because it is secret"
            )
            continue
        for text in values:
            error = error.replace(text, "****")
        safe.append(error)
    return safe


def _texts(value: Any) -> list[str]:
    """Every piece of text a (possibly nested) value holds, as a message could quote it."""
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in (*_texts(k), *_texts(v))]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _texts(v)]
    return [str(value)] if value not in (None, "") and not isinstance(value, bool) else []
