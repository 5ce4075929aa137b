"""The maturity demo generator: deterministic, well-formed, and consistent with its own truth."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ncsi.errors import DataError, InstrumentError
from ncsi.maturity_demo import (
    DEFAULT_WAVES,
    LINK_COLUMNS,
    MANIFEST,
    MATURITY_COLUMNS,
    PERFORMANCE_COLUMNS,
    README,
    _index,
    _items,
    generate,
    load_maturity_recipe,
    true_cell_scores,
)
from ncsi.maturity_instrument import load_maturity_questionnaire, maturity_dir

SEED = 7


@pytest.fixture(scope="module")
def q():
    return load_maturity_questionnaire()


@pytest.fixture(scope="module")
def rec(q):
    return load_maturity_recipe(questionnaire=q)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("maturity") / "demo"
    return out, generate(SEED, out)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _scores(q, df: pd.DataFrame) -> pd.Series:
    """The 0–100 maturity index of every row (methodology §7), missing codes left out."""
    c = q.clean(df)
    total = 0
    for cat in q.categories:
        total = total + (c[list(cat.item_codes)].mean(axis=1) - 1) / 4 * cat.points
    return total / 10


def _wmean(x: pd.Series, w: pd.Series) -> float:
    return float((x * w).sum() / w.sum())


def _read(out: Path, year: int, what: str = "maturity") -> pd.DataFrame:
    return pd.read_csv(out / what / f"{year}.csv", dtype={"enterprise_id": str})


# ------------------------------------------------------------------------------------------------
# determinism and layout
# ------------------------------------------------------------------------------------------------

def test_same_seed_gives_identical_files(demo, tmp_path):
    out, manifest = demo
    again = tmp_path / "again"
    assert generate(SEED, again) == manifest
    assert _files(again) == _files(out)
    other = generate(SEED + 1, tmp_path / "other", waves=[2025])
    assert (tmp_path / "other" / "maturity" / "2025.csv").read_bytes() != \
        (out / "maturity" / "2025.csv").read_bytes()
    assert other["waves"] == [2025]


def test_layout_and_manifest(demo):
    out, manifest = demo
    expected = {README, MANIFEST, "links.csv", "truth/maturity_parameters.json",
                "truth/maturity_indices.csv", "truth/maturity_categories.csv",
                "truth/maturity_size_differences.csv", "truth/maturity_level_shares.csv",
                "truth/maturity_cells.csv"}
    expected |= {f"{d}/{y}.csv" for d in ("maturity", "performance") for y in DEFAULT_WAVES}
    assert set(_files(out)) == expected
    assert manifest["is_demo"] is True and manifest["seed"] == SEED
    assert manifest["waves"] == list(DEFAULT_WAVES) and manifest["n"] == 1500
    for f in manifest["files"]:
        assert hashlib.sha256((out / f["path"]).read_bytes()).hexdigest() == f["sha256"]
    assert json.loads((out / MANIFEST).read_text(encoding="utf-8")) == manifest
    readme = (out / README).read_text(encoding="utf-8")
    assert "DEMO DATA" in readme and "演示数据" in readme and "fictitious" in readme


def test_maturity_files(demo, q):
    out, _ = demo
    for y in DEFAULT_WAVES:
        df = _read(out, y)
        assert tuple(df.columns) == MATURITY_COLUMNS + q.item_codes
        assert len(df) == 1500 and df["enterprise_id"].is_unique
        assert df["enterprise_id"].is_monotonic_increasing
        values = df[list(q.item_codes)].to_numpy()
        assert set(np.unique(values)) <= {1, 2, 3, 4, 5, 9}
        assert 0.01 < (values == 9).mean() < 0.03            # ~2% not applicable
        assert set(df["size"]) == set(q.size_codes)
        assert set(df["region"]) == set(q.region_codes)
        assert set(df["industry"]) == set(q.industry_codes)
        q.clean(df)                                           # every code and level is valid


def test_design_weights(demo, rec):
    out, _ = demo
    cells = pd.read_csv(out / "truth" / "maturity_cells.csv")
    population = int(rec.population.sum())
    for y in DEFAULT_WAVES:
        df = _read(out, y)
        assert (df["weight"] > 0).all()
        assert df["weight"].sum() == pytest.approx(population, abs=0.01)
        # weight = population of the region × size × industry cell / its sample size
        c = cells[cells["year"] == y]
        got = df.groupby(["region", "size", "industry"]).agg(n=("weight", "size"),
                                                               w=("weight", "first"),
                                                               w_sd=("weight", "std"))
        got = got.join(c.set_index(["region", "size", "industry"]))
        assert (got["n"] == got["sample_n"]).all()
        assert np.allclose(got["w"], got["population"] / got["sample_n"], atol=1e-6)
        assert (got["w_sd"].fillna(0) < 1e-9).all()
        assert len(got) == (rec.population > 0).sum()   # every cell is sampled


def test_panel_with_turnover(demo):
    out, _ = demo
    ids = [set(_read(out, y)["enterprise_id"]) for y in DEFAULT_WAVES]
    for a, b in zip(ids, ids[1:]):
        kept = len(a & b) / len(a)
        assert 0.65 < kept < 0.9        # most re-surveyed, some drop out
        assert len(b - a) > 100          # some new
    # an enterprise keeps its region, size and industry
    both = pd.concat([_read(out, y) for y in DEFAULT_WAVES])
    fixed = both.groupby("enterprise_id")[["region", "size", "industry"]].nunique()
    assert (fixed == 1).all().all()


# ------------------------------------------------------------------------------------------------
# the model shows through
# ------------------------------------------------------------------------------------------------

def test_maturity_improves_and_size_classes_are_ordered(demo, q):
    out, _ = demo
    national = []
    for y in DEFAULT_WAVES:
        df = _read(out, y)
        s = _scores(q, df)
        national.append(_wmean(s, df["weight"]))
        by = {k: _wmean(s[df["size"] == k], df["weight"][df["size"] == k]) for k in q.size_codes}
        assert by["large"] > by["medium"] > by["small"], (y, by)
    assert all(b > a for a, b in zip(national, national[1:])), national
    assert national[-1] - national[0] > 5


def test_truth_files_consistent_with_sample(demo, q, rec):
    out, _ = demo
    idx = pd.read_csv(out / "truth" / "maturity_indices.csv")
    cats = pd.read_csv(out / "truth" / "maturity_categories.csv")
    diffs = pd.read_csv(out / "truth" / "maturity_size_differences.csv")
    shares = pd.read_csv(out / "truth" / "maturity_level_shares.csv")
    assert set(idx["dimension"]) == {"national", "region", "size", "industry"}
    assert len(idx) == len(DEFAULT_WAVES) * (1 + 7 + 3 + 8)
    for y in DEFAULT_WAVES:
        t = idx[idx["year"] == y].set_index(["dimension", "group"])["true_index"]
        pop = idx[idx["year"] == y].set_index(["dimension", "group"])["population"]
        assert pop["national", "all"] == rec.population.sum()
        # margins are population-weighted means of their groups
        for dim in ("region", "size", "industry"):
            assert (t[dim] * pop[dim]).sum() / pop[dim].sum() == pytest.approx(
                t["national", "all"], abs=1e-3)
        assert t["size", "large"] > t["size", "medium"] > t["size", "small"]
        d = diffs[diffs["year"] == y].set_index(["size_a", "size_b"])["true_difference"]
        assert d["large", "small"] == pytest.approx(t["size", "large"] - t["size", "small"],
                                                    abs=1e-3)
        c = cats[(cats["year"] == y) & (cats["dimension"] == "national")]
        assert c["true_score"].sum() / 10 == pytest.approx(t["national", "all"], abs=1e-3)
        assert (c["true_score"] <= c["points"]).all()
        s = shares[(shares["year"] == y)].groupby(["dimension", "group"])["true_share"].sum()
        assert np.allclose(s, 1, atol=1e-3)
        # the design-weighted sample estimates the truth
        df = _read(out, y)
        sc = _scores(q, df)
        assert _wmean(sc, df["weight"]) == pytest.approx(t["national", "all"], abs=1.5)
        for k in q.size_codes:
            m = df["size"] == k
            assert _wmean(sc[m], df["weight"][m]) == pytest.approx(t["size", k], abs=3)
    params = json.loads((out / "truth" / "maturity_parameters.json").read_text(encoding="utf-8"))
    assert params["recipe_sha256"] == rec.sha256 and params["seed"] == SEED
    assert [p["n"] for p in params["panel"]] == [1500] * 5


def test_analytic_truth_matches_simulation(rec):
    """The exact expected index of a cell equals a large simulation of the generator's model."""
    rng = np.random.default_rng(1)
    m = 200_000
    for h in (0, 50, 167):
        theta = rec.cell_means(2021)[h] + rec.latent_sd * rng.standard_normal(m)
        v = rec.category_sd * rng.standard_normal((m, len(rec.questionnaire.categories)))
        eps = rng.standard_normal((m, len(rec.questionnaire.items)))
        sim = _index(rec, _items(rec, theta, v, eps)).mean()
        assert sim == pytest.approx(true_cell_scores(rec, 2021)[h].sum() / 10, abs=0.1)


def test_performance_files(demo, q):
    out, _ = demo
    for y in DEFAULT_WAVES:
        mat = _read(out, y)
        perf = _read(out, y, "performance")
        assert tuple(perf.columns) == PERFORMANCE_COLUMNS
        assert perf["enterprise_id"].tolist() == mat["enterprise_id"].tolist()
        for col in ("certificate_valid", "major_incident_2y", "credit_clean"):
            assert perf[col].dtype == bool
        assert 0.8 < perf["certificate_valid"].mean() < 0.99
        assert 0.0 < perf["major_incident_2y"].mean() < 0.08
        rate = perf["spot_check_pass_rate"]
        assert 0.1 < rate.isna().mean() < 0.4
        assert rate.dropna().between(0, 100).all() and (rate == 100).mean() > 0.5
        assert (perf["quality_exposures_3y"] >= 0).all()
        assert perf["quality_exposures_3y"].dtype.kind == "i"
        # better-managed enterprises perform better
        s = _scores(q, mat)
        top = s > s.median()
        assert rate[top].mean() > rate[~top].mean()
        assert perf["quality_exposures_3y"][top].mean() < perf["quality_exposures_3y"][~top].mean()
        assert perf["certificate_valid"][top].mean() > perf["certificate_valid"][~top].mean()


# ------------------------------------------------------------------------------------------------
# links to brands
# ------------------------------------------------------------------------------------------------

def _demo_brands(seed: int) -> dict[str, str]:
    """brand → industry of the satisfaction demo (``ncsi demo-data``) with this seed."""
    from ncsi.demo_data import _context
    ctx = _context(seed, None)
    return {bd["brand"]: i["code"] for s in ctx.taxonomy["sectors"] for i in s["industries"]
            for bd in ctx.plan(i["code"]).brands}


def _check_links(out: Path, brands: dict[str, str], rec) -> pd.DataFrame:
    links = pd.read_csv(out / "links.csv", dtype=str)
    assert tuple(links.columns) == LINK_COLUMNS and links["enterprise_id"].is_unique
    surveyed = pd.concat([_read(out, y) for y in DEFAULT_WAVES]).drop_duplicates("enterprise_id")
    assert set(links["enterprise_id"]) <= set(surveyed["enterprise_id"])
    assert set(links["brand"]) <= set(brands)
    ind = surveyed.set_index("enterprise_id")["industry"]
    for e, b in zip(links["enterprise_id"], links["brand"]):
        assert brands[b] in rec.links_industries[ind[e]]       # the brand's industry fits
    assert 0.12 < len(links) / len(surveyed) < 0.28              # about one in five
    return links


def test_links_default_to_the_satisfaction_demo_brands(demo, rec):
    out, manifest = demo
    _check_links(out, _demo_brands(SEED), rec)
    assert manifest["brands_source"] == f"ncsi demo-data --seed {SEED}"


def test_links_read_brands_csv(tmp_path, rec):
    brands = {"milkA_b01": "liquid_milk", "oilB_b02": "edible_oil", "phone_x": "mobile_phone",
              "paint_y": "paint", "ac_z": "air_conditioner", "sport_q": "sportswear",
              "hotel_h": "hotel_chain"}
    csv = tmp_path / "brands.csv"
    pd.DataFrame({"brand": list(brands), "industry": list(brands.values()),
                  "name_zh": "虚构", "name_en": "Fictitious"}).to_csv(csv, index=False)
    out = tmp_path / "out"
    manifest = generate(3, out, brands_csv=csv)
    links = _check_links(out, brands, rec)
    assert "hotel_h" not in set(links["brand"])      # no manufacturing industry makes hotels
    assert manifest["brands_source"] == "brands.csv"
    bad = tmp_path / "bad.csv"
    bad.write_text("code,sector\nx,y\n", encoding="utf-8")
    with pytest.raises(DataError, match="brand, industry") as exc:
        generate(3, tmp_path / "out2", brands_csv=bad)
    assert "bad.csv" in exc.value.message


# ------------------------------------------------------------------------------------------------
# arguments, output folder, recipe
# ------------------------------------------------------------------------------------------------

def test_output_folder_rules(tmp_path):
    out = tmp_path / "shared"
    out.mkdir()
    (out / "README.txt").write_text("the satisfaction demo\n", encoding="utf-8")
    (out / "manifest.json").write_text("{}", encoding="utf-8")
    m1 = generate(5, out, waves=[2023, 2025], n=400)
    assert (out / "README.txt").read_text(encoding="utf-8") == "the satisfaction demo\n"
    assert len(_read(out, 2025)) == 400
    # a rerun replaces the earlier maturity demo (including waves no longer asked for)
    m2 = generate(5, out, waves=[2025], n=400)
    assert not (out / "maturity" / "2023.csv").exists()
    assert (out / "maturity" / "2025.csv").read_bytes() != b""
    assert m1["waves"] == [2023, 2025] and m2["waves"] == [2025]
    # files it did not write are never overwritten
    other = tmp_path / "other"
    (other / "maturity").mkdir(parents=True)
    (other / "maturity" / "2025.csv").write_text("mine", encoding="utf-8")
    with pytest.raises(DataError, match="maturity/2025.csv already exists"):
        generate(5, other, waves=[2025], n=400)
    assert (other / "maturity" / "2025.csv").read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize("kwargs,match", [
    ({"n": 100}, "too small"),
    ({"n": 10_000_000}, "exceeds the population"),
    ({"n": 0}, "positive whole number"),
    ({"waves": [2025, 2023]}, "increasing"),
    ({"waves": []}, "increasing"),
])
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(DataError, match=match):
        generate(1, tmp_path / "x", **kwargs)
    with pytest.raises(DataError, match="seed"):
        generate(-1, tmp_path / "x")


RECIPE_CASES = [
    ("population cell missing", ("population", "east", "furniture", "small"), None,
     "population.east.furniture.small"),
    ("negative population", ("population", "north", "machinery", "large"), -3,
     "population.north.machinery.large"),
    ("offsets do not match the items", ("categories", "strategy", "item_offsets"), [0.1, 0.2],
     "categories.strategy.item_offsets"),
    ("unknown NCSI industry", ("links", "industries", "furniture"), ["sofas"],
     "links.industries.furniture[0]"),
    ("retention above 1", ("sample", "panel_retention"), 1.5, "sample.panel_retention"),
    ("size effect missing", ("latent", "size", "medium"), None, "latent.size.medium"),
    ("missing code not declared", ("items", "missing_code"), 8, "items.missing_code"),
]


@pytest.mark.parametrize("what,path,value,key", RECIPE_CASES, ids=[c[0] for c in RECIPE_CASES])
def test_recipe_errors_name_file_and_key(tmp_path, what, path, value, key):
    data = yaml.safe_load((maturity_dir() / "demo.yaml").read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    d = data
    for k in path[:-1]:
        d = d[k]
    if value is None:
        del d[path[-1]]
    else:
        d[path[-1]] = value
    p = tmp_path / "demo.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(InstrumentError) as exc:
        load_maturity_recipe(p)
    assert str(p) in exc.value.message and f"key '{key}'" in exc.value.message, exc.value.message
