"""Server options, and the checks `PUT /_sandbox/config` applies before changing any of them.

A value that slipped through (`thread_limit: "abc"`, `threshold: -5`) would break every later
API call with a 500, so each change is checked first and refused with the setting's name.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["DEFAULT_INTEGRATION_CODE", "DEFAULT_SECRET", "DEFAULT_USERNAME", "Settings", "SettingError"]

DEFAULT_USERNAME = "sandbox-api@example.com"
DEFAULT_SECRET = "sandbox-secret"
DEFAULT_INTEGRATION_CODE = "SANDBOX-INTEGRATION"


class SettingError(ValueError):
    """A changed setting has a value the server cannot run with; `field` names it."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


# mutable setting -> (kind, smallest allowed value); "bool" settings take true/false only
_RULES: dict[str, tuple[str, int]] = {
    "latency_ms": ("int", 0),
    "threshold": ("int", 1),
    "thread_limit": ("int", 1),
    "latency_bands": ("bool", 0),
    "get_missing_as_null_item": ("bool", 0),
}


@dataclass
class Settings:
    """Server options; the mutable ones can be changed through `PUT /_sandbox/config`."""

    zone: str = "webservices14"
    username: str = DEFAULT_USERNAME
    secret: str = field(default=DEFAULT_SECRET, repr=False)
    integration_code: str = field(default=DEFAULT_INTEGRATION_CODE, repr=False)
    latency_ms: int = 0
    threshold: int = 10000
    thread_limit: int = 3
    latency_bands: bool = True
    get_missing_as_null_item: bool = False
    faults: Any = None
    seed: int = 1

    MUTABLE = tuple(_RULES)

    def public(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("secret")
        out["integration_code"] = "(set)"
        return out

    def change(self, changes: dict[str, Any]) -> None:
        """Apply `changes` after checking every one of them (nothing changes when one fails)."""
        unknown = set(changes) - set(self.MUTABLE)
        if unknown:
            raise SettingError(sorted(unknown)[0], f"unknown setting; allowed: {', '.join(self.MUTABLE)}")
        for name, value in changes.items():
            _check(name, value)
        for name, value in changes.items():
            setattr(self, name, value)


def _check(name: str, value: Any) -> None:
    kind, least = _RULES[name]
    if kind == "bool":
        if not isinstance(value, bool):
            raise SettingError(name, f"must be true or false, not {value!r}")
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise SettingError(name, f"must be a whole number, not {value!r}")
    if value < least:
        raise SettingError(name, f"must be at least {least}, not {value!r}")
