"""The deterministic demo survey: fictitious brands and respondents drawn from a KNOWN true model.

``generate(seed, out)`` writes eight yearly waves (2018–2025) of a national satisfaction survey for
every industry of ``surveys/taxonomy.yaml``: 4–8 invented brands per industry, 150–250 respondents
per brand and year, survey weights, item non-response, "don't know"/"refused" codes, straight-liners
and speeders — and, next to the data, the truth the estimators should recover (``truth/``).

Every number of the simulation is data in the recipe ``surveys/demo.yaml``; this module holds none.

The true model
--------------
For a sector, the true model is its model file (``models/ncsi-food.lav`` for food, ``models/ncsi.lav``
otherwise) with the recipe's standardized path coefficients ``B`` (``B[target, source]``). Within a
brand-year the latent variables are ``η = (I − B)⁻¹ (δ + ζ)`` with ``ζ ~ N(0, Ψ)``, ``Ψ`` diagonal and
chosen so that every latent has unit variance; ``δ`` (brand × year shifts on IMAG, QUAL and the SAT
disturbance, plus industry level and drift) moves the latent means ``m = (I − B)⁻¹ δ`` and so
propagates through the structural model. An item of construct ``c`` is

    x*_i = a_i + s_i · (λ_i · η_c + √(1 − λ_i²) · ε_i),   x_i = clip(round(x*_i), 1, 10),

so that, given the brand-year, ``x*_i ~ Normal(μ_i, s_i²)`` with ``μ_i = a_i + s_i λ_i m_c``.

The true index
--------------
:meth:`TrueModel.indices` is the population 0–100 index the ACSI formula (methodology §2) targets:
``index_c = (Σ_i ŵ_i E[x_i] − L) / (U − L) · 100`` with ``E[x_i]`` the exact expectation of the rounded
and clipped item, ``E[x_i] = L + Σ_{k=L}^{U−1} P(x*_i ≥ k + ½) = L + Σ_k Φ((μ_i − k − ½) / s_i)``, and
``ŵ_i ∝ λ_i / s_i`` normalised to sum to one within the construct (:meth:`TrueModel.true_weights`).

Why these weights: PLS Mode A outer weights of standardized indicators are proportional to each
indicator's covariance with the construct's inner proxy; with the proxy close to the latent, that is
``corr(x_i, η_c) ≈ λ_i``. The ACSI raw-scale weight divides by the item's standard deviation, and the
SD of an item within a brand-year is ``s_i`` (rounding adds about 1/12 to every item's variance and
clipping takes a little, nearly in the same proportion for items of one construct, so normalised
weights barely move). Because the recipe keeps the intercepts of one construct within 0.4 of each
other, the index hardly depends on the exact weights anyway: an error of 0.05 in a weight moves an
index by less than 0.25 points. Respondent groups (region, age, gender) do not differ in
satisfaction, so the weighted and the unweighted estimator target the same value.

Determinism
-----------
Every random draw comes from its own stream, ``numpy.random.SeedSequence(seed, spawn_key=...)``
keyed by (industry, purpose) for an industry's brands, trajectories and revenue (always drawn for all
recipe years), and by (industry, year, brand, purpose) for a brand-year's respondents. The key of an
industry is a hash of its code, not its position, so subsetting years or industries leaves the data
of the others byte-identical, and the same seed and recipe always give byte-identical files.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
import yaml
from scipy.special import ndtr, ndtri

from . import config
from .errors import DataError, InstrumentError
from .spec import ModelSpec, load_model

__all__ = [
    "GENERATOR",
    "GENERATOR_VERSION",
    "RESPONDENT_COLUMNS",
    "Recipe",
    "TrueModel",
    "load_recipe",
    "true_model",
    "expected_item",
    "generate",
    "simulate_brand",
    "is_blocked",
]

GENERATOR = "ncsi demo-data"
GENERATOR_VERSION = "1"
RESPONDENT_COLUMNS = ("respondent_id", "industry", "brand", "region", "gender", "age", "weight",
                      "duration_sec")

# stream purposes (part of the determinism contract: never renumber)
_IND = 1
_BY = 2
_P_COUNT, _P_NAMES, _P_LEVELS, _P_TREND, _P_JUMP, _P_NOISE, _P_INDUSTRY, _P_REVENUE = range(8)
_P_SIZE, _P_PEOPLE, _P_LATENT, _P_QUALITY = range(4)


# ------------------------------------------------------------------------------------------------
# recipe
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Recipe:
    """The parsed recipe (``surveys/demo.yaml``): ``data`` as read, plus where it came from."""

    data: dict
    path: Path
    sha256: str

    @property
    def version(self) -> str:
        return str(self.data["version"])

    @property
    def years(self) -> list[int]:
        return [int(y) for y in self.data["years"]]

    def __getitem__(self, key: str) -> Any:
        return self.data[key]


def _err(recipe_path: Path | str, msg: str, zh: str | None = None) -> InstrumentError:
    return InstrumentError(f"{recipe_path}: {msg}", message_zh=f"{recipe_path}：{zh}" if zh else None)


def _get(d: Any, dotted: str, path: Path) -> Any:
    cur = d
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            raise _err(path, f"'{dotted}' is missing; add it (see the comments in the recipe)",
                       f"缺少 '{dotted}'，请补充")
        cur = cur[part]
    return cur


def _num(d: Any, dotted: str, path: Path, lo: float | None = None, hi: float | None = None) -> float:
    v = _get(d, dotted, path)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise _err(path, f"'{dotted}' must be a number, got {v!r}", f"'{dotted}' 必须是数字")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise _err(path, f"'{dotted}' = {v} is outside [{lo}, {hi}]",
                   f"'{dotted}' = {v} 超出范围 [{lo}, {hi}]")
    return float(v)


def _range(d: Any, dotted: str, path: Path, lo: float) -> tuple[float, float]:
    v = _get(d, dotted, path)
    if (not isinstance(v, list) or len(v) != 2
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
            or v[0] > v[1] or v[0] < lo):
        raise _err(path, f"'{dotted}' must be a range [low, high] with {lo} <= low <= high, "
                         f"got {v!r}", f"'{dotted}' 必须是区间 [下限, 上限]")
    return float(v[0]), float(v[1])


def load_recipe(path: str | Path | None = None) -> Recipe:
    """Read and check the recipe (default ``surveys/demo.yaml``); errors are ``InstrumentError``."""
    p = Path(path) if path is not None else config.surveys_dir() / "demo.yaml"
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise _err(p, "recipe not found; check the path", "找不到配方文件，请检查路径") from None
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise _err(p, f"not a readable UTF-8 YAML file ({exc.__class__.__name__}); fix the syntax",
                   "不是有效的 UTF-8 YAML 文件，请修正语法") from None
    if not isinstance(data, dict):
        raise _err(p, "the recipe must be a mapping of settings", "配方必须是键值映射")
    _check_recipe(data, p)
    return Recipe(data=data, path=p, sha256=hashlib.sha256(raw).hexdigest())


def _check_recipe(d: dict, p: Path) -> None:
    _get(d, "version", p)
    years = _get(d, "years", p)
    if (not isinstance(years, list) or not years or not all(isinstance(y, int) for y in years)
            or sorted(set(years)) != years):
        raise _err(p, "'years' must be a non-empty increasing list of distinct years",
                   "'years' 必须是递增且不重复的年份列表")
    models = _get(d, "models", p)
    if not isinstance(models, dict) or "default" not in models:
        raise _err(p, "'models' must map sector codes (and 'default') to model files",
                   "'models' 必须把行业大类（及 default）映射到模型文件")
    _range(d, "brands_per_industry", p, 1)
    _range(d, "respondents_per_brand", p, 1)
    meas = _get(d, "measurement", p)
    if not isinstance(meas, dict) or not meas:
        raise _err(p, "'measurement' must map item codes to {loading, intercept, scale}",
                   "'measurement' 必须为每个题项给出 loading、intercept、scale")
    for item in meas:
        _num(d, f"measurement.{item}.loading", p, 0.01, 0.99)
        _num(d, f"measurement.{item}.intercept", p)
        _num(d, f"measurement.{item}.scale", p, 0.01)
    ls = _get(d, "latent_shifts", p)
    for key in ("brand_level_sd", "brand_year_sd", "industry_level_sd"):
        block = _get(ls, key, p)
        if not isinstance(block, dict):
            raise _err(p, f"'latent_shifts.{key}' must map constructs to SDs",
                       f"'latent_shifts.{key}' 必须把构念映射到标准差")
        for c in block:
            _num(d, f"latent_shifts.{key}.{c}", p, 0)
    _num(d, "latent_shifts.imag_qual_corr", p, -1, 1)
    _get(d, "latent_shifts.industry_level_construct", p)
    for key in ("mean_per_year",):
        _num(d, f"latent_shifts.industry_drift.{key}", p)
    _num(d, "latent_shifts.industry_drift.sd_per_year", p, 0)
    _num(d, "latent_shifts.trend.share", p, 0, 1)
    _num(d, "latent_shifts.trend.up_share", p, 0, 1)
    _range(d, "latent_shifts.trend.points", p, 0)
    _num(d, "latent_shifts.jump.probability_per_industry", p, 0, 1)
    _num(d, "latent_shifts.jump.up_share", p, 0, 1)
    _range(d, "latent_shifts.jump.points", p, 0)
    inds = _get(d, "industries", p)
    if not isinstance(inds, dict):
        raise _err(p, "'industries' must map industry codes to settings",
                   "'industries' 必须把行业代码映射到设置")
    prefixes: dict[str, str] = {}
    for code in inds:
        pre = _get(d, f"industries.{code}.prefix", p)
        if not isinstance(pre, str) or not re.fullmatch(r"[a-z][a-z0-9]*", pre):
            raise _err(p, f"industries.{code}.prefix must be lower-case letters/digits, got {pre!r}",
                       f"industries.{code}.prefix 只能是小写字母和数字")
        if pre in prefixes:
            raise _err(p, f"brand-code prefix '{pre}' is used by {prefixes[pre]} and {code}; "
                          f"make prefixes unique", f"品牌代码前缀 '{pre}' 重复")
        prefixes[pre] = code
        for k in ("suffix_zh", "suffix_en"):
            if not isinstance(_get(d, f"industries.{code}.{k}", p), str):
                raise _err(p, f"industries.{code}.{k} must be text", f"industries.{code}.{k} 必须是文字")
        _num(d, f"industries.{code}.level", p)
        _num(d, f"industries.{code}.revenue_median", p, 1e-9)
        _num(d, f"industries.{code}.growth", p, -0.5, 1)
    _num(d, "revenue.sdlog", p, 0)
    _num(d, "revenue.brand_growth_sd", p, 0)
    _num(d, "revenue.year_noise_sd", p, 0)
    _num(d, "revenue.decimals", p, 0, 6)
    r = _get(d, "respondents", p)
    for key in ("regions", "age_bands"):
        groups = _get(r, key, p)
        if not isinstance(groups, list) or not groups:
            raise _err(p, f"'respondents.{key}' must be a non-empty list", f"'respondents.{key}' 不能为空")
        for share in ("population", "sample"):
            vals = [g.get(share) if isinstance(g, dict) else None for g in groups]
            if (not all(isinstance(v, (int, float)) and v > 0 for v in vals)
                    or abs(sum(vals) - 1) > 1e-6):
                raise _err(p, f"respondents.{key}: every '{share}' share must be positive and "
                              f"they must sum to 1", f"respondents.{key} 的 {share} 占比必须为正且合计为 1")
    for b in _get(r, "age_bands", p):
        if not (isinstance(b.get("min"), int) and isinstance(b.get("max"), int)
                and b["min"] <= b["max"]):
            raise _err(p, f"respondents.age_bands: {b!r} needs integer min <= max",
                       "年龄段需要整数 min <= max")
    _num(d, "respondents.female_share", p, 0, 1)
    _num(d, "respondents.raking_iterations", p, 1, 1000)
    _num(d, "respondents.weight_decimals", p, 1, 10)
    tlo, thi = _range(d, "respondents.weight_trim", p, 1e-9)
    if not tlo < 1 < thi:
        raise _err(p, "respondents.weight_trim must be [low, high] with low < 1 < high",
                   "respondents.weight_trim 必须满足 下限 < 1 < 上限")
    _num(d, "respondents.duration.median_sec", p, 1)
    _num(d, "respondents.duration.sdlog", p, 0)
    dmin = _num(d, "respondents.duration.min_sec", p, 1)
    dmax = _num(d, "respondents.duration.max_sec", p, dmin)
    del dmax
    roles = _get(r, "roles", p)
    if not isinstance(roles, dict):
        raise _err(p, "'respondents.roles' must map sector codes to role shares",
                   "'respondents.roles' 必须把行业大类映射到角色占比")
    for sector, shares in roles.items():
        if (not isinstance(shares, dict) or len(shares) < 1
                or abs(sum(float(v) for v in shares.values()) - 1) > 1e-6):
            raise _err(p, f"respondents.roles.{sector}: shares must sum to 1",
                       f"respondents.roles.{sector} 的占比合计必须为 1")
    q = "quality"
    _num(d, f"{q}.item_nonresponse", p, 0, 1)
    _num(d, f"{q}.dont_know.rate", p, 0, 1)
    _num(d, f"{q}.refused.rate", p, 0, 1)
    _num(d, f"{q}.dont_know.code", p)
    _num(d, f"{q}.refused.code", p)
    _num(d, f"{q}.straightliners.share", p, 0, 1)
    _num(d, f"{q}.speeders.share", p, 0, 1)
    smin = _num(d, f"{q}.speeders.min_sec", p, 1)
    _num(d, f"{q}.speeders.max_sec", p, smin)
    vals = _get(d, f"{q}.straightliners.values", p)
    if not isinstance(vals, list) or not vals or not all(isinstance(v, int) for v in vals):
        raise _err(p, "quality.straightliners.values must be a list of scale values",
                   "quality.straightliners.values 必须是量表取值列表")
    syl = _get(d, "names.syllables", p)
    if (not isinstance(syl, list) or len(syl) < 4
            or not all(isinstance(s, list) and len(s) == 2 and all(isinstance(x, str) for x in s)
                       for s in syl)):
        raise _err(p, "names.syllables must be a list of [pinyin, 汉字] pairs",
                   "names.syllables 必须是 [拼音, 汉字] 对的列表")
    for lang in ("zh", "en"):
        bl = _get(d, f"names.blocklist.{lang}", p)
        if not isinstance(bl, list):
            raise _err(p, f"names.blocklist.{lang} must be a list", f"names.blocklist.{lang} 必须是列表")


# ------------------------------------------------------------------------------------------------
# the true model
# ------------------------------------------------------------------------------------------------

def expected_item(mu: np.ndarray | float, sigma: np.ndarray | float, low: int = 1,
                  high: int = 10) -> np.ndarray:
    """Exact E[clip(round(X), low, high)] for X ~ Normal(mu, sigma²).

    ``clip(round(x)) = low + Σ_{k=low}^{high−1} 1[x ≥ k + ½]``, hence
    ``E = low + Σ_k Φ((mu − k − ½) / sigma)`` — the ``k·P(k − ½ < X < k + ½)`` sum with both tails
    folded into the scale's ends.
    """
    mu = np.asarray(mu, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    cuts = np.arange(low, high, dtype=float) + 0.5
    z = (mu[..., None] - cuts) / sigma[..., None]
    return low + ndtr(z).sum(axis=-1)


@dataclass(frozen=True, eq=False)
class TrueModel:
    """One sector's true model: structure from its model file, every number from the recipe."""

    survey: str
    sector: str
    spec: ModelSpec
    model_file: str
    B: np.ndarray                 # B[target, source], constructs in spec (causal) order
    psi: np.ndarray               # disturbance variances (exogenous: 1)
    loadings: np.ndarray          # per item, spec.indicators order
    intercepts: np.ndarray
    scales: np.ndarray
    item_construct: np.ndarray    # construct index of each item
    low: int = 1
    high: int = 10
    index_construct: str = "SAT"
    total: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        c = len(self.constructs)
        object.__setattr__(self, "total", np.linalg.inv(np.eye(c) - self.B))

    @property
    def constructs(self) -> tuple[str, ...]:
        return self.spec.constructs

    @property
    def items(self) -> tuple[str, ...]:
        return self.spec.indicators

    def cidx(self, construct: str) -> int:
        return self.constructs.index(construct)

    def true_weights(self) -> np.ndarray:
        """Population raw-scale weights ŵ_i ∝ λ_i / s_i, summing to one within each construct."""
        raw = self.loadings / self.scales
        sums = np.bincount(self.item_construct, weights=raw, minlength=len(self.constructs))
        return raw / sums[self.item_construct]

    def weight_matrix(self) -> np.ndarray:
        """(items × constructs): ŵ_i in its construct's column, zero elsewhere."""
        w = np.zeros((len(self.items), len(self.constructs)))
        w[np.arange(len(self.items)), self.item_construct] = self.true_weights()
        return w

    def latent_means(self, delta: np.ndarray) -> np.ndarray:
        """m = (I − B)⁻¹ δ for shifts δ (..., constructs)."""
        return np.asarray(delta, dtype=float) @ self.total.T

    def item_means(self, delta: np.ndarray) -> np.ndarray:
        """μ_i = a_i + s_i λ_i m_c: the mean of the latent response x*_i."""
        m = self.latent_means(delta)
        return self.intercepts + self.scales * self.loadings * m[..., self.item_construct]

    def expected_items(self, delta: np.ndarray) -> np.ndarray:
        """Exact expectation of each rounded and clipped item given the shifts."""
        return expected_item(self.item_means(delta), np.broadcast_to(
            self.scales, np.shape(self.item_means(delta))), self.low, self.high)

    def indices(self, delta: np.ndarray) -> np.ndarray:
        """True 0–100 index of every construct (..., constructs); see the module docstring."""
        e = self.expected_items(delta)
        return (e - self.low) @ self.weight_matrix() / (self.high - self.low) * 100

    def points_per_unit(self, construct: str) -> float:
        """Linear slope of the headline index per unit shift δ on ``construct`` at δ = 0."""
        h = self.cidx(self.index_construct)
        sel = self.item_construct == h
        w = self.true_weights()[sel]
        per_latent = float((w * self.scales[sel] * self.loadings[sel]).sum())
        return float(self.total[h, self.cidx(construct)]) * per_latent / (self.high - self.low) * 100

    def latent(self, delta: np.ndarray, zeta: np.ndarray) -> np.ndarray:
        """η for standard-normal draws ``zeta`` (n × constructs) and shifts δ (constructs)."""
        eta = np.empty_like(zeta)
        sd = np.sqrt(self.psi)
        for j in range(len(self.constructs)):
            eta[:, j] = delta[j] + sd[j] * zeta[:, j] + eta[:, :j] @ self.B[j, :j]
        return eta

    def items_from(self, eta: np.ndarray, eps: np.ndarray) -> np.ndarray:
        """Rounded, clipped answers (float array, n × items) from η and item noise ``eps``."""
        lam = self.loadings
        x = self.intercepts + self.scales * (lam * eta[:, self.item_construct]
                                             + np.sqrt(1 - lam ** 2) * eps)
        return np.clip(np.floor(x + 0.5), self.low, self.high)

    def to_dict(self) -> dict:
        w = self.true_weights()
        return {
            "sector": self.sector,
            "model": self.spec.name,
            "model_file": self.model_file,
            "model_sha256": self.spec.sha256,
            "constructs": list(self.constructs),
            "items": list(self.items),
            "scale": {"min": self.low, "max": self.high},
            "index_construct": self.index_construct,
            "loadings": {i: _r(v) for i, v in zip(self.items, self.loadings)},
            "intercepts": {i: _r(v) for i, v in zip(self.items, self.intercepts)},
            "item_scales": {i: _r(v) for i, v in zip(self.items, self.scales)},
            "paths": [{"from": p.source, "to": p.target,
                       "coef": _r(self.B[self.cidx(p.target), self.cidx(p.source)])}
                      for p in self.spec.paths],
            "disturbance_variances": {c: _r(v) for c, v in zip(self.constructs, self.psi)},
            "r2": {c: _r(1 - v) for c, v in zip(self.constructs, self.psi)
                   if c in self.spec.endogenous},
            "true_weights": {c: {i: _r(w[k]) for k, i in enumerate(self.items)
                                 if self.item_construct[k] == j}
                             for j, c in enumerate(self.constructs)},
            "total_effects": {t: {s: _r(self.total[jt, js]) for js, s in enumerate(self.constructs)
                                  if js != jt and abs(self.total[jt, js]) > 1e-12}
                              for jt, t in enumerate(self.constructs)},
            "index_points_per_unit_shift": {c: _r(self.points_per_unit(c))
                                            for c in self.constructs},
        }


def _r(x: float, nd: int = 6) -> float:
    v = round(float(x), nd)
    return 0.0 if v == 0 else v


def true_model(recipe: Recipe, sector: dict, *, index_cfg: dict | None = None) -> TrueModel:
    """Build the true model of a taxonomy sector (a dict with ``code`` and ``survey``)."""
    p = recipe.path
    models = recipe["models"]
    fname = models.get(sector["code"], models["default"])
    spec = load_model(config.models_dir() / fname)
    idx = index_cfg or _index_config()
    meas = recipe["measurement"]
    missing = [i for i in spec.indicators if i not in meas]
    if missing:
        raise _err(p, f"measurement has no loading/intercept/scale for {', '.join(missing)} "
                      f"(model {fname}); add them", f"measurement 缺少题项 {', '.join(missing)}")
    constructs = spec.constructs
    cpos = {c: k for k, c in enumerate(constructs)}
    structural = recipe["structural"].get(spec.name) if isinstance(recipe.data.get("structural"),
                                                                     dict) else None
    if not isinstance(structural, dict):
        raise _err(p, f"structural.{spec.name} is missing: give the path coefficients of model "
                      f"{fname}", f"缺少模型 {fname} 的路径系数 structural.{spec.name}")
    want = {(q.source, q.target) for q in spec.paths}
    have: dict[tuple[str, str], float] = {}
    for target, srcs in structural.items():
        if not isinstance(srcs, dict):
            raise _err(p, f"structural.{spec.name}.{target} must map sources to coefficients",
                       f"structural.{spec.name}.{target} 必须把来源构念映射到系数")
        for source, coef in srcs.items():
            have[(source, target)] = _num(recipe.data, f"structural.{spec.name}.{target}.{source}",
                                          p, -0.99, 0.99)
    extra = sorted(set(have) - want)
    lacking = sorted(want - set(have))
    if extra or lacking:
        parts = []
        if lacking:
            parts.append("missing " + ", ".join(f"{t} ~ {s}" for s, t in lacking))
        if extra:
            parts.append("not in the model " + ", ".join(f"{t} ~ {s}" for s, t in extra))
        raise _err(p, f"structural.{spec.name} must list exactly the paths of {fname}: "
                      f"{'; '.join(parts)}", f"structural.{spec.name} 必须与模型 {fname} 的路径完全一致")
    n = len(constructs)
    B = np.zeros((n, n))
    for (s, t), v in have.items():
        B[cpos[t], cpos[s]] = v
    # implied covariance with unit variances: Σ_j,k for k < j from the recursive equations
    cov = np.eye(n)
    psi = np.ones(n)
    for j in range(n):
        b = B[j, :j]
        explained = float(b @ cov[:j, :j] @ b)
        psi[j] = 1 - explained
        if psi[j] <= 0.01:
            raise _err(p, f"structural.{spec.name}.{constructs[j]}: the coefficients explain "
                          f"{explained:.3f} of a unit variance; lower them so that the disturbance "
                          f"keeps a positive variance", f"structural.{spec.name}.{constructs[j]} 的系数过大")
        cov[j, :j] = cov[:j, :j] @ b
        cov[:j, j] = cov[j, :j]
    items = spec.indicators
    ic = np.array([cpos[spec.construct_of(i)] for i in items])
    return TrueModel(
        survey=sector["survey"], sector=sector["code"], spec=spec, model_file=f"models/{fname}",
        B=B, psi=psi,
        loadings=np.array([float(meas[i]["loading"]) for i in items]),
        intercepts=np.array([float(meas[i]["intercept"]) for i in items]),
        scales=np.array([float(meas[i]["scale"]) for i in items]),
        item_construct=ic, low=int(idx["min"]), high=int(idx["max"]),
        index_construct=str(idx["index_construct"]),
    )


def _index_config() -> dict:
    path = config.surveys_dir() / "index.yaml"
    try:
        d = yaml.safe_load(path.read_text(encoding="utf-8"))
        return {"min": int(d["scale"]["min"]), "max": int(d["scale"]["max"]),
                "index_construct": str(d.get("index_construct", "SAT"))}
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError):
        raise InstrumentError(f"{path}: cannot read scale.min/scale.max; check the file",
                              message_zh=f"{path}：无法读取 scale.min/scale.max，请检查文件") from None


def _taxonomy() -> dict:
    path = config.surveys_dir() / "taxonomy.yaml"
    try:
        d = yaml.safe_load(path.read_text(encoding="utf-8"))
        for s in d["sectors"]:
            s["code"], s["survey"]
            for i in s["industries"]:
                i["code"]
        return d
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        raise InstrumentError(f"{path}: cannot read sectors/industries; check the file",
                              message_zh=f"{path}：无法读取行业大类和行业，请检查文件") from None


# ------------------------------------------------------------------------------------------------
# names
# ------------------------------------------------------------------------------------------------

def _letters(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


def is_blocked(name_zh: str, name_en: str, blocklist: dict, base_en: str | None = None) -> bool:
    """True when a name resembles a blocklisted real brand (rules in ``surveys/demo.yaml``)."""
    if any(b and b in name_zh for b in blocklist.get("zh", [])):
        return True
    full = _letters(name_en)
    base = _letters(base_en) if base_en is not None else None
    for b in blocklist.get("en", []):
        key = _letters(str(b))
        if not key:
            continue
        if base is not None and key == base:
            return True
        if len(key) >= 5 and key in full:
            return True
        if re.search(rf"(?<![a-z0-9]){re.escape(str(b).lower())}(?![a-z0-9])", name_en.lower()):
            return True
    return False


def _brand_names(rng: np.random.Generator, n: int, ind: dict, recipe: Recipe,
                 industry: str) -> list[tuple[str, str]]:
    syl = recipe["names"]["syllables"]
    bl = recipe["names"]["blocklist"]
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for _ in range(2000):
        if len(out) == n:
            break
        a, b = rng.choice(len(syl), size=2, replace=False)
        base_en = syl[a][0].capitalize() + syl[b][0].lower()
        base_zh = syl[a][1] + syl[b][1]
        zh = base_zh + ind["suffix_zh"]
        en = f"{base_en} {ind['suffix_en']}"
        if base_en in seen or is_blocked(zh, en, bl, base_en):
            continue
        seen.add(base_en)
        out.append((zh, en))
    if len(out) < n:
        raise _err(recipe.path, f"could not invent {n} distinct unblocked names for {industry}; "
                                f"add syllables", f"无法为 {industry} 生成足够的虚构品牌名，请增加音节")
    return out


# ------------------------------------------------------------------------------------------------
# streams and the industry plan (brands, trajectories, revenue: always for all recipe years)
# ------------------------------------------------------------------------------------------------

def _key(code: str) -> int:
    return int.from_bytes(hashlib.sha256(code.encode("utf-8")).digest()[:4], "big")


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=tuple(int(k) for k in key)))


@dataclass
class _Plan:
    industry: str
    sector: str
    model: TrueModel
    brands: list[dict]
    delta: np.ndarray          # (brands, recipe years, constructs)
    revenue: np.ndarray        # (brands, recipe years), rounded as written
    info: list[dict]           # per brand: level, trend, jump


def _plan(seed: int, recipe: Recipe, industry: str, sector: str, model: TrueModel) -> _Plan:
    d = recipe.data
    ind = d["industries"][industry]
    ls = d["latent_shifts"]
    years = recipe.years
    ny = len(years)
    k = _key(industry)
    cons = model.constructs
    nc = len(cons)

    lo, hi = (int(v) for v in d["brands_per_industry"])
    nb = int(_rng(seed, _IND, k, _P_COUNT).integers(lo, hi + 1))
    names = _brand_names(_rng(seed, _IND, k, _P_NAMES), nb, ind, recipe, industry)
    brands = [{"brand": f"{ind['prefix']}_b{j + 1:02d}", "industry": industry,
               "name_zh": zh, "name_en": en} for j, (zh, en) in enumerate(names)]

    delta = np.zeros((nb, ny, nc))
    info: list[dict] = [{"level": {}, "trend_points": 0.0, "jump": None} for _ in range(nb)]

    # lasting brand positions (IMAG and QUAL correlated)
    lvl_sd = ls["brand_level_sd"]
    z = _rng(seed, _IND, k, _P_LEVELS).standard_normal((nb, len(lvl_sd)))
    names_l = list(lvl_sd)
    if "IMAG" in names_l and "QUAL" in names_l:
        rho = float(ls["imag_qual_corr"])
        zi, zq = names_l.index("IMAG"), names_l.index("QUAL")
        z[:, zq] = rho * z[:, zi] + math.sqrt(1 - rho ** 2) * z[:, zq]
    for j, c in enumerate(names_l):
        if c in cons:
            v = float(lvl_sd[c]) * z[:, j]
            delta[:, :, cons.index(c)] += v[:, None]
            for b in range(nb):
                info[b]["level"][c] = _r(v[b])

    # steady trends (centred over the recipe period), in headline index points
    tr = ls["trend"]
    rng = _rng(seed, _IND, k, _P_TREND)
    has = rng.random(nb) < float(tr["share"])
    pts = rng.uniform(float(tr["points"][0]), float(tr["points"][1]), nb)
    up = rng.random(nb) < float(tr["up_share"])
    signed = np.where(has, np.where(up, pts, -pts), 0.0)
    if tr["construct"] in cons and ny > 1:
        units = signed / model.points_per_unit(tr["construct"])
        pos = (np.array(years, float) - (years[0] + years[-1]) / 2) / (years[-1] - years[0])
        delta[:, :, cons.index(tr["construct"])] += units[:, None] * pos[None, :]
        for b in range(nb):
            info[b]["trend_points"] = _r(signed[b], 4)

    # one level shift from one year on
    jp = ls["jump"]
    rng = _rng(seed, _IND, k, _P_JUMP)
    happens = rng.random() < float(jp["probability_per_industry"])
    jb = int(rng.integers(nb))
    jy = int(rng.integers(1, ny)) if ny > 1 else 0
    jpts = float(rng.uniform(float(jp["points"][0]), float(jp["points"][1])))
    jup = rng.random() < float(jp["up_share"])
    if happens and ny > 1 and jp["construct"] in cons:
        jsigned = jpts if jup else -jpts
        delta[jb, jy:, cons.index(jp["construct"])] += jsigned / model.points_per_unit(
            jp["construct"])
        info[jb]["jump"] = {"year": years[jy], "points": _r(jsigned, 4),
                            "construct": jp["construct"]}

    # brand-year noise
    ny_sd = ls["brand_year_sd"]
    z = _rng(seed, _IND, k, _P_NOISE).standard_normal((nb, ny, len(ny_sd)))
    for j, c in enumerate(ny_sd):
        if c in cons:
            delta[:, :, cons.index(c)] += float(ny_sd[c]) * z[:, :, j]

    # industry position and drift (shared by all its brands)
    rng = _rng(seed, _IND, k, _P_INDUSTRY)
    il_sd = ls["industry_level_sd"]
    zl = rng.standard_normal(len(il_sd))
    dr = ls["industry_drift"]
    steps = rng.normal(float(dr["mean_per_year"]), float(dr["sd_per_year"]), ny)
    steps[0] = 0.0
    for j, c in enumerate(il_sd):
        if c in cons:
            delta[:, :, cons.index(c)] += float(il_sd[c]) * zl[j]
    lc = ls["industry_level_construct"]
    if lc in cons:
        delta[:, :, cons.index(lc)] += float(ind["level"])
    if dr["construct"] in cons:
        delta[:, :, cons.index(dr["construct"])] += np.cumsum(steps)[None, :]

    # revenue (million CNY): lognormal sizes, brand growth rates, yearly noise
    rv = d["revenue"]
    rng = _rng(seed, _IND, k, _P_REVENUE)
    base = np.exp(math.log(float(ind["revenue_median"])) + float(rv["sdlog"]) * rng.standard_normal(nb))
    g = np.clip(float(ind["growth"]) + float(rv["brand_growth_sd"]) * rng.standard_normal(nb),
                -0.5, None)
    noise = float(rv["year_noise_sd"]) * rng.standard_normal((nb, ny))
    t = np.arange(ny, dtype=float)
    revenue = base[:, None] * np.exp(t[None, :] * np.log1p(g)[:, None] + noise)
    dec = int(rv["decimals"])
    revenue = np.maximum(np.round(revenue, dec), 10.0 ** -dec)
    for b in range(nb):
        info[b]["revenue_growth"] = _r(g[b])
    return _Plan(industry, sector, model, brands, delta, revenue, info)


# ------------------------------------------------------------------------------------------------
# respondents of one brand-year
# ------------------------------------------------------------------------------------------------

def _rake(region: np.ndarray, band: np.ndarray, pop_r: np.ndarray, pop_b: np.ndarray,
          iters: int, trim: tuple[float, float]) -> np.ndarray:
    """Rake weights to the population margins of region and age band; mean 1.

    Post-stratification in the raking form: with ~60–250 interviews and 7 × 4 cells many cells are
    empty, so the weights match the two margins (population share / weighted sample share, iterated)
    instead of the joint cells. Categories absent from the sample are dropped and the remaining
    population shares renormalised. Finally the weights are trimmed to ``trim`` × their mean (a few
    rounds of clip-and-renormalise), as survey practice does against a handful of huge weights.
    """
    w = np.ones(len(region))
    targets = []
    for codes, pop in ((region, pop_r), (band, pop_b)):
        present = np.bincount(codes, minlength=len(pop)) > 0
        t = np.where(present, pop, 0.0)
        targets.append(t / t.sum())
    for _ in range(iters):
        for codes, t in zip((region, band), targets):
            tot = np.bincount(codes, weights=w, minlength=len(t))
            f = np.divide(t * w.sum(), tot, out=np.ones_like(tot), where=tot > 0)
            w = w * f[codes]
    w = w / w.mean()
    for _ in range(10):
        w = np.clip(w, trim[0], trim[1])
        w = w / w.mean()
    return w


def _brand_year(seed: int, recipe: Recipe, plan: _Plan, year: int, b: int, *,
                n: int | None = None, scale: float = 1.0, contaminate: bool = True) -> dict:
    d = recipe.data
    model = plan.model
    k = _key(plan.industry)
    yi = recipe.years.index(year)
    brand = plan.brands[b]["brand"]
    key = (_BY, k, year, b + 1)

    lo, hi = (int(v) for v in d["respondents_per_brand"])
    n0 = int(_rng(seed, *key, _P_SIZE).integers(lo, hi + 1))
    if n is None:
        n = max(1, int(math.floor(n0 * scale + 0.5)))

    # who answered
    r = d["respondents"]
    rng = _rng(seed, *key, _P_PEOPLE)
    regions = r["regions"]
    bands = r["age_bands"]
    reg = rng.choice(len(regions), size=n, p=_shares(regions, "sample"))
    band = rng.choice(len(bands), size=n, p=_shares(bands, "sample"))
    amin = np.array([g["min"] for g in bands])
    amax = np.array([g["max"] for g in bands])
    age = amin[band] + np.floor(rng.random(n) * (amax[band] - amin[band] + 1)).astype(np.int64)
    female = rng.random(n) < float(r["female_share"])
    role_u = rng.random(n)
    du = d["respondents"]["duration"]
    mu_l, sd_l = math.log(float(du["median_sec"])), float(du["sdlog"])
    if sd_l > 0:
        pa = ndtr((math.log(float(du["min_sec"])) - mu_l) / sd_l)
        pb = ndtr((math.log(float(du["max_sec"])) - mu_l) / sd_l)
        u = pa + rng.random(n) * (pb - pa)
        dur = np.exp(mu_l + sd_l * ndtri(u))
    else:
        rng.random(n)
        dur = np.full(n, float(du["median_sec"]))
    duration = np.clip(np.round(dur), float(du["min_sec"]), float(du["max_sec"])).astype(np.int64)
    weight = _rake(reg, band, _shares(regions, "population"), _shares(bands, "population"),
                   int(r["raking_iterations"]),
                   (float(r["weight_trim"][0]), float(r["weight_trim"][1])))

    # what they think
    rng = _rng(seed, *key, _P_LATENT)
    zeta = rng.standard_normal((n, len(model.constructs)))
    eps = rng.standard_normal((n, len(model.items)))
    items = model.items_from(model.latent(plan.delta[b, yi], zeta), eps)

    # how carefully they answered
    q = d["quality"]
    rng = _rng(seed, *key, _P_QUALITY)
    u = rng.random(n)
    sl_vals = np.asarray(q["straightliners"]["values"], dtype=float)
    sl_val = sl_vals[rng.integers(len(sl_vals), size=n)]
    sp_dur = rng.integers(int(q["speeders"]["min_sec"]), int(q["speeders"]["max_sec"]) + 1, size=n)
    sp_ans = rng.integers(model.low, model.high + 1, size=items.shape).astype(float)
    miss_u = rng.random(items.shape)
    if contaminate:
        s_sl = float(q["straightliners"]["share"])
        s_sp = float(q["speeders"]["share"])
        straight = u < s_sl
        speeder = (u >= s_sl) & (u < s_sl + s_sp)
        items[speeder] = sp_ans[speeder]
        duration = np.where(speeder, sp_dur, duration)
        items[straight] = sl_val[straight, None]
        p_e = float(q["item_nonresponse"])
        p_dk = float(q["dont_know"]["rate"])
        p_rf = float(q["refused"]["rate"])
        live = ~straight[:, None]
        items = np.where(live & (miss_u < p_e), np.nan, items)
        items = np.where(live & (miss_u >= p_e) & (miss_u < p_e + p_dk),
                         float(q["dont_know"]["code"]), items)
        items = np.where(live & (miss_u >= p_e + p_dk) & (miss_u < p_e + p_dk + p_rf),
                         float(q["refused"]["code"]), items)

    width = max(4, len(str(n)))
    cols: dict[str, Any] = {
        "respondent_id": [f"{year}-{brand}-{i:0{width}d}" for i in range(1, n + 1)],
        "industry": np.full(n, plan.industry, dtype=object),
        "brand": np.full(n, brand, dtype=object),
        "region": np.array([g["code"] for g in regions], dtype=object)[reg],
        "gender": np.where(female, "female", "male").astype(object),
        "age": age,
        "weight": weight,
        "duration_sec": duration,
    }
    roles = r["roles"].get(plan.sector)
    if roles:
        names = list(roles)
        cuts = np.cumsum([float(roles[x]) for x in names])
        idx = np.minimum(np.searchsorted(cuts, role_u, side="right"), len(names) - 1)
        cols["role"] = np.array(names, dtype=object)[idx]
    cols["_items"] = items
    return cols


def _shares(groups: list[dict], key: str) -> np.ndarray:
    v = np.array([float(g[key]) for g in groups])
    return v / v.sum()


def _frame(parts: list[dict], model: TrueModel, weight_decimals: int) -> pd.DataFrame:
    cols: dict[str, Any] = {}
    head = [c for c in parts[0] if c != "_items"]
    for c in head:
        if c == "respondent_id":
            cols[c] = [x for p in parts for x in p[c]]
        else:
            cols[c] = np.concatenate([np.asarray(p[c]) for p in parts])
    cols["weight"] = np.char.mod(f"%.{weight_decimals}f", cols["weight"].astype(float))
    items = np.concatenate([p["_items"] for p in parts], axis=0)
    mask = np.isnan(items)
    vals = np.where(mask, 0, items).astype(np.int64)
    for j, code in enumerate(model.items):
        cols[code] = pd.arrays.IntegerArray(vals[:, j].copy(), mask[:, j].copy())
    return pd.DataFrame(cols)


def _csv_bytes(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False, lineterminator="\n").encode("utf-8")


# ------------------------------------------------------------------------------------------------
# the public entry points
# ------------------------------------------------------------------------------------------------

@dataclass
class _Context:
    seed: int
    recipe: Recipe
    taxonomy: dict
    index_cfg: dict
    models: dict = field(default_factory=dict)

    def sector_of(self, industry: str) -> dict:
        for s in self.taxonomy["sectors"]:
            if any(i["code"] == industry for i in s["industries"]):
                return s
        raise KeyError(industry)

    def model(self, sector: dict) -> TrueModel:
        if sector["code"] not in self.models:
            self.models[sector["code"]] = true_model(self.recipe, sector, index_cfg=self.index_cfg)
        return self.models[sector["code"]]

    def plan(self, industry: str) -> _Plan:
        s = self.sector_of(industry)
        if industry not in self.recipe["industries"]:
            raise _err(self.recipe.path, f"industries.{industry} is missing (the taxonomy lists "
                                         f"it); add its prefix, name suffixes, level and revenue",
                       f"缺少 industries.{industry} 的设置")
        return _plan(self.seed, self.recipe, industry, s["code"], self.model(s))


def _context(seed: int, recipe: Path | str | None) -> _Context:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"the seed must be a non-negative integer, got {seed!r}",
                        message_zh=f"随机种子必须是非负整数，而不是 {seed!r}")
    return _Context(int(seed), load_recipe(recipe), _taxonomy(), _index_config())


def _select(ctx: _Context, years: Iterable[int] | None,
            industries: Iterable[str] | None) -> tuple[list[int], list[str]]:
    all_years = ctx.recipe.years
    if years is None:
        ys = list(all_years)
    else:
        want = {int(y) for y in years}
        bad = sorted(want - set(all_years))
        if bad:
            raise DataError(f"year(s) {', '.join(map(str, bad))} are not in the recipe "
                            f"({all_years[0]}–{all_years[-1]}); choose from {all_years}",
                            file=str(ctx.recipe.path),
                            message_zh=f"配方中没有年份 {', '.join(map(str, bad))}")
        ys = [y for y in all_years if y in want]
    order = [i["code"] for s in ctx.taxonomy["sectors"] for i in s["industries"]]
    if industries is None:
        inds = order
    else:
        want_i: set[str] = set()
        for code in industries:
            sec = next((s for s in ctx.taxonomy["sectors"] if s["code"] == code), None)
            if sec is not None:
                want_i.update(i["code"] for i in sec["industries"])
            elif code in order:
                want_i.add(code)
            else:
                raise DataError(f"unknown industry or sector '{code}'; choose from "
                                f"{', '.join(order)} or a sector code",
                                file="surveys/taxonomy.yaml",
                                message_zh=f"未知的行业或行业大类 '{code}'")
        inds = [c for c in order if c in want_i]
    if not ys or not inds:
        raise DataError("nothing to generate: choose at least one year and one industry",
                        message_zh="没有可生成的内容：至少选择一个年份和一个行业")
    return ys, inds


def simulate_brand(seed: int, year: int, brand: str, n: int, *, recipe: Path | str | None = None,
                   contaminate: bool = False) -> pd.DataFrame:
    """``n`` respondents of one brand-year, from the same streams and truth as ``generate(seed)``.

    The brand's latent shifts are those of the generated survey; with ``contaminate=False`` the
    answers are clean (no missing cells, straight-liners or speeders) — for Monte Carlo checks of
    ``truth/brand_indices.csv``. Columns as in the response files (weight as float, rounded as
    written; items as nullable integers).
    """
    ctx = _context(seed, recipe)
    if year not in ctx.recipe.years:
        raise DataError(f"year {year} is not in the recipe; choose from {ctx.recipe.years}",
                        message_zh=f"配方中没有年份 {year}")
    m = re.fullmatch(r"([a-z][a-z0-9]*)_b(\d+)", brand)
    industry = None
    if m:
        industry = next((c for c, v in ctx.recipe["industries"].items()
                         if v["prefix"] == m.group(1)), None)
    if industry is None:
        raise DataError(f"'{brand}' is not a demo brand code (prefix_bNN)",
                        message_zh=f"'{brand}' 不是演示品牌代码")
    plan = ctx.plan(industry)
    b = int(m.group(2)) - 1
    if not 0 <= b < len(plan.brands):
        raise DataError(f"{industry} has {len(plan.brands)} demo brands with seed {seed}; "
                        f"'{brand}' is not one of them", message_zh=f"'{brand}' 不存在")
    part = _brand_year(ctx.seed, ctx.recipe, plan, year, b, n=int(n), contaminate=contaminate)
    df = _frame([part], plan.model, int(ctx.recipe["respondents"]["weight_decimals"]))
    df["weight"] = df["weight"].astype(float)
    return df


def generate(seed: int, out: Path, *, recipe: Path | None = None, years: list[int] | None = None,
             industries: list[str] | None = None, scale: float = 1.0) -> dict:
    """Write the demo survey for ``seed`` into ``out`` and return the manifest.

    ``recipe``: the recipe file (default ``surveys/demo.yaml``); ``years``: a subset of the recipe
    years; ``industries``: industry codes (or sector codes, meaning all their industries) of the
    taxonomy; ``scale``: multiplies respondents per brand-year (0.3 → about 60). Subsetting years or
    industries does not change the data of the others. ``out`` must be empty, new, or an earlier
    demo output (whose listed files are replaced).
    """
    ctx = _context(seed, recipe)
    if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not scale > 0 \
            or not math.isfinite(scale):
        raise DataError(f"scale must be a positive number, got {scale!r}",
                        message_zh=f"scale 必须是正数，而不是 {scale!r}")
    ys, inds = _select(ctx, years, industries)
    out = Path(out)
    _prepare_out(out)
    rec = ctx.recipe
    wdec = int(rec["respondents"]["weight_decimals"])
    all_years = rec.years

    plans = {i: ctx.plan(i) for i in inds}
    files: list[dict] = []

    def emit(rel: str, data: bytes, rows: int | None) -> None:
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files.append({"path": rel, "sha256": hashlib.sha256(data).hexdigest(), "rows": rows})

    # README
    emit("README.txt", _readme(ctx.seed, rec, scale).encode("utf-8"), None)

    # brands and revenue
    brows = [{**bd, "is_demo": "true"} for i in inds for bd in plans[i].brands]
    bdf = pd.DataFrame(brows, columns=["brand", "industry", "name_zh", "name_en", "is_demo"])
    emit("brands.csv", _csv_bytes(bdf), len(bdf))
    dec = int(rec["revenue"]["decimals"])
    rrows = [(y, bd["brand"], f"{plans[i].revenue[b, all_years.index(y)]:.{dec}f}")
             for y in ys for i in inds for b, bd in enumerate(plans[i].brands)]
    rdf = pd.DataFrame(rrows, columns=["year", "brand", "revenue"])
    emit("revenue.csv", _csv_bytes(rdf), len(rdf))

    # responses: one file per sector survey and year
    total_rows = 0
    for y in ys:
        for s in ctx.taxonomy["sectors"]:
            s_inds = [i["code"] for i in s["industries"] if i["code"] in plans]
            if not s_inds:
                continue
            model = ctx.model(s)
            parts = [_brand_year(ctx.seed, rec, plans[i], y, b, scale=float(scale))
                     for i in s_inds for b in range(len(plans[i].brands))]
            df = _frame(parts, model, wdec)
            emit(f"responses/{y}/{s['survey']}.csv", _csv_bytes(df), len(df))
            total_rows += len(df)

    # truth
    params, bi_rows, ii_rows = _truth(ctx, plans, inds, ys, scale)
    emit("truth/parameters.json",
         (json.dumps(params, ensure_ascii=False, indent=1) + "\n").encode("utf-8"), None)
    bidf = pd.DataFrame(bi_rows, columns=["year", "industry", "brand", "construct", "true_index"])
    emit("truth/brand_indices.csv", _csv_bytes(bidf), len(bidf))
    iidf = pd.DataFrame(ii_rows, columns=["year", "industry", "construct", "true_index"])
    emit("truth/industry_indices.csv", _csv_bytes(iidf), len(iidf))

    manifest = {
        "generator": GENERATOR,
        "generator_version": GENERATOR_VERSION,
        "is_demo": True,
        "seed": ctx.seed,
        "scale": float(scale),
        "recipe": rec.path.name,
        "recipe_version": rec.version,
        "recipe_sha256": rec.sha256,
        "taxonomy_version": str(ctx.taxonomy.get("version", "")),
        "years": ys,
        "industries": inds,
        "brands": len(bdf),
        "response_rows": total_rows,
        "files": files,
    }
    (out / "manifest.json").write_bytes(
        (json.dumps(manifest, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
    return manifest


def _truth(ctx: _Context, plans: dict[str, _Plan], inds: list[str], ys: list[int],
           scale: float) -> tuple[dict, list, list]:
    rec = ctx.recipe
    all_years = rec.years
    surveys: dict[str, dict] = {}
    for s in ctx.taxonomy["sectors"]:
        if any(i["code"] in plans for i in s["industries"]):
            surveys[s["survey"]] = ctx.model(s).to_dict()
    brands: dict[str, dict] = {}
    shifts: list[dict] = []
    bi_rows: list[tuple] = []
    ii_rows: list[tuple] = []
    for y in ys:
        yi = all_years.index(y)
        for i in inds:
            p = plans[i]
            cons = p.model.constructs
            idx = p.model.indices(p.delta[:, yi, :])          # (brands, constructs)
            means = p.model.latent_means(p.delta[:, yi, :])
            for b, bd in enumerate(p.brands):
                for j, c in enumerate(cons):
                    bi_rows.append((y, i, bd["brand"], c, f"{idx[b, j]:.4f}"))
                shifts.append({"year": y, "industry": i, "brand": bd["brand"],
                               "delta": {c: _r(p.delta[b, yi, j]) for j, c in enumerate(cons)
                                         if abs(p.delta[b, yi, j]) > 0},
                               "latent_means": {c: _r(means[b, j]) for j, c in enumerate(cons)}})
            rev = p.revenue[:, yi]
            ind_idx = (rev[:, None] * idx).sum(axis=0) / rev.sum()
            for j, c in enumerate(cons):
                ii_rows.append((y, i, c, f"{ind_idx[j]:.4f}"))
    for i in inds:
        for b, bd in enumerate(plans[i].brands):
            brands[bd["brand"]] = {"industry": i, "name_zh": bd["name_zh"],
                                   "name_en": bd["name_en"], **plans[i].info[b]}
    params = {
        "generator": GENERATOR,
        "generator_version": GENERATOR_VERSION,
        "seed": ctx.seed,
        "scale": float(scale),
        "recipe_version": rec.version,
        "recipe_sha256": rec.sha256,
        "years": ys,
        "industries": inds,
        "true_index": "index_c = (Σ ŵ_i E[x_i] − L)/(U − L)·100, E[x_i] exact for the rounded and "
                      "clipped item, ŵ_i ∝ λ_i/s_i normalised within the construct",
        "latent_model": "η = (I − B)⁻¹(δ + ζ), ζ ~ N(0, diag(disturbance_variances)); "
                        "x*_i = intercept_i + item_scale_i·(λ_i·η_c + √(1−λ_i²)·ε_i)",
        "surveys": surveys,
        "brands": brands,
        "brand_year_shifts": shifts,
    }
    return params, bi_rows, ii_rows


def _readme(seed: int, rec: Recipe, scale: float) -> str:
    sc = "" if scale == 1 else f" --scale {scale:g}"
    return (
        f"DEMO DATA — fictitious brands and respondents, generated by ncsi demo-data --seed {seed}"
        f"{sc}\n"
        f"演示数据——虚构的品牌和受访者，由 ncsi demo-data --seed {seed}{sc} 生成\n"
        "\n"
        "Every brand, name, respondent and revenue figure here is invented and drawn from a known\n"
        "true model; it describes no real company. Do not publish it as survey results.\n"
        "此处所有品牌、名称、受访者和营业收入均为虚构，由已知的真实模型模拟生成，与任何真实企业无关；\n"
        "请勿作为调查结果发布。\n"
        "\n"
        f"recipe 配方: surveys/demo.yaml, version {rec.version}, sha256 {rec.sha256}\n"
        "\n"
        "brands.csv                     brand, industry, name_zh, name_en, is_demo  品牌清单\n"
        "revenue.csv                    year, brand, revenue (million CNY)          营业收入（百万元）\n"
        "responses/<year>/<survey>.csv  one row per respondent                      受访者答卷\n"
        "truth/parameters.json          the true model and shifts                   真实模型参数\n"
        "truth/brand_indices.csv        true 0–100 index per brand/year/construct   品牌真实指数\n"
        "truth/industry_indices.csv     revenue-weighted true industry index        行业真实指数\n"
        "manifest.json                  seed, recipe hash, files with sha256 + rows 文件清单\n"
    )


def _prepare_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise DataError("the output path is a file; choose a folder", file=str(out),
                        message_zh=f"{out} 是文件，请选择文件夹")
    if not out.exists():
        out.mkdir(parents=True)
        return
    entries = list(out.iterdir())
    if not entries:
        return
    mpath = out / "manifest.json"
    try:
        old = json.loads(mpath.read_text(encoding="utf-8"))
        ok = isinstance(old, dict) and old.get("generator") == GENERATOR
    except (OSError, ValueError):
        ok = False
    if not ok:
        raise DataError("the output folder is not empty and holds no earlier demo data; choose an "
                        "empty or new folder", file=str(out),
                        message_zh=f"输出文件夹 {out} 非空且不是演示数据目录，请选择空的或新的文件夹")
    root = out.resolve()
    for f in old.get("files", []):
        rel = f.get("path") if isinstance(f, dict) else None
        if not isinstance(rel, str):
            continue
        target = (out / rel).resolve()
        if root in target.parents and target.is_file():
            target.unlink()
    mpath.unlink()
    for sub in sorted((p for p in out.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if sub.name in {"responses", "truth"} or sub.parent.name == "responses":
            try:
                sub.rmdir()
            except OSError:
                pass
