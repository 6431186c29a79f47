"""Bulk writes: many records created, updated, replaced or deleted, each exactly once.

```python
result = client.tickets.bulk_create(rows, match=["title", "companyID"])
result.ids, result.errors, result.requests, result.journal
```

Autotask has no batch endpoint: the engine sends one request per row, keeps the endpoint's
threads busy within the rate governor's budget, journals every row in SQLite (resumable with
`resume=job_id`), reconciles creates whose answer was lost instead of resending them, checks
rows against live metadata (`dry_run=True` sends no write) and detects update conflicts.
Modules: `sources` (rows in), `journal`, `rules` (checks), `planner` (routes), `conflicts`,
`job` (one row's life), `runner` (threads / tasks), `progress`, `result`, `methods` (the
entity methods, which load the engine on first use).
"""

from __future__ import annotations

from .methods import AsyncBulkMethods, BulkMethods
from .progress import BulkProgress
from .result import BulkInterruptedError, BulkResult

__all__ = ["BulkResult", "BulkInterruptedError", "BulkProgress", "BulkMethods", "AsyncBulkMethods"]
