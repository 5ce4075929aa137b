"""Export the published rankings of a year as CSV, XLSX or JSON (methodology §6 ranking rows).

Every number comes from :class:`ncsi.query.Query` (published releases only); a year without a
published release is a :class:`~ncsi.errors.ReleaseError` naming the year and the published
years. Rows are those of :meth:`Query.ranking` — per industry, its brands and its own row, sorted
by the year's score — for every industry published that year (or the ``industries`` asked for),
industries in taxonomy order, with the sector and industry beside each row, the brand's rank
(as the dashboard ranks: 1, 2, … by the year's score, ties share a rank, the industry's row and
brands not measured that year have none) and the year's confidence interval.

Scores, confidence limits and changes are given at the published precision (``published_decimals``
of ``surveys/index.yaml``); changes and significance come from the unrounded scores, exactly as
:meth:`Query.display_rows` shows them.

- **CSV**: UTF-8 with a byte-order mark (Excel opens Chinese correctly), one header row, each
  header bilingual ("品牌 Brand"); "NM" where a score is not published; names, bands, levels and
  yes/no in ``lang``.
- **XLSX** (openpyxl): sheet "排名 Rankings" holds every industry's rows in ONE table with sector
  and industry columns (filterable; the industry's own row bold on grey), the same bilingual
  header row as the CSV; scores, CI, changes, ranks, years and n are numbers (shown with the
  published precision), "NM" stays text. Sheet "说明 About" names the release (id, content hash,
  publication time, code version), explains NM, the marks and the bands, and says DEMO DATA when
  the brands are fictitious.
- **JSON**: a list of row objects with stable English keys (see :data:`JSON_KEYS`): industry and
  sector codes and names, level, code, name, rank, baseline_year, ``score`` (null when not
  published) with ``status`` "published" | "NM", ``ci_low``, ``ci_high``, ``ci_level``,
  ``scores`` (year → score or null), changes, ``significant`` (true/false/null), ``mark``,
  ``band`` (code) and ``band_label`` (in ``lang``), ``n``, ``release_id`` and ``demo``.

Files are written to a temporary file beside ``path`` and renamed into place, so a failed export
never leaves half a file.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Iterable

import pandas as pd

from .errors import NCSIError, ReleaseError
from .scoring import NM, ranking_year_columns

FORMATS = ("csv", "xlsx", "json")
LANGS = ("zh", "en")
STATUS_PUBLISHED = "published"
STATUS_NM = NM

#: Column labels (zh, en); the wording of dashboards/i18n/{zh,en}.yaml where it has one.
HEADERS: dict[str, tuple[str, str]] = {
    "sector": ("领域", "Sector"),
    "industry": ("行业", "Industry"),
    "rank": ("排名", "Rank"),
    "name": ("品牌", "Brand"),
    "baseline_year": ("基准年", "Baseline year"),
    "ci_low": ("{level}% 置信区间下限", "{level}% CI low"),
    "ci_high": ("{level}% 置信区间上限", "{level}% CI high"),
    "change_points": ("变化（分）", "Change (pts)"),
    "change_percent": ("变化（%）", "Change (%)"),
    "mark": ("显著性", "Significance"),
    "significant": ("显著变化", "Significant change"),
    "band": ("满意度等级", "Band"),
    "n": ("样本量", "n"),
    "level": ("层级", "Level"),
    "code": ("代码", "Code"),
    "industry_code": ("行业代码", "Industry code"),
    "sector_code": ("领域代码", "Sector code"),
}

#: The columns of the CSV and XLSX tables; "years" stands for one column per published year.
TABLE_COLUMNS = ("sector", "industry", "rank", "name", "baseline_year", "years", "ci_low",
                 "ci_high", "change_points", "change_percent", "mark", "significant", "band",
                 "n", "level", "code", "industry_code", "sector_code")

#: The keys of every JSON row object, in order.
JSON_KEYS = ("year", "release_id", "demo", "sector", "sector_name", "industry", "industry_name",
             "level", "code", "name", "rank", "baseline_year", "score", "status", "ci_low",
             "ci_high", "ci_level", "scores", "change_points", "change_percent", "significant",
             "mark", "band", "band_label", "n")

LEVEL_LABELS = {"brand": ("品牌", "brand"), "industry": ("行业", "industry")}
YES_NO = {True: ("是", "yes"), False: ("否", "no")}

SHEET_RANKINGS = "排名 Rankings"
SHEET_ABOUT = "说明 About"
DEMO_BANNER = "演示数据——品牌均为虚构 / DEMO DATA — fictitious brands"


def header(key: str, *, level: float | None = None) -> str:
    """The bilingual header of a column: "品牌 Brand"; a year column is the year itself."""
    if key.isdigit():
        return key
    zh, en = HEADERS[key]
    pct = _pct(level) if level is not None else "90"
    return f"{zh.format(level=pct)} {en.format(level=pct)}"


def _pct(level: float) -> str:
    v = round(float(level) * 100, 6)
    return str(int(v)) if float(v).is_integer() else str(v)


def _lang(lang: str) -> int:
    if lang not in LANGS:
        raise NCSIError(f"unknown language '{lang}'; use zh or en",
                        message_zh=f"未知语言 '{lang}'；请用 zh 或 en")
    return LANGS.index(lang)


# --------------------------------------------------------------------------------------------
# the rows
# --------------------------------------------------------------------------------------------

def published_release(query, year: int) -> dict:
    """The published release row of ``year``; a :class:`ReleaseError` naming the published
    years when there is none."""
    year = int(year)
    published = sorted({y for y, _ in query.published_releases()})
    release = query.store.release(year) if year in published else None
    if release is None:
        listed = ", ".join(map(str, published)) or "none yet"
        raise ReleaseError(
            f"no published release for {year}; published years: {listed} — run ncsi build "
            f"--year {year} and ncsi publish --year {year} first",
            message_zh=f"{year} 年没有已发布的版本；已发布年份："
                       f"{'、'.join(map(str, published)) or '暂无'}")
    return release


def select_industries(query, year: int, industries: Iterable[str] | None) -> list[str]:
    """The industries to export, in taxonomy order: every industry published in ``year``, or
    the ones asked for (an unknown code is an error naming the known ones; a known code
    without a published index that year names the published ones)."""
    published = query.industries(year)
    if not industries:
        return published
    asked = list(dict.fromkeys(industries))
    for code in asked:
        query.industry_name(code)  # an unknown code → InstrumentError naming the known codes
    missing = [c for c in asked if c not in published]
    if missing:
        raise ReleaseError(
            f"industry {', '.join(missing)} has no published index for {year}; published "
            f"industries: {', '.join(published)}",
            message_zh=f"{year} 年行业 {'、'.join(missing)} 没有已发布的指数；已发布行业："
                       f"{'、'.join(published)}")
    return [c for c in published if c in asked]


def _round(v, decimals: int):
    if v is None or v is pd.NA:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return round(f, decimals) if math.isfinite(f) else None


def _int(v):
    if v is None or v is pd.NA:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return int(round(f)) if math.isfinite(f) else None


def ranking_records(query, year: int, industry: str, *, lang: str = "zh",
                    years: list[str] | None = None, release: dict | None = None) -> list[dict]:
    """The published ranking of one industry as typed row dicts with the :data:`JSON_KEYS`
    (numbers at the published precision, None where not published). ``years``: the year
    columns to give in ``scores`` (default: those of the ranking)."""
    li = _lang(lang)
    ranking = query.ranking(year, industry, lang=lang)
    if ranking.empty:
        return []
    cfg = query.config
    d = cfg.published_decimals
    ycols = ranking_year_columns(ranking)
    years = list(years) if years is not None else ycols
    latest = str(year)
    hist = query.history(industry, year=year, lang=lang)
    cur = hist[hist["year"] == int(year)].drop_duplicates(["level", "code"]) \
        .set_index(["level", "code"])
    sector = query.taxonomy.sector_of(industry)
    is_brand = ranking["level"] == "brand"
    ranks = ranking.loc[is_brand, latest].rank(method="min", ascending=False)
    demo = query.is_demo()
    release_id = None if release is None else int(release["id"])
    out = []
    for pos, r in ranking.iterrows():
        score = r[latest]
        published = score is not None and not pd.isna(score)
        ci_low = ci_high = None
        if published and (r["level"], r["code"]) in cur.index:
            row = cur.loc[(r["level"], r["code"])]
            ci_low, ci_high = _round(row["ci_low"], d), _round(row["ci_high"], d)
        rank = ranks.get(pos) if r["level"] == "brand" else None
        band = r["band"] if isinstance(r["band"], str) and r["band"] else None
        sig = r["significant"]
        out.append({
            "year": int(year),
            "release_id": release_id,
            "demo": demo,
            "sector": sector.code,
            "sector_name": query.sector_name(sector.code, lang),
            "industry": industry,
            "industry_name": query.industry_name(industry, lang),
            "level": str(r["level"]),
            "code": str(r["code"]),
            "name": str(r["name"]),
            "rank": _int(rank),
            "baseline_year": _int(r["baseline_year"]),
            "score": _round(score, d),
            "status": STATUS_PUBLISHED if published else STATUS_NM,
            "ci_low": ci_low,
            "ci_high": ci_high,
            "ci_level": float(cfg.significance_level),
            "scores": {y: (_round(r[y], d) if y in ycols else None) for y in years},
            "change_points": _round(r["change_points"], d),
            "change_percent": _round(r["change_percent"], d),
            "significant": None if sig is None or pd.isna(sig) else bool(sig),
            "mark": "" if r["mark"] is None or pd.isna(r["mark"]) else str(r["mark"]),
            "band": band,
            "band_label": query.band_text(band, LANGS[li]) if band else None,
            "n": _int(r["n"]),
        })
    return out


def export_records(store, year: int, *, lang: str = "zh",
                   industries: Iterable[str] | None = None, query=None
                   ) -> tuple[list[dict], list[str], dict]:
    """Every exported row (see :func:`ranking_records`), the year columns (every published year
    up to ``year``) and the release row."""
    from .query import Query
    _lang(lang)
    q = query or Query(store)
    release = published_release(q, year)
    codes = select_industries(q, int(year), industries)
    years = [str(y) for y in q.published_years() if y <= int(year)]
    rows: list[dict] = []
    for code in codes:
        rows.extend(ranking_records(q, int(year), code, lang=lang, years=years,
                                    release=release))
    return rows, years, release


# --------------------------------------------------------------------------------------------
# writers
# --------------------------------------------------------------------------------------------

def _columns(years: list[str]) -> list[str]:
    out: list[str] = []
    for c in TABLE_COLUMNS:
        out.extend(years if c == "years" else [c])
    return out


def _cell(rec: dict, key: str, li: int):
    """The typed value of one table cell (numbers stay numbers; NM and labels are text)."""
    if key.isdigit():
        v = rec["scores"].get(key)
        return NM if v is None else v
    if key == "sector":
        return rec["sector_name"]
    if key == "industry":
        return rec["industry_name"]
    if key == "industry_code":
        return rec["industry"]
    if key == "sector_code":
        return rec["sector"]
    if key == "level":
        return LEVEL_LABELS.get(rec["level"], (rec["level"],) * 2)[li]
    if key == "significant":
        v = rec["significant"]
        return None if v is None else YES_NO[bool(v)][li]
    if key == "band":
        return rec["band_label"]
    return rec[key]


def table_frame(rows: list[dict], years: list[str], *, lang: str = "zh",
                level: float = 0.9) -> pd.DataFrame:
    """The export table with typed cells (None for empty) and bilingual headers."""
    li = _lang(lang)
    cols = _columns(years)
    data = [[_cell(r, c, li) for c in cols] for r in rows]
    return pd.DataFrame(data, columns=[header(c, level=level) for c in cols], dtype=object)


def _text(v, decimals: int) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return f"{v:.{decimals}f}"
    return str(v)


def _atomic_write(path: Path, write) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def _write_csv(rows, years, path: Path, lang: str, decimals: int, level: float) -> None:
    cols = _columns(years)
    li = _lang(lang)
    data = [[_text(_cell(r, c, li), decimals) for c in cols] for r in rows]
    frame = pd.DataFrame(data, columns=[header(c, level=level) for c in cols])
    frame.to_csv(path, index=False, encoding="utf-8-sig")


def _number_formats(decimals: int) -> dict[str, str]:
    z = "0." + "0" * decimals if decimals > 0 else "0"
    return {"score": z, "points": f"+{z};-{z};{z}", "percent": f'+{z}"%";-{z}"%";{z}"%"',
            "int": "0"}


def _write_xlsx(rows, years, path: Path, lang: str, decimals: int, level: float,
                release: dict, query) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    li = _lang(lang)
    cols = _columns(years)
    fmt = _number_formats(decimals)
    kind = {c: "score" for c in years + ["ci_low", "ci_high"]}
    kind.update(change_points="points", change_percent="percent", rank="int",
                baseline_year="int", n="int")
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_RANKINGS
    heads = [header(c, level=level) for c in cols]
    ws.append(heads)
    bold = Font(bold=True)
    grey = PatternFill("solid", fgColor="EEF1F5")
    for cell in ws[1]:
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    widths = [len(h) + 2 for h in heads]
    for r in rows:
        values = [_cell(r, c, li) for c in cols]
        ws.append(values)
        i = ws.max_row
        for j, (c, v) in enumerate(zip(cols, values), start=1):
            cell = ws.cell(row=i, column=j)
            if c in kind and isinstance(v, (int, float)) and not isinstance(v, bool):
                cell.number_format = fmt[kind[c]]
            if r["level"] == "industry":
                cell.font = bold
                cell.fill = grey
            widths[j - 1] = max(widths[j - 1], len(str(v)) + 2 if v is not None else 0)
    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(max(w, 6), 40)
    ws.freeze_panes = "E2"
    if rows:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(cols))}{len(rows) + 1}"

    about = wb.create_sheet(SHEET_ABOUT)
    for line in _about_lines(release, query, level, lang):
        about.append(list(line))
    for cell in about["A"]:
        cell.font = bold
        cell.alignment = Alignment(vertical="top")
    about.column_dimensions["A"].width = 34
    about.column_dimensions["B"].width = 100
    text_not_formulas(wb)
    wb.save(path)


def text_not_formulas(wb) -> None:
    """Keep every text cell of workbook ``wb`` text: openpyxl stores a string that starts with
    "=" as a formula, so a brand name such as ``=HYPERLINK(…)`` from a registry file would become
    a live formula in the spreadsheet (formula injection). NCSI writes no formulas; such cells
    are stored as the text they are."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"


def _about_lines(release: dict, query, level: float, lang: str) -> list[tuple[str, str]]:
    prov = release.get("provenance") or {}
    published = release.get("published_at")
    code = prov.get("ncsi_version") or ""
    if prov.get("git_commit"):
        code = f"{code} ({prov['git_commit']})"
    cfg = query.config
    bands = " · ".join(f"≥ {b[0]:g} {b[2]} {b[3]}" for b in
                       sorted(cfg.bands, key=lambda b: b[0], reverse=True))
    lines = [
        ("标题 Title", f"全国顾客满意度指数排名 {release['year']} 年 / NCSI rankings "
                     f"{release['year']}"),
        ("年份 Year", str(release["year"])),
        ("版本编号 Release id", str(release["id"])),
        ("发布时间 Published at", published.isoformat() if published is not None else ""),
        ("内容哈希 Content hash (SHA-256)", str(release.get("content_sha256") or "")),
        ("代码版本 Code version", code),
        ("语言 Language", lang),
    ]
    if query.is_demo():
        lines.append(("数据 Data", DEMO_BANNER))
    lines += [
        ("NM", f"该年未测评或有效样本不足 {cfg.min_valid_n} 份而未发布 / not measured that year, "
               f"or fewer than {cfg.min_valid_n} valid interviews and so not published"),
        ("显著性 Significance", f"▲/▼ 表示与上年相比在 {_pct(level)}% 置信水平上显著上升/下降 / "
                             f"a rise/fall from the previous year significant at the "
                             f"{_pct(level)}% level"),
        ("满意度等级 Bands", bands),
        ("精度 Precision", f"得分保留 {cfg.published_decimals} 位小数（按发布值分级）/ scores "
                         f"at {cfg.published_decimals} decimal(s), as published"),
    ]
    return lines


def _write_json(rows, path: Path) -> None:
    path.write_text(json.dumps(rows, ensure_ascii=False, indent=1, allow_nan=False) + "\n",
                    encoding="utf-8")


def export_rankings(store, year: int, fmt: str, path: str | Path, *, lang: str = "zh",
                    industries: Iterable[str] | None = None) -> Path:
    """Write the published rankings of ``year`` to ``path`` as ``fmt`` ("csv", "xlsx" or
    "json"); see the module text for each layout. Returns the path written.

    Raises :class:`ReleaseError` when ``year`` has no published release (naming the published
    years) or an industry asked for has no published index that year, and
    :class:`~ncsi.errors.InstrumentError` for an unknown industry code.
    """
    from .query import Query
    fmt = str(fmt).lower()
    if fmt not in FORMATS:
        raise NCSIError(f"unknown export format '{fmt}'; use one of {', '.join(FORMATS)}",
                        message_zh=f"未知导出格式 '{fmt}'；可用：{'、'.join(FORMATS)}")
    q = Query(store)
    rows, years, release = export_records(store, year, lang=lang, industries=industries,
                                          query=q)
    decimals = q.config.published_decimals
    level = q.config.significance_level
    if fmt == "csv":
        return _atomic_write(path, lambda p: _write_csv(rows, years, p, lang, decimals, level))
    if fmt == "xlsx":
        return _atomic_write(path, lambda p: _write_xlsx(rows, years, p, lang, decimals, level,
                                                         release, q))
    return _atomic_write(path, lambda p: _write_json(rows, p))
