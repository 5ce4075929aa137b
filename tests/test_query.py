"""The query layer on a published store (2024 and 2025 published, no embargo): flags are passed
through, the old columns stay as they were, and nothing is hidden without an embargo. Run on the
shared SQLite store and on the same survey published into PostgreSQL. Embargoes themselves are
tested in tests/test_release_workflow.py (they need a fresh publish)."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import pytest

from ncsi.query import Query
from ncsi.scoring import ranking_rows
from ncsi.store import SCORE_COLUMNS

from .conftest import SMALL_YEARS, publish_small_survey
from .pg import BACKENDS, scoped_postgres_url


@pytest.fixture(scope="module", params=BACKENDS)
def published_store(request, small_survey):
    """The session's published SQLite store, or the same survey published into PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("published_store")
    store = publish_small_survey(scoped_postgres_url(request), small_survey)
    request.addfinalizer(store.close)
    return store


def test_no_embargo_hides_nothing(published_store):
    q = Query(published_store)
    assert q.published_years() == SMALL_YEARS
    assert q.embargoed().empty and list(q.embargoed().columns) == ["year", "id",
                                                                   "embargo_until"]
    everything = Query(published_store, include_embargoed=True)
    assert everything.published_releases() == q.published_releases()
    assert len(q.published_releases()) == len(SMALL_YEARS)
    long_ago = Query(published_store, now=datetime(2000, 1, 1, tzinfo=timezone.utc))
    assert long_ago.published_years() == SMALL_YEARS  # without an embargo, at any time
    pd.testing.assert_frame_equal(q.scores(), published_store.published_scores())


def test_rows_from_scores_carry_flags_and_old_columns_stay(published_store):
    q = Query(published_store)
    assert list(q.scores().columns) == ["year", "release_id"] + list(SCORE_COLUMNS)
    industry = q.industries()[0]
    year = SMALL_YEARS[-1]
    h = q.history(industry)
    assert "flags" in h.columns and "name" in h.columns
    stored = q.scores().set_index(["year", "level", "code", "construct"])["flags"]
    assert [f for f in h["flags"]] == [stored[k] for k in zip(h["year"], h["level"], h["code"],
                                                              h["construct"])]
    assert list(q.trend(industry).columns) == ["year", "level", "code", "name", "index",
                                               "ci_low", "ci_high", "n", "flags"]
    plain = q.ranking(year, industry)
    pd.testing.assert_frame_equal(plain, ranking_rows(h[h["year"] <= year], year=year,
                                                      config=q.config))
    flagged = q.ranking(year, industry, flags=True)
    assert list(flagged.columns) == list(plain.columns) + ["flags"]
    assert all(f is None or isinstance(f, dict) for f in flagged["flags"])
    # displayed, the flags become the trend's comparability: ✓, "✗ reason" or "" (first year)
    assert "comparable" not in q.display_rows(plain).columns
    shown = q.display_rows(flagged)
    assert "flags" not in shown.columns and "comparable" in shown.columns
    assert set(shown["comparable"].str[:1]) <= {"", "✓", "✗"}
