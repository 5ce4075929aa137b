"""NCSI public dashboard (Streamlit): ``streamlit run dashboards/app.py``.

Reads published releases ONLY, through :class:`ncsi.query.Query` on the store at
``NCSI_DATABASE_URL`` (default :func:`ncsi.config.database_url`). Every label comes from
``dashboards/i18n/{zh,en}.yaml``; the sidebar switches the language (Chinese by default).

Pages are registered with ``st.navigation`` (see :func:`pages`); later pages — trends, maturity,
methodology, enterprise login, analyst workspace — are one more ``st.Page`` each, drawing on the
same :func:`context`.

Caching: the Store is a cached resource per URL; the Query (which holds the published scores) is
a cached resource per (URL, published releases). The list of published releases is read afresh
on every run — one small query — so a newly published release appears on the next interaction or
page load, without a time-to-live.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from dashboards import ui  # noqa: E402
from ncsi import config  # noqa: E402
from ncsi.errors import NCSIError  # noqa: E402
from ncsi.query import Query  # noqa: E402
from ncsi.scoring import ranking_year_columns  # noqa: E402
from ncsi.store import Store  # noqa: E402


# --------------------------------------------------------------------------------------------
# data access (published data only, through ncsi.query)
# --------------------------------------------------------------------------------------------

@st.cache_resource(show_spinner=False)
def _store(url: str) -> Store:
    store = Store(url)
    store.upgrade()  # idempotent; a new, empty database gets its schema
    return store


@st.cache_resource(show_spinner=False)
def _release_reader(url: str) -> Query:
    """A Query used only for :meth:`Query.published_releases` (which never caches)."""
    return Query(_store(url))


@st.cache_resource(show_spinner=False, max_entries=8)
def _query(url: str, releases: tuple) -> Query:
    """The Query over the published releases ``releases`` (its scores are read once)."""
    return Query(_store(url))


@st.cache_data(show_spinner=False, max_entries=256)
def _ranking(url: str, releases: tuple, year: int, industry: str, lang: str) -> pd.DataFrame:
    return _query(url, releases).ranking(year, industry, lang=lang)


@st.cache_data(show_spinner=False, max_entries=256)
def _trend(url: str, releases: tuple, industry: str, lang: str) -> pd.DataFrame:
    return _query(url, releases).trend(industry, lang=lang)


@dataclass
class Context:
    """What every page gets: the texts of the chosen language and the published data."""
    t: ui.Texts
    url: str
    releases: tuple
    query: Query

    @property
    def lang(self) -> str:
        return self.t.lang


def _error_text(exc: NCSIError, lang: str) -> str:
    if lang == "zh" and exc.message_zh:
        return exc.message_zh
    return exc.full_message()


# --------------------------------------------------------------------------------------------
# sidebar and shared frame
# --------------------------------------------------------------------------------------------

def language_switch() -> ui.Texts:
    """The sidebar language switch (Chinese by default, or ``?lang=en`` in the address on the
    first load); returns the chosen texts."""
    if st.session_state.get("lang") not in ui.LANGS:
        asked = st.query_params.get("lang")
        st.session_state["lang"] = asked if asked in ui.LANGS else ui.DEFAULT_LANG
    t = ui.Texts(st.session_state["lang"])
    st.sidebar.radio(t("language.label"), ui.LANGS, key="lang", horizontal=True,
                     format_func=lambda code: t(f"language.{code}"))
    return ui.Texts(st.session_state["lang"])


def context(t: ui.Texts) -> Context | None:
    """Open the store and the Query; on failure show the error and return None."""
    url = config.database_url()
    try:
        reader = _release_reader(url)
        releases = reader.published_releases()
        query = _query(url, releases)
    except NCSIError as exc:
        st.error(t("error.store", message=_error_text(exc, t.lang)))
        return None
    return Context(t=t, url=url, releases=releases, query=query)


def demo_banner(ctx: Context) -> None:
    if ctx.query.is_demo():
        st.warning(ctx.t("demo.banner"), icon="⚠️")


def nothing_published(ctx: Context) -> bool:
    """Show the friendly message when no release is published; True when shown."""
    if ctx.releases and ctx.query.published_years() and ctx.query.sectors():
        return False
    st.info(f"**{ctx.t('empty.title')}**\n\n{ctx.t('empty.body')}", icon="ℹ️")
    return True


def footer(ctx: Context) -> None:
    t, cfg = ctx.t, ctx.query.config
    st.divider()
    st.caption(t("footer.method"))
    st.caption(t("footer.bands", bands=t.bands_legend(cfg.bands)))
    st.caption(t("footer.significance", level=ui.pct(cfg.significance_level),
                 min_n=cfg.min_valid_n))


def _keep_choice(key: str, options: list, default) -> None:
    """Before a selector is drawn: drop a remembered choice that is no longer offered."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = default


# --------------------------------------------------------------------------------------------
# page: rankings
# --------------------------------------------------------------------------------------------

def rankings_page(ctx: Context) -> None:
    t, q, lang = ctx.t, ctx.query, ctx.lang
    st.title(t("rankings.title"))
    demo_banner(ctx)
    if nothing_published(ctx):
        footer(ctx)
        return

    sectors = q.sectors()
    c1, c2, c3 = st.columns([2, 2, 1])
    _keep_choice("sector", sectors, sectors[0])
    sector = c1.selectbox(t("rankings.sector"), sectors, key="sector",
                          format_func=lambda c: ui.sentence(q.sector_name(c, lang)))
    industries = q.industries(sector=sector)
    _keep_choice("industry", industries, industries[0])
    industry = c2.selectbox(t("rankings.industry"), industries, key="industry",
                            format_func=lambda c: ui.sentence(q.industry_name(c, lang)))
    years = sorted(q.industry_years(industry), reverse=True)  # latest first = default
    _keep_choice("year", years, years[0])
    year = c3.selectbox(t("rankings.year"), years, key="year",
                        format_func=lambda y: t("rankings.year_option", year=y))

    industry_name = q.industry_name(industry, lang)
    st.subheader(ui.sentence(t("rankings.heading", industry=industry_name, year=year)))
    ranking = _ranking(ctx.url, ctx.releases, int(year), industry, lang)
    if ranking.empty:
        st.info(ui.sentence(t("rankings.nothing", industry=industry_name, year=year)))
    else:
        table, is_industry = ui.ranking_table(ranking, t)
        st.dataframe(ui.style_table(table, is_industry), hide_index=True, key="ranking_table",
                     column_config={c: st.column_config.TextColumn(alignment="right")
                                    for c in ui.right_aligned_columns(table)})
        st.caption(t("rankings.caption", year=year, nm=t("table.nm"),
                     min_n=q.config.min_valid_n, level=ui.pct(q.config.significance_level)))
        stem = f"ncsi-ranking-{industry}-{year}-{lang}"
        buttons = st.container(horizontal=True)
        buttons.download_button(t("download.csv"), ui.table_csv(table),
                                file_name=f"{stem}.csv", mime="text/csv", key="download_csv",
                                on_click="ignore")
        buttons.download_button(
            t("download.xlsx"),
            ui.table_xlsx(table, t("download.sheet"), ranking_year_columns(ranking)),
            file_name=f"{stem}.xlsx", key="download_xlsx", on_click="ignore",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    trend = _trend(ctx.url, ctx.releases, industry, lang)
    if trend.empty:
        st.info(t("chart.empty"))
    else:
        st.plotly_chart(ui.trend_figure(trend, industry_name, t, selected_year=int(year)),
                        width="stretch", key="trend_chart")
        st.caption(t("chart.caption", level=ui.pct(q.config.significance_level)))
    footer(ctx)


# --------------------------------------------------------------------------------------------
# the app
# --------------------------------------------------------------------------------------------

def pages(ctx_t: ui.Texts, run_with_context) -> list:
    """The registered pages. Add later pages here (one ``st.Page`` each)."""
    return [
        st.Page(lambda: run_with_context(rankings_page), title=ctx_t("nav.rankings"),
                icon="🏆", url_path="rankings", default=True),
    ]


def main() -> None:
    lang = st.session_state.get("lang")
    title = ui.Texts(lang if lang in ui.LANGS else ui.DEFAULT_LANG)("app.short")
    st.set_page_config(page_title=title,
                       page_icon="📊", layout="wide", initial_sidebar_state="expanded")
    t = language_switch()
    st.sidebar.caption(t("app.tagline"))

    def run_with_context(page) -> None:
        ctx = context(t)
        if ctx is not None:
            page(ctx)

    st.navigation(pages(t, run_with_context), position="sidebar").run()


main()
