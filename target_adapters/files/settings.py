"""The target's settings: JSON schema for singer-sdk, and checks it cannot express."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError

FORMATS = ("csv", "jsonl", "parquet", "xlsx")
EXCEL_MAX_ROWS = 1_048_576

CONFIG_SCHEMA = th.PropertiesList(
    th.Property(
        "format",
        th.StringType,
        required=True,
        allowed_values=list(FORMATS),
        description="File format: csv, jsonl (JSON Lines), parquet or xlsx (one Excel workbook).",
    ),
    th.Property(
        "output_dir",
        th.StringType,
        default="output",
        description="Folder for the files, created if missing. One file per stream (xlsx: one sheet per stream).",
    ),
    th.Property(
        "compression",
        th.StringType,
        default="none",
        allowed_values=["none", "gzip"],
        description="gzip the csv or jsonl files (.csv.gz, .jsonl.gz). Parquet is compressed internally (snappy).",
    ),
    th.Property(
        "compression_level",
        th.IntegerType,
        default=6,
        description="gzip level, 1 (fastest) to 9 (smallest).",
    ),
    th.Property(
        "parquet_row_group_rows",
        th.IntegerType,
        default=20_000,
        description="Rows per Parquet row group; memory use grows with it.",
    ),
    th.Property(
        "xlsx_workbook_name",
        th.StringType,
        default="singer_export",
        description="Base name of the Excel workbook (.xlsx is added).",
    ),
    th.Property(
        "xlsx_max_rows_per_sheet",
        th.IntegerType,
        default=EXCEL_MAX_ROWS,
        description="Rows per sheet, header included, before a stream continues on a new sheet "
        "(Excel's limit is 1,048,576).",
    ),
    # Declared here rather than left to singer-sdk, whose defaults read as
    # `TargetLoadMethods.APPEND_ONLY` and None in --about.
    th.Property(
        "load_method",
        th.StringType,
        default="append-only",
        allowed_values=["append-only", "upsert", "overwrite"],
        description="append-only (or upsert) adds the rows to the previous run's file; overwrite "
        "replaces it. Excel workbooks are always written anew.",
    ),
    th.Property(
        "add_record_metadata",
        th.BooleanType,
        default=False,
        description="Add singer-sdk's _sdc_* columns (a tap's own _sdc_deleted_at is kept either way).",
    ),
).to_dict()


@dataclass(frozen=True, slots=True)
class FileSettings:
    """Validated settings the writers need."""

    format: str
    output_dir: str
    gzip_level: int | None
    append: bool
    parquet_row_group_rows: int
    xlsx_workbook_name: str
    xlsx_max_rows_per_sheet: int

    @classmethod
    def from_config(cls, config: t.Mapping[str, t.Any]) -> FileSettings:
        """Raise ConfigValidationError with what to change, never a bare assert."""
        fmt = config.get("format")
        errors: list[str] = []
        if fmt not in FORMATS:
            errors.append(f"format is {fmt!r}; use one of {', '.join(FORMATS)}.")
        gzip = config.get("compression", "none") == "gzip"
        if gzip and fmt not in ("csv", "jsonl"):
            errors.append(f"compression 'gzip' applies to csv and jsonl, not {fmt}; remove it.")
        level = int(config.get("compression_level", 6))
        if not 1 <= level <= 9:
            errors.append(f"compression_level is {level}; use 1 to 9.")
        group = int(config.get("parquet_row_group_rows", 20_000))
        if group < 1:
            errors.append(f"parquet_row_group_rows is {group}; use a positive number.")
        max_rows = int(config.get("xlsx_max_rows_per_sheet", EXCEL_MAX_ROWS))
        if not 2 <= max_rows <= EXCEL_MAX_ROWS:
            errors.append(f"xlsx_max_rows_per_sheet is {max_rows}; use 2 to {EXCEL_MAX_ROWS}.")
        if errors:
            raise ConfigValidationError("Invalid target-files settings: " + " ".join(errors), errors=errors)
        return cls(
            format=t.cast(str, fmt),
            output_dir=str(config.get("output_dir") or "output"),
            gzip_level=level if gzip else None,
            append=config.get("load_method", "append-only") != "overwrite",
            parquet_row_group_rows=group,
            xlsx_workbook_name=str(config.get("xlsx_workbook_name") or "singer_export"),
            xlsx_max_rows_per_sheet=max_rows,
        )
