"""Reviewing releases before and after publishing: what a release holds, and how a draft differs
from the release published before it. Read-only; drafts included (unlike :mod:`ncsi.query`,
which shows the public only published, un-embargoed releases).

    describe_release(store, 2025, status="draft")   # → dict (JSON-ready): the `ncsi release show`
    diff_draft(store, 2025, construct="SAT")        # → ReleaseDiff: the `ncsi release diff`

No statistics here: values are read as stored and subtracted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ReleaseError

LEVELS = ("nation", "sector", "industry", "brand")

#: Provenance keys shown under "code" (the rest of the provenance is listed as it is).
CODE_KEYS = ("ncsi_version", "git_commit", "python", "numpy", "pandas", "built_at")
#: Provenance keys holding versions of configuration the numbers depend on.
VERSION_KEYS = ("taxonomy_version", "index_config_version", "consumption_weights",
                "revenue_sha256")
FIT_SUMMARY_KEYS = ("industry", "survey_id", "model_name", "model_sha256", "status", "message",
                    "n", "converged", "iterations")
WAVE_KEYS = ("id", "survey_id", "survey_version", "source_file", "source_sha256", "n_rows",
             "n_valid")


# --- helpers --------------------------------------------------------------------------------

def _iso(value: Any) -> str | None:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _plain(value: Any) -> Any:
    """JSON-ready copy (datetimes as ISO text, NaN as None, numpy scalars as Python)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (datetime, date, pd.Timestamp)):
        return _iso(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts and lists as {"a.b[0].c": leaf}; an empty dict or list is one leaf."""
    out: dict[str, Any] = {}
    if isinstance(value, dict) and value:
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(value, list) and value:
        for i, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{i}]"))
    else:
        out[prefix or "(value)"] = value
    return out


def _seeds(*documents: tuple[str, Any]) -> dict[str, Any]:
    """Every key naming a random seed ("seed", "bootstrap.seed", "seeds", ...) in the documents."""
    found: dict[str, Any] = {}
    for name, document in documents:
        for key, value in flatten(document, name).items():
            last = key.rsplit(".", 1)[-1].split("[", 1)[0].lower()
            if "seed" in last:
                found[key] = value
    return found


def _release_or_error(store, year: int, status: str) -> dict:
    release = store.release(year, status=status)
    if release is not None:
        return release
    other = "draft" if status == "published" else "published"
    exists = store.release(year, status=other) is not None
    if status == "draft":
        hint = (f"the {year} release is already published — show it without --draft"
                if exists else f"run `ncsi build --year {year}` first")
        hint_zh = (f"{year} 年版本已发布——去掉 --draft 查看" if exists
                   else f"请先运行 `ncsi build --year {year}`")
        raise ReleaseError(f"there is no draft release for {year}; {hint}",
                           message_zh=f"{year} 年没有草稿版本；{hint_zh}")
    hint = (f"there is a draft — add --draft to see it, or publish it with `ncsi publish "
            f"--year {year}`" if exists else f"build one with `ncsi build --year {year}`")
    hint_zh = ("有草稿——加 --draft 查看，或用 `ncsi publish` 发布" if exists
               else f"请先运行 `ncsi build --year {year}`")
    raise ReleaseError(f"there is no published release for {year}; {hint}",
                       message_zh=f"{year} 年没有已发布的版本；{hint_zh}")


# --- describe -------------------------------------------------------------------------------

def describe_release(store, year: int, status: str = "published") -> dict[str, Any]:
    """Everything `ncsi release show` prints, JSON-ready.

    Keys: year, status, id, created_at, published_at, published_by, embargo_until,
    content_sha256, verified (published: the content still hashes to content_sha256; draft:
    None), settings, code (version, commit, library versions, build time), questionnaires
    (survey → version, sha256, model, model_sha256), waves (id, survey, source file and sha256,
    rows), versions (taxonomy, index configuration, consumption weights, revenue hash), seeds
    (every seed in settings, provenance and the fits' settings; {} when none), provenance (all
    of it, as stored), issues, fits (industry, survey, model and its sha256, status, message,
    n, converged, iterations), score_rows (level → rows), flagged_score_rows (rows with flags).
    """
    release = _release_or_error(store, int(year), status)
    provenance = release.get("provenance") or {}
    settings = release.get("settings") or {}
    fits = store.release_fits(release["id"])
    scores = store.release_scores(release["id"])
    counts = scores["level"].value_counts() if not scores.empty else pd.Series(dtype=int)
    flagged = int(scores["flags"].map(lambda f: isinstance(f, dict)).sum()) \
        if "flags" in scores.columns and not scores.empty else 0
    waves = provenance.get("waves") or []
    out = {
        "year": int(release["year"]),
        "status": release["status"],
        "id": int(release["id"]),
        "created_at": _iso(release["created_at"]),
        "published_at": _iso(release["published_at"]),
        "published_by": release.get("published_by"),
        "embargo_until": _iso(release.get("embargo_until")),
        "content_sha256": release["content_sha256"],
        "verified": (store.verify_release(release["id"])
                     if release["status"] == "published" else None),
        "settings": settings,
        "code": {k: provenance.get(k) for k in CODE_KEYS if k in provenance},
        "questionnaires": provenance.get("questionnaires") or {},
        "waves": [{k: w.get(k) for k in WAVE_KEYS if k in w} for w in waves
                  if isinstance(w, dict)],
        "versions": {k: provenance.get(k) for k in VERSION_KEYS if k in provenance},
        "seeds": _seeds(("settings", settings), ("provenance", provenance),
                        *((f"fits[{f['industry']}].settings", f.get("settings") or {})
                          for f in fits)),
        "provenance": provenance,
        "issues": release.get("issues") or [],
        "fits": [{k: f.get(k) for k in FIT_SUMMARY_KEYS} for f in fits],
        "score_rows": {lvl: int(counts.get(lvl, 0)) for lvl in LEVELS},
        "flagged_score_rows": flagged,
    }
    return _plain(out)


# --- diff -----------------------------------------------------------------------------------

@dataclass
class ReleaseDiff:
    """A draft against the release published before it (see :func:`diff_draft`)."""

    year: int
    construct: str
    draft: dict            # release row of the draft
    base: dict             # release row of the published release compared with
    scores: pd.DataFrame   # level, code, parent, old, new, difference (see diff_draft)
    settings: list[dict]   # {key, old, new} for every settings key that differs
    provenance: list[dict]  # the same for the provenance

    def to_dict(self) -> dict[str, Any]:
        rows = self.scores.astype(object).where(self.scores.notna(), None)
        return _plain({
            "year": self.year, "construct": self.construct,
            "draft": {"year": self.draft["year"], "id": self.draft["id"],
                      "created_at": self.draft["created_at"]},
            "base": {"year": self.base["year"], "id": self.base["id"],
                     "published_at": self.base["published_at"],
                     "content_sha256": self.base["content_sha256"]},
            "scores": rows.to_dict(orient="records"),
            "settings": self.settings, "provenance": self.provenance,
        })


def _changed_keys(old: Any, new: Any) -> list[dict]:
    a, b = flatten(old or {}), flatten(new or {})
    keys = sorted(set(a) | set(b))
    return [{"key": k, "old": a.get(k), "new": b.get(k)} for k in keys
            if _plain(a.get(k)) != _plain(b.get(k))]


def _base_release(store, year: int) -> dict | None:
    """The published release of ``year``, else the latest published release of a year before."""
    own = store.release(year, status="published")
    if own is not None:
        return own
    releases = store.releases()
    earlier = releases[(releases["status"] == "published") & (releases["year"] < year)]
    if earlier.empty:
        return None
    return store.release(int(earlier["year"].max()), status="published")


def diff_draft(store, year: int, construct: str | None = None) -> ReleaseDiff:
    """The draft of ``year`` against the most recent published release: the published release
    of ``year`` if there is one, else the latest published year before ``year``.

    ``scores``: one row per (level, code) of ``construct`` (default: the draft's
    ``settings["index_construct"]``, else "SAT") in either release — level, code, parent, old
    (published index), new (draft index), difference (new − old; NaN when either is missing) —
    ordered nation, sector, industry, brand and within a level by |difference|, largest first,
    rows without a difference last. ``settings``/``provenance``: the keys (flattened, e.g.
    "questionnaires.ncsi-food.sha256") whose values differ.
    """
    year = int(year)
    draft = store.release(year, status="draft")
    if draft is None:
        published = store.release(year, status="published") is not None
        hint = (f"the {year} release is already published, so there is nothing to compare; "
                f"`ncsi release show --year {year}` shows it" if published
                else f"run `ncsi build --year {year}` first")
        hint_zh = (f"{year} 年版本已发布，没有可比较的草稿" if published
                   else f"请先运行 `ncsi build --year {year}`")
        raise ReleaseError(f"there is no draft release for {year} to compare; {hint}",
                           message_zh=f"{year} 年没有可比较的草稿版本；{hint_zh}")
    base = _base_release(store, year)
    if base is None:
        raise ReleaseError(
            f"nothing published to compare the {year} draft with: no release of {year} or an "
            f"earlier year is published yet; `ncsi release show --year {year} --draft` shows "
            f"the draft alone",
            message_zh=f"没有可与 {year} 年草稿比较的已发布版本（{year} 年及以前均未发布）；"
                       f"可用 `ncsi release show --year {year} --draft` 查看草稿")
    construct = construct or (draft.get("settings") or {}).get("index_construct") or "SAT"
    new = store.release_scores(draft["id"])
    old = store.release_scores(base["id"])
    new_c = new[new["construct"] == construct]
    old_c = old[old["construct"] == construct]
    if new_c.empty and old_c.empty:
        known = sorted(set(new["construct"]) | set(old["construct"]))
        raise ReleaseError(
            f"construct '{construct}' has no scores in the {year} draft or the {base['year']} "
            f"release; constructs: {', '.join(known) or 'none'}",
            message_zh=f"构念 '{construct}' 在 {year} 年草稿和 {base['year']} 年版本中都没有得分；"
                       f"可选构念：{'、'.join(known) or '无'}")
    key = ["level", "code"]
    merged = pd.merge(old_c[key + ["parent", "index"]].rename(columns={"index": "old"}),
                      new_c[key + ["parent", "index"]].rename(columns={"index": "new"}),
                      on=key, how="outer", suffixes=("_old", "_new"))
    merged["parent"] = merged["parent_new"].where(merged["parent_new"].notna(),
                                                  merged["parent_old"])
    merged["old"] = pd.to_numeric(merged["old"], errors="coerce").astype(float)
    merged["new"] = pd.to_numeric(merged["new"], errors="coerce").astype(float)
    merged["difference"] = merged["new"] - merged["old"]
    merged["_level"] = merged["level"].map({lvl: i for i, lvl in enumerate(LEVELS)})
    merged["_abs"] = merged["difference"].abs()
    merged = merged.sort_values(["_level", "_abs", "code"], ascending=[True, False, True],
                                na_position="last", kind="mergesort")
    scores = merged[["level", "code", "parent", "old", "new", "difference"]] \
        .reset_index(drop=True)
    return ReleaseDiff(year=year, construct=construct, draft=draft, base=base, scores=scores,
                       settings=_changed_keys(base.get("settings"), draft.get("settings")),
                       provenance=_changed_keys(base.get("provenance"),
                                                draft.get("provenance")))
