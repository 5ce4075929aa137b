"""Build a year's draft release from the stored responses, and publish it.

For every industry measured that year the industry's model (its sector questionnaire's model file)
is fitted by PLS on that industry's valid respondents, pooled across brands; every respondent is
scored 0–100 on every construct with that industry's rescaled raw-scale weights (methodology §2);
brand indices are survey-weighted means of respondent scores; industries are revenue-weighted means
of their brands (sample-size weights where revenue is missing, and the draft says so); sectors are
revenue-weighted means of their industries; the nation is the consumption-weighted mean of the
sectors (methodology §3).

An industry whose model fails (non-convergence, degenerate data) is left out with its reason in the
draft's issues; the others go on. Nothing is written unless the whole draft is written.
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
from .instruments import (load_consumption_weights, load_questionnaire, load_taxonomy)
from .pls import PLS
from .scoring import (SE_FORMULA, IndexConfig, aggregate, group_indices, index_weights,
                      industry_weights, respondent_scores)

SE_METHOD = SE_FORMULA + "; the industry's outer weights are held fixed"


@dataclass
class IndustryResult:
    industry: str
    sector: str
    survey_id: str
    status: str                      # "ok" | "failed"
    message: str = ""
    fit: dict = field(default_factory=dict)
    brand_scores: pd.DataFrame | None = None   # long: group(brand), construct, index, se, ci, n


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


def fit_industry(df: pd.DataFrame, *, industry: str, sector: str, survey_id: str,
                 config: IndexConfig, scheme: str = "path", scaled: bool = True
                 ) -> tuple[IndustryResult, list[dict]]:
    """Fit one industry's model on its cleaned responses and score its brands."""
    q = load_questionnaire(survey_id)
    spec = q.model_spec()
    issues: list[dict] = []
    clean = q.clean(df)
    try:
        res = PLS(spec, scheme=scheme, scaled=scaled).fit(clean[list(spec.indicators)])
    except NCSIError as exc:
        return IndustryResult(industry, sector, survey_id, "failed", exc.message), issues
    fit = {
        "industry": industry, "survey_id": survey_id, "model_name": spec.name,
        "model_sha256": spec.sha256, "n": int(res.n), "converged": bool(res.converged),
        "iterations": int(res.iterations), "settings": res.settings,
    }
    if not res.converged:
        msg = (f"industry {industry}: the PLS algorithm did not converge in "
               f"{res.iterations} iterations; the industry is left out of this draft")
        fit.update(status="failed", message=msg, result=res.to_dict())
        return IndustryResult(industry, sector, survey_id, "failed", msg, fit), issues
    weights, w_issues = index_weights(res.outer_weights, res.item_sd, scaled=scaled,
                                      policy=config.nonpositive_weight_policy)
    for issue in w_issues:
        issues.append({"industry": industry, "kind": "nonpositive_weight", **issue})
    items = clean[list(spec.indicators)]
    scores = respondent_scores(items, weights, scale_min=config.scale_min,
                               scale_max=config.scale_max)
    brands = group_indices(scores, clean["brand"], clean["weight"],
                           level=config.significance_level)
    result = res.to_dict()
    result["index_weights"] = {c: {i: float(v) for i, v in w.items()} for c, w in weights.items()}
    result["item_sd"] = {i: float(v) for i, v in res.item_sd.items()}
    result["item_mean"] = {i: float(v) for i, v in res.item_mean.items()}
    fit.update(status="ok", message="", result=result)
    return IndustryResult(industry, sector, survey_id, "ok", "", fit, brands), issues


def _children_frame(rows: pd.DataFrame) -> pd.DataFrame:
    return rows.set_index("code")[["index", "se"]]


def build_year(store, year: int, *, industries: list[str] | None = None, scheme: str = "path",
               scaled: bool = True, config: IndexConfig | None = None,
               progress: Callable[[str], None] | None = None) -> BuildSummary:
    """Fit every industry measured in ``year`` and store the draft release."""
    say = progress or (lambda _msg: None)
    config = config or IndexConfig.from_yaml()
    taxonomy = load_taxonomy()
    if store.release(year, status="published") is not None:
        raise ReleaseError(
            f"the {year} release is already published and never changes; a correction is a new "
            f"release of a later year, not a rebuild of {year}",
            message_zh=f"{year} 年版本已发布，永不更改；不能重新生成")
    responses = store.responses(year, valid_only=True)
    if responses.empty:
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

    issues: list[dict] = []
    fits: list[dict] = []
    rows: list[dict] = []
    ok: list[str] = []
    failed: dict[str, str] = {}
    industry_revenue: dict[str, float] = {}
    for code in measured:
        sector = taxonomy.sector_of(code)
        part = responses[responses["industry"] == code]
        result, fit_issues = fit_industry(part, industry=code, sector=sector.code,
                                          survey_id=sector.survey, config=config,
                                          scheme=scheme, scaled=scaled)
        issues.extend(fit_issues)
        if result.fit:
            fits.append(result.fit)
        if result.status != "ok":
            failed[code] = result.message
            issues.append({"industry": code, "kind": "industry_failed",
                           "message": result.message})
            if not result.fit:
                fits.append({"industry": code, "survey_id": sector.survey,
                             "model_name": load_questionnaire(sector.survey).model_spec().name,
                             "model_sha256": None, "status": "failed",
                             "message": result.message, "n": int(len(part)),
                             "converged": False, "iterations": 0, "settings": {},
                             "result": {}})
            say(f"[{year}] {code}: FAILED — {result.message}")
            continue
        ok.append(code)
        bs = result.brand_scores
        brand_n = bs.groupby("group")["n"].max()
        # brand rows
        for r in bs.itertuples(index=False):
            publishable = bool(r.n >= config.min_valid_n)
            rows.append({"level": "brand", "code": r.group, "parent": code,
                         "construct": r.construct, "index": r.index, "se": r.se,
                         "ci_low": r.ci_low, "ci_high": r.ci_high, "n": int(r.n),
                         "weight": np.nan, "weight_basis": None, "publishable": publishable,
                         "note": None if publishable else
                         f"n = {int(r.n)} valid interviews is below the floor of "
                         f"{config.min_valid_n}; not published"})
        # industry rows: revenue-weighted over the brands measured
        weights, basis, w_issues = industry_weights(list(brand_n.index), rev_by_brand, brand_n)
        for issue in w_issues:
            issues.append({"industry": code, "kind": "weight_fallback", **issue})
        industry_revenue[code] = float(rev_by_brand.reindex(brand_n.index).fillna(0).sum())
        brand_rows = {(r["code"], r["construct"]): r for r in rows
                      if r["level"] == "brand" and r["parent"] == code}
        for construct, grp in bs.groupby("construct", sort=False):
            agg = aggregate(grp.rename(columns={"group": "code"}).pipe(_children_frame),
                            weights, level=level)
            for brand, w in agg["weights"].items():
                brand_rows[(brand, construct)].update(weight=float(w), weight_basis=basis)
            rows.append({"level": "industry", "code": code, "parent": sector.code,
                         "construct": construct, "index": agg["index"], "se": agg["se"],
                         "ci_low": agg["ci_low"], "ci_high": agg["ci_high"],
                         "n": int(grp["n"].sum()), "weight": np.nan, "weight_basis": None,
                         "publishable": True, "note": None})
        sat = bs[bs["construct"] == config.index_construct]
        say(f"[{year}] {code}: n={result.fit['n']}, converged in {result.fit['iterations']} "
            f"iterations, {len(sat)} brands, {config.index_construct} "
            f"{_industry_value(rows, code, config)}")

    if not ok:
        raise ReleaseError(
            f"no industry of {year} could be estimated: "
            + "; ".join(f"{k}: {v}" for k, v in failed.items()),
            message_zh=f"{year} 年没有任何行业估计成功")

    scores = pd.DataFrame(rows)
    scores = _aggregate_up(scores, taxonomy, industry_revenue, year, level, issues)
    settings = {
        "estimator": "pls", "scheme": scheme, "scaled": scaled, "missing": "casewise",
        "scale": [config.scale_min, config.scale_max], "min_valid_n": config.min_valid_n,
        "significance_level": level, "nonpositive_weight_policy":
            config.nonpositive_weight_policy, "index_construct": config.index_construct,
        "se_method": SE_METHOD, "pooling": "per industry, pooled across brands",
    }
    provenance = _provenance(store, year, taxonomy, config, measured, revenue)
    release_id = store.save_draft(year, settings=settings, provenance=provenance, fits=fits,
                                  scores=scores, issues=issues)
    return BuildSummary(year, release_id, ok, failed, issues, scores)


def _fmt(x) -> str:
    return "NA" if x is None or not np.isfinite(x) else f"{x:.1f}"


def _industry_value(rows: list[dict], code: str, config: IndexConfig) -> str:
    for r in rows:
        if r["level"] == "industry" and r["code"] == code and r["construct"] == \
                config.index_construct:
            return _fmt(r["index"])
    return "NA"


def _aggregate_up(scores: pd.DataFrame, taxonomy, industry_revenue: dict[str, float], year: int,
                  level: float, issues: list[dict]) -> pd.DataFrame:
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
            sector_rows.append({"level": "sector", "code": sector.code, "parent": "nation",
                                "construct": construct, "index": agg["index"], "se": agg["se"],
                                "ci_low": agg["ci_low"], "ci_high": agg["ci_high"],
                                "n": int(grp["n"].sum()), "weight": np.nan,
                                "weight_basis": None, "publishable": True, "note": None})
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
        rows.append({"level": "nation", "code": "nation", "parent": None,
                     "construct": construct, "index": agg["index"], "se": agg["se"],
                     "ci_low": agg["ci_low"], "ci_high": agg["ci_high"],
                     "n": int(grp["n"].sum()), "weight": np.nan, "weight_basis": None,
                     "publishable": True, "note": None if len(grp) == len(cw) else
                     f"{len(grp)} of {len(cw)} sectors measured"})
    return pd.concat([scores, sec, pd.DataFrame(rows)], ignore_index=True)


def _provenance(store, year: int, taxonomy, config: IndexConfig, industries: list[str],
                revenue: pd.DataFrame) -> dict:
    waves = store.waves(year=year)
    surveys = sorted({taxonomy.sector_of(i).survey for i in industries})
    qs = {s: load_questionnaire(s) for s in surveys}
    _, cw_version, cw_source = load_consumption_weights(year)
    return {
        "ncsi_version": __version__,
        "git_commit": _git_commit(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "built_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "taxonomy_version": taxonomy.version,
        "index_config_version": config.version,
        "consumption_weights": {"version": cw_version, "source": cw_source},
        "questionnaires": {s: {"version": q.version, "sha256": q.sha256, "model": q.model,
                               "model_sha256": q.model_spec().sha256} for s, q in qs.items()},
        "waves": json.loads(waves.to_json(orient="records", date_format="iso")),
        "revenue_sha256": hashlib.sha256(revenue.to_csv(index=False).encode()).hexdigest(),
    }


def publish_year(store, year: int) -> int:
    """Publish the year's draft; the published release never changes afterwards."""
    return store.publish(year)
