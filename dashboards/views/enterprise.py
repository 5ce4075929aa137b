"""Enterprise page (sign-in: enterprise, analyst or admin): an enterprise's quality-management
maturity and its graded evaluation (A/AA/AAA) with the rulebook's explanation, from the
published releases' ``maturity`` and ``grades`` results.

The enterprise's maturity index is shown against the national, size-class, industry and regional
means (with their CIs), and its category profile (each category's score as % of its points)
against the national profile on a radar and in a table. Releases published before the
per-enterprise category scores were kept show the national profile alone, and say so.

An enterprise account sees only the enterprises it is bound to: the enterprise asked for — by
the selector or by ``?enterprise=`` in the address — is checked with
``Session.can_see_enterprise`` on the server on every run.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import charts, common, ui
from dashboards.common import PRIVILEGED, Context

CHOICE = "enterprise_choice"
ASKED = "_enterprise_asked"


def choose_enterprise(ctx: Context, session) -> str | None:
    t = ctx.t
    known = list(ctx.query.enterprises()["enterprise_id"])
    wanted = common.asked("enterprise")
    if wanted is not None:
        if not common.may_see_enterprise(session, wanted):
            common.refuse(ctx, "enterprise.refused", enterprise=wanted)
        if wanted != st.session_state.get(ASKED):
            st.session_state[ASKED] = wanted
            st.session_state[CHOICE] = wanted
    if session.role in PRIVILEGED:
        options = known
    else:
        options = [e for e in session.enterprises if e in set(known)]
    if not options:
        st.info(t("enterprise.none_bound") if session.role not in PRIVILEGED
                else t("enterprise.none"))
        return None
    common.keep_choice(CHOICE, options, options[0])
    eid = st.selectbox(t("enterprise.enterprise"), options, key=CHOICE)
    if not common.may_see_enterprise(session, eid):
        common.refuse(ctx, "enterprise.refused", enterprise=eid)
    st.session_state[ASKED] = eid
    st.query_params["enterprise"] = eid
    return eid


def maturity_section(ctx: Context, eid: str, year: int) -> None:
    t, q, lang = ctx.t, ctx.query, ctx.lang
    row = q.maturity_enterprise(year, eid)
    if row is None:
        st.info(t("enterprise.no_maturity", year=year))
        return
    m = q.maturity(year) or {}
    c1, c2, c3 = st.columns(3)
    c1.metric(t("enterprise.metric_total"), t.number(row.get("total"), 1))
    c2.metric(t("enterprise.metric_index"), t.index(row.get("index")))
    c3.metric(t("enterprise.metric_level"),
              t("enterprise.level", level=row.get("level") or "—",
                name=ui.maturity_name("level", row["level"], lang)
                if row.get("level") is not None else ""))
    st.caption(t("enterprise.cell", region=ui.maturity_name("region", row.get("region"), lang),
                 size=ui.maturity_name("size", row.get("size"), lang),
                 industry=ui.maturity_name("industry", row.get("industry"), lang)))

    def group(dim: str):
        for r in (m.get("subgroups") or {}).get(dim) or []:
            if r.get("group") == row.get(dim):
                return r
        return None

    nat = m.get("national") or {}
    bars = [{"label": t("enterprise.this_enterprise", enterprise=eid),
             "value": row.get("index"), "strong": True},
            {"label": t("maturity.national"), "value": nat.get("index"),
             "ci_low": nat.get("ci_low"), "ci_high": nat.get("ci_high")}]
    for dim in ("size", "industry", "region"):
        g = group(dim)
        if g is not None:
            bars.append({"label": t("enterprise.mean_of", dimension=t(f"maturity.dim_{dim}"),
                                    group=ui.maturity_name(dim, g["group"], lang)),
                         "value": g.get("index"), "ci_low": g.get("ci_low"),
                         "ci_high": g.get("ci_high")})
    st.plotly_chart(charts.compare_bars(bars, t, title=t("enterprise.compare_title", year=year),
                                        x_title=t("maturity.index_axis"), x_range=(0, 100)),
                    width="stretch", key="enterprise_compare")
    cat_names = {c: ui.maturity_name("category", c, lang)
                 for c in ui.maturity_labels()["category"]}
    national = ui.category_percent(m)
    own = enterprise_percent(row, m)
    if own:
        profiles = [(t("enterprise.this_enterprise", enterprise=eid), own),
                    (t("maturity.national"), national)]
        title = t("enterprise.radar_title", year=year)
    else:       # a release published before per-enterprise category scores were kept
        st.info(t("enterprise.no_categories"), icon="ℹ️")
        profiles = [(t("maturity.national"), national)]
        title = t("enterprise.radar_title_national", year=year)
    st.plotly_chart(charts.category_radar(profiles, cat_names, t, title=title),
                    width="stretch", key="enterprise_radar")
    if own:
        st.dataframe(category_table(own, national, cat_names, t), hide_index=True,
                     key="enterprise_categories")


def enterprise_percent(row: dict, maturity: dict) -> dict[str, float]:
    """The enterprise's category scores as % of each category's points ({} when the release
    holds no per-enterprise category scores)."""
    points = {c["category"]: float(c["points"]) for c in maturity.get("categories") or []
              if c.get("points")}
    own = row.get("categories") or {}
    return {c: 100.0 * float(v) / points[c] for c, v in own.items()
            if v is not None and c in points}


def category_table(own: dict, national: dict, names: dict, t: ui.Texts) -> pd.DataFrame:
    """Per category: the enterprise's % of points, the national mean's and the gap."""
    cats = [c for c in names if c in own]
    return pd.DataFrame({
        t("enterprise.col_category"): [names[c] for c in cats],
        t("enterprise.col_own"): [t.number(own[c], 1) for c in cats],
        t("enterprise.col_national"): [t.number(national.get(c), 1) for c in cats],
        t("enterprise.col_gap"): [t.points(own[c] - national[c]) if c in national else "—"
                                  for c in cats]})


def grade_section(ctx: Context, eid: str, year: int) -> None:
    t, q = ctx.t, ctx.query
    g = q.grade(year, eid)
    if g is None:
        st.info(t("enterprise.no_grade", year=year))
        return
    summary = q.grades_summary(year) or {}
    graded = g.get("status") == "graded"
    c1, c2 = st.columns([1, 3])
    c1.metric(t("enterprise.metric_grade"), g.get("grade") if graded and g.get("grade")
              else t("enterprise.not_graded"))
    c2.markdown(f"**{t('enterprise.reason')}**  \n{t.localized(g, 'reason')}")
    st.caption(t("enterprise.grade_caption", version=summary.get("rulebook_version", "—"),
                 maturity_year=summary.get("maturity_year", "—"),
                 brand=ctx.query.brand_name(g["brand"], ctx.lang)
                 if isinstance(g.get("brand"), str) and g.get("brand") else "—"))
    for k, rule in enumerate(g.get("explanation") or []):
        outcome = str(rule.get("outcome") or "").replace(" ", "_")
        label = t(f"grades.outcome_{outcome}") if t.has(f"grades.outcome_{outcome}") \
            else str(rule.get("outcome"))
        # ✓ = good for the enterprise (a grade met, an exclusion not applying), ✗ = not
        icon = {"met": "✓", "does_not_apply": "✓", "missed": "✗", "applies": "✗"}.get(
            outcome, "?")
        with st.expander(f"{icon} {t.pick(rule)} — {label}",
                         expanded=(rule.get("kind") == "grade" and rule.get("met") is True)):
            conds = rule.get("conditions") or []
            st.dataframe(pd.DataFrame({
                t("grades.col_condition"): [t.pick(c) for c in conds],
                t("grades.col_value"): [value_text(c.get("value"), t) for c in conds],
                t("grades.col_threshold"): [threshold_text(c, t) for c in conds],
                t("grades.col_met"): [met_text(c.get("met"), t) for c in conds],
                t("grades.col_margin"): [value_text(c.get("margin"), t) for c in conds]}),
                hide_index=True, key=f"grade_rule_{k}")
            missing = rule.get("missing") or []
            if missing:
                st.caption(t("grades.missing", inputs=", ".join(str(x) for x in missing)))


def value_text(v, t: ui.Texts) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return t.yes_no(v)
    if isinstance(v, (int, float)):
        return t.number(v, 0 if float(v).is_integer() else 1)
    return str(v)


def threshold_text(c: dict, t: ui.Texts) -> str:
    op = str(c.get("op") or "")
    if c.get("ref"):
        ref = t.pick(c, "ref_zh", "ref_en") or str(c["ref"])
        off = c.get("offset") or 0
        base = f"{op} {ref}" + (f" {t.points(off)}" if off else "")
        if c.get("ref_value") is not None:
            base += f" ({value_text(c['ref_value'] + (off or 0), t)})"
        return base
    return f"{op} {value_text(c.get('threshold'), t)}"


def met_text(v, t: ui.Texts) -> str:
    if v is None:
        return t("grades.not_assessed")
    return "✓" if v else "✗"


def enterprise_page(ctx: Context) -> None:
    t, q = ctx.t, ctx.query
    session = common.require(ctx, "enterprise", "analyst", "admin")
    st.title(t("enterprise.title"))
    common.demo_banner(ctx)
    eid = choose_enterprise(ctx, session)
    if eid is None:
        return
    years = sorted({y for y in q.maturity_years() if q.maturity_enterprise(y, eid)}
                   | {y for y in q.grade_years() if q.grade(y, eid)}, reverse=True)
    if not years:
        st.info(t("enterprise.nothing", enterprise=eid))
        return
    common.keep_choice("enterprise_year", years, years[0])
    year = st.selectbox(t("rankings.year"), years, key="enterprise_year",
                        format_func=lambda y: t("rankings.year_option", year=y))
    st.subheader(t("enterprise.maturity_heading", enterprise=eid, year=year))
    maturity_section(ctx, eid, int(year))
    st.subheader(t("enterprise.grade_heading", enterprise=eid, year=year))
    grade_section(ctx, eid, int(year))
    st.caption(t("enterprise.footer"))
    common.footer(ctx)


common.run(enterprise_page)
