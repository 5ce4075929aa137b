"""Loading the maturity survey, the enterprises' performance inputs and their brand links.

``ncsi ingest FILE --survey maturity --year Y`` reads a wave (CSV, XLSX, SAV or Parquet, header
row 1), validates every cell against the maturity questionnaire (levels 1–5, declared missing
codes, known regions, sizes and industries, positive design weights, unique enterprise ids) and
stores all of it or nothing. ``ncsi performance FILE --year Y`` and ``ncsi links FILE`` load the
grading inputs and the enterprise → brand links, validated by the store.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError
from .ingest import _fail, _where_zh, read_survey_file, refuse_published_year
from .maturity_instrument import load_maturity_questionnaire

__all__ = ["ingest_maturity_file", "load_performance_file", "load_links_file"]

RESPONDENT = ("enterprise_id", "region", "size", "industry", "weight")


@dataclass(frozen=True)
class _Registration:
    """What the store records of a questionnaire (the maturity instrument's sector)."""

    id: str
    version: str
    sector: str
    title_zh: str
    title_en: str
    path: Path
    sha256: str


def ingest_maturity_file(path: str | Path, year: int, store, *, replace: bool = False) -> dict:
    """Validate a maturity wave and store it; returns its report."""
    q = load_maturity_questionnaire()
    path = Path(path)
    raw = read_survey_file(path)
    missing = [c for c in RESPONDENT + tuple(q.item_codes) if c not in raw.columns]
    if missing:
        raise _fail(path, f"the maturity file lacks column(s) {', '.join(missing)}; use the "
                          f"questionnaire's columns (surveys/maturity/questionnaire.yaml)",
                    f"成熟度文件缺少列 {'、'.join(missing)}；请使用问卷规定的列"
                    f"（surveys/maturity/questionnaire.yaml）", column=missing[0])
    ids = raw["enterprise_id"].astype(str).str.strip()
    dup = ids.duplicated(keep="first")
    if dup.any():
        k = int(np.flatnonzero(dup.to_numpy())[0])
        first = int(np.flatnonzero((ids == ids.iloc[k]).to_numpy())[0]) + 2
        raise _fail(path, f"enterprise {ids.iloc[k]} appears more than once (rows {first} and "
                          f"{k + 2}); each enterprise answers once per wave — keep one row",
                    f"企业 {ids.iloc[k]} 出现多次（第 {first} 行和第 {k + 2} 行）；同一企业在一期调查中"
                    f"只能作答一次——请保留一行", row=first, column="enterprise_id")
    try:
        clean = q.clean(raw)
    except DataError as exc:
        raise _relocated(exc, path) from None
    clean["enterprise_id"] = clean["enterprise_id"].astype(str)
    report = {"n_rows": int(len(clean)),
              "n_missing_values": int(clean[list(q.item_codes)].isna().sum().sum()),
              "questionnaire_version": q.version}
    refuse_published_year(store, year, str(path), "maturity wave")
    store.register_survey(_Registration(q.id, q.version, "manufacturing", q.title_zh,
                                        q.title_en, Path(q.path), q.sha256))
    store.add_maturity_wave(
        survey_id=q.id, survey_version=q.version, year=int(year), source_file=str(path),
        source_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        responses=clean[list(RESPONDENT) + list(q.item_codes)], item_codes=list(q.item_codes),
        report=report, replace=replace)
    return report


def _relocated(exc: DataError, path: Path) -> DataError:
    """An error of the questionnaire's ``clean`` (which names the row and column, not the file)
    → the same error naming the file too, in both languages."""
    parts = ([f"row {exc.row}"] if exc.row is not None else []) + \
        ([f"column '{exc.column}'"] if exc.column is not None else [])
    message = exc.message
    if parts and message.startswith(", ".join(parts) + ": "):
        message = message[len(", ".join(parts)) + 2:]
    zh = exc.message_zh or message
    where_zh = _where_zh(None, exc.row, exc.column)
    if where_zh and zh.startswith(where_zh + "："):
        zh = zh[len(where_zh) + 1:]
    return _fail(path, message, zh, row=exc.row, column=exc.column)


def load_performance_file(path: str | Path, year: int, store) -> int:
    """Load one year's performance inputs (enterprise_id, certificate_valid, major_incident_2y,
    spot_check_pass_rate, quality_exposures_3y, credit_clean)."""
    df = read_survey_file(Path(path))
    if "year" not in df.columns:
        df.insert(0, "year", int(year))
    return store.load_performance(df, source=str(path))


def load_links_file(path: str | Path, store) -> int:
    """Load the enterprise → brand links (enterprise_id, brand)."""
    return store.load_links(read_survey_file(Path(path)), source=str(path))
