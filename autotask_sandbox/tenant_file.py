"""Refuse tenant files built by another generator version, with the command that rebuilds them.

A tenant file is tied to the generator that built it (`generator.version_key()`, stored in its
`_meta` as `version`): tables, columns and metadata rows change between versions, and serving a
stale file fails later in obscure ways (e.g. undecodable UDF definitions in the webhooks).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


class StaleTenantError(RuntimeError):
    """The tenant file was built by a different generator version than this sandbox's."""


def read_meta(path: Path) -> dict[str, str]:
    """The `_meta` rows of a tenant file ({} when it has none), read without changing it."""
    try:
        with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as conn:
            return dict(conn.execute("SELECT key, value FROM _meta").fetchall())
    except sqlite3.DatabaseError:
        return {}


def check_version(path: str | Path, scale: str, seed: int) -> None:
    """Raise `StaleTenantError` unless `path` was built by the current generator."""
    from .generator import version_key

    path = Path(path)
    meta = read_meta(path)
    current = version_key()
    found = meta.get("version")
    if found == current:
        return
    built = f"generator version {found}" if found else "an older generator (no version recorded)"
    scale, seed = meta.get("scale", scale), int(meta.get("seed", seed))
    raise StaleTenantError(
        f"The tenant file {path} was built by {built}; this sandbox's generator is version "
        f"{current}, and its tables and metadata may differ. Rebuild the file with "
        f"`autotask-sandbox build --scale {scale} --seed {seed} --db {path}` (or delete it: "
        "`serve --db` builds a missing file), then start the server again."
    )
