"""Fit a model to any data file without the store (``ncsi fit``); the JSON it writes is
documented in README.md ("ncsi fit JSON")."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .errors import DataError
from .ingest import numeric_cells, read_survey_file
from .pls import PLS
from .scoring import IndexConfig
from .spec import load_model

#: the version of the JSON layout written by :func:`fit_file`
SCHEMA = "ncsi-fit/2"


def read_numeric(path: Path, columns) -> pd.DataFrame:
    """Read a data file (an unnamed first column is taken as row labels) and convert the
    named columns to numbers; empty cells are missing values, any other non-number or an
    infinite value is refused naming its row and column."""
    raw = read_survey_file(path, row_labels=True)
    # absent columns are named with their construct by ModelSpec.check_data
    return pd.DataFrame({col: numeric_cells(raw[col], file=path, column=col, allow_empty=True)
                         for col in columns if col in raw.columns}, index=raw.index)


def fit_file(data: Path, model: Path, *, scheme: str = "path", scaled: bool = True,
             consistent: bool = False, missing: str = "casewise", weights: str | None = None,
             scale_min: float | None = None, scale_max: float | None = None,
             bootstrap: int = 0, seed: int | None = None, workers: int = 1,
             ci: str = "percentile", level: float = 0.95, method: str = "pls",
             estimator: str = "ML", survey: str | None = None,
             progress: Callable[[int, int], None] | None = None) -> dict:
    """Fit ``model`` to ``data`` by PLS (``method="pls"``) or covariance-based SEM
    (``method="cbsem"``) and return the JSON-ready result (with a bootstrap when ``bootstrap``
    > 0, which needs ``seed``)."""
    spec = load_model(model)
    if bootstrap and seed is None:
        raise DataError("a bootstrap needs a seed so that its numbers can be reproduced; give "
                        "--seed (any whole number)",
                        message_zh="自助法需要随机种子以保证结果可复现；请指定 --seed")
    columns = list(spec.indicators) + ([weights] if weights else [])
    frame = read_numeric(Path(data), columns)
    if survey:                          # the questionnaire's missing codes (98, 99) → missing
        from .instruments import load_questionnaire
        frame = load_questionnaire(survey).clean(frame)
    spec.check_data(frame.columns, source=str(data))
    if weights and weights not in frame.columns:
        raise DataError(f"the weight column '{weights}' is not in the file; name an existing "
                        f"column with --weights", file=str(data), column=weights,
                        message_zh=f"文件中没有权重列 '{weights}'")
    if weights:
        w = frame[weights]
        bad = np.flatnonzero(~(w.to_numpy(dtype=float, na_value=np.nan) >= 0))
        if bad.size:
            v = w.iloc[bad[0]]
            what = "is missing" if pd.isna(v) else f"{v:g} is negative"
            raise DataError(f"the case weight {what}; every weight must be a number ≥ 0 — fix it "
                            f"or drop the row",
                            file=str(data), row=int(bad[0]) + 2, column=weights,
                            message_zh="权重缺失或为负；权重必须是非负数")
    cfg = IndexConfig.from_yaml()
    lo = cfg.scale_min if scale_min is None else scale_min
    hi = cfg.scale_max if scale_max is None else scale_max
    items = frame[list(spec.indicators)]
    outside = (items < lo) | (items > hi)
    if outside.to_numpy().any():
        col = items.columns[outside.any().to_numpy()][0]
        row = int(outside[col].to_numpy().argmax())
        raise DataError(f"value {items[col].iloc[row]:g} is outside the scale [{lo:g}, {hi:g}]; "
                        f"give the scale's ends with --scale-min/--scale-max",
                        file=str(data), row=row + 2, column=col,
                        message_zh=f"数值超出量表范围 [{lo:g}, {hi:g}]；请用 --scale-min/"
                                   f"--scale-max 指定")
    if method == "cbsem":
        return _fit_cbsem(spec, frame, data, estimator=estimator, missing=missing,
                          weights=weights, scale=(lo, hi), bootstrap=bootstrap, seed=seed,
                          workers=workers, level=level)
    res = PLS(spec, scheme=scheme, scaled=scaled, consistent=consistent, missing=missing,
              weights=weights, scale=(lo, hi)).fit(frame)
    out = {"schema": SCHEMA, "data": str(data), "model": spec.to_dict(), **res.summary()}
    out["settings"] = dict(out["settings"], scale_min=lo, scale_max=hi)
    out["index_weights"] = {c: {i: float(v) for i, v in res.index_weights[c].items()}
                            for c in spec.constructs}
    out["issues"] = [c["detail"] for c in out["verify"]["checks"] if not c["ok"]]
    out["inference"] = "ols"
    if bootstrap:
        boot = res.bootstrap(bootstrap, seed=seed, workers=workers, progress=progress)
        table = boot.summary(ci, level)
        _attach(out["paths"], table.xs("path"), lambda r: f"{r['from']} -> {r['to']}")
        _attach(out["outer"], table.xs("loading"),
                lambda r: f"{r['construct']} -> {r['indicator']}", prefix="loading_")
        _attach(out["outer"], table.xs("weight"),
                lambda r: f"{r['construct']} <- {r['indicator']}", prefix="weight_")
        idx = table.xs("index")
        for c, entry in out["indices"].items():
            entry.update(_interval(idx.loc[c]))
        out["inference"] = "bootstrap"
        b = boot.to_dict(ci, level)
        out["bootstrap"] = {k: b[k] for k in ("n_boot", "seed", "n_valid", "n_not_converged",
                                              "n_failed", "ci", "level", "warnings")}
        out["bootstrap"]["statistics"] = b["statistics"]
        out["settings"]["bootstrap"] = {"n_boot": bootstrap, "seed": seed, "ci": ci,
                                        "level": level}
    return out


def _interval(r: pd.Series) -> dict:
    def num(v):
        v = float(v)
        return v if v == v and abs(v) != float("inf") else None
    return {"se": num(r["std_error"]), "t": num(r["t"]), "p": num(r["p"]),
            "ci_low": num(r["ci_low"]), "ci_high": num(r["ci_high"])}


def _attach(entries: list[dict], table: pd.DataFrame, key, prefix: str = "") -> None:
    """Overwrite/extend each entry with the bootstrap SE, t, p and interval of its statistic."""
    for e in entries:
        vals = _interval(table.loc[key(e)])
        if prefix:
            vals = {prefix + k: v for k, v in vals.items()}
        e.update(vals)


def _fit_cbsem(spec, frame, data, *, estimator, missing, weights, scale, bootstrap, seed, workers,
               level) -> dict:
    from .cbsem import CBSEM
    res = CBSEM(spec, estimator, missing=missing, weights=weights, scale=scale).fit(frame)
    out = {"schema": SCHEMA, "data": str(data), "model": spec.to_dict(), **res.to_dict()}
    out["settings"] = dict(out["settings"], scale_min=scale[0], scale_max=scale[1])
    out["index_weights"] = {c: {i: float(v) for i, v in res.index_weights[c].items()}
                            for c in spec.constructs}
    out["issues"] = [p["message"] for p in res.problems]
    out["inference"] = "information" if estimator == "ML" else "none"
    if bootstrap:
        boot = res.bootstrap(bootstrap, seed=seed, workers=workers)
        table = boot.summary(level)
        _attach(out["paths"], table.xs("path"), lambda r: f"{r['from']} -> {r['to']}")
        idx = table.xs("index")
        for c, entry in out["indices"].items():
            entry.update(_interval(idx.loc[c]))
        out["inference"] = "bootstrap"
        out["bootstrap"] = {"n_boot": boot.n_boot, "seed": seed, "n_valid": boot.n_valid,
                            "n_failed": boot.n_failed, "ci": "percentile", "level": level,
                            "warnings": boot.warnings}
        out["settings"]["bootstrap"] = {"n_boot": bootstrap, "seed": seed, "ci": "percentile",
                                        "level": level}
    return out


def compare_file(data: Path, model: Path, *, scale_min: float | None = None,
                 scale_max: float | None = None) -> dict:
    """PLS (path scheme, standardized) and CB-SEM (ML) on the same data and model, side by side:
    paths (PLS estimate, CB-SEM standardized estimate), R², indices and reliability."""
    pls = fit_file(data, model, scale_min=scale_min, scale_max=scale_max)
    cb = fit_file(data, model, method="cbsem", scale_min=scale_min, scale_max=scale_max)
    paths = [{"from": a["from"], "to": a["to"], "pls": a["estimate"], "cbsem": b["std"],
              "cbsem_p": b["p"]} for a, b in zip(pls["paths"], cb["paths"])]
    rel_p = {r["construct"]: r for r in pls["reliability"]}
    rel_c = {r["construct"]: r for r in cb["reliability"]}
    constructs = [b["construct"] for b in pls["model"]["blocks"]]
    return {
        "data": str(data), "model": pls["model"],
        "paths": paths,
        "r2": [{"construct": c, "pls": pls["r2"].get(c), "cbsem": cb["r2"].get(c)}
               for c in constructs if c in pls["r2"]],
        "indices": [{"construct": c, "pls": pls["indices"][c]["estimate"],
                     "cbsem": cb["indices"][c]["estimate"]} for c in constructs],
        "reliability": [{"construct": c, "pls_rho_c": rel_p[c]["rho_c"],
                         "cbsem_rho_c": rel_c[c]["rho_c"], "pls_ave": rel_p[c]["ave"],
                         "cbsem_ave": rel_c[c]["ave"]} for c in constructs],
        "fit": cb["fit"], "problems": cb["problems"], "verify": pls["verify"],
    }
