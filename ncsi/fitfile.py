"""Fit a model to any data file without the store (``ncsi fit``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .errors import DataError
from .ingest import numeric_cells, read_survey_file
from .pls import PLS
from .scoring import IndexConfig, index_weights, respondent_scores
from .spec import load_model


def read_numeric(path: Path, columns) -> pd.DataFrame:
    """Read a data file (an unnamed first column is taken as row labels) and convert the
    model's columns to numbers; empty cells are missing values, any other non-number or an
    infinite value is refused naming its row and column."""
    raw = read_survey_file(path, row_labels=True)
    # absent columns are named with their construct by ModelSpec.check_data
    return pd.DataFrame({col: numeric_cells(raw[col], file=path, column=col, allow_empty=True)
                         for col in columns if col in raw.columns}, index=raw.index)


def fit_file(data: Path, model: Path, *, scheme: str = "path", scaled: bool = True,
             scale_min: float | None = None, scale_max: float | None = None) -> dict:
    spec = load_model(model)
    frame = read_numeric(Path(data), spec.indicators)
    spec.check_data(frame.columns, source=str(data))
    res = PLS(spec, scheme=scheme, scaled=scaled).fit(frame)
    cfg = IndexConfig.from_yaml()
    lo = cfg.scale_min if scale_min is None else scale_min
    hi = cfg.scale_max if scale_max is None else scale_max
    used = frame.loc[res.scores.index, list(spec.indicators)]
    outside = (used < lo) | (used > hi)
    if outside.to_numpy().any():
        col = used.columns[outside.any().to_numpy()][0]
        raise DataError(f"values outside the scale [{lo}, {hi}]; give the scale's ends with "
                        f"--scale-min/--scale-max", file=str(data), column=col,
                        message_zh=f"数值超出量表范围 [{lo}, {hi}]；请用 --scale-min/--scale-max 指定")
    weights, issues = index_weights(res.outer_weights, res.item_sd, scaled=scaled,
                                    policy=cfg.nonpositive_weight_policy)
    scores = respondent_scores(used, weights, scale_min=lo, scale_max=hi)
    out = res.to_dict()
    out["settings"] = dict(out.get("settings", {}), scale_min=lo, scale_max=hi)
    out["indices"] = {c: float(scores[c].mean()) for c in spec.constructs}
    out["index_weights"] = {c: {i: float(v) for i, v in w.items()} for c, w in weights.items()}
    out["issues"] = issues
    out["model"] = spec.to_dict()
    out["data"] = str(data)
    return out
