"""Test-data helpers: random existing ids, plausible new rows, picklists, new UDFs.

Used by the activity simulator, the webhooks module, tests and benchmarks; not by the API
handlers.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .attachments import register_recipes
from .errors import unknown_field
from .rows import RowMaker
from .storage import UdfDef
from .values import udf_to_wire
from .write_rules import WriteRules

__all__ = ["DataHelpers", "UDF_TYPES"]

UDF_TYPES = ("string", "double", "datetime")  # the UDF `type`s Autotask's metadata shows


class DataHelpers(WriteRules):
    """Rows and definitions for simulations and tests, deterministic for a given rng."""

    def __init__(self, db_path: str | Path, **options: Any):
        super().__init__(db_path, **options)
        self.rows = RowMaker(self.catalog)
        register_recipes(self.catalog)

    def random_id(self, entity: str, rng: random.Random, **match: int) -> int | None:
        """A random existing id (optionally where field == value), deterministic per rng state."""
        info = self.entity(entity)
        with self.lock:
            if match:
                ((name, value),) = match.items()
                f = info.field(name)
                if f is None:
                    raise unknown_field(name, self.internal(info))
                conn = self.storage.conn
                total = conn.execute(
                    f'SELECT COUNT(*) FROM "{info.name}" WHERE "{f.name}" = ?', (value,)
                ).fetchone()[0]
                if not total:
                    return None
                return conn.execute(
                    f'SELECT "id" FROM "{info.name}" WHERE "{f.name}" = ? ORDER BY "id" LIMIT 1 OFFSET ?',
                    (value, rng.randrange(total)),
                ).fetchone()[0]
            low, high, total = self.storage.ids(info.name)
            if not total:
                return None
            return self.storage.id_at_or_after(info.name, rng.randint(low, high))

    def picklist_values(self, entity: str, field: str) -> list[tuple[str, str]]:
        with self.lock:
            return [
                (v["value"], v["parentValue"])
                for v in self.storage.picklists(entity).get(field, [])
                if v["isActive"]
            ]

    def udf_definitions(self, entity: str) -> list[tuple[str, str, list[str]]]:
        with self.lock:
            picks = self.storage.picklists(entity, udf=True)
            return [
                (d.name, d.type, [v["value"] for v in picks.get(d.name, [])])
                for d in self.storage.udf_defs(entity).values()
            ]

    def add_udf(self, entity: str, name: str, type: str = "string", *, label: str | None = None) -> None:
        """Define a new UDF (tests of names that collide once slugged, of odd scripts...).

        Autotask keeps UDF names unique per entity whatever their case; so does this.
        """
        info = self.entity(entity)
        if not info.has_udfs:
            raise ValueError(f"{info.name} has no user-defined fields")
        if type not in UDF_TYPES:
            raise ValueError(f"type must be one of {', '.join(UDF_TYPES)}, not {type!r}")
        if not isinstance(name, str) or not name.strip():
            raise ValueError("name must be a non-empty string")
        with self.lock:
            if name.lower() in self.storage.udf_defs(info.name):
                raise ValueError(f"{info.name} already has a UDF named {name!r}")
            with self._write():
                self.storage.add_udf_def(
                    info.name,
                    UdfDef(
                        name,
                        label or name,
                        type,
                        8000 if type == "string" else 0,
                        f"{name} (sandbox UDF)",
                        False,
                        False,
                    ),
                )
            self.reopen_readers()  # their cached UDF definitions are stale

    def make_row(
        self,
        entity: str,
        rng: random.Random,
        fixed: dict[str, Any] | None = None,
        when: datetime | None = None,
    ) -> dict[str, Any]:
        """A plausible new row as API JSON (with `userDefinedFields`), ready for `create`."""
        info = self.entity(entity)
        values, udfs = self.rows.make(info.name, rng, self, when or datetime.now(UTC), fixed)
        data = {k: v for k, v in values.items() if k != "id" and info.field(k) is not None}
        if info.has_udfs:
            data["userDefinedFields"] = [{"name": k, "value": udf_to_wire(v)} for k, v in udfs.items()]
        return data
