"""NCSI dashboard (Streamlit): ``streamlit run dashboards/app.py``.

Public pages (no sign-in) read published releases past their embargo ONLY, through
:class:`ncsi.query.Query` on the store at ``NCSI_DATABASE_URL`` (default
:func:`ncsi.config.database_url`): Rankings, Trends, Maturity and Methodology. Enterprise pages
(role enterprise — its own brands and enterprises only; analysts and administrators may pick any)
and the analyst workspace (role analyst or admin: the draft's diagnostics and publishing) check
the signed-in session on the server at their top (:func:`dashboards.common.require`).

Every label comes from ``dashboards/i18n/{zh,en}.yaml``; the sidebar switches the language
(Chinese by default) and holds the sign-in form. Each page is one file under
``dashboards/views/`` registered with ``st.navigation`` (see :func:`pages`); the shared data
access, caching and sign-in are in :mod:`dashboards.common` (see its docstring for the caching).
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dashboards import common, ui  # noqa: E402

#: (section, file, title key, icon, url path) of every page, in the order of the sidebar
PAGES = (
    ("public", "views/rankings.py", "nav.rankings", ":material/leaderboard:", "rankings"),
    ("public", "views/trends.py", "nav.trends", ":material/show_chart:", "trends"),
    ("public", "views/maturity.py", "nav.maturity", ":material/factory:", "maturity"),
    ("public", "views/methodology.py", "nav.methodology", ":material/menu_book:", "methodology"),
    ("enterprise", "views/brand.py", "nav.brand", ":material/sell:", "brand"),
    ("enterprise", "views/enterprise.py", "nav.enterprise", ":material/workspace_premium:",
     "enterprise"),
    ("analyst", "views/analyst.py", "nav.analyst", ":material/science:", "analyst"),
)


def pages(t: ui.Texts) -> dict[str, list]:
    """The registered pages by sidebar section (every page is registered for every visitor:
    the protected ones refuse on their own, on the server)."""
    sections: dict[str, list] = {}
    for section, path, title, icon, url_path in PAGES:
        default = url_path == "rankings"  # the default page is served at "/"
        sections.setdefault(t(f"nav.section_{section}"), []).append(
            st.Page(path, title=t(title), icon=icon, url_path=None if default else url_path,
                    default=default))
    return sections


def main() -> None:
    lang = st.session_state.get("lang")
    title = ui.Texts(lang if lang in ui.LANGS else ui.DEFAULT_LANG)("app.short")
    st.set_page_config(page_title=title,
                       page_icon="📊", layout="wide", initial_sidebar_state="expanded")
    t = common.language_switch()
    st.sidebar.caption(t("app.tagline"))
    nav = st.navigation(pages(t), position="sidebar")
    common.login_box(t)
    nav.run()


main()
