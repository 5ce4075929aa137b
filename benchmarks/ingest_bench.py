"""Large-survey ingest benchmark: a 1,000,000-row response file into a fresh SQLite store.

    .venv/bin/python benchmarks/ingest_bench.py                 # 1,000,000 rows, temp folder
    .venv/bin/python benchmarks/ingest_bench.py --rows 200000 --out .bench/ingest --keep

From Python (the overall benchmark calls this)::

    from benchmarks.ingest_bench import run
    result = run(1_000_000, out_dir)        # dict; result["markdown"] is the table

The data: the demo generator's food survey (``ncsi.demo_data.generate``, seed 2025, one year) —
real questionnaire columns, item non-response, missing-value codes, speeders and straight-liners —
tiled to ``n_rows`` rows with unique respondent ids and spread over the demo food brands and
registered clones of them (at least 160 brands). Written twice: as CSV (text, as survey tools
export it) and as Parquet (typed columns: the fast path), in chunks so that writing stays light.

The measurement: each file is ingested by a fresh Python process (``ncsi.ingest.ingest_file``,
exactly what ``ncsi ingest`` runs) into its own new SQLite store that already holds the brand
registry. Reported per file: the process's wall time (interpreter start and imports included,
the number the target applies to), the time of the ingest call alone, the process's CPU time,
its peak resident memory (``os.wait4`` → ``ru_maxrss`` of that child only), and the rows found in
the store afterwards. The load average before each run is recorded: on a busy machine the times
are not the program's.

Targets (issue "Production scale", point 3): under 30 s and under 1 GiB peak memory for
1,000,000 rows, on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SEED = 2025
YEAR = 2025
SURVEY = "ncsi-food"
MIN_BRANDS = 160               # demo brands plus registered clones of them, at least
WRITE_ROWS = 100_000           # rows per chunk when writing the files
TARGET_SECONDS = 30.0
TARGET_RSS = 1 << 30           # 1 GiB

_SETUP = """
import sys
import pandas as pd
from ncsi.store import Store
store = Store(sys.argv[1])
store.upgrade()
store.load_brands(pd.read_csv(sys.argv[2], dtype=str, keep_default_na=False), source="brands.csv")
store.close()
"""

_INGEST = """
import json, sys, time
t0 = time.perf_counter()
from ncsi.ingest import ingest_file
from ncsi.store import Store
store = Store(sys.argv[1])
t1 = time.perf_counter(); c1 = time.process_time()
wave = ingest_file(sys.argv[2], sys.argv[3], int(sys.argv[4]), store)
t2 = time.perf_counter(); c2 = time.process_time()
store.close()
print(json.dumps({"ingest_seconds": t2 - t1, "ingest_cpu_seconds": c2 - c1,
                  "import_seconds": t1 - t0, "n_rows": wave.report["n_rows"],
                  "n_valid": wave.report["n_valid"]}))
"""


# ------------------------------------------------------------------------------------------------
# the data
# ------------------------------------------------------------------------------------------------

def make_survey(n_rows: int, out_dir: Path) -> dict:
    """Write ``brands.csv``, ``responses.csv`` and ``responses.parquet`` (``n_rows`` rows each,
    the same data) into ``out_dir``; return their paths and what they hold."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ncsi.demo_data import generate
    from ncsi.instruments import load_questionnaire

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    demo = out_dir / "demo"
    # about 4,400 rows at scale 1; a base of ~1/10 of the file keeps the tiling varied
    scale = float(min(5.0, max(0.05, n_rows / 4416 / 10)))
    generate(SEED, demo, years=[YEAR], industries=["food"], scale=scale)
    base = pd.read_csv(demo / "responses" / str(YEAR) / f"{SURVEY}.csv", dtype=str,
                       keep_default_na=False)
    demo_brands = pd.read_csv(demo / "brands.csv", dtype=str, keep_default_na=False)

    # the registry: the demo brands and enough copies of each to reach MIN_BRANDS
    clones = -(-MIN_BRANDS // len(demo_brands)) - 1
    copies = [demo_brands]
    for c in range(1, clones + 1):
        copy = demo_brands.copy()
        copy["brand"] = copy["brand"] + f"_c{c}"
        copy["name_zh"] = copy["name_zh"] + f"（{c}）"
        copy["name_en"] = copy["name_en"] + f" {c}"
        copies.append(copy)
    registry = pd.concat(copies, ignore_index=True)
    brands_path = out_dir / "brands.csv"
    registry.to_csv(brands_path, index=False)

    # typed copy of the base for Parquet: numbers as numbers, empty cells as nulls
    q = load_questionnaire(SURVEY)
    typed = base.copy()
    for c in ["age", "duration_sec"] + list(q.item_codes):
        typed[c] = pd.to_numeric(typed[c].replace("", np.nan)).astype("Int64")
    typed["weight"] = pd.to_numeric(typed["weight"]).astype("float64")

    csv_path = out_dir / "responses.csv"
    parquet_path = out_dir / "responses.parquet"
    base_n = len(base)
    writer = None
    try:
        with csv_path.open("w", encoding="utf-8", newline="") as csv_file:
            for start in range(0, n_rows, WRITE_ROWS):
                k = np.arange(start, min(start + WRITE_ROWS, n_rows))
                take, rep = k % base_n, k // base_n
                clone = rep % (clones + 1)
                suffix = np.where(clone == 0, "", np.char.add("_c", clone.astype(str)))
                ids = np.char.add(np.char.add(base["respondent_id"].to_numpy(str)[take], "-"),
                                  np.char.mod("%04d", rep))
                brands = np.char.add(base["brand"].to_numpy(str)[take], suffix)
                for frame in (base, typed):
                    part = frame.iloc[take].reset_index(drop=True)
                    part["respondent_id"] = ids
                    part["brand"] = brands
                    if frame is base:
                        part.to_csv(csv_file, index=False, header=start == 0,
                                    lineterminator="\n")
                    else:
                        table = pa.Table.from_pandas(part, preserve_index=False)
                        if writer is None:
                            writer = pq.ParquetWriter(parquet_path, table.schema)
                        writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
    shutil.rmtree(demo)
    return {"brands": brands_path, "csv": csv_path, "parquet": parquet_path,
            "n_brands": len(registry), "base_rows": base_n}


# ------------------------------------------------------------------------------------------------
# the measurement
# ------------------------------------------------------------------------------------------------

def measure(file: Path, brands: Path, db: Path) -> dict:
    """Ingest ``file`` into a new SQLite store at ``db`` in a fresh process; what it took."""
    if db.exists():
        db.unlink()
    url = f"sqlite:///{db}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
    subprocess.run([sys.executable, "-c", _SETUP, url, str(brands)], check=True, env=env,
                   cwd=ROOT)
    load = os.getloadavg()[0]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", _INGEST, url, str(file), SURVEY,
                                 str(YEAR)], stdout=out, stderr=err, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"ingest of {file} failed ({proc.returncode}):\n{stderr[-3000:]}")
    inside = json.loads(stdout.strip().splitlines()[-1])
    with sqlite3.connect(db) as con:
        stored = con.execute("SELECT count(*) FROM responses").fetchone()[0]
    return {
        "format": file.suffix.lstrip("."),
        "file": str(file),
        "file_mib": file.stat().st_size / 2**20,
        "rows_stored": int(stored),
        "n_valid": inside["n_valid"],
        "seconds": wall,                                   # the whole process
        "ingest_seconds": inside["ingest_seconds"],        # ingest_file alone
        "import_seconds": inside["import_seconds"],
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_mib": usage.ru_maxrss / 1024,           # Linux: KiB
        "store_mib": db.stat().st_size / 2**20,
        "load_before": load,
    }


def _markdown(n_rows: int, info: dict, results: list[dict]) -> str:
    lines = [
        f"Ingest of {n_rows:,} rows ({info['n_brands']} brands, questionnaire {SURVEY}) into a "
        f"fresh SQLite store; {info['cores']} cores; one fresh process per file.",
        "",
        "| format | file | process wall | ingest call | CPU | peak RSS | rows stored | "
        "load before | target (< 30 s, < 1 GiB) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ok = r["seconds"] < TARGET_SECONDS and r["peak_rss_mib"] * 2**20 < TARGET_RSS \
            and r["rows_stored"] == n_rows
        lines.append(
            f"| {r['format']} | {r['file_mib']:.0f} MiB | {r['seconds']:.1f} s | "
            f"{r['ingest_seconds']:.1f} s | {r['cpu_seconds']:.1f} s | "
            f"{r['peak_rss_mib']:.0f} MiB | {r['rows_stored']:,} | {r['load_before']:.1f} | "
            f"{'**PASS**' if ok else '**FAIL**'} |")
    return "\n".join(lines)


def run(n_rows: int, out_dir) -> dict:
    """Write the synthetic survey (``n_rows`` rows, CSV and Parquet) into ``out_dir``, ingest
    each file into a fresh SQLite store in a subprocess, print and return the results:
    ``{"n_rows", "machine", "results": [per format: seconds, ingest_seconds, cpu_seconds,
    peak_rss_mib, rows_stored, pass, …], "markdown"}``."""
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    data = make_survey(int(n_rows), out_dir)
    write_seconds = time.perf_counter() - t0
    results = []
    for fmt in ("parquet", "csv"):
        r = measure(data[fmt], data["brands"], out_dir / f"store-{fmt}.db")
        r["pass"] = bool(r["seconds"] < TARGET_SECONDS and r["peak_rss_mib"] * 2**20 < TARGET_RSS
                         and r["rows_stored"] == n_rows)
        results.append(r)
    info = {"cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
            else os.cpu_count(), "n_brands": data["n_brands"]}
    markdown = _markdown(int(n_rows), info, results)
    print(markdown)
    return {
        "n_rows": int(n_rows),
        "n_brands": data["n_brands"],
        "write_seconds": write_seconds,
        "machine": {"cores": info["cores"], "python": platform.python_version(),
                    "platform": platform.platform(), "sqlite": sqlite3.sqlite_version},
        "targets": {"seconds": TARGET_SECONDS, "peak_rss_bytes": TARGET_RSS},
        "results": results,
        "markdown": markdown,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for the files and stores (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the files and stores")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="ncsi-ingest-bench-"))
    try:
        result = run(args.rows, out)
    finally:
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    return 0 if all(r["pass"] for r in result["results"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
