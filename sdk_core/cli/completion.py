"""Shell completion: `autotask completion bash|zsh|fish` prints the script; entity names complete."""

from __future__ import annotations

import click
from click.shell_completion import CompletionItem, get_completion_class

from .app import main

__all__ = ["complete_entity", "complete_field"]


def complete_entity(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Entity URL names (`Tickets`) and stream names (`ticket_notes`) from the bundled catalog."""
    from ..catalog import load_catalog

    low = incomplete.lower()
    names = sorted({n for e in load_catalog() for n in (e.name, e.stream_name)})
    return [CompletionItem(n) for n in names if n.lower().startswith(low)]


def complete_field(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Field names of the entity given before this argument (catalog, no request)."""
    from ..catalog import load_catalog

    entity = load_catalog().find(ctx.params.get("entity") or "")
    if entity is None:
        return []
    low = incomplete.lower()
    return [CompletionItem(f.name) for f in entity.fields if f.name.lower().startswith(low)]


@main.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the completion script for SHELL.

    \b
    bash: eval "$(autotask completion bash)"     (in ~/.bashrc)
    zsh:  eval "$(autotask completion zsh)"      (in ~/.zshrc)
    fish: autotask completion fish > ~/.config/fish/completions/autotask.fish
    """
    cls = get_completion_class(shell)
    if cls is None:  # click knows all three; this guards a future click without one
        raise click.UsageError(f"no completion for {shell}")
    click.echo(cls(main, {}, "autotask", "_AUTOTASK_COMPLETE").source())
