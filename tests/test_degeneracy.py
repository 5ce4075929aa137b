"""Statistical degeneracy in a yearly build (issue "Reliability under bad input, faults and
concurrent use", point 4): perfectly collinear indicators, a block whose weights turn negative,
non-convergence (of the fit and of the release resamples), a brand below the floor, an industry
with one brand, a constant item, an item nobody answered, a singular inner model, and a brand
nobody of which answered a construct.

Each case builds a small generated survey (two food industries, one year) in which ONE industry
(liquid_milk) carries the defect, and checks that

- the draft's issues name the industry / brand / construct / item and say the consequence (left
  out, NM, weights replaced, kept as estimated, ...), in English and Chinese, and the CLI's
  `ncsi release show --draft` shows that consequence on its (shortened) line;
- no number of the draft's scores, fits or issues is NaN or infinite where it is published
  (an undefined number is None or absent, with its reason), and after publishing neither is
  any number of the public query layer (`ncsi.query.Query`);
- the other industry of the year (edible_oil) is untouched: its scores, fit and issues are
  identical to those of a build without the defect.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ncsi import plscore, release
from ncsi.cli import app
from ncsi.demo import load_survey_folder
from ncsi.demo_data import generate
from ncsi.pls import PLS
from ncsi.query import Query
from ncsi.release import build_year, publish_year
from ncsi.resampling import entropy_for
from ncsi.scoring import IndexConfig
from ncsi.store import Store

YEAR = 2025
SICK, WELL = "liquid_milk", "edible_oil"
SEED = 1
BOOT = {"n_boot": 50, "seed": SEED, "permutations": 0}
NUMBERS = ["index", "se", "ci_low", "ci_high"]
CLI_WIDTH = 150                  # `ncsi release show` shortens an issue's message to this
runner = CliRunner()


# ------------------------------------------------------------------------------------------------
# building a doctored survey
# ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def survey(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("degeneracy-survey")
    generate(5, out, years=[YEAR], industries=[SICK, WELL], scale=0.6)
    return out


@dataclasses.dataclass
class Build:
    store: Store
    url: str
    summary: release.BuildSummary
    saved: dict                 # what build_year handed to save_draft, before any conversion

    def issues(self, kind: str, industry: str = SICK) -> list[dict]:
        return [i for i in self.summary.issues
                if i.get("kind") == kind and i.get("industry") == industry]

    def issues_of_industry(self, industry: str) -> list[dict]:
        return [i for i in self.summary.issues if i.get("industry") == industry]

    def fit(self, industry: str) -> dict:
        return {f["industry"]: f for f in self.saved["fits"]}[industry]

    def scores_of(self, industry: str) -> pd.DataFrame:
        s = self.saved["scores"]
        mine = ((s["level"] == "brand") & (s["parent"] == industry)) | (
            (s["level"] == "industry") & (s["code"] == industry))
        return s[mine].sort_values(["level", "code", "construct"]).reset_index(drop=True)


def make_store(survey: Path, tmp: Path, edit=None) -> tuple[Store, str]:
    """The survey loaded into a new SQLite store, its food file first changed by ``edit``
    (a function of the file's text frame, returning the new frame)."""
    folder = tmp / "survey"
    shutil.copytree(survey, folder)
    if edit is not None:
        path = folder / "responses" / str(YEAR) / "ncsi-food.csv"
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        edit(df).to_csv(path, index=False)
    url = f"sqlite:///{tmp / 'ncsi.db'}"
    store = Store(url)
    store.upgrade()
    load_survey_folder(store, folder)
    return store, url


def build(store: Store, url: str, **options) -> Build:
    saved: dict = {}
    real = store.save_draft

    def capture(year, **kwargs):
        saved.update(kwargs)
        return real(year, **kwargs)

    store.save_draft = capture
    try:
        summary = build_year(store, YEAR, **{**BOOT, **options})
    finally:
        del store.save_draft
    return Build(store, url, summary, saved)


def sick_rows(df: pd.DataFrame) -> pd.Series:
    return df["industry"] == SICK


def answered(df: pd.DataFrame, column: str) -> pd.Series:
    return df[column].isin([str(k) for k in range(1, 11)])


@pytest.fixture(scope="module")
def baseline(survey, tmp_path_factory) -> Build:
    store, url = make_store(survey, tmp_path_factory.mktemp("baseline"))
    b = build(store, url)
    assert set(b.summary.industries_ok) == {SICK, WELL} and not b.issues("industry_failed")
    return b


# ------------------------------------------------------------------------------------------------
# the checks every case makes
# ------------------------------------------------------------------------------------------------

def _walk(value, where="") -> list[str]:
    """Paths of every NaN / infinite float in a JSON-like value."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _walk(v, f"{where}.{k}")]
    if isinstance(value, (list, tuple)):
        return [p for k, v in enumerate(value) for p in _walk(v, f"{where}[{k}]")]
    if isinstance(value, (float, np.floating)) and not math.isfinite(float(value)):
        return [where]
    return []


def assert_nothing_undefined_published(b: Build) -> None:
    sc = b.saved["scores"]
    pub = sc[sc["publishable"].astype(bool)]
    bad = pub[~np.isfinite(pub[NUMBERS].astype(float)).all(axis=1)]
    assert bad.empty, bad[["level", "code", "construct"] + NUMBERS]
    hidden = sc[~sc["publishable"].astype(bool)]
    assert hidden["note"].notna().all(), "an unpublished score must say why"
    # no NaN slips into the fits or issues (the store would turn it into a silent null)
    assert _walk(b.saved["fits"], "fits") == []
    assert _walk(b.saved["issues"], "issues") == []
    for f in b.saved["fits"]:
        if f["status"] != "ok":
            continue
        r = f["result"]
        assert all(p["estimate"] is not None for p in r["paths"])
        assert all(o["weight"] is not None and o["loading"] is not None for o in r["outer"])
        for row in r["drivers"]["impacts"]:
            assert row["impact_5"] is not None, row
            if r.get("bootstrap", {}).get("used", True) and "bootstrap" in r:
                assert None not in (row["boot_se"], row["ci_low"], row["ci_high"]), row


def assert_unaffected(b: Build, base: Build, industry: str = WELL) -> None:
    """The other industry's scores, fit and issues are exactly those of the clean build (its
    own row's ``weight`` is its share of the sector, which the sick industry changes)."""
    cols = ["level", "code", "construct", "n", "publishable", "weight", "note"] + NUMBERS
    mine, clean = b.scores_of(industry)[cols], base.scores_of(industry)[cols]
    for frame in (mine, clean):
        frame.loc[frame["level"] == "industry", "weight"] = np.nan
    pd.testing.assert_frame_equal(mine, clean, check_exact=True)
    assert b.fit(industry) == base.fit(industry)
    assert b.issues_of_industry(industry) == base.issues_of_industry(industry)


def assert_bilingual(issue: dict, *words: str) -> None:
    """The issue's English message holds every word (names and consequence), its Chinese one
    exists and names the same things (names are not translated)."""
    assert issue["message"] and issue["message_zh"], issue
    for w in words:
        assert w in issue["message"], (w, issue["message"])
    names = [w for w in words if w.isascii() and any(c.isupper() for c in w) and " " not in w]
    for w in names:
        assert w in issue["message_zh"], (w, issue["message_zh"])


def cli_show(b: Build, monkeypatch) -> str:
    monkeypatch.setenv("NCSI_DATABASE_URL", b.url)
    out = runner.invoke(app, ["release", "show", "--year", str(YEAR), "--draft"])
    assert out.exit_code == 0, out.output
    assert "Traceback" not in out.output
    return out.output


def assert_cli_says(output: str, kind: str, *words: str, industry: str = SICK) -> None:
    """`ncsi release show --draft` has a line for the issue, and what it shows of the
    (shortened) message still holds the words — the consequence is not cut off."""
    lines = [ln for ln in output.splitlines() if ln.strip().startswith(f"[{kind}] {industry}:")
             and all(w in ln for w in words)]
    assert lines, (kind, words, [ln for ln in output.splitlines() if f"[{kind}]" in ln])


def assert_public_clean(b: Build) -> Query:
    """Publish, then every number the public query layer shows is finite."""
    publish_year(b.store, YEAR)
    q = Query(b.store)
    s = q.scores()
    pub = s[s["publishable"].astype(bool)]
    assert np.isfinite(pub[NUMBERS].astype(float)).all().all()
    constructs = sorted(set(s["construct"]))
    for industry in q.industries(YEAR):
        for construct in constructs:
            r = q.ranking(YEAR, industry, construct, lang="en")
            if r.empty:
                continue
            assert np.isfinite(r[str(YEAR)].astype(float)).all(), (industry, construct)
        t = q.trend(industry)
        assert np.isfinite(t[["index", "ci_low", "ci_high"]].astype(float)).all().all()
        d = q.drivers(YEAR, industry)
        for row in (d or {}).get("impacts", []):
            # an interval is absent where the release has no resamples, never None or NaN
            assert all(row[k] is not None for k in ("total_effect", "impact_5", "ci_low",
                                                      "ci_high") if k in row), row
            assert ("ci_low" in row) == ("interval" in d), row
    return q


def check_case(b: Build, base: Build, monkeypatch, kind: str, *cli_words: str,
               industry: str = SICK) -> None:
    """The common part of every case (see the module docstring)."""
    assert_nothing_undefined_published(b)
    assert_unaffected(b, base)
    assert_cli_says(cli_show(b, monkeypatch), kind, *cli_words, industry=industry)
    assert_public_clean(b)


def test_the_clean_build_is_clean(baseline):
    """The reference: nothing undefined, nothing failed; the healthy industry's brands below
    the floor are already reported with their consequence."""
    assert_nothing_undefined_published(baseline)
    kinds = {i["kind"] for i in baseline.summary.issues}
    assert kinds <= {"below_floor"}, baseline.summary.issues


# ------------------------------------------------------------------------------------------------
# (a) perfectly collinear indicators within a block
# ------------------------------------------------------------------------------------------------

def test_a_collinear_indicators_are_reported_and_the_fit_kept(survey, tmp_path, baseline,
                                                               monkeypatch):
    def copy_column(df):
        df.loc[sick_rows(df), "IMAG2"] = df.loc[sick_rows(df), "IMAG1"]
        return df

    b = build(*make_store(survey, tmp_path, copy_column))
    assert SICK in b.summary.industries_ok
    (issue,) = b.issues("collinear_indicators")
    assert issue["construct"] == "IMAG" and issue["indicators"] == ["IMAG1", "IMAG2"]
    assert_bilingual(issue, "IMAG1", "IMAG2", "IMAG", "perfectly collinear", "kept")
    # Mode A: both copies get the same weight — the index is defined
    w = b.fit(SICK)["result"]["index_weights"]["IMAG"]
    assert w["IMAG1"] == pytest.approx(w["IMAG2"]) and sum(w.values()) == pytest.approx(1)
    check_case(b, baseline, monkeypatch, "collinear_indicators", "IMAG", "kept")


# ------------------------------------------------------------------------------------------------
# (b) a block whose weights turn negative, under both policies
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("policy", ["equal", "drop"])
def test_b_negative_weight_follows_the_policy_and_says_so(survey, tmp_path, baseline,
                                                          monkeypatch, policy):
    def reverse_sat3(df):
        m = sick_rows(df) & answered(df, "SAT3")
        df.loc[m, "SAT3"] = (11 - df.loc[m, "SAT3"].astype(int)).astype(str)
        return df

    config = dataclasses.replace(IndexConfig.from_yaml(), nonpositive_weight_policy=policy)
    b = build(*make_store(survey, tmp_path, reverse_sat3), config=config)
    assert SICK in b.summary.industries_ok
    (issue,) = b.issues("nonpositive_weight")
    assert issue["construct"] == "SAT" and issue["indicators"] == ["SAT3"]
    assert issue["policy"] == issue["applied"] == policy and issue["weights"]["SAT3"] < 0
    used = b.fit(SICK)["result"]["index_weights"]["SAT"]
    assert used == pytest.approx(issue["weights_used"]) and sum(used.values()) == \
        pytest.approx(1)
    if policy == "equal":
        assert used == pytest.approx({"SAT1": 1 / 3, "SAT2": 1 / 3, "SAT3": 1 / 3})
        consequence = "used equal weights"
    else:
        assert used["SAT3"] == 0 and used["SAT1"] > 0 and used["SAT2"] > 0
        consequence = "dropped SAT3"
    assert_bilingual(issue, SICK, "SAT", "SAT3", consequence, f"policy '{policy}'")
    assert b.saved["settings"]["nonpositive_weight_policy"] == policy
    check_case(b, baseline, monkeypatch, "nonpositive_weight", "SAT3", consequence)


# ------------------------------------------------------------------------------------------------
# (c) non-convergence: of the industry's fit, and of its release resamples
# ------------------------------------------------------------------------------------------------

def _with_max_iter(max_iter: int, unit_code: str = SICK):
    """release.fit_unit, but ``unit_code`` is estimated with at most ``max_iter`` iterations
    (the fit and, through its settings, the release resamples)."""
    real = release.fit_unit

    def fit_unit(df, *, unit, **kw):
        if unit != unit_code:
            return real(df, unit=unit, **kw)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(release, "PLS", functools.partial(PLS, max_iter=max_iter))
            return real(df, unit=unit, **kw)
    return fit_unit


def test_c_an_industry_that_does_not_converge_is_left_out(survey, tmp_path, baseline,
                                                          monkeypatch):
    store, url = make_store(survey, tmp_path)
    monkeypatch.setattr(release, "fit_unit", _with_max_iter(2))
    b = build(store, url)
    assert b.summary.industries_failed.keys() == {SICK}
    (issue,) = b.issues("industry_failed")
    assert_bilingual(issue, SICK, "left out of this draft", "did not converge within 2",
                     "changed most")
    assert "未收敛" in issue["message_zh"]
    fit = b.fit(SICK)
    assert fit["status"] == "failed" and fit["converged"] is False
    assert not (b.saved["scores"]["code"] == SICK).any()
    assert not (b.saved["scores"]["parent"] == SICK).any()
    check_case(b, baseline, monkeypatch, "industry_failed", "left out", "did not converge")


def test_c_resamples_that_do_not_converge_are_counted_and_said(survey, tmp_path, baseline,
                                                               monkeypatch):
    """The fit converges in exactly max_iter iterations; many resamples need more."""
    k = baseline.fit(SICK)["iterations"]
    store, url = make_store(survey, tmp_path)
    monkeypatch.setattr(release, "fit_unit", _with_max_iter(k))
    b = build(store, url)
    assert SICK in b.summary.industries_ok
    boot = b.fit(SICK)["result"]["bootstrap"]
    assert 10 <= boot["n_valid"] < 0.95 * boot["n_boot"], boot
    (issue,) = b.issues("bootstrap_failures")
    assert issue["n_valid"] == boot["n_valid"]
    assert_bilingual(issue, SICK, f"{boot['n_failed']} of 50", "did not converge", "left out",
                     f"come from the other {boot['n_valid']}")
    check_case(b, baseline, monkeypatch, "bootstrap_failures", "did not converge")


def test_c_too_few_valid_resamples_fall_back_to_the_formula(survey, tmp_path, baseline,
                                                            monkeypatch):
    """Fewer than 10 valid resamples give no bootstrap SE: the industry's SEs (and its
    brands', sector's and nation's) come from the fixed-weight formula, and the draft says
    so — never a silent empty SE on a published score."""
    store, url = make_store(survey, tmp_path)
    formula = build(store, url, n_boot=0).scores_of(SICK)
    real = release.bootstrap_brands
    sick = entropy_for(SEED, YEAR, SICK)

    def mostly_failing(*args, **kw):
        draws = real(*args, **kw)
        if kw["entropy"] == sick:
            draws.status[5:] = plscore.NOT_CONVERGED
            for arr in (draws.draws, draws.paths, draws.total, draws.score_sd):
                arr[5:] = np.nan
        return draws

    monkeypatch.setattr(release, "bootstrap_brands", mostly_failing)
    b = build(store, url)
    boot = b.fit(SICK)["result"]["bootstrap"]
    assert boot["n_valid"] == 5 and boot["used"] is False
    (issue,) = b.issues("bootstrap_failures")
    assert_bilingual(issue, SICK, "45 of 50", "fewer than 10", "fixed-weight formula")
    mine = b.scores_of(SICK)
    pd.testing.assert_frame_equal(mine[NUMBERS], formula[NUMBERS], check_exact=True)
    check_case(b, baseline, monkeypatch, "bootstrap_failures", "45 of 50")


# ------------------------------------------------------------------------------------------------
# (d) a brand below the floor, (e) an industry with one brand
# ------------------------------------------------------------------------------------------------

def test_d_a_brand_below_the_floor_is_nm_and_still_counts(survey, tmp_path, baseline,
                                                          monkeypatch):
    def shrink(df):
        keep = (df["brand"] != "milk_b01") | (df.groupby("brand").cumcount() < 20)
        return df[keep]

    b = build(*make_store(survey, tmp_path, shrink))
    (issue,) = [i for i in b.issues("below_floor") if i["brand"] == "milk_b01"]
    n = issue["n"]
    assert 0 < n < 100
    assert_bilingual(issue, SICK, "milk_b01", "below the floor of 100", "not published (NM)",
                     "still counts")
    assert re.search(rf"n = (\d+–)?{n} valid interviews", issue["message"]), issue["message"]
    rows = b.scores_of(SICK)
    mine = rows[rows["code"] == "milk_b01"]
    assert not mine["publishable"].any() and mine["note"].str.contains("below the floor").all()
    # it counts in the industry with the weight the issue states
    assert mine["weight"].to_numpy() == pytest.approx(issue["weight"])
    assert f"{issue['weight']:.1%}" in issue["message"]
    check_case(b, baseline, monkeypatch, "below_floor", "milk_b01", "NM", "still counts")
    q = Query(b.store)
    assert "milk_b01" not in set(q.ranking(YEAR, SICK, lang="en")["code"])


@pytest.mark.parametrize("rows", [None, 60])
def test_e_an_industry_with_one_brand(survey, tmp_path, baseline, monkeypatch, rows):
    def one_brand(df):
        keep = (df["industry"] != SICK) | (df["brand"] == "milk_b02")
        if rows:
            keep &= (df["brand"] != "milk_b02") | (df.groupby("brand").cumcount() < rows)
        return df[keep]

    b = build(*make_store(survey, tmp_path, one_brand))
    assert SICK in b.summary.industries_ok
    (issue,) = b.issues("single_brand")
    assert issue["brand"] == "milk_b02"
    assert_bilingual(issue, SICK, "only one brand (milk_b02)", "weight 100%")
    s = b.scores_of(SICK)
    ind = s[s["level"] == "industry"].set_index("construct")["index"]
    brand = s[s["level"] == "brand"].set_index("construct")["index"]
    pd.testing.assert_series_equal(ind, brand, check_exact=True)
    if rows:                 # the industry index is the NM brand's own score: the draft says it
        assert "discloses" in issue["message"] and b.issues("below_floor")
    else:
        assert "discloses" not in issue["message"]
    check_case(b, baseline, monkeypatch, "single_brand", "only one brand")


# ------------------------------------------------------------------------------------------------
# (f) a constant item, (g) an item nobody answered — in one industry only
# ------------------------------------------------------------------------------------------------

def test_f_a_constant_item_leaves_the_industry_out(survey, tmp_path, baseline, monkeypatch):
    def constant(df):
        df.loc[sick_rows(df) & (df["IMAG2"] != ""), "IMAG2"] = "7"
        return df

    b = build(*make_store(survey, tmp_path, constant))
    assert b.summary.industries_failed.keys() == {SICK}
    (issue,) = b.issues("industry_failed")
    assert_bilingual(issue, SICK, "left out of this draft", "IMAG2", "IMAG", "same value (7)")
    assert "未纳入本草稿" in issue["message_zh"] and "方差为零" in issue["message_zh"]
    check_case(b, baseline, monkeypatch, "industry_failed", "left out", "IMAG2")


def test_f_an_item_constant_in_a_resample_leaves_that_resample_out(survey, tmp_path, baseline,
                                                                  monkeypatch):
    """IMAG2 answered 7 by every complete respondent but one: the fit is defined, but every
    resample that misses that respondent has a constant IMAG2 — its variance is rounding
    noise, and w/s would make IMAG2 most of IMAG's index. Those resamples are degenerate:
    left out and counted, as the fit refuses a constant item."""
    items = [c for c in pd.read_csv(survey / "responses" / str(YEAR) / "ncsi-food.csv",
                                    nrows=0).columns if c[:-1].isupper() and c[-1].isdigit()]

    def nearly_constant(df):
        complete = sick_rows(df) & np.logical_and.reduce([answered(df, c) for c in items])
        odd = df.index[complete][0]
        df.loc[sick_rows(df) & (df["IMAG2"] != ""), "IMAG2"] = "7"
        df.loc[odd, "IMAG2"] = "3"
        return df

    b = build(*make_store(survey, tmp_path, nearly_constant))
    assert SICK in b.summary.industries_ok
    boot = b.fit(SICK)["result"]["bootstrap"]
    assert boot["n_valid"] < boot["n_boot"]
    (issue,) = b.issues("bootstrap_failures")
    assert_bilingual(issue, SICK, "degenerate", "item constant in the resample", "left out")
    check_case(b, baseline, monkeypatch, "bootstrap_failures", "degenerate")


def test_g_an_item_nobody_answered_leaves_the_industry_out(survey, tmp_path, baseline,
                                                           monkeypatch):
    def unanswered(df):
        m = sick_rows(df)
        df.loc[m, "SAFE3"] = np.where(np.arange(m.sum()) % 2 == 0, "", "99")  # blank, don't know
        return df

    b = build(*make_store(survey, tmp_path, unanswered))
    assert b.summary.industries_failed.keys() == {SICK}
    (issue,) = b.issues("industry_failed")
    assert_bilingual(issue, SICK, "left out of this draft", "SAFE3", "SAFE",
                     "every row is missing")
    assert "全部缺失" in issue["message_zh"]
    check_case(b, baseline, monkeypatch, "industry_failed", "left out", "SAFE3")


# ------------------------------------------------------------------------------------------------
# (h) a singular inner model: two constructs' scores perfectly collinear
# ------------------------------------------------------------------------------------------------

def test_h_collinear_construct_scores_leave_the_industry_out(survey, tmp_path, baseline,
                                                             monkeypatch):
    """Every QUAL and VAL item a copy of QUAL1: QUAL's and VAL's scores are one variable, so
    SAT's regression on its predecessors is not defined."""
    def one_variable(df):
        m = sick_rows(df)
        for c in ("QUAL2", "QUAL3", "QUAL4", "VAL1", "VAL2"):
            df.loc[m, c] = df.loc[m, "QUAL1"]
        return df

    b = build(*make_store(survey, tmp_path, one_variable))
    assert b.summary.industries_failed.keys() == {SICK}
    (issue,) = b.issues("industry_failed")
    assert_bilingual(issue, SICK, "left out of this draft", "scores of QUAL and VAL are "
                     "perfectly collinear", "QUAL–VAL r = 1.0000", "SAT")
    assert "QUAL–VAL" in issue["message_zh"]
    check_case(b, baseline, monkeypatch, "industry_failed", "left out", "QUAL and VAL",
               "collinear")


# ------------------------------------------------------------------------------------------------
# (i) a brand none of whose respondents answered a construct (e.g. routed past COMP)
# ------------------------------------------------------------------------------------------------

def test_i_a_brand_without_answers_to_a_construct(survey, tmp_path, baseline, monkeypatch):
    def skip_comp(df):
        df.loc[df["brand"] == "milk_b02", ["COMP1", "COMP2"]] = ""
        return df

    b = build(*make_store(survey, tmp_path, skip_comp))       # used to crash (KeyError)
    assert SICK in b.summary.industries_ok
    (issue,) = b.issues("no_answers")
    assert issue["brand"] == "milk_b02" and issue["construct"] == "COMP"
    assert_bilingual(issue, SICK, "milk_b02", "COMP", "no COMP index (NM)", "other 3 brand(s)")
    s = b.scores_of(SICK)
    comp = s[s["construct"] == "COMP"].set_index(["level", "code"])
    row = comp.loc[("brand", "milk_b02")]
    assert not row["publishable"] and "answered any COMP item" in row["note"]
    others = comp.loc["brand"].drop("milk_b02")
    assert others["weight"].sum() == pytest.approx(1.0)
    assert comp.loc[("industry", SICK), "index"] == pytest.approx(
        float((others["weight"] * others["index"]).sum()), abs=1e-12)
    check_case(b, baseline, monkeypatch, "no_answers", "milk_b02", "NM")


# ------------------------------------------------------------------------------------------------
# (f') an item constant in the PREVIOUS year: the comparability test cannot be made
# ------------------------------------------------------------------------------------------------

def test_f_an_item_constant_last_year_makes_the_trend_untestable(tmp_path, baseline,
                                                                monkeypatch):
    """liquid_milk's IMAG2 was constant in 2024 (that year it was left out); in 2025 its model
    is fine. The invariance test needs the model on the 2024 complete cases: it cannot be
    estimated, so the trend is flagged 'not tested', naming the item — the build used to
    crash (LinAlgError) or compare garbage weights."""
    folder = tmp_path / "two-years"
    generate(5, folder, years=[YEAR - 1, YEAR], industries=[SICK, WELL], scale=0.6)
    path = folder / "responses" / str(YEAR - 1) / "ncsi-food.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.loc[sick_rows(df) & (df["IMAG2"] != ""), "IMAG2"] = "7"
    df.to_csv(path, index=False)
    url = f"sqlite:///{tmp_path / 'ncsi.db'}"
    store = Store(url)
    store.upgrade()
    load_survey_folder(store, folder)
    b = build(store, url, permutations=20)
    assert set(b.summary.industries_ok) == {SICK, WELL}
    (issue,) = b.issues("invariance")
    assert_bilingual(issue, SICK, "not comparable", "not tested", "IMAG2 constant in 2024")
    inv = b.fit(SICK)["result"]["invariance"]
    assert inv["ok"] is False and inv["constructs"] == [] and "IMAG2" in inv["reason_zh"]
    s = b.scores_of(SICK)
    assert s["flags"].map(lambda f: f["invariance"]["ok"] is False).all()
    # the healthy industry is tested as usual and its 2025 numbers are the clean build's
    well = b.fit(WELL)["result"]["invariance"]
    assert well["constructs"] and well["permutations"] == 20
    cols = ["level", "code", "construct", "n", "publishable"] + NUMBERS
    pd.testing.assert_frame_equal(b.scores_of(WELL)[cols], baseline.scores_of(WELL)[cols],
                                  check_exact=True)
    assert_nothing_undefined_published(b)
    assert_cli_says(cli_show(b, monkeypatch), "invariance", "not tested", "IMAG2")
    assert_public_clean(b)
