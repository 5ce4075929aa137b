"""Is this year's measurement comparable with last year's? (before any trend is shown)

Two checks between consecutive years of one industry:

1. **Same instrument**: the same questionnaire version and the same model (hash) both years.
2. **Compositional invariance** — MICOM step 2 (Henseler, Ringle & Sarstedt 2016, "Testing
   measurement invariance of composites using partial least squares", *International Marketing
   Review* 33(3):405–431): on the pooled data of both years, c_j is the correlation between
   construct j's composite built with year 1's weights and the one built with year 2's weights.
   Under invariance c_j is close to 1. Its permutation distribution comes from randomly
   reassigning the rows to the two years (keeping the group sizes) and refitting both groups;
   one-sided p_j = (1 + #{c_perm ≤ c_j}) / (1 + P). A construct fails when its p_j is rejected at
   5% by Holm's step-down procedure over the model's multi-item constructs (the industry-level
   verdict "comparable" is one decision about J constructs, so the familywise error is held at
   5%; MICOM's per-construct rule — c_j below the 5% quantile — is reported too). Each
   permutation is a 0/1 re-weighting of the pooled rows, so all of them are estimated together
   (:mod:`ncsi.plscore`).

A trend that fails is still shown, flagged with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import plscore
from .inference import _Moments

__all__ = ["InvarianceResult", "compositional_invariance"]

ALPHA = 0.05


@dataclass
class InvarianceResult:
    previous_year: int
    same_instrument: bool
    constructs: list[dict] = field(default_factory=list)   # construct, c, quantile_5, p, ok
    permutations: int = 0
    reason: str = ""
    reason_zh: str = ""
    #: False when the model cannot be estimated on one year's data (comparability unknown)
    testable: bool = True

    @property
    def ok(self) -> bool:
        return (self.testable and self.same_instrument
                and all(c["ok"] for c in self.constructs))

    def to_dict(self) -> dict:
        return {"previous_year": self.previous_year, "ok": self.ok,
                "same_instrument": self.same_instrument, "reason": self.reason,
                "reason_zh": self.reason_zh,
                "permutations": self.permutations, "alpha": ALPHA,
                "constructs": self.constructs}


def _holm(rows: list[dict]) -> None:
    """Holm's step-down test at ALPHA over the multi-item constructs: sets each row's ``ok``."""
    tested = sorted((r for r in rows if "below_quantile_5" in r), key=lambda r: r["p"])
    m = len(tested)
    for k, r in enumerate(tested):
        if r["p"] >= ALPHA / (m - k):
            break
        r["ok"] = False


def _weights_on_pooled(w: np.ndarray, sd_group: np.ndarray, sd_pooled: np.ndarray,
                       lay: plscore.Layout, scaled: bool) -> np.ndarray:
    """Each group's outer weights (B × p, own block) as weights on the pooled standardized
    indicators."""
    own = w[:, np.arange(lay.p), lay.block_of]
    raw = own / sd_group if scaled else own
    return raw * sd_pooled


def _c(wa: np.ndarray, wb: np.ndarray, r: np.ndarray, lay: plscore.Layout) -> np.ndarray:
    """c_j = cor(X wa_j, X wb_j) on the pooled standardized data (B × J)."""
    out = np.empty((wa.shape[0], lay.J))
    for j, idx in enumerate(lay.blocks):
        a, b = wa[:, idx], wb[:, idx]
        sub = r[np.ix_(idx, idx)]
        ab = np.einsum("bk,kl,bl->b", a, sub, b)
        aa = np.einsum("bk,kl,bl->b", a, sub, a)
        bb = np.einsum("bk,kl,bl->b", b, sub, b)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, j] = ab / np.sqrt(aa * bb)
    return out


def _untestable(spec, previous_year: int, same_instrument: bool, reason: str, reason_zh: str,
                x: np.ndarray, year: int, status: int) -> InvarianceResult:
    """The verdict when the model cannot be estimated on one year's data: not comparable,
    with the reason (the constant items named, where that is the cause)."""
    constant = [i for i, c in zip(spec.indicators, np.ptp(x, axis=0)) if c == 0]
    if constant:
        why = f"{', '.join(constant)} constant in {year}"
        why_zh = f"{year} 年 {'、'.join(constant)} 取值恒定"
    else:
        why = f"{year}: {plscore.STATUS.get(status, str(status))}"
        why_zh = f"{year} 年模型无法估计"
    res = InvarianceResult(previous_year, same_instrument, [], 0, testable=False)
    res.reason = "; ".join(([reason] if reason else []) + [
        f"not tested: the model cannot be estimated on that year's complete cases ({why}), so "
        f"comparability is unknown"])
    res.reason_zh = "；".join(([reason_zh] if reason_zh else []) + [
        f"未检验：该年完整个案无法估计模型（{why_zh}），可比性未知"])
    return res


def compositional_invariance(spec, x1: np.ndarray, x2: np.ndarray, *, settings: dict,
                             previous_year: int, same_instrument: bool, reason: str = "",
                             reason_zh: str = "",
                             permutations: int = 300, entropy: list[int] | None = None
                             ) -> InvarianceResult:
    """MICOM step 2 between the complete cases ``x1`` (previous year) and ``x2`` (this year) of
    the same indicators (spec order), with ``settings`` the PLS settings of the fit."""
    lay = plscore.Layout.from_spec(spec)
    x = np.vstack([x1, x2])
    n1, n = len(x1), len(x1) + len(x2)
    pooled_mean = x.mean(axis=0)
    moments = _Moments(x, None, pooled_mean)
    sd_p = x.std(axis=0, ddof=1)
    var_p = sd_p ** 2
    r = np.corrcoef(x, rowvar=False)
    rng = np.random.default_rng(np.random.SeedSequence(entropy or [0]))
    labels = np.zeros((permutations + 1, n))
    labels[0, :n1] = 1.0                                     # row 0: the observed split
    for k in range(1, permutations + 1):
        labels[k, rng.permutation(n)[:n1]] = 1.0

    def fit(f):
        cov, _ = moments(f)
        # an item constant in a group (its variance is rounding noise) makes that group's fit
        # degenerate: left out (a permutation) or reported (the observed split)
        constant = ~(np.einsum("bii->bi", cov) > 1e-12 * var_p).all(axis=1)
        if constant.any():
            cov = cov.copy()
            cov[constant] = np.diag(var_p)
        sd = np.sqrt(np.einsum("bii->bi", cov))
        s = cov / (sd[:, :, None] * sd[:, None, :]) if settings["scaled"] else cov
        est = plscore.estimate(s, lay, scheme=settings["scheme"], tol=settings["tol"],
                               max_iter=settings["max_iter"],
                               sd=np.ones_like(sd) if settings["scaled"] else sd)
        status = est.status.copy()
        status[constant] = plscore.DEGENERATE
        return _weights_on_pooled(est.w, sd, sd_p, lay, settings["scaled"]), status

    wa, sa = fit(labels)
    wb, sb = fit(1.0 - labels)
    if sa[0] != plscore.OK or sb[0] != plscore.OK:
        return _untestable(spec, previous_year, same_instrument, reason, reason_zh,
                           x1 if sa[0] != plscore.OK else x2,
                           previous_year if sa[0] != plscore.OK else previous_year + 1,
                           int(sa[0] if sa[0] != plscore.OK else sb[0]))
    c = _c(wa, wb, r, lay)
    ok_perm = (sa[1:] == plscore.OK) & (sb[1:] == plscore.OK)
    observed, perm = c[0], c[1:][ok_perm]
    rows = []
    for j, name in enumerate(spec.constructs):
        if len(lay.blocks[j]) == 1:                 # a single item is trivially invariant
            rows.append({"construct": name, "c": 1.0, "quantile_5": 1.0, "p": 1.0, "ok": True})
            continue
        q = float(np.quantile(perm[:, j], ALPHA)) if len(perm) else float("nan")
        p = float((1 + np.sum(perm[:, j] <= observed[j])) / (1 + len(perm)))
        rows.append({"construct": name, "c": float(observed[j]), "quantile_5": q, "p": p,
                     "below_quantile_5": bool(observed[j] < q), "ok": True})
    _holm(rows)
    res = InvarianceResult(previous_year, same_instrument, rows, int(ok_perm.sum()))
    failed = [c["construct"] for c in rows if not c["ok"]]
    reasons = [reason] if reason else []
    if failed:
        reasons.append("compositional invariance fails for " + ", ".join(
            f"{c['construct']} (c = {c['c']:.4f}, p = {c['p']:.3f}, Holm-adjusted at 5%)"
            for c in rows if not c["ok"]))
    res.reason = "; ".join(reasons)
    zh = [reason_zh] if reason_zh else []
    if failed:
        zh.append("组合不变性不成立：" + "、".join(
            f"{c['construct']}（c = {c['c']:.4f}，p = {c['p']:.3f}）" for c in rows
            if not c["ok"]))
    res.reason_zh = "；".join(zh)
    return res
