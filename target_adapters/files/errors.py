"""Input the target refuses: the run stops, publishes nothing, and says why in one line."""

from __future__ import annotations


class RefusedInput(ValueError):
    """Records the target cannot place where they belong (the message names stream and rule)."""
