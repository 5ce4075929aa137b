"""Partial least squares path modelling (PLS-PM): ``PLS(spec, ...).fit(data) → PLSResults``.

The algorithm is Wold's PLS path-modelling procedure in the form of Lohmöller (1989, *Latent
Variable Path Modeling with Partial Least Squares*) and Tenenhaus, Esposito Vinzi, Chatelin &
Lauro (2005, "PLS path modeling", *CSDA* 48:159–205), written from those descriptions. The
numerical core lives in :mod:`ncsi.plscore` (batched, shared with the bootstrap of
:mod:`ncsi.inference`); the diagnostics in :mod:`ncsi.assessment`.

1. **Data.** The spec's indicators are taken from the frame. Missing values: ``missing="casewise"``
   (default) drops every row with a missing indicator; ``missing="mean"`` replaces a missing value
   by the indicator's (weighted) mean over the rows that answered it (rows answering none of the
   model's indicators are dropped). ``PLSResults.missing_report`` gives, per block, the rows with
   the block complete, the values missing and the values imputed.
   **Case weights** (``weights="column"``) weight every mean, variance, covariance and regression:
   mean = Σwx/Σw, covariance divisor Σw − 1 (frequency weights: weights of one give the
   unweighted result exactly and a weight of two equals a duplicated row). Scale survey weights to
   mean one so that Σw is the sample size and the regression degrees of freedom are meaningful.
   Each indicator is centred and, with ``scaled=True`` (default), divided by its standard
   deviation; ``scaled=False`` only centres. S is the indicators' covariance (correlation when
   scaled).
2. **Outer estimation.** A construct's score is Y_j = X_j w_j, with w_j normalised so that
   var(Y_j) = w_j' S_jj w_j = 1. Start: equal weights.
3. **Inner estimation.** The inner proxy of construct j is Z_j = Σ_i e_ij Y_i over the constructs i
   joined to j by a structural path (either direction), with inner weights e_ij from the scheme:

   - ``centroid``: e_ij = sign(cor(Y_i, Y_j));
   - ``factorial``: e_ij = cor(Y_i, Y_j);
   - ``path`` (default): for a predecessor i of j, e_ij is the coefficient of Y_i in the OLS
     regression of Y_j on all of j's predecessors; for a successor i of j, e_ij = cor(Y_i, Y_j).

4. **New outer weights.** Mode A (reflective, ``=~``): w_j = cov(X_j, Z_j). Mode B (composite,
   ``<~``): w_j = S_jj⁻¹ cov(X_j, Z_j). Normalise as in 2.
5. Repeat 3–4 until the largest absolute change of any outer weight is below ``tol`` (or
   ``max_iter`` updates were made). Every quantity is a function of S and the weights, so one
   iteration costs O(p²·J), independent of n.
6. **Sign.** PLS fixes a construct only up to sign. After convergence each construct's sign is
   chosen so that most of its indicators load positively; when as many load negatively as
   positively, so that the sum of its loadings is positive. Its weights, scores and the signs of
   its paths follow. (The bootstrap applies the same rule to every resample.)
7. **Consistent PLS** (``consistent=True``, Dijkstra & Henseler 2015): the reliability ρA of each
   reflective block's score corrects the construct correlations (r_ij / √(ρA_i ρA_j)) and the
   loadings (λ = c·w); paths and R² are then estimated from the corrected correlations.
   Composite (Mode B) and single-item blocks keep ρA = 1.
8. **Inner model.** Each endogenous construct is regressed (OLS) on its predecessors: path
   coefficients, standard errors, t (df = Σw − k − 1) and R².

Variance convention (read this before comparing with another program):
    Construct scores are standardised with **divisor n − 1** (sample variance 1, like
    ``pandas.Series.std()``). ``outer_weights`` turn the standardised indicators (divisor n − 1;
    centred only when ``scaled=False``) into these scores. With ``scaled=False`` R plspm reports
    weights for scores of population variance 1 (divisor n), larger by √(n/(n−1));
    ``PLSResults.outer_weights_for("n")`` and ``scores_for("n")`` give that convention.

Errors: every unusable input raises :class:`~ncsi.errors.EstimationError` naming the indicator
(column) and its construct and saying what to do (an indicator absent from the data raises the
spec's :class:`~ncsi.errors.SpecError`). A bad option raises :class:`PLSOptionError`, which is both
an ``EstimationError`` and a ``ValueError``.

Non-convergence is *reported*, not raised: ``PLSResults.converged`` is False and
``PLSResults.warnings`` says so, naming the construct whose weights still changed most. With
``PLS(..., strict=True)`` it raises ``EstimationError`` instead.
"""

from __future__ import annotations

import math
from functools import cached_property
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd

from . import assessment, plscore
from .errors import EstimationError
from .spec import ModelSpec

__all__ = ["MISSING", "PLS", "SCHEMES", "PLSOptionError", "PLSResults"]

SCHEMES = ("path", "centroid", "factorial")
MISSING = ("casewise", "mean")


class PLSOptionError(EstimationError, ValueError):
    """An invalid option given to :class:`PLS` (a programming error, also a ``ValueError``)."""


def _check_scale(scale) -> tuple[float, float] | None:
    if scale is None:
        return None
    try:
        lo, hi = (float(v) for v in scale)
    except (TypeError, ValueError):
        raise PLSOptionError(f"scale must be a pair (lowest, highest answer), e.g. (1, 10), not "
                             f"{scale!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise PLSOptionError(f"scale must be two finite numbers with lowest < highest, not "
                             f"{scale!r}")
    return lo, hi


# ------------------------------------------------------------------------------------------------
# the estimator
# ------------------------------------------------------------------------------------------------

class PLS:
    """PLS path-model estimator for a :class:`~ncsi.spec.ModelSpec` (see the module docstring).

    Parameters
    ----------
    spec : the model (blocks with modes A/B, structural paths).
    scheme : inner weighting scheme, ``"path"`` (default), ``"centroid"`` or ``"factorial"``.
    scaled : standardise indicators (default); ``False`` only centres them.
    tol : stop when the largest absolute change of any outer weight is below ``tol``.
    max_iter : at most this many outer-weight updates.
    consistent : consistent PLS (PLSc) for the reflective blocks.
    missing : ``"casewise"`` (default) or ``"mean"`` replacement.
    weights : name of a column of case (survey) weights; ``None`` weighs every row one.
    scale : (lowest, highest) answer of the items, for the 0–100 indices (e.g. ``(1, 10)``).
    strict : raise :class:`EstimationError` when the iterations do not converge, instead of
        returning results with ``converged=False`` and a warning.
    """

    def __init__(self, spec: ModelSpec, scheme: str = "path", scaled: bool = True,
                 tol: float = 1e-7, max_iter: int = 300, *, consistent: bool = False,
                 missing: str = "casewise", weights: str | None = None,
                 scale: tuple[float, float] | None = None, strict: bool = False):
        if not isinstance(spec, ModelSpec):
            raise PLSOptionError(f"PLS needs a ModelSpec (from ncsi.spec.parse_model or "
                                 f"load_model), not {type(spec).__name__}")
        if not isinstance(scheme, str) or scheme.strip().lower() not in SCHEMES:
            raise PLSOptionError(f"unknown inner weighting scheme {scheme!r}; use one of "
                                 f"{', '.join(SCHEMES)}")
        for name, flag in (("scaled", scaled), ("consistent", consistent), ("strict", strict)):
            if not isinstance(flag, (bool, np.bool_)):
                raise PLSOptionError(f"{name} must be True or False, not {flag!r}")
        if (isinstance(tol, bool) or not isinstance(tol, Real) or not math.isfinite(tol)
                or tol <= 0):
            raise PLSOptionError(f"tol must be a positive number (e.g. 1e-7), not {tol!r}")
        if isinstance(max_iter, bool) or not isinstance(max_iter, Integral) or max_iter < 1:
            raise PLSOptionError(f"max_iter must be a positive integer (e.g. 300), not "
                                 f"{max_iter!r}")
        if not isinstance(missing, str) or missing.strip().lower() not in MISSING:
            raise PLSOptionError(f"missing must be one of {', '.join(MISSING)}, not {missing!r}")
        if spec.covariances:
            c = spec.covariances[0]
            raise EstimationError(
                f"the model frees covariances ('{c.a} ~~ {c.b}', line {c.line}); PLS path "
                f"modelling has no such parameter — remove the '~~' lines or fit the model with "
                f"covariance-based SEM (--method cbsem)",
                message_zh="PLS 路径模型不支持协方差（~~）；请删除这些行或改用 CB-SEM（--method cbsem）")
        if weights is not None and not isinstance(weights, str):
            raise PLSOptionError(f"weights must be the name of a column, not {weights!r}")
        if weights is not None and weights in spec.indicators:
            raise PLSOptionError(f"the weight column {weights!r} is an indicator of construct "
                                 f"{spec.construct_of(weights)}; use a separate weight column")
        self.spec = spec
        self.scheme = scheme.strip().lower()
        self.scaled = bool(scaled)
        self.tol = float(tol)
        self.max_iter = int(max_iter)
        self.consistent = bool(consistent)
        self.missing = missing.strip().lower()
        self.weights = weights
        self.scale = _check_scale(scale)
        self.strict = bool(strict)

    def __repr__(self) -> str:
        extra = "".join([", consistent=True" if self.consistent else "",
                         f", missing={self.missing!r}" if self.missing != "casewise" else "",
                         f", weights={self.weights!r}" if self.weights else ""])
        return (f"PLS({self.spec.name!r}, scheme={self.scheme!r}, scaled={self.scaled}, "
                f"tol={self.tol:g}, max_iter={self.max_iter}{extra})")

    @property
    def settings(self) -> dict:
        return {"scheme": self.scheme, "scaled": self.scaled, "tol": self.tol,
                "max_iter": self.max_iter, "consistent": self.consistent,
                "missing": self.missing, "weights": self.weights,
                "scale": list(self.scale) if self.scale else None,
                "modes": {b.name: b.mode for b in self.spec.blocks}}

    # -- fitting ---------------------------------------------------------------------------------
    def fit(self, data: pd.DataFrame) -> PLSResults:
        """Estimate the model on ``data`` (a DataFrame holding at least the spec's indicators)."""
        spec = self.spec
        if not isinstance(data, pd.DataFrame):
            raise EstimationError(f"PLS.fit needs a pandas DataFrame with the indicator columns, "
                                  f"not {type(data).__name__}")
        spec.check_data(data.columns)
        _check_connected(spec)
        lay = plscore.Layout.from_spec(spec)
        raw = _numeric_matrix(data, spec)                       # n_all × p float, NaN = missing
        case_w = _case_weights(data, self.weights) if self.weights else None
        x, case_w, index, n_dropped, report = _missing(raw, case_w, data.index, spec, lay,
                                                       self.missing)
        del raw
        n = x.shape[0]
        _check_rows(spec, x if self.missing == "casewise" else None, n, n_dropped, report)
        mean, cov, total = plscore.weighted_moments(x, case_w)
        if case_w is not None and not total > lay.p + 1:
            raise EstimationError(
                f"the case weights in column '{self.weights}' sum to {total:g} over the {n} rows "
                f"used; they are taken as frequency weights (a weight of 2 counts a row twice), "
                f"so scale them to mean one (divide by their mean)",
                message_zh=f"权重列 '{self.weights}' 之和为 {total:g}；权重按频数权重处理，"
                           f"请将其缩放为均值 1")
        sd = np.sqrt(np.diag(cov))
        _check_constant(spec, x, sd, mean, n)
        s = cov / np.outer(sd, sd) if self.scaled else cov
        s = (s + s.T) / 2.0
        _check_mode_b(spec, s, lay)

        est = plscore.estimate(s[None], lay, scheme=self.scheme, tol=self.tol,
                               max_iter=self.max_iter)
        status, j = int(est.status[0]), int(est.construct[0])
        if status == plscore.DEGENERATE:
            _degenerate(spec, max(j, 0), self.scheme)
        if status == plscore.COLLINEAR:
            _collinear(spec, j, est.corr[0])
        if status == plscore.SINGULAR_BLOCK:        # caught by _check_mode_b already
            raise EstimationError(f"the indicators of composite construct {spec.constructs[j]} "
                                  f"are perfectly collinear; drop one of them")
        converged = status == plscore.OK
        warnings: list[str] = []
        if not converged:
            worst = spec.constructs[j]
            msg = (f"the PLS iterations did not converge within {self.max_iter} iterations "
                   f"(largest change of an outer weight {est.delta[0]:.3g}, tolerance "
                   f"{self.tol:g}; construct {worst} changed most); the estimates are not "
                   f"reliable — raise max_iter, try another scheme or check the model")
            if self.strict:
                raise EstimationError(msg, message_zh=f"PLS 迭代在 {self.max_iter} 次内未收敛"
                                                      f"（构念 {worst} 的权重变化最大）；"
                                                      f"请增大 max_iter 或检查模型")
            warnings.append(msg)
        return PLSResults(spec=spec, settings=self.settings, layout=lay, x=x, case_weights=case_w,
                          s=s, w=est.w[0], score_corr=est.corr[0], mean=mean, sd=sd,
                          total_weight=total, index=index, n_dropped=n_dropped,
                          missing_report=report, converged=converged,
                          iterations=int(est.iterations[0]), warnings=warnings)


# ------------------------------------------------------------------------------------------------
# input checks
# ------------------------------------------------------------------------------------------------

def _where(spec: ModelSpec, column: str) -> str:
    return f"column '{column}' (indicator of construct {spec.construct_of(column)})"


def _numeric_matrix(data: pd.DataFrame, spec: ModelSpec) -> np.ndarray:
    """The indicator columns as one float matrix (NaN = missing), or a named EstimationError."""
    ind = spec.indicators
    arr = np.empty((len(data), len(ind)), order="F")       # column-major: columns fill fast
    for k, name in enumerate(ind):
        col = data.loc[:, name]
        if isinstance(col, pd.DataFrame):
            raise EstimationError(
                f"{_where(spec, name)} appears {col.shape[1]} times in the data; give every "
                f"column a unique name",
                message_zh=f"数据中列 '{name}' 出现了 {col.shape[1]} 次；请使列名唯一")
        arr[:, k] = _to_float(col, name, spec)
    if not len(data) or np.isfinite(arr.sum(axis=0)).all():    # no missing or infinite value
        return arr
    for k, name in enumerate(ind):
        col = arr[:, k]
        if np.isnan(col).all():
            raise EstimationError(
                f"{_where(spec, name)} has no values: every row is missing; check the column "
                f"(wrong file or missing codes recoded) or remove the indicator from the model",
                message_zh=f"构念 {spec.construct_of(name)} 的指标列 '{name}' 全部缺失；"
                           f"请检查数据或从模型中删除该指标")
    if not np.isfinite(np.nansum(arr, axis=0)).all():
        for k, name in enumerate(ind):
            bad = np.flatnonzero(np.isinf(arr[:, k]))
            if bad.size:
                row = data.index[bad[0]]
                raise EstimationError(
                    f"{_where(spec, name)} holds an infinite value ({arr[bad[0], k]}) at row "
                    f"index {row!r}" + (f" and {bad.size - 1} other row(s)" if bad.size > 1
                                        else "")
                    + "; replace it with a valid answer or leave the cell empty (missing)",
                    message_zh=f"构念 {spec.construct_of(name)} 的指标列 '{name}' 在行 {row!r} "
                               f"含无穷值；请改为有效值或留空")
    return arr


def _case_weights(data: pd.DataFrame, column: str) -> np.ndarray:
    if column not in data.columns:
        raise EstimationError(
            f"the weight column '{column}' is not in the data; name an existing column of case "
            f"weights or fit without weights",
            message_zh=f"数据中没有权重列 '{column}'；请指定已有的权重列或不使用权重")
    col = data.loc[:, column]
    if isinstance(col, pd.DataFrame):
        raise EstimationError(f"the weight column '{column}' appears {col.shape[1]} times in the "
                              f"data; give every column a unique name")
    try:
        w = col.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        w = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = np.flatnonzero(~(np.isfinite(w) & (w >= 0)))
    if bad.size:
        v = col.iloc[bad[0]]
        what = "is missing" if pd.isna(v) else f"is {v}"
        raise EstimationError(
            f"the case weight in column '{column}' {what} at row index {data.index[bad[0]]!r}"
            + (f" (and {bad.size - 1} other row(s))" if bad.size > 1 else "")
            + "; every weight must be a finite number ≥ 0 — fix the weights or drop those rows",
            message_zh=f"权重列 '{column}' 在行 {data.index[bad[0]]!r} 的值无效（缺失、负数或"
                       f"非数值）；权重必须是有限的非负数")
    return w


def _missing(raw: np.ndarray, case_w, index: pd.Index, spec: ModelSpec, lay, how: str):
    """Apply the missing-data treatment: (x, weights, index, n_dropped, per-block report)."""
    n_all = raw.shape[0]
    if n_all == 0 or np.isfinite(raw.sum(axis=0)).all():       # nothing missing
        report = pd.DataFrame(
            {"indicators": [len(b) for b in lay.blocks], "rows_complete": n_all,
             "values_missing": 0, "rows_used": n_all, "values_imputed": 0},
            index=pd.Index(spec.constructs, name="construct"))
        report.attrs["missing_by_column"] = np.zeros(lay.p, dtype=int)
        return raw, case_w, index, 0, report
    miss = np.isnan(raw)
    rows_complete = [int((~miss[:, idx].any(axis=1)).sum()) for idx in lay.blocks]
    values_missing = [int(miss[:, idx].sum()) for idx in lay.blocks]
    if how == "casewise":
        keep = ~miss.any(axis=1)
    else:
        keep = ~miss.all(axis=1)
    if keep.all():
        x = raw
    else:
        x = raw[keep]
        if case_w is not None:
            case_w = case_w[keep]
        index = index[keep]
    imputed = [0] * lay.J
    if how == "mean":
        m = miss[keep] if not keep.all() else miss
        if m.any():
            wts = np.ones(x.shape[0]) if case_w is None else case_w
            for k in np.flatnonzero(m.any(axis=0)):
                ok = ~m[:, k]
                tot = wts[ok].sum()
                if not tot > 0:
                    name = spec.indicators[k]
                    raise EstimationError(
                        f"{_where(spec, name)} has no answer with a positive weight, so its mean "
                        f"is not defined for mean replacement; check the column and the weights",
                        message_zh=f"指标列 '{name}' 没有权重为正的有效回答，无法均值插补")
                x[~ok, k] = (wts[ok] @ x[ok, k]) / tot
            for j, idx in enumerate(lay.blocks):
                imputed[j] = int(m[:, idx].sum())
    n = x.shape[0]
    report = pd.DataFrame(
        {"indicators": [len(b) for b in lay.blocks], "rows_complete": rows_complete,
         "values_missing": values_missing, "rows_used": n, "values_imputed": imputed},
        index=pd.Index(spec.constructs, name="construct"))
    report.attrs["missing_by_column"] = miss.sum(axis=0)
    return x, case_w, index, int(n_all - n), report
def _to_float(col: pd.Series, name: str, spec: ModelSpec) -> np.ndarray:
    dtype = col.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        raise EstimationError(
            f"{_where(spec, name)} is categorical; convert it to numeric answer codes "
            f"(e.g. col.astype(float)) before estimation",
            message_zh=f"指标列 '{name}' 是分类类型；请先转换为数值")
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        if pd.api.types.is_complex_dtype(dtype):
            raise EstimationError(f"{_where(spec, name)} holds complex numbers; PLS needs real "
                                  f"numbers", message_zh=f"指标列 '{name}' 含复数；请使用实数")
        # numpy dtypes and pandas nullable extension dtypes (Int64, Float64, boolean): NA → NaN
        return col.to_numpy(dtype=float, na_value=np.nan)
    if pd.api.types.is_string_dtype(dtype) or dtype == object:
        values = col.to_numpy(dtype=object)
        out = np.full(len(values), np.nan)
        first_text: tuple[int, Any] | None = None
        for pos, v in enumerate(values):
            if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
                continue
            if isinstance(v, (Real, np.number)) and not isinstance(v, (bool, np.bool_)):
                out[pos] = float(v)
                continue
            try:                                  # numbers stored as text ('7')
                float(str(v))
            except ValueError:                    # real text: report this one
                first_text = (pos, v)
                break
            if first_text is None:
                first_text = (pos, v)
        if first_text is not None:
            pos, v = first_text
            raise EstimationError(
                f"{_where(spec, name)} holds text ({v!r} at row index {col.index[pos]!r}); PLS "
                f"needs numbers — convert the column to numeric answer codes (pandas.to_numeric) "
                f"and recode text answers (e.g. \"don't know\") to missing",
                message_zh=f"构念 {spec.construct_of(name)} 的指标列 '{name}' 含文本"
                           f"（行 {col.index[pos]!r}：{v!r}）；请转换为数值，并将文本答案"
                           f"记为缺失")
        return out
    raise EstimationError(
        f"{_where(spec, name)} has type {dtype}, which is not numeric; convert it to numeric "
        f"answer codes", message_zh=f"指标列 '{name}' 的类型 {dtype} 不是数值；请转换为数值")


def _check_connected(spec: ModelSpec) -> None:
    joined = {p.source for p in spec.paths} | {p.target for p in spec.paths}
    for b in spec.blocks:
        if b.name not in joined:
            raise EstimationError(
                f"construct {b.name} has no structural path to any other construct, so PLS has "
                f"no inner proxy for it and its score would have zero variance; add a path "
                f"(e.g. 'SAT ~ {b.name}') or remove the block",
                message_zh=f"构念 {b.name} 与其他构念之间没有结构路径，无法估计；请添加路径或删除"
                           f"该构念")




def _check_rows(spec: ModelSpec, x: np.ndarray | None, n: int, n_dropped: int,
                report: pd.DataFrame) -> None:
    largest = max(spec.blocks, key=lambda b: len(b.indicators))
    need = max(3, len(largest.indicators) + 1)
    if n >= need:
        return
    miss = report.attrs["missing_by_column"]
    order = np.argsort(-miss, kind="stable")
    worst = [f"{spec.indicators[k]} ({int(miss[k])} missing)" for k in order[:3] if miss[k] > 0]
    hint = f"; the columns with most missing values: {', '.join(worst)}" if worst else ""
    raise EstimationError(
        f"only {n} {'complete' if x is not None else 'usable'} row(s) ({n_dropped} dropped "
        f"for missing values); PLS needs at least "
        f"{need} — more than the {len(largest.indicators)} indicators of the largest block "
        f"(construct {largest.name}) and at least 3{hint}; collect more responses, remove "
        f"indicators with many missing answers or use missing='mean'",
        message_zh=f"可用行只有 {n} 行（{n_dropped} 行因缺失被删除），至少需要 {need} 行"
                   f"（最大的构念 {largest.name} 有 {len(largest.indicators)} 个指标）")


def _check_constant(spec: ModelSpec, x: np.ndarray, sd: np.ndarray, mean: np.ndarray,
                    n: int) -> None:
    suspect = np.flatnonzero(~(sd > 1e-7 * np.maximum(1.0, np.abs(mean))))
    for k in suspect:
        name = spec.indicators[k]
        lo, hi = x[:, k].min(), x[:, k].max()
        if lo == hi or not sd[k] > 1e-12 * max(1.0, abs(mean[k])):
            c = spec.construct_of(name)
            raise EstimationError(
                f"indicator {name} of construct {c} has the same value ({lo:g}) in all "
                f"{n} rows used (zero variance); it carries no information — remove it "
                f"from the block of {c} or check the data",
                message_zh=f"构念 {c} 的指标 {name} 在全部 {n} 个可用行中取值相同（方差为零）；"
                           f"请从模型中删除该指标或检查数据")


def _check_mode_b(spec: ModelSpec, s: np.ndarray, lay) -> None:
    for b, idx in zip(spec.blocks, lay.blocks):
        if b.mode != "B" or len(idx) < 2:
            continue
        sub = s[np.ix_(idx, idx)]
        d = np.sqrt(np.diag(sub))
        r = sub / np.outer(d, d)
        vals, vecs = np.linalg.eigh(r)
        if vals[0] > plscore.SINGULAR_RTOL * vals[-1]:
            continue
        v = np.abs(vecs[:, 0])
        involved = [b.indicators[k] for k in np.flatnonzero(v > 1e-3 * v.max())]
        raise EstimationError(
            f"the indicators {', '.join(involved)} of composite (Mode B) construct {b.name} are "
            f"perfectly collinear on the rows used (one is a linear combination of the others), "
            f"so their regression weights are not defined; drop one of them or make the block "
            f"reflective ('{b.name} =~ ...')",
            message_zh=f"构念 {b.name}（B 模式）的指标 {', '.join(involved)} 完全共线；"
                       f"请删除其中一个或改为反映型（=~）")


def _degenerate(spec: ModelSpec, j: int, scheme: str):
    name = spec.constructs[j]
    neighbours = sorted(set(spec.predecessors(name)) | set(spec.successors(name)),
                        key=spec.constructs.index)
    raise EstimationError(
        f"the score of construct {name} has zero variance under the {scheme} scheme: none of "
        f"its indicators correlates with its inner proxy (built from {', '.join(neighbours)}), "
        f"because its indicators are uncorrelated with those of the constructs it is joined to; "
        f"check its indicators and paths, or model it differently",
        message_zh=f"构念 {name} 的得分方差为零：其指标与相邻构念 {', '.join(neighbours)} 不相关；"
                   f"请检查指标与路径")


def _collinear(spec: ModelSpec, j: int, corr: np.ndarray | None = None):
    target = spec.constructs[j]
    names = list(spec.predecessors(target))
    involved, detail = _collinear_scores(spec, names, corr)
    if involved:
        raise EstimationError(
            f"the scores of {' and '.join(involved)} are perfectly collinear ({detail}), so "
            f"the regression of {target} on its predecessors ({', '.join(names)}) is not "
            f"defined; merge those constructs or remove one of the paths into {target}",
            message_zh=f"构念 {'、'.join(involved)} 的得分完全共线（{detail}），构念 {target} "
                       f"对其前因构念（{', '.join(names)}）的回归无定义；请合并构念或删除其中"
                       f"一条路径")
    raise EstimationError(
        f"the scores of {', '.join(names)} (the predecessors of construct {target}) are "
        f"perfectly collinear, so the regression of {target} on them is not defined; merge "
        f"those constructs or remove one of the paths into {target}",
        message_zh=f"构念 {target} 的前因构念 {', '.join(names)} 的得分完全共线；请合并构念或"
                   f"删除其中一条路径")


def _collinear_scores(spec: ModelSpec, names: list[str], corr: np.ndarray | None
                      ) -> tuple[list[str], str]:
    """Which of the predecessors ``names`` carry their collinearity, from the construct score
    correlations ``corr`` (J × J): those of the pairs correlated ±1, else those of the smallest
    eigenvalue's vector; and the detail for the message (([], "") when it cannot be told)."""
    if corr is None:
        return [], ""
    idx = [spec.constructs.index(c) for c in names]
    sub = np.asarray(corr, dtype=float)[np.ix_(idx, idx)]
    if not np.isfinite(sub).all():
        return [], ""
    pairs = [(a, b) for a in range(len(names)) for b in range(a + 1, len(names))
             if abs(sub[a, b]) >= 1 - 1e-8]
    if pairs:
        involved = [names[k] for k in sorted({k for p in pairs for k in p})]
        return involved, ", ".join(f"{names[a]}–{names[b]} r = {sub[a, b]:.4f}"
                                   for a, b in pairs)
    vals, vecs = np.linalg.eigh(sub)
    v = np.abs(vecs[:, 0])
    involved = [names[k] for k in sorted(np.flatnonzero(v > 0.1 * v.max()))]
    if len(involved) < 2:
        return [], ""
    return involved, f"smallest eigenvalue {vals[0]:.2g} of their correlation matrix"


def _divisor_factor(divisor: Any, n: float) -> float:
    """Factor turning a divisor-(n−1) standard score into one with the requested divisor."""
    key = str(divisor).replace(" ", "").lower()
    if key == "n":
        return math.sqrt(n / (n - 1))
    if key in ("n-1", "n−1"):
        return 1.0
    raise ValueError(f"divisor must be 'n' or 'n-1', not {divisor!r}")


# ------------------------------------------------------------------------------------------------
# results
# ------------------------------------------------------------------------------------------------

class PLSResults:
    """The estimates of one :meth:`PLS.fit` (numpy inside; pandas objects at the boundary).

    Everything beyond the outer weights is computed on first access. Scores have sample variance
    1 (divisor n − 1, or Σw − 1 with case weights); see the module docstring for the weight
    convention and :meth:`outer_weights_for` / :meth:`scores_for` for divisor n.
    """

    def __init__(self, *, spec: ModelSpec, settings: dict, layout, x: np.ndarray,
                 case_weights: np.ndarray | None, s: np.ndarray, w: np.ndarray,
                 score_corr: np.ndarray, mean: np.ndarray, sd: np.ndarray, total_weight: float,
                 index: pd.Index, n_dropped: int, missing_report: pd.DataFrame, converged: bool,
                 iterations: int, warnings: list[str]):
        self.spec = spec
        self.settings = settings
        self.layout = layout
        self.n = int(x.shape[0])
        self.sum_weights = float(total_weight)
        self.n_dropped = n_dropped
        self.missing_report = missing_report
        self.converged = converged
        self.iterations = iterations
        self.warnings = warnings
        self._x, self._case_w, self._s, self._w = x, case_weights, s, w
        self._score_corr, self._mean, self._sd, self._index = score_corr, mean, sd, index
        self._constructs = list(spec.constructs)
        self._indicators = list(spec.indicators)
        self._scale = tuple(settings["scale"]) if settings.get("scale") else None
        if settings.get("consistent"):
            rho, lam, cc = plscore.consistent(s[None], w[None], score_corr[None], layout)
            self._rho_a, self._lam_c, self._corr = rho[0], lam[0], cc[0]
            bad = [c for c, r in zip(self._constructs, self._rho_a) if not 0 < r <= 1]
            if bad:
                self.warnings.append(
                    f"consistent PLS: the reliability ρA of {', '.join(bad)} is not in (0, 1], "
                    f"so the corrected correlations of those constructs are inadmissible; check "
                    f"their indicators (see verify())")
        else:
            self._rho_a, self._lam_c, self._corr = None, None, score_corr
        paths, r2, ok = plscore.regressions(self._corr[None], layout)
        self._path_arr, self._r2_arr = paths[0], r2[0]
        if not ok[0]:
            bad = [j for j in layout.endogenous if np.isnan(self._path_arr[:, j]).any()]
            if not settings.get("consistent"):
                _collinear(spec, bad[0], self._corr)
            names = ", ".join(self._constructs[j] for j in bad)
            self.warnings.append(
                f"consistent PLS: the regression of {names} is not defined (the corrected "
                f"correlations of the predecessors are collinear or undefined); those paths "
                f"and R² are missing — see verify()")

    def __repr__(self) -> str:
        return (f"<PLSResults {self.spec.name}: n={self.n}, dropped={self.n_dropped}, "
                f"converged={self.converged} in {self.iterations} iterations>")

    # -- helpers ---------------------------------------------------------------------------------
    def _block_series(self, values: np.ndarray, name: str) -> pd.Series:
        """A p × J matrix (own block entries) or a p-vector as a (construct, indicator) Series."""
        idx = pd.MultiIndex.from_tuples(
            [(b.name, i) for b in self.spec.blocks for i in b.indicators],
            names=["construct", "indicator"])
        if values.ndim == 2:
            vals = np.concatenate([values[blk, j] for j, blk in enumerate(self.layout.blocks)])
        else:
            vals = np.concatenate([values[blk] for blk in self.layout.blocks])
        return pd.Series(vals, index=idx, name=name)

    def _square(self, m: np.ndarray) -> pd.DataFrame:
        idx = pd.Index(self._constructs, name="construct")
        return pd.DataFrame(m, index=idx, columns=idx.copy())

    @cached_property
    def _sdx(self) -> np.ndarray:
        return np.sqrt(np.diag(self._s))

    @cached_property
    def _sw(self) -> np.ndarray:
        return self._s @ self._w                        # cov(x_k, Y_j)

    @cached_property
    def _loading_arr(self) -> np.ndarray:
        """p-vector: each indicator's loading on its own construct (consistent under PLSc)."""
        lay = self.layout
        own = np.empty(lay.p)
        for j, idx in enumerate(lay.blocks):
            own[idx] = self._sw[idx, j]
        if self._lam_c is not None:
            own = self._lam_c.copy()
        return own / self._sdx

    def _block_loadings(self) -> list[np.ndarray]:
        return [self._loading_arr[idx] for idx in self.layout.blocks]

    @cached_property
    def _r(self) -> np.ndarray:
        """Indicator correlation matrix."""
        return self._s / np.outer(self._sdx, self._sdx)

    # -- outer model -----------------------------------------------------------------------------
    @cached_property
    def outer_weights(self) -> pd.Series:
        """Weights (construct, indicator) turning standardised (or, unscaled, centred) indicators
        into construct scores of sample variance 1 (divisor n − 1)."""
        return self._block_series(self._w, "weight")

    def outer_weights_for(self, divisor: str = "n") -> pd.Series:
        """The outer weights for scores standardised with ``divisor`` ``"n"`` or ``"n-1"``.

        With ``scaled=True`` the weights are unchanged; with ``scaled=False`` (centred
        indicators) divisor n multiplies them by √(n/(n−1)) — the convention of R plspm.
        """
        f = _divisor_factor(divisor, self.sum_weights) if not self.settings["scaled"] else 1.0
        return self.outer_weights * f

    @cached_property
    def loadings(self) -> pd.Series:
        """Correlation of each indicator with its construct's score, (construct, indicator).
        Under consistent PLS the reflective blocks' consistent loadings (Dijkstra–Henseler)."""
        return self._block_series(self._loading_arr, "loading")

    @cached_property
    def cross_loadings(self) -> pd.DataFrame:
        """Correlation of every indicator (rows) with every construct score (columns)."""
        return pd.DataFrame(self._sw / self._sdx[:, None],
                            index=pd.Index(self._indicators, name="indicator"),
                            columns=pd.Index(self._constructs, name="construct"))

    # -- scores ----------------------------------------------------------------------------------
    @cached_property
    def scores(self) -> pd.DataFrame:
        """Standardised construct scores (mean 0, variance 1 with divisor n − 1, weighted with
        case weights), indexed by the original row index of the rows used."""
        div = self._sd if self.settings["scaled"] else np.ones_like(self._sd)
        a = self._w / div[:, None]
        vals = self._x @ a - (self._mean @ a)
        return pd.DataFrame(vals, index=self._index,
                            columns=pd.Index(self._constructs, name="construct"))

    def scores_for(self, divisor: str = "n") -> pd.DataFrame:
        """The scores standardised with ``divisor`` ``"n"`` (R plspm) or ``"n-1"``."""
        return self.scores * _divisor_factor(divisor, self.sum_weights)

    @cached_property
    def item_mean(self) -> pd.Series:
        """(Weighted) mean of each indicator on the rows used (raw scale)."""
        return pd.Series(self._mean, index=pd.Index(self._indicators, name="indicator"),
                         name="mean")

    @cached_property
    def item_sd(self) -> pd.Series:
        """(Weighted) standard deviation (divisor n − 1) of each indicator (raw scale)."""
        return pd.Series(self._sd, index=pd.Index(self._indicators, name="indicator"),
                         name="sd")

    @cached_property
    def construct_corr(self) -> pd.DataFrame:
        """Correlations between the constructs: of the scores, or under consistent PLS the
        corrected (disattenuated) correlations the paths are estimated from."""
        return self._square(self._corr)

    @cached_property
    def score_corr(self) -> pd.DataFrame:
        """Correlations between the construct scores (uncorrected, also under PLSc)."""
        return self._square(self._score_corr)

    # -- inner model -----------------------------------------------------------------------------
    @cached_property
    def path_se(self) -> dict[str, pd.DataFrame]:
        """Per endogenous construct, its OLS table: index = predecessors, columns ``estimate``,
        ``std_error``, ``t``, ``p`` (two-sided, t distribution with Σw − k − 1 df; the intercept
        is 0 because scores are centred and is not listed). Under consistent PLS the formula
        is applied to the corrected correlations — prefer the bootstrap there."""
        from scipy.special import stdtr

        out = {}
        for j in self.layout.endogenous:
            pred = self.layout.preds[j]
            beta = self._path_arr[pred, j]
            r2 = self._r2_arr[j]
            k = pred.size
            df = self.sum_weights - k - 1
            try:
                inv = np.linalg.inv(self._corr[np.ix_(pred, pred)])
            except np.linalg.LinAlgError:
                inv = np.full((k, k), np.nan)
            if df > 0:
                with np.errstate(divide="ignore", invalid="ignore"):
                    se = np.sqrt(max(1.0 - r2, 0.0) / df * np.diag(inv))
                    t = beta / se
                pval = 2.0 * stdtr(df, -np.abs(t))
            else:
                se = t = pval = np.full(k, np.nan)
            out[self._constructs[j]] = pd.DataFrame(
                {"estimate": beta, "std_error": se, "t": t, "p": pval},
                index=pd.Index([self._constructs[i] for i in pred], name="from"))
        return out

    @cached_property
    def paths(self) -> pd.DataFrame:
        """Path coefficients in long form (spec order): ``from``, ``to``, ``estimate``,
        ``std_error``, ``t``, ``p`` (the OLS regression statistics of :attr:`path_se`)."""
        rows = []
        for p in self.spec.paths:
            r = self.path_se[p.target].loc[p.source]
            rows.append((p.source, p.target, float(r["estimate"]), float(r["std_error"]),
                         float(r["t"]), float(r["p"])))
        return pd.DataFrame(rows, columns=["from", "to", "estimate", "std_error", "t", "p"])

    @cached_property
    def path_matrix(self) -> pd.DataFrame:
        """Path coefficients as a constructs × constructs matrix (rows: from, columns: to; 0 where
        there is no path)."""
        return pd.DataFrame(self._path_arr, index=pd.Index(self._constructs, name="from"),
                            columns=pd.Index(self._constructs, name="to"))

    @cached_property
    def r2(self) -> pd.Series:
        """R² of each endogenous construct's regression on its predecessors."""
        return pd.Series({self._constructs[j]: float(self._r2_arr[j])
                          for j in self.layout.endogenous}, name="r2", dtype=float)

    @cached_property
    def r2_adj(self) -> pd.Series:
        """Adjusted R²: 1 − (1 − R²)(n − 1)/(n − k − 1), n = Σw."""
        n = self.sum_weights
        out = {}
        for j in self.layout.endogenous:
            k = self.layout.preds[j].size
            df = n - k - 1
            out[self._constructs[j]] = (1 - (1 - self._r2_arr[j]) * (n - 1) / df
                                        if df > 0 else math.nan)
        return pd.Series(out, name="r2_adj", dtype=float)

    @cached_property
    def _total(self) -> np.ndarray:
        return plscore.total_effects(self._path_arr[None])[0]

    @cached_property
    def effects(self) -> pd.DataFrame:
        """Direct, indirect and total effects for every pair joined by a directed route
        (construct order): ``from``, ``to``, ``direct``, ``indirect``, ``total``."""
        reach = plscore.total_effects(self.layout.inner[None])[0] > 0
        rows = []
        for i, a in enumerate(self._constructs):
            for j, b in enumerate(self._constructs):
                if reach[i, j]:
                    d, t = float(self._path_arr[i, j]), float(self._total[i, j])
                    rows.append((a, b, d, t - d, t))
        return pd.DataFrame(rows, columns=["from", "to", "direct", "indirect", "total"])

    @cached_property
    def f2(self) -> pd.DataFrame:
        """Cohen's f² of every path: (R²_incl − R²_excl)/(1 − R²_incl), R²_excl from the
        regression of the target without that predecessor."""
        rows = []
        for p in self.spec.paths:
            j = self._constructs.index(p.target)
            i = self._constructs.index(p.source)
            pred = self.layout.preds[j]
            rest = pred[pred != i]
            r2_in = self._r2_arr[j]
            if rest.size:
                c = self._corr
                beta = np.linalg.solve(c[np.ix_(rest, rest)], c[rest, j])
                r2_out = float(c[rest, j] @ beta)
            else:
                r2_out = 0.0
            with np.errstate(divide="ignore", invalid="ignore"):
                f2 = (r2_in - r2_out) / (1 - r2_in) if r2_in < 1 else math.inf
            rows.append((p.source, p.target, float(f2)))
        return pd.DataFrame(rows, columns=["from", "to", "f2"])

    # -- quality criteria ------------------------------------------------------------------------
    @cached_property
    def reliability(self) -> pd.DataFrame:
        """Per construct: Cronbach's α, ρA (Dijkstra–Henseler), ρC (composite reliability) and
        AVE. Single-item blocks: 1. Composite (Mode B) blocks: not defined (NaN) — a composite
        is not a measurement of a common factor; assess it with the outer VIF and weights."""
        lay = self.layout
        if self._rho_a is not None:
            rho_a = self._rho_a
        else:
            rho_a = plscore.consistent(self._s[None], self._w[None], self._score_corr[None],
                                       lay)[0][0]
        rows = []
        for j, idx in enumerate(lay.blocks):
            lam = self._loading_arr[idx]
            if lay.modes[j] == "B":
                rows.append((math.nan,) * 4)
            elif len(idx) == 1:
                rows.append((1.0, 1.0, 1.0, float(lam[0] ** 2)))
            else:
                rows.append((assessment.cronbach_alpha(self._r[np.ix_(idx, idx)]),
                             float(rho_a[j]), assessment.rho_c(lam), assessment.ave(lam)))
        return pd.DataFrame(rows, columns=["alpha", "rho_a", "rho_c", "ave"],
                            index=pd.Index(self._constructs, name="construct"))

    @cached_property
    def unidimensionality(self) -> pd.DataFrame:
        """Per reflective block (R plspm's table): Cronbach's α, Dillon–Goldstein ρ of the
        first principal component, first and second eigenvalues of the correlation matrix."""
        rows = {}
        for j, idx in enumerate(self.layout.blocks):
            if self.layout.modes[j] == "A":
                rows[self._constructs[j]] = assessment.unidimensionality(
                    self._r[np.ix_(idx, idx)])
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("construct")

    @cached_property
    def inner_summary(self) -> pd.DataFrame:
        """Per construct: type, R², block communality (mean squared loading), mean redundancy
        (communality × R²) and AVE — R plspm's inner summary."""
        rows = []
        for j, c in enumerate(self._constructs):
            lam = self._loading_arr[self.layout.blocks[j]]
            endo = self.layout.preds[j].size > 0
            r2 = float(self._r2_arr[j]) if endo else 0.0
            com = float(np.mean(lam ** 2))
            rows.append(("Endogenous" if endo else "Exogenous", r2, com, com * r2,
                         com if self.layout.modes[j] == "A" else math.nan))
        return pd.DataFrame(rows, columns=["type", "r2", "communality", "redundancy", "ave"],
                            index=pd.Index(self._constructs, name="construct"))

    @cached_property
    def gof(self) -> float:
        """Goodness of fit (Tenenhaus et al. 2005): √(mean communality × mean R²)."""
        return float(assessment.gof(self._block_loadings(), list(self.layout.modes),
                                    self._r2_arr[self.layout.endogenous]))

    @cached_property
    def srmr(self) -> pd.Series:
        """Standardized root mean square residual of the indicator correlations: ``saturated``
        (construct correlations as estimated) and ``estimated`` (implied by the path model)."""
        lay = self.layout
        implied = assessment.implied_construct_corr(self._path_arr, self._corr)
        return pd.Series({
            "saturated": assessment.srmr(self._s, self._w, lay.blocks, list(lay.modes),
                                         self._corr),
            "estimated": assessment.srmr(self._s, self._w, lay.blocks, list(lay.modes),
                                         implied)}, name="srmr")

    @cached_property
    def htmt(self) -> pd.DataFrame:
        """Heterotrait–monotrait ratios (Henseler et al. 2015) between reflective constructs with
        at least two indicators (NaN elsewhere and on the diagonal)."""
        m = np.full((self.layout.J, self.layout.J), np.nan)
        vals = plscore.htmt(self._r[None], self.layout)[0]
        for (a, b), v in zip(plscore.htmt_pairs(self.layout), vals):
            m[a, b] = m[b, a] = v
        return self._square(m)

    @cached_property
    def fornell_larcker(self) -> pd.DataFrame:
        """√AVE on the diagonal, construct correlations off it (Fornell & Larcker 1981)."""
        m, _ = assessment.fornell_larcker(self.reliability["ave"].to_numpy(), self._corr)
        return self._square(m)

    @cached_property
    def vif_inner(self) -> pd.DataFrame:
        """Variance inflation factor of each predecessor in its target's regression."""
        rows = []
        for j in self.layout.endogenous:
            pred = self.layout.preds[j]
            v = assessment.vif(self._corr[np.ix_(pred, pred)])
            rows += [(self._constructs[i], self._constructs[j], float(x))
                     for i, x in zip(pred, v)]
        return pd.DataFrame(rows, columns=["from", "to", "vif"])

    @cached_property
    def vif_outer(self) -> pd.Series:
        """Variance inflation factor of each indicator within its block."""
        out = np.empty(self.layout.p)
        for idx in self.layout.blocks:
            out[idx] = assessment.vif(self._r[np.ix_(idx, idx)])
        return self._block_series(out, "vif")

    # -- indices ---------------------------------------------------------------------------------
    @cached_property
    def index_weights(self) -> pd.Series:
        """Raw-scale index weights ŵ (construct, indicator), summing to one per block."""
        wt = plscore.index_weights(self._w[None], self._sd[None], self.layout,
                                   self.settings["scaled"])[0]
        return self._block_series(wt, "index_weight")

    def indices(self, scale: tuple[float, float] | None = None) -> pd.Series:
        """The 0–100 index of every construct: Σ ŵ_k (mean_k − L)/(U − L)·100 with (L, U) the
        scale's ends (``scale``, or the fit's ``scale`` option) and means over the rows used
        (weighted with case weights)."""
        lo, hi = self._scale_or(scale)
        wt = self.index_weights.to_numpy()
        flat = np.concatenate([self._mean[idx] for idx in self.layout.blocks])
        part = wt * (flat - lo) / (hi - lo) * 100.0
        out, pos = {}, 0
        for j, idx in enumerate(self.layout.blocks):
            out[self._constructs[j]] = float(part[pos:pos + len(idx)].sum())
            pos += len(idx)
        return pd.Series(out, name="index")

    def _scale_or(self, scale) -> tuple[float, float]:
        scale = _check_scale(scale) if scale is not None else self._scale
        if scale is None:
            raise PLSOptionError("the 0–100 indices need the scale's ends: give scale=(lowest, "
                                 "highest), e.g. (1, 10), to PLS(...) or to indices()")
        return scale

    # -- admissibility ---------------------------------------------------------------------------
    def verify(self) -> Verification:
        """Admissibility checks (cf. cSEM's verify): converged, |loading| ≤ 1, construct
        correlation matrix positive definite, reliabilities ≤ 1, positive index weights."""
        checks = []

        def add(code, ok, en, zh):
            checks.append({"check": code, "ok": bool(ok), "detail": en, "detail_zh": zh})

        add("converged", self.converged,
            f"converged in {self.iterations} iterations" if self.converged else
            f"did not converge within {self.settings['max_iter']} iterations",
            f"{self.iterations} 次迭代后收敛" if self.converged else "迭代未收敛")
        lam = self.loadings
        big = [f"{c}/{i} ({v:.3f})" for (c, i), v in lam.items() if abs(v) > 1 + 1e-10]
        nan = [f"{c}/{i}" for (c, i), v in lam.items() if not np.isfinite(v)]
        bad_l = big + [f"{x} (undefined)" for x in nan]
        add("loadings", not bad_l, "all |loadings| ≤ 1" if not bad_l else
            "loadings above 1 in absolute value or undefined: " + ", ".join(bad_l),
            "所有载荷绝对值 ≤ 1" if not bad_l else "载荷绝对值大于 1 或无定义：" + ", ".join(bad_l))
        pd_ok, where = _positive_definite(self._corr, self._constructs)
        add("construct_corr", pd_ok,
            "the construct correlation matrix is positive definite" if pd_ok else
            f"the construct correlation matrix is not positive definite ({where})",
            "构念相关矩阵正定" if pd_ok else f"构念相关矩阵非正定（{where}）")
        undefined = [f"{r['from']} -> {r['to']}" for r in self.paths.to_dict("records")
                     if not np.isfinite(r["estimate"])]
        add("paths", not undefined, "every path coefficient is defined" if not undefined else
            "undefined path coefficients: " + ", ".join(undefined),
            "所有路径系数均有定义" if not undefined else "路径系数无定义：" + ", ".join(undefined))
        rel = self.reliability[["alpha", "rho_a", "rho_c"]]
        over = [f"{c} {k} ({v:.3f})" for c, row in rel.iterrows() for k, v in row.items()
                if np.isfinite(v) and v > 1 + 1e-10]
        neg = [f"{c} rho_a ({v:.3f})" for c, v in rel["rho_a"].items()
               if np.isfinite(v) and v <= 0]
        add("reliability", not (over or neg),
            "all reliabilities in (0, 1]" if not (over or neg) else
            "reliabilities out of range: " + ", ".join(over + neg),
            "信度均在 (0, 1] 内" if not (over or neg) else "信度超出范围：" + ", ".join(over + neg))
        iw = self.index_weights
        nonpos = [f"{c}/{i}" for (c, i), v in iw.items() if not v > 0]
        add("index_weights", not nonpos,
            "all index weights positive" if not nonpos else
            "non-positive index weights (the 0–100 index is not a weighted mean): "
            + ", ".join(nonpos),
            "指数权重均为正" if not nonpos else "指数权重非正：" + ", ".join(nonpos))
        return Verification(pd.DataFrame(checks))

    # -- inference -------------------------------------------------------------------------------
    def bootstrap(self, n_boot: int = 500, *, seed: int, workers: int = 1,
                  scale: tuple[float, float] | None = None, progress=None):
        """Bootstrap the estimates (see :func:`ncsi.inference.bootstrap`)."""
        from .inference import bootstrap
        return bootstrap(self, n_boot=n_boot, seed=seed, workers=workers, scale=scale,
                         progress=progress)

    # -- export ----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """A JSON-ready summary (plain Python types; NaN becomes None)."""
        w, ld = self.outer_weights, self.loadings
        out = {
            "n": int(self.n),
            "n_dropped": int(self.n_dropped),
            "sum_weights": _num(self.sum_weights),
            "converged": bool(self.converged),
            "iterations": int(self.iterations),
            "settings": {**self.settings, "modes": dict(self.settings["modes"])},
            "warnings": list(self.warnings),
            "paths": [{"from": r["from"], "to": r["to"], "estimate": _num(r["estimate"]),
                       "se": _num(r["std_error"]), "t": _num(r["t"]), "p": _num(r["p"])}
                      for r in self.paths.to_dict("records")],
            "outer": [{"construct": c, "indicator": i, "weight": _num(w[(c, i)]),
                       "loading": _num(ld[(c, i)])} for c, i in w.index],
            "r2": {c: _num(v) for c, v in self.r2.items()},
            "r2_adj": {c: _num(v) for c, v in self.r2_adj.items()},
            "missing": [{"construct": c, **{k: int(v) for k, v in row.items()}}
                        for c, row in self.missing_report.iterrows()],
        }
        if self._scale is not None:
            out["indices"] = {c: {"estimate": _num(v)} for c, v in self.indices().items()}
        return out

    def summary(self) -> dict:
        """:meth:`to_dict` plus every diagnostic (effects, f², reliability, HTMT, VIF, GoF,
        SRMR, verify)."""
        out = self.to_dict()
        out["effects"] = _records(self.effects)
        out["f2"] = _records(self.f2)
        out["reliability"] = [{"construct": c, **{k: _num(v) for k, v in r.items()}}
                              for c, r in self.reliability.iterrows()]
        out["htmt"] = [{"a": a, "b": b, "htmt": _num(self.htmt.loc[a, b])}
                       for n, a in enumerate(self._constructs) for b in self._constructs[n + 1:]
                       if np.isfinite(self.htmt.loc[a, b])]
        out["vif_inner"] = _records(self.vif_inner)
        out["vif_outer"] = [{"construct": c, "indicator": i, "vif": _num(v)}
                            for (c, i), v in self.vif_outer.items()]
        out["gof"] = _num(self.gof)
        out["srmr"] = {k: _num(v) for k, v in self.srmr.items()}
        out["verify"] = self.verify().to_dict()
        return out


def _positive_definite(c: np.ndarray, names: list[str]) -> tuple[bool, str]:
    """Whether a correlation matrix is positive definite; if not, which constructs cause it."""
    finite = np.isfinite(c)
    if not finite.all():
        bad = sorted({names[i] for i, j in zip(*np.nonzero(~finite))}, key=names.index)
        return False, "undefined correlations of " + ", ".join(bad)
    vals, vecs = np.linalg.eigh(c)
    if vals[0] > 1e-10:
        return True, ""
    pairs = [f"{names[i]}–{names[j]} r = {c[i, j]:.3f}" for i in range(len(names))
             for j in range(i + 1, len(names)) if abs(c[i, j]) >= 1 - 1e-10]
    if pairs:
        return False, "correlations of 1 or beyond: " + ", ".join(pairs)
    v = np.abs(vecs[:, 0])
    involved = [names[k] for k in np.argsort(-v) if v[k] > 0.3 * v.max()]
    return False, (f"smallest eigenvalue {vals[0]:.3g}, carried mostly by "
                   + ", ".join(involved))


class Verification:
    """The outcome of :meth:`PLSResults.verify`: ``status`` is ``"admissible"`` when every check
    passed, else ``"inadmissible"``; ``checks`` is a table (check, ok, detail, detail_zh)."""

    def __init__(self, checks: pd.DataFrame):
        self.checks = checks
        self.ok = bool(checks["ok"].all())
        self.status = "admissible" if self.ok else "inadmissible"

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        failed = self.checks.loc[~self.checks["ok"], "check"].tolist()
        return f"<Verification {self.status}{': ' + ', '.join(failed) if failed else ''}>"

    def to_dict(self) -> dict:
        return {"status": self.status,
                "checks": [{k: (bool(v) if k == "ok" else v) for k, v in r.items()}
                           for r in self.checks.to_dict("records")]}


def _num(v) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def _records(df: pd.DataFrame) -> list[dict]:
    return [{k: (_num(v) if isinstance(v, (float, np.floating)) else v) for k, v in r.items()}
            for r in df.to_dict("records")]
