"""target-files: rows/s and peak RSS per format, against the Python floor, in one run.

    .venv/bin/python benchmarks/target_files_bench.py [--rows 1000000] [--formats csv,parquet]

The stream is ../shared/tools/gen_singer.py's ticket-shaped one (76 properties,
about 2.85 KB a record), generated once into benchmarks/.cache/. Every method runs
as its own process reading the same file; peak RSS is that process's own
(``wait4``). Each format runs at two sizes, so "flat" can be read off the table:
the peak must not grow with the row count, and must stay under 200 MB.

Floors, measured in the same run:
* Python floor: read the Singer file and ``json.loads`` each line (the figure
  PERFORMANCE.md compares every target with);
* openpyxl floor: orjson-parse each record and append its raw values to a
  write-only sheet -- the cost of openpyxl itself, which no Excel writer built on
  it can go below.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / ".cache"
GENERATOR = ROOT.parent / "shared" / "tools" / "gen_singer.py"
TARGET = str(Path(sys.executable).with_name("target-files"))
RSS_BUDGET_MIB = 200

FLOOR = "import json, sys\nfor line in open(sys.argv[1], 'rb'):\n    json.loads(line)\n"
OPENPYXL_FLOOR = """
import sys, orjson
from openpyxl import Workbook
book = Workbook(write_only=True)
sheet = book.create_sheet("tickets")
for line in open(sys.argv[1], "rb"):
    message = orjson.loads(line)
    if message["type"] == "RECORD":
        sheet.append(list(message["record"].values()))
book.save(sys.argv[2])
"""

FORMATS: dict[str, dict] = {
    "csv": {"format": "csv"},
    "csv.gz": {"format": "csv", "compression": "gzip"},
    "jsonl": {"format": "jsonl"},
    "parquet": {"format": "parquet"},
    "xlsx": {"format": "xlsx"},
}


def singer_file(rows: int) -> Path:
    """The cached stream of `rows` records; cut from a bigger cached one when there is one."""
    path = CACHE / f"tickets_{rows}.singer"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    bigger = sorted(
        (p for p in CACHE.glob("tickets_*.singer") if int(p.stem.split("_")[1]) > rows),
        key=lambda p: int(p.stem.split("_")[1]),
    )
    partial = path.with_suffix(".partial")
    if bigger:
        with bigger[0].open("rb") as src, partial.open("wb") as dst:
            for i, line in enumerate(src):
                if i > rows:  # the SCHEMA line, then `rows` records
                    break
                dst.write(line)
    else:
        if not GENERATOR.exists():
            sys.exit(f"Cannot generate the stream: {GENERATOR} is missing (pass --generator).")
        print(f"generating {rows:,} records (about 27 s per 200,000) ...", flush=True)
        subprocess.run(
            [sys.executable, str(GENERATOR), "--rows", str(rows), "--singer", str(partial)], check=True
        )
    partial.replace(path)
    return path


def measure(argv: list[str], stdin_path: Path | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    stdin = stdin_path.open("rb") if stdin_path else subprocess.DEVNULL
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if stdin_path:
        stdin.close()  # type: ignore[union-attr]  # a file whenever stdin_path is set
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{stderr.decode()[-3000:]}")
    return seconds, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="records in the big run")
    parser.add_argument(
        "--xlsx-rows",
        type=int,
        default=200_000,
        help="records for Excel (openpyxl writes about 1,500 rows/s of 76 columns)",
    )
    parser.add_argument(
        "--formats", default=",".join(FORMATS), help="comma-separated subset of " + ",".join(FORMATS)
    )
    parser.add_argument("--generator", type=Path, default=GENERATOR)
    args = parser.parse_args()
    globals()["GENERATOR"] = args.generator

    work = Path(tempfile.mkdtemp(prefix="target-files-bench-"))
    results: list[dict] = []
    try:
        for name in [f.strip() for f in args.formats.split(",") if f.strip()]:
            big = args.xlsx_rows if name == "xlsx" else args.rows
            for rows in (big // 4, big):
                data = singer_file(rows)
                floor_s, floor_rss = measure([sys.executable, "-c", FLOOR, str(data)])
                results.append(
                    {
                        "method": "python floor (json.loads)",
                        "rows": rows,
                        "s": floor_s,
                        "rss": floor_rss,
                        "floor_s": floor_s,
                    }
                )
                if name == "xlsx":
                    s, rss = measure(
                        [sys.executable, "-c", OPENPYXL_FLOOR, str(data), str(work / "floor.xlsx")]
                    )
                    results.append(
                        {
                            "method": "openpyxl floor (raw append)",
                            "rows": rows,
                            "s": s,
                            "rss": rss,
                            "floor_s": floor_s,
                        }
                    )
                config = work / "config.json"
                out = work / "out"
                shutil.rmtree(out, ignore_errors=True)
                config.write_text(
                    json.dumps({**FORMATS[name], "output_dir": str(out), "load_method": "overwrite"})
                )
                s, rss = measure([TARGET, "--config", str(config)], stdin_path=data)
                size = sum(p.stat().st_size for p in out.iterdir()) / 2**20
                results.append(
                    {
                        "method": f"target-files {name}",
                        "rows": rows,
                        "s": s,
                        "rss": rss,
                        "floor_s": floor_s,
                        "mib": size,
                    }
                )
                print_row(results[-1], flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_table(results)


def print_row(r: dict, flush: bool = False) -> None:
    print(
        f"  {r['method']:<30} {r['rows']:>9,} rows {r['s']:>8.1f} s {r['rows'] / r['s']:>9,.0f} rows/s "
        f"{r['rss']:>6.0f} MiB",
        flush=flush,
    )


def print_table(results: list[dict]) -> None:
    print()
    print(f"{'method':<32}{'rows':>10}{'rows/s':>10}{'vs floor':>10}{'peak RSS':>10}{'file MiB':>10}")
    for r in results:
        ratio = r["floor_s"] / r["s"]
        mib = f"{r['mib']:.0f}" if "mib" in r else ""
        print(
            f"{r['method']:<32}{r['rows']:>10,}{r['rows'] / r['s']:>10,.0f}{ratio:>10.2f}"
            f"{r['rss']:>8.0f} M{mib:>10}"
        )
    print()
    for method in sorted({r["method"] for r in results if r["method"].startswith("target-files")}):
        runs = sorted((r for r in results if r["method"] == method), key=lambda r: r["rows"])
        small, big = runs[0], runs[-1]
        verdict = "ok" if big["rss"] <= RSS_BUDGET_MIB else "OVER BUDGET"
        print(
            f"{method:<32} peak RSS {small['rss']:.0f} MiB at {small['rows']:,} rows -> "
            f"{big['rss']:.0f} MiB at {big['rows']:,} rows (x{big['rss'] / small['rss']:.2f}); "
            f"budget {RSS_BUDGET_MIB} MiB: {verdict}"
        )


if __name__ == "__main__":
    main()
