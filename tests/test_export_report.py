"""Exports (CSV/XLSX/JSON) and the offline HTML report of a published release, on the real
published SQLite store of the small generated survey; the report also with hand-made fit results
holding every optional part (diagnostics, bootstrap, drivers, invariance) and with none of them,
and — where Chromium is installed — loaded in a real headless browser without network."""

from __future__ import annotations

import copy
import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from ncsi.cli_report import app
from ncsi.errors import InstrumentError, ReleaseError
from ncsi.export import JSON_KEYS, SHEET_ABOUT, SHEET_RANKINGS, export_rankings, header
from ncsi.query import Query
from ncsi.report import render_report, write_report

from .conftest import SMALL_INDUSTRIES, SMALL_YEARS

YEAR = SMALL_YEARS[-1]
runner = CliRunner()


# --------------------------------------------------------------------------------------------
# store proxies: the real published store, with some answers changed
# --------------------------------------------------------------------------------------------

class StoreProxy:
    """Delegates to the real store; ``fits`` (release id → fits) and ``unpublish`` (brand
    codes whose YEAR scores are shown as not publishable) change its answers."""

    def __init__(self, store, *, fits=None, unpublish=(), years=(YEAR,)):
        self._store = store
        self._fits = fits or {}
        self._unpublish = set(unpublish)
        self._years = list(years)

    def __getattr__(self, name):
        return getattr(self._store, name)

    def release_fits(self, release_id):
        fits = self._store.release_fits(release_id)
        change = self._fits.get(int(release_id))
        return change(copy.deepcopy(fits)) if change else fits

    def published_scores(self, level=None, construct=None):
        s = self._store.published_scores(level, construct)
        if self._unpublish:
            mask = (s["level"] == "brand") & s["code"].isin(self._unpublish) \
                & s["year"].isin(self._years)
            s = s.copy()
            s.loc[mask, "publishable"] = False
        return s


def _rich(fits: list[dict], year: int, *, comparable: bool) -> list[dict]:
    """Add every optional part of the fit contract, hand-made, to each fit."""
    for fit in fits:
        res = fit.setdefault("result", {})
        constructs = list(dict.fromkeys(o["construct"] for o in res.get("outer", [])))
        drivers = [c for c in constructs if c not in ("SAT", "COMP", "LOY")]
        res["diagnostics"] = {
            "reliability": [{"construct": c, "alpha": 0.82, "rho_a": 0.84, "rho_c": 0.89,
                             "ave": 0.45 if c == "VAL" else 0.66} for c in constructs],
            "htmt": [{"a": "SAT", "b": "LOY", "htmt": 0.93},
                     {"a": "IMAG", "b": "EXPE", "htmt": 0.71}],
            "gof": 0.612,
            "srmr": {"saturated": 0.041, "estimated": 0.058},
            "verify": {"status": "admissible", "checks": [
                {"check": "converged", "ok": True, "detail": "converged in 6 iterations",
                 "detail_zh": "6 次迭代后收敛"},
                {"check": "loadings", "ok": False, "detail": "QUAL4 loading 1.02 exceeds 1",
                 "detail_zh": "QUAL4 载荷 1.02 超过 1"}]},
        }
        res["bootstrap"] = {"n_boot": 500, "seed": 42, "n_valid": 498, "n_not_converged": 1,
                            "n_failed": 1}
        res["drivers"] = {
            "target": "SAT",
            "impacts": [{"driver": c, "total_effect": 0.1 + 0.05 * k,
                         "impact_5": round(5 * (0.1 + 0.05 * k), 3)}
                        for k, c in enumerate(drivers)],
            "items": [{"construct": o["construct"], "indicator": o["indicator"],
                       "index_weight": 0.25, "importance": 0.04}
                      for o in res.get("outer", []) if o["construct"] in drivers],
        }
        res["invariance"] = {
            "previous_year": year - 1, "ok": comparable,
            "reason": "" if comparable else "QUAL weights differ (c = 0.91, p = 0.003)",
            "reason_zh": "" if comparable else "QUAL 权重不同（c = 0.91，p = 0.003）",
            "same_instrument": True,
            "constructs": [{"construct": c, "c": 0.99 if comparable or c != "QUAL" else 0.91,
                            "p": 0.4 if comparable or c != "QUAL" else 0.003,
                            "ok": comparable or c != "QUAL"} for c in constructs],
        }
    return fits


def _failed_extra(fits: list[dict]) -> list[dict]:
    fits.append({"id": 999, "industry": "bottled_water", "survey_id": "ncsi-food",
                 "model_name": "ncsi-food", "model_sha256": None, "status": "failed",
                 "message": "industry bottled_water: the PLS algorithm did not converge in 300 "
                            "iterations", "n": 412, "converged": False, "iterations": 300,
                 "settings": {}, "result": {}})
    return fits


@pytest.fixture(scope="module")
def rich_store(published_store):
    ids = dict(Query(published_store).published_releases())
    return StoreProxy(published_store, fits={
        ids[YEAR]: lambda f: _failed_extra(_rich(f, YEAR, comparable=False)),
        ids[YEAR - 1]: lambda f: _rich(f, YEAR - 1, comparable=True)})


@pytest.fixture(scope="module")
def query(published_store):
    return Query(published_store)


# --------------------------------------------------------------------------------------------
# exports
# --------------------------------------------------------------------------------------------

def test_csv_has_bom_bilingual_headers_and_the_published_numbers(published_store, query,
                                                                  tmp_path):
    path = export_rankings(published_store, YEAR, "csv", tmp_path / "r.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    for col in ("领域 Sector", "行业 Industry", "排名 Rank", "品牌 Brand", "基准年 Baseline year",
                "变化（分） Change (pts)", "变化（%） Change (%)", "显著性 Significance",
                "满意度等级 Band", "样本量 n", "90% 置信区间下限 90% CI low",
                "行业代码 Industry code", *map(str, SMALL_YEARS)):
        assert col in table.columns, col
    assert list(dict.fromkeys(table["行业代码 Industry code"])) == query.industries(YEAR)
    assert set(table["行业代码 Industry code"]) == set(SMALL_INDUSTRIES)
    for ind in SMALL_INDUSTRIES:
        shown = query.display_rows(query.ranking(YEAR, ind), "zh")
        part = table[table["行业代码 Industry code"] == ind]
        assert part["代码 Code"].tolist() == shown["code"].tolist()
        assert part["品牌 Brand"].tolist() == shown["name"].tolist()
        for y in map(str, SMALL_YEARS):
            assert part[y].tolist() == shown[y].tolist()
        assert part["变化（分） Change (pts)"].map(lambda v: f"{float(v):+.1f}").tolist() == \
            shown["change_points"].tolist()
        assert part["满意度等级 Band"].tolist() == shown["band"].tolist()
        assert part["显著性 Significance"].tolist() == shown["mark"].tolist()
        assert part["样本量 n"].tolist() == shown["n"].tolist()
        assert (part["层级 Level"] == "行业").sum() == 1
        ranks = part.loc[part["层级 Level"] == "品牌", "排名 Rank"].astype(int).tolist()
        assert ranks == sorted(ranks) and ranks[0] == 1
    assert "液态奶" in set(table["行业 Industry"])


def test_csv_in_english(published_store, query, tmp_path):
    path = export_rankings(published_store, YEAR, "csv", tmp_path / "r.csv", lang="en")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert "品牌 Brand" in table.columns  # headers are bilingual in either language
    assert "liquid milk" in set(table["行业 Industry"])
    assert set(table["满意度等级 Band"]) - {""} <= {"very satisfied", "satisfied",
                                                 "fairly satisfied", "dissatisfied"}
    assert set(table["层级 Level"]) == {"brand", "industry"}
    names = set(table["品牌 Brand"])
    assert {query.brand_name(c, "en") for c in table.loc[table["层级 Level"] == "brand",
                                                          "代码 Code"]} <= names


def test_xlsx_bilingual_headers_and_the_numbers_of_query(published_store, query, tmp_path):
    path = export_rankings(published_store, YEAR, "xlsx", tmp_path / "r.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [SHEET_RANKINGS, SHEET_ABOUT]
    ws = wb[SHEET_RANKINGS]
    heads = [c.value for c in ws[1]]
    for h in heads:
        if not h.isdigit():  # every header but the years carries Chinese and English
            assert re.search(r"[\u4e00-\u9fff]", h) and re.search(r"[A-Za-z]", h), h
    col = {h: i for i, h in enumerate(heads)}
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    n_expected = sum(len(query.ranking(YEAR, i)) for i in query.industries(YEAR))
    assert len(rows) == n_expected
    for ind in SMALL_INDUSTRIES:
        ranking = query.ranking(YEAR, ind)
        part = [r for r in rows if r[col[header("industry_code")]] == ind]
        assert [r[col[header("code")]] for r in part] == ranking["code"].tolist()
        for y in map(str, SMALL_YEARS):
            got = [r[col[y]] for r in part]
            # numbers, not text (openpyxl reads a whole 80.0 back as the int 80)
            assert all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in got)
            assert got == [round(v, 1) for v in ranking[y]]
        assert [r[col[header("n")]] for r in part] == [int(v) for v in ranking["n"]]
        assert [r[col[header("change_points")]] for r in part] == \
            [round(v, 1) for v in ranking["change_points"]]
        hist = query.history(ind, year=YEAR)
        cur = hist[hist["year"] == YEAR].set_index("code")
        for r in part:
            code = r[col[header("code")]]
            assert r[col[header("ci_low")]] == round(cur.at[code, "ci_low"], 1)
            assert r[col[header("ci_high")]] == round(cur.at[code, "ci_high"], 1)
    cell = ws.cell(row=2, column=col[str(YEAR)] + 1)
    assert cell.number_format == "0.0"
    about = {r[0].value: r[1].value for r in wb[SHEET_ABOUT].iter_rows()}
    release = published_store.release(YEAR)
    assert about["内容哈希 Content hash (SHA-256)"] == release["content_sha256"]
    assert "DEMO" in about["数据 Data"]


def test_json_schema_numbers_and_null_for_nm(published_store, query, tmp_path):
    path = export_rankings(published_store, YEAR, "json", tmp_path / "r.json", lang="en")
    rows = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(rows, list) and rows
    for r in rows:
        assert tuple(r) == JSON_KEYS
        assert r["year"] == YEAR and r["demo"] is True
        assert r["level"] in ("brand", "industry")
        assert r["industry"] in SMALL_INDUSTRIES and isinstance(r["sector"], str)
        assert r["status"] == "published"
        assert isinstance(r["score"], float) and isinstance(r["n"], int)
        assert r["score"] == r["scores"][str(YEAR)]
        assert r["ci_low"] <= r["score"] <= r["ci_high"]
        assert r["significant"] in (True, False)
        assert r["band"] in ("very_satisfied", "satisfied", "fairly_satisfied", "dissatisfied")
    milk = [r for r in rows if r["industry"] == "liquid_milk"]
    ranking = query.ranking(YEAR, "liquid_milk")
    assert [r["score"] for r in milk] == [round(v, 1) for v in ranking[str(YEAR)]]
    assert milk[0]["industry_name"] == "liquid milk"

    # a brand not published this year: null score, status NM, in every format
    brand = ranking.loc[ranking["level"] == "brand", "code"].iloc[0]
    proxy = StoreProxy(published_store, unpublish=[brand])
    path = export_rankings(proxy, YEAR, "json", tmp_path / "nm.json")
    row = next(r for r in json.loads(path.read_text(encoding="utf-8")) if r["code"] == brand)
    assert row["score"] is None and row["status"] == "NM" and row["scores"][str(YEAR)] is None
    assert row["rank"] is None and row["ci_low"] is None and row["band"] is None
    assert row["scores"][str(YEAR - 1)] is not None
    csv = pd.read_csv(export_rankings(proxy, YEAR, "csv", tmp_path / "nm.csv"), dtype=str,
                      keep_default_na=False)
    assert csv.loc[csv["代码 Code"] == brand, str(YEAR)].tolist() == ["NM"]
    wb = openpyxl.load_workbook(export_rankings(proxy, YEAR, "xlsx", tmp_path / "nm.xlsx"))
    ws = wb[SHEET_RANKINGS]
    heads = [c.value for c in ws[1]]
    for r in ws.iter_rows(min_row=2, values_only=True):
        if r[heads.index(header("code"))] == brand:
            assert r[heads.index(str(YEAR))] == "NM"


def test_industry_selection_and_errors(published_store, tmp_path):
    path = export_rankings(published_store, YEAR, "json", tmp_path / "one.json",
                           industries=["sportswear"])
    rows = json.loads(path.read_text(encoding="utf-8"))
    assert {r["industry"] for r in rows} == {"sportswear"}
    with pytest.raises(InstrumentError, match="nosuch"):
        export_rankings(published_store, YEAR, "csv", tmp_path / "x.csv", industries=["nosuch"])
    with pytest.raises(ReleaseError, match="bottled_water has no published index"):
        export_rankings(published_store, YEAR, "csv", tmp_path / "x.csv",
                        industries=["bottled_water"])
    assert not (tmp_path / "x.csv").exists()


def test_unpublished_year_is_a_clear_error(published_store, tmp_path):
    listed = ", ".join(map(str, SMALL_YEARS))
    for fmt in ("csv", "xlsx", "json"):
        with pytest.raises(ReleaseError) as exc:
            export_rankings(published_store, 2019, fmt, tmp_path / f"x.{fmt}")
        assert "2019" in exc.value.message and listed in exc.value.message
        assert "2019" in exc.value.message_zh
    with pytest.raises(ReleaseError, match=f"no published release for 2019; published years: "
                                           f"{listed}"):
        write_report(published_store, 2019, tmp_path / "x.html")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------
# the report
# --------------------------------------------------------------------------------------------

def _without_bundle(text: str) -> str:
    out, n = re.subn(r'<script type="text/javascript" id="plotly-bundle">.*?</script>', "",
                     text, flags=re.S)
    assert n == 1
    return out


def _check_offline(text: str) -> None:
    import plotly.offline
    bundle = plotly.offline.get_plotlyjs()
    assert text.count(bundle[:2000]) == 1          # the bundle, inline, exactly once
    assert text.count("plotly.js v") == 1
    assert text.count('id="plotly-bundle"') == 1
    assert not re.search(r"<script[^>]*\bsrc\s*=", text, flags=re.I)
    assert '<script src="http' not in text
    rest = _without_bundle(text)
    assert "https://cdn" not in rest
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", rest, flags=re.I)
    assert "@import" not in rest and "url(" not in rest and "<link" not in rest


def test_report_is_self_contained_and_complete(published_store, query, tmp_path):
    path = write_report(published_store, YEAR, tmp_path / "report.html")
    text = path.read_text(encoding="utf-8")
    _check_offline(text)
    release = published_store.release(YEAR)
    assert release["content_sha256"] in text
    assert f"{release['id']}" in text and "2025" in text
    assert release["provenance"]["ncsi_version"] in text
    assert 'id="demo-banner"' in text and "演示数据" in text
    for ind in SMALL_INDUSTRIES:
        assert f'id="industry-{ind}"' in text
        assert query.industry_name(ind, "zh") in text
        for code in query.ranking(YEAR, ind)["code"]:
            if code != ind:
                assert query.brand_name(code, "zh") in text
    assert 'id="nation-index"' in text and 'class="sectors"' in text
    for sector in query.sectors(YEAR):
        assert query.sector_name(sector, "zh") in text
    # a ranking table per industry; the headline chart, a brand chart and a trend per
    # industry, and two driver charts (impacts, importance–performance) where the fit has them
    n = len(SMALL_INDUSTRIES)
    fits = published_store.release_fits(release["id"])
    with_drivers = [f for f in fits if (f.get("result") or {}).get("drivers")]
    assert text.count('<table class="ranking">') == n
    assert text.count('class="drivers"') == len(with_drivers)
    assert text.count('class="plotly-graph-div"') == 1 + 2 * n + 2 * len(with_drivers)
    assert text.count('class="diagnostics"') == n
    assert '<table class="paths">' in text
    assert path.stat().st_size < 8_000_000
    # the same release gives the same file
    assert render_report(published_store, YEAR) == text


def test_report_shows_nm_rows_and_unpublished_brands(published_store, query):
    ranking = query.ranking(YEAR, "edible_oil")
    brands = ranking.loc[ranking["level"] == "brand", "code"].tolist()
    nm = StoreProxy(published_store, unpublish=[brands[0]])
    text = render_report(nm, YEAR, lang="en")
    name = html.escape(query.brand_name(brands[0], "en"))   # "Ruikai Grain &amp; Oil"
    row = re.search(r'<tr class="nm">(.*?)</tr>', text).group(1)
    assert name in row and "<td class=\"num\">NM</td>" in row
    never = StoreProxy(published_store, unpublish=[brands[0]], years=SMALL_YEARS)
    text = render_report(never, YEAR, lang="en")
    assert '<tr class="nm">' not in text
    assert f"Not published (fewer than 100 valid interviews): {name} (n = " in text


def test_report_of_the_first_published_year(published_store):
    text = render_report(published_store, SMALL_YEARS[0], lang="en")
    _check_offline(text)
    assert "no comparable previous year" in text
    assert f"{SMALL_YEARS[0]}→" not in _without_bundle(text)


def test_report_in_english(published_store, query, tmp_path):
    text = write_report(published_store, YEAR, tmp_path / "en.html", lang="en") \
        .read_text(encoding="utf-8")
    assert '<html lang="en">' in text
    assert "National Customer Satisfaction Index" in text and "DEMO DATA" in text
    for ind in SMALL_INDUSTRIES:
        assert query.industry_name(ind, "en")[1:] in text
    assert "Release provenance" in text and "Path coefficients" in text


def test_report_renders_every_optional_part_of_the_fits(rich_store, tmp_path):
    for lang in ("en", "zh"):
        text = write_report(rich_store, YEAR, tmp_path / f"rich-{lang}.html", lang=lang) \
            .read_text(encoding="utf-8")
        _check_offline(text)
        n = len(SMALL_INDUSTRIES)
        assert text.count('class="drivers"') == n
        assert text.count('class="diagnostics"') == n + 1   # and the failed fit's
        for table in ("impacts", "items", "reliability", "htmt", "verify", "invariance",
                      "outer", "r2", "paths"):
            assert text.count(f'<table class="{table}">') == n, table
        assert text.count('class="flag invariance"') == n          # 2024→2025 not comparable
        assert text.count('class="flag ok invariance"') == n       # 2023→2024 comparable
        # impacts, IPMA, brand chart, trend per industry; the headline chart
        assert text.count('class="plotly-graph-div"') == 1 + 4 * n
        assert '<table class="failed-industries">' in text and 'id="industry-bottled_water"' \
            in text
        assert "did not converge in 300" in text
        assert "0.930" in text and '<span class="bad">0.930</span>' in text   # HTMT flagged
        assert '<span class="bad">0.450</span>' in text                       # AVE flagged
        if lang == "en":
            assert "2024→2025: trend not comparable: QUAL weights differ" in text
            assert "QUAL4 loading 1.02 exceeds 1" in text
            assert "Impact of +5 points" in text and "This brand is a brand you can trust" in text
        else:
            assert "2024→2025: 趋势不可比：QUAL 权重不同" in text
            assert "QUAL4 载荷 1.02 超过 1" in text and "该品牌是一个值得信赖的品牌" in text
            assert "未能估计的行业" in text


def test_report_skips_absent_and_malformed_parts(published_store, tmp_path):
    ids = dict(Query(published_store).published_releases())

    def strip(fits):
        out = []
        for k, f in enumerate(fits):
            f = dict(f)
            f["result"] = [None, {}, {"drivers": "n/a", "invariance": [], "diagnostics": 3,
                                      "paths": [1, 2], "r2": None},
                           {"drivers": {"impacts": [{"driver": "QUAL", "total_effect": None,
                                                     "impact_5": None}]},
                            "invariance": {"ok": False}}][k % 4]
            f["converged"] = None
            out.append(f)
        return out

    proxy = StoreProxy(published_store, fits={ids[YEAR]: strip})
    text = render_report(proxy, YEAR, lang="en")
    _check_offline(text)
    for ind in SMALL_INDUSTRIES:
        assert f'id="industry-{ind}"' in text
    assert "trend not comparable: —" in text
    proxy = StoreProxy(published_store, fits={ids[YEAR]: lambda fits: [],
                                              ids[YEAR - 1]: lambda fits: []})
    text = render_report(proxy, YEAR, lang="zh")
    assert text.count('<table class="ranking">') == len(SMALL_INDUSTRIES)
    assert 'class="diagnostics"' not in text


def test_report_finds_sector_pooled_fits(published_store):
    """With sector pooling a fit's "industry" is the sector code; its industries use it, and a
    failed sector's industries are listed from the release's issues."""
    ids = dict(Query(published_store).published_releases())

    def pooled(fits):
        food = [f for f in fits if f["industry"] in ("liquid_milk", "edible_oil")]
        food[0]["industry"] = "food"
        return [f for f in fits if f is not food[1]]

    proxy = StoreProxy(published_store, fits={ids[YEAR]: pooled})
    text = render_report(proxy, YEAR, lang="en")
    assert text.count('class="diagnostics"') == len(SMALL_INDUSTRIES)
    assert 'id="industry-food"' not in text


# --------------------------------------------------------------------------------------------
# the commands
# --------------------------------------------------------------------------------------------

def test_cli_export_and_report(published_store, tmp_path):
    env = {"NCSI_DATABASE_URL": published_store.url.render_as_string(hide_password=False)}
    for fmt in ("csv", "xlsx", "json"):
        out = tmp_path / f"r.{fmt}"
        r = runner.invoke(app, ["export", "--year", str(YEAR), "--format", fmt, "--out",
                                str(out), "--lang", "en"], env=env)
        assert r.exit_code == 0, r.output
        assert out.is_file() and f"written to {out}" in r.output
    rows = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert rows[0]["industry_name"] == "liquid milk"
    out = tmp_path / "one.csv"
    r = runner.invoke(app, ["export", "--year", str(YEAR), "--format", "csv", "--out", str(out),
                            "--industry", "edible_oil", "--industry", "sportswear"], env=env)
    assert r.exit_code == 0, r.output
    table = pd.read_csv(out)
    assert list(dict.fromkeys(table["行业代码 Industry code"])) == ["edible_oil", "sportswear"]
    out = tmp_path / "report.html"
    r = runner.invoke(app, ["report", "--year", str(YEAR), "--out", str(out)], env=env)
    assert r.exit_code == 0, r.output
    assert "DEMO DATA" in r.output and out.stat().st_size > 1_000_000
    r = runner.invoke(app, ["report", "--year", "2019", "--out", str(tmp_path / "x.html")],
                      env=env)
    assert r.exit_code == 1
    assert "no published release for 2019" in r.output and "2019 年没有已发布的版本" in r.output
    assert "Traceback" not in r.output and not (tmp_path / "x.html").exists()
    r = runner.invoke(app, ["export", "--year", str(YEAR), "--format", "pdf", "--out",
                            str(tmp_path / "x.pdf")], env=env)
    assert r.exit_code != 0


CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium"),
                             shutil.which("chromium-browser"), shutil.which("google-chrome"))
                 if p and Path(p).exists()), None)


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed; the headless browser "
                                             "check of the report needs /usr/bin/chromium")
def test_report_loads_offline_in_headless_chromium(rich_store, tmp_path):
    path = write_report(rich_store, YEAR, tmp_path / "report.html", lang="en")
    n_figures = path.read_text(encoding="utf-8").count('class="plotly-graph-div"')
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-extensions", "--disable-background-networking",
           "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
           f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=15000",
           "--dump-dom", path.as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    dom = done.stdout
    assert done.returncode == 0, done.stderr[-2000:]
    assert 'id="industry-liquid_milk"' in dom
    assert dom.count('class="plot-container plotly"') == n_figures, done.stderr[-2000:]
    assert dom.count('class="main-svg"') >= n_figures
