"""A self-contained HTML report of one published release (works offline).

``write_report(store, year, path, lang="zh")`` writes one HTML file: the plotly.js bundle inline
exactly once (a ``<script id="plotly-bundle">`` in the head; every figure after it is a
``<div>`` plus a small inline script), the style sheet inline, no external script, style sheet,
font or image. (The bundle's own source mentions some URLs — map tiles, topojson — that only map
traces would fetch; the report has none.)

Sections:

1. headline — the nation's and every sector's index (the configured index construct, SAT) with
   confidence intervals, changes from the previous year with ▲/▼ where significant, a chart, and
   the release's provenance (release id, content hash, publication time, code version, …);
2. per industry (taxonomy order) — the ranking table (§6 rows with the year's CI; "NM" rows), a
   dot chart of the brands' scores with CI error bars, the trend over the published years with
   CI bands and the measurement-invariance flags of every year pair ("trend not comparable:
   …"), the drivers (impact of a 5-point gain in each driver on SAT; importance–performance maps
   per brand; the item table) and the model diagnostics of the year's fit;
3. industries that could not be estimated, with their reason; the release's other issues;
4. how the numbers are made (bands, significance, floor).

Each fit's ``result`` is rendered by what it holds (the PLS ``to_dict()`` keys, and when present
``diagnostics``, ``bootstrap``, ``drivers``, ``invariance``); an absent part is skipped, a
malformed one is shown as far as it can be, never an error. Labels are in ``lang`` ("zh" or
"en"; :data:`TEXTS`, with the dashboard's wording); brand, industry and sector names come from
:class:`ncsi.query.Query`. Demo data is labelled as such at the top, in the title and on every
chart. The output is deterministic: the same release gives the same file.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import NCSIError
from .export import HEADERS, _atomic_write, _pct, published_release, ranking_records

LANGS = ("zh", "en")

#: Report labels; the dashboard's wording (dashboards/i18n) wherever it has the term.
TEXTS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "全国顾客满意度指数（NCSI）{year} 年度报告",
        "demo": "演示数据——品牌均为虚构 / DEMO DATA — fictitious brands",
        "demo_short": "演示数据 DEMO",
        "contents": "目录",
        "headline": "总览",
        "nation": "全国",
        "sector": "领域",
        "industry": "行业",
        "brand": "品牌",
        "index": "指数",
        "ci": "{level}% 置信区间",
        "change_points": "变化（分）",
        "change_percent": "变化（%）",
        "mark": "显著性",
        "band": "满意度等级",
        "n": "样本量",
        "rank": "排名",
        "weight": "权重",
        "note": "说明",
        "nation_line": "{year} 年全国顾客满意度指数 {index}（{ci}），{change}",
        "vs_prev": "较 {prev} 年 {points}（{percent}）{mark}",
        "no_prev": "无上年可比数据",
        "headline_chart": "{year} 年各领域顾客满意度指数（{level}% 置信区间）",
        "provenance": "版本信息",
        "release_id": "版本编号",
        "content_hash": "内容哈希（SHA-256）",
        "published_at": "发布时间",
        "code_version": "代码版本",
        "built_at": "生成时间",
        "taxonomy_version": "行业分类版本",
        "index_config_version": "指数配置版本",
        "consumption_weights": "消费权重版本",
        "questionnaires": "问卷版本",
        "settings": "估计设置",
        "environment": "运行环境",
        "ranking": "{industry} · {year} 年顾客满意度指数排名",
        "caption": "指数为 0–100 分，按 {year} 年得分从高到低排列；{nm} 表示该年未测评或有效样本"
                   "不足"
                   " {min_n} 份而未发布；▲/▼ 表示与上年相比在 {level}% 置信水平上显著上升/下降。",
        "not_published": "未发布（有效样本不足 {min_n} 份）：{brands}",
        "no_ranking": "{industry} 在 {year} 年没有已发布的排名。",
        "brand_chart": "{industry}：{year} 年品牌顾客满意度指数（{level}% 置信区间）",
        "trend": "{industry}：顾客满意度指数趋势",
        "trend_caption": "阴影为 {level}% 置信区间；粗线为行业指数。仅在问卷（测量工具）相同的年份"
                         "之间"
                         "比较才有意义。",
        "year_axis": "年份",
        "index_axis": "顾客满意度指数（0–100）",
        "not_comparable": "趋势不可比：{reason}",
        "comparable": "{prev}→{year}：测量不变性成立，趋势可比",
        "not_comparable_short": "不可比",
        "comparable_short": "可比",
        "drivers": "满意度驱动因素",
        "impacts": "{industry}：各驱动因素提高 5 分对顾客满意度的影响",
        "impact_axis": "满意度指数变化（分）",
        "impact_5": "提高 5 分的影响（分）",
        "total_effect": "总效应",
        "ipma": "{industry}：重要性–表现分析（各品牌）",
        "importance": "重要性（对满意度的总效应）",
        "performance": "表现（指数 0–100）",
        "items": "题项权重与重要性",
        "construct": "构念",
        "indicator": "题项",
        "wording": "题项内容",
        "index_weight": "指数权重",
        "item_importance": "重要性",
        "item_performance": "表现（行业，0–100）",
        "total_effect_std": "总效应（标准化）",
        "effects": "直接、间接与总效应",
        "direct": "直接",
        "indirect": "间接",
        "total": "总效应",
        "f2": "效应量 f²",
        "vif_inner": "结构模型共线性（VIF）",
        "quantile_5": "5% 分位数",
        "permutations": "置换次数",
        "alpha": "显著性水平",
        "stratified_by": "分层",
        "diagnostics": "模型诊断",
        "status": "状态",
        "message": "信息",
        "converged": "收敛",
        "iterations": "迭代次数",
        "model": "模型",
        "paths": "路径系数",
        "from": "自",
        "to": "至",
        "estimate": "估计值",
        "se": "标准误",
        "r2": "决定系数 R²",
        "r2_adj": "调整 R²",
        "outer": "测量模型（外部权重与载荷）",
        "outer_weight": "外部权重",
        "loading": "载荷",
        "missing": "缺失值",
        "reliability": "信度与效度",
        "reliability_caption": "常用标准：α、ρA、ρC ≥ 0.70，AVE ≥ 0.50；未达标者标红。",
        "htmt": "区分效度（HTMT）",
        "htmt_caption": "HTMT ≥ 0.90 标红（区分效度存疑）。",
        "fit": "整体拟合",
        "gof": "拟合优度 GoF",
        "srmr_saturated": "SRMR（饱和模型）",
        "srmr_estimated": "SRMR（估计模型）",
        "verify": "可采性检验",
        "check": "检验",
        "detail": "说明",
        "bootstrap": "自助法",
        "n_boot": "重抽样次数",
        "seed": "随机种子",
        "n_valid": "有效重抽样",
        "n_not_converged": "未收敛",
        "n_failed": "失败",
        "invariance": "测量不变性（与 {prev} 年比较）",
        "same_instrument": "问卷相同",
        "invariance_ok": "结论",
        "c": "c",
        "warnings": "警告",
        "failed": "未能估计的行业",
        "failed_none": "所有行业均已估计。",
        "failed_here": "{year} 年该行业未能估计：{reason}",
        "reason": "原因",
        "issues": "版本说明事项",
        "issues_none": "无。",
        "where": "对象",
        "kind": "类别",
        "method": "计算方法",
        "method_text": "指数的计算方法：按行业用 PLS 路径模型估计顾客满意度（SAT）各题项的权重，"
                       "把受访者的 1–10 分加权换算为 0–100 分，品牌指数为其受访者得分的加权平均，"
                       "行业指数按品牌营收"
                       "加权汇总，领域按行业营收加权，全国按消费权重汇总。",
        "bands_text": "满意度等级：{bands}。",
        "significance_text": "年度变化按 {level}% 置信水平做显著性检验；有效样本少于 {min_n} 份的"
                             "品牌"
                             "不发布得分。",
        "generated_by": "由 ncsi {version} 生成",
        "yes": "是",
        "no": "否",
        "admissible": "可采",
        "inadmissible": "不可采",
        "ok": "正常",
        "failed_status": "失败",
        "industry_suffix": "（行业）",
    },
    "en": {
        "title": "National Customer Satisfaction Index (NCSI) — {year} report",
        "demo": "DEMO DATA — fictitious brands / 演示数据——品牌均为虚构",
        "demo_short": "DEMO DATA 演示数据",
        "contents": "Contents",
        "headline": "Headline",
        "nation": "Nation",
        "sector": "Sector",
        "industry": "Industry",
        "brand": "Brand",
        "index": "Index",
        "ci": "{level}% CI",
        "change_points": "Change (pts)",
        "change_percent": "Change (%)",
        "mark": "Significance",
        "band": "Band",
        "n": "n",
        "rank": "Rank",
        "weight": "Weight",
        "note": "Note",
        "nation_line": "National customer satisfaction index {year}: {index} ({ci}), {change}",
        "vs_prev": "{points} ({percent}) on {prev} {mark}",
        "no_prev": "no comparable previous year",
        "headline_chart": "Customer satisfaction index by sector, {year} ({level}% CI)",
        "provenance": "Release provenance",
        "release_id": "Release id",
        "content_hash": "Content hash (SHA-256)",
        "published_at": "Published at",
        "code_version": "Code version",
        "built_at": "Built at",
        "taxonomy_version": "Taxonomy version",
        "index_config_version": "Index configuration version",
        "consumption_weights": "Consumption weights version",
        "questionnaires": "Questionnaires",
        "settings": "Estimation settings",
        "environment": "Environment",
        "ranking": "{industry} · customer satisfaction ranking {year}",
        "caption": "Indices on a 0–100 scale, sorted by the {year} score, highest first; {nm} = "
                   "not measured that year, or fewer than {min_n} valid interviews and so not "
                   "published; ▲/▼ = a rise/fall from the previous year that is significant at "
                   "the {level}% level.",
        "not_published": "Not published (fewer than {min_n} valid interviews): {brands}",
        "no_ranking": "{industry} has no published ranking for {year}.",
        "brand_chart": "{industry}: brand satisfaction indices {year} ({level}% CI)",
        "trend": "{industry}: customer satisfaction index over the years",
        "trend_caption": "Shaded bands are {level}% confidence intervals; the thick line is the "
                         "industry index. Years are comparable only where the questionnaire "
                         "(the instrument) was the same.",
        "year_axis": "Year",
        "index_axis": "Customer satisfaction index (0–100)",
        "not_comparable": "trend not comparable: {reason}",
        "comparable": "{prev}→{year}: measurement invariance holds, the trend is comparable",
        "not_comparable_short": "not comparable",
        "comparable_short": "comparable",
        "drivers": "Drivers of satisfaction",
        "impacts": "{industry}: impact on satisfaction of a 5-point gain in each driver",
        "impact_axis": "change in the satisfaction index (points)",
        "impact_5": "Impact of +5 points",
        "total_effect": "Total effect",
        "ipma": "{industry}: importance–performance maps by brand",
        "importance": "importance (total effect on satisfaction)",
        "performance": "performance (index 0–100)",
        "items": "Item weights and importance",
        "construct": "Construct",
        "indicator": "Item",
        "wording": "Wording",
        "index_weight": "Index weight",
        "item_importance": "Importance",
        "item_performance": "Performance (industry, 0–100)",
        "total_effect_std": "Total effect (standardized)",
        "effects": "Direct, indirect and total effects",
        "direct": "Direct",
        "indirect": "Indirect",
        "total": "Total",
        "f2": "Effect sizes f²",
        "vif_inner": "Inner-model collinearity (VIF)",
        "quantile_5": "5% quantile",
        "permutations": "Permutations",
        "alpha": "Significance level",
        "stratified_by": "Stratified by",
        "diagnostics": "Model diagnostics",
        "status": "Status",
        "message": "Message",
        "converged": "Converged",
        "iterations": "Iterations",
        "model": "Model",
        "paths": "Path coefficients",
        "from": "From",
        "to": "To",
        "estimate": "Estimate",
        "se": "SE",
        "r2": "R²",
        "r2_adj": "Adjusted R²",
        "outer": "Measurement model (outer weights and loadings)",
        "outer_weight": "Outer weight",
        "loading": "Loading",
        "missing": "Missing values",
        "reliability": "Reliability and validity",
        "reliability_caption": "Usual thresholds: α, ρA, ρC ≥ 0.70, AVE ≥ 0.50; values below "
                               "are shown in red.",
        "htmt": "Discriminant validity (HTMT)",
        "htmt_caption": "HTMT ≥ 0.90 in red (discriminant validity in doubt).",
        "fit": "Overall fit",
        "gof": "GoF",
        "srmr_saturated": "SRMR (saturated)",
        "srmr_estimated": "SRMR (estimated)",
        "verify": "Admissibility checks",
        "check": "Check",
        "detail": "Detail",
        "bootstrap": "Bootstrap",
        "n_boot": "Resamples",
        "seed": "Seed",
        "n_valid": "Valid resamples",
        "n_not_converged": "Not converged",
        "n_failed": "Failed",
        "invariance": "Measurement invariance (compared with {prev})",
        "same_instrument": "Same questionnaire",
        "invariance_ok": "Result",
        "c": "c",
        "warnings": "Warnings",
        "failed": "Industries not estimated",
        "failed_none": "Every industry was estimated.",
        "failed_here": "This industry could not be estimated for {year}: {reason}",
        "reason": "Reason",
        "issues": "Issues recorded in the release",
        "issues_none": "None.",
        "where": "Where",
        "kind": "Kind",
        "method": "How the numbers are made",
        "method_text": "Per industry, a PLS path model estimates the weights of the "
                       "customer-satisfaction (SAT) items; each respondent's 1–10 answers become "
                       "a 0–100 score with those weights, a brand's index is the weighted mean "
                       "of its respondents' scores, an industry's index the revenue-weighted mean "
                       "of its brands, a sector's the revenue-weighted mean of its industries and "
                       "the nation's the consumption-weighted mean of the sectors.",
        "bands_text": "Bands: {bands}.",
        "significance_text": "Year-over-year changes are tested at the {level}% level; no brand "
                             "score is published below {min_n} valid interviews.",
        "generated_by": "generated by ncsi {version}",
        "yes": "yes",
        "no": "no",
        "admissible": "admissible",
        "inadmissible": "inadmissible",
        "ok": "ok",
        "failed_status": "failed",
        "industry_suffix": " (industry)",
    },
}

#: Construct names (zh, en), as the questionnaires name them.
CONSTRUCTS: dict[str, tuple[str, str]] = {
    "IMAG": ("品牌形象", "brand image"),
    "EXPE": ("预期质量", "expectations"),
    "SAFE": ("感知安全", "perceived safety"),
    "QUAL": ("感知质量", "perceived quality"),
    "VAL": ("感知价值", "perceived value"),
    "SAT": ("顾客满意", "customer satisfaction"),
    "COMP": ("顾客抱怨", "complaints"),
    "LOY": ("顾客忠诚", "loyalty"),
}

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7",
           "#9c755f", "#bab0ac", "#e15759")
INDUSTRY_COLOR = "#1f2933"
UP_COLOR = "#1a7f37"
DOWN_COLOR = "#c62828"
FONT = ('system-ui, -apple-system, "Segoe UI", "PingFang SC", "Hiragino Sans GB", '
        '"Microsoft YaHei", "Noto Sans CJK SC", "Source Han Sans SC", sans-serif')

# conventional thresholds, used only to highlight cells (see the captions)
RELIABILITY_MIN = {"alpha": 0.70, "rho_a": 0.70, "rho_c": 0.70, "ave": 0.50}
HTMT_MAX = 0.90

CSS = """
:root { --ink:#1f2933; --muted:#5f6b7a; --line:#d9dee5; --bg:#ffffff; --band:#eef1f5;
        --up:#1a7f37; --down:#c62828; --warn:#8a5300; --warnbg:#fff4e0; }
* { box-sizing: border-box; }
body { font-family: %(font)s; color: var(--ink); background: var(--bg); margin: 0;
       line-height: 1.5; font-size: 15px; }
main { max-width: 1180px; margin: 0 auto; padding: 0 24px 48px; }
header.top { background: #17324d; color: #fff; padding: 20px 24px; }
header.top h1 { margin: 0 auto; max-width: 1180px; font-size: 24px; }
header.top p { margin: 4px auto 0; max-width: 1180px; color: #c9d6e3; }
.demo { background: #fdecea; color: #8e1b10; border: 2px solid #c62828; font-weight: bold;
        text-align: center; padding: 8px; margin: 16px 0; letter-spacing: .04em; }
h2 { border-bottom: 2px solid var(--ink); padding-bottom: 4px; margin-top: 40px; }
h2 .sub, h3 .sub { color: var(--muted); font-weight: normal; font-size: .8em; }
h3 { margin-top: 28px; }
h4 { margin: 20px 0 6px; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 14px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left;
         vertical-align: top; }
th { background: var(--band); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.industry-row td { font-weight: bold; background: var(--band); }
tr.nm td { color: var(--muted); }
.up { color: var(--up); font-weight: bold; }
.down { color: var(--down); font-weight: bold; }
.bad { color: var(--down); font-weight: bold; }
.good { color: var(--up); }
.caption { color: var(--muted); font-size: 13px; margin: 4px 0 12px; }
.flag { background: var(--warnbg); color: var(--warn); border-left: 4px solid #e0a000;
        padding: 6px 10px; margin: 6px 0; }
.flag.ok { background: #eef7ef; color: var(--up); border-left-color: var(--up); }
.failed { background: #fdecea; color: #8e1b10; border-left: 4px solid var(--down);
          padding: 6px 10px; margin: 6px 0; }
.headline { font-size: 20px; margin: 12px 0; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; font-size: 14px; }
dl.kv dt { color: var(--muted); }
dl.kv dd { margin: 0; word-break: break-all; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 13px; }
nav.toc ul { columns: 2; }
details { margin: 8px 0; }
details > summary { cursor: pointer; font-weight: 600; }
.figure { margin: 8px 0 16px; }
footer { color: var(--muted); font-size: 13px; border-top: 1px solid var(--line);
         margin-top: 40px; padding-top: 12px; }
@media print { .figure { break-inside: avoid; } section.industry { break-before: page; } }
""" % {"font": FONT}


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------

def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def _finite(v) -> float | None:
    if v is None or isinstance(v, bool) or v is pd.NA:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _f(v, d: int = 3, empty: str = "—") -> str:
    f = _finite(v)
    return empty if f is None else f"{f:.{d}f}"


def _p(v) -> str:
    f = _finite(v)
    if f is None:
        return "—"
    return "<0.001" if f < 0.001 else f"{f:.3f}"


def _signed(v, d: int, suffix: str = "") -> str:
    f = _finite(v)
    return "" if f is None else f"{f:+.{d}f}{suffix}"


def _dict(v) -> dict:
    return v if isinstance(v, dict) else {}


def _list(v) -> list[dict]:
    return [x for x in v if isinstance(x, dict)] if isinstance(v, (list, tuple)) else []


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _mark_html(mark: str | None) -> str:
    if mark == "▲":
        return '<span class="up">▲</span>'
    if mark == "▼":
        return '<span class="down">▼</span>'
    return ""


def _table(headers: list[tuple[str, bool]], rows: list[list[str]],
           row_classes: list[str] | None = None, cls: str = "") -> str:
    """An HTML table; ``headers`` are (label, numeric?) pairs; cells are HTML already."""
    head = "".join(f'<th class="num">{_e(h)}</th>' if num else f"<th>{_e(h)}</th>"
                   for h, num in headers)
    body = []
    for i, r in enumerate(rows):
        rc = row_classes[i] if row_classes else ""
        cells = "".join(f'<td class="num">{c}</td>' if headers[j][1] else f"<td>{c}</td>"
                        for j, c in enumerate(r))
        body.append(f'<tr class="{rc}">{cells}</tr>' if rc else f"<tr>{cells}</tr>")
    cls_attr = f' class="{cls}"' if cls else ""
    return f"<table{cls_attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _kv(pairs: list[tuple[str, str]]) -> str:
    """A definition list; values are HTML already."""
    return ('<dl class="kv">' + "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in pairs)
            + "</dl>")


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


# --------------------------------------------------------------------------------------------
# the report
# --------------------------------------------------------------------------------------------

class _Report:
    def __init__(self, store, year: int, lang: str):
        from .query import Query
        if lang not in LANGS:
            raise NCSIError(f"unknown language '{lang}'; use zh or en",
                            message_zh=f"未知语言 '{lang}'；请用 zh 或 en")
        self.store = store
        self.year = int(year)
        self.lang = lang
        self.li = LANGS.index(lang)
        self.q = Query(store)
        self.release = published_release(self.q, self.year)
        self.cfg = self.q.config
        self.d = self.cfg.published_decimals
        self.level = _pct(self.cfg.significance_level)
        self.demo = self.q.is_demo()
        self.construct = self.cfg.index_construct
        self.releases = {y: rid for y, rid in self.q.published_releases()}
        self._fits: dict[int, list[dict]] = {}
        self._questionnaires: dict[str, Any] = {}
        self.n_fig = 0
        scores = self.q.scores()
        self.scores = scores[scores["year"] <= self.year]
        self.years = sorted(int(y) for y in self.scores["year"].unique())

    # -- texts -------------------------------------------------------------------------------
    def t(self, key: str, **values) -> str:
        text = TEXTS[self.lang][key]
        return text.format(**values) if values else text

    def cname(self, code: str) -> str:
        names = CONSTRUCTS.get(code)
        return names[self.li] if names else str(code)

    def iname(self, code: str) -> str:
        try:
            return self.q.industry_name(code, self.lang)
        except NCSIError:
            return str(code)

    def sname(self, code: str) -> str:
        try:
            return self.q.sector_name(code, self.lang)
        except NCSIError:
            return str(code)

    def idx(self, v) -> str:
        return _f(v, self.d, "NM")

    def ci(self, lo, hi) -> str:
        if _finite(lo) is None or _finite(hi) is None:
            return ""
        return f"{_f(lo, self.d)}–{_f(hi, self.d)}"

    def yes_no(self, v) -> str:
        if v is None:
            return "—"
        return self.t("yes") if bool(v) else self.t("no")

    def localized(self, obj: dict, key: str) -> str:
        """``obj[key]``, or ``obj[key + "_zh"]`` in Chinese when present."""
        if self.lang == "zh" and obj.get(f"{key}_zh"):
            return str(obj[f"{key}_zh"])
        return "" if obj.get(key) is None else str(obj[key])

    # -- data ----------------------------------------------------------------------------------
    def fits(self, year: int) -> list[dict]:
        rid = self.releases.get(year)
        if rid is None:
            return []
        if year not in self._fits:
            try:
                self._fits[year] = [f for f in self.store.release_fits(rid) if isinstance(f, dict)]
            except NCSIError:
                self._fits[year] = []
        return self._fits[year]

    def fit(self, year: int, industry: str) -> dict | None:
        """The fit of ``industry`` in ``year``'s release — its own, or with sector pooling the
        fit of its sector (whose ``industry`` key is then the sector code)."""
        fits = self.fits(year)
        for f in fits:
            if f.get("industry") == industry:
                return f
        sector = self.sector_of(industry)
        for f in fits:
            if f.get("industry") == sector:
                return f
        return None

    def failed(self) -> dict[str, str]:
        """Industry code → reason for every industry of the year not estimated: from the
        release's ``industry_failed`` issues and the fits whose status is not "ok" (a
        sector-pooled fit stands for its industries, which the issues name)."""
        out: dict[str, str] = {}
        for i in _list(self.release.get("issues")):
            if i.get("kind") == "industry_failed" and isinstance(i.get("industry"), str):
                out.setdefault(i["industry"], self.localized(i, "message"))
        sectors = {s.code for s in self.q.taxonomy.sectors}
        for f in self.fits(self.year):
            code = f.get("industry")
            if f.get("status") == "ok" or not isinstance(code, str) or code in sectors:
                continue
            out.setdefault(code, self.fit_reason(f))
        return out

    def questionnaire(self, survey_id: str | None):
        if not survey_id:
            return None
        if survey_id not in self._questionnaires:
            from .instruments import load_questionnaire
            try:
                self._questionnaires[survey_id] = load_questionnaire(survey_id)
            except NCSIError:
                self._questionnaires[survey_id] = None
        return self._questionnaires[survey_id]

    def score_rows(self, level: str, year: int, construct: str | None = None) -> pd.DataFrame:
        s = self.scores
        return s[(s["level"] == level) & (s["year"] == year)
                 & (s["construct"] == (construct or self.construct))]

    @staticmethod
    def caption(text: str) -> str:
        return f'<p class="caption">{_e(text)}</p>'

    # -- figures -------------------------------------------------------------------------------
    def figure(self, fig, height: int = 440) -> str:
        self.n_fig += 1
        if self.demo:
            fig.add_annotation(text=self.t("demo_short"), xref="paper", yref="paper", x=1,
                               y=1.0, xanchor="right", yanchor="bottom", showarrow=False,
                               font={"size": 11, "color": "#c62828"})
        fig.update_layout(font={"family": FONT}, template="plotly_white", height=height)
        div = fig.to_html(full_html=False, include_plotlyjs=False,
                          div_id=f"fig-{self.n_fig}", default_height=f"{height}px",
                          config={"displaylogo": False, "responsive": True})
        return f'<div class="figure">{div}</div>'

    # -- sections ------------------------------------------------------------------------------
    def render(self) -> str:
        import plotly.offline

        industries = self.industries()
        body = [self.header(), self.toc(industries), self.headline()]
        by_sector: dict[str, list[str]] = {}
        for code in industries:
            by_sector.setdefault(self.sector_of(code), []).append(code)
        for sector, codes in by_sector.items():
            body.append(f'<h2 id="sector-{_e(sector)}">{_e(_sentence(self.sname(sector)))}'
                        f' <span class="sub">{_e(sector)}</span></h2>')
            body.extend(self.industry(code) for code in codes)
        body += [self.failed_section(), self.issues_section(), self.footer()]
        title = self.t("title", year=self.year)
        if self.demo:
            title = f"[{self.t('demo_short')}] {title}"
        bundle = plotly.offline.get_plotlyjs()
        return (
            "<!DOCTYPE html>\n"
            f'<html lang="{"zh-CN" if self.lang == "zh" else "en"}">\n<head>\n'
            '<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<meta name="generator" content="ncsi {_e(self.version())}">\n'
            f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n"
            f'<script type="text/javascript" id="plotly-bundle">{bundle}</script>\n'
            "</head>\n<body>\n"
            + "\n".join(body)
            + "\n</main>\n</body>\n</html>\n")

    def version(self) -> str:
        from . import __version__
        return __version__

    def sector_of(self, industry: str) -> str:
        try:
            return self.q.taxonomy.sector_of(industry).code
        except NCSIError:
            return "?"

    def industries(self) -> list[str]:
        """Published industries of the year and failed ones, in taxonomy order."""
        have = set(self.q.industries(self.year)) | set(self.failed())
        order = [i.code for i in self.q.taxonomy.industries]
        known = [c for c in order if c in have]
        return known + sorted(c for c in have if c not in order and isinstance(c, str))

    def header(self) -> str:
        sub = _e(f"{self.t('release_id')} {self.release['id']} · "
                 f"{self.t('published_at')} {self.published_at()}")
        out = (f'<header class="top"><h1>{_e(self.t("title", year=self.year))}</h1>'
               f"<p>{sub}</p></header>\n<main>")
        if self.demo:
            out += f'\n<div class="demo" id="demo-banner">{_e(self.t("demo"))}</div>'
        return out

    def published_at(self) -> str:
        p = self.release.get("published_at")
        return p.strftime("%Y-%m-%d %H:%M:%S UTC") if p is not None else ""

    def toc(self, industries: list[str]) -> str:
        items = [f'<li><a href="#headline">{_e(self.t("headline"))}</a></li>']
        for code in industries:
            items.append(f'<li><a href="#industry-{_e(code)}">{_e(_sentence(self.iname(code)))}'
                         f"</a> <span class=\"sub\">{_e(self.sname(self.sector_of(code)))}"
                         f"</span></li>")
        items += [f'<li><a href="#failed">{_e(self.t("failed"))}</a></li>',
                  f'<li><a href="#issues">{_e(self.t("issues"))}</a></li>',
                  f'<li><a href="#method">{_e(self.t("method"))}</a></li>']
        return (f'<nav class="toc"><h2>{_e(self.t("contents"))}</h2><ul>{"".join(items)}'
                f"</ul></nav>")

    # headline ---------------------------------------------------------------------------------
    def _change(self, level: str, code: str, row) -> tuple[dict, float | None]:
        from .scoring import change
        prev = self.score_rows(level, self.year - 1)
        prev = prev[prev["code"] == code]
        if prev.empty:
            return {"points": None, "percent": None, "significant": None}, None
        p = prev.iloc[0]
        ch = change(row["index"], row["se"], p["index"], p["se"],
                    level=self.cfg.significance_level)
        return ch, _finite(p["index"])

    def _mark(self, ch: dict) -> str:
        if ch.get("significant"):
            return "▲" if (ch.get("points") or 0) > 0 else "▼"
        return ""

    def _band(self, v) -> str:
        from .scoring import band
        f = _finite(v)
        code = band(round(f, self.d), self.cfg.bands) if f is not None else None
        return self.q.band_text(code, self.lang) if code else ""

    def headline(self) -> str:
        out = [f'<section id="headline"><h2>{_e(self.t("headline"))}</h2>']
        nation = self.score_rows("nation", self.year)
        if not nation.empty:
            r = nation.iloc[0]
            ch, prev = self._change("nation", "nation", r)
            if prev is None:
                change_text = self.t("no_prev")
            else:
                change_text = self.t("vs_prev", prev=self.year - 1,
                                     points=_signed(ch["points"], self.d),
                                     percent=_signed(ch["percent"], self.d, "%"),
                                     mark=self._mark(ch))
            line = self.t("nation_line", year=self.year, index=self.idx(r["index"]),
                          ci=(f"{self.t('ci', level=self.level)} "
                              f"{self.ci(r['ci_low'], r['ci_high'])}"),
                          change=change_text)
            line = _e(line).replace("▲", _mark_html("▲")).replace("▼", _mark_html("▼"))
            out.append(f'<p class="headline" id="nation-index">{line}</p>')
        sectors = self.score_rows("sector", self.year)
        order = [s.code for s in self.q.taxonomy.sectors]
        sectors = sectors.assign(_o=[order.index(c) if c in order else 99
                                     for c in sectors["code"]]).sort_values("_o")
        rows, classes = [], []
        heads = [(self.t("sector"), False), (self.t("index"), True),
                 (self.t("ci", level=self.level), True), (self.t("change_points"), True),
                 (self.t("change_percent"), True), (self.t("mark"), False),
                 (self.t("band"), False), (self.t("n"), True), (self.t("weight"), True),
                 (self.t("note"), False)]
        for _, r in nation.iterrows():
            ch, _ = self._change("nation", "nation", r)
            rows.append([_e(self.t("nation")), self.idx(r["index"]),
                         self.ci(r["ci_low"], r["ci_high"]), _signed(ch["points"], self.d),
                         _signed(ch["percent"], self.d, "%"), _mark_html(self._mark(ch)),
                         _e(self._band(r["index"])), _e(_count(r["n"])), "",
                         _e(r["note"] if isinstance(r["note"], str) else "")])
            classes.append("industry-row")
        for _, r in sectors.iterrows():
            ch, _ = self._change("sector", r["code"], r)
            rows.append([_e(_sentence(self.sname(r["code"]))), self.idx(r["index"]),
                         self.ci(r["ci_low"], r["ci_high"]), _signed(ch["points"], self.d),
                         _signed(ch["percent"], self.d, "%"), _mark_html(self._mark(ch)),
                         _e(self._band(r["index"])), _e(_count(r["n"])),
                         _f(r["weight"], 3, ""),
                         _e(r["note"] if isinstance(r["note"], str) else "")])
            classes.append("")
        out.append(_table(heads, rows, classes, cls="sectors"))
        out.append(self.headline_figure(nation, sectors))
        out.append(self.provenance())
        out.append("</section>")
        return "\n".join(out)

    def headline_figure(self, nation: pd.DataFrame, sectors: pd.DataFrame) -> str:
        import plotly.graph_objects as go
        if sectors.empty:
            return ""
        names = [_sentence(self.sname(c)) for c in sectors["code"]]
        x = sectors["index"].astype(float)
        fig = go.Figure(go.Scatter(
            x=x, y=names, mode="markers", marker={"size": 12, "color": PALETTE[0]},
            name=self.t("sector"),
            error_x={"type": "data", "symmetric": False,
                     "array": (sectors["ci_high"].astype(float) - x).tolist(),
                     "arrayminus": (x - sectors["ci_low"].astype(float)).tolist()},
            hovertemplate="%{y}: %{x:.1f}<extra></extra>"))
        if not nation.empty:
            v = float(nation["index"].iloc[0])
            fig.add_vline(x=v, line_dash="dash", line_color=INDUSTRY_COLOR,
                          annotation_text=f"{self.t('nation')} {v:.{self.d}f}",
                          annotation_position="top")
        fig.update_layout(title={"text": self.t("headline_chart", year=self.year,
                                                level=self.level)},
                          xaxis={"title": {"text": self.t("index_axis")}},
                          yaxis={"autorange": "reversed"}, showlegend=False,
                          margin={"l": 160, "r": 30, "t": 70, "b": 50})
        return self.figure(fig, height=max(260, 70 + 45 * len(names)))

    def provenance(self) -> str:
        rel = self.release
        prov = _dict(rel.get("provenance"))
        code = _e(prov.get("ncsi_version") or "")
        if prov.get("git_commit"):
            code += f" (<code>{_e(prov['git_commit'])}</code>)"
        pairs = [(self.t("release_id"), _e(rel.get("id"))),
                 (self.t("content_hash"),
                  f'<code id="content-hash">{_e(rel.get("content_sha256") or "")}</code>'),
                 (self.t("published_at"), _e(self.published_at())),
                 (self.t("code_version"), code)]
        if prov.get("built_at"):
            pairs.append((self.t("built_at"), _e(prov["built_at"])))
        for key in ("taxonomy_version", "index_config_version"):
            if prov.get(key):
                pairs.append((self.t(key), _e(prov[key])))
        cw = _dict(prov.get("consumption_weights"))
        if cw.get("version"):
            pairs.append((self.t("consumption_weights"), _e(cw["version"])))
        qs = _dict(prov.get("questionnaires"))
        if qs:
            pairs.append((self.t("questionnaires"), "<br>".join(
                f"{_e(k)} {_e(_dict(v).get('version', ''))} · <code>"
                f"{_e(str(_dict(v).get('sha256') or '')[:12])}</code>" for k, v in qs.items())))
        env = [f"{k} {prov[k]}" for k in ("python", "numpy", "pandas") if prov.get(k)]
        if env:
            pairs.append((self.t("environment"), _e(" · ".join(env))))
        settings = _dict(rel.get("settings"))
        shown = [f"{k} = {settings[k]}" for k in ("estimator", "scheme", "scaled", "missing",
                                                   "significance_level", "min_valid_n",
                                                   "index_construct", "pooling")
                 if k in settings]
        if shown:
            pairs.append((self.t("settings"), _e("; ".join(shown))))
        return (f'<h3 id="provenance">{_e(self.t("provenance"))}</h3>'
                f'<div id="provenance-block">{_kv(pairs)}</div>')

    # industry ---------------------------------------------------------------------------------
    def industry(self, code: str) -> str:
        name = _sentence(self.iname(code))
        fit = self.fit(self.year, code)
        out = [f'<section class="industry" id="industry-{_e(code)}" data-industry="{_e(code)}">',
               f"<h2>{_e(name)} <span class=\"sub\">{_e(self.sname(self.sector_of(code)))} · "
               f"{_e(code)}</span></h2>"]
        reason = self.failed().get(code)
        if reason is not None:
            text = self.t("failed_here", year=self.year, reason=reason or self.t("failed_status"))
            out.append(f'<div class="failed">{_e(text)}</div>')
        out.append(self.ranking_section(code, name))
        out.append(self.trend_section(code, name))
        if fit is not None:
            out.append(self.drivers_section(code, name, fit))
            out.append(self.diagnostics_section(fit))
        out.append("</section>")
        return "\n".join(x for x in out if x)

    def fit_reason(self, fit: dict) -> str:
        msg = self.localized(fit, "message")
        return msg or self.t("failed_status")

    def ranking_section(self, code: str, name: str) -> str:
        recs = ranking_records(self.q, self.year, code, lang=self.lang, release=self.release)
        head = f"<h3>{_e(self.t('ranking', industry=name, year=self.year))}</h3>"
        if not recs:
            return head + f"<p>{_e(self.t('no_ranking', industry=name, year=self.year))}</p>"
        years = [y for y in recs[0]["scores"]]
        heads = ([(self.t("rank"), True), (self.t("brand"), False),
                  (HEADERS["baseline_year"][self.li], True)]
                 + [(y, True) for y in years]
                 + [(self.t("ci", level=self.level), True), (self.t("change_points"), True),
                    (self.t("change_percent"), True), (self.t("mark"), False),
                    (self.t("band"), False), (self.t("n"), True)])
        rows, classes = [], []
        for r in recs:
            is_ind = r["level"] == "industry"
            rank = self.t("industry") if is_ind else ("" if r["rank"] is None else str(r["rank"]))
            rows.append([_e(rank), _e(r["name"]),
                         "" if r["baseline_year"] is None else str(r["baseline_year"])]
                        + [self.idx(r["scores"][y]) for y in years]
                        + [self.ci(r["ci_low"], r["ci_high"]),
                           _signed(r["change_points"], self.d),
                           _signed(r["change_percent"], self.d, "%"), _mark_html(r["mark"]),
                           _e(r["band_label"] or ""), _e(_count(r["n"]))])
            classes.append("industry-row" if is_ind else ("nm" if r["status"] != "published"
                                                          else ""))
        out = [head, _table(heads, rows, classes, cls="ranking"),
               self.caption(self.t("caption", year=self.year, nm="NM",
                                   min_n=self.cfg.min_valid_n, level=self.level))]
        # measured this year but never published (ranking_rows leaves such brands out)
        cur = self.score_rows("brand", self.year)
        cur = cur[(cur["parent"] == code) & ~cur["publishable"].astype(bool)]
        listed = {r["code"] for r in recs}
        hidden = [f"{self.q.brand_name(c, self.lang)} (n = {_count(n)})"
                  for c, n in zip(cur["code"], cur["n"]) if c not in listed]
        if hidden:
            out.append(self.caption(self.t("not_published", min_n=self.cfg.min_valid_n,
                                           brands=", ".join(hidden))))
        out.append(self.brand_figure(recs, name))
        return "\n".join(out)

    def brand_figure(self, recs: list[dict], name: str) -> str:
        import plotly.graph_objects as go
        shown = [r for r in recs if r["status"] == "published" and r["level"] == "brand"]
        if not shown:
            return ""
        shown = sorted(shown, key=lambda r: r["score"])
        y = [r["name"] for r in shown]
        x = [r["score"] for r in shown]
        hi = [(r["ci_high"] - r["score"]) if r["ci_high"] is not None else 0 for r in shown]
        lo = [(r["score"] - r["ci_low"]) if r["ci_low"] is not None else 0 for r in shown]
        colors = [UP_COLOR if r["mark"] == "▲" else (DOWN_COLOR if r["mark"] == "▼"
                                                      else PALETTE[0]) for r in shown]
        fig = go.Figure(go.Scatter(
            x=x, y=y, mode="markers", marker={"size": 12, "color": colors},
            error_x={"type": "data", "symmetric": False, "array": hi, "arrayminus": lo,
                     "color": "#888", "thickness": 1.5, "width": 5},
            customdata=[[r["ci_low"], r["ci_high"], r["n"]] for r in shown],
            hovertemplate=("%{y}: %{x:.1f}<br>" + self.t("ci", level=self.level)
                           + " %{customdata[0]:.1f}–%{customdata[1]:.1f}<br>"
                           + self.t("n") + " %{customdata[2]}<extra></extra>"),
            name=self.t("brand")))
        ind = [r for r in recs if r["level"] == "industry" and r["score"] is not None]
        if ind:
            v = ind[0]["score"]
            fig.add_vline(x=v, line_dash="dash", line_color=INDUSTRY_COLOR,
                          annotation_text=f"{self.t('industry')} {v:.{self.d}f}",
                          annotation_position="bottom right")
            if ind[0]["ci_low"] is not None and ind[0]["ci_high"] is not None:
                fig.add_vrect(x0=ind[0]["ci_low"], x1=ind[0]["ci_high"],
                              fillcolor=_rgba(INDUSTRY_COLOR, 0.08), line_width=0)
        fig.update_layout(title={"text": self.t("brand_chart", industry=name, year=self.year,
                                                level=self.level)},
                          xaxis={"title": {"text": self.t("index_axis")}}, showlegend=False,
                          margin={"l": 140, "r": 30, "t": 70, "b": 50})
        return self.figure(fig, height=max(280, 90 + 40 * len(shown)))

    # trend --------------------------------------------------------------------------------------
    def invariance_flags(self, code: str) -> list[tuple[int, int | None, bool, str]]:
        """(year, previous year, ok, reason) for every published year ≤ the report's year whose
        fit of ``code`` carries an invariance result."""
        out = []
        s = self.scores
        rows = s[(s["level"] == "industry") & (s["code"] == code)
                 & (s["construct"] == self.construct)]
        for y in self.years:
            fit = self.fit(y, code)
            inv = _dict(_dict(fit.get("result") if fit else None).get("invariance"))
            if (not inv or "ok" not in inv) and "flags" in rows.columns:
                flags = rows.loc[rows["year"] == y, "flags"]
                inv = _dict(_dict(flags.iloc[0] if len(flags) else None).get("invariance"))
            if not inv or "ok" not in inv:
                continue
            prev = inv.get("previous_year")
            prev = int(prev) if _finite(prev) is not None else None
            out.append((y, prev, bool(inv.get("ok")), self.inv_reason(inv)))
        return out

    def inv_reason(self, inv: dict) -> str:
        """Why a trend is not comparable, in the report's language: ``reason_zh`` in Chinese
        when given, else composed from the failing constructs or a changed questionnaire; the
        English ``reason`` otherwise."""
        if self.lang == "zh" and not inv.get("reason_zh") and not inv.get("ok", True):
            parts = []
            if inv.get("same_instrument") is False:
                parts.append("问卷版本不同")
            for r in _list(inv.get("constructs")):
                if r.get("ok") is False:
                    c = str(r.get("construct"))
                    parts.append(f"{self.cname(c)}（{c}）组合不变性不成立"
                                 f"（c = {_f(r.get('c'), 4)}，p = {_p(r.get('p'))}）")
            if parts:
                return "；".join(parts)
        return self.localized(inv, "reason")

    def trend_section(self, code: str, name: str) -> str:
        import plotly.graph_objects as go
        trend = self.q.trend(code, lang=self.lang)
        if not trend.empty:
            trend = trend[trend["year"] <= self.year]
        flags = self.invariance_flags(code)
        out = []
        for y, prev, ok, reason in flags:
            p = prev if prev is not None else y - 1
            if ok:
                text = self.t("comparable", prev=p, year=y)
                out.append(f'<div class="flag ok invariance">{_e(text)}</div>')
            else:
                text = self.t("not_comparable", reason=reason or "—")
                out.append(f'<div class="flag invariance">{_e(f"{p}→{y}: {text}")}</div>')
        if trend.empty:
            return "\n".join(out)
        fig = go.Figure()
        years = sorted(int(y) for y in trend["year"].unique())
        brands = trend[trend["level"] == "brand"]
        order = (brands.sort_values("year").groupby("code")["index"].last()
                 .sort_values(ascending=False).index.tolist())
        series = [(c, brands[brands["code"] == c], PALETTE[k % len(PALETTE)], 1.8)
                  for k, c in enumerate(order)]
        ind = trend[trend["level"] == "industry"]
        if not ind.empty:
            series.append((code, ind, INDUSTRY_COLOR, 4.0))
        hover = ("%{fullData.name}<br>%{x}: %{y:.1f}<br>" + self.t("ci", level=self.level)
                 + " %{customdata[0]:.1f}–%{customdata[1]:.1f}<br>" + self.t("n")
                 + " %{customdata[2]}<extra></extra>")
        for c, g, color, width in series:
            g = g.sort_values("year")
            is_ind = width > 2
            label = (name + self.t("industry_suffix")) if is_ind else str(g["name"].iloc[-1])
            xs = [int(v) for v in g["year"]]
            lo = g["ci_low"].astype(float).tolist()
            hi = g["ci_high"].astype(float).tolist()
            if len(xs) > 1:
                fig.add_trace(go.Scatter(
                    x=xs + xs[::-1], y=hi + lo[::-1], fill="toself", mode="lines",
                    fillcolor=_rgba(color, 0.15 if is_ind else 0.06),
                    line={"width": 0}, hoverinfo="skip", showlegend=False, legendgroup=c))
                err = None
            else:
                err = {"type": "data", "symmetric": False,
                       "array": [h - v for h, v in zip(hi, g["index"].astype(float))],
                       "arrayminus": [v - low for low, v in zip(lo, g["index"].astype(float))],
                       "color": color}
            fig.add_trace(go.Scatter(
                x=xs, y=g["index"].astype(float).tolist(), name=label, legendgroup=c,
                mode="lines+markers", line={"color": color, "width": width},
                marker={"size": 10 if is_ind else 7}, error_y=err,
                customdata=[[a, b, int(n) if _finite(n) is not None else ""]
                            for a, b, n in zip(lo, hi, g["n"])],
                hovertemplate=hover))
        for y, prev, ok, _reason in flags:
            if not ok:
                x0 = (prev if prev is not None else y - 1)
                fig.add_vline(x=(x0 + y) / 2, line_dash="dot", line_color="#e0a000",
                              annotation_text=self.t("not_comparable_short"),
                              annotation_font_color="#8a5300")
        fig.update_layout(
            title={"text": _sentence(self.t("trend", industry=name))},
            xaxis={"title": {"text": self.t("year_axis")}, "tickmode": "array",
                   "tickvals": years, "ticktext": [str(y) for y in years]},
            yaxis={"title": {"text": self.t("index_axis")}},
            legend={"orientation": "v", "x": 1.02, "y": 1}, hovermode="closest",
            margin={"l": 60, "r": 20, "t": 70, "b": 50})
        return "\n".join([self.figure(fig, height=460), *out,
                          self.caption(self.t("trend_caption", level=self.level))])

    # drivers ------------------------------------------------------------------------------------
    def drivers_section(self, code: str, name: str, fit: dict) -> str:
        drivers = _dict(_dict(fit.get("result")).get("drivers"))
        impacts = [r for r in _list(drivers.get("impacts")) if r.get("driver") is not None]
        items = _list(drivers.get("items"))
        if not impacts and not items:
            return ""
        out = [f'<h3 class="drivers">{_e(self.t("drivers"))}</h3>']
        if impacts:
            out.append(self.impacts_figure(impacts, name))
            out.append(self.ipma_figure(code, impacts, name))
            std = any("total_effect_std" in r for r in impacts)
            heads = ([(self.t("construct"), False), (self.t("total_effect"), True)]
                     + ([(self.t("total_effect_std"), True)] if std else [])
                     + [(self.t("impact_5"), True)])
            rows = [[_e(self.cname(str(r["driver"]))), _f(r.get("total_effect"))]
                    + ([_f(r.get("total_effect_std"))] if std else [])
                    + [_f(r.get("impact_5"), 2)] for r in impacts]
            out.append(_table(heads, rows, cls="impacts"))
        if items:
            out.append(f"<h4>{_e(self.t('items'))}</h4>")
            q = self.questionnaire(fit.get("survey_id"))
            wording = {i.code: (i.zh if self.lang == "zh" else i.en) for i in q.items} if q else {}
            perf = any("performance" in r for r in items)
            heads = ([(self.t("construct"), False), (self.t("indicator"), False),
                      (self.t("wording"), False), (self.t("index_weight"), True),
                      (self.t("item_importance"), True)]
                     + ([(self.t("item_performance"), True)] if perf else []))
            rows = [[_e(self.cname(str(r.get("construct", "")))), _e(r.get("indicator")),
                     _e(wording.get(str(r.get("indicator")), "")), _f(r.get("index_weight")),
                     _f(r.get("importance"))]
                    + ([_f(r.get("performance"), self.d)] if perf else []) for r in items]
            out.append(_table(heads, rows, cls="items"))
        return "\n".join(out)

    def impacts_figure(self, impacts: list[dict], name: str) -> str:
        import plotly.graph_objects as go
        rows = sorted((r for r in impacts if _finite(r.get("impact_5")) is not None),
                      key=lambda r: float(r["impact_5"]))
        if not rows:
            return ""
        fig = go.Figure(go.Bar(
            x=[float(r["impact_5"]) for r in rows],
            y=[self.cname(str(r["driver"])) for r in rows], orientation="h",
            marker={"color": PALETTE[0]},
            text=[f"{float(r['impact_5']):+.2f}" for r in rows], textposition="outside",
            customdata=[[_finite(r.get("total_effect"))] for r in rows],
            hovertemplate=("%{y}: %{x:+.2f}<br>" + self.t("total_effect")
                           + " %{customdata[0]:.3f}<extra></extra>")))
        fig.update_layout(title={"text": _sentence(self.t("impacts", industry=name))},
                          xaxis={"title": {"text": self.t("impact_axis")}}, showlegend=False,
                          margin={"l": 140, "r": 40, "t": 70, "b": 50})
        return self.figure(fig, height=max(260, 100 + 40 * len(rows)))

    def ipma_figure(self, code: str, impacts: list[dict], name: str) -> str:
        """One panel per brand published this year (and one for the industry): x = the
        driver's total effect on SAT, y = the brand's published index of that driver."""
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots
        imp = {str(r["driver"]): _finite(r.get("total_effect")) for r in impacts}
        imp = {k: v for k, v in imp.items() if v is not None}
        if not imp:
            return ""
        s = self.scores
        part = s[(s["year"] == self.year) & s["construct"].isin(list(imp))
                 & s["publishable"].astype(bool)
                 & (((s["level"] == "brand") & (s["parent"] == code))
                    | ((s["level"] == "industry") & (s["code"] == code)))]
        if part.empty:
            return ""
        sat = self.score_rows("brand", self.year)
        sat = sat[(sat["parent"] == code) & sat["publishable"].astype(bool)]
        order = sat.sort_values("index", ascending=False)["code"].tolist()
        panels = [("industry", code, name + self.t("industry_suffix"))] + [
            ("brand", b, self.q.brand_name(b, self.lang)) for b in order
            if not part[(part["level"] == "brand") & (part["code"] == b)].empty]
        cols = 3
        nrows = (len(panels) + cols - 1) // cols
        fig = make_subplots(rows=nrows, cols=cols, subplot_titles=[p[2] for p in panels],
                            shared_xaxes=True, horizontal_spacing=0.06,
                            vertical_spacing=0.12 if nrows > 1 else 0.1)
        drivers = list(imp)
        for k, (lvl, c, label) in enumerate(panels):
            g = part[(part["level"] == lvl) & (part["code"] == c)].set_index("construct")
            row, col = k // cols + 1, k % cols + 1
            for j, drv in enumerate(drivers):
                if drv not in g.index:
                    continue
                perf = float(g.at[drv, "index"])
                fig.add_trace(go.Scatter(
                    x=[imp[drv]], y=[perf], mode="markers",
                    marker={"size": 11, "color": PALETTE[j % len(PALETTE)]},
                    name=self.cname(drv), legendgroup=drv, showlegend=(k == 0),
                    hovertemplate=(f"{_e(label)}<br>{_e(self.cname(drv))}<br>"
                                   f"{_e(self.t('importance'))}: %{{x:.3f}}<br>"
                                   f"{_e(self.t('performance'))}: %{{y:.1f}}<extra></extra>")),
                    row=row, col=col)
            mean_x = sum(imp.values()) / len(imp)
            fig.add_vline(x=mean_x, line_dash="dot", line_color="#aaa", row=row, col=col)
        fig.update_xaxes(title_text=self.t("importance"), row=nrows)
        fig.update_yaxes(title_text=self.t("performance"), col=1)
        fig.update_layout(title={"text": _sentence(self.t("ipma", industry=name))},
                          legend={"orientation": "h", "y": -0.12 if nrows == 1 else -0.06},
                          margin={"l": 60, "r": 20, "t": 90, "b": 70})
        return self.figure(fig, height=120 + 260 * nrows)

    # diagnostics --------------------------------------------------------------------------------
    def diagnostics_section(self, fit: dict) -> str:
        result = _dict(fit.get("result"))
        diag = _dict(result.get("diagnostics"))
        # PLSResults.summary() puts the same keys at the top level
        for key in ("reliability", "htmt", "gof", "srmr", "verify"):
            if key not in diag and key in result:
                diag[key] = result[key]
        out = [f'<h3 class="diagnostics">{_e(self.t("diagnostics"))}</h3>']
        status = fit.get("status")
        verify = _dict(diag.get("verify"))
        pairs = [(self.t("status"), _e(self.t("ok") if status == "ok"
                                        else (status or "—") if status != "failed"
                                        else self.t("failed_status"))),
                 (self.t("n"), _e(_count(fit.get("n")))),
                 (self.t("converged"), _e(self.yes_no(fit.get("converged"))
                                          if fit.get("converged") is not None else "—")),
                 (self.t("iterations"), _e(fit.get("iterations", "—")))]
        if fit.get("model_name"):
            pairs.append((self.t("model"), _e(fit["model_name"])))
        msg = self.localized(fit, "message")
        if msg:
            pairs.append((self.t("message"), _e(msg)))
        if verify.get("status"):
            v = str(verify["status"])
            label = self.t(v) if v in ("admissible", "inadmissible") else v
            cls = "good" if v == "admissible" else "bad"
            pairs.append((self.t("verify"), f'<span class="{cls}">{_e(label)}</span>'))
        out.append(_kv(pairs))
        out.append(self._paths(result))
        out.append(self._r2(result))
        out.append(self._reliability(diag))
        out.append(self._htmt(diag))
        out.append(self._fit(diag))
        out.append(self._verify(verify))
        out.append(self._records(diag.get("effects"), "effects",
                                 [("from", "from"), ("to", "to"), ("direct", "direct"),
                                  ("indirect", "indirect"), ("total", "total")]))
        out.append(self._records(diag.get("f2"), "f2", [("from", "from"), ("to", "to"),
                                                        ("f2", "f²")]))
        out.append(self._records(diag.get("vif_inner"), "vif_inner",
                                 [("from", "from"), ("to", "to"), ("vif", "VIF")]))
        out.append(self._bootstrap(_dict(result.get("bootstrap"))))
        out.append(self._invariance(_dict(result.get("invariance"))))
        out.append(self._outer(result))
        out.append(self._missing(result))
        warnings = [w for w in (result.get("warnings") or []) if isinstance(w, str)] \
            if isinstance(result.get("warnings"), list) else []
        if warnings:
            out.append(f"<h4>{_e(self.t('warnings'))}</h4><ul>"
                       + "".join(f"<li>{_e(w)}</li>" for w in warnings) + "</ul>")
        return "\n".join(x for x in out if x)

    def _paths(self, result: dict) -> str:
        paths = _list(result.get("paths"))
        if not paths:
            return ""
        has_ci = any("ci_low" in p for p in paths)
        heads = [(self.t("from"), False), (self.t("to"), False), (self.t("estimate"), True),
                 (self.t("se"), True), ("t", True), ("p", True)]
        if has_ci:
            heads.append(("CI", True))
        rows = []
        for p in paths:
            row = [_e(self.cname(str(p.get("from")))), _e(self.cname(str(p.get("to")))),
                   _f(p.get("estimate")), _f(p.get("se")), _f(p.get("t"), 2), _p(p.get("p"))]
            if has_ci:
                row.append(f"{_f(p.get('ci_low'))}–{_f(p.get('ci_high'))}"
                           if "ci_low" in p else "")
            rows.append(row)
        return f"<h4>{_e(self.t('paths'))}</h4>" + _table(heads, rows, cls="paths")

    def _r2(self, result: dict) -> str:
        r2, adj = _dict(result.get("r2")), _dict(result.get("r2_adj"))
        if not r2:
            return ""
        heads = [(self.t("construct"), False), (self.t("r2"), True), (self.t("r2_adj"), True)]
        rows = [[_e(self.cname(c)), _f(v), _f(adj.get(c))] for c, v in r2.items()]
        return f"<h4>{_e(self.t('r2'))}</h4>" + _table(heads, rows, cls="r2")

    def _reliability(self, diag: dict) -> str:
        rel = _list(diag.get("reliability"))
        if not rel:
            return ""
        keys = ("alpha", "rho_a", "rho_c", "ave")
        heads = [(self.t("construct"), False), ("Cronbach's α", True), ("ρA", True),
                 ("ρC", True), ("AVE", True)]
        rows = []
        for r in rel:
            row = [_e(self.cname(str(r.get("construct"))))]
            for k in keys:
                v = _finite(r.get(k))
                bad = v is not None and v < RELIABILITY_MIN[k]
                row.append(f'<span class="bad">{_f(v)}</span>' if bad else _f(v))
            rows.append(row)
        return (f"<h4>{_e(self.t('reliability'))}</h4>" + _table(heads, rows, cls="reliability")
                + f'<p class="caption">{_e(self.t("reliability_caption"))}</p>')

    def _htmt(self, diag: dict) -> str:
        ht = _list(diag.get("htmt"))
        if not ht:
            return ""
        heads = [(self.t("construct"), False), (self.t("construct"), False), ("HTMT", True)]
        rows = []
        for r in ht:
            v = _finite(r.get("htmt"))
            cell = f'<span class="bad">{_f(v)}</span>' if v is not None and v >= HTMT_MAX \
                else _f(v)
            rows.append([_e(self.cname(str(r.get("a")))), _e(self.cname(str(r.get("b")))),
                         cell])
        return (f"<details><summary>{_e(self.t('htmt'))}</summary>"
                + _table(heads, rows, cls="htmt")
                + f'<p class="caption">{_e(self.t("htmt_caption"))}</p></details>')

    def _fit(self, diag: dict) -> str:
        pairs = []
        if "gof" in diag:
            pairs.append((self.t("gof"), _f(diag.get("gof"))))
        srmr = _dict(diag.get("srmr"))
        if "saturated" in srmr:
            pairs.append((self.t("srmr_saturated"), _f(srmr.get("saturated"))))
        if "estimated" in srmr:
            pairs.append((self.t("srmr_estimated"), _f(srmr.get("estimated"))))
        if not pairs:
            return ""
        return f'<h4>{_e(self.t("fit"))}</h4><div class="fit">{_kv(pairs)}</div>'

    def _records(self, records, key: str, columns: list[tuple[str, str]]) -> str:
        """A folded table of a list of records (effects, f², inner VIF); construct codes in
        "from"/"to" are named, numbers to three decimals."""
        recs = _list(records)
        if not recs:
            return ""
        heads = [(self.t(label) if label in TEXTS[self.lang] else label,
                  name not in ("from", "to")) for name, label in columns]
        rows = [[_e(self.cname(str(r.get(name)))) if name in ("from", "to")
                 else _f(r.get(name)) for name, _ in columns] for r in recs]
        return (f"<details><summary>{_e(self.t(key))}</summary>"
                + _table(heads, rows, cls=key.replace("_", "-")) + "</details>")

    def _verify(self, verify: dict) -> str:
        checks = _list(verify.get("checks"))
        if not checks:
            return ""
        heads = [(self.t("check"), False), (self.t("status"), False), (self.t("detail"), False)]
        rows = [[_e(c.get("check")),
                 '<span class="good">✓</span>' if c.get("ok") else '<span class="bad">✗</span>',
                 _e(self.localized(c, "detail"))] for c in checks]
        return f"<h4>{_e(self.t('verify'))}</h4>" + _table(heads, rows, cls="verify")

    def _bootstrap(self, boot: dict) -> str:
        keys = ("n_boot", "seed", "n_valid", "n_not_converged", "n_failed", "stratified_by")
        pairs = [(self.t(k), _e(boot[k])) for k in keys if k in boot]
        if not pairs:
            return ""
        return f'<h4>{_e(self.t("bootstrap"))}</h4><div class="bootstrap">{_kv(pairs)}</div>'

    def _invariance(self, inv: dict) -> str:
        if not inv:
            return ""
        prev = inv.get("previous_year", "—")
        pairs = []
        if "ok" in inv:
            ok = bool(inv.get("ok"))
            verdict = self.t("comparable_short" if ok else "not_comparable_short")
            pairs.append((self.t("invariance_ok"),
                          f'<span class="{"good" if ok else "bad"}">{_e(verdict)}</span>'))
        if "same_instrument" in inv:
            pairs.append((self.t("same_instrument"), _e(self.yes_no(inv["same_instrument"]))))
        reason = self.inv_reason(inv)
        if reason:
            pairs.append((self.t("reason"), _e(reason)))
        for key in ("permutations", "alpha"):
            if inv.get(key) is not None:
                pairs.append((self.t(key), _e(inv[key])))
        out = (f"<h4>{_e(self.t('invariance', prev=prev))}</h4>"
               f'<div class="invariance-detail">{_kv(pairs)}</div>')
        cons = _list(inv.get("constructs"))
        if cons:
            q5 = any("quantile_5" in r for r in cons)
            heads = ([(self.t("construct"), False), ("c", True)]
                     + ([(self.t("quantile_5"), True)] if q5 else [])
                     + [("p", True), (self.t("invariance_ok"), False)])
            rows = [[_e(self.cname(str(r.get("construct")))), _f(r.get("c"), 4)]
                    + ([_f(r.get("quantile_5"), 4)] if q5 else [])
                    + [_p(r.get("p")), '<span class="good">✓</span>' if r.get("ok")
                       else '<span class="bad">✗</span>'] for r in cons]
            out += _table(heads, rows, cls="invariance")
        return out

    def _outer(self, result: dict) -> str:
        outer = _list(result.get("outer"))
        if not outer:
            return ""
        heads = [(self.t("construct"), False), (self.t("indicator"), False),
                 (self.t("outer_weight"), True), (self.t("loading"), True)]
        rows = [[_e(self.cname(str(r.get("construct")))), _e(r.get("indicator")),
                 _f(r.get("weight")), _f(r.get("loading"))] for r in outer]
        return (f"<details><summary>{_e(self.t('outer'))}</summary>"
                + _table(heads, rows, cls="outer") + "</details>")

    def _missing(self, result: dict) -> str:
        miss = _list(result.get("missing"))
        if not miss:
            return ""
        keys = [k for k in miss[0] if k != "construct"]
        heads = [(self.t("construct"), False)] + [(k, True) for k in keys]
        rows = [[_e(self.cname(str(r.get("construct"))))] + [_e(r.get(k, "")) for k in keys]
                for r in miss]
        return (f"<details><summary>{_e(self.t('missing'))}</summary>"
                + _table(heads, rows, cls="missing") + "</details>")

    # failed, issues, footer -----------------------------------------------------------------------
    def failed_section(self) -> str:
        failed = self.failed()
        out = [f'<section id="failed"><h2>{_e(self.t("failed"))}</h2>']
        if not failed:
            out.append(f"<p>{_e(self.t('failed_none'))}</p>")
        else:
            heads = [(self.t("industry"), False), (self.t("sector"), False),
                     (self.t("n"), True), (self.t("reason"), False)]
            rows = []
            for code, reason in failed.items():
                fit = self.fit(self.year, code)
                rows.append([f'<a href="#industry-{_e(code)}">{_e(_sentence(self.iname(code)))}'
                             "</a>", _e(self.sname(self.sector_of(code))),
                             _e(_count(fit.get("n")) if fit else ""),
                             _e(reason or self.t("failed_status"))])
            out.append(_table(heads, rows, cls="failed-industries"))
        out.append("</section>")
        return "\n".join(out)

    def issues_section(self) -> str:
        issues = [i for i in _list(self.release.get("issues"))
                  if i.get("kind") != "industry_failed"]
        out = [f'<section id="issues"><h2>{_e(self.t("issues"))}</h2>']
        if not issues:
            out.append(f"<p>{_e(self.t('issues_none'))}</p>")
        else:
            heads = [(self.t("where"), False), (self.t("kind"), False),
                     (self.t("message"), False)]
            rows = []
            for i in issues:
                where = i.get("industry") or i.get("sector") or ""
                if i.get("industry"):
                    where = self.iname(str(i["industry"]))
                elif i.get("sector"):
                    where = self.sname(str(i["sector"]))
                rows.append([_e(where), _e(i.get("kind", "")),
                             _e(self.localized(i, "message"))])
            out.append(_table(heads, rows, cls="issues"))
        out.append("</section>")
        return "\n".join(out)

    def footer(self) -> str:
        bands = " · ".join(
            f"≥ {b[0]:g} {self.q.band_text(b[1], self.lang)}"
            for b in sorted(self.cfg.bands, key=lambda b: b[0], reverse=True))
        out = [f'<section id="method"><h2>{_e(self.t("method"))}</h2>',
               f"<p>{_e(self.t('method_text'))}</p>",
               f"<p>{_e(self.t('bands_text', bands=bands))}</p>",
               "<p>" + _e(self.t("significance_text", level=self.level,
                                 min_n=self.cfg.min_valid_n)) + "</p>",
               "</section>",
               f"<footer>{_e(self.t('generated_by', version=self.version()))} · "
               f"{_e(self.t('release_id'))} {_e(self.release['id'])} · "
               f"<code>{_e(self.release.get('content_sha256') or '')}</code>"
               + (f" · {_e(self.t('demo'))}" if self.demo else "") + "</footer>"]
        return "\n".join(out)


def _count(v) -> str:
    f = _finite(v)
    return "" if f is None else f"{int(round(f)):,d}"


def render_report(store, year: int, *, lang: str = "zh") -> str:
    """The HTML text of the report of ``year``'s published release (see the module text)."""
    return _Report(store, year, lang).render()


def write_report(store, year: int, path: str | Path, *, lang: str = "zh") -> Path:
    """Write the self-contained HTML report of ``year``'s published release to ``path``
    (UTF-8; written to a temporary file and renamed, so never half-written). A year without a
    published release is a :class:`~ncsi.errors.ReleaseError` naming the published years."""
    text = render_report(store, year, lang=lang)
    return _atomic_write(Path(path),
                         lambda p: p.write_text(text, encoding="utf-8", newline="\n"))
