"""BATCH messages: tap-autotask with batch_config into every destination, counts equal the API's.

Each encoding the tap can write (jsonl or parquet, gzip or not) is produced once by a real tap
run over the sandbox and replayed into target-sql (SQLite, PostgreSQL, MariaDB) and target-files
(csv, parquet, xlsx); every destination sees at least one encoding and every encoding at least
one destination.
"""

from __future__ import annotations

import contextlib
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

from .conftest import SQLDestination, make_sql_destination

BIN = Path(sys.executable).parent
TAP = str(BIN / "tap-autotask")
STREAMS = ["companies", "tickets", "time_entries"]
ENCODINGS = {
    "jsonl-gzip": {"format": "jsonl", "compression": "gzip"},
    "jsonl": {"format": "jsonl", "compression": "none"},
    "parquet-gzip": {"format": "parquet", "compression": "gzip"},
    "parquet": {"format": "parquet", "compression": "none"},
}


def tap_config(sandbox: t.Any, path: Path, batch_root: Path | None, encoding: dict | None) -> Path:
    """tap-autotask settings for the sandbox, with batch_config when a root is given."""
    config: dict[str, t.Any] = {
        "username": sandbox.username,
        "secret": sandbox.secret,
        "integration_code": sandbox.integration_code,
        "api_url": sandbox.api_url,
        "include_streams": STREAMS,
        "metadata_source": "catalog",
    }
    if batch_root is not None:
        config["batch_config"] = {
            "encoding": encoding,
            "storage": {"root": batch_root.as_uri(), "prefix": "batch-"},
        }
    path.write_text(json.dumps(config))
    return path


@pytest.fixture(scope="module")
def api_counts(sandbox: t.Any) -> dict[str, int]:
    """What the sandbox's query/count says for each stream's entity."""
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
        counts = {s: client.entity(catalog.get(s).name).count() for s in STREAMS}
    finally:
        client.close()
    assert all(counts.values())
    return counts


@pytest.fixture(scope="module")
def batch_runs(sandbox: t.Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One tap run per encoding: its Singer output (BATCH messages pointing at its files)."""
    runs: dict[str, Path] = {}
    for name, encoding in ENCODINGS.items():
        work = tmp_path_factory.mktemp(f"batch-{name}")
        config = tap_config(sandbox, work / "tap.json", work / "files", encoding)
        output = work / "tap.singer"
        env = {**os.environ, "AUTOTASK_CACHE_DIR": str(work / "cache")}
        with output.open("wb") as out:
            done = subprocess.run(
                [TAP, "--config", str(config)],
                stdout=out,
                stderr=subprocess.PIPE,
                env=env,
                check=False,
                timeout=240,
            )
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        kinds = [json.loads(line)["type"] for line in output.read_text().splitlines()]
        assert "BATCH" in kinds and "RECORD" not in kinds, "the tap should send BATCH only"
        runs[name] = output
    return runs


def run_target(exe: str, config: dict, singer: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """A target over a saved tap output; fails the test on a non-zero exit."""
    path = tmp_path / f"{exe}.json"
    path.write_text(json.dumps(config))
    with singer.open("rb") as stdin:
        done = subprocess.run(
            [str(BIN / exe), "--config", str(path)],
            stdin=stdin,
            capture_output=True,
            check=False,
            timeout=240,
        )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return done


def last_state(done: subprocess.CompletedProcess) -> dict:
    """The last STATE the target emitted."""
    lines = [line for line in done.stdout.decode().splitlines() if line.strip()]
    assert lines, "the target emitted no STATE"
    return json.loads(lines[-1])


@pytest.mark.parametrize(
    ("dialect", "encoding"),
    [("sqlite", "jsonl-gzip"), ("mysql", "jsonl"), ("postgresql", "parquet-gzip")],
)
def test_batch_into_sql_matches_query_count(
    dialect: str,
    encoding: str,
    batch_runs: dict[str, Path],
    api_counts: dict[str, int],
    tmp_path: Path,
) -> None:
    with contextlib.contextmanager(make_sql_destination)(dialect, tmp_path) as destination:
        # Batches smaller than the tap's files; on SQLite a second load must upsert.
        config = {**destination.config, "batch_size_rows": 200}
        for _ in range(2 if dialect == "sqlite" else 1):
            done = run_target("target-sql", config, batch_runs[encoding], tmp_path)
        assert {s: destination.count(s) for s in STREAMS} == api_counts
        assert set(last_state(done)["bookmarks"]) == set(STREAMS)


@pytest.mark.parametrize(
    ("fmt", "encoding"), [("csv", "parquet"), ("parquet", "jsonl-gzip"), ("xlsx", "jsonl")]
)
def test_batch_into_files_matches_query_count(
    fmt: str,
    encoding: str,
    batch_runs: dict[str, Path],
    api_counts: dict[str, int],
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    done = run_target("target-files", {"format": fmt, "output_dir": str(out)}, batch_runs[encoding], tmp_path)
    assert file_counts(out, fmt) == api_counts
    assert set(last_state(done)["bookmarks"]) == set(STREAMS)


def file_counts(out: Path, fmt: str) -> dict[str, int]:
    """Data rows per stream in target-files' output."""
    if fmt == "xlsx":
        (book,) = out.glob("*.xlsx")
        workbook = openpyxl.load_workbook(book, read_only=True)
        try:
            return {s: sum(1 for _ in workbook[s].iter_rows(values_only=True)) - 1 for s in STREAMS}
        finally:
            workbook.close()
    counts = {}
    for stream in STREAMS:
        (path,) = out.glob(f"{stream}.{fmt}*")
        if fmt == "parquet":
            counts[stream] = pq.ParquetFile(path).metadata.num_rows
        else:
            opener = gzip.open if path.name.endswith(".gz") else open
            with opener(path, "rt", newline="") as fh:
                counts[stream] = sum(1 for _ in csv.reader(fh)) - 1
    return counts


# --- a BATCH the target cannot take: nothing saved, no state past it ----------------------

SCHEMA = {
    "type": "SCHEMA",
    "stream": "things",
    "key_properties": ["id"],
    "schema": {"properties": {"id": {"type": "integer"}, "n": {"type": ["integer", "null"]}}},
}


def _singer(tmp_path: Path, records: list[dict], encoding: dict) -> Path:
    """SCHEMA, one BATCH of ``records`` (jsonl), then a STATE."""
    data = tmp_path / "things.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    batch = {"type": "BATCH", "stream": "things", "encoding": encoding, "manifest": [data.as_uri()]}
    lines = [SCHEMA, batch, {"type": "STATE", "value": {"after": "batch"}}]
    path = tmp_path / "in.singer"
    path.write_text("".join(json.dumps(m) + "\n" for m in lines))
    return path


def _run(exe: str, config: dict, singer: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    with singer.open("rb") as stdin:
        return subprocess.run(
            [str(BIN / exe), "--config", str(path)],
            stdin=stdin,
            capture_output=True,
            check=False,
            timeout=120,
        )


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_batch_with_a_bad_record_commits_nothing_and_emits_no_state(dialect: str, tmp_path: Path) -> None:
    with contextlib.contextmanager(make_sql_destination)(dialect, tmp_path) as destination:
        _check_bad_record_refused(destination, tmp_path)


def _check_bad_record_refused(sql_destination: SQLDestination, tmp_path: Path) -> None:
    records = [{"id": i, "n": i} for i in range(1, 50)] + [{"id": 50, "n": "not a number"}]
    singer = _singer(tmp_path, records, {"format": "jsonl", "compression": "none"})
    done = _run("target-sql", sql_destination.config, singer, tmp_path)
    assert done.returncode != 0
    assert "stream 'things'" in done.stderr.decode() and "'n'" in done.stderr.decode()
    assert done.stdout.strip() == b"", "no STATE past rows that were not saved"
    assert not sql_destination.has_table("things") or sql_destination.count("things") == 0


def test_files_batch_with_a_bad_record_fails_without_state(tmp_path: Path) -> None:
    records = [{"id": 1, "n": 1}, {"id": 2, "n": "x"}]
    singer = _singer(tmp_path, records, {"format": "jsonl", "compression": "none"})
    done = _run("target-files", {"format": "csv", "output_dir": str(tmp_path / "out")}, singer, tmp_path)
    assert done.returncode != 0
    assert done.stdout.strip() == b""
    assert not list((tmp_path / "out").glob("things*"))


@pytest.mark.parametrize(
    ("exe", "encoding"),
    [
        ("target-sql", {"format": "csv", "compression": "none"}),
        ("target-files", {"format": "jsonl", "compression": "zstd"}),
    ],
)
def test_unreadable_encoding_is_refused_by_name(exe: str, encoding: dict, tmp_path: Path) -> None:
    singer = _singer(tmp_path, [{"id": 1, "n": 1}], encoding)
    config = (
        {"sqlalchemy_url": f"sqlite:///{tmp_path / 't.db'}"}
        if exe == "target-sql"
        else {"format": "csv", "output_dir": str(tmp_path / "out")}
    )
    done = _run(exe, config, singer, tmp_path)
    assert done.returncode != 0
    err = done.stderr.decode()
    assert f"format={encoding['format']!r}, compression={encoding['compression']!r}" in err
    assert done.stdout.strip() == b""
