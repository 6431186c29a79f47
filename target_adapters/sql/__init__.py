"""target-sql: any Singer stream into PostgreSQL, MySQL/MariaDB or SQLite.

Roles, as in MeltanoLabs/target-postgres: :mod:`.target` (config, message flow),
:mod:`.sink` (batch semantics, one transaction a batch), :mod:`.connector` (engine,
DDL, type mapping) and :mod:`.bulk` (the fastest write path of each database).
"""

from target_adapters.sql.errors import RecordRejected
from target_adapters.sql.target import TargetSQL

__all__ = ["RecordRejected", "TargetSQL"]
