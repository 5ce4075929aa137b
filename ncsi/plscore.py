"""The numerical core of PLS path modelling, batched: many covariance matrices at once.

PLS path modelling needs nothing of the data but the indicators' covariance matrix S (p × p):
every quantity of the iteration is a function of S and the outer weights (cov(x, Y) = S W,
cor(Y) = W'SW). This module therefore works on a *stack* of covariance matrices, shape
(B, p, p): the estimator (:mod:`ncsi.pls`) passes one (B = 1), the bootstrap
(:mod:`ncsi.inference`) passes a chunk of resamples, each a re-weighting of the same rows, so a
resample costs a few small batched matrix products instead of a Python-level refit.

Every function is pure numpy; failures are returned as per-matrix status codes (see
:data:`STATUS`) rather than raised, so one degenerate resample does not stop a batch. The
estimator turns a non-zero status into a named error.

The algorithm (Lohmöller 1989; Tenenhaus, Esposito Vinzi, Chatelin & Lauro 2005, CSDA
48:159–205) is described in :mod:`ncsi.pls`; consistent PLS follows Dijkstra & Henseler (2015,
"Consistent partial least squares path modeling", MIS Quarterly 39(2):297–316).

A resample's result does not depend on which other matrices share its batch: converged matrices
are frozen (taken out of the iteration) as soon as they converge, and every operation is
row-wise in the batch dimension.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .spec import ModelSpec

__all__ = [
    "STATUS",
    "Estimate",
    "Layout",
    "consistent",
    "estimate",
    "htmt",
    "regressions",
    "total_effects",
    "weighted_moments",
]

#: per-matrix outcome codes of :func:`estimate`
OK, NOT_CONVERGED, DEGENERATE, SINGULAR_BLOCK, COLLINEAR = 0, 1, 2, 3, 4
STATUS = {OK: "ok", NOT_CONVERGED: "not converged",
          DEGENERATE: "a construct score has zero variance",
          SINGULAR_BLOCK: "a Mode B block is perfectly collinear",
          COLLINEAR: "the predecessors of a construct are perfectly collinear"}

#: a Mode B block is singular when the smallest eigenvalue of its indicators' correlation matrix
#: is below this fraction of the largest
SINGULAR_RTOL = 1e-10
#: a construct's score is degenerate when no indicator correlates with its inner proxy beyond this
DEGENERATE_CORR = 1e-10


@dataclass(frozen=True)
class Layout:
    """The model's structure in index form (built once from a :class:`ModelSpec`)."""

    p: int
    J: int
    blocks: tuple                 # J integer arrays: positions of each block's indicators
    modes: tuple                  # "A" / "B" per construct
    inner: np.ndarray             # J × J, inner[i, j] = 1 for a path i → j
    preds: tuple                  # J arrays: predecessors of each construct
    mask: np.ndarray = field(repr=False)   # p × J, True where indicator k belongs to block j
    block_of: np.ndarray = field(repr=False)   # p: the block of each indicator
    starts: np.ndarray = field(repr=False)     # J: first position of each block
    mode_b: tuple = ()                         # constructs in Mode B

    @classmethod
    def from_spec(cls, spec: ModelSpec) -> Layout:
        ind = list(spec.indicators)
        blocks = tuple(np.array([ind.index(i) for i in b.indicators], dtype=int)
                       for b in spec.blocks)
        d = spec.inner_matrix().astype(float)
        mask = np.zeros((len(ind), len(blocks)), dtype=bool)
        block_of = np.empty(len(ind), dtype=np.intp)
        for j, idx in enumerate(blocks):
            mask[idx, j] = True
            block_of[idx] = j
        # spec.indicators lists the blocks one after another, so every block is contiguous
        starts = np.array([idx[0] for idx in blocks], dtype=np.intp)
        assert all((idx == np.arange(idx[0], idx[0] + len(idx))).all() for idx in blocks)
        return cls(p=len(ind), J=len(blocks), blocks=blocks,
                   modes=tuple(b.mode for b in spec.blocks), inner=d,
                   preds=tuple(np.flatnonzero(d[:, j]) for j in range(len(blocks))), mask=mask,
                   block_of=block_of, starts=starts,
                   mode_b=tuple(j for j, b in enumerate(spec.blocks) if b.mode == "B"))

    @property
    def endogenous(self) -> list[int]:
        return [j for j in range(self.J) if self.preds[j].size]


@dataclass
class Estimate:
    """Outcome of :func:`estimate` for a stack of B covariance matrices."""

    w: np.ndarray                 # B × p × J outer weights (zero outside the block), var(Y) = 1
    corr: np.ndarray              # B × J × J construct score correlations
    iterations: np.ndarray        # B
    delta: np.ndarray             # B: last largest absolute change of an outer weight
    status: np.ndarray            # B: OK, NOT_CONVERGED, DEGENERATE, ...
    construct: np.ndarray         # B: the construct concerned by a non-OK status (or -1)


# ------------------------------------------------------------------------------------------------
# moments
# ------------------------------------------------------------------------------------------------

def weighted_moments(x: np.ndarray, weights: np.ndarray | None, *, chunk: int = 65536):
    """Mean and covariance (divisor Σw − 1: frequency weights) of the rows of ``x``.

    Works through the rows in chunks, so it never copies ``x`` whole. With ``weights=None``
    every row weighs one (divisor n − 1).
    """
    n, p = x.shape
    if weights is None:
        total = float(n)
        mean = x.sum(axis=0) / total
    else:
        total = float(weights.sum())
        mean = (weights @ x) / total
    s = np.zeros((p, p))
    for a in range(0, n, chunk):
        xc = x[a:a + chunk] - mean
        if weights is None:
            s += xc.T @ xc
        else:
            s += (xc * weights[a:a + chunk, None]).T @ xc
    s /= (total - 1.0)
    return mean, (s + s.T) / 2.0, total


# ------------------------------------------------------------------------------------------------
# the iteration
# ------------------------------------------------------------------------------------------------

def _batched_solve(a: np.ndarray, b: np.ndarray):
    """Solve a[k] x = b[k] for every k; (solution, ok flags). Singular systems give zeros."""
    if a.shape[-1] == 1:
        with np.errstate(invalid="ignore", divide="ignore"):
            x = b / a[:, :, 0]
        ok = np.isfinite(x).all(axis=1) & (a[:, 0, 0] != 0)
        return np.where(ok[:, None], x, 0.0), ok
    try:
        return np.linalg.solve(a, b[..., None])[..., 0], np.ones(a.shape[0], dtype=bool)
    except np.linalg.LinAlgError:
        out = np.zeros(b.shape)
        ok = np.ones(a.shape[0], dtype=bool)
        for k in range(a.shape[0]):
            try:
                out[k] = np.linalg.solve(a[k], b[k])
            except np.linalg.LinAlgError:
                ok[k] = False
        return out, ok


def _inner_weights(c: np.ndarray, lay: Layout, scheme: str, status: np.ndarray,
                   which: np.ndarray) -> np.ndarray:
    """E[b, i, j]: the weight of score i in the inner proxy of construct j (batched)."""
    adj = ((lay.inner + lay.inner.T) > 0).astype(float)
    if scheme == "centroid":
        return np.sign(c) * adj
    if scheme == "factorial":
        return c * adj
    e = c * lay.inner.T                  # successors i of j (j → i): correlation
    for j, pred in enumerate(lay.preds):
        if pred.size:
            beta, ok = _batched_solve(c[:, pred[:, None], pred], c[:, pred, j])
            e[:, pred, j] = beta
            if not ok.all():
                _fail(status, which, ~ok, COLLINEAR, j)
    return e


def _fail(status, construct_out, bad, code, j):
    """Record a failure for the matrices flagged in ``bad`` (first failure wins)."""
    new = bad & (status == OK)
    status[new] = code
    construct_out[new] = j


def estimate(s: np.ndarray, lay: Layout, *, scheme: str = "path", tol: float = 1e-7,
             max_iter: int = 300, sd: np.ndarray | None = None) -> Estimate:
    """Run the PLS iteration on a stack ``s`` (B × p × p) of covariance matrices.

    Returns outer weights with var(Y_j) = w_j' S_jj w_j = 1 and the sign of every construct fixed
    so that most of its indicators load positively (ties: the sum of its loadings is positive).
    ``sd`` (B × p) are the indicators' standard deviations (default: √diag S).

    Inside, the weights are a flat B × p vector (each indicator belongs to one block), spread
    into the B × p × J block matrix W for the products S W and W'S W.
    """
    s = np.asarray(s, dtype=float)
    bsz, p, _ = s.shape
    nc = lay.J
    if sd is None:
        sd = np.sqrt(np.einsum("bii->bi", s))
    status = np.zeros(bsz, dtype=int)
    construct = np.full(bsz, -1)
    _check_mode_b(s, sd, lay, status, construct)
    own = lay.block_of
    starts = lay.starts

    cols = np.arange(p)

    def spread(wf):                                       # flat weights → B × p × J
        w3 = np.zeros((len(wf), p, nc))
        w3[:, cols, own] = wf
        return w3

    def cov_xy(sa, wf):                                   # S W: B × p × J
        return sa @ spread(wf)

    def corr_of(wf, sw):                                  # W'S W: B × J × J
        return np.swapaxes(spread(wf), 1, 2) @ sw

    # start: equal weights (first principal component where they cancel), var(Y) = 1
    wf = np.ones((bsz, p))
    var = np.add.reduceat(np.take_along_axis(cov_xy(s, wf), own[None, :, None], 2)[..., 0],
                          starts, axis=1)
    for j, idx in enumerate(lay.blocks):
        small = ~(var[:, j] > 1e-12 * np.einsum("bkk->b", s[:, idx[:, None], idx]))
        if small.any():
            sub = s[small][:, idx[:, None], idx]
            wf[np.ix_(small, idx)] = np.linalg.eigh(sub)[1][:, :, -1]
            var[small, j] = np.einsum("bk,bkl,bl->b", wf[small][:, idx], sub,
                                      wf[small][:, idx])
    with np.errstate(invalid="ignore", divide="ignore"):
        wf = wf / np.sqrt(var)[:, own]

    out_w = wf.copy()
    iterations = np.zeros(bsz, dtype=int)
    delta = np.full(bsz, np.inf)
    worst = np.zeros(bsz, dtype=int)
    active = np.flatnonzero(status == OK)
    sa, wa, sda = s[active], wf[active], sd[active]
    sw = cov_xy(sa, wa)
    for it in range(1, max_iter + 1):
        if active.size == 0:
            break
        st = np.zeros(active.size, dtype=int)
        cj = np.full(active.size, -1)
        c = corr_of(wa, sw)                               # cor(Y_i, Y_j)
        e = _inner_weights(c, lay, scheme, st, cj)
        var_z = np.einsum("bij,bij->bj", c @ e, e)        # var(Z_j)
        g = np.einsum("bki,bki->bk", sw, np.swapaxes(e, 1, 2)[:, own, :])   # cov(x_k, Z_own)
        new = g
        for j in lay.mode_b:
            idx = lay.blocks[j]
            v, ok = _batched_solve(sa[:, idx[:, None], idx], g[:, idx])
            if not ok.all():
                _fail(st, cj, ~ok, SINGULAR_BLOCK, j)
            new = new.copy() if new is g else new
            new[:, idx] = v
        fit = np.maximum.reduceat(np.abs(g) / sda, starts, axis=1)
        for j in lay.mode_b:
            idx = lay.blocks[j]
            fit[:, j] = np.sqrt(np.clip(np.einsum("bk,bk->b", g[:, idx], new[:, idx]), 0, None))
        with np.errstate(invalid="ignore", divide="ignore"):
            good = (var_z > 0) & (fit / np.sqrt(np.clip(var_z, 0, None)) > DEGENERATE_CORR)
        if not good.all():
            bad = ~good
            _fail(st, cj, bad.any(axis=1), DEGENERATE, 0)
            cj[bad.any(axis=1)] = np.argmax(bad, axis=1)[bad.any(axis=1)]
        snew = cov_xy(sa, new)
        var = np.add.reduceat(new * np.take_along_axis(snew, own[None, :, None], 2)[..., 0],
                              starts, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = 1.0 / np.sqrt(var)
        bad_var = ~np.isfinite(scale).all(axis=1)
        if bad_var.any():
            _fail(st, cj, bad_var, DEGENERATE, -1)
            scale[~np.isfinite(scale)] = 0.0
        new = new * scale[:, own]
        snew *= scale[:, None, :]
        by_construct = np.maximum.reduceat(np.abs(new - wa), starts, axis=1)     # B × J
        change = by_construct.max(axis=1)
        done = (change < tol) | (st != OK)
        wa, sw = new, snew
        iterations[active] = it
        delta[active] = change
        worst[active] = np.argmax(by_construct, axis=1)
        if st.any():
            status[active] = np.where(st != OK, st, status[active])
            construct[active] = np.where(st != OK, cj, construct[active])
        if done.any():
            out_w[active[done]] = wa[done]
            keep = ~done
            active, sa, wa, sw, sda = active[keep], sa[keep], wa[keep], sw[keep], sda[keep]
    if active.size:
        out_w[active] = wa
        status[active] = NOT_CONVERGED
        construct[active] = worst[active]
    out_w = _fix_signs(s, out_w, lay, cov_xy)
    w = spread(out_w)
    corr = np.swapaxes(w, 1, 2) @ (s @ w)
    corr = (corr + np.swapaxes(corr, 1, 2)) / 2.0
    k = np.arange(nc)
    corr[:, k, k] = 1.0
    return Estimate(w=w, corr=corr, iterations=iterations, delta=delta, status=status,
                    construct=construct)


def _check_mode_b(s, sd, lay: Layout, status, construct) -> None:
    for j, idx in enumerate(lay.blocks):
        if lay.modes[j] != "B" or len(idx) < 2:
            continue
        r = s[:, idx[:, None], idx] / (sd[:, idx, None] * sd[:, None, idx])
        vals = np.linalg.eigvalsh(r)
        bad = ~(vals[:, 0] > SINGULAR_RTOL * vals[:, -1])
        _fail(status, construct, bad, SINGULAR_BLOCK, j)


def _fix_signs(s: np.ndarray, wf: np.ndarray, lay: Layout, cov_xy) -> np.ndarray:
    """Flip each construct so that most of its indicators load positively (ties: sum > 0)."""
    load = np.take_along_axis(cov_xy(s, wf), lay.block_of[None, :, None], 2)[..., 0]
    pos = np.add.reduceat((load > 0).astype(int), lay.starts, axis=1)
    neg = np.add.reduceat((load < 0).astype(int), lay.starts, axis=1)
    tot = np.add.reduceat(load, lay.starts, axis=1)
    flip = (neg > pos) | ((neg == pos) & (tot < 0))
    return np.where(flip[:, lay.block_of], -wf, wf)


# ------------------------------------------------------------------------------------------------
# after the iteration
# ------------------------------------------------------------------------------------------------

def regressions(corr: np.ndarray, lay: Layout):
    """OLS of every endogenous score on its predecessors' scores, from the correlations.

    Returns (paths B × J × J with paths[b, i, j] the coefficient of i → j, r2 B × J with NaN for
    exogenous constructs, ok B: False where some predecessors are perfectly collinear).
    """
    bsz, nc, _ = corr.shape
    paths = np.zeros((bsz, nc, nc))
    r2 = np.full((bsz, nc), np.nan)
    ok = np.ones(bsz, dtype=bool)
    for j, pred in enumerate(lay.preds):
        if not pred.size:
            continue
        cpp = corr[:, pred[:, None], pred]
        # an equation is undefined where its own correlations are (e.g. a failed PLSc block)
        finite = np.isfinite(cpp).all(axis=(1, 2)) & np.isfinite(corr[:, pred, j]).all(axis=1)
        if not finite.all():
            cpp = np.where(finite[:, None, None], cpp, np.eye(pred.size))
        if pred.size == 1:
            cond_ok = np.ones(bsz, dtype=bool)
        else:
            with np.errstate(invalid="ignore"):
                ev = np.linalg.eigvalsh(cpp)                    # condition number of cpp
                cond_ok = ev[:, 0] > 1e-12 * ev[:, -1]
        beta, solved = _batched_solve(cpp, corr[:, pred, j])
        good = solved & cond_ok & finite
        ok &= good
        beta[~good] = np.nan
        paths[:, pred, j] = beta
        r2[:, j] = np.einsum("bk,bk->b", corr[:, pred, j], beta)
    return paths, r2, ok


def total_effects(paths: np.ndarray) -> np.ndarray:
    """Total effects (B × J × J): (I − P)⁻¹ − I for the path matrices P of a recursive model."""
    nc = paths.shape[-1]
    eye = np.eye(nc)
    # a recursive model's P is nilpotent: the Neumann series ends after J − 1 terms
    total = np.zeros_like(paths)
    term = np.broadcast_to(eye, paths.shape).copy()
    for _ in range(nc):
        term = term @ paths
        total += term
        if not np.any(term):
            break
    return total


def consistent(s: np.ndarray, w: np.ndarray, corr: np.ndarray, lay: Layout):
    """Consistent PLS (Dijkstra & Henseler 2015) for the reflective (Mode A) blocks.

    For a block with weights w (var(w'x) = 1) and covariance S, ρA = (w'w)² · w'(S − diag S)w /
    w'(ww' − diag ww')w, the reliability of its score; the consistent loadings are
    λ = w · √(w'(S − diag S)w / w'(ww' − diag ww')w). The correlations of the constructs are the
    score correlations divided by √(ρA_i ρA_j). Mode B and single-item blocks keep ρA = 1.

    Returns (rho_a B × J, loadings B × p (covariance scale, own block), corrected corr B × J × J).
    """
    bsz = s.shape[0]
    rho = np.ones((bsz, lay.J))
    lam = np.einsum("bpq,bqj->bpj", s, w)[:, np.arange(lay.p), _block_of(lay)]
    for j, idx in enumerate(lay.blocks):
        if lay.modes[j] != "A" or len(idx) < 2:
            continue
        wj = w[:, idx, j]
        sub = s[:, idx[:, None], idx]
        num = np.einsum("bk,bkl,bl->b", wj, sub, wj) - np.einsum("bk,bkk,bk->b", wj, sub, wj)
        ww = wj * wj
        den = ww.sum(axis=1) ** 2 - (ww * ww).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            c2 = num / den
            rho[:, j] = c2 * (wj * wj).sum(axis=1) ** 2
            lam[:, idx] = wj * np.sqrt(c2)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        root = np.sqrt(rho)
        cc = corr / (root[:, :, None] * root[:, None, :])
    k = np.arange(lay.J)
    cc[:, k, k] = 1.0
    return rho, lam, cc


def _block_of(lay: Layout) -> np.ndarray:
    return lay.block_of


def htmt_pairs(lay: Layout) -> list[tuple[int, int]]:
    """The construct pairs (i < j) for which HTMT is defined: both reflective, ≥ 2 indicators."""
    ok = [j for j in range(lay.J) if lay.modes[j] == "A" and len(lay.blocks[j]) >= 2]
    return [(a, b) for n, a in enumerate(ok) for b in ok[n + 1:]]


def htmt(r: np.ndarray, lay: Layout) -> np.ndarray:
    """Heterotrait–monotrait ratios (Henseler, Ringle & Sarstedt 2015) for a stack of indicator
    correlation matrices ``r`` (B × p × p): B × (number of :func:`htmt_pairs`), pair order."""
    mono = {}
    for j in range(lay.J):
        idx = lay.blocks[j]
        if lay.modes[j] == "A" and len(idx) >= 2:
            sub = r[:, idx[:, None], idx]
            k = len(idx)
            mono[j] = (sub.sum(axis=(1, 2)) - np.einsum("bkk->b", sub)) / (k * (k - 1))
    pairs = htmt_pairs(lay)
    out = np.empty((r.shape[0], len(pairs)))
    for n, (a, b) in enumerate(pairs):
        het = r[:, lay.blocks[a][:, None], lay.blocks[b]].mean(axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, n] = het / np.sqrt(mono[a] * mono[b])
    return out


def index_weights(w: np.ndarray, sd: np.ndarray, lay: Layout, scaled: bool) -> np.ndarray:
    """Raw-scale index weights ŵ (B × p): (w_k / s_k) normalised to sum one within each block
    (w_k alone when indicators are only centred). NaN where a block's weights sum to zero."""
    bo = _block_of(lay)
    own = w[:, np.arange(lay.p), bo]
    raw = own / sd if scaled else own
    sums = np.zeros((w.shape[0], lay.J))
    for j, idx in enumerate(lay.blocks):
        sums[:, j] = raw[:, idx].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return raw / sums[:, bo]


def indices(wt: np.ndarray, mean: np.ndarray, lay: Layout, lo: float, hi: float) -> np.ndarray:
    """0–100 indices (B × J): Σ ŵ_k (mean_k − lo) / (hi − lo) · 100 per block."""
    part = wt * (mean - lo) / (hi - lo) * 100.0
    out = np.zeros((wt.shape[0], lay.J))
    for j, idx in enumerate(lay.blocks):
        out[:, j] = part[:, idx].sum(axis=1)
    return out
