"""singer-sdk's standard target suite against SQLite, PostgreSQL and MariaDB.

Each test gets its own schema (database on MariaDB, file on SQLite), so the
suites run in parallel and rerun cleanly.

Excluded by us: none. singer-sdk's suite itself leaves out
TargetMultipleStateMessages (it expects a STATE after each drain of a tiny batch;
target-sql emits the latest STATE once everything before it is committed, see
test_sql_lifecycle.py) and TargetRecordMissingRequiredProperty.
"""

from __future__ import annotations

import pytest
from singer_sdk.testing import get_target_test_class
from singer_sdk.testing.runners import TargetTestRunner

from target_adapters.sql import TargetSQL

from .conftest import make_sql_destination

def _suite(dialect: str) -> type:
    base = get_target_test_class(TargetSQL, config={"sqlalchemy_url": "sqlite://"})

    class Suite(base):  # type: ignore[misc, valid-type]
        @pytest.fixture
        def runner(self, tmp_path):  # noqa: ANN001, ANN202
            destination = make_sql_destination(dialect, tmp_path)
            config = next(destination).config
            yield TargetTestRunner(target_class=TargetSQL, config=config)
            next(destination, None)

    Suite.__name__ = f"TestStandard{dialect.capitalize()}"
    return Suite

TestStandardSqlite = _suite("sqlite")
TestStandardPostgresql = _suite("postgresql")
TestStandardMysql = _suite("mysql")

