"""Benchmark our PLS engine (``ncsi.pls``) against plspm 0.5.7 and write ``benchmarks/results.md``.

Run by ``make bench`` (which first builds plspm's own venv in ``.bench/plspm-venv``)::

    .venv/bin/python benchmarks/bench.py            # full run, writes benchmarks/results.md
    .venv/bin/python benchmarks/bench.py --quick    # small sizes, writes .bench/results-quick.md

Both programs get the same seeded synthetic ECSI data (``benchmarks/data.py``), written as CSV
under ``.bench/data/``; ours is timed in this process, plspm in a subprocess
(``benchmarks/run_plspm.py``). Every ratio in the report comes from this one run.

What is timed, for ours: ``PLS(spec, scheme="path", scaled=True).fit(df)`` exactly as a user calls
it (data extraction from the DataFrame included), and ``res.bootstrap(n_boot=..., seed=1,
workers=...)`` on a fitted result; best of k runs (k ≥ 3, more for short work).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))                       # ncsi from the work tree
sys.path.insert(0, str(ROOT / "benchmarks"))

import data as synth  # benchmarks/data.py
from ncsi.pls import PLS
from ncsi.spec import parse_model

BENCH_DIR = ROOT / ".bench"
PLSPM_PYTHON = BENCH_DIR / "plspm-venv" / "bin" / "python"
RUN_PLSPM = ROOT / "benchmarks" / "run_plspm.py"
MOBI = ROOT / "tests" / "data" / "mobi.csv"
SEED = 2025
BOOT_SEED = 1

# the full ECSI model on mobi.csv (first column of the file is a row index)
MOBI_BLOCKS = {"IMAG": [f"IMAG{i}" for i in range(1, 6)], "EXPE": ["CUEX1", "CUEX2", "CUEX3"],
               "QUAL": [f"PERQ{i}" for i in range(1, 8)], "VAL": ["PERV1", "PERV2"],
               "SAT": ["CUSA1", "CUSA2", "CUSA3"], "COMP": ["CUSCO"],
               "LOY": ["CUSL1", "CUSL2", "CUSL3"]}

# targets (benchmark goals, not unit tests)
FIT_RATIO_AT = (100_000, 30.0)        # at n, plspm time ÷ ours ≥ ratio
BOOT_RATIO_AT = (10_000, 50.0)        # bootstrap, one worker each
MOBI_BOOT_MAX_S = 1.0                 # 5,000 resamples on mobi.csv
BIG_FIT_MAX_S = 2.0                   # our fit at 1,000,000 rows
BIG_MEM_MAX = 3.0                     # peak traced memory during that fit ÷ the DataFrame's size


class Plan:
    """Sizes and resample counts of one run."""

    def __init__(self, quick: bool):
        self.quick = quick
        if quick:
            self.sizes = (1_000, 10_000)
            self.big = 100_000
            self.boot = 50
            self.plspm_boot = {1_000: 10, 10_000: 10}
            self.two_workers_at = None
            self.mobi_boot = 500
        else:
            self.sizes = (1_000, 10_000, 100_000)
            self.big = 1_000_000
            self.boot = 200
            # plspm needs ~0.25 s per resample at n = 10,000 and ~1.5 s at 100,000
            self.plspm_boot = {1_000: 200, 10_000: 200, 100_000: 10}
            self.two_workers_at = 10_000       # also compare 2 workers (ours) vs 2 processes
            self.mobi_boot = 5_000


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------

def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def best_of(fn, k: int = 3, long_s: float = 20.0):
    """(best wall time, number of runs, last result) of ``fn()``: at least ``k`` runs, 5 when a run
    is under 0.5 s, a single run when the first already takes over ``long_s`` seconds."""
    times, result = [], None
    while True:
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
        if times[0] > long_s:
            break
        want = 5 if times[0] < 0.5 else k
        if len(times) >= want:
            break
    return min(times), len(times), result


def fmt_s(t: float | None) -> str:
    if t is None:
        return "—"
    if t < 1e-3:
        return f"{t * 1e6:.0f} µs"
    if t < 1:
        return f"{t * 1e3:.1f} ms"
    return f"{t:.2f} s"


def fmt_x(r: float | None) -> str:
    return "—" if r is None else (f"{r:,.0f}×" if r >= 10 else f"{r:.1f}×")


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**PASS**" if ok else "**FAIL**")


def md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def mobi_model() -> str:
    lines = [f"{c} =~ " + " + ".join(items) for c, items in MOBI_BLOCKS.items()]
    # same structural model as the synthetic data
    for target in MOBI_BLOCKS:
        preds = [s for (s, t) in synth.PATHS if t == target]
        if preds:
            lines.append(f"{target} ~ " + " + ".join(preds))
    return "\n".join(lines) + "\n"


def cpu_busy_seconds() -> float | None:
    """CPU seconds spent by the whole machine (all cores, all programs) since boot."""
    try:
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    idle = ticks[3] + ticks[4]                       # idle + iowait
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (the plspm runs)."""
    use = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in use)


def machine() -> dict:
    cpu, mem = platform.processor() or "unknown", None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) * 1024
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": cpu, "memory": mem,
            "os": f"{platform.system()} {platform.release()}"}


# ------------------------------------------------------------------------------------------------
# plspm in its own venv
# ------------------------------------------------------------------------------------------------

def plspm_call(args: list[str]) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run([str(PLSPM_PYTHON), str(RUN_PLSPM), *args], capture_output=True,
                          text=True, env=env, cwd=str(BENCH_DIR), check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"run_plspm.py {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def plspm_job(csv: Path, blocks: dict, paths: list, *, index_col=None, fit_repeats=3,
              bootstrap=()) -> dict:
    job = {"data": str(csv), "index_col": index_col, "constructs": list(blocks),
           "blocks": blocks, "paths": [list(p) for p in paths], "fit_repeats": fit_repeats,
           "bootstrap": list(bootstrap)}
    job_file = BENCH_DIR / "data" / f"{csv.stem}.job.json"     # never beside the input file
    job_file.write_text(json.dumps(job, indent=1))
    return plspm_call([str(job_file)])


# ------------------------------------------------------------------------------------------------
# ours
# ------------------------------------------------------------------------------------------------

def ours_fit(spec, df, scaled=True):
    return PLS(spec, scheme="path", scaled=scaled).fit(df)


def ours_bootstrap(res, n_boot: int, workers: int) -> dict:
    """Best-of timing of ``res.bootstrap``; ``{"error": ...}`` when it is missing or fails."""
    if not hasattr(res, "bootstrap"):
        return {"error": "not available (PLSResults.bootstrap is missing)"}
    try:
        t, k, boot = best_of(lambda: res.bootstrap(n_boot=n_boot, seed=BOOT_SEED,
                                                   workers=workers))
    except Exception as exc:                         # report, do not stop the benchmark
        return {"error": f"failed: {type(exc).__name__}: {exc}"}
    out = {"time": t, "runs": k, "valid": getattr(boot, "n_valid", None), "se": None}
    try:                                             # path SEs keyed "FROM -> TO", as plspm's
        out["se"] = boot.table("path")["std_error"].astype(float).to_dict()
    except Exception:                                # results API not there (yet): skip the check
        pass
    return out


def path_diff(ours: pd.DataFrame, theirs: list[dict]) -> float:
    mine = {(r["from"], r["to"]): r["estimate"] for r in ours.to_dict("records")}
    return max(abs(mine[(p["from"], p["to"])] - p["estimate"]) for p in theirs)


# ------------------------------------------------------------------------------------------------
# the run
# ------------------------------------------------------------------------------------------------

def run(plan: Plan, with_plspm: bool) -> dict:
    data_dir = BENCH_DIR / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    spec = parse_model(synth.model_syntax(), source="bench")
    blocks = {c: synth.indicators(c) for c in synth.CONSTRUCTS}
    paths = list(synth.PATHS)
    out: dict = {"fit": [], "boot": [], "sanity": [], "plspm_versions": None}

    if with_plspm:
        out["plspm_versions"] = plspm_call(["--versions"])

    for n in plan.sizes:
        csv = data_dir / f"ecsi_n{n}_seed{SEED}.csv"
        synth.generate(n, SEED).to_csv(csv, index=False)
        df = pd.read_csv(csv)                        # exactly the bytes plspm reads
        log(f"n = {n:,}: fitting (ours)")
        t_fit, k_fit, res = best_of(lambda df=df: ours_fit(spec, df))
        row = {"n": n, "ours": t_fit, "ours_runs": k_fit, "plspm": None}

        workers = [1] + ([2] if n == plan.two_workers_at else [])
        mine = {w: ours_bootstrap(res, plan.boot, w) for w in workers}
        if with_plspm:
            log(f"n = {n:,}: plspm fit and bootstrap ({plan.plspm_boot[n]} resamples)")
            theirs = plspm_job(csv, blocks, paths, fit_repeats=5 if n < 100_000 else 3,
                               bootstrap=[{"resamples": plan.plspm_boot[n], "processes": w}
                                          for w in workers])
            row["plspm"], row["plspm_runs"] = theirs["fit"], len(theirs["fit_times"])
            unscaled = ours_fit(spec, df, scaled=False)
            out["sanity"].append({"data": f"synthetic n = {n:,}",
                                  "scaled": path_diff(res.paths, theirs["paths"]),
                                  "unscaled": path_diff(unscaled.paths, theirs["paths"])})
        for i, w in enumerate(workers):
            b = {"n": n, "workers": w, "ours_B": plan.boot, **mine[w],
                 "plspm_B": plan.plspm_boot[n], "plspm": None, "plspm_se": None}
            if with_plspm:
                b["plspm"] = theirs["bootstrap"][i]["time"]
                b["plspm_se"] = {f"{s} -> {t}": v
                                 for (s, t), v in zip(paths, theirs["bootstrap"][i]["se"])}
                b["plspm_se_ok"] = theirs["bootstrap"][i]["se_finite"]
            out["boot"].append(b)
        out["fit"].append(row)
        log(f"  fit ours {fmt_s(row['ours'])}, plspm {fmt_s(row['plspm'])}")

    # mobi.csv: our bootstrap of the full ECSI model; plspm's fit only as a cross-check
    mobi = pd.read_csv(MOBI, index_col=0)
    mspec = parse_model(mobi_model(), source="bench-mobi")
    log(f"mobi.csv: bootstrap {plan.mobi_boot} resamples (ours)")
    mres = ours_fit(mspec, mobi)
    out["mobi"] = {"n": len(mobi), "B": plan.mobi_boot, **ours_bootstrap(mres, plan.mobi_boot, 1)}
    if with_plspm:
        theirs = plspm_job(MOBI, MOBI_BLOCKS, paths, index_col=0, fit_repeats=1)
        out["sanity"].append({"data": f"mobi.csv n = {len(mobi)}",
                              "scaled": path_diff(mres.paths, theirs["paths"]),
                              "unscaled": path_diff(ours_fit(mspec, mobi, False).paths,
                                                    theirs["paths"])})

    # the big one: time, then peak memory in a separate traced call
    log(f"n = {plan.big:,}: generating")
    t0 = time.perf_counter()
    big = synth.generate(plan.big, SEED)
    gen_s = time.perf_counter() - t0
    data_bytes = int(big.memory_usage(deep=True).sum())
    log(f"n = {plan.big:,}: fitting (ours)")
    t_big, k_big, res = best_of(lambda: ours_fit(spec, big))
    del res
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    res = ours_fit(spec, big)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del res
    out["big"] = {"n": plan.big, "p": synth.N_ITEMS, "gen_s": gen_s, "time": t_big,
                  "runs": k_big, "data_bytes": data_bytes, "peak": peak,
                  "dtype": str(big.dtypes.iloc[0])}
    return out


# ------------------------------------------------------------------------------------------------
# the report
# ------------------------------------------------------------------------------------------------

def boot_sanity(b: dict) -> list[str]:
    ratio = "—"
    if b.get("se") and b.get("plspm_se"):
        r = [b["se"][k] / v for k, v in b["plspm_se"].items() if v and k in b["se"]]
        ratio = f"{min(r):.2f}–{max(r):.2f}" if r else "—"
    valid = "—" if b.get("valid") is None else f"{b['valid']} of {b['ours_B']}"
    finite = "—" if "plspm_se_ok" not in b else ("yes" if b["plspm_se_ok"] else "**NO**")
    return [f"{b['n']:,}", str(b["workers"]), f"{b['ours_B']} / {b['plspm_B']}", valid, finite,
            ratio]


def report(out: dict, plan: Plan, elapsed: float) -> str:
    m = machine()
    pv = out["plspm_versions"]
    ours_env = (f"Python {platform.python_version()}, numpy {np.__version__}, "
                f"pandas {pd.__version__}")
    theirs_env = (f"Python {pv['python']}, numpy {pv['numpy']}, pandas {pv['pandas']}, "
                  f"scipy {pv['scipy']}, statsmodels {pv['statsmodels']}, plspm {pv['plspm']}"
                  if pv else "not run")
    mem = f", {m['memory'] / 2**30:.0f} GiB memory" if m["memory"] else ""
    lines = [
        "# PLS benchmark: `ncsi.pls` vs plspm 0.5.7",
        "",
        "Written by `make bench` (`benchmarks/bench.py`); every number below comes from one run."
        + (" **Quick mode: small sizes, not the real benchmark.**" if plan.quick else ""),
        "",
        f"- Date: {dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}; "
        f"whole run {elapsed / 60:.1f} min",
        f"- Machine: {m['cores']} cores, {m['cpu']}{mem}, {m['os']}",
        "- Other programs' CPU use during the run: "
        + ("unknown" if out["others"] is None else f"{out['others']:.2f} cores on average"
           + (" — **the machine was not idle: timings are noisy, rerun on an idle machine**"
              if out["others"] > 0.25 else " (idle enough)")),
        f"- Ours (`.venv`): {ours_env}",
        f"- plspm (`.bench/plspm-venv`): {theirs_env}",
        f"- Data: synthetic ECSI (`benchmarks/data.py`, seed {SEED}): 7 constructs, "
        f"{synth.N_ITEMS} reflective items on a 1–10 scale, {out['big']['dtype']} columns "
        f"(as `read_csv` gives); the same CSV files (`.bench/data/`) feed both programs.",
        "- Model: path scheme, Mode A blocks, standardised indicators, each program's default "
        "tolerance. Ours: `PLS(spec, scheme=\"path\", scaled=True).fit(df)`; plspm: "
        "`Plspm(df, Config(path, scaled=True), Scheme.PATH)`.",
        "- Timing: wall clock (`time.perf_counter`), best of k runs (k shown); data loading "
        "not timed, extraction from the DataFrame timed.",
        "",
        "## Fit",
        "",
    ]
    fit_n, fit_ratio = FIT_RATIO_AT
    rows = []
    for r in out["fit"]:
        ratio = r["plspm"] / r["ours"] if r["plspm"] else None
        target = f"≥ {fit_ratio:.0f}×" if r["n"] == fit_n else "—"
        ok = (ratio >= fit_ratio if ratio else None) if r["n"] == fit_n else None
        rows.append([f"{r['n']:,}", f"{fmt_s(r['ours'])} (k={r['ours_runs']})",
                     f"{fmt_s(r['plspm'])} (k={r.get('plspm_runs', 0)})" if r["plspm"]
                     else "not run", fmt_x(ratio), target, verdict(ok) if target != "—" else ""])
    big = out["big"]
    rows.append([f"{big['n']:,}", f"{fmt_s(big['time'])} (k={big['runs']})", "not run", "—",
                 f"< {BIG_FIT_MAX_S:.0f} s", verdict(big["time"] < BIG_FIT_MAX_S)])
    fit_table = md_table(["n", "ours", "plspm 0.5.7", "plspm ÷ ours", "target", "result"], rows)
    lines += [fit_table, ""]

    boot_n, boot_ratio = BOOT_RATIO_AT
    rows = []
    for b in out["boot"]:
        mine = b.get("time")
        per_ours = mine / b["ours_B"] if mine else None
        per_theirs = b["plspm"] / b["plspm_B"] if b["plspm"] else None
        ratio = per_theirs / per_ours if per_ours and per_theirs else None
        is_target = b["n"] == boot_n and b["workers"] == 1
        target = f"≥ {boot_ratio:.0f}×" if is_target else "—"
        ok = (ratio >= boot_ratio if ratio else None) if is_target else None
        ours_cell = (f"{fmt_s(mine)} (k={b['runs']})" if mine else b.get("error", "—"))
        rows.append([f"{b['n']:,}", str(b["workers"]), f"{b['ours_B']} / {b['plspm_B']}",
                     ours_cell, fmt_s(b["plspm"]) if b["plspm"] else "not run",
                     fmt_s(per_ours), fmt_s(per_theirs), fmt_x(ratio), target,
                     verdict(ok) if is_target else ""])
    mb = out["mobi"]
    mine = mb.get("time")
    rows.append([f"mobi.csv ({mb['n']})", "1", f"{mb['B']:,} / —",
                 f"{fmt_s(mine)} (k={mb['runs']})" if mine else mb.get("error", "—"), "not run",
                 fmt_s(mine / mb["B"] if mine else None), "—", "—",
                 f"< {MOBI_BOOT_MAX_S:.0f} s total",
                 verdict(mine < MOBI_BOOT_MAX_S if mine else None)])
    fewer = ", ".join(f"{b['n']:,}: {b['plspm_B']} instead of {b['ours_B']}"
                      for b in out["boot"] if b["plspm_B"] < b["ours_B"]) or "none"
    mem_ratio = big["peak"] / big["data_bytes"]
    boot_table = md_table(["n", "workers", "resamples ours / plspm", "ours", "plspm 0.5.7",
                           "ours per resample", "plspm per resample",
                           "plspm ÷ ours (per resample)", "target", "result"], rows)
    lines += [
        "## Bootstrap",
        "",
        "Ours: `res.bootstrap(n_boot=B, seed=1, workers=w)` on a fitted result. plspm: "
        "`Plspm(..., bootstrap=True, bootstrap_iterations=B, processes=w)` wall time minus its "
        "plain-fit time (plspm refits the full sample before resampling), one run. "
        "**The ratio compares time per resample**: where plspm runs fewer resamples than ours "
        f"(n = {fewer}, to keep the run short) the totals are not comparable, the per-resample "
        "times are.",
        "",
        boot_table,
        "",
        "## Memory at n = {:,}".format(big["n"]),
        "",
        f"Data: {big['n']:,} × {big['p']} DataFrame of {big['dtype']}, "
        f"`df.memory_usage(deep=True).sum()` = {big['data_bytes'] / 1e6:,.0f} MB "
        f"(generated in {big['gen_s']:.1f} s). Peak traced by `tracemalloc` (numpy reports its "
        f"buffers to it) during one `fit` call, after the data was built: "
        f"{big['peak'] / 1e6:,.0f} MB = **{mem_ratio:.2f}× the data** "
        f"(target < {BIG_MEM_MAX:.0f}×: {verdict(mem_ratio < BIG_MEM_MAX)}).",
        "",
    ]
    if out["sanity"]:
        rows = [[s["data"], f"{s['scaled']:.2e}", f"{s['unscaled']:.2e}"]
                for s in out["sanity"]]
        lines += [
            "## Sanity: do the two programs estimate the same model?",
            "",
            "Largest absolute difference between plspm's path coefficients and ours. plspm's "
            "`scaled=True` divides every indicator by one global standard deviation (of all "
            "items pooled), not by each item's own, so it matches our `scaled=False` "
            "(a common factor does not change PLS estimates) and differs from our per-item "
            "`scaled=True` wherever items have unequal variances. plspm also stops at a looser "
            "tolerance (1e-6 on the *sum of squared* weight changes).",
            "",
            md_table(["data", "vs ours scaled=True", "vs ours scaled=False"], rows),
            "",
            "Bootstrap standard errors of the path coefficients, ours ÷ plspm (range over the "
            "12 paths). Both are Monte Carlo estimates: with B resamples an SE is itself uncertain "
            "by about 1/√(2B) (5% at B = 200, 22% at B = 10), and the scaling difference above "
            "applies too, so only ratios far from 1 signal a problem.",
            "",
            md_table(["n", "workers", "resamples ours / plspm", "ours valid resamples",
                      "plspm SEs all finite", "SE ratio ours ÷ plspm"],
                     [boot_sanity(b) for b in out["boot"]]),
            "",
        ]
    lines += [
        "## Notes",
        "",
        "- plspm's bootstrap polls its worker processes with a 1 s sleep, so its bootstrap "
        "times carry up to ~1 s of idle time; it silently skips resamples that raise an error.",
        "- plspm requires `bootstrap_iterations` to be a multiple of `processes` and silently "
        "uses 100 when asked for fewer than 10.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="small sizes for a smoke run (writes .bench/results-quick.md)")
    ap.add_argument("--no-plspm", action="store_true", help="time ours only")
    ap.add_argument("--out", type=Path, help="where to write the report")
    args = ap.parse_args()
    plan = Plan(args.quick)
    with_plspm = not args.no_plspm
    if with_plspm and not PLSPM_PYTHON.exists():
        sys.exit(f"{PLSPM_PYTHON} is missing: run `make bench` (it builds plspm's venv) or pass "
                 f"--no-plspm")
    dest = args.out or (BENCH_DIR / "results-quick.md" if args.quick
                        else ROOT / "benchmarks" / "results.md")
    t0 = time.perf_counter()
    busy0, own0 = cpu_busy_seconds(), own_cpu_seconds()
    out = run(plan, with_plspm)
    elapsed = time.perf_counter() - t0
    busy, own = cpu_busy_seconds(), own_cpu_seconds()
    # CPU time spent by other programs during the run, in average cores busy
    out["others"] = (max(busy - busy0 - (own - own0), 0.0) / elapsed
                     if busy is not None and busy0 is not None else None)
    text = report(out, plan, elapsed)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text, encoding="utf-8")
    print(text)
    log(f"wrote {dest}")


if __name__ == "__main__":
    main()
