"""A small on-disk JSON cache with a TTL, for zone lookups and entity metadata.

Keys are hashed into file names; values never contain credentials (callers store only URLs
and metadata). Writes go through a temporary file and a rename, so readers never see half a
file and concurrent writers cannot corrupt an entry.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

__all__ = ["DiskCache", "default_cache_dir"]


def default_cache_dir() -> Path:
    """`$AUTOTASK_CACHE_DIR`, else `$XDG_CACHE_HOME/autotask-liberator` (`~/.cache/...`)."""
    env = os.environ.get("AUTOTASK_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "autotask-liberator"


class DiskCache:
    def __init__(self, directory: Path | str | None = None):
        self.directory = Path(directory) if directory is not None else default_cache_dir()

    def _path(self, namespace: str, key: tuple[str, ...]) -> Path:
        digest = hashlib.sha256("\x1f".join(key).encode()).hexdigest()[:32]
        return self.directory / namespace / f"{digest}.json"

    def get(self, namespace: str, key: tuple[str, ...], ttl: float) -> Any | None:
        path = self._path(namespace, key)
        try:
            raw = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return None
        if not isinstance(raw, dict) or time.time() - raw.get("stored_at", 0) > ttl:
            return None
        return raw.get("value")

    def set(self, namespace: str, key: tuple[str, ...], value: Any) -> None:
        path = self._path(namespace, key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(orjson.dumps({"stored_at": time.time(), "value": value}))
            os.replace(tmp, path)
        except OSError:
            pass  # a cache that cannot be written only costs a request next time

    def delete(self, namespace: str, key: tuple[str, ...]) -> None:
        try:
            self._path(namespace, key).unlink()
        except OSError:
            pass
