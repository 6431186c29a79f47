"""Where rows go: a SQLAlchemy URL to `target-sql`, a folder or file to `target-files`.

Each destination says which target command to run and its settings, passed as environment
variables (`--config ENV`), so a database password never lands in a file or in `ps`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

__all__ = ["Destination", "FILE_FORMATS", "EXPORT_FORMATS", "for_export", "for_sync"]

FILE_FORMATS = ("csv", "jsonl", "parquet", "xlsx")
EXPORT_FORMATS = (*FILE_FORMATS, "sqlite")
_SQL_SCHEMES = ("postgresql", "postgres", "mysql", "mariadb", "sqlite")
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Destination:
    """A target command, its settings, and a name for people (no secrets in `label`)."""

    command: str
    settings: dict[str, Any]
    label: str
    kind: str  # "sql" or "files"
    sqlalchemy_url: str | None = field(default=None, repr=False)

    @property
    def argv(self) -> list[str]:
        return [str(BIN / self.command), "--config", "ENV"]

    def env(self) -> dict[str, str]:
        """The settings as the target's environment variables."""
        prefix = self.command.upper().replace("-", "_") + "_"
        out = {}
        for key, value in self.settings.items():
            text = value if isinstance(value, str) else orjson.dumps(value).decode()
            out[prefix + key.upper()] = text
        return out


def is_sql_url(text: str) -> bool:
    scheme = text.split(":", 1)[0].split("+", 1)[0].lower()
    return "://" in text and scheme in _SQL_SCHEMES


def _sql(url: str, label: str, extra: dict[str, Any] | None = None) -> Destination:
    settings = {"sqlalchemy_url": url, **(extra or {})}
    return Destination("target-sql", settings, label, "sql", sqlalchemy_url=url)


def for_export(out: Path, fmt: str) -> Destination:
    """The destination of `autotask export --format FMT --out OUT` (files replaced, not appended)."""
    if fmt == "sqlite":
        return _sql(
            f"sqlite:///{out.resolve()}",
            str(out),
            {"load_method": "overwrite", "add_record_metadata": False, "index_reference_columns": True},
        )
    settings: dict[str, Any] = {"format": fmt, "load_method": "overwrite"}
    if fmt == "xlsx":
        settings.update(output_dir=str(out.resolve().parent), xlsx_workbook_name=out.stem)
    else:
        settings["output_dir"] = str(out.resolve())
    return Destination("target-files", settings, str(out), "files")


def for_sync(to: str, fmt: str, schema: str | None = None) -> Destination:
    """The destination of `autotask sync --to TO`: a SQLAlchemy URL, or a folder of files."""
    if is_sql_url(to):
        from sqlalchemy.engine import make_url

        return _sql(
            to,
            make_url(to).render_as_string(hide_password=True),
            {"default_target_schema": schema} if schema else None,
        )
    return Destination("target-files", {"format": fmt, "output_dir": str(Path(to).resolve())}, to, "files")
