"""Simulated user activity: the changes an MSP's staff make during a working day.

Every change goes through the backend, so timestamps move, ticket notes and time entries bump
their ticket's `lastActivityDate`, deleted tickets land in `DeletedTicketLogs` and webhooks
fire, exactly as for API writes. The kinds of change:

  updates  ticket status / priority / title, a note or a time entry added to a ticket,
           a contact or a company edited
  creates  a ticket, a ticket note, a time entry, a contact
  deletes  a ticket (its notes and time entries go with it), a time entry

Each change is made by a random active resource (`PersonID` of webhooks). A batch is
deterministic: the same seed on the same starting tenant makes the same changes (ids, values,
order); only the timestamps differ. `start_background()` keeps changing the tenant at a steady
rate (`autotask-sandbox serve --activity-per-minute N`).

`POST /_sandbox/activity {"updates": n, "creates": n, "deletes": n, "seed"?: int,
"entities"?: [names]}` applies a batch and answers exactly what happened:
`changes` (every committed `{entity, id, action, kind, person}` in order, including the ticket
bumps, the notes and time entries removed with a ticket and its `DeletedTicketLogs` row),
`totals`, `by_entity`, the `seed` used (drawn at random and reported when not given) and
`errors` (a change the backend refused; what it committed before is still listed). `entities`
keeps the kinds whose subject is one of them (`TicketNotes` keeps "a note added", which also
bumps its ticket).
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from sdk_core.catalog import UnknownEntityError

from . import tenant_data as words
from .admin import register_admin_route
from .errors import ApiError
from .values import format_datetime

__all__ = ["Change", "Activity", "apply_batch", "start_background", "KINDS"]

log = logging.getLogger(__name__)
CATEGORIES = ("updates", "creates", "deletes")
# Mix of the background simulator: mostly edits, some new records, few deletions.
BACKGROUND_MIX = {"updates": 70, "creates": 25, "deletes": 5}


@dataclass(frozen=True)
class Change:
    """One committed change: what a tap or a webhook receiver should see."""

    entity: str
    id: int
    action: str  # Create | Update | Delete
    kind: str
    person: int | None  # the acting resource (webhooks' PersonID)


class Actor:
    """One simulated change's context: the backend, the seeded rng and who acts."""

    def __init__(self, backend: Any, rng: random.Random, kind: str):
        self.backend = backend
        self.rng = rng
        self.kind = kind
        self.person = backend.random_id("Resources", rng, isActive=1)
        self.changes: list[Change] = []

    def note(self, entity: str, id_: int, action: str) -> None:
        self.changes.append(Change(entity, int(id_), action, self.kind, self.person))

    def pick(self, entity: str, **match: int) -> int | None:
        return self.backend.random_id(entity, self.rng, **match)

    def create(
        self, entity: str, fixed: dict[str, Any] | None = None, parent: tuple[str, int] | None = None
    ) -> int:
        data = self.backend.make_row(entity, self.rng, fixed)
        new_id = self.backend.create(entity, data, parent=parent, person_id=self.person)
        self.note(entity, new_id, "Create")
        return new_id

    def update(self, entity: str, id_: int, data: dict[str, Any]) -> None:
        self.backend.update(entity, id_, data, sparse=True, person_id=self.person)
        self.note(entity, id_, "Update")

    def other_value(
        self, entity: str, field_name: str, current: Any, exclude: tuple[int, ...] = ()
    ) -> int | None:
        """A picklist value other than the current one (and not excluded), or None."""
        values = sorted(
            int(v)
            for v, _ in self.backend.picklist_values(entity, field_name)
            if str(v) != str(current) and int(v) not in exclude
        )
        return self.rng.choice(values) if values else None


# --- the kinds of change ------------------------------------------------------------------------


def _ticket_field(field_name: str, exclude: tuple[int, ...] = ()) -> Callable[[Actor], None]:
    def run(actor: Actor) -> None:
        ticket = actor.pick("Tickets")
        if ticket is None:
            return
        current = (actor.backend.get("Tickets", ticket) or {}).get(field_name)
        value = actor.other_value("Tickets", field_name, current, exclude)
        if value is None:
            return
        actor.update("Tickets", ticket, {field_name: value})

    return run


def _ticket_title(actor: Actor) -> None:
    ticket = actor.pick("Tickets")
    if ticket is None:
        return
    current = (actor.backend.get("Tickets", ticket) or {}).get("title")
    subject = actor.rng.choice([s for s in words.TICKET_SUBJECTS if s != current])
    actor.update("Tickets", ticket, {"title": f"{subject} (follow-up {actor.rng.randint(2, 9)})"})


def _add_to_ticket(child: str) -> Callable[[Actor], None]:
    def run(actor: Actor) -> None:
        ticket = actor.pick("Tickets")
        if ticket is None:
            return
        actor.create(child, {"ticketID": ticket})
        actor.note("Tickets", ticket, "Update")  # the backend bumps the ticket's lastActivityDate

    return run


def _edit_contact(actor: Actor) -> None:
    contact = actor.pick("Contacts")
    if contact is None:
        return
    title = actor.rng.choice(
        ["Office Manager", "CFO", "IT Contact", "Owner", "Director", "Operations Lead", "Practice Manager"]
    )
    actor.update("Contacts", contact, {"title": title, "phone": f"(555) 555-{actor.rng.randint(1000, 9999)}"})


def _edit_company(actor: Actor) -> None:
    company = actor.pick("Companies")
    if company is None:
        return
    if actor.rng.random() < 0.5:
        data = {"phone": f"(555) 555-{actor.rng.randint(1000, 9999)}"}
    else:
        data = {"address1": f"{actor.rng.randint(1, 9999)} {actor.rng.choice(words.STREETS)}"}
    actor.update("Companies", company, data)


def _create(entity: str) -> Callable[[Actor], None]:
    def run(actor: Actor) -> None:
        actor.create(entity)

    return run


def _delete_ticket(actor: Actor) -> None:
    """Deletes a ticket; the backend removes its notes and time entries and logs the deletion."""
    backend = actor.backend
    ticket = actor.pick("Tickets")
    if ticket is None:
        return
    children = [
        (child, item["id"])
        for child in ("TicketNotes", "TimeEntries")
        for item in _all(backend, child, "ticketID", ticket)
    ]
    backend.delete("Tickets", ticket, person_id=actor.person)
    actor.note("Tickets", ticket, "Delete")
    for child, child_id in children:
        actor.note(child, child_id, "Delete")
    for log_row in _all(backend, "DeletedTicketLogs", "ticketID", ticket):
        actor.note("DeletedTicketLogs", log_row["id"], "Create")


def _delete_time_entry(actor: Actor) -> None:
    entry = actor.pick("TimeEntries")
    if entry is None:
        return
    actor.backend.delete("TimeEntries", entry, person_id=actor.person)
    actor.note("TimeEntries", entry, "Delete")


def _all(backend: Any, entity: str, field_name: str, value: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = None
    while True:
        page = backend.query(
            entity, [{"op": "eq", "field": field_name, "value": value}], include_fields=["id"], after_id=after
        )
        items.extend(page.items)
        if not page.has_more:
            return items
        after = page.ids[-1]


@dataclass(frozen=True)
class Kind:
    """A kind of change: its category, the entity it is about (for `entities`), its weight."""

    name: str
    category: str
    entity: str
    weight: int
    run: Callable[[Actor], None] = field(repr=False, compare=False)


KINDS: tuple[Kind, ...] = (
    # Complete (5) is left out: closing a ticket sets more fields than its status.
    Kind("ticket_status", "updates", "Tickets", 20, _ticket_field("status", exclude=(5,))),
    Kind("ticket_priority", "updates", "Tickets", 10, _ticket_field("priority")),
    Kind("ticket_title", "updates", "Tickets", 6, _ticket_title),
    Kind("ticket_note_added", "updates", "TicketNotes", 20, _add_to_ticket("TicketNotes")),
    Kind("time_entry_added", "updates", "TimeEntries", 14, _add_to_ticket("TimeEntries")),
    Kind("contact_edited", "updates", "Contacts", 8, _edit_contact),
    Kind("company_edited", "updates", "Companies", 5, _edit_company),
    Kind("ticket_created", "creates", "Tickets", 30, _create("Tickets")),
    Kind("ticket_note_created", "creates", "TicketNotes", 30, _add_to_ticket("TicketNotes")),
    Kind("time_entry_created", "creates", "TimeEntries", 25, _add_to_ticket("TimeEntries")),
    Kind("contact_created", "creates", "Contacts", 10, _create("Contacts")),
    Kind("ticket_deleted", "deletes", "Tickets", 50, _delete_ticket),
    Kind("time_entry_deleted", "deletes", "TimeEntries", 50, _delete_time_entry),
)


# --- batches ------------------------------------------------------------------------------------


class Activity:
    """Chooses and applies changes with one seeded rng, so a sequence can be replayed."""

    def __init__(self, backend: Any, seed: int, entities: list[str] | None = None):
        self.backend = backend
        self.seed = seed
        self.rng = random.Random(seed)
        self.kinds = self._kinds(entities)

    def _kinds(self, entities: list[str] | None) -> dict[str, list[Kind]]:
        allowed = None
        if entities is not None:
            if not isinstance(entities, list) or not all(isinstance(e, str) for e in entities):
                raise ValueError("'entities' must be a list of entity names, e.g. [\"Tickets\"]")
            try:
                allowed = {self.backend.catalog.get(name).name for name in entities}
            except UnknownEntityError as exc:
                raise ValueError(str(exc)) from None
        return {
            category: [
                k for k in KINDS if k.category == category and (allowed is None or k.entity in allowed)
            ]
            for category in CATEGORIES
        }

    def check(self, counts: dict[str, int]) -> None:
        for category, n in counts.items():
            if n and not self.kinds[category]:
                possible = sorted({k.entity for k in KINDS if k.category == category})
                raise ValueError(
                    f"no {category} are simulated for the requested entities; "
                    f"{category} exist for: {', '.join(possible)}"
                )

    def one(self, category: str) -> tuple[list[Change], str | None]:
        """Apply one change of the category: what was committed, and the error if refused."""
        kinds = self.kinds[category]
        kind = self.rng.choices(kinds, weights=[k.weight for k in kinds])[0]
        actor = Actor(self.backend, self.rng, kind.name)
        try:
            kind.run(actor)
        except ApiError as exc:
            return actor.changes, f"{kind.name}: {'; '.join(exc.messages)}"
        return actor.changes, None


def apply_batch(
    backend: Any,
    updates: int = 0,
    creates: int = 0,
    deletes: int = 0,
    seed: int | None = None,
    entities: list[str] | None = None,
) -> dict[str, Any]:
    """Apply a batch in a seeded, shuffled order; answer every change it made."""
    counts = {"updates": updates, "creates": creates, "deletes": deletes}
    for category, n in counts.items():
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"'{category}' must be a whole number >= 0, got {n!r}")
    if seed is None:
        seed = random.SystemRandom().randrange(2**31)
    elif isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"'seed' must be an integer, got {seed!r}")
    activity = Activity(backend, seed, entities)
    activity.check(counts)
    plan = [category for category, n in counts.items() for _ in range(n)]
    activity.rng.shuffle(plan)
    started = datetime.now(UTC)
    changes: list[Change] = []
    errors: list[str] = []
    applied = dict.fromkeys(CATEGORIES, 0)
    for category in plan:
        made, error = activity.one(category)
        changes.extend(made)
        applied[category] += bool(made) and error is None
        if error:
            errors.append(error)
    by_entity: dict[str, dict[str, int]] = {}
    for change in changes:
        actions = by_entity.setdefault(change.entity, {})
        actions[change.action] = actions.get(change.action, 0) + 1
    return {
        "seed": seed,
        "requested": counts,
        "totals": {**applied, "skipped": len(plan) - sum(applied.values()), "changes": len(changes)},
        "by_entity": by_entity,
        "changes": [asdict(c) for c in changes],
        "errors": errors,
        "started_at": format_datetime(started),
        "finished_at": format_datetime(datetime.now(UTC)),
    }


# --- background ---------------------------------------------------------------------------------


class Background:
    """A daemon thread applying `per_minute` changes a minute until stopped."""

    def __init__(self, backend: Any, per_minute: float, seed: int):
        if per_minute <= 0:
            raise ValueError("activity per minute must be a positive number")
        self.activity = Activity(backend, seed)
        self.interval = 60.0 / per_minute
        self.applied = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sandbox-activity", daemon=True)

    def start(self) -> Background:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        categories = list(BACKGROUND_MIX)
        weights = list(BACKGROUND_MIX.values())
        while not self._stop.wait(self.interval):
            category = self.activity.rng.choices(categories, weights=weights)[0]
            try:
                made, error = self.activity.one(category)
            except Exception:  # one broken change must not end the simulation
                log.exception("simulated %s failed", category)
                continue
            self.applied += len(made)
            if error:
                log.warning("simulated change refused: %s", error)


def start_background(backend: Any, per_minute: float, seed: int) -> Background:
    """Keep changing the tenant at a steady rate in a daemon thread (returns a handle)."""
    return Background(backend, per_minute, seed).start()


# --- admin route --------------------------------------------------------------------------------

_BATCH_KEYS = {"updates", "creates", "deletes", "seed", "entities"}


async def activity_endpoint(request: Request) -> Response:
    """`POST /_sandbox/activity` {"updates", "creates", "deletes", "seed"?, "entities"?}."""
    try:
        raw = await request.body()
        body = json.loads(raw) if raw.strip() else {}
        if not isinstance(body, dict):
            raise ValueError('send a JSON object like {"updates": 10, "creates": 2}')
        unknown = set(body) - _BATCH_KEYS
        if unknown:
            raise ValueError(f"unknown key(s) {sorted(unknown)}; allowed: {sorted(_BATCH_KEYS)}")
        summary = await run_in_threadpool(apply_batch, request.app.state.backend, **body)
    except ValueError as exc:
        return Response(json.dumps({"error": str(exc)}), status_code=400, media_type="application/json")
    return Response(json.dumps(summary), media_type="application/json")


register_admin_route("/_sandbox/activity", activity_endpoint, ["POST"])
