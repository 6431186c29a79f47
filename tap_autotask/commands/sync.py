"""`autotask sync --to DEST --streams ...`: the tap into a target, incremental, without Meltano.

The tap and the target run as processes joined by a pipe, exactly as `meltano run` joins
them; bookmarks are read from and saved beside the destination (see sync_state.py).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click
import orjson

from sdk_core.cli.app import CLIError, make_client
from sdk_core.cli.exit_codes import ExitCode

from .destinations import FILE_FORMATS, for_sync
from .singer_pipe import TargetFailed, TargetProcess, last_lines, rows_counted, rows_written
from .sync_state import state_store_for

BIN = Path(sys.executable).parent


def _tap_env(client: Any, streams: list[str] | None) -> dict[str, str]:
    """The tap's settings as TAP_AUTOTASK_* variables (credentials never touch a file or argv)."""
    settings = client.settings
    env = {
        "TAP_AUTOTASK_USERNAME": settings.username,
        "TAP_AUTOTASK_SECRET": settings.secret,
        "TAP_AUTOTASK_INTEGRATION_CODE": settings.integration_code,
    }
    if settings.api_url:
        env["TAP_AUTOTASK_API_URL"] = settings.api_url
    if settings.zone_lookup_url:
        env["TAP_AUTOTASK_ZONE_LOOKUP_URL"] = settings.zone_lookup_url
    if streams:
        env["TAP_AUTOTASK_INCLUDE_STREAMS"] = orjson.dumps(streams).decode()
    if settings.redis_url:
        env["TAP_AUTOTASK_REDIS_URL"] = settings.redis_url
    return env


@click.command()
@click.option(
    "--to",
    "to",
    required=True,
    help="postgresql+psycopg://..., mysql+pymysql://..., sqlite:///x.db, or a folder for files.",
)
@click.option(
    "--streams",
    help="Comma-separated stream names (tickets,ticket_notes,...); `autotask entities` lists them.",
)
@click.option("--all-streams", is_flag=True, help="Every stream (221 entities: a long first run).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FILE_FORMATS),
    default="parquet",
    show_default=True,
    help="File format when --to is a folder.",
)
@click.option("--full-refresh", is_flag=True, help="Ignore the saved bookmarks and read everything again.")
@click.option("--schema", default=None, help="Schema (PostgreSQL) or database (MySQL) to write into.")
@click.option("--state-id", default=None, help="Name of the bookmark set [default: from tenant and streams].")
@click.pass_context
def sync(
    ctx: click.Context,
    to: str,
    streams: str | None,
    all_streams: bool,
    fmt: str,
    full_refresh: bool,
    schema: str | None,
    state_id: str | None,
) -> None:
    """Copy Autotask into a database or folder; later runs read only what changed."""
    names = [s.strip() for s in streams.split(",") if s.strip()] if streams else None
    if not names and not all_streams:
        raise click.UsageError("say which streams (--streams tickets,companies) or --all-streams")
    destination = for_sync(to, fmt, schema)
    client = make_client(ctx)
    with client:
        tap_env = _tap_env(client, names)
        tenant = f"{client.settings.username}@{client.settings.api_url or client.lookup_root}"
    key = state_id or hashlib.sha256(f"{tenant}|{sorted(names or ['*'])}".encode()).hexdigest()[:16]
    store = state_store_for(destination.kind, to, key, destination.settings.get("default_target_schema"))
    saved = None if full_refresh else store.load()
    work = Path(tempfile.mkdtemp(prefix="autotask-sync-"))
    state_file = work / "state.json"
    state_file.write_bytes(orjson.dumps(saved or {}))
    counts: dict[str, int] = {}
    live: dict[str, int] = {}
    started = time.monotonic()
    view = _View(live, started)

    def on_log(line: str) -> None:
        for parse, into in ((rows_written, live), (rows_counted, counts)):
            found = parse(line)
            if found:
                into[found[0]] = into.get(found[0], 0) + found[1]
                view.update()

    tap_log = (work / "tap.log").open("wb")
    tap = subprocess.Popen(
        [str(BIN / "tap-autotask"), "--config", "ENV", "--state", str(state_file)],
        stdout=subprocess.PIPE,
        stderr=tap_log,
        env={**os.environ, **tap_env},
    )
    target = TargetProcess(
        destination, work / "target.log", on_state=store.save, stdin=tap.stdout, on_log=on_log
    )
    assert tap.stdout is not None
    tap.stdout.close()  # the target holds the read end now
    with view:
        tap_code = tap.wait()
        try:
            target.close()
        except TargetFailed as exc:
            raise CLIError(str(exc), ExitCode.ERROR) from None
        finally:
            tap_log.close()
    if tap_code != 0:
        raise CLIError(
            f"tap-autotask failed (exit {tap_code}); rows it sent before that are saved "
            f"and the next run resumes from them. Last lines of {work / 'tap.log'}:\n"
            + last_lines(work / "tap.log"),
            ExitCode.PARTIAL if target.states else ExitCode.ERROR,
        )
    elapsed = time.monotonic() - started
    click.echo(
        f"synced {sum(counts.values()):,} rows into {destination.label} in {elapsed:.1f} s; "
        f"bookmarks in {store.where}",
        err=True,
    )
    for stream, n in sorted(counts.items()):
        click.echo(f"  {stream}: {n:,} rows", err=True)


class _View:
    """Rows written per stream, live on stderr when it is a terminal (as `make demo` shows)."""

    def __init__(self, counts: dict[str, int], started: float):
        self.counts, self.started = counts, started
        self.live: Any = None

    def __enter__(self) -> _View:
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.live import Live

            self.live = Live(self._text(), console=Console(stderr=True), transient=True)
            self.live.start()
        return self

    def _text(self) -> str:
        return (
            f"loading {sum(self.counts.values()):,} rows into {len(self.counts)} tables, "
            f"{time.monotonic() - self.started:.0f} s"
        )

    def update(self) -> None:
        if self.live is not None:
            self.live.update(self._text())

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.stop()
