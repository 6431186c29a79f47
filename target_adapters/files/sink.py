"""One stream's records into its writer, straight through.

Records go to the writer as they arrive instead of being held for a batch:
the writers buffer what their format needs (a Parquet row group, a file
buffer), and order within a stream is kept across schema changes.

A tap's own ``_sdc_deleted_at`` (a deletion, sent as a record) is kept even
without ``add_record_metadata``: singer-sdk would otherwise drop it, and a
deletion would land as an unexplained row of nulls.
"""

from __future__ import annotations

import typing as t

from singer_sdk.exceptions import MissingKeyPropertiesError
from singer_sdk.sinks import Sink

from target_adapters._sdk_compat import SinkHooks, warned_fields
from target_adapters.common import CompiledValidator, column_types

if t.TYPE_CHECKING:
    from singer_sdk.helpers._typing import DatetimeErrorTreatmentEnum
    from singer_sdk.sinks.core import BaseJSONSchemaValidator

    from target_adapters.files.target import TargetFiles


DELETED_AT = "_sdc_deleted_at"


class FileSink(SinkHooks, Sink):
    """Validates with a compiled validator and hands records to the stream's writer."""

    def __init__(
        self,
        target: TargetFiles,
        stream_name: str,
        schema: dict,
        key_properties: t.Sequence[str] | None,
    ) -> None:
        # Before super().__init__, which builds the validator that names records by number.
        self._record_numbers = target.writers.record_numbers
        super().__init__(target, stream_name, schema, key_properties)
        self._writer = target.writers.writer(
            stream_name, column_types(self.schema), self.schema, list(self.key_properties)
        )
        self._declared = frozenset(self.schema["properties"])
        self._keeps_undeclared = target.settings.format == "jsonl"

    def remove_metadata_from_schema(self) -> None:
        """Drop singer-sdk's metadata columns, but not a tap's own _sdc_deleted_at."""
        deleted_at = self.schema["properties"].get(DELETED_AT)
        super().remove_metadata_from_schema()
        if deleted_at is not None:
            self.schema["properties"][DELETED_AT] = deleted_at

    def remove_metadata_from_record(self, record: dict) -> None:
        """Likewise for each record."""
        deleted_at = record.get(DELETED_AT)
        super().remove_metadata_from_record(record)
        if deleted_at is not None:
            record[DELETED_AT] = deleted_at

    def get_validator(self) -> BaseJSONSchemaValidator | None:
        """Type checks compiled once per schema; none when validate_records is false."""
        if not self.validate_schema:
            return None
        # singer-sdk validates before check_message counts the record: hence + 1.
        return CompiledValidator(
            self.schema, self.stream_name, lambda: self._record_numbers[self.stream_name] + 1
        )

    def parse_timestamps(self, record: dict, schema: dict, treatment: DatetimeErrorTreatmentEnum) -> None:
        """Leave date-times as text: each writer converts them in the way its format needs."""

    def check_message(self, record: dict) -> None:
        """Number the stream's records; refuse one without a key property, naming both."""
        self._record_numbers[self.stream_name] += 1
        missing = [k for k in self.key_properties if k not in record]
        if missing:
            number = self._record_numbers[self.stream_name]
            msg = (
                f"Stream '{self.stream_name}', record {number}: key propert"
                f"{'y' if len(missing) == 1 else 'ies'} {', '.join(map(repr, missing))} missing "
                f"(key_properties {list(self.key_properties)}; the record has "
                f"{', '.join(map(repr, record)) or 'no fields'}). Every record must carry its "
                "stream's key properties: fix the tap, or its stream maps. Nothing was published."
            )
            raise MissingKeyPropertiesError(msg)

    def process_record(self, record: dict, context: dict) -> None:
        """Write now; the writer buffers."""
        if not self._declared.issuperset(record):
            self._warn_undeclared(record)
        self._writer.write(record)

    def _warn_undeclared(self, record: dict) -> None:
        warned = warned_fields(self)
        new = [k for k in record if k not in self._declared and k not in warned]
        for name in new:
            warned.add(name)
            if self._keeps_undeclared:
                self.logger.warning(
                    "Stream '%s': field '%s' is not in the schema; kept as sent.", self.stream_name, name
                )
            else:
                self.logger.warning(
                    "Stream '%s': field '%s' is not in the schema and is not written (columns come "
                    "from the schema; format jsonl keeps every field).",
                    self.stream_name,
                    name,
                )

    def process_batch(self, context: dict) -> None:
        """Nothing is held per batch (see the module docstring)."""

    def activate_version(self, new_version: int) -> None:
        """Files keep every version's rows; see the package README for how to read them."""
        self.logger.info(
            "ACTIVATE_VERSION %s for '%s': files are append logs, rows of older versions are "
            "kept (with add_record_metadata, _sdc_table_version tells them apart).",
            new_version,
            self.stream_name,
        )
