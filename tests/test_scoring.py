"""Tests of ncsi.scoring: every expected number is worked out by hand in the comments."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ncsi.errors import InstrumentError
from ncsi.scoring import (
    MARK_DOWN, MARK_UP, NM, IndexConfig, aggregate, band, band_label, change, critical_value,
    format_ranking_rows, group_indices, index_weights, industry_weights, ranking_rows,
    ranking_year_columns, respondent_scores, unscored_counts, weighted_mean)

BANDS = (
    (80.0, "very_satisfied", "非常满意", "very satisfied"),
    (70.0, "satisfied", "满意", "satisfied"),
    (60.0, "fairly_satisfied", "比较满意", "fairly satisfied"),
    (0.0, "dissatisfied", "不满意", "dissatisfied"),
)

CONFIG = IndexConfig(scale_min=1, scale_max=10, min_valid_n=100, significance_level=0.90,
                     nonpositive_weight_policy="equal", index_construct="SAT", bands=BANDS)

Z90 = 1.6448536269514722   # norm.ppf(0.95)
Z95 = 1.959963984540054    # norm.ppf(0.975)


def _ow(construct: str, names, values) -> pd.Series:
    return pd.Series(values, index=pd.MultiIndex.from_product([[construct], names],
                                                              names=["construct", "indicator"]))


# ---------------------------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------------------------

def test_index_config_from_repository_yaml():
    cfg = IndexConfig.from_yaml()
    assert (cfg.scale_min, cfg.scale_max) == (1.0, 10.0)
    assert cfg.min_valid_n == 100
    assert cfg.significance_level == 0.90
    assert cfg.nonpositive_weight_policy == "equal"
    assert cfg.index_construct == "SAT"
    assert cfg.bands == BANDS
    assert cfg.version == "2025.1"


GOOD_INDEX_YAML = {
    "version": '"t1"', "scale": "{min: 1, max: 10}", "min_valid_n": "100",
    "significance_level": "0.9", "nonpositive_weight_policy": "equal", "index_construct": "SAT",
    "published_decimals": "1",
    "bands": "\n  - {min: 80, code: b, zh: 乙, en: b}\n  - {min: 0, code: a, zh: 甲, en: a}",
}


@pytest.mark.parametrize("key, bad, fragment", [
    ("scale", "{min: 10, max: 1}", "must be below max"),
    ("nonpositive_weight_policy", "sometimes", "is not a policy"),
    ("significance_level", "1.5", "between 0 and 1"),
    ("min_valid_n", "0", "1 or more"),
    ("published_decimals", "7", "0, 1, 2 or 3"),
    ("bands", "\n  - {min: 60, code: a, zh: 甲, en: a}\n  - {min: 80, code: b, zh: 乙, en: b}",
     "highest 'min' down"),
])
def test_index_config_rejects_bad_yaml(tmp_path, key, bad, fragment):
    p = tmp_path / "index.yaml"
    settings = dict(GOOD_INDEX_YAML, **{key: bad})
    p.write_text("".join(f"{k}: {v}\n" for k, v in settings.items()), encoding="utf-8")
    with pytest.raises(InstrumentError) as exc:
        IndexConfig.from_yaml(p)
    msg = str(exc.value)
    assert str(p.name) in msg and key in msg and fragment in msg


def test_index_config_names_a_missing_key(tmp_path):
    p = tmp_path / "index.yaml"
    settings = {k: v for k, v in GOOD_INDEX_YAML.items() if k != "bands"}
    p.write_text("".join(f"{k}: {v}\n" for k, v in settings.items()), encoding="utf-8")
    with pytest.raises(InstrumentError, match="bands"):
        IndexConfig.from_yaml(p)
    p.write_text("".join(f"{k}: {v}\n" for k, v in GOOD_INDEX_YAML.items()), encoding="utf-8")
    assert IndexConfig.from_yaml(p).published_decimals == 1


# ---------------------------------------------------------------------------------------------
# §2 worked example
# ---------------------------------------------------------------------------------------------

def test_methodology_worked_example():
    # Means 8.1, 7.6, 7.2; ŵ = 0.38, 0.28, 0.34; L = 1, U = 10:
    #   (8.1−1)·0.38 = 7.1·0.38 = 2.698
    #   (7.6−1)·0.28 = 6.6·0.28 = 1.848
    #   (7.2−1)·0.34 = 6.2·0.34 = 2.108
    #   sum = 6.654;  6.654 / 9 · 100 = 73.9333…  (= 665.4/9), published as 73.9
    expected = 665.4 / 9
    assert expected == pytest.approx(73.93333333333333, abs=1e-12)
    w = {"SAT": pd.Series([0.38, 0.28, 0.34], index=["SAT1", "SAT2", "SAT3"])}
    one = pd.DataFrame({"SAT1": [8.1], "SAT2": [7.6], "SAT3": [7.2]})
    assert respondent_scores(one, w, scale_min=1, scale_max=10)["SAT"].iloc[0] == \
        pytest.approx(expected, abs=1e-9)
    # The same through respondents: (8.0, 7.0, 7.0) and (8.2, 8.2, 7.4) have item means
    # 8.1, 7.6, 7.2; with no missing items the mean of respondent scores is Σ ŵ x̄ scaled, so
    # the brand index is again 73.9333….
    two = pd.DataFrame({"SAT1": [8.0, 8.2], "SAT2": [7.0, 8.2], "SAT3": [7.0, 7.4]})
    s = respondent_scores(two, w, scale_min=1, scale_max=10)["SAT"]
    # respondent 1: (7·0.38 + 6·0.28 + 6·0.34)/9·100 = (2.66+1.68+2.04)/9·100 = 6.38/9·100
    # respondent 2: (7.2·0.38 + 7.2·0.28 + 6.4·0.34)/9·100 = (2.736+2.016+2.176)/9·100 = 6.928/9·100
    assert s.tolist() == pytest.approx([638 / 9, 692.8 / 9], abs=1e-9)
    assert weighted_mean(s, None, level=0.9)["index"] == pytest.approx(expected, abs=1e-9)


# ---------------------------------------------------------------------------------------------
# index_weights
# ---------------------------------------------------------------------------------------------

def test_index_weights_from_standardized_weights():
    # w = (0.40, 0.35, 0.30), s = (2.0, 1.0, 1.5):
    #   w/s = (0.20, 0.35, 0.20), sum 0.75  →  ŵ = (0.20/0.75, 0.35/0.75, 0.20/0.75)
    #                                          = (4/15, 7/15, 4/15) = (0.2667, 0.4667, 0.2667)
    ow = pd.concat([_ow("SAT", ["SAT1", "SAT2", "SAT3"], [0.40, 0.35, 0.30]),
                    _ow("LOY", ["LOY1", "LOY2"], [0.6, 0.6])])
    sd = pd.Series({"SAT1": 2.0, "SAT2": 1.0, "SAT3": 1.5, "LOY1": 3.0, "LOY2": 1.0})
    w, issues = index_weights(ow, sd, scaled=True, policy="equal")
    assert issues == []
    assert list(w) == ["SAT", "LOY"]
    assert w["SAT"].index.tolist() == ["SAT1", "SAT2", "SAT3"]
    assert w["SAT"].tolist() == pytest.approx([4 / 15, 7 / 15, 4 / 15], abs=1e-12)
    # LOY: w/s = (0.2, 0.6), sum 0.8 → ŵ = (0.25, 0.75)
    assert w["LOY"].tolist() == pytest.approx([0.25, 0.75], abs=1e-12)
    # item_sd indexed by (construct, indicator) gives the same
    sd2 = pd.Series(sd.to_numpy(), index=pd.MultiIndex.from_tuples(
        [("SAT", "SAT1"), ("SAT", "SAT2"), ("SAT", "SAT3"), ("LOY", "LOY1"), ("LOY", "LOY2")]))
    w2, _ = index_weights(ow, sd2, scaled=True, policy="equal")
    assert w2["SAT"].tolist() == pytest.approx([4 / 15, 7 / 15, 4 / 15], abs=1e-12)


def test_index_weights_unscaled_uses_weights_as_given():
    # scaled=False: the weights already apply to centred raw items; (0.4, 0.6, 1.0) sum 2.0
    #   → ŵ = (0.2, 0.3, 0.5); item SDs are not used.
    ow = _ow("SAT", ["SAT1", "SAT2", "SAT3"], [0.4, 0.6, 1.0])
    w, issues = index_weights(ow, None, scaled=False, policy="equal")
    assert issues == []
    assert w["SAT"].tolist() == pytest.approx([0.2, 0.3, 0.5], abs=1e-12)
    sd = pd.Series({"SAT1": 5.0, "SAT2": 1.0, "SAT3": 2.0})
    w2, _ = index_weights(ow, sd, scaled=False, policy="equal")
    assert w2["SAT"].tolist() == pytest.approx([0.2, 0.3, 0.5], abs=1e-12)


def test_index_weights_nonpositive_policies():
    # w = (0.6, 0.5, −0.1), s = 1 each: w/s sums to 1.0 → ŵ = (0.6, 0.5, −0.1): SAT3 ≤ 0.
    ow = pd.concat([_ow("SAT", ["SAT1", "SAT2", "SAT3"], [0.6, 0.5, -0.1]),
                    _ow("VAL", ["VAL1", "VAL2"], [0.5, 0.5])])
    sd = pd.Series(1.0, index=["SAT1", "SAT2", "SAT3", "VAL1", "VAL2"])
    # policy equal → (1/3, 1/3, 1/3)
    w, issues = index_weights(ow, sd, scaled=True, policy="equal")
    assert w["SAT"].tolist() == pytest.approx([1 / 3] * 3, abs=1e-12)
    assert w["VAL"].tolist() == pytest.approx([0.5, 0.5], abs=1e-12)
    assert len(issues) == 1
    (iss,) = issues
    assert iss["construct"] == "SAT" and iss["indicators"] == ["SAT3"]
    assert iss["policy"] == "equal" and iss["applied"] == "equal"
    assert iss["weights"] == pytest.approx({"SAT1": 0.6, "SAT2": 0.5, "SAT3": -0.1})
    assert iss["weights_used"] == pytest.approx({"SAT1": 1 / 3, "SAT2": 1 / 3, "SAT3": 1 / 3})
    assert "SAT3" in iss["message"] and "equal" in iss["message"] and "SAT3" in iss["message_zh"]
    # policy drop → SAT3 gets 0, the rest renormalised: 0.6/1.1 = 6/11, 0.5/1.1 = 5/11
    w, issues = index_weights(ow, sd, scaled=True, policy="drop")
    assert w["SAT"].tolist() == pytest.approx([6 / 11, 5 / 11, 0.0], abs=1e-12)
    assert issues[0]["applied"] == "drop" and issues[0]["indicators"] == ["SAT3"]
    assert "dropped SAT3" in issues[0]["message"]


def test_index_weights_zero_sum_and_sign_flip():
    # w = (0.5, −0.5): the raw weights sum to zero, ŵ undefined → equal weights under either
    # policy ("drop" has nothing positive to keep), reported.
    ow = _ow("IMAG", ["IMAG1", "IMAG2"], [0.5, -0.5])
    for policy in ("equal", "drop"):
        w, issues = index_weights(ow, None, scaled=False, policy=policy)
        assert w["IMAG"].tolist() == [0.5, 0.5]
        assert issues[0]["applied"] == "equal" and issues[0]["policy"] == policy
        assert issues[0]["indicators"] == ["IMAG1", "IMAG2"]
    # All negative (a sign-flipped solution): (−0.2, −0.3)/(−0.5) = (0.4, 0.6), all positive.
    w, issues = index_weights(_ow("IMAG", ["IMAG1", "IMAG2"], [-0.2, -0.3]), None,
                              scaled=False, policy="equal")
    assert issues == [] and w["IMAG"].tolist() == pytest.approx([0.4, 0.6], abs=1e-12)


def test_index_weights_rejects_bad_inputs():
    ow = _ow("SAT", ["SAT1", "SAT2"], [0.5, 0.5])
    with pytest.raises(ValueError, match="SAT2"):
        index_weights(ow, pd.Series({"SAT1": 1.0, "SAT2": 0.0}), scaled=True, policy="equal")
    with pytest.raises(ValueError, match="SAT2"):
        index_weights(ow, pd.Series({"SAT1": 1.0}), scaled=True, policy="equal")
    with pytest.raises(ValueError, match="policy"):
        index_weights(ow, None, scaled=False, policy="ignore")


# ---------------------------------------------------------------------------------------------
# respondent_scores
# ---------------------------------------------------------------------------------------------

def test_respondent_scores_by_hand_with_missing_items():
    # ŵ = (0.5, 0.3, 0.2), L = 1, U = 10, y = (x − 1)/9 · 100
    #  r1: x = (10, 1, 5.5) → y = (100, 0, 50) → 0.5·100 + 0.3·0 + 0.2·50 = 60
    #  r2: x = (7, –, 4)    → y = (66.67, –, 33.33); answered weights 0.5 + 0.2 = 0.7
    #      → (0.5·200/3 + 0.2·100/3)/0.7 = (100/3 + 20/3)/0.7 = 40/0.7 = 400/7 = 57.142857…
    #  r3: nothing answered → NaN
    #  r4: x = (1, 1, 1) → 0
    w = {"SAT": pd.Series({"SAT1": 0.5, "SAT2": 0.3, "SAT3": 0.2}),
         "LOY": pd.Series({"LOY1": 1.0})}
    items = pd.DataFrame({"SAT1": [10, 7, np.nan, 1], "SAT2": [1, np.nan, np.nan, 1],
                          "SAT3": [5.5, 4, np.nan, 1], "LOY1": [10, 10, 1, np.nan]},
                         index=["r1", "r2", "r3", "r4"])
    s = respondent_scores(items, w, scale_min=1, scale_max=10)
    assert list(s.columns) == ["SAT", "LOY"] and list(s.index) == ["r1", "r2", "r3", "r4"]
    assert s.loc["r1", "SAT"] == pytest.approx(60.0, abs=1e-9)
    assert s.loc["r2", "SAT"] == pytest.approx(400 / 7, abs=1e-9)
    assert np.isnan(s.loc["r3", "SAT"])
    assert s.loc["r4", "SAT"] == pytest.approx(0.0, abs=1e-12)
    assert s["LOY"].tolist()[:3] == pytest.approx([100.0, 100.0, 0.0], abs=1e-12)
    assert np.isnan(s.loc["r4", "LOY"])
    assert s.attrs["n_unscored"] == {"SAT": 1, "LOY": 1}
    assert unscored_counts(s).to_dict() == {"SAT": 1, "LOY": 1}


def test_respondent_scores_dropped_item_only_answered_is_unscored():
    # "drop" leaves SAT3 with weight 0: a respondent who answered only SAT3 has no score.
    w = {"SAT": pd.Series({"SAT1": 0.6, "SAT2": 0.4, "SAT3": 0.0})}
    items = pd.DataFrame({"SAT1": [np.nan, 4], "SAT2": [np.nan, 7], "SAT3": [9, 1]})
    s = respondent_scores(items, w, scale_min=1, scale_max=10)["SAT"]
    # r2: 0.6·(3/9·100) + 0.4·(6/9·100) = 20 + 26.667 = 46.667 = 140/3
    assert np.isnan(s.iloc[0]) and s.iloc[1] == pytest.approx(140 / 3, abs=1e-9)


@pytest.mark.parametrize("bad", [11, 0, 98])
def test_respondent_scores_rejects_values_outside_scale(bad):
    w = {"SAT": pd.Series({"SAT1": 0.5, "SAT2": 0.5})}
    items = pd.DataFrame({"SAT1": [5, 6], "SAT2": [5, bad]})
    with pytest.raises(ValueError, match="SAT2"):
        respondent_scores(items, w, scale_min=1, scale_max=10)


def test_respondent_scores_rejects_missing_column():
    w = {"SAT": pd.Series({"SAT1": 0.5, "SAT9": 0.5})}
    with pytest.raises(ValueError, match="SAT9"):
        respondent_scores(pd.DataFrame({"SAT1": [5]}), w, scale_min=1, scale_max=10)


# ---------------------------------------------------------------------------------------------
# weighted_mean and group_indices
# ---------------------------------------------------------------------------------------------

def test_weighted_mean_by_hand():
    # x = (60, 70, 80, 90, 100), w = (1, 2, 1, 2, 4), Σw = 10
    #   x̄_w = (60 + 140 + 80 + 180 + 400)/10 = 860/10 = 86
    #   residuals x − 86 = (−26, −16, −6, 4, 14)
    #   w² r² = (1·676, 4·256, 1·36, 4·16, 16·196) = (676, 1024, 36, 64, 3136), Σ = 4936
    # Linearization SE (with-replacement survey design):
    #   SE² = n/(n−1) · Σ w² r² / (Σw)² = 5/4 · 4936/100 = 61.7  →  SE = √61.7 = 7.854934…
    # 95% CI: 86 ± 1.959964 · 7.854934
    x = pd.Series([60.0, 70, 80, 90, 100], index=list("abcde"))
    w = pd.Series([1.0, 2, 1, 2, 4], index=list("abcde"))
    r = weighted_mean(x, w, level=0.95)
    se = math.sqrt(61.7)
    assert r["index"] == pytest.approx(86.0, abs=1e-12)
    assert r["se"] == pytest.approx(se, abs=1e-12)
    assert se == pytest.approx(7.854934, abs=1e-6)
    assert r["ci_low"] == pytest.approx(86 - Z95 * se, abs=1e-9)
    assert r["ci_high"] == pytest.approx(86 + Z95 * se, abs=1e-9)
    assert r["n"] == 5 and r["note"] is None
    # Only the weights' relative size matters (survey weights): ×1000 gives the same.
    r2 = weighted_mean(x, w * 1000, level=0.95)
    assert (r2["index"], r2["se"]) == pytest.approx((86.0, se), abs=1e-9)


def test_weighted_mean_equal_weights_is_plain_mean_and_sd_over_root_n():
    # x = (60, 70, 80, 90, 100): mean 80; Σ(x − 80)² = 400+100+0+100+400 = 1000;
    # sd (ddof 1) = √(1000/4) = √250 = 15.8114; SE = sd/√5 = √50 = 7.0711
    x = pd.Series([60.0, 70, 80, 90, 100])
    for w in (None, pd.Series(1.0, index=x.index), pd.Series(3.0, index=x.index)):
        r = weighted_mean(x, w, level=0.90)
        assert r["index"] == pytest.approx(80.0, abs=1e-12)
        assert r["se"] == pytest.approx(math.sqrt(50), abs=1e-12)
        assert r["se"] == pytest.approx(x.std(ddof=1) / math.sqrt(5), abs=1e-12)
        assert r["ci_high"] - r["index"] == pytest.approx(Z90 * math.sqrt(50), abs=1e-9)


def test_weighted_mean_missing_and_invalid():
    # NaN scores are dropped: (70, NaN, 90) → mean 80, n 2; SE = sd/√2 = √200/√2 = 10
    r = weighted_mean(pd.Series([70.0, np.nan, 90.0]), None, level=0.9)
    assert (r["index"], r["se"], r["n"]) == pytest.approx((80.0, 10.0, 2), abs=1e-12)
    r = weighted_mean(pd.Series([np.nan, np.nan]), None, level=0.9)
    assert r["n"] == 0 and np.isnan(r["index"]) and np.isnan(r["se"]) and r["note"]
    r = weighted_mean(pd.Series([75.0]), None, level=0.9)
    assert r["index"] == 75.0 and np.isnan(r["se"]) and r["n"] == 1 and r["note"]
    x = pd.Series([70.0, 80.0, 90.0], index=["r1", "r2", "r3"])
    with pytest.raises(ValueError, match="r2"):
        weighted_mean(x, pd.Series([1.0, 0.0, 1.0], index=x.index), level=0.9)
    with pytest.raises(ValueError, match="r3"):
        weighted_mean(x, pd.Series([1.0, 1.0, np.nan], index=x.index), level=0.9)
    with pytest.raises(ValueError, match="r1"):
        weighted_mean(x, pd.Series([-1.0, 1.0, 1.0], index=x.index), level=0.9)


def test_group_indices_long_form():
    # brand A: SAT (60, 80) → mean 70, SE = sd/√2 = 14.142/1.414 = 10
    #          LOY (50, NaN) → 50, n 1, SE NaN
    # brand B: SAT (90, 90, 60) with weights (1, 1, 2) → (90+90+120)/4 = 75
    #          residuals (15, 15, −15), w² r² = 225 + 225 + 900 = 1350,
    #          SE² = 3/2 · 1350/16 = 126.5625 → SE = 11.25
    #          LOY (40, 50, 60) weights (1,1,2) → (40+50+120)/4 = 52.5
    scores = pd.DataFrame({"SAT": [60.0, 80, 90, 90, 60], "LOY": [50.0, np.nan, 40, 50, 60]},
                          index=[10, 11, 12, 13, 14])
    groups = pd.Series(["A", "A", "B", "B", "B"], index=scores.index)
    weights = pd.Series([1.0, 1, 1, 1, 2], index=scores.index)
    out = group_indices(scores, groups, weights, level=0.9)
    assert list(out.columns) == ["group", "construct", "index", "se", "ci_low", "ci_high", "n"]
    assert out[["group", "construct"]].values.tolist() == [["A", "SAT"], ["A", "LOY"],
                                                          ["B", "SAT"], ["B", "LOY"]]
    assert out["index"].tolist() == pytest.approx([70.0, 50.0, 75.0, 52.5], abs=1e-12)
    assert out["n"].tolist() == [2, 1, 3, 3]
    assert out["se"].iloc[0] == pytest.approx(10.0, abs=1e-12)
    assert np.isnan(out["se"].iloc[1])
    assert out["se"].iloc[2] == pytest.approx(11.25, abs=1e-12)
    assert out["ci_low"].iloc[2] == pytest.approx(75 - Z90 * 11.25, abs=1e-9)
    with pytest.raises(ValueError, match="no group label"):
        group_indices(scores, groups.where(groups != "A"), weights, level=0.9)


# ---------------------------------------------------------------------------------------------
# aggregation
# ---------------------------------------------------------------------------------------------

def test_aggregate_two_brands_by_revenue():
    # revenues 300 and 100 → weights 0.75, 0.25; indices 80, 70:
    #   0.75·80 + 0.25·70 = 60 + 17.5 = 77.5
    # SEs 2 and 4: SE² = 0.75²·2² + 0.25²·4² = 0.5625·4 + 0.0625·16 = 2.25 + 1 = 3.25
    #   SE = √3.25 = 1.802776
    children = pd.DataFrame({"index": [80.0, 70.0, np.nan], "se": [2.0, 4.0, np.nan]},
                            index=["A", "B", "C"])
    weights = pd.Series({"A": 300.0, "B": 100.0, "Z": 5.0})   # C: no index, no weight needed
    r = aggregate(children, weights, level=0.9)
    assert r["index"] == pytest.approx(77.5, abs=1e-12)
    assert r["se"] == pytest.approx(math.sqrt(3.25), abs=1e-12)
    assert r["ci_low"] == pytest.approx(77.5 - Z90 * math.sqrt(3.25), abs=1e-9)
    assert r["ci_high"] == pytest.approx(77.5 + Z90 * math.sqrt(3.25), abs=1e-9)
    assert r["weights"].to_dict() == pytest.approx({"A": 0.75, "B": 0.25})
    assert r["excluded"] == ["C"] and r["n_children"] == 2


def test_aggregate_errors_and_missing_se():
    children = pd.DataFrame({"index": [80.0, 70.0], "se": [2.0, np.nan]}, index=["A", "B"])
    with pytest.raises(ValueError, match="B"):
        aggregate(children, pd.Series({"A": 1.0}), level=0.9)
    with pytest.raises(ValueError, match="A"):
        aggregate(children, pd.Series({"A": 0.0, "B": 1.0}), level=0.9)
    r = aggregate(children, pd.Series({"A": 1.0, "B": 1.0}), level=0.9)
    assert r["index"] == pytest.approx(75.0) and np.isnan(r["se"]) and r["note"]
    r = aggregate(pd.DataFrame({"index": [np.nan], "se": [1.0]}, index=["A"]),
                  pd.Series(dtype=float), level=0.9)
    assert np.isnan(r["index"]) and r["n_children"] == 0


def test_industry_weights_revenue_and_fallback():
    n = pd.Series({"A": 250, "B": 150})
    w, basis, issues = industry_weights(["A", "B"], pd.Series({"A": 300.0, "B": 100.0}), n)
    assert basis == "revenue" and issues == []
    assert w.to_dict() == pytest.approx({"A": 0.75, "B": 0.25})
    # B lacks revenue → sample sizes 250, 150 → 0.625, 0.375
    w, basis, issues = industry_weights(["A", "B"], pd.Series({"A": 300.0}), n)
    assert basis == "sample_size"
    assert w.to_dict() == pytest.approx({"A": 0.625, "B": 0.375})
    assert issues[0]["brands"] == ["B"] and "B" in issues[0]["message"]
    assert "sample-size" in issues[0]["message"] and issues[0]["message_zh"]
    w, basis, issues = industry_weights(["A", "B"], pd.Series({"A": 300.0, "B": 0.0}), n)
    assert basis == "sample_size" and issues[0]["brands"] == ["B"]


# ---------------------------------------------------------------------------------------------
# §4 change and significance
# ---------------------------------------------------------------------------------------------

def test_change_points_and_percent():
    # 81 → 83: +2 points; 2/81·100 = 2.4691358024691357…%
    r = change(83, 1.0, 81, 1.0, level=0.90)
    assert r["points"] == pytest.approx(2.0, abs=1e-12)
    assert r["percent"] == pytest.approx(200 / 81, abs=1e-12)
    assert r["percent"] == pytest.approx(2.4691358024691, abs=1e-12)
    # SEs 1 and 1: z = 2/√2 = 1.41421 < 1.64485 → not significant
    assert r["z"] == pytest.approx(math.sqrt(2), abs=1e-12)
    assert r["critical"] == pytest.approx(Z90, abs=1e-12)
    assert r["significant"] is False
    # SEs 0.5 and 0.5: z = 2/√0.5 = 2.82843 > 1.64485 → significant
    r = change(83, 0.5, 81, 0.5, level=0.90)
    assert r["z"] == pytest.approx(2 / math.sqrt(0.5), abs=1e-12)
    assert r["significant"] is True
    # a fall: 83 → 81, same SEs: z = −2.83 → significant
    assert change(81, 0.5, 83, 0.5, level=0.90)["significant"] is True


def test_change_not_measured():
    for args in [(83, 1, None, 1), (np.nan, 1, 81, 1), (None, None, None, None)]:
        r = change(*args, level=0.9)
        assert np.isnan(r["points"]) and np.isnan(r["percent"]) and r["significant"] is None
    # scores known, an SE unknown: points given, significance not measured
    r = change(83, np.nan, 81, 1.0, level=0.9)
    assert r["points"] == pytest.approx(2.0) and r["significant"] is None


def test_methodology_claim_21_points_at_n250():
    # Methodology §4: "at n = 250 per year a change of about 2.1 points is significant at 90%".
    # With a respondent SD of 15 points: SE = 15/√250 = 0.948683; the smallest significant change
    # is z_0.95 · √(SE² + SE²) = 1.644854 · √2 · 0.948683 = 1.644854 · 1.341641 = 2.2068.
    # "About 2.1" corresponds to SD ≈ 14.3: 2.1/(1.644854·√2) = 0.90278 = SD/√250 → SD = 14.27.
    rng = np.random.default_rng(1)
    raw = rng.normal(size=250)
    x = pd.Series(75 + 15 * (raw - raw.mean()) / raw.std(ddof=1))   # sample SD exactly 15
    se = weighted_mean(x, None, level=0.9)["se"]
    assert se == pytest.approx(15 / math.sqrt(250), abs=1e-12)
    assert se == pytest.approx(0.948683, abs=1e-6)
    threshold = critical_value(0.9) * math.sqrt(2) * se
    assert threshold == pytest.approx(2.2068, abs=1e-4)
    assert change(77.3, se, 75.0, se, level=0.9)["significant"] is True      # 2.3 > 2.207
    assert change(77.1, se, 75.0, se, level=0.9)["significant"] is False     # 2.1 < 2.207
    se_143 = 14.27 / math.sqrt(250)
    assert critical_value(0.9) * math.sqrt(2) * se_143 == pytest.approx(2.1, abs=0.01)


# ---------------------------------------------------------------------------------------------
# §5 bands
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value,code", [
    (100, "very_satisfied"), (80, "very_satisfied"), (79.999, "satisfied"), (70, "satisfied"),
    (69.99, "fairly_satisfied"), (60, "fairly_satisfied"), (59.9, "dissatisfied"),
    (0, "dissatisfied"), (-1, None), (np.nan, None), (None, None)])
def test_band_edges(value, code):
    assert band(value, BANDS) == code
    assert band(value, tuple(reversed(BANDS))) == code   # order of the tuple does not matter


def test_band_label():
    assert band_label("satisfied", "zh", BANDS) == "满意"
    assert band_label("very_satisfied", "en", BANDS) == "very satisfied"
    assert band_label(None, "en", BANDS) is None
    with pytest.raises(ValueError):
        band_label("great", "en", BANDS)
    with pytest.raises(ValueError):
        band_label("satisfied", "fr", BANDS)


# ---------------------------------------------------------------------------------------------
# §9 ranking rows
# ---------------------------------------------------------------------------------------------

def _history() -> pd.DataFrame:
    r = []

    def add(year, level, code, name, index, se, n, publishable=True):
        r.append(dict(year=year, level=level, code=code, name=name, index=index, se=se, n=n,
                      publishable=publishable))

    # A: 80 → 81 → 83, SEs 0.5 in 2023 and 2024
    add(2022, "brand", "A", "Aurora", 80.0, 1.0, 250)
    add(2023, "brand", "A", "Aurora", 81.0, 0.5, 250)
    add(2024, "brand", "A", "Aurora", 83.0, 0.5, 260)
    add(2025, "brand", "A", "Aurora", 90.0, 0.5, 260)          # after `year`: ignored
    # B: not measured in 2023 (no row); renamed in 2024
    add(2022, "brand", "B", "Birch Dairy", 75.0, 1.0, 200)
    add(2024, "brand", "B", "Birch", 76.0, 1.0, 210)
    # C: below the floor in 2024 → NM
    add(2022, "brand", "C", "Cedar", 70.0, 1.0, 180)
    add(2023, "brand", "C", "Cedar", 72.0, 1.0, 170)
    add(2024, "brand", "C", "Cedar", 65.0, 2.5, 80, False)
    # D: first measured 2023: 68 → 64, SEs 0.8
    add(2023, "brand", "D", "Dune", 68.0, 0.8, 150)
    add(2024, "brand", "D", "Dune", 64.0, 0.8, 160)
    # E: only 2024 and below the floor → never published → not listed
    add(2024, "brand", "E", "Elm", 90.0, 3.0, 50, False)
    # F: new in 2024 with 76.0, the same as B → ties broken by name (Alder before Birch)
    add(2024, "brand", "F", "Alder", 76.0, 1.2, 120)
    # the industry's own row
    add(2022, "industry", "milk", "Liquid milk", 76.0, 0.5, 630)
    add(2023, "industry", "milk", "Liquid milk", 77.5, 0.4, 570)
    add(2024, "industry", "milk", "Liquid milk", 78.2, 0.4, 880)
    return pd.DataFrame(r)


def test_ranking_rows():
    rows = ranking_rows(_history(), year=2024, config=CONFIG)
    assert list(rows.columns) == ["code", "name", "level", "baseline_year", "2022", "2023",
                                  "2024", "change_points", "change_percent", "significant",
                                  "mark", "band", "n"]
    assert ranking_year_columns(rows) == ["2022", "2023", "2024"]
    # sorted by 2024: A 83, milk 78.2, F 76 (Alder), B 76 (Birch), D 64, C NM
    assert rows["code"].tolist() == ["A", "milk", "F", "B", "D", "C"]
    assert rows["level"].tolist() == ["brand", "industry", "brand", "brand", "brand", "brand"]
    r = rows.set_index("code")
    assert r.loc["B", "name"] == "Birch"                       # the latest name
    assert r["baseline_year"].to_dict() == {"A": 2022, "milk": 2022, "F": 2024, "B": 2022,
                                            "D": 2023, "C": 2022}
    # A: 81 → 83 = +2 points, 2/81 = 2.469%; z = 2/√(0.25+0.25) = 2.83 > 1.645 → ▲
    assert r.loc["A", ["2022", "2023", "2024"]].tolist() == [80.0, 81.0, 83.0]
    assert r.loc["A", "change_points"] == pytest.approx(2.0)
    assert r.loc["A", "change_percent"] == pytest.approx(200 / 81)
    assert r.loc["A", "significant"] is True and r.loc["A", "mark"] == MARK_UP
    assert r.loc["A", "band"] == "very_satisfied" and r.loc["A", "n"] == 260
    # industry: 77.5 → 78.2 = +0.7, 0.7/77.5 = 0.9032%; z = 0.7/√0.32 = 1.237 → not significant
    assert r.loc["milk", "change_points"] == pytest.approx(0.7, abs=1e-9)
    assert r.loc["milk", "change_percent"] == pytest.approx(0.7 / 77.5 * 100, abs=1e-9)
    assert r.loc["milk", "significant"] is False and r.loc["milk", "mark"] == ""
    assert r.loc["milk", "band"] == "satisfied"
    # B: 2023 not measured → NaN, no change, significance not measured
    assert np.isnan(r.loc["B", "2023"]) and np.isnan(r.loc["B", "change_points"])
    assert r.loc["B", "significant"] is None and r.loc["B", "mark"] == ""
    assert r.loc["B", "band"] == "satisfied"
    # F: new → NM in 2022/2023, no change
    assert np.isnan(r.loc["F", "2022"]) and r.loc["F", "significant"] is None
    # D: 68 → 64 = −4; −4/68 = −5.882%; z = −4/√1.28 = −3.54 → ▼; band fairly_satisfied
    assert r.loc["D", "change_points"] == pytest.approx(-4.0)
    assert r.loc["D", "change_percent"] == pytest.approx(-400 / 68)
    assert r.loc["D", "significant"] is True and r.loc["D", "mark"] == MARK_DOWN
    assert r.loc["D", "band"] == "fairly_satisfied"
    # C: below the floor in 2024 → NM, last; n still shown; no band, no change
    assert r.loc["C", ["2022", "2023"]].tolist() == [70.0, 72.0] and np.isnan(r.loc["C", "2024"])
    assert r.loc["C", "band"] is None and r.loc["C", "significant"] is None
    assert r.loc["C", "n"] == 80
    assert "E" not in r.index


def test_ranking_rows_formatting_and_floor_without_flag():
    rows = ranking_rows(_history(), year=2024, config=CONFIG)
    f = format_ranking_rows(rows, decimals=1).set_index("code")
    assert f.loc["C", "2024"] == NM and f.loc["B", "2023"] == NM
    assert f.loc["A", "2024"] == "83.0"
    assert f.loc["A", "change_points"] == "+2.0" and f.loc["A", "change_percent"] == "+2.5%"
    assert f.loc["D", "change_points"] == "-4.0" and f.loc["B", "change_points"] == ""
    assert f.loc["A", "significant"] == "yes" and f.loc["B", "significant"] == ""
    # Without a publishable column the floor (min_valid_n = 100) decides: C (n 80) is NM.
    h = _history().drop(columns="publishable")
    r2 = ranking_rows(h, year=2024, config=CONFIG).set_index("code")
    assert np.isnan(r2.loc["C", "2024"]) and "E" not in r2.index
    # An earlier year: 2023 ranking has only 2022–2023 columns
    r3 = ranking_rows(_history(), year=2023, config=CONFIG)
    assert ranking_year_columns(r3) == ["2022", "2023"]
    # 2023: A 81, milk 77.5, C 72, D 68, B NM
    assert r3["code"].tolist() == ["A", "milk", "C", "D", "B"]


def test_ranking_rows_rejects_two_industries_and_duplicates():
    h = _history()
    extra = h[h["level"] == "industry"].assign(code="oil")
    with pytest.raises(ValueError, match="more than one industry"):
        ranking_rows(pd.concat([h, extra]), year=2024, config=CONFIG)
    with pytest.raises(ValueError, match="duplicate"):
        ranking_rows(pd.concat([h, h.iloc[[0]]]), year=2024, config=CONFIG)


def test_ranking_band_uses_the_published_precision():
    # 79.96 is published as "80.0" (one decimal, surveys/index.yaml), so its band must be the
    # ≥ 80 band; 79.94 is published as "79.9" and stays in the 70–80 band.
    h = _history()
    brand = h[h["level"] == "brand"]["code"].iloc[0]
    mask = (h["code"] == brand) & (h["year"] == 2024)
    h.loc[mask, "index"] = 79.96
    rows = ranking_rows(h, year=2024, config=CONFIG).set_index("code")
    assert rows.loc[brand, "band"] == "very_satisfied"
    assert format_ranking_rows(rows.reset_index()).set_index("code").loc[brand, "2024"] == "80.0"
    h.loc[mask, "index"] = 79.94
    rows = ranking_rows(h, year=2024, config=CONFIG).set_index("code")
    assert rows.loc[brand, "band"] == "satisfied"
