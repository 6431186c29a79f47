"""Handlers run by the receiver processes of the tests: each handled event is appended to
`$WEBHOOK_TEST_LOG`; while the file `$WEBHOOK_TEST_FAIL_FLAG` exists every handler call fails."""

from __future__ import annotations

import json
import os
from pathlib import Path

from sdk_core.webhooks import RetryPolicy, WebhookEvent, WebhookServer

server = WebhookServer(
    retry=RetryPolicy(
        max_attempts=int(os.environ.get("WEBHOOK_TEST_ATTEMPTS", "3")), backoff=0.1, max_backoff=0.3
    ),
    poll_interval=0.1,
)


@server.handler("*")
def record(event: WebhookEvent) -> None:
    flag = os.environ.get("WEBHOOK_TEST_FAIL_FLAG")
    if flag and Path(flag).exists():
        raise RuntimeError("the downstream system is down")
    with open(os.environ["WEBHOOK_TEST_LOG"], "a") as log:
        log.write(
            json.dumps(
                {
                    "seq": event.seq,
                    "entity": event.entity,
                    "id": event.id,
                    "action": event.action,
                    "fields": event.fields,
                    "sequence_number": event.sequence_number,
                }
            )
            + "\n"
        )
