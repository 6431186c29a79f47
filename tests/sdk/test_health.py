"""HealthMonitor against the sandbox: a healthy tenant, then faults from the sandbox's own
switches that make checks fail, alerts that reach a real local HTTP server (and a local SMTP
server) once per condition, and clear when the condition recovers."""

from __future__ import annotations

import json
import re
import socketserver
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from sdk_core import AsyncAutotaskClient, HealthMonitor
from sdk_core.health import LogChannel, SMTPChannel, Thresholds, WebhookChannel
from sdk_core.health.monitor import sql_freshness

NAMES = ["zone", "authentication", "threshold", "budget", "latency", "thread_limit", "retries", "version"]


@pytest.fixture
def hook_server():
    """A real HTTP server on a free port that keeps the JSON bodies POSTed to it."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alerts", received
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp_server():
    """A minimal SMTP server on a free port that keeps each message's DATA."""
    messages: list[str] = []

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            self.wfile.write(b"220 test ESMTP\r\n")
            while line := self.rfile.readline():
                verb = line.decode().strip().split(" ")[0].upper()
                if verb == "DATA":
                    self.wfile.write(b"354 go on\r\n")
                    body = []
                    while (part := self.rfile.readline()) not in (b".\r\n", b""):
                        body.append(part.decode())
                    messages.append("".join(body))
                    self.wfile.write(b"250 queued\r\n")
                elif verb == "QUIT":
                    self.wfile.write(b"221 bye\r\n")
                    return
                else:
                    self.wfile.write(b"250 ok\r\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], messages
    server.shutdown()
    server.server_close()


def test_a_healthy_tenant(sandbox, make_client):
    client = make_client(sandbox)
    list(client.companies.query(fields=["companyName"]))
    report = HealthMonitor(client, channels=[]).check_all()
    assert report.ok and report.status == "ok"
    assert [c.name for c in report.checks] == NAMES
    assert all(c.status == "ok" for c in report.checks), report.to_text()
    data = json.loads(report.to_json())
    assert data == json.loads(json.dumps(report.to_dict())) and data["ok"] is True
    assert report.check("threshold").value["limit"] == 10000
    assert report.check("latency").value["count"] >= 3
    assert "sandbox" in report.check("version").summary
    text = report.to_text()
    assert text.startswith("Autotask integration health: OK") and "latency" in text
    html = report.to_html()
    assert html.startswith("<!doctype html>") and html.count("<svg") == 4
    answered = report.check("latency").value["count"]
    assert html.count("<circle") == answered  # one dot per request on the latency chart
    assert sum(int(n) for n in re.findall(r"<title>(\d+) requests</title>", html)) == answered
    assert "<script" not in html and "src=" not in html and "href=" not in html  # self-contained


def test_faults_fail_checks_and_alert_once_then_clear(
    sandbox_factory, make_client, hook_server, tmp_path, caplog
):
    url, received = hook_server
    server = sandbox_factory(threshold=40)
    client = make_client(server)
    monitor = HealthMonitor(
        client,
        channels=[WebhookChannel(url), LogChannel()],
        thresholds=Thresholds(latency_p95_warn_ms=150),
        state_file=str(tmp_path / "alerts.json"),
    )
    assert monitor.check_all().ok and received == []

    other_integration = httpx.Client(headers=server.headers)
    for _ in range(20):  # another integration spends half the tenant's threshold of 40
        other_integration.get(
            f"{server.api_url}V1.0/Companies/query/count",
            params={"search": '{"filter":[{"op":"gt","field":"id","value":0}]}'},
        )
    other_integration.close()
    server.admin.configure(latency_ms=250)
    client.companies.count()  # one of ours, slowed down
    report = monitor.check_all()
    assert not report.ok
    assert report.check("threshold").status == "fail" and report.check("latency").status == "warn"
    raised = {(a["condition"], a["state"]) for a in received}
    assert raised == {("threshold", "raised"), ("latency", "raised")}
    assert {a["level"] for a in received if a["condition"] == "threshold"} == {"fail"}

    monitor.check_all()  # still bad: nothing new
    assert len(received) == 2
    logged = [r.getMessage() for r in caplog.records if r.name == "sdk_core.health.alerts"]
    assert sorted(m.split(":")[0] for m in logged) == ["[Autotask health] FAIL", "[Autotask health] WARN"]
    again = HealthMonitor(
        client,
        channels=[WebhookChannel(url)],
        thresholds=monitor.thresholds,
        state_file=str(tmp_path / "alerts.json"),
        window=0.5,
    )
    server.admin.configure(threshold=10000, latency_ms=0)
    import time

    time.sleep(0.6)  # the slow requests leave the latency window
    recovered = again.check_all()
    assert recovered.ok and recovered.check("threshold").status == "ok"
    cleared = {(a["condition"], a["state"]) for a in received[2:]}
    assert cleared == {("threshold", "cleared"), ("latency", "cleared")}
    assert {a["condition"] for a in recovered.alerts} == {"threshold", "latency"}


def test_server_errors_show_as_retries_by_cause(sandbox_factory, make_client):
    server = sandbox_factory()
    client = make_client(server)
    server.admin.set_faults("500:0.3")
    for _ in range(12):
        client.companies.count()
    server.admin.set_faults("")
    report = HealthMonitor(client, channels=[]).check_all()
    retries = report.check("retries")
    assert retries.value["by_cause"].get("server_error", 0) >= 1
    assert retries.status in ("warn", "fail") and retries.value["ratio"] >= 0.05


def test_thread_limit_refusals_are_counted(sandbox_factory, make_client):
    server = sandbox_factory(thread_limit=1, latency_ms=40)
    client = make_client(server)  # up to 3 in flight per endpoint; this tenant allows 1
    assert len(list(client.tickets.query(page_size=50, parallel=3))) == client.tickets.count()
    report = HealthMonitor(client, channels=[]).check_all()
    check = report.check("thread_limit")
    assert check.status == "warn" and check.value["refused"] >= 1
    assert report.check("retries").value["by_cause"]["thread_limited"] == check.value["refused"]


def test_wrong_credentials_fail_without_the_secret(sandbox, make_client, smtp_server):
    port, messages = smtp_server
    client = make_client(sandbox, secret="not-the-secret-123")
    channel = SMTPChannel(
        "127.0.0.1", port, sender="monitor@example.com", recipients=["ops@example.com"], starttls=False
    )
    report = HealthMonitor(client, channels=[channel]).check_all()
    assert not report.ok and report.check("authentication").status == "fail"
    assert report.check("version").status == "skip"
    assert "not-the-secret-123" not in report.to_json() + report.to_html() + report.to_text()
    assert len(messages) == 1 and "Subject: [Autotask health] FAIL: authentication" in messages[0]
    assert "not-the-secret-123" not in messages[0]


def test_freshness_and_webhook_backlog_when_given(sandbox, make_client, tmp_path):
    db = tmp_path / "warehouse.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE tickets (id INTEGER, last_activity_date TEXT)")
        conn.execute("CREATE TABLE companies (id INTEGER, last_activity_date TEXT)")
        now = datetime.now(UTC)
        conn.execute("INSERT INTO tickets VALUES (1, ?)", ((now - timedelta(minutes=5)).isoformat(),))
        conn.execute("INSERT INTO companies VALUES (1, ?)", ((now - timedelta(days=2)).isoformat(),))

    class Store:  # the event store's contract: backlog(tenant=...)
        def __init__(self, n):
            self.n, self.asked = n, []

        def backlog(self, *, tenant=None):
            self.asked.append(tenant)
            return self.n

    url = f"sqlite:///{db}"
    store = Store(150)
    report = HealthMonitor(
        make_client(sandbox),
        channels=[],
        tenant="acme",
        webhook_store=store,
        freshness={
            "tickets": sql_freshness(url, "tickets", "last_activity_date"),
            "companies": sql_freshness(url, "companies", "last_activity_date"),
        },
    ).check_all()
    assert report.check("freshness:tickets").status == "ok"
    assert report.check("freshness:companies").status == "fail" and not report.ok
    assert report.check("webhook_backlog").status == "warn" and store.asked == ["acme"]


async def test_the_async_client_is_awaited(sandbox, make_client):
    client = make_client(sandbox, AsyncAutotaskClient)
    try:
        report = await HealthMonitor(client, channels=[]).check_all()
    finally:
        await client.close()
    assert report.ok and [c.name for c in report.checks] == NAMES
    assert report.check("authentication").status == "ok"
