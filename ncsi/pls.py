"""Partial least squares path modelling (PLS-PM): ``PLS(spec, ...).fit(data) → PLSResults``.

The algorithm is Wold's PLS path-modelling procedure in the form of Lohmöller (1989, *Latent
Variable Path Modeling with Partial Least Squares*) and Tenenhaus, Esposito Vinzi, Chatelin &
Lauro (2005, "PLS path modeling", *CSDA* 48:159–205), written from those descriptions:

1. **Data.** The spec's indicators are taken from the frame; rows with a missing value in any of
   them are dropped (casewise deletion). Each indicator is centred and, with ``scaled=True``
   (default), divided by its standard deviation (divisor n − 1); ``scaled=False`` only centres.
   Call the result X (n × p) and S = X'X / (n − 1) its covariance (correlation when scaled).
2. **Outer estimation.** A construct's score is Y_j = X_j w_j, with w_j normalised so that
   var(Y_j) = w_j' S_jj w_j = 1 (divisor n − 1). Start: equal weights.
3. **Inner estimation.** The inner proxy of construct j is Z_j = Σ_i e_ij Y_i over the constructs i
   joined to j by a structural path (either direction), with inner weights e_ij from the scheme:

   - ``centroid``: e_ij = sign(cor(Y_i, Y_j));
   - ``factorial``: e_ij = cor(Y_i, Y_j);
   - ``path`` (default): for a predecessor i of j, e_ij is the coefficient of Y_i in the OLS
     regression of Y_j on all of j's predecessors; for a successor i of j, e_ij = cor(Y_i, Y_j).

4. **New outer weights.** Mode A (reflective, ``=~``): w_j = cov(X_j, Z_j) (simple regressions
   of the indicators on the proxy, up to scale). Mode B (composite, ``<~``): w_j = S_jj⁻¹
   cov(X_j, Z_j), the multiple regression of the proxy on the block's indicators. Normalise as in 2.
5. Repeat 3–4 until the largest absolute change of any outer weight is below ``tol`` (or
   ``max_iter`` updates were made). Every quantity the loop needs is a function of S and the
   weights (cor(Y) = W'SW, cov(X, Z) = S W E), so one iteration costs O(p²·J), independent of n.
6. **Sign.** PLS fixes a construct only up to sign. After convergence each construct's sign is
   chosen so that most of its indicators load positively; when as many load negatively as
   positively, so that the sum of its loadings is positive. Its weights, scores and the signs of
   its paths follow.
7. **Inner model.** Each endogenous score is regressed (OLS with intercept) on the scores of its
   predecessors: path coefficients, standard errors, t (df = n − k − 1) and R².

Variance convention (read this before comparing with another program):
    Construct scores are standardised with **divisor n − 1** (sample variance 1, like
    ``pandas.Series.std()``). ``outer_weights`` turn the standardised indicators (divisor n − 1;
    centred only when ``scaled=False``) into these scores: ``scores = X @ w`` per block. With
    ``scaled=True`` the weights do not depend on the divisor as long as indicators and scores use the
    same one. With ``scaled=False`` they do: R plspm reports weights for scores of population
    variance 1 (divisor n), which are larger by √(n/(n−1)); ``PLSResults.outer_weights_for("n")`` and
    ``scores_for("n")`` give that convention. Loadings (correlations), paths, R² and standard errors
    do not depend on the divisor.

Missing data: complete cases only; ``PLSResults.n`` rows used, ``n_dropped`` rows dropped.

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

from .errors import EstimationError
from .spec import ModelSpec

__all__ = ["PLS", "PLSResults", "PLSOptionError", "SCHEMES"]

SCHEMES = ("path", "centroid", "factorial")

#: a Mode B block is singular when the smallest eigenvalue of its indicators' correlation matrix
#: is below this fraction of the largest
_SINGULAR_RTOL = 1e-10
#: a construct's score is degenerate when no indicator correlates with its inner proxy beyond this
_DEGENERATE_CORR = 1e-10


class PLSOptionError(EstimationError, ValueError):
    """An invalid option given to :class:`PLS` (a programming error, also a ``ValueError``)."""


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
    strict : raise :class:`EstimationError` when the iterations do not converge, instead of
        returning results with ``converged=False`` and a warning.
    """

    def __init__(self, spec: ModelSpec, scheme: str = "path", scaled: bool = True,
                 tol: float = 1e-7, max_iter: int = 300, *, strict: bool = False):
        if not isinstance(spec, ModelSpec):
            raise PLSOptionError(f"PLS needs a ModelSpec (from ncsi.spec.parse_model or "
                                 f"load_model), not {type(spec).__name__}")
        if not isinstance(scheme, str) or scheme.strip().lower() not in SCHEMES:
            raise PLSOptionError(f"unknown inner weighting scheme {scheme!r}; use one of "
                                 f"{', '.join(SCHEMES)}")
        if not isinstance(scaled, (bool, np.bool_)):
            raise PLSOptionError(f"scaled must be True or False, not {scaled!r}")
        if (isinstance(tol, bool) or not isinstance(tol, Real) or not math.isfinite(tol)
                or tol <= 0):
            raise PLSOptionError(f"tol must be a positive number (e.g. 1e-7), not {tol!r}")
        if isinstance(max_iter, bool) or not isinstance(max_iter, Integral) or max_iter < 1:
            raise PLSOptionError(f"max_iter must be a positive integer (e.g. 300), not "
                                 f"{max_iter!r}")
        self.spec = spec
        self.scheme = scheme.strip().lower()
        self.scaled = bool(scaled)
        self.tol = float(tol)
        self.max_iter = int(max_iter)
        self.strict = bool(strict)

    def __repr__(self) -> str:
        return (f"PLS({self.spec.name!r}, scheme={self.scheme!r}, scaled={self.scaled}, "
                f"tol={self.tol:g}, max_iter={self.max_iter})")

    @property
    def settings(self) -> dict:
        return {"scheme": self.scheme, "scaled": self.scaled, "tol": self.tol,
                "max_iter": self.max_iter,
                "modes": {b.name: b.mode for b in self.spec.blocks}}

    # -- fitting ---------------------------------------------------------------------------------
    def fit(self, data: pd.DataFrame) -> "PLSResults":
        """Estimate the model on ``data`` (a DataFrame holding at least the spec's indicators)."""
        spec = self.spec
        if not isinstance(data, pd.DataFrame):
            raise EstimationError(f"PLS.fit needs a pandas DataFrame with the indicator columns, "
                                  f"not {type(data).__name__}")
        spec.check_data(data.columns)
        _check_connected(spec)
        indicators = list(spec.indicators)
        raw = _numeric_matrix(data, spec)                       # n_all × p float, NaN = missing
        keep = ~np.isnan(raw).any(axis=1)
        n = int(keep.sum())
        n_dropped = int(raw.shape[0] - n)
        _check_rows(spec, raw, n, n_dropped)
        xr = raw[keep]
        index = data.index[keep]

        mean = xr.mean(axis=0)
        xc = xr - mean
        sd = np.sqrt((xc * xc).sum(axis=0) / (n - 1))
        for k, name in enumerate(indicators):
            if np.ptp(xr[:, k]) == 0 or not sd[k] > 0:
                c = spec.construct_of(name)
                raise EstimationError(
                    f"indicator {name} of construct {c} has the same value ({xr[0, k]:g}) in all "
                    f"{n} complete rows (zero variance); it carries no information — remove it "
                    f"from the block of {c} or check the data",
                    message_zh=f"构念 {c} 的指标 {name} 在全部 {n} 个完整行中取值相同（方差为零）；"
                               f"请从模型中删除该指标或检查数据")
        x = xc / sd if self.scaled else xc
        s = (x.T @ x) / (n - 1)
        s = (s + s.T) / 2

        blocks = [np.array([indicators.index(i) for i in b.indicators]) for b in spec.blocks]
        modes = [b.mode for b in spec.blocks]
        _check_mode_b(spec, s, blocks)

        w, iterations, converged, delta, worst = _iterate(
            s, blocks, modes, spec, self.scheme, self.tol, self.max_iter)
        warnings: list[str] = []
        if not converged:
            msg = (f"the PLS iterations did not converge within {self.max_iter} iterations "
                   f"(largest change of an outer weight {delta:.3g}, tolerance {self.tol:g}; "
                   f"construct {spec.constructs[worst]} changed most); the estimates are not "
                   f"reliable — raise max_iter, try another scheme or check the model")
            if self.strict:
                raise EstimationError(msg, message_zh=f"PLS 迭代在 {self.max_iter} 次内未收敛"
                                                      f"（构念 {spec.constructs[worst]} 的权重"
                                                      f"变化最大）；请增大 max_iter 或检查模型")
            warnings.append(msg)
        w = _fix_signs(s, w, blocks)
        return PLSResults(spec=spec, settings=self.settings, x=x, s=s, w=w, blocks=blocks,
                          mean=mean, sd=sd, index=index, n=n, n_dropped=n_dropped,
                          converged=converged, iterations=iterations, warnings=warnings)


# ------------------------------------------------------------------------------------------------
# input checks
# ------------------------------------------------------------------------------------------------

def _where(spec: ModelSpec, column: str) -> str:
    return f"column '{column}' (indicator of construct {spec.construct_of(column)})"


def _numeric_matrix(data: pd.DataFrame, spec: ModelSpec) -> np.ndarray:
    """The indicator columns as one float matrix (NaN = missing), or a named EstimationError."""
    cols = []
    for name in spec.indicators:
        col = data.loc[:, name]
        if isinstance(col, pd.DataFrame):
            raise EstimationError(
                f"{_where(spec, name)} appears {col.shape[1]} times in the data; give every "
                f"column a unique name",
                message_zh=f"数据中列 '{name}' 出现了 {col.shape[1]} 次；请使列名唯一")
        cols.append(_to_float(col, name, spec))
    if not cols:
        return np.empty((len(data), 0))
    arr = np.column_stack(cols) if len(data) else np.empty((0, len(cols)))
    for k, name in enumerate(spec.indicators):
        col = arr[:, k]
        if len(col) and np.isnan(col).all():
            raise EstimationError(
                f"{_where(spec, name)} has no values: every row is missing; check the column "
                f"(wrong file or missing codes recoded) or remove the indicator from the model",
                message_zh=f"构念 {spec.construct_of(name)} 的指标列 '{name}' 全部缺失；"
                           f"请检查数据或从模型中删除该指标")
        bad = np.flatnonzero(np.isinf(col))
        if bad.size:
            row = data.index[bad[0]]
            raise EstimationError(
                f"{_where(spec, name)} holds an infinite value ({col[bad[0]]}) at row index "
                f"{row!r}" + (f" and {bad.size - 1} other row(s)" if bad.size > 1 else "")
                + "; replace it with a valid answer or leave the cell empty (missing)",
                message_zh=f"构念 {spec.construct_of(name)} 的指标列 '{name}' 在行 {row!r} "
                           f"含无穷值；请改为有效值或留空")
    return arr


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


def _check_rows(spec: ModelSpec, raw: np.ndarray, n: int, n_dropped: int) -> None:
    largest = max(spec.blocks, key=lambda b: len(b.indicators))
    need = max(3, len(largest.indicators) + 1)
    if n >= need:
        return
    miss = np.isnan(raw).sum(axis=0)
    order = np.argsort(-miss, kind="stable")
    worst = [f"{spec.indicators[k]} ({int(miss[k])} missing)" for k in order[:3] if miss[k] > 0]
    hint = f"; the columns with most missing values: {', '.join(worst)}" if worst else ""
    raise EstimationError(
        f"only {n} complete row(s) ({n_dropped} dropped for missing values); PLS needs at least "
        f"{need} — more than the {len(largest.indicators)} indicators of the largest block "
        f"(construct {largest.name}) and at least 3{hint}; collect more responses or remove "
        f"indicators with many missing answers",
        message_zh=f"完整行只有 {n} 行（{n_dropped} 行因缺失被删除），至少需要 {need} 行"
                   f"（最大的构念 {largest.name} 有 {len(largest.indicators)} 个指标）")


def _check_mode_b(spec: ModelSpec, s: np.ndarray, blocks: list[np.ndarray]) -> None:
    for b, idx in zip(spec.blocks, blocks):
        if b.mode != "B" or len(idx) < 2:
            continue
        sub = s[np.ix_(idx, idx)]
        d = np.sqrt(np.diag(sub))
        r = sub / np.outer(d, d)
        vals, vecs = np.linalg.eigh(r)
        if vals[0] > _SINGULAR_RTOL * vals[-1]:
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


# ------------------------------------------------------------------------------------------------
# the iteration (numpy only)
# ------------------------------------------------------------------------------------------------

def _ols_from_corr(c: np.ndarray, pred: np.ndarray, j: int, spec: ModelSpec) -> np.ndarray:
    cpp = c[np.ix_(pred, pred)]
    try:
        if np.linalg.cond(cpp) > 1e12:
            raise np.linalg.LinAlgError
        return np.linalg.solve(cpp, c[pred, j])
    except np.linalg.LinAlgError:
        names = [spec.constructs[i] for i in pred]
        raise EstimationError(
            f"the scores of {', '.join(names)} (the predecessors of construct "
            f"{spec.constructs[j]}) are perfectly collinear, so the regression of "
            f"{spec.constructs[j]} on them is not defined; merge those constructs or remove one "
            f"of the paths into {spec.constructs[j]}",
            message_zh=f"构念 {spec.constructs[j]} 的前因构念 {', '.join(names)} 的得分完全共线"
        ) from None


def _inner_weights(c: np.ndarray, d: np.ndarray, adj: np.ndarray, scheme: str,
                   preds: list[np.ndarray], spec: ModelSpec) -> np.ndarray:
    """E[i, j]: the weight of score i in the inner proxy of construct j."""
    if scheme == "centroid":
        return np.sign(c) * adj
    if scheme == "factorial":
        return c * adj
    e = c * d.T                   # successors i of j (j → i, d[j, i] = 1): correlation
    for j, pred in enumerate(preds):
        if pred.size:
            e[pred, j] = _ols_from_corr(c, pred, j, spec)
    return e


def _iterate(s: np.ndarray, blocks: list[np.ndarray], modes: list[str], spec: ModelSpec,
             scheme: str, tol: float, max_iter: int):
    p, nc = s.shape[0], len(blocks)
    d = spec.inner_matrix().astype(float)
    adj = ((d + d.T) > 0).astype(float)
    preds = [np.flatnonzero(d[:, j]) for j in range(nc)]
    sub = [s[np.ix_(idx, idx)] for idx in blocks]
    sdx = np.sqrt(np.diag(s))
    w = np.zeros((p, nc))
    for j, idx in enumerate(blocks):
        v = np.ones(len(idx))
        var = v @ sub[j] @ v
        if not var > 1e-12 * np.trace(sub[j]):
            # equal weights cancel (e.g. x2 = c − x1): start from the first principal component
            v = np.linalg.eigh(sub[j])[1][:, -1]
            var = v @ sub[j] @ v
        w[idx, j] = v / math.sqrt(var)

    delta, worst = math.inf, 0
    for it in range(1, max_iter + 1):
        sw = s @ w                                    # cov(x_k, Y_j)
        c = w.T @ sw                                  # cor(Y_i, Y_j)
        e = _inner_weights(c, d, adj, scheme, preds, spec)
        g = sw @ e                                    # cov(x_k, Z_j)
        var_z = np.einsum("ij,ik,kj->j", e, c, e)     # var(Z_j)
        new = np.zeros_like(w)
        for j, idx in enumerate(blocks):
            gj = g[idx, j]
            if modes[j] == "B":
                v = np.linalg.solve(sub[j], gj)
                fit = math.sqrt(max(float(gj @ v), 0.0))       # sd of the fitted proxy
            else:
                v = gj
                fit = float(np.max(np.abs(gj) / sdx[idx]))      # largest |cov| / sd(x)
            if not (var_z[j] > 0 and fit / math.sqrt(var_z[j]) > _DEGENERATE_CORR):
                _degenerate(spec, j, scheme, var_z[j])
            new[idx, j] = v / math.sqrt(float(v @ sub[j] @ v))
        change = np.abs(new - w)
        delta = float(change.max())
        w = new
        if delta < tol:
            return w, it, True, delta, 0
        worst = int(np.argmax(change.max(axis=0)))
    return w, max_iter, False, delta, worst


def _degenerate(spec: ModelSpec, j: int, scheme: str, var_z: float):
    name = spec.constructs[j]
    neighbours = sorted(set(spec.predecessors(name)) | set(spec.successors(name)),
                        key=spec.constructs.index)
    why = ("its inner proxy (built from " + ", ".join(neighbours) + ") is zero"
           if not var_z > 1e-24 else
           "none of its indicators correlates with its inner proxy (built from "
           + ", ".join(neighbours) + ")")
    raise EstimationError(
        f"the score of construct {name} has zero variance under the {scheme} scheme: {why}, "
        f"because its indicators are uncorrelated with those of the constructs it is joined to; "
        f"check its indicators and paths, or model it differently",
        message_zh=f"构念 {name} 的得分方差为零：其指标与相邻构念 {', '.join(neighbours)} 不相关；"
                   f"请检查指标与路径")


def _fix_signs(s: np.ndarray, w: np.ndarray, blocks: list[np.ndarray]) -> np.ndarray:
    """Flip each construct so that most of its indicators load positively (ties: sum > 0)."""
    w = w.copy()
    cov = s @ w
    for j, idx in enumerate(blocks):
        load = cov[idx, j]
        pos, neg = int((load > 0).sum()), int((load < 0).sum())
        if neg > pos or (neg == pos and load.sum() < 0):
            w[idx, j] = -w[idx, j]
    return w


# ------------------------------------------------------------------------------------------------
# results
# ------------------------------------------------------------------------------------------------

def _divisor_factor(divisor: Any, n: int) -> float:
    """Factor turning a divisor-(n−1) standard score into one with the requested divisor."""
    key = str(divisor).replace(" ", "").lower()
    if key == "n":
        return math.sqrt(n / (n - 1))
    if key in ("n-1", "n−1"):
        return 1.0
    raise ValueError(f"divisor must be 'n' or 'n-1', not {divisor!r}")


class PLSResults:
    """The estimates of one :meth:`PLS.fit` (numpy inside; pandas objects at the boundary).

    Scores have sample variance 1 (divisor n − 1); see the module docstring for the weight
    convention and :meth:`outer_weights_for` / :meth:`scores_for` for divisor n.
    """

    def __init__(self, *, spec: ModelSpec, settings: dict, x: np.ndarray, s: np.ndarray,
                 w: np.ndarray, blocks: list[np.ndarray], mean: np.ndarray, sd: np.ndarray,
                 index: pd.Index, n: int, n_dropped: int, converged: bool, iterations: int,
                 warnings: list[str]):
        self.spec = spec
        self.settings = settings
        self.n = n
        self.n_dropped = n_dropped
        self.converged = converged
        self.iterations = iterations
        self.warnings = warnings
        self._x, self._s, self._w, self._blocks = x, s, w, blocks
        self._mean, self._sd, self._index = mean, sd, index
        self._constructs = list(spec.constructs)
        self._indicators = list(spec.indicators)

    def __repr__(self) -> str:
        return (f"<PLSResults {self.spec.name}: n={self.n}, dropped={self.n_dropped}, "
                f"converged={self.converged} in {self.iterations} iterations>")

    # -- numpy core ------------------------------------------------------------------------------
    @cached_property
    def _sw(self) -> np.ndarray:
        return self._s @ self._w                        # cov(x_k, Y_j)

    @cached_property
    def _corr(self) -> np.ndarray:
        c = self._w.T @ self._sw                        # cor(Y_i, Y_j)
        c = (c + c.T) / 2
        np.fill_diagonal(c, 1.0)
        return c

    @cached_property
    def _regressions(self) -> dict[str, tuple[np.ndarray, np.ndarray, float]]:
        """endogenous → (predecessor positions, coefficients, R²)."""
        out = {}
        for j, name in enumerate(self._constructs):
            pred = np.array([self._constructs.index(p) for p in self.spec.predecessors(name)],
                            dtype=int)
            if pred.size:
                beta = _ols_from_corr(self._corr, pred, j, self.spec)
                out[name] = (pred, beta, float(self._corr[pred, j] @ beta))
        return out

    def _block_series(self, values: np.ndarray, name: str) -> pd.Series:
        idx = pd.MultiIndex.from_tuples(
            [(b.name, i) for b in self.spec.blocks for i in b.indicators],
            names=["construct", "indicator"])
        vals = np.concatenate([values[blk, j] for j, blk in enumerate(self._blocks)])
        return pd.Series(vals, index=idx, name=name)

    # -- outer model -----------------------------------------------------------------------------
    @cached_property
    def outer_weights(self) -> pd.Series:
        """Weights (construct, indicator) turning standardised (or, unscaled, centred) indicators
        into construct scores of sample variance 1 (divisor n − 1)."""
        return self._block_series(self._w, "weight")

    def outer_weights_for(self, divisor: str = "n") -> pd.Series:
        """The outer weights for scores standardised with ``divisor`` ``"n"`` or ``"n-1"``.

        Indicators are standardised with the same divisor, so with ``scaled=True`` the weights are
        unchanged; with ``scaled=False`` (centred indicators) divisor n multiplies them by
        √(n/(n−1)) — the convention of R plspm.
        """
        f = _divisor_factor(divisor, self.n) if not self.settings["scaled"] else 1.0
        return self.outer_weights * f

    @cached_property
    def loadings(self) -> pd.Series:
        """Correlation of each indicator with its construct's score, (construct, indicator)."""
        return self._block_series(self._sw / np.sqrt(np.diag(self._s))[:, None], "loading")

    @cached_property
    def cross_loadings(self) -> pd.DataFrame:
        """Correlation of every indicator (rows) with every construct score (columns)."""
        return pd.DataFrame(self._sw / np.sqrt(np.diag(self._s))[:, None],
                            index=pd.Index(self._indicators, name="indicator"),
                            columns=pd.Index(self._constructs, name="construct"))

    # -- scores ----------------------------------------------------------------------------------
    @cached_property
    def _scores(self) -> np.ndarray:
        return self._x @ self._w

    @cached_property
    def scores(self) -> pd.DataFrame:
        """Standardised construct scores (mean 0, sample variance 1 with divisor n − 1), indexed
        by the original row index of the rows used."""
        return pd.DataFrame(self._scores, index=self._index,
                            columns=pd.Index(self._constructs, name="construct"))

    def scores_for(self, divisor: str = "n") -> pd.DataFrame:
        """The scores standardised with ``divisor`` ``"n"`` (R plspm) or ``"n-1"``."""
        return self.scores * _divisor_factor(divisor, self.n)

    @cached_property
    def item_mean(self) -> pd.Series:
        """Mean of each indicator on the rows used (raw scale)."""
        return pd.Series(self._mean, index=pd.Index(self._indicators, name="indicator"),
                         name="mean")

    @cached_property
    def item_sd(self) -> pd.Series:
        """Standard deviation (divisor n − 1) of each indicator on the rows used (raw scale)."""
        return pd.Series(self._sd, index=pd.Index(self._indicators, name="indicator"),
                         name="sd")

    @cached_property
    def construct_corr(self) -> pd.DataFrame:
        """Correlations between the construct scores."""
        idx = pd.Index(self._constructs, name="construct")
        return pd.DataFrame(self._corr, index=idx, columns=idx.copy())

    # -- inner model -----------------------------------------------------------------------------
    @cached_property
    def paths(self) -> pd.DataFrame:
        """Path coefficients in long form: columns ``from``, ``to``, ``estimate`` (spec order)."""
        rows = []
        for p in self.spec.paths:
            pred, beta, _ = self._regressions[p.target]
            k = list(pred).index(self._constructs.index(p.source))
            rows.append((p.source, p.target, float(beta[k])))
        return pd.DataFrame(rows, columns=["from", "to", "estimate"])

    @cached_property
    def path_matrix(self) -> pd.DataFrame:
        """Path coefficients as a constructs × constructs matrix (rows: from, columns: to; 0 where
        there is no path)."""
        m = pd.DataFrame(0.0, index=pd.Index(self._constructs, name="from"),
                         columns=pd.Index(self._constructs, name="to"))
        for _, r in self.paths.iterrows():
            m.loc[r["from"], r["to"]] = r["estimate"]
        return m

    @cached_property
    def path_se(self) -> dict[str, pd.DataFrame]:
        """Per endogenous construct, its OLS table: index = predecessors, columns ``estimate``,
        ``std_error``, ``t``, ``p`` (two-sided, t distribution with n − k − 1 df; the intercept
        is 0 because scores are centred and is not listed)."""
        from scipy.special import stdtr

        out = {}
        for name, (pred, beta, r2) in self._regressions.items():
            k = pred.size
            df = self.n - k - 1
            inv = np.linalg.inv(self._corr[np.ix_(pred, pred)])
            if df > 0:
                se = np.sqrt(max(1.0 - r2, 0.0) / df * np.diag(inv))
                with np.errstate(divide="ignore", invalid="ignore"):
                    t = beta / se
                pval = 2.0 * stdtr(df, -np.abs(t))
            else:
                se = t = pval = np.full(k, np.nan)
            out[name] = pd.DataFrame(
                {"estimate": beta, "std_error": se, "t": t, "p": pval},
                index=pd.Index([self._constructs[i] for i in pred], name="from"))
        return out

    @cached_property
    def r2(self) -> pd.Series:
        """R² of each endogenous construct's regression on its predecessors."""
        return pd.Series({c: v[2] for c, v in self._regressions.items()}, name="r2",
                         dtype=float)

    # -- export ----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """A JSON-ready summary (plain Python types; NaN becomes None)."""
        def num(v: float) -> float | None:
            v = float(v)
            return v if math.isfinite(v) else None

        w, ld = self.outer_weights, self.loadings
        return {
            "n": int(self.n),
            "n_dropped": int(self.n_dropped),
            "converged": bool(self.converged),
            "iterations": int(self.iterations),
            "settings": {**self.settings, "modes": dict(self.settings["modes"])},
            "warnings": list(self.warnings),
            "paths": [{"from": r["from"], "to": r["to"], "estimate": num(r["estimate"])}
                      for r in self.paths.to_dict("records")],
            "outer": [{"construct": c, "indicator": i, "weight": num(w[(c, i)]),
                       "loading": num(ld[(c, i)])} for c, i in w.index],
            "r2": {c: num(v) for c, v in self.r2.items()},
        }
