"""Fit a model to any data file without the store (``ncsi fit``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError
from .pls import PLS
from .scoring import IndexConfig, index_weights, respondent_scores
from .spec import load_model


def read_numeric(path: Path, columns) -> pd.DataFrame:
    """Read a data file and convert the model's columns to numbers, naming any bad cell."""
    from .ingest import read_survey_file
    raw = read_survey_file(path, row_labels=True)
    out = pd.DataFrame(index=raw.index)
    for col in columns:
        if col not in raw.columns:
            continue  # the spec check names absent indicators with their construct
        s = raw[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            text = s.astype("string").str.strip()
            num = pd.to_numeric(text.replace({"": None, "NA": None, "NaN": None}),
                                errors="coerce")
            bad = num.isna() & text.notna() & ~text.isin(["", "NA", "NaN"])
            if bad.any():
                k = int(np.flatnonzero(bad.to_numpy())[0])
                raise DataError(f"'{text.iloc[k]}' is not a number; fix the cell or remove the "
                                f"column from the model ({int(bad.sum())} such cells)",
                                file=str(path), row=k + 2, column=col,
                                message_zh=f"'{text.iloc[k]}' 不是数字；请修改该单元格")
            out[col] = num.astype(float)
        else:
            out[col] = pd.to_numeric(s, errors="coerce").astype(float)
    return out


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
