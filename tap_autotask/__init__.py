"""Singer tap for Autotask PSA, built on sdk_core: every queryable entity as a stream."""

from tap_autotask.tap import TapAutotask

__all__ = ["TapAutotask"]
