"""The five entities Autotask sends webhooks for, and every name they go by.

A payload's `EntityType` uses legacy singular names (`Ticket`, `Account` for companies,
`InstalledProduct` for configuration items, reference 11.3), URLs and users say `ticket` or
`Tickets`, the catalog says `Tickets`. Everything here resolves to one canonical webhook name
(`Ticket`, `TicketNote`, `Company`, `Contact`, `ConfigurationItem`) and its REST entity name.
"""

from __future__ import annotations

from functools import cache

from ..catalog import load_catalog

__all__ = ["CANONICAL", "REST_ENTITY", "canonical_entity", "config_entity", "known_entities"]

# canonical webhook entity -> the catalog's REST entity name
REST_ENTITY: dict[str, str] = {
    "Company": "Companies",
    "Contact": "Contacts",
    "ConfigurationItem": "ConfigurationItems",
    "Ticket": "Tickets",
    "TicketNote": "TicketNotes",
}
CANONICAL = tuple(REST_ENTITY)


def _norm(name: str) -> str:
    return name.strip().lower().replace("_", "").replace("-", "").replace(" ", "")


@cache
def _aliases() -> dict[str, str]:
    catalog = load_catalog()
    out: dict[str, str] = {}
    for canonical, rest in REST_ENTITY.items():
        info = catalog.get(rest)
        for alias in (canonical, rest, info.internal_name or "", info.stream_name):
            if alias:
                out[_norm(alias)] = canonical
    return out


def canonical_entity(name: str) -> str | None:
    """`ticket`, `Tickets`, `ticket_notes`, `Account`, `InstalledProduct` -> canonical name."""
    if not isinstance(name, str):
        return None
    return _aliases().get(_norm(name))


def known_entities() -> str:
    """The accepted names, for error messages."""
    return ", ".join(CANONICAL)


def config_entity(canonical: str) -> str:
    """The webhook configuration entity: `Ticket` -> `TicketWebhooks`."""
    return f"{canonical}Webhooks"
