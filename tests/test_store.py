"""The store: migrations, atomic writes, round-trips and immutability of published releases.

Every test using the ``store`` fixture (or ``store_url``) runs twice: on a real SQLite file in
tmp_path and on a fresh database of the real PostgreSQL test server (tests/pg.py). No mocks.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, Table, delete, inspect, select, text, update
from sqlalchemy.exc import IntegrityError

import ncsi.store.store as store_module
from ncsi.errors import StoreError
from ncsi.store import SCORE_COLUMNS, Store
from ncsi.store.models import TABLES, Base, Release, Revenue, Score
from ncsi.store.store import _alembic_config, _canonical, _head_revision
from tests.pg import TRIGGER_COUNT, is_postgres, json_param, plain_driver, trigger_names

ITEMS = ["IMAG1", "IMAG2", "SAT1", "SAT2", "LOY1", "SAFE1"]


# --- fixtures -----------------------------------------------------------------------------------

@pytest.fixture
def store(store_url) -> Store:
    s = Store(store_url)
    s.upgrade()
    yield s
    s.close()


def make_questionnaire(tmp_path, text="id: ncsi-food\nversion: '1'\nsector: food\n",
                       sid="ncsi-food", version="1"):
    path = tmp_path / f"{sid}-{version}-{hashlib.sha1(text.encode()).hexdigest()[:6]}.yaml"
    path.write_text(text, encoding="utf-8")
    return SimpleNamespace(id=sid, version=version, sector="food", title_zh="食品",
                           title_en="Food", sha256=hashlib.sha256(text.encode()).hexdigest(),
                           path=path)


def fake_responses(n=1000, seed=0, prefix="R") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "respondent_id": [f"{prefix}{i:05d}" for i in range(n)],
        "industry": rng.choice(["dairy", "snacks"], n),
        "brand": rng.choice(["B1", "B2", "B3"], n),
        "region": rng.choice(["north", "south", None], n),
        "gender": rng.choice(["f", "m"], n),
        "age": np.where(rng.random(n) < 0.1, np.nan, rng.integers(18, 80, n)),
        "weight": rng.uniform(0.5, 2.0, n),
        "duration_sec": rng.uniform(100, 900, n),
        "status": rng.choice(["valid", "valid", "valid", "speeder", "straightliner"], n),
    })
    matrix = rng.integers(1, 11, (n, len(ITEMS))).astype(float)
    matrix[rng.random(matrix.shape) < 0.15] = np.nan
    matrix[:, -1] = np.nan  # an item nobody answered
    return pd.concat([frame, pd.DataFrame(matrix, columns=ITEMS)], axis=1)


def with_survey(store, tmp_path, sid="ncsi-food"):
    q = make_questionnaire(tmp_path, text=f"id: {sid}\nversion: '1'\n", sid=sid)
    store.register_survey(q)
    return q


def add_wave(store, year=2024, responses=None, replace=False, survey_id="ncsi-food"):
    return store.add_wave(
        survey_id=survey_id, survey_version="1", year=year, source_file=f"{survey_id}-{year}.csv",
        source_sha256="f" * 64, responses=fake_responses() if responses is None else responses,
        report={"n": 1000, "share": np.float64(0.5), "missing": np.nan, "cols": ("a", "b")},
        replace=replace)


INVARIANCE_FAILED = {"invariance": {"ok": False, "reason": "loadings differ across brands"}}


def fake_scores(offset=0.0) -> pd.DataFrame:
    return pd.DataFrame([
        {"level": "brand", "code": "B1", "parent": "dairy", "construct": "SAT",
         "index": 71.5 + offset, "se": 1.2, "ci_low": 69.1, "ci_high": 73.9, "n": 300,
         "weight": 0.6, "weight_basis": "revenue", "publishable": True, "note": None,
         "flags": INVARIANCE_FAILED},
        {"level": "brand", "code": "B2", "parent": "dairy", "construct": "SAT",
         "index": np.nan, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan, "n": 12,
         "weight": 0.4, "weight_basis": "revenue", "publishable": False, "note": "n < 50",
         "flags": None},
        {"level": "industry", "code": "dairy", "parent": "food", "construct": "SAT",
         "index": 70.0 + offset, "se": 0.9, "ci_low": 68.2, "ci_high": 71.8, "n": 312,
         "weight": np.nan, "weight_basis": None, "publishable": True, "note": None,
         "flags": {"invariance": {"ok": True, "reason": None}}},
        {"level": "nation", "code": "CN", "parent": None, "construct": "SAT",
         "index": 69.0 + offset, "se": 0.5, "ci_low": 68.0, "ci_high": 70.0, "n": None,
         "weight": np.nan, "weight_basis": "consumption", "publishable": True, "note": None,
         "flags": None},
    ], columns=list(SCORE_COLUMNS))


def fake_fits():
    return [
        {"industry": "dairy", "survey_id": "ncsi-food", "model_name": "ncsi-food",
         "model_sha256": "a" * 64, "status": "ok", "message": None, "n": np.int64(312),
         "converged": np.bool_(True), "iterations": 7, "settings": {"scheme": "path"},
         "result": {"r2": {"SAT": 0.61, "LOY": np.nan}, "paths": np.array([0.1, 0.2])}},
        {"industry": "snacks", "survey_id": "ncsi-food", "model_name": "ncsi-food",
         "model_sha256": "a" * 64, "status": "failed", "message": "too few respondents",
         "n": 12, "converged": None, "iterations": None, "settings": {}, "result": None},
    ]


def save_draft(store, year=2024, offset=0.0):
    return store.save_draft(year, settings={"alpha": 0.05, "years": [year]},
                            provenance={"git": "abc", "files": {"x.csv": "f" * 64}},
                            fits=fake_fits(), scores=fake_scores(offset),
                            issues=[{"level": "warning", "message": "B2 below floor"}])


# --- migrations ---------------------------------------------------------------------------------

def test_default_store_is_sqlite_in_the_data_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("NCSI_DATABASE_URL", raising=False)
    monkeypatch.setenv("NCSI_DATA_DIR", str(tmp_path / "data" / "nested"))
    store = Store()  # default: SQLite in the data directory, created if missing
    assert str(tmp_path / "data" / "nested" / "ncsi.db") in str(store.url)
    store.upgrade()
    assert (tmp_path / "data" / "nested" / "ncsi.db").exists()
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    store.close()


def test_postgresql_url_without_driver_uses_psycopg(monkeypatch):
    monkeypatch.setenv("NCSI_DATABASE_URL", "postgresql://ncsi@db.example:5433/ncsi")
    for store in (Store(), Store("postgres://ncsi@db.example/ncsi")):
        assert store.url.drivername == "postgresql+psycopg"
        assert store.engine.dialect.driver == "psycopg"
        store.close()


def test_upgrade_creates_schema_from_empty_and_is_idempotent(store_url):
    store = Store(store_url)
    store.upgrade()
    names = set(inspect(store.engine).get_table_names())
    assert names == {"alembic_version", *TABLES}
    assert set(TABLES) >= {"surveys", "brands", "revenues", "waves", "responses", "releases",
                           "model_fits", "scores", "maturity_responses", "performance",
                           "enterprise_links"}
    with store.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_heads() == (_head_revision(),)
    assert len(trigger_names(store)) == TRIGGER_COUNT[store.engine.dialect.name]
    before = store.snapshot()
    store.upgrade()
    Store(store.url).upgrade()  # a second Store on the same file
    assert store.snapshot() == before
    assert before == {name: [] for name in names - {"alembic_version"}}
    store.close()


def test_methods_refuse_a_store_without_schema(store_url):
    store = Store(store_url)
    with pytest.raises(StoreError, match="upgrade"):
        store.known_brands()
    store.upgrade()
    assert store.known_brands().empty
    store.close()


def test_orm_models_match_the_migration(store):
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    cfg = _alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.check(cfg)  # raises when autogenerate would produce a migration


def test_downgrade_and_upgrade_again(store):
    cfg = _alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert set(inspect(store.engine).get_table_names()) <= {"alembic_version"}
    store._schema_ok = False
    store.upgrade()
    assert "scores" in inspect(store.engine).get_table_names()


# --- surveys, brands, revenue ------------------------------------------------------------------

def test_register_survey_idempotent_and_refuses_changed_text(store, tmp_path):
    q = make_questionnaire(tmp_path)
    store.register_survey(q)
    store.register_survey(q)
    surveys = store.surveys()
    assert surveys[["id", "version", "sector", "sha256"]].values.tolist() == [
        ["ncsi-food", "1", "food", q.sha256]]
    assert store.snapshot()["surveys"][0][5] == q.path.read_text()
    before = store.snapshot()
    changed = make_questionnaire(tmp_path, text="id: ncsi-food\nversion: '1'\nchanged: true\n")
    with pytest.raises(StoreError, match="bump 'version'") as err:
        store.register_survey(changed)
    assert "ncsi-food" in str(err.value) and err.value.message_zh
    assert store.snapshot() == before
    store.register_survey(make_questionnaire(tmp_path, text="v2", version="2"))
    assert len(store.surveys()) == 2


def brands_frame():
    return pd.DataFrame({"brand": ["B1", "B2", "B3"], "industry": ["dairy", "dairy", "snacks"],
                         "name_zh": ["一", "二", "三"], "name_en": ["One", "Two", "Three"],
                         "is_demo": [True, "no", 0]})


def test_brands_load_round_trip_and_upsert(store):
    assert store.load_brands(brands_frame(), "brands.csv") == 3
    got = store.known_brands()
    assert list(got.columns) == ["brand", "industry", "name_zh", "name_en", "is_demo"]
    assert got.values.tolist() == [["B1", "dairy", "一", "One", True],
                                   ["B2", "dairy", "二", "Two", False],
                                   ["B3", "snacks", "三", "Three", False]]
    update_frame = pd.DataFrame({"brand": ["B2", "B4"], "industry": ["dairy", "snacks"],
                                 "name_zh": ["二号", "四"], "name_en": ["Two", None]})
    assert store.load_brands(update_frame, "more.csv") == 2
    got = store.known_brands().set_index("brand")
    assert got.loc["B2", "name_zh"] == "二号" and got.loc["B1", "is_demo"]
    assert pd.isna(got.loc["B4", "name_en"]) and not got.loc["B4", "is_demo"]
    assert len(got) == 4


def test_brands_bad_rows_write_nothing(store):
    store.load_brands(brands_frame(), "brands.csv")
    before = store.snapshot()
    bad = pd.DataFrame({"brand": ["B9", "B9"], "industry": ["x", "x"], "name_zh": ["a", "b"],
                        "name_en": ["a", "b"]})
    with pytest.raises(StoreError, match=r"bad\.csv, row 3, column 'brand'.*B9"):
        store.load_brands(bad, "bad.csv")
    with pytest.raises(StoreError, match="lacks column.*name_en"):
        store.load_brands(bad.drop(columns="name_en"), "bad.csv")
    assert store.snapshot() == before


def test_revenue_load_round_trip_upsert_and_unknown_brand(store):
    store.load_brands(brands_frame(), "brands.csv")
    df = pd.DataFrame({"year": [2024, 2024, 2023], "brand": ["B1", "B3", "B1"],
                       "revenue": [10.5, 3.0, 9.0]})
    assert store.load_revenue(df, "rev.csv") == 3
    assert store.revenue(2024).values.tolist() == [["B1", "dairy", 10.5], ["B3", "snacks", 3.0]]
    store.load_revenue(pd.DataFrame({"year": [2024], "brand": ["B1"], "revenue": [11.0]}),
                       "rev2.csv")
    assert store.revenue(2024)["revenue"].tolist() == [11.0, 3.0]
    assert store.revenue(2023)["revenue"].tolist() == [9.0]
    assert store.revenue(1999).empty
    before = store.snapshot()
    bad = pd.DataFrame({"year": [2024, 2024], "brand": ["B2", "NOPE"], "revenue": [1.0, 2.0]})
    with pytest.raises(StoreError, match=r"rev3\.csv, row 3.*'NOPE' is not a known brand") as e:
        store.load_revenue(bad, "rev3.csv")
    assert e.value.message_zh
    with pytest.raises(StoreError, match=r"row 2, column 'revenue'.*abc"):
        store.load_revenue(pd.DataFrame({"year": [2024], "brand": ["B1"], "revenue": ["abc"]}),
                           "rev4.csv")
    assert store.snapshot() == before


def test_foreign_keys_are_enforced_by_the_database(store):
    with pytest.raises(IntegrityError):
        with store.engine.begin() as conn:
            conn.execute(Revenue.__table__.insert().values(year=2024, brand="GHOST",
                                                           revenue=1.0, source="x"))


# --- waves and responses ------------------------------------------------------------------------

def test_wave_round_trip_with_nan_items(store, tmp_path):
    with_survey(store, tmp_path)
    frame = fake_responses()
    assert not store.wave_exists("ncsi-food", 2024)
    wave_id = add_wave(store, responses=frame)
    assert store.wave_exists("ncsi-food", 2024) and not store.wave_exists("ncsi-food", 2023)

    waves = store.waves(2024)
    assert waves[["id", "survey_id", "year", "n_rows", "n_valid"]].values.tolist() == [
        [wave_id, "ncsi-food", 2024, 1000, int((frame.status == "valid").sum())]]
    assert waves.loc[0, "report"] == {"n": 1000, "share": 0.5, "missing": None,
                                      "cols": ["a", "b"]}
    assert store.waves(2023).empty and len(store.waves()) == 1

    got = store.responses(2024, valid_only=False)
    assert list(got.columns) == ["survey_id", "respondent_id", "industry", "brand", "region",
                                 "gender", "age", "weight", "duration_sec", "status"] + ITEMS
    assert (got["survey_id"] == "ncsi-food").all()
    expected = frame.copy()
    pd.testing.assert_frame_equal(got.drop(columns="survey_id"), expected, check_dtype=False)
    assert all(got[c].dtype == np.float64 for c in ITEMS)
    assert got["SAFE1"].isna().all() and got[ITEMS].isna().sum().sum() > 0
    assert str(got["age"].dtype) == "Int64"

    valid = store.responses(2024)
    assert (valid["status"] == "valid").all() and len(valid) == (frame.status == "valid").sum()
    dairy = store.responses(2024, industry="dairy", valid_only=False)
    assert len(dairy) == (frame.industry == "dairy").sum()
    assert store.responses(2024, survey_id="other").shape[0] == 0
    assert store.responses(2023).empty

    # NaN is stored as JSON null, never as NaN
    with plain_driver(store) as (execute, _):
        texts = [r[0] for r in execute("SELECT CAST(items AS TEXT) FROM responses ORDER BY id")]
    assert all("NaN" not in t for t in texts) and any("null" in t for t in texts)
    assert json.loads(texts[0])["SAFE1"] is None


def test_two_surveys_in_one_year(store, tmp_path):
    with_survey(store, tmp_path, "ncsi-food")
    with_survey(store, tmp_path, "ncsi-retail")
    add_wave(store, responses=fake_responses(50, seed=1))
    other = fake_responses(30, seed=2, prefix="S").drop(columns="SAFE1")
    add_wave(store, responses=other, survey_id="ncsi-retail")
    got = store.responses(2024, valid_only=False)
    assert len(got) == 80 and list(got.columns[-len(ITEMS):]) == ITEMS
    assert got.loc[got.survey_id == "ncsi-retail", "SAFE1"].isna().all()
    assert len(store.responses(2024, survey_id="ncsi-retail", valid_only=False)) == 30


def test_duplicate_wave_refused_and_store_unchanged(store, tmp_path):
    with_survey(store, tmp_path)
    add_wave(store)
    before = store.snapshot()
    with pytest.raises(StoreError, match="wave already ingested; use --replace") as err:
        add_wave(store, responses=fake_responses(seed=5))
    assert "2024" in str(err.value) and "ncsi-food" in str(err.value) and err.value.message_zh
    assert store.snapshot() == before


def test_failure_in_the_middle_of_add_wave_leaves_no_rows(store, tmp_path, monkeypatch):
    with_survey(store, tmp_path)
    monkeypatch.setattr(store_module, "INSERT_CHUNK", 100)  # the duplicate is in a later batch
    frame = fake_responses()
    frame.loc[950, "respondent_id"] = frame.loc[10, "respondent_id"]
    before = store.snapshot()
    with pytest.raises(StoreError, match=r"respondent_id 'R00010' appears more than once "
                                         r"\(rows 12, 952\)") as err:
        add_wave(store, responses=frame)
    assert "nothing was written" in str(err.value)
    assert store.snapshot() == before
    assert not store.wave_exists("ncsi-food", 2024)


def test_add_wave_validation_names_the_row(store, tmp_path):
    with_survey(store, tmp_path)
    frame = fake_responses(20)
    frame["SAT1"] = frame["SAT1"].astype(object)
    frame.loc[4, "SAT1"] = "seven"
    before = store.snapshot()
    with pytest.raises(StoreError, match=r"row 6, column 'SAT1'.*seven"):
        add_wave(store, responses=frame)
    with pytest.raises(StoreError, match="not registered"):
        store.add_wave(survey_id="ncsi-food", survey_version="9", year=2024, source_file="x.csv",
                       source_sha256="0", responses=fake_responses(5), report={})
    assert store.snapshot() == before


def test_replace_wave(store, tmp_path):
    with_survey(store, tmp_path)
    first = add_wave(store)
    second = add_wave(store, responses=fake_responses(10, seed=3), replace=True)
    assert second != first
    assert len(store.responses(2024, valid_only=False)) == 10
    assert store.waves()["id"].tolist() == [second]


# --- releases -----------------------------------------------------------------------------------

def test_save_draft_round_trip_and_replace(store):
    first = save_draft(store)
    rel = store.release(2024, "draft")
    assert rel["id"] == first and rel["status"] == "draft" and rel["published_at"] is None
    assert rel["settings"] == {"alpha": 0.05, "years": [2024]}
    assert rel["issues"] == [{"level": "warning", "message": "B2 below floor"}]
    assert rel["created_at"].tzinfo is not None
    assert store.release(2024) is None

    scores = store.release_scores(first)
    pd.testing.assert_frame_equal(scores, fake_scores(), check_dtype=False)
    assert scores["publishable"].dtype == bool
    fits = store.release_fits(first)
    assert [f["status"] for f in fits] == ["ok", "failed"]
    assert fits[0]["result"] == {"r2": {"SAT": 0.61, "LOY": None}, "paths": [0.1, 0.2]}
    assert fits[0]["n"] == 312 and fits[0]["converged"] is True and fits[1]["converged"] is None

    second = save_draft(store, offset=1.0)
    assert second != first
    assert store.releases()[["id", "year", "status"]].values.tolist() == [[second, 2024, "draft"]]
    assert store.release_scores(first).empty and store.release_fits(first) == []
    assert store.release_scores(second)["index"].iloc[0] == 72.5
    snap = store.snapshot()
    assert len(snap["scores"]) == 4 and len(snap["model_fits"]) == 2


def test_save_draft_bad_scores_write_nothing(store):
    save_draft(store)
    before = store.snapshot()
    bad = fake_scores()
    bad.loc[2, "level"] = "galaxy"
    with pytest.raises(StoreError, match="scores row 2.*level"):
        store.save_draft(2024, settings={}, provenance={}, fits=[], scores=bad, issues=[])
    assert store.snapshot() == before


def test_publish(store):
    with pytest.raises(StoreError, match=r"run `ncsi build --year 2024` first") as err:
        store.publish(2024)
    assert err.value.message_zh
    draft = save_draft(store)
    assert store.publish(2024) == draft
    rel = store.release(2024)
    assert rel["status"] == "published" and rel["published_at"] is not None
    assert len(rel["content_sha256"]) == 64
    assert store.verify_release(draft)
    assert store.release(2024, "draft") is None
    assert rel["published_by"] is None and rel["embargo_until"] is None
    listing = store.releases()
    assert list(listing.columns) == ["id", "year", "status", "created_at", "published_at",
                                     "content_sha256", "published_by", "embargo_until"]
    assert listing["status"].tolist() == ["published"]
    before = store.snapshot()
    with pytest.raises(StoreError, match="already published"):
        store.publish(2024)
    assert store.snapshot() == before


def test_content_hash_depends_on_content(store):
    save_draft(store, 2023)
    save_draft(store, 2024)
    store.publish(2023)
    store.publish(2024)
    a, b = store.release(2023)["content_sha256"], store.release(2024)["content_sha256"]
    assert a != b  # the year and settings differ


def published_2024(store, tmp_path):
    with_survey(store, tmp_path)
    add_wave(store)
    release_id = save_draft(store)
    store.publish(2024)
    return release_id


def test_published_release_is_immutable_through_the_api(store, tmp_path):
    published_2024(store, tmp_path)
    before = store.snapshot()
    with pytest.raises(StoreError, match="published releases never change") as err:
        save_draft(store, offset=5.0)
    assert "2024" in str(err.value) and "永不更改" in err.value.message_zh
    with pytest.raises(StoreError, match="published") as err:
        add_wave(store, responses=fake_responses(10, seed=9), replace=True)
    assert "2024" in str(err.value) and err.value.message_zh
    assert store.snapshot() == before
    # another year is still free to change
    save_draft(store, 2025)
    assert store.release(2025, "draft") is not None


def test_published_release_is_immutable_in_the_database(store, tmp_path):
    release_id = published_2024(store, tmp_path)
    before = store.snapshot()
    refused = [
        update(Release).where(Release.id == release_id).values(status="draft"),
        update(Release).where(Release.id == release_id).values(issues=[]),
        delete(Release).where(Release.id == release_id),
        update(Score).where(Score.release_id == release_id).values(index=99.0),
        delete(Score).where(Score.release_id == release_id),
        delete(Score.__table__.metadata.tables["model_fits"]),
        Score.__table__.insert().values(release_id=release_id, level="brand", code="X",
                                        construct="SAT", publishable=True),
    ]
    for statement in refused:
        with pytest.raises(IntegrityError, match="published releases never change"):
            with store.engine.begin() as conn:
                conn.execute(statement)
    # and with the plain driver (sqlite3, psycopg): no SQLAlchemy, no store code in between
    with plain_driver(store) as (execute, integrity_error):
        for sql in ("UPDATE releases SET year = 1999 WHERE id = ?",
                    "DELETE FROM releases WHERE id = ?",
                    "UPDATE model_fits SET message = 'x' WHERE release_id = ?",
                    "DELETE FROM scores WHERE release_id = ?"):
            with pytest.raises(integrity_error, match="published releases never change"):
                execute(sql, (release_id,))
    assert store.snapshot() == before
    assert store.verify_release(release_id)


def test_published_scores_only_from_published_releases(store):
    save_draft(store, 2023)
    store.publish(2023)
    save_draft(store, 2024, offset=2.0)  # a draft: never shown
    got = store.published_scores()
    assert list(got.columns) == ["year", "release_id"] + list(SCORE_COLUMNS)
    assert set(got["year"]) == {2023} and len(got) == 4
    brand = store.published_scores(level="brand", construct="SAT")
    assert brand["code"].tolist() == ["B1", "B2"]
    assert store.published_scores(construct="LOY").empty
    store.publish(2024)
    assert set(store.published_scores()["year"]) == {2023, 2024}
    assert store.published_scores(level="nation")["index"].tolist() == [69.0, 71.0]


# --- migration 0002: flags, publisher, embargo --------------------------------------------------

def test_flags_round_trip_and_are_optional(store):
    first = save_draft(store)
    got = store.release_scores(first)["flags"].tolist()
    assert got == [INVARIANCE_FAILED, None, {"invariance": {"ok": True, "reason": None}}, None]
    # stored as SQL NULL where absent (not the JSON text 'null')
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM scores WHERE flags IS NULL")).scalar() == 2
    # a frame without the column: every row None
    no_flags = fake_scores().drop(columns="flags")
    second = store.save_draft(2024, settings={}, provenance={}, fits=[], scores=no_flags,
                              issues=[])
    assert store.release_scores(second)["flags"].tolist() == [None] * 4
    # numpy values inside flags are stored as plain JSON; NaN (a missing cell) is None
    odd = fake_scores()
    odd["flags"] = [{"invariance": {"ok": np.bool_(False), "p": np.float64(0.01)}}, np.nan,
                    {"k": (1, 2)}, pd.NA]
    third = store.save_draft(2024, settings={}, provenance={}, fits=[], scores=odd, issues=[])
    assert store.release_scores(third)["flags"].tolist() == [
        {"invariance": {"ok": False, "p": 0.01}}, None, {"k": [1, 2]}, None]
    published = store.publish(2024)
    assert store.published_scores()["flags"].tolist() == store.release_scores(published)[
        "flags"].tolist()


@pytest.mark.parametrize("value, fragment", [
    ("invariance failed", "flags must be a dict"),
    (["invariance"], "flags must be a dict"),
    ({"invariance": object()}, "cannot be stored as JSON"),
])
def test_bad_flags_are_refused_and_write_nothing(store, value, fragment):
    save_draft(store)
    before = store.snapshot()
    bad = fake_scores()
    bad["flags"] = [None, None, value, None]
    with pytest.raises(StoreError, match=fragment) as err:
        store.save_draft(2024, settings={}, provenance={}, fits=[], scores=bad, issues=[])
    assert "scores row 2" in str(err.value) and "code dairy" in str(err.value)
    assert err.value.message_zh
    assert store.snapshot() == before


def test_publish_records_publisher_and_embargo(store):
    save_draft(store, 2023)
    save_draft(store, 2024)
    before = store.snapshot()
    beijing = timezone(timedelta(hours=8))
    with pytest.raises(StoreError, match="has no time zone.*give a timezone") as err:
        store.publish(2024, embargo_until=datetime(2099, 3, 15, 9, 0))
    assert "2099-03-15T09:00:00" in str(err.value) and "时区" in err.value.message_zh
    with pytest.raises(StoreError, match="is not a date and time"):
        store.publish(2024, embargo_until="2099-03-15")
    with pytest.raises(StoreError, match="not in the future") as err:
        store.publish(2024, embargo_until=datetime(2020, 1, 1, tzinfo=beijing))
    assert err.value.message_zh
    with pytest.raises(StoreError, match="publisher"):
        store.publish(2024, by=42)
    assert store.snapshot() == before  # nothing published by a refused call

    embargo = datetime(2099, 3, 15, 9, 0, tzinfo=beijing)
    rid = store.publish(2024, by="  editor-li ", embargo_until=embargo)
    rel = store.release(2024)
    assert rel["id"] == rid and rel["published_by"] == "editor-li"
    assert rel["embargo_until"] == embargo  # the same instant ...
    assert rel["embargo_until"].tzinfo == timezone.utc  # ... stored and returned as UTC
    assert rel["embargo_until"].hour == 1
    store.publish(2023, by="", embargo_until=pd.Timestamp("2099-01-01T00:00Z"))
    listing = store.releases().set_index("year")
    assert listing.loc[2024, "published_by"] == "editor-li"
    assert pd.isna(listing.loc[2023, "published_by"])  # an empty name is no name
    assert listing.loc[2024, "embargo_until"] == pd.Timestamp("2099-03-15T01:00Z")
    assert listing.loc[2023, "embargo_until"] == pd.Timestamp("2099-01-01T00:00Z")
    # the dashboard's per-run fingerprint: the same rows, read without pandas
    assert store.published_release_keys() == [
        (int(y), int(r.id), r.embargo_until.to_pydatetime())
        for y, r in listing[listing["status"] == "published"].iterrows()]
    assert store.published_release_keys()[1][2].tzinfo == timezone.utc
    # UTC in the database too (PostgreSQL: a timestamptz, read here in UTC)
    stored = ("SELECT to_char(embargo_until AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') "
              "FROM releases WHERE id = ?" if is_postgres(store)
              else "SELECT embargo_until FROM releases WHERE id = ?")
    with plain_driver(store) as (execute, _):
        assert execute(stored, (rid,)).fetchone()[0].startswith("2099-03-15 01:00:00")


#: The content hash of published_hash("…", fake_scores()) below: the hash of the same content is
#: the same on every database, and never changes (it is how a published release is verified).
BASE_HASH = "ded8fffe1b7c0e361380c5933bcb2f7db0df25fc172edd4ae233220d44bdd6a1"


def test_content_hash_covers_flags_not_publisher_or_embargo(new_store_url):
    def published_hash(name, scores, **publish):
        s = Store(new_store_url(name))
        s.upgrade()
        s.save_draft(2024, settings={"a": 1}, provenance={"p": 2}, fits=fake_fits(),
                     scores=scores, issues=[])
        rid = s.publish(2024, **publish)
        assert s.verify_release(rid)
        digest = s.release(2024)["content_sha256"]
        s.close()
        return digest

    base = published_hash("a.db", fake_scores())
    assert base == BASE_HASH  # the same content hashes alike on every database
    later = datetime.now(timezone.utc) + timedelta(days=30)
    assert published_hash("b.db", fake_scores(), by="someone", embargo_until=later) == base
    other_flags = fake_scores()
    other_flags.at[1, "flags"] = {"invariance": {"ok": False, "reason": "x"}}
    assert published_hash("c.db", other_flags) != base
    # rows without flags hash as before migration 0002: no "flags" key at all
    no_flags = fake_scores()
    no_flags["flags"] = None
    assert published_hash("d.db", no_flags) == published_hash(
        "e.db", fake_scores().drop(columns="flags"))


def assert_published_rows_refused(store, release_id):
    """Raw SQL through the engine (no Store method): every UPDATE/DELETE of the published
    release's row, its scores (flags included) and its fits fails in the database."""
    v = json_param(store)
    flags = json.dumps({"invariance": {"ok": True}})
    statements = [
        ("UPDATE releases SET status = 'draft' WHERE id = :id", {}),
        ("UPDATE releases SET published_by = 'mallory' WHERE id = :id", {}),
        ("UPDATE releases SET embargo_until = NULL WHERE id = :id", {}),
        ("UPDATE releases SET embargo_until = :v WHERE id = :id",
         {"v": datetime(2001, 1, 1, tzinfo=timezone.utc)}),
        ("UPDATE releases SET content_sha256 = 'x' WHERE id = :id", {}),
        ("DELETE FROM releases WHERE id = :id", {}),
        (f"UPDATE scores SET flags = {v} WHERE release_id = :id", {"v": flags}),
        ("UPDATE scores SET flags = NULL WHERE release_id = :id", {}),
        ("UPDATE scores SET \"index\" = 99.0 WHERE release_id = :id", {}),
        ("DELETE FROM scores WHERE release_id = :id", {}),
        ("UPDATE model_fits SET message = 'x' WHERE release_id = :id", {}),
        ("DELETE FROM model_fits WHERE release_id = :id", {}),
        (f"INSERT INTO scores (release_id, level, code, construct, publishable, flags) "
         f"VALUES (:id, 'brand', 'X', 'SAT', TRUE, {v})", {"v": flags}),
    ]
    with store.engine.connect() as conn:
        counts = [conn.execute(text(f"SELECT COUNT(*) FROM {t} WHERE release_id = :id"),
                               {"id": release_id}).scalar() for t in ("scores", "model_fits")]
    assert min(counts) > 0  # the statements would change rows if allowed
    before = store.snapshot()
    for sql, params in statements:
        with pytest.raises(IntegrityError, match="published releases never change"):
            with store.engine.begin() as conn:
                conn.execute(text(sql), {"id": release_id, **params})
    assert store.snapshot() == before


def test_published_release_flags_publisher_embargo_immutable_in_the_database(store, tmp_path):
    save_draft(store)
    release_id = store.publish(2024, by="editor",
                               embargo_until=datetime.now(timezone.utc) + timedelta(days=1))
    assert_published_rows_refused(store, release_id)
    assert store.verify_release(release_id)
    with plain_driver(store) as (execute, integrity_error):  # the plain driver, too
        for sql in ("UPDATE releases SET published_by = 'x' WHERE id = ?",
                    "UPDATE releases SET embargo_until = NULL WHERE id = ?",
                    "UPDATE scores SET flags = '{}' WHERE release_id = ?",
                    "UPDATE scores SET flags = NULL WHERE release_id = ?"):
            with pytest.raises(integrity_error, match="published releases never change"):
                execute(sql, (release_id,))
    # the draft of another year stays editable
    draft = save_draft(store, 2025)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE scores SET flags = NULL WHERE release_id = :id"), {"id": draft})


# --- upgrading a database written at 0001 -------------------------------------------------------

def migrate(store, direction, revision):
    cfg = _alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, direction)(cfg, revision)
    store._schema_ok = False


#: The tables of schema 0001 (and 0002); migration 0003 added maturity_responses, performance and
#: enterprise_links.
TABLES_0001 = ("surveys", "brands", "revenues", "waves", "responses", "releases", "model_fits",
               "scores")


def _reflect(conn, names=TABLES_0001):
    metadata = MetaData()
    return {name: Table(name, metadata, autoload_with=conn) for name in names}


def _rows(conn, tables):
    return {name: [tuple(r) for r in conn.execute(
        select(t).order_by(*t.primary_key.columns))] for name, t in tables.items()}


SCORES_0001 = ("level", "code", "parent", "construct", "index", "se", "ci_low", "ci_high", "n",
               "weight", "weight_basis", "publishable", "note")


def _content_sha256_0001(conn, tables, release_id):
    """The content hash as the code of schema 0001 computed it (no flags column)."""
    from ncsi.store import FIT_KEYS
    r, f, s = tables["releases"], tables["model_fits"], tables["scores"]
    rel = conn.execute(select(r.c.year, r.c.settings, r.c.provenance, r.c.issues)
                       .where(r.c.id == release_id)).one()
    fits = conn.execute(select(*(f.c[k] for k in FIT_KEYS)).where(f.c.release_id == release_id))
    scores = conn.execute(select(*(s.c[k] for k in SCORES_0001))
                          .where(s.c.release_id == release_id))
    document = {"year": rel.year, "settings": rel.settings, "provenance": rel.provenance,
                "issues": rel.issues,
                "fits": sorted(_canonical(dict(zip(FIT_KEYS, row))) for row in fits),
                "scores": sorted(_canonical(dict(zip(SCORES_0001, row))) for row in scores)}
    return hashlib.sha256(_canonical(document).encode("utf-8")).hexdigest()


def _fill_at_0001(store) -> dict[str, int]:
    """One of everything, written with plain SQL on the 0001 schema (as the code of that time
    did): a published 2023 release and a 2024 draft, each with fits and scores."""
    now = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    score_rows = fake_scores().drop(columns="flags").astype(object)
    score_rows = score_rows.where(score_rows.notna(), None).to_dict(orient="records")
    fits = [{k: (bool(v) if isinstance(v, np.bool_) else int(v) if isinstance(v, np.integer)
                 else v) for k, v in fit.items()} for fit in fake_fits()]
    fits[0]["result"] = {"r2": {"SAT": 0.61, "LOY": None}, "paths": [0.1, 0.2]}
    ids = {}
    with store.engine.begin() as conn:
        t = _reflect(conn)
        assert "flags" not in t["scores"].c and "published_by" not in t["releases"].c
        conn.execute(t["surveys"].insert(), [dict(
            id="ncsi-food", version="1", sector="food", title_zh="食品", title_en="Food",
            definition="id: ncsi-food\n", sha256="e" * 64, registered_at=now)])
        conn.execute(t["brands"].insert(), [
            dict(code="B1", industry="dairy", name_zh="一", name_en="One", is_demo=True,
                 registered_at=now),
            dict(code="B2", industry="dairy", name_zh="二", name_en=None, is_demo=False,
                 registered_at=now)])
        conn.execute(t["revenues"].insert(), [dict(year=2023, brand="B1", revenue=10.5,
                                                   source="rev.csv")])
        wave = conn.execute(t["waves"].insert().values(
            survey_id="ncsi-food", survey_version="1", year=2023, source_file="f.csv",
            source_sha256="f" * 64, n_rows=2, n_valid=1, report={"n": 2},
            ingested_at=now)).inserted_primary_key[0]
        conn.execute(t["responses"].insert(), [
            dict(wave_id=wave, respondent_id="R1", industry="dairy", brand="B1", region="north",
                 gender="f", age=30, weight=1.0, duration_sec=300.0, status="valid",
                 items={"SAT1": 7.0, "SAT2": None}),
            dict(wave_id=wave, respondent_id="R2", industry="dairy", brand="B2", region=None,
                 gender=None, age=None, weight=2.0, duration_sec=None, status="speeder",
                 items={"SAT1": 98.0, "SAT2": 3.0})])
        for year in (2023, 2024):
            rid = conn.execute(t["releases"].insert().values(
                year=year, status="draft", created_at=now, settings={"scheme": "path"},
                provenance={"git": "abc", "year": year}, issues=[{"kind": "note"}],
            )).inserted_primary_key[0]
            conn.execute(t["model_fits"].insert(), [dict(fit, release_id=rid) for fit in fits])
            conn.execute(t["scores"].insert(), [dict(r, release_id=rid) for r in score_rows])
            ids[year] = rid
        digest = _content_sha256_0001(conn, t, ids[2023])
        conn.execute(t["releases"].update().where(t["releases"].c.id == ids[2023]).values(
            status="published", published_at=now, content_sha256=digest))
    return ids


def check_upgrade_from_0001(store):
    """Create the schema at 0001 with data, upgrade to head: every row and value is kept, the
    new columns are NULL, old content hashes still verify and the triggers still hold."""
    migrate(store, "upgrade", "0001")
    ids = _fill_at_0001(store)
    with store.engine.connect() as conn:
        before = _rows(conn, _reflect(conn))
    store.upgrade()
    with store.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_heads() == (_head_revision(),)
        tables = _reflect(conn)
        after = _rows(conn, tables)
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    new_columns = {"releases": ["published_by", "embargo_until", "maturity", "grades"],
                   "scores": ["flags"]}
    for name in TABLES_0001:
        names = [c.name for c in tables[name].c]
        added = new_columns.get(name, [])
        assert names[len(names) - len(added):] == added  # added at the end ...
        kept = len(names) - len(added)
        assert [row[:kept] for row in after[name]] == before[name], name  # ... the rest kept
        assert all(v is None for row in after[name] for v in row[kept:]), name
    assert before["responses"] and before["scores"] and before["model_fits"]
    # the Store reads the old data; the old hash of the published release still verifies
    assert store.verify_release(ids[2023])
    rel = store.release(2023)
    assert rel["published_by"] is None and rel["embargo_until"] is None
    scores = store.release_scores(ids[2023])
    assert scores["flags"].tolist() == [None] * 4
    pd.testing.assert_frame_equal(scores.drop(columns="flags"),
                                  fake_scores().drop(columns="flags"), check_dtype=False)
    assert len(store.responses(2023, valid_only=False)) == 2
    # the triggers of 0001 still refuse every change to the published release
    assert_published_rows_refused(store, ids[2023])
    # and the draft written at 0001 can be published with the new fields
    rid = store.publish(2024, by="editor")
    assert rid == ids[2024] and store.verify_release(rid)
    assert store.release(2024)["published_by"] == "editor"
    assert_published_rows_refused(store, rid)


def test_upgrade_from_0001_keeps_data_and_triggers(store_url):
    store = Store(store_url)
    check_upgrade_from_0001(store)
    assert len(trigger_names(store)) == TRIGGER_COUNT[store.engine.dialect.name]
    store.close()


def test_downgrade_0002_to_0001_keeps_the_rest(store):
    """A downgrade drops the new columns (their values are lost, as in any downgrade) and keeps
    every other value and the triggers."""
    store.save_draft(2023, settings={}, provenance={}, fits=fake_fits(),
                     scores=fake_scores().drop(columns="flags"), issues=[])
    rid = store.publish(2023, by="editor")
    with store.engine.connect() as conn:
        before = _rows(conn, _reflect(conn))
    migrate(store, "downgrade", "0001")
    with store.engine.connect() as conn:
        tables = _reflect(conn)
        after = _rows(conn, tables)
    assert "flags" not in tables["scores"].c and "embargo_until" not in tables["releases"].c
    assert [row[:-1] for row in before["scores"]] == after["scores"]
    # releases: published_by, embargo_until (0002) and maturity, grades (0003) are gone
    assert [row[:-4] for row in before["releases"]] == after["releases"]
    assert len(trigger_names(store)) == TRIGGER_COUNT[store.engine.dialect.name]
    with pytest.raises(IntegrityError, match="published releases never change"):
        with store.engine.begin() as conn:
            conn.execute(text("DELETE FROM scores WHERE release_id = :id"), {"id": rid})
    store.upgrade()
    assert store.verify_release(rid) and store.release(2023)["published_by"] is None


# --- PostgreSQL end to end (on top of every test above running on it too) ----------------------

def test_postgresql_schema_round_trip_and_immutability(tmp_path, postgres_url):
    store = Store(postgres_url)
    cfg = _alembic_config()
    store.upgrade()
    store.upgrade()
    try:
        with store.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
        store.load_brands(brands_frame(), "brands.csv")
        store.load_revenue(pd.DataFrame({"year": [2024], "brand": ["B1"], "revenue": [1.5]}),
                           "rev.csv")
        with_survey(store, tmp_path)
        frame = fake_responses(300)
        add_wave(store, responses=frame)
        got = store.responses(2024, valid_only=False)
        pd.testing.assert_frame_equal(got.drop(columns="survey_id"), frame, check_dtype=False)
        frame.loc[250, "respondent_id"] = frame.loc[3, "respondent_id"]
        before = store.snapshot()
        with pytest.raises(StoreError, match="appears more than once"):
            add_wave(store, 2023, responses=frame)
        assert store.snapshot() == before
        release_id = save_draft(store)
        save_draft(store)
        release_id = store.publish(2024)
        assert store.verify_release(release_id)
        pd.testing.assert_frame_equal(store.release_scores(release_id), fake_scores(),
                                      check_dtype=False)
        before = store.snapshot()
        with pytest.raises(StoreError, match="published releases never change"):
            save_draft(store)
        for statement in (update(Release).where(Release.id == release_id).values(issues=[]),
                          delete(Release).where(Release.id == release_id),
                          delete(Score).where(Score.release_id == release_id),
                          update(Score).values(note="x")):
            with pytest.raises(IntegrityError, match="published releases never change"):
                with store.engine.begin() as conn:
                    conn.execute(statement)
        assert store.snapshot() == before
        # migration 0002: flags, publisher and embargo round-trip; the triggers cover them
        scores = fake_scores()
        save_draft(store, 2025)
        embargo = datetime(2099, 3, 15, 9, 0, tzinfo=timezone(timedelta(hours=8)))
        rid_2025 = store.publish(2025, by="王 editor", embargo_until=embargo)
        rel = store.release(2025)
        assert rel["published_by"] == "王 editor" and rel["embargo_until"] == embargo
        assert rel["embargo_until"].utcoffset() == timedelta(0)
        assert store.release_scores(rid_2025)["flags"].tolist() == scores["flags"].tolist()
        assert_published_rows_refused(store, rid_2025)
        assert store.verify_release(rid_2025)
        # down to nothing and up again: no table, trigger or function is left behind
        migrate(store, "downgrade", "base")
        assert set(inspect(store.engine).get_table_names()) <= {"alembic_version"}
        assert trigger_names(store) == []
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM pg_proc WHERE proname LIKE "
                                     "'ncsi_refuse_%'")).scalar() == 0
        store.upgrade()
        assert len(trigger_names(store)) == TRIGGER_COUNT["postgresql"]
    finally:
        store.close()


def test_postgresql_concurrent_publish_of_one_year_is_refused(postgres_url):
    """Two processes publishing the same year: the second waits for the first and is refused
    (on SQLite the file lock serializes them; PostgreSQL needs the row lock)."""
    store = Store(postgres_url)
    store.upgrade()
    draft = save_draft(store)
    first = Store(postgres_url)
    outcome: dict = {}

    def second_publisher():
        try:
            outcome["id"] = store.publish(2024, by="second")
        except StoreError as exc:
            outcome["error"] = exc

    try:
        with first.engine.connect() as conn:
            tx = conn.begin()  # the first publisher, mid-publish: the draft row is locked
            conn.execute(select(Release.id).where(Release.id == draft).with_for_update())
            thread = threading.Thread(target=second_publisher)
            thread.start()
            waiting = 0
            for _ in range(200):  # until the second publisher waits for the lock
                waiting = conn.execute(text(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'")).scalar()
                if waiting or not thread.is_alive():
                    break
                time.sleep(0.05)
            assert waiting == 1 and "id" not in outcome and "error" not in outcome
            conn.execute(update(Release).where(Release.id == draft).values(
                status="published", published_at=datetime.now(timezone.utc),
                content_sha256="f" * 64, published_by="first"))
            tx.commit()
        thread.join(30)
        assert not thread.is_alive()
        assert "id" not in outcome and "already published" in str(outcome["error"])
        rel = store.release(2024)
        assert rel["id"] == draft and rel["published_by"] == "first"
    finally:
        first.close()
        store.close()
