"""Helpers shared by the targets: a fast Singer reader and JSON-schema compilation.

Kept small on purpose; each target builds its own type mapping on top of
:func:`column_types`.
"""

from target_adapters.common.reader import FastSingerReader
from target_adapters.common.schema_types import ColumnType, Kind, column_types
from target_adapters.common.validator import CompiledValidator

__all__ = ["ColumnType", "CompiledValidator", "FastSingerReader", "Kind", "column_types"]
