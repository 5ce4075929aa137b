"""The public Rankings dashboard (dashboards/app.py), run with Streamlit's AppTest against a REAL
store built through the pipeline (the ``published_store`` fixture of conftest.py)."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import sys
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("streamlit")
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402
import streamlit.testing.v1.app_test as app_test_module  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dashboards import ui  # noqa: E402
from ncsi.query import Query  # noqa: E402
from ncsi.scoring import IndexConfig, ranking_year_columns  # noqa: E402
from ncsi.store import Store  # noqa: E402

APP = ROOT / "dashboards" / "app.py"
ZH, EN = ui.Texts("zh"), ui.Texts("en")
TIMEOUT = 120


def url_of(store) -> str:
    return store.url.render_as_string(hide_password=False)


def copy_store(store, path: Path) -> Store:
    """A copy of an SQLite store (sqlite3's online backup: triggers and all)."""
    src = sqlite3.connect(store.url.database)
    dst = sqlite3.connect(path)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
    copy = Store(f"sqlite:///{path}")
    copy.upgrade()
    return copy


@pytest.fixture
def app(monkeypatch):
    """``app(url, lang="zh")`` → an AppTest of the dashboard, run once on the store at ``url``."""
    def run(url: str, lang: str = "zh") -> AppTest:
        monkeypatch.setenv("NCSI_DATABASE_URL", url)
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
        assert not at.exception, [e.value for e in at.exception]
        if lang != "zh":
            at = switch_language(at, lang)
        return at
    return run


def switch_language(at: AppTest, lang: str) -> AppTest:
    at.sidebar.radio(key="lang").set_value(lang).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def select(at: AppTest, key: str, value) -> AppTest:
    at.selectbox(key=key).set_value(value).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown_table(at: AppTest) -> pd.DataFrame:
    assert len(at.dataframe) == 1
    return at.dataframe[0].value.astype(str)


def chart_spec(at: AppTest) -> dict:
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    return json.loads(charts[0].proto.spec)


def expected_scores(ranking: pd.DataFrame, year: str) -> list[str]:
    return ["NM" if pd.isna(v) else f"{v:.1f}" for v in ranking[year]]


# --------------------------------------------------------------------------------------------
# i18n files
# --------------------------------------------------------------------------------------------

def test_i18n_files_have_the_same_keys_and_placeholders():
    zh, en = ui.load_texts("zh"), ui.load_texts("en")
    keys_zh, keys_en = ui.flatten_keys(zh), ui.flatten_keys(en)
    assert keys_zh == keys_en, (sorted(keys_zh - keys_en), sorted(keys_en - keys_zh))
    placeholder = re.compile(r"\{([a-z_]*)[^{}]*\}")
    for key in keys_zh:
        assert set(placeholder.findall(ZH(key))) == set(placeholder.findall(EN(key))), key


def test_every_text_the_code_asks_for_exists_and_every_band_is_translated():
    code = (ROOT / "dashboards" / "app.py").read_text(encoding="utf-8") \
        + (ROOT / "dashboards" / "ui.py").read_text(encoding="utf-8")
    used = set(re.findall(r"""\b(?:t|self)\(\s*f?["']([a-z_]+(?:\.[a-z_{}]+)+)["']""", code))
    assert "table.rank" in used and "demo.banner" in used
    keys = ui.flatten_keys(ui.load_texts("zh"))
    sections = {k.split(".")[0] for k in keys}
    for key in used:
        if "{" in key:  # t(f"bands.{code}") and the like: the section must exist
            assert key.split(".")[0] in sections, key
        else:
            assert key in keys, key
    for band in IndexConfig.from_yaml().bands:
        for t in (ZH, EN):
            assert t.band(band[1])
    # the language names are the same in both files, so the switch reads the same either way
    assert ZH("language.label") == EN("language.label")


def test_number_formats():
    for t in (ZH, EN):
        assert t.index(73.116845) == "73.1"
        assert t.index(float("nan")) == "NM"
        assert t.points(2.0) == "+2.0" and t.points(-1.134) == "-1.1"
        assert t.percent(2.469) == "+2.5%" and t.percent(-3.3) == "-3.3%"
        assert t.percent(None) == "" and t.count(912) == "912"
    assert ZH.bands_legend(IndexConfig.from_yaml().bands) == \
        "≥ 80 非常满意 · 70–80 满意 · 60–70 比较满意 · < 60 不满意"


# --------------------------------------------------------------------------------------------
# the page on the published store
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_renders_with_demo_banner_chart_and_footer(app, published_store, lang):
    t = ui.Texts(lang)
    q = Query(published_store)
    at = app(url_of(published_store), lang)
    assert [x.value for x in at.title] == [t("rankings.title")]
    # the demo banner, bilingual in both languages
    assert q.is_demo()
    banners = [w.value for w in at.warning]
    assert banners == [t("demo.banner")]
    assert "DEMO DATA — fictitious brands" in banners[0]
    assert "演示数据——品牌均为虚构" in banners[0]
    # selectors: labels in the language, defaults = first sector/industry, latest year
    assert [s.label for s in at.selectbox] == [t("rankings.sector"), t("rankings.industry"),
                                               t("rankings.year")]
    sector, industry = q.sectors()[0], q.industries(sector=q.sectors()[0])[0]
    assert at.selectbox(key="sector").value == sector
    assert at.selectbox(key="industry").value == industry
    assert at.selectbox(key="year").value == max(q.industry_years(industry))
    assert at.selectbox(key="sector").options == [ui.sentence(q.sector_name(s, lang))
                                                   for s in q.sectors()]
    # download buttons, the chart and the footer
    assert [b.label for b in at.get("download_button")] == [t("download.csv"),
                                                            t("download.xlsx")]
    spec = chart_spec(at)
    name = q.industry_name(industry, lang)
    assert spec["layout"]["title"]["text"] == ui.sentence(t("chart.title", industry=name))
    traces = {tr["name"]: tr for tr in spec["data"]}
    industry_trace = traces[name + t("chart.industry_suffix")]
    assert industry_trace["line"]["width"] > max(tr["line"]["width"] for n, tr in traces.items()
                                                 if tr is not industry_trace)
    assert all("error_y" in tr for tr in spec["data"])
    trend = q.trend(industry, lang=lang)
    assert set(traces) == {n for n in trend.loc[trend["level"] == "brand", "name"]} | {
        name + t("chart.industry_suffix")}
    captions = [c.value for c in at.caption]
    assert t("footer.method") in captions
    assert t("footer.bands", bands=t.bands_legend(q.config.bands)) in captions


def test_table_rows_equal_query_ranking_for_every_industry_and_year(app, published_store):
    q = Query(published_store)
    at = app(url_of(published_store))
    seen = 0
    for sector in q.sectors():
        at = select(at, "sector", sector)
        for industry in q.industries(sector=sector):
            at = select(at, "industry", industry)
            years = q.industry_years(industry)
            assert at.selectbox(key="year").options == [ZH("rankings.year_option", year=y)
                                                        for y in sorted(years, reverse=True)]
            for year in years:
                at = select(at, "year", year)
                ranking = q.ranking(year, industry, lang="zh")
                shown = shown_table(at)
                assert list(shown[ZH("table.brand")]) == list(ranking["name"])
                ycols = ranking_year_columns(ranking)
                assert ycols[-1] == str(year)
                for y in ycols:
                    assert list(shown[y]) == expected_scores(ranking, y)
                assert list(shown[ZH("table.n")]) == [ZH.count(v) for v in ranking["n"]]
                assert list(shown[ZH("table.mark")]) == list(ranking["mark"])
                assert list(shown[ZH("table.band")]) == [ZH.band(b) for b in ranking["band"]]
                # sorted by the latest score; the industry's row labelled, brands ranked 1, 2, …
                latest = ranking[str(year)].dropna()
                assert list(latest) == sorted(latest, reverse=True)
                ranks = list(shown[ZH("table.rank")])
                is_ind = list(ranking["level"] == "industry")
                assert [r for r, i in zip(ranks, is_ind) if i] == [ZH("rankings.industry_row")]
                assert [r for r, i in zip(ranks, is_ind) if not i] == [
                    str(k) for k in range(1, len(ranks))]
                assert at.subheader[0].value == ZH(
                    "rankings.heading", industry=q.industry_name(industry, "zh"), year=year)
                seen += 1
    assert seen == sum(len(q.industry_years(i)) for i in q.industries()) >= 2


def test_switching_language_changes_headers_names_and_bands(app, published_store):
    q = Query(published_store)
    at = app(url_of(published_store))
    industry = q.industries()[-1]
    sector = q.taxonomy.sector_of(industry).code
    at = select(at, "sector", sector)
    at = select(at, "industry", industry)
    year = min(q.industry_years(industry))
    at = select(at, "year", year)
    zh_table = shown_table(at)
    at = switch_language(at, "en")
    en_table = shown_table(at)
    # the choice survives the switch
    assert (at.selectbox(key="sector").value, at.selectbox(key="industry").value,
            at.selectbox(key="year").value) == (sector, industry, year)
    years = ranking_year_columns(q.ranking(year, industry))
    heads = ["rank", "brand", "baseline_year", "change_points", "change_percent", "mark",
             "band", "n"]
    assert list(zh_table.columns) == [ZH(f"table.{h}") for h in heads[:3]] + years + [
        ZH(f"table.{h}") for h in heads[3:]]
    assert list(en_table.columns) == [EN(f"table.{h}") for h in heads[:3]] + years + [
        EN(f"table.{h}") for h in heads[3:]]
    assert list(zh_table.columns) != list(en_table.columns)
    rz, re_ = q.ranking(year, industry, lang="zh"), q.ranking(year, industry, lang="en")
    assert list(zh_table[ZH("table.brand")]) == list(rz["name"])
    assert list(en_table[EN("table.brand")]) == list(re_["name"])
    assert list(rz["name"]) != list(re_["name"])
    assert list(en_table[EN("table.band")]) == [EN.band(b) for b in re_["band"]]
    assert set(en_table[EN("table.band")]).isdisjoint(set(zh_table[ZH("table.band")]))
    assert at.title[0].value == EN("rankings.title")
    assert at.selectbox(key="industry").options == [ui.sentence(q.industry_name(i, "en"))
                                                    for i in q.industries(sector=sector)]
    assert at.subheader[0].value == ui.sentence(
        EN("rankings.heading", industry=q.industry_name(industry, "en"), year=year))
    assert at.subheader[0].value[0].isupper()
    assert EN("footer.method") in [c.value for c in at.caption]
    # and back
    at = switch_language(at, "zh")
    assert list(shown_table(at).columns) == list(zh_table.columns)


def test_downloads_hold_exactly_the_table_shown(app, published_store, monkeypatch):
    stores: list[MemoryMediaFileStorage] = []

    class Recording(MemoryMediaFileStorage):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            stores.append(self)

    monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", Recording)
    for lang in ("zh", "en"):
        stores.clear()
        at = app(url_of(published_store), lang)
        t = ui.Texts(lang)
        shown = shown_table(at)
        buttons = {b.label: b.proto.url for b in at.get("download_button")}

        def content(label):
            name = buttons[label].rsplit("/", 1)[-1]
            for s in stores:
                try:
                    return s.get_file(name).content
                except Exception:
                    continue
            raise AssertionError(f"no file behind {label}")

        csv = pd.read_csv(io.BytesIO(content(t("download.csv"))), dtype=str,
                          keep_default_na=False, encoding="utf-8-sig")
        pd.testing.assert_frame_equal(csv, shown)
        xlsx = pd.read_excel(io.BytesIO(content(t("download.xlsx"))), dtype=object)
        assert list(xlsx.columns) == list(shown.columns)
        years = [c for c in shown.columns if re.fullmatch(r"\d{4}", c)]
        for c in shown.columns:
            got = ["" if pd.isna(v) else (f"{v:.1f}" if c in years and isinstance(v, (int, float))
                                          else str(v)) for v in xlsx[c]]
            assert got == list(shown[c]), c


# --------------------------------------------------------------------------------------------
# drafts, freshness, other stores
# --------------------------------------------------------------------------------------------

def test_a_draft_is_never_shown_and_a_new_release_appears_once_published(
        app, published_store, tmp_path):
    """Build the 2023 draft (real pipeline) into a copy of the store: 2023 is neither offered
    nor shown as a column; after publishing it, it appears on the next run."""
    from ncsi.demo_data import generate
    from ncsi.ingest import ingest_file
    from ncsi.registry import read_brands_file, read_revenue_file
    from ncsi.release import build_year, publish_year

    store = copy_store(published_store, tmp_path / "copy.db")
    survey = tmp_path / "survey"
    generate(11, survey, years=[2023], industries=Query(store).industries(), scale=0.7)
    store.load_brands(read_brands_file(survey / "brands.csv"), source="brands.csv")
    store.load_revenue(read_revenue_file(survey / "revenue.csv"), source="revenue.csv")
    for f in sorted((survey / "responses").glob("*/*.csv")):
        ingest_file(f, f.stem, int(f.parent.name), store)
    build_year(store, 2023)
    draft = store.release(2023, "draft")
    assert draft is not None and not store.release_scores(draft["id"]).empty

    q = Query(store)
    assert 2023 not in q.published_years()
    at = app(url_of(store))
    for industry in q.industries():
        at = select(at, "sector", q.taxonomy.sector_of(industry).code)
        at = select(at, "industry", industry)
        assert ZH("rankings.year_option", year=2023) not in at.selectbox(key="year").options
        for year in q.industry_years(industry):
            at = select(at, "year", year)
            shown = shown_table(at)
            assert "2023" not in shown.columns
            assert list(shown[ZH("table.brand")]) == list(q.ranking(year, industry)["name"])
            spec = chart_spec(at)
            assert 2023 not in spec["layout"]["xaxis"]["tickvals"]

    publish_year(store, 2023)
    at = app(url_of(store))
    assert ZH("rankings.year_option", year=2023) in at.selectbox(key="year").options
    assert "2023" in shown_table(at).columns
    store.close()


def test_no_banner_when_the_brands_are_real(app, published_store, tmp_path):
    store = copy_store(published_store, tmp_path / "real.db")
    brands = store.known_brands()
    brands["is_demo"] = False
    store.load_brands(brands, source="test")
    assert not Query(store).is_demo()
    for lang in ("zh", "en"):
        at = app(url_of(store), lang)
        assert not at.warning
        assert len(at.dataframe) == 1
    store.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_empty_store_says_how_to_publish(app, tmp_path, lang):
    t = ui.Texts(lang)
    at = app(f"sqlite:///{tmp_path / 'empty.db'}", lang)
    infos = [i.value for i in at.info]
    assert len(infos) == 1
    assert t("empty.title") in infos[0] and t("empty.body") in infos[0]
    for command in ("ncsi build", "ncsi publish", "make demo"):
        assert command in infos[0]
    assert not at.dataframe and not at.selectbox and not at.warning
    assert not at.get("download_button") and not at.get("plotly_chart")
    assert t("footer.method") in [c.value for c in at.caption]


def test_unreadable_store_shows_an_error_not_a_traceback(app, tmp_path):
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not an SQLite database " * 64)
    at = app(f"sqlite:///{garbage}")
    assert len(at.error) == 1
    assert at.error[0].value.startswith(ZH("error.store", message="").rstrip())


def test_language_can_come_from_the_address(published_store, monkeypatch):
    monkeypatch.setenv("NCSI_DATABASE_URL", url_of(published_store))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params["lang"] = "en"
    at.run()
    assert not at.exception
    assert at.sidebar.radio(key="lang").value == "en"
    assert at.title[0].value == EN("rankings.title")
