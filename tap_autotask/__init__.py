"""Singer tap for Autotask PSA, built on sdk_core: every queryable entity as a stream."""

from sdk_core._extras import require_extra

require_extra("tap_autotask", "tap", "singer_sdk")

from tap_autotask.tap import TapAutotask

__all__ = ["TapAutotask"]
