"""The base stream: every rule that holds for all Autotask streams lives here, once.

Pages come from sdk_core (the tap never speaks HTTP). A run reads one replication window in
id order (see `windows.py`); the state is written after every page, so a run killed at any
point resumes within one page of where it stopped. Rows carry a table version, and a full scan
ends with ACTIVATE_VERSION, so targets can drop rows that no longer exist in Autotask.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from singer_sdk.helpers import types
from singer_sdk.helpers.conform import TypeConformanceLevel
from typing_extensions import override

from sdk_core.catalog import EntityInfo
from sdk_core.errors import PermissionDeniedError

from ._sdk_compat import CompatStream
from .metadata import FieldSpec, MetadataSource
from .plans import ReplicationPlan
from .schema import DELETED_AT, RecordShaper, build_schema, utc_text, with_annotations
from .windows import DELETES, Window, close_window, open_window, to_utc

__all__ = ["AutotaskStream", "PAGE_SIZE"]

PAGE_SIZE = 500  # Autotask's maximum: full pages waste no requests


class AutotaskStream(CompatStream):
    """A stream of one queryable Autotask entity, built from metadata and a replication plan."""

    primary_keys = ["id"]  # singer-sdk reads it as a list
    # Rows arrive as JSON and `RecordShaper` makes them match the schema (UTC marks on times,
    # text in string fields); singer-sdk's per-field conformance would cost more than half
    # of the tap's time per row and change nothing.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(
        self,
        tap: Any,
        entity: EntityInfo,
        plan: ReplicationPlan,
        metadata: MetadataSource,
    ):
        self.entity = entity
        self.plan = plan
        self._metadata_source = metadata
        self._fields: list[FieldSpec] | None = None
        self._shaper: RecordShaper | None = None
        self._effective: tuple[dict, dict] | None = None
        super().__init__(tap, schema=None, name=entity.stream_name)
        self.replication_key = plan.replication_key

    # Schema (built on first use, so a sync of three streams does not read 220 schemas)

    @property
    def field_specs(self) -> list[FieldSpec]:
        if self._fields is None:
            specs = self._metadata_source.fields(self.entity)
            if self.config.get("include_udfs", True):
                specs = specs + self._metadata_source.udfs(self.entity)
            self._fields = specs
        return self._fields

    @property
    @override
    def schema(self) -> dict:
        """JSON schema from the entity's field metadata (and UDFs, when enabled)."""
        if self.built_schema is None:
            self.built_schema = build_schema(self.field_specs, with_deleted_at=self.plan.deletes is not None)
        return self.built_schema  # type: ignore[return-value]  # just built

    @property
    @override
    def effective_schema(self) -> dict:
        """The input catalog's schema, with our `x-autotask-*` annotations put back.

        singer-sdk's catalog model keeps only standard JSON Schema keys, so a catalog that
        went through discovery (as Meltano's does) has lost them.
        """
        given = self.input_schema
        if given is None:
            return self.schema
        if self._effective is None or self._effective[0] is not given:
            self._effective = (given, with_annotations(given, self.schema))
        return self._effective[1]

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        """Always False: singer-sdk's own message comes before the rows; ours come after."""
        return False

    @property
    def activate_versions(self) -> bool:
        return bool(self.config.get("emit_activate_version_messages", True))

    # Records

    @override
    def get_records(self, context: types.Context | None) -> Iterable[dict]:
        """Rows of the current window, then deletions; checkpointed after every page.

        The API requests sent meanwhile are counted for this stream (`request_metrics`).
        """
        with self.tap.request_stats.attributed(self.name):
            yield from self._window_records()

    def _window_records(self) -> Iterator[dict]:
        state = self.stream_state
        opened = open_window(
            state,
            self.plan,
            now=datetime.now(UTC).replace(microsecond=0),
            start_date=self.config.get("start_date"),
            lookback_minutes=float(self.config.get("lookback_minutes", 5)),
            reconcile_every_hours=float(self.config.get("reconcile_deletes_every", 168)),
            new_version=int(time.time() * 1000),
        )
        first_load = "table_version" not in state
        self.stream_version = opened.version
        self._checkpoint(opened)
        if opened.activates and first_load and opened.last_id is None:
            self._activate(opened.version)  # lets targets create the table before any row
        window: Window | None = opened
        while window is not None:
            try:
                yield from self._scan(window)
            except PermissionDeniedError as exc:
                # One entity the API user may not read must not stop the other 220; the tap
                # fails at the end unless `skip_forbidden_streams` (see `TapAutotask.sync_all`).
                reason = " ".join(str(exc).split())
                if self.config.get("skip_forbidden_streams", False):
                    self.logger.warning("Skipped %s: %s", self.name, reason)
                else:
                    self.logger.error("Could not read %s: %s", self.name, reason)
                    self.tap.unreadable[self.name] = reason
                return
            if window.activates:
                self._activate(window.version)
            window = close_window(
                state,
                window,
                self.plan,
                start_date=self.config.get("start_date"),
                lookback_minutes=float(self.config.get("lookback_minutes", 5)),
            )
            if window is not None:
                self._checkpoint(window)
        self.state_manager.is_flushed = False

    @override
    def generate_child_contexts(
        self, record: types.Record, context: types.Context | None
    ) -> Iterable[types.Context | None]:
        """No child streams: nothing to hand down (saves singer-sdk's copy per record)."""
        return ()

    def _scan(self, window: Window) -> Iterator[dict]:
        if window.phase == DELETES:
            assert self.plan.deletes is not None
            entity_name = self.plan.deletes.entity
            key: str | None = self.plan.deletes.time_field
            shape: Callable[[dict], dict] = self._deletion_record
            fields = None
        else:
            entity_name = self.entity.name
            key = self.plan.replication_key
            shape = self.shaper
            fields = self._include_fields()
        filter_ = [{"op": "gte", "field": key, "value": window.since}] if window.since else None
        pages = self.tap.client.entity(entity_name).pages(
            filter=filter_, fields=fields, after_id=window.last_id, page_size=PAGE_SIZE
        )
        for page in pages:  # sdk_core fetches the next page while this one is emitted
            if not page:
                continue
            self.extracted_at = datetime.now(UTC)  # one time_extracted per page
            newest = None
            candidates = []
            floor = window.overlap_floor()
            skip = window.skip
            for item in page:
                if key is not None:
                    stamp = item.get(key)
                    moment = to_utc(stamp)
                    if moment is not None:
                        if newest is None or moment > newest:
                            newest = moment
                        if floor is None or moment >= floor:
                            candidates.append((item["id"], stamp, moment))
                    if skip is not None and window.is_repeat(item["id"], stamp):
                        continue  # emitted last run, unchanged since
                yield shape(item)
            window.advance(int(page[-1]["id"]), newest, candidates)
            self._checkpoint(window)

    @property
    def shaper(self) -> RecordShaper:
        if self._shaper is None:
            self._shaper = RecordShaper(self.schema, self.field_specs, self.name)
        return self._shaper

    def _deletion_record(self, item: dict) -> dict:
        log = self.plan.deletes
        assert log is not None
        record = {"id": item[log.id_field], DELETED_AT: utc_text(item.get(log.time_field))}
        for source, target in log.carried:
            if target in self.schema["properties"]:
                record[target] = item.get(source)
        return record

    def _include_fields(self) -> list[str] | None:
        """Ask only for the selected columns, when some are deselected (smaller pages)."""
        props = self.schema["properties"]
        selected = [name for name in props if self.mask.get(("properties", name), True)]
        if len(selected) == len(props):
            return None
        if any("x-autotask-udf" in props[name] for name in selected):
            return None  # UDFs arrive in `userDefinedFields`, which IncludeFields cannot name
        keep = {"id", self.replication_key} | set(selected)
        return [name for name in props if name in keep and name != DELETED_AT]

    # State and versions

    def _checkpoint(self, window: Window) -> None:
        """Persist the window and emit STATE (after the page's records were written).

        In BATCH mode the records are still in an unwritten batch file, so the STATE waits
        for singer-sdk to send it after the batch.
        """
        self.stream_state["window"] = window.to_state()
        self.state_manager.is_flushed = False
        if self.get_batch_config(self.config) is None:
            self.write_state_message()

    def _activate(self, version: int | None) -> None:
        if version is not None and self.activate_versions:
            self.write_activate_version_message(version)
