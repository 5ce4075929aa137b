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

from .ingest import YEAR_RANGE, _fail, numeric_cells, read_survey_file
from .instruments import load_taxonomy

BRAND_COLUMNS = ("brand", "industry", "name_zh", "name_en")
REVENUE_COLUMNS = ("year", "brand", "revenue")


def _read(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    df = read_survey_file(path)
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise _fail(path, f"missing required column(s) {', '.join(missing)}; the file needs "
                          f"the columns {', '.join(required)} in its header row (row 1)",
                    f"缺少必需列 {'、'.join(missing)}；文件的表头（第 1 行）需要列 "
                    f"{'、'.join(required)}")
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
            raise _fail(path, f"empty {col}; every brand needs a code, an industry and names in "
                              f"Chinese and English — fill it in",
                        f"{col} 为空；每个品牌都需要代码、行业及中英文名称——请填写", row=k + 2,
                        column=col)
    for k, ind in enumerate(df["industry"]):
        if ind not in known:
            by_name = [i.code for i in taxonomy.industries if str(ind).strip() in (i.zh, i.en)]
            hint = f"use the code '{by_name[0]}'" if by_name else \
                "use an industry code of surveys/taxonomy.yaml"
            hint_zh = f"请使用代码“{by_name[0]}”" if by_name else \
                "请使用 surveys/taxonomy.yaml 中的行业代码"
            raise _fail(path, f"unknown industry '{ind}'; {hint} (known industries: "
                              f"{', '.join(sorted(known))})",
                        f"未知行业“{ind}”；{hint_zh}（已有行业：{'、'.join(sorted(known))}）",
                        row=k + 2, column="industry")
    dup = df["brand"].duplicated(keep="first")
    if dup.any():
        k = int(np.flatnonzero(dup.to_numpy())[0])
        code = df["brand"].iloc[k]
        rows = [int(np.flatnonzero((df["brand"] == code).to_numpy())[0]) + 2, k + 2]
        raise _fail(path, f"brand code '{code}' appears twice (rows {rows[0]} and {rows[1]}); "
                          f"brand codes must be unique — keep one row or correct the code",
                    f"品牌代码“{code}”出现两次（第 {rows[0]} 行和第 {rows[1]} 行）；品牌代码必须唯一"
                    f"——请保留一行或更正代码", row=rows[1], column="brand")
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
    odd = ~year.apply(float.is_integer) | (year < YEAR_RANGE[0]) | (year > YEAR_RANGE[1])
    if odd.any():
        k = int(np.flatnonzero(odd.to_numpy())[0])
        raise _fail(path, f"{year.iloc[k]:g} is not a year; write the year as four digits "
                          f"({YEAR_RANGE[0]}–{YEAR_RANGE[1]}), e.g. 2025",
                    f"{year.iloc[k]:g} 不是有效年份；请写四位数年份（{YEAR_RANGE[0]}–{YEAR_RANGE[1]}），"
                    f"如 2025", row=k + 2, column="year")
    neg = revenue < 0
    if neg.any():
        k = int(np.flatnonzero(neg.to_numpy())[0])
        raise _fail(path, f"negative revenue {revenue.iloc[k]:g}; revenue must be ≥ 0 (leave the "
                          f"brand out where it is unknown: sample-size weights are then used)",
                    f"营收为负数（{revenue.iloc[k]:g}）；营收必须 ≥ 0（未知时请删去该行，"
                    f"届时按样本量加权）", row=k + 2, column="revenue")
    out = pd.DataFrame({"year": year.astype(int), "brand": df["brand"].astype(str).str.strip(),
                        "revenue": revenue})
    dup = out.duplicated(["year", "brand"], keep="first")
    if dup.any():
        k = int(np.flatnonzero(dup.to_numpy())[0])
        same = (out["year"] == out["year"].iloc[k]) & (out["brand"] == out["brand"].iloc[k])
        first = int(np.flatnonzero(same.to_numpy())[0]) + 2
        raise _fail(path, f"brand '{out['brand'].iloc[k]}' has two revenue rows for "
                          f"{out['year'].iloc[k]} (rows {first} and {k + 2}); keep one",
                    f"品牌“{out['brand'].iloc[k]}”在 {out['year'].iloc[k]} 年有两行营收（第 {first} 行"
                    f"和第 {k + 2} 行）；同一品牌同一年只能有一行营收，请保留一行",
                    row=k + 2, column="brand")
    return out
