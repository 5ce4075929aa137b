"""The maturity instrument: questionnaire and level cut-offs load, validate and clean data."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ncsi.errors import DataError, InstrumentError
from ncsi.maturity_instrument import (
    LEVELS,
    TOTAL_POINTS,
    load_level_cutoffs,
    load_maturity_questionnaire,
    maturity_dir,
)

EXPECTED = [("leadership", "领导", 110, "LEAD"), ("strategy", "战略", 90, "STRA"),
            ("customers", "顾客与市场", 90, "CUST"), ("resources", "资源", 130, "RESO"),
            ("process", "过程管理", 100, "PROC"), ("measurement", "测量、分析与改进", 80, "MEAS"),
            ("results", "结果", 400, "RESU")]


@pytest.fixture(scope="module")
def q():
    return load_maturity_questionnaire()


@pytest.fixture(scope="module")
def raw_q() -> dict:
    return yaml.safe_load((maturity_dir() / "questionnaire.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def raw_levels() -> dict:
    return yaml.safe_load((maturity_dir() / "levels.yaml").read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------------------------
# the shipped files
# ------------------------------------------------------------------------------------------------

def test_questionnaire_loads(q):
    assert q.id == "maturity" and q.version == "2025.1"
    assert q.title_zh and q.title_en
    assert [(c.code, c.zh, c.points) for c in q.categories] == [e[:3] for e in EXPECTED]
    assert sum(c.points for c in q.categories) == TOTAL_POINTS == 1000
    assert len(q.items) == 35
    for c, (_, _, _, prefix) in zip(q.categories, EXPECTED):
        assert c.item_codes == tuple(f"{prefix}{k}" for k in range(1, 6))
        assert all(i.category == c.code and i.zh and i.en for i in c.items)
    assert q.item_codes == tuple(i.code for c in q.categories for i in c.items)
    assert q.category_of("LEAD3") == "leadership" and q.category_of("RESU5") == "results"
    assert q.items_of("measurement") == ("MEAS1", "MEAS2", "MEAS3", "MEAS4", "MEAS5")
    assert q.points["resources"] == 130
    assert [lv.level for lv in q.levels] == list(LEVELS)
    assert q.level(1).zh == "初始级" and q.level(5).zh == "领先级"
    assert all(lv.description_zh and lv.description_en for lv in q.levels)
    assert set(q.missing_codes) == {9}
    assert q.column_names[:5] == ("enterprise_id", "region", "size", "industry", "weight")
    assert q.region_codes == ("north", "northeast", "east", "central", "south", "southwest",
                              "northwest")
    assert [r.zh for r in q.regions] == ["华北", "东北", "华东", "华中", "华南", "西南", "西北"]
    assert q.size_codes == ("large", "medium", "small")
    assert len(q.industries) == 8 and all(i.zh and i.en and i.gb4754 for i in q.industries)
    assert len(q.sha256) == 64 and Path(q.path).is_file()
    d = q.to_dict()
    assert d["categories"][6]["points"] == 400 and d["levels"][3]["en"] == "systematic"


def test_unknown_names_are_refused(q):
    with pytest.raises(InstrumentError, match="no item 'LEAD9'"):
        q.category_of("LEAD9")
    with pytest.raises(InstrumentError, match="no category 'quality'"):
        q.category("quality")


def test_level_cutoffs_load():
    version, cuts = load_level_cutoffs()
    assert version == "2025.1"
    assert [(c.min, c.level) for c in cuts] == [(0, 1), (20, 2), (40, 3), (60, 4), (80, 5)]
    assert cuts[0].zh == "初始级" and cuts[4].en == "leading"


# ------------------------------------------------------------------------------------------------
# validation: every error names the file and the key
# ------------------------------------------------------------------------------------------------

def _write(tmp_path: Path, data, name: str = "questionnaire.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return p


def _set(d, path, value):
    *head, last = path
    for k in head:
        d = d[k]
    if value is _DELETE:
        del d[last]
    else:
        d[last] = value


_DELETE = object()

Q_CASES = [
    # (what, [(key path, new value), ...], key named in the message)
    ("points do not sum to 1000", [(("categories", 0, "points"), 120)], "categories"),
    ("points not a number", [(("categories", 0, "points"), "ten")], "categories[0].points"),
    ("points not positive", [(("categories", 2, "points"), 0)], "categories[2].points"),
    ("category without items", [(("categories", 1, "items"), [])], "categories[1].items"),
    ("item code twice", [(("categories", 2, "items", 1, "code"), "CUST1")],
     "categories[2].items[1].code"),
    ("item code twice across categories", [(("categories", 3, "items", 0, "code"), "LEAD1")],
     "categories[3].items[0].code"),
    ("category code twice", [(("categories", 3, "code"), "strategy")], "categories[3].code"),
    ("item without zh", [(("categories", 0, "items", 0, "zh"), _DELETE)],
     "categories[0].items[0].zh"),
    ("item en empty", [(("categories", 6, "items", 4, "en"), "  ")], "categories[6].items[4].en"),
    ("level 6", [(("levels", 6), {"zh": "超级", "en": "super",
                                  "description": {"zh": "x", "en": "x"}})], "levels.6"),
    ("level 5 missing", [(("levels", 5), _DELETE)], "levels"),
    ("level without description", [(("levels", 2, "description"), _DELETE)],
     "levels.2.description"),
    ("missing code inside the levels", [(("missing_codes", 3), {"zh": "x", "en": "x"})],
     "missing_codes.3"),
    ("region twice", [(("regions", 1, "code"), "north")], "regions[1].code"),
    ("size without en", [(("sizes", 0, "en"), _DELETE)], "sizes[0].en"),
    ("bad industry code", [(("industries", 2, "code"), "house hold")], "industries[2].code"),
    ("weight column missing", [(("columns", 4), _DELETE)], "columns"),
    ("category column without a value list", [(("columns", 1, "values"), "provinces")],
     "columns[1].values"),
    ("column type", [(("columns", 0, "type"), "text")], "columns[0].type"),
    ("unknown top key", [(("scale",), {"min": 1, "max": 5})], "scale"),
    ("no id", [(("id",), _DELETE)], "id"),
    ("item clashes with a column", [(("categories", 0, "items", 0, "code"), "weight")],
     "categories[0].items[0].code"),
]


@pytest.mark.parametrize("what,changes,key", Q_CASES, ids=[c[0] for c in Q_CASES])
def test_questionnaire_errors_name_file_and_key(tmp_path, raw_q, what, changes, key):
    data = copy.deepcopy(raw_q)
    for path, value in changes:
        _set(data, path, value)
    p = _write(tmp_path, data)
    with pytest.raises(InstrumentError) as exc:
        load_maturity_questionnaire(p)
    e = exc.value
    assert str(p) in e.message and f"key '{key}'" in e.message, e.message
    assert str(p) in e.message_zh and f"键“{key}”" in e.message_zh, e.message_zh


def test_questionnaire_yaml_syntax_and_missing_file(tmp_path):
    p = tmp_path / "questionnaire.yaml"
    p.write_text("id: maturity\nversion: [1, 2\n", encoding="utf-8")
    with pytest.raises(InstrumentError, match=r"questionnaire\.yaml, line \d+: invalid YAML"):
        load_maturity_questionnaire(p)
    p.write_text("id: maturity\nid: again\n", encoding="utf-8")
    with pytest.raises(InstrumentError, match="given twice"):
        load_maturity_questionnaire(p)
    with pytest.raises(InstrumentError, match="file not found"):
        load_maturity_questionnaire(tmp_path / "nope.yaml")


L_CASES = [
    ("does not start at 0", [(("cutoffs", 0, "min"), 5)], "cutoffs[0].min"),
    ("not ascending", [(("cutoffs", 2, "min"), 20)], "cutoffs[2].min"),
    ("levels out of order", [(("cutoffs", 1, "level"), 3)], "cutoffs[1].level"),
    ("only four levels", [(("cutoffs", 4), _DELETE)], "cutoffs"),
    ("cut-off at 100", [(("cutoffs", 4, "min"), 100)], "cutoffs[4].min"),
    ("cut-off not a number", [(("cutoffs", 3, "min"), "sixty")], "cutoffs[3].min"),
    ("name missing", [(("cutoffs", 3, "zh"), _DELETE)], "cutoffs[3].zh"),
    ("no version", [(("version",), _DELETE)], "version"),
]


@pytest.mark.parametrize("what,changes,key", L_CASES, ids=[c[0] for c in L_CASES])
def test_cutoff_errors_name_file_and_key(tmp_path, raw_levels, what, changes, key):
    data = copy.deepcopy(raw_levels)
    for path, value in changes:
        _set(data, path, value)
    p = _write(tmp_path, data, "levels.yaml")
    with pytest.raises(InstrumentError) as exc:
        load_level_cutoffs(p)
    e = exc.value
    assert str(p) in e.message and f"key '{key}'" in e.message, e.message
    assert f"键“{key}”" in e.message_zh


# ------------------------------------------------------------------------------------------------
# clean()
# ------------------------------------------------------------------------------------------------

def _frame(q, n: int = 4) -> pd.DataFrame:
    rows = {"enterprise_id": [f"E{i}" for i in range(n)], "region": ["east"] * n,
            "size": ["large", "medium", "small", "small"][:n], "industry": ["furniture"] * n,
            "weight": [1.5] * n}
    for k, code in enumerate(q.item_codes):
        rows[code] = [(i + k) % 5 + 1 for i in range(n)]
    return pd.DataFrame(rows)


def test_clean_maps_missing_codes(q):
    df = _frame(q)
    df.loc[1, "LEAD2"] = 9
    df.loc[2, "RESU1"] = None
    out = q.clean(df)
    assert np.isnan(out.loc[1, "LEAD2"]) and np.isnan(out.loc[2, "RESU1"])
    assert out["LEAD2"].dtype == float and out.loc[0, "LEAD2"] == 2.0
    assert df.loc[1, "LEAD2"] == 9  # the input is not modified
    assert out["weight"].tolist() == [1.5] * 4


@pytest.mark.parametrize("value", [7, 0, 2.5, -1])
def test_clean_refuses_values_outside_the_levels(q, value):
    df = _frame(q)
    df["PROC3"] = df["PROC3"].astype(float)
    df.loc[2, "PROC3"] = value
    with pytest.raises(DataError) as exc:
        q.clean(df)
    e = exc.value
    assert e.column == "PROC3" and e.row == 4  # header = row 1
    assert "row 4" in e.message and "PROC3" in e.message and f"{value:g}" in e.message
    assert "第 4 行" in e.message_zh and "PROC3" in e.message_zh


def test_clean_refuses_text_missing_columns_and_bad_codes(q):
    df = _frame(q).astype({"MEAS2": object})
    df.loc[0, "MEAS2"] = "good"
    with pytest.raises(DataError, match=r"row 2, column 'MEAS2'.*'good'"):
        q.clean(df)
    with pytest.raises(DataError, match="RESU5 are missing"):
        q.clean(_frame(q).drop(columns=["RESU5"]))
    df = _frame(q)
    df.loc[3, "region"] = "mars"
    with pytest.raises(DataError, match=r"row 5, column 'region'.*'mars'"):
        q.clean(df)
    df = _frame(q)
    df.loc[1, "weight"] = 0
    with pytest.raises(DataError, match=r"row 3, column 'weight'"):
        q.clean(df)
    # respondent columns are optional for clean(); items alone are fine
    assert q.clean(_frame(q)[list(q.item_codes)]).shape == (4, 35)
