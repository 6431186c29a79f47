"""Generated tenants cached by (scale, seed, generator version), built once and copied per use.

The cache directory is `$AUTOTASK_SANDBOX_CACHE` or `.cache/sandbox/` in the repository root.
Builds are serialised with a file lock, so parallel test workers build each tenant only once.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from pathlib import Path

from .generator import build_tenant, version_key

REPO_ROOT = Path(__file__).resolve().parents[1]


def cache_dir() -> Path:
    path = Path(os.environ.get("AUTOTASK_SANDBOX_CACHE") or REPO_ROOT / ".cache" / "sandbox")
    path.mkdir(parents=True, exist_ok=True)
    return path


def cached_tenant(scale: str = "tiny", seed: int = 1) -> Path:
    """Path of the pristine tenant file for (scale, seed); built on first use. Never write to it."""
    target = cache_dir() / f"tenant-{scale}-seed{seed}-{version_key()}.sqlite"
    if target.exists():
        return target
    with open(str(target) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.exists():
            build_tenant(target, scale, seed)
            _drop_stale(target, scale, seed)
    return target


def _drop_stale(current: Path, scale: str, seed: int) -> None:
    """Remove tenants of the same (scale, seed) built by older generator versions, once they
    are an hour old (a test session started before a code change may still copy them)."""
    horizon = time.time() - 3600
    for old in current.parent.glob(f"tenant-{scale}-seed{seed}-*.sqlite*"):
        if old.name != current.name and not old.name.endswith(".lock") and old.stat().st_mtime < horizon:
            old.unlink(missing_ok=True)


def working_copy(scale: str, seed: int, dest: Path) -> tuple[Path, Path]:
    """Copy the cached tenant to `dest`; returns (working file, pristine file)."""
    pristine = cached_tenant(scale, seed)
    shutil.copyfile(pristine, dest)
    return dest, pristine
