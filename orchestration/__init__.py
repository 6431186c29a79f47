"""Dagster definitions: `dagster dev -m orchestration` (see docs/orchestration.md)."""

from .definitions import defs

__all__ = ["defs"]
