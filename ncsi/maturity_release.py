"""Maturity results and graded evaluations as parts of a year's release (methodology §7–8).

:func:`wave_results` turns one maturity wave (the enterprises' answers) into everything published
about it: per-enterprise scores, the national, regional, size-class and industry indices with
CIs and tests of their differences, the share of enterprises at each level, the CFA and the
reliabilities, and the change from the previous wave (only on the same instrument version).

:func:`grade_year` evaluates the graded-evaluation rulebook for the enterprises of a year from
their maturity total (the latest wave at most ``max_age`` years old), their performance inputs
and the satisfaction indices of their brands in the same release.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .maturity import enterprise_scores, level_shares, structure, subgroup_indices, weighted_index
from .scoring import change

__all__ = ["wave_results", "grade_year"]

DIMENSIONS = ("region", "size", "industry")


def _num(v):
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def wave_results(responses: pd.DataFrame, *, questionnaire, cutoffs, level: float,
                 previous: dict | None = None, version: str | None = None,
                 with_structure: bool = True) -> dict:
    """Everything published about one wave (JSON-ready). ``previous``: the previous wave's
    results (for the change), ``version``: this wave's questionnaire version."""
    q = questionnaire
    items = q.clean(responses[["enterprise_id", "region", "size", "industry", "weight"]
                              + list(q.item_codes)])
    cats = [(c.code, c.points, [i.code if hasattr(i, "code") else i for i in c.items])
            for c in q.categories]
    cuts = [(c.min, c.level) for c in cutoffs]
    scores = enterprise_scores(items[list(q.item_codes)], cats, cuts)
    w = items["weight"].astype(float)
    nat = weighted_index(scores["index"], w, level=level)
    out = {"year": None, "questionnaire_version": version or q.version, "n": int(len(items)),
           "n_scored": int(scores["index"].notna().sum()),
           "national": {k: (int(v) if k == "n" else _num(v)) for k, v in nat.items()}, "subgroups": {}, "tests": {},
           "level_shares": level_shares(scores["level"], w)}
    for dim in DIMENSIONS:
        table, test = subgroup_indices(scores["index"], w, items[dim], level=level)
        out["subgroups"][dim] = [{k: (v if k == "group" else int(v) if k == "n" else _num(v))
                                  for k, v in r.items()} for r in table.to_dict("records")]
        out["tests"][dim] = {"statistic": _num(test["statistic"]), "df": int(test["df"]),
                             "p": _num(test["p"])}
    cat_rows = []
    for c in q.categories:
        r = weighted_index(scores[c.code], w, level=level)
        cat_rows.append({"category": c.code, "points": float(c.points),
                         **{k: _num(v) for k, v in r.items()}})
    out["categories"] = cat_rows
    if with_structure:
        out["structure"] = structure(items[list(q.item_codes)], cats, scores)
    codes = [c for c, _, _ in cats]
    per_cat = scores[codes].to_numpy(dtype=float)
    out["enterprises"] = [
        {"enterprise_id": e, "region": r, "size": s, "industry": i,
         "total": _num(t), "index": _num(x), "level": None if pd.isna(lv) else int(lv),
         "categories": {c: _num(v) for c, v in zip(codes, row)}}
        for e, r, s, i, t, x, lv, row in zip(items["enterprise_id"], items["region"],
                                             items["size"], items["industry"], scores["total"],
                                             scores["index"], scores["level"], per_cat)]
    out["change"] = _changes(out, previous, level)
    return out


def _changes(cur: dict, prev: dict | None, level: float) -> dict | None:
    """Changes from the previous wave, nationally and per subgroup — only on the same
    instrument version (otherwise the reason is given)."""
    if prev is None:
        return None
    if prev.get("questionnaire_version") != cur.get("questionnaire_version"):
        return {"previous_year": prev.get("year"), "comparable": False,
                "reason": f"questionnaire version changed ({prev.get('questionnaire_version')} → "
                          f"{cur.get('questionnaire_version')}); no change is computed"}

    def one(a, b):
        c = change(a["index"], a["se"], b["index"], b["se"], level=level)
        return {"points": _num(c["points"]), "percent": _num(c["percent"]),
                "significant": c["significant"]}

    res = {"previous_year": prev.get("year"), "comparable": True,
           "national": one(cur["national"], prev["national"]), "subgroups": {}}
    for dim in DIMENSIONS:
        old = {r["group"]: r for r in prev["subgroups"].get(dim, [])}
        res["subgroups"][dim] = [{"group": r["group"], **one(r, old[r["group"]])}
                                 for r in cur["subgroups"].get(dim, []) if r["group"] in old
                                 and r["se"] is not None and old[r["group"]]["se"] is not None]
    return res


def grade_year(rulebook, *, enterprises: pd.DataFrame, performance: pd.DataFrame,
               links: pd.DataFrame, brand_sat: pd.Series, industry_sat: pd.Series,
               brand_industry: pd.Series) -> pd.DataFrame:
    """The rulebook's decision for every enterprise with a maturity total (see the module).

    ``enterprises``: enterprise_id, total; ``performance``: the year's inputs; ``links``:
    enterprise_id → brand; ``brand_sat``/``industry_sat``: the satisfaction indices of the
    year's release by brand and by industry; ``brand_industry``: brand → NCSI industry. An
    enterprise linked to several brands is graded on its brand with the most respondents'
    weight — here, the first in code order, recorded in the inputs.
    """
    from .grading import grade

    inp = enterprises[["enterprise_id", "total"]].rename(columns={"total": "maturity_total"})
    inp = inp.merge(performance, on="enterprise_id", how="left")
    link = links.sort_values(["enterprise_id", "brand"]).drop_duplicates("enterprise_id")
    inp = inp.merge(link, on="enterprise_id", how="left")
    inp["satisfaction"] = inp["brand"].map(brand_sat)
    inp["industry_satisfaction"] = inp["brand"].map(brand_industry).map(industry_sat)
    cols = ["enterprise_id", "maturity_total", "spot_check_pass_rate", "certificate_valid",
            "major_incident_2y", "quality_exposures_3y", "credit_clean", "satisfaction",
            "industry_satisfaction"]
    for c in cols:
        if c not in inp.columns:
            inp[c] = np.nan
    graded = grade(rulebook, inp[cols].astype(object).where(inp[cols].notna(), None))
    graded["brand"] = inp["brand"].to_numpy()
    return graded
