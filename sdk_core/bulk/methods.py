"""`bulk_create`, `bulk_update`, `bulk_replace` and `bulk_delete` on every entity.

The mixins only forward to the engine, imported on first use, so `import sdk_core` does not
load it. Arguments (all but the first three are keyword only; docs/sdk.md has examples):

rows: a list or iterator of dicts, a pandas DataFrame, or the path of a .csv or .parquet file
    (for deletes also bare ids). Parent routes (TicketNotes under /Tickets/{id}/Notes) are
    found from the row's reference to the parent (ticketID).
journal: the SQLite journal file (default <cache dir>/bulk/journal.sqlite).
dry_run: validate every row against live metadata (required, read-only, picklists including
    dependent ones, lengths, references that exist) and send no write.
resume: a job id from an earlier, interrupted run: only rows not done are sent, none twice.
match / marker (creates): how a create whose answer was lost is looked for before it is sent
    again: fields that identify the row (match=["title", "companyID"]), or a writable text
    field (or UDF) where the engine writes a unique marker (marker="purchaseOrderNumber").
on_conflict (updates): "skip" | "overwrite" | "merge" when a row carrying the entity's
    modification timestamp (lastActivityDate, ...) was changed in Autotask since; "merge"
    needs base= (the rows as they were read).
read_only: "error" (a row setting a read-only field fails) or "drop" (such fields are left out).
validate: check rows locally before sending (default True; references only in a dry run).
progress: a callable taking BulkProgress per finished row; True/False forces the rich bar
    on/off (default: a bar when stderr is a terminal).
nulls: "omit" (empty cells of files and frames are left out, the default) or "send" (null).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .result import BulkResult

__all__ = ["BulkMethods", "AsyncBulkMethods"]


class BulkMethods:
    """Mixed into `Entity`: bulk writes with the sync client."""

    def bulk_create(
        self, rows: Any = None, journal: Any = None, dry_run: bool = False, **options: Any
    ) -> BulkResult:
        """Create one record per row, exactly once; returns BulkResult (ids in input order)."""
        return self._bulk("create", rows, journal, dry_run, options)

    def bulk_update(
        self, rows: Any = None, journal: Any = None, dry_run: bool = False, **options: Any
    ) -> BulkResult:
        """PATCH one record per row (`id` in each row): only the fields given change."""
        return self._bulk("update", rows, journal, dry_run, options)

    def bulk_replace(
        self, rows: Any = None, journal: Any = None, dry_run: bool = False, **options: Any
    ) -> BulkResult:
        """PUT one record per row: writable fields left out become null."""
        return self._bulk("replace", rows, journal, dry_run, options)

    def bulk_delete(
        self, rows: Any = None, journal: Any = None, dry_run: bool = False, **options: Any
    ) -> BulkResult:
        """Delete one record per row (a dict with `id`, or a bare id)."""
        return self._bulk("delete", rows, journal, dry_run, options)

    def _bulk(
        self, operation: str, rows: Any, journal: Any, dry_run: bool, options: dict[str, Any]
    ) -> BulkResult:
        from .runner import run_bulk

        return run_bulk(self, operation, rows, journal, dry_run, options)


class AsyncBulkMethods:
    """Mixed into `AsyncEntity`: the same, awaited."""

    async def bulk_create(
        self, rows: Any = None, journal: Any = None, dry_run: bool = False, **options: Any
    ) -> BulkResult:
        """Create one record per row, exactly once; returns BulkResult (ids in input order)."""
        return await self._bulk("create", rows, journal, dry_run, options)

    async def bulk_update(
        self, rows: Any = None, journal: Any = None, dry_run: bool = False, **options: Any
    ) -> BulkResult:
        """PATCH one record per row (`id` in each row): only the fields given change."""
        return await self._bulk("update", rows, journal, dry_run, options)

    async def bulk_replace(
        self, rows: Any = None, journal: Any = None, dry_run: bool = False, **options: Any
    ) -> BulkResult:
        """PUT one record per row: writable fields left out become null."""
        return await self._bulk("replace", rows, journal, dry_run, options)

    async def bulk_delete(
        self, rows: Any = None, journal: Any = None, dry_run: bool = False, **options: Any
    ) -> BulkResult:
        """Delete one record per row (a dict with `id`, or a bare id)."""
        return await self._bulk("delete", rows, journal, dry_run, options)

    async def _bulk(
        self, operation: str, rows: Any, journal: Any, dry_run: bool, options: dict[str, Any]
    ) -> BulkResult:
        from .runner import run_bulk_async

        return await run_bulk_async(self, operation, rows, journal, dry_run, options)
