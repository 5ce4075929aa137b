"""Enterprise page (sign-in: enterprise, analyst or admin): one brand against its industry in the
published releases — score, CI, rank, percentile, change and its significance; every construct
against the industry; the drivers of satisfaction and the importance–performance map of the
published fit; the items' importance and the industry's performance; the multi-year trend.

An enterprise account sees only the brands it is bound to: the brand asked for — by the
selector or by ``?brand=`` in the address — is checked with ``Session.can_see_brand`` on the
server on every run, and a brand it may not see is refused before anything of it is read.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import charts, common, ui
from dashboards.common import PRIVILEGED, Context

CHOICE = "brand_choice"
ASKED = "_brand_asked"


def choose_brand(ctx: Context, session) -> str | None:
    """The brand to show: a selector over the brands this session may see (an enterprise's own
    ones; every published brand for analysts/admins), seeded from ``?brand=``. Refuses (and
    stops) a brand the session may not see."""
    t, q, lang = ctx.t, ctx.query, ctx.lang
    published = q.published_brands()
    wanted = common.asked("brand")
    if wanted is not None:
        if not common.may_see_brand(session, wanted):
            common.refuse(ctx, "brand.refused", brand=wanted)
        if wanted != st.session_state.get(ASKED):  # a new address: it picks the brand
            st.session_state[ASKED] = wanted
            st.session_state[CHOICE] = wanted
    if session.role in PRIVILEGED:
        options = published
    else:
        options = [b for b in session.brands if b in set(published)]
    if not options:
        st.info(t("brand.none_bound") if session.role not in PRIVILEGED else t("brand.none"))
        return None
    common.keep_choice(CHOICE, options, options[0])
    brand = st.selectbox(t("brand.brand"), options, key=CHOICE,
                         format_func=lambda b: f"{q.brand_name(b, lang)} ({b})")
    if not common.may_see_brand(session, brand):  # whatever the widget was sent
        common.refuse(ctx, "brand.refused", brand=brand)
    st.session_state[ASKED] = brand
    st.query_params["brand"] = brand
    return brand


def headline(ctx: Context, brand: str, industry: str, year: int) -> None:
    t, q, lang = ctx.t, ctx.query, ctx.lang
    level = ui.pct(q.config.significance_level)
    ranking = q.ranking(year, industry, lang=lang, flags=True)
    sat = q.brand_scores(brand)
    sat = sat[(sat["construct"] == q.config.index_construct) & (sat["year"] == year)]
    ind = q.industry_scores(industry)
    ind = ind[(ind["construct"] == q.config.index_construct) & (ind["year"] == year)]
    if ranking.empty or sat.empty or brand not in set(ranking["code"]):
        st.info(t("brand.no_score", year=year))
        return
    table, _ = ui.ranking_table(ranking, t)
    pos = list(ranking["code"]).index(brand)
    row = ranking.iloc[pos]
    score = row[str(year)]
    brands = ranking[(ranking["level"] == "brand")][str(year)].dropna().astype(float)
    rank = table.iloc[pos][t("table.rank")]
    s = sat.iloc[0]
    publishable = bool(s["publishable"]) and pd.notna(score)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(t("brand.metric_score", year=year), t.index(score if publishable else None),
              delta=(t.points(row["change_points"]) or None) if publishable else None)
    c2.metric(t("brand.metric_ci", level=level),
              t.ci(s["ci_low"], s["ci_high"]) if publishable else "—")
    c3.metric(t("brand.metric_rank", n=len(brands)), rank or "—")
    if publishable and len(brands) > 1:
        below = int((brands < float(score)).sum())
        pct = 100.0 * below / (len(brands) - 1)
        c4.metric(t("brand.metric_percentile"), t("brand.percentile", value=t.number(pct, 0)))
    else:
        c4.metric(t("brand.metric_percentile"), "—")
    i = ind.iloc[0] if not ind.empty else None
    change = ""
    if publishable and pd.notna(row["change_points"]):
        mark = row["mark"] if isinstance(row["mark"], str) and row["mark"] else ""
        sig = t("brand.significant", level=level) if bool(row["significant"]) else \
            t("brand.not_significant", level=level)
        change = t("brand.change", points=t.points(row["change_points"]),
                   percent=t.percent(row["change_percent"]), mark=mark, significance=sig)
    st.caption(t("brand.headline_caption",
                 industry=q.industry_name(industry, lang),
                 index=t.index(i["index"]) if i is not None else "—",
                 ci=t.ci(i["ci_low"], i["ci_high"]) if i is not None else "",
                 band=t.band(row["band"]) if publishable else t("table.nm"),
                 n=t.count(row["n"]), change=change))
    if not publishable:
        st.warning(t("brand.not_publishable", min_n=q.config.min_valid_n), icon="⚠️")
    inv = charts.invariance_failed(row["flags"])
    if inv:
        st.warning(t("brand.flag", reason=t.localized(inv, "reason")), icon="⚠️")


def constructs_section(ctx: Context, brand: str, industry: str, year: int) -> pd.DataFrame:
    """The brand's and the industry's published index of every construct in ``year``; returns
    the gaps table (construct code → gap) for the drivers section."""
    t, q, lang = ctx.t, ctx.query, ctx.lang
    b = q.brand_scores(brand)
    b = b[(b["year"] == year) & b["publishable"].astype(bool)]
    i = q.industry_scores(industry)
    i = i[i["year"] == year]
    if b.empty or i.empty:
        st.info(t("brand.no_constructs"))
        return pd.DataFrame(columns=["construct", "gap"])
    name = q.brand_name(brand, lang)
    iname = q.industry_name(industry, lang)
    st.plotly_chart(charts.construct_figure(
        b, i, t, brand_name=name, industry_name=iname,
        title=t("brand.constructs_title", brand=name, year=year)),
        width="stretch", key="brand_constructs")
    ii = i.set_index("construct")
    rows = []
    for r in b.itertuples(index=False):
        if r.construct not in ii.index:
            continue
        gap = float(r.index) - float(ii.at[r.construct, "index"])
        rows.append({"construct": r.construct, "gap": gap,
                     t("brand.col_construct"): t.construct(r.construct),
                     t("brand.col_brand"): t.index(r.index),
                     t("brand.col_brand_ci"): t.ci(r.ci_low, r.ci_high),
                     t("brand.col_industry"): t.index(ii.at[r.construct, "index"]),
                     t("brand.col_gap"): t.points(gap)})
    gaps = pd.DataFrame(rows)
    st.dataframe(gaps.drop(columns=["construct", "gap"]), hide_index=True,
                 key="brand_gap_table")
    st.caption(t("brand.constructs_caption", level=ui.pct(q.config.significance_level)))
    return gaps[["construct", "gap"]]


def drivers_section(ctx: Context, brand: str, industry: str, year: int,
                    gaps: pd.DataFrame) -> None:
    t, q, lang = ctx.t, ctx.query, ctx.lang
    drivers = q.drivers(year, industry)
    if not drivers or not drivers.get("impacts"):
        st.info(t("drivers.none", year=year))
        return
    name = q.brand_name(brand, lang)
    iname = q.industry_name(industry, lang)
    impacts = drivers["impacts"]
    st.plotly_chart(charts.impacts_figure(impacts, t, title=t("drivers.impacts_title",
                                                               industry=iname, year=year)),
                    width="stretch", key="drivers_impacts")
    st.caption(t("drivers.impacts_caption", level=ui.pct(q.config.significance_level)))
    b = q.brand_scores(brand)
    b = b[(b["year"] == year) & b["publishable"].astype(bool)].set_index("construct")["index"]
    i = q.industry_scores(industry)
    i = i[i["year"] == year].set_index("construct")["index"]
    st.plotly_chart(charts.ipma_figure(impacts, b.astype(float).to_dict(),
                                       i.astype(float).to_dict(), t, brand_name=name,
                                       industry_name=iname,
                                       title=t("drivers.ipma_title", brand=name, year=year)),
                    width="stretch", key="drivers_ipma")
    st.caption(t("drivers.ipma_caption"))

    st.markdown(f"**{t('drivers.items_heading')}**")
    table, caption = items_table(ctx, brand, industry, year, drivers, gaps)
    st.dataframe(table, hide_index=True, key="drivers_items")
    st.caption(t(caption))


def items_table(ctx: Context, brand: str, industry: str, year: int, drivers: dict,
                gaps: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """(table, caption key) of the questions behind the drivers: importance, industry performance and — when the
    release holds per-brand item means — the brand's and the industry's mean and the gap,
    sorted so the questions where the brand loses most come first (importance × gap)."""
    t, q, lang = ctx.t, ctx.query, ctx.lang
    wording = item_wording(q, industry, lang)
    items = drivers.get("items") or []
    own = q.brand_items(year, industry, brand)
    table = {
        t("drivers.col_construct"): [t.construct(r["construct"]) for r in items],
        t("drivers.col_item"): [f"{r['indicator']} {wording.get(r['indicator'], '')}".strip()
                                for r in items],
        t("drivers.col_importance"): [t.number(r.get("importance"), 3) for r in items],
        t("drivers.col_performance"): [t.index(r.get("performance")) for r in items]}
    if own.empty:
        gap = dict(zip(gaps["construct"], gaps["gap"])) if not gaps.empty else {}
        table[t("drivers.col_driver_gap")] = [t.points(gap.get(r["construct"])) for r in items]
        return pd.DataFrame(table), "drivers.items_caption_driver"
    by = own.set_index("indicator")
    table[t("drivers.col_brand_item")] = [t.index(by.at[r["indicator"], "brand"])
                                          for r in items]
    table[t("drivers.col_industry_item")] = [t.index(by.at[r["indicator"], "industry"])
                                             for r in items]
    table[t("drivers.col_gap")] = [t.points(by.at[r["indicator"], "gap"]) for r in items]
    loss = [(r.get("importance") or 0.0) * (by.at[r["indicator"], "gap"]
                                             if by.at[r["indicator"], "gap"] is not None
                                             else 0.0) for r in items]
    order = sorted(range(len(items)), key=lambda k: loss[k])
    return pd.DataFrame(table).iloc[order].reset_index(drop=True), "drivers.items_caption"


def item_wording(q, industry: str, lang: str) -> dict[str, str]:
    """Item code → its wording in the sector's questionnaire (configuration)."""
    from ncsi.errors import NCSIError
    from ncsi.instruments import load_questionnaire
    try:
        quest = load_questionnaire(q.taxonomy.sector_of(industry).survey)
    except NCSIError:
        return {}
    return {i.code: (i.zh if lang == "zh" else i.en) for i in quest.items}


def trend_section(ctx: Context, brand: str, industry: str) -> None:
    t, q, lang = ctx.t, ctx.query, ctx.lang
    tr = common.trend(ctx.url, ctx.releases, industry, lang)
    part = tr[((tr["level"] == "brand") & (tr["code"] == brand)) | (tr["level"] == "industry")]
    if part.empty:
        st.info(t("chart.empty"))
        return
    part = part.copy()
    iname = q.industry_name(industry, lang)
    part.loc[part["level"] == "industry", "name"] = ui.sentence(iname) + t(
        "chart.industry_suffix")
    st.plotly_chart(charts.band_figure(part, t, title=t("brand.trend_title",
                                                         brand=q.brand_name(brand, lang)),
                                       y_title=t("chart.y"), highlight=industry,
                                       order=[brand, industry]),
                    width="stretch", key="brand_trend")
    st.caption(t("trends.band_caption", level=ui.pct(q.config.significance_level)))


def brand_page(ctx: Context) -> None:
    t, q, lang = ctx.t, ctx.query, ctx.lang
    session = common.require(ctx, "enterprise", "analyst", "admin")
    st.title(t("brand.title"))
    common.demo_banner(ctx)
    if common.nothing_published(ctx):
        return
    brand = choose_brand(ctx, session)
    if brand is None:
        return
    industry = q.brand_industry(brand)
    sat = q.brand_scores(brand)
    years = sorted({int(y) for y in sat.loc[sat["construct"] == q.config.index_construct,
                                            "year"]}, reverse=True)
    if industry is None or not years:
        st.info(t("brand.none"))
        return
    common.keep_choice("brand_year", years, years[0])
    year = st.selectbox(t("rankings.year"), years, key="brand_year",
                        format_func=lambda y: t("rankings.year_option", year=y))
    st.subheader(ui.sentence(t("brand.heading", brand=q.brand_name(brand, lang),
                               industry=q.industry_name(industry, lang), year=year)))
    headline(ctx, brand, industry, int(year))
    tab1, tab2, tab3 = st.tabs([t("brand.tab_industry"), t("brand.tab_drivers"),
                                t("brand.tab_trend")])
    with tab1:
        gaps = constructs_section(ctx, brand, industry, int(year))
    with tab2:
        drivers_section(ctx, brand, industry, int(year), gaps)
    with tab3:
        trend_section(ctx, brand, industry)
    common.footer(ctx)


common.run(brand_page)
