"""Dagster definitions: `dagster dev -m orchestration` (see docs/orchestration.md)."""

from sdk_core._extras import require_extra

require_extra("orchestration", "dagster", "dagster")

from .definitions import defs  # noqa: E402  (after the check that names the missing extra)

__all__ = ["defs"]
