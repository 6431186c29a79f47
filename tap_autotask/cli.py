"""The `tap-autotask` command: a warm `--discover` answered before singer-sdk is imported.

Everything else (and a discovery whose stored catalog is stale) runs `TapAutotask.cli`.
"""

from __future__ import annotations

import sys

from . import discovery_cache

__all__ = ["main"]


def main() -> None:
    key = discovery_cache.key_from_argv(sys.argv[1:])
    if key is not None:
        catalog = discovery_cache.load(key)
        if catalog is not None:
            sys.stdout.write(catalog + "\n")
            sys.stdout.flush()
            sys.stderr.write(
                "tap-autotask: catalog unchanged since the last discovery (same "
                "settings, code and cached metadata); printed it again.\n"
            )
            return
    from .tap import TapAutotask

    TapAutotask.pending_discovery = key
    TapAutotask.cli()
