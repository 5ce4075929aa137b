"""Analyst workspace (sign-in: analyst or admin): a year's DRAFT release per industry — its
admissibility, reliability and validity, the HTMT heat map, the inner model with its coefficients
and intervals, fit and R² — beside the last published release, and publishing the draft (with a
confirmation and an optional embargo).

This is the only page that reads drafts; it reads them from the Store, after
:func:`dashboards.common.require` has admitted an analyst or an administrator on this very run.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from dashboards import charts, common, ui
from dashboards.common import Context
from ncsi.errors import NCSIError

RELIABILITY_MIN = {"alpha": 0.70, "rho_a": 0.70, "rho_c": 0.70, "ave": 0.50}
FLASH = "analyst_flash"


@st.cache_data(show_spinner=False, max_entries=64)
def _fits(url: str, release_id: int) -> list[dict]:
    """The fits of one release (a release id's fits never change: a rebuilt draft gets a new
    id, and publishing keeps the content)."""
    return common.store_for(url).release_fits(release_id)


def _records(result: dict, key: str) -> list[dict]:
    diag = result.get("diagnostics") or {}
    v = diag.get(key, result.get(key))
    return v if isinstance(v, list) else []


def last_published(store, year: int) -> dict | None:
    """The latest published release before ``year`` (embargoed ones included: the analyst's
    comparison, not the public's)."""
    r = store.releases()
    r = r[(r["status"] == "published") & (r["year"] < year)]
    if r.empty:
        return None
    return store.release(int(r["year"].max()))


def fit_of(fits: list[dict], industry: str) -> dict | None:
    for f in fits:
        if f.get("industry") == industry:
            return f
    return None


def overview(ctx: Context, draft: dict, fits: list[dict], pub: dict | None) -> pd.DataFrame:
    """Per industry of the draft: status, admissibility, n, the draft's industry index and the
    last published one."""
    t, q, lang = ctx.t, ctx.query, ctx.lang
    store = ctx.store
    construct = q.config.index_construct
    ds = store.release_scores(draft["id"])
    ds = ds[(ds["level"] == "industry") & (ds["construct"] == construct)].set_index("code")
    ps = pd.DataFrame()
    if pub is not None:
        ps = store.release_scores(pub["id"])
        ps = ps[(ps["level"] == "industry") & (ps["construct"] == construct)].set_index("code")
    rows = []
    for f in fits:
        code = f.get("industry")
        verify = ((f.get("result") or {}).get("diagnostics") or {}).get("verify") or {}
        status = verify.get("status") or ("failed" if f.get("status") != "ok" else "")
        now = ds["index"].get(code) if code in ds.index else None
        before = ps["index"].get(code) if not ps.empty and code in ps.index else None
        rows.append({
            t("analyst.col_industry"): industry_name(q, code, lang),
            t("analyst.col_status"): status_text(f.get("status"), status, t),
            t("analyst.col_n"): t.count(f.get("n")),
            t("analyst.col_draft_index"): t.index(now, empty="—"),
            t("analyst.col_published_index",
              year=pub["year"] if pub else "—"): t.index(before, empty="—"),
            t("analyst.col_change"): t.points(now - before) if now is not None
            and before is not None else ""})
    return pd.DataFrame(rows)


def industry_name(q, code: str, lang: str) -> str:
    try:
        return ui.sentence(q.industry_name(code, lang))
    except NCSIError:
        try:
            return ui.sentence(q.sector_name(code, lang))
        except NCSIError:
            return str(code)


def status_text(fit_status, verify_status: str, t: ui.Texts) -> str:
    if fit_status != "ok":
        return "✗ " + t("analyst.status_failed")
    if verify_status == "admissible":
        return "✓ " + t("analyst.status_admissible")
    return "✗ " + t("analyst.status_inadmissible")


def reliability_table(draft: list[dict], pub: list[dict], t: ui.Texts) -> pd.DataFrame:
    before = {r.get("construct"): r for r in pub}
    rows = []
    for r in draft:
        c = r.get("construct")
        row = {t("analyst.col_construct"): t.construct(c)}
        for k, label in (("alpha", "α"), ("rho_a", "ρA"), ("rho_c", "ρC"), ("ave", "AVE")):
            v = r.get(k)
            flag = " ⚠" if v is not None and v < RELIABILITY_MIN[k] else ""
            row[label] = t.number(v, 3) + flag
        for k, label in (("rho_c", "ρC"), ("ave", "AVE")):
            row[t("analyst.col_published", what=label)] = t.number((before.get(c) or {}).get(k),
                                                                   3)
        rows.append(row)
    return pd.DataFrame(rows)


def paths_table(paths: list[dict], pub_paths: list[dict], t: ui.Texts, level: float
                ) -> pd.DataFrame:
    before = {(p.get("from"), p.get("to")): p.get("estimate") for p in pub_paths}
    rows = []
    for p in paths:
        lo, hi, _ = charts.path_ci(p, level)
        b = before.get((p.get("from"), p.get("to")))
        rows.append({t("analyst.col_from"): t.construct(p.get("from")),
                     t("analyst.col_to"): t.construct(p.get("to")),
                     t("analyst.col_estimate"): t.number(p.get("estimate"), 3),
                     t("analyst.col_ci", level=ui.pct(level)):
                         t("format.ci", low=t.number(lo, 3), high=t.number(hi, 3))
                         if lo is not None else "—",
                     "p": t.pvalue(p.get("p")),
                     t("analyst.col_published", what=t("analyst.col_estimate")):
                         t.number(b, 3),
                     t("analyst.col_delta"): t.number(p["estimate"] - b, 3)
                     if b is not None and p.get("estimate") is not None else ""})
    return pd.DataFrame(rows)


def fit_detail(ctx: Context, fit: dict, pub_fit: dict | None, pub_year: int | None) -> None:
    t = ctx.t
    level = ctx.query.config.significance_level
    result = fit.get("result") or {}
    presult = (pub_fit or {}).get("result") or {}
    diag = result.get("diagnostics") or {}
    verify = diag.get("verify") or {}
    if fit.get("status") != "ok":
        st.error(f"**{t('analyst.status_failed')}** — {t.localized(fit, 'message')}",
                 icon=":material/block:")
    elif verify.get("status") == "admissible":
        st.success(t("analyst.admissible", n=t.count(fit.get("n")),
                     iterations=fit.get("iterations")), icon=":material/check_circle:")
    else:
        st.error(t("analyst.inadmissible"), icon=":material/block:")
    checks = verify.get("checks") or []
    if checks:
        st.dataframe(pd.DataFrame({
            t("analyst.col_check"): [t(f"checks.{c.get('check')}")
                                     if t.has(f"checks.{c.get('check')}") else c.get("check")
                                     for c in checks],
            t("analyst.col_ok"): ["✓" if c.get("ok") else "✗" for c in checks],
            t("analyst.col_detail"): [t.localized(c, "detail") for c in checks]}),
            hide_index=True, key="analyst_checks")
    if pub_fit is None:
        st.caption(t("analyst.no_published_fit"))
    else:
        st.caption(t("analyst.compared_with", year=pub_year))

    st.markdown(f"#### {t('analyst.reliability_heading')}")
    rel = _records(result, "reliability")
    if rel:
        st.dataframe(reliability_table(rel, _records(presult, "reliability"), t),
                     hide_index=True, key="analyst_reliability")
        st.caption(t("analyst.reliability_caption"))
    else:
        st.caption(t("analyst.no_diagnostics"))

    st.markdown(f"#### {t('analyst.htmt_heading')}")
    htmt = _records(result, "htmt")
    if htmt:
        st.plotly_chart(charts.htmt_figure(htmt, t, title=t("analyst.htmt_title")),
                        width="stretch", key="analyst_htmt")
        worst = max((r["htmt"] for r in htmt if r.get("htmt") is not None), default=None)
        pworst = max((r["htmt"] for r in _records(presult, "htmt")
                      if r.get("htmt") is not None), default=None)
        st.caption(t("analyst.htmt_caption", max=t.number(worst, 3),
                     published=t.number(pworst, 3), threshold=t.number(charts.HTMT_MAX, 2)))

    st.markdown(f"#### {t('analyst.paths_heading')}")
    paths = result.get("paths") or []
    if paths:
        src = {charts.path_ci(p, level)[2] for p in paths}
        st.plotly_chart(charts.path_figure(paths, result.get("r2") or {}, t, level=level,
                                           title=t("analyst.paths_title")),
                        width="stretch", key="analyst_paths")
        st.caption(t("analyst.paths_caption_bootstrap" if src == {"bootstrap"}
                     else "analyst.paths_caption_se", level=ui.pct(level)))
        st.dataframe(paths_table(paths, presult.get("paths") or [], t, level),
                     hide_index=True, key="analyst_paths_table")

    st.markdown(f"#### {t('analyst.fit_heading')}")
    r2, pr2 = result.get("r2") or {}, presult.get("r2") or {}
    srmr, psrmr = diag.get("srmr") or {}, (presult.get("diagnostics") or {}).get("srmr") or {}
    rows = [{t("analyst.col_measure"): f"R² {t.construct(c)}", t("analyst.col_draft"):
             t.number(v, 3), t("analyst.col_published", what=""): t.number(pr2.get(c), 3)}
            for c, v in r2.items()]
    rows.append({t("analyst.col_measure"): "GoF", t("analyst.col_draft"):
                 t.number(diag.get("gof"), 3), t("analyst.col_published", what=""):
                 t.number((presult.get("diagnostics") or {}).get("gof"), 3)})
    rows.append({t("analyst.col_measure"): "SRMR", t("analyst.col_draft"):
                 t.number(srmr.get("estimated"), 3), t("analyst.col_published", what=""):
                 t.number(psrmr.get("estimated"), 3)})
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="analyst_fit")
    boot = result.get("bootstrap") or {}
    inv = result.get("invariance") or {}
    if boot:
        st.caption(t("analyst.bootstrap", n_valid=t.count(boot.get("n_valid")),
                     n_boot=t.count(boot.get("n_boot")), seed=boot.get("seed")))
    if inv:
        st.caption(t("analyst.invariance_ok", year=inv.get("previous_year")) if inv.get("ok")
                   else t("analyst.invariance_failed", year=inv.get("previous_year"),
                          reason=t.localized(inv, "reason")))


def publish_form(ctx: Context, session, year: int) -> None:
    t = ctx.t
    st.subheader(t("analyst.publish_heading", year=year))
    st.caption(t("analyst.publish_caption"))
    with st.form("publish", border=True):
        confirm = st.checkbox(t("analyst.confirm", year=year), key="publish_confirm")
        embargo = st.checkbox(t("analyst.embargo"), key="publish_embargo")
        c1, c2 = st.columns(2)
        day = c1.date_input(t("analyst.embargo_date"), key="publish_date",
                            value=dt.date.today() + dt.timedelta(days=1))
        time = c2.time_input(t("analyst.embargo_time"), key="publish_time",
                             value=dt.time(9, 0))
        submitted = st.form_submit_button(t("analyst.publish_button", year=year),
                                          key="publish_submit", type="primary")
    if not submitted:
        return
    if not confirm:
        st.error(t("analyst.confirm_needed"))
        return
    until = None
    if embargo:
        from zoneinfo import ZoneInfo
        until = dt.datetime.combine(day, time).replace(tzinfo=ZoneInfo(ui.DISPLAY_TZ))
    try:
        rid = ctx.store.publish(year, by=session.username, embargo_until=until)
    except NCSIError as exc:
        st.error(f"**{t('analyst.publish_failed')}**\n\n{common.bilingual(exc, ctx.lang)}")
        return
    st.session_state[FLASH] = (t("analyst.published_embargo", year=year, id=rid,
                                 time=t.datetime(until)) if until is not None
                               else t("analyst.published", year=year, id=rid))
    st.rerun()


def analyst_page(ctx: Context) -> None:
    t, q, lang = ctx.t, ctx.query, ctx.lang
    session = common.require(ctx, "analyst", "admin")
    st.title(t("analyst.title"))
    flash = st.session_state.pop(FLASH, None)
    if flash:
        st.success(flash, icon=":material/check_circle:")
    store = ctx.store
    releases = store.releases()
    drafts = sorted((int(y) for y in releases.loc[releases["status"] == "draft", "year"]),
                    reverse=True)
    embargoed = q.embargoed()
    for r in embargoed.itertuples(index=False):
        st.info(t("analyst.under_embargo", year=int(r.year), time=t.datetime(r.embargo_until)))
    if not drafts:
        st.info(t("analyst.no_draft"))
        return
    common.keep_choice("analyst_year", drafts, drafts[0])
    year = st.selectbox(t("analyst.year"), drafts, key="analyst_year",
                        format_func=lambda y: t("rankings.year_option", year=y))
    draft = store.release(year, status="draft")
    if draft is None:  # published or rebuilt meanwhile
        st.rerun()
    fits = _fits(ctx.url, int(draft["id"]))
    pub = last_published(store, year)
    pub_fits = _fits(ctx.url, int(pub["id"])) if pub is not None else []
    settings = draft.get("settings") or {}
    st.warning(t("analyst.draft_banner", year=year, id=draft["id"],
                 created=t.datetime(draft.get("created_at"))),
               icon=":material/edit_note:")
    st.caption(t("analyst.settings", method=settings.get("estimator", "—"),
                 n_boot=settings.get("bootstrap_resamples", "—"), seed=settings.get("seed", "—"),
                 permutations=settings.get("invariance_permutations", "—")))
    issues = draft.get("issues") or []
    if issues:
        with st.expander(t("analyst.issues", n=len(issues))):
            for i in issues:
                st.markdown("- " + (t.localized(i, "message") or str(i)))
    if fits:
        st.dataframe(overview(ctx, draft, fits, pub), hide_index=True, key="analyst_overview")
        codes = [f.get("industry") for f in fits]
        common.keep_choice("analyst_industry", codes, codes[0])
        code = st.selectbox(t("analyst.industry"), codes, key="analyst_industry",
                            format_func=lambda c: industry_name(q, c, lang))
        st.subheader(t("analyst.diagnostics_heading", industry=industry_name(q, code, lang),
                       year=year))
        fit_detail(ctx, fit_of(fits, code), fit_of(pub_fits, code),
                   int(pub["year"]) if pub is not None else None)
    else:
        st.info(t("analyst.no_fits"))
    st.divider()
    publish_form(ctx, session, year)


common.run(analyst_page)
