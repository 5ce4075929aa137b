"""The graded evaluation A / AA / AAA of QMS-certified enterprises (methodology §8).

The rules are versioned data (``surveys/grading/rulebook-v1.yaml``; its header documents the
schema); this module validates them and runs them — one small engine, no rule lives in code.

- :func:`load_rulebook` → :class:`Rulebook` (every problem is an
  :class:`~ncsi.errors.InstrumentError` naming the file and the key, in English and Chinese)
- :func:`grade` → one row per enterprise: ``enterprise_id``, ``grade`` (a grade name or None),
  ``status`` ("graded" | "not graded"), ``reason`` / ``reason_zh`` (one line) and
  ``explanation`` (one dict per rule evaluated, in order, with every condition's value,
  threshold, met and signed margin), plus ``rulebook_version``
- :func:`explain` → a readable multi-line bilingual account of one row of :func:`grade`

Evaluation order: the exclusions first (all of them, so every applicable one is named); any that
applies → "not graded". Then the grades from the highest down; the first grade all of whose
conditions hold is given; none → "not graded: below <lowest grade>".

Missing inputs are never guessed. A condition whose input (or referenced input) is missing is
"not assessed" (``met`` None). A rule is met when all its conditions are met, missed when any is
not met (whatever the missing ones would be), otherwise not assessed. A grade not assessed blocks
only that grade: the engine goes on to the lower grades, and the reason says which higher grade
could not be assessed for lack of which input (e.g. no linked brand → no satisfaction → AA and AAA
not assessed, A still possible). An exclusion that cannot be checked, or a lowest grade that
cannot be assessed, leaves the enterprise "not graded: missing <input>".

Thresholds compare exactly at the precision of the data: numbers are compared as the decimals
they print as (``repr``), so ``satisfaction 81.1 ≥ industry 78.1 + 3`` holds and 94.9999 does not
reach 95; margins are ``value − threshold`` in the same decimal arithmetic.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import config
from .errors import DataError
from .instruments import _display, _join, _read_yaml, _Reader

__all__ = ["ID_COLUMN", "INPUT_TYPES", "OPERATORS", "Condition", "InputDef", "Rule", "Rulebook",
           "default_rulebook_path", "explain", "grade", "load_rulebook"]

#: The column naming the enterprise in the inputs of :func:`grade`.
ID_COLUMN = "enterprise_id"
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq}
_SYMBOL = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "==": "="}
INPUT_TYPES = ("number", "count", "boolean")
OUTPUT_COLUMNS = ["enterprise_id", "grade", "status", "reason", "reason_zh", "explanation",
                  "rulebook_version"]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*$")
_TRUE = {"true", "yes", "y", "1", "是", "有"}
_FALSE = {"false", "no", "n", "0", "否", "无"}


# ------------------------------------------------------------------------------------------------
# the rulebook
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class InputDef:
    name: str
    type: str                      # number | count | boolean
    zh: str
    en: str
    min: float | None = None
    max: float | None = None

    @property
    def numeric(self) -> bool:
        return self.type != "boolean"


@dataclass(frozen=True)
class Condition:
    """``input op value`` or ``input op ref + offset``."""

    input: str
    op: str
    zh: str
    en: str
    value: float | bool | None = None
    ref: str | None = None
    offset: float = 0.0

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.input,) if self.ref is None else (self.input, self.ref)


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str                      # exclusion | grade
    zh: str
    en: str
    conditions: tuple[Condition, ...]

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(i for c in self.conditions for i in c.inputs))


@dataclass(frozen=True)
class Rulebook:
    version: str
    title_zh: str
    title_en: str
    inputs: dict[str, InputDef]
    exclusions: tuple[Rule, ...]
    grades: tuple[Rule, ...]       # highest first
    source: str = "surveys/grading/rulebook-v1.yaml"

    @property
    def grade_names(self) -> tuple[str, ...]:
        return tuple(g.name for g in self.grades)

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self.exclusions + self.grades

    @property
    def used_inputs(self) -> tuple[str, ...]:
        """The inputs some rule needs, in the order the rulebook declares them."""
        used = {i for r in self.rules for i in r.inputs}
        return tuple(n for n in self.inputs if n in used)


def default_rulebook_path() -> Path:
    return config.surveys_dir() / "grading" / "rulebook-v1.yaml"


def load_rulebook(path: str | Path | None = None) -> Rulebook:
    """Read and validate a rulebook (default ``surveys/grading/rulebook-v1.yaml``)."""
    p = Path(path) if path is not None else default_rulebook_path()
    data, _ = _read_yaml(p, "分级评价规则")
    r = _Reader(_display(p))
    top = r.mapping(data, "", allowed=("version", "title", "inputs", "exclusions", "grades"),
                    required=("version", "title", "inputs", "exclusions", "grades"))
    version = r.text(top["version"], "version")
    title_zh, title_en = r.bilingual(top["title"], "title")

    raw_inputs = r.mapping(top["inputs"], "inputs")
    if not raw_inputs:
        raise r.fail("inputs", "declares no input; declare the inputs the rules use",
                     "未声明任何输入；请声明规则所用的输入")
    inputs: dict[str, InputDef] = {}
    for name, raw in raw_inputs.items():
        key = _join("inputs", str(name))
        if not isinstance(name, str) or not _NAME.match(name) or name == ID_COLUMN:
            raise r.fail(key, f"'{name}' is not a valid input name (letters, digits, '_'; "
                         f"not '{ID_COLUMN}')",
                         f"“{name}”不是有效的输入名（字母、数字、下划线；不能为 {ID_COLUMN}）")
        m = r.mapping(raw, key, allowed=("type", "min", "max", "zh", "en"),
                      required=("type", "zh", "en"))
        typ = r.text(m["type"], _join(key, "type"))
        if typ not in INPUT_TYPES:
            raise r.fail(_join(key, "type"), f"unknown type '{typ}'; expected one of: "
                         f"{', '.join(INPUT_TYPES)}",
                         f"未知类型“{typ}”；允许：{'、'.join(INPUT_TYPES)}")
        lo = hi = None
        if typ == "boolean":
            for bound in ("min", "max"):
                if bound in m:
                    raise r.fail(_join(key, bound), "a boolean input has no range; remove it",
                                 "布尔输入没有取值范围，请删除")
        else:
            lo = r.number(m["min"], _join(key, "min")) if "min" in m else None
            hi = r.number(m["max"], _join(key, "max")) if "max" in m else None
            if typ == "count":
                lo = 0.0 if lo is None else lo
                if lo < 0:
                    raise r.fail(_join(key, "min"), "a count cannot be negative; use min: 0",
                                 "计数不能为负；请用 min: 0")
            if lo is not None and hi is not None and lo > hi:
                raise r.fail(key, f"min {lo:g} is above max {hi:g}",
                             f"最小值 {lo:g} 大于最大值 {hi:g}")
        zh = r.text(m["zh"], _join(key, "zh"))
        en = r.text(m["en"], _join(key, "en"))
        inputs[name] = InputDef(name, typ, zh, en, lo, hi)

    seen: dict[str, str] = {}
    exclusions = tuple(_rule(r, raw, f"exclusions[{k}]", "exclusion", inputs, seen)
                       for k, raw in enumerate(r.seq(top["exclusions"], "exclusions",
                                                     nonempty=False)))
    grades = tuple(_rule(r, raw, f"grades[{k}]", "grade", inputs, seen)
                   for k, raw in enumerate(r.seq(top["grades"], "grades")))
    return Rulebook(version, title_zh, title_en, inputs, exclusions, grades, r.source)


def _rule(r: _Reader, raw: Any, key: str, kind: str, inputs: dict[str, InputDef],
          seen: dict[str, str]) -> Rule:
    m = r.mapping(raw, key, allowed=("name", "zh", "en", "conditions"),
                  required=("name", "zh", "en", "conditions"))
    name = r.text(m["name"], _join(key, "name"))
    if not _NAME.match(name):
        raise r.fail(_join(key, "name"), f"'{name}' is not a valid rule name (letters, digits, "
                     "'_', '+', '-')", f"“{name}”不是有效的规则名（字母、数字、_、+、-）")
    if name in seen:
        what, what_zh = ("grade", "等级") if kind == "grade" else ("rule", "规则")
        raise r.fail(_join(key, "name"), f"{what} '{name}' is given twice (first at "
                     f"{seen[name]}); rule names must be unique",
                     f"{what_zh}“{name}”重复（首次见于 {seen[name]}）；规则名必须唯一")
    seen[name] = key
    zh = r.text(m["zh"], _join(key, "zh"))
    en = r.text(m["en"], _join(key, "en"))
    ckey = _join(key, "conditions")
    raw_conditions = m["conditions"]
    if raw_conditions is None or raw_conditions == []:
        what = "grade" if kind == "grade" else "exclusion"
        raise r.fail(ckey, f"{what} '{name}' has no conditions; list at least one",
                     f"“{name}”没有任何条件；至少列出一项")
    conditions = tuple(_condition(r, c, f"{ckey}[{j}]", inputs)
                       for j, c in enumerate(r.seq(raw_conditions, ckey)))
    return Rule(name, kind, zh, en, conditions)


def _condition(r: _Reader, raw: Any, key: str, inputs: dict[str, InputDef]) -> Condition:
    m = r.mapping(raw, key, allowed=("input", "op", "value", "ref", "offset", "zh", "en"),
                  required=("input", "op", "zh", "en"))
    name = r.text(m["input"], _join(key, "input"))
    if name not in inputs:
        raise r.fail(_join(key, "input"), f"unknown input '{name}'; declared inputs: "
                     f"{', '.join(inputs)}",
                     f"未知输入“{name}”；已声明的输入：{'、'.join(inputs)}")
    spec = inputs[name]
    op = m["op"]
    if not isinstance(op, str) or op.strip() not in OPERATORS:
        raise r.fail(_join(key, "op"), f"unknown operator {op!r}; expected one of: "
                     f"{', '.join(OPERATORS)} (quote it: op: \">=\")",
                     f"未知运算符 {op!r}；允许：{'、'.join(OPERATORS)}（请加引号：op: \">=\"）")
    op = op.strip()
    zh = r.text(m["zh"], _join(key, "zh"))
    en = r.text(m["en"], _join(key, "en"))
    has_value, has_ref = "value" in m, "ref" in m
    if has_value == has_ref:
        raise r.fail(key, "give exactly one of 'value' (a fixed threshold) or 'ref' (another "
                     "input, plus an optional 'offset')",
                     "“value”（固定阈值）与“ref”（另一输入，可加“offset”）须且只能给出一个")
    if "offset" in m and not has_ref:
        raise r.fail(_join(key, "offset"), "'offset' applies only with 'ref'; remove it or "
                     "use 'ref'", "“offset”只能与“ref”一起使用")
    if not spec.numeric:
        if op != "==":
            raise r.fail(_join(key, "op"), f"input '{name}' is boolean; use op \"==\" with "
                         "value true or false", f"输入“{name}”为布尔值；请用 \"==\" 与 true/false")
        if has_ref:
            raise r.fail(_join(key, "ref"), f"input '{name}' is boolean; compare it with "
                         "value true or false", f"输入“{name}”为布尔值；请与 true/false 比较")
        return Condition(name, op, zh, en, value=r.boolean(m["value"], _join(key, "value")))
    if has_value:
        value = m["value"]
        if isinstance(value, bool):
            raise r.fail(_join(key, "value"), f"input '{name}' is a {spec.type}; the threshold "
                         f"must be a number, got {value}",
                         f"输入“{name}”为数值；阈值应为数字，实际为 {value}")
        value = r.number(value, _join(key, "value"))
        if (spec.min is not None and value < spec.min) or \
                (spec.max is not None and value > spec.max):
            rng = _range_text(spec)
            raise r.fail(_join(key, "value"), f"threshold {value:g} is outside the range of "
                         f"'{name}' ({rng})", f"阈值 {value:g} 超出“{name}”的取值范围（{rng}）")
        return Condition(name, op, zh, en, value=value)
    ref = r.text(m["ref"], _join(key, "ref"))
    if ref not in inputs:
        raise r.fail(_join(key, "ref"), f"unknown input '{ref}'; declared inputs: "
                     f"{', '.join(inputs)}",
                     f"未知输入“{ref}”；已声明的输入：{'、'.join(inputs)}")
    if ref == name:
        raise r.fail(_join(key, "ref"), f"'{name}' cannot be compared with itself",
                     f"“{name}”不能与自身比较")
    if not inputs[ref].numeric:
        raise r.fail(_join(key, "ref"), f"input '{ref}' is boolean; 'ref' needs a numeric input",
                     f"输入“{ref}”为布尔值；“ref”须为数值输入")
    offset = r.number(m["offset"], _join(key, "offset")) if "offset" in m else 0.0
    return Condition(name, op, zh, en, ref=ref, offset=offset)


def _range_text(spec: InputDef) -> str:
    lo = "−∞" if spec.min is None else f"{spec.min:g}"
    hi = "∞" if spec.max is None else f"{spec.max:g}"
    return f"{lo}–{hi}"


# ------------------------------------------------------------------------------------------------
# the inputs
# ------------------------------------------------------------------------------------------------

def _is_missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, (float, np.floating)) and math.isnan(v):
        return True
    return isinstance(v, str) and not v.strip()


def _where(frame: pd.DataFrame, pos: int) -> str:
    return f"enterprise '{frame[ID_COLUMN].iloc[pos]}'"


def _column_values(frame: pd.DataFrame, spec: InputDef) -> list[Any]:
    """The column of one input as Python values: None (missing), bool, int (count) or float."""
    out: list[Any] = []
    for pos, v in enumerate(frame[spec.name].tolist()):
        row = frame.index[pos]
        if _is_missing(v):
            out.append(None)
            continue
        if spec.type == "boolean":
            if isinstance(v, (bool, np.bool_)):
                out.append(bool(v))
                continue
            if isinstance(v, (int, float, np.integer, np.floating)) and v in (0, 1):
                out.append(bool(v))
                continue
            text = str(v).strip().lower()
            if text in _TRUE or text in _FALSE:
                out.append(text in _TRUE)
                continue
            raise DataError(f"{_where(frame, pos)}: {v!r} is not true/false (or 1/0, yes/no); "
                            f"leave the cell empty when unknown", row=row, column=spec.name,
                            message_zh=f"{_where(frame, pos)}：{v!r} 不是 true/false（或 1/0、"
                                       "是/否）；未知时请留空")
        if isinstance(v, (bool, np.bool_)):
            raise DataError(f"{_where(frame, pos)}: {spec.name} must be a number, got {v}",
                            row=row, column=spec.name,
                            message_zh=f"{_where(frame, pos)}：{spec.name} 应为数值，实际为 {v}")
        if isinstance(v, str):
            try:
                v = float(v.strip())
            except ValueError:
                v = None
        if not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v):
            raise DataError(f"{_where(frame, pos)}: {frame[spec.name].iloc[pos]!r} is not a "
                            f"finite number; leave the cell empty when unknown", row=row,
                            column=spec.name,
                            message_zh=f"{_where(frame, pos)}：{frame[spec.name].iloc[pos]!r} "
                                       "不是有效数值；未知时请留空")
        if (spec.min is not None and v < spec.min) or (spec.max is not None and v > spec.max):
            rng = _range_text(spec)
            raise DataError(f"{_where(frame, pos)}: {spec.name} {_fmt(v)} is outside {rng}",
                            row=row, column=spec.name,
                            message_zh=f"{_where(frame, pos)}：{spec.name} {_fmt(v)} 超出 {rng}")
        if spec.type == "count":
            if float(v) != int(v):
                raise DataError(f"{_where(frame, pos)}: {spec.name} must be a whole number, got "
                                f"{_fmt(v)}", row=row, column=spec.name,
                                message_zh=f"{_where(frame, pos)}：{spec.name} 应为整数，实际为 "
                                           f"{_fmt(v)}")
            out.append(int(v))
        else:
            out.append(int(v) if isinstance(v, (int, np.integer)) else float(v))
    return out


def _prepare(rulebook: Rulebook, inputs: pd.DataFrame) -> tuple[list[Any], list[dict[str, Any]]]:
    if not isinstance(inputs, pd.DataFrame):
        raise DataError("grading inputs must be a table (pandas DataFrame)",
                        message_zh="分级评价的输入应为数据表（pandas DataFrame）")
    needed = [ID_COLUMN, *rulebook.used_inputs]
    absent = [c for c in needed if c not in inputs.columns]
    if absent:
        raise DataError(f"the grading inputs lack the column(s) {', '.join(absent)} that "
                        f"rulebook v{rulebook.version} needs; add them (empty cells for unknown "
                        "values)", column=absent[0],
                        message_zh=f"分级评价输入缺少规则第 {rulebook.version} 版所需的列 "
                                   f"{'、'.join(absent)}；请补上（未知值留空）")
    ids = inputs[ID_COLUMN].tolist()
    first: dict[Any, Any] = {}
    for pos, e in enumerate(ids):
        row = inputs.index[pos]
        if _is_missing(e):
            raise DataError("an enterprise without enterprise_id; every row needs one",
                            row=row, column=ID_COLUMN,
                            message_zh="有一行缺少 enterprise_id；每行都须填写")
        if e in first:
            raise DataError(f"enterprise '{e}' appears twice (also row {first[e]}); give one row "
                            "per enterprise", row=row, column=ID_COLUMN,
                            message_zh=f"企业“{e}”出现两次（另见第 {first[e]} 行）；每家企业一行")
        first[e] = row
    columns = {n: _column_values(inputs, rulebook.inputs[n]) for n in rulebook.used_inputs}
    rows = [{n: columns[n][pos] for n in columns} for pos in range(len(ids))]
    return ids, rows


# ------------------------------------------------------------------------------------------------
# the engine
# ------------------------------------------------------------------------------------------------

def _dec(v: float) -> Decimal:
    """A number as the decimal it prints as (no binary-float fuzz)."""
    if isinstance(v, (int, np.integer)):
        return Decimal(int(v))
    return Decimal(repr(float(v)))


def _plain(d: Decimal) -> int | float:
    return int(d) if d == d.to_integral_value() else float(d)


def _evaluate_condition(c: Condition, values: Mapping[str, Any],
                        labels: Mapping[str, InputDef]) -> dict[str, Any]:
    value = values[c.input]
    out: dict[str, Any] = {"input": c.input, "op": c.op, "ref": c.ref,
                           "offset": c.offset if c.ref is not None else None,
                           "value": value, "threshold": None, "met": None, "margin": None,
                           "missing": [], "zh": c.zh, "en": c.en,
                           "input_zh": labels[c.input].zh, "input_en": labels[c.input].en}
    if value is None:
        out["missing"].append(c.input)
    if c.ref is None:
        threshold: Any = c.value if isinstance(c.value, bool) else _dec(c.value)
    else:
        out["ref_zh"], out["ref_en"] = labels[c.ref].zh, labels[c.ref].en
        out["ref_value"] = base = values[c.ref]
        threshold = None if base is None else _dec(base) + _dec(c.offset)
        if base is None:
            out["missing"].append(c.ref)
    out["threshold"] = threshold if threshold is None or isinstance(threshold, bool) \
        else _plain(threshold)
    if out["missing"]:
        return out
    if isinstance(value, bool):
        out["met"] = value == threshold
        return out
    v = _dec(value)
    out["met"] = bool(OPERATORS[c.op](v, threshold))
    out["margin"] = _plain(v - threshold)
    return out


def _evaluate_rule(rule: Rule, values: Mapping[str, Any],
                   labels: Mapping[str, InputDef]) -> dict[str, Any]:
    conditions = [_evaluate_condition(c, values, labels) for c in rule.conditions]
    mets = [c["met"] for c in conditions]
    met = False if False in mets else (True if all(m is True for m in mets) else None)
    if rule.kind == "exclusion":
        outcome = {True: "applies", False: "does not apply", None: "not assessed"}[met]
    else:
        outcome = {True: "met", False: "missed", None: "not assessed"}[met]
    missing = list(dict.fromkeys(i for c in conditions for i in c["missing"]))
    return {"rule": rule.name, "kind": rule.kind, "zh": rule.zh, "en": rule.en, "met": met,
            "outcome": outcome, "missing": missing, "conditions": conditions}


def grade(rulebook: Rulebook, inputs: pd.DataFrame) -> pd.DataFrame:
    """Grade every enterprise (one row each, keyed by ``enterprise_id``) by ``rulebook``.

    Returns one row per enterprise, in input order, with the columns ``enterprise_id``,
    ``grade`` (a grade name or None), ``status`` ("graded" | "not graded"), ``reason``,
    ``reason_zh``, ``explanation`` and ``rulebook_version``. ``explanation`` is a list with one
    dict per rule evaluated, in order: ``rule``, ``kind`` (exclusion | grade), ``zh``, ``en``,
    ``met`` (True / False / None = not assessed), ``outcome`` (applies / does not apply / met /
    missed / not assessed), ``missing`` (inputs lacking) and ``conditions``: per condition
    ``input``, ``op``, ``ref``, ``offset``, ``value``, ``threshold``, ``met``, ``margin``
    (value − threshold, signed; None for booleans and missing values), ``missing``, ``zh``,
    ``en``. Bad input data raises :class:`~ncsi.errors.DataError` naming row and column.
    """
    ids, rows = _prepare(rulebook, inputs)
    records = []
    for eid, values in zip(ids, rows):
        g, status, reason, reason_zh, expl = _decide(rulebook, values)
        records.append({"enterprise_id": eid, "grade": g, "status": status, "reason": reason,
                        "reason_zh": reason_zh, "explanation": expl,
                        "rulebook_version": rulebook.version})
    out = pd.DataFrame(records, columns=OUTPUT_COLUMNS, dtype=object)
    out[ID_COLUMN] = pd.Series(ids, dtype=inputs[ID_COLUMN].dtype)  # the ids as given
    return out


def _decide(rb: Rulebook, values: Mapping[str, Any]):
    labels = rb.inputs
    expl = [_evaluate_rule(rule, values, labels) for rule in rb.exclusions]
    applied = [e for e in expl if e["met"] is True]
    if applied:
        return (None, "not graded",
                "not graded: " + "; ".join(e["en"] for e in applied),
                "不予评级：" + "；".join(e["zh"] for e in applied), expl)
    unchecked = [e for e in expl if e["met"] is None]
    if unchecked:
        miss = list(dict.fromkeys(i for e in unchecked for i in e["missing"]))
        en = (f"not graded: missing {', '.join(miss)} (cannot check: "
              f"{'; '.join(e['en'] for e in unchecked)})")
        zh = (f"不予评级：缺少{'、'.join(labels[i].zh for i in miss)}（无法核查："
              f"{'；'.join(e['zh'] for e in unchecked)}）")
        return None, "not graded", en, zh, expl
    above_en: list[str] = []
    above_zh: list[str] = []
    for rule in rb.grades:
        e = _evaluate_rule(rule, values, labels)
        expl.append(e)
        if e["met"]:
            n = len(e["conditions"])
            en = f"{rule.name}: all {n} conditions met" if n > 1 else f"{rule.name}: condition met"
            zh = f"{rule.name}：{n} 项条件全部满足" if n > 1 else f"{rule.name}：条件满足"
            return (rule.name, "graded", "; ".join([en, *above_en]),
                    "；".join([zh, *above_zh]), expl)
        en, zh = _shortfall(e, labels)
        above_en.append(en)
        above_zh.append(zh)
    lowest = expl[-1]
    if lowest["met"] is None:
        miss = lowest["missing"]
        en = f"not graded: missing {', '.join(miss)} (needed for {lowest['rule']})"
        zh = f"不予评级：缺少{'、'.join(labels[i].zh for i in miss)}（评定 {lowest['rule']} 所需）"
        return None, "not graded", en, zh, expl
    en, zh = _shortfall(lowest, labels, named=False)
    return (None, "not graded", f"not graded: below {lowest['rule']} — {en}",
            f"不予评级：未达 {lowest['rule']} 级——{zh}", expl)


def _shortfall(e: dict[str, Any], labels: Mapping[str, InputDef],
               named: bool = True) -> tuple[str, str]:
    """One clause saying why a grade was not given: its failed conditions, or what it lacked."""
    if e["met"] is None:
        miss = e["missing"]
        return (f"{e['rule']} not assessed: missing {', '.join(miss)}",
                f"无法评定 {e['rule']}：缺少{'、'.join(labels[i].zh for i in miss)}")
    failed = [c for c in e["conditions"] if c["met"] is False]
    en = "; ".join(_condition_text(c, "en") for c in failed)
    zh = "；".join(_condition_text(c, "zh") for c in failed)
    if e["missing"]:
        en += f" (also missing {', '.join(e['missing'])})"
        zh += f"（另缺{'、'.join(labels[i].zh for i in e['missing'])}）"
    if not named:
        return en, zh
    return f"{e['rule']} missed: {en}", f"未达 {e['rule']}：{zh}"


# ------------------------------------------------------------------------------------------------
# explanations
# ------------------------------------------------------------------------------------------------

def _fmt(v: Any, lang: str = "en") -> str:
    if v is None:
        return "—"
    if isinstance(v, (bool, np.bool_)):
        if lang == "zh":
            return "是" if v else "否"
        return "true" if v else "false"
    f = float(v)
    if f == int(f) and abs(f) < 1e15:
        return str(int(f))
    return repr(f)


def _margin(m: Any) -> str:
    if m is None:
        return ""
    if m == 0:
        return "±0"
    return f"+{_fmt(m)}" if m > 0 else f"−{_fmt(-m)}"


def _condition_text(c: Mapping[str, Any], lang: str) -> str:
    """``maturity total 702 ≥ 650 ✓ (+52)`` — one evaluated condition, in ``lang``."""
    label = c.get(f"input_{lang}", c["input"])
    ref = c.get(f"ref_{lang}", c["ref"])
    sym = _SYMBOL[c["op"]]
    if c["missing"]:
        names = [label if i == c["input"] else ref for i in c["missing"]]
        return (f"{label} {sym} …: ? 缺少{'、'.join(names)}" if lang == "zh"
                else f"{label} {sym} …: ? missing {', '.join(names)}")
    threshold = _fmt(c["threshold"], lang)
    if c["ref"] is not None:
        inner = f"{ref} {_fmt(c.get('ref_value'))}" + (
            f" + {_fmt(c['offset'])}" if c["offset"] else "")
        threshold = f"{threshold} ({inner})" if lang == "en" else f"{threshold}（{inner}）"
    mark = "✓" if c["met"] else "✗"
    margin = _margin(c["margin"])
    if margin:
        margin = f" ({margin})" if lang == "en" else f"（{margin}）"
    return f"{label} {_fmt(c['value'], lang)} {sym} {threshold} {mark}{margin}"


_OUTCOME_ZH = {"applies": "适用", "does not apply": "不适用", "met": "达到", "missed": "未达到",
               "not assessed": "无法评定"}


def explain(row: Mapping[str, Any] | pd.Series) -> str:
    """A readable, multi-line, bilingual explanation of one row of :func:`grade`: the decision,
    its reason, then every rule evaluated in order with each condition's value, threshold, ✓/✗
    and signed margin (``?`` for a condition that could not be assessed)."""
    if isinstance(row, pd.Series):
        row = row.to_dict()
    g = row.get("grade")
    graded = row.get("status") == "graded"
    version = row.get("rulebook_version")
    lines = [f"{row.get('enterprise_id')}: " + (f"grade {g} / 评级 {g}" if graded
                                                else "not graded / 不予评级")
             + (f" (rulebook v{version} / 规则第 {version} 版)" if version else ""),
             f"  reason: {row.get('reason')}",
             f"  理由：{row.get('reason_zh')}"]
    for e in row.get("explanation") or []:
        kind_en, kind_zh = (("exclusion", "排除规则") if e["kind"] == "exclusion"
                            else ("grade", "等级"))
        lines.append(f"  [{kind_en} / {kind_zh}] {e['rule']} ({e['en']} / {e['zh']}): "
                     f"{e['outcome']} / {_OUTCOME_ZH[e['outcome']]}")
        for c in e["conditions"]:
            lines.append(f"    - {c['en']}: {_condition_text(c, 'en')}")
            lines.append(f"      {c['zh']}：{_condition_text(c, 'zh')}")
    return "\n".join(lines)
