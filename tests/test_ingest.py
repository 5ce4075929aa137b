"""Reading survey files in every format and validating them: good files give identical data;
every bad input is refused with the exact row and column; screening flags speeders and
straight-liners; a refused file leaves the store untouched. Large files: read, validated and
stored in chunks, with the same rows, problems and messages as a whole-file read, all or
nothing, with progress."""

from __future__ import annotations

import hashlib
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ncsi.ingest as ingest_module
from ncsi.errors import IngestError
from ncsi.ingest import ValidatedWave, ingest_file, open_survey_file, read_survey_file, validate
from ncsi.instruments import load_questionnaire, load_taxonomy

DATA = Path(__file__).parent / "data" / "ingest"
GOOD = DATA / "food_good.csv"
Q = load_questionnaire("ncsi-food")
TAX = load_taxonomy()
BRANDS = pd.read_csv(DATA / "brands.csv", dtype=str)
NUMERIC = ["age", "weight", "duration_sec"] + list(Q.item_codes)


def raw() -> pd.DataFrame:
    """The good fixture as text, exactly as written."""
    return pd.read_csv(GOOD, dtype=str, keep_default_na=False)


def typed(df: pd.DataFrame) -> pd.DataFrame:
    """Numbers as numbers (what a spreadsheet, SPSS or Parquet file holds)."""
    out = df.copy()
    for c in NUMERIC:
        num = pd.to_numeric(out[c].replace("", np.nan))
        out[c] = num if c == "weight" else num.astype("Int64")
    return out


def write(df: pd.DataFrame, path: Path) -> Path:
    ext = path.suffix
    if ext == ".csv":
        path.write_bytes(df.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    elif ext == ".xlsx":
        typed(df).to_excel(path, index=False, engine="openpyxl")
    elif ext == ".parquet":
        typed(df).to_parquet(path, engine="pyarrow", index=False)
    elif ext == ".sav":
        import pyreadstat
        t = typed(df)
        for c in NUMERIC:
            t[c] = t[c].astype("float64")
        for c in t.columns:
            if c not in NUMERIC:
                t[c] = t[c].astype(object)
        # 98/99 declared user-missing in SPSS: they must still arrive as codes
        pyreadstat.write_sav(t, str(path), missing_ranges={c: [98, 99] for c in Q.item_codes})
    else:
        raise AssertionError(ext)
    return path


def check(df_or_path, *, year: int = 2025, brands=BRANDS, questionnaire=Q) -> ValidatedWave:
    path = Path(df_or_path) if isinstance(df_or_path, (str, Path)) else None
    frame = read_survey_file(path) if path is not None else df_or_path
    return validate(frame, questionnaire, TAX, brands, file=path or "test.csv", year=year)


def refused(df: pd.DataFrame, tmp_path: Path, ext: str = ".csv") -> IngestError:
    path = write(df, tmp_path / f"bad{ext}")
    with pytest.raises(IngestError) as e:
        check(path)
    err = e.value
    assert err.message_zh, "every ingest error has a Chinese message too"
    return err


def where(err: IngestError, row: int | None, column: str | None) -> None:
    assert (err.row, err.column) == (row, column), err.message
    if row is not None:
        assert f"row {row}" in err.message and f"第 {row} 行" in err.message_zh
    if column is not None:
        assert f"column '{column}'" in err.message and f"“{column}”" in err.message_zh


# -- good files ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def baseline() -> ValidatedWave:
    return check(GOOD)


def test_good_csv(baseline):
    r = baseline.responses
    assert list(r.columns) == ["respondent_id", "industry", "brand", "region", "gender", "age",
                               "weight", "duration_sec", "status"] + list(Q.item_codes)
    assert len(r) == 12 and r["respondent_id"].tolist()[:2] == ["R01", "R02"]
    assert r["region"].tolist()[:3] == ["华东", "华北", "华南"]
    for c in ["weight", "duration_sec", "age"] + list(Q.item_codes):
        assert r[c].dtype == np.float64, c
    row = r.set_index("respondent_id")
    assert row.loc["R02", "VAL2"] == 98.0          # declared missing code kept as its number
    assert row.loc["R08", "SAFE2"] == 99.0
    assert math.isnan(row.loc["R10", "EXPE1"])     # empty cell → NaN
    assert pd.isna(row.loc["R11", "gender"])       # gender may be empty
    assert row.loc["R01", "weight"] == pytest.approx(0.60)
    assert baseline.survey_id == "ncsi-food" and baseline.survey_version == Q.version
    assert baseline.year == 2025 and baseline.source_file == "food_good.csv"
    assert len(baseline.source_sha256) == 64


def test_report(baseline):
    rep = baseline.report
    assert (rep["n_rows"], rep["n_valid"], rep["n_speeders"], rep["n_straightliners"]) == \
        (12, 10, 1, 1)
    assert rep["missing_codes"] == {"98": 1, "99": 2}
    assert rep["item_nonresponse"]["EXPE1"] == pytest.approx(1 / 12)
    assert rep["item_nonresponse"]["VAL2"] == pytest.approx(1 / 12)
    assert rep["item_nonresponse"]["IMAG1"] == 0
    assert rep["item_empty"]["EXPE1"] == 1
    assert rep["n_by_industry"] == {"edible_oil": 6, "liquid_milk": 6}
    assert rep["warnings"] == []
    import json
    json.dumps(rep)  # the store keeps it as JSON


def test_screening_flags_speeders_and_straightliners(baseline):
    status = baseline.responses.set_index("respondent_id")["status"]
    assert status["R03"] == "speeder"          # 95 s < 150 s
    assert status["R05"] == "straightliner"    # every answered item 8 (one 99, one empty)
    assert (status.drop(["R03", "R05"]) == "valid").all()


def test_screening_rules_are_configurable(tmp_path):
    import dataclasses
    q = dataclasses.replace(Q, screening=dataclasses.replace(Q.screening, min_duration_sec=400,
                                                              straightlining=False))
    status = check(GOOD, questionnaire=q).responses.set_index("respondent_id")["status"]
    assert status["R05"] == "valid"                       # straight-lining not screened
    assert sorted(status[status == "speeder"].index) == ["R01", "R02", "R03"]  # < 400 s


def test_straightliner_needs_half_the_items_answered(tmp_path):
    df = raw()
    codes = list(Q.item_codes)
    for c in codes[: len(codes) // 2 + 1]:
        df.loc[4, c] = ""                    # R05: fewer than half of its items answered
    status = check(write(df, tmp_path / "f.csv")).responses.set_index("respondent_id")["status"]
    assert status["R05"] == "valid"


def _same(a: ValidatedWave, b: ValidatedWave) -> None:
    pd.testing.assert_frame_equal(a.responses, b.responses)
    assert {k: v for k, v in a.report.items()} == {k: v for k, v in b.report.items()}


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings_read_identically(tmp_path, baseline, encoding):
    path = tmp_path / f"food_{encoding}.csv"
    path.write_bytes(GOOD.read_text(encoding="utf-8").encode(encoding))
    df = read_survey_file(path)
    assert df.columns[0] == "respondent_id"            # no BOM leaks into the first name
    assert df["region"].tolist()[:2] == ["华东", "华北"]
    _same(check(path), baseline)


def test_csv_crlf_and_spaces(tmp_path, baseline):
    text = GOOD.read_text(encoding="utf-8").replace(",", ", ").replace("\n", "\r\n")
    path = tmp_path / "spaced.csv"
    path.write_text(text, encoding="utf-8", newline="")
    _same(check(path), baseline)


@pytest.mark.parametrize("ext", [".xlsx", ".sav", ".parquet"])
def test_other_formats_read_identically(tmp_path, baseline, ext):
    path = write(raw(), tmp_path / f"food{ext}")
    _same(check(path), baseline)


def test_extra_columns_are_reported_not_kept(tmp_path):
    df = raw()
    df.insert(3, "interviewer", "I07")
    wave = check(write(df, tmp_path / "f.csv"))
    assert "interviewer" not in wave.responses.columns
    assert wave.report["extra_columns"] == ["interviewer"]
    assert "interviewer" in wave.report["warnings"][0]


def test_construction_role_column(tmp_path):
    q = load_questionnaire("ncsi-construction")
    rng = np.random.default_rng(3)
    n = 8
    df = pd.DataFrame({"respondent_id": [f"C{k}" for k in range(n)],
                       "industry": ["residential"] * n, "brand": ["dev_a"] * n,
                       "region": ["华东"] * n, "gender": ["女"] * n, "age": ["40"] * n,
                       "weight": ["1"] * n, "duration_sec": ["400"] * n,
                       "role": ["owner", "occupant"] * (n // 2)})
    for c in q.item_codes:
        df[c] = [str(v) for v in rng.integers(3, 11, size=n)]
    brands = pd.DataFrame({"brand": ["dev_a"], "industry": ["residential"]})
    wave = check(write(df, tmp_path / "c.csv"), questionnaire=q, brands=brands)
    assert wave.report["columns"] == {"role": {"occupant": 4, "owner": 4}}
    assert "role" not in wave.responses.columns           # the store has no place for it
    assert wave.extra["role"].tolist()[:2] == ["owner", "occupant"]
    df.loc[5, "role"] = "landlord"
    with pytest.raises(IngestError) as e:
        check(write(df, tmp_path / "c2.csv"), questionnaire=q, brands=brands)
    where(e.value, 7, "role")
    assert "owner" in e.value.message and "occupant" in e.value.message
    # the column is optional
    wave = check(write(df.drop(columns="role"), tmp_path / "c3.csv"), questionnaire=q,
                 brands=brands)
    assert list(wave.extra.columns) == ["respondent_id"]


# -- bad files: reading --------------------------------------------------------------------------

def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(IngestError, match="empty") as e:
        read_survey_file(path)
    assert e.value.file == str(path) and "empty.csv" in str(e.value)


def test_blank_file(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_bytes(b"\xef\xbb\xbf\n\n")
    with pytest.raises(IngestError, match="no content"):
        read_survey_file(path)


@pytest.mark.parametrize("ext", [".csv", ".xlsx", ".parquet", ".sav"])
def test_header_only(tmp_path, ext):
    path = write(raw().iloc[:0], tmp_path / f"header{ext}")
    with pytest.raises(IngestError, match="header row but no data rows") as e:
        read_survey_file(path)
    assert f"header{ext}" in str(e.value) and e.value.message_zh


def test_semicolon_delimiter(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text(GOOD.read_text(encoding="utf-8").replace(",", ";"), encoding="utf-8")
    with pytest.raises(IngestError, match=r"semicolons \(;\), not commas") as e:
        read_survey_file(path)
    assert e.value.row == 1 and "row 1" in str(e.value)
    assert "分号" in e.value.message_zh


def test_unknown_extension(tmp_path):
    for name, hint in [("data.txt", "use one of"), ("data.xls", "save it as .xlsx")]:
        path = tmp_path / name
        path.write_text("a,b\n1,2\n", encoding="utf-8")
        with pytest.raises(IngestError, match=hint) as e:
            read_survey_file(path)
        assert name in str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(IngestError, match="file not found"):
        read_survey_file(tmp_path / "nope.csv")


def test_corrupt_binary_files(tmp_path):
    for ext in (".xlsx", ".parquet", ".sav"):
        path = tmp_path / f"junk{ext}"
        path.write_bytes(b"this is not a real file" * 10)
        with pytest.raises(IngestError) as e:
            read_survey_file(path)
        assert f"junk{ext}" in str(e.value) and "again" in str(e.value)


def test_row_with_extra_field(tmp_path):
    lines = GOOD.read_text(encoding="utf-8").splitlines()
    lines[4] = lines[4] + ",7"                         # line 5 = spreadsheet row 5
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(IngestError) as e:
        read_survey_file(path)
    assert e.value.row == 5 and "33 fields but the header has 32" in str(e.value)


def test_duplicate_column_name(tmp_path):
    text = GOOD.read_text(encoding="utf-8").replace(",SAT2,", ",SAT1,", 1)
    path = tmp_path / "dup.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(IngestError, match="'SAT1' appears twice") as e:
        read_survey_file(path)
    assert (e.value.row, e.value.column) == (1, "SAT1")


def test_xlsx_title_row_is_refused(tmp_path):
    import openpyxl
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2025 食品饮料满意度调查"])
    df = typed(raw())
    ws.append(list(df.columns))
    for rec in df.astype(object).where(df.notna(), None).itertuples(index=False):
        ws.append(list(rec))
    path = tmp_path / "title.xlsx"
    wb.save(path)
    with pytest.raises(IngestError, match="looks like a title") as e:
        read_survey_file(path)
    assert e.value.row == 1


def test_header_that_is_data_is_refused(tmp_path):
    lines = GOOD.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "noheader.csv"
    path.write_text("\n".join(lines[1:]) + "\n", encoding="utf-8")
    with pytest.raises(IngestError, match="row 1 looks like data"):
        read_survey_file(path)


# -- bad files: validation -----------------------------------------------------------------------

def _set(idx: int, column: str, value: str):
    def mutate(df):
        df.loc[idx, column] = value
        return df
    return mutate


#: (mutation of the good file, row, column, message fragment) — one per kind of bad cell
BAD_CELLS = [
    (_set(2, "SAT2", "abc"), 4, "SAT2", "'abc' is not a number"),
    (_set(4, "QUAL1", "11"), 6, "QUAL1", "11 is outside the scale 1–10"),
    (_set(0, "IMAG1", "0"), 2, "IMAG1", "0 is outside the scale 1–10"),
    (_set(3, "EXPE2", "7.5"), 5, "EXPE2", "7.5 is not a whole number"),
    (_set(7, "LOY1", "97"), 9, "LOY1", "97 is not a declared missing-value code"),
    (_set(1, "VAL1", "inf"), 3, "VAL1", "'inf' is infinite"),
    (_set(1, "VAL1", "-Infinity"), 3, "VAL1", "is infinite"),
    (_set(9, "respondent_id", "R03"), 11, "respondent_id", "appears twice: rows 4 and 11"),
    (_set(3, "industry", "cheese"), 5, "industry", "industry 'cheese' is not in the taxonomy"),
    (_set(3, "industry", "液态奶"), 5, "industry", "use the code 'liquid_milk'"),
    (lambda df: _set(3, "brand", "sport_a")(_set(3, "industry", "sportswear")(df)), 5,
     "industry", "belongs to sector apparel (questionnaire ncsi-apparel)"),
    (_set(8, "brand", "oil_zz"), 10, "brand", "brand 'oil_zz' is not registered for industry "
                                              "edible_oil"),
    (_set(0, "brand", "oil_a"), 2, "brand", "is registered for industry edible_oil, not "
                                            "liquid_milk"),
    (_set(10, "weight", "0"), 12, "weight", "must be a finite number greater than 0"),
    (_set(10, "weight", "-1.5"), 12, "weight", "greater than 0"),
    (_set(10, "weight", "nan"), 12, "weight", "'nan' is not a number"),
    (_set(10, "weight", ""), 12, "weight", "weight is empty"),
    (_set(6, "duration_sec", "-3"), 8, "duration_sec", "at least 0"),
    (_set(6, "duration_sec", "fast"), 8, "duration_sec", "'fast' is not a number"),
    (_set(5, "age", "7"), 7, "age", "at least 15"),
    (_set(5, "age", "33.5"), 7, "age", "not a whole number"),
    (_set(5, "respondent_id", ""), 7, "respondent_id", "respondent_id is empty"),
    (_set(5, "region", ""), 7, "region", "region is empty"),
]


@pytest.mark.parametrize("mutate,row,column,text", BAD_CELLS)
def test_bad_cell_is_named(tmp_path, mutate, row, column, text):
    err = refused(mutate(raw()), tmp_path)
    where(err, row, column)
    assert text in err.message, err.message
    assert "nothing was stored" in err.message and "未写入任何数据" in err.message_zh


def test_missing_required_column(tmp_path):
    err = refused(raw().drop(columns=["weight", "SAT3"]), tmp_path)
    where(err, 1, "weight")
    assert "missing required column(s) weight, SAT3" in err.message
    assert "respondent_id, industry, brand, region, gender, age, weight, duration_sec" in \
        err.message   # the expected names


def test_column_name_case_hint(tmp_path):
    err = refused(raw().rename(columns={"SAT1": "sat1"}), tmp_path)
    where(err, 1, "SAT1")
    assert "'sat1' should be 'SAT1'" in err.message


def test_constant_item(tmp_path):
    df = raw()
    df["IMAG2"] = "6"
    df.loc[3, "IMAG2"] = "99"      # missing codes do not count as variation
    err = refused(df, tmp_path)
    where(err, None, "IMAG2")
    assert "item IMAG2 is 6 in every answered row" in err.message


def test_all_missing_item(tmp_path):
    df = raw()
    df["EXPE3"] = ""
    df.loc[2, "EXPE3"] = "98"
    err = refused(df, tmp_path)
    where(err, None, "EXPE3")
    assert "item EXPE3 has no answer in any row" in err.message


def test_empty_row_in_the_middle(tmp_path):
    lines = GOOD.read_text(encoding="utf-8").splitlines()
    lines.insert(3, "")                                   # becomes spreadsheet row 4
    path = tmp_path / "gap.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(IngestError) as e:
        check(path)
    where(e.value, 4, None)
    assert "the row is empty" in e.value.message


def test_all_problems_are_counted(tmp_path):
    df = raw()
    df.loc[6, "SAT1"] = "11"
    df.loc[2, "QUAL1"] = "12"
    df.loc[9, "SAT1"] = "0"
    df.loc[1, "LOY2"] = "x"
    df.loc[11, "weight"] = "0"
    err = refused(df, tmp_path)
    where(err, 3, "LOY2")                                 # the first, by row
    assert "Also: value outside the scale ×3 (first: row 4, column 'QUAL1')" in err.message
    assert "value outside its allowed range ×1 (first: row 13, column 'weight')" in err.message
    assert len(err.problems) == 5

    df.loc[1, "LOY2"] = "5"
    err = refused(df, tmp_path)
    where(err, 4, "QUAL1")
    assert "2 other cell(s) have the same problem (row 8, column 'SAT1'; row 11, column " \
           "'SAT1')" in err.message
    assert "另有 2 处同样的问题" in err.message_zh


@pytest.mark.parametrize("ext", [".csv", ".xlsx", ".sav", ".parquet"])
def test_row_numbers_are_the_same_in_every_format(tmp_path, ext):
    df = raw()
    df.loc[5, "QUAL1"] = "11"
    df.loc[8, "brand"] = "oil_zz"
    err = refused(df, tmp_path, ext)
    where(err, 7, "QUAL1")
    assert "first: row 10, column 'brand'" in err.message


def test_sav_value_labels_are_not_applied(tmp_path, baseline):
    import pyreadstat
    t = typed(raw())
    for c in NUMERIC:
        t[c] = t[c].astype("float64")
    for c in t.columns:
        if c not in NUMERIC:
            t[c] = t[c].astype(object)
    labels = {c: {1: "非常不满意", 10: "非常满意", 98: "拒答", 99: "不知道"} for c in Q.item_codes}
    path = tmp_path / "labelled.sav"
    pyreadstat.write_sav(t, str(path), variable_value_labels=labels)
    _same(check(path), baseline)


def test_bad_year(tmp_path):
    with pytest.raises(IngestError, match="year 25 is not a survey year"):
        check(GOOD, year=25)


def test_no_registered_brands(tmp_path):
    with pytest.raises(IngestError) as e:
        check(GOOD, brands=pd.DataFrame(columns=["brand", "industry"]))
    where(e.value, 2, "brand")
    assert "registered: none" in e.value.message


# -- the store: all or nothing -------------------------------------------------------------------

def test_ingest_into_store_all_or_nothing(tmp_path):
    from ncsi.errors import StoreError
    from ncsi.store import Store

    store = Store(f"sqlite:///{tmp_path / 'ncsi.db'}")
    store.upgrade()
    store.load_brands(BRANDS, source="brands.csv")
    wave = ingest_file(GOOD, "ncsi-food", 2025, store)
    assert wave.report["n_rows"] == 12
    stored = store.responses(2025, valid_only=False)
    assert len(stored) == 12
    assert stored.set_index("respondent_id").loc["R02", "VAL2"] == 98.0
    waves = store.waves(2025)
    assert waves["source_sha256"].tolist() == [wave.source_sha256]
    assert waves["n_valid"].tolist() == [10]

    before = store.snapshot()
    bad = raw()
    bad.loc[10, "QUAL4"] = "abc"
    bad_path = write(bad, tmp_path / "bad.csv")
    with pytest.raises(IngestError):
        ingest_file(bad_path, "ncsi-food", 2024, store)
    assert store.snapshot() == before
    with pytest.raises(StoreError, match="already ingested"):   # the store's own refusal
        ingest_file(GOOD, "ncsi-food", 2025, store)
    assert store.snapshot() == before
    from ncsi.errors import InstrumentError
    with pytest.raises(InstrumentError, match="unknown questionnaire"):
        ingest_file(GOOD, "ncsi-food-2", 2025, store)
    assert store.snapshot() == before
    store.close()


def test_trailing_blank_rows_are_ignored(tmp_path, baseline):
    text = GOOD.read_text(encoding="utf-8") + ",,,,\n\n" + "," * 31 + "\n"
    path = tmp_path / "trailing.csv"
    path.write_text(text, encoding="utf-8")
    _same(check(path), baseline)
    header = GOOD.read_text(encoding="utf-8").splitlines()[0]
    path.write_text(header + "\n" + "," * 31 + "\n\n", encoding="utf-8")
    with pytest.raises(IngestError, match="header row but no data rows"):
        read_survey_file(path)


def test_utf16_csv(tmp_path, baseline):
    path = tmp_path / "utf16.csv"
    path.write_bytes(GOOD.read_text(encoding="utf-8").encode("utf-16"))
    _same(check(path), baseline)


# -- large files: chunks, bounded memory, all or nothing -----------------------------------------

def tiled(times: int) -> pd.DataFrame:
    """The good fixture repeated ``times`` times, respondent ids made unique."""
    parts = []
    for k in range(times):
        part = raw()
        part["respondent_id"] = part["respondent_id"] + f"-{k}"
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


class StubStore:
    """Validation needs only the registry; whatever reaches add_wave is kept."""

    def __init__(self):
        self.frames: list[pd.DataFrame] = []
        self.kwargs: dict = {}

    def known_brands(self):
        return BRANDS

    def register_survey(self, q):
        pass

    def add_wave(self, **kwargs):
        self.frames = list(kwargs.pop("responses"))
        self.kwargs = kwargs
        return 7


def new_store(tmp_path: Path, name: str = "ncsi.db"):
    from ncsi.store import Store
    store = Store(f"sqlite:///{tmp_path / name}")
    store.upgrade()
    store.load_brands(BRANDS, source="brands.csv")
    return store


def cells(df: pd.DataFrame) -> list[list]:
    return [[None if pd.isna(v) else v for v in row] for row in df.itertuples(index=False)]


@pytest.mark.parametrize("ext", [".csv", ".parquet", ".xlsx", ".sav"])
def test_chunks_are_the_whole_file(tmp_path, ext):
    path = write(tiled(3), tmp_path / f"food{ext}")
    whole = read_survey_file(path)
    with open_survey_file(path, chunk_rows=5) as chunks:
        assert chunks.columns == list(whole.columns)
        assert chunks.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        parts = list(chunks)
        assert chunks.done == chunks.total > 0
    assert len(parts) >= 7 and all(1 <= len(p) <= 5 for p in parts)
    joined = pd.concat(parts)
    assert joined.index.tolist() == list(range(36))         # data row numbers run on
    assert cells(joined) == cells(whole)


@pytest.mark.parametrize("ext", [".csv", ".parquet"])
def test_ingest_in_chunks_stores_what_a_whole_file_read_stores(tmp_path, ext):
    path = write(tiled(5), tmp_path / f"food{ext}")
    whole, chunked = new_store(tmp_path, "whole.db"), new_store(tmp_path, "chunked.db")
    one = ingest_file(path, "ncsi-food", 2025, whole)                  # 60 rows: one chunk
    many = ingest_file(path, "ncsi-food", 2025, chunked, chunk_rows=7)  # 9 chunks
    got_whole = whole.responses(2025, valid_only=False)
    got_chunked = chunked.responses(2025, valid_only=False)
    assert len(got_chunked) == 60
    pd.testing.assert_frame_equal(got_chunked, got_whole)
    assert one.report == many.report
    assert whole.waves(2025)["report"].tolist() == chunked.waves(2025)["report"].tolist() == \
        [many.report]
    assert many.source_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert chunked.waves(2025)[["n_rows", "n_valid", "source_sha256"]].values.tolist() == \
        [[60, many.report["n_valid"], many.source_sha256]]
    # ... and it is what validate() makes of the whole frame
    expected = check(path).responses
    got = got_chunked.drop(columns="survey_id")
    got["age"] = got["age"].astype("float64")
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    assert many.report["n_rows"] == 60 and many.report["n_valid"] == 50
    whole.close()
    chunked.close()


@pytest.mark.parametrize("encoding", ["gbk", "utf-16", "utf-8-sig"])
def test_encodings_in_chunks(tmp_path, baseline, encoding):
    path = tmp_path / f"food_{encoding}.csv"
    path.write_bytes(GOOD.read_text(encoding="utf-8").encode(encoding))
    store = StubStore()
    wave = ingest_file(path, "ncsi-food", 2025, store, chunk_rows=2)
    assert wave.report == baseline.report
    got = pd.concat(store.frames, ignore_index=True)
    assert got["region"].tolist() == baseline.responses["region"].tolist()
    assert wave.source_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_duplicate_id_in_another_chunk_is_named(tmp_path):
    df = raw()
    df.loc[5, "respondent_id"] = "R02"          # R02 is row 3; now also rows 7 and 11
    df.loc[9, "respondent_id"] = "R02"
    path = write(df, tmp_path / "dup.csv")
    with open_survey_file(path, chunk_rows=4) as chunks:
        where_is = [(k, p) for k, part in enumerate(chunks)
                    for p in part.index[part["respondent_id"] == "R02"]]
    assert [k for k, _ in where_is] == [0, 1, 2]  # three occurrences, three chunks
    store = new_store(tmp_path)
    before = store.snapshot()
    with pytest.raises(IngestError) as e:
        ingest_file(path, "ncsi-food", 2025, store, chunk_rows=4)
    where(e.value, 7, "respondent_id")
    assert "respondent_id 'R02' appears twice: rows 3 and 7" in e.value.message
    assert "1 other cell(s) have the same problem (row 11, column 'respondent_id')" in \
        e.value.message
    assert [(p["row"], p["message"].split(";")[0]) for p in e.value.problems] == [
        (7, "respondent_id 'R02' appears twice: rows 3 and 7"),
        (11, "respondent_id 'R02' appears twice: rows 3 and 11")]
    assert store.snapshot() == before
    # the very same problems as when the whole file is validated at once
    with pytest.raises(IngestError) as whole:
        check(path)
    assert (whole.value.message, whole.value.message_zh, whole.value.problems) == \
        (e.value.message, e.value.message_zh, e.value.problems)
    store.close()


def test_bad_cell_in_the_last_chunk_leaves_the_store_unchanged(tmp_path, monkeypatch):
    store = new_store(tmp_path)
    ingest_file(GOOD, "ncsi-food", 2024, store)              # the store holds data
    before = store.snapshot()
    assert before["responses"]
    df = tiled(4)
    df.loc[47, "QUAL2"] = "77"                              # the last row: row 49
    path = write(df, tmp_path / "bad.csv")
    spill = tmp_path / "spill"
    spill.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spill))     # where validated rows wait
    opened = []
    real = tempfile.TemporaryFile
    monkeypatch.setattr(tempfile, "TemporaryFile",
                        lambda *a, **k: opened.append(real(*a, **k)) or opened[-1])
    with pytest.raises(IngestError) as e:
        ingest_file(path, "ncsi-food", 2025, store, chunk_rows=5)
    where(e.value, 49, "QUAL2")
    assert "77 is outside the scale 1–10" in e.value.message
    assert "nothing was stored" in e.value.message and "未写入任何数据" in e.value.message_zh
    assert store.snapshot() == before
    assert not store.wave_exists("ncsi-food", 2025)
    assert list(spill.iterdir()) == []                       # they leave nothing behind
    # the same file, fixed, goes in
    df.loc[47, "QUAL2"] = "7"
    wave = ingest_file(write(df, path), "ncsi-food", 2025, store, chunk_rows=5)
    assert len(store.responses(2025, valid_only=False)) == 48 == wave.report["n_rows"]
    assert list(spill.iterdir()) == []
    assert len(opened) == 2 and all(f.closed for f in opened)   # both spills closed
    store.close()


def test_progress_reaches_the_total(tmp_path, monkeypatch):
    import ncsi.store.store as store_module
    monkeypatch.setattr(store_module, "INSERT_CHUNK", 5)
    path = write(tiled(2), tmp_path / "food.csv")            # 24 rows
    store = new_store(tmp_path)
    calls: list[tuple[str, int, int]] = []
    wave = ingest_file(path, "ncsi-food", 2025, store, chunk_rows=7,
                       progress=lambda *a: calls.append(a))
    stages = [stage for stage, _, _ in calls]
    assert stages[0] == "check" and stages[-1] == "store"
    assert stages == sorted(stages, key=["check", "store"].index)
    check_calls = [(d, t) for s, d, t in calls if s == "check"]
    store_calls = [(d, t) for s, d, t in calls if s == "store"]
    assert {t for _, t in check_calls} == {path.stat().st_size}   # CSV: bytes
    assert {t for _, t in store_calls} == {24} == {wave.report["n_rows"]}
    for seen in (check_calls, store_calls):
        done = [d for d, _ in seen]
        assert done == sorted(done) and done[0] == 0 and done[-1] == seen[-1][1]
    # the store reports after every batch of INSERT_CHUNK rows (chunks of 6, 7, 7, 4 rows)
    assert [d for d, _ in store_calls] == [0, 5, 6, 11, 13, 18, 20, 24, 24]
    store.close()


def test_parquet_progress_counts_rows(tmp_path):
    path = write(tiled(2), tmp_path / "food.parquet")
    calls = []
    ingest_file(path, "ncsi-food", 2025, StubStore(), chunk_rows=10,
                progress=lambda *a: calls.append(a))
    assert [c for c in calls if c[0] == "check"] == [
        ("check", 0, 24), ("check", 10, 24), ("check", 20, 24), ("check", 24, 24),
        ("check", 24, 24)]


@pytest.mark.parametrize("seed", range(12))
def test_chunked_validation_finds_the_same_problems(tmp_path, seed):
    """Random bad cells, blank rows and repeated ids: validating the file in chunks of 1, 2, 5
    or 50 rows gives exactly the error (message, Chinese message, problem list) — or the
    report — that validating the whole frame at once gives."""
    rng = np.random.default_rng(seed)
    df = tiled(3)
    bad = {"respondent_id": ["", "R03-0", "R07-2", " "], "industry": ["cheese", "", "液态奶",
                                                                      "sportswear"],
           "brand": ["oil_zz", "oil_a", ""], "region": ["", "  "], "gender": [""],
           "age": ["7", "33.5", "x", "", "1e9"], "weight": ["0", "-1", "nan", "", "inf"],
           "duration_sec": ["-3", "fast", "1e999"]}
    items = ["abc", "11", "0", "7.5", "97", "inf", "-Infinity", "12", "", "98", "99", "５",
             " 6 "]
    for _ in range(int(rng.integers(0, 9))):
        r = int(rng.integers(len(df)))
        c = str(rng.choice(df.columns))
        df.loc[r, c] = str(rng.choice(bad.get(c, items)))
    if rng.random() < 0.3:
        df.loc[int(rng.integers(len(df))), :] = ""          # a blank row
    path = write(df, tmp_path / "m.csv")

    def outcome(run):
        try:
            return "ok", run()
        except IngestError as exc:
            return "error", (exc.message, exc.message_zh, exc.problems)

    expected = outcome(lambda: check(path).report)
    for chunk_rows in (1, 2, 5, 50):
        got = outcome(lambda: ingest_file(path, "ncsi-food", 2025, StubStore(),
                                          chunk_rows=chunk_rows).report)
        assert got == expected, chunk_rows


def test_blank_rows_at_chunk_boundaries(tmp_path, baseline):
    text = GOOD.read_text(encoding="utf-8")
    path = tmp_path / "trailing.csv"
    path.write_text(text + ",,,,\n" + "\n" * 9 + "," * 31 + "\n", encoding="utf-8")
    for chunk_rows in (1, 3, 4, 100):                       # trailing blank rows: dropped
        wave = ingest_file(path, "ncsi-food", 2025, StubStore(), chunk_rows=chunk_rows)
        assert wave.report == baseline.report
    lines = text.splitlines()
    lines[4:4] = ["", ",,,"]                                 # rows 5 and 6, in the middle
    path.write_text("\n".join(lines) + "\n\n\n", encoding="utf-8")
    for chunk_rows in (1, 4, 5, 100):
        with pytest.raises(IngestError) as e:
            ingest_file(path, "ncsi-food", 2025, StubStore(), chunk_rows=chunk_rows)
        where(e.value, 5, None)
        assert "the row is empty" in e.value.message
        assert "1 other cell(s) have the same problem (row 6)" in e.value.message


def test_unnamed_column_with_data_in_a_later_chunk(tmp_path):
    df = raw()
    df[""] = ""
    df.loc[10, ""] = "note"                                   # column 33 (AG), row 12
    path = write(df, tmp_path / "unnamed.csv")
    with pytest.raises(IngestError) as whole:
        read_survey_file(path)
    with pytest.raises(IngestError) as chunked:
        with open_survey_file(path, chunk_rows=4) as chunks:
            list(chunks)
    assert "column 33 (AG) has no name in the header row but holds data" in whole.value.message
    assert (chunked.value.message, chunked.value.message_zh) == \
        (whole.value.message, whole.value.message_zh)
    df.loc[10, ""] = ""                                       # empty: dropped, as always
    with open_survey_file(write(df, path), chunk_rows=4) as chunks:
        assert len(chunks.columns) == 32 and sum(len(p) for p in chunks) == 12


def test_ragged_row_in_a_later_chunk(tmp_path):
    lines = GOOD.read_text(encoding="utf-8").splitlines()
    lines[10] = lines[10] + ",7"                              # line 11 = spreadsheet row 11
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    store = StubStore()
    with pytest.raises(IngestError) as e:
        ingest_file(path, "ncsi-food", 2025, store, chunk_rows=3)
    assert e.value.row == 11 and "33 fields but the header has 32" in str(e.value)
    assert store.frames == []


def test_many_problems_are_counted_but_not_all_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest_module, "KEEP_PROBLEMS", 4)
    df = tiled(5)                                             # 60 rows
    df["SAT1"] = "x"                                          # not a number: rows 2–61
    df.loc[[3, 13, 23], "QUAL1"] = "0"                        # outside the scale
    path = write(df, tmp_path / "many.csv")
    with pytest.raises(IngestError) as e:
        ingest_file(path, "ncsi-food", 2025, StubStore(), chunk_rows=7)
    err = e.value
    where(err, 2, "SAT1")
    assert "59 other cell(s) have the same problem (row 3, column 'SAT1'; row 4, column " \
           "'SAT1'; row 5, column 'SAT1'; …)" in err.message
    assert "Also: value outside the scale ×3 (first: row 5, column 'QUAL1')" in err.message
    assert "另有 59 处同样的问题" in err.message_zh
    assert err.n_problems == 63
    assert [p["row"] for p in err.problems if p["column"] == "SAT1"] == [2, 3, 4, 5]
    assert len(err.problems) == 4 + 3


def test_chunk_rows_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="chunk_rows"):
        open_survey_file(GOOD, chunk_rows=0)


def test_header_only_is_refused_when_opened(tmp_path):
    path = write(raw().iloc[:0], tmp_path / "header.csv")
    with pytest.raises(IngestError, match="header row but no data rows"):
        open_survey_file(path)
    path.write_text(GOOD.read_text(encoding="utf-8").splitlines()[0] + "\n" + ",,,\n" * 7,
                    encoding="utf-8")
    with pytest.raises(IngestError, match="header row but no data rows"):
        open_survey_file(path, chunk_rows=2)


def test_no_room_for_the_validated_rows(tmp_path, monkeypatch):
    """A full temporary disk is an error that says where and what to do, not a traceback."""
    import pyarrow as pa

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(pa.ipc, "new_stream", full)
    store = new_store(tmp_path)
    before = store.snapshot()
    with pytest.raises(IngestError) as e:
        ingest_file(GOOD, "ncsi-food", 2025, store)
    assert "No space left on device" in e.value.message and "TMPDIR" in e.value.message
    assert "nothing was stored" in e.value.message and "TMPDIR" in e.value.message_zh
    assert e.value.file == str(GOOD)
    assert store.snapshot() == before
    store.close()
