"""Build a year's draft release from the stored responses, and publish it.

For every industry measured that year (or every sector, with ``pooling="sector"``) the model of
its sector questionnaire is fitted — PLS by default, CB-SEM on request — on the valid respondents
pooled across brands, and checked for admissibility (``verify()``); an industry that fails stops
there with its reason, the others go on. Every respondent is scored 0–100 on every construct
with the industry's raw-scale weights (methodology §2–3); brand indices are survey-weighted means;
industries are revenue-weighted means of their brands (sample-size weights where revenue is
missing, and the draft says so); sectors revenue-weighted means of their industries; the nation
the consumption-weighted mean of the sectors.

Uncertainty: the respondents are resampled within brands and the model re-estimated in every
resample (:mod:`ncsi.resampling`); every level's standard error and percentile interval come
from the same draws, so they include the re-estimation of the weights. The draft also records,
per industry, the model's diagnostics, the drivers of satisfaction (:mod:`ncsi.drivers`) and the
comparability with the previous year (:mod:`ncsi.invariance`), whose verdict flags the industry's
and its brands' score rows. Nothing is written unless the whole draft is written.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import platform
import subprocess
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from . import __version__
from .config import home
from .errors import NCSIError, ReleaseError
from . import plscore
from .executors import Executor, run_tasks
from .instruments import load_consumption_weights, load_questionnaire, load_taxonomy
from .pls import PLS
from .resampling import bootstrap_brands, entropy_for, interval
from .scoring import (
    SE_FORMULA,
    IndexConfig,
    aggregate,
    group_indices,
    index_weights,
    industry_weights,
    respondent_scores,
)

SE_BOOTSTRAP = ("bootstrap of respondents within brands ({n} resamples, seed {seed}), the model "
                "re-estimated in every resample; SE = SD of the draws, CI = percentile interval")
SE_FIXED = SE_FORMULA + "; the industry's outer weights are held fixed"


@dataclass
class BuildOptions:
    """How a year is estimated (defaults: ``surveys/index.yaml``, section ``release``)."""

    method: str = "pls"
    pooling: str = "industry"
    n_boot: int = 1000
    seed: int = 0
    permutations: int = 300
    scheme: str = "path"
    scaled: bool = True

    @classmethod
    def from_config(cls, config: IndexConfig, **overrides) -> "BuildOptions":
        base = {"method": config.release_option("method", "pls"),
                "pooling": config.release_option("pooling", "industry"),
                "n_boot": config.release_option("bootstrap_resamples", 0),
                "seed": config.release_option("seed", 0),
                "permutations": config.release_option("invariance_permutations", 0)}
        base.update({k: v for k, v in overrides.items() if v is not None})
        opts = cls(**base)
        if opts.method not in ("pls", "cbsem"):
            raise ReleaseError(f"method must be pls or cbsem, not {opts.method!r}")
        if opts.pooling not in ("industry", "sector"):
            raise ReleaseError(f"pooling must be industry or sector, not {opts.pooling!r}")
        if opts.n_boot and opts.n_boot < 50:
            raise ReleaseError(f"use 0 (no bootstrap) or at least 50 resamples, not "
                               f"{opts.n_boot}", message_zh="自助样本数须为 0 或至少 50")
        return opts


@dataclass
class UnitResult:
    """One estimation unit (an industry, or a sector under sector pooling)."""

    unit: str
    industries: list[str]
    survey_id: str
    status: str                      # "ok" | "failed"
    message: str = ""
    fit: dict = field(default_factory=dict)
    brand_scores: pd.DataFrame | None = None   # group(brand), construct, index, se, ci, n
    draws: object = None             # resampling.BrandDraws or None
    brand_industry: dict = field(default_factory=dict)
    complete: np.ndarray | None = None          # complete-case items (for invariance)
    message_zh: str = ""


@dataclass
class BuildSummary:
    year: int
    release_id: int
    industries_ok: list[str]
    industries_failed: dict[str, str]
    issues: list[dict]
    scores: pd.DataFrame


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=home(), capture_output=True,
                             text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _inadmissible(res, also_except: str | None = None) -> str:
    """The failed admissibility checks of a fit (non-positive index weights excepted: the
    configured policy handles them and the draft reports it)."""
    return "; ".join(_failed_checks(res, also_except)["detail"])


def _inadmissible_zh(res, also_except: str | None = None) -> str:
    """:func:`_inadmissible` in Chinese."""
    return "；".join(_failed_checks(res, also_except)["detail_zh"])


def _failed_checks(res, also_except: str | None) -> pd.DataFrame:
    checks = res.verify().checks
    return checks[(~checks["ok"]) & ~checks["check"].isin(["index_weights", also_except])]


#: fewer valid release resamples than this give no bootstrap SE (as in ncsi.inference)
MIN_VALID_RESAMPLES = 10


def _left_out(unit: str, why: str, why_zh: str) -> tuple[str, str]:
    """A failed unit's message: the consequence first (so that a shortened line still shows
    it), then the reason, then what follows from it."""
    return (f"{unit}: left out of this draft — {why}; it has no scores, and the indices above "
            f"it are computed without it",
            f"{unit}：未纳入本草稿——{why_zh}；该单位无得分，上级指数不含该单位")


def _collinear_indicators(res, unit: str) -> list[dict]:
    """Issues for blocks whose indicators are perfectly collinear on the rows used (an outer
    VIF that is infinite). A Mode A block stays estimable — its weights are covariances with
    the inner proxy — so the fit is kept, but the analyst is told (a copied column is the usual
    cause). Mode B blocks never get here: the estimator refuses them."""
    vif = res.vif_outer
    out = []
    bad = vif[~np.isfinite(vif.to_numpy(dtype=float))]
    for construct in dict.fromkeys(bad.index.get_level_values(0)):
        items = [str(i) for i in bad.xs(construct, level=0).index]
        names, names_zh = " and ".join(items) if len(items) == 2 else ", ".join(items), \
            "、".join(items)
        out.append({
            "industry": unit, "kind": "collinear_indicators", "construct": construct,
            "indicators": items,
            "message": (f"{unit}: {construct} kept as estimated, but its indicators {names} are "
                        f"perfectly collinear on the {res.n} rows used (one is a copy or a "
                        f"linear combination of the others; outer VIF undefined), so the "
                        f"repeated information weighs more than once in {construct}'s weights "
                        f"and index — check the data file for a copied or derived column "
                        f"before publishing"),
            "message_zh": (f"{unit}：构念 {construct} 的指标 {names_zh} 在 {res.n} 个可用行上"
                           f"完全共线（某一列是其他列的复制或线性组合，外部 VIF 无定义）；估计结果"
                           f"照常保留，但重复的信息在 {construct} 的权重和指数中被重复计算——"
                           f"发布前请检查数据文件中是否有被复制或派生的列"),
        })
    return out


#: why a resample was left out, by plscore status code
_STATUS_EN = {plscore.NOT_CONVERGED: "did not converge",
              plscore.DEGENERATE: "degenerate (e.g. an item constant in the resample)",
              plscore.SINGULAR_BLOCK: "a Mode B block perfectly collinear",
              plscore.COLLINEAR: "collinear predecessor scores"}
_STATUS_ZH = {plscore.NOT_CONVERGED: "未收敛", plscore.DEGENERATE: "退化（如某指标在样本中为常数）",
              plscore.SINGULAR_BLOCK: "B 模式指标完全共线",
              plscore.COLLINEAR: "前因构念得分完全共线"}


def _bootstrap_issue(unit: str, draws, issues: list[dict]) -> bool:
    """Report resamples left out (with why); returns False when too few are left for a
    bootstrap SE — the caller then falls back to the fixed-weight formula."""
    left = draws.n_boot - draws.n_valid
    if left <= 0.05 * draws.n_boot and draws.n_valid >= MIN_VALID_RESAMPLES:
        return True
    codes, counts = np.unique(draws.status[draws.status != plscore.OK], return_counts=True)
    why = ", ".join(f"{int(k)} {_STATUS_EN.get(int(c), plscore.STATUS.get(int(c), str(c)))}"
                    for c, k in zip(codes, counts))
    why_zh = "，".join(f"{int(k)} 个{_STATUS_ZH.get(int(c), str(c))}"
                       for c, k in zip(codes, counts))
    usable = draws.n_valid >= MIN_VALID_RESAMPLES
    if usable:
        then = (f"the SEs and intervals of {unit} and its brands come from the other "
                f"{draws.n_valid}")
        then_zh = f"{unit} 及其品牌的标准误和置信区间由其余 {draws.n_valid} 个样本计算"
    else:
        then = (f"fewer than {MIN_VALID_RESAMPLES} are left, so the SEs and intervals of {unit}, "
                f"its brands, its sector and the nation use the fixed-weight formula instead "
                f"of the bootstrap")
        then_zh = (f"剩余不足 {MIN_VALID_RESAMPLES} 个，{unit} 及其品牌、所属领域和全国的标准误和"
                   f"置信区间改用固定权重公式，而非自助法")
    issues.append({
        "industry": unit, "kind": "bootstrap_failures", "n_boot": draws.n_boot,
        "n_valid": draws.n_valid,
        "message": (f"{unit}: {left} of {draws.n_boot} bootstrap resamples could not be "
                    f"estimated ({why}) and were left out; {then}"),
        "message_zh": (f"{unit}：{draws.n_boot} 个自助样本中有 {left} 个无法估计（{why_zh}），"
                       f"已剔除；{then_zh}"),
    })
    return usable


def fit_unit(df: pd.DataFrame, *, unit: str, survey_id: str, year: int, config: IndexConfig,
             options: BuildOptions) -> tuple[UnitResult, list[dict]]:
    """Fit one unit's model on its valid responses, bootstrap it and score its brands."""
    from .drivers import drivers as driver_table

    q = load_questionnaire(survey_id)
    spec = q.model_spec()
    issues: list[dict] = []
    clean = q.clean(df)
    industries = sorted(clean["industry"].unique())
    base = UnitResult(unit, industries, survey_id, "failed")
    items = clean[list(spec.indicators)]
    try:
        if options.method == "cbsem":
            from .cbsem import CBSEM
            res = CBSEM(spec, scale=(config.scale_min, config.scale_max)).fit(items)
        else:
            res = PLS(spec, scheme=options.scheme, scaled=options.scaled).fit(items)
    except NCSIError as exc:
        base.message, base.message_zh = _left_out(unit, exc.message,
                                                  exc.message_zh or exc.message)
        return base, issues
    fit = {"industry": unit, "survey_id": survey_id, "model_name": spec.name,
           "model_sha256": spec.sha256, "n": int(res.n), "converged": bool(res.converged),
           "iterations": int(res.iterations), "settings": res.settings}
    if options.method == "cbsem":
        problems = [p["message"] for p in res.problems if p["code"] != "single_indicator"]
        reason = "; ".join(problems)
        result = res.to_dict()
    else:
        reason = _inadmissible(res)
        result = res.to_dict()
        summary = res.summary()
        result["diagnostics"] = {k: summary[k] for k in ("reliability", "htmt", "gof", "srmr",
                                                          "verify", "effects", "f2",
                                                          "vif_inner")}
    if not res.converged or reason:
        if not res.converged and options.method != "cbsem":
            # the estimator's own report names the construct whose weights still moved
            other = _inadmissible(res, also_except="converged")
            other_zh = _inadmissible_zh(res, also_except="converged")
            base.message, base.message_zh = _left_out(
                unit, "; ".join(res.warnings[:1] + ([other] if other else [])),
                f"PLS 迭代在 {res.settings['max_iter']} 次内未收敛，权重与得分不可靠"
                + (f"；{other_zh}" if other_zh else ""))
        elif options.method != "cbsem":
            base.message, base.message_zh = _left_out(
                unit, f"the model is not admissible ({reason})",
                f"模型不满足可采性检验（{_inadmissible_zh(res)}）")
        else:
            why = reason or f"the estimation did not converge in {res.iterations} iterations"
            base.message, base.message_zh = _left_out(
                unit, f"the model is not admissible ({why})", f"模型不满足可采性检验（{why}）")
        fit.update(status="failed", message=base.message, result=result)
        base.fit = fit
        return base, issues
    if options.method == "cbsem":
        ow = res.index_weights
        weights = {c: ow[c] for c in spec.constructs}
        w_issues = []
    else:
        weights, w_issues = index_weights(res.outer_weights, res.item_sd, scaled=options.scaled,
                                          policy=config.nonpositive_weight_policy)
    for issue in w_issues:
        issues.append({"industry": unit, "kind": "nonpositive_weight", **issue,
                       "message": f"{unit}: {issue['message']}",
                       "message_zh": f"{unit}：{issue['message_zh']}"})
    if options.method != "cbsem":
        issues.extend(_collinear_indicators(res, unit))
    scores = respondent_scores(items, weights, scale_min=config.scale_min,
                               scale_max=config.scale_max)
    brands = group_indices(scores, clean["brand"], clean["weight"],
                           level=config.significance_level)
    draws = None
    if options.n_boot and options.method == "pls":
        pos = items.index.get_indexer(res.scores.index)
        draws = bootstrap_brands(
            res, items.to_numpy(dtype=float), pos, clean["brand"].to_numpy(),
            clean["weight"].to_numpy(dtype=float), n_boot=options.n_boot,
            entropy=entropy_for(options.seed, year, unit), scale_min=config.scale_min,
            scale_max=config.scale_max, policy=config.nonpositive_weight_policy)
        left = draws.n_boot - draws.n_valid
        result["bootstrap"] = {"n_boot": draws.n_boot, "n_valid": draws.n_valid,
                               "n_failed": left, "seed": options.seed, "entropy": draws.entropy,
                               "stratified_by": "brand"}
        if not _bootstrap_issue(unit, draws, issues):
            result["bootstrap"]["used"] = False
            result["bootstrap"]["se_method"] = SE_FIXED
            draws = None
    result["index_weights"] = {c: {i: float(v) for i, v in w.items()} for c, w in weights.items()}
    result["item_sd"] = {i: float(v) for i, v in res.item_sd.items()} \
        if hasattr(res, "item_sd") else {}
    result["item_mean"] = {i: float(v) for i, v in res.item_mean.items()}
    result["drivers"] = driver_table(res, scores.dropna(), weights,
                                     target=config.index_construct,
                                     item_means=res.item_mean, scale_min=config.scale_min,
                                     scale_max=config.scale_max)
    result["brand_items"] = brand_item_means(items, clean["brand"], clean["weight"],
                                             scale_min=config.scale_min,
                                             scale_max=config.scale_max)
    if draws is not None and draws.paths is not None:
        _resampled_intervals(result, draws, list(spec.constructs), config.significance_level)
    fit.update(status="ok", message="", result=result)
    complete = items.dropna().to_numpy(dtype=float)
    return UnitResult(unit, industries, survey_id, "ok", "", fit, brands, draws,
                      dict(zip(clean["brand"], clean["industry"])), complete), issues


def brand_item_means(items: pd.DataFrame, brands: pd.Series, weights: pd.Series, *,
                     scale_min: float, scale_max: float) -> dict[str, dict]:
    """Every brand's survey-weighted mean answer to every item on the 0–100 scale (its
    answered respondents only; None where nobody answered) — the item-level gaps of the
    enterprise pages."""
    y = (items.to_numpy(dtype=float) - scale_min) / (scale_max - scale_min) * 100.0
    answered = ~np.isnan(y)
    w = weights.to_numpy(dtype=float)[:, None] * answered
    out = {}
    codes = brands.to_numpy()
    for brand in sorted(set(codes)):
        rows = codes == brand
        tot = w[rows].sum(axis=0)
        num = (w[rows] * np.where(answered[rows], y[rows], 0.0)).sum(axis=0)
        out[brand] = {c: (float(num[k] / tot[k]) if tot[k] > 0 else None)
                      for k, c in enumerate(items.columns)}
    return out


def _resampled_intervals(result: dict, draws, constructs: list[str], level: float) -> None:
    """Percentile intervals (and SDs) of the path coefficients and of the driver impacts from
    the release's own resamples (stratified by brand, weights re-estimated) — added to the
    fit's ``paths`` and ``drivers.impacts`` entries as ``boot_se``, ``ci_low``, ``ci_high``."""
    pos = {c: k for k, c in enumerate(constructs)}
    basis = {"method": "percentile", "level": level, "n_valid": draws.n_valid,
             "resampling": "respondents within brands (the release bootstrap)"}
    for p in result.get("paths") or []:
        i, j = pos.get(p["from"]), pos.get(p["to"])
        if i is None or j is None:
            continue
        se, lo, hi = interval(draws.paths[:, i, j], level)
        p.update(boot_se=_finite(se), ci_low=_finite(lo), ci_high=_finite(hi))
    result["paths_interval"] = basis
    drv = result.get("drivers") or {}
    target = pos.get(drv.get("target"))
    if target is None or draws.total is None or draws.score_sd is None:
        return
    for row in drv.get("impacts") or []:
        i = pos.get(row["driver"])
        if i is None:
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            d = 5.0 * draws.total[:, i, target] * draws.score_sd[:, target] \
                / draws.score_sd[:, i]
        se, lo, hi = interval(d, level)
        row.update(boot_se=_finite(se), ci_low=_finite(lo), ci_high=_finite(hi))
    drv["interval"] = basis


def _finite(v: float) -> float | None:
    return float(v) if v is not None and np.isfinite(v) else None


def _stat(point: float, draws, level: float, fallback: tuple) -> tuple[float, float, float]:
    """(se, ci_low, ci_high) from bootstrap draws, or the fixed-weight ``fallback``."""
    if draws is None:
        return fallback
    return interval(draws, level)


def _invariance(year: int, code: str, unit: UnitResult, options: BuildOptions, spec,
                previous: pd.DataFrame | None, versions: tuple[str, str | None]) -> dict | None:
    """Comparability of ``code`` with the previous year (None when it was not measured).
    ``previous``: the previous year's valid responses of the unit's survey (None: no wave);
    ``versions``: (this year's, the previous year's) questionnaire version."""
    from .invariance import compositional_invariance

    prev = year - 1
    survey = unit.survey_id
    if previous is None or versions[1] is None:
        return None
    previous = previous[previous["industry"].isin(unit.industries)]
    if previous.empty:
        return None
    same = bool(versions[0] == versions[1])
    text = f"{versions[1]} → {versions[0]}"
    reason = "" if same else f"questionnaire version changed ({text})"
    reason_zh = "" if same else f"问卷版本已变更（{text}）"
    old = load_questionnaire(survey).clean(previous)[list(spec.indicators)].dropna()
    if len(old) <= len(spec.indicators) + 1 or options.permutations == 0:
        return {"previous_year": prev, "ok": same, "same_instrument": same,
                "reason": reason or "not tested (no permutations or too few complete cases)",
                "reason_zh": reason_zh or "未检验（无置换或完整个案过少）", "constructs": []}
    settings = {"scheme": options.scheme, "scaled": options.scaled, "tol": 1e-7,
                "max_iter": 300}
    res = compositional_invariance(
        spec, old.to_numpy(dtype=float), unit.complete, settings=settings, previous_year=prev,
        same_instrument=same, reason=reason, reason_zh=reason_zh,
        permutations=options.permutations,
        entropy=entropy_for(options.seed, year, "invariance/" + code))
    return res.to_dict()


def unit_task(part: pd.DataFrame, previous: pd.DataFrame | None, unit_code: str,
              survey_id: str, year: int, config: IndexConfig, options: BuildOptions,
              versions: tuple[str, str | None]) -> tuple[UnitResult, list[dict], dict | None]:
    """Everything of one estimation unit that depends on its data alone — the fit, its
    bootstrap, scores and drivers (:func:`fit_unit`) and, under industry pooling, the
    invariance test against ``previous`` — as one task for :mod:`ncsi.executors`. Its random
    streams depend on (seed, year, unit) only, and its linear algebra runs on one BLAS thread
    (a multi-threaded BLAS may sum in another order, and Dask workers run single-threaded), so
    where it runs changes no number, not even in the last bit."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        unit, issues = fit_unit(part, unit=unit_code, survey_id=survey_id, year=year,
                                config=config, options=options)
        inv = None
        if unit.status == "ok" and options.pooling == "industry":
            spec = load_questionnaire(survey_id).model_spec()
            inv = _invariance(year, unit_code, unit, options, spec, previous, versions)
    unit.complete = None            # only the invariance test needs the raw complete cases
    return unit, issues, inv


def build_year(store, year: int, *, industries: list[str] | None = None,
               scheme: str = "path", scaled: bool = True, config: IndexConfig | None = None,
               progress: Callable[[str], None] | None = None, method: str | None = None,
               pooling: str | None = None, n_boot: int | None = None, seed: int | None = None,
               permutations: int | None = None,
               executor: Executor | None = None) -> BuildSummary:
    """Fit every industry measured in ``year`` and store the draft release. The units'
    fits run on ``executor`` (default: this process; see :mod:`ncsi.executors`) — the draft's
    numbers are the same on every executor."""
    say = progress or (lambda _msg: None)
    config = config or IndexConfig.from_yaml()
    options = BuildOptions.from_config(config, method=method, pooling=pooling, n_boot=n_boot,
                                       seed=seed, permutations=permutations, scheme=scheme,
                                       scaled=scaled)
    taxonomy = load_taxonomy()
    if store.release(year, status="published") is not None:
        raise ReleaseError(
            f"the {year} release is already published and never changes; a correction is a new "
            f"release of a later year, not a rebuild of {year}",
            message_zh=f"{year} 年版本已发布，永不更改；不能重新生成")
    responses = store.responses(year, valid_only=True)
    maturity_only = responses.empty and year in store.maturity_years()
    if responses.empty and not maturity_only:
        raise ReleaseError(
            f"no valid responses are stored for {year}; ingest that year's survey files first "
            f"(ncsi ingest FILE --survey ID --year {year})",
            message_zh=f"{year} 年没有有效答卷；请先导入该年的调查文件（ncsi ingest）")
    measured = sorted(responses["industry"].unique())
    if industries:
        unknown = [i for i in industries if i not in measured]
        if unknown:
            raise ReleaseError(
                f"industry {', '.join(unknown)} has no valid responses in {year}; measured "
                f"industries: {', '.join(measured)}",
                message_zh=f"{year} 年行业 {', '.join(unknown)} 没有有效答卷")
        measured = [i for i in measured if i in industries]
    level = config.significance_level
    revenue = store.revenue(year)
    rev_by_brand = revenue.set_index("brand")["revenue"] if not revenue.empty else pd.Series(
        dtype=float)
    if options.pooling == "sector":
        units = {}
        for code in measured:
            units.setdefault(taxonomy.sector_of(code).code, []).append(code)
    else:
        units = {code: [code] for code in measured}

    issues: list[dict] = []
    fits: list[dict] = []
    rows: list[dict] = []
    draws_of: dict[tuple[str, str, str], np.ndarray | None] = {}
    ok: list[str] = []
    failed: dict[str, str] = {}
    industry_revenue: dict[str, float] = {}
    executor = executor or Executor()
    waves = store.waves()
    previous_all = None
    if options.pooling == "industry" and (waves["year"] == year - 1).any():
        previous_all = store.responses(year - 1, valid_only=True)
    tasks = []
    for unit_code, members in units.items():
        survey_id = taxonomy.sector_of(members[0]).survey
        part = responses[responses["industry"].isin(members)]
        now_w = waves[(waves["survey_id"] == survey_id) & (waves["year"] == year)]
        old_w = waves[(waves["survey_id"] == survey_id) & (waves["year"] == year - 1)]
        versions = (str(now_w["survey_version"].iloc[0]) if not now_w.empty else None,
                    str(old_w["survey_version"].iloc[0]) if not old_w.empty else None)
        previous = None
        if previous_all is not None and versions[1] is not None:
            previous = previous_all[(previous_all["survey_id"] == survey_id)
                                    & previous_all["industry"].isin(members)]
        tasks.append((part, previous, unit_code, survey_id, year, config, options, versions))
    done = []

    def arrived(k: int, result) -> None:
        done.append(k)
        say(f"[{year}] {tasks[k][2]}: estimated ({len(done)}/{len(tasks)})")

    results = run_tasks(unit_task, tasks, executor, on_result=arrived) if tasks else []
    for (unit_code, members), (unit, fit_issues, inv) in zip(units.items(), results):
        survey_id = unit.survey_id
        part = responses[responses["industry"].isin(members)]
        issues.extend(fit_issues)
        if unit.status != "ok":
            for code in members:
                failed[code] = unit.message
                issues.append({"industry": code, "kind": "industry_failed",
                               "message": unit.message,
                               "message_zh": unit.message_zh or unit.message})
            fits.append(unit.fit or {
                "industry": unit_code, "survey_id": survey_id,
                "model_name": load_questionnaire(survey_id).model_spec().name,
                "model_sha256": None, "status": "failed", "message": unit.message,
                "n": int(len(part)), "converged": False, "iterations": 0, "settings": {},
                "result": {}})
            say(f"[{year}] {unit_code}: FAILED — {unit.message}")
            continue
        inv_by_code = {}
        if options.pooling == "industry":
            inv_by_code[unit_code] = inv
            if inv is not None:
                unit.fit["result"]["invariance"] = inv
        fits.append(unit.fit)
        bs = unit.brand_scores
        for code in members:
            ok.append(code)
            inv = inv_by_code.get(code)
            flag = None if inv is None else {"invariance": {
                "ok": inv["ok"], "previous_year": inv["previous_year"], "reason": inv["reason"],
                "reason_zh": inv.get("reason_zh", "")}}
            if inv is not None and not inv["ok"]:
                issues.append({"industry": code, "kind": "invariance",
                               "message": f"{code}: the trend {inv['previous_year']}–{year} is "
                                          f"not comparable: {inv['reason']}",
                               "message_zh": f"{code}：{inv['previous_year']}–{year} 年趋势不可比："
                                             f"{inv.get('reason_zh') or inv['reason']}"})
            mine = bs[bs["group"].map(unit.brand_industry) == code]
            brand_n = mine.groupby("group")["n"].max()
            for r in mine.itertuples(index=False):
                d = None if unit.draws is None else unit.draws.of(r.group, r.construct)
                se, lo, hi = _stat(r.index, d, level, (r.se, r.ci_low, r.ci_high))
                publishable = bool(r.n >= config.min_valid_n and np.isfinite(r.index))
                draws_of[("brand", r.group, r.construct)] = d
                if publishable:
                    note = None
                elif r.n == 0:
                    note = (f"no respondent of {r.group} answered any {r.construct} item; "
                            f"no index (not published)")
                else:
                    note = (f"n = {int(r.n)} valid interviews is below the floor of "
                            f"{config.min_valid_n}; not published")
                rows.append({"level": "brand", "code": r.group, "parent": code,
                             "construct": r.construct, "index": r.index, "se": se,
                             "ci_low": lo, "ci_high": hi, "n": int(r.n), "weight": np.nan,
                             "weight_basis": None, "publishable": publishable,
                             "flags": flag, "note": note})
            weights, basis, w_issues = industry_weights(list(brand_n.index), rev_by_brand,
                                                        brand_n)
            for issue in w_issues:
                issues.append({"industry": code, "kind": "weight_fallback", **issue})
            issues.extend(_brand_issues(code, year, mine, weights, basis, config))
            industry_revenue[code] = float(rev_by_brand.reindex(brand_n.index).fillna(0).sum())
            brand_rows = {(r["code"], r["construct"]): r for r in rows
                          if r["level"] == "brand" and r["parent"] == code}
            for construct, grp in mine.groupby("construct", sort=False):
                children = pd.DataFrame(
                    {"index": grp["index"].to_numpy(),
                     "se": [brand_rows[(b, construct)]["se"] for b in grp["group"]]},
                    index=pd.Index(grp["group"].to_numpy(), name="code"))
                agg = aggregate(children, weights, level=level)
                for brand, w in agg["weights"].items():
                    brand_rows[(brand, construct)].update(weight=float(w), weight_basis=basis)
                d = _combine({b: draws_of[("brand", b, construct)] for b in grp["group"]},
                             agg["weights"])
                draws_of[("industry", code, construct)] = d
                se, lo, hi = _stat(agg["index"], d, level,
                                   (agg["se"], agg["ci_low"], agg["ci_high"]))
                rows.append({"level": "industry", "code": code,
                             "parent": taxonomy.sector_of(code).code, "construct": construct,
                             "index": agg["index"], "se": se, "ci_low": lo, "ci_high": hi,
                             "n": int(grp["n"].sum()), "weight": np.nan, "weight_basis": None,
                             "publishable": True, "note": None, "flags": flag})
            say(f"[{year}] {code}: n={unit.fit['n']}, converged in "
                f"{unit.fit['iterations']} iterations, {len(brand_n)} brands, "
                f"{config.index_construct} {_industry_value(rows, code, config)}"
                + ("" if unit.draws is None else
                   f", {unit.draws.n_valid}/{unit.draws.n_boot} resamples")
                + ("" if inv_by_code.get(code) is None else
                   ", comparable with last year" if inv_by_code[code]["ok"] else
                   ", NOT comparable with last year"))

    if not ok and not maturity_only:
        raise ReleaseError(
            f"no industry of {year} could be estimated: "
            + "; ".join(f"{k}: {v}" for k, v in failed.items()),
            message_zh=f"{year} 年没有任何行业估计成功")

    scores = pd.DataFrame(rows)
    if not scores.empty:
        scores = _aggregate_up(scores, taxonomy, industry_revenue, year, level, issues,
                               draws_of)
    maturity = _maturity_part(store, year, level, say)
    grades = _grades_part(store, year, scores, maturity, config, issues, say)
    settings = {
        "estimator": options.method, "scheme": options.scheme, "scaled": options.scaled,
        "missing": "casewise", "pooling": f"per {options.pooling}, pooled across brands",
        "scale": [config.scale_min, config.scale_max], "min_valid_n": config.min_valid_n,
        "significance_level": level, "nonpositive_weight_policy":
            config.nonpositive_weight_policy, "index_construct": config.index_construct,
        "bootstrap_resamples": options.n_boot, "seed": options.seed,
        "invariance_permutations": options.permutations,
        "se_method": (SE_BOOTSTRAP.format(n=options.n_boot, seed=options.seed)
                      if options.n_boot and options.method == "pls" else SE_FIXED),
    }
    provenance = _provenance(store, year, taxonomy, config, measured, revenue)
    release_id = store.save_draft(year, settings=settings, provenance=provenance, fits=fits,
                                  scores=scores, issues=issues, maturity=maturity,
                                  grades=grades)
    return BuildSummary(year, release_id, ok, failed, issues, scores)


def _maturity_part(store, year: int, level: float, say) -> dict | None:
    """The maturity results of the year's wave (None when there is no wave this year)."""
    from .maturity_instrument import load_level_cutoffs, load_maturity_questionnaire
    from .maturity_release import wave_results

    years = store.maturity_years()
    if year not in years:
        return None
    q = load_maturity_questionnaire()
    cut_version, cuts = load_level_cutoffs()
    waves = store.waves()
    version = waves.loc[(waves["year"] == year) & (waves["survey_id"] == q.id),
                        "survey_version"]
    earlier = [y for y in years if y < year]
    previous = None
    if earlier:
        prev = store.release(earlier[-1]) or store.release(earlier[-1], status="draft")
        previous = (prev or {}).get("maturity")
    res = wave_results(store.maturity_responses(year), questionnaire=q, cutoffs=cuts,
                       level=level, previous=previous,
                       version=str(version.iloc[0]) if len(version) else q.version)
    res["year"] = year
    res["cutoffs_version"] = cut_version
    res["questionnaire_sha256"] = q.sha256
    nat = res["national"]
    say(f"[{year}] maturity: {res['n']} enterprises, national index {nat['index']:.1f} "
        f"(90% CI {nat['ci_low']:.1f}–{nat['ci_high']:.1f})")
    return res


def _grades_part(store, year: int, scores: pd.DataFrame, maturity: dict | None,
                 config: IndexConfig, issues: list[dict], say) -> dict | None:
    """The graded evaluations of the year (None without performance inputs or satisfaction
    indices). The maturity total comes from this year's wave or the previous one (two years)."""
    from .grading import load_rulebook
    from .maturity_release import grade_year

    perf = store.performance(year)
    if perf.empty or scores.empty:
        return None
    source = maturity
    if source is None:
        for y in (year - 1, year - 2):
            rel = store.release(y) or store.release(y, status="draft")
            if rel and rel.get("maturity"):
                source = rel["maturity"]
                break
    if source is None:
        issues.append({"kind": "grades_skipped",
                       "message": f"no maturity wave in {year - 2}–{year}: no grades for {year}"})
        return None
    sat = scores[scores["construct"] == config.index_construct]
    brands = sat[sat["level"] == "brand"]
    # the indices as published (rounded to the published precision) are what the rules compare
    dec = config.published_decimals
    brand_sat = brands[brands["publishable"].astype(bool)].set_index("code")["index"].round(dec)
    industry_sat = sat[sat["level"] == "industry"].set_index("code")["index"].round(dec)
    brand_industry = brands.set_index("code")["parent"]
    rulebook = load_rulebook()
    graded = grade_year(rulebook, enterprises=pd.DataFrame(source["enterprises"]),
                        performance=perf.drop(columns=["year", "source"], errors="ignore"),
                        links=store.links()[["enterprise_id", "brand"]],
                        brand_sat=brand_sat, industry_sat=industry_sat,
                        brand_industry=brand_industry)
    counts = graded["grade"].fillna("not graded").value_counts().to_dict()
    say(f"[{year}] grades (rulebook v{rulebook.version}, maturity {source['year']}): "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    records = json.loads(graded.to_json(orient="records", force_ascii=False))
    return {"rulebook_version": rulebook.version, "rulebook_source": str(rulebook.source),
            "maturity_year": source["year"], "counts": {str(k): int(v)
                                                       for k, v in counts.items()},
            "results": records}


def _children_frame(rows: pd.DataFrame) -> pd.DataFrame:
    return rows.set_index("code")[["index", "se"]]


def _combine(children: dict, weights: pd.Series) -> np.ndarray | None:
    """Draws of a weighted mean, resample by resample (None when a child has no draws).
    Children without a weight (no index: left out of the aggregate) are left out here too."""
    children = {c: d for c, d in children.items() if c in weights.index}
    if not children or any(d is None for d in children.values()):
        return None
    w = weights / weights.sum()
    return sum(float(w[c]) * d for c, d in children.items())


def _brand_issues(code: str, year: int, mine: pd.DataFrame, weights: pd.Series, basis: str,
                  config: IndexConfig) -> list[dict]:
    """What the analyst must know about an industry's brands: brands (or brand-constructs)
    below the floor (NM) that still count in the industry's index, brand-constructs nobody
    answered, and an industry measured through a single brand."""
    out = []
    floor = config.min_valid_n
    n_constructs = mine["construct"].nunique()
    weight_text = {"revenue": "revenue", "sample_size": "sample size"}.get(basis, basis)
    weight_zh = {"revenue": "营收", "sample_size": "样本量"}.get(basis, basis)
    for brand, g in mine.groupby("group", sort=True):
        w = float(weights.get(brand, np.nan))
        share = f"{w:.1%}" if np.isfinite(w) else "—"
        none = g[g["n"] == 0]
        low = g[(g["n"] > 0) & (g["n"] < floor)]
        if len(low):
            if len(low) == n_constructs:
                lo, hi = int(low["n"].min()), int(low["n"].max())
                count = f"{lo}" if lo == hi else f"{lo}–{hi}"
                what = f"n = {count} valid interviews"
                what_zh = f"有效样本 n = {count}"
                which, which_zh = "its scores are", "其各项得分"
            else:
                what = ", ".join(f"{c} n = {int(k)}" for c, k in zip(low["construct"], low["n"]))
                what_zh = what
                which = f"its {', '.join(low['construct'])} score(s) are"
                which_zh = f"其 {'、'.join(low['construct'])} 得分"
            out.append({
                "industry": code, "brand": brand, "kind": "below_floor",
                "constructs": list(low["construct"]), "n": int(low["n"].max()),
                "weight": w if np.isfinite(w) else None,
                "message": (f"{code}: brand {brand} has {what}, below the floor of {floor} — "
                            f"{which} not published (NM); it still counts in {code}'s index "
                            f"with weight {share} ({weight_text})"),
                "message_zh": (f"{code}：品牌 {brand} {what_zh}，低于最低样本量 {floor}——"
                               f"{which_zh}不发布（NM）；但仍以 {share} 的权重（{weight_zh}）"
                               f"计入 {code} 的行业指数"),
            })
        for c in none["construct"]:
            others = int((mine[(mine["construct"] == c)]["n"] > 0).sum())
            out.append({
                "industry": code, "brand": brand, "kind": "no_answers", "construct": c,
                "message": (f"{code}: no respondent of brand {brand} answered any {c} item — "
                            f"{brand} has no {c} index (NM), and {code}'s {c} index is the "
                            f"weighted mean of the other {others} brand(s), their weights "
                            f"renormalised; check the questionnaire routing or the data file"),
                "message_zh": (f"{code}：品牌 {brand} 没有受访者回答 {c} 的任何题项——{brand} 无 "
                               f"{c} 指数（NM），{code} 的 {c} 行业指数由其余 {others} 个品牌"
                               f"加权（权重重新归一）；请检查问卷跳转或数据文件"),
            })
    brands = sorted(set(mine["group"]))
    if len(brands) == 1:
        b = brands[0]
        g = mine[mine["construct"] == config.index_construct]
        hidden = len(g) and not bool((g["n"] >= floor).all())
        if hidden:
            first = (f"{b} is below the floor (NM), yet publishing the industry index discloses "
                     f"its score — consider withholding {code}; ")
            first_zh = (f"{b} 低于最低样本量（NM），但发布行业指数即公开了其得分——请考虑不发布 "
                        f"{code}；")
        else:
            first = first_zh = ""
        out.append({
            "industry": code, "brand": b, "kind": "single_brand",
            "message": (f"{code}: only one brand ({b}) measured in {year} — {first}the industry "
                        f"index is {b}'s index alone (weight 100%) and describes one brand, not "
                        f"a market; no comparison between brands is possible"),
            "message_zh": (f"{code}：{year} 年仅测评了一个品牌（{b}）——{first_zh}行业指数即 {b} "
                           f"的指数（权重 100%），只代表一个品牌而非整个市场，无法进行品牌间比较"),
        })
    return out


def _fmt(x) -> str:
    return "NA" if x is None or not np.isfinite(x) else f"{x:.1f}"


def _industry_value(rows: list[dict], code: str, config: IndexConfig) -> str:
    for r in rows:
        if r["level"] == "industry" and r["code"] == code and r["construct"] == \
                config.index_construct:
            return _fmt(r["index"])
    return "NA"


def _aggregate_up(scores: pd.DataFrame, taxonomy, industry_revenue: dict[str, float], year: int,
                  level: float, issues: list[dict], draws_of: dict) -> pd.DataFrame:
    """Add sector rows (revenue-weighted industries) and nation rows (consumption weights)."""
    rows = []
    ind = scores[scores["level"] == "industry"]
    sector_weights, cw_version, _ = load_consumption_weights(year)
    sector_rows = []
    for sector in taxonomy.sectors:
        part = ind[ind["parent"] == sector.code]
        if part.empty:
            continue
        codes = list(part["code"].unique())
        rev = pd.Series({c: industry_revenue.get(c, 0.0) for c in codes})
        if (rev > 0).all():
            weights, basis = rev, "revenue"
        else:
            n = part.groupby("code")["n"].max()
            weights, basis = n.astype(float), "sample_size"
            issues.append({"sector": sector.code, "kind": "weight_fallback",
                           "message": f"sector {sector.code}: industries "
                                      f"{', '.join(rev[rev <= 0].index)} have no revenue for "
                                      f"{year}; the sector uses sample-size weights",
                           "message_zh": f"领域 {sector.code} 部分行业缺少 {year} 年营收，"
                                         f"改用样本量加权"})
        for construct, grp in part.groupby("construct", sort=False):
            agg = aggregate(_children_frame(grp), weights, level=level)
            scores.loc[grp.index, "weight"] = grp["code"].map(agg["weights"]).to_numpy()
            scores.loc[grp.index, "weight_basis"] = basis
            d = _combine({c: draws_of.get(("industry", c, construct)) for c in grp["code"]},
                         agg["weights"])
            draws_of[("sector", sector.code, construct)] = d
            se, lo, hi = _stat(agg["index"], d, level, (agg["se"], agg["ci_low"],
                                                         agg["ci_high"]))
            sector_rows.append({"level": "sector", "code": sector.code, "parent": "nation",
                                "construct": construct, "index": agg["index"], "se": se,
                                "ci_low": lo, "ci_high": hi,
                                "n": int(grp["n"].sum()), "weight": np.nan,
                                "weight_basis": None, "publishable": True, "note": None,
                                "flags": None})
    sec = pd.DataFrame(sector_rows)
    cw = pd.Series(sector_weights, dtype=float)
    for construct, grp in sec.groupby("construct", sort=False):
        missing = [c for c in grp["code"] if c not in cw.index]
        if missing:
            raise ReleaseError(
                f"surveys/weights/consumption.yaml has no weight for sector(s) "
                f"{', '.join(missing)} in {year}; add them",
                message_zh=f"消费权重文件缺少 {year} 年领域 {', '.join(missing)} 的权重")
        agg = aggregate(_children_frame(grp), cw.reindex(grp["code"]), level=level)
        idx = sec.index[(sec["construct"] == construct)]
        sec.loc[idx, "weight"] = sec.loc[idx, "code"].map(agg["weights"]).to_numpy()
        sec.loc[idx, "weight_basis"] = f"consumption ({cw_version})"
        d = _combine({c: draws_of.get(("sector", c, construct)) for c in grp["code"]},
                     agg["weights"])
        se, lo, hi = _stat(agg["index"], d, level, (agg["se"], agg["ci_low"], agg["ci_high"]))
        rows.append({"level": "nation", "code": "nation", "parent": None,
                     "construct": construct, "index": agg["index"], "se": se,
                     "ci_low": lo, "ci_high": hi,
                     "n": int(grp["n"].sum()), "weight": np.nan, "weight_basis": None,
                     "publishable": True, "flags": None,
                     "note": None if len(grp) == len(cw) else
                     f"{len(grp)} of {len(cw)} sectors measured"})
    return pd.concat([scores, sec, pd.DataFrame(rows)], ignore_index=True)


def _provenance(store, year: int, taxonomy, config: IndexConfig, industries: list[str],
                revenue: pd.DataFrame) -> dict:
    waves = store.waves(year=year)
    surveys = sorted({taxonomy.sector_of(i).survey for i in industries})
    qs = {s: load_questionnaire(s) for s in surveys}
    if industries:
        cw, cw_version, cw_source = load_consumption_weights(year)
    else:                               # a maturity-only year aggregates no sectors
        cw, cw_version, cw_source = {}, None, None
    return {
        "ncsi_version": __version__,
        "git_commit": _git_commit(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "built_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "taxonomy_version": taxonomy.version,
        "index_config_version": config.version,
        "consumption_weights": {"version": cw_version, "source": cw_source,
                                "weights": {k: float(v) for k, v in cw.items()}},
        "questionnaires": {s: {"version": q.version, "sha256": q.sha256, "model": q.model,
                               "model_sha256": q.model_spec().sha256,
                               "model_text": q.model_spec().text} for s, q in qs.items()},
        "revenue": {str(r.brand): float(r.revenue) for r in revenue.itertuples()}
        if not revenue.empty else {},
        "waves": json.loads(waves.to_json(orient="records", date_format="iso")),
        "revenue_sha256": hashlib.sha256(revenue.to_csv(index=False).encode()).hexdigest(),
    }


def publish_year(store, year: int, *, by: str | None = None, embargo_until=None) -> int:
    """Publish the year's draft (recording who published it and any embargo); the published
    release never changes afterwards."""
    return store.publish(year, by=by, embargo_until=embargo_until)
