"""0–100 indices, aggregation, year-over-year changes, bands and ranking rows (methodology §2–5, §9).

Pure functions: numpy inside, labelled pandas at the boundary; no store, no estimation internals.
Every configurable number (scale ends, floor, significance level, bands, weight policy) is a
parameter; :class:`IndexConfig` reads them from ``surveys/index.yaml``.

The chain, as :mod:`ncsi.release` uses it:

1. :func:`index_weights` — PLS outer weights → rescaled raw-scale weights ŵ per construct (§2),
   with the configured policy for a non-positive ŵ (reported, never silent).
2. :func:`respondent_scores` — each respondent's 0–100 score per construct,
   Σ ŵ_i (x_i − L)/(U − L) · 100, with item non-response handled by renormalising ŵ.
3. :func:`weighted_mean` / :func:`group_indices` — survey-weighted brand indices with standard
   errors and normal confidence intervals.
4. :func:`industry_weights` and :func:`aggregate` — revenue-weighted industries (sample-size
   fallback, reported), then sectors and the nation from the same :func:`aggregate` (§3).
5. :func:`change`, :func:`band`, :func:`band_label`, :func:`ranking_rows` — §4, §5 and §9.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm
from statsmodels.stats.weightstats import DescrStatsW

__all__ = [
    "IndexConfig", "POLICIES", "SE_FORMULA", "NM", "MARK_UP", "MARK_DOWN",
    "index_weights", "respondent_scores", "unscored_counts", "weighted_mean", "group_indices",
    "aggregate", "industry_weights", "change", "critical_value", "band", "band_label",
    "ranking_rows", "ranking_year_columns", "format_ranking_rows",
]

POLICIES = ("equal", "drop")
NM = "NM"
MARK_UP = "▲"
MARK_DOWN = "▼"

SE_FORMULA = (
    "linearization (Taylor) standard error of the weighted mean, "
    "SE² = n/(n−1) · Σ w_i² (x_i − x̄_w)² / (Σ w_i)², computed as the ddof-1 standard error of "
    "the mean of z_i = (w_i / w̄)(x_i − x̄_w) with statsmodels DescrStatsW; equal weights give "
    "sd(x, ddof=1)/√n; confidence interval x̄_w ± z_(1+level)/2 · SE"
)


# --------------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IndexConfig:
    """The numbers of ``surveys/index.yaml`` (methodology §2–5). No defaults live in code.

    ``bands`` is a tuple of ``(min, code, zh, en)`` ordered from the highest ``min`` down; a
    score belongs to the first band whose ``min`` ≤ score.
    """

    scale_min: float
    scale_max: float
    min_valid_n: int
    significance_level: float
    nonpositive_weight_policy: str
    index_construct: str
    bands: tuple[tuple[float, str, str, str], ...]
    version: str | None = None
    #: scores are published (and banded) at this precision, so a printed 80.0 is never 79.96
    published_decimals: int = 1
    #: the yearly release's estimation: method, pooling, bootstrap resamples, seed, permutations
    release: tuple[tuple[str, object], ...] = ()

    def release_option(self, key: str, default=None):
        return dict(self.release).get(key, default)

    def __post_init__(self):
        problems = _config_problems(self)
        if problems:
            raise ValueError("invalid index configuration: " + "; ".join(problems))

    @classmethod
    def from_yaml(cls, path: str | Path | None = None) -> "IndexConfig":
        """Read ``surveys/index.yaml`` (or ``path``) through the instruments validator; every
        problem is an :class:`InstrumentError` naming the file and the key."""
        from .instruments import load_index_config
        raw = load_index_config(path)
        return cls(
            scale_min=float(raw["scale"]["min"]), scale_max=float(raw["scale"]["max"]),
            min_valid_n=int(raw["min_valid_n"]),
            significance_level=float(raw["significance_level"]),
            nonpositive_weight_policy=str(raw["nonpositive_weight_policy"]),
            index_construct=str(raw["index_construct"]),
            bands=tuple((float(b["min"]), str(b["code"]), str(b["zh"]), str(b["en"]))
                        for b in raw["bands"]),
            version=None if raw.get("version") is None else str(raw["version"]),
            published_decimals=int(raw["published_decimals"]),
            release=tuple(sorted(raw.get("release", {}).items())),
        )


def _config_problems(c) -> list[str]:
    get = (lambda k: c[k]) if isinstance(c, dict) else (lambda k: getattr(c, k))
    out = []
    lo, hi = get("scale_min"), get("scale_max")
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        out.append(f"scale: min ({lo}) must be below max ({hi})")
    n = get("min_valid_n")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        out.append(f"min_valid_n must be a whole number ≥ 1 (got {n!r})")
    lev = get("significance_level")
    if not (0 < lev < 1):
        out.append(f"significance_level must lie strictly between 0 and 1 (got {lev})")
    pol = get("nonpositive_weight_policy")
    if pol not in POLICIES:
        out.append(f"nonpositive_weight_policy must be one of {', '.join(POLICIES)} (got {pol!r})")
    if not get("index_construct"):
        out.append("index_construct must name a construct")
    bands = get("bands")
    mins = [b[0] for b in bands]
    codes = [b[1] for b in bands]
    if not bands:
        out.append("bands: give at least one band")
    if any(a <= b for a, b in zip(mins, mins[1:])):
        out.append(f"bands must be listed from the highest min down, without ties (got {mins})")
    if len(set(codes)) != len(codes):
        out.append(f"band codes must be unique (got {codes})")
    return out


# --------------------------------------------------------------------------------------------
# §2 weights and respondent scores
# --------------------------------------------------------------------------------------------

def _fmt_w(values: dict) -> str:
    return ", ".join(f"{k} {v:.4g}" for k, v in values.items())


def index_weights(outer_weights: pd.Series, item_sd: pd.Series | None, *, scaled: bool,
                  policy: str) -> tuple[dict[str, pd.Series], list[dict]]:
    """Rescaled raw-scale index weights ŵ per construct (methodology §2).

    ``outer_weights`` is indexed by (construct, indicator). With ``scaled=True`` they are the PLS
    weights of *standardized* indicators and the raw-scale weight of item i is w_i / s_i (s_i its
    standard deviation, from ``item_sd`` indexed by indicator, or by (construct, indicator));
    with ``scaled=False`` they already apply to centred raw items and are used as they are
    (``item_sd`` may be None). Then ŵ_i = raw_i / Σ_j raw_j within each construct.

    A non-positive ŵ_i makes the index undefined. ``policy``:

    - ``"equal"``: the construct gets equal weights 1/k;
    - ``"drop"``: the items with ŵ_i ≤ 0 get weight 0 (they stay in the Series, so the block's
      shape is kept) and the others are renormalised to sum to one; if none is left, equal
      weights.

    Both cases, and a zero sum of raw weights (ŵ undefined; always equal weights), are reported
    as issue dicts ``{construct, indicators, weights, weights_used, policy, message,
    message_zh}`` where ``weights`` are the ŵ before the policy (NaN when the sum was zero).

    Note: when *all* raw weights of a construct are negative (a sign-flipped PLS solution) the
    ŵ are all positive and no issue is raised — the index is the same weighted average.

    Raises ValueError for an unknown policy, a non-finite outer weight, or a missing,
    non-finite or non-positive item SD (naming the construct and indicator).
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown non-positive weight policy {policy!r}; use one of "
                         f"{', '.join(POLICIES)}")
    if not isinstance(outer_weights.index, pd.MultiIndex) or outer_weights.index.nlevels != 2:
        raise ValueError("outer_weights must be indexed by (construct, indicator)")
    if outer_weights.index.duplicated().any():
        dup = list(outer_weights.index[outer_weights.index.duplicated()])
        raise ValueError(f"outer_weights lists {dup} more than once")
    out: dict[str, pd.Series] = {}
    issues: list[dict] = []
    constructs = list(dict.fromkeys(outer_weights.index.get_level_values(0)))
    for construct in constructs:
        part = outer_weights.xs(construct, level=0)
        indicators = [str(i) for i in part.index]
        w = part.to_numpy(dtype=float)
        bad = [i for i, v in zip(indicators, w) if not np.isfinite(v)]
        if bad:
            raise ValueError(f"{construct}: outer weight of {', '.join(bad)} is not a finite "
                             f"number")
        if scaled:
            if item_sd is None:
                raise ValueError("scaled=True needs item_sd to convert standardized weights")
            if isinstance(item_sd.index, pd.MultiIndex):
                s = item_sd.reindex(pd.MultiIndex.from_product([[construct], part.index]))
            else:
                s = item_sd.reindex(part.index)
            s = s.to_numpy(dtype=float)
            bad = [i for i, v in zip(indicators, s) if not (np.isfinite(v) and v > 0)]
            if bad:
                raise ValueError(f"{construct}: item SD of {', '.join(bad)} is missing, zero or "
                                 f"not finite; the raw-scale weight w/s is undefined")
            raw = w / s
        else:
            raw = w
        k = len(raw)
        total = raw.sum()
        equal = np.full(k, 1.0 / k)
        if total == 0 or not np.isfinite(total):
            hat = np.full(k, np.nan)
            used = equal
            nonpos = indicators
            reason_en = "the raw-scale weights sum to zero, so the rescaled weights are undefined"
            reason_zh = "原始尺度权重之和为零，重标定权重无定义"
            applied = "equal"
        else:
            hat = raw / total
            mask = hat <= 0
            if not mask.any():
                out[construct] = pd.Series(hat, index=pd.Index(indicators), name=construct)
                continue
            nonpos = [i for i, m in zip(indicators, mask) if m]
            bad_w = _fmt_w({i: v for i, v, m in zip(indicators, hat, mask) if m})
            reason_en = (f"the rescaled raw-scale weight(s) of {', '.join(nonpos)} are not "
                         f"positive ({bad_w})")
            reason_zh = f"指标 {'、'.join(nonpos)} 的重标定原始尺度权重非正"
            if policy == "drop" and (~mask).any():
                kept = np.where(mask, 0.0, hat)
                used = kept / kept.sum()
                applied = "drop"
            else:
                used = equal
                applied = "equal"
        out[construct] = pd.Series(used, index=pd.Index(indicators), name=construct)
        if applied == "drop":
            what_en = (f"dropped {', '.join(nonpos)} and renormalised the others "
                       f"({_fmt_w({i: v for i, v in zip(indicators, used) if v > 0})})")
            what_zh = f"剔除 {'、'.join(nonpos)} 并对其余指标重新归一"
        else:
            what_en = f"used equal weights 1/{k} for the {k} items"
            what_zh = f"改用等权（{k} 个指标各 1/{k}）"
        fallback = "; no positive weight left to keep" if applied != policy else ""
        issues.append({
            "construct": construct,
            "indicators": nonpos,
            "weights": {i: float(v) for i, v in zip(indicators, hat)},
            "weights_used": {i: float(v) for i, v in zip(indicators, used)},
            "policy": policy,
            "applied": applied,
            # the consequence first: a shortened line (the CLI's) still shows what was done
            "message": (f"{construct}: {what_en} for the index (policy '{policy}'"
                        f"{fallback}), because {reason_en} and the index is undefined with "
                        f"them. Review the block's items (reverse coding, unrelated items) "
                        f"before publishing."),
            "message_zh": (f"{construct}：已按“{policy}”策略{what_zh}后计算指数，因为{reason_zh}，"
                           f"按原权重指数无定义。发布前请检查该构念的题项（反向计分、无关题项）。"),
        })
    return out, issues


def respondent_scores(items: pd.DataFrame, weights: dict[str, pd.Series], *,
                      scale_min: float, scale_max: float) -> pd.DataFrame:
    """Each respondent's 0–100 score per construct: Σ ŵ_i (x_i − L)/(U − L) · 100.

    Item non-response (NaN): the respondent's score uses the items they answered, with those
    items' ŵ renormalised to sum to one, Σ_answered ŵ_i y_i / Σ_answered ŵ_i (the usual
    practice, as in ACSI; it equals the full formula when nothing is missing). A respondent who
    answered none of a block's items with a positive weight gets NaN for that construct; the
    counts per construct are in ``result.attrs["n_unscored"]`` and :func:`unscored_counts`.

    Raises ValueError naming the column for a missing or non-numeric item column, a value
    outside [L, U] (values must be cleaned first: missing codes such as 98/99 turned into NaN),
    or a negative / non-finite index weight.
    """
    lo, hi = float(scale_min), float(scale_max)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"scale ends must satisfy min < max (got {scale_min}, {scale_max})")
    result = {}
    unscored = {}
    checked: set[str] = set()
    for construct, w in weights.items():
        cols = [str(c) for c in w.index]
        missing = [c for c in cols if c not in items.columns]
        if missing:
            raise ValueError(f"{construct}: item column(s) {', '.join(missing)} are not in the "
                             f"data")
        wv = np.asarray(w, dtype=float)
        if not np.all(np.isfinite(wv)) or (wv < 0).any():
            bad = [c for c, v in zip(cols, wv) if not (np.isfinite(v) and v >= 0)]
            raise ValueError(f"{construct}: index weight of {', '.join(bad)} is negative or not "
                             f"finite; use index_weights() first")
        for c in cols:
            if c in checked:
                continue
            col = items[c]
            if not pd.api.types.is_numeric_dtype(col):
                try:
                    col = pd.to_numeric(col)
                except (TypeError, ValueError):
                    raise ValueError(f"column '{c}' holds values that are not numbers; clean "
                                     f"it before scoring") from None
            x = col.to_numpy(dtype=float, na_value=np.nan)
            bad = ~np.isnan(x) & ((x < lo) | (x > hi))
            if bad.any():
                raise ValueError(
                    f"column '{c}': {int(bad.sum())} value(s) outside the scale [{lo:g}, {hi:g}] "
                    f"(e.g. {x[bad][0]:g} in row {items.index[np.argmax(bad)]!r}); turn missing "
                    f"codes into NaN and clean the data before scoring")
            checked.add(c)
        x = items[cols].apply(pd.to_numeric).to_numpy(dtype=float, na_value=np.nan)
        y = (x - lo) / (hi - lo) * 100.0
        answered = ~np.isnan(y)
        wmat = np.where(answered, wv, 0.0)
        den = wmat.sum(axis=1)
        num = np.where(answered, y, 0.0) @ wv
        with np.errstate(invalid="ignore", divide="ignore"):
            score = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        result[construct] = score
        unscored[construct] = int(np.isnan(score).sum())
    frame = pd.DataFrame(result, index=items.index, columns=list(weights))
    frame.attrs["n_unscored"] = unscored
    return frame


def unscored_counts(scores: pd.DataFrame) -> pd.Series:
    """Respondents without a score per construct (answered none of the block's weighted items)."""
    return scores.isna().sum().astype(int).rename("n_unscored")


# --------------------------------------------------------------------------------------------
# §2–3 weighted means, group indices, aggregation
# --------------------------------------------------------------------------------------------

def critical_value(level: float) -> float:
    """Two-sided normal quantile z_(1+level)/2, e.g. 1.6449 at level 0.90."""
    if not (0 < level < 1):
        raise ValueError(f"level must lie strictly between 0 and 1 (got {level})")
    return float(norm.ppf(1 - (1 - level) / 2))


def _check_weights(weights: pd.Series, what: str = "weight") -> None:
    w = pd.to_numeric(weights, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~(np.isfinite(w) & (w > 0))
    if bad.any():
        labels = list(weights.index[bad])
        shown = ", ".join(repr(x) for x in labels[:10]) + (" …" if len(labels) > 10 else "")
        raise ValueError(f"{int(bad.sum())} {what}(s) are not positive finite numbers: {shown}")


def weighted_mean(values: pd.Series, weights: pd.Series | None, *, level: float) -> dict:
    """Survey-weighted mean of respondent scores with its standard error and a normal CI.

    Returns ``{index, se, ci_low, ci_high, n, note}``; NaN scores are left out and ``n`` counts
    the scores used. ``weights`` (aligned on ``values``' index) must all be positive and finite
    (ValueError naming the offending rows otherwise); None means equal weights.

    SE (see ``SE_FORMULA``): weights are survey (probability) weights, so only their relative
    size matters. The standard error is the linearization estimate
    SE² = n/(n−1) · Σ w_i² (x_i − x̄_w)² / (Σ w_i)², which is invariant to the weights' scale and
    reflects the loss of precision from unequal weights. It is obtained as
    ``DescrStatsW(z, ddof=1).std_mean`` of z_i = (w_i/w̄)(x_i − x̄_w): DescrStatsW's std_mean is
    √(Σ(z−z̄)²/n)/√(n−1) whatever its ddof, i.e. the ddof-1 SE of a mean. (DescrStatsW with the
    survey weights themselves would treat them as frequency counts and give an SE that changes
    with the weights' scale, so it is used only for the mean.) With equal weights this is
    sd(x, ddof=1)/√n. n = 1 → se NaN with a note; n = 0 → index NaN with a note.
    The CI is index ± z_(1+level)/2 · SE. Published brand SEs may instead come from the bootstrap
    (methodology §4); this SE holds the index weights fixed.
    """
    crit = critical_value(level)
    x_all = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if weights is not None:
        if not weights.index.equals(values.index):
            weights = weights.reindex(values.index)
        _check_weights(weights)
        w_all = weights.to_numpy(dtype=float)
    else:
        w_all = np.ones_like(x_all)
    return _weighted_mean(x_all, w_all, crit)


def _weighted_mean(x_all: np.ndarray, w_all: np.ndarray, crit: float) -> dict:
    """:func:`weighted_mean` on arrays whose weights are already checked."""
    keep = ~np.isnan(x_all)
    x, w = x_all[keep], w_all[keep]
    n = int(keep.sum())
    nan = float("nan")
    if n == 0:
        return {"index": nan, "se": nan, "ci_low": nan, "ci_high": nan, "n": 0,
                "note": "no valid scores; index not computed"}
    mean = float(DescrStatsW(x, weights=w).mean)
    if n == 1:
        return {"index": mean, "se": nan, "ci_low": nan, "ci_high": nan, "n": 1,
                "note": "one valid score; standard error not computed"}
    z = (w / w.mean()) * (x - mean)
    se = float(DescrStatsW(z, ddof=1).std_mean)
    return {"index": mean, "se": se, "ci_low": mean - crit * se, "ci_high": mean + crit * se,
            "n": n, "note": None}


def group_indices(scores: pd.DataFrame, groups: pd.Series, weights: pd.Series | None, *,
                  level: float) -> pd.DataFrame:
    """:func:`weighted_mean` for every group (e.g. brand) and construct, in long form.

    Columns: group, construct, index, se, ci_low, ci_high, n. Groups in sorted order,
    constructs in ``scores``' column order. ``groups`` and ``weights`` are aligned on
    ``scores``' index; a respondent without a group label, or with an invalid weight, is a
    ValueError (nothing is dropped silently).
    """
    groups = groups.reindex(scores.index) if not groups.index.equals(scores.index) else groups
    if groups.isna().any():
        labels = list(scores.index[groups.isna().to_numpy()])
        raise ValueError(f"{len(labels)} respondent(s) have no group label: {labels[:10]}")
    if weights is not None:
        weights = weights.reindex(scores.index) if not weights.index.equals(
            scores.index) else weights
        _check_weights(weights)
    crit = critical_value(level)
    x_all = scores.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    w_all = (np.ones(len(scores)) if weights is None else weights.to_numpy(dtype=float))
    rows = []
    for g, pos in groups.groupby(groups, sort=True).indices.items():
        w = w_all[pos]
        for j, construct in enumerate(scores.columns):
            r = _weighted_mean(x_all[pos, j], w, crit)
            rows.append({"group": g, "construct": construct, "index": r["index"],
                         "se": r["se"], "ci_low": r["ci_low"], "ci_high": r["ci_high"],
                         "n": r["n"]})
    out = pd.DataFrame(rows, columns=["group", "construct", "index", "se", "ci_low",
                                      "ci_high", "n"])
    out["n"] = out["n"].astype(int)
    return out


def aggregate(children: pd.DataFrame, weights: pd.Series, *, level: float) -> dict:
    """Weighted mean of children's indices (brands → industry, industries → sector, sectors →
    nation; methodology §3).

    ``children`` is indexed by code with columns ``index`` and ``se``; ``weights`` by code.
    Children without an index (NaN) are left out and listed in ``excluded``; the weights are
    normalised over the children that have one: a_c = w_c / Σ w. For those, a missing,
    non-finite or non-positive weight is a ValueError naming the child (the caller decides the
    fallback). Weights of codes not among the children are ignored.

    index = Σ a_c index_c; SE from independent children: √(Σ a_c² se_c²) (NaN if any child's SE
    is missing); CI index ± z_(1+level)/2 · SE. Returns ``{index, se, ci_low, ci_high, weights
    (Series code → a_c), n_children, excluded, note}``.
    """
    crit = critical_value(level)
    for col in ("index", "se"):
        if col not in children.columns:
            raise ValueError(f"children need an '{col}' column")
    if children.index.duplicated().any():
        raise ValueError(f"child code(s) listed twice: "
                         f"{sorted(set(children.index[children.index.duplicated()]))}")
    idx = children["index"].astype(float)
    has = idx.notna().to_numpy()
    used = list(children.index[has])
    excluded = list(children.index[~has])
    nan = float("nan")
    if not used:
        return {"index": nan, "se": nan, "ci_low": nan, "ci_high": nan,
                "weights": pd.Series(dtype=float), "n_children": 0, "excluded": excluded,
                "note": "no child has an index; not computed"}
    w = weights.reindex(pd.Index(used))
    wv = pd.to_numeric(w, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = [c for c, v in zip(used, wv) if not (np.isfinite(v) and v > 0)]
    if bad:
        raise ValueError(f"weight missing, not finite or not positive for child(ren) "
                         f"{', '.join(map(str, bad))}")
    a = wv / wv.sum()
    x = idx.to_numpy()[has]
    s = children["se"].astype(float).to_numpy()[has]
    value = float(a @ x)
    note = None
    if np.isnan(s).any():
        se = nan
        note = "a child's standard error is missing; the aggregate's SE is not computed"
    else:
        se = float(math.sqrt(float((a ** 2) @ (s ** 2))))
    return {"index": value, "se": se,
            "ci_low": value - crit * se if np.isfinite(se) else nan,
            "ci_high": value + crit * se if np.isfinite(se) else nan,
            "weights": pd.Series(a, index=pd.Index(used), name="weight"),
            "n_children": len(used), "excluded": excluded, "note": note}


def industry_weights(brands: Sequence | pd.Index, revenue: pd.Series, n: pd.Series
                     ) -> tuple[pd.Series, str, list[dict]]:
    """Brand weights for an industry index (methodology §3).

    Revenue weights when every brand has a positive finite revenue (basis ``"revenue"``);
    otherwise sample-size weights (basis ``"sample_size"``) with one issue dict
    ``{brands, basis, message, message_zh}`` naming the brands lacking revenue. Weights are
    returned normalised to sum to one, indexed by brand. A brand without a positive sample size
    when the fallback is needed is a ValueError.
    """
    brands = list(brands)
    if not brands:
        return pd.Series(dtype=float, name="weight"), "revenue", []
    rev = pd.to_numeric(revenue.reindex(brands), errors="coerce").to_numpy(dtype=float,
                                                                          na_value=np.nan)
    lacking = [b for b, v in zip(brands, rev) if not (np.isfinite(v) and v > 0)]
    if not lacking:
        return pd.Series(rev / rev.sum(), index=pd.Index(brands), name="weight"), "revenue", []
    nv = pd.to_numeric(n.reindex(brands), errors="coerce").to_numpy(dtype=float,
                                                                   na_value=np.nan)
    bad = [b for b, v in zip(brands, nv) if not (np.isfinite(v) and v > 0)]
    if bad:
        raise ValueError(f"brand(s) {', '.join(map(str, bad))} lack revenue and have no positive "
                         f"sample size; no weights can be formed")
    names = ", ".join(map(str, lacking))
    issue = {
        "brands": lacking,
        "basis": "sample_size",
        "message": (f"no positive revenue for brand(s) {names}; the industry index uses "
                    f"sample-size weights for all {len(brands)} brands instead of revenue "
                    f"weights. Add the revenues to use revenue weights."),
        "message_zh": (f"品牌 {'、'.join(map(str, lacking))} 缺少营收（或营收非正）；行业指数改用"
                       f"样本量加权（共 {len(brands)} 个品牌）。补充营收后即按营收加权。"),
    }
    return (pd.Series(nv / nv.sum(), index=pd.Index(brands), name="weight"), "sample_size",
            [issue])


# --------------------------------------------------------------------------------------------
# §4 change and significance, §5 bands
# --------------------------------------------------------------------------------------------

def _num(x) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return float("nan")
    return v


def change(curr, se_curr, prev, se_prev, *, level: float) -> dict:
    """Year-over-year change (methodology §4).

    Returns ``{points, percent, z, critical, significant}``: points = curr − prev; percent =
    points / prev · 100 (ACSI's convention: 81 → 83 is +2.469…%); z = points / √(se_curr² +
    se_prev²); significant = |z| > z_(1+level)/2 (two-sided, normal).

    A missing score (either year not measured or not published) → points, percent and z NaN and
    significant None (not measured). Both scores present but an SE missing → points and percent
    are given, z NaN and significant None (the change is known, its significance is not).
    Both SEs zero: significant is points ≠ 0.
    """
    c, p, sc, sp = _num(curr), _num(prev), _num(se_curr), _num(se_prev)
    crit = critical_value(level)
    nan = float("nan")
    if not (np.isfinite(c) and np.isfinite(p)):
        return {"points": nan, "percent": nan, "z": nan, "critical": crit, "significant": None}
    points = c - p
    percent = points / p * 100.0 if p != 0 else nan
    if not (np.isfinite(sc) and np.isfinite(sp)) or sc < 0 or sp < 0:
        return {"points": points, "percent": percent, "z": nan, "critical": crit,
                "significant": None}
    denom = math.sqrt(sc * sc + sp * sp)
    if denom == 0:
        z = math.copysign(math.inf, points) if points != 0 else 0.0
    else:
        z = points / denom
    return {"points": points, "percent": percent, "z": z, "critical": crit,
            "significant": bool(abs(z) > crit)}


def _bands_desc(bands: Iterable) -> list:
    return sorted((tuple(b) for b in bands), key=lambda b: b[0], reverse=True)


def band(index, bands) -> str | None:
    """Code of the first band (highest min first) whose min ≤ index; None for a missing index
    or one below every band."""
    v = _num(index)
    if not np.isfinite(v):
        return None
    for b in _bands_desc(bands):
        if b[0] <= v:
            return b[1]
    return None


def band_label(code: str | None, lang: str, bands) -> str | None:
    """The band's label in ``lang`` ('zh' or 'en'); None for None."""
    if lang not in ("zh", "en"):
        raise ValueError(f"unknown language {lang!r}; use 'zh' or 'en'")
    if code is None:
        return None
    for b in bands:
        if b[1] == code:
            return b[2] if lang == "zh" else b[3]
    raise ValueError(f"unknown band code {code!r}")


# --------------------------------------------------------------------------------------------
# §9 ranking rows
# --------------------------------------------------------------------------------------------

_HISTORY_COLUMNS = ("year", "level", "code", "name", "index", "se", "n")


def ranking_rows(history: pd.DataFrame, *, year: int, config: IndexConfig) -> pd.DataFrame:
    """The rows of a published ranking for ONE industry (methodology §9).

    ``history``: long frame with columns year, level ('brand' | 'industry'), code, name, index,
    se, n and publishable, holding the brands of one industry and the industry's own row for
    every year measured. A score is shown for a year only if that row is publishable and its
    index is a number; otherwise the year is "not measured". (When ``publishable`` is absent it
    is taken as n ≥ ``config.min_valid_n``; when present it is trusted as published, so a floor
    changed later does not rewrite history.) Rows after ``year`` are ignored.

    Output, one row per brand and one for the industry, each with at least one published score
    up to ``year`` (a brand never published has nothing to show and is left out):

    - code, name (the latest name), level;
    - baseline_year: first year with a published score (Int64);
    - one column per year from the first year in ``history`` to ``year``, named by the year as a
      string ("2023"), holding the score as a float with NaN for NM — typed numbers serve the
      CSV/Parquet export and sorting; :func:`format_ranking_rows` turns NaN into "NM" for display;
    - change_points, change_percent: from ``year``−1 to ``year`` (NaN unless both published);
    - significant: True/False, or None when not measured (see :func:`change`), at
      ``config.significance_level``; mark: "▲"/"▼" for a significant rise/fall, "" otherwise;
    - band: code of the latest score's band (None when NM);
    - n: valid interviews in ``year`` (Int64; shown even when below the floor).

    Sorted by the latest score, highest first, NM last; ties by name then code. The industry's
    row takes its place by its score, marked level='industry'.
    """
    missing = [c for c in _HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise ValueError(f"history lacks column(s) {', '.join(missing)}")
    h = history[history["year"].astype(int) <= int(year)].copy()
    if h.empty:
        raise ValueError(f"history has no rows up to {year}")
    h["year"] = h["year"].astype(int)
    levels = set(h["level"])
    if not levels <= {"brand", "industry"}:
        raise ValueError(f"level must be 'brand' or 'industry' (got {sorted(levels - {'brand', 'industry'})})")
    ind_codes = set(h.loc[h["level"] == "industry", "code"])
    if len(ind_codes) > 1:
        raise ValueError(f"history holds more than one industry: {sorted(ind_codes)}; pass one "
                         f"industry at a time")
    key = ["level", "code", "year"]
    if h.duplicated(key).any():
        dup = h.loc[h.duplicated(key, keep=False), key].drop_duplicates().to_dict("records")
        raise ValueError(f"history has duplicate rows for {dup[:5]}")
    if "publishable" in h.columns:
        pub = h["publishable"].map(lambda v: False if pd.isna(v) else bool(v))
    else:
        pub = pd.to_numeric(h["n"], errors="coerce") >= config.min_valid_n
    idx = pd.to_numeric(h["index"], errors="coerce")
    h["shown"] = idx.where(pub.astype(bool) & idx.notna())
    h["se"] = pd.to_numeric(h["se"], errors="coerce")

    years = list(range(int(h["year"].min()), int(year) + 1))
    ycols = [str(y) for y in years]
    rows = []
    for (lvl, code), g in h.groupby(["level", "code"], sort=False):
        g = g.set_index("year").sort_index()
        shown = g["shown"].reindex(years)
        published = shown.dropna()
        if published.empty:
            continue
        cur = g.loc[year] if year in g.index else None
        prv = g.loc[year - 1] if (year - 1) in g.index else None
        ch = change(shown.get(year, np.nan), cur["se"] if cur is not None else np.nan,
                    shown.get(year - 1, np.nan), prv["se"] if prv is not None else np.nan,
                    level=config.significance_level)
        sig = ch["significant"]
        mark = ""
        if sig:
            mark = MARK_UP if ch["points"] > 0 else MARK_DOWN
        n_cur = pd.to_numeric(pd.Series([cur["n"]]), errors="coerce").iloc[0] if (
            cur is not None) else np.nan
        row = {"code": code, "name": g["name"].iloc[-1], "level": lvl,
               "baseline_year": int(published.index[0])}
        row.update({str(y): float(shown.loc[y]) for y in years})
        row.update({"change_points": ch["points"], "change_percent": ch["percent"],
                    "significant": sig, "mark": mark,
                    "band": band(_published(shown.get(year, np.nan), config), config.bands),
                    "n": n_cur})
        rows.append(row)
    columns = (["code", "name", "level", "baseline_year"] + ycols
               + ["change_points", "change_percent", "significant", "mark", "band", "n"])
    out = pd.DataFrame(rows, columns=columns)
    latest = str(year)
    out = out.sort_values([latest, "name", "code"], ascending=[False, True, True],
                          na_position="last", kind="mergesort").reset_index(drop=True)
    out["baseline_year"] = out["baseline_year"].astype("Int64")
    out["n"] = pd.array(np.round(out["n"].astype(float)), dtype="Int64")
    for c in ycols + ["change_points", "change_percent"]:
        out[c] = out[c].astype(float)
    out["significant"] = out["significant"].astype(object).where(out["significant"].notna(),
                                                                 None)
    out["band"] = out["band"].astype(object).where(out["band"].notna(), None)
    out.attrs["years"] = ycols
    return out


def ranking_year_columns(rows: pd.DataFrame) -> list[str]:
    """The year columns of a :func:`ranking_rows` frame, oldest first."""
    return [c for c in rows.columns if isinstance(c, str) and c.isdigit() and len(c) == 4]


def _published(value, config: IndexConfig) -> float:
    """The score as published: rounded to ``config.published_decimals`` (NaN stays NaN)."""
    return value if value is None or pd.isna(value) else round(float(value),
                                                               config.published_decimals)


def format_ranking_rows(rows: pd.DataFrame, *, decimals: int = 1, nm: str = NM) -> pd.DataFrame:
    """A display/CSV copy of :func:`ranking_rows`: scores as text with ``decimals`` places and
    ``nm`` where not measured; change_points signed ("+2.0"), change_percent signed with "%"
    ("+2.5%"), empty when not measured; significant "yes"/"no"/""; band "" when None.

    Bands and significance are computed from the unrounded scores, so a score shown as "80.0"
    may be 79.96 in band 'satisfied'.
    """
    out = rows.copy()

    def num(v, signed=False, suffix=""):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return ""
        return f"{v:+.{decimals}f}{suffix}" if signed else f"{v:.{decimals}f}{suffix}"

    for c in ranking_year_columns(rows):
        out[c] = [nm if pd.isna(v) else f"{v:.{decimals}f}" for v in rows[c]]
    out["change_points"] = [num(v, True) for v in rows["change_points"]]
    out["change_percent"] = [num(v, True, "%") for v in rows["change_percent"]]
    out["significant"] = ["" if v is None else ("yes" if v else "no")
                          for v in rows["significant"]]
    out["band"] = ["" if v is None else v for v in rows["band"]]
    out["n"] = ["" if pd.isna(v) else str(int(v)) for v in rows["n"]]
    out["baseline_year"] = ["" if pd.isna(v) else str(int(v)) for v in rows["baseline_year"]]
    return out
