"""Covariance-based SEM (ncsi.cbsem) against lavaan, known truth and provoked problems.

References: tests/data/lavaan/ written by tools/lavaan_reference.R with R lavaan 0.6-14 (Debian
r-cran-lavaan), sem() defaults (ML, normal likelihood, marker indicators, expected information);
see tests/data/PROVENANCE.md.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ncsi import cbsem
from ncsi.cbsem import CBSEM, CBSEMOptionError
from ncsi.errors import EstimationError
from ncsi.pls import PLS
from ncsi.spec import parse_model

DATA = Path(__file__).parent / "data"
LAV = DATA / "lavaan"

HS = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
PD = """
ind60 =~ x1 + x2 + x3
dem60 =~ y1 + y2 + y3 + y4
dem65 =~ y5 + y6 + y7 + y8
dem60 ~ ind60
dem65 ~ ind60 + dem60
y1 ~~ y5
y2 ~~ y4 + y6
y3 ~~ y7
y4 ~~ y8
y6 ~~ y8
"""
ECSI = """
IMAG =~ IMAG1 + IMAG2 + IMAG3 + IMAG4 + IMAG5
EXPE =~ CUEX1 + CUEX2 + CUEX3
QUAL =~ PERQ1 + PERQ2 + PERQ3 + PERQ4 + PERQ5 + PERQ6 + PERQ7
VAL  =~ PERV1 + PERV2
SAT  =~ CUSA1 + CUSA2 + CUSA3
COMP =~ CUSCO
LOY  =~ CUSL1 + CUSL2 + CUSL3
EXPE ~ IMAG
QUAL ~ EXPE
VAL  ~ EXPE + QUAL
SAT  ~ IMAG + EXPE + QUAL + VAL
COMP ~ SAT
LOY  ~ IMAG + SAT + COMP
"""
FIT_KEYS = {"chisq": "chi2", "df": "df", "pvalue": "pvalue", "cfi": "cfi", "tli": "tli",
            "rmsea": "rmsea", "rmsea.ci.lower": "rmsea_ci_low", "rmsea.ci.upper": "rmsea_ci_high",
            "srmr": "srmr", "logl": "loglik", "aic": "aic", "bic": "bic",
            "baseline.chisq": "baseline_chi2", "baseline.df": "baseline_df"}


def _merged(res, name):
    ref = pd.read_csv(LAV / f"{name}.params.csv")
    ref = ref[ref["op"] != "~1"]                  # means (FIML) are compared separately
    ours = res.parameters
    m = ref.merge(ours, on=["lhs", "op", "rhs"], how="left", suffixes=("_lav", ""))
    assert not m["estimate"].isna().any(), m[m["estimate"].isna()]
    return m


def _fit(model, data, estimator="ML"):
    return CBSEM(parse_model(model), estimator).fit(data)


@pytest.fixture(scope="module")
def hs_data():
    return pd.read_csv(LAV / "hs.data.csv")


@pytest.mark.parametrize("name, model, data_file", [("hs", HS, "hs.data.csv"),
                                                     ("pd", PD, "pd.data.csv")])
def test_ml_against_lavaan(name, model, data_file):
    # lavaan 0.6-14 sem(), ML: estimates, SEs, standardized solution and every fit measure;
    # the tolerance is 1e-3, we agree to ~1e-6 on these well-conditioned models
    res = _fit(model, pd.read_csv(LAV / data_file))
    assert res.converged and res.admissible
    m = _merged(res, name)
    np.testing.assert_allclose(m["estimate"], m["est"], atol=1e-4)
    free = m["se_lav"] > 0
    np.testing.assert_allclose(m.loc[free, "se"], m.loc[free, "se_lav"], atol=1e-4)
    np.testing.assert_allclose(m["std"], m["std.all"], atol=1e-4)
    fit = pd.read_csv(LAV / f"{name}.fit.csv").set_index("measure")["value"]
    for lav, ours in FIT_KEYS.items():
        assert res.fit_measures[ours] == pytest.approx(fit[lav], abs=1e-3), lav
    r2 = pd.read_csv(LAV / f"{name}.r2.csv").set_index("variable")["r2"]
    for c, v in res.r2.items():
        assert v == pytest.approx(r2[c], abs=1e-4)


@pytest.mark.parametrize("estimator", ["GLS", "ULS", "DWLS", "WLS"])
def test_other_estimators_against_lavaan(hs_data, estimator):
    # lavaan GLS, ULS, DWLS and WLS fit S with divisor N − 1; ULS sums the residuals of
    # vech(S − Σ) once; DWLS/WLS weight them by the (diagonal of the) asymptotic covariance
    res = _fit(HS, hs_data, estimator)
    m = _merged(res, f"hs-{estimator.lower()}")
    np.testing.assert_allclose(m["estimate"], m["est"], atol=1e-4)
    np.testing.assert_allclose(m["std"], m["std.all"], atol=1e-4)
    fit = pd.read_csv(LAV / f"hs-{estimator.lower()}.fit.csv").set_index("measure")["value"]
    assert res.fit_measures["srmr"] == pytest.approx(fit["srmr"], abs=1e-4)
    if estimator == "GLS":
        for lav in ("chisq", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper",
                    "baseline.chisq"):
            assert res.fit_measures[FIT_KEYS[lav]] == pytest.approx(fit[lav], abs=1e-3), lav
    else:
        assert res.fit_measures["chi2"] is None          # no test statistic for these
    assert math.isnan(res.parameters["se"].iloc[1])     # no normal-theory SEs: use the bootstrap


def test_ill_conditioned_ecsi_on_mobi_against_lavaan():
    # The full ECSI model on mobi.csv is nearly unidentified (standardized paths beyond ±1):
    # lavaan stops nlminb at its default tolerance (tighter ones make nlminb fail) with a χ² that
    # our solution undercuts. Along the flat directions lavaan's point is determined only to
    # about SE·√Δχ² (Δχ² = lavaan's χ² − ours): parameters must agree within that or 1e-3,
    # whichever is larger; fit measures within 1e-3.
    res = _fit(ECSI, pd.read_csv(DATA / "mobi.csv", index_col=0))
    assert res.converged
    fit = pd.read_csv(LAV / "mobi-ecsi.fit.csv").set_index("measure")["value"]
    delta = fit["chisq"] - res.fit_measures["chi2"]
    assert -1e-6 < delta < 1e-3
    for lav, ours in FIT_KEYS.items():
        assert res.fit_measures[ours] == pytest.approx(fit[lav], abs=1e-3), lav
    m = _merged(res, "mobi-ecsi")
    tol = np.maximum(1e-3, m["se_lav"].fillna(0) * math.sqrt(max(delta, 0)))
    assert (np.abs(m["estimate"] - m["est"]) <= tol).all()
    codes = {p["code"] for p in res.problems}
    assert {"std_path_over_one", "single_indicator"} <= codes
    assert not res.admissible
    cusco = res.parameters.query("lhs == 'CUSCO' and op == '~~'")
    assert cusco["estimate"].iloc[0] == 0.0


# ------------------------------------------------------------------------------------------------
# known truth
# ------------------------------------------------------------------------------------------------

def _population(rng, n, beta=0.6, gamma=(0.4, 0.3)):
    xi = rng.standard_normal(n)
    eta1 = beta * xi + math.sqrt(1 - beta ** 2) * rng.standard_normal(n)
    eta2 = gamma[0] * xi + gamma[1] * eta1 + 0.8 * rng.standard_normal(n)
    cols = {}
    for name, f, lam in (("a", xi, (1.0, 0.8, 1.2)), ("b", eta1, (1.0, 0.9, 0.7)),
                         ("c", eta2, (1.0, 1.1, 0.9))):
        for k, l_ in enumerate(lam, 1):
            cols[f"{name}{k}"] = l_ * f + 0.6 * rng.standard_normal(n)
    return pd.DataFrame(cols)


def test_recovers_known_parameters():
    spec = parse_model("A =~ a1 + a2 + a3\nB =~ b1 + b2 + b3\nC =~ c1 + c2 + c3\nB ~ A\n"
                       "C ~ A + B")
    res = CBSEM(spec).fit(_population(np.random.default_rng(3), 4000))
    truth = {("B", "A"): 0.6, ("C", "A"): 0.4, ("C", "B"): 0.3}
    for r in res.paths.itertuples():
        t = truth[(r.to, r._1)]
        assert abs(r.estimate - t) < 4 * r.se, (r, t)
    load = res.loadings.set_index("indicator")
    for ind, t in (("a2", 0.8), ("a3", 1.2), ("b2", 0.9), ("b3", 0.7), ("c2", 1.1), ("c3", 0.9)):
        assert abs(load.loc[ind, "estimate"] - t) < 4 * load.loc[ind, "se"]
    assert res.fit_measures["pvalue"] > 0.001 and res.fit_measures["rmsea"] < 0.02


def test_fiml_against_lavaan():
    # lavaan sem(missing = "ml") on Holzinger–Swineford with values removed on a fixed pattern
    # (tools/lavaan_reference.R): estimates, SEs (observed information), standardized solution,
    # the means and every fit measure
    data = pd.read_csv(LAV / "hs-fiml.data.csv")
    res = CBSEM(parse_model(HS), missing="fiml").fit(data)
    assert res.converged and res.n == 301 and res.n_dropped == 0
    m = _merged(res, "hs-fiml")
    np.testing.assert_allclose(m["estimate"], m["est"], atol=1e-4)
    free = m["se_lav"] > 0
    np.testing.assert_allclose(m.loc[free, "se"], m.loc[free, "se_lav"], atol=1e-4)
    np.testing.assert_allclose(m["std"], m["std.all"], atol=1e-4)
    ref = pd.read_csv(LAV / "hs-fiml.params.csv")
    means = ref[(ref["op"] == "~1") & ref["lhs"].isin(res.item_mean.index)]
    np.testing.assert_allclose(res.item_mean[means["lhs"]].to_numpy(), means["est"], atol=1e-4)
    fit = pd.read_csv(LAV / "hs-fiml.fit.csv").set_index("measure")["value"]
    for lav, ours in FIT_KEYS.items():
        assert res.fit_measures[ours] == pytest.approx(fit[lav], abs=1e-3), lav


def test_fiml_on_complete_data_equals_ml(hs_data):
    ml = _fit(HS, hs_data)
    fiml = CBSEM(parse_model(HS), missing="fiml").fit(hs_data)
    np.testing.assert_allclose(fiml.parameters["estimate"], ml.parameters["estimate"],
                               atol=1e-5)
    assert fiml.fit_measures["chi2"] == pytest.approx(ml.fit_measures["chi2"], abs=1e-4)


def test_indices_use_factor_score_weights_and_the_pls_formula():
    data = pd.read_csv(DATA / "mobi.csv", index_col=0)
    spec = parse_model(ECSI)
    res = CBSEM(spec, scale=(1, 10)).fit(data)
    w = res.score_weights
    for b in spec.blocks:
        own = w.loc[b.name, list(b.indicators)]
        hat = own / own.sum()
        expected = float((hat * (data[list(b.indicators)].mean() - 1) / 9 * 100).sum())
        assert res.indices()[b.name] == pytest.approx(expected, abs=1e-9)
    pls = PLS(spec, scale=(1, 10)).fit(data).indices()
    assert (abs(res.indices() - pls) < 3).all()            # comparable scales


# ------------------------------------------------------------------------------------------------
# problems, provoked on purpose
# ------------------------------------------------------------------------------------------------

def _exact(cov, n=500, seed=0):
    """A sample whose covariance (divisor N) is exactly ``cov``."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, len(cov)))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False, ddof=0))).T
    return z @ np.linalg.cholesky(cov).T


def test_heywood_case_is_reported():
    r = np.array([[1, .8, .8], [.8, 1, .55], [.8, .55, 1]])    # λ1² = .8·.8/.55 = 1.16 > 1
    data = pd.DataFrame(_exact(r) + 5, columns=["a1", "a2", "a3"])
    res = CBSEM(parse_model("A =~ a1 + a2 + a3")).fit(data)
    codes = {(p["code"], p["where"]) for p in res.problems}
    assert ("heywood_variance", "a1") in codes
    assert ("heywood_loading", "A =~ a1") in codes
    assert not res.admissible


def test_implied_construct_correlation_above_one_is_reported():
    r = np.full((6, 6), 0.6)
    r[:3, :3] = r[3:, 3:] = 0.5                                   # φ = .6/.5 = 1.2
    np.fill_diagonal(r, 1.0)
    data = pd.DataFrame(_exact(r), columns=["a1", "a2", "a3", "b1", "b2", "b3"])
    res = CBSEM(parse_model("A =~ a1 + a2 + a3\nB =~ b1 + b2 + b3\nB ~ A")).fit(data)
    problems = {p["code"]: p for p in res.problems}
    assert "implied_not_pd" in problems or "heywood_variance" in problems
    assert any(p["where"] in ("constructs", "B") for p in res.problems)


def test_non_convergence_is_reported(hs_data, monkeypatch):
    monkeypatch.setattr(cbsem, "GRAD_TOL", 1e-30)
    res = _fit(HS, hs_data)
    assert not res.converged
    assert res.problems[0]["code"] == "not_converged" and "gradient" in res.problems[0]["message"]
    assert res.warnings


def test_not_identified_is_an_error():
    data = pd.DataFrame(np.random.default_rng(1).standard_normal((100, 2)), columns=["a1", "a2"])
    with pytest.raises(EstimationError, match=r"not identified.*df = -1.*A"):
        CBSEM(parse_model("A =~ a1 + a2")).fit(data)


def test_singular_sample_covariance_names_the_items(hs_data):
    data = hs_data.assign(x3=hs_data["x1"] + hs_data["x2"])
    with pytest.raises(EstimationError, match=r"not positive definite.*x1, x2, x3"):
        _fit(HS, data)


def test_composite_block_and_weights_are_refused(hs_data):
    with pytest.raises(EstimationError, match="composite.*PLS"):
        CBSEM(parse_model("A <~ x1 + x2\nB =~ x4 + x5 + x6\nB ~ A"))
    with pytest.raises(EstimationError, match="no case weights"):
        CBSEM(parse_model(HS), weights="w")
    with pytest.raises(CBSEMOptionError, match="MLW.*write ML"):
        CBSEM(parse_model(HS), "MLW")
    with pytest.raises(CBSEMOptionError, match="fiml.*ML"):
        CBSEM(parse_model(HS), "GLS", missing="fiml")


def test_pls_refuses_covariances():
    with pytest.raises(EstimationError, match="cbsem"):
        PLS(parse_model(PD))


def test_bootstrap_is_seeded_and_worker_independent(hs_data):
    res = CBSEM(parse_model(HS), scale=(0, 10)).fit(hs_data)
    a = res.bootstrap(20, seed=4)
    b = res.bootstrap(20, seed=4, workers=2)
    pd.testing.assert_frame_equal(a.draws, b.draws)
    s = a.summary()
    assert a.n_valid == 20
    assert (s["ci_low"] <= s["original"] + 0.2).all() and (s["std_error"] > 0).all()
