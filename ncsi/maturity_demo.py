"""The deterministic maturity demo: fictitious manufacturers drawn from a KNOWN true model.

``generate(seed, out)`` writes five biennial waves (2017–2025) of the quality-management maturity
survey (methodology §7), the enterprises' quality performance (§8), their links to the NCSI demo
brands, and — next to the data — the truth the estimators should recover. Every number of the
simulation is data in the recipe ``surveys/maturity/demo.yaml``; this module holds none.

The true model
--------------
The population is the recipe's frame: N_h enterprises in each region × industry × size cell h.
Enterprise e of cell h has, in wave year t, the latent maturity

    θ_et = m_h(t) + u_e + w_et,   m_h(t) = mean + size + region + industry
                                          + (t − base_year)(improvement_per_year + by_size),

u_e ~ N(0, enterprise_sd²) lasting, w_et ~ N(0, wave_sd²). Item i of category c is answered with
level x_i = clip(round(y*_i), 1, 5), y*_i = a_c + o_i + λ_c θ_et + v_ec + σ ε_i (v_ec ~ N(0,
category_sd²) lasting, ε_i ~ N(0, 1)); a share of the answers is replaced by the missing code 9.

The true index
--------------
Over the enterprises of a cell, y*_i ~ Normal(μ_i, s_i²) with μ_i = a_c + o_i + λ_c m_h(t) and
s_i² = λ_c²(enterprise_sd² + wave_sd²) + category_sd² + σ², so the expected level is exactly
E[x_i] = 1 + Σ_{k=1}^{4} Φ((μ_i − k − ½)/s_i). The index is linear in the item levels (category
score = (mean item level − 1)/4 × points, index = Σ scores / 10) and answers are missing completely
at random, so a cell's expected index follows from the E[x_i]. Region, size, industry and national
truths are the population-weighted (N_h) means of the cells: the superpopulation expectation,
which the design-weighted sample mean estimates (the finite frame's own random effects move it by
a few tenths of a point at most). The shares of enterprises at each maturity level are a Monte
Carlo with a fixed stream (``truth.level_share_simulation_per_cell`` enterprises per cell).

Determinism
-----------
Every draw comes from its own stream, ``numpy.random.SeedSequence(seed, spawn_key=...)`` keyed by
purpose (the frame's lasting effects, the links) or by (wave year, purpose); the same seed, recipe
and questionnaire give byte-identical files.

Output layout (the folder may already hold the satisfaction demo of ``ncsi demo-data``; only the
files below are written, and an earlier maturity demo's files are replaced):
``maturity/<year>.csv``, ``performance/<year>.csv``, ``links.csv``, ``truth/maturity_*.csv``,
``truth/maturity_parameters.json``, ``README-maturity.txt``, ``manifest-maturity.json``.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
from scipy.special import expit, ndtr

from .errors import DataError
from .instruments import _display, _read_yaml, _Reader, load_taxonomy
from .maturity_instrument import (
    Cutoff,
    MaturityQuestionnaire,
    load_level_cutoffs,
    load_maturity_questionnaire,
    maturity_dir,
)

__all__ = [
    "GENERATOR",
    "GENERATOR_VERSION",
    "DEFAULT_WAVES",
    "MATURITY_COLUMNS",
    "PERFORMANCE_COLUMNS",
    "LINK_COLUMNS",
    "MaturityRecipe",
    "load_maturity_recipe",
    "generate",
]

GENERATOR = "ncsi maturity-demo"
GENERATOR_VERSION = "1"
DEFAULT_WAVES = (2017, 2019, 2021, 2023, 2025)
#: Respondent columns of ``maturity/<year>.csv`` (the 35 item columns follow).
MATURITY_COLUMNS = ("enterprise_id", "region", "size", "industry", "weight")
PERFORMANCE_COLUMNS = ("enterprise_id", "certificate_valid", "major_incident_2y",
                       "spot_check_pass_rate", "quality_exposures_3y", "credit_clean")
LINK_COLUMNS = ("enterprise_id", "brand")
MANIFEST = "manifest-maturity.json"
README = "README-maturity.txt"

# stream keys (part of the determinism contract: never renumber)
_FRAME, _WAVE, _LINKS, _TRUTH = 11, 12, 13, 14
_P_U, _P_V = range(2)
_P_SAMPLE, _P_LATENT, _P_ITEMS, _P_MISSING, _P_PERF = range(5)


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=tuple(int(k) for k in key)))


# ------------------------------------------------------------------------------------------------
# the recipe
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MaturityRecipe:
    """The validated recipe as arrays in questionnaire order (regions, sizes, industries, items).

    Cells are ordered region × industry × size; ``cell_*`` hold each cell's indices into the code
    lists and ``population`` its enterprise count.
    """

    data: dict
    path: str
    sha256: str
    version: str
    questionnaire: MaturityQuestionnaire
    cell_region: np.ndarray
    cell_industry: np.ndarray
    cell_size: np.ndarray
    population: np.ndarray
    sampling_rate: np.ndarray      # per size
    min_per_cell: int
    retention: float
    base_year: int
    cell_base: np.ndarray          # mean + size + region + industry per cell
    improvement: float
    improvement_by_size: np.ndarray
    enterprise_sd: float
    wave_sd: float
    item_intercept: np.ndarray     # a_c + o_i per item
    item_loading: np.ndarray       # λ_c per item
    item_category: np.ndarray      # category index per item
    noise_sd: float
    category_sd: float
    missing_rate: float
    missing_code: int
    links_share: np.ndarray        # per size
    links_industries: dict         # manufacturing industry → [NCSI industries]
    truth_per_cell: int
    truth_decimals: int
    weight_decimals: int

    @property
    def latent_sd(self) -> float:
        """SD of θ around its cell mean (lasting + wave effect)."""
        return math.sqrt(self.enterprise_sd ** 2 + self.wave_sd ** 2)

    @property
    def item_sd(self) -> np.ndarray:
        """SD of every item's latent response y* over the enterprises of a cell."""
        return np.sqrt(self.item_loading ** 2 * self.latent_sd ** 2 + self.category_sd ** 2
                       + self.noise_sd ** 2)

    def cell_means(self, year: int) -> np.ndarray:
        """m_h(t): the mean latent maturity of every cell in wave year ``year``."""
        slope = self.improvement + self.improvement_by_size[self.cell_size]
        return self.cell_base + (int(year) - self.base_year) * slope


def _by_code(r: _Reader, raw: Any, key: str, codes: Iterable[str], *, lo: float | None = None,
             hi: float | None = None) -> np.ndarray:
    codes = list(codes)
    m = r.mapping(raw, key, allowed=codes, required=codes)
    out = []
    for c in codes:
        v = r.number(m[c], f"{key}.{c}")
        _bounds(r, f"{key}.{c}", v, lo, hi)
        out.append(v)
    return np.array(out, dtype=float)


def _bounds(r: _Reader, key: str, v: float, lo: float | None, hi: float | None) -> None:
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = f"[{'' if lo is None else f'{lo:g}'}, {'' if hi is None else f'{hi:g}'}]"
        raise r.fail(key, f"{v:g} is outside {rng}", f"{v:g} 超出范围 {rng}")


def _num(r: _Reader, m: dict, key: str, name: str, lo: float | None = None,
         hi: float | None = None) -> float:
    v = r.number(m[name], f"{key}.{name}" if key else name)
    _bounds(r, f"{key}.{name}" if key else name, v, lo, hi)
    return v


_TOP = ("version", "population", "sample", "latent", "items", "categories", "performance",
        "links", "truth", "weight_decimals")


def load_maturity_recipe(path: str | Path | None = None, *,
                         questionnaire: MaturityQuestionnaire | None = None) -> MaturityRecipe:
    """Read and check the recipe (default ``surveys/maturity/demo.yaml``) against the
    questionnaire; every problem is an :class:`~ncsi.errors.InstrumentError` naming the file and
    the key."""
    q = questionnaire if questionnaire is not None else load_maturity_questionnaire()
    p = Path(path) if path is not None else maturity_dir() / "demo.yaml"
    data, text = _read_yaml(p, "成熟度演示配方")
    r = _Reader(_display(p))
    top = r.mapping(data, "", allowed=_TOP + ("notes",), required=_TOP)
    version = r.text(top["version"], "version")
    regions, sizes, industries = q.region_codes, q.size_codes, q.industry_codes

    pop = r.mapping(top["population"], "population", allowed=regions, required=regions)
    cells_r, cells_k, cells_s, counts = [], [], [], []
    for ri, rc in enumerate(regions):
        per = r.mapping(pop[rc], f"population.{rc}", allowed=industries, required=industries)
        for ki, kc in enumerate(industries):
            key = f"population.{rc}.{kc}"
            cell = r.mapping(per[kc], key, allowed=sizes, required=sizes)
            for si, sc in enumerate(sizes):
                v = r.integer(cell[sc], f"{key}.{sc}")
                if v < 0:
                    raise r.fail(f"{key}.{sc}", "must be 0 or more enterprises",
                                 "企业数须大于或等于 0")
                cells_r.append(ri)
                cells_k.append(ki)
                cells_s.append(si)
                counts.append(v)
    population = np.array(counts, dtype=np.int64)
    if population.sum() <= 0:
        raise r.fail("population", "the frame is empty; give the cells enterprises",
                     "抽样框为空；请填写各单元的企业数")

    s = r.mapping(top["sample"], "sample", allowed=("sampling_rate", "min_per_cell",
                                                    "panel_retention"),
                  required=("sampling_rate", "min_per_cell", "panel_retention"))
    rate = _by_code(r, s["sampling_rate"], "sample.sampling_rate", sizes, lo=0)
    if not (rate > 0).all():
        raise r.fail("sample.sampling_rate", "every size class needs a positive sampling rate",
                     "每个规模类别的抽样比例须为正数")
    min_per_cell = r.integer(s["min_per_cell"], "sample.min_per_cell")
    if min_per_cell < 1:
        raise r.fail("sample.min_per_cell", "must be 1 or more (every cell is sampled)",
                     "必须大于或等于 1（每个单元都须有样本）")
    retention = _num(r, s, "sample", "panel_retention", 0, 1)

    lkeys = ("base_year", "mean", "size", "region", "industry", "improvement_per_year",
             "improvement_by_size", "enterprise_sd", "wave_sd")
    lat = r.mapping(top["latent"], "latent", allowed=lkeys, required=lkeys)
    base_year = r.integer(lat["base_year"], "latent.base_year")
    eff_s = _by_code(r, lat["size"], "latent.size", sizes)
    eff_r = _by_code(r, lat["region"], "latent.region", regions)
    eff_k = _by_code(r, lat["industry"], "latent.industry", industries)
    cr, ck, cs = (np.array(x, dtype=np.int64) for x in (cells_r, cells_k, cells_s))
    cell_base = _num(r, lat, "latent", "mean") + eff_s[cs] + eff_r[cr] + eff_k[ck]

    ikeys = ("noise_sd", "category_sd", "missing_rate", "missing_code")
    it = r.mapping(top["items"], "items", allowed=ikeys, required=ikeys)
    missing_code = r.integer(it["missing_code"], "items.missing_code")
    if missing_code not in q.missing_codes:
        raise r.fail("items.missing_code", f"{missing_code} is not a missing code of "
                                           f"{_display(Path(q.path))} "
                                           f"({', '.join(map(str, q.missing_codes))})",
                     f"{missing_code} 不是问卷的缺失值代码")

    cats = r.mapping(top["categories"], "categories", allowed=q.category_codes,
                     required=q.category_codes)
    intercept, loading, category = [], [], []
    for ci, c in enumerate(q.categories):
        key = f"categories.{c.code}"
        m = r.mapping(cats[c.code], key, allowed=("intercept", "loading", "item_offsets"),
                      required=("intercept", "loading", "item_offsets"))
        a = _num(r, m, key, "intercept", 1, 5)
        lam = _num(r, m, key, "loading", 0)
        offs = r.seq(m["item_offsets"], f"{key}.item_offsets")
        if len(offs) != len(c.items):
            raise r.fail(f"{key}.item_offsets", f"lists {len(offs)} offsets; category {c.code} "
                                                f"has {len(c.items)} items "
                                                f"({', '.join(c.item_codes)})",
                         f"列出了 {len(offs)} 个偏移；类目 {c.code} 有 {len(c.items)} 道题")
        for j, o in enumerate(offs):
            intercept.append(a + r.number(o, f"{key}.item_offsets[{j}]"))
            loading.append(lam)
            category.append(ci)

    perf = r.mapping(top["performance"], "performance",
                     allowed=("certificate_valid", "major_incident_2y", "credit_clean",
                              "spot_check", "quality_exposures_3y"),
                     required=("certificate_valid", "major_incident_2y", "credit_clean",
                               "spot_check", "quality_exposures_3y"))
    for name in ("certificate_valid", "major_incident_2y", "credit_clean"):
        m = r.mapping(perf[name], f"performance.{name}", allowed=("intercept", "slope"),
                      required=("intercept", "slope"))
        _num(r, m, f"performance.{name}", "intercept")
        _num(r, m, f"performance.{name}", "slope")
    sk = ("checked_share", "batches_mean", "pass_intercept", "pass_slope", "decimals")
    sc_ = r.mapping(perf["spot_check"], "performance.spot_check", allowed=sk, required=sk)
    _by_code(r, sc_["checked_share"], "performance.spot_check.checked_share", sizes, lo=0, hi=1)
    _by_code(r, sc_["batches_mean"], "performance.spot_check.batches_mean", sizes, lo=1)
    _num(r, sc_, "performance.spot_check", "pass_intercept")
    _num(r, sc_, "performance.spot_check", "pass_slope")
    dec = r.integer(sc_["decimals"], "performance.spot_check.decimals")
    if not 0 <= dec <= 4:
        raise r.fail("performance.spot_check.decimals", "must be 0–4", "必须为 0–4")
    qe = r.mapping(perf["quality_exposures_3y"], "performance.quality_exposures_3y",
                   allowed=("intercept", "slope", "size"), required=("intercept", "slope", "size"))
    _num(r, qe, "performance.quality_exposures_3y", "intercept")
    _num(r, qe, "performance.quality_exposures_3y", "slope")
    _by_code(r, qe["size"], "performance.quality_exposures_3y.size", sizes)

    lk = r.mapping(top["links"], "links", allowed=("share", "industries"),
                   required=("share", "industries"))
    share = _by_code(r, lk["share"], "links.share", sizes, lo=0, hi=1)
    li = r.mapping(lk["industries"], "links.industries", allowed=industries, required=industries)
    known = set(load_taxonomy().industry_codes)
    links_industries: dict[str, list[str]] = {}
    for kc in industries:
        lst = r.seq(li[kc], f"links.industries.{kc}", nonempty=False)
        codes = []
        for j, x in enumerate(lst):
            code = r.text(x, f"links.industries.{kc}[{j}]")
            if code not in known:
                raise r.fail(f"links.industries.{kc}[{j}]",
                             f"'{code}' is not an NCSI industry of surveys/taxonomy.yaml",
                             f"“{code}”不是 surveys/taxonomy.yaml 中的 NCSI 行业")
            codes.append(code)
        links_industries[kc] = codes

    tr = r.mapping(top["truth"], "truth", allowed=("level_share_simulation_per_cell", "decimals"),
                   required=("level_share_simulation_per_cell", "decimals"))
    per_cell = r.integer(tr["level_share_simulation_per_cell"],
                         "truth.level_share_simulation_per_cell")
    if per_cell < 1:
        raise r.fail("truth.level_share_simulation_per_cell", "must be 1 or more",
                     "必须大于或等于 1")
    tdec = r.integer(tr["decimals"], "truth.decimals")
    wdec = r.integer(top["weight_decimals"], "weight_decimals")
    for key, v in (("truth.decimals", tdec), ("weight_decimals", wdec)):
        if not 2 <= v <= 10:
            raise r.fail(key, "must be 2–10", "必须为 2–10")

    return MaturityRecipe(
        data=data, path=str(p.resolve()), sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        version=version, questionnaire=q, cell_region=cr, cell_industry=ck, cell_size=cs,
        population=population, sampling_rate=rate, min_per_cell=min_per_cell, retention=retention,
        base_year=base_year, cell_base=cell_base,
        improvement=_num(r, lat, "latent", "improvement_per_year"),
        improvement_by_size=_by_code(r, lat["improvement_by_size"], "latent.improvement_by_size",
                                     sizes),
        enterprise_sd=_num(r, lat, "latent", "enterprise_sd", 0),
        wave_sd=_num(r, lat, "latent", "wave_sd", 0),
        item_intercept=np.array(intercept), item_loading=np.array(loading),
        item_category=np.array(category, dtype=np.int64),
        noise_sd=_num(r, it, "items", "noise_sd", 0),
        category_sd=_num(r, it, "items", "category_sd", 0),
        missing_rate=_num(r, it, "items", "missing_rate", 0, 0.5), missing_code=missing_code,
        links_share=share, links_industries=links_industries, truth_per_cell=per_cell,
        truth_decimals=tdec, weight_decimals=wdec)


# ------------------------------------------------------------------------------------------------
# sampling
# ------------------------------------------------------------------------------------------------

def _allocate(rec: MaturityRecipe, n: int) -> np.ndarray:
    """Sample size per cell: ∝ population × size rate, within [min(min_per_cell, N), N], Σ = n."""
    pop = rec.population
    lo = np.minimum(rec.min_per_cell, pop)
    hi = pop
    if n < lo.sum():
        raise DataError(f"n = {n} is too small: every non-empty cell takes at least "
                        f"{rec.min_per_cell} enterprises, {int(lo.sum())} in all; use n ≥ "
                        f"{int(lo.sum())}",
                        message_zh=f"n = {n} 过小：每个非空单元至少抽取 {rec.min_per_cell} 家，"
                                   f"合计 {int(lo.sum())} 家")
    if n > hi.sum():
        raise DataError(f"n = {n} exceeds the population of {int(hi.sum())} enterprises",
                        message_zh=f"n = {n} 超过总体企业数 {int(hi.sum())}")
    raw = pop * rec.sampling_rate[rec.cell_size]
    a, b = 0.0, float(n) / max(float(raw[raw > 0].min()), 1e-12) + 1.0
    for _ in range(200):
        mid = (a + b) / 2
        if np.clip(mid * raw, lo, hi).sum() < n:
            a = mid
        else:
            b = mid
    x = np.clip(b * raw, lo, hi)
    base = np.minimum(np.floor(x + 1e-9).astype(np.int64), hi)
    base = np.maximum(base, lo)
    rest = n - int(base.sum())
    order = np.lexsort((np.arange(len(x)), -(x - base)))
    if rest > 0:
        open_ = order[base[order] < hi[order]]
        base[open_[:rest]] += 1
    elif rest < 0:
        over = order[::-1]
        over = over[base[over] > lo[over]]
        base[over[:-rest]] -= 1
    return base


def _panel(seed: int, rec: MaturityRecipe, waves: list[int], alloc: np.ndarray
           ) -> tuple[list[np.ndarray], list[dict]]:
    """The frame indices surveyed in every wave, and per-wave panel counts."""
    pop = rec.population
    offsets = np.concatenate([[0], np.cumsum(pop)[:-1]])
    total = int(pop.sum())
    ever = np.zeros(total, dtype=bool)
    prev = np.zeros(total, dtype=bool)
    samples: list[np.ndarray] = []
    stats: list[dict] = []
    for y in waves:
        rng = _rng(seed, _WAVE, y, _P_SAMPLE)
        chosen = []
        for h in range(len(pop)):
            ids = np.arange(offsets[h], offsets[h] + pop[h])
            nh = int(alloc[h])
            was = ids[prev[ids]]
            keep = was[rng.random(len(was)) < rec.retention]
            if len(keep) > nh:
                keep = np.sort(rng.choice(keep, nh, replace=False))
            need = nh - len(keep)
            fresh_pool = ids[~ever[ids]]
            if len(fresh_pool) >= need:
                fresh = rng.choice(fresh_pool, need, replace=False)
            else:
                back = np.setdiff1d(ids[ever[ids]], keep)
                fresh = np.concatenate([fresh_pool,
                                        rng.choice(back, need - len(fresh_pool), replace=False)])
            chosen.append(np.sort(np.concatenate([keep, fresh]).astype(np.int64)))
        sample = np.concatenate(chosen)
        stats.append({"year": y, "n": int(len(sample)),
                      "resurveyed": int(prev[sample].sum()),
                      "returning": int((ever[sample] & ~prev[sample]).sum()),
                      "new": int((~ever[sample]).sum()),
                      "dropped_out": int(prev.sum() - prev[sample].sum())})
        ever[sample] = True
        prev[:] = False
        prev[sample] = True
        samples.append(sample)
    return samples, stats


def _cell_index(rec: MaturityRecipe) -> np.ndarray:
    """The cell of every frame enterprise."""
    return np.repeat(np.arange(len(rec.population)), rec.population)


def _items(rec: MaturityRecipe, theta: np.ndarray, v: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """Item levels 1–5 (int) from θ (n,), category effects v (n, categories) and noise eps
    (n, items)."""
    y = (rec.item_intercept[None, :] + rec.item_loading[None, :] * theta[:, None]
         + v[:, rec.item_category] + rec.noise_sd * eps)
    return np.clip(np.rint(y), 1, 5).astype(np.int64)


def _index(rec: MaturityRecipe, levels: np.ndarray) -> np.ndarray:
    """0–100 maturity index of complete item rows (no missing codes)."""
    q = rec.questionnaire
    out = np.zeros(levels.shape[0])
    for ci, c in enumerate(q.categories):
        mean = levels[:, rec.item_category == ci].mean(axis=1)
        out += (mean - 1) / 4 * c.points
    return out / 10


# ------------------------------------------------------------------------------------------------
# brands and links
# ------------------------------------------------------------------------------------------------

def _brands(seed: int, brands_csv: Path | str | None, wanted: set[str]
            ) -> tuple[dict[str, list[str]], str]:
    """NCSI industry → sorted brand codes, and where they came from."""
    if brands_csv is not None:
        p = Path(brands_csv)
        try:
            df = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except FileNotFoundError:
            raise DataError("brands file not found; check the path", file=str(p),
                            message_zh=f"{p}：找不到品牌文件，请检查路径") from None
        except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise DataError(f"cannot be read as CSV ({exc.__class__.__name__})", file=str(p),
                            message_zh=f"{p}：无法按 CSV 读取") from None
        absent = [c for c in ("brand", "industry") if c not in df.columns]
        if absent:
            raise DataError(f"column(s) {', '.join(absent)} missing; a brands file has the "
                            f"columns brand, industry, …", file=str(p), column=absent[0],
                            message_zh=f"{p}：缺少列 {'、'.join(absent)}"
                                       f"（品牌文件须有 brand、industry 列）")
        pairs = [(b.strip(), i.strip()) for b, i in zip(df["brand"], df["industry"]) if b.strip()]
        source = p.name
    else:
        from .demo_data import _context  # the satisfaction demo's brands for the same seed
        ctx = _context(seed, None)
        pairs = []
        for sector in ctx.taxonomy["sectors"]:
            for ind in sector["industries"]:
                if ind["code"] in wanted:
                    pairs += [(bd["brand"], ind["code"]) for bd in ctx.plan(ind["code"]).brands]
        source = f"ncsi demo-data --seed {seed}"
    out: dict[str, list[str]] = {}
    for b, i in pairs:
        if i in wanted:
            out.setdefault(i, []).append(b)
    return {i: sorted(set(v)) for i, v in out.items()}, source


def _links(seed: int, rec: MaturityRecipe, brands: dict[str, list[str]], cell: np.ndarray
           ) -> np.ndarray:
    """The brand (or '') of every frame enterprise."""
    q = rec.questionnaire
    rng = _rng(seed, _LINKS)
    total = len(cell)
    u = rng.random(total)
    pick = rng.random(total)
    out = np.full(total, "", dtype=object)
    ind_of = rec.cell_industry[cell]
    size_of = rec.cell_size[cell]
    for ki, kc in enumerate(q.industry_codes):
        cands = sorted({b for ncsi in rec.links_industries[kc] for b in brands.get(ncsi, [])})
        if not cands:
            continue
        sel = (ind_of == ki) & (u < rec.links_share[size_of])
        idx = np.minimum((pick[sel] * len(cands)).astype(np.int64), len(cands) - 1)
        out[sel] = np.array(cands, dtype=object)[idx]
    return out


# ------------------------------------------------------------------------------------------------
# performance
# ------------------------------------------------------------------------------------------------

def _performance(seed: int, rec: MaturityRecipe, year: int, theta: np.ndarray,
                 size: np.ndarray) -> dict[str, np.ndarray]:
    p = rec.data["performance"]
    n = len(theta)
    rng = _rng(seed, _WAVE, year, _P_PERF)
    out: dict[str, np.ndarray] = {}
    for name in ("certificate_valid", "major_incident_2y", "credit_clean"):
        a, b = float(p[name]["intercept"]), float(p[name]["slope"])
        out[name] = rng.random(n) < expit(a + b * theta)
    sc = p["spot_check"]
    sizes = rec.questionnaire.size_codes
    share = np.array([float(sc["checked_share"][s]) for s in sizes])[size]
    mean = np.array([float(sc["batches_mean"][s]) for s in sizes])[size]
    checked = rng.random(n) < share
    batches = 1 + rng.poisson(mean - 1)
    passed = rng.binomial(batches, expit(float(sc["pass_intercept"])
                                         + float(sc["pass_slope"]) * theta))
    rate = np.round(100.0 * passed / batches, int(sc["decimals"]))
    out["spot_check_pass_rate"] = np.where(checked, rate, np.nan)
    qe = p["quality_exposures_3y"]
    eff = np.array([float(qe["size"][s]) for s in sizes])[size]
    out["quality_exposures_3y"] = rng.poisson(np.exp(float(qe["intercept"])
                                                     + float(qe["slope"]) * theta + eff))
    return out


# ------------------------------------------------------------------------------------------------
# truth
# ------------------------------------------------------------------------------------------------

def expected_levels(rec: MaturityRecipe, year: int) -> np.ndarray:
    """E[x_i] per cell and item (cells × items) in wave year ``year`` — exact."""
    mu = rec.item_intercept[None, :] + rec.item_loading[None, :] * rec.cell_means(year)[:, None]
    sd = rec.item_sd[None, :]
    return 1.0 + sum(ndtr((mu - k - 0.5) / sd) for k in range(1, 5))


def true_cell_scores(rec: MaturityRecipe, year: int) -> np.ndarray:
    """Expected category scores per cell (cells × categories); their row sum / 10 = index."""
    e = expected_levels(rec, year)
    q = rec.questionnaire
    cols = [(e[:, rec.item_category == ci].mean(axis=1) - 1) / 4 * c.points
            for ci, c in enumerate(q.categories)]
    return np.column_stack(cols)


def _dimensions(rec: MaturityRecipe) -> list[tuple[str, list[str], np.ndarray]]:
    q = rec.questionnaire
    return [("national", ["all"], np.zeros(len(rec.population), dtype=np.int64)),
            ("region", list(q.region_codes), rec.cell_region),
            ("size", list(q.size_codes), rec.cell_size),
            ("industry", list(q.industry_codes), rec.cell_industry)]


def _truth(rec: MaturityRecipe, waves: list[int], alloc: np.ndarray,
           cutoffs: list[Cutoff]) -> dict[str, pd.DataFrame]:
    q = rec.questionnaire
    dec = rec.truth_decimals
    pop = rec.population.astype(float)
    fmt = f"%.{dec}f"
    idx_rows, cat_rows, diff_rows, cell_rows, share_rows = [], [], [], [], []
    mins = np.array([c.min for c in cutoffs])
    for y in waves:
        scores = true_cell_scores(rec, y)
        index = scores.sum(axis=1) / 10
        for h in range(len(pop)):
            cell_rows.append((y, q.region_codes[rec.cell_region[h]],
                              q.size_codes[rec.cell_size[h]],
                              q.industry_codes[rec.cell_industry[h]], int(pop[h]),
                              int(alloc[h]), fmt % index[h]))
        # Monte Carlo of the level shares (fixed stream: the truth does not depend on the seed)
        k = rec.truth_per_cell
        rng = _rng(0, _TRUTH, y)
        cell = np.repeat(np.arange(len(pop)), k)
        theta = rec.cell_means(y)[cell] + rec.latent_sd * rng.standard_normal(len(cell))
        v = rec.category_sd * rng.standard_normal((len(cell), len(q.categories)))
        eps = rng.standard_normal((len(cell), len(q.items)))
        sim = _index(rec, _items(rec, theta, v, eps))
        level = np.searchsorted(mins, sim, side="right") - 1
        nl = len(cutoffs)
        for dim, groups, of in _dimensions(rec):
            # population-weighted counts of simulated enterprises per group × level
            counts = np.bincount(of[cell] * nl + level, weights=pop[cell] / k,
                                 minlength=len(groups) * nl).reshape(len(groups), nl)
            for gi, g in enumerate(groups):
                sel = of == gi
                n_pop = pop[sel].sum()
                if n_pop <= 0:
                    continue
                idx_rows.append((y, dim, g, int(n_pop),
                                 fmt % (pop[sel] @ index[sel] / n_pop)))
                for ci, c in enumerate(q.categories):
                    s = pop[sel] @ scores[sel, ci] / n_pop
                    cat_rows.append((y, dim, g, c.code, c.points, fmt % s,
                                     fmt % (1 + 4 * s / c.points)))
                for li, cut in enumerate(cutoffs):
                    share_rows.append((y, dim, g, cut.level,
                                       fmt % (counts[gi, li] / counts[gi].sum())))
        size_idx = {}
        for si, sc in enumerate(q.size_codes):
            sel = rec.cell_size == si
            size_idx[sc] = pop[sel] @ index[sel] / pop[sel].sum()
        codes = list(q.size_codes)
        for i, a in enumerate(codes):
            for b in codes[i + 1:]:
                diff_rows.append((y, a, b, fmt % (size_idx[a] - size_idx[b])))
    return {
        "maturity_indices.csv": pd.DataFrame(
            idx_rows, columns=["year", "dimension", "group", "population", "true_index"]),
        "maturity_categories.csv": pd.DataFrame(
            cat_rows, columns=["year", "dimension", "group", "category", "points",
                               "true_score", "true_mean_level"]),
        "maturity_size_differences.csv": pd.DataFrame(
            diff_rows, columns=["year", "size_a", "size_b", "true_difference"]),
        "maturity_level_shares.csv": pd.DataFrame(
            share_rows, columns=["year", "dimension", "group", "level", "true_share"]),
        "maturity_cells.csv": pd.DataFrame(
            cell_rows, columns=["year", "region", "size", "industry", "population", "sample_n",
                                "true_index"]),
    }


# ------------------------------------------------------------------------------------------------
# the public entry point
# ------------------------------------------------------------------------------------------------

def _csv_bytes(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _bools(x: np.ndarray) -> np.ndarray:
    return np.where(x, "true", "false").astype(object)


def _check_args(seed: Any, waves: Any, n: Any) -> tuple[int, list[int], int]:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"the seed must be a non-negative integer, got {seed!r}",
                        message_zh=f"随机种子必须是非负整数，而不是 {seed!r}")
    try:
        ws = [int(w) for w in waves]
        ok = all(not isinstance(w, bool) and int(w) == w for w in waves)
    except (TypeError, ValueError):
        ws, ok = [], False
    if not ok or not ws or ws != sorted(set(ws)):
        raise DataError(f"waves must be a non-empty increasing list of distinct years, got "
                        f"{waves!r}",
                        message_zh=f"waves 必须是递增且不重复的年份列表，而不是 {waves!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise DataError(f"n must be a positive whole number of enterprises, got {n!r}",
                        message_zh=f"n 必须是正整数（企业数），而不是 {n!r}")
    return int(seed), ws, int(n)


def generate(seed: int, out: Path | str, *, waves: Iterable[int] = DEFAULT_WAVES, n: int = 1500,
             brands_csv: Path | str | None = None, recipe: Path | str | None = None,
             questionnaire: Path | str | None = None, levels: Path | str | None = None) -> dict:
    """Write the maturity demo for ``seed`` into ``out`` and return the manifest.

    ``waves``: the survey years (a panel runs through them in order); ``n``: enterprises surveyed
    per wave; ``brands_csv``: the satisfaction demo's ``brands.csv`` (columns brand, industry, …)
    whose brands the enterprises are linked to — by default the brands ``ncsi demo-data`` makes
    with the same seed; ``recipe``, ``questionnaire``, ``levels``: other files than
    ``surveys/maturity/{demo,questionnaire,levels}.yaml``. ``out`` may be new, empty, or hold
    other files (e.g. the satisfaction demo); an earlier maturity demo there is replaced.
    """
    seed, ws, n = _check_args(seed, waves, n)
    q = load_maturity_questionnaire(questionnaire)
    rec = load_maturity_recipe(recipe, questionnaire=q)
    _, cutoffs = load_level_cutoffs(levels)
    alloc = _allocate(rec, n)
    out = Path(out)
    wanted = {i for v in rec.links_industries.values() for i in v}
    brands, brands_source = _brands(seed, brands_csv, wanted)
    targets = ([f"maturity/{y}.csv" for y in ws] + [f"performance/{y}.csv" for y in ws]
               + ["links.csv", README, MANIFEST, "truth/maturity_parameters.json"]
               + [f"truth/{name}" for name in ("maturity_indices.csv", "maturity_categories.csv",
                                               "maturity_size_differences.csv",
                                               "maturity_level_shares.csv",
                                               "maturity_cells.csv")])
    _prepare_out(out, targets)

    files: list[dict] = []

    def emit(rel: str, data: bytes, rows: int | None) -> None:
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files.append({"path": rel, "sha256": hashlib.sha256(data).hexdigest(), "rows": rows})

    emit(README, _readme(seed, rec, n, ws, brands_source).encode("utf-8"), None)

    # the frame's lasting effects
    cell = _cell_index(rec)
    total = len(cell)
    u = rec.enterprise_sd * _rng(seed, _FRAME, _P_U).standard_normal(total)
    v = rec.category_sd * _rng(seed, _FRAME, _P_V).standard_normal((total, len(q.categories)))
    width = max(6, len(str(total)))
    ids = np.array([f"E{i + 1:0{width}d}" for i in range(total)], dtype=object)
    region_of = np.array(q.region_codes, dtype=object)[rec.cell_region[cell]]
    size_of = np.array(q.size_codes, dtype=object)[rec.cell_size[cell]]
    industry_of = np.array(q.industry_codes, dtype=object)[rec.cell_industry[cell]]

    samples, panel = _panel(seed, rec, ws, alloc)
    wfmt = f"%.{rec.weight_decimals}f"
    rows_total = 0
    for y, sample in zip(ws, samples):
        h = cell[sample]
        weight = rec.population[h] / alloc[h]
        m = rec.cell_means(y)[h]
        theta = m + u[sample] + rec.wave_sd * _rng(seed, _WAVE, y, _P_LATENT).standard_normal(
            len(sample))
        eps = _rng(seed, _WAVE, y, _P_ITEMS).standard_normal((len(sample), len(q.items)))
        levels_ = _items(rec, theta, v[sample], eps)
        miss = _rng(seed, _WAVE, y, _P_MISSING).random(levels_.shape) < rec.missing_rate
        levels_ = np.where(miss, rec.missing_code, levels_)
        cols: dict[str, Any] = {
            "enterprise_id": ids[sample], "region": region_of[sample], "size": size_of[sample],
            "industry": industry_of[sample], "weight": np.char.mod(wfmt, weight)}
        for j, code in enumerate(q.item_codes):
            cols[code] = levels_[:, j]
        df = pd.DataFrame(cols)
        emit(f"maturity/{y}.csv", _csv_bytes(df), len(df))
        rows_total += len(df)

        perf = _performance(seed, rec, y, theta, rec.cell_size[h])
        dec = int(rec.data["performance"]["spot_check"]["decimals"])
        rate = perf["spot_check_pass_rate"]
        pdf = pd.DataFrame({
            "enterprise_id": ids[sample],
            "certificate_valid": _bools(perf["certificate_valid"]),
            "major_incident_2y": _bools(perf["major_incident_2y"]),
            "spot_check_pass_rate": np.array(
                ["" if np.isnan(x) else f"{x:.{dec}f}" for x in rate], dtype=object),
            "quality_exposures_3y": perf["quality_exposures_3y"],
            "credit_clean": _bools(perf["credit_clean"])})
        emit(f"performance/{y}.csv", _csv_bytes(pdf), len(pdf))

    surveyed = np.unique(np.concatenate(samples))
    link = _links(seed, rec, brands, cell)[surveyed]
    has = link != ""
    ldf = pd.DataFrame({"enterprise_id": ids[surveyed][has], "brand": link[has]})
    emit("links.csv", _csv_bytes(ldf), len(ldf))

    truth = _truth(rec, ws, alloc, cutoffs)
    for name, df in truth.items():
        emit(f"truth/{name}", _csv_bytes(df), len(df))
    params = {
        "generator": GENERATOR, "generator_version": GENERATOR_VERSION, "is_demo": True,
        "seed": seed, "n": n, "waves": ws,
        "recipe_version": rec.version, "recipe_sha256": rec.sha256,
        "questionnaire_version": q.version, "questionnaire_sha256": q.sha256,
        "level_cutoffs": [list(c) for c in cutoffs],
        "population": int(rec.population.sum()),
        "true_model": "θ_et = m_h(t) + u_e + w_et; level = clip(round(a_c + o_i + λ_c θ + v_ec "
                      "+ σ ε), 1, 5); m_h(t) = mean + size + region + industry + (t − base_year)"
                      "·(improvement_per_year + improvement_by_size)",
        "true_index": "E[x_i] = 1 + Σ_k Φ((μ_i − k − ½)/s_i), μ_i = a_c + o_i + λ_c m_h(t), "
                      "s_i² = λ_c²(enterprise_sd² + wave_sd²) + category_sd² + noise_sd²; "
                      "category score = (mean E[x_i] − 1)/4 · points; index = Σ scores/10; "
                      "groups: population-weighted means of the cells",
        "level_shares": f"Monte Carlo, {rec.truth_per_cell} enterprises per cell and wave, "
                        f"fixed stream",
        "cell_latent_means": {str(y): [round(float(x), 6) for x in rec.cell_means(y)]
                              for y in ws},
        "panel": panel,
        "brands_source": brands_source,
        "linked_enterprises": int(has.sum()),
        "surveyed_enterprises": int(len(surveyed)),
    }
    emit("truth/maturity_parameters.json",
         (json.dumps(params, ensure_ascii=False, indent=1) + "\n").encode("utf-8"), None)

    manifest = {
        "generator": GENERATOR, "generator_version": GENERATOR_VERSION, "is_demo": True,
        "seed": seed, "n": n, "waves": ws,
        "recipe": Path(rec.path).name, "recipe_version": rec.version,
        "recipe_sha256": rec.sha256, "questionnaire_version": q.version,
        "questionnaire_sha256": q.sha256, "population": int(rec.population.sum()),
        "brands_source": brands_source, "enterprises": int(len(surveyed)),
        "linked_enterprises": int(has.sum()), "maturity_rows": rows_total, "files": files,
    }
    (out / MANIFEST).write_bytes(
        (json.dumps(manifest, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
    return manifest


def _readme(seed: int, rec: MaturityRecipe, n: int, waves: list[int], brands: str) -> str:
    ws = ", ".join(map(str, waves))
    return (
        f"DEMO DATA — fictitious enterprises, generated by the NCSI maturity demo (seed {seed})\n"
        f"演示数据——虚构企业，由 NCSI 质量管理成熟度演示生成（随机种子 {seed}）\n"
        "\n"
        "Every enterprise, answer and performance figure here is invented and drawn from a known\n"
        "true model; it describes no real company. Do not publish it as survey results.\n"
        "此处所有企业、答卷和质量绩效数据均为虚构，由已知模型模拟生成，与任何真实企业无关；\n"
        "请勿作为调查结果发布。\n"
        "\n"
        f"recipe 配方: surveys/maturity/demo.yaml, version {rec.version}, sha256 {rec.sha256}\n"
        f"questionnaire 问卷: {rec.questionnaire.id} {rec.questionnaire.version}\n"
        f"waves 调查年份: {ws}; about {n} enterprises per wave 每轮约 {n} 家企业\n"
        f"brands 品牌来源: {brands}\n"
        "\n"
        "maturity/<year>.csv        enterprise_id, region, size, industry, weight, 35 item levels\n"
        "                           (1–5; 9 = not applicable)           成熟度答卷（9 = 不适用）\n"
        "performance/<year>.csv     certificate, incidents, spot checks, exposures, credit\n"
        "                                                               质量绩效\n"
        "links.csv                  enterprise_id → NCSI brand          企业与品牌的对应\n"
        "truth/maturity_*.csv       true indices (national, region, size, industry), category\n"
        "                           scores, size differences, level shares, cells   真实指数\n"
        "truth/maturity_parameters.json  the true model and the panel   真实模型参数\n"
        f"{MANIFEST}    seed, recipe hash, files with sha256 + rows   文件清单\n"
    )


def _prepare_out(out: Path, targets: list[str]) -> None:
    """Make ``out`` ready: remove an earlier maturity demo's files; refuse to overwrite others."""
    if out.exists() and not out.is_dir():
        raise DataError("the output path is a file; choose a folder", file=str(out),
                        message_zh=f"{out} 是文件，请选择文件夹")
    out.mkdir(parents=True, exist_ok=True)
    mpath = out / MANIFEST
    if mpath.exists():
        try:
            old = json.loads(mpath.read_text(encoding="utf-8"))
            ok = isinstance(old, dict) and old.get("generator") == GENERATOR
        except (OSError, ValueError):
            ok = False
        if not ok:
            raise DataError(f"{MANIFEST} is not a maturity demo manifest; choose another folder",
                            file=str(out), message_zh=f"{out}：{MANIFEST} 不是成熟度演示清单，"
                                                      f"请选择其他文件夹")
        root = out.resolve()
        for f in old.get("files", []):
            rel = f.get("path") if isinstance(f, dict) else None
            if isinstance(rel, str):
                target = (out / rel).resolve()
                if root in target.parents and target.is_file():
                    target.unlink()
        mpath.unlink()
    clash = [t for t in targets if (out / t).exists()]
    if clash:
        raise DataError(f"{clash[0]} already exists and was not written by the maturity demo; "
                        f"choose an empty folder or remove it", file=str(out),
                        message_zh=f"{out}：{clash[0]} 已存在且不是成熟度演示生成的文件；"
                                   f"请选择空文件夹或删除该文件")

