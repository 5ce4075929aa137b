"""What every dashboard page shares: cached data access, the language switch, sign-in and the
page frame (demo banner, empty-store message, footer).

Data access
    Public data comes ONLY through :class:`ncsi.query.Query` (published releases past their
    embargo). The Store is a cached resource per URL; the Query — which holds the published
    scores and the published releases' maturity, grades and drivers — a cached resource per
    (URL, published releases); the frames the pages draw are cached per (URL, published
    releases, arguments). The list of published releases is read afresh on every run (one small
    query), so a newly published release, or one whose embargo has lifted, appears on the next
    interaction or page load. Only the analyst workspace reads drafts, straight from the Store,
    after :func:`require` has admitted an analyst or an administrator.

Sign-in
    The sidebar form calls :meth:`ncsi.accounts.Accounts.login`; the session token lives in
    ``st.session_state["auth_token"]`` and nowhere else. Every protected page calls
    :func:`require` (→ :meth:`Accounts.require`) at its top, on the server, on every run; a
    visitor who is not allowed sees a bilingual refusal and nothing else of the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pandas as pd
import streamlit as st

from dashboards import ui
from ncsi import config
from ncsi.accounts import Accounts, AuthError, Session
from ncsi.errors import NCSIError
from ncsi.query import Query
from ncsi.store import Store

TOKEN_KEY = "auth_token"
PRIVILEGED = ("analyst", "admin")  # may look at any brand or enterprise


# --------------------------------------------------------------------------------------------
# cached data access
# --------------------------------------------------------------------------------------------

@st.cache_resource(show_spinner=False)
def store_for(url: str) -> Store:
    store = Store(url)
    store.upgrade()  # idempotent; a new, empty database gets its schema
    return store


@st.cache_resource(show_spinner=False)
def _release_reader(url: str) -> Query:
    """A Query used only for :meth:`Query.published_releases` (which never caches)."""
    return Query(store_for(url))


@st.cache_resource(show_spinner=False, max_entries=8)
def query_for(url: str, releases: tuple) -> Query:
    """The Query over the published releases ``releases`` (its data are read once)."""
    return Query(store_for(url))


@st.cache_resource(show_spinner=False)
def accounts_for(url: str) -> Accounts:
    return Accounts(store_for(url))


@st.cache_data(show_spinner=False, max_entries=256)
def ranking(url: str, releases: tuple, year: int, industry: str, lang: str) -> pd.DataFrame:
    return query_for(url, releases).ranking(year, industry, lang=lang)


@st.cache_data(show_spinner=False, max_entries=256)
def trend(url: str, releases: tuple, industry: str, lang: str) -> pd.DataFrame:
    return query_for(url, releases).trend(industry, lang=lang)


@st.cache_data(show_spinner=False, max_entries=256)
def ranking_view(url: str, releases: tuple, year: int, industry: str, lang: str) -> dict:
    """Everything the Rankings page shows of one industry-year, made once per published state:
    the table (headers and values in ``lang``), its industry-row flags, and its CSV and XLSX
    downloads (exactly the table shown)."""
    from ncsi.scoring import ranking_year_columns

    t = ui.Texts(lang)
    frame = ranking(url, releases, year, industry, lang)
    if frame.empty:
        return {"table": None}
    table, is_industry = ui.ranking_table(frame, t)
    return {"table": table, "is_industry": is_industry, "csv": ui.table_csv(table),
            "xlsx": ui.table_xlsx(table, t("download.sheet"), ranking_year_columns(frame))}


@st.cache_resource(show_spinner=False, max_entries=256)
def trend_chart(url: str, releases: tuple, industry: str, lang: str, year: int):
    """The Rankings page's trend figure of an industry's brands (built once per published state
    and kept as the object: plotly's figure validation is the page's largest server cost; the
    figure is only read afterwards). None when there is no trend."""
    frame = trend(url, releases, industry, lang)
    if frame.empty:
        return None
    q = query_for(url, releases)
    return ui.trend_figure(frame, q.industry_name(industry, lang), ui.Texts(lang),
                           selected_year=int(year))


@st.cache_data(show_spinner=False, max_entries=32)
def aggregate_trend(url: str, releases: tuple, lang: str) -> pd.DataFrame:
    return query_for(url, releases).aggregate_trend(lang=lang)


@st.cache_data(show_spinner=False, max_entries=16)
def year_export(url: str, releases: tuple, year: int, lang: str) -> bytes:
    """The whole published year as :func:`ncsi.export.export_rankings` writes it (XLSX: every
    industry, bilingual headers, CIs, an About sheet naming the release)."""
    import tempfile
    from pathlib import Path

    from ncsi.export import export_rankings
    with tempfile.TemporaryDirectory() as folder:
        path = export_rankings(store_for(url), int(year), "xlsx", Path(folder) / "export.xlsx",
                               lang=lang)
        return path.read_bytes()


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

    @property
    def store(self) -> Store:
        return store_for(self.url)


def error_text(exc: NCSIError, lang: str) -> str:
    if lang == "zh" and getattr(exc, "message_zh", None):
        return exc.message_zh
    return exc.full_message() if hasattr(exc, "full_message") else str(exc)


def bilingual(exc: Exception, lang: str) -> str:
    """An error's message in the page's language first, then in the other one."""
    en = getattr(exc, "message", None) or str(exc)
    zh = getattr(exc, "message_zh", None) or ""
    first, second = (zh, en) if lang == "zh" else (en, zh)
    return first if not second or second == first else f"{first}\n\n{second}"


# --------------------------------------------------------------------------------------------
# language
# --------------------------------------------------------------------------------------------

def texts() -> ui.Texts:
    lang = st.session_state.get("lang")
    return ui.Texts(lang if lang in ui.LANGS else ui.DEFAULT_LANG)


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


# --------------------------------------------------------------------------------------------
# the page frame
# --------------------------------------------------------------------------------------------

def context(t: ui.Texts) -> Context | None:
    """Open the store and the Query; on failure show the error and return None."""
    url = config.database_url()
    try:
        reader = _release_reader(url)
        releases = reader.published_releases()
        query = query_for(url, releases)
    except NCSIError as exc:
        st.error(t("error.store", message=error_text(exc, t.lang)))
        return None
    return Context(t=t, url=url, releases=releases, query=query)


def run(page: Callable[[Context], None]) -> None:
    """Run one page with the context of this run (nothing when the store cannot be read)."""
    ctx = context(texts())
    if ctx is not None:
        page(ctx)


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


def keep_choice(key: str, options: list, default) -> None:
    """Before a selector is drawn: drop a remembered choice that is no longer offered."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = default


def asked(name: str) -> str | None:
    """A value asked for in the address (``?brand=…``), or None."""
    v = st.query_params.get(name)
    return str(v) if v else None


# --------------------------------------------------------------------------------------------
# sign-in
# --------------------------------------------------------------------------------------------

def current_session(url: str) -> Session | None:
    """The signed-in session of this browser session (None when signed out or expired)."""
    token = st.session_state.get(TOKEN_KEY)
    if not token:
        return None
    session = accounts_for(url).session(token)
    if session is None:
        st.session_state.pop(TOKEN_KEY, None)
        st.session_state["auth_expired"] = True
    return session


def login_box(t: ui.Texts) -> None:
    """The sidebar sign-in form, or who is signed in and the sign-out button."""
    url = config.database_url()
    try:
        accounts = accounts_for(url)
        session = current_session(url)
    except NCSIError:
        return  # the page itself says the store cannot be read
    box = st.sidebar.container(border=True, key="auth_box")
    if session is not None:
        box.markdown(t("auth.signed_in", name=session.display_name or session.username,
                       role=t(f"auth.roles.{session.role}")))
        box.caption(t("auth.until", time=t.datetime(session.expires_at)))
        if box.button(t("auth.logout"), key="logout"):
            accounts.logout(session.token)
            st.session_state.pop(TOKEN_KEY, None)
            st.rerun()
        return
    box.markdown(f"**{t('auth.title')}**")
    if st.session_state.pop("auth_expired", False):
        box.caption(t("auth.expired"))
    with box.form("login", clear_on_submit=True, border=False):
        username = st.text_input(t("auth.username"), key="login_user")
        password = st.text_input(t("auth.password"), type="password", key="login_password")
        submitted = st.form_submit_button(t("auth.login"), key="login_submit")
    if submitted:
        try:
            new = accounts.login(username.strip(), password)
        except AuthError as exc:
            box.error(f"{t('auth.failed')}\n\n{bilingual(exc, t.lang)}")
        else:
            st.session_state[TOKEN_KEY] = new.token
            st.rerun()
    box.caption(t("auth.hint"))


def require(ctx: Context, *roles: str) -> Session:
    """The signed-in session if its role is one of ``roles`` (checked by
    :meth:`Accounts.require` on the server); otherwise a bilingual refusal and the page
    stops."""
    token = st.session_state.get(TOKEN_KEY) or ""
    try:
        return accounts_for(ctx.url).require(token, *roles)
    except AuthError as exc:
        refuse(ctx, detail=bilingual(exc, ctx.lang), signed_in=bool(token))
    raise AssertionError("unreachable")  # st.stop() raises


def refuse(ctx: Context, key: str | None = None, *, detail: str | None = None,
           signed_in: bool = True, **values) -> None:
    """Show a refusal in both languages — the page's first — and stop the page: the heading
    (not allowed / sign in first), the text ``key`` filled with ``values``, and ``detail``
    (already bilingual)."""
    t = ctx.t
    other = ui.Texts("en" if t.lang == "zh" else "zh")
    head = "auth.denied" if signed_in else "auth.sign_in_first"
    parts = [f"**{t(head)}**"]
    if key:
        parts.append(t(key, **values))
    if detail:
        parts.append(detail)
    parts.append(f"*{other(head)}*" + (f" *{other(key, **values)}*" if key else ""))
    st.error("\n\n".join(parts), icon=":material/lock:")
    st.stop()


def may_see_brand(session: Session, brand: str) -> bool:
    return session.role in PRIVILEGED or bool(session.can_see_brand(brand))


def may_see_enterprise(session: Session, enterprise_id: str) -> bool:
    return session.role in PRIVILEGED or bool(session.can_see_enterprise(enterprise_id))
