"""singer-sdk's standard target suite against SQLite, PostgreSQL and MariaDB.

Each test gets its own schema (database on MariaDB, file on SQLite), so the
suites run in parallel and rerun cleanly.

Excluded by us: none. singer-sdk's suite itself leaves out
TargetMultipleStateMessages (it expects a STATE after each drain of a tiny batch;
target-sql emits the latest STATE once everything before it is committed, see
test_sql_lifecycle.py) and TargetRecordMissingRequiredProperty.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from singer_sdk.testing import get_target_test_class
from singer_sdk.testing.runners import TargetTestRunner

from target_adapters.sql import TargetSQL

from .conftest import make_sql_destination


def _suite(dialect: str) -> type:
    base = get_target_test_class(TargetSQL, config={"sqlalchemy_url": "sqlite://"})

    class Suite(base):  # type: ignore[misc, valid-type]  # a class made by singer-sdk
        @pytest.fixture
        def runner(self, tmp_path):
            destination = make_sql_destination(dialect, tmp_path)
            config = next(destination).config
            yield TargetTestRunner(target_class=TargetSQL, config=config)
            next(destination, None)

    Suite.__name__ = f"TestStandard{dialect.capitalize()}"
    return Suite


TestStandardSqlite = _suite("sqlite")
TestStandardPostgresql = _suite("postgresql")
TestStandardMysql = _suite("mysql")


def test_database_urls_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_POSTGRES_URL", "postgresql+psycopg://someone@db.example:6543/other")
    monkeypatch.setenv("TEST_MYSQL_URL", "mysql+pymysql://someone@db.example:3307/other")
    path = Path(__file__).with_name("conftest.py")
    spec = importlib.util.spec_from_file_location("_fresh_targets_conftest", path)
    assert spec is not None and spec.loader is not None
    fresh = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, fresh)  # dataclasses look their module up
    spec.loader.exec_module(fresh)
    assert fresh.SQL_URLS == {
        "postgresql": "postgresql+psycopg://someone@db.example:6543/other",
        "mysql": "mysql+pymysql://someone@db.example:3307/other",
    }
