"""Fixtures of the target tests.

Each target keeps its fixtures in its own block below.
"""

from __future__ import annotations

# --- target-sql fixtures (owner: target-sql) -------------------------------------------
import os
import typing as t
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa

SQL_URLS = {
    "postgresql": os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    "mysql": os.environ.get("TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
}
SQL_DIALECTS = ["sqlite", "postgresql", "mysql"]


@dataclass
class SQLDestination:
    """One empty, private destination (schema, database or file) for one test."""

    dialect: str
    url: str
    schema: str | None
    engine: sa.Engine = field(repr=False)

    @property
    def config(self) -> dict[str, t.Any]:
        """target-sql settings that land in this destination."""
        config: dict[str, t.Any] = {"sqlalchemy_url": self.url}
        if self.schema:
            config["default_target_schema"] = self.schema
        if os.environ.get("TEST_SQL_PARSE_PROCESS") == "1":  # every test through the parsing processes
            config["parse_process"] = True
        return config

    def table(self, name: str) -> sa.Table:
        """The reflected table."""
        return sa.Table(name, sa.MetaData(), schema=self.schema, autoload_with=self.engine)

    def rows(self, name: str, *columns: str, order_by: str = "id") -> list[tuple]:
        """Rows of a table (chosen columns, all by default), ordered by ``order_by``."""
        table = self.table(name)
        selected = [table.c[c] for c in columns] if columns else list(table.c)
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.select(*selected).order_by(table.c[order_by]))]

    def count(self, name: str) -> int:
        """Row count of a table."""
        table = self.table(name)
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())

    def column_types(self, name: str) -> dict[str, sa.types.TypeEngine]:
        """Reflected column types."""
        return {c.name: c.type for c in self.table(name).columns}

    def has_table(self, name: str) -> bool:
        """Whether the table exists."""
        return sa.inspect(self.engine).has_table(name, schema=self.schema)


def _drop_schema(dialect: str, engine: sa.Engine, schema: str) -> None:
    with engine.begin() as conn:
        if dialect == "postgresql":
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        else:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{schema}`")


def make_sql_destination(dialect: str, tmp_path: Path) -> t.Iterator[SQLDestination]:
    """A private destination; schemas and databases are dropped afterwards."""
    if dialect == "sqlite":
        url = f"sqlite:///{tmp_path / 'target.db'}"
        engine = sa.create_engine(url)
        yield SQLDestination(dialect, url, None, engine)
        engine.dispose()
        return
    url = SQL_URLS[dialect]
    schema = f"tsql_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(url)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        pytest.fail(f"{dialect} at {url} is not reachable ({exc.orig}); run `make services`")
    try:
        yield SQLDestination(dialect, url, schema, engine)
    finally:
        _drop_schema(dialect, engine, schema)
        engine.dispose()


@pytest.fixture(params=SQL_DIALECTS)
def sql_destination(request: pytest.FixtureRequest, tmp_path: Path) -> t.Iterator[SQLDestination]:
    """An empty destination on each database in turn."""
    yield from make_sql_destination(request.param, tmp_path)


# --- end of target-sql fixtures --------------------------------------------------------
