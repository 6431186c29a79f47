"""Errors of target-sql.

Each names the stream and the record, so the operator knows what to fix::

    singer_sdk.exceptions.InvalidRecord
    └── RecordRejected      a record the schema or the database refused
    ValueError
    └── NameCollision       two streams (or properties) that would share one table (or column)
"""

from __future__ import annotations

from singer_sdk.exceptions import InvalidRecord


class RecordRejected(InvalidRecord):
    """Raised when a record cannot be stored; its batch is rolled back."""

    def __init__(self, stream: str, where: str, problem: str, record: object = None) -> None:
        message = (
            f"stream '{stream}', {where}: {problem}. Nothing of this batch was written and "
            "no state past it was emitted; fix the record or the tap's schema and rerun."
        )
        super().__init__(message, record if isinstance(record, dict) else {})


class NameCollision(ValueError):
    """Raised before anything is written when two names would share one table or column."""
