"""`autotask config`: show the effective settings; `config init` saves a checked profile."""

from __future__ import annotations

import shlex
from typing import Any

import click
import orjson

from .._config import ENV_VARS, settings_from_env
from .app import CLIError, main, run_sdk
from .exit_codes import ExitCode
from .output import render_table
from .profiles import profile_names, profile_overrides, profiles_path, save_profile


@main.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@click.pass_context
def config(ctx: click.Context, as_json: bool) -> None:
    """The effective configuration, secret masked (subcommands: init, profiles)."""
    if ctx.invoked_subcommand is not None:
        return
    obj = ctx.find_root().obj or {}
    overrides: dict[str, Any] = run_sdk(lambda: profile_overrides(obj.get("profile")))
    if obj.get("api_url"):
        overrides["api_url"] = obj["api_url"]
    shown = run_sdk(lambda: settings_from_env(**overrides)).masked()
    if as_json:
        click.echo(orjson.dumps(shown, option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(render_table(shown), nl=False)


@config.command()
@click.option("--profile", "name", default="default", show_default=True, help="Profile to save.")
@click.option("--print-env", is_flag=True, help="Print export lines instead of saving a profile.")
@click.option(
    "--check/--no-check",
    default=True,
    show_default=True,
    help="Log in (zone and ThresholdInformation) before saving.",
)
@click.pass_context
def init(ctx: click.Context, name: str, print_env: bool, check: bool) -> None:
    """Ask for the API user's credentials, check them against Autotask, then save them.

    The secret is read without echo and is never taken from the command line (which `ps`
    shows). The profile file is created readable by you alone.
    """
    values = {
        "username": click.prompt("API username (e-mail)").strip(),
        "secret": click.prompt("Secret", hide_input=True).strip(),
        "integration_code": click.prompt(
            "API tracking identifier (integration code)", hide_input=True
        ).strip(),
        "api_url": click.prompt(
            "REST root URL (blank: find the zone from the username)", default="", show_default=False
        ).strip(),
    }
    values = {k: v for k, v in values.items() if v}
    if check:
        _check(ctx, values)
    if print_env:
        for key, value in values.items():
            click.echo(f"export {ENV_VARS[key]}={shlex.quote(value)}")
        return
    path = save_profile(name, values)
    hint = (
        "it is used when AUTOTASK_USERNAME is unset" if name == "default" else f"use it with --profile {name}"
    )
    click.echo(f"saved profile {name!r} to {path} (mode 600); {hint}", err=True)


def _check(ctx: click.Context, values: dict[str, str]) -> None:
    from .._client import AutotaskClient

    try:
        with run_sdk(lambda: AutotaskClient.from_env(**values)) as client:
            threshold = run_sdk(client.threshold)
            click.echo(
                f"zone {client.root}: logged in; {threshold['used']:,} of "
                f"{threshold['limit']:,} requests used this hour",
                err=True,
            )
    except CLIError as exc:
        raise CLIError(f"not saved: {exc.message}", exc.exit_code) from None


@config.command()
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
def profiles(as_json: bool) -> None:
    """The saved profile names and where they are kept."""
    names = run_sdk(profile_names) if profiles_path().exists() else []
    if as_json:
        click.echo(orjson.dumps({"path": str(profiles_path()), "profiles": names}).decode())
        return
    if not names:
        raise CLIError(
            f"no profiles in {profiles_path()}; create one with: autotask config init", ExitCode.USAGE
        )
    for name in names:
        click.echo(name)
