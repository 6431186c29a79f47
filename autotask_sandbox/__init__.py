"""An emulator of the Autotask PSA REST API with a generated, deterministic MSP tenant.

Run it: `autotask-sandbox serve --scale small --seed 1` (REST root
`http://127.0.0.1:8765/webservices14/ATServicesRest/`), or in tests
`autotask_sandbox.testing.SandboxServer` / the `sandbox` and `sandbox_factory` fixtures.

Modules (moto's shape: routing table, small handlers, a backend that owns state):
  storage    SQLite schema (one table per catalog entity) and filter -> SQL translation
  generator  the deterministic tenant per (scale, seed); `rows` makes plausible rows
  backend    `Backend`, state and business rules, assembled from one layer per job:
             `tenant` (the tenant file, transactions, reset, change events; writes serialised
             by its lock, reads on per-thread read-only connections, WAL), `reads` (pages,
             counts, items), `write_rules` (create/update/delete; raise `errors.ApiError` with
             Autotask's messages), `data_helpers` (random ids, plausible rows, new UDFs)
  field_rules  required fields, string lengths and server-maintained (read-only) fields,
             shared by writes and `/fields`
  tenant_file  refuses tenant files built by another generator version (rebuild command)
  routing    URL map and verb matrix (404/405); `app` the ASGI app and handlers
  actions    non-CRUD operations (invoice PDF/markup, invoiceSettings, Authenticate, time off
             balances/approval, stock moves, contract adjustments, checklist libraries);
             `invoice_render` draws the invoice documents
  attachments  generated attachment files, `data` only by id, upload size limits
  limits     hourly threshold, latency bands, thread limit; `faults` injected faults
  admin      the `/_sandbox/` control path (JSON bodies only); `settings` server options and
             their checks; `cli` the command; `cache` tenant files

Hooks for other modules (activity simulator, webhooks):
  * `Backend.subscribe(callback)` -> unsubscribe function. `callback(event: ChangeEvent)` runs
    after every committed change (API or direct call), with `action` ("Create" | "Update" |
    "Delete"), `entity` (URL name), `id`, `changed_fields` (camelCase -> new value as the API
    shows it; every field on create), `udf_changes` (name -> value), `person_id`, `occurred_at`
    (aware UTC).
  * `Backend.create(entity, data, parent=None) -> id`, `update(entity, id, data, sparse=True)`,
    `delete(entity, id)` (tickets too: writes `DeletedTicketLogs`), `get(entity, id)`,
    `query(entity, filter, include_fields, max_records)`, `random_id(entity, rng, **match)`,
    `make_row(entity, rng, fixed=None)` (a plausible new row honouring references).
  * `Backend.on_reset(hook)`: `hook()` after every reset (under the backend lock), for data a
    module keeps in the tenant outside the generator (the webhooks' fieldID picklists).
  * Extra admin routes: `autotask_sandbox.admin.register_admin_route(path, endpoint,
    methods)` at import time of `autotask_sandbox.activity` / `autotask_sandbox.webhooks` (a
    package; the app imports both when they exist). Endpoints get the running `Sandbox` as
    `request.app.state.sandbox` and the backend as `request.app.state.backend`.
  * `autotask-sandbox serve --activity-per-minute N` calls
    `autotask_sandbox.activity.start_background(backend, per_minute, seed)`.
"""

from sdk_core._extras import require_extra

require_extra("autotask_sandbox", "sandbox", "starlette", "uvicorn")
