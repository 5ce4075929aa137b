"""Shared fixtures: a small demo survey pushed through the real pipeline into a real SQLite store."""

from __future__ import annotations

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
    from ncsi.demo import load_survey_folder
    from ncsi.release import build_year, publish_year
    from ncsi.store import Store

    db = tmp_path_factory.mktemp("store") / "ncsi.db"
    store = Store(f"sqlite:///{db}")
    store.upgrade()
    assert load_survey_folder(store, small_survey) == SMALL_YEARS
    for year in SMALL_YEARS:
        build_year(store, year)
        publish_year(store, year)
    return store
