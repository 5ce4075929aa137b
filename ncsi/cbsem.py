"""Covariance-based SEM through semopy, behind the same model spec: ``CBSEM(spec).fit(data)``.

semopy builds the model (its matrices, objective functions and gradients); NCSI drives the
optimisation and computes every reported statistic itself from the estimated matrices, because
several of semopy 2.3.11's own numbers are wrong or unreliable (measured against lavaan 0.6-14):
its default optimizer (SLSQP) can stop early while reporting success, its "LogLik" is not a
log-likelihood (so its AIC/BIC are wrong), its GFI is the NFI formula, it has no SRMR and its RMSEA
divides by N − 1.

**Model.** Reflective blocks (``=~``) become common factors, each scaled by its first indicator
(loading 1, as lavaan does); a single-indicator factor gets its indicator's residual variance fixed
to 0 (reported). Structural paths are regressions among the factors; ``~~`` lines are free
residual covariances. Composite blocks (``<~``) are refused: use PLS for them.

**Estimation.** ``estimator="ML"`` (default) minimises the normal-theory discrepancy
F = log|Σ| + tr(SΣ⁻¹) − log|S| − p with S the sample covariance with divisor N (lavaan's default);
``"GLS"`` minimises ½ tr[((S − Σ)S⁻¹)²] and ``"ULS"`` Σ_{i≤j}(s_ij − σ_ij)², both with S of
divisor N − 1 (lavaan's definitions; semopy's ULS counts off-diagonal residuals twice, so it is
not used); ``"DWLS"`` and ``"WLS"`` are semopy's (weights from the asymptotic covariance of the
sample covariances; checked against lavaan).
Missing values: casewise deletion, or ``missing="fiml"``: full-information ML with a saturated
mean structure — the observed-data likelihood summed over the patterns of missingness, Σ(θ) from
semopy's matrices and the p means estimated jointly (semopy's own FIML has no mean structure and
treats the data as centred, so it is not used); χ² against the saturated model fitted by EM, SEs
from the observed information, as lavaan's ``missing = "ml"``. Case weights are refused:
semopy's estimators take none. The optimizer: L-BFGS-B from semopy's start values (GLS: from the
ML solution), then a trust-region Newton polish (Hessian from finite differences of the analytic
gradient), then a check of the gradient at the solution — not the optimizer's word. When the
gradient is not small the fit is repeated with BFGS; if that also fails, non-convergence is
reported.

**Statistics** (computed here): χ² = N·F (ML), df = p(p+1)/2 − free parameters, p-value, the
baseline (independence) model's χ² and df, CFI, TLI, RMSEA = √(max(χ² − df, 0)/(df·N)) with its
90% CI (noncentral χ² inversion), SRMR (Bentler: residuals scaled by the sample SDs, lower triangle
with the diagonal), log-likelihood −N/2·(p log 2π + log|Σ| + tr(SΣ⁻¹)), AIC = −2LL + 2k,
BIC = −2LL + k ln N. GLS: χ² = (N − 1)·F_GLS, its baseline the GLS independence model, and the
indices built on them (RMSEA with N − 1, as lavaan); ULS, DWLS, WLS: SRMR only. Standard
errors: the expected information N/2·tr(Σ⁻¹∂Σ Σ⁻¹∂Σ) (semopy's, checked against lavaan) for ML,
the observed information under FIML; for the other estimators use the bootstrap. Standardized
estimates, R² and factor scores (regression method, η̂ = ΦΛ'Σ⁻¹(x − x̄)) come from the estimated
matrices.

**0–100 indices.** The regression factor-score weights of each construct's own indicators,
normalised to sum to one, are raw-scale index weights; the index is the PLS formula
(:func:`ncsi.plscore.indices`), so PLS and CB-SEM indices are comparable.

**Problems** are reported, never passed on silently (``CBSEMResults.problems``): non-convergence,
negative variances and standardized loadings above 1 (Heywood cases), standardized paths above 1,
a non-positive-definite implied covariance of the indicators or of the constructs, a
single-indicator factor. A non-identified model (df < 0), a non-positive-definite sample
covariance matrix, a composite block or case weights raise :class:`~ncsi.errors.EstimationError`.
"""

from __future__ import annotations

import math
import warnings
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from . import plscore
from .errors import EstimationError
from .spec import ModelSpec

__all__ = ["CBSEM", "ESTIMATORS", "CBSEMResults"]

ESTIMATORS = ("ML", "GLS", "ULS", "DWLS", "WLS")
#: names NCSI does not take, and what to write instead
_REFUSED = {"MLW": "write ML", "FIML": "use estimator='ML' with missing='fiml'"}
MISSING = ("casewise", "fiml")
#: the largest absolute gradient component accepted at a solution
GRAD_TOL = 1e-5


class CBSEMOptionError(EstimationError, ValueError):
    """An invalid option given to :class:`CBSEM`."""


def _problem(code: str, where: str, en: str, zh: str) -> dict:
    return {"code": code, "where": where, "message": en, "message_zh": zh}


def semopy_description(spec: ModelSpec) -> str:
    """The spec in semopy's syntax (single-indicator factors: residual variance fixed to 0)."""
    lines = []
    for b in spec.blocks:
        lines.append(f"{b.name} =~ {' + '.join(b.indicators)}")
    for t in spec.constructs:
        preds = spec.predecessors(t)
        if preds:
            lines.append(f"{t} ~ {' + '.join(preds)}")
    for c in spec.covariances:
        lines.append(f"{c.a} ~~ {c.b}")
    for b in spec.blocks:
        if len(b.indicators) == 1:
            lines.append(f"{b.indicators[0]} ~~ 0*{b.indicators[0]}")
    return "\n".join(lines)


class CBSEM:
    """Covariance-based SEM estimator (see the module docstring).

    Parameters
    ----------
    spec : the model; every block must be reflective (``=~``).
    estimator : ``"ML"`` (default), ``"GLS"``, ``"ULS"``, ``"DWLS"`` or ``"WLS"``.
    missing : ``"casewise"`` (default) or ``"fiml"`` (full-information ML, ML only).
    weights : must be ``None`` — semopy's estimators take no case weights.
    scale : (lowest, highest) answer of the items, for the 0–100 indices.
    """

    def __init__(self, spec: ModelSpec, estimator: str = "ML", *, missing: str = "casewise",
                 weights: str | None = None, scale: tuple[float, float] | None = None):
        from .pls import _check_scale
        if not isinstance(spec, ModelSpec):
            raise CBSEMOptionError(f"CBSEM needs a ModelSpec, not {type(spec).__name__}")
        est = str(estimator).strip().upper()
        if est not in ESTIMATORS:
            why = f" ({_REFUSED[est]})" if est in _REFUSED else ""
            raise CBSEMOptionError(f"estimator {estimator!r} is not offered{why}; use one of "
                                   f"{', '.join(ESTIMATORS)}")
        miss = str(missing).strip().lower()
        if miss not in MISSING:
            raise CBSEMOptionError(f"missing must be one of {', '.join(MISSING)} for CB-SEM, "
                                   f"not {missing!r}")
        if miss == "fiml" and est != "ML":
            raise CBSEMOptionError("full-information ML (missing='fiml') needs estimator='ML'")
        if weights is not None:
            raise EstimationError(
                "CB-SEM through semopy takes no case weights (none of its estimators is "
                "weighted); fit without weights, or use PLS (--method pls) with --weights",
                message_zh="基于协方差的 SEM（semopy）不支持个案权重；请不用权重估计，或改用 PLS")
        for b in spec.blocks:
            if b.mode != "A":
                where = spec.source + (f", line {b.line}" if b.line is not None else "")
                where_zh = spec.source + (f"，第 {b.line} 行" if b.line is not None else "")
                raise EstimationError(
                    f"{where}: construct {b.name} is a composite ('<~'); covariance-based SEM "
                    f"models common factors only — write it as '{b.name} =~ ...' or fit it with "
                    f"PLS (--method pls)",
                    message_zh=f"{where_zh}：构念 {b.name} 是组合型（<~）；CB-SEM 只支持反映型因子，"
                               f"请改为 =~ 或使用 PLS（--method pls）")
        self.spec = spec
        self.estimator = est
        self.missing = miss
        self.scale = _check_scale(scale)

    @property
    def settings(self) -> dict:
        return {"method": "cbsem", "estimator": self.estimator, "missing": self.missing,
                "weights": None, "scale": list(self.scale) if self.scale else None,
                "modes": {b.name: b.mode for b in self.spec.blocks}}

    def fit(self, data: pd.DataFrame) -> CBSEMResults:
        from .pls import _check_constant, _numeric_matrix
        spec = self.spec
        if not isinstance(data, pd.DataFrame):
            raise EstimationError(f"CBSEM.fit needs a pandas DataFrame, not {type(data).__name__}")
        spec.check_data(data.columns)
        raw = _numeric_matrix(data, spec)
        miss = np.isnan(raw)
        keep = ~miss.any(axis=1) if self.missing == "casewise" else ~miss.all(axis=1)
        x = raw[keep]
        n = int(keep.sum())
        p = x.shape[1]
        if n < p + 1:
            raise EstimationError(
                f"only {n} usable rows for {p} indicators; covariance-based SEM needs more rows "
                f"than indicators (and in practice several hundred)",
                message_zh=f"可用行只有 {n} 行，少于指标数 {p}；CB-SEM 需要更多样本")
        if self.missing == "casewise":
            mean = x.mean(axis=0)
            # lavaan's conventions: ML uses the divisor N (normal likelihood), GLS and ULS N − 1
            s = np.cov(x, rowvar=False, ddof=0 if self.estimator == "ML" else 1)
        else:                   # the saturated model by EM: start values, checks, χ², SRMR
            mean, s, _ = saturated_em(_Patterns(x))
        sd = np.sqrt(np.diag(s))
        _check_constant(spec, np.where(np.isnan(x), mean, x), sd, mean, n)
        _check_sample_pd(spec, s)
        frame = pd.DataFrame(x, columns=list(spec.indicators))
        engine = _Engine(spec, self.estimator, self.missing, frame, s, n)
        if engine.mu is not None:
            mean = engine.mu
        return CBSEMResults(spec=spec, settings=self.settings, engine=engine, data=frame,
                            mean=mean, index=data.index[keep], n_dropped=int(len(data) - n),
                            scale=self.scale)


def _check_sample_pd(spec: ModelSpec, s: np.ndarray) -> None:
    vals, vecs = np.linalg.eigh(s / np.sqrt(np.outer(np.diag(s), np.diag(s))))
    if vals[0] > 1e-10 * vals[-1]:
        return
    v = np.abs(vecs[:, 0])
    involved = [spec.indicators[k] for k in np.flatnonzero(v > 1e-3 * v.max())]
    raise EstimationError(
        f"the sample covariance matrix is not positive definite: the indicators "
        f"{', '.join(involved)} are linearly dependent (one is a combination of the others); "
        f"drop one of them — maximum likelihood needs a full-rank covariance matrix",
        message_zh=f"样本协方差矩阵非正定：指标 {', '.join(involved)} 线性相关；请删除其中一个")


class _Engine:
    """One semopy model, fitted and checked (see the module docstring)."""

    def __init__(self, spec, estimator, missing, frame, s, n, start=None):
        import semopy

        self.spec, self.estimator, self.missing, self.n = spec, estimator, missing, n
        self.desc = semopy_description(spec)
        self.model = semopy.Model(self.desc)
        self.obj = {"ML": "MLW"}.get(estimator, estimator)
        self.obs = list(spec.indicators)
        self.s = s
        s_df = pd.DataFrame(s, index=self.obs, columns=self.obs)
        self._load(frame, s_df)
        self.k = len(self.model.param_vals)
        p = len(self.obs)
        self.df = p * (p + 1) // 2 - self.k
        if self.df < 0:
            few = [b.name for b in spec.blocks if len(b.indicators) < 3]
            raise EstimationError(
                f"the model is not identified: {self.k} free parameters but only "
                f"{p * (p + 1) // 2} variances and covariances (df = {self.df})"
                + (f"; constructs with fewer than three indicators: {', '.join(few)}" if few
                   else "") + " — add indicators or fix parameters",
                message_zh=f"模型不可识别：自由参数 {self.k} 个，"
                           f"方差协方差仅 {p * (p + 1) // 2} 个")
        self.mu = None
        self.patterns = None
        if start is None and estimator == "GLS":         # GLS starts from the ML solution
            start = _Engine(spec, "ML", missing, frame, s * (n - 1) / n, n).model.param_vals
            self._load(frame, s_df)
        if missing == "fiml":                # start: complete-data ML on the EM covariance
            start = _Engine(spec, "ML", "casewise", frame, s, n).model.param_vals
            self._load(frame, s_df)
            self.patterns = _Patterns(frame.to_numpy())
            self.mu = saturated_em(self.patterns)[0]
        if start is not None:
            self.model.param_vals = start.copy()
            self.model.update_matrices(start)
        if self.patterns is not None:
            self.fun, self.grad = self._fiml_objective()
        else:
            self.fun, self.grad = self._objective()
        self.converged, self.method, self.iterations = self._optimize()

    def _load(self, frame, s_df):
        if self.obj in ("WLS", "DWLS"):          # weights from the data's fourth moments
            self.model.load(data=frame)
            # fitted to S with divisor N − 1, as lavaan (semopy's own S has divisor N)
            obs = list(self.model.vars["observed"])
            self.model.mx_cov = s_df.loc[obs, obs].to_numpy()
            self.model.prepare_wls(self.obj, False)
        else:
            self.model.load(cov=s_df, n_samples=self.n)

    def _objective(self):
        """(f, grad): semopy's for ML; lavaan's GLS and ULS discrepancies otherwise."""
        m = self.model
        if self.obj in ("MLW", "WLS", "DWLS"):
            return m.get_objective(self.obj)
        s = self.s
        low = np.tril_indices(len(self.obs))
        s_inv = np.linalg.inv(s)

        def sigma(x):
            m.update_matrices(x)
            return m.calc_sigma()

        if self.obj == "GLS":                 # ½ tr[((S − Σ) S⁻¹)²]
            def f(x):
                try:
                    r = (s - sigma(x)[0]) @ s_inv
                except np.linalg.LinAlgError:
                    return np.inf
                return 0.5 * float(np.trace(r @ r))

            def g(x):
                sig, (mm, c) = sigma(x)
                r = (s - sig) @ s_inv
                return np.array([-np.trace(r @ d @ s_inv) for d in m.calc_sigma_grad(mm, c)])
        else:                                   # ULS: Σ_{i≤j} (s_ij − σ_ij)²
            def f(x):
                try:
                    r = (s - sigma(x)[0])[low]
                except np.linalg.LinAlgError:
                    return np.inf
                return float(r @ r)

            def g(x):
                sig, (mm, c) = sigma(x)
                r = s - sig
                return np.array([-2.0 * (r * d)[low].sum() for d in m.calc_sigma_grad(mm, c)])
        return f, g

    def _sigma_ordered(self):
        """Σ(θ) and its derivatives in the spec's indicator order."""
        m = self.model
        order = [list(m.vars["observed"]).index(v) for v in self.obs]
        sig, (mm, c) = m.calc_sigma()
        ix = np.ix_(order, order)
        return sig[ix], (mm, c), ix

    def _fiml_objective(self):
        """−loglik / N of the observed data, patterns of missingness taken one by one; the
        parameters are θ (semopy's) followed by the p means."""
        m, pats, k, n = self.model, self.patterns, self.k, self.n

        def parts(z):
            m.update_matrices(z[:k])
            sig, aux, ix = self._sigma_ordered()
            return sig, aux, ix, z[k:]

        def f(z):
            try:
                sig, _, _, mu = parts(z)
                return pats.minus_loglik(mu, sig) / n
            except np.linalg.LinAlgError:
                return np.inf

        def g(z):
            sig, (mm, c), ix, mu = parts(z)
            d_sigma, d_mu = pats.gradients(mu, sig)
            grads = m.calc_sigma_grad(mm, c)
            out = np.array([float(np.sum(d_sigma * d[ix])) for d in grads] + list(d_mu))
            return out / n

        return f, g

    def _hess(self, x):
        k = len(x)
        h = np.empty((k, k))
        for i in range(k):
            e = np.zeros(k)
            e[i] = 1e-6 * max(1.0, abs(x[i]))
            h[:, i] = (self.grad(x + e) - self.grad(x - e)) / (2 * e[i])
        return (h + h.T) / 2

    def _minimize(self, x0, method, **options):
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                kw = {"hess": self._hess} if method == "trust-exact" else {}
                res = optimize.minimize(self.fun, x0, jac=self.grad, method=method,
                                        options=options, **kw)
            except (np.linalg.LinAlgError, ValueError):
                return x0, 0
        if np.isfinite(res.fun) and res.fun <= self.fun(x0) + 1e-12:
            return np.asarray(res.x, dtype=float), int(res.nit)
        return x0, int(res.nit)

    def _optimize(self):
        """Quasi-Newton, then a trust-region Newton polish, then the gradient check; if the
        gradient is not small, once more from a BFGS run."""
        x0 = np.asarray(self.model.param_vals, dtype=float).copy()
        if self.patterns is not None:
            x0 = np.concatenate([x0, self.mu])
        tried = []
        for first in ("L-BFGS-B", "BFGS"):
            x, n1 = self._minimize(x0, first, maxiter=20000, gtol=1e-9)
            x, n2 = self._minimize(x, "trust-exact", gtol=GRAD_TOL / 100, maxiter=200)
            g = float(np.abs(self.grad(x)).max())
            tried.append((g, x, f"{first} + trust-region Newton", n1 + n2))
            if g < GRAD_TOL:
                break
        g, x, method, nit = min(tried, key=lambda t: t[0])
        self.solution = x
        if self.patterns is not None:
            self.mu = x[self.k:].copy()
            x = x[:self.k]
        self.model.param_vals = x
        self.model.update_matrices(x)
        self.max_grad = g
        return bool(g < GRAD_TOL), method, int(nit)

    # -- matrices --------------------------------------------------------------------------------
    def param_keys(self) -> list[tuple[str, str, str]]:
        """(lhs, op, rhs) in lavaan's notation of every free parameter, in semopy's order."""
        m = self.model
        mats = {id(m.mx_beta): ("beta", m.names_beta), id(m.mx_lambda): ("lambda", m.names_lambda),
                id(m.mx_psi): ("psi", m.names_psi), id(m.mx_theta): ("theta", m.names_theta)}
        keys = []
        for name, par in m.parameters.items():
            if not par.active:
                continue
            loc = par.locations[0]
            kind, names = mats[id(loc.matrix)]
            a, b = names[0][loc.indices[0]], names[1][loc.indices[1]]
            if kind == "beta":
                keys.append((a, "~", b))
            elif kind == "lambda":
                keys.append((b, "=~", a))
            else:
                keys.append((a, "~~", b))
        return keys

    def standard_errors(self) -> dict:
        """(lhs, op, rhs) → SE. ML: expected information N/2·tr(Σ⁻¹∂Σ Σ⁻¹∂Σ) (semopy's);
        FIML: observed information (the Hessian of −loglik), as lavaan."""
        if self.patterns is None:
            from semopy import stats as sstats
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                se = np.asarray(sstats.calc_se(self.model, information="expected"), dtype=float)
        else:
            h = self._hess(self.solution) * self.n
            try:
                se = np.sqrt(np.diag(np.linalg.inv(h)))[:self.k]
            except np.linalg.LinAlgError:
                se = np.full(self.k, np.nan)
        out = {}
        for key, v in zip(self.param_keys(), se):
            out[key] = float(v)
            if key[1] == "~~":
                out[(key[2], key[1], key[0])] = float(v)
        return out

    def matrices(self):
        m = self.model
        beta, lamb, psi, theta = (np.asarray(a, dtype=float) for a in m.matrices[:4])
        inner = list(m.vars["inner"])
        obs = list(m.vars["observed"])
        order_i = [inner.index(c) for c in self.spec.constructs]
        order_o = [obs.index(v) for v in self.obs]
        beta = beta[np.ix_(order_i, order_i)]
        lamb = lamb[np.ix_(order_o, order_i)]
        psi = psi[np.ix_(order_i, order_i)]
        theta = theta[np.ix_(order_o, order_o)]
        c = np.linalg.inv(np.eye(len(order_i)) - beta)
        phi = c @ psi @ c.T
        sigma = lamb @ phi @ lamb.T + theta
        return beta, lamb, psi, theta, phi, sigma


class CBSEMResults:
    """Estimates of one :meth:`CBSEM.fit`, in the shape of :class:`~ncsi.pls.PLSResults`."""

    def __init__(self, *, spec, settings, engine: _Engine, data, mean, index, n_dropped, scale):
        self.spec = spec
        self.settings = settings
        self._engine = engine
        self._data = data
        self._mean = mean
        self._index = index
        self.n = engine.n
        self.n_dropped = n_dropped
        self._scale = scale
        self.converged = engine.converged
        self.iterations = engine.iterations
        self.optimizer = engine.method
        self.df = engine.df
        self.n_parameters = engine.k
        self._constructs = list(spec.constructs)
        self._indicators = list(spec.indicators)
        (self._beta, self._lambda, self._psi, self._theta, self._phi,
         self._sigma) = engine.matrices()
        self.warnings: list[str] = []
        if not self.converged:
            self.warnings.append(self.problems[0]["message"])

    def __repr__(self) -> str:
        return (f"<CBSEMResults {self.spec.name}: n={self.n}, {self.settings['estimator']}, "
                f"converged={self.converged}, df={self.df}>")

    # -- parameter table -------------------------------------------------------------------------
    @cached_property
    def _ses(self) -> dict:
        if self.settings["estimator"] != "ML":
            return {}
        return self._engine.standard_errors()

    def _se(self, lval: str, op: str, rval: str) -> float:
        """The SE of a parameter given as semopy names it (loadings: indicator ~ construct)."""
        if op == "~" and rval in self._constructs and lval in self._indicators:
            key = (rval, "=~", lval)
        else:
            key = (lval, op, rval)
        return self._ses.get(key, math.nan)

    @cached_property
    def _sd_latent(self) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.sqrt(np.diag(self._phi))

    @cached_property
    def _sd_obs(self) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.sqrt(np.diag(self._sigma))

    @cached_property
    def parameters(self) -> pd.DataFrame:
        """One row per parameter in lavaan's notation: ``lhs``, ``op``, ``rhs``, ``estimate``,
        ``se``, ``z``, ``p``, ``std`` (standardized: lavaan's std.all)."""
        rows = []
        for j, b in enumerate(self.spec.blocks):
            for ind in b.indicators:
                k = self._indicators.index(ind)
                est = self._lambda[k, j]
                fixed = ind == b.indicators[0]
                se = math.nan if fixed else self._se(ind, "~", b.name)
                rows.append((b.name, "=~", ind, est, se,
                             est * self._sd_latent[j] / self._sd_obs[k]))
        for t in self._constructs:
            j = self._constructs.index(t)
            for s_ in self.spec.predecessors(t):
                i = self._constructs.index(s_)
                est = self._beta[j, i]
                rows.append((t, "~", s_, est, self._se(t, "~", s_),
                             est * self._sd_latent[i] / self._sd_latent[j]))
        for c in self.spec.covariances:
            if c.a in self._constructs:
                a, b_ = self._constructs.index(c.a), self._constructs.index(c.b)
                est, sa, sb = self._psi[a, b_], self._sd_latent[a], self._sd_latent[b_]
            else:
                a, b_ = self._indicators.index(c.a), self._indicators.index(c.b)
                est = self._theta[a, b_]
                sa, sb = math.sqrt(self._theta[a, a]), math.sqrt(self._theta[b_, b_])
            rows.append((c.a, "~~", c.b, est, self._se(c.a, "~~", c.b), est / (sa * sb)))
        for k, ind in enumerate(self._indicators):
            est = self._theta[k, k]
            single = len(self.spec.block(self.spec.construct_of(ind)).indicators) == 1
            rows.append((ind, "~~", ind, est, math.nan if single else self._se(ind, "~~", ind),
                         est / self._sigma[k, k]))
        for j, c in enumerate(self._constructs):
            exo = not self.spec.predecessors(c)
            for i in range(j, len(self._constructs)):
                other = self._constructs[i]
                if i != j and not (exo and not self.spec.predecessors(other)):
                    continue
                est = self._psi[j, i]
                rows.append((c, "~~", other, est, self._se(c, "~~", other),
                             est / (self._sd_latent[j] * self._sd_latent[i])))
        df = pd.DataFrame(rows, columns=["lhs", "op", "rhs", "estimate", "se", "std"])
        with np.errstate(divide="ignore", invalid="ignore"):
            df["z"] = df["estimate"] / df["se"]
        df["p"] = 2 * special.ndtr(-np.abs(df["z"]))
        return df[["lhs", "op", "rhs", "estimate", "se", "z", "p", "std"]]

    @cached_property
    def paths(self) -> pd.DataFrame:
        """Structural paths: ``from``, ``to``, ``estimate`` (unstandardized), ``se``, ``z``,
        ``p``, ``std`` (standardized)."""
        t = self.parameters[self.parameters["op"] == "~"]
        return pd.DataFrame({"from": t["rhs"].to_numpy(), "to": t["lhs"].to_numpy(),
                             "estimate": t["estimate"].to_numpy(), "se": t["se"].to_numpy(),
                             "z": t["z"].to_numpy(), "p": t["p"].to_numpy(),
                             "std": t["std"].to_numpy()})

    @cached_property
    def loadings(self) -> pd.DataFrame:
        """Loadings: ``construct``, ``indicator``, ``estimate``, ``se``, ``z``, ``p``, ``std``."""
        t = self.parameters[self.parameters["op"] == "=~"]
        return pd.DataFrame({"construct": t["lhs"].to_numpy(), "indicator": t["rhs"].to_numpy(),
                             "estimate": t["estimate"].to_numpy(), "se": t["se"].to_numpy(),
                             "z": t["z"].to_numpy(), "p": t["p"].to_numpy(),
                             "std": t["std"].to_numpy()})

    @cached_property
    def effects(self) -> pd.DataFrame:
        """Standardized direct, indirect and total effects between constructs (the standardized
        path coefficients combined along every directed route): ``from``, ``to``, ``direct``,
        ``indirect``, ``total``."""
        nc = len(self._constructs)
        b = np.zeros((nc, nc))
        for r in self.paths.itertuples():
            b[self._constructs.index(r._1), self._constructs.index(r.to)] = r.std
        total = plscore.total_effects(b[None])[0]
        reach = plscore.total_effects((b != 0).astype(float)[None])[0] > 0
        rows = [(a, c, float(b[i, j]), float(total[i, j] - b[i, j]), float(total[i, j]))
                for i, a in enumerate(self._constructs) for j, c in enumerate(self._constructs)
                if reach[i, j]]
        return pd.DataFrame(rows, columns=["from", "to", "direct", "indirect", "total"])

    @cached_property
    def r2(self) -> pd.Series:
        """R² of every endogenous construct: 1 − ψ_jj / var(η_j)."""
        return pd.Series({c: 1 - self._psi[j, j] / self._phi[j, j]
                          for j, c in enumerate(self._constructs)
                          if self.spec.predecessors(c)}, name="r2", dtype=float)

    @cached_property
    def construct_corr(self) -> pd.DataFrame:
        d = self._sd_latent
        idx = pd.Index(self._constructs, name="construct")
        return pd.DataFrame(self._phi / np.outer(d, d), index=idx, columns=idx.copy())

    # -- scores and indices ----------------------------------------------------------------------
    @cached_property
    def item_mean(self) -> pd.Series:
        """The indicators' means: sample means, or under FIML the estimated means."""
        return pd.Series(self._mean, index=pd.Index(self._indicators, name="indicator"),
                         name="mean")

    @cached_property
    def score_weights(self) -> pd.DataFrame:
        """Regression (Thurstone) factor-score weights ΦΛ'Σ⁻¹: constructs × indicators."""
        w = self._phi @ self._lambda.T @ np.linalg.inv(self._sigma)
        return pd.DataFrame(w, index=pd.Index(self._constructs, name="construct"),
                            columns=pd.Index(self._indicators, name="indicator"))

    @cached_property
    def scores(self) -> pd.DataFrame:
        """Factor scores (regression method) of the rows used."""
        x = self._data.to_numpy()
        x = np.where(np.isnan(x), self._mean, x)
        vals = (x - self._mean) @ self.score_weights.to_numpy().T
        return pd.DataFrame(vals, index=self._index, columns=pd.Index(self._constructs,
                                                                      name="construct"))

    @cached_property
    def index_weights(self) -> pd.Series:
        """Raw-scale index weights: each construct's own-indicator factor-score weights,
        normalised to sum to one (the PLS index code, methodology §3)."""
        lay = plscore.Layout.from_spec(self.spec)
        w3 = np.zeros((1, lay.p, lay.J))
        sw = self.score_weights.to_numpy()
        for j, idx in enumerate(lay.blocks):
            w3[0, idx, j] = sw[j, idx]
        wt = plscore.index_weights(w3, self._sd_obs[None], lay, scaled=False)[0]
        return pd.Series(wt, index=pd.MultiIndex.from_tuples(
            [(b.name, i) for b in self.spec.blocks for i in b.indicators],
            names=["construct", "indicator"]), name="index_weight")

    def indices(self, scale: tuple[float, float] | None = None) -> pd.Series:
        """0–100 index of every construct (see :meth:`ncsi.pls.PLSResults.indices`)."""
        from .pls import _check_scale
        scale = _check_scale(scale) if scale is not None else self._scale
        if scale is None:
            raise CBSEMOptionError("the 0–100 indices need the scale's ends: give scale=(lowest, "
                                   "highest), e.g. (1, 10)")
        lay = plscore.Layout.from_spec(self.spec)
        vals = plscore.indices(self.index_weights.to_numpy()[None], self._mean[None], lay,
                               *scale)[0]
        return pd.Series(vals, index=self._constructs, name="index")

    @cached_property
    def reliability(self) -> pd.DataFrame:
        """Per construct: Cronbach's α (sample correlations), ρC from the standardized loadings
        and residual variances, AVE (mean squared standardized loading)."""
        from . import assessment
        rows = []
        ld = self.loadings
        s = self._engine.s
        for b in self.spec.blocks:
            lam = ld.loc[ld["construct"] == b.name, "std"].to_numpy()
            idx = [self._indicators.index(i) for i in b.indicators]
            theta = np.array([self._theta[k, k] / self._sigma[k, k] for k in idx])
            if len(idx) == 1:
                rows.append((1.0, 1.0, float(lam[0] ** 2)))
                continue
            rho_c = lam.sum() ** 2 / (lam.sum() ** 2 + theta.sum())
            rows.append((assessment.cronbach_alpha(s[np.ix_(idx, idx)]), float(rho_c),
                         float(np.mean(lam ** 2))))
        return pd.DataFrame(rows, columns=["alpha", "rho_c", "ave"],
                            index=pd.Index(self._constructs, name="construct"))

    # -- fit -------------------------------------------------------------------------------------
    @cached_property
    def fit_measures(self) -> dict:
        """χ², df, p, CFI, TLI, RMSEA (90% CI), SRMR, log-likelihood, AIC, BIC, baseline χ² and
        df (see the module docstring for which estimator gets which)."""
        s, sigma, n, p = self._engine.s, self._sigma, self.n, len(self._indicators)
        k, df = self.n_parameters, self.df
        est = self.settings["estimator"]
        out = {key: None for key in ("chi2", "df", "pvalue", "baseline_chi2", "baseline_df",
                                     "cfi", "tli", "rmsea", "rmsea_ci_low", "rmsea_ci_high",
                                     "srmr", "loglik", "loglik_unrestricted", "aic", "bic")}
        out.update(df=int(df), n=int(n), n_parameters=int(k), estimator=est)
        d = np.sqrt(np.diag(s))
        resid = (s - sigma) / np.outer(d, d)
        low = np.tril_indices(p)
        out["srmr"] = float(np.sqrt(np.mean(resid[low] ** 2)))
        if self.settings["missing"] == "fiml":
            return self._fiml_measures(out, resid, low)
        if est not in ("ML", "GLS"):
            return out
        try:
            sign, logdet_sigma = np.linalg.slogdet(sigma)
            inv = np.linalg.inv(sigma)
        except np.linalg.LinAlgError:
            return out
        if sign <= 0:
            return out
        logdet_s = np.linalg.slogdet(s)[1]
        base_df = p * (p - 1) // 2
        if est == "ML":
            f = logdet_sigma + np.trace(s @ inv) - logdet_s - p
            base_chi2 = n * (np.sum(np.log(np.diag(s))) - logdet_s)
            ll = -n / 2 * (p * math.log(2 * math.pi) + logdet_sigma + np.trace(s @ inv))
            ll0 = -n / 2 * (p * math.log(2 * math.pi) + logdet_s + p)
            out.update(loglik=float(ll), loglik_unrestricted=float(ll0),
                       aic=float(-2 * ll + 2 * k), bic=float(-2 * ll + k * math.log(n)))
        else:                                   # GLS: ½ tr[(S⁻¹(S − Σ))²]
            s_inv = np.linalg.inv(s)
            r = s_inv @ (s - sigma)
            f = 0.5 * np.trace(r @ r)
            # the independence model by GLS: minimise over diagonal D, d = (A∘A)⁻¹ diag(A)
            d0 = np.linalg.solve(s_inv * s_inv, np.diag(s_inv))
            r0 = s_inv @ (s - np.diag(d0))
            base_chi2 = (n - 1) * 0.5 * np.trace(r0 @ r0)
        n_test = n if est == "ML" else n - 1         # lavaan: GLS statistic (N − 1)·F
        chi2 = float(n_test * f)
        out.update(chi2=chi2, baseline_chi2=float(base_chi2), baseline_df=base_df,
                   pvalue=float(stats.chi2.sf(chi2, df)) if df > 0 else None)
        if df > 0:
            num = max(chi2 - df, 0.0)
            den = max(chi2 - df, base_chi2 - base_df, 0.0)
            out["cfi"] = 1.0 - num / den if den > 0 else 1.0
            out["tli"] = ((base_chi2 / base_df - chi2 / df) / (base_chi2 / base_df - 1)
                          if base_df > 0 else None)
            out["rmsea"] = math.sqrt(num / (df * n_test))
            lo, hi = _rmsea_ci(chi2, df, n_test)
            out["rmsea_ci_low"], out["rmsea_ci_high"] = lo, hi
        return out

    def _fiml_measures(self, out: dict, resid, low) -> dict:
        """FIML: χ² = 2(ℓ_saturated − ℓ), the baseline the independence model, parameters
        counted with the p means; SRMR over covariances and means against the EM moments."""
        eng = self._engine
        pats, n, p = eng.patterns, self.n, len(self._indicators)
        k = self.n_parameters + p
        ll = -pats.minus_loglik(eng.mu, self._sigma)
        mu_sat, _, ll_sat = saturated_em(pats)
        ll_base = _baseline_loglik(pats)
        chi2 = max(2 * (ll_sat - ll), 0.0)
        base_chi2 = 2 * (ll_sat - ll_base)
        df, base_df = self.df, p * (p - 1) // 2
        d = np.sqrt(np.diag(eng.s))
        mean_resid = (mu_sat - eng.mu) / d
        out["srmr"] = float(np.sqrt((np.sum(resid[low] ** 2) + np.sum(mean_resid ** 2))
                                    / (len(low[0]) + p)))
        out.update(chi2=chi2, baseline_chi2=base_chi2, baseline_df=base_df,
                   pvalue=float(stats.chi2.sf(chi2, df)) if df > 0 else None,
                   loglik=float(ll), loglik_unrestricted=float(ll_sat),
                   aic=float(-2 * ll + 2 * k), bic=float(-2 * ll + k * math.log(n)),
                   n_parameters=int(k))
        if df > 0:
            num = max(chi2 - df, 0.0)
            den = max(chi2 - df, base_chi2 - base_df, 0.0)
            out["cfi"] = 1.0 - num / den if den > 0 else 1.0
            out["tli"] = (base_chi2 / base_df - chi2 / df) / (base_chi2 / base_df - 1)
            out["rmsea"] = math.sqrt(num / (df * n))
            out["rmsea_ci_low"], out["rmsea_ci_high"] = _rmsea_ci(chi2, df, n)
        return out

    # -- problems --------------------------------------------------------------------------------
    @cached_property
    def problems(self) -> list[dict]:
        """Every problem of the solution (see the module docstring), empty when admissible."""
        out = []
        if not self.converged:
            out.append(_problem(
                "not_converged", "model",
                f"the optimizer did not reach a solution: the largest gradient component is "
                f"{self._engine.max_grad:.3g} (needed < {GRAD_TOL:g}) after "
                f"{self._engine.method}; the estimates are not reliable — simplify the model or "
                f"check the data",
                f"优化未收敛（最大梯度 {self._engine.max_grad:.3g}）；估计不可靠"))
        for k, ind in enumerate(self._indicators):
            if self._theta[k, k] < 0:
                out.append(_problem(
                    "heywood_variance", ind,
                    f"negative residual variance of indicator {ind} ({self._theta[k, k]:.4g}): "
                    f"a Heywood case — the solution is inadmissible",
                    f"指标 {ind} 的残差方差为负（Heywood 情形）"))
        for j, c in enumerate(self._constructs):
            if self._psi[j, j] < 0:
                out.append(_problem(
                    "heywood_variance", c,
                    f"negative (residual) variance of construct {c} ({self._psi[j, j]:.4g}): a "
                    f"Heywood case — the solution is inadmissible",
                    f"构念 {c} 的（残差）方差为负（Heywood 情形）"))
        for r in self.loadings.itertuples():
            if abs(r.std) > 1 + 1e-8:
                out.append(_problem(
                    "heywood_loading", f"{r.construct} =~ {r.indicator}",
                    f"the standardized loading of {r.indicator} on {r.construct} is {r.std:.3f}, "
                    f"beyond ±1: a Heywood case", f"{r.indicator} 在 {r.construct} 上的标准化载荷"
                                                  f"为 {r.std:.3f}，超过 ±1"))
        for r in self.paths.itertuples():
            if abs(r.std) > 1 + 1e-8:
                out.append(_problem(
                    "std_path_over_one", f"{r.to} ~ {r._1}",
                    f"the standardized path {r._1} → {r.to} is {r.std:.3f}, beyond ±1: the "
                    f"predictors of {r.to} are nearly collinear; the estimates are not "
                    f"interpretable", f"标准化路径 {r._1} → {r.to} 为 {r.std:.3f}，超过 ±1"))
        for what, m, names in (("indicators", self._sigma, self._indicators),
                               ("constructs", self._phi, self._constructs)):
            ok, where = _pd_report(m, names)
            if not ok:
                out.append(_problem(
                    "implied_not_pd", what,
                    f"the model-implied covariance matrix of the {what} is not positive definite "
                    f"({where})", f"模型隐含的协方差矩阵（{what}）非正定（{where}）"))
        for b in self.spec.blocks:
            if len(b.indicators) == 1:
                out.append(_problem(
                    "single_indicator", b.name,
                    f"construct {b.name} has a single indicator ({b.indicators[0]}); its residual "
                    f"variance is fixed to 0 (measured without error)",
                    f"构念 {b.name} 只有一个指标，其残差方差固定为 0"))
        return out

    @property
    def admissible(self) -> bool:
        return not [p for p in self.problems if p["code"] != "single_indicator"]

    # -- inference and export --------------------------------------------------------------------
    def bootstrap(self, n_boot: int = 200, *, seed: int, workers: int = 1):
        """Percentile bootstrap of paths, loadings (standardized and not), R² and indices: rows
        resampled as in :mod:`ncsi.inference` (the same seeded streams), each resample refitted
        from the full-sample solution; failed or non-converged resamples are counted and left
        out."""
        from .inference import _check_options, _counts
        _check_options(n_boot, seed, workers)
        if self.settings["missing"] != "casewise":
            raise CBSEMOptionError("the CB-SEM bootstrap needs casewise deletion")
        x = self._data.to_numpy()
        labels, theta0 = self._statistics_vector(self)
        chunks = [(a, min(a + 50, n_boot)) for a in range(0, n_boot, 50)]

        def run(chunk):
            a, b = chunk
            counts = _counts(seed, a, b, self.n)
            out = np.full((b - a, len(labels)), np.nan)
            for r, cnt in enumerate(counts):
                tot = cnt.sum()
                mean = cnt @ x / tot
                xc = x - mean
                s = (xc * cnt[:, None]).T @ xc / tot
                try:
                    eng = _Engine(self.spec, self.settings["estimator"], "casewise",
                                  pd.DataFrame(x, columns=self._indicators), s, self.n,
                                  start=self._engine.model.param_vals)
                except (EstimationError, np.linalg.LinAlgError, ValueError):
                    continue
                if not eng.converged:
                    continue
                res = CBSEMResults(spec=self.spec, settings=self.settings, engine=eng,
                                   data=self._data, mean=mean, index=self._index,
                                   n_dropped=self.n_dropped, scale=self._scale)
                out[r] = self._statistics_vector(res)[1]
            return out

        if workers == 1:
            parts = [run(c) for c in chunks]
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                parts = list(pool.map(run, chunks))
        draws = np.concatenate(parts)
        return CBSEMBootstrap(labels, theta0, draws, seed=seed, n=self.n)

    def _statistics_vector(self, res) -> tuple[list, np.ndarray]:
        labels, vals = [], []
        for r in res.paths.itertuples():
            labels += [("path", f"{r._1} -> {r.to}"), ("path_std", f"{r._1} -> {r.to}")]
            vals += [r.estimate, r.std]
        for r in res.loadings.itertuples():
            if self.spec.block(r.construct).indicators[0] != r.indicator:   # not the marker
                labels.append(("loading", f"{r.construct} -> {r.indicator}"))
                vals.append(r.estimate)
            labels.append(("loading_std", f"{r.construct} -> {r.indicator}"))
            vals.append(r.std)
        for c, v in res.r2.items():
            labels.append(("r2", c))
            vals.append(v)
        if self._scale is not None:
            for c, v in res.indices().items():
                labels.append(("index", c))
                vals.append(v)
        return labels, np.array(vals, dtype=float)

    def to_dict(self) -> dict:
        """JSON-ready: the keys of the PLS results plus ``fit`` and ``problems``."""
        def num(v):
            v = float(v)
            return v if math.isfinite(v) else None

        out = {
            "n": int(self.n), "n_dropped": int(self.n_dropped), "sum_weights": None,
            "converged": bool(self.converged), "iterations": int(self.iterations),
            "settings": {**self.settings, "optimizer": self.optimizer},
            "warnings": list(self.warnings),
            "paths": [{"from": r["from"], "to": r["to"], "estimate": num(r["estimate"]),
                       "se": num(r["se"]), "z": num(r["z"]), "p": num(r["p"]),
                       "std": num(r["std"])} for r in self.paths.to_dict("records")],
            "outer": [{"construct": r["construct"], "indicator": r["indicator"],
                       "loading": num(r["std"]), "estimate": num(r["estimate"]),
                       "se": num(r["se"]), "z": num(r["z"]), "p": num(r["p"])}
                      for r in self.loadings.to_dict("records")],
            "r2": {c: num(v) for c, v in self.r2.items()},
            "reliability": [{"construct": c, **{k: num(v) for k, v in row.items()}}
                            for c, row in self.reliability.iterrows()],
            "parameters": [{k: (num(v) if isinstance(v, (float, np.floating)) else v)
                            for k, v in r.items()} for r in self.parameters.to_dict("records")],
            "fit": {k: (num(v) if isinstance(v, (float, np.floating)) else v)
                    for k, v in self.fit_measures.items()},
            "problems": self.problems,
        }
        if self._scale is not None:
            out["indices"] = {c: {"estimate": num(v)} for c, v in self.indices().items()}
        return out


class CBSEMBootstrap:
    """Percentile bootstrap of a CB-SEM fit (``summary()`` as in :mod:`ncsi.inference`)."""

    def __init__(self, labels, theta0, draws, *, seed, n):
        self.labels = pd.MultiIndex.from_tuples(labels, names=["statistic", "name"])
        self.seed, self.n = seed, n
        self._theta0 = theta0
        ok = np.isfinite(draws).all(axis=1)
        self.n_boot = len(draws)
        self.n_valid = int(ok.sum())
        self.n_failed = self.n_boot - self.n_valid
        self.draws = pd.DataFrame(draws[ok], columns=self.labels)
        self.warnings = []
        if self.n_valid < 10:
            raise EstimationError(f"only {self.n_valid} of {self.n_boot} CB-SEM bootstrap "
                                  f"resamples converged; the model is too unstable to bootstrap")
        if self.n_failed > 0.05 * self.n_boot:
            self.warnings.append(f"{self.n_failed} of {self.n_boot} resamples failed or did not "
                                 f"converge and were left out")

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        d = self.draws.to_numpy()
        se = d.std(axis=0, ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = self._theta0 / se
        a = 1 - level
        lo, hi = np.quantile(d, [a / 2, 1 - a / 2], axis=0)
        return pd.DataFrame({"original": self._theta0, "mean": d.mean(axis=0),
                             "std_error": se, "t": t,
                             "p": 2.0 * special.stdtr(max(self.n - 1, 1), -np.abs(t)),
                             "ci_low": lo, "ci_high": hi}, index=self.labels)


def _rmsea_ci(chi2: float, df: int, n: int, level: float = 0.90) -> tuple[float, float]:
    """RMSEA confidence interval by inverting the noncentral χ² distribution in λ."""
    def lam_for(prob):
        f = lambda lam: stats.ncx2.cdf(chi2, df, lam) - prob if lam > 0 else \
            stats.chi2.cdf(chi2, df) - prob
        if f(0.0) < 0:
            return 0.0
        hi = max(chi2, 1.0)
        while f(hi) > 0:
            hi *= 2
        return optimize.brentq(f, 0.0, hi, xtol=1e-12)
    lo = lam_for(1 - (1 - level) / 2)
    up = lam_for((1 - level) / 2)
    return math.sqrt(lo / (df * n)), math.sqrt(up / (df * n))


def _pd_report(m: np.ndarray, names: list[str]) -> tuple[bool, str]:
    if not np.isfinite(m).all():
        return False, "undefined entries"
    vals, vecs = np.linalg.eigh((m + m.T) / 2)
    if vals[0] > 1e-10 * max(vals[-1], 1e-300):
        return True, ""
    v = np.abs(vecs[:, 0])
    involved = [names[k] for k in np.argsort(-v) if v[k] > 0.3 * v.max()]
    return False, f"smallest eigenvalue {vals[0]:.3g}, carried mostly by {', '.join(involved)}"


# ------------------------------------------------------------------------------------------------
# full-information ML
# ------------------------------------------------------------------------------------------------

class _Patterns:
    """The rows grouped by their pattern of observed values (for FIML and the saturated EM)."""

    def __init__(self, x: np.ndarray):
        self.n, self.p = x.shape
        obs = ~np.isnan(x)
        keys, inverse = np.unique(obs, axis=0, return_inverse=True)
        self.groups = []
        for g, key in enumerate(keys):
            o = np.flatnonzero(key)
            rows = x[np.flatnonzero(inverse.ravel() == g)][:, o]
            mean = rows.mean(axis=0)
            dev = rows - mean
            self.groups.append((o, len(rows), mean, dev.T @ dev / len(rows), rows))

    def minus_loglik(self, mu: np.ndarray, sigma: np.ndarray) -> float:
        """−log-likelihood of the observed values under N(μ, Σ)."""
        total = 0.0
        for o, n_o, mean, s_o, _ in self.groups:
            sub = sigma[np.ix_(o, o)]
            sign, logdet = np.linalg.slogdet(sub)
            if sign <= 0:
                raise np.linalg.LinAlgError("implied covariance not positive definite")
            d = mean - mu[o]
            inv = np.linalg.inv(sub)
            total += 0.5 * n_o * (len(o) * math.log(2 * math.pi) + logdet
                                  + np.sum(inv * (s_o + np.outer(d, d))))
        return total

    def gradients(self, mu: np.ndarray, sigma: np.ndarray):
        """d(−loglik)/dΣ (p × p, symmetric use) and d(−loglik)/dμ."""
        d_sigma = np.zeros_like(sigma)
        d_mu = np.zeros_like(mu)
        for o, n_o, mean, s_o, _ in self.groups:
            inv = np.linalg.inv(sigma[np.ix_(o, o)])
            d = mean - mu[o]
            m_o = s_o + np.outer(d, d)
            d_sigma[np.ix_(o, o)] += 0.5 * n_o * (inv - inv @ m_o @ inv)
            d_mu[o] -= n_o * (inv @ d)
        return d_sigma, d_mu


def saturated_em(pats: _Patterns, tol: float = 1e-12, max_iter: int = 10000):
    """ML mean and covariance of incomplete multivariate-normal data by EM (Dempster, Laird &
    Rubin 1977): (μ, Σ, loglik)."""
    p = pats.p
    sums = np.zeros(p)
    counts = np.zeros(p)
    for o, n_o, mean, _, _ in pats.groups:
        sums[o] += n_o * mean
        counts[o] += n_o
    mu = sums / counts
    sq = np.zeros(p)
    for o, n_o, _, _, rows in pats.groups:
        sq[o] += ((rows - mu[o]) ** 2).sum(axis=0)
    sigma = np.diag(sq / counts)
    last = -np.inf
    for _ in range(max_iter):
        t1 = np.zeros(p)
        t2 = np.zeros((p, p))
        for o, n_o, _, _, rows in pats.groups:
            m = np.setdiff1d(np.arange(p), o)
            full = np.empty((n_o, p))
            full[:, o] = rows
            c = np.zeros((p, p))
            if m.size:
                b = sigma[np.ix_(m, o)] @ np.linalg.inv(sigma[np.ix_(o, o)])
                full[:, m] = mu[m] + (rows - mu[o]) @ b.T
                c[np.ix_(m, m)] = sigma[np.ix_(m, m)] - b @ sigma[np.ix_(o, m)]
            t1 += full.sum(axis=0)
            t2 += full.T @ full + n_o * c
        mu = t1 / pats.n
        sigma = t2 / pats.n - np.outer(mu, mu)
        ll = -pats.minus_loglik(mu, sigma)
        if abs(ll - last) < tol * max(1.0, abs(ll)):
            break
        last = ll
    return mu, sigma, ll


def _baseline_loglik(pats: _Patterns) -> float:
    """Log-likelihood of the independence model: each variable N(μ_j, σ_j²) on its values."""
    total = 0.0
    for j in range(pats.p):
        vals = np.concatenate([rows[:, list(o).index(j)] for o, _, _, _, rows in pats.groups
                               if j in o])
        var = vals.var()
        total += -0.5 * len(vals) * (math.log(2 * math.pi) + math.log(var) + 1.0)
    return total
