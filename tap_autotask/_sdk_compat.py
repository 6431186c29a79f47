"""Every use of singer-sdk's private names by the tap, in one place.

singer-sdk (pinned 0.54) leaves some things the tap needs without a public hook: speed on the
per-record path, bookmarks per replication window rather than per record, ACTIVATE_VERSION
after the rows, annotated schemas, validation messages without secrets. Each private name used
here is listed in `CONTRACT`; tests/tap/test_sdk_compat.py fails, naming the entry, when an
upgrade of singer-sdk moves, renames or reshapes it. Nothing else in tap_autotask touches a
private singer-sdk name: the tap and its streams subclass `CompatTap` and `CompatStream` and
use the public names these give them.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Generator
from datetime import UTC, datetime
from typing import Any

from singer_sdk import Stream, Tap
from singer_sdk.helpers import types
from singer_sdk.helpers._catalog import get_selected_schema
from singer_sdk.singerlib import RecordMessage
from typing_extensions import override

__all__ = ["CONTRACT", "CompatStream", "CompatTap", "DeselectedStreamsSummary", "selected_schema"]

# The INFO line singer-sdk's `Tap.sync_all` logs once per deselected stream (tap_base.py).
DESELECTED_MESSAGE = "Skipping deselected stream '%s'."


@dataclasses.dataclass(frozen=True)
class Use:
    """One private singer-sdk name the tap relies on, and how (checked by the contract test)."""

    where: str  # "module:Qualified.name"
    kind: str  # "method" (overridden or called), "attribute" (of an instance), "function",
    #            "message" (text in the source of `where`)
    detail: tuple[str, ...] = ()  # parameters (method/function), or the message text
    why: str = ""


CONTRACT: list[Use] = [
    Use(
        "singer_sdk.plugin_base:PluginBase._validate_config",
        "method",
        ("self", "raise_errors"),
        "numeric text becomes numbers first; messages never quote a secret",
    ),
    Use(
        "singer_sdk.plugin_base:PluginBase._config",
        "attribute",
        (),
        "the raw config `_validate_config` checks (and fills with defaults)",
    ),
    Use(
        "singer_sdk.plugin_base:PluginBase._get_about_info",
        "method",
        ("cls",),
        "--about shows the docstring as one paragraph",
    ),
    Use(
        "singer_sdk.helpers._catalog:get_selected_schema",
        "function",
        ("stream_name", "schema", "mask"),
        "SCHEMA messages keep x-autotask-* annotations",
    ),
    Use(
        "singer_sdk.tap_base:Tap.sync_all",
        "message",
        (DESELECTED_MESSAGE,),
        "one summary line instead of one per deselected stream",
    ),
    Use(
        "singer_sdk.streams.core:Stream._schema",
        "attribute",
        (),
        "the schema is built on first use, from metadata",
    ),
    Use(
        "singer_sdk.streams.core:Stream._input_schema",
        "attribute",
        (),
        "the input catalog's schema, to put the annotations back",
    ),
    Use("singer_sdk.streams.core:Stream._tap", "attribute", (), "the stream's tap"),
    Use(
        "singer_sdk.streams.core:Stream._stream_version",
        "attribute",
        (),
        "RECORD messages carry the table version of the current read",
    ),
    Use(
        "singer_sdk.streams.core:Stream._increment_stream_state",
        "method",
        ("self", "latest_record", "context"),
        "bookmarks move per window, not per record",
    ),
    Use(
        "singer_sdk.streams.core:Stream._generate_record_messages",
        "method",
        ("self", "record"),
        "no per-record walk over every property (the largest cost per row)",
    ),
    Use("singer_sdk.streams.core:Stream._write_state_message", "method", ("self",), "STATE after every page"),
    Use(
        "singer_sdk.streams.core:Stream._write_activate_version_message",
        "method",
        ("self", "full_table_version"),
        "ACTIVATE_VERSION after the rows of a full read",
    ),
]


def selected_schema(stream_id: str, schema: dict[str, Any], mask: Any) -> dict[str, Any]:
    """`schema` without its deselected properties (singer-sdk's own function)."""
    return get_selected_schema(stream_id, schema, mask)


class CompatTap(Tap):
    """The tap's overrides of singer-sdk's private `Tap` methods, with public hooks instead."""

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """`prepare_config` first; every message through `safe_messages`."""
        from singer_sdk.exceptions import ConfigValidationError

        self.prepare_config(self._config)
        try:
            errors = super()._validate_config(raise_errors=raise_errors)
        except ConfigValidationError as exc:
            raise ConfigValidationError(
                str(exc), errors=self.safe_messages(exc.errors), schema=exc.schema
            ) from None
        return self.safe_messages(errors)

    def prepare_config(self, config: dict[str, Any]) -> None:
        """Change the raw config in place before it is validated."""

    def safe_messages(self, errors: list[str]) -> list[str]:
        """The validation messages to show."""
        return errors

    @property
    def raw_config(self) -> dict[str, Any]:
        """The config as given (before validation fills in defaults)."""
        return self._config

    @classmethod
    @override
    def _get_about_info(cls) -> Any:
        """The docstring as one paragraph: singer-sdk's markdown layout breaks on line breaks."""
        info = super()._get_about_info()
        return dataclasses.replace(info, description=" ".join((cls.__doc__ or "").split()))


class CompatStream(Stream):
    """The stream's overrides of singer-sdk's private `Stream` methods and attributes."""

    # Set per page by the stream (one `time_extracted` per page, not one clock read per row).
    extracted_at: datetime | None = None
    _deselected: tuple[str, ...] | None = None

    @property
    def tap(self) -> Any:
        return self._tap

    @property
    def built_schema(self) -> dict[str, Any] | None:
        """The schema once built (singer-sdk's own slot for it)."""
        return self._schema

    @built_schema.setter
    def built_schema(self, schema: dict[str, Any]) -> None:
        self._schema = schema

    @property
    def input_schema(self) -> dict[str, Any] | None:
        """The input catalog's schema, or None without a catalog."""
        return self._input_schema

    @property
    def stream_version(self) -> int | None:
        return self._stream_version

    @stream_version.setter
    def stream_version(self, version: int | None) -> None:
        self._stream_version = version

    def write_state_message(self) -> None:
        self._write_state_message()

    def write_activate_version_message(self, version: int) -> None:
        self._write_activate_version_message(version)

    @override
    def _increment_stream_state(
        self, latest_record: types.Record, *, context: types.Context | None = None
    ) -> None:
        """Bookmarks move per window in `get_records`, not per record.

        singer-sdk's per-record progress marker would bookmark the newest timestamp seen,
        which loses rows changed during a long scan behind the id cursor.
        """

    @override
    def _generate_record_messages(self, record: types.Record) -> Generator[RecordMessage, None, None]:
        """singer-sdk's, without its walk over every property of every record.

        That walk (`pop_deselected_record_properties`) was the largest cost left per row;
        the deselected columns are the same for every row, so they are found once. Types are
        not conformed here: the streams shape their records to the schema themselves.
        """
        if self._deselected is None:
            self._deselected = tuple(
                name
                for name in self.effective_schema.get("properties", {})
                if not self.mask.get(("properties", name), True)
            )
        for name in self._deselected:
            record.pop(name, None)
        extracted = self.extracted_at or datetime.now(UTC)
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self._stream_version,
                    time_extracted=extracted,
                )


class DeselectedStreamsSummary(logging.Filter):
    """Holds back singer-sdk's per-stream "Skipping deselected stream" lines (about 220 a run),
    counting them, so the tap can log one summary line instead."""

    def __init__(self) -> None:
        super().__init__()
        self.skipped: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == DESELECTED_MESSAGE and isinstance(record.args, tuple):
            self.skipped.append(str(record.args[0]))
            return False
        return True
