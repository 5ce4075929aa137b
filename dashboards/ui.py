"""Helpers of the NCSI dashboard that need no Streamlit: texts, number formats, the ranking table
as shown, its CSV/XLSX exports and the trend chart.

Every word the dashboard shows comes from ``dashboards/i18n/{zh,en}.yaml`` through :class:`Texts`;
every number is formatted with the language's ``format.*`` patterns. The functions take the
frames of :class:`ncsi.query.Query` (published data only) and never touch the store.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import yaml

from ncsi.export import text_not_formulas
from ncsi.scoring import ranking_year_columns

I18N_DIR = Path(__file__).resolve().parent / "i18n"
LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
DISPLAY_TZ = "Asia/Shanghai"  # times are shown in Beijing time, in both languages

# the columns of the shown table, in order; year columns go where "years" is
TABLE_COLUMNS = ("rank", "brand", "baseline_year", "years", "change_points", "change_percent",
                 "mark", "band", "n")


# --------------------------------------------------------------------------------------------
# texts
# --------------------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def load_texts(lang: str) -> dict:
    """The nested mapping of ``dashboards/i18n/<lang>.yaml``."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; use one of {', '.join(LANGS)}")
    path = I18N_DIR / f"{lang}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of texts at the top level")
    return data


def flatten_keys(tree: dict, prefix: str = "") -> set[str]:
    """Dotted keys of every leaf of a nested mapping ("table.rank", ...)."""
    keys: set[str] = set()
    for k, v in tree.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            keys |= flatten_keys(v, key + ".")
        else:
            keys.add(key)
    return keys


class Texts:
    """``t("table.rank")`` → the label in ``lang``; ``t("rankings.heading", year=2025, ...)``
    fills the placeholders. A missing key is an error (KeyError), never a silent fallback."""

    def __init__(self, lang: str = DEFAULT_LANG):
        self.lang = lang if lang in LANGS else DEFAULT_LANG
        self.data = load_texts(self.lang)

    def __call__(self, key: str, **values: Any) -> str:
        node: Any = self.data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise KeyError(f"dashboards/i18n/{self.lang}.yaml has no text '{key}'")
            node = node[part]
        if isinstance(node, dict):
            raise KeyError(f"dashboards/i18n/{self.lang}.yaml: '{key}' is a section, not a text")
        text = str(node)
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        try:
            self(key)
        except KeyError:
            return False
        return True

    # -- numbers -------------------------------------------------------------------------------
    def _num(self, pattern: str, value, empty: str = "") -> str:
        if value is None or value is pd.NA:
            return empty
        try:
            v = float(value)
        except (TypeError, ValueError):
            return empty
        if not np.isfinite(v):
            return empty
        return self(f"format.{pattern}").format(v)

    def index(self, value, empty: str | None = None) -> str:
        """A 0–100 index with one decimal; ``empty`` (default "NM") when missing."""
        return self._num("index", value, self("table.nm") if empty is None else empty)

    def points(self, value) -> str:
        return self._num("points", value)

    def percent(self, value) -> str:
        return self._num("percent", value)

    def count(self, value) -> str:
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            return ""
        return self("format.count").format(int(value))

    def number(self, value, digits: int = 3, empty: str = "—") -> str:
        """A plain number with ``digits`` decimals (diagnostics, coefficients)."""
        if value is None or value is pd.NA:
            return empty
        try:
            v = float(value)
        except (TypeError, ValueError):
            return empty
        if not np.isfinite(v):
            return empty
        return self("format.decimal", value=v, digits=int(digits))

    def share(self, value, empty: str = "—") -> str:
        """A proportion 0–1 as a percentage ("51.0%")."""
        return self._num("share", value, empty)

    def pvalue(self, value, empty: str = "—") -> str:
        """A p-value: three decimals, or "< 0.001"."""
        if value is None or value is pd.NA:
            return empty
        try:
            v = float(value)
        except (TypeError, ValueError):
            return empty
        if not np.isfinite(v):
            return empty
        return self("format.p_small") if v < 0.001 else self("format.decimal", value=v,
                                                                    digits=3)

    def ci(self, low, high, empty: str = "") -> str:
        """A confidence interval "72.1–75.3" with the index precision."""
        lo, hi = self.index(low, empty=""), self.index(high, empty="")
        return self("format.ci", low=lo, high=hi) if lo and hi else empty

    def datetime(self, value, empty: str = "—") -> str:
        """A moment in Beijing time (UTC+8), written the language's way."""
        if value is None or value is pd.NA:
            return empty
        ts = pd.Timestamp(value)
        if pd.isna(ts):
            return empty
        if ts.tzinfo is None:
            ts = ts.tz_localize("UTC")
        return self("format.datetime").format(ts.tz_convert(DISPLAY_TZ).to_pydatetime())

    def yes_no(self, value) -> str:
        if value is None:
            return "—"
        return self("common.yes") if bool(value) else self("common.no")

    def construct(self, code: str) -> str:
        """The name of a model construct ("SAT" → 顾客满意); the code when unnamed."""
        return self(f"constructs.{code}") if self.has(f"constructs.{code}") else str(code)

    def localized(self, obj: dict, key: str) -> str:
        """``obj[key + "_zh"]`` in Chinese when present, else ``obj[key]`` ("" when none)."""
        if self.lang == "zh" and obj.get(f"{key}_zh"):
            return str(obj[f"{key}_zh"])
        v = obj.get(key)
        return "" if v is None else str(v)

    def pick(self, obj: dict, zh_key: str = "zh", en_key: str = "en") -> str:
        """The text of a {zh, en} pair in the language."""
        v = obj.get(zh_key if self.lang == "zh" else en_key) or obj.get(en_key) or ""
        return str(v)

    def band(self, code: str | None) -> str:
        if code is None or (isinstance(code, float) and np.isnan(code)) or code == "":
            return ""
        return self(f"bands.{code}")

    def bands_legend(self, bands) -> str:
        """The configured bands, highest first: "≥ 80 非常满意 · 70–80 满意 · …"."""
        desc = sorted((tuple(b) for b in bands), key=lambda b: b[0], reverse=True)
        parts = []
        for i, b in enumerate(desc):
            lo = _plain(b[0])
            if i == 0:
                rng = self("format.band_top", min=lo)
            elif i == len(desc) - 1 and b[0] <= 0:
                rng = self("format.band_bottom", max=_plain(desc[i - 1][0]))
            else:
                rng = self("format.band_range", min=lo, max=_plain(desc[i - 1][0]))
            parts.append(f"{rng} {self.band(b[1])}")
        return self("format.list_sep").join(parts)


def sentence(text: str) -> str:
    """Upper-case the first letter (English taxonomy names are lower case, for use inside a
    sentence); Chinese text is unchanged."""
    return text[:1].upper() + text[1:] if text else text


def _plain(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def pct(level: float) -> str:
    """0.90 → "90"."""
    return _plain(round(float(level) * 100, 6))


# --------------------------------------------------------------------------------------------
# the ranking table as shown
# --------------------------------------------------------------------------------------------

def ranking_table(ranking: pd.DataFrame, t: Texts) -> tuple[pd.DataFrame, list[bool]]:
    """The shown table of a :meth:`Query.ranking` frame (methodology §9), headers and values in
    ``t``'s language, plus a flag per row: True for the industry's own row.

    Rows stay in the order of ``ranking`` (latest score, highest first). Brands are ranked
    1, 2, … by their latest score (equal scores share a rank); a brand not measured in the latest
    year has no rank; the industry's row shows the label ``rankings.industry_row`` instead.
    """
    years = ranking_year_columns(ranking)
    latest = years[-1] if years else None
    is_industry = [lvl == "industry" for lvl in ranking["level"]]

    ranks: list[str] = []
    brand_scores = ranking.loc[[not x for x in is_industry], latest] if latest else pd.Series()
    rank_of = brand_scores.rank(method="min", ascending=False)
    for pos, ind in enumerate(is_industry):
        if ind:
            ranks.append(t("rankings.industry_row"))
        else:
            r = rank_of.get(ranking.index[pos], np.nan)
            ranks.append("" if pd.isna(r) else str(int(r)))

    cols: dict[str, list[str]] = {t("table.rank"): ranks,
                                  t("table.brand"): [str(v) for v in ranking["name"]],
                                  t("table.baseline_year"): [
                                      "" if pd.isna(v) else str(int(v))
                                      for v in ranking["baseline_year"]]}
    for y in years:
        cols[y] = [t.index(v) for v in ranking[y]]
    cols[t("table.change_points")] = [t.points(v) for v in ranking["change_points"]]
    cols[t("table.change_percent")] = [t.percent(v) for v in ranking["change_percent"]]
    cols[t("table.mark")] = ["" if v is None or pd.isna(v) else str(v) for v in ranking["mark"]]
    cols[t("table.band")] = [t.band(v) for v in ranking["band"]]
    cols[t("table.n")] = [t.count(v) for v in ranking["n"]]
    if len(cols) != 8 + len(years):
        raise ValueError("two table headers are the same; fix dashboards/i18n")
    return pd.DataFrame(cols), is_industry


def style_table(table: pd.DataFrame, is_industry: list[bool]):
    """A pandas Styler: the industry's row bold on a grey ground, ▲ green and ▼ red."""
    def row_style(row):
        if is_industry[row.name]:
            return ["font-weight: bold; background-color: #eef1f5"] * len(row)
        return [""] * len(row)

    def mark_style(v):
        if v == "▲":
            return "color: #1a7f37; font-weight: bold"
        if v == "▼":
            return "color: #c62828; font-weight: bold"
        return ""

    mark_col = table.columns[-3]
    return table.style.apply(row_style, axis=1).map(mark_style, subset=[mark_col])


def right_aligned_columns(table: pd.DataFrame) -> list[str]:
    """The columns holding numbers as text (scores, changes, n): shown right-aligned."""
    return [c for c in table.columns[2:] if c not in (table.columns[-3], table.columns[-2])]


def table_csv(table: pd.DataFrame) -> bytes:
    """The shown table as CSV, UTF-8 with a byte-order mark so Excel reads Chinese correctly."""
    return table.to_csv(index=False).encode("utf-8-sig")


def table_xlsx(table: pd.DataFrame, sheet: str, years: list[str]) -> bytes:
    """The shown table as an XLSX workbook (openpyxl through pandas). Cells hold exactly what is
    shown; the year scores, the baseline year and n are stored as numbers (a score as shown,
    one decimal, with the format 0.0), everything else — NM, signed changes, marks, bands — as
    text."""
    out = table.copy().astype(object)
    n_col, base_col = table.columns[-1], table.columns[2]
    for c in years:
        out[c] = [_as_number(v, float) for v in table[c]]
    for c in (n_col, base_col):
        out[c] = [_as_number(v.replace(",", ""), int) for v in table[c]]
    buf = io.BytesIO()
    sheet = (sheet or "Sheet1")[:31]
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        out.to_excel(writer, sheet_name=sheet, index=False)
        ws = writer.sheets[sheet]
        for j, c in enumerate(out.columns, start=1):
            if c in years:
                for i in range(2, len(out) + 2):
                    cell = ws.cell(row=i, column=j)
                    if isinstance(cell.value, float):
                        cell.number_format = "0.0"
            width = max([len(str(c))] + [len(str(v)) for v in out[c]]) + 2
            ws.column_dimensions[ws.cell(row=1, column=j).column_letter].width = min(width, 40)
        text_not_formulas(writer.book)  # a name like "=HYPERLINK(…)" stays text
    return buf.getvalue()


def _as_number(text: str, kind):
    if text == "":
        return None
    try:
        return kind(text)
    except ValueError:
        return text  # "NM" stays text


# --------------------------------------------------------------------------------------------
# the trend chart
# --------------------------------------------------------------------------------------------

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7",
           "#9c755f", "#bab0ac", "#e15759")


def trend_figure(trend: pd.DataFrame, industry_name: str, t: Texts,
                 selected_year: int | None = None) -> go.Figure:
    """Plotly lines of the industry's brands over the years with their confidence intervals as
    error bars; the industry's own line thick and dark. ``trend`` is :meth:`Query.trend`."""
    fig = go.Figure()
    years = sorted(int(y) for y in trend["year"].unique()) if not trend.empty else []
    hover = ("%{fullData.name}<br>%{customdata[3]}: %{y:.1f}<br>" + t("chart.hover_ci")
             + " %{customdata[0]:.1f}–%{customdata[1]:.1f}<br>" + t("chart.hover_n")
             + " %{customdata[2]}<extra></extra>")
    brands = trend[trend["level"] == "brand"]
    industry = trend[trend["level"] == "industry"]
    order = (brands.sort_values("year").groupby("code")["index"].last()
             .sort_values(ascending=False).index.tolist())
    # brands side by side around each year (so their error bars do not hide one another),
    # the industry in the middle
    spread = min(0.3, 0.04 * len(order))
    offsets = np.linspace(-spread / 2, spread / 2, len(order)) if len(order) > 1 else [0.0]
    for k, code in enumerate(order):
        g = brands[brands["code"] == code].sort_values("year")
        fig.add_trace(_line(g, str(g["name"].iloc[-1]), PALETTE[k % len(PALETTE)], 1.8, 7,
                            hover, opacity=0.85, dx=float(offsets[k])))
    if not industry.empty:
        g = industry.sort_values("year")
        fig.add_trace(_line(g, industry_name + t("chart.industry_suffix"), "#1f2933", 4.5, 11,
                            hover))
    if selected_year is not None and len(years) > 1:
        fig.add_vline(x=selected_year, line_width=1, line_dash="dot", line_color="#888")
    fig.update_layout(
        title={"text": sentence(t("chart.title", industry=industry_name))},
        xaxis={"title": {"text": t("chart.x")}, "tickmode": "array", "tickvals": years,
               "ticktext": [str(y) for y in years]},
        yaxis={"title": {"text": t("chart.y")}},
        legend={"orientation": "v", "x": 1.02, "y": 1},
        hovermode="closest", template="plotly_white", height=460,
        margin={"l": 60, "r": 20, "t": 60, "b": 50},
    )
    return fig


def _line(g: pd.DataFrame, name: str, color: str, width: float, size: int, hover: str, *,
          opacity: float = 1.0, dash: str | None = None, dx: float = 0.0) -> go.Scatter:
    y = g["index"].astype(float).to_numpy()
    hi = (g["ci_high"].astype(float) - g["index"].astype(float)).to_numpy()
    lo = (g["index"].astype(float) - g["ci_low"].astype(float)).to_numpy()
    custom = np.column_stack([g["ci_low"].astype(float), g["ci_high"].astype(float),
                              g["n"].astype(object), g["year"].astype(int)])
    return go.Scatter(
        x=[int(v) + dx for v in g["year"]], y=y, name=name, mode="lines+markers",
        line={"color": color, "width": width, "dash": dash}, marker={"size": size},
        opacity=opacity,
        error_y={"type": "data", "symmetric": False, "array": hi, "arrayminus": lo,
                 "thickness": max(1.0, width / 2), "width": 4, "color": color},
        customdata=custom, hovertemplate=hover)


# --------------------------------------------------------------------------------------------
# names of the maturity instrument (configuration, not data)
# --------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def maturity_labels() -> dict[str, dict]:
    """Names of the maturity questionnaire's regions, size classes, manufacturing industries and
    categories (code → (zh, en); categories also their points) and of the maturity levels
    (level → (zh, en)), from ``surveys/maturity/``."""
    from ncsi.maturity_instrument import load_level_cutoffs, load_maturity_questionnaire
    q = load_maturity_questionnaire()
    _, cuts = load_level_cutoffs()
    return {"region": {r.code: (r.zh, r.en) for r in q.regions},
            "size": {s.code: (s.zh, s.en) for s in q.sizes},
            "industry": {i.code: (i.zh, i.en) for i in q.industries},
            "category": {c.code: (c.zh, c.en) for c in q.categories},
            "points": {c.code: float(c.points) for c in q.categories},
            "level": {int(c.level): (c.zh, c.en) for c in cuts}}


def maturity_name(kind: str, code, lang: str) -> str:
    """The name of a region/size/industry/category code or a level in ``lang`` (the code
    itself when the instrument does not name it)."""
    names = maturity_labels()[kind]
    key = int(code) if kind == "level" and code is not None else code
    if key not in names:
        return str(code)
    zh, en = names[key]
    return sentence(zh if lang == "zh" else en)


def category_percent(maturity: dict) -> dict[str, float]:
    """Category → its design-weighted mean score as % of the category's points (from a
    release's maturity results)."""
    out = {}
    for c in maturity.get("categories") or []:
        if c.get("index") is not None and c.get("points"):
            out[c["category"]] = 100.0 * float(c["index"]) / float(c["points"])
    return out
