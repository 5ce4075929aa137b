"""Public page: the quality-management maturity of manufacturers (methodology §8) from the
published releases' ``maturity`` results — national and subgroup indices over the waves with
their confidence bands, the share of enterprises at each level, the national category profile
and the structure checks. Never a single enterprise's row."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import charts, common, ui
from dashboards.common import Context

DIMENSIONS = ("region", "size", "industry")


def national_frame(results: dict[int, dict], t: ui.Texts) -> pd.DataFrame:
    rows = [{"code": "national", "name": t("maturity.national"), "year": y,
             "index": m["national"].get("index"), "ci_low": m["national"].get("ci_low"),
             "ci_high": m["national"].get("ci_high")}
            for y, m in sorted(results.items()) if (m.get("national") or {}).get("index")
            is not None]
    return pd.DataFrame(rows, columns=["code", "name", "year", "index", "ci_low", "ci_high"])


def subgroup_frame(results: dict[int, dict], dim: str, lang: str) -> pd.DataFrame:
    rows = []
    for y, m in sorted(results.items()):
        for r in (m.get("subgroups") or {}).get(dim) or []:
            if r.get("index") is None:
                continue
            rows.append({"code": r["group"], "name": ui.maturity_name(dim, r["group"], lang),
                         "year": y, "index": r["index"], "ci_low": r.get("ci_low"),
                         "ci_high": r.get("ci_high"), "n": r.get("n")})
    return pd.DataFrame(rows, columns=["code", "name", "year", "index", "ci_low", "ci_high",
                                       "n"])


def change_text(m: dict, t: ui.Texts) -> str:
    ch = m.get("change")
    if not ch:
        return t("maturity.change_none")
    if not ch.get("comparable"):
        return t("maturity.change_not_comparable", year=ch.get("previous_year"),
                 reason=ch.get("reason") or "")
    nat = ch.get("national") or {}
    sig = t("maturity.significant") if nat.get("significant") else t("maturity.not_significant")
    return t("maturity.change", year=ch.get("previous_year"), points=t.points(nat.get("points")),
             percent=t.percent(nat.get("percent")), significance=sig)


def maturity_page(ctx: Context) -> None:
    t, q, lang = ctx.t, ctx.query, ctx.lang
    st.title(t("maturity.title"))
    common.demo_banner(ctx)
    years = q.maturity_years()
    if not years:
        st.info(t("maturity.none"), icon="ℹ️")
        common.footer(ctx)
        return
    results = {y: q.maturity(y) for y in years}
    level = ui.pct(q.config.significance_level)
    latest_year = years[-1]
    latest = results[latest_year]
    nat = latest["national"]

    st.subheader(t("maturity.national_heading"))
    c1, c2, c3 = st.columns(3)
    c1.metric(t("maturity.metric_index", year=latest_year), t.index(nat.get("index")),
              delta=(t.points(((latest.get("change") or {}).get("national") or {})
                              .get("points")) or None),
              delta_color="normal")
    c2.metric(t("maturity.metric_ci", level=level), t.ci(nat.get("ci_low"), nat.get("ci_high")))
    c3.metric(t("maturity.metric_n"), t.count(latest.get("n_scored", latest.get("n"))))
    st.caption(change_text(latest, t))
    frame = national_frame(results, t)
    st.plotly_chart(charts.band_figure(frame, t, title=t("maturity.national_title"),
                                       y_title=t("maturity.index_axis"), highlight="national"),
                    width="stretch", key="maturity_national")

    st.subheader(t("maturity.subgroup_heading"))
    common.keep_choice("maturity_dim", list(DIMENSIONS), "size")
    dim = st.segmented_control(t("maturity.dimension"), list(DIMENSIONS), key="maturity_dim",
                               format_func=lambda d: t(f"maturity.dim_{d}"))
    dim = dim or "size"
    groups = subgroup_frame(results, dim, lang)
    if groups.empty:
        st.info(t("chart.empty"))
    else:
        st.plotly_chart(charts.band_figure(groups, t, title=t("maturity.subgroup_title",
                                                               dimension=t(f"maturity.dim_{dim}")),
                                           y_title=t("maturity.index_axis")),
                        width="stretch", key="maturity_subgroups")
        now = groups[groups["year"] == latest_year]
        table = pd.DataFrame({
            t(f"maturity.dim_{dim}"): list(now["name"]),
            t("maturity.col_index"): [t.index(v) for v in now["index"]],
            t("maturity.col_ci", level=level): [t.ci(a, b) for a, b in
                                                zip(now["ci_low"], now["ci_high"])],
            t("maturity.col_n"): [t.count(v) for v in now["n"]]})
        st.dataframe(table, hide_index=True, key="maturity_subgroup_table")
        test = (latest.get("tests") or {}).get(dim) or {}
        if test:
            st.caption(t("maturity.test_caption", year=latest_year,
                         dimension=t(f"maturity.dim_{dim}"),
                         statistic=t.number(test.get("statistic"), 2), df=test.get("df"),
                         p=t.pvalue(test.get("p"))))

    st.subheader(t("maturity.shares_heading"))
    shares = {y: m.get("level_shares") or {} for y, m in results.items()}
    names = {lvl: ui.maturity_name("level", lvl, lang)
             for lvl in ui.maturity_labels()["level"]}
    st.plotly_chart(charts.level_shares_figure(shares, names, t), width="stretch",
                    key="maturity_shares")
    st.caption(t("maturity.shares_caption"))

    st.subheader(t("maturity.categories_heading"))
    cat_names = {c: ui.maturity_name("category", c, lang)
                 for c in ui.maturity_labels()["category"]}
    profiles = [(t("maturity.profile_label", year=y), ui.category_percent(results[y]))
                for y in reversed(years)]
    st.plotly_chart(charts.category_radar(profiles[:3], cat_names, t,
                                          title=t("maturity.categories_title")),
                    width="stretch", key="maturity_radar")
    cats = latest.get("categories") or []
    st.dataframe(pd.DataFrame({
        t("maturity.col_category"): [cat_names.get(c["category"], c["category"]) for c in cats],
        t("maturity.col_points"): [t.count(c.get("points")) for c in cats],
        t("maturity.col_score"): [t.number(c.get("index"), 1) for c in cats],
        t("maturity.col_percent"): [t.number(100 * c["index"] / c["points"], 1)
                                    if c.get("index") is not None and c.get("points") else ""
                                    for c in cats]}), hide_index=True,
        key="maturity_category_table")
    st.caption(t("maturity.categories_caption", year=latest_year))

    structure = latest.get("structure") or {}
    rel = structure.get("reliability") or []
    fit = (structure.get("cfa") or {}).get("fit") or {}
    if rel or fit:
        with st.expander(t("maturity.structure_heading")):
            if fit:
                st.caption(t("maturity.cfa_caption", cfi=t.number(fit.get("cfi"), 3),
                             rmsea=t.number(fit.get("rmsea"), 3),
                             srmr=t.number(fit.get("srmr"), 3)))
            if rel:
                st.dataframe(pd.DataFrame({
                    t("maturity.col_category"): [cat_names.get(r["category"], r["category"])
                                                 for r in rel],
                    "α": [t.number(r.get("alpha"), 2) for r in rel],
                    "ω": [t.number(r.get("omega"), 2) for r in rel]}), hide_index=True,
                    key="maturity_reliability")
    st.caption(t("maturity.footer", n=t.count(latest.get("n")), year=latest_year))
    common.footer(ctx)


common.run(maturity_page)
