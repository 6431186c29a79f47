"""Where run failures are reported: the log by default, or a webhook (Slack, Teams, any URL).

A notifier is a resource with `notify(subject, details)`; pass another one to Definitions to
report elsewhere (e-mail, a pager) without touching the sensor.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import httpx
from dagster import ConfigurableResource
from pydantic import Field

__all__ = ["FailureNotifier", "LogNotifier", "WebhookNotifier", "notifier_from_env"]

log = logging.getLogger("orchestration.notifiers")


class FailureNotifier(ConfigurableResource):
    """Base: report one failed run."""

    def notify(self, subject: str, details: dict[str, Any]) -> None:
        raise NotImplementedError


class LogNotifier(FailureNotifier):
    """Writes the failure to the sensor's log (the default)."""

    def notify(self, subject: str, details: dict[str, Any]) -> None:
        log.error("%s: %s", subject, details)


class WebhookNotifier(FailureNotifier):
    """POSTs `{"text": subject, "details": {...}}` as JSON (Slack and Teams read `text`)."""

    url: str = Field(description="Webhook URL (kept out of logs).")
    timeout: float = 10.0

    def notify(self, subject: str, details: dict[str, Any]) -> None:
        response = httpx.post(self.url, json={"text": subject, "details": details}, timeout=self.timeout)
        if response.status_code >= 400:
            raise RuntimeError(
                f"The failure webhook answered HTTP {response.status_code}; "
                "check AUTOTASK_FAILURE_WEBHOOK_URL."
            )


def notifier_from_env() -> FailureNotifier:
    """`AUTOTASK_FAILURE_WEBHOOK_URL` set: a WebhookNotifier; else the log."""
    url = os.environ.get("AUTOTASK_FAILURE_WEBHOOK_URL")
    return WebhookNotifier(url=url) if url else LogNotifier()
