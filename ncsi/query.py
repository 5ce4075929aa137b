"""Read-only views of *published* releases, for the dashboard, the CLI and exports.

Nothing here reads drafts or respondent rows: every number comes from ``store.published_scores``
or from the visible published release rows themselves (their ``maturity`` and ``grades`` JSON and
the ``drivers`` of their fits — :meth:`Query.maturity`, :meth:`Query.grade`,
:meth:`Query.drivers`).

Embargo: a published release whose ``embargo_until`` (set by ``ncsi publish --embargo-until``)
is still in the future is invisible here — its year is absent from :meth:`Query.published_years`,
:meth:`Query.published_releases`, rankings, histories, trends and selectors — until that moment
passes. ``Query(store, include_embargoed=True)`` shows it anyway (for the publisher's own checks,
never for the public dashboard). Visibility is judged against ``now`` (default: the clock) when
the Query first reads its data, and afresh on every call of :meth:`Query.published_releases`, so
the dashboard, which keys its cached Query on that tuple, shows a release on the first page load
after its embargo lifts. :meth:`Query.embargoed` lists the releases still under embargo.

One Query is one snapshot: it reads the set of visible published releases once (on first use,
under a lock, so threads sharing a cached Query agree) and every view — years, scores, rankings,
histories, trends, maturity, grades, enterprises, drivers — comes from that set. A release
published (or an embargo lifted) while a Query is in use shows in the next Query, never half in
this one; only :meth:`Query.published_releases` and :meth:`Query.embargoed` look afresh.

Flags: a score row may carry ``flags`` (a dict such as ``{"invariance": {"ok": false, "reason":
"..."}}``, or None). :meth:`Query.scores`, :meth:`Query.history` and :meth:`Query.trend` rows have
a ``flags`` column; :meth:`Query.ranking` adds one with ``flags=True`` (the flags of each row's
score in the ranking's year).
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from .instruments import load_taxonomy
from .scoring import IndexConfig, band_label, format_ranking_rows, ranking_rows

LEVEL_BRAND = "brand"
LEVEL_INDUSTRY = "industry"
LEVEL_SECTOR = "sector"
LEVEL_NATION = "nation"


class Query:
    """Published indices, rankings and trends. ``lang`` is "zh" (default) or "en".

    ``include_embargoed``: also show published releases whose embargo has not yet lifted (see the
    module docstring). ``now``: the moment embargoes are judged against (a datetime with a time
    zone; default: the clock at each read) — for tests and previews.
    """

    def __init__(self, store, config: IndexConfig | None = None, *,
                 include_embargoed: bool = False, now: datetime | None = None):
        if now is not None and (now.tzinfo is None or now.utcoffset() is None):
            raise ValueError("Query(now=...) needs a datetime with a time zone")
        self.store = store
        self.config = config or IndexConfig.from_yaml()
        self.taxonomy = load_taxonomy()
        self.include_embargoed = bool(include_embargoed)
        self.now = now
        self._lock = threading.RLock()
        self._snapshot: pd.DataFrame | None = None  # the visible releases, read once
        self._scores: pd.DataFrame | None = None
        self._brands: pd.DataFrame | None = None
        self._releases: dict[int, dict | None] = {}
        self._drivers: dict[tuple[int, str], dict | None] = {}
        self._industry_years: dict[str, list[int]] | None = None  # industry → its years

    # -- embargo -----------------------------------------------------------------------------
    def _now(self) -> pd.Timestamp:
        return pd.Timestamp(self.now if self.now is not None else datetime.now(timezone.utc))

    def _published(self) -> pd.DataFrame:
        """Published release rows, each with ``embargoed`` (True while its embargo is in force
        at :meth:`_now`), read afresh."""
        r = self.store.releases()
        r = r[r["status"] == "published"].copy()
        now = self._now()
        r["embargoed"] = pd.Series([self._under_embargo(u, now) for u in r["embargo_until"]],
                                   index=r.index, dtype=bool)
        return r

    @staticmethod
    def _under_embargo(until, now: pd.Timestamp) -> bool:
        """Whether a release whose embargo ends at ``until`` (None/NaT: no embargo) is still
        under embargo at ``now``."""
        return until is not None and not pd.isna(until) and pd.Timestamp(until) > now

    def _visible(self) -> pd.DataFrame:
        """The visible published release rows, read afresh."""
        r = self._published()
        return r if self.include_embargoed else r[~r["embargoed"]]

    def _shown(self) -> pd.DataFrame:
        """The visible published release rows this Query shows: read on first use, then kept
        (see the module docstring: one Query is one snapshot)."""
        with self._lock:
            if self._snapshot is None:
                self._snapshot = self._visible()
            return self._snapshot

    def embargoed(self) -> pd.DataFrame:
        """Published releases still under embargo now (whether or not this Query shows them):
        columns year, id, embargo_until (UTC), sorted by year."""
        r = self._published()
        r = r[r["embargoed"]]
        return r[["year", "id", "embargo_until"]].sort_values("year").reset_index(drop=True)

    # -- raw published data ------------------------------------------------------------------
    def scores(self) -> pd.DataFrame:
        """The visible published scores: year, release_id, then the store's SCORE_COLUMNS
        (``flags`` included). Read once per Query."""
        with self._lock:
            if self._scores is None:
                visible = set(int(i) for i in self._shown()["id"])
                s = self.store.published_scores()
                self._scores = s[s["release_id"].isin(visible)].reset_index(drop=True)
            return self._scores

    def brands(self) -> pd.DataFrame:
        if self._brands is None:
            self._brands = self.store.known_brands().set_index("brand")
        return self._brands

    def published_years(self) -> list[int]:
        s = self.scores()
        return sorted(int(y) for y in s["year"].unique()) if not s.empty else []

    def published_releases(self) -> tuple[tuple[int, int], ...]:
        """(year, release id) of every visible published release, read afresh on every call
        (never cached): a cheap fingerprint that changes when a release is published or its
        embargo lifts."""
        now = self._now()
        return tuple(sorted((int(year), int(rid))
                            for year, rid, until in self.store.published_release_keys()
                            if self.include_embargoed or not self._under_embargo(until, now)))

    def _industry_index(self) -> dict[str, list[int]]:
        """Industry → the published years with its own (industry-level) score; made once per
        Query (the selectors read it on every page run)."""
        with self._lock:
            if self._industry_years is None:
                s = self.scores()
                index: dict[str, set[int]] = {}
                if not s.empty:
                    part = s[s["level"] == LEVEL_INDUSTRY]
                    for code, year in zip(part["code"], part["year"]):
                        index.setdefault(str(code), set()).add(int(year))
                self._industry_years = {c: sorted(y) for c, y in index.items()}
            return self._industry_years

    def industry_years(self, industry: str) -> list[int]:
        """Published years in which ``industry`` has its own (industry-level) score."""
        return list(self._industry_index().get(industry, []))

    def is_demo(self) -> bool:
        b = self.brands()
        return bool(len(b)) and bool(b["is_demo"].all())

    # -- names -----------------------------------------------------------------------------
    def sector_name(self, code: str, lang: str = "zh") -> str:
        s = self.taxonomy.sector(code)
        return s.zh if lang == "zh" else s.en

    def industry_name(self, code: str, lang: str = "zh") -> str:
        i = self.taxonomy.industry(code)
        return i.zh if lang == "zh" else i.en

    def brand_name(self, code: str, lang: str = "zh") -> str:
        b = self.brands()
        if code not in b.index:
            return code
        return str(b.at[code, "name_zh" if lang == "zh" else "name_en"])

    # -- selectors -----------------------------------------------------------------------------
    def sectors(self, year: int | None = None) -> list[str]:
        inds = set(self.industries(year))
        return [s.code for s in self.taxonomy.sectors
                if any(i.code in inds for i in s.industries)]

    def industries(self, year: int | None = None, sector: str | None = None) -> list[str]:
        index = self._industry_index()
        have = {c for c, years in index.items() if year is None or int(year) in years}
        out = []
        for sec in self.taxonomy.sectors:
            if sector is not None and sec.code != sector:
                continue
            out.extend(i.code for i in sec.industries if i.code in have)
        return out

    # -- rankings and trends -----------------------------------------------------------------
    def history(self, industry: str, construct: str | None = None,
                year: int | None = None, lang: str = "zh") -> pd.DataFrame:
        """Published scores of an industry and its brands, all years (≤ ``year``)."""
        construct = construct or self.config.index_construct
        s = self.scores()
        if s.empty:
            return s
        mask = (s["construct"] == construct) & (
            ((s["level"] == LEVEL_BRAND) & (s["parent"] == industry))
            | ((s["level"] == LEVEL_INDUSTRY) & (s["code"] == industry)))
        if year is not None:
            mask &= s["year"] <= year
        h = s[mask].copy()
        h["name"] = [self.industry_name(c, lang) if lvl == LEVEL_INDUSTRY
                     else self.brand_name(c, lang) for c, lvl in zip(h["code"], h["level"])]
        return h

    def ranking(self, year: int, industry: str, construct: str | None = None,
                lang: str = "zh", *, flags: bool = False) -> pd.DataFrame:
        """The published ranking rows of methodology §9 for one industry and year. With
        ``flags=True`` a last column ``flags`` holds the flags of each row's score in ``year``
        (None where it has none or no score that year)."""
        h = self.history(industry, construct, year, lang)
        if h.empty or not (h["year"] == year).any():
            return pd.DataFrame()
        rows = ranking_rows(h, year=year, config=self.config)
        if flags:
            current = h[h["year"] == year]
            by_row = {(lvl, code): f for lvl, code, f in
                      zip(current["level"], current["code"], current["flags"])}
            rows["flags"] = [_flags_value(by_row.get((lvl, code)))
                             for lvl, code in zip(rows["level"], rows["code"])]
        return rows

    def trend(self, industry: str, construct: str | None = None,
              lang: str = "zh") -> pd.DataFrame:
        """Year, brand/industry, index and CI for the trend chart (publishable values only),
        and each score's ``flags``."""
        h = self.history(industry, construct, None, lang)
        if h.empty:
            return h
        h = h[h["publishable"].astype(bool)]
        return h[["year", "level", "code", "name", "index", "ci_low", "ci_high", "n", "flags"]] \
            .sort_values(["level", "code", "year"]).reset_index(drop=True)

    def aggregate_trend(self, construct: str | None = None,
                        lang: str = "zh") -> pd.DataFrame:
        """The nation's, sectors' and industries' published indices over the years (publishable
        values only): year, level ("nation" | "sector" | "industry"), code, parent, name, index,
        ci_low, ci_high, n, flags — sorted by level, code, year."""
        construct = construct or self.config.index_construct
        cols = ["year", "level", "code", "parent", "name", "index", "ci_low", "ci_high", "n",
                "flags"]
        s = self.scores()
        if s.empty:
            return pd.DataFrame(columns=cols)
        part = s[(s["construct"] == construct)
                 & s["level"].isin([LEVEL_NATION, LEVEL_SECTOR, LEVEL_INDUSTRY])
                 & s["publishable"].astype(bool)].copy()
        names = []
        for level, code in zip(part["level"], part["code"]):
            if level == LEVEL_INDUSTRY:
                names.append(self.industry_name(code, lang))
            elif level == LEVEL_SECTOR:
                names.append(self.sector_name(code, lang))
            else:
                names.append("全国" if lang == "zh" else "nation")
        part["name"] = names
        part["flags"] = [_flags_value(f) for f in part["flags"]]
        order = {LEVEL_NATION: 0, LEVEL_SECTOR: 1, LEVEL_INDUSTRY: 2}
        part["_o"] = part["level"].map(order)
        return (part.sort_values(["_o", "code", "year"])[cols].reset_index(drop=True))

    # -- whole-release parts of published releases: maturity, grades, drivers ------------------
    def _release(self, year: int) -> dict | None:
        """The visible published release of ``year`` (the store's release dict), or None when
        it is not published, or still under embargo (unless ``include_embargoed``). Read once
        per Query."""
        year = int(year)
        if year not in self._releases:
            visible = set(int(i) for i in self._shown()["id"])
            rel = self.store.release(year)
            self._releases[year] = rel if rel is not None and int(rel["id"]) in visible else None
        return self._releases[year]

    def _visible_years(self) -> list[int]:
        return sorted(int(y) for y in self._shown()["year"])

    def maturity_years(self) -> list[int]:
        """Visible published years whose release holds maturity results."""
        return [y for y in self._visible_years()
                if (self._release(y) or {}).get("maturity")]

    def maturity(self, year: int) -> dict | None:
        """The published maturity results of ``year`` WITHOUT the per-enterprise rows (national,
        subgroups, tests, level_shares, categories, structure, change, …), or None."""
        m = (self._release(year) or {}).get("maturity")
        if not m:
            return None
        return {k: v for k, v in m.items() if k != "enterprises"}

    def maturity_enterprise(self, year: int, enterprise_id: str) -> dict | None:
        """One enterprise's published maturity row of ``year`` (enterprise_id, region, size,
        industry, total, index, level), or None."""
        m = (self._release(year) or {}).get("maturity") or {}
        for row in m.get("enterprises") or []:
            if row.get("enterprise_id") == enterprise_id:
                return dict(row)
        return None

    def grade_years(self) -> list[int]:
        """Visible published years whose release holds graded evaluations."""
        return [y for y in self._visible_years()
                if ((self._release(y) or {}).get("grades") or {}).get("results")]

    def grades_summary(self, year: int) -> dict | None:
        """The published grades of ``year`` without the per-enterprise results (rulebook
        version, maturity year, counts), or None."""
        g = (self._release(year) or {}).get("grades")
        if not g:
            return None
        return {k: v for k, v in g.items() if k != "results"}

    def grade(self, year: int, enterprise_id: str) -> dict | None:
        """One enterprise's published grade of ``year`` (enterprise_id, grade, status, reason,
        reason_zh, explanation, brand, …), or None."""
        g = (self._release(year) or {}).get("grades") or {}
        for row in g.get("results") or []:
            if row.get("enterprise_id") == enterprise_id:
                return dict(row)
        return None

    def enterprises(self) -> pd.DataFrame:
        """Every enterprise in a visible published release's maturity results or grades, with
        the brand its grade was linked to (the latest year's; "" when none): columns
        enterprise_id, brand, sorted by enterprise_id."""
        brands: dict[str, str] = {}
        for y in self._visible_years():
            rel = self._release(y) or {}
            for row in (rel.get("maturity") or {}).get("enterprises") or []:
                brands.setdefault(str(row["enterprise_id"]), "")
            for row in (rel.get("grades") or {}).get("results") or []:
                b = row.get("brand")
                brands[str(row["enterprise_id"])] = b if isinstance(b, str) else \
                    brands.get(str(row["enterprise_id"]), "")
        out = pd.DataFrame({"enterprise_id": list(brands), "brand": list(brands.values())},
                           columns=["enterprise_id", "brand"])
        return out.sort_values("enterprise_id").reset_index(drop=True)

    def _fit_result(self, year: int, industry: str) -> dict | None:
        """The admissible fit result of ``industry`` in the visible published release of
        ``year`` (read once per Query), or None."""
        rel = self._release(year)
        if rel is None:
            return None
        key = (int(year), industry)
        if key not in self._drivers:
            found = None
            for fit in self.store.release_fits(rel["id"]):
                if fit.get("industry") == industry and fit.get("status") == "ok":
                    found = fit.get("result") or {}
                    break
            self._drivers[key] = found
        return self._drivers[key]

    def drivers(self, year: int, industry: str) -> dict | None:
        """The drivers of satisfaction of ``industry`` in the published release of ``year``
        (target, impacts[] with their release-bootstrap intervals, items[] — see
        :mod:`ncsi.drivers`), or None (not published, under embargo, or the industry's model
        was not admissible)."""
        return (self._fit_result(year, industry) or {}).get("drivers")

    def brand_items(self, year: int, industry: str, brand: str) -> pd.DataFrame:
        """Item-level gaps of one brand to its industry in the published release of ``year``:
        one row per item (construct, indicator, brand, industry, gap), each a mean answer on
        the 0–100 scale. The industry's item mean is aggregated as its index is: the brands'
        survey-weighted item means, weighted by the brands' published industry weights
        (revenue shares). Empty when the release holds no item means (older releases) or
        the brand is not in it. Callers check that the session may see ``brand``."""
        cols = ["construct", "indicator", "brand", "industry", "gap"]
        fit = self._fit_result(year, industry) or {}
        means = fit.get("brand_items") or {}
        items = (fit.get("drivers") or {}).get("items") or []
        if brand not in means or not items:
            return pd.DataFrame(columns=cols)
        rel = self._release(year)
        sc = self.store.release_scores(rel["id"])
        sc = sc[(sc["level"] == LEVEL_BRAND) & (sc["parent"] == industry)]
        weight = {(r.code, r.construct): r.weight for r in sc.itertuples(index=False)}
        rows = []
        for it in items:
            c, ind = it["construct"], it["indicator"]
            num = den = 0.0
            for b, m in means.items():
                w, v = weight.get((b, c)), m.get(ind)
                if v is None or w is None or not np.isfinite(w) or w <= 0:
                    continue
                num += w * v
                den += w
            own = means[brand].get(ind)
            whole = num / den if den > 0 else None
            rows.append({"construct": c, "indicator": ind, "brand": own, "industry": whole,
                         "gap": own - whole if own is not None and whole is not None
                         else None})
        return pd.DataFrame(rows, columns=cols)

    def brand_scores(self, brand: str) -> pd.DataFrame:
        """Every published score of one brand, all constructs and years (the rows of
        :meth:`scores`)."""
        s = self.scores()
        if s.empty:
            return s
        return s[(s["level"] == LEVEL_BRAND) & (s["code"] == brand)].reset_index(drop=True)

    def industry_scores(self, industry: str) -> pd.DataFrame:
        """Every published score of one industry's own row, all constructs and years."""
        s = self.scores()
        if s.empty:
            return s
        return s[(s["level"] == LEVEL_INDUSTRY) & (s["code"] == industry)].reset_index(drop=True)

    def published_brands(self) -> list[str]:
        """Brands with at least one published score, sorted by code."""
        s = self.scores()
        if s.empty:
            return []
        return sorted(set(s.loc[s["level"] == LEVEL_BRAND, "code"]))

    def brand_industry(self, brand: str) -> str | None:
        """The industry of a published brand (its latest published score's parent)."""
        s = self.brand_scores(brand)
        return None if s.empty else str(s.sort_values("year")["parent"].iloc[-1])

    def band_text(self, code: str | None, lang: str = "zh") -> str:
        return band_label(code, lang, self.config.bands) if code else ""

    def display_rows(self, ranking: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
        """The ranking as published text: scores at the published precision, "NM" where not
        measured, signed changes, band names in ``lang``."""
        if ranking.empty:
            return ranking
        out = format_ranking_rows(ranking, decimals=self.config.published_decimals)
        out["band"] = [self.band_text(b, lang) if b else "" for b in ranking["band"]]
        if "flags" in out.columns:  # ranking(..., flags=True): the trend's comparability
            out["comparable"] = [_comparable_text(f, lang) for f in ranking["flags"]]
            out = out.drop(columns=["flags"])
        return out

    def format_table(self, ranking: pd.DataFrame, lang: str = "zh") -> str:
        """Plain-text table for the terminal."""
        if ranking.empty:
            return "(no published ranking / 暂无已发布排名)"
        return self.display_rows(ranking, lang).to_string(index=False)


def _flags_value(value):
    """A score's flags as stored: a dict, or None (NaN/NA from pandas become None)."""
    return value if isinstance(value, dict) else None


def _comparable_text(flags, lang: str) -> str:
    """"✓" when the trend to this year passed the invariance checks, "✗ reason" when it did not,
    "" when it was not checked (first year measured)."""
    inv = (flags or {}).get("invariance") if isinstance(flags, dict) else None
    if not inv:
        return ""
    if inv.get("ok"):
        return "✓"
    reason = inv.get("reason_zh") if lang == "zh" and inv.get("reason_zh") else inv.get("reason")
    return f"✗ {reason}" if reason else "✗"
