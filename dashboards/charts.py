"""Plotly figures of the dashboard pages beyond the Rankings chart (that one is
:func:`dashboards.ui.trend_figure`).

Every function takes plain frames/dicts of published data (or, for the analyst workspace, of a
draft's fit) and a :class:`dashboards.ui.Texts`; every title, axis and legend text comes from the
translation files. Nothing here touches the store or Streamlit.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboards.ui import PALETTE, Texts, sentence

INK = "#1f2933"
FAIL = "#c62828"
GOOD = "#1a7f37"
MUTED = "#9aa5b1"
HTMT_MAX = 0.90  # conventional threshold, used only to highlight cells (see the caption)
NODE_RADIUS = 0.27  # the path diagram's node circles, in data units (about 35 px)


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
    return f"rgba({r},{g},{b},{alpha})"


def _finite(v) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _layout(fig: go.Figure, title: str, *, height: int = 440, **extra) -> go.Figure:
    extra.setdefault("margin", {"l": 60, "r": 20, "t": 60, "b": 50})
    fig.update_layout(title={"text": sentence(title)}, template="plotly_white", height=height,
                      **extra)
    return fig


def invariance_failed(flags) -> dict | None:
    """The ``invariance`` part of a score's flags when the comparison with the previous year
    failed, else None."""
    inv = flags.get("invariance") if isinstance(flags, dict) else None
    return inv if isinstance(inv, dict) and inv.get("ok") is False else None


# --------------------------------------------------------------------------------------------
# lines with confidence bands
# --------------------------------------------------------------------------------------------

def band_figure(frame: pd.DataFrame, t: Texts, *, title: str, y_title: str,
                highlight: str | None = None, order: list[str] | None = None,
                height: int = 460) -> go.Figure:
    """One line per ``code`` over the years with its confidence interval as a shaded band.

    ``frame``: code, name, year, index, ci_low, ci_high and optionally flags (a year whose
    comparison with the previous year failed gets a red ✗ marker whose hover gives the reason).
    ``highlight``: the code drawn thick and dark (the nation, an industry)."""
    fig = go.Figure()
    years = sorted(int(y) for y in frame["year"].unique()) if not frame.empty else []
    codes = order or (list(dict.fromkeys(frame["code"])) if not frame.empty else [])
    hover = ("%{fullData.name}<br>%{x}: %{y:.1f}<br>" + t("chart.hover_ci")
             + " %{customdata[0]:.1f}–%{customdata[1]:.1f}<extra></extra>")
    k = 0
    for code in codes:
        g = frame[frame["code"] == code].sort_values("year")
        if g.empty:
            continue
        strong = code == highlight
        color = INK if strong else PALETTE[k % len(PALETTE)]
        k += 0 if strong else 1
        name = str(g["name"].iloc[-1])
        x = [int(v) for v in g["year"]]
        lo = g["ci_low"].astype(float).to_list()
        hi = g["ci_high"].astype(float).to_list()
        fig.add_trace(go.Scatter(x=x + x[::-1], y=hi + lo[::-1], fill="toself", mode="lines",
                                 fillcolor=_rgba(color, 0.16 if strong else 0.12),
                                 line={"width": 0}, hoverinfo="skip", legendgroup=code,
                                 showlegend=False, name=name))
        fig.add_trace(go.Scatter(
            x=x, y=g["index"].astype(float), name=name, legendgroup=code,
            mode="lines+markers", line={"color": color, "width": 4 if strong else 2},
            marker={"size": 10 if strong else 7},
            error_y=({"type": "data", "symmetric": False,  # a band needs two years
                      "array": [h - v for h, v in zip(hi, g["index"].astype(float))],
                      "arrayminus": [v - lo_ for lo_, v in zip(lo, g["index"].astype(float))],
                      "color": color, "thickness": 1.5, "width": 6} if len(x) == 1 else None),
            customdata=np.column_stack([lo, hi]), hovertemplate=hover))
        if "flags" in g.columns:
            bad = [(int(y), float(v), inv) for y, v, f in zip(g["year"], g["index"], g["flags"])
                   if (inv := invariance_failed(f)) is not None]
            if bad:
                fig.add_trace(go.Scatter(
                    x=[b[0] for b in bad], y=[b[1] for b in bad], mode="markers",
                    marker={"symbol": "x", "size": 15, "color": FAIL,
                            "line": {"width": 2, "color": FAIL}},
                    name=t("trends.flag_legend"), legendgroup="flags",
                    showlegend=not any(tr.name == t("trends.flag_legend") for tr in fig.data),
                    text=[t.localized(b[2], "reason") or t("trends.flag_no_reason")
                          for b in bad],
                    hovertemplate=(name + "<br>%{x}: " + t("trends.flag_hover")
                                   + "<br>%{text}<extra></extra>")))
    _layout(fig, title, height=height, hovermode="closest",
            xaxis={"title": {"text": t("chart.x")}, "tickmode": "array", "tickvals": years,
                   "ticktext": [str(y) for y in years]},
            yaxis={"title": {"text": y_title}},
            legend={"orientation": "v", "x": 1.02, "y": 1})
    return fig


# --------------------------------------------------------------------------------------------
# maturity
# --------------------------------------------------------------------------------------------

def level_shares_figure(shares: dict[int, dict], level_names: dict[int, str], t: Texts
                        ) -> go.Figure:
    """Stacked bars: the design-weighted share of enterprises at each maturity level, per
    wave. ``shares``: year → {level (str or int) → share 0–1}."""
    fig = go.Figure()
    years = sorted(shares)
    levels = sorted(level_names)
    colors = ("#d7301f", "#fc8d59", "#fdcc8a", "#74a9cf", "#0570b0")
    for k, lvl in enumerate(levels):
        vals = [float((shares[y] or {}).get(str(lvl), (shares[y] or {}).get(lvl, 0.0)) or 0.0)
                for y in years]
        fig.add_trace(go.Bar(
            x=[str(y) for y in years], y=vals, name=f"{lvl} {level_names[lvl]}",
            marker={"color": colors[k % len(colors)]},
            text=[t.share(v) if v >= 0.03 else "" for v in vals], textposition="inside",
            hovertemplate=f"{lvl} {level_names[lvl]}<br>%{{x}}: %{{y:.1%}}<extra></extra>"))
    _layout(fig, t("maturity.shares_title"), height=420, barmode="stack",
            xaxis={"title": {"text": t("chart.x")}, "type": "category"},
            yaxis={"title": {"text": t("maturity.shares_y")}, "tickformat": ".0%",
                   "range": [0, 1]},
            legend={"orientation": "v", "x": 1.02, "y": 1, "traceorder": "normal"})
    return fig


def category_radar(profiles: list[tuple[str, dict[str, float]]], names: dict[str, str],
                   t: Texts, *, title: str) -> go.Figure:
    """A radar of maturity category scores as % of each category's points.
    ``profiles``: (label, {category → % of points}) — the first drawn strongest."""
    fig = go.Figure()
    cats = list(names)
    for k, (label, values) in enumerate(profiles):
        r = [values.get(c) for c in cats]
        color = INK if k == 0 else PALETTE[k % len(PALETTE)]
        fig.add_trace(go.Scatterpolar(
            r=r + r[:1], theta=[names[c] for c in cats] + [names[cats[0]]], name=label,
            fill="toself" if k == 0 else None, line={"color": color, "width": 3 if k == 0 else 2},
            fillcolor=_rgba(color, 0.12),
            hovertemplate="%{theta}: %{r:.1f}%<extra>" + label + "</extra>"))
    _layout(fig, title, height=460, polar={"radialaxis": {"range": [0, 100],
                                                          "ticksuffix": "%"}},
            legend={"orientation": "h", "y": -0.1})
    return fig


def compare_bars(rows: list[dict], t: Texts, *, title: str, x_title: str,
                 x_range: tuple[float, float] | None = None) -> go.Figure:
    """Horizontal bars with CI whiskers: rows {label, value, ci_low, ci_high, strong}."""
    rows = [r for r in rows if _finite(r.get("value")) is not None]
    labels = [r["label"] for r in rows]
    vals = [float(r["value"]) for r in rows]
    plus = [(_finite(r.get("ci_high")) or v) - v for r, v in zip(rows, vals)]
    minus = [v - (_finite(r.get("ci_low")) or v) for r, v in zip(rows, vals)]
    colors = [INK if r.get("strong") else PALETTE[0] for r in rows]
    fig = go.Figure(go.Bar(
        x=vals, y=labels, orientation="h", marker={"color": colors},
        error_x={"type": "data", "symmetric": False, "array": plus, "arrayminus": minus,
                 "color": "#555", "thickness": 1.5, "width": 5},
        text=[t.index(v) for v in vals], textposition="inside", insidetextanchor="end",
        textfont={"color": "white"},
        hovertemplate="%{y}: %{x:.1f}<extra></extra>"))
    _layout(fig, title, height=max(240, 90 + 48 * len(rows)), showlegend=False,
            xaxis={"title": {"text": x_title}, **({"range": list(x_range)} if x_range else {})},
            yaxis={"autorange": "reversed"}, margin={"l": 180, "r": 30, "t": 60, "b": 50})
    return fig


# --------------------------------------------------------------------------------------------
# a brand against its industry; drivers
# --------------------------------------------------------------------------------------------

def construct_figure(brand: pd.DataFrame, industry: pd.DataFrame, t: Texts, *,
                     brand_name: str, industry_name: str, title: str) -> go.Figure:
    """Grouped bars per construct: the brand's and the industry's published indices with CIs.
    ``brand``/``industry``: rows construct, index, ci_low, ci_high."""
    fig = go.Figure()
    order = [c for c in brand["construct"] if c in set(industry["construct"])]
    for frame, name, color in ((brand, brand_name, PALETTE[0]),
                               (industry, industry_name + t("chart.industry_suffix"), INK)):
        g = frame.set_index("construct").reindex(order)
        v = g["index"].astype(float)
        fig.add_trace(go.Bar(
            x=[t.construct(c) for c in order], y=v, name=name, marker={"color": color},
            error_y={"type": "data", "symmetric": False,
                     "array": (g["ci_high"].astype(float) - v).to_list(),
                     "arrayminus": (v - g["ci_low"].astype(float)).to_list(),
                     "color": "#555", "thickness": 1.2, "width": 4},
            hovertemplate="%{x}: %{y:.1f}<extra>" + name + "</extra>"))
    _layout(fig, title, height=420, barmode="group",
            yaxis={"title": {"text": t("brand.index_axis")}, "range": [0, 100]},
            legend={"orientation": "h", "y": -0.18})
    return fig


def impacts_figure(impacts: list[dict], t: Texts, *, title: str) -> go.Figure:
    """Horizontal bars: the change of the satisfaction index for a 5-point gain per driver."""
    rows = sorted((r for r in impacts if _finite(r.get("impact_5")) is not None),
                  key=lambda r: float(r["impact_5"]))
    x = [float(r["impact_5"]) for r in rows]
    lo = [_finite(r.get("ci_low")) for r in rows]
    hi = [_finite(r.get("ci_high")) for r in rows]
    whiskers = None
    if all(v is not None for v in lo + hi) and rows:
        whiskers = {"type": "data", "symmetric": False, "color": INK, "thickness": 1.2,
                    "array": [h - v for h, v in zip(hi, x)],
                    "arrayminus": [v - lo_ for lo_, v in zip(lo, x)]}
    fig = go.Figure(go.Bar(
        x=x, y=[t.construct(str(r["driver"])) for r in rows],
        orientation="h", marker={"color": PALETTE[0]}, error_x=whiskers,
        text=[t.points(r["impact_5"]) for r in rows], textposition="outside",
        customdata=[[a, b] for a, b in zip(lo, hi)],
        hovertemplate="%{y}: %{x:+.2f}" + (" [%{customdata[0]:.2f}, %{customdata[1]:.2f}]"
                                           if whiskers else "") + "<extra></extra>"))
    _layout(fig, title, height=max(260, 100 + 44 * len(rows)), showlegend=False,
            xaxis={"title": {"text": t("drivers.impact_axis")}},
            margin={"l": 140, "r": 40, "t": 60, "b": 50})
    return fig


def ipma_figure(impacts: list[dict], brand_perf: dict[str, float],
                industry_perf: dict[str, float], t: Texts, *, brand_name: str,
                industry_name: str, title: str) -> go.Figure:
    """The importance–performance map: x = a driver's (unstandardized) total effect on
    satisfaction, y = its performance (the brand's published index of the driver; the
    industry's beside it, hollow). Dotted lines: the mean importance and the brand's mean
    performance."""
    fig = go.Figure()
    imp = {str(r["driver"]): _finite(r.get("total_effect")) for r in impacts}
    imp = {k: v for k, v in imp.items() if v is not None}
    drivers = [d for d in imp if d in brand_perf]
    ind = [d for d in drivers if d in industry_perf]
    if ind:
        fig.add_trace(go.Scatter(
            x=[imp[d] for d in ind], y=[industry_perf[d] for d in ind], mode="markers",
            name=industry_name + t("chart.industry_suffix"),
            marker={"size": 12, "color": "rgba(0,0,0,0)", "line": {"color": MUTED, "width": 2}},
            text=[t.construct(d) for d in ind],
            hovertemplate="%{text}<br>" + t("drivers.importance") + " %{x:.3f}<br>"
                          + t("drivers.performance") + " %{y:.1f}<extra></extra>"))
    fig.add_trace(go.Scatter(
        x=[imp[d] for d in drivers], y=[brand_perf[d] for d in drivers],
        mode="markers+text", name=brand_name, text=[t.construct(d) for d in drivers],
        textposition="top center", marker={"size": 14, "color": PALETTE[0]},
        hovertemplate="%{text}<br>" + t("drivers.importance") + " %{x:.3f}<br>"
                      + t("drivers.performance") + " %{y:.1f}<extra></extra>"))
    if drivers:
        fig.add_vline(x=float(np.mean([imp[d] for d in drivers])), line_dash="dot",
                      line_color="#aaa")
        fig.add_hline(y=float(np.mean([brand_perf[d] for d in drivers])), line_dash="dot",
                      line_color="#aaa")
    _layout(fig, title, height=460,
            xaxis={"title": {"text": t("drivers.importance_axis")}},
            yaxis={"title": {"text": t("drivers.performance_axis")}},
            legend={"orientation": "h", "y": -0.18})
    return fig


# --------------------------------------------------------------------------------------------
# diagnostics (analyst workspace)
# --------------------------------------------------------------------------------------------

def htmt_figure(htmt: list[dict], t: Texts, *, title: str) -> go.Figure:
    """A heat map of the heterotrait–monotrait ratios (lower triangle), cells at or above
    :data:`HTMT_MAX` outlined by their colour scale's red end."""
    constructs: list[str] = []
    for r in htmt:
        for c in (r.get("a"), r.get("b")):
            if c not in constructs:
                constructs.append(c)
    n = len(constructs)
    z = np.full((n, n), np.nan)
    for r in htmt:
        v = _finite(r.get("htmt"))
        if v is None:
            continue
        i, j = constructs.index(r["a"]), constructs.index(r["b"])
        a, b = max(i, j), min(i, j)
        z[a, b] = v
    names = [t.construct(c) for c in constructs]
    text = [["" if np.isnan(v) else t.number(v, 2) for v in row] for row in z]
    fig = go.Figure(go.Heatmap(
        z=z, x=names, y=names, text=text, texttemplate="%{text}", zmin=0, zmax=1,
        colorscale=[[0, "#f7fbff"], [0.6, "#9ecae1"], [0.85, "#fdae6b"], [1, "#d7301f"]],
        hovertemplate="%{y} – %{x}: %{z:.3f}<extra>HTMT</extra>", hoverongaps=False,
        colorbar={"title": {"text": "HTMT"}}))
    _layout(fig, title, height=max(360, 80 + 48 * n),
            yaxis={"autorange": "reversed"}, margin={"l": 120, "r": 20, "t": 60, "b": 100})
    return fig


def path_ci(path: dict, level: float) -> tuple[float | None, float | None, str]:
    """A path's confidence interval and its source: the fit's own bootstrap interval
    ("bootstrap") when present, else estimate ± z·SE at ``level`` ("se")."""
    lo, hi = _finite(path.get("ci_low")), _finite(path.get("ci_high"))
    if lo is not None and hi is not None:
        return lo, hi, "bootstrap"
    est, se = _finite(path.get("estimate")), _finite(path.get("se"))
    if est is None or se is None:
        return None, None, "none"
    z = NormalDist().inv_cdf(0.5 + level / 2)
    return est - z * se, est + z * se, "se"


def path_layout(paths: list[dict]) -> dict[str, tuple[float, float]]:
    """Positions of the constructs: x = the longest chain of paths leading to them; the
    members of a column spread evenly from top to bottom (in the model's order), a construct
    alone in its column on the middle line."""
    nodes: list[str] = []
    for p in paths:
        for c in (p.get("from"), p.get("to")):
            if c not in nodes:
                nodes.append(c)
    preds = {c: [p["from"] for p in paths if p.get("to") == c] for c in nodes}
    depth: dict[str, int] = {}

    def d(c: str, seen: tuple = ()) -> int:
        if c in depth:
            return depth[c]
        if c in seen:  # a cycle cannot occur in a recursive model; be safe anyway
            return 0
        depth[c] = 0 if not preds[c] else 1 + max(d(p, seen + (c,)) for p in preds[c])
        return depth[c]

    for c in nodes:
        d(c)
    cols: dict[int, list[str]] = {}
    for c in nodes:
        cols.setdefault(depth[c], []).append(c)
    pos = {}
    for x, members in cols.items():
        k = len(members)
        for i, c in enumerate(members):
            pos[c] = (float(x), 0.0 if k == 1 else 1.0 - 2.0 * i / (k - 1))
    return pos


def _bezier(p0, p1, bend: float, n: int = 24) -> tuple[list[float], list[float]]:
    """Points of the quadratic curve from p0 to p1 whose control point is the midpoint moved
    ``bend`` perpendicular to the chord (in data units)."""
    (x0, y0), (x1, y1) = p0, p1
    dx, dy = x1 - x0, y1 - y0
    length = max((dx * dx + dy * dy) ** 0.5, 1e-9)
    cx, cy = (x0 + x1) / 2 - dy / length * bend, (y0 + y1) / 2 + dx / length * bend
    ts = np.linspace(0.0, 1.0, n)
    xs = (1 - ts) ** 2 * x0 + 2 * (1 - ts) * ts * cx + ts ** 2 * x1
    ys = (1 - ts) ** 2 * y0 + 2 * (1 - ts) * ts * cy + ts ** 2 * y1
    return xs.tolist(), ys.tolist()


def path_figure(paths: list[dict], r2: dict, t: Texts, *, level: float, title: str
                ) -> go.Figure:
    """The inner model: constructs as labelled nodes (with R²), arrows labelled with the path
    coefficient and its confidence interval (a path whose interval covers 0 is grey); paths
    that skip a column are drawn as arcs around the constructs between."""
    pos = path_layout(paths)
    fig = go.Figure()
    arcs = 0
    ys = [0.0]
    for p in paths:
        a, b = p.get("from"), p.get("to")
        if a not in pos or b not in pos:
            continue
        (x0, y0), (x1, y1) = pos[a], pos[b]
        est = _finite(p.get("estimate"))
        lo, hi, _src = path_ci(p, level)
        sig = lo is not None and hi is not None and (lo > 0 or hi < 0)
        color = INK if sig else MUTED
        width = 1.2 + (2.5 * min(abs(est), 1.0) if est is not None else 0)
        span = abs(x1 - x0)
        if span <= 1:
            bend = 0.0
        else:
            # around the constructs between: upwards from the upper half, downwards from the
            # lower one, alternately along the middle line
            side = 1.0 if (y0 + y1) > 0 else -1.0 if (y0 + y1) < 0 else (
                1.0 if arcs % 2 == 0 else -1.0)
            arcs += 1 if (y0 + y1) == 0 else 0
            bend = side * (0.5 + 0.25 * (span - 1))
        xs, ys_ = _bezier((x0, y0), (x1, y1), bend, n=80)
        lx, ly = xs[len(xs) // 2], ys_[len(ys_) // 2]
        level_arrow = span <= 1 and abs(y1 - y0) < 0.3  # short: estimate above, CI below
        ys.extend(ys_)
        # cut the line at the nodes' rims; the arrow head sits on the target's rim
        dist_end = np.hypot(np.array(xs) - x1, np.array(ys_) - y1)
        dist_start = np.hypot(np.array(xs) - x0, np.array(ys_) - y0)
        keep = np.nonzero((dist_end > NODE_RADIUS) & (dist_start > NODE_RADIUS))[0]
        if len(keep) < 4:
            continue
        i0, i1 = int(keep[0]), int(keep[-1])
        fig.add_trace(go.Scatter(x=xs[i0:i1 + 1], y=ys_[i0:i1 + 1], mode="lines",
                                 hoverinfo="skip", line={"color": color, "width": width},
                                 showlegend=False))
        fig.add_annotation(x=xs[i1], y=ys_[i1], ax=xs[i1 - 3], ay=ys_[i1 - 3], xref="x",
                           yref="y", axref="x", ayref="y", showarrow=True, arrowhead=2,
                           arrowsize=1.0, arrowwidth=max(width, 1.5), arrowcolor=color,
                           text="")
        ci = t("analyst.path_ci", low=t.number(lo, 2), high=t.number(hi, 2)) \
            if lo is not None and hi is not None else ""
        labels = ([(t.number(est, 2), 0.11), (ci, -0.11)] if level_arrow
                  else [(t.number(est, 2) + (f"<br>{ci}" if ci else ""), 0.0)])
        for text_, dy in labels:
            if text_:
                fig.add_annotation(x=lx, y=ly + dy, text=text_, showarrow=False,
                                   font={"size": 11, "color": color},
                                   bgcolor="rgba(255,255,255,0.85)")
    names = list(pos)
    text = []
    for c in names:
        v = _finite((r2 or {}).get(c))
        text.append(f"<b>{t.construct(c)}</b>" + (f"<br>R² {t.number(v, 2)}" if v is not None
                                                   else ""))
    fig.add_trace(go.Scatter(
        x=[pos[c][0] for c in names], y=[pos[c][1] for c in names], mode="markers+text",
        text=text, textposition="middle center", hoverinfo="skip", showlegend=False,
        marker={"size": 70, "color": "#eef1f5", "line": {"color": INK, "width": 1.5}},
        textfont={"size": 11}))
    xs_all = [v[0] for v in pos.values()] or [0.0]
    ys.extend(v[1] for v in pos.values())
    _layout(fig, title, height=560, showlegend=False,
            xaxis={"visible": False, "range": [min(xs_all) - 0.5, max(xs_all) + 0.5]},
            yaxis={"visible": False, "range": [min(ys) - 0.45, max(ys) + 0.45]})
    return fig
