"""target-sql: any Singer stream into PostgreSQL, MySQL/MariaDB or SQLite.

Roles, as in MeltanoLabs/target-postgres: :mod:`.target` (config, message flow),
:mod:`.sink` (batch semantics, one transaction a batch), :mod:`.connector` (engine,
DDL, type mapping), :mod:`.bulk` (the fastest write path of each database) and
:mod:`.parse_process` (parsing and row building in a second process).

Names are loaded on first use, so the parsing process imports only what it needs
(orjson and the row builder), not singer-sdk and SQLAlchemy.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from target_adapters.sql.errors import RecordRejected
    from target_adapters.sql.target import TargetSQL

_HOMES = {"RecordRejected": "target_adapters.sql.errors", "TargetSQL": "target_adapters.sql.target"}

__all__ = ["RecordRejected", "TargetSQL"]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(home), name)
