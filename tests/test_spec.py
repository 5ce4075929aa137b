"""The model-spec parser: every model file parses, every error kind names its line and problem."""

from __future__ import annotations

import pytest

from ncsi.config import models_dir
from ncsi.errors import SpecError
from ncsi.spec import load_model, parse_model


@pytest.mark.parametrize("name", ["ncsi", "ncsi-food", "acsi", "ecsi"])
def test_bundled_models_parse(name):
    spec = load_model(models_dir() / f"{name}.lav")
    assert spec.name == name
    assert "SAT" in spec.constructs
    # causal order: every predecessor comes before its target
    order = {c: k for k, c in enumerate(spec.constructs)}
    for p in spec.paths:
        assert order[p.source] < order[p.target]


def test_default_structure_is_methodology_section_1():
    spec = load_model(models_dir() / "ncsi.lav")
    expected = {
        "EXPE": {"IMAG"}, "QUAL": {"IMAG", "EXPE"}, "VAL": {"EXPE", "QUAL"},
        "SAT": {"IMAG", "EXPE", "QUAL", "VAL"}, "COMP": {"SAT"}, "LOY": {"IMAG", "SAT", "COMP"},
    }
    assert {c: set(spec.predecessors(c)) for c in spec.endogenous} == expected
    assert spec.exogenous == ("IMAG",)
    assert spec.block("SAT").indicators == ("SAT1", "SAT2", "SAT3")


def test_food_adds_safety():
    spec = load_model(models_dir() / "ncsi-food.lav")
    assert set(spec.predecessors("SAFE")) == {"IMAG"}
    assert "SAFE" in spec.predecessors("SAT")


def test_syntax_features():
    text = """
    # a comment
    A =~ a1 +
         a2 + a3      # continued line
    B <~ b1 + b2; C =~ c1
    C ~ A + B
    B ~ A
    """
    spec = parse_model(text, source="m.lav")
    assert spec.constructs == ("A", "B", "C")
    assert spec.block("A").indicators == ("a1", "a2", "a3")
    assert spec.block("A").mode == "A" and spec.block("B").mode == "B"
    assert spec.block("C").line == 5
    assert spec.inner_matrix().tolist() == [[0, 1, 1], [0, 0, 1], [0, 0, 0]]
    # immutable
    with pytest.raises(AttributeError):
        spec.blocks = ()


def test_topological_order_whatever_the_writing_order():
    spec = parse_model("Y =~ y1\nX =~ x1\nY ~ X")
    assert spec.constructs == ("X", "Y")


@pytest.mark.parametrize(
    "text, line, fragment",
    [
        ("A =~ a1 + a2\nB =~ b1\nB ~ C", 3, "unknown construct 'C' in a path"),
        ("A =~ a1\nB =~ \nB ~ A", 2, "construct without indicators"),
        ("A =~ a1 + a2\nB =~ b1 + a2", 2, "indicator a2 is in two blocks"),
        ("A =~ a1\nB =~ b1\nC =~ c1\nB ~ A + C\nC ~ B", 5, "cycle"),
        ("A =~ a1 + B\nB =~ b1", 2, "both a construct and an indicator"),
        ("A =~ a1\nB =~ b1\nB ~ a1", 3, "is an indicator"),
        ("A =~ a1\nA ~~ A", 2, "variance"),
        ("A =~ a1 + a2\nB =~ b1\nB ~ A\na1 ~~ zz", 4, "unknown variable 'zz'"),
        ("A =~ a1 + a2\nB =~ b1\nB ~ A\na1 ~~ B", 4, "joins an indicator and a construct"),
        ("A =~ a1 + a2\nB =~ b1\nB ~ A\na1 ~~ a2\na2 ~~ a1", 5, "given twice"),
        ("A =~ a1\nA b1", 2, "no operator"),
        ("A =~ a1 + + a2", 1, "empty term"),
        ("A =~ 0.5*a1", 1, "fixed values and labels"),
        ("A =~ a1\nA =~ a2", 2, "defined twice"),
        ("A =~ a1\nB =~ b1\nB ~ A + A", 3, "listed twice"),
        ("A =~ a1\nB =~ b1\nB ~ A\nB ~ A", 4, "given twice"),
        ("A =~ a1\nA ~ A", 2, "cannot predict itself"),
        ("A =~ a1 +", 1, "ends with '+'"),
        ("1A =~ a1", 1, "not a valid construct name"),
    ],
)
def test_errors_name_line_and_problem(text, line, fragment):
    with pytest.raises(SpecError) as info:
        parse_model(text, source="bad.lav")
    assert info.value.line == line
    assert f"bad.lav, line {line}" in str(info.value)
    assert fragment in str(info.value)


def test_empty_model():
    with pytest.raises(SpecError, match="defines no construct"):
        parse_model("# nothing\n", source="empty.lav")


def test_indicator_absent_from_data_names_construct_and_indicator():
    spec = parse_model("A =~ a1 + a2\nB =~ b1\nB ~ A", source="m.lav")
    with pytest.raises(SpecError) as info:
        spec.check_data(["a1", "b1"], source="survey.csv")
    msg = str(info.value)
    assert "a2" in msg and "construct A" in msg and "survey.csv" in msg and "line 1" in msg
    assert info.value.message_zh and "a2" in info.value.message_zh


def test_missing_model_file(tmp_path):
    with pytest.raises(SpecError, match="not found"):
        load_model(tmp_path / "nope.lav")
