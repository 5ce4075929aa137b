"""Time plspm 0.5.7 on one data file; runs inside .bench/plspm-venv and prints JSON on stdout.

It must not import ``ncsi`` (that venv has an old pandas). ``bench.py`` calls it as::

    run_plspm.py --versions          # {"python": ..., "numpy": ..., "plspm": ...}
    run_plspm.py JOB.json            # timings and estimates for the job

A job is a JSON object::

    {"data": "x.csv", "index_col": null | 0,
     "constructs": ["IMAG", ...],        # causal order: plspm wants a lower-triangular path matrix
     "blocks": {"IMAG": ["IMAG1", ...], ...},
     "paths": [["IMAG", "EXPE"], ...],
     "fit_repeats": 3,
     "bootstrap": [{"resamples": 200, "processes": 1}, ...]}

plspm is used as its documentation shows: ``Config(path, scaled=True)``, ``add_lv(name, Mode.A,
MV(...), ...)``, ``Plspm(data, config, Scheme.PATH)``; defaults otherwise (tolerance 1e-6 on the
sum of squared weight changes, at least 100 iterations). Its bootstrap runs inside the constructor
(``bootstrap=True``), after a fit of the full sample, so the bootstrap time reported is the
constructor's wall time minus the best plain-fit time.
"""

from __future__ import annotations

import json
import math
import platform
import sys
import time
from importlib import metadata

PACKAGES = ("numpy", "pandas", "scipy", "statsmodels", "plspm")


def versions() -> dict:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        out[name] = metadata.version(name)
    return out


def build_config(job: dict):
    import pandas as pd
    import plspm.config as c
    from plspm.mode import Mode

    order = job["constructs"]
    path = pd.DataFrame(0, index=order, columns=order)
    for source, target in job["paths"]:
        path.loc[target, source] = 1                    # row = effect, column = cause
    config = c.Config(path, scaled=True)
    for lv in order:
        config.add_lv(lv, Mode.A, *[c.MV(name) for name in job["blocks"][lv]])
    return config


def run(job: dict) -> dict:
    import numpy as np
    import pandas as pd
    from plspm.plspm import Plspm
    from plspm.scheme import Scheme

    data = pd.read_csv(job["data"], index_col=job.get("index_col"))
    config = build_config(job)

    fit_times = []
    for _ in range(max(1, int(job.get("fit_repeats", 3)))):
        t0 = time.perf_counter()
        model = Plspm(data, config, Scheme.PATH)
        fit_times.append(time.perf_counter() - t0)
    fit = min(fit_times)

    coef = model.path_coefficients()                    # rows = effect, columns = cause
    paths = [{"from": s, "to": t, "estimate": float(coef.loc[t, s])} for s, t in job["paths"]]

    boots = []
    for b in job.get("bootstrap", []):
        t0 = time.perf_counter()
        booted = Plspm(data, config, Scheme.PATH, bootstrap=True,
                       bootstrap_iterations=int(b["resamples"]), processes=int(b["processes"]))
        wall = time.perf_counter() - t0
        # plspm swallows every error inside a resample; all-failed shows up as missing SEs
        table = booted.bootstrap().paths()              # index "FROM -> TO"
        se = [float(table["std.error"].get(f"{s} -> {t}", np.nan)) for s, t in job["paths"]]
        boots.append({**b, "wall": wall, "time": max(wall - fit, 0.0),
                      "se_finite": all(math.isfinite(v) for v in se),
                      "se": [v if math.isfinite(v) else None for v in se]})

    return {"n": len(data), "fit": fit, "fit_times": fit_times, "paths": paths,
            "bootstrap": boots, "versions": versions()}


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    if sys.argv[1] == "--versions":
        print(json.dumps(versions()))
        return
    with open(sys.argv[1], encoding="utf-8") as fh:
        job = json.load(fh)
    print(json.dumps(run(job)))


if __name__ == "__main__":
    main()
