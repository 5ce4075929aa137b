"""Maturity results and grades in the yearly release, end to end on generated data."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from ncsi.cli import app


@pytest.fixture(scope="module")
def maturity_store(tmp_path_factory):
    from ncsi.demo import load_survey_folder
    from ncsi.demo_data import generate
    from ncsi.maturity_demo import generate as generate_maturity
    from ncsi.release import build_year
    from ncsi.store import Store
    out = tmp_path_factory.mktemp("maturity")
    generate(31, out, years=[2025], industries=["liquid_milk", "edible_oil"], scale=0.6)
    generate_maturity(31, out, waves=(2023, 2025), n=600, brands_csv=out / "brands.csv")
    store = Store(f"sqlite:///{out / 'db.sqlite'}")
    store.upgrade()
    assert load_survey_folder(store, out) == [2023, 2025]
    for year in (2023, 2025):
        build_year(store, year, n_boot=100, seed=1, permutations=0)
        store.publish(year)
    return store, out


def test_a_maturity_only_year_is_a_release(maturity_store):
    store, _ = maturity_store
    rel = store.release(2023)
    assert rel["maturity"]["year"] == 2023 and rel["grades"] is None
    assert store.release_scores(rel["id"]).empty


def test_the_release_holds_the_wave_results(maturity_store):
    store, out = maturity_store
    m = store.release(2025)["maturity"]
    assert m["n"] == 600 and len(m["enterprises"]) == 600
    assert set(m["subgroups"]) == {"region", "size", "industry"}
    assert m["change"]["comparable"] and m["change"]["previous_year"] == 2023
    assert abs(sum(m["level_shares"].values()) - 1) < 1e-9
    assert m["structure"]["cfa"]["converged"]
    assert len(m["structure"]["reliability"]) == 7
    # recovery of the generator's true size-class indices (design-weighted, 90% CIs)
    truth = pd.read_csv(out / "truth" / "maturity_indices.csv")
    t = truth[(truth["year"] == 2025) & (truth["dimension"] == "size")].set_index("group")
    for r in m["subgroups"]["size"]:
        assert abs(r["index"] - t.loc[r["group"], "true_index"]) < 4 * r["se"], r
    nat = truth[(truth["year"] == 2025) & (truth["dimension"] == "national")]["true_index"]
    assert abs(m["national"]["index"] - float(nat.iloc[0])) < 4 * m["national"]["se"]
    # the size differences are detected
    assert m["tests"]["size"]["p"] < 0.01


def test_grades_are_stored_with_the_release_and_explained(maturity_store, monkeypatch):
    store, _ = maturity_store
    g = store.release(2025)["grades"]
    assert g["rulebook_version"] == "1" and g["maturity_year"] == 2025
    assert sum(g["counts"].values()) == 600
    for r in g["results"]:
        assert r["status"] in ("graded", "not graded") and r["explanation"]
        if r["status"] == "graded":
            assert r["grade"] in ("A", "AA", "AAA")
    # satisfaction is compared as published (one decimal)
    with_sat = [r for r in g["results"] if r["explanation"]
                and any(c.get("input") == "satisfaction" and c.get("value") is not None
                        for e in r["explanation"] for c in e.get("conditions", []))]
    for r in with_sat[:20]:
        for e in r["explanation"]:
            for c in e.get("conditions", []):
                if c.get("input") == "satisfaction" and c.get("value") is not None:
                    assert round(c["value"], 1) == c["value"]
    monkeypatch.setenv("NCSI_DATABASE_URL", str(store.engine.url))
    runner = CliRunner()
    one = g["results"][0]["enterprise_id"]
    r = runner.invoke(app, ["grade", "--year", "2025", "--enterprise", one])
    assert r.exit_code == 0, r.output
    assert one in r.output and "rulebook v1" in r.output and "reason" in r.output
    r = runner.invoke(app, ["maturity", "--wave", "2025", "--lang", "en", "--json",
                            str(store.engine.url.database) + ".json"])
    assert r.exit_code == 0, r.output
    assert "Wald" in r.output and "CFA" in r.output and "α" in r.output
    assert json.loads(open(str(store.engine.url.database) + ".json").read())["year"] == 2025
    r = runner.invoke(app, ["grade", "--year", "2024"])
    assert r.exit_code == 1 and "ncsi build" in r.output


def test_published_maturity_cannot_be_changed(maturity_store):
    from sqlalchemy import text
    store, _ = maturity_store
    with pytest.raises(Exception):
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE releases SET maturity = NULL WHERE year = 2025"))
    assert store.release(2025)["maturity"] is not None


def test_true_size_differences_are_recovered(maturity_store):
    store, out = maturity_store
    m = store.release(2025)["maturity"]
    est = {r["group"]: r for r in m["subgroups"]["size"]}
    truth = pd.read_csv(out / "truth" / "maturity_size_differences.csv")
    t = truth[truth["year"] == 2025]
    assert len(t) >= 2
    for row in t.itertuples():
        a, b = est[row.size_a], est[row.size_b]
        diff = a["index"] - b["index"]
        se = (a["se"] ** 2 + b["se"] ** 2) ** 0.5
        assert abs(diff - row.true_difference) < 4 * se, (row, diff, se)


def test_change_only_on_the_same_instrument_version():
    from ncsi.maturity_release import _changes
    cur = {"year": 2025, "questionnaire_version": "2025.1",
           "national": {"index": 56.0, "se": 0.4}, "subgroups": {}}
    same = {"year": 2023, "questionnaire_version": "2025.1",
            "national": {"index": 53.9, "se": 0.4}, "subgroups": {}}
    ch = _changes(cur, same, 0.90)
    # worked case: Δ = 2.1, SE = √(0.4² + 0.4²) = 0.566, z = 3.71 > 1.645 → significant
    assert ch["comparable"] and ch["national"]["points"] == pytest.approx(2.1)
    assert ch["national"]["significant"] is True
    other = dict(same, questionnaire_version="2023.1")
    ch = _changes(cur, other, 0.90)
    assert not ch["comparable"] and "questionnaire version changed" in ch["reason"]


def test_each_enterprise_row_holds_its_category_scores(maturity_store):
    """The per-enterprise category scores (the enterprise page's radar) follow methodology §7:
    a category's score is (mean answered level − 1) / 4 × its points, and they add up to the
    enterprise's total — recomputed here from the stored answers, not from the release code."""
    from ncsi.maturity_instrument import load_maturity_questionnaire
    store, _ = maturity_store
    q = load_maturity_questionnaire()
    m = store.release(2025)["maturity"]
    answers = store.maturity_responses(2025).set_index("enterprise_id")
    rows = {r["enterprise_id"]: r for r in m["enterprises"]}
    points = {c.code: float(c.points) for c in q.categories}
    checked = 0
    for eid in list(rows)[:50]:
        r = rows[eid]
        assert set(r["categories"]) == {c.code for c in q.categories}
        expected = {}
        for c in q.categories:
            codes = [i.code if hasattr(i, "code") else i for i in c.items]
            levels = pd.to_numeric(answers.loc[eid, codes], errors="coerce").dropna()
            expected[c.code] = (levels.mean() - 1) / 4 * c.points if len(levels) else None
        for code, v in expected.items():
            if v is None:
                assert r["categories"][code] is None
            else:
                assert r["categories"][code] == pytest.approx(v, abs=1e-9)
                assert 0 <= r["categories"][code] <= points[code] + 1e-9
        if r["total"] is not None:
            assert sum(r["categories"].values()) == pytest.approx(r["total"], abs=1e-9)
            checked += 1
    assert checked >= 40
