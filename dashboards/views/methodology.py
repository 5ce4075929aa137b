"""Public page: how the numbers are made, in plain words (the texts are in
``dashboards/i18n/{zh,en}.yaml``, section ``methodology``)."""

from __future__ import annotations

import streamlit as st

from dashboards import common, ui
from dashboards.common import Context

#: the sections of ``methodology`` in the translation files, in the order shown
SECTIONS = ("survey", "model", "index", "uncertainty", "aggregation", "comparability",
            "drivers", "bands", "maturity", "grades", "releases", "demo")


def methodology_page(ctx: Context) -> None:
    t, cfg = ctx.t, ctx.query.config
    st.title(t("methodology.title"))
    st.markdown(t("methodology.intro"))
    values = {"level": ui.pct(cfg.significance_level), "min_n": cfg.min_valid_n,
              "bands": t.bands_legend(cfg.bands)}
    for key in SECTIONS:
        st.subheader(t(f"methodology.{key}.title"))
        st.markdown(t(f"methodology.{key}.body", **values))
    st.caption(t("methodology.more"))
    common.footer(ctx)


common.run(methodology_page)
