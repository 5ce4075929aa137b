"""Public page: the customer-satisfaction ranking of an industry in a year (methodology §9 rows,
published releases only), its CSV/XLSX download — exactly the table shown — and the trend of
the industry's brands."""

from __future__ import annotations

import streamlit as st

from dashboards import common, ui
from dashboards.common import Context


def rankings_page(ctx: Context) -> None:
    t, q, lang = ctx.t, ctx.query, ctx.lang
    st.title(t("rankings.title"))
    common.demo_banner(ctx)
    if common.nothing_published(ctx):
        common.footer(ctx)
        return

    sectors = q.sectors()
    c1, c2, c3 = st.columns([2, 2, 1])
    common.keep_choice("sector", sectors, sectors[0])
    sector = c1.selectbox(t("rankings.sector"), sectors, key="sector",
                          format_func=lambda c: ui.sentence(q.sector_name(c, lang)))
    industries = q.industries(sector=sector)
    common.keep_choice("industry", industries, industries[0])
    industry = c2.selectbox(t("rankings.industry"), industries, key="industry",
                            format_func=lambda c: ui.sentence(q.industry_name(c, lang)))
    years = sorted(q.industry_years(industry), reverse=True)  # latest first = default
    common.keep_choice("year", years, years[0])
    year = c3.selectbox(t("rankings.year"), years, key="year",
                        format_func=lambda y: t("rankings.year_option", year=y))

    industry_name = q.industry_name(industry, lang)
    st.subheader(ui.sentence(t("rankings.heading", industry=industry_name, year=year)))
    view = common.ranking_view(ctx.url, ctx.releases, int(year), industry, lang)
    # the trend chart is drawn only when its tab is open: plotly is the page's heaviest part in
    # the browser, and the ranking table is what a visitor comes for
    tab_table, tab_trend = st.tabs([t("rankings.tab_table"), t("rankings.tab_trend")],
                                   key="rankings_tab", on_change="rerun")
    if tab_table.open is not False:
        with tab_table:
            table_section(ctx, view, industry, industry_name, int(year))
    if tab_trend.open:
        with tab_trend:
            trend_section(ctx, industry, int(year))
    common.footer(ctx)


def table_section(ctx: Context, view: dict, industry: str, industry_name: str,
                  year: int) -> None:
    t, q, lang = ctx.t, ctx.query, ctx.lang
    if view["table"] is None:
        st.info(ui.sentence(t("rankings.nothing", industry=industry_name, year=year)))
    else:
        table = view["table"]
        st.dataframe(ui.style_table(table, view["is_industry"]), hide_index=True,
                     key="ranking_table",
                     column_config={c: st.column_config.TextColumn(alignment="right")
                                    for c in ui.right_aligned_columns(table)})
        st.caption(t("rankings.caption", year=year, nm=t("table.nm"),
                     min_n=q.config.min_valid_n, level=ui.pct(q.config.significance_level)))
        stem = f"ncsi-ranking-{industry}-{year}-{lang}"
        buttons = st.container(horizontal=True)
        buttons.download_button(t("download.csv"), view["csv"],
                                file_name=f"{stem}.csv", mime="text/csv", key="download_csv",
                                on_click="ignore")
        buttons.download_button(
            t("download.xlsx"), view["xlsx"], file_name=f"{stem}.xlsx", key="download_xlsx",
            on_click="ignore",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        # the whole year, every industry, as `ncsi export` writes it — made only when clicked
        buttons.download_button(
            t("download.year_xlsx", year=year),
            lambda: common.year_export(ctx.url, ctx.releases, int(year), lang),
            file_name=f"ncsi-rankings-{year}-{lang}.xlsx", key="download_year",
            on_click="ignore", help=t("download.year_help", year=year),
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")



def trend_section(ctx: Context, industry: str, year: int) -> None:
    t, q = ctx.t, ctx.query
    figure = common.trend_chart(ctx.url, ctx.releases, industry, ctx.lang, year)
    if figure is None:
        st.info(t("chart.empty"))
    else:
        st.plotly_chart(figure, width="stretch", key="trend_chart")
        st.caption(t("chart.caption", level=ui.pct(q.config.significance_level)))


common.run(rankings_page)
