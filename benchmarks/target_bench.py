"""Target benchmarks: rows/s of our targets against a raw bulk load of the same rows.

Every figure is a ratio to a baseline measured in the same run (the machine is
shared and noisy). SQL part, as issue 5 asks:

* PostgreSQL, 1,000,000 ticket-shaped records (76 properties): raw COPY of the same
  rows as CSV (``psql \\copy``, the physical limit) against ``target-sql`` into a new
  schema, then the same file again (a pure upsert over existing rows), and
  meltanolabs-target-postgres 0.8.1 (installed from PyPI into its own virtualenv
  under benchmarks/.cache) on the first ``--mltp-rows`` rows of the same file
  (its ~1,300 rows/s would need ~13 minutes for all of them).
* MySQL/MariaDB and SQLite: ``executemany`` of the same rows, already typed, with
  the same driver (PyMySQL, sqlite3) into a table of the same definition, against
  ``target-sql``.
* Peak RSS of every target process (sampled with psutil, target-sql's parsing
  process included), which must stay under 200 MiB and flat in the number of rows.

Each section ends with the ratio of target-sql (new table, ``add_record_metadata``
on) to the baseline against its goal (issue 13: 0.60 PostgreSQL, 0.50 SQLite), and
the peak RSS against its limit, each with PASS or MISS.

Data: ``../shared/tools/gen_singer.py`` (stdlib only; elsewhere: set
``BENCH_GENERATOR``) writes the Singer file and the CSV once into benchmarks/.cache
(git-ignored).

    .venv/bin/python benchmarks/target_bench.py                  # everything
    .venv/bin/python benchmarks/target_bench.py --only postgresql --rows 200000
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import typing as t
from dataclasses import dataclass
from pathlib import Path

import psutil
import pymysql
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / ".cache"
GENERATOR = Path(os.environ.get("BENCH_GENERATOR", ROOT.parent / "shared" / "tools" / "gen_singer.py"))
TARGET = ROOT / ".venv" / "bin" / "target-sql"
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MYSQL_URL = os.environ.get("BENCH_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
PG_LIBPQ = PG_URL.replace("postgresql+psycopg://", "postgresql://")
MLTP_VERSION = "0.8.1"
# Issue 13's goals: target-sql (add_record_metadata on) against the raw baseline of the same run.
GOALS = {"postgresql": 0.60, "mysql": 0.40, "sqlite": 0.50}
RSS_LIMIT_MIB = 200


@dataclass
class Run:
    """One timed load."""

    label: str
    rows: int
    seconds: float
    peak_rss_mib: float | None = None
    cpu_seconds: float | None = None  # user + system CPU of the client process(es)

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def data_files(rows: int) -> tuple[Path, Path]:
    """The Singer file and CSV of ``rows`` generated tickets (made once, then cached)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    singer, csv_path = CACHE / f"tickets_{rows}.singer", CACHE / f"tickets_{rows}.csv"
    if not (singer.exists() and csv_path.exists()):
        if not GENERATOR.exists():
            sys.exit(f"{GENERATOR} not found: set BENCH_GENERATOR to the path of gen_singer.py.")
        print(f"generating {rows:,} tickets (about {rows // 7500} s) ...", flush=True)
        subprocess.run(
            [
                sys.executable,
                str(GENERATOR),
                "--rows",
                str(rows),
                "--singer",
                str(singer),
                "--csv",
                str(csv_path),
            ],
            check=True,
        )
    return singer, csv_path


def children_cpu() -> float:
    """CPU seconds of every waited-for child so far (the difference times one run)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_process(label: str, rows: int, args: list[str], stdin: Path, **env: str) -> Run:
    """Time a process reading ``stdin``; sample its peak RSS (children included).

    Its CPU time is reported too: with other work on the machine, the wall-clock
    ratio moves with the load, the client's CPU per row does not.
    """
    peak = 0
    cpu_before = children_cpu()
    with stdin.open("rb") as source:
        started = time.perf_counter()
        proc = subprocess.Popen(
            args,
            stdin=source,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, **env},
        )
        stderr: list[bytes] = []
        reader = threading.Thread(target=lambda: stderr.append(proc.stderr.read()))  # type: ignore[union-attr]  # stderr is a PIPE
        reader.start()
        handle = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                rss = handle.memory_info().rss + sum(
                    c.memory_info().rss for c in handle.children(recursive=True)
                )
                peak = max(peak, rss)
            except psutil.Error:
                pass
            time.sleep(0.1)
        seconds = time.perf_counter() - started
        reader.join()
    if proc.returncode != 0:
        tail = b"".join(stderr).decode(errors="replace")[-3000:]
        sys.exit(f"{label} failed with exit code {proc.returncode}:\n{tail}")
    return Run(label, rows, seconds, peak / 2**20, children_cpu() - cpu_before)


def target_sql(label: str, rows: int, singer: Path, url: str, schema: str | None, **extra: t.Any) -> Run:
    config = CACHE / f"target-sql-{label.replace(' ', '_')}.json"
    settings: dict[str, t.Any] = {"sqlalchemy_url": url, **extra}
    if schema:
        settings["default_target_schema"] = schema
    config.write_text(json.dumps(settings))
    return run_process(label, rows, [str(TARGET), "--config", str(config)], singer)


def head(singer: Path, rows: int) -> Path:
    """The schema and the first ``rows`` records of a Singer file."""
    path = CACHE / f"{singer.stem}_head{rows}.singer"
    if not path.exists():
        with singer.open("rb") as src, path.open("wb") as dst:
            for i, line in enumerate(src):
                if i > rows:
                    break
                dst.write(line)
    return path


# --- PostgreSQL -----------------------------------------------------------------------


def psql(*args: str) -> None:
    subprocess.run(
        ["psql", PG_LIBPQ, "-q", "-v", "ON_ERROR_STOP=1", *args], check=True, stdout=subprocess.DEVNULL
    )


def bench_postgres(rows: int, mltp_rows: int, parse_process: bool) -> list[Run]:
    singer, csv_path = data_files(rows)
    ddl = CACHE / "tickets_raw.sql"
    subprocess.run(
        [sys.executable, str(GENERATOR), "--ddl", str(ddl), "--table", "bench_raw.tickets"], check=True
    )
    psql(
        "-c",
        "DROP SCHEMA IF EXISTS bench_raw CASCADE; DROP SCHEMA IF EXISTS bench_ours CASCADE;"
        " DROP SCHEMA IF EXISTS bench_mltp CASCADE; DROP SCHEMA IF EXISTS bench_ours_nometa CASCADE;"
        " DROP SCHEMA IF EXISTS bench_ours_parse CASCADE; CREATE SCHEMA bench_raw",
    )
    psql("-f", str(ddl))
    # Every load starts from a checkpoint, so none pays for the WAL of the one before.
    psql("-c", "CHECKPOINT")
    started, cpu_before = time.perf_counter(), children_cpu()
    psql("-c", f"\\copy bench_raw.tickets FROM '{csv_path}' WITH (FORMAT csv, HEADER true)")
    runs = [
        Run(
            "raw COPY (psql \\copy)",
            rows,
            time.perf_counter() - started,
            cpu_seconds=children_cpu() - cpu_before,
        )
    ]
    psql("-c", "CHECKPOINT")
    runs.append(
        target_sql("target-sql, new table, add_record_metadata on", rows, singer, PG_URL, "bench_ours")
    )
    psql("-c", "CHECKPOINT")
    runs.append(target_sql("target-sql, same file again (upsert)", rows, singer, PG_URL, "bench_ours"))
    psql("-c", "CHECKPOINT")
    # Without the 7 _sdc_* columns the rows are exactly the baseline's 76 columns.
    runs.append(
        target_sql(
            "target-sql, new table, add_record_metadata off",
            rows,
            singer,
            PG_URL,
            "bench_ours_nometa",
            add_record_metadata=False,
        )
    )
    psql("-c", "CHECKPOINT")
    if parse_process:
        runs.append(
            target_sql(
                "target-sql, new table, parse_process on",
                rows,
                singer,
                PG_URL,
                "bench_ours_parse",
                parse_process=True,
            )
        )
        psql("-c", "CHECKPOINT")
    if mltp_rows:
        runs.append(bench_meltanolabs(singer, min(mltp_rows, rows)))
    psql(
        "-c",
        "DROP SCHEMA IF EXISTS bench_raw CASCADE; DROP SCHEMA IF EXISTS bench_ours CASCADE;"
        " DROP SCHEMA IF EXISTS bench_mltp CASCADE; DROP SCHEMA IF EXISTS bench_ours_nometa CASCADE;"
        " DROP SCHEMA IF EXISTS bench_ours_parse CASCADE",
    )
    return runs


def bench_meltanolabs(singer: Path, rows: int) -> Run:
    venv = CACHE / "mltp-venv"
    executable = venv / "bin" / "target-postgres"
    if not executable.exists():
        print(f"installing meltanolabs-target-postgres=={MLTP_VERSION} into {venv} ...", flush=True)
        uv = shutil.which("uv")
        if uv is None:
            sys.exit("uv is needed to install meltanolabs-target-postgres (pip install uv)")
        subprocess.run([uv, "venv", "-q", "--python", "3.11", str(venv)], check=True)
        subprocess.run(
            [
                uv,
                "pip",
                "install",
                "-q",
                "--python",
                str(venv / "bin" / "python"),
                f"meltanolabs-target-postgres=={MLTP_VERSION}",
            ],
            check=True,
        )
    url = sa.engine.make_url(PG_URL)
    config = CACHE / "mltp.json"
    config.write_text(
        json.dumps(
            {
                "host": url.host,
                "port": url.port or 5432,
                "user": url.username,
                "password": url.password or "",
                "database": url.database,
                "default_target_schema": "bench_mltp",
            }
        )
    )
    return run_process(
        f"meltanolabs-target-postgres {MLTP_VERSION} (first {rows:,} rows)",
        rows,
        [str(executable), "--config", str(config)],
        head(singer, rows),
    )


# --- MySQL/MariaDB and SQLite --------------------------------------------------------------


def typed_rows(csv_path: Path, types: dict[str, str]) -> tuple[list[str], list[tuple]]:
    """The CSV's rows as the Python values a driver takes (prepared outside the timing)."""

    def converter(kind: str) -> t.Callable[[str], t.Any]:
        if kind == "integer":
            return int
        if kind == "number":
            return float
        if kind == "boolean":
            return lambda v: v == "true"
        if kind == "date-time":
            return lambda v: dt.datetime.fromisoformat(v).astimezone(dt.UTC).replace(tzinfo=None)
        return str

    with csv_path.open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        convert = [converter(types[c]) for c in header]
        rows = [tuple(None if v == "" else fn(v) for fn, v in zip(convert, r)) for r in reader]
    return header, rows


def schema_kinds(singer: Path) -> dict[str, str]:
    with singer.open("rb") as f:
        schema = json.loads(f.readline())["schema"]["properties"]
    kinds = {}
    for name, prop in schema.items():
        kind = next(k for k in prop["type"] if k != "null")
        kinds[name] = prop.get("format", kind) if kind == "string" else kind
    return kinds


def bench_executemany(dialect: str, rows: int) -> list[Run]:
    singer, csv_path = data_files(rows)
    if dialect == "mysql":
        url, schema = MYSQL_URL, "bench_ours"
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP DATABASE IF EXISTS bench_ours")
    else:
        db = CACHE / "bench.sqlite"
        db.unlink(missing_ok=True)
        url, schema = f"sqlite:///{db}", None
        engine = sa.create_engine(url)
    ours = target_sql(f"target-sql ({dialect})", rows, singer, url, schema)
    header, values = typed_rows(csv_path, schema_kinds(singer))
    table = f"{schema}.tickets" if schema else "tickets"
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}_raw")
        if dialect == "mysql":
            conn.exec_driver_sql(f"CREATE TABLE {table}_raw LIKE {table}")
        else:
            ddl = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'tickets'").scalar_one()
            conn.exec_driver_sql(ddl.replace("tickets", "tickets_raw", 1))
    engine.dispose()
    quote = "`" if dialect == "mysql" else '"'
    columns = ", ".join(f"{quote}{c}{quote}" for c in header)
    marks = ", ".join(["%s" if dialect == "mysql" else "?"] * len(header))
    insert = f"INSERT INTO {table}_raw ({columns}) VALUES ({marks})"
    if dialect == "mysql":
        mysql_url = sa.engine.make_url(MYSQL_URL)
        conn_raw: t.Any = pymysql.connect(
            host=mysql_url.host,
            port=mysql_url.port or 3306,
            user=mysql_url.username,
            password=mysql_url.password or "",
            database=schema,
        )
    else:
        conn_raw = sqlite3.connect(CACHE / "bench.sqlite")
    started = time.perf_counter()
    cursor = conn_raw.cursor()
    for i in range(0, len(values), 10_000):  # the same batch size as target-sql's default
        cursor.executemany(insert, values[i : i + 10_000])
        conn_raw.commit()
    raw = Run(f"raw executemany ({dialect}, typed tuples)", rows, time.perf_counter() - started)
    conn_raw.close()
    if dialect == "mysql":
        with sa.create_engine(MYSQL_URL).begin() as conn:
            conn.exec_driver_sql("DROP DATABASE IF EXISTS bench_ours")
    return [raw, ours]


def report(title: str, runs: list[Run], goal: float) -> None:
    base = runs[0]
    print(f"\n{title}")
    print(
        f"  {'load':<58} {'rows':>10} {'s':>8} {'rows/s':>9} {'ratio':>6} {'peak RSS':>9} "
        f"{'client CPU us/row':>17}"
    )
    for run in runs:
        rss = f"{run.peak_rss_mib:.0f} MiB" if run.peak_rss_mib else ""
        cpu = f"{run.cpu_seconds / run.rows * 1e6:.1f}" if run.cpu_seconds is not None else ""
        print(
            f"  {run.label:<58} {run.rows:>10,} {run.seconds:>8.1f} {run.rate:>9,.0f} "
            f"{run.rate / base.rate:>6.2f} {rss:>9} {cpu:>17}"
        )
    ours = next(r for r in runs if r.label.startswith("target-sql"))
    ratio = ours.rate / base.rate
    verdict = "PASS" if ratio >= goal else "MISS"
    print(f"  -> {ours.label}: {ratio:.2f} of {base.label} (goal {goal:.2f}): {verdict}")
    for opt_in in (False, True):
        peaks = [
            r.peak_rss_mib
            for r in runs
            if r.label.startswith("target-sql")
            and r.peak_rss_mib
            and ("parse_process on" in r.label) == opt_in
        ]
        if peaks:
            verdict = "PASS" if max(peaks) < RSS_LIMIT_MIB else "MISS"
            which = "with parse_process on (all processes)" if opt_in else "with its default settings"
            print(
                f"  -> peak RSS of target-sql {which}: {max(peaks):.0f} MiB (limit {RSS_LIMIT_MIB} MiB): {verdict}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="PostgreSQL rows")
    parser.add_argument("--small-rows", type=int, default=200_000, help="MySQL and SQLite rows")
    parser.add_argument(
        "--mltp-rows", type=int, default=20_000, help="rows for meltanolabs-target-postgres (0 skips it)"
    )
    parser.add_argument(
        "--parse-process",
        action="store_true",
        help="also load PostgreSQL with parse_process on (parsing in two more processes)",
    )
    parser.add_argument("--only", choices=["postgresql", "mysql", "sqlite"], action="append")
    args = parser.parse_args()
    only = set(args.only or ["postgresql", "mysql", "sqlite"])
    print(
        f"machine: {psutil.cpu_count()} cores, load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    if "postgresql" in only:
        runs = bench_postgres(args.rows, args.mltp_rows, args.parse_process)
        report(f"PostgreSQL, {args.rows:,} ticket-shaped records", runs, GOALS["postgresql"])
        mltp = [r for r in runs if r.label.startswith("meltanolabs")]
        if mltp:
            print(f"  -> target-sql is {runs[1].rate / mltp[0].rate:.1f}x meltanolabs-target-postgres")
    for dialect in ("mysql", "sqlite"):
        if dialect in only:
            report(
                f"{dialect}, {args.small_rows:,} ticket-shaped records",
                bench_executemany(dialect, args.small_rows),
                GOALS[dialect],
            )


if __name__ == "__main__":
    main()
