"""End-to-end benchmark: one national year from survey files to a published release.

A national-scale synthetic survey (the demo generator with ~10 brands in each of the 17
industries and ×3 respondents: ≥ 150 brands and ≥ 100,000 respondents a year) goes through the
analyst's own commands — ``ncsi ingest`` → ``ncsi build`` (one model per industry, 1,000
bootstrap resamples each, brand → industry → sector → nation indices with their intervals, the
invariance test against the previous year) → ``ncsi publish`` — on every combination of

- store: SQLite (a file) and PostgreSQL (a throwaway local server, see ``tests/pg.py``);
- executor: one process (``--executor local``) and a two-worker Dask cluster (``--executor dask
  --workers 2``).

The previous year is loaded, built (without resamples) and published first, untimed, so the
timed year has a year to compare with. Each command runs as its own process, as an analyst runs
it; its wall time and the peak of the summed resident memory of its process tree (Dask workers
included; sampled every 20 ms) are recorded per stage.

Run by ``make bench`` (``benchmarks/bench.py`` calls :func:`run`), or alone::

    .venv/bin/python benchmarks/national.py [--quick] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NCSI = str(Path(sys.executable).parent / "ncsi")
YEARS = (2024, 2025)
SEED = 2025
BRANDS_PER_INDUSTRY = [9, 11]     # 17 industries → ~170 brands
SCALE = 3.0                       # respondents per brand-year: 150–250 × 3
TARGET_S = 60.0                   # one national year, file to published, on 2 cores


def make_survey(out: Path, *, scale: float = SCALE) -> dict:
    """The national-scale survey in ``out`` (a variant of the demo recipe: more brands per
    industry, ``scale`` × respondents); returns counts of the timed year."""
    import pandas as pd

    from ncsi.demo_data import generate
    recipe = yaml.safe_load((ROOT / "surveys" / "demo.yaml").read_text(encoding="utf-8"))
    recipe["brands_per_industry"] = BRANDS_PER_INDUSTRY
    recipe["version"] = str(recipe["version"]) + "-national"
    path = out.parent / "national-recipe.yaml"
    path.write_text(yaml.safe_dump(recipe, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    generate(SEED, out, recipe=path, years=list(YEARS), scale=scale)
    files = sorted((out / "responses" / str(YEARS[-1])).glob("*.*"))
    rows = sum(len(pd.read_csv(f, usecols=[0])) for f in files if f.suffix == ".csv")
    brands = pd.read_csv(out / "brands.csv")
    return {"respondents": int(rows), "brands": int(len(brands)), "files": len(files)}


class _Peak(threading.Thread):
    """Samples the summed RSS of a process and all its descendants."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        import psutil
        self.proc = psutil.Process(pid)
        self.peak = 0
        self.done = threading.Event()

    def run(self) -> None:
        import psutil
        while not self.done.is_set():
            try:
                procs = [self.proc] + self.proc.children(recursive=True)
                rss = 0
                for p in procs:
                    try:
                        rss += p.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, rss)
            except psutil.Error:
                pass
            self.done.wait(0.02)


def _run(args: list[str], env: dict) -> tuple[float, int, str]:
    """(seconds, peak bytes, output) of one ncsi command; raises when it fails."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([NCSI, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    peak = _Peak(proc.pid)
    peak.start()
    out, _ = proc.communicate()
    seconds = time.perf_counter() - t0
    peak.done.set()
    peak.join()
    if proc.returncode != 0:
        raise RuntimeError(f"ncsi {' '.join(args)} failed ({proc.returncode}):\n{out[-2000:]}")
    return seconds, peak.peak, out


def _stage(stages: dict, name: str, commands: list[list[str]], env: dict) -> None:
    secs, peak = 0.0, 0
    for args in commands:
        s, p, _ = _run(args, env)
        secs += s
        peak = max(peak, p)
    stages[name] = {"seconds": round(secs, 2), "peak_mib": round(peak / 2 ** 20, 1),
                    "commands": len(commands)}


def run_one(survey: Path, url: str, executor: list[str]) -> dict:
    """Load and publish the previous year (untimed), then time the national year."""
    env = dict(os.environ, NCSI_DATABASE_URL=url, NCSI_USER="bench")
    prev, year = YEARS
    setup: dict = {}
    _stage(setup, "registry", [["brands", str(survey / "brands.csv")],
                               ["revenue", str(survey / "revenue.csv")]], env)
    files = {y: sorted((survey / "responses" / str(y)).glob("*.*")) for y in YEARS}
    _stage(setup, "previous_year",
           [["ingest", *map(str, files[prev]), "--year", str(prev), "--quiet"]]
           + [["build", "--year", str(prev), "--bootstrap", "0", "--permutations", "0"],
              ["publish", "--year", str(prev)]], env)
    stages: dict = {}
    _stage(stages, "ingest", [["ingest", *map(str, files[year]), "--year", str(year),
                               "--quiet"]], env)
    _stage(stages, "build", [["build", "--year", str(year), "--bootstrap", "1000",
                              "--permutations", "300", *executor]], env)
    _stage(stages, "publish", [["publish", "--year", str(year)]], env)
    total = sum(s["seconds"] for s in stages.values())
    return {"setup": setup, "stages": stages, "total_s": round(total, 2),
            "peak_mib": max(s["peak_mib"] for s in stages.values())}


def run(*, quick: bool = False, work: Path | None = None, postgres: bool = True) -> dict:
    """Every store × executor combination on one generated survey (see the module)."""
    work = Path(work or tempfile.mkdtemp(prefix="ncsi-national-"))
    work.mkdir(parents=True, exist_ok=True)
    survey = work / "survey"
    counts = make_survey(survey, scale=0.6 if quick else SCALE)
    executors = {"one process": ["--executor", "local"],
                 "Dask, 2 workers": ["--executor", "dask", "--workers", "2"]}
    results, server, notes = [], None, []
    stores = {"SQLite": lambda name: f"sqlite:///{work / (name + '.db')}"}
    if postgres:
        try:
            from tests.pg import PostgresServer, PostgresUnavailable
            try:
                server = PostgresServer.start()
                stores["PostgreSQL"] = lambda name: server.url(
                    server.create_database()).render_as_string(hide_password=False)
            except PostgresUnavailable as exc:
                notes.append(f"PostgreSQL not measured: {exc}")
        except ImportError as exc:
            notes.append(f"PostgreSQL not measured: {exc}")
    try:
        for store_name, make_url in stores.items():
            for ex_name, ex_args in executors.items():
                name = f"{store_name}-{ex_args[1]}".lower()
                print(f"national year: {store_name}, {ex_name} …", file=sys.stderr, flush=True)
                r = run_one(survey, make_url(name), ex_args)
                results.append({"store": store_name, "executor": ex_name, **r})
    finally:
        if server is not None:
            server.stop()
    return {"counts": counts, "year": YEARS[-1], "target_s": TARGET_S, "results": results,
            "notes": notes, "quick": quick}


def markdown(res: dict) -> str:
    c = res["counts"]
    lines = [f"One national year ({res['year']}): {c['respondents']:,} respondents, "
             f"{c['brands']} brands, 17 industries, {c['files']} survey files; 1,000 "
             f"resamples and a 300-permutation invariance test per industry model. Target: file "
             f"to published release in under {res['target_s']:.0f} s on 2 cores.", "",
             "| store | executor | ingest s | build s | publish s | **total s** | peak MiB "
             "(ingest / build / publish) |",
             "|---|---|---:|---:|---:|---:|---|"]
    for r in res["results"]:
        s = r["stages"]
        lines.append(
            f"| {r['store']} | {r['executor']} | {s['ingest']['seconds']:.1f} | "
            f"{s['build']['seconds']:.1f} | {s['publish']['seconds']:.1f} | "
            f"**{r['total_s']:.1f}** | {s['ingest']['peak_mib']:.0f} / "
            f"{s['build']['peak_mib']:.0f} / {s['publish']['peak_mib']:.0f} |")
    lines += ["", "Each stage is the analyst's `ncsi` command(s) in its own process (interpreter "
              "start-up included); peak memory is the summed resident memory of the command's "
              "process tree, Dask workers included. The previous year (loaded, built without "
              "resamples and published first) is not timed."]
    lines += [f"- {n}" for n in res["notes"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a small survey (a smoke run)")
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--out", type=Path, help="write the results as JSON here")
    a = ap.parse_args()
    res = run(quick=a.quick, postgres=not a.no_postgres)
    if a.out:
        a.out.write_text(json.dumps(res, indent=2), encoding="utf-8")
    print(markdown(res))


if __name__ == "__main__":
    main()
