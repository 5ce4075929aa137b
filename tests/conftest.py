"""Shared fixtures: a small demo survey pushed through the real pipeline into a real SQLite store;
the PostgreSQL server and the backend fixtures (sqlite / postgresql) come from tests/pg.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.pg import (  # noqa: F401  (fixtures)
    ENV_URL,
    backend,
    find_bindir,
    new_store_url,
    postgres_databases,
    postgres_server,
    postgres_url,
    store_url,
)

SMALL_INDUSTRIES = ["liquid_milk", "edible_oil", "sportswear", "residential"]
SMALL_YEARS = [2024, 2025]


def pytest_configure(config):
    config.addinivalue_line("markers", "postgresql: runs against the PostgreSQL test server")


def pytest_collection_modifyitems(items):
    for item in items:  # tests asking for the server directly are PostgreSQL tests too
        if "postgres_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgresql)


def pytest_report_header(config):
    where = (f"{ENV_URL} (an existing server)" if os.environ.get(ENV_URL)
             else f"a throwaway cluster from {find_bindir()}" if find_bindir()
             else "no server binaries found: the PostgreSQL tests will be skipped")
    return f"PostgreSQL tests: {where}"


@pytest.fixture(scope="session")
def small_survey(tmp_path_factory) -> Path:
    """A small generated survey: 4 industries (2 sectors' worth + construction), 2 years."""
    from ncsi.demo_data import generate
    out = tmp_path_factory.mktemp("survey")
    generate(11, out, years=SMALL_YEARS, industries=SMALL_INDUSTRIES, scale=0.7)
    return out


def publish_small_survey(url: str, survey: Path):
    """The store at ``url`` with ``survey`` loaded and 2024 and 2025 built and published
    (through the CLI's own functions)."""
    from ncsi.demo import load_survey_folder
    from ncsi.release import build_year, publish_year
    from ncsi.store import Store

    store = Store(url)
    store.upgrade()
    assert load_survey_folder(store, survey) == SMALL_YEARS
    for year in SMALL_YEARS:
        build_year(store, year)
        publish_year(store, year)
    return store


@pytest.fixture(scope="session")
def published_store(small_survey, tmp_path_factory):
    """A store where 2024 and 2025 are published (built through the CLI's own functions)."""
    db = tmp_path_factory.mktemp("store") / "ncsi.db"
    return publish_small_survey(f"sqlite:///{db}", small_survey)
