"""Helpers shared by the targets: a fast Singer reader and JSON-schema compilation.

Kept small on purpose; each target builds its own type mapping on top of
:func:`column_types`. Names are loaded on first use, so a module that needs only
:mod:`.schema_types` (target-sql's parsing process) does not import singer-sdk.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from target_adapters.common.reader import FastSingerReader
    from target_adapters.common.schema_types import ColumnType, Kind, column_types
    from target_adapters.common.validator import CompiledValidator

_HOMES = {
    "FastSingerReader": "target_adapters.common.reader",
    "ColumnType": "target_adapters.common.schema_types",
    "Kind": "target_adapters.common.schema_types",
    "column_types": "target_adapters.common.schema_types",
    "CompiledValidator": "target_adapters.common.validator",
}

__all__ = ["ColumnType", "CompiledValidator", "FastSingerReader", "Kind", "column_types"]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(home), name)
