"""Conflicts of updates: a row read at one modification timestamp whose record changed since.

Policies: `skip` (the default: the row is not written and is reported), `overwrite` (written
as given) and `merge` (field by field against `base`, the rows as they were read: fields only
the caller changed are written, fields only Autotask changed are kept, and fields both changed
keep Autotask's value and are reported).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .._datetime import parse_datetime
from ..errors import ConfigurationError

__all__ = ["POLICIES", "changed_since", "merge", "same_value", "already_applied", "check_policy"]

POLICIES = ("skip", "overwrite", "merge")


def check_policy(policy: str, base: Any) -> None:
    if policy not in POLICIES:
        raise ConfigurationError(f"on_conflict must be one of {', '.join(POLICIES)}, not {policy!r}")
    if policy == "merge" and base is None:
        raise ConfigurationError(
            "on_conflict='merge' needs base=: the rows as you read them (same sources as rows, "
            "matched by id), to tell the fields you changed from those changed in Autotask since"
        )


def changed_since(read_at: Any, current_at: Any) -> bool:
    """True when the record's timestamp is later than the one the row was read at."""
    mine, theirs = _when(read_at), _when(current_at)
    return mine is not None and theirs is not None and theirs > mine


def _when(value: Any) -> datetime | None:
    try:
        return parse_datetime(value)
    except (ValueError, TypeError, AttributeError):
        return None


def same_value(a: Any, b: Any) -> bool:
    """Equal as Autotask stores them: numbers by value, timestamps by instant, the rest as is."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str) and isinstance(b, str):
        if a == b:
            return True
        first, second = _when(a), _when(b)
        return first is not None and first == second
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b) and isinstance(a, (bool, int)) and isinstance(b, (bool, int))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    return bool(a == b)


def _lookup(record: Mapping[str, Any], key: str) -> Any:
    low = key.lower()
    for k, v in record.items():
        if k.lower() == low:
            return v
    return None


def _udf_values(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        str(u.get("name", "")).lower(): u.get("value")
        for u in record.get("userDefinedFields") or ()
        if isinstance(u, Mapping)
    }


def already_applied(body: Mapping[str, Any], current: Mapping[str, Any]) -> bool:
    """Whether the record already holds every value of `body` (a resumed write that landed)."""
    for key, value in body.items():
        if key == "userDefinedFields":
            have = _udf_values(current)
            if any(
                not same_value(u.get("value"), have.get(str(u.get("name", "")).lower())) for u in value or ()
            ):
                return False
        elif key.lower() != "id" and not same_value(value, _lookup(current, key)):
            return False
    return True


def merge(
    body: Mapping[str, Any], base: Mapping[str, Any], current: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """The body to send after a conflict, and the fields where Autotask's value was kept."""
    out: dict[str, Any] = {"id": body["id"]}
    kept: list[str] = []
    for key, mine in body.items():
        if key.lower() == "id":
            continue
        if key == "userDefinedFields":
            udfs, udf_kept = _merge_udfs(mine or [], _udf_values(base), _udf_values(current))
            if udfs:
                out[key] = udfs
            kept += udf_kept
            continue
        was, now = _lookup(base, key), _lookup(current, key)
        if same_value(mine, was):
            continue  # not changed by the caller: Autotask's value stays
        if not same_value(now, was) and not same_value(now, mine):
            kept.append(key)  # both changed it, differently
            continue
        out[key] = mine
    return out, kept


def _merge_udfs(
    mine: list[Any], base: dict[str, Any], current: dict[str, Any]
) -> tuple[list[Any], list[str]]:
    out, kept = [], []
    for item in mine:
        name = str(item.get("name", ""))
        low = name.lower()
        if same_value(item.get("value"), base.get(low)):
            continue
        if not same_value(current.get(low), base.get(low)) and not same_value(
            current.get(low), item.get("value")
        ):
            kept.append(name)
            continue
        out.append(item)
    return out, kept
