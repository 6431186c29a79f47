"""Where files are written: a private staging folder, then an atomic move into place.

Every file is built under ``<output_dir>/.target-files-<random>/`` and moved to its
final name only when the run ends cleanly, so a failed or killed run never leaves
a half-written file where a reader (or the previous run's complete file) would be.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from target_adapters.files.manifest import MANIFEST_NAME, Manifest
from target_adapters.files.names import file_stem


class OutputDir:
    """Owns the staging folder of one run and the file names of its streams."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            msg = f"Cannot create output_dir '{self.root}': {exc.strerror}. Choose a writable folder."
            raise ValueError(msg) from exc
        self.manifest = Manifest(self.root)
        self.staging = Path(tempfile.mkdtemp(prefix=".target-files-", dir=self.root))

    def stem(self, stream_name: str) -> str:
        """A stream's file base name (names.py), refused if another stream holds it."""
        stem = file_stem(stream_name)
        self.manifest.claim(stream_name, stem)
        return stem

    def publish_manifest(self, published: set[str]) -> Path:
        """Write the manifest after the files it lists are in place."""
        staged = self.staged(MANIFEST_NAME)
        staged.write_bytes(self.manifest.render(self.root, published))
        return self.publish(staged, MANIFEST_NAME)

    def staged(self, name: str) -> Path:
        """A path inside the staging folder."""
        return self.staging / name

    def final(self, name: str) -> Path:
        """The published path of a file."""
        return self.root / name

    def publish(self, staged: Path, name: str) -> Path:
        """Move a finished file into place atomically (same file system)."""
        target = self.final(name)
        with open(staged, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(staged, target)
        directory = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a power cut
        finally:
            os.close(directory)
        return target

    def discard(self) -> None:
        """Remove the staging folder and everything in it."""
        shutil.rmtree(self.staging, ignore_errors=True)
