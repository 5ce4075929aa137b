"""The peer of ``benchmarks/dashboard.py``: the least a Streamlit dashboard can be — two pages
in the sidebar navigation, the first showing only the same ranking table as NCSI's Rankings
page (same store, same industry and year, same cached frame) in a plain ``st.dataframe`` —
without the Rankings page's row styling and column alignment — the second a line of text. Served with the same options (:mod:`ncsi.serving`), it gives the floor Streamlit itself
sets on the machine, which the Rankings page is compared with."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dashboards import common, ui  # noqa: E402


def table_page() -> None:
    ctx = common.context(ui.Texts("zh"))
    q = ctx.query
    industry = q.industries(sector=q.sectors()[0])[0]
    year = max(q.industry_years(industry))
    view = common.ranking_view(ctx.url, ctx.releases, int(year), industry, "zh")
    table = view["table"]
    st.dataframe(table, hide_index=True, key="ranking_table")


def other_page() -> None:
    st.write("—")


st.set_page_config(layout="wide")
st.navigation([st.Page(table_page, title="table", default=True),
               st.Page(other_page, title="other", url_path="other")],
              position="sidebar").run()
