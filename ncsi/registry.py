"""Brand registry and revenue files: read and validated before the store sees them.

- brands file: ``brand, industry, name_zh, name_en[, is_demo]`` — one row per brand.
- revenue file: ``year, brand, revenue`` — revenue (million CNY) of a brand in a year; the weights
  of industry indices (methodology §3).
Errors name the file, row (header = row 1) and column, and say what to do.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import IngestError
from .ingest import numeric_cells, read_survey_file
from .instruments import load_taxonomy

BRAND_COLUMNS = ("brand", "industry", "name_zh", "name_en")
REVENUE_COLUMNS = ("year", "brand", "revenue")


def _read(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    df = read_survey_file(path)
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise IngestError(f"missing required column(s) {', '.join(missing)}; the file needs "
                          f"{', '.join(required)}", file=str(path),
                          message_zh=f"缺少必需列 {', '.join(missing)}")
    return df


def read_brands_file(path: Path) -> pd.DataFrame:
    path = Path(path)
    df = _read(path, BRAND_COLUMNS)
    taxonomy = load_taxonomy()
    known = {i.code for i in taxonomy.industries}
    for col in BRAND_COLUMNS:
        empty = df[col].astype("string").str.strip().fillna("") == ""
        if empty.any():
            k = int(np.flatnonzero(empty.to_numpy())[0])
            raise IngestError(f"empty {col}; every brand needs a code, an industry and names in "
                              f"Chinese and English", file=str(path), row=k + 2, column=col,
                              message_zh=f"{col} 为空；每个品牌都需要代码、行业及中英文名称")
    for k, ind in enumerate(df["industry"]):
        if ind not in known:
            raise IngestError(f"unknown industry '{ind}'; known industries: "
                              f"{', '.join(sorted(known))}", file=str(path), row=k + 2,
                              column="industry", message_zh=f"未知行业 '{ind}'")
    dup = df["brand"].duplicated(keep=False)
    if dup.any():
        rows = [int(r) + 2 for r in np.flatnonzero(dup.to_numpy())[:2]]
        raise IngestError(f"brand code '{df['brand'][dup].iloc[0]}' appears twice (rows "
                          f"{rows[0]} and {rows[1]}); brand codes must be unique",
                          file=str(path), row=rows[1], column="brand",
                          message_zh="品牌代码重复；品牌代码必须唯一")
    out = df[list(BRAND_COLUMNS)].copy()
    if "is_demo" in df.columns:
        out["is_demo"] = df["is_demo"].astype("string").str.strip().str.lower().isin(
            ["true", "1", "yes", "y"])
    else:
        out["is_demo"] = False
    return out


def read_revenue_file(path: Path) -> pd.DataFrame:
    path = Path(path)
    df = _read(path, REVENUE_COLUMNS)
    year = numeric_cells(df["year"], file=path, column="year", what="a year")
    revenue = numeric_cells(df["revenue"], file=path, column="revenue")
    neg = revenue < 0
    if neg.any():
        k = int(np.flatnonzero(neg.to_numpy())[0])
        raise IngestError(f"negative revenue {revenue.iloc[k]}; revenue must be ≥ 0 (leave the "
                          f"brand out where it is unknown: sample-size weights are then used)",
                          file=str(path), row=k + 2, column="revenue",
                          message_zh="营收为负数；营收必须 ≥ 0（未知时请删去该行）")
    out = pd.DataFrame({"year": year.astype(int), "brand": df["brand"].astype(str).str.strip(),
                        "revenue": revenue})
    dup = out.duplicated(["year", "brand"], keep=False)
    if dup.any():
        k = int(np.flatnonzero(dup.to_numpy())[1])
        raise IngestError(f"brand '{out['brand'].iloc[k]}' has two revenue rows for "
                          f"{out['year'].iloc[k]}; keep one", file=str(path), row=k + 2,
                          column="brand", message_zh="同一品牌同一年有两行营收；请保留一行")
    return out
