"""The quality-management maturity instrument as data (methodology §7).

- :func:`load_maturity_questionnaire` → :class:`MaturityQuestionnaire`
  (``surveys/maturity/questionnaire.yaml``: the seven GB/T 19580 categories with their points and
  items, the rating levels 1–5, missing codes, respondent columns, regions, size classes and
  manufacturing industries)
- :func:`load_level_cutoffs` → (version, [:class:`Cutoff`, ...]) (``surveys/maturity/levels.yaml``:
  where each maturity level starts on the 0–100 index)

Both files are validated on load like the satisfaction instruments (:mod:`ncsi.instruments`): every
problem is an :class:`~ncsi.errors.InstrumentError` naming the file and the key
(``categories[2].items[0].zh``) — in English and Chinese.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from . import config
from .errors import DataError, InstrumentError
from .instruments import _CODE, _display, _join, _read_yaml, _Reader

__all__ = [
    "TOTAL_POINTS",
    "LEVELS",
    "CORE_COLUMNS",
    "Label",
    "ManufacturingIndustry",
    "Level",
    "MaturityItem",
    "Category",
    "MaturityColumn",
    "MaturityQuestionnaire",
    "Cutoff",
    "maturity_dir",
    "load_maturity_questionnaire",
    "load_level_cutoffs",
]

#: The points of all categories together (methodology §7).
TOTAL_POINTS = 1000
#: The rating levels of every item, lowest first.
LEVELS = (1, 2, 3, 4, 5)
#: The respondent columns every maturity questionnaire declares.
CORE_COLUMNS = ("enterprise_id", "region", "size", "industry", "weight")
_COLUMN_TYPES = ("string", "category", "number")
_VALUE_LISTS = ("regions", "sizes", "industries")
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def maturity_dir() -> Path:
    """``surveys/maturity/`` of the configured project folder."""
    return config.surveys_dir() / "maturity"


# ------------------------------------------------------------------------------------------------
# the questionnaire
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Label:
    """A coded value with its Chinese and English names (a region, a size class)."""

    code: str
    zh: str
    en: str


@dataclass(frozen=True)
class ManufacturingIndustry:
    code: str
    zh: str
    en: str
    gb4754: str = ""          # the GB/T 4754-2017 divisions it covers (documentation)


@dataclass(frozen=True)
class Level:
    """A rating level of the items: name and description in both languages."""

    level: int
    zh: str
    en: str
    description_zh: str
    description_en: str


@dataclass(frozen=True)
class MaturityItem:
    code: str
    category: str             # the category code
    zh: str
    en: str


@dataclass(frozen=True)
class Category:
    code: str
    zh: str
    en: str
    points: int
    items: tuple[MaturityItem, ...]

    @property
    def item_codes(self) -> tuple[str, ...]:
        return tuple(i.code for i in self.items)


@dataclass(frozen=True)
class MaturityColumn:
    """A respondent column. ``values``: for a category column, the list its codes come from
    (``regions``, ``sizes`` or ``industries``)."""

    name: str
    type: str
    zh: str
    en: str
    values: str | None = None


@dataclass(frozen=True)
class MaturityQuestionnaire:
    """The maturity instrument (``surveys/maturity/questionnaire.yaml``)."""

    id: str
    version: str
    title_zh: str
    title_en: str
    categories: tuple[Category, ...]
    items: tuple[MaturityItem, ...]
    levels: tuple[Level, ...]
    columns: tuple[MaturityColumn, ...]
    regions: tuple[Label, ...]
    sizes: tuple[Label, ...]
    industries: tuple[ManufacturingIndustry, ...]
    missing_codes: dict[int, dict[str, str]] = field(hash=False)
    sha256: str
    path: str                 # absolute path of the YAML file

    # -- names -----------------------------------------------------------------------------
    @property
    def item_codes(self) -> tuple[str, ...]:
        return tuple(i.code for i in self.items)

    @property
    def category_codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.categories)

    @property
    def points(self) -> dict[str, int]:
        """Category code → points."""
        return {c.code: c.points for c in self.categories}

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def region_codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.regions)

    @property
    def size_codes(self) -> tuple[str, ...]:
        return tuple(s.code for s in self.sizes)

    @property
    def industry_codes(self) -> tuple[str, ...]:
        return tuple(i.code for i in self.industries)

    def values_of(self, name: str) -> tuple[str, ...]:
        """The codes of a value list: ``regions``, ``sizes`` or ``industries``."""
        return {"regions": self.region_codes, "sizes": self.size_codes,
                "industries": self.industry_codes}[name]

    def _unknown(self, what: str, what_zh: str, code: str, known: tuple[str, ...]):
        shown = _display(Path(self.path))
        return InstrumentError(
            f"{shown}: questionnaire {self.id} has no {what} '{code}'; known: {', '.join(known)}",
            message_zh=f"{shown}：问卷 {self.id} 没有{what_zh}“{code}”；已有：{'、'.join(known)}")

    def category(self, code: str) -> Category:
        for c in self.categories:
            if c.code == code:
                return c
        raise self._unknown("category", "类目", code, self.category_codes)

    def item(self, code: str) -> MaturityItem:
        for i in self.items:
            if i.code == code:
                return i
        raise self._unknown("item", "题目", code, self.item_codes)

    def category_of(self, item: str) -> str:
        """The code of the category item ``item`` belongs to (``LEAD1`` → ``leadership``)."""
        return self.item(item).category

    def items_of(self, category: str) -> tuple[str, ...]:
        """The item codes of a category."""
        return self.category(category).item_codes

    def level(self, level: int) -> Level:
        for lv in self.levels:
            if lv.level == level:
                return lv
        raise self._unknown("level", "等级", str(level), tuple(str(x.level) for x in self.levels))

    # -- data ----------------------------------------------------------------------------------
    def clean(self, df: pd.DataFrame) -> pd.DataFrame:
        """A copy of ``df`` with every item column as float, declared missing codes → NaN.

        Refused (:class:`~ncsi.errors.DataError` naming the column and the row, counted as in a
        spreadsheet: header = row 1, first data row = row 2): a missing item column, an item value
        that is not a number or not one of the levels 1–5 (after the missing codes), and — for the
        respondent columns present in ``df`` — a region, size or industry code not in the
        questionnaire or a weight that is not a positive number. Empty cells stay missing.
        """
        absent = [c for c in self.item_codes if c not in df.columns]
        if absent:
            raise DataError(
                f"item column(s) {', '.join(absent)} are missing; questionnaire {self.id} "
                f"{self.version} has the items {', '.join(self.item_codes)}", column=absent[0],
                message_zh=f"缺少题目列 {'、'.join(absent)}；问卷 {self.id} {self.version} "
                           f"的题目为 {'、'.join(self.item_codes)}")
        out = df.copy()
        codes = list(self.missing_codes)
        allowed = ", ".join(str(v) for v in LEVELS)
        for code in self.item_codes:
            raw = out[code]
            num = pd.to_numeric(raw, errors="coerce").astype(float)
            bad = num.isna().to_numpy() & raw.notna().to_numpy()
            if isinstance(raw.dtype, pd.StringDtype) or raw.dtype == object:
                bad &= raw.astype(str).str.strip().ne("").to_numpy()
            if bad.any():
                pos = int(np.flatnonzero(bad)[0])
                raise DataError(f"{raw.iloc[pos]!r} is not a maturity level; use "
                                f"{allowed} or a missing code ({_codes(codes)})",
                                row=pos + 2, column=code,
                                message_zh=f"第 {pos + 2} 行，列“{code}”：{raw.iloc[pos]!r} "
                                           f"不是成熟度等级；请填写 {allowed} 或缺失代码"
                                           f"（{_codes(codes)}）")
            vals = num.mask(num.isin(codes), np.nan)
            v = vals.to_numpy()
            wrong = ~np.isnan(v) & ~np.isin(v, LEVELS)
            if wrong.any():
                pos = int(np.flatnonzero(wrong)[0])
                shown = f"{v[pos]:g}"
                raise DataError(f"{shown} is not a maturity level; use {allowed} or a missing "
                                f"code ({_codes(codes)})", row=pos + 2, column=code,
                                message_zh=f"第 {pos + 2} 行，列“{code}”：{shown} 不是成熟度等级；"
                                           f"请填写 {allowed} 或缺失代码（{_codes(codes)}）")
            out[code] = vals
        for col in self.columns:
            if col.name not in out.columns:
                continue
            if col.type == "category" and col.values:
                known = self.values_of(col.values)
                s = out[col.name]
                wrong = ~s.astype(str).isin(known).to_numpy() | s.isna().to_numpy()
                if wrong.any():
                    pos = int(np.flatnonzero(wrong)[0])
                    raise DataError(f"{s.iloc[pos]!r} is not a {col.name} code; use one of "
                                    f"{', '.join(known)}", row=pos + 2, column=col.name,
                                    message_zh=f"第 {pos + 2} 行，列“{col.name}”：{s.iloc[pos]!r} "
                                               f"不是有效代码；可用：{'、'.join(known)}")
            elif col.name == "weight":
                w = pd.to_numeric(out[col.name], errors="coerce").astype(float)
                wrong = ~(w.to_numpy() > 0) | ~np.isfinite(w.to_numpy())
                if wrong.any():
                    pos = int(np.flatnonzero(wrong)[0])
                    raise DataError(f"the weight {out[col.name].iloc[pos]!r} is not a positive "
                                    f"number", row=pos + 2, column=col.name,
                                    message_zh=f"第 {pos + 2} 行，列“weight”：权重 "
                                               f"{out[col.name].iloc[pos]!r} 不是正数")
                out[col.name] = w
        return out

    def to_dict(self) -> dict:
        return {
            "id": self.id, "version": self.version,
            "title": {"zh": self.title_zh, "en": self.title_en},
            "levels": {lv.level: {"zh": lv.zh, "en": lv.en,
                                  "description": {"zh": lv.description_zh,
                                                  "en": lv.description_en}}
                       for lv in self.levels},
            "missing_codes": {int(k): dict(v) for k, v in self.missing_codes.items()},
            "categories": [{"code": c.code, "zh": c.zh, "en": c.en, "points": c.points,
                            "items": [{"code": i.code, "zh": i.zh, "en": i.en} for i in c.items]}
                           for c in self.categories],
            "regions": [vars(r) for r in self.regions],
            "sizes": [vars(s) for s in self.sizes],
            "industries": [vars(i) for i in self.industries],
            "sha256": self.sha256,
        }


def _codes(codes: list[int]) -> str:
    return ", ".join(str(c) for c in codes) or "none"


_Q_KEYS = ("id", "version", "title", "levels", "missing_codes", "columns", "regions", "sizes",
           "industries", "categories")


def load_maturity_questionnaire(path: str | Path | None = None) -> MaturityQuestionnaire:
    """Read and validate the maturity questionnaire (default
    ``surveys/maturity/questionnaire.yaml``)."""
    p = Path(path) if path is not None else maturity_dir() / "questionnaire.yaml"
    data, text = _read_yaml(p, "成熟度问卷")
    r = _Reader(_display(p))
    top = r.mapping(data, "", allowed=_Q_KEYS + ("notes",), required=_Q_KEYS)

    qid = r.text(top["id"], "id")
    if not _ID.match(qid):
        raise r.fail("id", f"'{qid}' is not a valid id (lower-case letters, digits, '-', '_')",
                     f"“{qid}”不是有效编号（小写字母、数字、“-”“_”）")
    version = r.text(top["version"], "version")
    title_zh, title_en = r.bilingual(top["title"], "title")
    levels = _levels(r, top["levels"])

    missing: dict[int, dict[str, str]] = {}
    for k, v in r.mapping(top["missing_codes"], "missing_codes").items():
        key = f"missing_codes.{k}"
        code = r.integer(k, key)
        if code in LEVELS:
            raise r.fail(key, f"missing code {code} is one of the levels 1–5; use a code outside "
                              f"them (e.g. 9)",
                         f"缺失值代码 {code} 与 1–5 级成熟度重合；请使用其他代码（如 9）")
        zh, en = r.bilingual(v, key)
        missing[code] = {"zh": zh, "en": en}

    regions = tuple(Label(*x) for x in _labels(r, top["regions"], "regions"))
    sizes = tuple(Label(*x) for x in _labels(r, top["sizes"], "sizes"))
    industries = tuple(ManufacturingIndustry(*x)
                       for x in _labels(r, top["industries"], "industries", extra=("gb4754",)))
    columns = _columns(r, top["columns"])
    categories = _categories(r, top["categories"], {c.name for c in columns})
    items = tuple(i for c in categories for i in c.items)
    return MaturityQuestionnaire(
        id=qid, version=version, title_zh=title_zh, title_en=title_en, categories=categories,
        items=items, levels=levels, columns=columns, regions=regions, sizes=sizes,
        industries=industries, missing_codes=missing,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(), path=str(p.resolve()))


def _levels(r: _Reader, raw: Any) -> tuple[Level, ...]:
    m = r.mapping(raw, "levels")
    out: list[Level] = []
    for k, v in m.items():
        key = f"levels.{k}"
        lv = r.integer(k, key)
        if lv not in LEVELS:
            raise r.fail(key, f"level {lv} is not one of {', '.join(map(str, LEVELS))}",
                         f"等级 {lv} 不在 {'、'.join(map(str, LEVELS))} 之中")
        e = r.mapping(v, key, allowed=("zh", "en", "description"),
                      required=("zh", "en", "description"))
        dzh, den = r.bilingual(e["description"], f"{key}.description")
        out.append(Level(lv, r.text(e["zh"], f"{key}.zh"), r.text(e["en"], f"{key}.en"), dzh, den))
    have = [x.level for x in out]
    absent = [str(x) for x in LEVELS if x not in have]
    if absent:
        raise r.fail("levels", f"describe every level 1–5; missing: {', '.join(absent)}",
                     f"须描述全部 1–5 级；缺少：{'、'.join(absent)}")
    return tuple(sorted(out, key=lambda x: x.level))


def _labels(r: _Reader, raw: Any, key: str, extra: tuple[str, ...] = ()) -> list[tuple]:
    out: list[tuple] = []
    seen: dict[str, str] = {}
    for k, e in enumerate(r.seq(raw, key)):
        ekey = f"{key}[{k}]"
        m = r.mapping(e, ekey, allowed=("code", "zh", "en") + extra, required=("code", "zh", "en"))
        code = r.text(m["code"], f"{ekey}.code")
        if not _CODE.match(code):
            raise r.fail(f"{ekey}.code", f"'{code}' is not a valid code (letters, digits, '_')",
                         f"“{code}”不是有效代码（字母、数字、下划线）")
        if code in seen:
            raise r.fail(f"{ekey}.code", f"'{code}' is listed twice ({seen[code]})",
                         f"“{code}”重复（{seen[code]}）")
        seen[code] = ekey
        row = [code, r.text(m["zh"], f"{ekey}.zh"), r.text(m["en"], f"{ekey}.en")]
        row += [r.text(m[x], f"{ekey}.{x}") if x in m else "" for x in extra]
        out.append(tuple(row))
    return out


def _columns(r: _Reader, raw: Any) -> tuple[MaturityColumn, ...]:
    out: list[MaturityColumn] = []
    seen: dict[str, str] = {}
    for k, c in enumerate(r.seq(raw, "columns")):
        key = f"columns[{k}]"
        m = r.mapping(c, key, allowed=("name", "type", "values", "zh", "en"),
                      required=("name", "type", "zh", "en"))
        name = r.text(m["name"], f"{key}.name")
        if not _CODE.match(name):
            raise r.fail(f"{key}.name", f"'{name}' is not a valid column name (letters, digits, "
                                        f"'_')", f"“{name}”不是有效列名（字母、数字、下划线）")
        if name in seen:
            raise r.fail(f"{key}.name", f"column '{name}' is declared twice ({seen[name]})",
                         f"列“{name}”重复声明（{seen[name]}）")
        seen[name] = key
        ctype = r.text(m["type"], f"{key}.type")
        if ctype not in _COLUMN_TYPES:
            raise r.fail(f"{key}.type", f"'{ctype}' is not a column type; use one of "
                                        f"{', '.join(_COLUMN_TYPES)}",
                         f"“{ctype}”不是有效类型；可用：{'、'.join(_COLUMN_TYPES)}")
        values = None
        if ctype == "category":
            if "values" not in m:
                raise r.fail(f"{key}.values", f"is missing; a category column names its list "
                                              f"({', '.join(_VALUE_LISTS)})",
                             f"缺失；category 类型的列须指明取值列表（{'、'.join(_VALUE_LISTS)}）")
            values = r.text(m["values"], f"{key}.values")
            if values not in _VALUE_LISTS:
                raise r.fail(f"{key}.values", f"'{values}' is not a value list; use one of "
                                              f"{', '.join(_VALUE_LISTS)}",
                             f"“{values}”不是取值列表；可用：{'、'.join(_VALUE_LISTS)}")
        elif "values" in m:
            raise r.fail(f"{key}.values", "only category columns take 'values'",
                         "只有 category 类型的列可以设置“values”")
        out.append(MaturityColumn(name, ctype, r.text(m["zh"], f"{key}.zh"),
                                  r.text(m["en"], f"{key}.en"), values))
    names = [c.name for c in out]
    for core in CORE_COLUMNS:
        if core not in names:
            raise r.fail("columns", f"the respondent column '{core}' is not declared; every "
                                    f"maturity questionnaire declares {', '.join(CORE_COLUMNS)}",
                         f"未声明受访者列“{core}”；成熟度问卷须声明 {'、'.join(CORE_COLUMNS)}")
    return tuple(out)


def _categories(r: _Reader, raw: Any, column_names: set[str]) -> tuple[Category, ...]:
    out: list[Category] = []
    seen: dict[str, str] = {}
    seen_item: dict[str, str] = {}
    for k, c in enumerate(r.seq(raw, "categories")):
        key = f"categories[{k}]"
        m = r.mapping(c, key, allowed=("code", "zh", "en", "points", "items"),
                      required=("code", "zh", "en", "points", "items"))
        code = r.text(m["code"], f"{key}.code")
        if not _CODE.match(code):
            raise r.fail(f"{key}.code", f"'{code}' is not a valid code (letters, digits, '_')",
                         f"“{code}”不是有效代码（字母、数字、下划线）")
        if code in seen:
            raise r.fail(f"{key}.code", f"category '{code}' is listed twice ({seen[code]})",
                         f"类目“{code}”重复（{seen[code]}）")
        seen[code] = key
        points = r.integer(m["points"], f"{key}.points")
        if points <= 0:
            raise r.fail(f"{key}.points", f"{points} must be a positive number of points",
                         f"{points} 须为正的分值")
        items: list[MaturityItem] = []
        for j, it in enumerate(r.seq(m["items"], f"{key}.items")):
            ikey = f"{key}.items[{j}]"
            im = r.mapping(it, ikey, allowed=("code", "zh", "en"), required=("code", "zh", "en"))
            icode = r.text(im["code"], f"{ikey}.code")
            if not _CODE.match(icode):
                raise r.fail(f"{ikey}.code", f"'{icode}' is not a valid item code (letters, "
                                             f"digits, '_')",
                             f"“{icode}”不是有效题目代码（字母、数字、下划线）")
            if icode in seen_item:
                raise r.fail(f"{ikey}.code", f"item '{icode}' is listed twice ({seen_item[icode]})",
                             f"题目“{icode}”重复（{seen_item[icode]}）")
            if icode in column_names:
                raise r.fail(f"{ikey}.code", f"item code '{icode}' clashes with a column name",
                             f"题目代码“{icode}”与列名冲突")
            seen_item[icode] = ikey
            items.append(MaturityItem(icode, code, r.text(im["zh"], f"{ikey}.zh"),
                                      r.text(im["en"], f"{ikey}.en")))
        out.append(Category(code, r.text(m["zh"], f"{key}.zh"), r.text(m["en"], f"{key}.en"),
                            points, tuple(items)))
    total = sum(c.points for c in out)
    if total != TOTAL_POINTS:
        detail = " + ".join(f"{c.code} {c.points}" for c in out)
        raise r.fail("categories", f"the points sum to {total} ({detail}), not {TOTAL_POINTS}; "
                                   f"fix the categories' 'points'",
                     f"各类目分值合计为 {total}（{detail}），而不是 {TOTAL_POINTS}；请修改“points”")
    return tuple(out)


# ------------------------------------------------------------------------------------------------
# level cut-offs
# ------------------------------------------------------------------------------------------------

class Cutoff(NamedTuple):
    """A maturity level starts at ``min`` (inclusive) on the 0–100 index."""

    min: float
    level: int
    zh: str
    en: str


def load_level_cutoffs(path: str | Path | None = None) -> tuple[str, list[Cutoff]]:
    """Read and validate ``surveys/maturity/levels.yaml`` (or ``path``) → (version, cut-offs).

    The cut-offs come lowest first: levels 1–5 in order, the first starting at 0, each ``min``
    above the previous one and below 100.
    """
    p = Path(path) if path is not None else maturity_dir() / "levels.yaml"
    data, _ = _read_yaml(p, "成熟度等级")
    r = _Reader(_display(p))
    top = r.mapping(data, "", allowed=("version", "cutoffs", "notes"),
                    required=("version", "cutoffs"))
    version = r.text(top["version"], "version")
    out: list[Cutoff] = []
    for k, raw in enumerate(r.seq(top["cutoffs"], "cutoffs")):
        key = f"cutoffs[{k}]"
        m = r.mapping(raw, key, allowed=("min", "level", "zh", "en"),
                      required=("min", "level", "zh", "en"))
        lo = r.number(m["min"], _join(key, "min"))
        lv = r.integer(m["level"], _join(key, "level"))
        expected = k + 1
        if lv != expected:
            raise r.fail(_join(key, "level"), f"is {lv}; list the levels 1–5 in order, so entry "
                                              f"{k + 1} is level {expected}",
                         f"为 {lv}；请按 1–5 级顺序列出，第 {k + 1} 项应为 {expected} 级")
        if k == 0 and lo != 0:
            raise r.fail(_join(key, "min"), f"the lowest level starts at {lo:g}; it must start "
                                            f"at 0 so every index has a level",
                         f"最低等级从 {lo:g} 开始；必须从 0 开始，使每个指数都有等级")
        if out and lo <= out[-1].min:
            raise r.fail(_join(key, "min"), f"{lo:g} is not above the previous cut-off "
                                            f"{out[-1].min:g}; the cut-offs must ascend",
                         f"{lo:g} 不大于上一个分界值 {out[-1].min:g}；分界值须递增")
        if lo >= 100:
            raise r.fail(_join(key, "min"), f"{lo:g} is not below 100 (the top of the index)",
                         f"{lo:g} 不小于 100（指数上限）")
        out.append(Cutoff(lo, lv, r.text(m["zh"], _join(key, "zh")),
                          r.text(m["en"], _join(key, "en"))))
    if len(out) != len(LEVELS):
        raise r.fail("cutoffs", f"lists {len(out)} levels; list the levels 1–5, one entry each",
                     f"列出了 {len(out)} 个等级；请列出 1–5 级，每级一项")
    return version, out
