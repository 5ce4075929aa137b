"""Driver analysis: impacts (ACSI) and importance–performance maps (IPMA).

- **Total effect** of a driver on the target (satisfaction), standardized, from the path model:
  the sum over all directed routes of the products of their path coefficients.
- **Unstandardized total effect** (the IPMA importance, in index points per index point): the
  standardized total effect × sd(target scores) / sd(driver scores), the 0–100 respondent scores
  of the industry (Ringle & Sarstedt 2016, "Gain more insight from your PLS-SEM results: the
  importance-performance map analysis", *Industrial Management & Data Systems* 116(9)).
- **Impact** (ACSI): the change in the target's index for a 5-point gain in the driver's index,
  5 × the unstandardized total effect.
- **Item importance**: the driver's unstandardized total effect × the item's raw-scale index
  weight ŵ — the target's change for a one-point (0–100) gain in that item alone; **item
  performance**: the item's mean on the 0–100 scale.
- **Performance** of a driver for a brand: the brand's 0–100 index of that construct.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["drivers"]


def drivers(res, scores: pd.DataFrame, index_weights: dict[str, pd.Series], *, target: str,
            item_means: pd.Series, scale_min: float, scale_max: float) -> dict:
    """The industry's driver table (JSON-ready) from a PLS fit ``res``, its respondents' 0–100
    ``scores`` (one column per construct) and the raw-scale index weights used for them."""
    if target not in res.spec.constructs:
        return {"target": target, "impacts": [], "items": [],
                "note": f"the model has no construct {target}"}
    eff = res.effects
    total = eff[eff["to"] == target].set_index("from")["total"]
    sd = scores.std(ddof=1)
    impacts, items = [], []
    for driver, t in total.items():
        ratio = float(sd[target] / sd[driver]) if sd[driver] > 0 else float("nan")
        unstd = float(t) * ratio
        impacts.append({"driver": driver, "total_effect_std": float(t),
                        "total_effect": unstd, "impact_5": 5.0 * unstd})
        for ind, w in index_weights[driver].items():
            perf = (float(item_means[ind]) - scale_min) / (scale_max - scale_min) * 100.0
            items.append({"construct": driver, "indicator": ind, "index_weight": float(w),
                          "importance": float(w) * unstd, "performance": perf})
    impacts.sort(key=lambda d: -abs(d["impact_5"]) if np.isfinite(d["impact_5"]) else 0)
    return {"target": target, "impacts": impacts, "items": items}
