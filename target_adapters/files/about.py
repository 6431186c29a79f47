"""``--about --format=markdown`` that reads like the package README.

singer-sdk prints defaults with Python's spelling (``True``, ``None``); the README and
meltano.yml use JSON's (``true``, no default), so the table shows those.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import typing as t

from singer_sdk.about import AboutInfo, MarkdownFormatter

DESCRIPTION = (
    "Singer target that writes any Singer stream to CSV, JSON Lines, Parquet or one Excel "
    "workbook, in bounded memory. Files are built in a staging folder and published, with the "
    "last STATE, only when the input ends cleanly; target-files-manifest.json in output_dir "
    "names the file (and sheets) of each stream."
)


def _json_defaults(schema: dict[str, t.Any]) -> None:
    for prop in (schema.get("properties") or {}).values():
        default = prop.get("default")
        if default is None:
            prop["default"] = ""
        elif not isinstance(default, str):
            prop["default"] = json.dumps(default)
        _json_defaults(prop)


def markdown(info: AboutInfo) -> str:
    """The about text as Markdown, defaults spelled as JSON."""
    settings = copy.deepcopy(info.settings)
    _json_defaults(settings)
    return MarkdownFormatter().format_about(dataclasses.replace(info, settings=settings))
