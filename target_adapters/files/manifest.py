"""``<output_dir>/target-files-manifest.json``: which file (and sheet) holds each stream.

File names come from stream names by a fixed rule (names.py), but a reader should not
have to recompute it, and a clash the rule cannot rule out (two names with the same
8-digit hash) must be refused rather than mixed into one file. The manifest answers
both: it lists, per stream, the files that hold its rows and, per workbook, the
sheets of each stream. It is rewritten (atomically, after the data files) by every
run that publishes files; entries of earlier runs stay while their files exist.
"""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

from target_adapters.files.errors import RefusedInput

MANIFEST_NAME = "target-files-manifest.json"
_ABOUT = (
    "Written by target-files: the files holding each Singer stream's rows (streams), and the "
    "sheets of each stream per Excel workbook (workbooks). File names are the stream name when "
    "it is plain (a-z, 0-9, _ and -), otherwise a safe prefix, '.' and a hash of the name."
)


class StreamNameClash(RefusedInput):
    """Two different stream names would share one file."""


class Manifest:
    """The manifest of one output folder: read at the start, written at the end."""

    def __init__(self, root: Path) -> None:
        self.path = root / MANIFEST_NAME
        self.streams: dict[str, dict[str, t.Any]] = {}
        self.workbooks: dict[str, dict[str, list[str]]] = {}
        if self.path.exists():
            self._load()
        self._owners = {
            entry["stem"].lower(): name for name, entry in self.streams.items() if "stem" in entry
        }

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self.streams = dict(data.get("streams") or {})
            self.workbooks = dict(data.get("workbooks") or {})
        except (OSError, ValueError, AttributeError) as exc:
            msg = (
                f"Cannot read {self.path} ({exc}). It records which file holds each stream; "
                "restore it, or delete it if the folder's files can be rewritten from scratch."
            )
            raise ValueError(msg) from exc

    def claim(self, stream_name: str, stem: str) -> None:
        """Take a file stem for a stream, refusing one that another stream holds."""
        owner = self._owners.get(stem.lower())
        if owner is not None and owner != stream_name:
            msg = (
                f"Streams {owner!r} and {stream_name!r} map to the same file name {stem!r} "
                f"(recorded in {self.path}); rename one of them, e.g. with a stream map's "
                "__alias__. Nothing was written."
            )
            raise StreamNameClash(msg)
        self._owners[stem.lower()] = stream_name
        self.streams.setdefault(stream_name, {"stem": stem, "files": []})["stem"] = stem

    def add_file(self, stream_name: str, file_name: str) -> None:
        """Record that a stream's rows are in a file."""
        files = self.streams.setdefault(stream_name, {"files": []}).setdefault("files", [])
        if file_name not in files:
            files.append(file_name)

    def set_workbook(self, file_name: str, sheets: dict[str, list[str]]) -> None:
        """A workbook is written anew each run: its sheets replace the previous ones."""
        self.workbooks[file_name] = sheets

    def render(self, root: Path, published: set[str]) -> bytes:
        """The manifest text; files neither published now nor still present are left out."""

        def present(name: str) -> bool:
            return name in published or (root / name).exists()

        streams = {}
        for name, entry in sorted(self.streams.items()):
            files = [f for f in entry.get("files", []) if present(f)]
            if files:
                streams[name] = (
                    {"stem": entry["stem"], "files": files} if "stem" in entry else {"files": files}
                )
        workbooks = {name: sheets for name, sheets in sorted(self.workbooks.items()) if present(name)}
        body = {"about": _ABOUT, "streams": streams, "workbooks": workbooks}
        try:
            return json.dumps(body, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
        except UnicodeEncodeError:  # a lone surrogate in a name: only JSON's escapes can carry it
            return json.dumps(body, indent=2).encode("ascii") + b"\n"
