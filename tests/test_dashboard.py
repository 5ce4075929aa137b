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
import streamlit.testing.v1.app_test as app_test_module  # noqa: E402
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

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


def open_tab(at: AppTest, label: str) -> AppTest:
    """Switch the Rankings page's tabs (they track their state: only the open tab is drawn)."""
    at.session_state["rankings_tab"] = label
    return at.run()


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
    code = "".join(f.read_text(encoding="utf-8")
                   for f in sorted((ROOT / "dashboards").rglob("*.py")))
    used = set(re.findall(r"""\b(?:t|self|other)\(\s*f?["']([a-z_]+(?:\.[a-z_{}]+)+)["']""",
                          code))
    # texts named as strings and looked up elsewhere: the pages' titles, the refusals
    used |= set(re.findall(r"""["']((?:nav|brand|enterprise)\.[a-z_]+)["']""", code))
    assert "table.rank" in used and "demo.banner" in used and "nav.analyst" in used
    assert "brand.refused" in used and "analyst.publish_button" in used
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
    year = max(q.industry_years(industry))
    assert [b.label for b in at.get("download_button")] == [
        t("download.csv"), t("download.xlsx"), t("download.year_xlsx", year=year)]
    # the trend is drawn only when its tab is open (plotly is the browser's heaviest part)
    assert [tab.label for tab in at.tabs] == [t("rankings.tab_table"), t("rankings.tab_trend")]
    assert not at.get("plotly_chart")
    at = open_tab(at, t("rankings.tab_trend"))
    assert not at.get("download_button")
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


def record_downloads(monkeypatch) -> list[MemoryMediaFileStorage]:
    """The media stores AppTest creates from now on (where download bytes land), as a list."""
    stores: list[MemoryMediaFileStorage] = []

    class Recording(MemoryMediaFileStorage):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            stores.append(self)

    monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", Recording)
    return stores


def test_downloads_hold_exactly_the_table_shown(app, published_store, monkeypatch):
    stores = record_downloads(monkeypatch)
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
            at = open_tab(at, ZH("rankings.tab_trend"))
            spec = chart_spec(at)
            assert 2023 not in spec["layout"]["xaxis"]["tickvals"]
            at = open_tab(at, ZH("rankings.tab_table"))

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


# ============================================================================================
# the other pages: trends, maturity, methodology (public); brand, enterprise (enterprise
# accounts); the analyst workspace — on a store with maturity results, grades, a draft and the
# demo accounts
# ============================================================================================

DASH_INDUSTRIES = ["liquid_milk", "edible_oil", "sportswear"]
DASH_PUBLISHED = [2023, 2024]
DASH_DRAFT = 2025


def build_dashboard_store(base: Path) -> dict:
    """A store built through the real pipeline (``published_store``-style, smaller bootstrap):
    satisfaction surveys 2023–2025 of three industries, maturity waves 2024 and 2025 with
    performance inputs and brand links, 2023 and 2024 published, 2025 left a DRAFT, and the demo
    accounts (the enterprise user bound to a brand and an enterprise graded in 2024).

    Returns ``{"url", "brand", "other_brand", "enterprise", "other_enterprise", "users"}``
    (users: name → password). Built once per ``base`` folder (the browser test reuses it)."""
    from ncsi.accounts import create_demo_accounts
    from ncsi.demo import load_survey_folder
    from ncsi.demo_data import generate
    from ncsi.maturity_demo import generate as generate_maturity
    from ncsi.release import build_year

    info_file = base / "dashboard-store.json"
    if info_file.exists():
        return json.loads(info_file.read_text(encoding="utf-8"))
    survey = base / "survey"
    generate(11, survey, years=DASH_PUBLISHED + [DASH_DRAFT], industries=DASH_INDUSTRIES,
             scale=0.7)
    generate_maturity(11, survey, waves=(2024, 2025), n=400, brands_csv=survey / "brands.csv")
    db = base / "dashboard.db"
    store = Store(f"sqlite:///{db}")
    store.upgrade()
    load_survey_folder(store, survey)
    for year in DASH_PUBLISHED + [DASH_DRAFT]:
        build_year(store, year, n_boot=100, seed=1, permutations=50)
        if year in DASH_PUBLISHED:
            store.publish(year, by="lead")
    q = Query(store)
    published = q.published_brands()
    results = store.release(2024)["grades"]["results"]
    linked = [r for r in results if isinstance(r.get("brand"), str) and r["brand"] in published]
    linked.sort(key=lambda r: (r["status"] != "graded", r["enterprise_id"]))
    mine = linked[0]
    other = next(r for r in linked if r["brand"] != mine["brand"])
    users = {name: password for name, password, _ in
             create_demo_accounts(store, brand=mine["brand"], enterprise=mine["enterprise_id"])}
    info = {"url": url_of(store), "brand": mine["brand"], "other_brand": other["brand"],
            "enterprise": mine["enterprise_id"], "other_enterprise": other["enterprise_id"],
            "users": users}
    store.close()
    info_file.write_text(json.dumps(info), encoding="utf-8")
    return info


@pytest.fixture(scope="session")
def dash(tmp_path_factory) -> dict:
    return build_dashboard_store(tmp_path_factory.getbasetemp())


@pytest.fixture
def dash_store(dash):
    store = Store(dash["url"])
    yield store
    store.close()


@pytest.fixture
def page(monkeypatch):
    """``page(url, path=None, lang="zh", login=None, params=None)`` → an AppTest of the
    dashboard on ``path`` (e.g. "views/trends.py"; None = the default page), after signing in
    as ``login`` = (username, password) when given, with ``params`` in the address."""
    def run(url: str, path: str | None = None, lang: str = "zh",
            login: tuple[str, str] | None = None, params: dict | None = None) -> AppTest:
        monkeypatch.setenv("NCSI_DATABASE_URL", url)
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        at.query_params["lang"] = lang
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        if login is not None:
            at = sign_in(at, *login)
            assert at.session_state["auth_token"]
        for k, v in (params or {}).items():
            at.query_params[k] = v
        if path is not None:
            at.switch_page(path).run()
        assert not at.exception, [e.value for e in at.exception]
        return at
    return run


def sign_in(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="login_user").input(username)
    at.text_input(key="login_password").input(password)
    at.button(key="login_submit").click()
    return at.run()


def user(dash, name: str) -> tuple[str, str]:
    return name, dash["users"][name]


def texts_of(at: AppTest) -> str:
    """Every text the run shows (markdown, titles, captions, alerts, metrics, tables)."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                 "error", "success"):
        parts.extend(str(e.value) for e in getattr(at, kind))
    parts.extend(f"{m.label} {m.value}" for m in at.metric)
    for df in at.dataframe:
        parts.append(df.value.to_csv())
    return "\n".join(parts)


def charts_of(at: AppTest) -> list[dict]:
    """The plotly figures of the run as dicts, typed arrays ({dtype, bdata}) decoded to lists."""
    return [_decoded(json.loads(c.proto.spec)) for c in at.get("plotly_chart")]


def _decoded(obj):
    import base64

    import numpy as np
    if isinstance(obj, dict):
        if "bdata" in obj and "dtype" in obj:
            a = np.frombuffer(base64.b64decode(obj["bdata"]), dtype=obj["dtype"])
            if "shape" in obj:
                a = a.reshape([int(x) for x in str(obj["shape"]).split(",")])
            return [None if isinstance(v, float) and np.isnan(v) else v for v in a.tolist()] \
                if a.ndim == 1 else [[None if isinstance(v, float) and np.isnan(v) else v
                                      for v in row] for row in a.tolist()]
        return {k: _decoded(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decoded(v) for v in obj]
    return obj


def table_with(at: AppTest, column: str) -> pd.DataFrame:
    """The first table shown with a column ``column`` (st.dataframe has no key to find it by)."""
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no table with a column {column!r}")


def refusal(at: AppTest) -> str:
    assert len(at.error) == 1, [e.value for e in at.error]
    return at.error[0].value


PROTECTED = ("views/brand.py", "views/enterprise.py", "views/analyst.py")
PUBLIC = {"views/trends.py": "trends.title", "views/maturity.py": "maturity.title",
          "views/methodology.py": "methodology.title"}


def test_query_shows_nothing_of_a_draft_or_an_embargoed_release(dash, dash_store):
    q = Query(dash_store)
    assert q.published_years() == DASH_PUBLISHED
    assert q.maturity_years() == [2024] and q.grade_years() == [2024]
    assert q.maturity(DASH_DRAFT) is None and q.grade(DASH_DRAFT, dash["enterprise"]) is None
    assert q.drivers(DASH_DRAFT, "edible_oil") is None
    assert q.drivers(2024, "edible_oil")["impacts"]
    assert "enterprises" not in q.maturity(2024)  # the public part only
    assert q.maturity_enterprise(2024, dash["enterprise"])["total"] is not None
    assert q.grade(2024, dash["enterprise"])["brand"] == dash["brand"]
    trend = q.aggregate_trend()
    assert set(trend["level"]) == {"nation", "sector", "industry"}
    assert set(trend["year"]) == set(DASH_PUBLISHED)


def test_query_hides_an_embargoed_release_until_it_lifts(dash, dash_store, tmp_path):
    import datetime as dt
    store = copy_store(dash_store, tmp_path / "embargo.db")
    until = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    store.publish(DASH_DRAFT, by="test", embargo_until=until)
    q = Query(store)
    assert q.maturity_years() == [2024] and q.grade_years() == [2024]
    assert q.maturity(DASH_DRAFT) is None and q.drivers(DASH_DRAFT, "edible_oil") is None
    assert q.grade(DASH_DRAFT, dash["enterprise"]) is None
    assert DASH_DRAFT not in set(q.aggregate_trend()["year"])
    for later in (Query(store, include_embargoed=True),
                  Query(store, now=until + dt.timedelta(minutes=1))):
        assert later.maturity_years() == [2024, DASH_DRAFT]
        assert later.drivers(DASH_DRAFT, "edible_oil")["impacts"]
        assert DASH_DRAFT in set(later.aggregate_trend()["year"])
    store.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_public_pages_render_for_a_visitor(page, dash, lang):
    t = ui.Texts(lang)
    for path, title in PUBLIC.items():
        at = page(dash["url"], path, lang)
        assert [x.value for x in at.title] == [t(title)], path
        assert not at.error
        assert t("footer.method") in [c.value for c in at.caption]
        # nothing of the 2025 draft anywhere
        assert "2025" not in texts_of(at), path
        for spec in charts_of(at):
            for trace in spec["data"]:
                assert 2025 not in (trace.get("x") or []), path
                assert "2025" not in (trace.get("x") or []), path
    # the sidebar: the sign-in form in the language
    assert at.text_input(key="login_user").label == t("auth.username")
    assert at.button(key="login_submit").label == t("auth.login")


def test_trends_page_shows_nation_sectors_and_industries_with_bands(page, dash, dash_store):
    q = Query(dash_store)
    at = page(dash["url"], "views/trends.py")
    national, industries = charts_of(at)
    names = {tr["name"] for tr in national["data"] if tr.get("showlegend") is not False}
    assert ZH("trends.nation") in names
    assert {q.sector_name(s) for s in q.sectors()} <= names
    # every line has its band (a filled trace of the same group) over the published years
    lines = [tr for tr in national["data"] if tr.get("mode") == "lines+markers"]
    bands = [tr for tr in national["data"] if tr.get("fill") == "toself"]
    assert len(lines) == len(bands) == 1 + len(q.sectors())
    nat = q.aggregate_trend()
    nat = nat[nat["level"] == "nation"]
    line = next(tr for tr in lines if tr["name"] == ZH("trends.nation"))
    assert line["x"] == [int(y) for y in nat["year"]]
    assert line["y"] == pytest.approx(list(nat["index"].astype(float)))
    band = next(tr for tr in bands if tr["legendgroup"] == "nation")
    assert band["y"] == pytest.approx(list(nat["ci_high"]) + list(nat["ci_low"])[::-1])
    # the sector's industries, and the comparability table (2024 against 2023: all passed)
    sector = q.sectors()[0]
    lines = [tr for tr in industries["data"] if tr.get("mode") == "lines+markers"]
    assert {tr["name"] for tr in lines} == {ui.sentence(q.industry_name(i))
                                            for i in q.industries(sector=sector)}
    table = table_with(at, ZH("trends.col_comparable"))
    assert set(table[ZH("trends.col_year")]) == {"2024"}
    assert set(table[ZH("trends.col_comparable")]) == {"✓"}
    assert not at.warning[1:]  # only the demo banner


def test_trends_page_flags_a_failed_comparison(page, dash, dash_store, tmp_path):
    """Publish 2025 with one industry's comparison with 2024 failed (through the store's own
    draft API): the Trends page marks that point with a red ✗, warns and gives the reason."""
    store = copy_store(dash_store, tmp_path / "flags.db")
    draft = store.release(DASH_DRAFT, "draft")
    scores = store.release_scores(draft["id"])
    reason = "questionnaire version changed (2024.1 → 2025.1)"
    reason_zh = "问卷版本已变更（2024.1 → 2025.1）"
    bad = {"invariance": {"ok": False, "previous_year": 2024, "reason": reason,
                          "reason_zh": reason_zh}}
    hit = ((scores["level"] == "industry") & (scores["code"] == "edible_oil")) | (
        (scores["level"] == "brand") & (scores["parent"] == "edible_oil"))
    scores["flags"] = [bad if h else f for h, f in zip(hit, scores["flags"])]
    store.save_draft(DASH_DRAFT, settings=draft["settings"], provenance=draft["provenance"],
                     fits=store.release_fits(draft["id"]), scores=scores,
                     issues=draft["issues"], maturity=draft["maturity"], grades=draft["grades"])
    store.publish(DASH_DRAFT, by="test")
    for lang, text in (("zh", reason_zh), ("en", reason)):
        t = ui.Texts(lang)
        at = page(url_of(store), "views/trends.py", lang)
        industries = charts_of(at)[1]
        flagged = [tr for tr in industries["data"] if tr["name"] == t("trends.flag_legend")]
        assert len(flagged) == 1 and flagged[0]["x"] == [2025]
        assert flagged[0]["text"] == [text]
        table = table_with(at, t("trends.col_comparable"))
        row = table[table[t("trends.col_comparable")] == "✗"]
        assert list(row[t("trends.col_year")]) == ["2025"]
        assert list(row[t("trends.col_reason")]) == [text]
        assert t("trends.flag_warning", n=1) in [w.value for w in at.warning]
    store.close()


def test_maturity_page_shows_the_published_wave_and_no_enterprise(page, dash, dash_store):
    q = Query(dash_store)
    m = q.maturity(2024)
    at = page(dash["url"], "views/maturity.py")
    metrics = {x.label: x.value for x in at.metric}
    assert metrics[ZH("maturity.metric_index", year=2024)] == ZH.index(m["national"]["index"])
    assert metrics[ZH("maturity.metric_ci", level="90")] == ZH.ci(m["national"]["ci_low"],
                                                                  m["national"]["ci_high"])
    national, subgroups, shares, radar = charts_of(at)
    assert [tr["x"] for tr in national["data"] if tr.get("mode") == "lines+markers"] == [[2024]]
    # the size classes (the default breakdown) with their published indices
    lines = {tr["name"]: tr for tr in subgroups["data"] if tr.get("mode") == "lines+markers"}
    for r in m["subgroups"]["size"]:
        assert lines[ui.maturity_name("size", r["group"], "zh")]["y"] == [
            pytest.approx(r["index"])]
    # shares of the five levels sum to one
    assert sum(tr["y"][0] for tr in shares["data"]) == pytest.approx(1.0)
    assert len(shares["data"]) == 5
    # another breakdown
    at.segmented_control(key="maturity_dim").set_value("region").run()
    assert not at.exception
    table = table_with(at, ZH("maturity.dim_region"))
    assert list(table[ZH("maturity.dim_region")]) == [
        ui.maturity_name("region", r["group"], "zh") for r in m["subgroups"]["region"]]
    # never an enterprise id on a public page
    assert not re.search(r"E\d{6}", texts_of(at))


def test_methodology_page_explains_in_both_languages(page, dash):
    for lang in ("zh", "en"):
        t = ui.Texts(lang)
        at = page(dash["url"], "views/methodology.py", lang)
        heads = [h.value for h in at.subheader]
        assert heads[0] == t("methodology.survey.title") and len(heads) == 12
        body = "\n".join(m.value for m in at.markdown)
        assert "100" in body and "90%" in body  # min_n and the level filled in
        assert t.bands_legend(IndexConfig.from_yaml().bands) in body


@pytest.mark.parametrize("path", PROTECTED)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_visitor_cannot_reach_a_protected_page(page, dash, path, lang):
    t = ui.Texts(lang)
    at = page(dash["url"], path, lang)
    msg = refusal(at)
    assert t("auth.sign_in_first") in msg
    other = ui.Texts("en" if lang == "zh" else "zh")
    assert other("auth.sign_in_first") in msg  # bilingual
    assert "not signed in" in msg and "未登录" in msg
    assert not at.title and not at.dataframe and not at.get("plotly_chart")
    assert not at.metric and not at.selectbox
    assert "2025" not in texts_of(at)


def test_a_visitor_with_a_forged_token_is_refused(page, dash):
    at = page(dash["url"])
    at.session_state["auth_token"] = "forged-token-value"
    at.switch_page("views/analyst.py").run()
    assert ZH("auth.denied") in refusal(at) or ZH("auth.sign_in_first") in refusal(at)
    assert not at.dataframe and not at.get("plotly_chart")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_sign_in_failure_says_so_in_both_languages(page, dash, lang):
    t = ui.Texts(lang)
    at = page(dash["url"], lang=lang)
    at = sign_in(at, "analyst", "not-the-password")
    assert not at.exception
    msg = refusal(at)
    assert msg.startswith(t("auth.failed"))
    assert "wrong user name or password" in msg and "用户名或密码错误" in msg
    assert "auth_token" not in at.session_state
    at.switch_page("views/analyst.py").run()
    assert t("auth.sign_in_first") in refusal(at)


def test_sign_in_and_out(page, dash):
    at = page(dash["url"], login=user(dash, "analyst"))
    side = [m.value for m in at.sidebar.markdown]
    assert ZH("auth.signed_in", name="Demo analyst / 演示分析员",
              role=ZH("auth.roles.analyst")) in side
    at.button(key="logout").click().run()
    assert "auth_token" not in at.session_state
    at.switch_page("views/analyst.py").run()
    assert ZH("auth.sign_in_first") in refusal(at)


def test_an_enterprise_user_sees_its_own_brand_only(page, dash, dash_store):
    q = Query(dash_store)
    own, other = dash["brand"], dash["other_brand"]
    at = page(dash["url"], "views/brand.py", login=user(dash, "brand-owner"))
    assert not at.error
    assert at.selectbox(key="brand_choice").options == [f"{q.brand_name(own)} ({own})"]
    assert at.selectbox(key="brand_choice").value == own
    # the headline numbers are the published ones
    year = max(DASH_PUBLISHED)
    ranking = q.ranking(year, q.brand_industry(own))
    row = ranking[ranking["code"] == own].iloc[0]
    metrics = {x.label: x.value for x in at.metric}
    assert metrics[ZH("brand.metric_score", year=year)] == ZH.index(row[str(year)])
    table, _ = ui.ranking_table(ranking, ZH)
    rank = table.iloc[list(ranking["code"]).index(own)][ZH("table.rank")]
    n = int((ranking["level"] == "brand").sum())
    assert metrics[ZH("brand.metric_rank", n=n)] == rank
    assert q.brand_name(other) not in texts_of(at)
    # asking for another brand in the address is refused, in both languages, with nothing of it
    at = page(dash["url"], "views/brand.py", login=user(dash, "brand-owner"),
              params={"brand": other})
    msg = refusal(at)
    assert ZH("brand.refused", brand=other) in msg and EN("brand.refused", brand=other) in msg
    assert not at.get("plotly_chart") and not at.dataframe and not at.metric
    assert q.brand_name(other) not in texts_of(at)
    # the same for an enterprise
    at.query_params.clear()
    at.query_params["enterprise"] = dash["other_enterprise"]
    at.switch_page("views/enterprise.py").run()
    msg = refusal(at)
    assert ZH("enterprise.refused", enterprise=dash["other_enterprise"]) in msg
    assert not at.metric and not at.get("plotly_chart")
    # and the analyst workspace
    at.query_params.clear()
    at.switch_page("views/analyst.py").run()
    msg = refusal(at)
    assert ZH("auth.denied") in msg and "analyst or admin" in msg
    assert not at.dataframe and "2025" not in texts_of(at)


def test_a_brand_asked_for_after_sign_in_is_checked_on_every_run(page, dash, dash_store):
    """The address can change during a session (a pasted link): the brand it asks for is checked
    again on the next run, not only when the page was first drawn."""
    q = Query(dash_store)
    at = page(dash["url"], "views/brand.py", login=user(dash, "brand-owner"))
    assert at.selectbox(key="brand_choice").value == dash["brand"] and not at.error
    at.query_params["brand"] = dash["other_brand"]
    at.run()
    assert ZH("brand.refused", brand=dash["other_brand"]) in refusal(at)
    assert not at.metric and q.brand_name(dash["other_brand"]) not in texts_of(at)
    at.query_params["brand"] = dash["brand"]  # its own brand by the address: shown
    at.run()
    assert not at.error and at.selectbox(key="brand_choice").value == dash["brand"]


def test_brand_page_shows_drivers_ipma_gaps_and_trend(page, dash, dash_store):
    q = Query(dash_store)
    own = dash["brand"]
    industry = q.brand_industry(own)
    year = max(DASH_PUBLISHED)
    at = page(dash["url"], "views/brand.py", "en", login=user(dash, "brand-owner"))
    assert [t.label for t in at.tabs] == [EN("brand.tab_industry"), EN("brand.tab_drivers"),
                                          EN("brand.tab_trend")]
    constructs, impacts, ipma, trend = charts_of(at)
    # brand against industry, every construct
    b = q.brand_scores(own)
    b = b[b["year"] == year]
    bars = {tr["name"]: tr for tr in constructs["data"]}
    assert bars[q.brand_name(own, "en")]["y"] == pytest.approx(list(b["index"]))
    gaps = table_with(at, EN("brand.col_gap"))
    i = q.industry_scores(industry)
    i = i[i["year"] == year].set_index("construct")["index"]
    assert list(gaps[EN("brand.col_gap")]) == [EN.points(v - i[c]) for c, v in
                                              zip(b["construct"], b["index"])]
    # drivers: the published impacts; the IPMA: importance = total effect, performance = the
    # brand's published index of the driver
    drivers = q.drivers(year, industry)
    bar = impacts["data"][0]
    expected = sorted(drivers["impacts"], key=lambda r: r["impact_5"])
    assert bar["x"] == pytest.approx([r["impact_5"] for r in expected])
    assert bar["y"] == [EN.construct(r["driver"]) for r in expected]
    brand_points = next(tr for tr in ipma["data"] if tr["name"] == q.brand_name(own, "en"))
    perf = b.set_index("construct")["index"]
    assert brand_points["x"] == pytest.approx([r["total_effect"] for r in drivers["impacts"]])
    assert brand_points["y"] == pytest.approx([perf[r["driver"]] for r in drivers["impacts"]])
    assert bar["error_x"]["array"] == pytest.approx(
        [r["ci_high"] - r["impact_5"] for r in expected])
    items = table_with(at, EN("drivers.col_item"))
    assert len(items) == len(drivers["items"])
    # item-level gaps, recomputed from the stored responses: the brand's weighted mean answer
    # on 0–100 minus the industry's, its brands' means weighted by their published weights
    from ncsi.instruments import load_questionnaire
    fit = next(f for f in dash_store.release_fits(dash_store.release(year)["id"])
               if f["industry"] == industry)
    quest = load_questionnaire(fit["survey_id"])
    resp = quest.clean(dash_store.responses(year, industry=industry))
    cfg = q.config
    sc = dash_store.release_scores(dash_store.release(year)["id"])
    sc = sc[(sc["level"] == "brand") & (sc["parent"] == industry)]
    wanted = {}
    for r in drivers["items"]:
        y = (resp[r["indicator"]] - cfg.scale_min) / (cfg.scale_max - cfg.scale_min) * 100
        ok = y.notna()
        means = (y[ok] * resp["weight"][ok]).groupby(resp["brand"][ok]).sum() \
            / resp["weight"][ok].groupby(resp["brand"][ok]).sum()
        w = sc[sc["construct"] == r["construct"]].set_index("code")["weight"]
        whole = float((means.reindex(w.index) * w).sum() / w.sum())
        wanted[r["indicator"]] = (means[own], whole)
    shown = items.set_index(items[EN("drivers.col_item")].str.split(" ").str[0])
    assert set(shown.index) == set(wanted)
    for ind, (mine, whole) in wanted.items():
        assert shown.at[ind, EN("drivers.col_brand_item")] == EN.index(mine)
        assert shown.at[ind, EN("drivers.col_industry_item")] == EN.index(whole)
        assert shown.at[ind, EN("drivers.col_gap")] == EN.points(mine - whole)
    loss = [dict((r["indicator"], r["importance"]) for r in drivers["items"])[i]
            * (wanted[i][0] - wanted[i][1]) for i in shown.index]
    assert loss == sorted(loss)     # the questions where the brand loses most come first
    # the trend: the brand and its industry
    names = {tr["name"] for tr in trend["data"] if tr.get("mode") == "lines+markers"}
    assert names == {q.brand_name(own, "en"),
                     ui.sentence(q.industry_name(industry, "en")) + EN("chart.industry_suffix")}


def test_an_analyst_may_pick_any_brand_and_enterprise(page, dash, dash_store):
    q = Query(dash_store)
    at = page(dash["url"], "views/brand.py", login=user(dash, "analyst"),
              params={"brand": dash["other_brand"]})
    assert not at.error
    assert at.selectbox(key="brand_choice").value == dash["other_brand"]
    assert len(at.selectbox(key="brand_choice").options) == len(q.published_brands())
    at.query_params.clear()
    at.query_params["enterprise"] = dash["other_enterprise"]
    at.switch_page("views/enterprise.py").run()
    assert not at.error and not at.exception
    assert at.selectbox(key="enterprise_choice").value == dash["other_enterprise"]


def test_enterprise_page_shows_maturity_against_means_and_the_explained_grade(
        page, dash, dash_store):
    q = Query(dash_store)
    eid = dash["enterprise"]
    row = q.maturity_enterprise(2024, eid)
    grade = q.grade(2024, eid)
    for lang in ("zh", "en"):
        t = ui.Texts(lang)
        at = page(dash["url"], "views/enterprise.py", lang, login=user(dash, "brand-owner"))
        assert not at.error
        assert at.selectbox(key="enterprise_choice").options == [eid]
        metrics = {x.label: x.value for x in at.metric}
        assert metrics[t("enterprise.metric_total")] == t.number(row["total"], 1)
        assert metrics[t("enterprise.metric_index")] == t.index(row["index"])
        graded = grade["status"] == "graded"
        assert metrics[t("enterprise.metric_grade")] == (grade["grade"] if graded
                                                         else t("enterprise.not_graded"))
        compare, radar = charts_of(at)
        labels = compare["data"][0]["y"]
        assert labels[0] == t("enterprise.this_enterprise", enterprise=eid)
        assert compare["data"][0]["x"][0] == pytest.approx(row["index"])
        assert t("enterprise.no_categories") not in [i.value for i in at.info]
        # the radar: this enterprise's category scores as % of the category's points, from
        # the published row and the instrument's points; then the national profile
        points = {c["category"]: c["points"] for c in q.maturity(2024)["categories"]}
        own = radar["data"][0]
        assert own["name"] == t("enterprise.this_enterprise", enterprise=eid)
        assert own["r"][:-1] == pytest.approx(
            [100 * row["categories"][c] / points[c] for c in ui.maturity_labels()["category"]])
        assert radar["data"][1]["name"] == t("maturity.national")
        cats = table_with(at, t("enterprise.col_own"))
        assert len(cats) == len(points)
        reason = grade["reason_zh"] if lang == "zh" else grade["reason"]
        assert reason in texts_of(at)
        assert len(at.expander) == len(grade["explanation"])


def test_an_analyst_sees_the_draft_diagnostics_beside_the_last_published(
        page, dash, dash_store):
    draft = dash_store.release(DASH_DRAFT, "draft")
    fits = {f["industry"]: f for f in dash_store.release_fits(draft["id"])}
    pub = {f["industry"]: f for f in dash_store.release_fits(dash_store.release(2024)["id"])}
    at = page(dash["url"], "views/analyst.py", login=user(dash, "analyst"))
    assert not at.error
    assert at.title[0].value == ZH("analyst.title")
    assert at.selectbox(key="analyst_year").options == [ZH("rankings.year_option",
                                                           year=DASH_DRAFT)]
    overview = table_with(at, ZH("analyst.col_status"))
    assert len(overview) == len(fits)
    assert set(overview[ZH("analyst.col_status")]) == {"✓ " + ZH("analyst.status_admissible")}
    code = at.selectbox(key="analyst_industry").value
    fit, before = fits[code]["result"], pub[code]["result"]
    rel = table_with(at, "ρC")
    assert list(rel["ρC"].str.rstrip(" ⚠")) == [ZH.number(r["rho_c"], 3)
                                                for r in fit["diagnostics"]["reliability"]]
    assert list(rel[ZH("analyst.col_published", what="ρC")]) == [
        ZH.number(r["rho_c"], 3) for r in before["diagnostics"]["reliability"]]
    assert ZH("analyst.compared_with", year=2024) in [c.value for c in at.caption]
    htmt, paths = charts_of(at)
    assert htmt["data"][0]["type"] == "heatmap"
    values = [v for row in htmt["data"][0]["z"] for v in row if v is not None]
    assert sorted(values) == pytest.approx(sorted(r["htmt"] for r in
                                                  fit["diagnostics"]["htmt"]))
    labels = " ".join(a.get("text", "") for a in paths["layout"]["annotations"])
    for p in fit["paths"]:
        assert ZH.number(p["estimate"], 2) in labels
        lo, hi, _ = charts_module().path_ci(p, 0.9)
        assert ZH("analyst.path_ci", low=ZH.number(lo, 2), high=ZH.number(hi, 2)) in labels
    table = table_with(at, ZH("analyst.col_from"))
    assert len(table) == len(fit["paths"])
    # another industry
    other = next(c for c in fits if c != code)
    at.selectbox(key="analyst_industry").set_value(other).run()
    assert not at.exception
    assert at.subheader[0].value.startswith(ui.sentence(Query(dash_store).industry_name(other)))


def charts_module():
    from dashboards import charts
    return charts


def test_publishing_needs_the_confirmation_and_records_who_and_the_embargo(
        page, dash, dash_store, tmp_path):
    store = copy_store(dash_store, tmp_path / "publish.db")
    url = url_of(store)
    at = page(url, "views/analyst.py", login=user(dash, "analyst"))
    at.button(key="publish_submit").click().run()
    assert ZH("analyst.confirm_needed") in [e.value for e in at.error]
    assert store.release(DASH_DRAFT) is None
    # with the confirmation and an embargo (Beijing time, tomorrow 09:00)
    at.checkbox(key="publish_confirm").check()
    at.checkbox(key="publish_embargo").check()
    at.button(key="publish_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    rel = store.release(DASH_DRAFT)
    assert rel is not None and rel["published_by"] == "analyst"
    assert rel["embargo_until"] is not None
    import datetime as dt
    local = pd.Timestamp(rel["embargo_until"]).tz_convert("Asia/Shanghai")
    assert (local.hour, local.minute) == (9, 0)
    assert local.date() == dt.date.today() + dt.timedelta(days=1)
    shown = [s.value for s in at.success]
    assert any(str(DASH_DRAFT) in s and str(rel["id"]) in s for s in shown), shown
    assert [i.value for i in at.info if str(DASH_DRAFT) in i.value]  # under embargo
    # the public does not see it before the embargo lifts
    at = page(url)
    assert ZH("rankings.year_option", year=DASH_DRAFT) not in at.selectbox(key="year").options
    store.close()


def test_an_enterprise_user_cannot_publish(page, dash, dash_store, tmp_path):
    store = copy_store(dash_store, tmp_path / "nopublish.db")
    at = page(url_of(store), "views/analyst.py", login=user(dash, "brand-owner"))
    refusal(at)
    assert not at.get("form_submit_button") and not at.checkbox
    assert store.release(DASH_DRAFT) is None
    store.close()


def test_the_whole_year_download_is_the_export_of_ncsi_export(published_store, tmp_path):
    """The third download button (made when clicked) is :func:`ncsi.export.export_rankings`'s
    XLSX of the year: every industry, the About sheet."""
    from openpyxl import load_workbook

    from dashboards import common
    from ncsi.export import SHEET_ABOUT, SHEET_RANKINGS, export_rankings
    q = Query(published_store)
    year = max(q.published_years())
    data = common.year_export(url_of(published_store), q.published_releases(), year, "en")
    ours = load_workbook(io.BytesIO(data))
    theirs = load_workbook(export_rankings(published_store, year, "xlsx",
                                           tmp_path / "x.xlsx", lang="en"))
    assert ours.sheetnames == theirs.sheetnames == [SHEET_RANKINGS, SHEET_ABOUT]
    rows = [[c.value for c in r] for r in ours[SHEET_RANKINGS].iter_rows()]
    assert rows == [[c.value for c in r] for r in theirs[SHEET_RANKINGS].iter_rows()]
    assert len(rows) > 1 + len(q.industries(year))
