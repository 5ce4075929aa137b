"""Shared fixtures: a small demo survey pushed through the real pipeline into a real SQLite store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SMALL_INDUSTRIES = ["liquid_milk", "edible_oil", "sportswear", "residential"]
SMALL_YEARS = [2024, 2025]


@pytest.fixture(scope="session")
def small_survey(tmp_path_factory) -> Path:
    """A small generated survey: 4 industries (2 sectors' worth + construction), 2 years."""
    from ncsi.demo_data import generate
    out = tmp_path_factory.mktemp("survey")
    generate(11, out, years=SMALL_YEARS, industries=SMALL_INDUSTRIES, scale=0.7)
    return out


@pytest.fixture(scope="session")
def published_store(small_survey, tmp_path_factory):
    """A store where 2024 and 2025 are published (built through the CLI's own functions)."""
    from ncsi.ingest import ingest_file
    from ncsi.instruments import list_questionnaires
    from ncsi.registry import read_brands_file, read_revenue_file
    from ncsi.release import build_year, publish_year
    from ncsi.store import Store

    db = tmp_path_factory.mktemp("store") / "ncsi.db"
    url = f"sqlite:///{db}"
    store = Store(url)
    store.upgrade()
    for q in list_questionnaires():
        store.register_survey(q)
    store.load_brands(read_brands_file(small_survey / "brands.csv"), source="brands.csv")
    store.load_revenue(read_revenue_file(small_survey / "revenue.csv"), source="revenue.csv")
    for f in sorted((small_survey / "responses").glob("*/*.csv")):
        ingest_file(f, f.stem, int(f.parent.name), store)
    for year in SMALL_YEARS:
        build_year(store, year)
        publish_year(store, year)
    return store
