"""Public page: the national, sector and industry satisfaction indices over the published years,
with their confidence intervals as bands, and where an industry's comparison with the previous
year failed (the invariance ``flags`` of its score rows) a red ✗ and the reason."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import charts, common, ui
from dashboards.common import Context


def comparability_table(frame: pd.DataFrame, t: ui.Texts) -> pd.DataFrame:
    """One row per industry-year whose score was compared with the previous year: industry,
    year, previous year, comparable (✓/✗), reason (in the language)."""
    rows = []
    for r in frame.itertuples(index=False):
        inv = r.flags.get("invariance") if isinstance(r.flags, dict) else None
        if not isinstance(inv, dict):
            continue
        ok = inv.get("ok")
        rows.append({t("trends.col_industry"): ui.sentence(str(r.name)),
                     t("trends.col_year"): str(int(r.year)),
                     t("trends.col_previous"): "" if inv.get("previous_year") is None
                     else str(int(inv["previous_year"])),
                     t("trends.col_comparable"): "✓" if ok else "✗",
                     t("trends.col_reason"): "" if ok else (t.localized(inv, "reason")
                                                            or t("trends.flag_no_reason"))})
    return pd.DataFrame(rows, columns=[t("trends.col_industry"), t("trends.col_year"),
                                       t("trends.col_previous"), t("trends.col_comparable"),
                                       t("trends.col_reason")])


def trends_page(ctx: Context) -> None:
    t, q, lang = ctx.t, ctx.query, ctx.lang
    st.title(t("trends.title"))
    common.demo_banner(ctx)
    if common.nothing_published(ctx):
        common.footer(ctx)
        return
    level = ui.pct(q.config.significance_level)
    data = common.aggregate_trend(ctx.url, ctx.releases, lang)

    # the nation and its sectors
    top = data[data["level"].isin(["nation", "sector"])].copy()
    top.loc[top["level"] == "nation", "name"] = t("trends.nation")
    top["name"] = [ui.sentence(str(n)) for n in top["name"]]
    st.subheader(t("trends.national_heading"))
    if top.empty:
        st.info(t("chart.empty"))
    else:
        st.plotly_chart(charts.band_figure(top, t, title=t("trends.national_title"),
                                           y_title=t("chart.y"), highlight="nation"),
                        width="stretch", key="trend_national")
        latest = top[(top["level"] == "nation")].sort_values("year")
        if not latest.empty:
            row = latest.iloc[-1]
            st.caption(t("trends.national_caption", year=int(row["year"]),
                         index=t.index(row["index"]), ci=t.ci(row["ci_low"], row["ci_high"]),
                         level=level))

    # the industries of a sector
    st.subheader(t("trends.industry_heading"))
    sectors = q.sectors()
    common.keep_choice("trend_sector", sectors, sectors[0])
    sector = st.selectbox(t("rankings.sector"), sectors, key="trend_sector",
                          format_func=lambda c: ui.sentence(q.sector_name(c, lang)))
    inds = data[(data["level"] == "industry")
                & data["code"].isin(q.industries(sector=sector))].copy()
    inds["name"] = [ui.sentence(str(n)) for n in inds["name"]]
    if inds.empty:
        st.info(t("chart.empty"))
    else:
        name = ui.sentence(q.sector_name(sector, lang))
        st.plotly_chart(charts.band_figure(inds, t, title=t("trends.industry_title",
                                                              sector=name),
                                           y_title=t("chart.y")),
                        width="stretch", key="trend_industries")
        st.caption(t("trends.band_caption", level=level))
        table = comparability_table(inds, t)
        failed = table[table[t("trends.col_comparable")] == "✗"] if not table.empty else table
        if not failed.empty:
            st.warning(t("trends.flag_warning", n=len(failed)), icon="⚠️")
        st.markdown(f"**{t('trends.comparability_heading')}**")
        if table.empty:
            st.caption(t("trends.no_comparisons"))
        else:
            st.dataframe(table, hide_index=True, key="comparability_table")
        st.caption(t("trends.comparability_caption"))
    common.footer(ctx)


common.run(trends_page)
