"""Where `autotask sync` keeps its bookmarks: beside the destination, so they travel with it.

A database destination keeps them in a table `_autotask_sync_state` of that database; a folder
keeps `.autotask-sync-state.json` in it. Each STATE the target confirms (its rows are
committed) is saved at once, so a run killed at any point resumes from committed rows.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import orjson

__all__ = ["StateStore", "state_store_for"]

TABLE = "_autotask_sync_state"


class StateStore(Protocol):
    where: str

    def load(self) -> dict[str, Any] | None: ...

    def save(self, state: dict[str, Any]) -> None: ...


class FileStateStore:
    def __init__(self, folder: Path, key: str):
        self.path = folder / ".autotask-sync-state.json"
        self.key = key
        self.where = str(self.path)

    def _all(self) -> dict[str, Any]:
        return orjson.loads(self.path.read_bytes()) if self.path.exists() else {}

    def load(self) -> dict[str, Any] | None:
        return self._all().get(self.key)

    def save(self, state: dict[str, Any]) -> None:
        data = self._all()
        data[self.key] = state
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
        os.replace(tmp, self.path)


class SQLStateStore:
    def __init__(self, url: str, key: str, schema: str | None = None):
        import sqlalchemy as sa

        self._sa = sa
        self.engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        self.key = key
        self.where = f"table {TABLE} of the destination"
        self.table = sa.Table(
            TABLE,
            sa.MetaData(),
            sa.Column("state_id", sa.String(200), primary_key=True),
            sa.Column("state", sa.Text, nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            schema=schema,
        )
        self.table.create(self.engine, checkfirst=True)

    def load(self) -> dict[str, Any] | None:
        sa = self._sa
        with self.engine.connect() as conn:
            text = conn.execute(
                sa.select(self.table.c.state).where(self.table.c.state_id == self.key)
            ).scalar()
        return orjson.loads(text) if text else None

    def save(self, state: dict[str, Any]) -> None:
        sa = self._sa
        values = {"state": orjson.dumps(state).decode(), "updated_at": datetime.now(UTC)}
        with self.engine.begin() as conn:
            changed = conn.execute(
                sa.update(self.table).where(self.table.c.state_id == self.key).values(**values)
            )
            if changed.rowcount == 0:
                conn.execute(sa.insert(self.table).values(state_id=self.key, **values))


def state_store_for(kind: str, to: str, key: str, schema: str | None = None) -> StateStore:
    if kind == "sql":
        return SQLStateStore(to, key, schema)
    return FileStateStore(Path(to), key)
