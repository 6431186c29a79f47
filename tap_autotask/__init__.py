"""Singer tap for Autotask PSA, built on sdk_core: every queryable entity as a stream.

`TapAutotask` is loaded on first use, so the `tap-autotask` command can answer a warm
discovery without importing singer-sdk (see `discovery_cache`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sdk_core._extras import require_extra

require_extra("tap_autotask", "tap", "singer_sdk")

__all__ = ["TapAutotask"]

if TYPE_CHECKING:
    from tap_autotask.tap import TapAutotask


def __getattr__(name: str) -> Any:
    if name == "TapAutotask":
        from tap_autotask.tap import TapAutotask

        return TapAutotask
    raise AttributeError(f"module 'tap_autotask' has no attribute {name!r}")
