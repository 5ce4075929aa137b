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
             ci: str = "percentile", level: float = 0.95,
             progress: Callable[[int, int], None] | None = None) -> dict:
    """Fit ``model`` to ``data`` and return the JSON-ready result (with a bootstrap when
    ``bootstrap`` > 0, which needs ``seed``)."""
    spec = load_model(model)
    if bootstrap and seed is None:
        raise DataError("a bootstrap needs a seed so that its numbers can be reproduced; give "
                        "--seed (any whole number)",
                        message_zh="自助法需要随机种子以保证结果可复现；请指定 --seed")
    columns = list(spec.indicators) + ([weights] if weights else [])
    frame = read_numeric(Path(data), columns)
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
