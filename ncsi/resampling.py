"""Bootstrap of an industry's brand indices that re-estimates the model's weights.

A resample draws, within every brand, as many respondents as the brand has, with replacement
(stratified by brand, as the survey's quotas are). The resample's model is re-estimated from the
complete cases it contains (the same batched re-weighting as :mod:`ncsi.inference`), its outer
weights become raw-scale index weights (the non-positive weight policy applied as in the fit),
every respondent of the resample is scored 0–100 with them, and every brand's index is the
survey-weighted mean of its resampled respondents' scores. The spread of these draws is the
brand index's uncertainty *including* the re-estimation of the weights; industry, sector and
nation draws are weighted sums of their children's draws, resample by resample.

A resample that cannot be estimated — the iterations do not converge, an item is constant among
the respondents drawn (its variance is rounding noise, and w/s would make it most of its
construct's index), construct scores are degenerate or collinear, a weight is undefined — gets
a non-OK status (:data:`ncsi.plscore.STATUS`) and NaN draws; the release counts and reports them.

Seeds: resample b of a unit draws from ``SeedSequence(entropy).spawn(...)[b // 50]`` — it depends
only on the entropy (the release seed, the year and the industry) and b.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from . import plscore
from .inference import DRAWS_PER_STREAM, _Moments

__all__ = ["entropy_for", "stratified_counts", "BrandDraws", "bootstrap_brands",
           "apply_policy"]

_CHUNK = 100


def entropy_for(seed: int, year: int, unit: str) -> list[int]:
    """The entropy of a unit's random stream: the release seed, the year and the unit's code."""
    digest = int.from_bytes(hashlib.sha256(unit.encode("utf-8")).digest()[:8], "big")
    return [int(seed), int(year), digest]


def stratified_counts(entropy: list[int], groups: list[np.ndarray], n: int, start: int,
                      stop: int) -> np.ndarray:
    """Row counts ((stop − start) × n) of resamples start..stop−1, resampling within groups
    (each an array of row positions)."""
    root = np.random.SeedSequence(entropy)
    first, last = start // DRAWS_PER_STREAM, (stop - 1) // DRAWS_PER_STREAM
    streams = root.spawn(last + 1)[first:]
    out = np.zeros((stop - start, n))
    for k, ss in enumerate(streams):
        s = first + k
        rng = np.random.default_rng(ss)
        lo, hi = s * DRAWS_PER_STREAM, (s + 1) * DRAWS_PER_STREAM
        size = DRAWS_PER_STREAM
        draws = [rng.integers(0, len(pos), size=(size, len(pos))) for pos in groups]
        a, b = max(lo, start), min(hi, stop)
        rows = np.arange(b - a)[:, None] * n            # resample b's counts start at row b·n
        for pos, d in zip(groups, draws):
            picked = pos[d[a - lo:b - lo]]              # (b − a) × n_g row positions
            out[a - start:b - start] += np.bincount(
                (rows + picked).ravel(), minlength=(b - a) * n).reshape(b - a, n)
    return out


def apply_policy(wt: np.ndarray, lay: plscore.Layout, policy: str) -> np.ndarray:
    """The non-positive index weight policy on a stack of raw-scale weights (B × p):
    ``equal`` — equal weights in a block with a non-positive (or undefined) weight; ``drop`` — such
    weights set to zero and the block renormalised (equal weights if none is left)."""
    wt = wt.copy()
    for idx in lay.blocks:
        blk = wt[:, idx]
        bad = ~(np.isfinite(blk) & (blk > 0)).all(axis=1)
        if not bad.any():
            continue
        if policy == "drop":
            kept = np.where(np.isfinite(blk) & (blk > 0), blk, 0.0)
            tot = kept.sum(axis=1, keepdims=True)
            fixed = np.where(tot > 0, kept / np.where(tot > 0, tot, 1.0), 1.0 / len(idx))
        else:
            fixed = np.full_like(blk, 1.0 / len(idx))
        blk[bad] = fixed[bad]
        wt[:, idx] = blk
    return wt


@dataclass
class BrandDraws:
    """Bootstrap draws of every brand's index per construct (NaN for left-out resamples)."""

    brands: list[str]
    constructs: list[str]
    draws: np.ndarray            # B × brands × constructs
    status: np.ndarray           # B (plscore status codes)
    entropy: list[int]
    paths: np.ndarray | None = None      # B × J × J path coefficients (NaN: no path / left out)
    total: np.ndarray | None = None      # B × J × J total effects
    score_sd: np.ndarray | None = None   # B × J: SD of the 0–100 scores of the resample's
    #                                      respondents with every score defined (drivers)

    @property
    def n_boot(self) -> int:
        return int(len(self.status))

    @property
    def n_valid(self) -> int:
        return int((self.status == plscore.OK).sum())

    def of(self, brand: str, construct: str) -> np.ndarray:
        return self.draws[:, self.brands.index(brand), self.constructs.index(construct)]


def bootstrap_brands(res, items: np.ndarray, complete: np.ndarray, brands: np.ndarray,
                     survey_w: np.ndarray, *, n_boot: int, entropy: list[int], scale_min: float,
                     scale_max: float, policy: str) -> BrandDraws:
    """Draws of the brand indices (see the module docstring).

    ``res`` is the unit's PLS fit on its complete cases; ``items`` the raw answers of all the
    unit's valid respondents (n × p, NaN = missing, the fit's indicator order); ``complete`` the
    positions of the fit's rows within them; ``brands`` and ``survey_w`` per respondent.
    """
    lay = res.layout
    st = res.settings
    n = items.shape[0]
    codes = sorted(set(brands))
    groups = [np.flatnonzero(brands == c) for c in codes]
    # respondents re-ordered by brand (each brand's own order kept, so every respondent draws
    # the same counts): a brand is then a run of columns and its sums one np.add.reduceat
    order = np.concatenate(groups)
    starts = np.cumsum([0] + [len(g) for g in groups[:-1]])
    rank = np.empty(n, dtype=np.intp)
    rank[order] = np.arange(n)
    complete = rank[complete]                   # the fit's rows, in the new order
    items, survey_w = items[order], np.asarray(survey_w, dtype=float)[order]
    groups = [np.arange(a, a + len(g)) for a, g in zip(starts, groups)]
    moments = _Moments(res._x, None, res._mean)
    var0 = np.asarray(res._sd, dtype=float) ** 2      # the fit's item variances
    y = (items - scale_min) / (scale_max - scale_min) * 100.0
    answered = ~np.isnan(y)
    y0 = np.where(answered, y, 0.0)
    # per block: its items (transposed, contiguous), the respondents who skipped some of them,
    # and those respondents' answers and answered-indicators
    blocks = []
    for idx in lay.blocks:
        part = np.flatnonzero(~answered[:, idx].all(axis=1))
        blocks.append((idx, np.ascontiguousarray(y0[:, idx].T), part,
                       np.ascontiguousarray(y0[np.ix_(part, idx)].T),
                       np.ascontiguousarray(answered[np.ix_(part, idx)].T.astype(float))))
    draws = np.full((n_boot, len(codes), lay.J), np.nan)
    path_draws = np.full((n_boot, lay.J, lay.J), np.nan)
    total_draws = np.full((n_boot, lay.J, lay.J), np.nan)
    sd_draws = np.full((n_boot, lay.J), np.nan)
    status = np.zeros(n_boot, dtype=int)
    for a in range(0, n_boot, _CHUNK):
        b = min(a + _CHUNK, n_boot)
        counts = stratified_counts(entropy, groups, n, a, b)
        cov, _ = moments(counts[:, complete])
        # an indicator constant in a resample (e.g. the only respondents who answered it
        # differently were not drawn) has a variance that is rounding noise, and w/s would
        # turn it into garbage index weights: the resample is degenerate and left out, as in
        # ncsi.inference and as the fit itself refuses a constant item
        constant = ~(np.einsum("bii->bi", cov) > 1e-12 * var0).all(axis=1)
        if constant.any():
            cov = cov.copy()
            cov[constant] = np.diag(var0)
        sd = np.sqrt(np.einsum("bii->bi", cov))
        with np.errstate(invalid="ignore", divide="ignore"):
            r = cov / (sd[:, :, None] * sd[:, None, :])
        s = r if st["scaled"] else cov
        est = plscore.estimate(s, lay, scheme=st["scheme"], tol=st["tol"],
                               max_iter=st["max_iter"],
                               sd=np.ones_like(sd) if st["scaled"] else sd)
        raw_wt = plscore.index_weights(est.w, sd, lay, st["scaled"])
        wt = apply_policy(raw_wt, lay, policy)
        chunk_status = est.status.copy()
        chunk_status[constant] = plscore.DEGENERATE
        paths, _, reg_ok = plscore.regressions(est.corr, lay)
        chunk_status[(chunk_status == plscore.OK) & ~reg_ok] = plscore.COLLINEAR
        # undefined weights would silently become equal weights under apply_policy
        chunk_status[(chunk_status == plscore.OK)
                     & ~np.isfinite(est.w).all(axis=(1, 2))] = plscore.DEGENERATE
        status[a:b] = chunk_status
        path_draws[a:b] = paths
        total_draws[a:b] = plscore.total_effects(np.nan_to_num(paths))
        f = counts * survey_w                                   # chunk × n
        all_ok = np.ones((b - a, n), dtype=bool)
        block_scores = []
        for j, (idx, yb, part, yb_part, ab_part) in enumerate(blocks):
            wj = wt[:, idx]                                     # chunk × k
            with np.errstate(invalid="ignore", divide="ignore"):
                # a respondent who answered the whole block: Σ w·y / Σ w
                score = (wj @ yb) / wj.sum(axis=1, keepdims=True)      # chunk × n
                fok = f
                if part.size:       # the others: over the items they answered (none: no score)
                    den = wj @ ab_part                                 # chunk × n_part
                    ok = den > 0
                    score[:, part] = np.where(ok, (wj @ yb_part) / np.where(ok, den, 1.0), 0.0)
                    all_ok[:, part] &= ok
                    fok = f.copy()
                    fok[:, part] *= ok
                # every brand's survey-weighted mean score at once: sums over its rows through
                # the respondents × brands indicator matrix (score is 0 where undefined)
                draws[a:b, :, j] = (np.add.reduceat(f * score, starts, axis=1)
                                    / np.add.reduceat(fok, starts, axis=1))
            block_scores.append(score)
        # the drivers' score SDs: unweighted over the resample's respondents (counts as
        # frequencies) whose every construct score is defined, as in the fit (ddof 1)
        c = counts * all_ok                                     # chunk × n
        tot = c.sum(axis=1)
        for j, score in enumerate(block_scores):
            with np.errstate(invalid="ignore", divide="ignore"):
                cs = c * score
                s1 = cs.sum(axis=1)
                s2 = np.einsum("bi,bi->b", cs, score)
                sd_draws[a:b, j] = np.sqrt(np.maximum(s2 - s1 * s1 / tot, 0.0) / (tot - 1))
        bad = chunk_status != plscore.OK
        for arr in (draws, path_draws, total_draws, sd_draws):
            arr[a:b][bad] = np.nan
    return BrandDraws(codes, list(res.spec.constructs), draws, status, entropy,
                      path_draws, total_draws, sd_draws)


def interval(draws: np.ndarray, level: float) -> tuple[float, float, float]:
    """(SE, lower, upper): the SD of the valid draws and their percentile interval."""
    d = draws[np.isfinite(draws)]
    if d.size < 10:
        return float("nan"), float("nan"), float("nan")
    a = (1 - level) / 2
    lo, hi = np.quantile(d, [a, 1 - a])
    return float(d.std(ddof=1)), float(lo), float(hi)
