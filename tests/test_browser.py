"""The dashboard in a real browser: ``streamlit run dashboards/app.py`` on a free loopback port,
driven by Playwright's Python API in a headless Chromium (Debian's ``/usr/bin/chromium``; no
``playwright install``), against the test store of ``tests/test_dashboard.py`` (the real
pipeline: 2023 and 2024 published, 2025 a draft, maturity, grades and the demo accounts).

It opens Rankings and measures the time until the ranking table is drawn (inside the page, see
``benchmarks/pagetiming.py``; in a new tab and on a reload), switches to English, downloads the CSV and checks its rows, then signs in as the enterprise user
and sees its own brand only — and is refused another brand asked for by the address.

Screenshots, the downloaded CSV, the measured times (``timings.json``) and the server's log go to
``tests/artifacts/``.
"""

from __future__ import annotations

import io
import json
import statistics
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboards" / "app.py"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

if not CHROMIUM.exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (Debian package 'chromium'); the browser test needs "
                f"it", allow_module_level=True)
sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="Playwright's Python package is not installed (.venv/bin/pip install playwright; "
           "the browser is Debian's /usr/bin/chromium, no `playwright install` needed)")
pytest.importorskip("streamlit")

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dashboards import ui  # noqa: E402
from ncsi.query import Query  # noqa: E402
from ncsi.serving import served_on_loopback  # noqa: E402
from benchmarks.pagetiming import INIT_SCRIPT, table_shown_ms  # noqa: E402
from ncsi.store import Store  # noqa: E402
from tests.test_dashboard import build_dashboard_store  # noqa: E402

EN, ZH = ui.Texts("en"), ui.Texts("zh")
START_TIMEOUT = 90  # seconds for the server to answer its health check
WAIT_MS = 60_000    # for an element to appear


@pytest.fixture(scope="module")
def dash(tmp_path_factory) -> dict:
    return build_dashboard_store(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def server(dash):
    """The dashboard served by ``streamlit run`` on a free loopback port; its base URL."""
    ARTIFACTS.mkdir(exist_ok=True)
    with served_on_loopback(dash["url"], ARTIFACTS / "streamlit.log", app=APP,
                            start_timeout=START_TIMEOUT) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield b
        b.close()


def table_visible(page) -> None:
    page.locator('[data-testid="stDataFrame"]').first.wait_for(state="visible", timeout=WAIT_MS)


def shot(page, name: str) -> Path:
    """A screenshot of the whole page: Streamlit scrolls inside its main container, so the
    window is made as tall as that content first (and set back afterwards)."""
    path = ARTIFACTS / f"{name}.png"
    size = page.viewport_size
    height = page.evaluate(
        """() => Math.max(0, ...Array.from(document.querySelectorAll(
               '[data-testid="stMain"], [data-testid="stMainBlockContainer"]'),
               e => e.scrollHeight))""")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"],
                                                                  min(int(height) + 40, 9000))})
    page.wait_for_timeout(1200)  # the charts re-draw at the new size
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    return path


def sign_in(page, t: ui.Texts, username: str, password: str) -> None:
    side = page.get_by_test_id("stSidebar")
    side.get_by_role("textbox", name=t("auth.username"), exact=True).fill(username)
    side.get_by_role("textbox", name=t("auth.password"), exact=True).fill(password)
    side.get_by_role("button", name=t("auth.login"), exact=True).click()
    side.get_by_text(t("auth.logout"), exact=True).wait_for(timeout=WAIT_MS)


def test_rankings_download_english_and_the_enterprise_user(server, browser, dash):
    store = Store(dash["url"])
    q = Query(store)
    sector = q.sectors()[0]
    industry = q.industries(sector=sector)[0]
    year = max(q.industry_years(industry))
    timings: dict[str, object] = {}

    # -- Rankings: how long until its table is drawn, measured inside the page
    #    (benchmarks/pagetiming.py; Playwright's own wait, timed outside, answers later while
    #    the page is busy): the first load of the server, then new tabs and reloads
    context = browser.new_context(viewport={"width": 1400, "height": 1100},
                                  accept_downloads=True, locale="zh-CN")
    context.add_init_script(INIT_SCRIPT)
    page = context.new_page()
    t0 = time.perf_counter()
    page.goto(server + "/", wait_until="commit")
    table_visible(page)
    timings["playwright_cold_s"] = round(time.perf_counter() - t0, 3)
    timings["rankings_cold_s"] = round(table_shown_ms(page) / 1000, 3)
    page.get_by_role("heading", name=ZH("rankings.title")).wait_for(timeout=WAIT_MS)
    new_tab, reload, outside = [], [], []
    for _ in range(3):
        other = context.new_page()
        t0 = time.perf_counter()
        other.goto(server + "/", wait_until="commit")
        table_visible(other)
        outside.append(time.perf_counter() - t0)
        new_tab.append(table_shown_ms(other) / 1000)
        other.reload(wait_until="commit")
        reload.append(table_shown_ms(other) / 1000)
        other.close()
    timings["rankings_new_tab_s"] = [round(w, 3) for w in new_tab]
    timings["rankings_reload_s"] = [round(w, 3) for w in reload]
    timings["playwright_new_tab_s"] = [round(w, 3) for w in outside]
    timings["rankings_new_tab_median_s"] = round(statistics.median(new_tab), 3)
    timings["rankings_reload_median_s"] = round(statistics.median(reload), 3)
    shot(page, "rankings-zh")

    # -- English
    page.get_by_test_id("stSidebar").get_by_text(EN("language.en"), exact=True).click()
    page.get_by_role("heading", name=EN("rankings.title")).wait_for(timeout=WAIT_MS)
    table_visible(page)
    page.get_by_text(ui.sentence(EN("rankings.heading", industry=q.industry_name(industry, "en"),
                                    year=year))).wait_for(timeout=WAIT_MS)
    shot(page, "rankings-en")

    # -- the CSV download holds exactly the rows of the ranking shown
    with page.expect_download(timeout=WAIT_MS) as info:
        page.get_by_role("button", name=EN("download.csv")).click()
    download = info.value
    data = Path(download.path()).read_bytes()
    (ARTIFACTS / download.suggested_filename).write_bytes(data)
    assert download.suggested_filename == f"ncsi-ranking-{industry}-{year}-en.csv"
    csv = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False,
                      encoding="utf-8-sig")
    expected, _ = ui.ranking_table(q.ranking(year, industry, lang="en"), EN)
    pd.testing.assert_frame_equal(csv, expected)
    assert list(csv[EN("table.brand")]) == list(q.ranking(year, industry, lang="en")["name"])
    assert str(year) in csv.columns and str(year + 1) not in csv.columns  # no draft year

    # -- the enterprise user: its own brand only
    sign_in(page, EN, "brand-owner", dash["users"]["brand-owner"])
    page.get_by_test_id("stSidebarNav").get_by_text(EN("nav.brand"), exact=True).click()
    page.get_by_role("heading", name=EN("brand.title")).wait_for(timeout=WAIT_MS)
    own = f"{q.brand_name(dash['brand'], 'en')} ({dash['brand']})"
    page.get_by_text(EN("brand.metric_score", year=2024)).wait_for(timeout=WAIT_MS)
    select = page.get_by_role("combobox", name=EN("brand.brand"), exact=True)
    assert select.input_value() == own
    page.wait_for_timeout(1500)  # let the charts draw for the screenshot
    shot(page, "brand-enterprise-user")
    page.get_by_test_id("stSelectbox").filter(has=select).get_by_role("button").click()
    options = page.get_by_role("option")
    options.first.wait_for(timeout=WAIT_MS)
    assert options.all_inner_texts() == [own]  # the only brand it may choose
    page.keyboard.press("Escape")
    assert page.get_by_text(q.brand_name(dash["other_brand"], "en")).count() == 0

    # -- a link to another brand: refused, on the server, after signing in
    other_page = context.new_page()
    other_page.goto(f"{server}/brand?brand={dash['other_brand']}&lang=en")
    other_page.get_by_text(EN("auth.sign_in_first")).first.wait_for(timeout=WAIT_MS)
    sign_in(other_page, EN, "brand-owner", dash["users"]["brand-owner"])
    other_page.get_by_text(EN("brand.refused", brand=dash["other_brand"])).first.wait_for(
        timeout=WAIT_MS)
    assert other_page.get_by_test_id("stMetric").count() == 0
    assert other_page.get_by_text(q.brand_name(dash["other_brand"], "en")).count() == 0
    shot(other_page, "brand-other-refused")
    context.close()
    store.close()

    (ARTIFACTS / "timings.json").write_text(json.dumps(timings, indent=2) + "\n",
                                            encoding="utf-8")
    print(f"\nRankings: time until the table is drawn: {timings}")
    # generous bounds: the page must not take a minute; the measured times are reported
    # (benchmarks/dashboard.py measures them against a bare Streamlit page)
    assert 0 < timings["rankings_reload_median_s"] < 15
    assert 0 < timings["rankings_new_tab_median_s"] < 15


def test_public_pages_and_the_analyst_workspace_in_the_browser(server, browser, dash):
    context = browser.new_context(viewport={"width": 1400, "height": 1100}, locale="zh-CN")
    page = context.new_page()
    page.goto(server + "/")
    table_visible(page)
    nav = page.get_by_test_id("stSidebarNav")
    for key, title, name in (("nav.trends", "trends.title", "trends-zh"),
                             ("nav.maturity", "maturity.title", "maturity-zh"),
                             ("nav.methodology", "methodology.title", "methodology-zh")):
        nav.get_by_text(ZH(key), exact=True).click()
        page.get_by_role("heading", name=ZH(title)).wait_for(timeout=WAIT_MS)
        page.wait_for_timeout(1500)
        shot(page, name)
    # the analyst page refuses a visitor …
    nav.get_by_text(ZH("nav.analyst"), exact=True).click()
    page.get_by_text(ZH("auth.sign_in_first")).first.wait_for(timeout=WAIT_MS)
    assert page.get_by_text("2025").count() == 0
    # … and shows the draft to an analyst
    sign_in(page, ZH, "analyst", dash["users"]["analyst"])
    page.get_by_role("heading", name=ZH("analyst.title")).wait_for(timeout=WAIT_MS)
    page.get_by_text(ZH("analyst.htmt_title")).first.wait_for(timeout=WAIT_MS)
    page.get_by_text(ZH("analyst.paths_title")).first.wait_for(timeout=WAIT_MS)
    page.wait_for_timeout(1500)
    shot(page, "analyst-zh")
    nav.get_by_text(ZH("nav.enterprise"), exact=True).click()
    page.get_by_role("heading", name=ZH("enterprise.title")).wait_for(timeout=WAIT_MS)
    page.wait_for_timeout(1500)
    shot(page, "enterprise-analyst-zh")
    context.close()
