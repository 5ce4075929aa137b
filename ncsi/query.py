"""Read-only views of *published* releases, for the dashboard, the CLI and exports.

Nothing here reads drafts or respondent rows: every number comes from ``store.published_scores``.
"""

from __future__ import annotations

import pandas as pd

from .instruments import load_taxonomy
from .scoring import IndexConfig, band_label, format_ranking_rows, ranking_rows

LEVEL_BRAND = "brand"
LEVEL_INDUSTRY = "industry"


class Query:
    """Published indices, rankings and trends. ``lang`` is "zh" (default) or "en"."""

    def __init__(self, store, config: IndexConfig | None = None):
        self.store = store
        self.config = config or IndexConfig.from_yaml()
        self.taxonomy = load_taxonomy()
        self._scores: pd.DataFrame | None = None
        self._brands: pd.DataFrame | None = None

    # -- raw published data ------------------------------------------------------------------
    def scores(self) -> pd.DataFrame:
        if self._scores is None:
            self._scores = self.store.published_scores()
        return self._scores

    def brands(self) -> pd.DataFrame:
        if self._brands is None:
            self._brands = self.store.known_brands().set_index("brand")
        return self._brands

    def published_years(self) -> list[int]:
        s = self.scores()
        return sorted(int(y) for y in s["year"].unique()) if not s.empty else []

    def published_releases(self) -> tuple[tuple[int, int], ...]:
        """(year, release id) of every published release, read afresh on every call (never
        cached): a cheap fingerprint that changes when a release is published."""
        r = self.store.releases()
        if r.empty:
            return ()
        r = r[r["status"] == "published"]
        return tuple(sorted((int(y), int(i)) for y, i in zip(r["year"], r["id"])))

    def industry_years(self, industry: str) -> list[int]:
        """Published years in which ``industry`` has its own (industry-level) score."""
        s = self.scores()
        if s.empty:
            return []
        part = s[(s["level"] == LEVEL_INDUSTRY) & (s["code"] == industry)]
        return sorted(int(y) for y in part["year"].unique())

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
        s = self.scores()
        if s.empty:
            return []
        part = s[s["level"] == LEVEL_INDUSTRY]
        if year is not None:
            part = part[part["year"] == year]
        have = set(part["code"])
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
                lang: str = "zh") -> pd.DataFrame:
        """The published ranking rows of methodology §9 for one industry and year."""
        h = self.history(industry, construct, year, lang)
        if h.empty or not (h["year"] == year).any():
            return pd.DataFrame()
        return ranking_rows(h, year=year, config=self.config)

    def trend(self, industry: str, construct: str | None = None,
              lang: str = "zh") -> pd.DataFrame:
        """Year, brand/industry, index and CI for the trend chart (publishable values only)."""
        h = self.history(industry, construct, None, lang)
        if h.empty:
            return h
        h = h[h["publishable"].astype(bool)]
        return h[["year", "level", "code", "name", "index", "ci_low", "ci_high", "n"]] \
            .sort_values(["level", "code", "year"]).reset_index(drop=True)

    def band_text(self, code: str | None, lang: str = "zh") -> str:
        return band_label(code, lang, self.config.bands) if code else ""

    def display_rows(self, ranking: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
        """The ranking as published text: scores at the published precision, "NM" where not
        measured, signed changes, band names in ``lang``."""
        if ranking.empty:
            return ranking
        out = format_ranking_rows(ranking, decimals=self.config.published_decimals)
        out["band"] = [self.band_text(b, lang) if b else "" for b in ranking["band"]]
        return out

    def format_table(self, ranking: pd.DataFrame, lang: str = "zh") -> str:
        """Plain-text table for the terminal."""
        if ranking.empty:
            return "(no published ranking / 暂无已发布排名)"
        return self.display_rows(ranking, lang).to_string(index=False)
