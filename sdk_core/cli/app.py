"""The `autotask` group: global options, plugin groups, and errors turned into exit codes.

Other packages add subcommand groups through the `autotask.commands` entry-point group
(e.g. `autotask sandbox ...`), so this package never imports them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any, TypeVar, cast

import click

from ..errors import AutotaskError
from .exit_codes import ExitCode, exit_code_for
from .profiles import profile_overrides

__all__ = ["main", "CLIError", "make_client", "run_sdk", "err_console"]

T = TypeVar("T")
DISTRIBUTION = "autotask-liberator"


class CLIError(click.ClickException):
    """An error shown as one line on stderr, with the exit code of its kind."""

    def __init__(self, message: str, exit_code: int = ExitCode.ERROR):
        super().__init__(message)
        self.exit_code = int(exit_code)  # type: ignore[misc]  # click reads exit_code per instance


def err_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def run_sdk(fn: Callable[[], T]) -> T:
    """Run `fn`, turning SDK errors into one-line messages with their exit codes."""
    try:
        return fn()
    except AutotaskError as exc:
        raise CLIError(str(exc), exit_code_for(exc)) from None


def make_client(ctx: click.Context) -> Any:
    """The SDK client for this invocation: profile (if any), then AUTOTASK_* variables."""
    from .._client import AutotaskClient

    obj = ctx.find_root().obj or {}
    overrides: dict[str, Any] = run_sdk(lambda: profile_overrides(obj.get("profile")))
    if obj.get("api_url"):
        overrides["api_url"] = obj["api_url"]
    return run_sdk(lambda: AutotaskClient.from_env(**overrides))


class _Group(click.Group):
    """Adds the subcommand groups registered under the `autotask.commands` entry points."""

    def _plugins(self) -> dict[str, Any]:
        return {ep.name: ep for ep in entry_points(group="autotask.commands")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._plugins()))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        found = super().get_command(ctx, name)
        if found is not None:
            return found
        ep = self._plugins().get(name)
        if ep is None:
            return None
        try:
            return cast(click.Command, ep.load())  # the entry-point group holds click commands
        except Exception as exc:  # a broken plugin must not break the other commands
            click.echo(f"could not load the '{name}' commands: {exc}", err=True)
            return None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # `autotask query ... | head`: the reader left, which is not an error. Point stdout
            # at /dev/null so the interpreter's final flush does not fail again.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(ExitCode.OK)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name=DISTRIBUTION, prog_name="autotask")
@click.option("--api-url", envvar="AUTOTASK_API_URL", help="REST root of the zone (skips zone lookup).")
@click.option(
    "--profile", envvar="AUTOTASK_PROFILE", help="Saved connection profile (see `autotask config init`)."
)
@click.pass_context
def main(ctx: click.Context, api_url: str | None, profile: str | None) -> None:
    """Autotask PSA from the command line.

    Credentials come from a profile (`autotask config init`) or AUTOTASK_USERNAME,
    AUTOTASK_SECRET and AUTOTASK_INTEGRATION_CODE. Exit codes: 0 ok, 1 error, 2 usage or
    configuration, 3 authentication, 4 not found, 5 permission, 6 rate limit exhausted,
    7 network, 8 partial failure.
    """
    ctx.ensure_object(dict)
    ctx.obj["api_url"] = api_url
    ctx.obj["profile"] = profile
