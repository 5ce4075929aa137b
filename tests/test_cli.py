"""The CLI end to end on a small generated survey, through a subprocess-free typer runner and a
real SQLite store; and the pipeline's indices against the generator's known true indices."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ncsi.cli import app
from ncsi.store import Store

from .conftest import SMALL_YEARS

runner = CliRunner()
DATA = Path(__file__).parent / "data"


def run(*args, env=None):
    result = runner.invoke(app, [str(a) for a in args], env=env)
    return result


@pytest.fixture()
def cli_env(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("NCSI_DATABASE_URL", url)
    return url


def test_cli_end_to_end(small_survey, cli_env):
    r = run("brands", small_survey / "brands.csv")
    assert r.exit_code == 0, r.output
    r = run("revenue", small_survey / "revenue.csv")
    assert r.exit_code == 0, r.output
    year = SMALL_YEARS[-1]
    files = sorted((small_survey / "responses" / str(year)).glob("*.csv"))
    for f in files:
        r = run("ingest", f, "--survey", f.stem, "--year", year)
        assert r.exit_code == 0, r.output
        assert "rows stored" in r.output
    # publishing before building is refused with the command to run
    r = run("publish", "--year", year)
    assert r.exit_code == 1 and "ncsi build --year" in r.output
    r = run("build", "--year", year)
    assert r.exit_code == 0, r.output
    assert "draft release" in r.output and "0 failed" in r.output
    # drafts are never shown
    r = run("rankings", "--year", year, "--industry", "liquid_milk", "--format", "json")
    assert r.exit_code == 1 and f"no published release for {year}" in r.output
    r = run("publish", "--year", year)
    assert r.exit_code == 0, r.output
    r = run("rankings", "--year", year, "--industry", "liquid_milk", "--format", "json")
    rows = json.loads(r.stdout)[0]["rows"]
    levels = [x["level"] for x in rows]
    assert levels.count("industry") == 1 and levels.count("brand") >= 1
    scores = [x[str(year)] for x in rows if x[str(year)] is not None]
    assert scores == sorted(scores, reverse=True)
    r = run("rankings", "--year", year, "--format", "csv", "--lang", "en")
    assert r.exit_code == 0
    table = pd.read_csv(__import__("io").StringIO(r.stdout))
    assert set(table["industry"]) == {"liquid_milk", "edible_oil", "sportswear", "residential"}
    assert set(table["band"].dropna()) <= {"very satisfied", "satisfied", "fairly satisfied",
                                           "dissatisfied"}
    r = run("rankings", "--year", year, "--industry", "liquid_milk")
    assert r.exit_code == 0 and "液态奶" in r.output
    r = run("rankings", "--year", year, "--industry", "nosuch")
    assert r.exit_code == 1 and "unknown industry 'nosuch'" in r.output
    r = run("rankings", "--year", year, "--industry", "bottled_water")
    assert r.exit_code == 1 and "no published index" in r.output
    # the published year is closed: re-ingest and re-build are refused, store unchanged
    store = Store(cli_env)
    before = store.snapshot()
    r = run("ingest", files[0], "--survey", files[0].stem, "--year", year, "--replace")
    assert r.exit_code == 1 and "published" in r.output
    r = run("build", "--year", year)
    assert r.exit_code == 1 and "published" in r.output
    assert store.snapshot() == before


def test_bad_file_leaves_store_unchanged(small_survey, cli_env, tmp_path):
    assert run("brands", small_survey / "brands.csv").exit_code == 0
    store = Store(cli_env)
    before = store.snapshot()
    src = sorted((small_survey / "responses" / str(SMALL_YEARS[0])).glob("*.csv"))[0]
    df = pd.read_csv(src, dtype=str, keep_default_na=False)
    df.loc[5, "SAT2"] = "11"
    bad = tmp_path / "bad.csv"
    df.to_csv(bad, index=False)
    r = run("ingest", bad, "--survey", src.stem, "--year", SMALL_YEARS[0])
    assert r.exit_code == 1
    assert "row 7" in r.output and "SAT2" in r.output
    assert "Traceback" not in r.output
    assert store.snapshot() == before


def test_fit_json_reproduces_r_plspm(tmp_path):
    # R plspm 0.5.x on satisfaction.csv, centroid scheme, scaled = FALSE (tests/data/PROVENANCE.md)
    model = tmp_path / "sat.lav"
    model.write_text(
        "IMAG =~ imag1 + imag2 + imag3 + imag4 + imag5\n"
        "EXPE =~ expe1 + expe2 + expe3 + expe4 + expe5\n"
        "QUAL =~ qual1 + qual2 + qual3 + qual4 + qual5\n"
        "VAL =~ val1 + val2 + val3 + val4\nSAT =~ sat1 + sat2 + sat3 + sat4\n"
        "LOY =~ loy1 + loy2 + loy3 + loy4\n"
        "EXPE ~ IMAG\nQUAL ~ EXPE\nVAL ~ EXPE + QUAL\nSAT ~ IMAG + EXPE + QUAL + VAL\n"
        "LOY ~ IMAG + SAT\n", encoding="utf-8")
    out = tmp_path / "out.json"
    r = run("fit", DATA / "satisfaction.csv", "--model", model, "--scheme", "centroid",
            "--no-scale", "--scale-min", 0, "--scale-max", 10, "--json", out)
    assert r.exit_code == 0, r.output
    res = json.loads(out.read_text(encoding="utf-8"))
    assert set(res) >= {"n", "converged", "iterations", "settings", "paths", "outer", "r2",
                        "indices"}
    assert res["n"] == 250 and res["converged"] is True
    ref = pd.read_csv(DATA / "rplspm" / "satisfaction.inner-summary.csv", index_col=0)
    for construct, r2 in res["r2"].items():
        assert abs(r2 - ref.loc[construct, "r_squared"]) < 1e-5
    ref_outer = pd.read_csv(DATA / "rplspm" / "satisfaction.outer-model.csv").set_index("name")
    for row in res["outer"]:
        assert abs(row["loading"] - ref_outer.loc[row["indicator"], "loading"]) < 1e-5
    # the 0–100 index of each construct is a weighted mean of its items on the 0–10 scale:
    # it must lie between the smallest and the largest item mean (×10)
    data = pd.read_csv(DATA / "satisfaction.csv", index_col=0)
    for construct, entry in res["indices"].items():
        value = entry["estimate"]
        items = [o["indicator"] for o in res["outer"] if o["construct"] == construct]
        means = data[items].mean() * 10
        assert means.min() - 1e-9 <= value <= means.max() + 1e-9


def test_fit_errors_are_one_line(tmp_path):
    model = tmp_path / "m.lav"
    model.write_text("A =~ a1 + a2\nB =~ b1 + b2\nB ~ C\n", encoding="utf-8")
    r = run("fit", DATA / "satisfaction.csv", "--model", model, "--json", tmp_path / "o.json")
    assert r.exit_code == 1
    assert "m.lav, line 3" in r.output and "unknown construct 'C'" in r.output
    assert "Traceback" not in r.output
    model.write_text("IMAG =~ imag1 + imag2\nSAT =~ sat1 + nosuch\nSAT ~ IMAG\n", encoding="utf-8")
    r = run("fit", DATA / "satisfaction.csv", "--model", model, "--json", tmp_path / "o.json")
    assert r.exit_code == 1 and "nosuch" in r.output and "SAT" in r.output
    # 0–10 data on the default 1–10 scale is refused, naming the column and the fix
    model.write_text("IMAG =~ imag1 + imag2\nSAT =~ sat1 + sat2\nSAT ~ IMAG\n", encoding="utf-8")
    r = run("fit", DATA / "satisfaction.csv", "--model", model, "--json", tmp_path / "o.json")
    assert r.exit_code == 1 and "--scale-min" in r.output


def test_published_indices_recover_the_true_indices(published_store, small_survey):
    """Known truth: the generator writes each brand's population index (truth/brand_indices.csv).

    The published brand indices must be unbiased for it and their 90% CIs must cover it about
    90% of the time. On the full demo (840 brand-years × constructs) coverage is 0.87–0.91 per
    construct; here about 300 brand-year-construct cells, correlated within respondents, so the
    bound 0.80 is > 4 binomial SDs (√(0.09/300) ≈ 0.017) below the nominal 0.90 — a real
    failure of the SEs or a bias of a point or more breaks it.
    """
    sc = published_store.published_scores(level="brand")
    sc = sc[sc["publishable"].astype(bool)]
    truth = pd.read_csv(small_survey / "truth" / "brand_indices.csv")
    m = sc.merge(truth, left_on=["year", "code", "construct"],
                 right_on=["year", "brand", "construct"], validate="one_to_one")
    assert len(m) == len(sc) and len(m) > 150
    err = m["index"] - m["true_index"]
    coverage = ((m["ci_low"] <= m["true_index"]) & (m["true_index"] <= m["ci_high"])).mean()
    assert 0.80 <= coverage <= 0.97, coverage
    # unbiased: mean error within 4 standard errors of zero, and below half a point
    assert abs(err.mean()) < 4 * err.std(ddof=1) / np.sqrt(len(err))
    assert abs(err.mean()) < 0.5
    # each error is of the size the SE says (RMSE within 25% of the mean SE)
    assert abs(np.sqrt((err ** 2).mean()) / m["se"].mean() - 1) < 0.25


def test_demo_command_without_serving(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    monkeypatch.setenv("NCSI_DATABASE_URL", url)
    r = run("demo", "--no-serve", "--scale", "0.15", "--out", tmp_path / "demo")
    assert r.exit_code == 0, r.output
    assert "demo ready" in r.output
    store = Store(url)
    rel = store.releases()
    # eight satisfaction years 2018–2025 plus the maturity-only wave of 2017
    assert sorted(rel.loc[rel["status"] == "published", "year"]) == list(range(2017, 2026))
    assert [y for y in range(2017, 2026) if store.release(y)["maturity"]] == [
        2017, 2019, 2021, 2023, 2025]
    assert store.release(2025)["grades"]["results"]
    # a store that already holds data is never touched by the demo
    before = Store(url).snapshot()
    r = run("demo", "--no-serve", "--scale", "0.15", "--out", tmp_path / "demo2")
    assert r.exit_code == 1 and "empty store" in r.output
    assert Store(url).snapshot() == before


def test_demo_data_command_is_deterministic_and_labelled(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        r = run("demo-data", "--seed", 7, "--out", out, "--scale", 0.1)
        assert r.exit_code == 0, r.output
        assert "DEMO DATA" in r.output
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files and files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    assert (a / "README.txt").read_text(encoding="utf-8").startswith("DEMO DATA")
    assert (a / "truth" / "brand_indices.csv").exists()
    assert (a / "truth" / "parameters.json").exists()


@pytest.mark.parametrize("cell, fragment", [("abc", "'abc' is not a number"),
                                            ("inf", "'inf' is not a number")])
def test_fit_names_the_bad_cell(tmp_path, cell, fragment):
    data = pd.read_csv(DATA / "satisfaction.csv", index_col=0)
    data = data.astype(object)
    data.iloc[4, data.columns.get_loc("sat2")] = cell      # spreadsheet row 6
    path = tmp_path / "d.csv"
    data.to_csv(path)                                       # R-style unnamed row-label column
    model = tmp_path / "m.lav"
    model.write_text("IMAG =~ imag1 + imag2\nSAT =~ sat1 + sat2\nSAT ~ IMAG\n", encoding="utf-8")
    r = run("fit", path, "--model", model, "--scale-min", 0, "--scale-max", 10,
            "--json", tmp_path / "o.json")
    assert r.exit_code == 1, r.output
    assert "row 6" in r.output and "column 'sat2'" in r.output and fragment in r.output


def test_fit_treats_empty_cells_as_missing(tmp_path):
    data = pd.read_csv(DATA / "satisfaction.csv", index_col=0)
    data.loc[data.index[[3, 9]], "sat1"] = np.nan
    path = tmp_path / "d.csv"
    data.to_csv(path)
    model = tmp_path / "m.lav"
    model.write_text("IMAG =~ imag1 + imag2\nSAT =~ sat1 + sat2\nSAT ~ IMAG\n", encoding="utf-8")
    out = tmp_path / "o.json"
    r = run("fit", path, "--model", model, "--scale-min", 0, "--scale-max", 10, "--json", out)
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text(encoding="utf-8"))["n"] == 248   # casewise: two rows dropped


def _mobi_model(tmp_path) -> Path:
    model = tmp_path / "ecsi.lav"
    model.write_text(
        "IMAG =~ IMAG1 + IMAG2 + IMAG3 + IMAG4 + IMAG5\nEXPE =~ CUEX1 + CUEX2 + CUEX3\n"
        "QUAL =~ PERQ1 + PERQ2 + PERQ3 + PERQ4 + PERQ5 + PERQ6 + PERQ7\n"
        "VAL =~ PERV1 + PERV2\nSAT =~ CUSA1 + CUSA2 + CUSA3\nLOY =~ CUSL1 + CUSL2 + CUSL3\n"
        "EXPE ~ IMAG\nQUAL ~ EXPE\nVAL ~ EXPE + QUAL\nSAT ~ IMAG + EXPE + QUAL + VAL\n"
        "LOY ~ IMAG + SAT\n", encoding="utf-8")
    return model


def test_fit_with_bootstrap_json(tmp_path):
    model = _mobi_model(tmp_path)
    out = tmp_path / "boot.json"
    r = run("fit", DATA / "mobi.csv", "--model", model, "--bootstrap", 200, "--seed", 5,
            "--workers", 2, "--ci", "bca", "--level", 0.9, "--json", out)
    assert r.exit_code == 0, r.output
    res = json.loads(out.read_text(encoding="utf-8"))
    assert res["schema"] == "ncsi-fit/2" and res["inference"] == "bootstrap"
    assert res["bootstrap"]["n_boot"] == 200 and res["bootstrap"]["seed"] == 5
    assert res["bootstrap"]["n_valid"] + res["bootstrap"]["n_failed"] + \
        res["bootstrap"]["n_not_converged"] == 200
    for p in res["paths"]:
        assert {"estimate", "se", "ci_low", "ci_high", "p"} <= set(p)
        assert p["ci_low"] <= p["estimate"] + 0.05 and p["se"] > 0      # BCa may shift slightly
    for c, entry in res["indices"].items():
        assert entry["ci_low"] < entry["estimate"] < entry["ci_high"], c
    assert res["verify"]["status"] == "admissible"
    assert {"reliability", "htmt", "gof", "srmr", "effects", "f2", "vif_inner"} <= set(res)
    # the same seed gives the same numbers with one worker
    out1 = tmp_path / "boot1.json"
    r = run("fit", DATA / "mobi.csv", "--model", model, "--bootstrap", 200, "--seed", 5,
            "--ci", "bca", "--level", 0.9, "--json", out1)
    assert r.exit_code == 0, r.output
    assert json.loads(out1.read_text(encoding="utf-8"))["paths"] == res["paths"]


def test_fit_bootstrap_needs_a_seed(tmp_path):
    r = run("fit", DATA / "mobi.csv", "--model", _mobi_model(tmp_path), "--bootstrap", 100,
            "--json", tmp_path / "o.json")
    assert r.exit_code == 1 and "--seed" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "o.json").exists()


def test_fit_options_weights_missing_consistent(tmp_path):
    data = pd.read_csv(DATA / "mobi.csv", index_col=0)
    data["w"] = np.where(np.arange(len(data)) % 2, 2.0, 1.0)
    data.loc[data.index[[4, 7]], "CUSA2"] = np.nan
    path = tmp_path / "d.csv"
    data.to_csv(path)
    out = tmp_path / "o.json"
    r = run("fit", path, "--model", _mobi_model(tmp_path), "--weights", "w", "--missing", "mean",
            "--consistent", "--json", out)
    assert r.exit_code == 0, r.output
    res = json.loads(out.read_text(encoding="utf-8"))
    assert res["n"] == 250 and res["sum_weights"] == pytest.approx(375.0)
    sat = next(m for m in res["missing"] if m["construct"] == "SAT")
    assert sat["values_imputed"] == 2 and sat["rows_complete"] == 248
    assert res["settings"]["consistent"] is True and res["settings"]["weights"] == "w"
    rel = {x["construct"]: x for x in res["reliability"]}
    assert 0 < rel["SAT"]["rho_a"] <= 1
    # a bad weight names its column and row
    data.loc[data.index[9], "w"] = -1
    data.to_csv(path)
    r = run("fit", path, "--model", _mobi_model(tmp_path), "--weights", "w", "--json", out)
    assert r.exit_code == 1 and "column 'w'" in r.output and "row 11" in r.output
    assert "-1 is negative" in r.output


def test_fit_cbsem_json_and_compare(tmp_path):
    # the Holzinger–Swineford CFA as lavaan ships it (tests/data/lavaan/, PROVENANCE.md)
    model = tmp_path / "hs.lav"
    model.write_text("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\n"
                     "textual ~ visual\nspeed ~ visual\n", encoding="utf-8")
    out = tmp_path / "cb.json"
    r = run("fit", DATA / "lavaan" / "hs.data.csv", "--model", model, "--method", "cbsem",
            "--scale-min", 0, "--scale-max", 10, "--bootstrap", 20, "--seed", 3, "--json", out)
    assert r.exit_code == 0, r.output
    res = json.loads(out.read_text(encoding="utf-8"))
    assert {"n", "converged", "paths", "outer", "r2", "indices", "fit", "problems"} <= set(res)
    assert set(res["fit"]) >= {"chi2", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea_ci_low",
                               "rmsea_ci_high", "srmr", "loglik", "aic", "bic"}
    assert res["fit"]["df"] == 25 and res["problems"] == []   # textual, speed residuals uncorrelated
    assert all({"se", "ci_low", "ci_high", "p"} <= set(p) for p in res["paths"])
    assert all("ci_low" in v for v in res["indices"].values())
    r = run("compare", DATA / "lavaan" / "hs.data.csv", "--model", model, "--scale-min", 0,
            "--scale-max", 10, "--json", tmp_path / "cmp.json")
    assert r.exit_code == 0, r.output
    assert "CB-SEM" in r.output and "CFI=" in r.output and "visual → textual" in r.output
    cmp = json.loads((tmp_path / "cmp.json").read_text(encoding="utf-8"))
    assert [p["from"] for p in cmp["paths"]] == ["visual", "visual"]
    assert {"pls", "cbsem"} <= set(cmp["indices"][0])


def test_fit_cbsem_refuses_composites_in_one_line(tmp_path):
    model = tmp_path / "m.lav"
    model.write_text("A <~ x1 + x2 + x3\nB =~ x4 + x5 + x6\nB ~ A\n", encoding="utf-8")
    r = run("fit", DATA / "lavaan" / "hs.data.csv", "--model", model, "--method", "cbsem",
            "--scale-min", 0, "--scale-max", 10, "--json", tmp_path / "o.json")
    assert r.exit_code == 1 and "composite" in r.output and "Traceback" not in r.output


@pytest.mark.parametrize("survey, model", [("ncsi-food", "ncsi-food.lav"),
                                           ("ncsi-apparel", "ncsi.lav"),
                                           ("ncsi-apparel", "acsi.lav"),
                                           ("ncsi-apparel", "ecsi.lav")])
def test_cbsem_fits_the_stock_models_on_the_demo_survey(small_survey, tmp_path, survey, model):
    from ncsi import config
    data = small_survey / "responses" / "2025" / f"{survey}.csv"
    out = tmp_path / "o.json"
    r = run("fit", data, "--survey", survey, "--model", config.models_dir() / model,
            "--method", "cbsem", "--json", out)
    assert r.exit_code == 0, r.output
    res = json.loads(out.read_text(encoding="utf-8"))
    assert res["converged"] is True
    fit = res["fit"]
    assert all(fit[k] is not None for k in ("chi2", "df", "pvalue", "cfi", "tli", "rmsea",
                                            "rmsea_ci_low", "rmsea_ci_high", "srmr", "loglik",
                                            "aic", "bic"))
    assert fit["cfi"] > 0.95 and fit["srmr"] < 0.08      # the demo survey follows the model


def test_ingest_takes_a_year_of_files_named_after_their_questionnaires(small_survey, cli_env):
    """`ncsi ingest responses/2025/*.csv --year 2025`: each file is a wave of the questionnaire
    it is named after; a file not named after one is refused before anything is stored."""
    assert run("brands", small_survey / "brands.csv").exit_code == 0
    year = SMALL_YEARS[-1]
    files = sorted((small_survey / "responses" / str(year)).glob("*.csv"))
    store = Store(cli_env)
    before = store.snapshot()
    bad = run("ingest", *files, small_survey / "brands.csv", "--year", year)
    assert bad.exit_code != 0
    assert "'brands' is not a questionnaire id" in bad.output and "--survey" in bad.output
    assert store.snapshot() == before
    r = run("ingest", *files, "--year", year)
    assert r.exit_code == 0, r.output
    waves = store.waves()
    assert sorted(waves.loc[waves["year"] == year, "survey_id"]) == sorted(f.stem for f in files)
