"""Features of the PLS engine through its public results object (``PLS(...).fit → PLSResults``).

- R plspm references (tests/data/rplspm/, see tests/data/PROVENANCE.md): Mode A, scaled=FALSE,
  centroid unless the file name says otherwise, R tol 1e-6; compared within 1e-5 absolute.
- Case weights (frequency weights), missing-data treatments, consistent PLS, parameter recovery
  on populations with known truth, hypothesis property tests, diagnostics recomputed by hand
  (numpy, statsmodels), admissibility (verify) and the 0–100 indices.
"""

from __future__ import annotations

import json
import math
import re
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from ncsi.errors import EstimationError
from ncsi.pls import PLS, PLSOptionError, PLSResults
from ncsi.spec import parse_model

from .models import SATISFACTION_MODEL

DATA = Path(__file__).parent / "data"
RPLSPM = DATA / "rplspm"
R_ATOL = 1e-5                  # R plspm stops at tol 1e-6 (sum of squared changes); never loosen
R_GOF_CENTROID = 0.609741624338411     # tests/data/PROVENANCE.md: GoF of the centroid model


@cache
def _satisfaction() -> pd.DataFrame:
    return pd.read_csv(DATA / "satisfaction.csv", index_col=0)


@pytest.fixture(scope="module")
def satisfaction() -> pd.DataFrame:
    return _satisfaction().copy()


@pytest.fixture(scope="module")
def sat_spec():
    return parse_model(SATISFACTION_MODEL, source="satisfaction")


@pytest.fixture(scope="module")
def centroid_fit(satisfaction, sat_spec) -> PLSResults:
    # R plspm settings (scaled=FALSE, Mode A, centroid); the engine converges fully (tol 1e-10)
    return PLS(sat_spec, scheme="centroid", scaled=False, tol=1e-10,
               max_iter=1000).fit(satisfaction)


@pytest.fixture(scope="module")
def path_fit(satisfaction, sat_spec) -> PLSResults:
    return PLS(sat_spec, scheme="path", scaled=True, tol=1e-10, max_iter=1000).fit(satisfaction)


def _exact_moment_sample(sigma: np.ndarray, n: int, seed: int, names: list[str]) -> pd.DataFrame:
    """n rows whose sample covariance (divisor n − 1) is exactly ``sigma``: a population."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, len(names)))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T
    return pd.DataFrame(z @ np.linalg.cholesky(sigma).T, columns=names)


# ------------------------------------------------------------------------------------------------
# 1. R plspm references through the results object — source: tests/data/rplspm/ (R plspm on
#    satisfaction.csv; Mode A, scaled=FALSE, centroid, R tol 1e-6); tolerance 1e-5 absolute.
# ------------------------------------------------------------------------------------------------

def test_rplspm_effects(centroid_fit):
    # satisfaction.effects.csv: direct, indirect and total effect of every pair joined by a route
    ref = pd.read_csv(RPLSPM / "satisfaction.effects.csv").set_index(["from", "to"])
    got = centroid_fit.effects.set_index(["from", "to"])
    assert list(got.columns) == ["direct", "indirect", "total"]
    assert sorted(got.index) == sorted(ref.index)             # the same 15 pairs, no more
    for col in ("direct", "indirect", "total"):
        np.testing.assert_allclose(got.loc[ref.index, col], ref[col], rtol=0, atol=R_ATOL,
                                   err_msg=col)


def test_rplspm_inner_summary_and_gof(centroid_fit):
    # satisfaction.inner-summary.csv (R², block communality, mean redundancy, AVE) and the GoF
    # 0.609741624338411 (PROVENANCE.md), centroid
    ref = pd.read_csv(RPLSPM / "satisfaction.inner-summary.csv", index_col=0)
    got = centroid_fit.inner_summary
    assert list(got.index) == list(ref.index)
    assert list(got["type"]) == list(ref["type"])
    for ours, theirs in [("r2", "r_squared"), ("communality", "block_communality"),
                         ("redundancy", "mean_redundancy"), ("ave", "ave")]:
        np.testing.assert_allclose(got[ours], ref[theirs], rtol=0, atol=R_ATOL, err_msg=ours)
    assert centroid_fit.gof == pytest.approx(R_GOF_CENTROID, abs=R_ATOL)


def test_rplspm_unidimensionality(centroid_fit):
    # satisfaction_unidim.csv: standardized α, Dillon–Goldstein ρ, first two eigenvalues
    ref = pd.read_csv(RPLSPM / "satisfaction_unidim.csv", index_col=0)
    got = centroid_fit.unidimensionality
    assert list(got.index) == list(ref.index)
    for col in ("cronbach_alpha", "dillon_goldstein_rho", "eig_1st", "eig_2nd"):
        np.testing.assert_allclose(got[col], ref[col], rtol=0, atol=R_ATOL, err_msg=col)


def _fit_with_r_stopping_rule(spec, data, tol=1e-6, limit=100) -> tuple[int, PLSResults]:
    """R plspm's stop, through the public API: fit with max_iter = 1, 2, ... and stop at the
    first k where the sum of squared changes of |outer_weights_for("n")| from k − 1 is < tol."""
    prev = None
    for k in range(1, limit + 1):
        res = PLS(spec, scheme="centroid", scaled=False, tol=1e-15, max_iter=k).fit(data)
        cur = res.outer_weights_for("n").abs()
        if prev is not None and float(((cur - prev) ** 2).sum()) < tol:
            return k, res
        prev = cur
    raise AssertionError("R's stopping rule was never met")


def test_rplspm_mode_b_inner_summary(satisfaction):
    # satisfaction.modeb.inner-summary.csv: every block Mode B, centroid, R tol 1e-6. R stops
    # early (after 6 updates here); the fully converged engine differs by up to 2.7e-5, so the
    # engine is stopped by R's own rule and then compared at 1e-5.
    spec_b = parse_model(SATISFACTION_MODEL.replace("=~", "<~"), source="satisfaction-b")
    ref = pd.read_csv(RPLSPM / "satisfaction.modeb.inner-summary.csv", index_col=0)
    k, res = _fit_with_r_stopping_rule(spec_b, satisfaction)
    assert k == 6
    got = res.inner_summary.loc[ref.index]
    assert list(got["type"]) == list(ref["type"])
    for ours, theirs in [("r2", "r_squared"), ("communality", "block_communality"),
                         ("redundancy", "mean_Redundancy")]:
        np.testing.assert_allclose(got[ours], ref[theirs], rtol=0, atol=R_ATOL, err_msg=ours)
    assert got["ave"].isna().all() and ref["ave"].isna().all()        # R: NA for Mode B
    assert res.unidimensionality.empty                                # a Mode A table only
    # the stopping rule is what makes the difference: fully converged, LOY is off by > 1e-5
    full = PLS(spec_b, scheme="centroid", scaled=False, tol=1e-10, max_iter=1000).fit(satisfaction)
    assert full.converged
    off = (full.inner_summary.loc[ref.index, "communality"] - ref["block_communality"]).abs()
    assert off.max() > R_ATOL


def test_rplspm_bootstrap_original_column(centroid_fit):
    # satisfaction_boot_*.csv: R plspm bootstrap of the same centroid model (its `original`
    # column equals satisfaction.outer-model.csv / effects.csv); only `original` is exact.
    def original(name):
        return pd.read_csv(RPLSPM / f"satisfaction_boot_{name}.csv", index_col=0)["original"]

    def pairs(s):
        return [tuple(k.split(" -> ")) for k in s.index]

    paths = original("paths")
    got = centroid_fit.paths.set_index(["from", "to"])["estimate"]
    assert sorted(pairs(paths)) == sorted(got.index)
    np.testing.assert_allclose(got.loc[pairs(paths)], paths, rtol=0, atol=R_ATOL)
    total = original("total_effects")
    eff = centroid_fit.effects.set_index(["from", "to"])["total"]
    np.testing.assert_allclose(eff.loc[pairs(total)], total, rtol=0, atol=R_ATOL)
    r2 = original("rsquared")
    np.testing.assert_allclose(centroid_fit.r2.loc[r2.index], r2, rtol=0, atol=R_ATOL)
    ld = original("loadings")
    np.testing.assert_allclose(centroid_fit.loadings.droplevel("construct").loc[ld.index], ld,
                               rtol=0, atol=R_ATOL)
    w = original("weights")                  # R's weights: scores of divisor-n variance 1
    np.testing.assert_allclose(centroid_fit.outer_weights_for("n").droplevel("construct")
                               .loc[w.index], w, rtol=0, atol=R_ATOL)


# ------------------------------------------------------------------------------------------------
# 2. case weights: frequency weights (mean Σwx/Σw, covariance divisor Σw − 1)
# ------------------------------------------------------------------------------------------------

def _estimates(res: PLSResults) -> dict[str, np.ndarray]:
    return {"weights": res.outer_weights.to_numpy(), "weights_n": res.outer_weights_for("n"),
            "loadings": res.loadings.to_numpy(), "cross": res.cross_loadings.to_numpy(),
            "paths": res.paths["estimate"].to_numpy(), "se": res.paths["std_error"].to_numpy(),
            "t": res.paths["t"].to_numpy(), "p": res.paths["p"].to_numpy(),
            "r2": res.r2.to_numpy(), "r2_adj": res.r2_adj.to_numpy(),
            "corr": res.construct_corr.to_numpy(), "mean": res.item_mean.to_numpy(),
            "sd": res.item_sd.to_numpy(), "index_weights": res.index_weights.to_numpy()}


def _assert_same_estimates(a: PLSResults, b: PLSResults, rtol: float, atol: float = 0.0):
    ea, eb = _estimates(a), _estimates(b)
    for key, val in ea.items():
        np.testing.assert_allclose(eb[key], val, rtol=rtol, atol=atol, err_msg=key)


@pytest.mark.parametrize("scaled", [True, False])
def test_weights_of_one_give_the_unweighted_fit(satisfaction, sat_spec, scaled):
    # weights of one are no weights: everything equal to rounding (rtol 1e-12)
    plain = PLS(sat_spec, scaled=scaled).fit(satisfaction)
    ones = PLS(sat_spec, scaled=scaled, weights="w").fit(satisfaction.assign(w=1.0))
    assert ones.n == plain.n == 250 and ones.sum_weights == plain.sum_weights == 250.0
    assert ones.iterations == plain.iterations
    _assert_same_estimates(plain, ones, rtol=1e-12, atol=1e-14)    # atol: values near 0
    np.testing.assert_allclose(ones.scores, plain.scores, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("scaled", [True, False])
def test_duplicated_rows_equal_weight_two(satisfaction, sat_spec, scaled):
    # frequency weights: a weight of two counts a row twice, so every estimate including the
    # path SEs (df = Σw − k − 1) equals that of the data with every row duplicated
    dup = PLS(sat_spec, scaled=scaled).fit(pd.concat([satisfaction, satisfaction]))
    two = PLS(sat_spec, scaled=scaled, weights="w").fit(satisfaction.assign(w=2.0))
    assert dup.n == 500 and two.n == 250 and dup.sum_weights == two.sum_weights == 500.0
    _assert_same_estimates(dup, two, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(two.scores, dup.scores.iloc[:250], rtol=1e-10, atol=1e-12)
    # ... and differs from the unweighted fit (the SEs shrink by about √2)
    plain = PLS(sat_spec, scaled=scaled).fit(satisfaction)
    ratio = plain.paths["std_error"] / two.paths["std_error"]
    np.testing.assert_allclose(ratio, math.sqrt(2), rtol=0.01)


@pytest.mark.parametrize("scaled", [True, False])
def test_integer_weights_equal_repeated_rows(satisfaction, sat_spec, scaled):
    # random integer weights 1–3: the same as repeating each row k times
    k = np.random.default_rng(2024).integers(1, 4, len(satisfaction))
    rep = PLS(sat_spec, scaled=scaled).fit(satisfaction.loc[satisfaction.index.repeat(k)])
    wtd = PLS(sat_spec, scaled=scaled, weights="w").fit(satisfaction.assign(w=k))
    assert rep.n == k.sum() == wtd.sum_weights and wtd.n == 250
    _assert_same_estimates(rep, wtd, rtol=1e-10, atol=1e-14)
    first = rep.scores[~rep.scores.index.duplicated()]
    np.testing.assert_allclose(wtd.scores, first.loc[wtd.scores.index], rtol=1e-10, atol=1e-12)


def test_weighted_means_sds_and_indices(satisfaction, sat_spec):
    # indices((0, 10)) with weights = weighted item means combined with the index weights
    w = np.random.default_rng(5).uniform(0.2, 3.0, len(satisfaction))
    w /= w.mean()
    res = PLS(sat_spec, weights="w").fit(satisfaction.assign(w=w))
    items = satisfaction[list(sat_spec.indicators)].astype(float)
    mean = pd.Series(np.average(items, axis=0, weights=w), index=items.columns)
    sd = np.sqrt((w[:, None] * (items - mean) ** 2).sum() / (w.sum() - 1))
    np.testing.assert_allclose(res.item_mean, mean, rtol=1e-12)
    np.testing.assert_allclose(res.item_sd, sd, rtol=1e-12)
    assert (mean - items.mean()).abs().max() > 0.05          # the weights matter here
    iw = res.index_weights
    for b in sat_spec.blocks:                                # ŵ ∝ w_k / s_k, summing to one
        raw = res.outer_weights[b.name] / sd[list(b.indicators)].to_numpy()
        np.testing.assert_allclose(iw[b.name], raw / raw.sum(), rtol=1e-12)
    expected = {b.name: float((iw[b.name] * mean[list(b.indicators)].to_numpy()).sum() * 10)
                for b in sat_spec.blocks}                    # (m − 0)/(10 − 0)·100
    got = res.indices((0, 10))
    np.testing.assert_allclose(got[list(expected)], list(expected.values()), rtol=1e-12)


@pytest.mark.parametrize("bad, what", [(np.nan, "is missing"), (-1.0, "-1"), (np.inf, "inf")])
def test_invalid_case_weight_names_column_and_row(satisfaction, sat_spec, bad, what):
    data = satisfaction.assign(w=1.0)
    data.loc[7, "w"] = bad
    with pytest.raises(EstimationError) as exc:
        PLS(sat_spec, weights="w").fit(data)
    msg = str(exc.value)
    assert "column 'w'" in msg and "row index 7" in msg and what in msg


def test_invalid_case_weight_message_shows_the_plain_value(satisfaction, sat_spec):
    data = satisfaction.assign(w=1.0)
    data.loc[7, "w"] = -1.0
    with pytest.raises(EstimationError) as exc:
        PLS(sat_spec, weights="w").fit(data)
    assert "np.float64" not in str(exc.value)


def test_weight_column_absent_or_an_indicator(satisfaction, sat_spec):
    with pytest.raises(EstimationError, match=r"weight column 'wt' is not in the data"):
        PLS(sat_spec, weights="wt").fit(satisfaction)
    with pytest.raises(PLSOptionError, match=r"'sat1' is an indicator of construct SAT"):
        PLS(sat_spec, weights="sat1")


# ------------------------------------------------------------------------------------------------
# 3. missing data: casewise deletion and (weighted) mean replacement
# ------------------------------------------------------------------------------------------------

def _with_holes(satisfaction, sat_spec) -> pd.DataFrame:
    data = satisfaction.astype({c: float for c in sat_spec.indicators})
    data.loc[5, "imag1"] = np.nan
    data.loc[9, ["sat1", "sat2"]] = np.nan
    data.loc[12, ["imag3", "val2"]] = np.nan
    data.loc[30, list(sat_spec.indicators)] = np.nan          # answers none of the items
    return data


def test_casewise_drops_rows_and_reports(satisfaction, sat_spec):
    data = _with_holes(satisfaction, sat_spec)
    res = PLS(sat_spec).fit(data)
    assert res.n == 246 and res.n_dropped == 4
    rep = res.missing_report
    # over the 250 input rows: IMAG misses rows 5, 12, 30 (1 + 1 + 5 values), VAL 12, 30, ...
    assert rep["rows_complete"].tolist() == [247, 249, 249, 248, 248, 249]
    assert rep["values_missing"].tolist() == [7, 5, 5, 5, 6, 4]
    assert (rep["values_imputed"] == 0).all() and (rep["rows_used"] == 246).all()
    ref = PLS(sat_spec).fit(data.dropna(subset=list(sat_spec.indicators)))
    pd.testing.assert_series_equal(res.outer_weights, ref.outer_weights)


def test_mean_replacement_imputes_the_observed_mean(satisfaction, sat_spec):
    data = _with_holes(satisfaction, sat_spec)
    res = PLS(sat_spec, missing="mean").fit(data)
    # the row answering nothing is dropped and counted; the others are kept
    assert res.n == 249 and res.n_dropped == 1 and 30 not in res.scores.index
    assert {5, 9, 12} <= set(res.scores.index)
    rep = res.missing_report
    assert rep["values_imputed"].tolist() == [2, 0, 0, 1, 2, 0]
    assert rep["values_missing"].tolist() == [7, 5, 5, 5, 6, 4]     # row 30 included
    assert (rep["rows_used"] == 249).all()
    # the imputed value is the observed mean: identical to a fit on the data filled by hand
    ind = list(sat_spec.indicators)
    kept = data.drop(index=30)
    filled = kept.fillna(kept[ind].mean())
    ref = PLS(sat_spec).fit(filled)
    np.testing.assert_allclose(res.outer_weights, ref.outer_weights, rtol=1e-12)
    np.testing.assert_allclose(res.scores, ref.scores, rtol=1e-12, atol=1e-13)
    assert res.item_mean["imag1"] == pytest.approx(data["imag1"].mean(), rel=1e-14)
    # without missing values the two treatments are the same fit
    a, b = PLS(sat_spec).fit(satisfaction), PLS(sat_spec, missing="mean").fit(satisfaction)
    for name in ("outer_weights", "paths", "scores", "missing_report"):
        assert getattr(a, name).equals(getattr(b, name)), name


def test_weighted_mean_replacement_uses_weighted_means(satisfaction, sat_spec):
    data = _with_holes(satisfaction, sat_spec)
    w = np.random.default_rng(8).uniform(0.2, 3.0, len(data))
    data["w"] = w / w.mean()
    res = PLS(sat_spec, missing="mean", weights="w").fit(data)
    ind = list(sat_spec.indicators)
    kept = data.drop(index=30)
    wmean = {c: np.average(kept[c].dropna(), weights=kept.loc[kept[c].notna(), "w"])
             for c in ind}
    ref = PLS(sat_spec, weights="w").fit(kept.fillna(wmean))
    np.testing.assert_allclose(res.outer_weights, ref.outer_weights, rtol=1e-12)
    np.testing.assert_allclose(res.scores, ref.scores, rtol=1e-12, atol=1e-13)
    # the unweighted fill is a different fit: the test can tell the two apart
    other = PLS(sat_spec, weights="w").fit(kept.fillna(kept[ind].mean()))
    assert np.abs(other.scores.loc[5, "IMAG"] - res.scores.loc[5, "IMAG"]) > 1e-4


# ------------------------------------------------------------------------------------------------
# 4. consistent PLS on common-factor data with known truth
# ------------------------------------------------------------------------------------------------
# ξ → η1 (0.5); ξ, η1 → η2 (0.3, 0.4); unit variances (ψ: 0.75, 0.63); x = λ·factor + error with
# var(x) = 1. A 30-replication Monte Carlo at n = 50,000 gave SDs ≤ 0.0066 (PLSc paths) and
# ≤ 0.0057 (PLSc loadings), mean bias ≤ 0.0011: 0.02 is ~3 SD. Plain PLS is attenuated by
# 0.074–0.091 (X → Y) and 0.048–0.066 (Y → Z) over those replications.

FACTOR_LAMBDA = {"X": [0.85, 0.8, 0.7, 0.6], "Y": [0.8, 0.75, 0.7, 0.65],
                 "Z": [0.85, 0.8, 0.75, 0.6]}
FACTOR_PATHS = {("X", "Y"): 0.5, ("X", "Z"): 0.3, ("Y", "Z"): 0.4}
FACTOR_R2 = {"Y": 0.25, "Z": 0.37}
FACTOR_MODEL = "\n".join(f"{c} =~ " + " + ".join(f"{c.lower()}{k + 1}" for k in range(4))
                         for c in FACTOR_LAMBDA) + "\nY ~ X\nZ ~ X + Y\n"


def _simulate_factors(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    xi = rng.standard_normal(n)
    eta1 = 0.5 * xi + math.sqrt(0.75) * rng.standard_normal(n)
    eta2 = 0.3 * xi + 0.4 * eta1 + math.sqrt(0.63) * rng.standard_normal(n)
    cols = {}
    for f, (c, lam) in zip((xi, eta1, eta2), FACTOR_LAMBDA.items()):
        for k, lk in enumerate(lam):
            cols[f"{c.lower()}{k + 1}"] = lk * f + math.sqrt(1 - lk * lk) * rng.standard_normal(n)
    return pd.DataFrame(cols)


@pytest.fixture(scope="module")
def factor_data() -> pd.DataFrame:
    return _simulate_factors(50_000, seed=20250101)


def test_plsc_recovers_factor_model_and_plain_pls_is_attenuated(factor_data):
    spec = parse_model(FACTOR_MODEL)
    plsc = PLS(spec, consistent=True).fit(factor_data)
    plain = PLS(spec).fit(factor_data)
    assert plsc.converged and not plsc.warnings
    for c, lam in FACTOR_LAMBDA.items():
        np.testing.assert_allclose(plsc.loadings[c], lam, atol=0.02, err_msg=c)
    for c, r2 in FACTOR_R2.items():
        assert plsc.r2[c] == pytest.approx(r2, abs=0.02)
    err_c = err_p = 0.0
    for (f, t), v in FACTOR_PATHS.items():
        assert plsc.path_matrix.loc[f, t] == pytest.approx(v, abs=0.02)
        err_c += abs(plsc.path_matrix.loc[f, t] - v)
        err_p += abs(plain.path_matrix.loc[f, t] - v)
    # plain PLS: the paths of X → Y and Y → Z are clearly attenuated
    for f, t in (("X", "Y"), ("Y", "Z")):
        assert plain.path_matrix.loc[f, t] < FACTOR_PATHS[(f, t)] - 0.04
    assert err_p > 0.1 and err_p > 3 * err_c
    # verify(): admissible on good data
    v = plsc.verify()
    assert v.status == "admissible" and v.ok and v.checks["ok"].all()


def test_plsc_rho_a_is_the_reported_reliability(factor_data):
    spec = parse_model(FACTOR_MODEL)
    plsc = PLS(spec, consistent=True).fit(factor_data)
    plain = PLS(spec).fit(factor_data)
    rel = plsc.reliability
    # the correction divides by √(ρA_i ρA_j): recover ρA from the three pairs of constructs
    q = (plsc.score_corr / plsc.construct_corr) ** 2
    implied = {"X": q.loc["X", "Y"] * q.loc["X", "Z"] / q.loc["Y", "Z"],
               "Y": q.loc["X", "Y"] * q.loc["Y", "Z"] / q.loc["X", "Z"],
               "Z": q.loc["X", "Z"] * q.loc["Y", "Z"] / q.loc["X", "Y"]}
    for c, rho2 in implied.items():
        assert math.sqrt(rho2) == pytest.approx(rel.loc[c, "rho_a"], rel=1e-10)
    # PLSc keeps the PLS weights: the same ρA (and α) as in the plain fit
    pd.testing.assert_series_equal(plain.outer_weights, plsc.outer_weights)
    np.testing.assert_allclose(plain.reliability[["alpha", "rho_a"]], rel[["alpha", "rho_a"]],
                               rtol=1e-12)
    r = factor_data.corr()
    for c, lam in FACTOR_LAMBDA.items():
        w = plsc.outer_weights[c].to_numpy()
        items = [f"{c.lower()}{k + 1}" for k in range(4)]
        rb = r.loc[items, items].to_numpy()
        # Dijkstra–Henseler by hand: c² = w'(R − I)w / ((w'w)² − Σw⁴), ρA = c²(w'w)²
        c2 = (w @ (rb - np.eye(4)) @ w) / ((w @ w) ** 2 - (w ** 4).sum())
        assert rel.loc[c, "rho_a"] == pytest.approx(c2 * (w @ w) ** 2, rel=1e-10)
        # consistent loadings λ = c·w
        np.testing.assert_allclose(plsc.loadings[c], math.sqrt(c2) * w, rtol=1e-10)
        # population ρA of the λ-weighted composite: (λ'λ)² / ((λ'λ)² + Σλ²(1 − λ²))
        lam = np.array(lam)
        pop = (lam @ lam) ** 2 / ((lam @ lam) ** 2 + (lam ** 2 * (1 - lam ** 2)).sum())
        assert rel.loc[c, "rho_a"] == pytest.approx(pop, abs=0.01)


def test_plsc_single_item_and_mode_b_blocks(factor_data):
    # reliability(): single item 1, Mode B NaN; the correction uses ρA = 1 for both, and their
    # loadings are those of plain PLS
    spec = parse_model("X =~ x1 + x2 + x3 + x4\nY <~ y1 + y2 + y3 + y4\nZ =~ z1\n"
                       "Y ~ X\nZ ~ X + Y\n")
    plsc = PLS(spec, consistent=True).fit(factor_data)
    plain = PLS(spec).fit(factor_data)
    rel = plsc.reliability
    assert rel.loc["Y"].isna().all()
    assert rel.loc["Z", ["alpha", "rho_a", "rho_c"]].tolist() == [1.0, 1.0, 1.0]
    assert 0 < rel.loc["X", "rho_a"] < 1
    sc, cc = plsc.score_corr, plsc.construct_corr
    rho_x = rel.loc["X", "rho_a"]
    assert cc.loc["X", "Y"] == pytest.approx(sc.loc["X", "Y"] / math.sqrt(rho_x), rel=1e-12)
    assert cc.loc["X", "Z"] == pytest.approx(sc.loc["X", "Z"] / math.sqrt(rho_x), rel=1e-12)
    assert cc.loc["Y", "Z"] == pytest.approx(sc.loc["Y", "Z"], rel=1e-12)
    np.testing.assert_allclose(plsc.loadings[["Y", "Z"]], plain.loadings[["Y", "Z"]],
                               rtol=1e-12)
    assert plsc.verify().status == "admissible"


# ------------------------------------------------------------------------------------------------
# 5. plain PLS on composite populations (where it is consistent)
# ------------------------------------------------------------------------------------------------
# Composite model (Dijkstra): X = wx'x (Mode B), Y = wy'y (Mode A), Z = wz'z (Mode B), var 1;
# Σ_ij = ρ_ij Σ_ii w_i w_j' Σ_jj. In population, cov(x_j, any proxy) ∝ Σ_jj w_j, so Mode B returns
# w_j exactly and Mode A returns w_j when w_j is an eigenvector of Σ_jj (Y: the first one).
# Paths X → Y 0.5; X, Y → Z 0.3, 0.4 (ρ_XZ = 0.5, ρ_YZ = 0.55), R² 0.25 and 0.37.

COMPOSITE_MODEL = "X <~ x1 + x2 + x3\nY =~ y1 + y2 + y3\nZ <~ z1 + z2 + z3\nY ~ X\nZ ~ X + Y\n"
COMPOSITE_NAMES = [f"{c}{k}" for c in "xyz" for k in (1, 2, 3)]


def _composite_population():
    blocks = [np.array([[1, .4, .2], [.4, 1, .3], [.2, .3, 1]]),
              np.array([[1, .6, .4], [.6, 1, .5], [.4, .5, 1]]),
              np.array([[1, .5, .3], [.5, 1, .2], [.3, .2, 1]])]
    top = np.linalg.eigh(blocks[1])[1][:, -1]
    raw = [np.array([.6, .3, .4]), top * np.sign(top.sum()), np.array([.5, .4, .35])]
    w = [v / math.sqrt(v @ s @ v) for v, s in zip(raw, blocks)]
    rho = np.array([[1, .5, .5], [.5, 1, .55], [.5, .55, 1]])
    sigma = np.zeros((9, 9))
    for i in range(3):
        for j in range(3):
            sigma[3 * i:3 * i + 3, 3 * j:3 * j + 3] = blocks[i] if i == j else \
                rho[i, j] * np.outer(blocks[i] @ w[i], blocks[j] @ w[j])
    return sigma, dict(zip("XYZ", w)), dict(zip("XYZ", (s @ v for s, v in zip(blocks, w))))


def _check_composite_fit(res, weights, loadings, tol_w, tol_l, tol_p):
    for c in "XYZ":
        np.testing.assert_allclose(res.outer_weights[c], weights[c], atol=tol_w, err_msg=c)
        np.testing.assert_allclose(res.loadings[c], loadings[c], atol=tol_l, err_msg=c)
    for (f, t), v in FACTOR_PATHS.items():
        assert res.path_matrix.loc[f, t] == pytest.approx(v, abs=tol_p)
    for c, r2 in FACTOR_R2.items():
        assert res.r2[c] == pytest.approx(r2, abs=tol_p)


@pytest.mark.parametrize("scheme", ["path", "centroid", "factorial"])
def test_composite_population_recovered_exactly(scheme):
    # data with exactly the population covariance: PLS returns the true parameters
    sigma, weights, loadings = _composite_population()
    data = _exact_moment_sample(sigma, 300, 3, COMPOSITE_NAMES)
    res = PLS(parse_model(COMPOSITE_MODEL), scheme=scheme, tol=1e-12, max_iter=1000).fit(data)
    assert res.converged
    _check_composite_fit(res, weights, loadings, 1e-9, 1e-9, 1e-9)


def test_composite_sample_recovers_truth():
    # n = 20,000 random sample; a 30-replication Monte Carlo gave SDs ≤ 0.0127 (weights),
    # 0.0091 (loadings), 0.0058 (paths, R²), no bias: tolerances ~4–5 SD
    sigma, weights, loadings = _composite_population()
    rng = np.random.default_rng(42)
    data = pd.DataFrame(rng.standard_normal((20_000, 9)) @ np.linalg.cholesky(sigma).T,
                        columns=COMPOSITE_NAMES)
    res = PLS(parse_model(COMPOSITE_MODEL)).fit(data)
    _check_composite_fit(res, weights, loadings, 0.06, 0.045, 0.03)


# ------------------------------------------------------------------------------------------------
# 6. property tests (hypothesis)
# ------------------------------------------------------------------------------------------------

SMALL_MODEL = "A =~ a1 + a2 + a3\nB =~ b1 + b2 + b3\nC =~ c1 + c2\nB ~ A\nC ~ A + B\n"


def _small_data(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = rng.standard_normal(n)
    g = 0.6 * f + 0.8 * rng.standard_normal(n)
    h = 0.4 * f + 0.4 * g + 0.7 * rng.standard_normal(n)
    cols = {}
    for name, fac, k in (("a", f, 3), ("b", g, 3), ("c", h, 2)):
        for i in range(k):
            cols[f"{name}{i + 1}"] = fac + 0.6 * rng.standard_normal(n)
    return pd.DataFrame(cols)


def _core(res: PLSResults) -> list[np.ndarray]:
    return [res.outer_weights.to_numpy(), res.loadings.to_numpy(),
            res.path_matrix.to_numpy(), res.r2.to_numpy()]


PROPS = settings(max_examples=25, deadline=None)


@PROPS
@given(perm=st.permutations(range(250)))
def test_property_row_order_does_not_matter(perm):
    data = _satisfaction()
    spec = parse_model(SATISFACTION_MODEL)
    a = PLS(spec, tol=1e-10).fit(data)
    b = PLS(spec, tol=1e-10).fit(data.iloc[list(perm)])
    for x, y in zip(_core(a), _core(b)):
        np.testing.assert_allclose(y, x, rtol=0, atol=1e-10)
    np.testing.assert_allclose(b.scores.loc[a.scores.index], a.scores, atol=1e-10)


@PROPS
@given(col=st.sampled_from(parse_model(SATISFACTION_MODEL).indicators),
       a=st.floats(0.01, 100.0), b=st.floats(-1000.0, 1000.0))
def test_property_positive_rescaling_of_an_item(col, a, b):
    # scaled=True: a·x + b (a > 0) of one indicator changes no estimate
    data = _satisfaction()
    spec = parse_model(SATISFACTION_MODEL)
    base = PLS(spec, tol=1e-10).fit(data)
    res = PLS(spec, tol=1e-10).fit(data.assign(**{col: a * data[col] + b}))
    for x, y in zip(_core(base), _core(res)):
        np.testing.assert_allclose(y, x, rtol=0, atol=1e-8)
    np.testing.assert_allclose(res.scores, base.scores, atol=1e-8)


@PROPS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(12, 40), scaled=st.booleans(),
       data=st.data())
def test_property_case_weight_identities(seed, n, scaled, data):
    # weights of one = no weights; integer weights = repeated rows (frequency weights)
    df = _small_data(seed, n)
    k = np.array(data.draw(st.lists(st.integers(1, 3), min_size=n, max_size=n)))
    spec = parse_model(SMALL_MODEL)
    plain = PLS(spec, scaled=scaled, tol=1e-10).fit(df)
    ones = PLS(spec, scaled=scaled, tol=1e-10, weights="w").fit(df.assign(w=1.0))
    _assert_same_estimates(plain, ones, rtol=1e-9, atol=1e-12)
    rep = PLS(spec, scaled=scaled, tol=1e-10).fit(df.loc[df.index.repeat(k)])
    wtd = PLS(spec, scaled=scaled, tol=1e-10, weights="w").fit(df.assign(w=k))
    _assert_same_estimates(rep, wtd, rtol=1e-8, atol=1e-10)


@PROPS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(12, 80), consistent=st.booleans())
def test_property_symmetric_matrices(seed, n, consistent):
    # (small n can give a block ρA < 0 under PLSc; that crashed the engine once, see
    # test_plsc_negative_rho_a_is_reported_not_raised)
    res = PLS(parse_model(SMALL_MODEL), consistent=consistent).fit(_small_data(seed, n))
    for name in ("htmt", "construct_corr", "score_corr", "fornell_larcker"):
        m = getattr(res, name)
        assert list(m.index) == list(m.columns) == ["A", "B", "C"], name
        off = m.to_numpy()[~np.eye(3, dtype=bool)]
        np.testing.assert_array_equal(off, m.to_numpy().T[~np.eye(3, dtype=bool)], err_msg=name)
    assert np.isnan(np.diag(res.htmt)).all()
    assert (np.diag(res.construct_corr) == 1.0).all() and (np.diag(res.score_corr) == 1.0).all()


# ------------------------------------------------------------------------------------------------
# 7. diagnostics recomputed by hand on satisfaction (scaled=True, path scheme)
# ------------------------------------------------------------------------------------------------

def _ols_r2(y: np.ndarray, x: np.ndarray) -> float:
    design = np.column_stack([np.ones(len(y)), x])
    resid = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    return 1.0 - (resid @ resid) / ((y - y.mean()) @ (y - y.mean()))


def test_inner_model_diagnostics_by_hand(path_fit, sat_spec):
    # R², r2_adj, f², inner VIF and the OLS table recomputed from `scores` (numpy, statsmodels)
    sc, n = path_fit.scores, path_fit.n
    f2 = path_fit.f2.set_index(["from", "to"])["f2"]
    vif = path_fit.vif_inner.set_index(["from", "to"])["vif"]
    assert len(f2) == len(vif) == len(sat_spec.paths)
    for t in sat_spec.endogenous:
        preds = list(sat_spec.predecessors(t))
        r2 = _ols_r2(sc[t].to_numpy(), sc[preds].to_numpy())
        assert path_fit.r2[t] == pytest.approx(r2, abs=1e-12)
        k = len(preds)
        assert path_fit.r2_adj[t] == pytest.approx(1 - (1 - r2) * (n - 1) / (n - k - 1),
                                                   rel=1e-12)
        for p in preds:
            rest = [c for c in preds if c != p]
            r2_out = _ols_r2(sc[t].to_numpy(), sc[rest].to_numpy()) if rest else 0.0
            assert f2[(p, t)] == pytest.approx((r2 - r2_out) / (1 - r2), rel=1e-9, abs=1e-12)
            r2_aux = _ols_r2(sc[p].to_numpy(), sc[rest].to_numpy()) if rest else 0.0
            assert vif[(p, t)] == pytest.approx(1 / (1 - r2_aux), rel=1e-9)
        # statsmodels OLS (with intercept) of the standardized target score on the predictors
        ols = sm.OLS(sc[t], sm.add_constant(sc[preds])).fit()
        table = path_fit.path_se[t]
        np.testing.assert_allclose(table["estimate"], ols.params[preds], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(table["std_error"], ols.bse[preds], rtol=1e-9)
        np.testing.assert_allclose(table["t"], ols.tvalues[preds], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(table["p"], ols.pvalues[preds], rtol=1e-7, atol=1e-14)


def test_effects_by_hand(path_fit):
    eff = path_fit.effects.set_index(["from", "to"])
    np.testing.assert_allclose(eff["total"], eff["direct"] + eff["indirect"], atol=1e-15)
    b = path_fit.path_matrix.to_numpy()
    total = np.linalg.inv(np.eye(len(b)) - b) - np.eye(len(b))
    names = list(path_fit.path_matrix.index)
    for (f, t), row in eff.iterrows():
        assert row["total"] == pytest.approx(total[names.index(f), names.index(t)], abs=1e-12)
        assert row["direct"] == path_fit.path_matrix.loc[f, t]
    # every non-zero total effect is listed
    assert len(eff) == int((np.abs(total) > 0).sum())


def test_htmt_and_fornell_larcker_by_hand(path_fit, satisfaction, sat_spec):
    a, b = list(sat_spec.block("SAT").indicators), list(sat_spec.block("LOY").indicators)
    r = satisfaction[a + b].corr().to_numpy()
    ka, kb = len(a), len(b)
    mono_a = (r[:ka, :ka].sum() - ka) / (ka * (ka - 1))
    mono_b = (r[ka:, ka:].sum() - kb) / (kb * (kb - 1))
    het = r[:ka, ka:].mean()
    assert path_fit.htmt.loc["SAT", "LOY"] == pytest.approx(het / math.sqrt(mono_a * mono_b),
                                                            rel=1e-12)
    fl = path_fit.fornell_larcker
    ave = path_fit.loadings.groupby(level="construct", sort=False).apply(lambda s: (s ** 2).mean())
    np.testing.assert_allclose(np.diag(fl), np.sqrt(ave.loc[fl.index]), rtol=1e-12)
    off = ~np.eye(len(fl), dtype=bool)
    np.testing.assert_allclose(fl.to_numpy()[off], path_fit.construct_corr.to_numpy()[off])


def test_verify_admissible_and_json(path_fit):
    v = path_fit.verify()
    assert v.status == "admissible" and v.ok and bool(v)
    assert {"converged", "loadings", "construct_corr", "reliability",
            "index_weights"} <= set(v.checks["check"])
    json.dumps(path_fit.to_dict(), allow_nan=False)
    json.dumps(path_fit.summary(), allow_nan=False)
    assert json.loads(json.dumps(v.to_dict()))["status"] == "admissible"


def _plsc_case(sigma_pairs: dict, names: list[str], model: str) -> PLSResults:
    sigma = np.eye(len(names))
    for (i, j), v in sigma_pairs.items():
        sigma[names.index(i), names.index(j)] = sigma[names.index(j), names.index(i)] = v
    data = _exact_moment_sample(sigma, 500, 1, names)
    return PLS(parse_model(model), consistent=True).fit(data)


def _not_pd_fit() -> PLSResults:
    # C's items barely correlate with each other (0.05; ρA ≈ 0.14) but 0.25 with B's items:
    # the corrected correlation of B and C is ≈ 1.4, the matrix is not positive definite
    pairs = {}
    for k in range(1, 4):
        for m in range(1, 4):
            pairs[(f"b{k}", f"c{m}")] = 0.25
            if k < m:
                pairs[(f"b{k}", f"b{m}")] = 0.64
                pairs[(f"c{k}", f"c{m}")] = 0.05
    return _plsc_case(pairs, ["b1", "b2", "b3", "c1", "c2", "c3"],
                      "B =~ b1 + b2 + b3\nC =~ c1 + c2 + c3\nC ~ B")


def test_verify_inadmissible_loading_above_one():
    # a1 carries B's information, a2 correlates with a1 (0.3) but hardly with B (0.05): a2's
    # weight is tiny and PLSc's λ = c·w puts a1's loading at √3 ≈ 1.73, ρA(A) ≈ 2.86
    pairs = {("a1", "a2"): 0.3, ("b1", "b2"): 0.6, ("b1", "b3"): 0.6, ("b2", "b3"): 0.6}
    pairs.update({(a, b): r for a, r in (("a1", 0.5), ("a2", 0.05)) for b in ("b1", "b2", "b3")})
    res = _plsc_case(pairs, ["a1", "a2", "b1", "b2", "b3"], "A =~ a1 + a2\nB =~ b1 + b2 + b3\nB ~ A")
    v = res.verify()
    assert v.status == "inadmissible" and not v.ok
    failed = v.checks.set_index("check").loc[~v.checks.set_index("check")["ok"]]
    assert {"loadings", "reliability"} <= set(failed.index)
    assert "construct_corr" not in failed.index
    assert res.loadings[("A", "a1")] > 1
    assert "A/a1" in failed.loc["loadings", "detail"]           # each names construct A
    assert "A rho_a" in failed.loc["reliability", "detail"]
    assert any(re.search(r"\bA\b", w) for w in res.warnings)
    json.dumps(v.to_dict(), allow_nan=False)


def test_verify_inadmissible_not_positive_definite():
    res = _not_pd_fit()
    assert res.construct_corr.loc["B", "C"] > 1
    v = res.verify()
    assert v.status == "inadmissible"
    failed = v.checks.loc[~v.checks["ok"], "check"].tolist()
    assert "construct_corr" in failed and "loadings" not in failed and "reliability" not in failed


def test_verify_not_positive_definite_names_the_construct():
    v = _not_pd_fit().verify()
    detail = v.checks.set_index("check").loc["construct_corr", "detail"]
    assert re.search(r"\b[BC]\b", detail), detail


NEG_RHO_NAMES = ["a1", "a2", "b1", "b2", "c1", "c2", "d1", "d2"]
NEG_RHO_PAIRS = {("a1", "a2"): 0.5, ("b1", "b2"): -0.2, ("c1", "c2"): 0.5, ("d1", "d2"): 0.5,
                 **{(b, o): 0.3 for b in ("b1", "b2") for o in ("a1", "a2", "c1", "c2")},
                 **{(a, o): 0.3 for a in ("a1", "a2") for o in ("c1", "c2", "d1", "d2")}}
NEG_RHO_MODEL = "A =~ a1 + a2\nB =~ b1 + b2\nC =~ c1 + c2\nD =~ d1 + d2\nC ~ A + B\nD ~ A\n"


def test_plsc_negative_rho_a_is_reported_not_raised():
    # B's two items correlate −0.2, so ρA(B) = −0.5 and B's corrected correlations are undefined;
    # B predicts C with A. (This used to raise numpy's LinAlgError from plscore.regressions.)
    res = _plsc_case(NEG_RHO_PAIRS, NEG_RHO_NAMES, NEG_RHO_MODEL)
    assert res.reliability.loc["B", "rho_a"] == pytest.approx(-0.5, abs=1e-9)
    assert any(re.search(r"\bB\b", w) for w in res.warnings)
    paths = res.paths.set_index(["from", "to"])
    assert paths.loc[[("A", "C"), ("B", "C")], "estimate"].isna().all()     # undefined, not 0
    assert math.isnan(res.r2["C"])
    v = res.verify()
    assert v.status == "inadmissible"
    assert "B rho_a" in v.checks.set_index("check").loc["reliability", "detail"]


def test_plsc_negative_rho_a_leaves_other_equations_defined():
    res = _plsc_case(NEG_RHO_PAIRS, NEG_RHO_NAMES, NEG_RHO_MODEL)
    rel, sc = res.reliability["rho_a"], res.score_corr
    expected = sc.loc["A", "D"] / math.sqrt(rel["A"] * rel["D"])     # a single predecessor
    assert res.path_matrix.loc["A", "D"] == pytest.approx(expected, rel=1e-10)
    assert res.r2["D"] == pytest.approx(expected ** 2, rel=1e-10)


# ------------------------------------------------------------------------------------------------
# 8. indices
# ------------------------------------------------------------------------------------------------

def test_indices_are_the_mean_of_respondent_scores(path_fit, satisfaction, sat_spec):
    lo, hi = 0.0, 10.0
    got = path_fit.indices((lo, hi))
    iw = path_fit.index_weights
    for b in sat_spec.blocks:
        x = satisfaction[list(b.indicators)].to_numpy(float)
        person = ((x - lo) / (hi - lo) * 100) @ iw[b.name].to_numpy()     # 0–100 per row
        assert got[b.name] == pytest.approx(person.mean(), rel=1e-12)
        assert 0 <= person.min() and person.max() <= 100 + 1e-9
        # the respondent index is an increasing affine function of the construct score
        assert np.corrcoef(person, path_fit.scores[b.name])[0, 1] == pytest.approx(1, abs=1e-12)
    with_scale = PLS(sat_spec, scheme="path", tol=1e-10, max_iter=1000,
                     scale=(0, 10)).fit(satisfaction)
    pd.testing.assert_series_equal(with_scale.indices(), got)
    assert with_scale.to_dict()["indices"]["SAT"]["estimate"] == pytest.approx(got["SAT"])


def test_indices_need_a_scale(path_fit):
    with pytest.raises(PLSOptionError, match=r"scale=\(lowest, highest\)"):
        path_fit.indices()
    with pytest.raises(PLSOptionError, match="scale must be"):
        path_fit.indices((5, 1))


@pytest.mark.parametrize("scaled", [True, False])
def test_batched_core_agrees_with_the_single_block_formulas(satisfaction, scaled):
    # ncsi.plscore computes ρA (in PLSc) and HTMT batched for the bootstrap; ncsi.assessment
    # holds the readable one-block formulas. Both must give the same numbers on real data.
    from ncsi import assessment
    spec = parse_model(SATISFACTION_MODEL)
    res = PLS(spec, scaled=scaled).fit(satisfaction)
    s = res._s
    lay = res.layout
    for j, idx in enumerate(lay.blocks):
        single = assessment.rho_a(s[np.ix_(idx, idx)], res._w[idx, j])
        assert res.reliability["rho_a"].iloc[j] == pytest.approx(single, abs=1e-12)
    ht = assessment.htmt(s, lay.blocks, list(lay.modes))
    np.testing.assert_allclose(res.htmt.to_numpy(), ht, atol=1e-12, equal_nan=True)
