"""Alerts: raised once when a check turns bad (again when it worsens), cleared when it recovers.

Channels are anything with `send(alert)`: a logger, a webhook URL (JSON POST) and SMTP e-mail
come with the SDK. A failing channel is logged and never breaks the check. The state (which
conditions are active) can live in a JSON file, so one-shot runs (cron, `autotask health`)
do not repeat an alert every time they run.
"""

from __future__ import annotations

import logging
import os
import smtplib
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

import orjson

__all__ = ["Alert", "AlertChannel", "LogChannel", "WebhookChannel", "SMTPChannel", "AlertState"]

log = logging.getLogger("sdk_core.health")

_RANK = {"ok": 0, "skip": 0, "warn": 1, "fail": 2}


@dataclass(frozen=True)
class Alert:
    condition: str  # the check's name
    level: str  # warn or fail (the level that was raised, for a cleared alert too)
    state: str  # raised or cleared
    message: str
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    source: str = "autotask-liberator"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def subject(self) -> str:
        word = "RECOVERED" if self.state == "cleared" else self.level.upper()
        return f"[Autotask health] {word}: {self.condition}"


class AlertChannel(Protocol):
    def send(self, alert: Alert) -> None: ...


class LogChannel:
    """Alerts as log records (warning when raised, info when cleared)."""

    def __init__(self, logger: logging.Logger | str = "sdk_core.health.alerts"):
        self.logger = logging.getLogger(logger) if isinstance(logger, str) else logger

    def send(self, alert: Alert) -> None:
        level = (
            logging.INFO
            if alert.state == "cleared"
            else (logging.ERROR if alert.level == "fail" else logging.WARNING)
        )
        self.logger.log(level, "%s: %s", alert.subject, alert.message)


class WebhookChannel:
    """POSTs the alert as JSON to a URL (Slack/Teams relays, an incident tool, your own)."""

    def __init__(self, url: str, *, timeout: float = 10.0, headers: dict[str, str] | None = None):
        self.url, self.timeout, self.headers = url, timeout, dict(headers or {})

    def send(self, alert: Alert) -> None:
        import httpx

        response = httpx.post(
            self.url,
            content=orjson.dumps(alert.to_dict()),
            timeout=self.timeout,
            headers={"Content-Type": "application/json", **self.headers},
        )
        response.raise_for_status()

    def __repr__(self) -> str:
        from .._config import mask_url

        return f"WebhookChannel({mask_url(self.url)!r})"


class SMTPChannel:
    """E-mail through an SMTP server (STARTTLS and login when given)."""

    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        sender: str,
        recipients: Sequence[str],
        username: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        timeout: float = 10.0,
    ):
        if not recipients:
            raise ValueError("SMTPChannel needs at least one recipient")
        self.host, self.port, self.sender, self.recipients = host, port, sender, list(recipients)
        self.username, self._password, self.starttls, self.timeout = username, password, starttls, timeout

    def send(self, alert: Alert) -> None:
        message = EmailMessage()
        message["Subject"], message["From"], message["To"] = (
            alert.subject,
            self.sender,
            ", ".join(self.recipients),
        )
        message.set_content(
            f"{alert.message}\n\ncondition: {alert.condition}\nlevel: {alert.level}\n"
            f"state: {alert.state}\nat: {alert.at}\n"
        )
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self._password or "")
            smtp.send_message(message)

    def __repr__(self) -> str:
        return f"SMTPChannel({self.host}:{self.port}, to={self.recipients})"


class AlertState:
    """Which conditions are active, in memory or in a JSON file."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else None
        self.active: dict[str, dict[str, str]] = self._load()

    def _load(self) -> dict[str, dict[str, str]]:
        if self.path is None:
            return {}
        try:
            data = orjson.loads(self.path.read_bytes())
            return data if isinstance(data, dict) else {}
        except (OSError, orjson.JSONDecodeError):
            return {}

    def _save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(orjson.dumps(self.active))
        os.replace(tmp, self.path)

    def update(self, checks: Iterable[Any]) -> list[Alert]:
        """Alerts for what turned bad or worse, and for what recovered, since the last update."""
        alerts = []
        for check in checks:
            if check.status == "skip":
                continue  # not measured this time: neither raised nor cleared
            known = self.active.get(check.name)
            if _RANK[check.status] > 0:
                if known is None or _RANK[check.status] > _RANK[known["level"]]:
                    self.active[check.name] = {"level": check.status, "message": check.summary}
                    alerts.append(Alert(check.name, check.status, "raised", check.summary))
            elif known is not None:
                del self.active[check.name]
                alerts.append(Alert(check.name, known["level"], "cleared", f"recovered: {check.summary}"))
        if alerts:
            self._save()
        return alerts


def deliver(alerts: list[Alert], channels: Sequence[AlertChannel]) -> None:
    for alert in alerts:
        for channel in channels:
            try:
                channel.send(alert)
            except Exception as exc:  # a broken channel must not hide the report or the others
                log.warning("alert channel %r failed for %s: %s", channel, alert.condition, exc)
