"""The graded evaluation A / AA / AAA (methodology §8): the rulebook is data and validated; the
engine decides exactly at every threshold, in the documented order, never guesses a missing input
and explains every rule it reached with signed margins."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ncsi.errors import DataError, InstrumentError
from ncsi.grading import (
    ID_COLUMN,
    OUTPUT_COLUMNS,
    Rulebook,
    default_rulebook_path,
    explain,
    grade,
    load_rulebook,
)

CJK = re.compile(r"[\u4e00-\u9fff]")

#: An enterprise that meets every condition of AAA with nothing to spare.
AAA_EXACT = dict(maturity_total=800, spot_check_pass_rate=100, certificate_valid=True,
                 major_incident_2y=False, quality_exposures_3y=0, credit_clean=True,
                 satisfaction=83.0, industry_satisfaction=80.0)
#: Exactly at AA (and missing AAA on maturity, pass rate and satisfaction).
AA_EXACT = dict(AAA_EXACT, maturity_total=650, spot_check_pass_rate=98, satisfaction=80.0)
#: Exactly at A (and missing AA on maturity, pass rate and satisfaction).
A_EXACT = dict(AAA_EXACT, maturity_total=500, spot_check_pass_rate=95, satisfaction=79.9)


@pytest.fixture(scope="module")
def rb() -> Rulebook:
    return load_rulebook()


def run(rb: Rulebook, **overrides) -> pd.Series:
    """Grade one enterprise: AAA_EXACT with ``overrides`` (``base=`` picks another start)."""
    base = overrides.pop("base", AAA_EXACT)
    row = {ID_COLUMN: "E1", **base, **overrides}
    return grade(rb, pd.DataFrame([row])).iloc[0]


def rule(out: pd.Series, name: str) -> dict:
    found = [e for e in out["explanation"] if e["rule"] == name]
    assert len(found) == 1, f"rule {name} evaluated {len(found)} times"
    return found[0]


def cond(out: pd.Series, name: str, input_: str) -> dict:
    return next(c for c in rule(out, name)["conditions"] if c["input"] == input_)


# -- the rulebook --------------------------------------------------------------------------------

def test_rulebook_v1_is_methodology_8(rb):
    assert rb.version == "1"
    assert CJK.search(rb.title_zh) and rb.title_en
    assert [r.name for r in rb.exclusions] == ["no_certificate", "major_incident"]
    assert rb.grade_names == ("AAA", "AA", "A")

    def spec(r):
        return [(c.input, c.op, c.value if c.ref is None else (c.ref, c.offset))
                for c in r.conditions]

    assert spec(rb.exclusions[0]) == [("certificate_valid", "==", False)]
    assert spec(rb.exclusions[1]) == [("major_incident_2y", "==", True)]
    assert spec(rb.grades[2]) == [("maturity_total", ">=", 500), ("spot_check_pass_rate", ">=", 95)]
    assert spec(rb.grades[1]) == [("maturity_total", ">=", 650),
                                  ("spot_check_pass_rate", ">=", 98),
                                  ("satisfaction", ">=", ("industry_satisfaction", 0))]
    assert spec(rb.grades[0]) == [("maturity_total", ">=", 800),
                                  ("spot_check_pass_rate", ">=", 100),
                                  ("satisfaction", ">=", ("industry_satisfaction", 3)),
                                  ("quality_exposures_3y", "==", 0),
                                  ("credit_clean", "==", True)]
    for r in rb.rules:
        assert CJK.search(r.zh) and r.en
        for c in r.conditions:
            assert CJK.search(c.zh) and c.en
    assert rb.inputs["quality_exposures_3y"].type == "count"
    assert rb.inputs["maturity_total"].max == 1000
    assert default_rulebook_path().name == "rulebook-v1.yaml"


# -- every threshold, just under / exactly at / just over ----------------------------------------

@pytest.mark.parametrize("overrides, expected", [
    # maturity total
    (dict(base=A_EXACT, maturity_total=499.9), None),
    (dict(base=A_EXACT, maturity_total=500), "A"),
    (dict(base=A_EXACT, maturity_total=500.1), "A"),
    (dict(base=AA_EXACT, maturity_total=649.9), "A"),
    (dict(base=AA_EXACT, maturity_total=650), "AA"),
    (dict(base=AA_EXACT, maturity_total=650.1), "AA"),
    (dict(maturity_total=799.9), "AA"),
    (dict(maturity_total=800), "AAA"),
    (dict(maturity_total=800.1), "AAA"),
    (dict(maturity_total=1000), "AAA"),
    (dict(base=A_EXACT, maturity_total=0), None),
    # spot-check pass rate
    (dict(base=A_EXACT, spot_check_pass_rate=94.99), None),
    (dict(base=A_EXACT, spot_check_pass_rate=94.9999), None),
    (dict(base=A_EXACT, spot_check_pass_rate=95), "A"),
    (dict(base=A_EXACT, spot_check_pass_rate=95.0), "A"),
    (dict(base=A_EXACT, spot_check_pass_rate=95.01), "A"),
    (dict(base=AA_EXACT, spot_check_pass_rate=97.99), "A"),
    (dict(base=AA_EXACT, spot_check_pass_rate=98), "AA"),
    (dict(base=AA_EXACT, spot_check_pass_rate=98.01), "AA"),
    (dict(spot_check_pass_rate=99.99), "AA"),
    (dict(spot_check_pass_rate=100), "AAA"),
    # satisfaction against its industry (AA: ≥ industry; AAA: ≥ industry + 3)
    (dict(base=AA_EXACT, satisfaction=79.9), "A"),
    (dict(base=AA_EXACT, satisfaction=80.0), "AA"),
    (dict(base=AA_EXACT, satisfaction=80.1), "AA"),
    (dict(satisfaction=82.9), "AA"),
    (dict(satisfaction=83.0), "AAA"),
    (dict(satisfaction=83.1), "AAA"),
    (dict(satisfaction=64.02, industry_satisfaction=61.02), "AAA"),   # 61.02 + 3 in floats is
    (dict(satisfaction=64.01, industry_satisfaction=61.02), "AA"),    # 64.02000000000001
    (dict(satisfaction=81.1, industry_satisfaction=78.1), "AAA"),
    # quality exposures, credit
    (dict(quality_exposures_3y=0), "AAA"),
    (dict(quality_exposures_3y=1), "AA"),
    (dict(quality_exposures_3y=7), "AA"),
    (dict(credit_clean=True), "AAA"),
    (dict(credit_clean=False), "AA"),
    # certificate and incident exclude whatever else holds
    (dict(certificate_valid=False), None),
    (dict(major_incident_2y=True), None),
    (dict(base=A_EXACT, certificate_valid=False), None),
])
def test_thresholds(rb, overrides, expected):
    out = run(rb, **overrides)
    assert out["grade"] == expected
    assert out["status"] == ("graded" if expected else "not graded")


def test_exact_boundaries_have_zero_margin(rb):
    out = run(rb)
    assert out["grade"] == "AAA"
    for c in rule(out, "AAA")["conditions"]:
        assert c["met"] is True
        if isinstance(c["value"], bool):
            assert c["margin"] is None
        else:
            assert c["margin"] == 0
    sat = cond(out, "AAA", "satisfaction")
    assert (sat["value"], sat["threshold"], sat["ref_value"], sat["offset"]) == (83, 83, 80, 3)
    # 61.02 + 3 is compared as the decimal 64.02, not the float 64.02000000000001
    out = run(rb, satisfaction=64.02, industry_satisfaction=61.02)
    sat = cond(out, "AAA", "satisfaction")
    assert sat["threshold"] == 64.02 and sat["margin"] == 0 and sat["met"] is True


def test_margins_are_signed_and_exact(rb):
    out = run(rb, base=AA_EXACT, maturity_total=702, spot_check_pass_rate=97.5,
              satisfaction=81.1, industry_satisfaction=78.1)
    assert out["grade"] == "A"
    m = cond(out, "AA", "maturity_total")
    assert (m["value"], m["threshold"], m["met"], m["margin"]) == (702, 650, True, 52)
    p = cond(out, "AA", "spot_check_pass_rate")
    assert (p["value"], p["threshold"], p["met"], p["margin"]) == (97.5, 98, False, -0.5)
    s = cond(out, "AA", "satisfaction")
    assert (s["threshold"], s["met"], s["margin"]) == (78.1, True, 3)
    assert cond(out, "AAA", "maturity_total")["margin"] == -98
    assert cond(out, "AAA", "spot_check_pass_rate")["margin"] == -2.5
    assert cond(out, "AAA", "satisfaction")["margin"] == 0          # 81.1 vs 78.1 + 3
    assert cond(out, "A", "maturity_total")["margin"] == 202
    assert cond(out, "A", "spot_check_pass_rate")["margin"] == 2.5
    assert cond(run(rb, base=A_EXACT, maturity_total=499.9), "A", "maturity_total")["margin"] \
        == -0.1
    assert cond(run(rb, base=A_EXACT, spot_check_pass_rate=94.99), "A",
                "spot_check_pass_rate")["margin"] == -0.01
    exposures = cond(run(rb, quality_exposures_3y=2), "AAA", "quality_exposures_3y")
    assert (exposures["met"], exposures["margin"]) == (False, 2)


# -- order of evaluation -------------------------------------------------------------------------

def test_exclusions_come_first(rb):
    out = run(rb, major_incident_2y=True)        # meets every AAA condition, but an incident
    assert out["grade"] is None and out["status"] == "not graded"
    assert out["reason"] == "not graded: a major quality incident in the last two years"
    assert out["reason_zh"] == "不予评级：近两年发生重大质量事故"
    assert [e["rule"] for e in out["explanation"]] == ["no_certificate", "major_incident"]
    assert [e["outcome"] for e in out["explanation"]] == ["does not apply", "applies"]


def test_every_applicable_exclusion_is_named(rb):
    out = run(rb, certificate_valid=False, major_incident_2y=True)
    assert out["reason"] == ("not graded: no valid QMS certificate; a major quality incident in "
                             "the last two years")
    out = run(rb, certificate_valid=False)
    assert out["reason"] == "not graded: no valid QMS certificate"
    assert [e["met"] for e in out["explanation"]] == [True, False]


def test_grades_from_the_highest_down_and_stop_at_the_first_met(rb):
    out = run(rb)
    assert [e["rule"] for e in out["explanation"]] == ["no_certificate", "major_incident", "AAA"]
    out = run(rb, credit_clean=False)
    assert [e["rule"] for e in out["explanation"]] == ["no_certificate", "major_incident",
                                                        "AAA", "AA"]
    assert [e["outcome"] for e in out["explanation"][2:]] == ["missed", "met"]
    assert out["reason"] == ("AA: all 3 conditions met; AAA missed: clean credit record false = "
                             "true ✗")
    out = run(rb, base=A_EXACT, maturity_total=499.9)
    assert [e["rule"] for e in out["explanation"]][2:] == ["AAA", "AA", "A"]
    assert all(e["met"] is False for e in out["explanation"][2:])
    assert out["reason"] == "not graded: below A — maturity total 499.9 ≥ 500 ✗ (−0.1)"
    assert out["reason_zh"] == "不予评级：未达 A 级——成熟度总分 499.9 ≥ 500 ✗（−0.1）"


def test_below_a_names_every_failed_condition(rb):
    out = run(rb, base=A_EXACT, maturity_total=420, spot_check_pass_rate=90)
    assert out["reason"] == ("not graded: below A — maturity total 420 ≥ 500 ✗ (−80); "
                             "spot-check pass rate 90 ≥ 95 ✗ (−5)")


# -- missing inputs ------------------------------------------------------------------------------

def test_no_linked_brand_blocks_aa_and_aaa_only(rb):
    out = run(rb, satisfaction=None, industry_satisfaction=None)
    assert out["grade"] == "A" and out["status"] == "graded"
    assert [e["outcome"] for e in out["explanation"][2:]] == ["not assessed", "not assessed",
                                                              "met"]
    for name in ("AAA", "AA"):
        e = rule(out, name)
        assert e["met"] is None
        assert e["missing"] == ["satisfaction", "industry_satisfaction"]
        sat = cond(out, name, "satisfaction")
        assert sat["met"] is None and sat["margin"] is None and sat["threshold"] is None
    assert out["reason"] == ("A: all 2 conditions met; AAA not assessed: missing satisfaction, "
                             "industry_satisfaction; AA not assessed: missing satisfaction, "
                             "industry_satisfaction")
    assert "无法评定 AAA：缺少品牌满意度指数" in out["reason_zh"]


def test_missing_industry_index_alone_blocks_the_comparison(rb):
    out = run(rb, industry_satisfaction=np.nan)
    assert out["grade"] == "A"
    assert rule(out, "AA")["missing"] == ["industry_satisfaction"]


def test_a_grade_already_missed_is_missed_not_unassessed(rb):
    # AAA fails on maturity whatever the satisfaction would be; AA cannot be assessed
    out = run(rb, maturity_total=700, satisfaction=None)
    assert out["grade"] == "A"
    assert rule(out, "AAA")["outcome"] == "missed"
    assert rule(out, "AA")["outcome"] == "not assessed"
    assert out["reason"] == ("A: all 2 conditions met; AAA missed: maturity total 700 ≥ 800 ✗ "
                             "(−100) (also missing satisfaction); AA not assessed: missing "
                             "satisfaction")


@pytest.mark.parametrize("missing, expected, blocked", [
    ("credit_clean", "AA", ["AAA"]),
    ("quality_exposures_3y", "AA", ["AAA"]),
    ("satisfaction", "A", ["AAA", "AA"]),
])
def test_missing_input_of_a_higher_grade_falls_through(rb, missing, expected, blocked):
    out = run(rb, **{missing: None})
    assert out["grade"] == expected
    for name in blocked:
        assert rule(out, name)["outcome"] == "not assessed"
        assert f"{name} not assessed: missing {missing}" in out["reason"]


@pytest.mark.parametrize("missing", ["maturity_total", "spot_check_pass_rate"])
def test_missing_input_of_grade_a_is_not_graded(rb, missing):
    out = run(rb, **{missing: None})
    assert out["grade"] is None and out["status"] == "not graded"
    assert out["reason"] == f"not graded: missing {missing} (needed for A)"
    assert [e["outcome"] for e in out["explanation"][2:]] == ["not assessed"] * 3
    assert out["reason_zh"].startswith("不予评级：缺少")


def test_missing_input_with_a_failed_a_condition_is_below_a(rb):
    out = run(rb, base=A_EXACT, maturity_total=480, spot_check_pass_rate=None)
    assert out["status"] == "not graded"
    assert out["reason"] == ("not graded: below A — maturity total 480 ≥ 500 ✗ (−20) "
                             "(also missing spot_check_pass_rate)")


@pytest.mark.parametrize("missing", ["certificate_valid", "major_incident_2y"])
def test_an_exclusion_that_cannot_be_checked_is_not_graded(rb, missing):
    out = run(rb, **{missing: None})
    assert out["grade"] is None and out["status"] == "not graded"
    assert out["reason"].startswith(f"not graded: missing {missing} (cannot check: ")
    assert [e["rule"] for e in out["explanation"]] == ["no_certificate", "major_incident"]
    assert "not assessed" in [e["outcome"] for e in out["explanation"]]


def test_a_known_exclusion_wins_over_an_unknown_one(rb):
    out = run(rb, certificate_valid=None, major_incident_2y=True)
    assert out["reason"] == "not graded: a major quality incident in the last two years"


# -- explanations --------------------------------------------------------------------------------

def test_explain_is_bilingual_with_marks_and_margins(rb):
    out = run(rb, base=AA_EXACT, maturity_total=702, spot_check_pass_rate=97.5,
              satisfaction=81.1, industry_satisfaction=78.1)
    text = explain(out)
    lines = text.splitlines()
    assert lines[0] == "E1: grade A / 评级 A (rulebook v1 / 规则第 1 版)"
    assert "maturity total 702 ≥ 650 ✓ (+52)" in text
    assert "spot-check pass rate 97.5 ≥ 98 ✗ (−0.5)" in text
    assert "成熟度总分 702 ≥ 650 ✓（+52）" in text
    assert "brand satisfaction index 81.1 ≥ 81.1 (industry satisfaction index 78.1 + 3) ✓ (±0)" \
        in text
    assert "[grade / 等级] AAA (grade AAA / AAA 级): missed / 未达到" in text
    assert "[exclusion / 排除规则] no_certificate" in text
    # every rule reached and every condition appears (an en and a zh line each)
    n_conditions = sum(len(e["conditions"]) for e in out["explanation"])
    assert sum(line.startswith("    - ") for line in lines) == n_conditions
    assert len(lines) == 3 + len(out["explanation"]) + 2 * n_conditions
    assert explain(out.to_dict()) == text


def test_explain_marks_missing_and_not_graded(rb):
    out = run(rb, satisfaction=None)
    text = explain(out)
    assert "? missing brand satisfaction index" in text
    assert "not assessed / 无法评定" in text
    out = run(rb, major_incident_2y=True)
    assert explain(out).splitlines()[0].startswith("E1: not graded / 不予评级")


def test_explanation_is_self_contained(rb):
    out = run(rb)
    c = cond(out, "AAA", "satisfaction")
    assert {"input", "op", "ref", "offset", "value", "threshold", "met", "margin", "missing",
            "zh", "en", "input_zh", "input_en", "ref_zh", "ref_en", "ref_value"} <= set(c)
    e = rule(out, "AAA")
    assert {"rule", "kind", "zh", "en", "met", "outcome", "missing", "conditions"} <= set(e)


# -- the table -----------------------------------------------------------------------------------

def test_grade_returns_one_row_per_enterprise_in_order(rb):
    rows = [dict(AAA_EXACT, enterprise_id=101), dict(AA_EXACT, enterprise_id=102),
            dict(A_EXACT, enterprise_id=103), dict(A_EXACT, enterprise_id=104, maturity_total=1),
            dict(AAA_EXACT, enterprise_id=105, certificate_valid=False)]
    frame = pd.DataFrame(rows, index=[10, 20, 30, 40, 50])
    out = grade(rb, frame)
    assert list(out.columns) == OUTPUT_COLUMNS
    assert out["enterprise_id"].tolist() == [101, 102, 103, 104, 105]
    assert out["enterprise_id"].dtype == frame["enterprise_id"].dtype
    assert out["grade"].tolist() == ["AAA", "AA", "A", None, None]
    assert out["status"].tolist() == ["graded"] * 3 + ["not graded"] * 2
    assert set(out["rulebook_version"]) == {"1"}
    assert len(grade(rb, frame.iloc[:0])) == 0


def test_inputs_as_read_from_a_file(rb, tmp_path):
    # CSV: booleans as text (true/1/是), missing satisfaction as an empty cell
    path = tmp_path / "enterprises.csv"
    path.write_text(
        "enterprise_id,maturity_total,spot_check_pass_rate,certificate_valid,major_incident_2y,"
        "quality_exposures_3y,credit_clean,satisfaction,industry_satisfaction\n"
        "E1,800,100,true,false,0,1,83,80\n"
        "E2,820.5,100,是,否,0,是,,80\n"
        "E3,820.5,100,yes,no,,TRUE,90,80\n", encoding="utf-8")
    out = grade(rb, pd.read_csv(path))
    assert out["grade"].tolist() == ["AAA", "A", "AA"]


@pytest.mark.parametrize("change, match", [
    (dict(spot_check_pass_rate=100.5), r"spot_check_pass_rate 100\.5 is outside 0–100"),
    (dict(maturity_total=1000.5), r"enterprise 'E1': maturity_total 1000\.5 is outside 0–1000"),
    (dict(quality_exposures_3y=1.5), r"quality_exposures_3y must be a whole number"),
    (dict(quality_exposures_3y=-1), r"quality_exposures_3y -1 is outside 0–∞"),
    (dict(certificate_valid="maybe"), r"'maybe' is not true/false"),
    (dict(maturity_total="lots"), r"'lots' is not a finite number"),
    (dict(maturity_total=math.inf), r"is not a finite number"),
    (dict(satisfaction=True), r"satisfaction must be a number"),
])
def test_bad_input_values_are_named(rb, change, match):
    with pytest.raises(DataError, match=match) as e:
        run(rb, **change)
    assert e.value.message_zh and CJK.search(e.value.message_zh)
    assert e.value.column == next(iter(change))


def test_bad_input_tables_are_named(rb):
    good = dict(AAA_EXACT, enterprise_id="E1")
    with pytest.raises(DataError, match=r"lack the column\(s\) credit_clean") as e:
        grade(rb, pd.DataFrame([{k: v for k, v in good.items() if k != "credit_clean"}]))
    assert e.value.column == "credit_clean"
    with pytest.raises(DataError, match=r"lack the column\(s\) enterprise_id"):
        grade(rb, pd.DataFrame([AAA_EXACT]))
    with pytest.raises(DataError, match=r"row 1.*enterprise 'E1' appears twice \(also row 0\)"):
        grade(rb, pd.DataFrame([good, good]))
    with pytest.raises(DataError, match=r"without enterprise_id"):
        grade(rb, pd.DataFrame([dict(good, enterprise_id=None)]))


# -- rulebook validation -------------------------------------------------------------------------

def _raw() -> dict:
    return yaml.safe_load(default_rulebook_path().read_text(encoding="utf-8"))


def _write(tmp_path: Path, data: dict) -> Path:
    p = tmp_path / "rulebook.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return p


def _aa_satisfaction(d):
    return d["grades"][1]["conditions"][2]


@pytest.mark.parametrize("mutate, key, match", [
    (lambda d: d["grades"][2]["conditions"][0].update(op="=>"),
     "grades[2].conditions[0].op", r"unknown operator '=>'; expected one of: >=, >, <=, <, =="),
    (lambda d: d["grades"][0]["conditions"][0].update(input="maturity"),
     "grades[0].conditions[0].input", r"unknown input 'maturity'; declared inputs: maturity_total"),
    (lambda d: _aa_satisfaction(d).update(ref="industry_index"),
     "grades[1].conditions[2].ref", r"unknown input 'industry_index'"),
    (lambda d: d["grades"][1].update(conditions=[]),
     "grades[1].conditions", r"grade 'AA' has no conditions"),
    (lambda d: d["grades"][1].update(conditions=None),
     "grades[1].conditions", r"grade 'AA' has no conditions"),
    (lambda d: d["exclusions"][0].update(conditions=[]),
     "exclusions[0].conditions", r"exclusion 'no_certificate' has no conditions"),
    (lambda d: d["grades"][2].update(name="AA"),
     "grades[2].name", r"grade 'AA' is given twice \(first at grades\[1\]\)"),
    (lambda d: d["grades"][2].update(name="no_certificate"),
     "grades[2].name", r"'no_certificate' is given twice \(first at exclusions\[0\]\)"),
    (lambda d: d.update(grades=[]), "grades", r"empty list"),
    (lambda d: d["exclusions"][0]["conditions"][0].update(op=">="),
     "exclusions[0].conditions[0].op", r"boolean; use op \"==\""),
    (lambda d: d["exclusions"][0]["conditions"][0].update(value="no"),
     "exclusions[0].conditions[0].value", r"must be true or false"),
    (lambda d: d["grades"][2]["conditions"][0].update(value=True),
     "grades[2].conditions[0].value", r"the threshold must be a number"),
    (lambda d: d["grades"][2]["conditions"][0].update(value=1200),
     "grades[2].conditions[0].value", r"threshold 1200 is outside the range.*0–1000"),
    (lambda d: d["grades"][2]["conditions"][0].update(ref="satisfaction"),
     "grades[2].conditions[0]", r"exactly one of 'value'.*or 'ref'"),
    (lambda d: d["grades"][2]["conditions"][0].pop("value"),
     "grades[2].conditions[0]", r"exactly one of 'value'"),
    (lambda d: d["grades"][2]["conditions"][0].update(offset=3),
     "grades[2].conditions[0].offset", r"'offset' applies only with 'ref'"),
    (lambda d: _aa_satisfaction(d).update(ref="satisfaction"),
     "grades[1].conditions[2].ref", r"cannot be compared with itself"),
    (lambda d: _aa_satisfaction(d).update(ref="credit_clean"),
     "grades[1].conditions[2].ref", r"'credit_clean' is boolean"),
    (lambda d: _aa_satisfaction(d).update(offset="3"),
     "grades[1].conditions[2].offset", r"must be a finite number"),
    (lambda d: d["grades"][0]["conditions"][0].pop("zh"),
     "grades[0].conditions[0].zh", r"is missing"),
    (lambda d: d["grades"][0]["conditions"][0].update(text="x"),
     "grades[0].conditions[0].text", r"unknown key"),
    (lambda d: d["inputs"]["maturity_total"].update(type="float"),
     "inputs.maturity_total.type", r"unknown type 'float'"),
    (lambda d: d["inputs"]["maturity_total"].update(min=10, max=1),
     "inputs.maturity_total", r"min 10 is above max 1"),
    (lambda d: d["inputs"]["credit_clean"].update(min=0),
     "inputs.credit_clean.min", r"boolean input has no range"),
    (lambda d: d["inputs"]["quality_exposures_3y"].update(min=-1),
     "inputs.quality_exposures_3y.min", r"cannot be negative"),
    (lambda d: d.update(version=1), "version", r"must be text, got the number 1"),
    (lambda d: d["title"].pop("zh"), "title.zh", r"is missing"),
    (lambda d: d.pop("exclusions"), "exclusions", r"is missing"),
    (lambda d: d.update(extra=1), "extra", r"unknown key"),
])
def test_rulebook_errors_name_file_and_key(tmp_path, mutate, key, match):
    data = _raw()
    mutate(data)
    path = _write(tmp_path, data)
    with pytest.raises(InstrumentError, match=match) as e:
        load_rulebook(path)
    assert f"rulebook.yaml: key '{key}'" in e.value.message
    assert e.value.message_zh and f"键“{key}”" in e.value.message_zh


def test_rulebook_without_exclusions_and_with_own_rules_loads(tmp_path, rb):
    data = _raw()
    data["exclusions"] = []
    data["grades"] = [data["grades"][2]]
    data["grades"][0]["conditions"][1].update(op=">", value=95)
    book = load_rulebook(_write(tmp_path, data))
    assert book.exclusions == () and book.grade_names == ("A",)
    assert set(book.used_inputs) == {"maturity_total", "spot_check_pass_rate"}
    out = grade(book, pd.DataFrame([dict(enterprise_id="E", maturity_total=500,
                                         spot_check_pass_rate=95)]))
    assert out["grade"].iloc[0] is None            # > 95 is strict
    assert out["explanation"].iloc[0][0]["rule"] == "A"


def test_rulebook_yaml_syntax_and_missing_file(tmp_path):
    p = tmp_path / "broken.yaml"
    p.write_text('version: "1"\ngrades: [\n', encoding="utf-8")
    with pytest.raises(InstrumentError, match=r"broken\.yaml, line \d+: invalid YAML"):
        load_rulebook(p)
    p.write_text('version: "1"\nversion: "2"\n', encoding="utf-8")
    with pytest.raises(InstrumentError, match=r"key 'version' is given twice"):
        load_rulebook(p)
    with pytest.raises(InstrumentError, match=r"nowhere\.yaml: file not found"):
        load_rulebook(tmp_path / "nowhere.yaml")
