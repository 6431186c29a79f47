"""Handler registration and matching: `"ticket.created"`, `"ticket.*"`, `"*.deleted"`, `"*"`.

A pattern is `ENTITY.ACTION`; the entity is any name of a webhook entity (`ticket`, `Tickets`,
`company`, `account`) or `*`; the action is `created|updated|deleted` (or `create|update|delete`)
or `*`. `when=` is an extra predicate on the event.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .entities import canonical_entity, known_entities
from .events import ACTIONS, WebhookEvent

__all__ = ["Handler", "HandlerFunc", "parse_pattern"]

HandlerFunc = Callable[[WebhookEvent], None | Awaitable[None] | Any]
_ACTION_WORDS = {**{a: a for a in ACTIONS}, **{a + "d": a for a in ACTIONS}}


def parse_pattern(pattern: str) -> tuple[str | None, str | None]:
    """`"ticket.created"` -> `("Ticket", "create")`; None stands for any."""
    text = pattern.strip()
    if text == "*":
        return None, None
    entity, dot, action = text.rpartition(".")
    if not dot:
        raise ValueError(
            f"handler pattern {pattern!r} must be ENTITY.ACTION, e.g. "
            "'ticket.created', 'ticket.*', '*.deleted' or '*'"
        )
    found_entity = None
    if entity != "*":
        found_entity = canonical_entity(entity)
        if found_entity is None:
            raise ValueError(
                f"handler pattern {pattern!r}: {entity!r} is not a webhook entity; "
                f"use one of {known_entities()} (any case) or *"
            )
    found_action = None
    if action != "*":
        found_action = _ACTION_WORDS.get(action.lower())
        if found_action is None:
            raise ValueError(
                f"handler pattern {pattern!r}: the action must be created, updated, "
                f"deleted or *, not {action!r}"
            )
    return found_entity, found_action


@dataclass(frozen=True)
class Handler:
    pattern: str
    func: HandlerFunc
    entity: str | None
    action: str | None
    when: Callable[[WebhookEvent], bool] | None = None

    @property
    def name(self) -> str:
        return getattr(self.func, "__qualname__", repr(self.func))

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.func)

    def matches(self, event: WebhookEvent) -> bool:
        if self.entity is not None and event.entity != self.entity:
            return False
        if self.action is not None and event.action != self.action:
            return False
        return self.when is None or bool(self.when(event))
