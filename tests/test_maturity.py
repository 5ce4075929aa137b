"""Maturity scoring and design-weighted indices (ncsi.maturity) on hand-computed examples."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ncsi.maturity import (
    enterprise_scores,
    level_shares,
    maturity_level,
    structure,
    subgroup_indices,
    weighted_index,
)

CATS = [("lead", 110, ["L1", "L2"]), ("resu", 400, ["R1", "R2", "R3"])]
CUTS = [(0, 1), (20, 2), (40, 3), (60, 4), (80, 5)]


def test_scoring_of_a_hand_computed_enterprise():
    # leadership levels 3, 4 → mean 3.5 → (3.5 − 1)/4 × 110 = 68.75
    # results levels 5, 4, missing → mean 4.5 → (4.5 − 1)/4 × 400 = 350
    items = pd.DataFrame({"L1": [3.0], "L2": [4.0], "R1": [5.0], "R2": [4.0], "R3": [np.nan]})
    s = enterprise_scores(items, CATS, CUTS)
    assert s.loc[0, "lead"] == pytest.approx(68.75)
    assert s.loc[0, "resu"] == pytest.approx(350.0)
    assert s.loc[0, "total"] == pytest.approx(418.75)
    assert s.loc[0, "index"] == pytest.approx(41.875)
    assert s.loc[0, "level"] == 3


def test_a_category_without_answers_leaves_the_total_undefined():
    items = pd.DataFrame({"L1": [np.nan], "L2": [np.nan], "R1": [5.0], "R2": [4.0], "R3": [1.0]})
    s = enterprise_scores(items, CATS, CUTS)
    assert math.isnan(s.loc[0, "total"]) and pd.isna(s.loc[0, "level"])


def test_level_cutoffs_at_the_boundaries():
    assert maturity_level(19.999, CUTS) == 1 and maturity_level(20.0, CUTS) == 2
    assert maturity_level(80.0, CUTS) == 5 and maturity_level(float("nan"), CUTS) is None


def test_design_weighted_index_against_a_worked_example():
    # y = 40, 50, 60, 70 with weights 1, 1, 2, 4 (Σw = 8):
    # mean = (40 + 50 + 120 + 280)/8 = 61.25
    # residuals −21.25, −11.25, −1.25, 8.75; Σ w² e² = 451.5625 + 126.5625 + 6.25 + 1225 = 1809.375
    # SE² = n/(n−1) · Σw²e²/(Σw)² = 4/3 · 1809.375/64 = 37.6953125 → SE = 6.13965...
    y = pd.Series([40.0, 50.0, 60.0, 70.0])
    w = pd.Series([1.0, 1.0, 2.0, 4.0])
    r = weighted_index(y, w, level=0.90)
    assert r["index"] == pytest.approx(61.25)
    assert r["se"] == pytest.approx(math.sqrt(4 / 3 * 1809.375 / 64))
    assert r["ci_low"] == pytest.approx(61.25 - 1.6448536269514722 * r["se"])
    assert r["n"] == 4


def test_subgroup_means_and_their_equality_test():
    rng = np.random.default_rng(0)
    n = 3000
    size = rng.choice(["large", "medium", "small"], n)
    true = {"large": 70.0, "medium": 60.0, "small": 55.0}
    y = pd.Series([true[s] for s in size]) + rng.normal(0, 8, n)
    w = pd.Series(rng.uniform(0.5, 3, n))
    table, test = subgroup_indices(y, w, pd.Series(size))
    t = table.set_index("group")
    for s, v in true.items():
        assert abs(t.loc[s, "index"] - v) < 4 * t.loc[s, "se"]
        # each subgroup's mean and SE equal the one-group computation on its rows
        one = weighted_index(y[size == s], w[size == s])
        assert t.loc[s, "index"] == pytest.approx(one["index"])
    assert test["df"] == 2 and test["p"] < 1e-10
    # no difference → the test does not reject
    _, null = subgroup_indices(pd.Series(rng.normal(60, 8, n)), w, pd.Series(size))
    assert null["p"] > 0.001


def test_level_shares_are_weighted():
    lv = pd.Series([1, 2, 2, 5], dtype="Int64")
    w = pd.Series([1.0, 1.0, 2.0, 4.0])
    assert level_shares(lv, w) == {1: 0.125, 2: 0.375, 3: 0.0, 4: 0.0, 5: 0.5}


def test_structure_reports_the_cfa_and_reliabilities():
    rng = np.random.default_rng(1)
    n = 800
    f = rng.standard_normal(n)
    cols = {}
    cats = []
    for c, pts in (("lead", 110), ("stra", 90), ("cust", 90), ("reso", 130)):
        g = 0.8 * f + 0.6 * rng.standard_normal(n)
        names = [f"{c}{k}" for k in range(1, 5)]
        for name in names:
            cols[name] = np.clip(np.round(3 + g + 0.7 * rng.standard_normal(n)), 1, 5)
        cats.append((c, pts, names))
    items = pd.DataFrame(cols)
    scores = enterprise_scores(items, cats, CUTS)
    out = structure(items, cats, scores)
    assert out["cfa"]["converged"] and out["cfa"]["fit"]["df"] == 2
    assert all(ld["std"] > 0.5 for ld in out["cfa"]["loadings"])
    for r in out["reliability"]:
        assert 0.5 < r["alpha"] < 1 and 0.5 < r["omega"] < 1
        assert r["omega"] >= r["alpha"] - 0.02          # ω ≥ α for congeneric items (≈)
