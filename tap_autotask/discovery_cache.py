"""Warm `--discover` without building the catalog again: the last one, while nothing changed.

Meltano runs discovery before every run. With sdk_core's metadata cache warm, building the
catalog asks the API nothing, yet importing singer-sdk and building 220 schemas costs more than
a second of CPU, on every webhook-triggered sync. So a discovery stores the catalog it printed,
and the next `tap-autotask --config ... [--state ...] --discover` (as Meltano calls it) prints it
again, before importing singer-sdk, when all of these are unchanged:

- the configuration (every setting but the secret ones, which never reach the key),
- the code: tap_autotask and sdk_core sources, the bundled entity catalog, singer-sdk's version,
- sdk_core's on-disk cache (its metadata "version"): any entry written, refreshed or dropped
  (TTL expiry, a webhook's invalidation, another process) changes a folder's mtime there,
- and the metadata it was built from is younger than sdk_core's metadata TTL.

Otherwise discovery runs as always and stores its result; only a discovery during which sdk_core's
cache did not change is stored (a cold one stores nothing: the next, warm, one does). Set
`AUTOTASK_TAP_DISCOVERY_CACHE=off` to always build the catalog.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import suppress
from importlib import metadata as dist_metadata
from importlib.util import find_spec
from pathlib import Path
from typing import Any

__all__ = ["DiscoveryKey", "cache_root", "enabled", "key_from_argv", "load", "store"]

SWITCH = "AUTOTASK_TAP_DISCOVERY_CACHE"
OWN_DIR = "tap-autotask-catalogs"
SECRET_SETTINGS = ("secret", "integration_code", "redis_url")


def enabled() -> bool:
    return os.environ.get(SWITCH, "").strip().lower() not in ("off", "0", "false", "no")


def cache_root() -> Path:
    """sdk_core's cache folder, as documented: `$AUTOTASK_CACHE_DIR`, else
    `$XDG_CACHE_HOME/autotask-liberator` (`~/.cache/autotask-liberator`)."""
    env = os.environ.get("AUTOTASK_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "autotask-liberator"


class DiscoveryKey:
    """What a stored catalog is valid for; `digest` names its file."""

    def __init__(self, config: dict[str, Any]):
        material = {
            "config": {k: v for k, v in sorted(config.items()) if k not in SECRET_SETTINGS},
            # whether each secret is usable text, not its value: a discovery that would fail
            # on a missing or malformed secret must run, and fail, as always
            "secrets": [k for k in SECRET_SETTINGS if isinstance(config.get(k), str) and config[k].strip()],
            "code": _code_fingerprint(),
        }
        text = json.dumps(material, sort_keys=True, default=str)
        self.digest = hashlib.sha256(text.encode()).hexdigest()[:40]
        self.metadata_state = metadata_state()

    @property
    def path(self) -> Path:
        return cache_root() / OWN_DIR / f"{self.digest}.json"


def key_from_argv(argv: Sequence[str]) -> DiscoveryKey | None:
    """The key of `--config FILE... [--state FILE] --discover`; None for any other command."""
    if not enabled():
        return None
    args = list(argv)
    if "--discover" not in args:
        return None
    args.remove("--discover")
    configs: list[str] = []
    while args:
        flag = args.pop(0)
        if flag == "--config" and args:
            configs.append(args.pop(0))
        elif flag.startswith("--config="):
            configs.append(flag.split("=", 1)[1])
        elif flag == "--state" and args:
            args.pop(0)  # Meltano passes it; discovery does not read state
        elif flag.startswith("--state="):
            continue
        else:
            return None  # --about, --catalog, --state, ...: not a plain discovery
    if not configs:
        return None
    config: dict[str, Any] = {}
    for source in configs:
        if source == "ENV":
            for name, value in sorted(os.environ.items()):
                if name.startswith("TAP_AUTOTASK_"):
                    setting = name[len("TAP_AUTOTASK_") :].lower()
                    config[setting if setting in SECRET_SETTINGS else f"env:{name}"] = value
            continue
        try:
            loaded = json.loads(Path(source).read_text())
        except (OSError, ValueError):
            return None  # let the tap report the unreadable file
        if not isinstance(loaded, dict):
            return None
        config.update(loaded)
    return DiscoveryKey(config)


def load(key: DiscoveryKey) -> str | None:
    """The stored catalog text when it is still valid for `key`, else None."""
    try:
        stored = json.loads(key.path.read_text())
    except (OSError, ValueError):
        return None
    if (
        not isinstance(stored, dict)
        or stored.get("metadata_state") != key.metadata_state
        or time.time() >= float(stored.get("expires_at", 0))
    ):
        return None
    catalog = stored.get("catalog")
    return catalog if isinstance(catalog, str) else None


def store(key: DiscoveryKey, catalog: str, metadata_ttl: float) -> bool:
    """Keep `catalog` for `key` if sdk_core's cache did not change while it was built."""
    state = metadata_state()
    if state != key.metadata_state:
        return False  # metadata written meanwhile (a cold discovery): the next one stores
    oldest = _oldest_entry(time.time())
    record = {"metadata_state": state, "expires_at": oldest + metadata_ttl, "catalog": catalog}
    path = key.path
    with suppress(OSError):  # a cache that cannot be written only costs the next discovery
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            json.dump(record, fh)
        os.replace(tmp, path)
        return True
    return False


def metadata_state() -> list[list[Any]]:
    """Name and mtime of each folder of sdk_core's cache: writes go through a new file and a
    rename, deletions unlink, so every change of an entry changes its folder's mtime."""
    try:
        with os.scandir(cache_root()) as entries:
            return sorted(
                [e.name, e.stat().st_mtime_ns] for e in entries if e.is_dir() and e.name != OWN_DIR
            )  # lists: as JSON reads back
    except OSError:
        return []


def _oldest_entry(now: float) -> float:
    """Write time of the oldest entry of sdk_core's cache (the first to expire)."""
    oldest = now
    with suppress(OSError):
        for folder in cache_root().iterdir():
            if folder.is_dir() and folder.name != OWN_DIR:
                for entry in folder.iterdir():
                    with suppress(OSError):
                        oldest = min(oldest, entry.stat().st_mtime)
    return oldest


def _code_fingerprint() -> list[Any]:
    """Sizes and mtimes of the sources that shape a catalog, and singer-sdk's version."""
    here = Path(__file__).resolve().parent
    spec = find_spec("sdk_core")  # located, not imported
    sdk_core = Path(spec.origin).parent if spec and spec.origin else here
    files = [*here.glob("*.py"), *sdk_core.glob("*.py"), sdk_core / "data" / "catalog.json"]
    stats: list[Any] = []
    for path in sorted(files):
        with suppress(OSError):
            st = path.stat()
            stats.append((path.name, st.st_size, st.st_mtime_ns))
    try:
        sdk = dist_metadata.version("singer-sdk")
    except dist_metadata.PackageNotFoundError:
        sdk = "?"
    return [sys.version_info[:2], sdk, stats]
