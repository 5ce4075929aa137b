"""Building a year's draft: failures stay inside their industry, non-positive weights are reported,
aggregation follows the configured weights, and nothing is published without `publish`. The
module runs twice: on an SQLite store and on a PostgreSQL one (tests/pg.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ncsi.errors import ReleaseError, StoreError
from ncsi.ingest import ingest_file
from ncsi.instruments import list_questionnaires, load_consumption_weights
from ncsi.registry import read_brands_file, read_revenue_file
from ncsi.release import build_year, publish_year
from ncsi.store import Store
from tests.pg import BACKENDS, scoped_postgres_url

YEAR = 2025


@pytest.fixture(scope="module", params=BACKENDS)
def doctored_store(request, small_survey, tmp_path_factory):
    """The small survey's 2025 food file with two defects that only the estimation can see:
    liquid_milk's SAT3 answered on a reversed scale, and edible_oil's IMAG2 constant within that
    industry (it varies across the file, so ingest accepts it)."""
    tmp = tmp_path_factory.mktemp("release")
    src = small_survey / "responses" / str(YEAR) / "ncsi-food.csv"
    df = pd.read_csv(src, dtype=str, keep_default_na=False)
    milk = (df["industry"] == "liquid_milk") & df["SAT3"].isin([str(k) for k in range(1, 11)])
    df.loc[milk, "SAT3"] = (11 - df.loc[milk, "SAT3"].astype(int)).astype(str)
    oil = (df["industry"] == "edible_oil") & (df["IMAG2"] != "")
    df.loc[oil, "IMAG2"] = "7"
    path = tmp / "ncsi-food.csv"
    df.to_csv(path, index=False)
    url = (scoped_postgres_url(request) if request.param == "postgresql"
           else f"sqlite:///{tmp / 'ncsi.db'}")
    store = Store(url)
    request.addfinalizer(store.close)
    store.upgrade()
    for q in list_questionnaires():
        store.register_survey(q)
    store.load_brands(read_brands_file(small_survey / "brands.csv"), source="brands.csv")
    store.load_revenue(read_revenue_file(small_survey / "revenue.csv"), source="revenue.csv")
    ingest_file(path, "ncsi-food", YEAR, store)
    for other in ("ncsi-apparel", "ncsi-construction"):
        ingest_file(small_survey / "responses" / str(YEAR) / f"{other}.csv", other, YEAR, store)
    return store


@pytest.fixture(scope="module")
def summary(doctored_store):
    return build_year(doctored_store, YEAR)


def test_failed_industry_is_left_out_with_its_reason(summary, doctored_store):
    assert set(summary.industries_failed) == {"edible_oil"}
    reason = summary.industries_failed["edible_oil"]
    assert "IMAG2" in reason
    assert {"liquid_milk", "sportswear", "residential"} <= set(summary.industries_ok)
    draft = doctored_store.release(YEAR, status="draft")
    kinds = {(i["kind"], i.get("industry")) for i in draft["issues"]}
    assert ("industry_failed", "edible_oil") in kinds
    assert not (summary.scores["code"] == "edible_oil").any()
    fits = {f["industry"]: f for f in doctored_store.release_fits(draft["id"])}
    assert fits["edible_oil"]["status"] == "failed" and "IMAG2" in fits["edible_oil"]["message"]


def test_nonpositive_weight_is_reported_and_policy_applied(summary, doctored_store):
    issues = [i for i in summary.issues if i["kind"] == "nonpositive_weight"]
    assert [(i["industry"], i["construct"]) for i in issues] == [("liquid_milk", "SAT")]
    assert "SAT3" in issues[0]["indicators"] and issues[0]["policy"] == "equal"
    draft = doctored_store.release(YEAR, status="draft")
    fit = {f["industry"]: f for f in doctored_store.release_fits(draft["id"])}["liquid_milk"]
    used = fit["result"]["index_weights"]["SAT"]
    assert used == pytest.approx({"SAT1": 1 / 3, "SAT2": 1 / 3, "SAT3": 1 / 3})


def test_aggregation_arithmetic(summary):
    s = summary.scores
    sat = s[s["construct"] == "SAT"]
    # industry = Σ w_b · index_b with the stored (normalised) brand weights
    for ind in ("liquid_milk", "sportswear", "residential"):
        brands = sat[(sat["level"] == "brand") & (sat["parent"] == ind)]
        assert brands["weight"].sum() == pytest.approx(1.0)
        expected = float((brands["weight"] * brands["index"]).sum())
        got = float(sat[(sat["level"] == "industry") & (sat["code"] == ind)]["index"].iloc[0])
        assert got == pytest.approx(expected, abs=1e-12)
    # nation = consumption-weighted sectors, normalised over the sectors measured
    sectors = sat[sat["level"] == "sector"].set_index("code")
    cw, _, _ = load_consumption_weights(YEAR)
    w = pd.Series({c: cw[c] for c in sectors.index})
    nation = float(sat[sat["level"] == "nation"]["index"].iloc[0])
    assert nation == pytest.approx(float((w / w.sum() * sectors["index"]).sum()), abs=1e-12)
    assert sectors["weight"].to_numpy() == pytest.approx((w / w.sum()).to_numpy())
    # every published number is finite
    shown = s[s["publishable"].astype(bool)]
    assert np.isfinite(shown["index"]).all() and np.isfinite(shown["se"]).all()


def test_floor_marks_brands_unpublishable(summary):
    b = summary.scores[summary.scores["level"] == "brand"]
    assert (b["publishable"] == (b["n"] >= 100)).all()
    assert b.loc[~b["publishable"], "note"].str.contains("below the floor").all()


def test_draft_is_not_published_and_publish_freezes(doctored_store, summary):
    assert doctored_store.release(YEAR, status="published") is None
    assert doctored_store.published_scores().empty
    publish_year(doctored_store, YEAR)
    with pytest.raises(ReleaseError, match="already published"):
        build_year(doctored_store, YEAR)
    with pytest.raises(StoreError):
        publish_year(doctored_store, YEAR)


def test_year_without_responses(doctored_store):
    with pytest.raises(ReleaseError, match="ncsi ingest"):
        build_year(doctored_store, 2019)
