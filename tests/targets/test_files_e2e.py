"""Sandbox -> tap-autotask -> target-files, for every format, rows equal to query/count."""

from __future__ import annotations

import csv
import gzip
import json
import os
import subprocess
import sys
import typing as t
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq
import pytest

from target_adapters.files.manifest import MANIFEST_NAME

TAP = str(Path(sys.executable).with_name("tap-autotask"))
TARGET = str(Path(sys.executable).with_name("target-files"))
STREAMS = ["companies", "contacts", "tickets", "ticket_notes", "time_entries"]


def _tap_config(sandbox: t.Any, path: Path) -> Path:
    path.write_text(
        json.dumps(
            {
                "username": sandbox.username,
                "secret": sandbox.secret,
                "integration_code": sandbox.integration_code,
                "api_url": sandbox.api_url,
                "include_streams": STREAMS,
            }
        )
    )
    return path


@pytest.fixture(scope="module")
def sandbox_counts(sandbox: t.Any) -> dict[str, int]:
    """What the sandbox's query/count says for each stream's entity."""
    pytest.importorskip("tap_autotask", reason="tap-autotask is not importable yet")
    from sdk_core import AutotaskClient
    from sdk_core.catalog import load_catalog

    catalog = load_catalog()
    client = AutotaskClient(
        username=sandbox.username,
        secret=sandbox.secret,
        integration_code=sandbox.integration_code,
        api_url=sandbox.api_url,
    )
    try:
        return {s: client.entity(catalog.get(s).name).count() for s in STREAMS}
    finally:
        client.close()


@pytest.fixture(scope="module")
def tap_file(sandbox: t.Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tap run saved, replayed into each format below."""
    pytest.importorskip("tap_autotask", reason="tap-autotask is not importable yet")
    work = tmp_path_factory.mktemp("files-e2e")
    output = work / "tap.singer"
    env = {**os.environ, "AUTOTASK_CACHE_DIR": str(work / "cache")}
    with output.open("wb") as out:
        done = subprocess.run(
            [TAP, "--config", str(_tap_config(sandbox, work / "tap.json"))],
            stdout=out,
            stderr=subprocess.PIPE,
            env=env,
            check=False,
            timeout=240,
        )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return output


def _rows_per_stream(folder: Path, fmt: str) -> dict[str, int]:
    if fmt == "xlsx":
        book = openpyxl.load_workbook(folder / "singer_export.xlsx", read_only=True)
        return {name: sum(1 for _ in book[name].iter_rows(values_only=True)) - 1 for name in book.sheetnames}
    counts = {}
    manifest = json.loads((folder / MANIFEST_NAME).read_text())["streams"]
    for stream, entry in manifest.items():
        [path] = [folder / name for name in entry["files"]]
        if fmt == "parquet":
            counts[stream] = pq.ParquetFile(path).metadata.num_rows
        else:
            with gzip.open(path, "rt", newline="") if path.suffix == ".gz" else path.open(newline="") as fh:
                counts[stream] = sum(1 for _ in csv.reader(fh)) - 1 if fmt == "csv" else sum(1 for _ in fh)
    return counts


@pytest.mark.parametrize(("fmt", "extra"), [("csv", {"compression": "gzip"}), ("jsonl", {}), ("xlsx", {})])
def test_tap_output_lands_in_each_format(tap_file, sandbox_counts, tmp_path, fmt, extra):
    config = tmp_path / "target.json"
    config.write_text(json.dumps({"format": fmt, "output_dir": str(tmp_path / "out"), **extra}))
    with tap_file.open("rb") as stream:
        done = subprocess.run(
            [TARGET, "--config", str(config)], stdin=stream, capture_output=True, check=False, timeout=240
        )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert _rows_per_stream(tmp_path / "out", fmt) == sandbox_counts
    assert all(sandbox_counts.values())
    assert json.loads(done.stdout.decode().splitlines()[-1])  # the tap's last STATE, passed on


def test_tap_piped_into_parquet(sandbox, sandbox_counts, tmp_path):
    """The everyday shape: `tap-autotask | target-files`, through an OS pipe."""
    target_config = tmp_path / "target.json"
    target_config.write_text(json.dumps({"format": "parquet", "output_dir": str(tmp_path / "out")}))
    env = {**os.environ, "AUTOTASK_CACHE_DIR": str(tmp_path / "cache")}
    tap = subprocess.Popen(
        [TAP, "--config", str(_tap_config(sandbox, tmp_path / "tap.json"))],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    target = subprocess.run(
        [TARGET, "--config", str(target_config)],
        stdin=tap.stdout,
        capture_output=True,
        check=False,
        timeout=240,
    )
    assert tap.stdout is not None
    tap.stdout.close()
    assert tap.wait(timeout=60) == 0
    assert target.returncode == 0, target.stderr.decode()[-2000:]
    assert _rows_per_stream(tmp_path / "out", "parquet") == sandbox_counts
    tickets = pq.read_table(tmp_path / "out" / "tickets.parquet")
    created = tickets.schema.field("createDate").type
    assert str(created) == "timestamp[us, tz=UTC]", "date-times kept as timestamps"
