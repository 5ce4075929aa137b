"""Reliability, validity and fit diagnostics of a PLS path model (pure numpy).

Every function takes plain numpy arrays, so the module depends neither on pandas nor on the
internals of :mod:`ncsi.pls`; ``PLSResults`` calls them and puts names on the results. The inputs
follow the estimator's conventions:

``s``
    p × p indicator covariance matrix as the estimator uses it: the correlation matrix when the
    indicators are standardized, the covariance of the centred indicators otherwise. Functions that
    need correlations compute them as r = s / (sd sd') with sd = √diag(s); that transformation is
    the identity on a correlation matrix, so either may be passed. The exception is
    :func:`rho_a`, which must be given the estimator's own matrix and weights (see there).
``blocks``
    list of J integer index arrays: the positions in ``s`` of each construct's indicators.
``modes``
    list of J strings, ``"A"`` (reflective) or ``"B"`` (formative / composite).
``w``
    p × J outer-weight matrix (zero outside each block), scaled so every score has variance 1:
    w_j' s_jj w_j = 1.
``lam``
    p × J matrix cov(x_k, Y_j) = s @ w. The loadings (correlations of indicators with scores) are
    (s @ w) / sd(x); see :func:`loadings_from`.
``corr``
    J × J correlation matrix of the construct scores.

Single-item blocks are treated as measured without error: α, ρA, ρC and Dillon–Goldstein ρ are
1.0 for them (their loading is 1), their second eigenvalue and their HTMT are NaN.

Sign: all correlations are used as they are (signed). The estimator orients each construct so that
most of its indicators load positively, so negatively worded items that were not reversed show up
as negative loadings and lower α, ρC, AVE and HTMT's monotrait means — which is the point.

The formulas are written from the cited papers; no code of other PLS packages was used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "ave",
    "block_communality",
    "cov_to_corr",
    "cronbach_alpha",
    "fornell_larcker",
    "gof",
    "htmt",
    "implied_construct_corr",
    "loadings_from",
    "mean_redundancy",
    "rho_a",
    "rho_c",
    "srmr",
    "unidimensionality",
    "vif",
]

#: relative tolerance below which a residual variance counts as exactly zero (perfect collinearity)
_COLLINEAR_RTOL = 1e-10


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------

def cov_to_corr(s: np.ndarray) -> np.ndarray:
    """The correlation matrix of a covariance matrix: r = s / (sd sd'), sd = √diag(s).

    The identity (up to rounding; the diagonal is set to exactly 1) on a correlation matrix.
    Raises ``ValueError`` when a variance is not positive (a constant indicator).
    """
    s = np.asarray(s, dtype=float)
    if s.ndim != 2 or s.shape[0] != s.shape[1]:
        raise ValueError(f"expected a square matrix, got shape {s.shape}")
    d = np.diag(s)
    if not np.all(d > 0):
        raise ValueError("a variance on the diagonal is not positive (constant indicator)")
    sd = np.sqrt(d)
    r = s / np.outer(sd, sd)
    r = (r + r.T) / 2
    np.fill_diagonal(r, 1.0)
    return r


def loadings_from(s: np.ndarray, w: np.ndarray) -> np.ndarray:
    """p × J loadings (correlations of every indicator with every score): (s @ w) / sd(x).

    ``w`` must give scores of variance 1 (w_j' s_jj w_j = 1), as the estimator's weights do.
    """
    s = np.asarray(s, dtype=float)
    sd = np.sqrt(np.diag(s))
    return (s @ np.asarray(w, dtype=float)) / sd[:, None]


def _vec(x) -> np.ndarray:
    return np.asarray(x, dtype=float).reshape(-1)


# ------------------------------------------------------------------------------------------------
# reliability of one block
# ------------------------------------------------------------------------------------------------

def cronbach_alpha(s_jj: np.ndarray, standardized: bool = True) -> float:
    """Cronbach's α of one block: α = k/(k−1) · (1 − tr(S) / 1'S1).

    Cronbach (1951), "Coefficient alpha and the internal structure of tests", *Psychometrika*
    16:297–334. With ``standardized=True`` (default) S is the block's **correlation** matrix
    (standardized α, = k r̄ / (1 + (k−1) r̄) with r̄ the mean inter-item correlation); with
    ``standardized=False`` S is ``s_jj`` as given (raw α of the unweighted sum of the items).

    R plspm reports the standardized α even when the model is fitted with ``scaled = FALSE``:
    on satisfaction.csv the standardized α reproduces its ``unidim`` table to ~1e-15, whereas
    α of the raw (centred) covariances differs by up to 8.4e-3 (block IMAG).

    A single item has α = 1.0 by convention (treated as error-free).
    """
    s_jj = np.atleast_2d(np.asarray(s_jj, dtype=float))
    k = s_jj.shape[0]
    if k == 1:
        return 1.0
    m = cov_to_corr(s_jj) if standardized else s_jj
    return float(k / (k - 1) * (1.0 - np.trace(m) / m.sum()))


def rho_a(s_jj: np.ndarray, w_j: np.ndarray) -> float:
    """Dijkstra–Henseler's reliability coefficient ρA of one block.

    Dijkstra & Henseler (2015), "Consistent partial least squares path modeling", *MIS Quarterly*
    39(2):297–316 (also Dijkstra 2014):

        ρA = (w'w)² · w'(S − diag S)w / w'(ww' − diag(ww'))w,   w scaled so that w'Sw = 1

    (w is rescaled here so w'Sw = 1 exactly: ρA is not scale-free in w).

    Which S. The coefficient is consistent because, in the population of a common-factor block
    (S = λλ' + Θ, Θ diagonal), Mode A weights are proportional to the loadings in the metric in
    which the estimator formed them (w ∝ cov(x, inner proxy) ∝ λ), so λ = c·w with
    c² = w'(S − diag S)w / w'(ww' − diag(ww'))w, and ρA = c²(w'w)² = (w'λ)² = cor(η, w'x)², the
    true reliability of the composite. ``s_jj`` must therefore be the block of the estimator's
    own matrix with the estimator's weights: the **correlation** matrix and standardized weights
    when indicators are standardized (the setting of the paper), the **covariance of the centred
    indicators** and raw weights when they are only centred. Converting the latter to
    correlations with weights w·sd is *not* equivalent: those weights are ∝ sd²·λ, not ∝ λ, and
    ρA then loses its consistency. ρA is invariant to a common rescaling of the block, not to rescaling single
    items — the estimator's composite itself changes then.

    For ŵ ∝ λ, ρA = (λ'λ)² / ((λ'λ)² + Σλ²θ) (θ = unique variances): the reliability of the
    λ-weighted composite, which equals ρC = (Σλ)²/((Σλ)² + Σθ) only for tau-equivalent loadings.

    A single item has ρA = 1.0 by convention; NaN when fewer than two weights are non-zero.
    """
    s_jj = np.atleast_2d(np.asarray(s_jj, dtype=float))
    w = _vec(w_j)
    if s_jj.shape[0] == 1:
        return 1.0
    var = float(w @ s_jj @ w)
    if not var > 0:
        return math.nan
    w = w / math.sqrt(var)
    off = s_jj - np.diag(np.diag(s_jj))
    ww = np.outer(w, w)
    den = float(w @ (ww - np.diag(np.diag(ww))) @ w)
    if abs(den) < 1e-300:
        return math.nan
    return float((w @ w) ** 2 * (w @ off @ w) / den)


def rho_c(loadings) -> float:
    """Composite (Jöreskog) reliability of one block from its standardized loadings:

        ρC = (Σλ)² / ((Σλ)² + Σ(1 − λ²)).

    Werts, Linn & Jöreskog (1974), "Intraclass reliability estimates: testing structural
    assumptions", *Educational and Psychological Measurement* 34:25–33; Jöreskog (1971).
    With PLS loadings this is R plspm's Dillon–Goldstein ρ formula (but see
    :func:`unidimensionality`, whose ρ uses principal-component loadings). A single item with
    loading 1 gives 1.0.
    """
    lam = _vec(loadings)
    if lam.size == 0:
        return math.nan
    t = lam.sum() ** 2
    return float(t / (t + np.sum(1.0 - lam ** 2)))


def ave(loadings, mode: str = "A") -> float:
    """Average variance extracted: AVE = mean(λ²) of a block's standardized loadings.

    Fornell & Larcker (1981), "Evaluating structural equation models with unobservable variables
    and measurement error", *Journal of Marketing Research* 18(1):39–50. AVE is a property of
    reflective blocks: for ``mode="B"`` it is NaN, as in R plspm's inner summary (which still
    reports the block communality, :func:`block_communality`, for Mode B).
    """
    if mode == "B":
        return math.nan
    return block_communality(loadings)


def block_communality(loadings) -> float:
    """Block communality: mean(λ²) over the block's indicators (any mode).

    Tenenhaus, Esposito Vinzi, Chatelin & Lauro (2005), "PLS path modeling", *CSDA* 48:159–205,
    §3.4. Reproduces R plspm's ``block_communality`` (Mode A and Mode B blocks).
    """
    lam = _vec(loadings)
    return float(np.mean(lam ** 2)) if lam.size else math.nan


def mean_redundancy(communality: float, r2: float) -> float:
    """Mean redundancy of an endogenous block: communality × R².

    Tenenhaus et al. (2005), §3.4: the redundancy of indicator k of endogenous block j is
    λ_k² · R²_j, so its block mean is the block communality times R². Reproduces R plspm's
    ``mean_redundancy`` (0 for exogenous blocks, where R plspm reports R² = 0).
    """
    return float(communality * r2)


def unidimensionality(r_jj: np.ndarray) -> dict[str, float]:
    """The unidimensionality table of one block (as R plspm's ``unidim``), from its correlations.

    Returns ``cronbach_alpha`` (standardized α, :func:`cronbach_alpha`), ``dillon_goldstein_rho``
    and the first and second eigenvalues ``eig_1st``, ``eig_2nd`` of the correlation matrix R.

    The Dillon–Goldstein ρ (Chin 1998; Tenenhaus et al. 2005, §3.1) is computed with the loadings
    of the block's **first principal component** of R — λ = √e₁ · v₁ (eigenvector oriented so
    that Σλ > 0) — not with the PLS loadings:

        ρ_DG = (Σλ)² / ((Σλ)² + Σ(1 − λ²)).

    This reproduces R plspm's table on satisfaction.csv to ~1e-15 (it depends on the data only).
    A covariance matrix may be passed; it is turned into correlations first. A single item gives
    α = ρ_DG = 1.0, ``eig_1st`` = 1.0 and ``eig_2nd`` = NaN.
    """
    r = cov_to_corr(np.atleast_2d(np.asarray(r_jj, dtype=float)))
    k = r.shape[0]
    vals, vecs = np.linalg.eigh(r)
    vals, vecs = vals[::-1], vecs[:, ::-1]
    lam = math.sqrt(max(vals[0], 0.0)) * vecs[:, 0]
    if lam.sum() < 0:
        lam = -lam
    return {
        "cronbach_alpha": cronbach_alpha(r),
        "dillon_goldstein_rho": rho_c(lam) if k > 1 else 1.0,
        "eig_1st": float(vals[0]),
        "eig_2nd": float(vals[1]) if k > 1 else math.nan,
    }


# ------------------------------------------------------------------------------------------------
# discriminant validity, collinearity
# ------------------------------------------------------------------------------------------------

def htmt(r: np.ndarray, blocks: Sequence[np.ndarray], modes: Sequence[str]) -> np.ndarray:
    """Heterotrait–monotrait ratio of correlations, J × J.

    Henseler, Ringle & Sarstedt (2015), "A new criterion for assessing discriminant validity in
    variance-based structural equation modeling", *JAMS* 43:115–135, eq. (6):

        HTMT_ij = mean_{k∈i, l∈j} r_kl / √( mean_{k<l∈i} r_kl · mean_{k<l∈j} r_kl )

    — the mean heterotrait–heteromethod correlation over the geometric mean of the two mean
    monotrait–heteromethod (within-block, off-diagonal) correlations, computed on the indicator
    correlation matrix (a covariance matrix is turned into correlations first). The correlations
    are used signed, as in the paper; the estimator orients each construct so that most of its
    loadings are positive, and reverse-worded items should be recoded beforehand.

    Symmetric; NaN on the diagonal and wherever undefined: a Mode B block (the ratio assumes
    reflective measurement) or a single-item block (no monotrait correlations) gives NaN in its
    row and column, as does a pair whose monotrait product is not positive.
    """
    r = cov_to_corr(r)
    blocks = [np.asarray(b, dtype=int) for b in blocks]
    nb = len(blocks)
    mono = np.full(nb, math.nan)
    for i, (b, m) in enumerate(zip(blocks, modes, strict=True)):
        if m == "A" and b.size > 1:
            sub = r[np.ix_(b, b)]
            mono[i] = sub[np.triu_indices(b.size, 1)].mean()
    out = np.full((nb, nb), math.nan)
    for i in range(nb):
        for j in range(i + 1, nb):
            prod = mono[i] * mono[j]
            if not prod > 0:                       # NaN or non-positive
                continue
            hetero = r[np.ix_(blocks[i], blocks[j])].mean()
            out[i, j] = out[j, i] = hetero / math.sqrt(prod)
    return out


def fornell_larcker(ave_values, corr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fornell–Larcker criterion.

    Fornell & Larcker (1981), *Journal of Marketing Research* 18(1):39–50: a construct shows
    discriminant validity when its AVE exceeds its squared correlation with every other
    construct, i.e. √AVE_j > max_{i≠j} |ρ_ij|.

    Returns ``(table, ok)``: ``table`` is J × J with √AVE on the diagonal and the construct
    correlations off it; ``ok[j]`` is True when √AVE_j exceeds construct j's largest absolute
    correlation with any other construct (True for a lone construct; False when AVE is NaN,
    e.g. for a Mode B block).
    """
    a = _vec(ave_values)
    c = np.array(corr, dtype=float)
    if c.shape != (a.size, a.size):
        raise ValueError(f"corr must be {a.size} × {a.size}, got {c.shape}")
    with np.errstate(invalid="ignore"):
        root = np.sqrt(a)
    table = c.copy()
    np.fill_diagonal(table, root)
    off = np.abs(c)
    np.fill_diagonal(off, -np.inf)
    largest = off.max(axis=1)                      # -inf for a lone construct
    with np.errstate(invalid="ignore"):
        ok = root > largest                        # NaN compares False
    return table, ok


def vif(r_sub: np.ndarray) -> np.ndarray:
    """Variance inflation factors of a set of variables from their correlation matrix.

    VIF_k = 1 / (1 − R²_k) = (R⁻¹)_kk, with R²_k from the regression of variable k on the others
    (Marquardt 1970, "Generalized inverses, ridge regression, biased linear estimation and
    nonlinear estimation", *Technometrics* 12:591–612). Used for the inner VIF (the scores of an
    endogenous construct's predecessors) and the outer VIF (the indicators of a block).

    A covariance matrix may be passed (it is turned into correlations). One variable gives
    ``[1.0]``. Exact collinearity does not raise: a variable whose residual variance 1 − R²_k is
    zero (within 1e-10) gets ``inf``, and the others keep their finite VIF (R²_k computed with
    the pseudo-inverse of the remaining variables' correlations, which is exact in that case).
    """
    r = cov_to_corr(np.atleast_2d(np.asarray(r_sub, dtype=float)))
    k = r.shape[0]
    if k == 1:
        return np.array([1.0])
    out = np.empty(k)
    for i in range(k):
        others = np.delete(np.arange(k), i)
        c = r[others, i]
        resid = 1.0 - float(c @ np.linalg.pinv(r[np.ix_(others, others)], hermitian=True) @ c)
        out[i] = math.inf if resid <= _COLLINEAR_RTOL else 1.0 / resid
    return out


# ------------------------------------------------------------------------------------------------
# overall fit
# ------------------------------------------------------------------------------------------------

def gof(loadings_by_block: Sequence, modes: Sequence[str], r2) -> float:
    """Goodness of fit of Tenenhaus, Amato & Esposito Vinzi (2004) / Tenenhaus et al. (2005,
    *CSDA* 48:159–205, §4):

        GoF = √( mean communality × mean R² )

    The communality mean is taken over the **indicators** (not the blocks) of the reflective
    (Mode A) blocks with more than one indicator — i.e. the block communalities weighted by block
    size — and the R² mean over the endogenous constructs (pass only their R²; an exogenous 0
    would bias it). This indicator-weighted average reproduces R plspm's GoF 0.609741624338411 on
    the satisfaction centroid model (to ~6e-9); the unweighted mean of the block communalities
    does not (off by 1.8e-3). NaN when no block qualifies or there is no endogenous construct.
    Note the index is not a fit measure in the statistical sense (Henseler & Sarstedt 2013).
    """
    sq = [_vec(lam) ** 2 for lam, m in zip(loadings_by_block, modes, strict=True)
          if m == "A" and _vec(lam).size > 1]
    r2 = _vec(r2)
    if not sq or r2.size == 0:
        return math.nan
    return float(math.sqrt(np.concatenate(sq).mean() * r2.mean()))


def implied_construct_corr(path_matrix: np.ndarray, corr: np.ndarray) -> np.ndarray:
    """Construct correlations implied by a recursive structural model.

    ``path_matrix`` B is J × J with B[i, j] the path coefficient i → j (0 where there is none).
    Exogenous constructs (no incoming path) keep their correlations from ``corr``; every
    endogenous η_j = Σ_i B[i, j] η_i + ζ_j with var(η_j) = 1 (standardized, so
    var(ζ_j) = 1 − β'Φβ), and the disturbances ζ are uncorrelated with each other and with the
    exogenous constructs (the standard recursive model; Bollen 1989, *Structural Equations with
    Latent Variables*, ch. 4). Processing constructs in causal order, for every construct k
    earlier than j (never a descendant of j):

        Φ_jk = Σ_i B[i, j] Φ_ik,   Φ_jj = 1.

    With a saturated recursive model and OLS path coefficients the result equals ``corr``.
    Raises ``ValueError`` when B has a cycle.
    """
    b = np.asarray(path_matrix, dtype=float)
    c = np.asarray(corr, dtype=float)
    nc = b.shape[0]
    if b.shape != (nc, nc) or c.shape != (nc, nc):
        raise ValueError("path_matrix and corr must be square of the same size")
    has_path = b != 0
    exo = ~has_path.any(axis=0)
    order = [j for j in range(nc) if exo[j]]
    placed = set(order)
    while len(order) < nc:
        ready = [j for j in range(nc) if j not in placed
                 and all(i in placed for i in np.flatnonzero(has_path[:, j]))]
        if not ready:
            raise ValueError("the structural model is not recursive (it has a cycle)")
        order.extend(ready)
        placed.update(ready)
    phi = np.full((nc, nc), math.nan)
    ex = np.flatnonzero(exo)
    phi[np.ix_(ex, ex)] = c[np.ix_(ex, ex)]
    done = list(ex)
    for j in order[len(ex):]:
        pred = np.flatnonzero(has_path[:, j])
        d = np.asarray(done)
        row = b[pred, j] @ phi[np.ix_(pred, d)]
        phi[j, d] = row
        phi[d, j] = row
        phi[j, j] = 1.0
        done.append(j)
    np.fill_diagonal(phi, 1.0)
    return phi


def srmr(s: np.ndarray, w: np.ndarray, blocks: Sequence[np.ndarray], modes: Sequence[str],
         corr_implied: np.ndarray | None = None, loadings=None) -> float:
    """Standardized root mean square residual between the indicator correlations and the
    correlations implied by the model.

    Hu & Bentler (1999), *Structural Equation Modeling* 6(1):1–55, for the index; its use for
    PLS path models: Henseler et al. (2014), "Common beliefs and reality about PLS",
    *Organizational Research Methods* 17(2):182–209. The implied matrix follows the common-factor
    convention for reflective blocks and the composite convention for Mode B blocks (as SmartPLS
    documents for PLS models; its exact internals were not checked). With λ_k the loading of indicator k on its own construct (its correlation with
    the score: (s @ w) / sd) and ρ = ``corr_implied``:

    - k ∈ block i, l ∈ block j ≠ i: implied r_kl = λ_k λ_l ρ_ij;
    - k ≠ l in the same reflective (Mode A) block: λ_k λ_l (common factor);
    - k, l in the same Mode B block: the observed r_kl (composite; no residual);
    - diagonal: 1.

    SRMR = √(mean of the squared residuals over the p(p+1)/2 elements of the lower triangle
    including the (zero-residual) diagonal), p = the indicators of all blocks.

    ``corr_implied=None`` uses the score correlations w's w — the "saturated" SRMR; pass
    :func:`implied_construct_corr` of the path coefficients for the "estimated" SRMR.
    ``loadings`` (optional, one standardized loading per indicator of ``s``) replaces the PLS
    loadings, e.g. with consistent (PLSc) loadings.

    Caution: with PLS composite loadings a common-factor block is never reproduced exactly — the
    composite loadings exceed the factor loadings because the score contains the items' own
    error — so even a population that follows a reflective model exactly has SRMR > 0 with PLS
    weights; it is 0 with the true (consistent) loadings and factor correlations, and with Mode B
    blocks and composite-model populations.
    """
    s = np.asarray(s, dtype=float)
    w = np.asarray(w, dtype=float)
    blocks = [np.asarray(b, dtype=int) for b in blocks]
    r = cov_to_corr(s)
    if loadings is None:
        lam_all = loadings_from(s, w)
        own = np.full(s.shape[0], math.nan)
        for j, b in enumerate(blocks):
            own[b] = lam_all[b, j]
    else:
        own = _vec(loadings)
        if own.size != s.shape[0]:
            raise ValueError(f"loadings must have one value per indicator ({s.shape[0]})")
    if corr_implied is None:
        rho = w.T @ s @ w
        rho = (rho + rho.T) / 2
    else:
        rho = np.asarray(corr_implied, dtype=float)
    idx = np.concatenate(blocks)
    owner = np.empty(s.shape[0], dtype=int)
    for j, b in enumerate(blocks):
        owner[b] = j
    lam = own[idx]
    grp = owner[idx]
    implied = np.outer(lam, lam) * rho[np.ix_(grp, grp)]
    pos = 0
    for j, b in enumerate(blocks):
        sl = slice(pos, pos + b.size)
        if modes[j] == "B":
            implied[sl, sl] = r[np.ix_(b, b)]
        else:
            implied[sl, sl] = np.outer(lam[sl], lam[sl])
        pos += b.size
    np.fill_diagonal(implied, 1.0)
    resid = r[np.ix_(idx, idx)] - implied
    low = resid[np.tril_indices(idx.size)]
    return float(math.sqrt(np.mean(low ** 2)))
