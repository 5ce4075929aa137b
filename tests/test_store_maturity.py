"""Migration 0003 and the store's maturity API: maturity waves, performance records, enterprise
links, and the maturity results and grades stored with a release.

Every test using the ``store`` fixture (or ``store_url``) runs on a real SQLite file in tmp_path
and on a fresh database of the real PostgreSQL test server (tests/pg.py). No mocks.
"""

from __future__ import annotations

import hashlib
import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from ncsi.errors import StoreError
from ncsi.store import (
    LINK_COLUMNS,
    MATURITY_COLUMNS,
    MATURITY_SECTOR,
    PERFORMANCE_COLUMNS,
    Store,
)
from ncsi.store.models import TABLES, Base
from ncsi.store.store import _alembic_config, _head_revision
from tests.pg import TRIGGER_COUNT, is_postgres, json_param, plain_driver, trigger_names
from tests.test_store import (
    TABLES_0001,
    _fill_at_0001,
    _reflect,
    _rows,
    add_wave,
    brands_frame,
    fake_fits,
    fake_responses,
    fake_scores,
    migrate,
    save_draft,
    with_survey,
)

MITEMS = ["LEAD1", "LEAD2", "PROC1", "PROC2", "RES1"]
NEW_TABLES = ("maturity_responses", "performance", "enterprise_links")


# --- fixtures and builders ----------------------------------------------------------------------

@pytest.fixture
def store(store_url) -> Store:
    s = Store(store_url)
    s.upgrade()
    yield s
    s.close()


def with_maturity_survey(store, tmp_path, sid="maturity", version="1", sector=MATURITY_SECTOR):
    body = f"id: {sid}\nversion: '{version}'\nsector: {sector}\n"
    path = tmp_path / f"{sid}-{version}-{hashlib.sha1(body.encode()).hexdigest()[:6]}.yaml"
    path.write_text(body, encoding="utf-8")
    q = SimpleNamespace(id=sid, version=version, sector=sector, title_zh="质量管理成熟度",
                        title_en="QM maturity", sha256=hashlib.sha256(body.encode()).hexdigest(),
                        path=path)
    store.register_survey(q)
    return q


def fake_enterprises(n=40, seed=0, prefix="E") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "enterprise_id": [f"{prefix}{i:04d}" for i in range(n)],
        "region": rng.choice(["east", "west", "north"], n),
        "size": rng.choice(["large", "medium", "small"], n),
        "industry": rng.choice(["C13", "C26", "C38"], n),
        "weight": rng.uniform(0.5, 30.0, n),
    })
    matrix = rng.integers(1, 6, (n, len(MITEMS))).astype(float)
    matrix[rng.random(matrix.shape) < 0.1] = np.nan
    matrix[:, -1] = np.nan  # an item nobody answered
    return pd.concat([frame, pd.DataFrame(matrix, columns=MITEMS)], axis=1)


def add_maturity(store, year=2024, responses=None, replace=False, survey_id="maturity",
                 item_codes=MITEMS, source=None):
    return store.add_maturity_wave(
        survey_id=survey_id, survey_version="1", year=year,
        source_file=source or f"{survey_id}-{year}.xlsx", source_sha256="d" * 64,
        responses=fake_enterprises() if responses is None else responses,
        item_codes=item_codes, report={"n": 40, "share": np.float64(0.25)}, replace=replace)


def performance_frame():
    return pd.DataFrame({
        "year": [2024, 2024, 2024, 2023],
        "enterprise_id": ["E0001", "E0002", "E0003", "E0001"],
        "certificate_valid": ["true", "no", None, 1],
        "major_incident_2y": [False, "0", "YES", ""],
        "spot_check_pass_rate": [100, 97.5, np.nan, 0],
        "quality_exposures_3y": [0, 2.0, None, 5],
        "credit_clean": ["yes", True, "f", "1"],
    })


MATURITY_RESULT = {"national": {"index": 61.2, "se": 1.3, "n": 40},
                   "levels": {"1": 0.1, "2": 0.3, "3": np.float64(0.6)}}
GRADES = [{"enterprise_id": "E0001", "grade": "AA", "rulebook": "1", "reasons": ["≥ 700"]},
          {"enterprise_id": "E0002", "grade": None, "not_graded": "missing certificate_valid"}]


def draft_with_results(store, year=2024, maturity=MATURITY_RESULT, grades=GRADES, scores=True):
    return store.save_draft(year, settings={"a": 1}, provenance={"p": 2},
                            fits=fake_fits() if scores else [],
                            scores=fake_scores() if scores else None, issues=[],
                            maturity=maturity, grades=grades)


def triggers(store) -> list[str]:
    return trigger_names(store)


def trigger_count(store) -> int:
    """How many immutability triggers migration 0001 installs on the store's database."""
    return TRIGGER_COUNT[store.engine.dialect.name]


# --- schema ---------------------------------------------------------------------------------------

def test_schema_at_head_has_the_new_tables_and_matches_the_models(store):
    assert _head_revision() >= "0003"  # 0004 (accounts) adds tables only
    assert set(NEW_TABLES) <= set(TABLES)
    names = set(inspect(store.engine).get_table_names())
    assert names == {"alembic_version", *TABLES}
    columns = {t: [c["name"] for c in inspect(store.engine).get_columns(t)] for t in NEW_TABLES}
    assert columns == {
        "maturity_responses": ["id", "wave_id", "enterprise_id", "region", "size", "industry",
                               "weight", "items"],
        "performance": ["year", "enterprise_id", "certificate_valid", "major_incident_2y",
                        "spot_check_pass_rate", "quality_exposures_3y", "credit_clean",
                        "source"],
        "enterprise_links": ["enterprise_id", "brand"],
    }
    release_columns = [c["name"] for c in inspect(store.engine).get_columns("releases")]
    assert release_columns[-2:] == ["maturity", "grades"]
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    cfg = _alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.check(cfg)  # autogenerate finds nothing to do
    assert len(triggers(store)) == trigger_count(store)  # 0003 adds none and drops none
    snap = store.snapshot()
    assert set(snap) == set(TABLES) and all(snap[t] == [] for t in NEW_TABLES)


def test_database_checks_refuse_bad_rows(store, tmp_path):
    """The CHECK, UNIQUE and FOREIGN KEY constraints hold without the store's code."""
    with_maturity_survey(store, tmp_path)
    wave = add_maturity(store)
    store.load_brands(brands_frame(), "brands.csv")
    before = store.snapshot()
    refused = [
        ("INSERT INTO maturity_responses (wave_id, enterprise_id, region, size, industry, "
         "weight, items) VALUES (:w, 'X1', 'east', 'huge', 'C13', 1.0, '{}')"),
        ("INSERT INTO maturity_responses (wave_id, enterprise_id, region, size, industry, "
         "weight, items) VALUES (:w, 'X1', 'east', 'small', 'C13', 0.0, '{}')"),
        ("INSERT INTO maturity_responses (wave_id, enterprise_id, region, size, industry, "
         "weight, items) VALUES (:w, 'E0001', 'east', 'small', 'C13', 1.0, '{}')"),
        ("INSERT INTO maturity_responses (wave_id, enterprise_id, region, size, industry, "
         "weight, items) VALUES (:w + 1000, 'X1', 'east', 'small', 'C13', 1.0, '{}')"),
        ("INSERT INTO maturity_responses (wave_id, enterprise_id, region, size, industry, "
         "weight, items) VALUES (:w, 'X1', NULL, 'small', 'C13', 1.0, '{}')"),
        "INSERT INTO performance (year, enterprise_id, spot_check_pass_rate) "
        "VALUES (2024, 'E1', 100.5)",
        "INSERT INTO performance (year, enterprise_id, spot_check_pass_rate) "
        "VALUES (2024, 'E1', -0.1)",
        "INSERT INTO performance (year, enterprise_id, quality_exposures_3y) "
        "VALUES (2024, 'E1', -1)",
        "INSERT INTO enterprise_links (enterprise_id, brand) VALUES ('E1', 'GHOST')",
    ]
    for sql in refused:
        with pytest.raises(IntegrityError):
            with store.engine.begin() as conn:
                conn.execute(text(sql), {"w": wave})
    assert store.snapshot() == before
    with store.engine.begin() as conn:  # NULLs pass the checks
        conn.execute(text("INSERT INTO performance (year, enterprise_id) VALUES (2024, 'E1')"))
        # deleting the wave deletes its enterprises (ON DELETE CASCADE)
        conn.execute(text("DELETE FROM waves WHERE id = :w"), {"w": wave})
        assert conn.execute(text("SELECT COUNT(*) FROM maturity_responses")).scalar() == 0


# --- migration 0003 -----------------------------------------------------------------------------

def _fill_at_0002(store) -> dict[str, int]:
    """The 0001 data, upgraded to 0002, plus flags and a publisher written at 0002."""
    migrate(store, "upgrade", "0001")
    ids = _fill_at_0001(store)
    migrate(store, "upgrade", "0002")
    with store.engine.begin() as conn:
        conn.execute(text(f"UPDATE scores SET flags = {json_param(store, 'f')} "
                          f"WHERE release_id = :id AND code = 'B1'"),
                     {"f": json.dumps({"invariance": {"ok": False}}), "id": ids[2024]})
    return ids


def test_upgrade_from_0002_keeps_data_triggers_and_hashes(store_url):
    store = Store(store_url)
    ids = _fill_at_0002(store)
    with store.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_heads() == ("0002",)
        assert not set(NEW_TABLES) & set(inspect(conn).get_table_names())
        before = _rows(conn, _reflect(conn))
    store.upgrade()
    with store.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_heads() == (_head_revision(),)
        after = _rows(conn, _reflect(conn))
        new = _rows(conn, _reflect(conn, NEW_TABLES))
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    for name in TABLES_0001:
        if name == "releases":  # maturity and grades added at the end, NULL
            assert [row[:-2] for row in after[name]] == before[name]
            assert all(row[-2:] == (None, None) for row in after[name])
        else:
            assert after[name] == before[name], name
    assert before["responses"] and before["scores"] and before["releases"]
    assert new == {name: [] for name in NEW_TABLES}
    assert len(triggers(store)) == trigger_count(store)
    # the release published before 0003 still verifies, and reads without results
    assert store.verify_release(ids[2023])
    rel = store.release(2023)
    assert rel["maturity"] is None and rel["grades"] is None
    assert store.release_scores(ids[2024])["flags"].iloc[0] == {"invariance": {"ok": False}}
    # its new columns are as immutable as the old ones
    assert_results_refused(store, ids[2023])
    # the draft written at 0002 publishes as usual; a new year can carry results
    assert store.publish(2024) == ids[2024] and store.verify_release(ids[2024])
    rid = draft_with_results(store, 2025)
    assert store.publish(2025) == rid and store.verify_release(rid)
    store.close()


def test_downgrade_0003_to_0002_keeps_the_rest(store, tmp_path):
    with_maturity_survey(store, tmp_path)
    with_survey(store, tmp_path)
    maturity_wave = add_maturity(store, 2023)
    add_wave(store, 2023, responses=fake_responses(20))
    store.load_performance(performance_frame(), "perf.csv")
    store.load_brands(brands_frame(), "brands.csv")
    store.load_links(pd.DataFrame({"enterprise_id": ["E0001"], "brand": ["B1"]}), "links.csv")
    rid = draft_with_results(store, 2023)
    store.publish(2023)
    with store.engine.connect() as conn:
        before = _rows(conn, _reflect(conn))
    migrate(store, "downgrade", "0002")
    with store.engine.connect() as conn:
        assert not set(NEW_TABLES) & set(inspect(conn).get_table_names())
        after = _rows(conn, _reflect(conn))
    assert [row[:-2] for row in before["releases"]] == after["releases"]
    # the maturity wave goes with its enterprises; every other row stays
    assert [row for row in before["waves"] if row[0] != maturity_wave] == after["waves"]
    assert len(after["waves"]) == 1 and len(after["responses"]) == 20
    assert {k: v for k, v in before.items() if k not in ("releases", "waves")} == {
        k: v for k, v in after.items() if k not in ("releases", "waves")}
    assert len(triggers(store)) == trigger_count(store)
    with pytest.raises(IntegrityError, match="published releases never change"):
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE releases SET issues = NULL WHERE id = :id"), {"id": rid})
    store.upgrade()  # and up again: the columns come back empty
    assert store.release(2023)["maturity"] is None and store.maturity_years() == []


# --- maturity waves -----------------------------------------------------------------------------

def test_maturity_wave_round_trip(store, tmp_path):
    with_maturity_survey(store, tmp_path)
    frame = fake_enterprises()
    frame["extra"] = "not stored"  # columns that are neither MATURITY_COLUMNS nor items
    assert store.maturity_years() == []
    assert list(store.maturity_responses(2024).columns) == list(MATURITY_COLUMNS)
    wave_id = add_maturity(store, responses=frame)
    assert store.maturity_years() == [2024]
    assert store.wave_exists("maturity", 2024)
    waves = store.waves(2024)
    assert waves[["id", "survey_id", "year", "n_rows", "n_valid"]].values.tolist() == [
        [wave_id, "maturity", 2024, 40, 40]]
    assert waves.loc[0, "report"] == {"n": 40, "share": 0.25}
    got = store.maturity_responses(2024)
    assert list(got.columns) == list(MATURITY_COLUMNS) + MITEMS
    pd.testing.assert_frame_equal(got, frame.drop(columns="extra"), check_dtype=False)
    assert all(got[c].dtype == np.float64 for c in MITEMS + ["weight"])
    assert got["RES1"].isna().all() and got[MITEMS[:-1]].isna().sum().sum() > 0
    assert store.maturity_responses(2023).empty
    # consumers and enterprises are apart: the maturity wave adds no consumer responses
    assert store.responses(2024, valid_only=False).empty
    with plain_driver(store) as (execute, _):  # NaN stored as JSON null
        texts = [r[0] for r in execute(
            "SELECT CAST(items AS TEXT) FROM maturity_responses ORDER BY id")]
    assert all("NaN" not in t for t in texts) and json.loads(texts[0])["RES1"] is None


def test_maturity_and_consumer_waves_share_a_year(store, tmp_path):
    with_survey(store, tmp_path)
    with_maturity_survey(store, tmp_path)
    add_wave(store, 2024, responses=fake_responses(30))
    add_maturity(store, 2024, responses=fake_enterprises(10))
    add_maturity(store, 2022, responses=fake_enterprises(5, seed=2))
    add_wave(store, 2023, responses=fake_responses(20, seed=1))
    assert store.maturity_years() == [2022, 2024]
    assert len(store.responses(2024, valid_only=False)) == 30
    assert len(store.maturity_responses(2024)) == 10
    assert sorted(store.waves(2024)["survey_id"]) == ["maturity", "ncsi-food"]
    # a questionnaire of one kind is refused by the other kind's method
    before = store.snapshot()
    with pytest.raises(StoreError, match="is a maturity questionnaire") as err:
        add_wave(store, 2025, responses=fake_responses(5), survey_id="maturity")
    assert err.value.message_zh
    with pytest.raises(StoreError, match="not 'manufacturing'.*not a maturity") as err:
        add_maturity(store, 2025, survey_id="ncsi-food")
    assert "sector 'food'" in str(err.value) and err.value.message_zh
    assert store.snapshot() == before


def test_duplicate_maturity_wave_refused_unless_replace(store, tmp_path):
    with_maturity_survey(store, tmp_path)
    with_maturity_survey(store, tmp_path, sid="maturity-pilot")
    first = add_maturity(store)
    before = store.snapshot()
    with pytest.raises(StoreError, match="wave already ingested; use --replace") as err:
        add_maturity(store, responses=fake_enterprises(seed=4))
    assert "2024" in str(err.value) and err.value.message_zh
    # one maturity wave per year, whichever maturity questionnaire
    with pytest.raises(StoreError, match=r"already ingested \(survey maturity\)"):
        add_maturity(store, survey_id="maturity-pilot")
    assert store.snapshot() == before
    second = add_maturity(store, responses=fake_enterprises(7, seed=4, prefix="F"),
                          replace=True)
    assert second != first
    got = store.maturity_responses(2024)
    assert len(got) == 7 and got["enterprise_id"].iloc[0] == "F0000"
    assert store.waves()["id"].tolist() == [second]
    third = add_maturity(store, survey_id="maturity-pilot", replace=True)
    assert store.waves()[["id", "survey_id"]].values.tolist() == [[third, "maturity-pilot"]]
    assert len(store.snapshot()["maturity_responses"]) == 40


def _set(column, pos, value):
    def change(frame):
        frame.loc[pos, column] = value
        return frame
    return change


@pytest.mark.parametrize("change, pattern", [
    (lambda f: f.assign(enterprise_id=["E0000"] * 3 + list(f["enterprise_id"][3:])),
     r"m\.xlsx, row 3, column 'enterprise_id'.*'E0000' appears again \(first at row 2\)"),
    (_set("size", 4, "huge"),
     r"row 6, column 'size'.*'huge' of enterprise 'E0004' is not one of large, medium, small"),
    (_set("weight", 2, 0.0), r"row 4, column 'weight'.*weight 0 of enterprise 'E0002' is not "
                             r"positive"),
    (_set("weight", 3, -1.5), r"row 5, column 'weight'.*-1\.5"),
    (_set("weight", 2, np.nan), r"row 4, column 'weight'.*empty"),
    (_set("region", 5, "  "), r"row 7, column 'region'.*empty"),
    (_set("industry", 1, None), r"row 3, column 'industry'.*empty"),
    (_set("enterprise_id", 0, None), r"row 2, column 'enterprise_id'.*empty"),
    (_set("PROC1", 0, "x"), r"row 2, column 'PROC1'.*'x' is not a finite number"),
    (lambda f: f.drop(columns="LEAD2"),
     r"m\.xlsx: the maturity responses data lacks column\(s\) LEAD2"),
    (lambda f: f.iloc[:0], "no enterprise rows"),
])
def test_maturity_wave_errors_name_row_and_column_and_write_nothing(store, tmp_path, change,
                                                                   pattern):
    with_maturity_survey(store, tmp_path)
    add_maturity(store, 2023)
    before = store.snapshot()
    frame = change(fake_enterprises(10).astype({"PROC1": object, "enterprise_id": object}))
    with pytest.raises(StoreError, match=pattern) as err:
        add_maturity(store, responses=frame, source="m.xlsx")
    assert err.value.message_zh
    assert store.snapshot() == before


def test_maturity_wave_refuses_bad_arguments(store, tmp_path):
    with_maturity_survey(store, tmp_path)
    before = store.snapshot()
    with pytest.raises(StoreError, match="version 9 is not registered"):
        store.add_maturity_wave(survey_id="maturity", survey_version="9", year=2024,
                                source_file="m.xlsx", source_sha256="0",
                                responses=fake_enterprises(3), item_codes=MITEMS, report={})
    for codes, pattern in ((["LEAD1", "LEAD1"], "given more than once"),
                           (["LEAD1", "weight"], "is a respondent column"),
                           ([], "no item codes"), ("LEAD1", "must be a list")):
        with pytest.raises(StoreError, match=pattern) as err:
            add_maturity(store, item_codes=codes)
        assert err.value.message_zh
    assert store.snapshot() == before
    # size is read case-insensitively and stored in lower case
    frame = fake_enterprises(3)
    frame["size"] = [" Large", "SMALL", "medium"]
    add_maturity(store, responses=frame, item_codes=MITEMS[:2])
    got = store.maturity_responses(2024)
    assert got["size"].tolist() == ["large", "small", "medium"]
    assert list(got.columns) == list(MATURITY_COLUMNS) + MITEMS[:2]


def test_maturity_wave_refused_for_a_published_year(store, tmp_path):
    with_maturity_survey(store, tmp_path)
    add_maturity(store, 2024)
    save_draft(store, 2024)
    store.publish(2024)
    save_draft(store, 2023)
    store.publish(2023)
    before = store.snapshot()
    for year, replace in ((2024, True), (2024, False), (2023, False)):
        with pytest.raises(StoreError, match="already published.*maturity wave") as err:
            add_maturity(store, year, responses=fake_enterprises(5, seed=3), replace=replace)
        assert str(year) in str(err.value) and "永不更改" in err.value.message_zh
    assert store.snapshot() == before
    add_maturity(store, 2025)  # an unpublished year is free
    assert store.maturity_years() == [2024, 2025]


# --- performance records -----------------------------------------------------------------------

def test_performance_round_trip_and_upsert(store):
    assert store.load_performance(performance_frame(), "perf.csv") == 4
    got = store.performance(2024)
    assert list(got.columns) == list(PERFORMANCE_COLUMNS) + ["source"]
    assert got["enterprise_id"].tolist() == ["E0001", "E0002", "E0003"]
    assert got["certificate_valid"].tolist() == [True, False, pd.NA]
    assert got["major_incident_2y"].tolist() == [False, False, True]
    assert got["credit_clean"].tolist() == [True, True, False]
    assert str(got["credit_clean"].dtype) == "boolean"
    assert got["spot_check_pass_rate"].tolist()[:2] == [100.0, 97.5]
    assert np.isnan(got["spot_check_pass_rate"].iloc[2])
    assert got["quality_exposures_3y"].tolist() == [0, 2, pd.NA]
    assert str(got["quality_exposures_3y"].dtype) == "Int64"
    assert (got["source"] == "perf.csv").all() and (got["year"] == 2024).all()
    old = store.performance(2023)
    assert old["major_incident_2y"].tolist() == [pd.NA]  # "" is unknown, not false
    assert old[["certificate_valid", "credit_clean"]].values.tolist() == [[True, True]]
    assert store.performance(2020).empty
    # a second file replaces a (year, enterprise)'s values, and adds new enterprises
    update = pd.DataFrame({"year": [2024, 2024], "enterprise_id": ["E0002", "E0009"],
                           "certificate_valid": [True, None], "major_incident_2y": [None, 0],
                           "spot_check_pass_rate": [None, "88"],
                           "quality_exposures_3y": [None, "1"], "credit_clean": ["no", "否"]})
    assert store.load_performance(update, "perf2.csv") == 2
    got = store.performance(2024).set_index("enterprise_id")
    assert got.loc["E0002", "certificate_valid"] and pd.isna(got.loc["E0002",
                                                                     "spot_check_pass_rate"])
    assert got.loc["E0002", "source"] == "perf2.csv" and got.loc["E0001", "source"] == "perf.csv"
    assert got.loc["E0009", "spot_check_pass_rate"] == 88.0 and not got.loc["E0009",
                                                                             "credit_clean"]
    assert len(got) == 4 and len(store.performance(2023)) == 1
    assert store.load_performance(performance_frame().iloc[:0], "empty.csv") == 0


@pytest.mark.parametrize("column, value, pattern", [
    ("spot_check_pass_rate", 100.5, r"row 3, column 'spot_check_pass_rate'.*100\.5.*between 0 "
                                    r"and 100"),
    ("spot_check_pass_rate", -1, r"row 3, column 'spot_check_pass_rate'.*-1"),
    ("spot_check_pass_rate", "high", r"row 3, column 'spot_check_pass_rate'.*'high' is not"),
    ("quality_exposures_3y", 1.5, r"row 3, column 'quality_exposures_3y'.*1\.5 is not a whole"),
    ("quality_exposures_3y", -2, r"row 3, column 'quality_exposures_3y'.*negative"),
    ("certificate_valid", "maybe", r"row 3, column 'certificate_valid'.*'maybe' is not true or "
                                   r"false"),
    ("credit_clean", 2, r"row 3, column 'credit_clean'.*'2' is not true or false"),
    ("enterprise_id", " ", r"row 3, column 'enterprise_id'.*empty"),
    ("enterprise_id", "E0001", r"row 3, column 'enterprise_id'.*'E0001' has a second row for "
                               r"2024 \(first at row 2\)"),
    ("year", None, r"row 3, column 'year'.*empty"),
])
def test_performance_errors_name_row_and_column_and_write_nothing(store, column, value,
                                                                 pattern):
    store.load_performance(performance_frame().iloc[:1], "first.csv")
    before = store.snapshot()
    bad = performance_frame().astype(object)
    bad.at[1, column] = value
    with pytest.raises(StoreError, match=pattern) as err:
        store.load_performance(bad, "perf.csv")
    assert str(err.value).startswith("perf.csv, row 3") and err.value.message_zh
    assert store.snapshot() == before
    with pytest.raises(StoreError, match="lacks column.*credit_clean"):
        store.load_performance(performance_frame().drop(columns="credit_clean"), "perf.csv")
    assert store.snapshot() == before


# --- enterprise links ---------------------------------------------------------------------------

def test_links_round_trip_additive_and_unknown_brand(store):
    store.load_brands(brands_frame(), "brands.csv")
    assert store.links().columns.tolist() == ["enterprise_id", "brand", "industry"]
    df = pd.DataFrame({"enterprise_id": ["E2", "E1", "E1"], "brand": ["B3", "B2", "B1"]})
    assert list(df.columns) == list(LINK_COLUMNS)
    assert store.load_links(df, "links.csv") == 3
    assert store.links().values.tolist() == [["E1", "B1", "dairy"], ["E1", "B2", "dairy"],
                                             ["E2", "B3", "snacks"]]
    # loading again adds what is new and keeps the rest
    assert store.load_links(pd.DataFrame({"enterprise_id": ["E1", 3], "brand": ["B1", "B3"]}),
                            "more.csv") == 2
    assert store.links()[["enterprise_id", "brand"]].values.tolist() == [
        ["3", "B3"], ["E1", "B1"], ["E1", "B2"], ["E2", "B3"]]
    before = store.snapshot()
    bad = pd.DataFrame({"enterprise_id": ["E5", "E6"], "brand": ["B1", "NOPE"]})
    with pytest.raises(StoreError, match=r"bad\.csv, row 3, column 'brand'.*'NOPE' of "
                                         r"enterprise 'E6' is not a known brand") as err:
        store.load_links(bad, "bad.csv")
    assert err.value.message_zh
    for frame, pattern in (
            (pd.DataFrame({"enterprise_id": ["E5", "E5"], "brand": ["B1", "B1"]}),
             r"row 3, column 'brand'.*appear again \(first at row 2\)"),
            (pd.DataFrame({"enterprise_id": ["E5", None], "brand": ["B1", "B2"]}),
             r"row 3, column 'enterprise_id'.*empty"),
            (pd.DataFrame({"enterprise_id": ["E5"], "brand": [""]}),
             r"row 2, column 'brand'.*no brand code"),
            (pd.DataFrame({"enterprise_id": ["E5"]}), "lacks column.*brand")):
        with pytest.raises(StoreError, match=pattern):
            store.load_links(frame, "bad.csv")
    assert store.snapshot() == before


# --- results stored with the release ----------------------------------------------------------

def test_draft_with_maturity_and_grades_round_trip(store):
    rid = draft_with_results(store)
    rel = store.release(2024, "draft")
    expected_maturity = {"national": {"index": 61.2, "se": 1.3, "n": 40},
                         "levels": {"1": 0.1, "2": 0.3, "3": 0.6}}
    assert rel["maturity"] == expected_maturity and rel["grades"] == GRADES
    # grades may be a dict or a DataFrame (stored as a list of rows, NaN → null)
    frame = pd.DataFrame({"enterprise_id": ["E1", "E2"], "total": [812.5, np.nan]})
    store.save_draft(2024, settings={}, provenance={}, fits=[], scores=None, issues=[],
                     grades=frame)
    assert store.release(2024, "draft")["grades"] == [{"enterprise_id": "E1", "total": 812.5},
                                                      {"enterprise_id": "E2", "total": None}]
    store.save_draft(2024, settings={}, provenance={}, fits=[], scores=None, issues=[],
                     grades={"E1": "AAA"})
    assert store.release(2024, "draft")["grades"] == {"E1": "AAA"}
    # left out: None, stored as SQL NULL
    plain = save_draft(store)
    rel = store.release(2024, "draft")
    assert rel["id"] == plain != rid and rel["maturity"] is None and rel["grades"] is None
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM releases WHERE maturity IS NULL AND "
                                 "grades IS NULL")).scalar() == 1


@pytest.mark.parametrize("kwargs, pattern", [
    ({"maturity": [1, 2]}, "maturity must be a dict"),
    ({"maturity": "61.2"}, "maturity must be a dict"),
    ({"grades": "AAA"}, "grades must be a list or a dict"),
    ({"grades": 3}, "grades must be a list or a dict"),
    ({"maturity": {"x": object()}}, r"maturity\.x: a object cannot be stored as JSON"),
    ({"grades": [{"g": {1, object()}}]}, "cannot be stored as JSON"),
])
def test_bad_results_are_refused_and_write_nothing(store, kwargs, pattern):
    save_draft(store)
    before = store.snapshot()
    with pytest.raises(StoreError, match=pattern) as err:
        store.save_draft(2024, settings={}, provenance={}, fits=[], scores=None, issues=[],
                         **kwargs)
    assert err.value.message_zh
    assert store.snapshot() == before


def test_maturity_only_year_publishes_without_scores(store):
    rid = draft_with_results(store, 2026, scores=False)
    assert store.release_scores(rid).empty and store.release_fits(rid) == []
    assert store.publish(2026, by="editor") == rid
    rel = store.release(2026)
    assert rel["maturity"]["national"]["index"] == 61.2 and rel["grades"] == GRADES
    assert store.verify_release(rid)
    assert store.published_scores().empty
    # an empty scores frame (no columns at all) is the same as None
    empty = store.save_draft(2027, settings={}, provenance={}, fits=[], scores=pd.DataFrame(),
                             issues=[], maturity={"national": {}})
    assert store.publish(2027) == empty and store.verify_release(empty)


#: The content hash of published_hash("…", maturity=MATURITY_RESULT, grades=GRADES) below.
RESULTS_HASH = "9902291fe2af44274d24ce64abc658e2d314601dc90a9d15a9d3a76cdc4c7332"


def test_content_hash_covers_maturity_and_grades(new_store_url):
    def published_hash(name, **results):
        s = Store(new_store_url(name))
        s.upgrade()
        s.save_draft(2024, settings={"a": 1}, provenance={"p": 2}, fits=fake_fits(),
                     scores=fake_scores(), issues=[], **results)
        rid = s.publish(2024)
        assert s.verify_release(rid)
        digest = s.release(2024)["content_sha256"]
        s.close()
        return digest

    base = published_hash("a.db", maturity=MATURITY_RESULT, grades=GRADES)
    assert base == RESULTS_HASH  # the same on every database, and never changes
    assert published_hash("b.db", maturity=MATURITY_RESULT, grades=GRADES) == base
    assert published_hash("c.db", maturity=MATURITY_RESULT, grades=GRADES[:1]) != base
    other = {**MATURITY_RESULT, "national": {"index": 61.3, "se": 1.3, "n": 40}}
    assert published_hash("d.db", maturity=other, grades=GRADES) != base
    without = published_hash("e.db")
    assert without not in (base, published_hash("f.db", maturity=MATURITY_RESULT))
    assert published_hash("g.db", maturity=None, grades=None) == without
    # an empty result is content too, unlike no result
    assert published_hash("h.db", grades=[]) != without


def assert_results_refused(store, release_id):
    """Raw SQL through the engine: every UPDATE of a published release's maturity and grades
    fails in the database, and nothing changes."""
    v = json_param(store)
    value = json.dumps({"national": {"index": 99.9}})
    statements = [
        (f"UPDATE releases SET maturity = {v} WHERE id = :id", {"v": value}),
        (f"UPDATE releases SET grades = {v} WHERE id = :id", {"v": "[]"}),
        ("UPDATE releases SET maturity = NULL, grades = NULL WHERE id = :id", {}),
        ("UPDATE releases SET maturity = NULL WHERE id = :id", {}),
    ]
    before = store.snapshot()
    for sql, params in statements:
        with pytest.raises(IntegrityError, match="published releases never change"):
            with store.engine.begin() as conn:
                conn.execute(text(sql), {"id": release_id, **params})
    assert store.snapshot() == before


def test_published_maturity_and_grades_cannot_be_updated(store, tmp_path):
    rid = draft_with_results(store)
    store.publish(2024)
    assert_results_refused(store, rid)
    edit_in_place = (  # change one value inside the JSON, with the database's own functions
        "UPDATE releases SET grades = CAST(jsonb_set(CAST(grades AS JSONB), '{0,grade}', "
        "'\"AAA\"') AS JSON) WHERE id = ?" if is_postgres(store)
        else "UPDATE releases SET grades = json_set(grades, '$[0].grade', 'AAA') WHERE id = ?")
    with plain_driver(store) as (execute, integrity_error):  # the plain driver, no SQLAlchemy
        for sql in ("UPDATE releases SET maturity = '{}' WHERE id = ?",
                    "UPDATE releases SET grades = NULL WHERE id = ?",
                    edit_in_place):
            with pytest.raises(integrity_error, match="published releases never change"):
                execute(sql, (rid,))
    assert store.verify_release(rid) and store.release(2024)["grades"] == GRADES
    # through the API too
    before = store.snapshot()
    with pytest.raises(StoreError, match="published releases never change"):
        draft_with_results(store, maturity={"national": {"index": 1.0}})
    assert store.snapshot() == before
    # a draft stays editable
    draft = draft_with_results(store, 2025)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE releases SET grades = NULL WHERE id = :id"), {"id": draft})
    assert store.release(2025, "draft")["grades"] is None


def test_snapshot_sees_the_new_tables(store, tmp_path):
    with_maturity_survey(store, tmp_path)
    store.load_brands(brands_frame(), "brands.csv")
    before = store.snapshot()
    add_maturity(store, responses=fake_enterprises(3))
    store.load_performance(performance_frame(), "perf.csv")
    store.load_links(pd.DataFrame({"enterprise_id": ["E1"], "brand": ["B1"]}), "links.csv")
    after = store.snapshot()
    assert [len(after[t]) - len(before[t]) for t in NEW_TABLES] == [3, 4, 1]


# --- PostgreSQL end to end (on top of every test above running on it too) ----------------------

def test_postgresql_upgrade_from_0002_and_maturity_round_trip(tmp_path, postgres_url):
    store = Store(postgres_url)
    try:
        ids = _fill_at_0002(store)
        with store.engine.connect() as conn:
            before = _rows(conn, _reflect(conn))
        store.upgrade()
        with store.engine.connect() as conn:
            after = _rows(conn, _reflect(conn))
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            assert set(NEW_TABLES) <= set(inspect(conn).get_table_names())
        assert [row[:-2] for row in after["releases"]] == before["releases"]
        assert {k: v for k, v in after.items() if k != "releases"} == {
            k: v for k, v in before.items() if k != "releases"}
        assert store.verify_release(ids[2023])
        assert_results_refused(store, ids[2023])

        with_maturity_survey(store, tmp_path)
        frame = fake_enterprises(25)
        add_maturity(store, 2025, responses=frame)
        pd.testing.assert_frame_equal(store.maturity_responses(2025), frame, check_dtype=False)
        assert store.maturity_years() == [2025]
        bad = frame.copy()
        bad.loc[20, "enterprise_id"] = "E0003"
        snap = store.snapshot()
        with pytest.raises(StoreError, match="row 22, column 'enterprise_id'"):
            add_maturity(store, 2025, responses=bad, replace=True)
        assert store.snapshot() == snap
        store.load_performance(performance_frame(), "perf.csv")
        assert store.performance(2024)["certificate_valid"].tolist() == [True, False, pd.NA]
        store.load_links(pd.DataFrame({"enterprise_id": ["E1"], "brand": ["B1"]}), "links.csv")
        assert store.links().values.tolist() == [["E1", "B1", "dairy"]]
        with pytest.raises(IntegrityError):
            with store.engine.begin() as conn:
                conn.execute(text("INSERT INTO performance (year, enterprise_id, "
                                  "spot_check_pass_rate) VALUES (2024, 'X', 101)"))
        rid = draft_with_results(store, 2025, scores=False)
        assert store.publish(2025) == rid and store.verify_release(rid)
        assert store.release(2025)["grades"] == GRADES
        assert_results_refused(store, rid)
        with pytest.raises(StoreError, match="already published"):
            add_maturity(store, 2025, replace=True)
    finally:
        store.close()
