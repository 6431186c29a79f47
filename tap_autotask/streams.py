"""The streams, declared as data: one per queryable catalog entity, plus two metadata streams.

No class per entity: `entity_streams` pairs each entity with its replication plan. The
metadata streams (`picklist_values`, `udf_definitions`) let warehouses join labels to the
values the entity streams carry.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from singer_sdk import Stream
from singer_sdk import typing as th
from singer_sdk.helpers import types
from typing_extensions import override

from sdk_core.catalog import Catalog, EntityInfo

from ._sdk_compat import CompatStream
from .metadata import MetadataSource
from .plans import plan_for
from .stream import AutotaskStream

__all__ = ["entity_streams", "PicklistValuesStream", "UdfDefinitionsStream"]


def entity_streams(tap: Any, catalog: Catalog, metadata: MetadataSource) -> list[Stream]:
    """One stream per queryable entity, each with its replication plan."""
    return [AutotaskStream(tap, e, plan_for(e), metadata) for e in catalog.queryable()]


class _MetadataStream(CompatStream):
    """Rows derived from entity metadata; small, so always read in full and re-versioned."""

    def __init__(self, tap: Any, catalog: Catalog, metadata: MetadataSource):
        self._entity_catalog = catalog
        self._metadata_source = metadata
        super().__init__(tap)

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        """False: the version is activated after the rows (see `get_records`)."""
        return False

    @override
    def get_records(self, context: types.Context | None) -> Iterable[dict]:
        """All rows, then ACTIVATE_VERSION so that rows which disappeared are dropped."""
        version = int(time.time() * 1000)
        self.stream_version = version
        with self.tap.request_stats.attributed(self.name):
            yield from self.rows()
        if self.config.get("emit_activate_version_messages", True):
            self.write_activate_version_message(version)

    def rows(self) -> Iterable[dict]:
        raise NotImplementedError

    def entities(self) -> list[EntityInfo]:
        """`picklist_entities` if set, else the entity streams selected in this run.

        Reading every entity's metadata would cost two requests per entity on a cold cache
        (~440), whatever the run syncs.
        """
        names = self.config.get("picklist_entities")
        if names:
            return [self._entity_catalog.get(name) for name in names]
        return [s.entity for s in self.tap.streams.values() if isinstance(s, AutotaskStream) and s.selected]


class PicklistValuesStream(_MetadataStream):
    """Picklist values of the fields and UDFs of the synced entities (live metadata only)."""

    name = "picklist_values"
    primary_keys = ["entity", "field", "value"]
    schema = th.PropertiesList(
        th.Property("entity", th.StringType, required=True, description="Autotask entity"),
        th.Property(
            "field", th.StringType, required=True, description="Record field (camelCase) or UDF column"
        ),
        th.Property("value", th.StringType, required=True, description="Stored value"),
        th.Property("label", th.StringType),
        th.Property("active", th.BooleanType),
        th.Property("sort_order", th.IntegerType),
        th.Property("parent_value", th.StringType),
        th.Property("is_default", th.BooleanType),
        th.Property("is_system", th.BooleanType),
        th.Property("is_udf", th.BooleanType),
    ).to_dict()

    @override
    def rows(self) -> Iterable[dict]:
        include_udfs = self.config.get("include_udfs", True)
        for entity in self.entities():
            specs = self._metadata_source.fields(entity)
            if include_udfs:
                specs = specs + self._metadata_source.udfs(entity)
            for spec in specs:
                for item in spec.picklist or ():
                    yield {
                        "entity": entity.name,
                        "field": spec.name,
                        "value": str(item.get("value")),
                        "label": item.get("label"),
                        "active": item.get("isActive"),
                        "sort_order": item.get("sortOrder"),
                        "parent_value": item.get("parentValue") or None,
                        "is_default": item.get("isDefaultValue"),
                        "is_system": item.get("isSystem"),
                        "is_udf": spec.is_udf,
                    }


class UdfDefinitionsStream(_MetadataStream):
    """The user-defined fields of the synced entities, and their column names."""

    name = "udf_definitions"
    primary_keys = ["entity", "name"]
    schema = th.PropertiesList(
        th.Property("entity", th.StringType, required=True),
        th.Property("name", th.StringType, required=True, description="UDF name in Autotask"),
        th.Property("column", th.StringType, description="Column name in the entity stream"),
        th.Property("label", th.StringType),
        th.Property("type", th.StringType),
        th.Property("length", th.IntegerType),
        th.Property("description", th.StringType),
        th.Property("is_required", th.BooleanType),
        th.Property("is_read_only", th.BooleanType),
        th.Property("is_queryable", th.BooleanType),
        th.Property("is_picklist", th.BooleanType),
        th.Property("default_value", th.StringType),
    ).to_dict()

    @override
    def rows(self) -> Iterable[dict]:
        for entity in self.entities():
            raws = self._metadata_source.raw_udfs(entity)
            for raw, spec in zip(raws, self._metadata_source.udfs(entity)):
                default = raw.get("defaultValue")
                yield {
                    "entity": entity.name,
                    "name": raw["name"],
                    "column": spec.name,
                    "label": raw.get("label"),
                    "type": raw.get("type") or raw.get("dataType"),
                    "length": raw.get("length"),
                    "description": raw.get("description"),
                    "is_required": raw.get("isRequired"),
                    "is_read_only": raw.get("isReadOnly"),
                    "is_queryable": raw.get("isQueryable"),
                    "is_picklist": raw.get("isPickList"),
                    "default_value": None if default is None else str(default),
                }
