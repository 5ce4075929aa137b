"""Survey instruments as data: taxonomy, the seven questionnaires, weights and index settings load;
every model indicator is a questionnaire item; every broken file is named with its key or line."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ncsi.config import surveys_dir
from ncsi.errors import InstrumentError
from ncsi.instruments import (CORE_COLUMNS, Questionnaire, list_questionnaires,
                              load_consumption_weights, load_index_config, load_questionnaire,
                              load_questionnaire_file, load_taxonomy, questionnaire_ids)

SURVEYS = ["ncsi-food", "ncsi-apparel", "ncsi-daily", "ncsi-home", "ncsi-appliance",
           "ncsi-construction", "ncsi-services"]
BASE_ITEMS = (["IMAG1", "IMAG2", "IMAG3", "IMAG4", "EXPE1", "EXPE2", "EXPE3",
               "QUAL1", "QUAL2", "QUAL3", "QUAL4", "VAL1", "VAL2", "SAT1", "SAT2", "SAT3",
               "COMP1", "COMP2", "LOY1", "LOY2", "LOY3"])
CJK = re.compile(r"[\u4e00-\u9fff]")


# -- taxonomy -----------------------------------------------------------------------------------

def test_taxonomy_loads_and_answers_lookups():
    t = load_taxonomy()
    assert t.version == "2025.1"
    assert [s.survey for s in t.sectors] == SURVEYS
    assert t.industry("hotel_chain").sector == "services"
    assert t.sector_of("express_delivery").code == "services"
    assert t.sector("food").zh == "食品饮料"
    assert len(t.industries) == 17
    assert {i.code for i in t.sector("construction").industries} == {"residential",
                                                                     "public_building"}


def test_taxonomy_unknown_codes_list_the_known_ones():
    t = load_taxonomy()
    with pytest.raises(InstrumentError, match=r"unknown industry 'cheese'.*liquid_milk"):
        t.industry("cheese")
    with pytest.raises(InstrumentError, match=r"unknown sector 'toys'.*food, apparel"):
        t.sector("toys")
    with pytest.raises(InstrumentError, match="unknown industry 'x'"):
        t.sector_of("x")


def test_bad_taxonomy_names_file_and_key(tmp_path):
    text = (surveys_dir() / "taxonomy.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "taxonomy.yaml"
    bad.write_text(text.replace("{code: tissue,         zh: 纸巾,     en: tissue}",
                                "{code: tissue,         zh: 纸巾}"), encoding="utf-8")
    with pytest.raises(InstrumentError) as e:
        load_taxonomy(bad)
    assert "taxonomy.yaml" in e.value.message
    assert "sectors[2].industries[1].en" in e.value.message
    assert "sectors[2].industries[1].en" in e.value.message_zh
    bad.write_text(text.replace("code: edible_oil,", "code: liquid_milk,"), encoding="utf-8")
    with pytest.raises(InstrumentError, match=r"sectors\[0\]\.industries\[1\]\.code.*twice"):
        load_taxonomy(bad)


# -- questionnaires -----------------------------------------------------------------------------

def test_all_seven_questionnaires_load():
    assert questionnaire_ids() == sorted(SURVEYS)
    qs = list_questionnaires()
    assert [q.id for q in qs] == sorted(SURVEYS)
    assert all(isinstance(q, Questionnaire) for q in qs)
    taxonomy = load_taxonomy()
    for sector in taxonomy.sectors:
        q = load_questionnaire(sector.survey)
        assert q.sector == sector.code
        assert re.fullmatch(r"\d{4}\.\d+", q.version)
        assert (q.scale_min, q.scale_max) == (1, 10)
        assert set(q.missing_codes) == {98, 99}
        assert q.missing_codes[98] == {"zh": "拒答", "en": "refused"}
        assert q.missing_codes[99]["zh"] == "不知道"
        assert q.required_columns[:len(CORE_COLUMNS)] == CORE_COLUMNS
        assert q.screening.min_duration_sec > 0 and q.screening.straightlining
        assert len(q.sha256) == 64 and Path(q.path).is_file()
        assert CJK.search(q.title_zh) and q.title_en


@pytest.mark.parametrize("survey_id", SURVEYS)
def test_every_model_indicator_is_an_item(survey_id):
    q = load_questionnaire(survey_id)
    spec = q.model_spec()
    assert set(spec.indicators) <= set(q.item_codes)
    for block in spec.blocks:
        assert tuple(i.code for i in q.items_of(block.name)) == block.indicators
    expected = BASE_ITEMS + (["SAFE1", "SAFE2", "SAFE3"] if survey_id == "ncsi-food" else [])
    assert sorted(q.item_codes) == sorted(expected)
    assert q.model == ("ncsi-food.lav" if survey_id == "ncsi-food" else "ncsi.lav")


@pytest.mark.parametrize("survey_id", SURVEYS)
def test_bilingual_text_for_every_item(survey_id):
    q = load_questionnaire(survey_id)
    zh_seen, en_seen = set(), set()
    for item in q.items:
        assert CJK.search(item.zh), f"{item.code}: no Chinese text"
        assert re.search(r"[A-Za-z]{3}", item.en) and not CJK.search(item.en), item.code
        zh_seen.add(item.zh)
        en_seen.add(item.en)
    assert len(zh_seen) == len(en_seen) == len(q.items)  # no copy-pasted wording
    assert "complain" in q.item("COMP1").en and "problems" in q.item("COMP2").en
    assert "10%" in q.item("LOY3").en  # price tolerance


def test_sector_wording():
    assert "on time" in load_questionnaire("ncsi-construction").item("QUAL3").en
    services = load_questionnaire("ncsi-services")
    assert "undamaged" in services.item("QUAL2").en and "hotel" in services.item("QUAL1").en
    assert "safe" in load_questionnaire("ncsi-food").item("SAFE1").en


def test_construction_records_respondent_role():
    q = load_questionnaire("ncsi-construction")
    role = q.column("role")
    assert not role.required and role.type == "category"
    assert set(role.values) == {"owner", "occupant"}
    assert role.values["owner"]["zh"] == "业主"
    assert "role" not in load_questionnaire("ncsi-food").column_names


def test_clean_turns_missing_codes_into_nan():
    q = load_questionnaire("ncsi-food")
    df = pd.DataFrame({"brand": ["a", "b", "c"], "SAT1": [7, 98, 99], "SAT2": [1.0, np.nan, 10]})
    out = q.clean(df)
    assert out["SAT1"].tolist()[0] == 7.0 and out["SAT1"].isna().tolist() == [False, True, True]
    assert out["SAT2"].isna().tolist() == [False, True, False]
    assert df["SAT1"].tolist() == [7, 98, 99]  # a copy


def test_unknown_questionnaire_lists_available():
    with pytest.raises(InstrumentError) as e:
        load_questionnaire("ncsi-toys")
    assert "ncsi-toys" in e.value.message
    for sid in SURVEYS:
        assert sid in e.value.message
    assert e.value.message_zh


def test_items_of_unknown_construct():
    with pytest.raises(InstrumentError, match="no construct 'SAFE'.*IMAG"):
        load_questionnaire("ncsi-home").items_of("SAFE")


# -- broken questionnaire files ------------------------------------------------------------------

FOOD = surveys_dir() / "questionnaires" / "ncsi-food.yaml"


def _broken(tmp_path, old: str, new: str, name: str = "ncsi-food.yaml") -> Path:
    text = FOOD.read_text(encoding="utf-8")
    assert old in text, old
    p = tmp_path / name
    p.write_text(text.replace(old, new, 1), encoding="utf-8")
    return p


@pytest.mark.parametrize("old,new,key", [
    ("version: \"2025.1\"", "version: 2025.1", "version"),
    ("sector: food\n", "", "sector"),
    ("sector: food\n", "sector: toys\n", "sector"),
    ("sector: food\n", "sector: apparel\n", "sector"),
    ("model: ncsi-food.lav", "model: nothere.lav", "model"),
    ("  max: 10\n", "  max: ten\n", "scale.max"),
    ("  98: {zh: 拒答, en: refused}", "  5: {zh: 拒答, en: refused}", "missing_codes.5"),
    ("  99: {zh: 不知道, en: don't know}", "  99: {zh: 不知道}", "missing_codes.99.en"),
    ("    zh: 该品牌有自己的特色，与其他品牌不同\n", "    zh: \"\"\n", "items[2].zh"),
    ("  - code: IMAG4\n", "  - code: IMAG3\n", "items[3].code"),
    ("  min_duration_sec: 150 ", "  min_duration_sec: -5 ", "screening.min_duration_sec"),
    ("  straightlining: true ", "  straightlining: yes please ", "screening.straightlining"),
    ("{name: weight,        type: number,", "{name: weight,        type: float,",
     "columns[6].type"),
    ("  - {name: age, ", "  - {nme: age, ", "columns[5].nme"),
    ("  - code: LOY3\n    construct: LOY\n", "  - code: LOY3\n", "items[23].construct"),
    ("scale:\n", "scael: 1\nscale:\n", "scael"),
])
def test_bad_questionnaire_names_file_and_key(tmp_path, old, new, key):
    p = _broken(tmp_path, old, new)
    with pytest.raises(InstrumentError) as e:
        load_questionnaire_file(p)
    assert str(p) in e.value.message or "ncsi-food.yaml" in e.value.message
    assert f"key '{key}'" in e.value.message, e.value.message
    assert f"键“{key}”" in e.value.message_zh


def test_missing_core_column_is_named(tmp_path):
    p = _broken(tmp_path, "  - {name: duration_sec, ", "  - {name: duration, ")
    with pytest.raises(InstrumentError, match="'duration_sec' is not declared"):
        load_questionnaire_file(p)


def test_yaml_syntax_error_names_line(tmp_path):
    p = _broken(tmp_path, "title:\n  zh:", "title:\n zh: [unclosed\n  zh:")
    with pytest.raises(InstrumentError) as e:
        load_questionnaire_file(p)
    assert "ncsi-food.yaml" in e.value.message and re.search(r"line \d+", e.value.message)


def test_duplicate_key_is_refused(tmp_path):
    p = _broken(tmp_path, "sector: food\n", "sector: food\nsector: food\n")
    with pytest.raises(InstrumentError, match=r"line 9.*'sector' is given twice \(first on line 8\)"):
        load_questionnaire_file(p)


def test_id_must_match_file_name(tmp_path):
    p = _broken(tmp_path, "id: ncsi-food", "id: ncsi-food", name="food-copy.yaml")
    with pytest.raises(InstrumentError, match="key 'id'.*file name 'food-copy'"):
        load_questionnaire_file(p)


def test_model_indicator_missing_from_items(tmp_path):
    p = _broken(tmp_path, "  - code: SAT3\n", "  - code: SATX\n")
    q = load_questionnaire_file(p)
    with pytest.raises(InstrumentError) as e:
        q.model_spec()
    assert "ncsi-food.yaml" in e.value.message and "SAT3" in e.value.message
    assert "SAT3" in e.value.message_zh


def test_item_construct_must_match_model(tmp_path):
    p = _broken(tmp_path, "  - code: QUAL1\n    construct: QUAL", "  - code: QUAL1\n    construct: VAL")
    with pytest.raises(InstrumentError, match="item QUAL1 is listed under construct 'VAL'"):
        load_questionnaire_file(p).model_spec()


# -- weights and index settings ------------------------------------------------------------------

def test_consumption_weights():
    weights, version, source = load_consumption_weights(2025)
    assert set(weights) == {s.code for s in load_taxonomy().sectors}
    assert weights["food"] == pytest.approx(0.28)
    assert version == "2025.1" and "demo" in source


def test_consumption_weights_unknown_year():
    with pytest.raises(InstrumentError) as e:
        load_consumption_weights(1999)
    assert "consumption.yaml" in e.value.message and "1999" in e.value.message
    assert "2018" in e.value.message and "2025" in e.value.message
    assert "1999" in e.value.message_zh


def test_consumption_weights_unknown_sector(tmp_path):
    text = (surveys_dir() / "weights" / "consumption.yaml").read_text(encoding="utf-8")
    p = tmp_path / "consumption.yaml"
    p.write_text(text.replace("2025: {food: 0.28", "2025: {fod: 0.28"), encoding="utf-8")
    with pytest.raises(InstrumentError, match=r"key 'years\.2025\.fod': unknown sector"):
        load_consumption_weights(2025, path=p)


def test_index_config():
    cfg = load_index_config()
    assert cfg["scale"] == {"min": 1, "max": 10}
    assert cfg["min_valid_n"] == 100 and cfg["significance_level"] == pytest.approx(0.9)
    assert cfg["nonpositive_weight_policy"] == "equal" and cfg["index_construct"] == "SAT"
    assert [b["code"] for b in cfg["bands"]][0] == "very_satisfied"
    assert cfg["bands"][-1]["min"] == 0


def test_bad_index_config(tmp_path):
    text = (surveys_dir() / "index.yaml").read_text(encoding="utf-8")
    p = tmp_path / "index.yaml"
    p.write_text(text.replace("nonpositive_weight_policy: equal", "nonpositive_weight_policy: zero"),
                 encoding="utf-8")
    with pytest.raises(InstrumentError, match="key 'nonpositive_weight_policy'.*equal or drop"):
        load_index_config(p)
    p.write_text(text.replace("significance_level: 0.90", "significance_level: 90"),
                 encoding="utf-8")
    with pytest.raises(InstrumentError, match="key 'significance_level'"):
        load_index_config(p)
