"""The production-scale benchmarks of ``make bench``, written into ``benchmarks/results.md``.

1. Large-survey ingest (``benchmarks/ingest_bench.py``): a 1,000,000-row response file, as
   Parquet and as CSV, into a fresh SQLite store — targets < 30 s and < 1 GiB peak memory.
2. One national year end to end (``benchmarks/national.py``): ≥ 100,000 respondents and ≥ 150
   brands from the survey files to a published release with 1,000 resamples per industry model,
   on SQLite and PostgreSQL, in one process and on a two-worker Dask cluster — target < 60 s.

The section "## Production scale" of ``benchmarks/results.md`` is replaced (the other sections —
the PLS engine's, written by ``benchmarks/bench.py``, and the dashboard's — are kept); the raw
numbers go to ``.bench/production.json``.

    .venv/bin/python benchmarks/production.py [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import ingest_bench  # noqa: E402  benchmarks/ingest_bench.py
import national  # noqa: E402  benchmarks/national.py
from sections import replace_section  # noqa: E402  benchmarks/sections.py

HEADING = "## Production scale"


def section(ingest: dict, nat: dict, when: str) -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [HEADING, "",
             f"Measured {when} on {os.cpu_count()} cores ({platform.platform()}, Python "
             f"{platform.python_version()}); load average {load:.1f} at the end of the run. "
             "Targets from the issue \"Production scale\".", "",
             "### Large-survey ingest", "", ingest["markdown"], "",
             "### One national year, file to published release", "", national.markdown(nat)]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="small sizes (a smoke run; writes .bench/results-production-quick.md)")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ncsi-production-"))
    try:
        ingest = ingest_bench.run(50_000 if a.quick else 1_000_000, work / "ingest")
        nat = national.run(quick=a.quick, work=work / "national")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    when = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    text = section(ingest, nat, when)
    bench = ROOT / ".bench"
    bench.mkdir(exist_ok=True)
    (bench / "production.json").write_text(
        json.dumps({"ingest": ingest, "national": nat}, indent=1, default=str), encoding="utf-8")
    dest = bench / "results-production-quick.md" if a.quick else ROOT / "benchmarks" / "results.md"
    replace_section(dest, HEADING, text)
    print(text)
    print(f"wrote {dest}", file=sys.stderr)


if __name__ == "__main__":
    main()
