"""The quality-management maturity index of manufacturers (methodology §7).

Scoring (per enterprise): category score = (mean item level − 1)/4 × category points, the mean
over the items answered (a category with no item answered has no score, and then neither has the
total); total = Σ category scores (0–1000); index = total / 10 (0–100); maturity level from the
configured cut-offs of the index.

Indices: design-weighted means of the enterprise indices — nationally and by region, size class
and industry. The design weights are post-stratification weights (population count of the
enterprise's region × size × industry cell over the cell's sample size). Standard errors are the
design-based (linearization) SEs of a weighted mean, obtained from statsmodels as the HC1
sandwich SE of an intercept-only weighted least-squares fit; subgroup means are the coefficients
of the weighted regression on the subgroup's indicators, and their equality is tested by the
Wald test of that fit (statsmodels). Changes between waves (same instrument version only) use the
significance rule of the satisfaction indices (methodology §4–5).

Structure: a one-factor confirmatory factor model of the seven category scores (through
:mod:`ncsi.cbsem`, ML) with its fit, and per category Cronbach's α and McDonald's ω (from a
one-factor CFA of the category's items: ω = (Σλ)²/((Σλ)² + Σθ)).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .errors import DataError, EstimationError

__all__ = ["enterprise_scores", "weighted_index", "subgroup_indices", "level_shares",
           "structure", "maturity_level"]


def maturity_level(index: float, cutoffs: list[tuple[float, int]]) -> int | None:
    """The level whose lower cut-off is the highest not above ``index`` (None for NaN)."""
    if index is None or not np.isfinite(index):
        return None
    level = None
    for low, lvl in sorted(cutoffs):
        if index >= low:
            level = lvl
    return level


def enterprise_scores(items: pd.DataFrame, categories: list[tuple[str, float, list[str]]],
                      cutoffs: list[tuple[float, int]]) -> pd.DataFrame:
    """Category scores, total, index and level per enterprise (rows of ``items``, levels 1–5 or
    NaN). ``categories``: (code, points, item codes)."""
    out = {}
    for code, points, cols in categories:
        missing = [c for c in cols if c not in items.columns]
        if missing:
            raise DataError(f"maturity items {', '.join(missing)} of category {code} are not in "
                            f"the data", column=missing[0],
                            message_zh=f"数据缺少类别 {code} 的题目 {', '.join(missing)}")
        x = items[cols].to_numpy(dtype=float)
        bad = ~np.isnan(x) & ((x < 1) | (x > 5))
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise DataError(f"maturity level {x[r, c]:g} outside 1–5", row=items.index[r],
                            column=cols[c], message_zh="成熟度等级超出 1–5")
        answered = (~np.isnan(x)).sum(axis=1)
        total = np.nansum(x, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(answered > 0, total / np.maximum(answered, 1), np.nan)
        out[code] = (mean - 1.0) / 4.0 * float(points)
    frame = pd.DataFrame(out, index=items.index)
    frame["total"] = frame[[c for c, _, _ in categories]].sum(axis=1, min_count=len(categories))
    frame.loc[frame[[c for c, _, _ in categories]].isna().any(axis=1), "total"] = np.nan
    frame["index"] = frame["total"] / 10.0
    frame["level"] = pd.array([maturity_level(v, cutoffs) for v in frame["index"]],
                              dtype="Int64")
    return frame


def _wls(y: np.ndarray, x: np.ndarray, w: np.ndarray):
    import statsmodels.api as sm
    if not (np.isfinite(w).all() and (w > 0).all()):
        raise EstimationError("design weights must be positive numbers",
                              message_zh="设计权重必须为正数")
    return sm.WLS(y, x, weights=w).fit(cov_type="HC1")


def weighted_index(values: pd.Series, weights: pd.Series, *, level: float = 0.90) -> dict:
    """Design-weighted mean with its design-based SE and CI (statsmodels, see the module)."""
    ok = values.notna() & weights.notna()
    y = values[ok].to_numpy(dtype=float)
    w = weights[ok].to_numpy(dtype=float)
    n = int(ok.sum())
    if n < 2:
        return {"index": float(y[0]) if n else math.nan, "se": math.nan, "ci_low": math.nan,
                "ci_high": math.nan, "n": n}
    fit = _wls(y, np.ones((n, 1)), w)
    lo, hi = fit.conf_int(alpha=1 - level)[0]
    return {"index": float(fit.params[0]), "se": float(fit.bse[0]), "ci_low": float(lo),
            "ci_high": float(hi), "n": n}


def subgroup_indices(values: pd.Series, weights: pd.Series, groups: pd.Series, *,
                     level: float = 0.90) -> tuple[pd.DataFrame, dict]:
    """Design-weighted mean, SE and CI per subgroup, and the Wald test that all are equal
    (statistic, df, p). Groups with fewer than two enterprises are reported without an SE."""
    ok = values.notna() & weights.notna() & groups.notna()
    y = values[ok].to_numpy(dtype=float)
    w = weights[ok].to_numpy(dtype=float)
    g = groups[ok].astype(str)
    levels = sorted(g.unique())
    x = np.column_stack([(g == lv).to_numpy(dtype=float) for lv in levels])
    fit = _wls(y, x, w)
    ci = fit.conf_int(alpha=1 - level)
    rows = []
    for k, lv in enumerate(levels):
        n = int((g == lv).sum())
        rows.append({"group": lv, "index": float(fit.params[k]),
                     "se": float(fit.bse[k]) if n > 1 else math.nan,
                     "ci_low": float(ci[k, 0]) if n > 1 else math.nan,
                     "ci_high": float(ci[k, 1]) if n > 1 else math.nan, "n": n})
    test = {"statistic": math.nan, "df": len(levels) - 1, "p": math.nan}
    if len(levels) > 1:
        r = np.zeros((len(levels) - 1, len(levels)))
        for k in range(len(levels) - 1):
            r[k, 0], r[k, k + 1] = 1.0, -1.0
        wald = fit.wald_test(r, scalar=True)
        test = {"statistic": float(wald.statistic), "df": int(len(levels) - 1),
                "p": float(wald.pvalue)}
    return pd.DataFrame(rows), test


def level_shares(levels: pd.Series, weights: pd.Series, all_levels=(1, 2, 3, 4, 5)) -> dict:
    """Design-weighted share of enterprises at each maturity level."""
    ok = levels.notna()
    w = weights[ok].astype(float)
    tot = float(w.sum())
    return {int(lv): float(w[levels[ok] == lv].sum() / tot) if tot > 0 else math.nan
            for lv in all_levels}


def structure(items: pd.DataFrame, categories: list[tuple[str, float, list[str]]],
              scores: pd.DataFrame) -> dict:
    """One-factor CFA of the category mean levels (CB-SEM, ML) and per-category α and ω."""
    from . import assessment
    from .cbsem import CBSEM
    from .spec import parse_model

    means = pd.DataFrame({c: scores[c] / p * 4.0 + 1.0 for c, p, _ in categories}).dropna()
    text = "MATURITY =~ " + " + ".join(c for c, _, _ in categories)
    out: dict = {"model": text}
    try:
        res = CBSEM(parse_model(text, source="maturity-cfa")).fit(means)
        out["cfa"] = {"n": res.n, "converged": res.converged,
                      "loadings": [{"category": r.indicator, "std": float(r.std),
                                    "estimate": float(r.estimate)}
                                   for r in res.loadings.itertuples()],
                      "fit": {k: (float(v) if isinstance(v, (float, np.floating)) else v)
                              for k, v in res.fit_measures.items()},
                      "problems": res.problems}
    except EstimationError as exc:
        out["cfa"] = {"error": exc.message}
    rel = []
    for code, _, cols in categories:
        block = items[cols].dropna()
        alpha = assessment.cronbach_alpha(np.cov(block.to_numpy(dtype=float), rowvar=False))
        omega = math.nan
        if len(cols) >= 3:
            try:
                r = CBSEM(parse_model(f"F =~ {' + '.join(cols)}", source=code)).fit(block)
                lam = r.loadings["estimate"].to_numpy() * math.sqrt(r._phi[0, 0])
                theta = np.array([r._theta[k, k] for k in range(len(cols))])
                omega = float(lam.sum() ** 2 / (lam.sum() ** 2 + theta.sum()))
            except EstimationError:
                pass
        rel.append({"category": code, "alpha": float(alpha), "omega": omega,
                    "n": int(len(block))})
    out["reliability"] = rel
    return out
