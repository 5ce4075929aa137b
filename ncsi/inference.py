"""Bootstrap inference for a fitted PLS path model: ``PLSResults.bootstrap(...)``.

**Resampling.** A bootstrap resample draws n rows with replacement; row i then counts c_i times.
A resample is therefore a re-weighting of the same rows (weights c_i · w_i with case weights w),
and PLS needs only the weighted means and covariances of the indicators. For a chunk of
resamples the weighted moments are one matrix product of the (chunk × n) count matrix with the
rows' cross-products x_k x_l (k ≤ l), and the PLS iterations of the whole chunk run together
(:mod:`ncsi.plscore`). The missing-data treatment of the fit is kept: with casewise deletion the
complete rows are resampled; with mean replacement the imputed rows are (imputation is done once,
on the full sample).

**Seeds.** Resample b draws its rows from the random stream ``SeedSequence(seed).spawn(...)[b //
50]`` (the (b mod 50)-th draw of that stream): the rows of resample b depend only on the seed and
b — not on the number of resamples, the chunking or the number of workers — and every chunk is
computed identically whichever thread runs it, so the same seed gives identical numbers with 1 or
8 workers.

**Policy for failed resamples.** A resample whose iterations do not converge within the fit's
``max_iter``, or that is degenerate (a score with zero variance, a collinear Mode B block or
collinear predecessors, an undefined statistic), is left out of every summary and counted in
``n_not_converged`` / ``n_failed``; the intervals use the remaining ``n_valid`` resamples. A
warning is issued when more than 5% are left out; fewer than 10 valid resamples is an error.

**Signs.** Every resample's constructs are oriented by the rule of the fit (most indicators load
positively), so a construct's sign cannot flip between resamples unless its loadings do.

**Summaries** (:meth:`BootstrapResults.summary`): the original estimate, the bootstrap mean, bias,
standard error (SD of the valid resamples, divisor B − 1), t = estimate / SE with a two-sided p
from Student's t with n − 1 degrees of freedom, and a percentile or BCa interval (Efron 1987;
Efron & Tibshirani 1993, ch. 14). BCa's bias correction z0 = Φ⁻¹(share of resamples below the
estimate, ties counted half); its acceleration comes from a jackknife: leave-one-out when n ≤
2,000, otherwise a grouped jackknife over 2,000 groups of rows (seeded). The jackknife is run on
first request only.

Statistics: outer weights, loadings, path coefficients, total effects, R², HTMT and (given the
scale) the 0–100 indices of every construct.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from numbers import Integral
from typing import Callable

import numpy as np
import pandas as pd
from scipy import special

from . import plscore
from .errors import EstimationError

__all__ = ["bootstrap", "BootstrapResults", "STATISTICS"]

#: resamples drawn from one random stream (fixed: the rows of resample b depend on seed and b only)
DRAWS_PER_STREAM = 50
#: resamples are computed in chunks of a multiple of DRAWS_PER_STREAM; the chunk's count matrix
#: (chunk × n) stays below this many cells
_CHUNK_CELLS = 25_000_000
#: the rows' cross-products are precomputed when they fit in this many cells, else per row block
_CROSS_CELLS = 30_000_000
#: leave-one-out jackknife up to this many rows, grouped jackknife with as many groups above
JACKKNIFE_GROUPS = 2000
#: warn when more than this share of resamples is left out
_WARN_SHARE = 0.05

STATISTICS = ("weight", "loading", "path", "total_effect", "r2", "htmt", "index")


class BootstrapOptionError(EstimationError, ValueError):
    """An invalid bootstrap option (a programming error, also a ``ValueError``)."""


@dataclass(frozen=True)
class _Plan:
    """What each resample computes: the layout, the fit's options and the statistic labels."""

    lay: plscore.Layout
    scheme: str
    scaled: bool
    consistent: bool
    tol: float
    max_iter: int
    scale: tuple[float, float] | None
    paths: tuple                      # (i, j) of the spec's paths
    total_pairs: tuple                # (i, j) joined by a directed route
    labels: pd.MultiIndex             # (statistic, name) per column of θ
    var0: np.ndarray                  # the indicators' variances in the full sample (raw scale)


def _plan(res, scale) -> _Plan:
    spec, lay = res.spec, res.layout
    cons = list(spec.constructs)
    st = res.settings
    paths = tuple((cons.index(p.source), cons.index(p.target)) for p in spec.paths)
    reach = plscore.total_effects(lay.inner[None])[0] > 0
    total_pairs = tuple((i, j) for i in range(lay.J) for j in range(lay.J) if reach[i, j])
    labels = ([("weight", f"{b.name} <- {i}") for b in spec.blocks for i in b.indicators]
              + [("loading", f"{b.name} -> {i}") for b in spec.blocks for i in b.indicators]
              + [("path", f"{cons[i]} -> {cons[j]}") for i, j in paths]
              + [("total_effect", f"{cons[i]} -> {cons[j]}") for i, j in total_pairs]
              + [("r2", cons[j]) for j in lay.endogenous]
              + [("htmt", f"{cons[a]} ~ {cons[b]}") for a, b in plscore.htmt_pairs(lay)]
              + ([("index", c) for c in cons] if scale else []))
    return _Plan(lay=lay, scheme=st["scheme"], scaled=st["scaled"],
                 consistent=bool(st.get("consistent")), tol=st["tol"], max_iter=st["max_iter"],
                 scale=scale, paths=paths, total_pairs=total_pairs,
                 labels=pd.MultiIndex.from_tuples(labels, names=["statistic", "name"]),
                 var0=res._sd ** 2)


def _statistics(plan: _Plan, cov: np.ndarray, mean: np.ndarray):
    """θ (B × K) and status (B) for a stack of covariance matrices and means (raw scale)."""
    lay = plan.lay
    var = np.einsum("bii->bi", cov)
    # an indicator that is constant in a resample (variance lost to rounding) fails it
    constant = ~(var > 1e-12 * plan.var0).all(axis=1)
    if constant.any():
        cov = cov.copy()
        cov[constant] = np.diag(plan.var0)
        var = np.einsum("bii->bi", cov)
    sd = np.sqrt(var)
    r = cov / (sd[:, :, None] * sd[:, None, :])
    s = r if plan.scaled else cov
    sdx = np.ones_like(sd) if plan.scaled else sd
    est = plscore.estimate(s, lay, scheme=plan.scheme, tol=plan.tol, max_iter=plan.max_iter,
                           sd=sdx)
    w = est.w
    own = np.arange(lay.p), plscore._block_of(lay)
    if plan.consistent:
        _, lam, corr = plscore.consistent(s, w, est.corr, lay)
    else:
        lam, corr = (s @ w)[:, own[0], own[1]], est.corr
    paths, r2, ok = plscore.regressions(corr, lay)
    total = plscore.total_effects(np.nan_to_num(paths))
    parts = [w[:, own[0], own[1]], lam / sdx,
             np.stack([paths[:, i, j] for i, j in plan.paths], axis=1),
             np.stack([total[:, i, j] for i, j in plan.total_pairs], axis=1)
             if plan.total_pairs else np.empty((len(w), 0)),
             r2[:, lay.endogenous], plscore.htmt(r, lay)]
    if plan.scale:
        wt = plscore.index_weights(w, sd, lay, plan.scaled)
        parts.append(plscore.indices(wt, mean, lay, *plan.scale))
    theta = np.concatenate(parts, axis=1)
    status = est.status.copy()
    status[constant] = plscore.DEGENERATE
    status[(status == plscore.OK) & ~ok] = plscore.COLLINEAR
    status[(status == plscore.OK) & ~np.isfinite(theta).all(axis=1)] = plscore.DEGENERATE
    return theta, status


class _Moments:
    """Weighted moments of the fit's rows under many row-weightings at once."""

    def __init__(self, x: np.ndarray, case_w: np.ndarray | None, mean: np.ndarray):
        self.n, self.p = x.shape
        self.xc = x - mean                                  # centred at the full-sample mean
        self.mean = mean
        self.w = case_w
        self.iu, self.ju = np.triu_indices(self.p)
        self.q = self.iu.size
        pos = np.empty((self.p, self.p), dtype=np.intp)     # (k, l) → its triangle position
        pos[self.iu, self.ju] = np.arange(self.q)
        pos[self.ju, self.iu] = np.arange(self.q)
        self.sym = pos.ravel()
        self.row_block = max(1, _CROSS_CELLS // self.q)
        self.cross = self._cross(0, self.n) if self.n <= self.row_block else None

    def _cross(self, a: int, b: int) -> np.ndarray:
        xc = self.xc[a:b]
        return xc[:, self.iu] * xc[:, self.ju]

    def __call__(self, f: np.ndarray):
        """Covariances (B × p × p, divisor Σf − 1) and means (B × p) for row weights f (B × n)."""
        if self.w is not None:
            f = f * self.w
        tot = f.sum(axis=1)
        m1 = (f @ self.xc) / tot[:, None]
        if self.cross is not None:
            m2 = f @ self.cross
        else:
            m2 = np.zeros((f.shape[0], self.q))
            for a in range(0, self.n, self.row_block):
                b = min(a + self.row_block, self.n)
                m2 += f[:, a:b] @ self._cross(a, b)
        return self._finish(tot, m1, m2)

    def _finish(self, tot, m1, m2):
        m2 = m2 / tot[:, None] - m1[:, self.iu] * m1[:, self.ju]
        with np.errstate(divide="ignore", invalid="ignore"):
            m2 *= (tot / (tot - 1.0))[:, None]
        cov = np.take(m2, self.sym, axis=1).reshape(tot.size, self.p, self.p)
        return cov, self.mean + m1


def _counts(seed: int, start: int, stop: int, n: int) -> np.ndarray:
    """Row counts (stop − start) × n of resamples start..stop−1 (see the module docstring)."""
    root = np.random.SeedSequence(seed)
    first, last = start // DRAWS_PER_STREAM, (stop - 1) // DRAWS_PER_STREAM
    streams = root.spawn(last + 1)[first:]
    out = np.empty((stop - start, n))
    for k, ss in enumerate(streams):
        s = first + k
        rng = np.random.default_rng(ss)
        lo, hi = s * DRAWS_PER_STREAM, (s + 1) * DRAWS_PER_STREAM
        for b in range(lo, min(hi, stop)):
            rows = rng.integers(0, n, n)
            if b >= start:
                out[b - start] = np.bincount(rows, minlength=n)
    return out


def _check_options(n_boot, seed, workers, level=None):
    if isinstance(n_boot, bool) or not isinstance(n_boot, Integral) or n_boot < 10:
        raise BootstrapOptionError(f"n_boot must be an integer of at least 10 (e.g. 500 or "
                                   f"5000), not {n_boot!r}")
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise BootstrapOptionError(f"seed must be a non-negative integer (the same seed gives "
                                   f"the same numbers), not {seed!r}")
    if isinstance(workers, bool) or not isinstance(workers, Integral) or workers < 1:
        raise BootstrapOptionError(f"workers must be a positive integer, not {workers!r}")


def bootstrap(res, n_boot: int = 500, *, seed: int, workers: int = 1,
              scale: tuple[float, float] | None = None,
              progress: Callable[[int, int], None] | None = None) -> "BootstrapResults":
    """Bootstrap a fitted model's estimates (see the module docstring).

    Parameters
    ----------
    res : a :class:`~ncsi.pls.PLSResults`.
    n_boot : number of resamples.
    seed : the random seed (required).
    workers : threads computing chunks of resamples in parallel (the numbers do not depend on it).
    scale : (lowest, highest) answer, to bootstrap the 0–100 indices (default: the fit's scale).
    progress : called as ``progress(done, n_boot)`` after every chunk.
    """
    from .pls import _check_scale
    _check_options(n_boot, seed, workers)
    scale = _check_scale(scale) if scale is not None else res._scale
    plan = _plan(res, scale)
    n = res.n
    theta0, status0 = _statistics(plan, _raw_cov(res)[None], res._mean[None])
    moments = _Moments(res._x, res._case_w, res._mean)
    size = max(DRAWS_PER_STREAM,
               (_CHUNK_CELLS // max(n, 1)) // DRAWS_PER_STREAM * DRAWS_PER_STREAM)
    size = min(size, max(DRAWS_PER_STREAM,
                         -(-n_boot // (8 * DRAWS_PER_STREAM)) * DRAWS_PER_STREAM))
    chunks = [(a, min(a + size, n_boot)) for a in range(0, n_boot, size)]

    def run(chunk):
        a, b = chunk
        cov, mean = moments(_counts(seed, a, b, n))
        return _statistics(plan, cov, mean)

    thetas, statuses, done = [], [], 0
    if workers == 1 or len(chunks) == 1:
        mapped = map(run, chunks)
    else:
        pool = ThreadPoolExecutor(max_workers=workers)
        mapped = pool.map(run, chunks)
    try:
        for (a, b), (th, st) in zip(chunks, mapped):
            thetas.append(th)
            statuses.append(st)
            done += b - a
            if progress is not None:
                progress(done, n_boot)
    finally:
        if workers > 1 and len(chunks) > 1:
            pool.shutdown()
    return BootstrapResults(res=res, plan=plan, moments=moments, seed=int(seed),
                            theta0=theta0[0], status0=int(status0[0]),
                            draws=np.concatenate(thetas), status=np.concatenate(statuses))


def _raw_cov(res) -> np.ndarray:
    """The fit's covariance matrix of the raw indicators (the fit's S on the raw scale)."""
    return res._s * np.outer(res._sd, res._sd) if res.settings["scaled"] else res._s


class BootstrapResults:
    """Bootstrap draws and their summaries (see the module docstring)."""

    def __init__(self, *, res, plan: _Plan, moments: _Moments, seed: int, theta0: np.ndarray,
                 status0: int, draws: np.ndarray, status: np.ndarray):
        self.results = res
        self.seed = seed
        self.n_boot = int(len(status))
        self._plan, self._moments = plan, moments
        self._theta0, self._all_draws, self.status = theta0, draws, status
        self.valid = status == plscore.OK
        self.n_valid = int(self.valid.sum())
        self.n_not_converged = int((status == plscore.NOT_CONVERGED).sum())
        self.n_failed = int(self.n_boot - self.n_valid - self.n_not_converged)
        self.warnings: list[str] = []
        left = self.n_boot - self.n_valid
        if self.n_valid < 10:
            raise EstimationError(
                f"only {self.n_valid} of {self.n_boot} bootstrap resamples could be estimated "
                f"({self.n_not_converged} did not converge, {self.n_failed} failed); the model "
                f"is too unstable on this data to bootstrap — check the fit's diagnostics",
                message_zh=f"{self.n_boot} 个自助样本中只有 {self.n_valid} 个可估计；"
                           f"模型在该数据上不稳定，请检查诊断结果")
        if left > _WARN_SHARE * self.n_boot:
            self.warnings.append(
                f"{left} of {self.n_boot} resamples were left out ({self.n_not_converged} did not "
                f"converge, {self.n_failed} failed); the intervals use the other {self.n_valid}")

    def __repr__(self) -> str:
        return (f"<BootstrapResults {self.n_boot} resamples, seed {self.seed}: {self.n_valid} "
                f"valid, {self.n_not_converged} not converged, {self.n_failed} failed>")

    @property
    def labels(self) -> pd.MultiIndex:
        return self._plan.labels

    @cached_property
    def draws(self) -> pd.DataFrame:
        """The valid resamples' statistics (rows: resample number, columns: statistic, name)."""
        return pd.DataFrame(self._all_draws[self.valid], columns=self.labels,
                            index=pd.Index(np.flatnonzero(self.valid), name="resample"))

    @cached_property
    def _valid_draws(self) -> np.ndarray:
        return self._all_draws[self.valid]

    # -- jackknife for BCa -----------------------------------------------------------------------
    @cached_property
    def acceleration(self) -> np.ndarray:
        """BCa acceleration per statistic from the (grouped) jackknife."""
        m = self._moments
        n = m.n
        groups = min(n, JACKKNIFE_GROUPS)
        if groups == n:
            member = np.arange(n)
        else:
            rng = np.random.default_rng(np.random.SeedSequence([self.seed, 0xBCA]))
            member = rng.permutation(n) % groups
        from scipy import sparse

        fw = np.ones(n) if m.w is None else m.w
        a = sparse.csr_matrix((fw, (member, np.arange(n))), shape=(groups, n))
        tot_all = fw.sum()
        s1_all = fw @ m.xc
        s2_all = np.zeros(m.q)
        g1 = a @ m.xc
        g2 = np.zeros((groups, m.q))
        for lo in range(0, n, m.row_block):
            hi = min(lo + m.row_block, n)
            cross = m.cross[lo:hi] if m.cross is not None else m._cross(lo, hi)
            s2_all += fw[lo:hi] @ cross
            g2 += a[:, lo:hi] @ cross
        gtot = np.asarray(a.sum(axis=1)).ravel()
        thetas = []
        step = max(1, _CHUNK_CELLS // max(m.q, 1) // 50)
        for lo in range(0, groups, step):
            hi = min(lo + step, groups)
            tot = tot_all - gtot[lo:hi]
            m1 = (s1_all - g1[lo:hi]) / tot[:, None]
            m2 = s2_all - g2[lo:hi]
            cov, mean = m._finish(tot, m1, m2)
            th, st = _statistics(self._plan, cov, mean)
            th[st != plscore.OK] = np.nan
            thetas.append(th)
        th = np.concatenate(thetas)
        d = np.nanmean(th, axis=0) - th
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.nansum(d ** 3, axis=0) / (6.0 * np.nansum(d ** 2, axis=0) ** 1.5)

    # -- summaries -------------------------------------------------------------------------------
    def summary(self, ci: str = "percentile", level: float = 0.95) -> pd.DataFrame:
        """One row per statistic: ``original``, ``mean``, ``bias``, ``std_error``, ``t``, ``p``,
        ``ci_low``, ``ci_high`` (``ci`` = ``"percentile"`` or ``"bca"``)."""
        if ci not in ("percentile", "bca"):
            raise BootstrapOptionError(f"ci must be 'percentile' or 'bca', not {ci!r}")
        if not (isinstance(level, float) and 0.5 <= level < 1):
            raise BootstrapOptionError(f"level must be a number in [0.5, 1), e.g. 0.95, not "
                                       f"{level!r}")
        d = self._valid_draws
        est = self._theta0
        se = d.std(axis=0, ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = est / se
        df = max(self.results.n - 1, 1)
        p = 2.0 * special.stdtr(df, -np.abs(t))
        alpha = 1.0 - level
        if ci == "percentile":
            lo, hi = np.quantile(d, [alpha / 2, 1 - alpha / 2], axis=0)
        else:
            lo, hi = self._bca(d, est, alpha)
        out = pd.DataFrame({"original": est, "mean": d.mean(axis=0), "bias": d.mean(axis=0) - est,
                            "std_error": se, "t": t, "p": p, "ci_low": lo, "ci_high": hi},
                           index=self.labels)
        out.attrs.update(ci=ci, level=level, n_valid=self.n_valid)
        return out

    def _bca(self, d: np.ndarray, est: np.ndarray, alpha: float):
        below = (d < est).sum(axis=0) + 0.5 * (d == est).sum(axis=0)
        z0 = special.ndtri(below / d.shape[0])
        acc = self.acceleration
        lo = np.full(est.shape, np.nan)
        hi = np.full(est.shape, np.nan)
        for k, z in enumerate((special.ndtri(alpha / 2), special.ndtri(1 - alpha / 2))):
            with np.errstate(invalid="ignore", divide="ignore"):
                q = special.ndtr(z0 + (z0 + z) / (1 - acc * (z0 + z)))
            ok = np.isfinite(q)
            vals = np.full(est.shape, np.nan)
            for m in np.flatnonzero(ok):
                vals[m] = np.quantile(d[:, m], q[m])
            (lo if k == 0 else hi)[:] = vals
        undefined = [f"{a}:{b}" for (a, b), bad in zip(self.labels, ~np.isfinite(lo + hi)) if bad]
        if undefined:
            self.warnings.append(
                "BCa intervals are undefined (every resample on one side of the estimate, or a "
                "degenerate jackknife) for: " + ", ".join(undefined[:10])
                + (f" and {len(undefined) - 10} more" if len(undefined) > 10 else ""))
        return lo, hi

    def table(self, statistic: str, ci: str = "percentile", level: float = 0.95) -> pd.DataFrame:
        """The summary rows of one statistic (one of :data:`STATISTICS`), indexed by name."""
        if statistic not in STATISTICS:
            raise BootstrapOptionError(f"statistic must be one of {', '.join(STATISTICS)}, not "
                                       f"{statistic!r}")
        s = self.summary(ci, level)
        if statistic not in s.index.get_level_values(0):
            raise BootstrapOptionError(
                f"no bootstrap of {statistic!r}: " + ("give scale=(lowest, highest) to bootstrap "
                                                       "the indices" if statistic == "index"
                                                       else "the model has none"))
        return s.xs(statistic, level="statistic")

    def to_dict(self, ci: str = "percentile", level: float = 0.95) -> dict:
        """JSON-ready: the policy counts and every statistic's summary."""
        s = self.summary(ci, level)
        rows = []
        for (stat, name), r in s.iterrows():
            rows.append({"statistic": stat, "name": name,
                         **{k: (float(v) if math.isfinite(v) else None) for k, v in r.items()}})
        return {"n_boot": self.n_boot, "seed": self.seed, "n_valid": self.n_valid,
                "n_not_converged": self.n_not_converged, "n_failed": self.n_failed,
                "ci": ci, "level": level, "warnings": list(self.warnings), "statistics": rows}
