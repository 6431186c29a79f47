"""Every use of singer-sdk's private names by the tap, in one place.

singer-sdk (pinned 0.54) leaves some things the tap needs without a public hook: speed on the
per-record path, bookmarks per replication window rather than per record, ACTIVATE_VERSION
after the rows, annotated schemas. Each such use is listed in `CONTRACT` and checked by
tests/tap/test_sdk_compat.py, which fails naming the entry when an upgrade of singer-sdk moves
or renames it. Nothing outside this module touches a private singer-sdk name.
"""

from __future__ import annotations

import logging
__all__ = ["CONTRACT", "DeselectedStreamsSummary"]

# The INFO line singer-sdk's `Tap.sync_all` logs once per deselected stream (tap_base.py).
DESELECTED_MESSAGE = "Skipping deselected stream '%s'."

# (where, name, kind): what the tap relies on; kind is "method" (overridden or called),
# "attribute" (read or written), "function" (imported) or "message" (a log format).
CONTRACT: list[tuple[str, str, str]] = [
    ("singer_sdk.tap_base:Tap.sync_all", DESELECTED_MESSAGE, "message"),
]


class DeselectedStreamsSummary(logging.Filter):
    """Holds back singer-sdk's per-stream "Skipping deselected stream" lines (about 220 a run),
    counting them, so the tap can log one summary line instead."""

    def __init__(self) -> None:
        super().__init__()
        self.skipped: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == DESELECTED_MESSAGE and isinstance(record.args, tuple):
            self.skipped.append(str(record.args[0]))
            return False
        return True
