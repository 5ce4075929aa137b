"""Survey instruments as data: taxonomy, questionnaires, consumption weights, index settings.

Everything here is read from ``surveys/`` (see :mod:`ncsi.config`) and validated on load. Every
problem is an :class:`~ncsi.errors.InstrumentError` naming the file, the key (``items[3].zh``) and,
for YAML syntax errors, the line — in English and Chinese.

- :func:`load_taxonomy` → :class:`Taxonomy` (sectors → industries)
- :func:`load_questionnaire` / :func:`load_questionnaire_file` → :class:`Questionnaire`
- :func:`list_questionnaires` → every :class:`Questionnaire` (:func:`questionnaire_ids`: their ids)
- :func:`load_consumption_weights` → (sector weights, version, source) for one year
- :func:`load_index_config` → the validated contents of ``surveys/index.yaml`` as a plain dict
"""

from __future__ import annotations

import copy
import hashlib
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
import yaml

from . import config
from .errors import DataError, InstrumentError, SpecError
from .spec import ModelSpec, load_model

#: The respondent columns every questionnaire must declare (as ``required: true``).
CORE_COLUMNS = ("respondent_id", "industry", "brand", "region", "gender", "age", "weight",
                "duration_sec")
#: Column names the ingest step adds itself; a questionnaire may not declare them.
RESERVED_COLUMNS = ("status",)
COLUMN_TYPES = ("string", "integer", "number", "category")

_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_SURVEY_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


# ------------------------------------------------------------------------------------------------
# YAML reading with file/key/line in every error
# ------------------------------------------------------------------------------------------------

def _display(path: Path) -> str:
    """A path as users see it: relative to the project folder when it is inside it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(config.home()))
    except (ValueError, OSError):
        return str(p)


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """A safe loader (libyaml's C parser when PyYAML has it) that refuses a key given twice in
    one mapping (PyYAML keeps the last)."""


def _mapping_without_duplicates(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep=False):
    loader.flatten_mapping(node)
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            first = seen.get(key)
        except TypeError:  # unhashable key: let the normal constructor report it
            continue
        if first is not None:
            raise yaml.constructor.ConstructorError(
                None, None, f"key '{key}' is given twice (first on line {first}); keep one",
                key_node.start_mark)
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                 _mapping_without_duplicates)


#: parsed configuration files by (path, modification time, size): the yearly release reads the
#: same questionnaires and taxonomy for every industry; an edited file is parsed again
_PARSED: dict[tuple[str, int, int], tuple[Any, str]] = {}


def _read_yaml(path: Path, what_zh: str) -> tuple[Any, str]:
    """Parse a YAML file → (data, text) — a fresh copy of the data on every call. Errors name
    the file and the line."""
    try:
        st = os.stat(path)
        key = (str(Path(path).resolve()), st.st_mtime_ns, st.st_size)
    except OSError:
        key = None
    if key is not None and key in _PARSED:
        data, text = _PARSED[key]
        return copy.deepcopy(data), text
    data, text = _parse_yaml(path, what_zh)
    if key is not None:
        if len(_PARSED) > 256:
            _PARSED.clear()
        _PARSED[key] = (copy.deepcopy(data), text)
    return data, text


def _parse_yaml(path: Path, what_zh: str) -> tuple[Any, str]:
    shown = _display(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InstrumentError(f"{shown}: file not found; check the path",
                              message_zh=f"{shown}：找不到{what_zh}文件，请检查路径") from None
    except UnicodeDecodeError:
        raise InstrumentError(f"{shown}: not UTF-8 text; save the file as UTF-8",
                              message_zh=f"{shown}：文件不是 UTF-8 编码，请另存为 UTF-8") from None
    except OSError as exc:
        raise InstrumentError(f"{shown}: cannot be read ({exc.strerror})",
                              message_zh=f"{shown}：无法读取（{exc.strerror}）") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 — a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f", line {mark.line + 1}" if mark is not None else ""
        line_zh = f"第 {mark.line + 1} 行" if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise InstrumentError(f"{shown}{line}: invalid YAML: {problem}; fix the syntax",
                              message_zh=f"{shown}{line_zh}：YAML 语法错误：{problem}") from None
    except yaml.YAMLError as exc:
        raise InstrumentError(f"{shown}: invalid YAML: {exc}",
                              message_zh=f"{shown}：YAML 语法错误：{exc}") from None
    return data, text


class _Reader:
    """Typed access to parsed YAML; every failure names the file and the key path."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, message: str, message_zh: str) -> InstrumentError:
        where = f"{self.source}: key '{key}'" if key else self.source
        where_zh = f"{self.source}：键“{key}”" if key else self.source
        return InstrumentError(f"{where}: {message}", message_zh=f"{where_zh}：{message_zh}")

    def mapping(self, value: Any, key: str, *, allowed: Iterable[str] | None = None,
                required: Iterable[str] = ()) -> dict:
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a mapping (key: value pairs), got {_kind(value)}",
                            f"应为映射（键: 值），实际为 {_kind(value)}")
        if allowed is not None:
            allowed = list(allowed)
            for k in value:
                if k not in allowed:
                    raise self.fail(_join(key, str(k)),
                                    f"unknown key; expected one of: {', '.join(allowed)}",
                                    f"未知的键；允许的键为：{'、'.join(allowed)}")
        missing = [k for k in required if k not in value]
        if missing:
            sub = _join(key, missing[0])
            raise self.fail(sub, f"is missing; add '{missing[0]}:'"
                            + (f" (also missing: {', '.join(missing[1:])})" if missing[1:] else ""),
                            f"缺失，请添加“{missing[0]}:”"
                            + (f"（另缺：{'、'.join(missing[1:])}）" if missing[1:] else ""))
        return value

    def seq(self, value: Any, key: str, *, nonempty: bool = True) -> list:
        if not isinstance(value, list):
            raise self.fail(key, f"must be a list, got {_kind(value)}",
                            f"应为列表，实际为 {_kind(value)}")
        if nonempty and not value:
            raise self.fail(key, "is an empty list; list at least one entry",
                            "为空列表，至少列出一项")
        return value

    def text(self, value: Any, key: str) -> str:
        if isinstance(value, bool) or not isinstance(value, str) or not value.strip():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                raise self.fail(key, f"must be text, got the number {value!r}; quote it "
                                     f"(e.g. \"{value}\")",
                                f"应为文本，实际为数字 {value!r}；请加引号（如 \"{value}\"）")
            raise self.fail(key, f"must be non-empty text, got {_kind(value)}",
                            f"应为非空文本，实际为 {_kind(value)}")
        return value.strip()

    def bilingual(self, value: Any, key: str) -> tuple[str, str]:
        m = self.mapping(value, key, allowed=("zh", "en"), required=("zh", "en"))
        return self.text(m["zh"], _join(key, "zh")), self.text(m["en"], _join(key, "en"))

    def integer(self, value: Any, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be a whole number, got {_kind(value)}",
                            f"应为整数，实际为 {_kind(value)}")
        return int(value)

    def number(self, value: Any, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            raise self.fail(key, f"must be a finite number, got {_kind(value)}",
                            f"应为有限数值，实际为 {_kind(value)}")
        return float(value)

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {_kind(value)}",
                            f"应为 true 或 false，实际为 {_kind(value)}")
        return value


def _join(key: str, sub: str) -> str:
    return f"{key}.{sub}" if key else sub


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (empty)"
    if isinstance(value, bool):
        return f"the boolean {value}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value!r}" if value.strip() else "empty text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _known(codes: Iterable[str]) -> str:
    return ", ".join(codes)


# ------------------------------------------------------------------------------------------------
# taxonomy
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Industry:
    code: str
    zh: str
    en: str
    sector: str


@dataclass(frozen=True)
class Sector:
    code: str
    zh: str
    en: str
    survey: str
    industries: tuple[Industry, ...]

    @property
    def industry_codes(self) -> tuple[str, ...]:
        return tuple(i.code for i in self.industries)


@dataclass(frozen=True)
class Taxonomy:
    """Sectors → industries (``surveys/taxonomy.yaml``)."""

    version: str
    sectors: tuple[Sector, ...]
    source: str = "surveys/taxonomy.yaml"

    @property
    def industries(self) -> tuple[Industry, ...]:
        return tuple(i for s in self.sectors for i in s.industries)

    @property
    def sector_codes(self) -> tuple[str, ...]:
        return tuple(s.code for s in self.sectors)

    @property
    def industry_codes(self) -> tuple[str, ...]:
        return tuple(i.code for i in self.industries)

    def has_industry(self, code: str) -> bool:
        return any(i.code == code for i in self.industries)

    def industry(self, code: str) -> Industry:
        for i in self.industries:
            if i.code == code:
                return i
        raise InstrumentError(
            f"unknown industry '{code}' (not in {self.source}); known industries: "
            f"{_known(self.industry_codes)}",
            message_zh=f"未知行业“{code}”（{self.source} 中没有）；已知行业：{_known(self.industry_codes)}")

    def sector(self, code: str) -> Sector:
        for s in self.sectors:
            if s.code == code:
                return s
        raise InstrumentError(
            f"unknown sector '{code}' (not in {self.source}); known sectors: "
            f"{_known(self.sector_codes)}",
            message_zh=f"未知领域“{code}”（{self.source} 中没有）；已知领域：{_known(self.sector_codes)}")

    def sector_of(self, industry_code: str) -> Sector:
        return self.sector(self.industry(industry_code).sector)

    def sector_for_survey(self, survey_id: str) -> Sector:
        for s in self.sectors:
            if s.survey == survey_id:
                return s
        surveys = [s.survey for s in self.sectors]
        raise InstrumentError(
            f"no sector of {self.source} is surveyed with '{survey_id}'; surveys: {_known(surveys)}",
            message_zh=f"{self.source} 中没有领域使用问卷“{survey_id}”；问卷：{_known(surveys)}")


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Read and validate ``surveys/taxonomy.yaml`` (or ``path``)."""
    p = Path(path) if path is not None else config.surveys_dir() / "taxonomy.yaml"
    data, _ = _read_yaml(p, "行业分类")
    r = _Reader(_display(p))
    top = r.mapping(data, "", allowed=("version", "sectors"), required=("version", "sectors"))
    version = r.text(top["version"], "version")
    sectors: list[Sector] = []
    seen_sector: dict[str, str] = {}
    seen_industry: dict[str, str] = {}
    seen_survey: dict[str, str] = {}
    for k, raw in enumerate(r.seq(top["sectors"], "sectors")):
        key = f"sectors[{k}]"
        s = r.mapping(raw, key, allowed=("code", "zh", "en", "survey", "industries"),
                      required=("code", "zh", "en", "survey", "industries"))
        code = r.text(s["code"], f"{key}.code")
        if not _CODE.match(code):
            raise r.fail(f"{key}.code", f"'{code}' is not a valid code (letters, digits, '_')",
                         f"“{code}”不是有效代码（字母、数字、下划线）")
        if code in seen_sector:
            raise r.fail(f"{key}.code", f"sector '{code}' is listed twice ({seen_sector[code]})",
                         f"领域“{code}”重复（{seen_sector[code]}）")
        seen_sector[code] = key
        survey = r.text(s["survey"], f"{key}.survey")
        if survey in seen_survey:
            raise r.fail(f"{key}.survey", f"survey '{survey}' is already used by "
                         f"{seen_survey[survey]}; one questionnaire per sector",
                         f"问卷“{survey}”已被 {seen_survey[survey]} 使用；每个领域一份问卷")
        seen_survey[survey] = key
        industries: list[Industry] = []
        for j, iraw in enumerate(r.seq(s["industries"], f"{key}.industries")):
            ikey = f"{key}.industries[{j}]"
            i = r.mapping(iraw, ikey, allowed=("code", "zh", "en"), required=("code", "zh", "en"))
            icode = r.text(i["code"], f"{ikey}.code")
            if not _CODE.match(icode):
                raise r.fail(f"{ikey}.code", f"'{icode}' is not a valid code (letters, digits, '_')",
                             f"“{icode}”不是有效代码（字母、数字、下划线）")
            if icode in seen_industry:
                raise r.fail(f"{ikey}.code", f"industry '{icode}' is listed twice "
                             f"({seen_industry[icode]})", f"行业“{icode}”重复（{seen_industry[icode]}）")
            seen_industry[icode] = ikey
            industries.append(Industry(icode, r.text(i["zh"], f"{ikey}.zh"),
                                       r.text(i["en"], f"{ikey}.en"), code))
        sectors.append(Sector(code, r.text(s["zh"], f"{key}.zh"), r.text(s["en"], f"{key}.en"),
                              survey, tuple(industries)))
    return Taxonomy(version, tuple(sectors), source=_display(p))


# ------------------------------------------------------------------------------------------------
# questionnaires
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Item:
    code: str
    construct: str
    zh: str
    en: str


@dataclass(frozen=True)
class Column:
    """A respondent column (not an item). ``required``: the column must be in the file;
    ``allow_empty``: a cell may be empty. ``values`` (category only): code → {zh, en}."""

    name: str
    type: str
    zh: str
    en: str
    required: bool = True
    allow_empty: bool = False
    min: float | None = None
    max: float | None = None
    min_exclusive: float | None = None
    values: dict[str, dict[str, str]] | None = field(default=None, hash=False, compare=True)


@dataclass(frozen=True)
class Screening:
    min_duration_sec: float = 0.0
    straightlining: bool = True
    straightlining_min_answered: float = 0.5


@dataclass(frozen=True)
class Questionnaire:
    """One sector's survey instrument (``surveys/questionnaires/<id>.yaml``)."""

    id: str
    version: str
    sector: str
    title_zh: str
    title_en: str
    model: str
    scale_min: int
    scale_max: int
    missing_codes: dict[int, dict[str, str]] = field(hash=False)
    columns: tuple[Column, ...]
    items: tuple[Item, ...]
    screening: Screening
    sha256: str
    path: str                     # absolute path of the YAML file
    scale_labels: dict[int, dict[str, str]] = field(default_factory=dict, hash=False)

    # -- names -----------------------------------------------------------------------------
    @property
    def item_codes(self) -> tuple[str, ...]:
        return tuple(i.code for i in self.items)

    @property
    def constructs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(i.construct for i in self.items))

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def items_of(self, construct: str) -> tuple[Item, ...]:
        out = tuple(i for i in self.items if i.construct == construct)
        if not out:
            raise InstrumentError(
                f"{_display(self.path)}: questionnaire {self.id} has no construct '{construct}'; its "
                f"constructs: {_known(self.constructs)}",
                message_zh=f"{_display(self.path)}：问卷 {self.id} 没有构念“{construct}”；已有构念："
                           f"{_known(self.constructs)}")
        return out

    def item(self, code: str) -> Item:
        for i in self.items:
            if i.code == code:
                return i
        raise InstrumentError(
            f"{_display(self.path)}: questionnaire {self.id} has no item '{code}'; its items: "
            f"{_known(self.item_codes)}",
            message_zh=f"{_display(self.path)}：问卷 {self.id} 没有题目“{code}”；题目：{_known(self.item_codes)}")

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise InstrumentError(
            f"{_display(self.path)}: questionnaire {self.id} has no column '{name}'; its columns: "
            f"{_known(self.column_names)}",
            message_zh=f"{_display(self.path)}：问卷 {self.id} 没有列“{name}”；列：{_known(self.column_names)}")

    def is_missing_code(self, value: float) -> bool:
        return value in self.missing_codes

    # -- model -------------------------------------------------------------------------------
    def model_spec(self) -> ModelSpec:
        """The questionnaire's model (``models/<model>``); every indicator must be an item here,
        measuring the same construct."""
        path = config.models_dir() / self.model
        try:
            spec = load_model(path)
        except SpecError as exc:
            raise InstrumentError(
                f"{_display(self.path)}: key 'model': {exc.message}",
                message_zh=f"{_display(self.path)}：键“model”：模型文件 {self.model} 无效"
                           + (f"（{exc.message_zh}）" if exc.message_zh else "")) from None
        by_code = {i.code: i for i in self.items}
        absent = [ind for ind in spec.indicators if ind not in by_code]
        if absent:
            raise InstrumentError(
                f"{_display(self.path)}: model {self.model} uses indicator(s) {', '.join(absent)} that are not "
                f"items of questionnaire {self.id}; add them under 'items' or fix the model file",
                message_zh=f"{_display(self.path)}：模型 {self.model} 的指标 {'、'.join(absent)} 不是问卷 "
                           f"{self.id} 的题目；请在“items”中添加或修改模型文件")
        for b in spec.blocks:
            for ind in b.indicators:
                if by_code[ind].construct != b.name:
                    raise InstrumentError(
                        f"{_display(self.path)}: item {ind} is listed under construct "
                        f"'{by_code[ind].construct}' but model {self.model} (line {b.line}) "
                        f"measures {b.name} with it; make them agree",
                        message_zh=f"{_display(self.path)}：题目 {ind} 属于构念“{by_code[ind].construct}”，"
                                   f"但模型 {self.model}（第 {b.line} 行）将其用于 {b.name}；请保持一致")
        return spec

    # -- data ----------------------------------------------------------------------------------
    def clean(self, df: pd.DataFrame) -> pd.DataFrame:
        """A copy of ``df`` with every item column as float and declared missing codes → NaN."""
        out = df.copy()
        codes = list(self.missing_codes)
        for code in self.item_codes:
            if code in out.columns:
                try:
                    col = pd.to_numeric(out[code], errors="raise").astype(float)
                except (TypeError, ValueError):
                    raise DataError(f"item column {code} holds values that are not numbers; "
                                    f"validate the data with ncsi.ingest first", column=code,
                                    message_zh=f"题目列 {code} 含非数字的值；请先用 ncsi.ingest 校验数据"
                                    ) from None
                out[code] = col.mask(col.isin(codes), np.nan)
        return out

    def to_dict(self) -> dict:
        return {"id": self.id, "version": self.version, "sector": self.sector,
                "title": {"zh": self.title_zh, "en": self.title_en}, "model": self.model,
                "scale": {"min": self.scale_min, "max": self.scale_max},
                "missing_codes": {int(k): dict(v) for k, v in self.missing_codes.items()},
                "items": [{"code": i.code, "construct": i.construct, "zh": i.zh, "en": i.en}
                          for i in self.items],
                "sha256": self.sha256}


_Q_KEYS = ("id", "version", "sector", "title", "model", "scale", "missing_codes", "columns",
           "screening", "items")
_COLUMN_KEYS = ("name", "type", "zh", "en", "required", "allow_empty", "min", "max",
                "min_exclusive", "values")


def questionnaires_dir() -> Path:
    return config.surveys_dir() / "questionnaires"


def questionnaire_ids() -> list[str]:
    """The survey ids with a questionnaire file under ``surveys/questionnaires/``, sorted."""
    d = questionnaires_dir()
    if not d.is_dir():
        return []
    return sorted(p.stem for p in d.glob("*.yaml"))


def list_questionnaires() -> list[Questionnaire]:
    """Every questionnaire under ``surveys/questionnaires/``, loaded and validated, sorted by id."""
    return [load_questionnaire(i) for i in questionnaire_ids()]


def load_questionnaire(survey_id: str) -> Questionnaire:
    """Load ``surveys/questionnaires/<survey_id>.yaml``."""
    path = questionnaires_dir() / f"{survey_id}.yaml"
    if not isinstance(survey_id, str) or not _SURVEY_ID.match(survey_id) or not path.is_file():
        available = questionnaire_ids()
        raise InstrumentError(
            f"unknown questionnaire '{survey_id}' (no {_display(path)}); available: "
            f"{_known(available) or 'none'}",
            message_zh=f"未知问卷“{survey_id}”（找不到 {_display(path)}）；可用问卷："
                       f"{_known(available) or '无'}")
    return load_questionnaire_file(path)


def load_questionnaire_file(path: str | Path) -> Questionnaire:
    """Load and validate one questionnaire file; its ``id`` must equal the file name."""
    p = Path(path)
    data, text = _read_yaml(p, "问卷")
    shown = _display(p)
    r = _Reader(shown)
    top = r.mapping(data, "", allowed=_Q_KEYS + ("notes",), required=_Q_KEYS)

    qid = r.text(top["id"], "id")
    if qid != p.stem:
        raise r.fail("id", f"'{qid}' differs from the file name '{p.stem}'; they must match",
                     f"“{qid}”与文件名“{p.stem}”不一致，二者必须相同")
    version = r.text(top["version"], "version")
    sector = r.text(top["sector"], "sector")
    taxonomy = load_taxonomy()
    if sector not in taxonomy.sector_codes:
        raise r.fail("sector", f"unknown sector '{sector}'; sectors of {taxonomy.source}: "
                               f"{_known(taxonomy.sector_codes)}",
                     f"未知领域“{sector}”；{taxonomy.source} 中的领域：{_known(taxonomy.sector_codes)}")
    expected = taxonomy.sector(sector).survey
    if expected != qid:
        raise r.fail("sector", f"{taxonomy.source} surveys sector '{sector}' with '{expected}', "
                               f"not '{qid}'; fix the sector or the taxonomy",
                     f"{taxonomy.source} 中领域“{sector}”使用问卷“{expected}”，而不是“{qid}”；"
                     f"请更正领域或行业分类")
    title_zh, title_en = r.bilingual(top["title"], "title")

    model = r.text(top["model"], "model")
    if not model.endswith(".lav") or "/" in model or "\\" in model:
        raise r.fail("model", f"'{model}' must be a file name in models/ ending in .lav",
                     f"“{model}”应为 models/ 中以 .lav 结尾的文件名")
    if not (config.models_dir() / model).is_file():
        available = sorted(m.name for m in config.models_dir().glob("*.lav"))
        raise r.fail("model", f"model file '{model}' not found in models/; available: "
                              f"{_known(available)}",
                     f"models/ 中找不到模型文件“{model}”；可用：{_known(available)}")

    scale = r.mapping(top["scale"], "scale", allowed=("min", "max", "labels"),
                      required=("min", "max"))
    smin = r.integer(scale["min"], "scale.min")
    smax = r.integer(scale["max"], "scale.max")
    if smin >= smax:
        raise r.fail("scale", f"min ({smin}) must be below max ({smax})",
                     f"最小值（{smin}）必须小于最大值（{smax}）")
    labels: dict[int, dict[str, str]] = {}
    if "labels" in scale:
        for k, v in r.mapping(scale["labels"], "scale.labels").items():
            key = f"scale.labels.{k}"
            point = r.integer(k, key)
            if not smin <= point <= smax:
                raise r.fail(key, f"{point} is outside the scale {smin}–{smax}",
                             f"{point} 超出量表范围 {smin}–{smax}")
            zh, en = r.bilingual(v, key)
            labels[point] = {"zh": zh, "en": en}

    missing: dict[int, dict[str, str]] = {}
    for k, v in r.mapping(top["missing_codes"], "missing_codes").items():
        key = f"missing_codes.{k}"
        code = r.integer(k, key)
        if smin <= code <= smax:
            raise r.fail(key, f"missing code {code} lies inside the scale {smin}–{smax}; use a "
                              f"code outside it (e.g. 98, 99)",
                         f"缺失值代码 {code} 落在量表范围 {smin}–{smax} 内；请使用范围外的代码（如 98、99）")
        zh, en = r.bilingual(v, key)
        missing[code] = {"zh": zh, "en": en}

    columns = _columns(r, top["columns"])
    screening = _screening(r, top["screening"])
    items = _items(r, top["items"], {c.name for c in columns})

    return Questionnaire(
        id=qid, version=version, sector=sector, title_zh=title_zh, title_en=title_en,
        model=model, scale_min=smin, scale_max=smax, missing_codes=missing,
        columns=columns, items=items, screening=screening,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(), path=str(p.resolve()),
        scale_labels=labels)


def _columns(r: _Reader, raw: Any) -> tuple[Column, ...]:
    out: list[Column] = []
    seen: dict[str, str] = {}
    for k, c in enumerate(r.seq(raw, "columns")):
        key = f"columns[{k}]"
        m = r.mapping(c, key, allowed=_COLUMN_KEYS, required=("name", "type", "zh", "en"))
        name = r.text(m["name"], f"{key}.name")
        if not _CODE.match(name):
            raise r.fail(f"{key}.name", f"'{name}' is not a valid column name (letters, digits, '_')",
                         f"“{name}”不是有效列名（字母、数字、下划线）")
        if name in seen:
            raise r.fail(f"{key}.name", f"column '{name}' is declared twice ({seen[name]})",
                         f"列“{name}”重复声明（{seen[name]}）")
        if name in RESERVED_COLUMNS:
            raise r.fail(f"{key}.name", f"'{name}' is reserved (ingest adds it); rename the column",
                         f"“{name}”为保留列名（导入时自动生成），请改名")
        seen[name] = key
        ctype = r.text(m["type"], f"{key}.type")
        if ctype not in COLUMN_TYPES:
            raise r.fail(f"{key}.type", f"'{ctype}' is not a column type; use one of "
                                        f"{', '.join(COLUMN_TYPES)}",
                         f"“{ctype}”不是有效类型；可用：{'、'.join(COLUMN_TYPES)}")
        required = r.boolean(m.get("required", True), f"{key}.required")
        allow_empty = r.boolean(m.get("allow_empty", False), f"{key}.allow_empty")
        bounds = {}
        for b in ("min", "max", "min_exclusive"):
            if b in m:
                if ctype not in ("integer", "number"):
                    raise r.fail(f"{key}.{b}", f"only integer and number columns take '{b}'",
                                 f"只有 integer 和 number 类型的列可以设置“{b}”")
                bounds[b] = r.number(m[b], f"{key}.{b}")
        values = None
        if ctype == "category":
            if "values" not in m:
                raise r.fail(f"{key}.values", "is missing; a category column lists its values "
                                              "(code: {zh, en})",
                             "缺失；category 类型的列须列出取值（代码: {zh, en}）")
            values = {}
            for code, labels in r.mapping(m["values"], f"{key}.values").items():
                vkey = f"{key}.values.{code}"
                zh, en = r.bilingual(labels, vkey)
                values[r.text(code, vkey)] = {"zh": zh, "en": en}
        elif "values" in m:
            raise r.fail(f"{key}.values", "only category columns take 'values'",
                         "只有 category 类型的列可以设置“values”")
        out.append(Column(name, ctype, r.text(m["zh"], f"{key}.zh"), r.text(m["en"], f"{key}.en"),
                          required, allow_empty, bounds.get("min"), bounds.get("max"),
                          bounds.get("min_exclusive"), values))
    for core in CORE_COLUMNS:
        col = next((c for c in out if c.name == core), None)
        if col is None:
            raise r.fail("columns", f"the respondent column '{core}' is not declared; every "
                                    f"questionnaire declares {', '.join(CORE_COLUMNS)}",
                         f"未声明受访者列“{core}”；每份问卷都须声明 {'、'.join(CORE_COLUMNS)}")
        if not col.required:
            raise r.fail(f"columns[{out.index(col)}].required",
                         f"the respondent column '{core}' must be required: true",
                         f"受访者列“{core}”必须为 required: true")
    return tuple(out)


def _screening(r: _Reader, raw: Any) -> Screening:
    m = r.mapping(raw, "screening",
                  allowed=("min_duration_sec", "straightlining", "straightlining_min_answered"),
                  required=("min_duration_sec", "straightlining"))
    minimum = r.number(m["min_duration_sec"], "screening.min_duration_sec")
    if minimum < 0:
        raise r.fail("screening.min_duration_sec", "must be 0 or more", "必须大于或等于 0")
    share = r.number(m.get("straightlining_min_answered", 0.5),
                     "screening.straightlining_min_answered")
    if not 0 < share <= 1:
        raise r.fail("screening.straightlining_min_answered",
                     f"{share} must be a share between 0 (exclusive) and 1",
                     f"{share} 应为 0（不含）到 1 之间的比例")
    return Screening(minimum, r.boolean(m["straightlining"], "screening.straightlining"), share)


def _items(r: _Reader, raw: Any, column_names: set[str]) -> tuple[Item, ...]:
    out: list[Item] = []
    seen: dict[str, str] = {}
    for k, it in enumerate(r.seq(raw, "items")):
        key = f"items[{k}]"
        m = r.mapping(it, key, allowed=("code", "construct", "zh", "en"),
                      required=("code", "construct", "zh", "en"))
        code = r.text(m["code"], f"{key}.code")
        if not _CODE.match(code):
            raise r.fail(f"{key}.code", f"'{code}' is not a valid item code (letters, digits, '_')",
                         f"“{code}”不是有效题目代码（字母、数字、下划线）")
        if code in seen:
            raise r.fail(f"{key}.code", f"item '{code}' is listed twice ({seen[code]})",
                         f"题目“{code}”重复（{seen[code]}）")
        if code in column_names or code in RESERVED_COLUMNS:
            raise r.fail(f"{key}.code", f"item code '{code}' clashes with a column name",
                         f"题目代码“{code}”与列名冲突")
        seen[code] = key
        construct = r.text(m["construct"], f"{key}.construct")
        if not _CODE.match(construct):
            raise r.fail(f"{key}.construct", f"'{construct}' is not a valid construct name",
                         f"“{construct}”不是有效构念名")
        out.append(Item(code, construct, r.text(m["zh"], f"{key}.zh"),
                        r.text(m["en"], f"{key}.en")))
    return tuple(out)


# ------------------------------------------------------------------------------------------------
# consumption weights and index settings
# ------------------------------------------------------------------------------------------------

def load_consumption_weights(year: int, path: str | Path | None = None
                             ) -> tuple[dict[str, float], str, str]:
    """Sector weights of ``year`` for the national index → (weights, version, source)."""
    p = Path(path) if path is not None else config.surveys_dir() / "weights" / "consumption.yaml"
    data, _ = _read_yaml(p, "消费权重")
    shown = _display(p)
    r = _Reader(shown)
    top = r.mapping(data, "", allowed=("version", "source", "years"),
                    required=("version", "source", "years"))
    version = r.text(top["version"], "version")
    source = r.text(top["source"], "source")
    years = r.mapping(top["years"], "years")
    for y in years:
        r.integer(y, f"years.{y}")
    try:
        wanted = int(year)
    except (TypeError, ValueError):
        raise InstrumentError(f"year must be a whole number, got {year!r}",
                              message_zh=f"年份应为整数，实际为 {year!r}") from None
    if wanted not in years:
        have = ", ".join(str(y) for y in sorted(years))
        raise r.fail("years", f"no consumption weights for {wanted}; configured years: {have} — "
                              f"add a line '{wanted}: {{sector: weight, ...}}'",
                     f"没有 {wanted} 年的消费权重；已配置年份：{have}——请添加“{wanted}: {{领域: 权重, ...}}”")
    key = f"years.{wanted}"
    raw = r.mapping(years[wanted], key)
    taxonomy = load_taxonomy()
    weights: dict[str, float] = {}
    for sector, w in raw.items():
        sector = r.text(sector, key)
        if sector not in taxonomy.sector_codes:
            raise r.fail(f"{key}.{sector}", f"unknown sector; known sectors: "
                                            f"{_known(taxonomy.sector_codes)}",
                         f"未知领域；已知领域：{_known(taxonomy.sector_codes)}")
        value = r.number(w, f"{key}.{sector}")
        if value < 0:
            raise r.fail(f"{key}.{sector}", f"weight {value} is negative", f"权重 {value} 为负数")
        weights[sector] = value
    if not weights or sum(weights.values()) <= 0:
        raise r.fail(key, "the weights are all zero; give at least one sector a positive weight",
                     "权重全为 0；至少一个领域的权重须为正数")
    return weights, version, source


_POLICIES = ("equal", "drop")


def load_index_config(path: str | Path | None = None) -> dict:
    """The validated ``surveys/index.yaml`` as a plain dict.

    Keys: ``version``, ``scale`` ({min, max}), ``min_valid_n``, ``significance_level``,
    ``nonpositive_weight_policy`` ("equal" | "drop"), ``index_construct``, ``bands`` (list of
    {min, code, zh, en}, highest ``min`` first, the last one starting at 0).
    """
    p = Path(path) if path is not None else config.surveys_dir() / "index.yaml"
    data, _ = _read_yaml(p, "指数配置")
    r = _Reader(_display(p))
    keys = ("version", "scale", "min_valid_n", "significance_level", "nonpositive_weight_policy",
            "index_construct", "bands", "published_decimals")
    top = r.mapping(data, "", allowed=keys + ("release",), required=keys)
    decimals = r.integer(top["published_decimals"], "published_decimals")
    if not 0 <= decimals <= 3:
        raise r.fail("published_decimals", "must be 0, 1, 2 or 3", "必须为 0、1、2 或 3")
    scale = r.mapping(top["scale"], "scale", allowed=("min", "max"), required=("min", "max"))
    smin, smax = r.number(scale["min"], "scale.min"), r.number(scale["max"], "scale.max")
    if smin >= smax:
        raise r.fail("scale", f"min ({smin:g}) must be below max ({smax:g})",
                     f"最小值（{smin:g}）必须小于最大值（{smax:g}）")
    n = r.integer(top["min_valid_n"], "min_valid_n")
    if n < 1:
        raise r.fail("min_valid_n", "must be 1 or more", "必须大于或等于 1")
    level = r.number(top["significance_level"], "significance_level")
    if not 0 < level < 1:
        raise r.fail("significance_level", f"{level} must lie between 0 and 1 (e.g. 0.90)",
                     f"{level} 应介于 0 和 1 之间（如 0.90）")
    policy = r.text(top["nonpositive_weight_policy"], "nonpositive_weight_policy")
    if policy not in _POLICIES:
        raise r.fail("nonpositive_weight_policy", f"'{policy}' is not a policy; use "
                                                  f"{' or '.join(_POLICIES)}",
                     f"“{policy}”不是有效策略；可用：{'、'.join(_POLICIES)}")
    bands = []
    for k, b in enumerate(r.seq(top["bands"], "bands")):
        key = f"bands[{k}]"
        m = r.mapping(b, key, allowed=("min", "code", "zh", "en"),
                      required=("min", "code", "zh", "en"))
        bands.append({"min": r.number(m["min"], f"{key}.min"),
                      "code": r.text(m["code"], f"{key}.code"),
                      "zh": r.text(m["zh"], f"{key}.zh"), "en": r.text(m["en"], f"{key}.en")})
    mins = [b["min"] for b in bands]
    if mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
        raise r.fail("bands", "list the bands from the highest 'min' down, each 'min' once",
                     "请按“min”从高到低列出等级，每个“min”只出现一次")
    if mins[-1] != 0:
        raise r.fail("bands", f"the lowest band starts at {mins[-1]:g}; it must start at 0 so "
                              f"every index has a band",
                     f"最低等级从 {mins[-1]:g} 开始；必须从 0 开始，使每个指数都有等级")
    rel_keys = ("method", "pooling", "bootstrap_resamples", "seed", "invariance_permutations")
    rel = r.mapping(top.get("release", {}) or {}, "release", allowed=rel_keys, required=())
    release = {}
    if "method" in rel:
        release["method"] = r.text(rel["method"], "release.method")
        if release["method"] not in ("pls", "cbsem"):
            raise r.fail("release.method", "must be pls or cbsem", "必须为 pls 或 cbsem")
    if "pooling" in rel:
        release["pooling"] = r.text(rel["pooling"], "release.pooling")
        if release["pooling"] not in ("industry", "sector"):
            raise r.fail("release.pooling", "must be industry or sector",
                         "必须为 industry 或 sector")
    for key, low in (("bootstrap_resamples", 0), ("seed", 0), ("invariance_permutations", 0)):
        if key in rel:
            release[key] = r.integer(rel[key], f"release.{key}")
            if release[key] < low:
                raise r.fail(f"release.{key}", "must be 0 or more", "必须大于或等于 0")
    if 0 < release.get("bootstrap_resamples", 0) < 50:
        raise r.fail("release.bootstrap_resamples", "use 0 (no bootstrap) or at least 50",
                     "请使用 0（不做自助法）或至少 50")
    return {"version": r.text(top["version"], "version"), "release": release,
            "scale": {"min": smin, "max": smax}, "min_valid_n": n,
            "significance_level": level, "nonpositive_weight_policy": policy,
            "index_construct": r.text(top["index_construct"], "index_construct"),
            "bands": bands, "published_decimals": decimals}
