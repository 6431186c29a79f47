"""One bulk job: rows journaled, checked, planned and written exactly once.

The job knows what to do with a row; the runners (`runner.py`) decide how many rows are in
flight. Every step that talks to Autotask is a generator of `Op`s (see `ops.py`), so the sync
and async clients share all of it.

Creates are never blindly resent: a create whose answer was lost (`UnknownOutcomeError`, a
gateway 5xx, a bare 500) is reconciled first by querying for the record, by the caller's
`match` fields or by a `marker` value the engine wrote into a field the caller allowed. Only
when the query finds nothing is it sent again. Without `match` or `marker` such a row is left
`unknown` (reported, never resent).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._query import Q
from ..catalog import EntityInfo
from ..errors import (
    APIStatusError,
    AuthenticationError,
    ConfigurationError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    UnknownOutcomeError,
    ZoneError,
)
from .conflicts import already_applied, changed_since, check_policy, merge
from .journal import Journal, RowTask
from .ops import Op, Step
from .planner import VERBS, plan_route
from .progress import Reporter
from .result import BulkResult
from .rules import READ_ONLY_POLICIES, FieldRules
from .sources import describe_source, iter_rows

__all__ = ["Job", "default_journal"]

log = logging.getLogger("sdk_core.bulk")

OPERATIONS = tuple(VERBS)
_FATAL = (AuthenticationError, ZoneError, RateLimitedError)
_LOST = (UnknownOutcomeError, ServerError)  # a create that may have happened
_READ_CHUNK = 200  # ids per `id in [...]` query


def default_journal(client: Any) -> Path:
    """`<cache dir>/bulk/journal.sqlite` (the client's cache_dir, else $AUTOTASK_CACHE_DIR, ...)."""
    from .._cache import default_cache_dir

    configured = getattr(getattr(client, "settings", None), "cache_dir", None)
    return Path(configured or default_cache_dir()) / "bulk" / "journal.sqlite"


@dataclass
class Prepared:
    """A row ready to go: its body, ids, what Autotask holds now, and local problems."""

    task: RowTask
    body: dict[str, Any]
    record_id: int | None = None
    parent_id: int | None = None
    read_at: Any = None
    current: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)


class Job:
    def __init__(
        self,
        client: Any,
        entity: str,
        operation: str,
        *,
        journal: Any = None,
        dry_run: bool = False,
        resume: str | None = None,
        match: Sequence[str] | None = None,
        marker: str | None = None,
        on_conflict: str = "skip",
        base: Any = None,
        read_only: str = "error",
        validate: bool = True,
        progress: Any = None,
        nulls: str = "omit",
        chunk_size: int = 200,
        max_sends: int = 3,
    ):
        if operation not in OPERATIONS:
            raise ConfigurationError(f"bulk operation must be one of {', '.join(OPERATIONS)}")
        self.client = client
        self.info: EntityInfo = client.catalog.get(entity)
        self.name = self.info.name
        self.operation = operation
        self.route = plan_route(self.info, operation, client.catalog)
        self.dry_run = bool(dry_run)
        if self.dry_run and resume:
            raise ConfigurationError("a dry run checks rows and journals nothing, so it cannot resume a job")
        self.resume = resume
        if isinstance(match, str):
            match = [match]
        self.match = list(match or ())
        self.marker = marker
        self.on_conflict = on_conflict
        check_policy(on_conflict, base)
        if read_only not in READ_ONLY_POLICIES:
            raise ConfigurationError(f"read_only must be 'error' or 'drop', not {read_only!r}")
        self.read_only = read_only
        self.validate = validate
        self.nulls = nulls
        if not isinstance(chunk_size, int) or not 1 <= chunk_size <= 2000:
            raise ConfigurationError("chunk_size must be an integer from 1 to 2000")
        self.chunk_size = chunk_size
        self.max_sends = max(1, int(max_sends))
        self._check_reconcile_options()
        self._base_source = base
        self.base: dict[int, dict[str, Any]] = {}
        self.progress_option = progress
        path = ":memory:" if self.dry_run else (journal or default_journal(client))
        self.journal = Journal(path)
        self.journal_path = None if self.journal.path is None else str(self.journal.path.resolve())
        self.rules: FieldRules | None = None
        self.job_id = ""
        self.total = 0
        self.reconciled = 0
        self.conflicts: list[tuple[int, str]] = []
        self._lock = threading.Lock()  # workers share the counters above
        self.started = time.perf_counter()
        self.requests_at_start = _request_count(client)
        self.reporter: Reporter

    def _check_reconcile_options(self) -> None:
        if self.marker is not None and self.match:
            raise ConfigurationError("pass match= or marker=, not both")
        if self.operation != "create" and (self.marker is not None or self.match):
            raise ConfigurationError(
                "match= and marker= reconcile lost creates; they apply to bulk_create only"
            )
        if (self.marker is not None or self.match) and not self.info.queryable:
            raise ConfigurationError(f"{self.name} cannot be queried, so a lost create cannot be looked for")
        for name in self.match:
            if self.info.field(name) is None:
                raise ConfigurationError(f"match: {self.name} has no field {name!r}")

    # opening -----------------------------------------------------------------------------
    def open(self, rows: Any) -> None:
        """Journal the rows (or pick up the job to resume), before anything is sent."""
        if self.resume:
            found = self.journal.job(self.resume)
            if (found.entity, found.operation) != (self.name, self.operation):
                raise ConfigurationError(
                    f"bulk job {self.resume} is a {found.operation} of {found.entity}, not a "
                    f"{self.operation} of {self.name}; resume it with that call"
                )
            self.job_id = found.job_id
            self.journal.claim(self.job_id)
            if not found.loaded:
                if rows is None:
                    raise ConfigurationError(
                        f"bulk job {self.resume} was interrupted while its rows were being read; "
                        "pass the same rows again with resume="
                    )
                rest = itertools.islice(iter_rows(rows, self.info, nulls=self.nulls), found.total, None)
                self.total = self.journal.load(self.job_id, rest, start=found.total)
            else:
                self.total = found.total
        else:
            if rows is None:
                raise ConfigurationError("bulk: no rows given (pass rows, or resume=<job id>)")
            source = iter_rows(rows, self.info, nulls=self.nulls)
            job_id = self.journal.new_job(self.name, self.operation, describe_source(rows))
            self.journal.claim(job_id)
            try:
                self.total = self.journal.load(job_id, source)
            except BaseException:
                self.journal.drop(job_id)  # nothing was sent: the job never existed
                raise
            self.job_id = job_id
        if self._base_source is not None:
            for row in iter_rows(self._base_source, self.info, nulls=self.nulls):
                if isinstance(row.get("id"), int):
                    self.base[row["id"]] = row
        label = f"{self.name} {self.operation}{' (dry run)' if self.dry_run else ''}"
        self.reporter = Reporter(
            self.progress_option, self.total, label, self.journal.counts(self.job_id) if self.resume else {}
        )

    def setup(self) -> Step:
        """Live field metadata (cached by the client: usually no request at all)."""
        fields = yield Op(self.name, "fields")
        udfs = (yield Op(self.name, "udfs")) if self.info.has_udf_endpoint else []
        self.rules = FieldRules(self.info, fields, udfs)
        if self.marker is not None:
            self._check_marker()

    def _check_marker(self) -> None:
        assert self.rules is not None and self.marker is not None
        meta = self.rules.fields.get(self.marker.lower()) or self.rules.udfs.get(self.marker.lower())
        if meta is None:
            raise ConfigurationError(
                f"marker: {self.name} has no field or user-defined field {self.marker!r}"
            )
        kind = str(meta.get("dataType") or meta.get("type") or "").lower()
        length = meta.get("length") or 0
        if kind != "string" or meta.get("isReadOnly") or meta.get("isPickList") or 0 < length < 40:
            raise ConfigurationError(
                f"marker: {self.marker} must be a writable text field of at least 40 characters "
                f"(it is {kind or 'unknown'}{', read-only' if meta.get('isReadOnly') else ''}"
                f"{', a picklist' if meta.get('isPickList') else ''}, length {length})"
            )

    def chunks(self) -> Iterable[list[RowTask]]:
        return self.journal.open_rows(self.job_id, self.chunk_size)

    def token(self, index: int) -> str:
        return f"bulk-{self.job_id}-{index}"

    # preparing a chunk -------------------------------------------------------------------
    def prepare(self, chunk: list[RowTask]) -> Step:
        """Bodies, parent ids, current records (conflicts, resumes, dry runs), references."""
        assert self.rules is not None
        preps = [self._shape(task) for task in chunk]
        wanted = [p for p in preps if p.record_id is not None and self._needs_current(p)]
        if wanted and self.info.queryable:
            current = yield from self._read(
                self.name, [p.record_id for p in wanted if p.record_id is not None]
            )
            for p in wanted:
                p.current = current.get(p.record_id) if p.record_id is not None else None
                if p.parent_id is None and self.route.parent_field and p.current is not None:
                    p.parent_id = p.current.get(self.route.parent_field)
        for p in preps:
            self._local_checks(p)
        if self.dry_run:
            yield from self._check_references(preps)
        return preps

    def _shape(self, task: RowTask) -> Prepared:
        assert self.rules is not None
        row = task.row
        p = Prepared(task, {})
        if self.operation != "create":
            rid = row.get("id")
            if isinstance(rid, int) and not isinstance(rid, bool):
                p.record_id = rid
            else:
                p.problems.append(
                    f"the row has no integer id ({rid!r}); a {self.operation} needs the record's id"
                )
        if self.operation == "delete":
            p.body = {"id": p.record_id}
        else:
            p.body = self.rules.payload(row, self.read_only)
            if self.rules.stamp is not None:
                p.read_at = next((v for k, v in row.items() if k.lower() == self.rules.stamp.lower()), None)
        p.parent_id = self.route.parent_id(row)
        if self.operation == "create" and self.marker is not None:
            self._add_marker(p)
        return p

    def _add_marker(self, p: Prepared) -> None:
        assert self.rules is not None and self.marker is not None
        token = self.token(p.task.index)
        if self.rules.is_udf(self.marker):
            given = p.body.get("userDefinedFields", [])
            udfs = [u for u in given if str(u.get("name", "")).lower() != self.marker.lower()]
            if len(udfs) != len(given):
                p.problems.append(f"the row sets {self.marker}, which marker= reserves for the engine")
            name = self.rules.udfs[self.marker.lower()]["name"]
            p.body["userDefinedFields"] = [*udfs, {"name": name, "value": token}]
        else:
            if any(k.lower() == self.marker.lower() for k in p.body):
                p.problems.append(f"the row sets {self.marker}, which marker= reserves for the engine")
            p.body[self.rules.name(self.marker)] = token

    def _needs_current(self, p: Prepared) -> bool:
        return (
            self.dry_run
            or p.read_at is not None
            or p.task.status != "pending"
            or (self.route.parent_field is not None and p.parent_id is None)
        )

    def _local_checks(self, p: Prepared) -> None:
        assert self.rules is not None
        absent = (
            self.dry_run
            and self.operation != "create"
            and p.record_id is not None
            and p.current is None
            and self.info.queryable
        )
        if absent:
            p.problems.append(
                f"Unable to {self.operation} {self.rules.internal} with id {p.record_id}: "
                "no matching record found."
            )
        elif self.route.parent is not None and p.parent_id is None and not p.problems:
            p.problems.append(self.route.missing_parent(self.info))
        if self.operation != "delete" and (self.validate or self.dry_run):
            p.problems += self.rules.check(p.body, self.operation, p.current)

    def _read(self, entity: str, ids: list[int], fields: list[str] | None = None) -> Step:
        found: dict[int, dict[str, Any]] = {}
        unique = sorted(set(ids))
        for start in range(0, len(unique), _READ_CHUNK):
            part = unique[start : start + _READ_CHUNK]
            rows = yield Op(entity, "query", (Q("id").in_(part),), {"fields": fields} if fields else {})
            found.update({row["id"]: row for row in rows})
        return found

    def _check_references(self, preps: list[Prepared]) -> Step:
        assert self.rules is not None
        wanted: dict[str, set[int]] = {}
        for p in preps:
            for _, target, rid in self.rules.references(p.body):
                if target in self.client.catalog and self.client.catalog.get(target).queryable:
                    wanted.setdefault(target, set()).add(rid)
        existing: dict[str, set[int]] = {}
        for target, ids in wanted.items():
            found = yield from self._read(target, sorted(ids), ["id"])
            existing[target] = set(found)
        for p in preps:
            for name, target, rid in self.rules.references(p.body):
                if target in existing and rid not in existing[target]:
                    meta = self.rules.fields.get(name.lower()) or {}
                    internal = (
                        meta.get("referenceEntityType")
                        or self.client.catalog.get(target).internal_name
                        or target
                    )
                    p.problems.append(
                        f"Reference value on field: {name} of type: {internal} does not exist or is invalid."
                    )

    # one row -----------------------------------------------------------------------------
    def check_only(self, p: Prepared) -> None:
        """A dry run's verdict on one row (nothing is sent)."""
        if p.problems:
            return self._settle(p, "failed", None, "; ".join(p.problems))
        conflict = self._conflict(p)
        if conflict and self.on_conflict == "skip":
            return self._settle(p, "skipped", None, conflict)
        self._settle(p, "done", p.record_id)

    def write(self, p: Prepared) -> Step:
        """Send one row and journal what happened."""
        if p.problems:
            return self._settle(p, "failed", None, "; ".join(p.problems))
        if self.operation == "create":
            yield from self._create(p)
        elif self.operation == "delete":
            yield from self._delete(p)
        else:
            yield from self._update(p)
        return None

    def _create(self, p: Prepared) -> Step:
        if p.task.status != "pending":  # sent before, answer unknown: look before sending again
            found = yield from self._reconcile(p)
            if found is not None:
                return found
        for _ in range(self.max_sends):
            self.journal.sending(self.job_id, p.task.index)
            try:
                new_id = yield Op(self.name, "create", (p.body,), {"parent_id": self._parent_arg(p)})
            except _LOST as exc:
                log.warning("%s create of row %d: %s", self.name, p.task.index, exc)
                found = yield from self._reconcile(p, exc)
                if found is not None:
                    return found
                continue  # not there: it was never created; send it again
            except Exception as exc:
                return self._failed(p, exc)
            return self._settle(p, "done", new_id)
        return self._settle(
            p,
            "unknown",
            None,
            f"sent {self.max_sends} times, every answer was lost "
            "and the record was not found; not sent again",
        )

    def _reconcile(self, p: Prepared, cause: BaseException | None = None) -> Step:
        """The record's id if the lost create happened; None if it did not (send again); for
        rows that cannot be looked for, the row is settled `unknown` and a falsy 0 returned."""
        why = f" ({cause})" if cause is not None else " (the job stopped while it was in flight)"
        if self.marker is None and not self.match:
            self._settle(
                p,
                "unknown",
                None,
                f"the create may or may not have happened{why}; it was not sent again. Pass "
                f"match=[...] or marker=... with resume={self.job_id!r} to look for it and finish.",
            )
            return 0
        flt = self._reconcile_filter(p)
        try:
            rows = yield Op(self.name, "query", (flt,), {"fields": ["id"]})
        except APIStatusError as exc:
            if isinstance(exc, _FATAL):
                raise
            self._settle(
                p,
                "unknown",
                None,
                f"the create may have happened{why} and the look-up failed ({exc}); it was not sent again",
            )
            return 0
        if len(rows) == 1:
            with self._lock:
                self.reconciled += 1
            log.info("%s row %d: the lost create happened (id %s)", self.name, p.task.index, rows[0]["id"])
            self._settle(p, "done", rows[0]["id"])
            return rows[0]["id"]
        if len(rows) > 1:
            ids = ", ".join(str(r["id"]) for r in rows[:5])
            self._settle(
                p,
                "unknown",
                None,
                f"the create's answer was lost and {len(rows)} records match it ({ids}); not sent again",
            )
            return 0
        return None

    def _reconcile_filter(self, p: Prepared) -> Any:
        assert self.rules is not None
        if self.marker is not None:
            if self.rules.is_udf(self.marker):
                return Q(self.rules.udfs[self.marker.lower()]["name"], udf=True) == self.token(p.task.index)
            return Q(self.rules.name(self.marker)) == self.token(p.task.index)
        expr = None
        for name in self.match:
            value = next((v for k, v in p.body.items() if k.lower() == name.lower()), None)
            cond = (
                Q(self.rules.name(name)).not_exists() if value is None else Q(self.rules.name(name)) == value
            )
            expr = cond if expr is None else expr & cond
        return expr

    def _update(self, p: Prepared) -> Step:
        body = p.body
        if p.task.status != "pending" and p.current is not None and already_applied(body, p.current):
            return self._settle(p, "done", p.record_id)  # the interrupted write had landed
        conflict = self._conflict(p)
        if conflict:
            if self.on_conflict == "skip":
                return self._settle(p, "skipped", None, conflict)
            if self.on_conflict == "merge":
                assert p.current is not None and p.record_id is not None
                base = self.base.get(p.record_id)
                if base is None:
                    return self._settle(
                        p, "skipped", None, conflict + " (no base row with this id to merge from)"
                    )
                body, kept = merge(body, base, p.current)
                if kept:
                    with self._lock:
                        self.conflicts.append((p.task.index, "kept Autotask's value of " + ", ".join(kept)))
                if len(body) == 1:
                    return self._settle(p, "done", p.record_id)
        self.journal.sending(self.job_id, p.task.index)
        method = "update" if self.operation == "update" else "replace"
        try:
            yield Op(self.name, method, (body,), {"parent_id": self._parent_arg(p)})
        except Exception as exc:
            return self._failed(p, exc)
        return self._settle(p, "done", p.record_id)

    def _delete(self, p: Prepared) -> Step:
        self.journal.sending(self.job_id, p.task.index)
        try:
            yield Op(self.name, "delete", (p.record_id,), {"parent_id": self._parent_arg(p)})
        except NotFoundError as exc:
            if p.task.status != "pending":  # the interrupted delete had happened
                return self._settle(p, "done", p.record_id)
            return self._failed(p, exc)
        except Exception as exc:
            return self._failed(p, exc)
        return self._settle(p, "done", p.record_id)

    def _conflict(self, p: Prepared) -> str | None:
        if p.read_at is None or p.current is None or self.rules is None or self.rules.stamp is None:
            return None
        now = p.current.get(self.rules.stamp)
        if not changed_since(p.read_at, now):
            return None
        return (
            f"Skipped: {self.name} {p.record_id} changed in Autotask after the row was read "
            f"({self.rules.stamp} {p.read_at} -> {now}); on_conflict='overwrite' or 'merge' "
            "writes it anyway."
        )

    def _parent_arg(self, p: Prepared) -> int | None:
        return p.parent_id if self.route.parent is not None else None

    def _failed(self, p: Prepared, exc: Exception) -> None:
        if isinstance(exc, _FATAL) or not isinstance(exc, (APIStatusError, ConfigurationError)):
            raise exc  # the job stops; the row stays open for resume
        words = "; ".join(exc.messages) if isinstance(exc, APIStatusError) and exc.messages else str(exc)
        self._settle(p, "failed", None, words)

    def _settle(self, p: Prepared, status: str, record_id: int | None, message: str | None = None) -> None:
        self.journal.settle(self.job_id, p.task.index, status, record_id, message)
        self.reporter.row(p.task.index, status)

    # the end -----------------------------------------------------------------------------
    def result(self) -> BulkResult:
        ids: list[int | None] = []
        errors: list[tuple[int, str]] = []
        counts: dict[str, int] = {}
        for index, status, record_id, message in self.journal.outcomes(self.job_id):
            counts[status] = counts.get(status, 0) + 1
            ids.append(record_id if status == "done" else None)
            if status in ("failed", "unknown", "skipped"):
                errors.append((index, message or status))
        if not self.dry_run and not counts.keys() & {"pending", "sending"}:
            self.journal.finish(self.job_id)
        return BulkResult(
            self.job_id,
            self.name,
            self.operation,
            ids,
            errors,
            _request_count(self.client) - self.requests_at_start,
            self.journal_path,
            self.dry_run,
            counts,
            self.reconciled,
            self.conflicts,
            time.perf_counter() - self.started,
        )

    def close(self) -> None:
        if self.job_id:
            self.journal.release(self.job_id)
        self.journal.close()


def _request_count(client: Any) -> int:
    return int(getattr(client, "request_count", 0))
