"""One line, at the top of each feature package, that names the extra it needs.

The distribution's core is the SDK; the tap, the targets, the sandbox, the webhook receiver,
Dagster and pandas each come with an extra (`pip install 'autotask-liberator[tap]'`). Without
it, importing the package fails at once with one line saying what to install, rather than with
a `ModuleNotFoundError` deep inside it. It only looks modules up (`find_spec`), so it costs
nothing when the extra is there, and it imports nothing, so any of our packages may use it.
"""

from __future__ import annotations

from importlib.util import find_spec

__all__ = ["MissingExtraError", "require_extra"]

DISTRIBUTION = "autotask-liberator"


class MissingExtraError(ModuleNotFoundError):
    """A feature package was imported without the extra that installs its dependencies."""

    def __str__(self) -> str:
        return str(self.args[0])


def require_extra(package: str, extra: str, *modules: str) -> None:
    """Raise `MissingExtraError` if any of `modules` (top-level import names) is not installed."""
    missing = [m for m in modules if not _installed(m)]
    if missing:
        raise MissingExtraError(
            f"{package} needs the '{extra}' extra ({', '.join(missing)} not installed): "
            f"pip install '{DISTRIBUTION}[{extra}]'",
            name=missing[0],
        )


def _installed(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except ValueError:  # present in sys.modules as None: imports of it are blocked
        return False
