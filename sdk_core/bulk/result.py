"""What a bulk job hands back: per-row ids and errors, counts, requests spent, the journal."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import AutotaskError

__all__ = ["BulkResult", "BulkInterruptedError"]


@dataclass
class BulkResult:
    """`ids[i]` is the new (create) or touched id of input row i, None where it failed or was
    skipped; `errors` lists `(row_index, message)` in Autotask's words."""

    job_id: str
    entity: str
    operation: str
    ids: list[int | None]
    errors: list[tuple[int, str]]
    requests: int
    journal: str | None
    dry_run: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    reconciled: int = 0
    conflicts: list[tuple[int, str]] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        """Every row written (or, in a dry run, valid)."""
        return not self.errors and self.counts.get("done", 0) == len(self.ids)

    @property
    def done(self) -> int:
        return self.counts.get("done", 0)

    @property
    def failed(self) -> int:
        return len(self.ids) - self.done

    def summary(self) -> str:
        """One paragraph for a person."""
        verb = "checked" if self.dry_run else "written"
        parts = [
            f"{self.entity} {self.operation}{' (dry run)' if self.dry_run else ''}: "
            f"{self.done} of {len(self.ids)} rows {verb}"
        ]
        for state in ("failed", "skipped", "unknown"):
            if self.counts.get(state):
                parts.append(f"{self.counts[state]} {state}")
        if self.reconciled:
            parts.append(f"{self.reconciled} reconciled after a lost answer")
        rate = f", {len(self.ids) / self.elapsed:.1f} rows/s" if self.elapsed > 0 and self.ids else ""
        text = ", ".join(parts) + f"; {self.requests} requests in {self.elapsed:.1f} s{rate}."
        if self.journal:
            text += f" Journal {self.journal}, job {self.job_id}."
        for index, message in self.errors[:5]:
            text += f"\n  row {index}: {message}"
        if len(self.errors) > 5:
            text += f"\n  ... and {len(self.errors) - 5} more (result.errors)"
        return text

    def __str__(self) -> str:
        return self.summary()

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "entity": self.entity,
            "operation": self.operation,
            "dry_run": self.dry_run,
            "ids": self.ids,
            "errors": self.errors,
            "requests": self.requests,
            "journal": self.journal,
            "counts": self.counts,
            "reconciled": self.reconciled,
            "conflicts": self.conflicts,
            "elapsed": self.elapsed,
        }


class BulkInterruptedError(AutotaskError):
    """A bulk job stopped before its end (interrupt, authentication, budget, network).

    Everything done is in the journal; `resume=job_id` continues and repeats nothing.
    """

    def __init__(self, message: str, result: BulkResult):
        super().__init__(message)
        self.result = result
        self.job_id = result.job_id
