"""The tenant's state and the API's business rules, usable with or without HTTP.

`Backend` is assembled from one layer per job, each in its own module and each building on the
one before: `tenant.Tenant` (the tenant file, transactions, reset, change events),
`reads.Reads` (pages, counts, items), `write_rules.WriteRules` (create, update, delete and
their rules) and `data_helpers.DataHelpers` (random ids, plausible rows, new UDFs).

Public surface (used by the HTTP handlers, the activity simulator and the webhooks module):

- `Backend(db_path, pristine=..., scale=..., seed=...)`: opens a tenant file (raises
  `tenant_file.StaleTenantError`, naming the rebuild command, if another generator built it).
- `query(entity, filter, include_fields=None, max_records=500)` -> `QueryPage` (items, has_more);
  `count(entity, filter)`; `get(entity, id)` -> item dict or None.
- `create(entity, data, parent=None, person_id=None) -> id`; `update(entity, id, data,
  sparse=True, ...)`; `delete(entity, id, ...)`. `data` is API JSON (camelCase or any case,
  `userDefinedFields: [{"name", "value"}]`). Rules: unknown fields and bad references or
  picklist values raise `ApiError` with Autotask's messages; timestamps and actor fields are
  maintained; creating a ticket note or time entry bumps the ticket's `lastActivityDate`;
  deleting a ticket (not allowed over the API, allowed here) writes a `DeletedTicketLogs` row.
- `subscribe(callback) -> unsubscribe`: `callback(ChangeEvent)` after every committed change.
- `atomic()`: a context in which several writes commit together (events after the commit) or
  roll back together.
- `random_id(entity, rng, **match)`: a random existing id, deterministic for a given
  `random.Random` state and database; `make_row(entity, rng, fixed=None)`: a plausible new row
  (references respected) ready for `create`; `add_udf(entity, name, type)`: one more UDF.
- `reset()`: back to the freshly generated tenant; `on_reset(hook)` runs `hook()` after each.
All methods are thread-safe. Writes are serialised by `lock` on one writable connection;
reads (`query`, `count`, `get`, `children`, `is_active_resource`) run on a read-only connection of
the calling thread (WAL: concurrent readers see every committed write), except inside a write or
`atomic()` of the same thread, where they read the writable connection (its uncommitted rows).
"""

from __future__ import annotations

from .data_helpers import UDF_TYPES, DataHelpers
from .reads import MAX_PAGE, QueryPage
from .tenant import ChangeEvent, WriteLock
from .write_rules import ACTIVITY_LOG_TYPES

__all__ = ["ACTIVITY_LOG_TYPES", "Backend", "ChangeEvent", "MAX_PAGE", "QueryPage", "UDF_TYPES", "WriteLock"]


class Backend(DataHelpers):
    """Owns the SQLite tenant; every operation of the emulated API goes through here."""
