"""BATCH messages taken record by record, through the target's RECORD path.

singer-sdk hands a batch file's records straight to ``Sink.process_batch``,
past validation, metadata and the target's checkpointing; a sink that keeps
its own buffers then loses them (target-files wrote a header-only file) or
fails (target-sql). Here each record becomes a RECORD message instead, so a
batch obeys every rule a RECORD does, including when STATE may be emitted.
"""

from __future__ import annotations

import typing as t

from target_adapters.common.batch_files import batch_records, check_encoding


class BatchAsRecords:
    """Mixin for a singer-sdk Target: BATCH messages go through ``_process_record_message``."""

    _process_record_message: t.Callable[[dict], None]

    def _process_batch_message(self, message_dict: dict) -> None:
        """Refuse an unreadable encoding at once, else feed each record as a RECORD message."""
        check_encoding(message_dict)
        stream = message_dict.get("stream")
        process = self._process_record_message
        for record in batch_records(message_dict):
            process({"type": "RECORD", "stream": stream, "record": record})
