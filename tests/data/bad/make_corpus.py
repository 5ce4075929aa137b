"""Write the bad-input corpus of tests/data/bad/ and its MANIFEST.yaml — deterministically.

    .venv/bin/python tests/data/bad/make_corpus.py

Every file is derived from a small valid demo survey (``ncsi.demo_data.generate`` with seed
``SEED``; maturity cases from ``ncsi.maturity_demo.generate``) by one defect, so the file shows one
kind of bad input. Running it again gives byte-identical files (the timestamps Excel and SPSS
files carry are fixed). The manifest is written from the CASES table below, which is the one
place where a case's expected behaviour is stated:

- ``command``: the ``ncsi`` arguments; ``{file}`` is the corpus file, ``{fixture}`` the
  folder ``fixture/``, ``{tmp}`` a scratch folder of the test;
- ``outcome``: ``refused`` (non-zero exit, store unchanged), ``accepted`` (exit 0; the file is
  legitimately fine, with the note saying why) or ``reported_at_build`` (accepted at ingest,
  then the yearly build leaves the industry out of the draft and says why);
- ``step``: where it is caught (read, validate, registry, store, parse, model, estimate, build);
- ``en`` / ``zh``: fragments the English / Chinese message must contain (for
  ``reported_at_build``: the draft issue's ``message`` / ``message_zh``).

The test store (``tests/test_bad_input.py``) holds ``fixture/brands.csv``,
``fixture/revenue.csv`` and the 2024 food wave ``fixture/ncsi-food-2024.csv``, built and
published, so 2024 is a published year and 2025 is open.
"""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "fixture"
SEED = 2
INDUSTRIES = ["liquid_milk", "edible_oil", "sportswear"]
INGEST = ["ingest", "{file}", "--survey", "ncsi-food", "--year", "2025"]
BUILD = ["build", "--year", "2025", "--bootstrap", "0", "--permutations", "0"]
FIT = ["fit", "{fixture}/fit-data.csv", "--model", "{file}", "--json", "{tmp}/fit.json"]
ITEMS = ["IMAG1", "IMAG2", "IMAG3", "IMAG4", "EXPE1", "EXPE2", "EXPE3", "SAFE1", "SAFE2",
         "SAFE3", "QUAL1", "QUAL2", "QUAL3", "QUAL4", "VAL1", "VAL2", "SAT1", "SAT2", "SAT3",
         "COMP1", "COMP2", "LOY1", "LOY2", "LOY3"]

#: A valid model (models/ncsi-food.lav without comments); the model cases change one line.
MODEL = """\
IMAG =~ IMAG1 + IMAG2 + IMAG3 + IMAG4
EXPE =~ EXPE1 + EXPE2 + EXPE3
SAFE =~ SAFE1 + SAFE2 + SAFE3
QUAL =~ QUAL1 + QUAL2 + QUAL3 + QUAL4
VAL  =~ VAL1 + VAL2
SAT  =~ SAT1 + SAT2 + SAT3
COMP =~ COMP1 + COMP2
LOY  =~ LOY1 + LOY2 + LOY3

EXPE ~ IMAG
SAFE ~ IMAG
QUAL ~ IMAG + EXPE
VAL  ~ EXPE + QUAL
SAT  ~ IMAG + EXPE + QUAL + VAL + SAFE
COMP ~ SAT
LOY  ~ IMAG + SAT + COMP
"""


# ------------------------------------------------------------------------------------------------
# the valid material
# ------------------------------------------------------------------------------------------------

class Source:
    """The generated demo survey, read as text frames (cells exactly as written)."""

    def __init__(self, folder: Path):
        def read(rel: str) -> pd.DataFrame:
            return pd.read_csv(folder / rel, dtype=str, keep_default_na=False)
        self.brands = read("brands.csv")
        self.revenue = read("revenue.csv")
        self.food_2024 = read("responses/2024/ncsi-food.csv")
        self.food_2025 = read("responses/2025/ncsi-food.csv")
        self.apparel_2024 = read("responses/2024/ncsi-apparel.csv")

    def small(self) -> pd.DataFrame:
        """The 2025 food file, 3 respondents per brand (~50 rows, ~6 KB): most cases' base."""
        return self.food_2025.groupby("brand", sort=False).head(3).reset_index(drop=True)

    def medium(self) -> pd.DataFrame:
        """25 respondents per brand: enough for the yearly build to fit each industry."""
        return self.food_2025.groupby("brand", sort=False).head(25).reset_index(drop=True)


def csv_text(df: pd.DataFrame) -> str:
    return df.to_csv(index=False, lineterminator="\n")


def write_text(path: Path, text: str, encoding: str = "utf-8") -> None:
    path.write_bytes(text.encode(encoding))


def at(df: pd.DataFrame, row: int) -> int:
    """Spreadsheet row (header = row 1) → frame index."""
    return row - 2


# ------------------------------------------------------------------------------------------------
# the cases
# ------------------------------------------------------------------------------------------------

CASES: list[dict] = []


def case(file: str, what: str, *, command=INGEST, outcome: str = "refused", step: str,
         en: list[str], zh: list[str], note: str | None = None, then=None, exit: int | None = None,
         stored: dict | None = None):
    """Register a case; the decorated function writes ``file`` from the Source."""
    def register(make):
        entry = {"file": file, "what": what, "command": list(command), "outcome": outcome,
                 "step": step, "exit": exit if exit is not None else
                 (1 if outcome == "refused" else 0),
                 "en": en, "zh": zh}
        if then:
            entry["then"] = list(then)
        if note:
            entry["note"] = note
        if stored:
            entry["stored"] = stored
        CASES.append({"entry": entry, "make": make})
        return make
    return register


# -- file shape and encoding ----------------------------------------------------------------------

@case("empty.csv", "an empty file (0 bytes)", step="read",
      en=["empty.csv", "the file is empty (0 bytes)", "export the data again"],
      zh=["empty.csv", "文件为空（0 字节）", "请重新导出数据"])
def _(src, path):
    path.write_bytes(b"")


@case("blank_only.csv", "a file of blank lines only", step="read",
      en=["blank_only.csv", "no content", "export the data again"],
      zh=["blank_only.csv", "文件没有内容", "请重新导出数据"])
def _(src, path):
    path.write_bytes(b"\n   \n\n")


@case("header_only.csv", "the header row and no data rows", step="read",
      en=["header_only.csv", "header row but no data rows", "export the responses too"],
      zh=["header_only.csv", "只有表头，没有数据行", "请一并导出答卷数据"])
def _(src, path):
    write_text(path, ",".join(src.food_2025.columns) + "\n")


@case("semicolon_delimited.csv", "columns separated by semicolons (European Excel export)",
      step="read",
      en=["semicolon_delimited.csv", "row 1", "separated by semicolons", "Save As → CSV UTF-8"],
      zh=["semicolon_delimited.csv", "第 1 行", "分号", "另存为逗号分隔的 CSV"])
def _(src, path):
    write_text(path, src.small().to_csv(index=False, sep=";", lineterminator="\n"))


@case("tab_delimited.csv", "a tab-separated file named .csv", step="read",
      en=["tab_delimited.csv", "row 1", "separated by tabs", "comma-separated CSV"],
      zh=["tab_delimited.csv", "第 1 行", "制表符", "另存为逗号分隔的 CSV"])
def _(src, path):
    write_text(path, src.small().to_csv(index=False, sep="\t", lineterminator="\n"))


@case("gbk_undeclared.csv", "GBK-encoded (no declaration), Chinese text in the gender column",
      outcome="accepted", step="read",
      note="CSV has no place to declare an encoding; NCSI decodes strict UTF-8 first, then "
           "GB18030 (a superset of GBK), so a GBK export from Chinese Excel is read correctly "
           "— the stored genders are 男/女, not mojibake",
      en=["gbk_undeclared.csv", "rows stored as ncsi-food 2025"], zh=["已导入"],
      stored={"gender": ["女", "男"]})
def _(src, path):
    df = src.small()
    df["gender"] = np.where(df["gender"] == "male", "男", "女")
    write_text(path, csv_text(df), "gbk")


@case("gbk_industry_names.csv", "GBK-encoded, industry given by its Chinese name, not its code",
      step="validate",
      en=["gbk_industry_names.csv", "row 2", "column 'industry'", "'液态奶' is not in the taxonomy",
          "use the code 'liquid_milk'", "Fix the file and ingest it again; nothing was stored"],
      zh=["gbk_industry_names.csv", "第 2 行", "列“industry”", "请使用代码“liquid_milk”",
          "未写入任何数据"])
def _(src, path):
    df = src.small()
    df["industry"] = df["industry"].map({"liquid_milk": "液态奶", "edible_oil": "食用油"})
    write_text(path, csv_text(df), "gbk")


@case("utf8_bom.csv", "UTF-8 with a byte-order mark (Excel's 'CSV UTF-8')", outcome="accepted",
      step="read",
      note="the BOM is Excel's normal 'CSV UTF-8' output; it is removed before the header is "
           "read, so 'respondent_id' is found",
      en=["utf8_bom.csv", "rows stored as ncsi-food 2025"], zh=["已导入"])
def _(src, path):
    path.write_bytes(b"\xef\xbb\xbf" + csv_text(src.small()).encode("utf-8"))


@case("excel_merged_header.xlsx",
      "Excel: two header rows (construct groups merged across their items over the item codes) "
      "and a second sheet of code labels", step="read",
      en=["excel_merged_header.xlsx", "row 1", "merged", "IMAG", "one header row",
          "unmerge"],
      zh=["excel_merged_header.xlsx", "第 1 行", "合并", "取消合并"])
def _(src, path):
    import openpyxl
    df = src.small()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "responses"
    cols = list(df.columns)
    groups: list[tuple[str, int, int]] = []        # (label, first col, last col), 1-based
    for k, c in enumerate(cols, start=1):
        label = c.rstrip("0123456789") if c in ITEMS else "respondent"
        if groups and groups[-1][0] == label:
            groups[-1] = (label, groups[-1][1], k)
        else:
            groups.append((label, k, k))
    for label, a, b in groups:
        ws.cell(row=1, column=a, value=label)
        if b > a:
            ws.merge_cells(start_row=1, start_column=a, end_row=1, end_column=b)
    ws.append(cols)
    for rec in df.itertuples(index=False):
        ws.append([int(v) if v.isdigit() else v for v in rec])
    codes = wb.create_sheet("codes")
    codes.append(["code", "meaning"])
    for k, v in ((98, "refused / 拒答"), (99, "don't know / 不知道")):
        codes.append([k, v])
    _save_xlsx(wb, path)


@case("excel_data_on_second_sheet.xlsx",
      "Excel: a notes sheet first, the responses on the second sheet", step="validate",
      en=["excel_data_on_second_sheet.xlsx", "row 1",
          "none of the 32 columns of questionnaire ncsi-food",
          "holds 'note'", "only the first",
          "'responses'", "move the data sheet to the front"],
      zh=["excel_data_on_second_sheet.xlsx", "缺少必需列", "只读取第一个工作表", "“responses”"])
def _(src, path):
    import openpyxl
    df = src.small()
    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "notes"
    notes.append(["note"])
    notes.append(["NCSI 2025 food wave, exported from the fieldwork system"])
    notes.append(["codes 98 = refused, 99 = don't know"])
    data = wb.create_sheet("responses")
    data.append(list(df.columns))
    for rec in df.itertuples(index=False):
        data.append([int(v) if v.isdigit() else v for v in rec])
    _save_xlsx(wb, path)


def _save_xlsx(wb, path: Path) -> None:
    """Save with fixed timestamps (document properties and zip entries): same bytes every run."""
    import datetime
    import zipfile
    when = datetime.datetime(2025, 1, 1)
    wb.properties.created = when
    wb.properties.modified = when
    buf = io.BytesIO()
    wb.save(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2025, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":       # openpyxl stamps "modified" on save
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2025-01-01T00:00:00Z",
                              data)
            dst.writestr(fixed, data)
    path.write_bytes(out.getvalue())


def _fix_sav_time(path: Path) -> None:
    """pyreadstat stamps the file header with today's date and time (bytes 92–108): fix them."""
    raw = bytearray(path.read_bytes())
    assert raw[:4] in (b"$FL2", b"$FL3"), raw[:4]
    raw[92:109] = b"01 Jan 2500:00:00"
    path.write_bytes(bytes(raw))


@case("spss_value_labels.sav",
      "SPSS exported with value labels instead of codes (the items hold label text)",
      step="validate",
      en=["spss_value_labels.sav", "row 2", "column 'IMAG1'", "is not a number",
          "value labels", "export the codes"],
      zh=["spss_value_labels.sav", "第 2 行", "列“IMAG1”", "不是数字", "值标签", "导出代码"])
def _(src, path):
    import pyreadstat
    df = src.small()
    words = {str(k): f"{k} points" for k in range(1, 11)}
    words.update({"1": "very dissatisfied", "10": "very satisfied", "98": "refused",
                  "99": "don't know", "": ""})
    out = _typed(df)
    for c in ITEMS:
        out[c] = df[c].map(words)
    pyreadstat.write_sav(out, str(path))
    _fix_sav_time(path)


@case("spss_labelled_codes.sav",
      "SPSS with value labels attached to numeric codes (98/99 declared user-missing)",
      outcome="accepted", step="read",
      note="the labels are metadata; NCSI reads the codes (apply_value_formats=False) and keeps "
           "98/99 as their codes, so a well-formed SPSS file ingests as is",
      en=["spss_labelled_codes.sav", "rows stored as ncsi-food 2025"], zh=["已导入"])
def _(src, path):
    import pyreadstat
    out = _typed(src.small())
    labels = {float(k): f"{k}" for k in range(1, 11)}
    labels.update({1.0: "very dissatisfied", 10.0: "very satisfied", 98.0: "refused",
                   99.0: "don't know"})
    pyreadstat.write_sav(out, str(path), variable_value_labels={c: labels for c in ITEMS},
                         missing_ranges={c: [98, 99] for c in ITEMS})
    _fix_sav_time(path)


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """Text frame → numbers where the questionnaire has numbers (as SPSS would hold them)."""
    out = df.copy()
    for c in ["age", "weight", "duration_sec"] + ITEMS:
        out[c] = pd.to_numeric(df[c].replace("", np.nan), errors="coerce").astype(float)
    return out


@case("parquet_half_point.parquet", "Parquet: an item holds 7.5 (a mean imputed upstream)",
      step="validate",
      en=["parquet_half_point.parquet", "row 6", "column 'QUAL3'", "7.5 is not a whole number",
          "nothing was stored"],
      zh=["parquet_half_point.parquet", "第 6 行", "列“QUAL3”", "7.5 不是整数", "未写入任何数据"])
def _(src, path):
    out = _typed(src.small())
    out.loc[at(out, 6), "QUAL3"] = 7.5
    out.to_parquet(path, index=False)


@case("old_excel.xls", "an Excel 97–2003 .xls file", step="read",
      en=["old_excel.xls", "unsupported file type '.xls'", "save it as .xlsx"],
      zh=["old_excel.xls", "不支持的文件类型", "请另存为 .xlsx"])
def _(src, path):
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))


@case("unclosed_quote.csv", "a quote opened and never closed", step="read",
      en=["unclosed_quote.csv", "row 5", "never closed", "fix the quoting"],
      zh=["unclosed_quote.csv", "第 5 行", "没有闭合", "请修正引号"])
def _(src, path):
    lines = csv_text(src.small()).splitlines(keepends=True)
    lines[4] = lines[4].replace(",", ',"', 1)
    write_text(path, "".join(lines))


@case("ragged_row.csv", "a row with one field too many (an unquoted comma)", step="read",
      en=["ragged_row.csv", "row 8", "33 fields but the header has 32", "unquoted comma"],
      zh=["ragged_row.csv", "第 8 行", "未加引号的逗号"])
def _(src, path):
    lines = csv_text(src.small()).splitlines(keepends=True)
    lines[7] = lines[7].replace(",", ",x,", 1)
    write_text(path, "".join(lines))


@case("unnamed_column.csv", "a column with data but no name in the header", step="read",
      en=["unnamed_column.csv", "row 1", "column 33 (AG) has no name",
          "give it a name or delete it"],
      zh=["unnamed_column.csv", "第 1 行", "第 33 列（AG）", "请命名或删除该列"])
def _(src, path):
    df = src.small()
    df[""] = "x"
    write_text(path, csv_text(df))


@case("duplicate_column.csv", "the same column name twice", step="read",
      en=["duplicate_column.csv", "row 1", "column 'SAT2'", "appears twice", "must be unique"],
      zh=["duplicate_column.csv", "第 1 行", "列“SAT2”", "出现两次", "列名必须唯一"])
def _(src, path):
    df = src.small()
    text = csv_text(df).replace("SAT3", "SAT2", 1)
    write_text(path, text)


@case("title_row.csv", "a title line above the header", step="read",
      en=["title_row.csv", "row 1", "title", "delete the rows above the header"],
      zh=["title_row.csv", "第 1 行", "标题", "请删除表头上方的行"])
def _(src, path):
    write_text(path, "NCSI 2025 food wave export\n" + csv_text(src.small()))


@case("empty_row.csv", "an empty row between the respondents", step="validate",
      en=["empty_row.csv", "row 9", "the row is empty; delete it", "nothing was stored"],
      zh=["empty_row.csv", "第 9 行", "该行为空；请删除", "未写入任何数据"])
def _(src, path):
    df = src.small()
    blank = pd.DataFrame([[""] * df.shape[1]], columns=df.columns)
    df = pd.concat([df.iloc[:7], blank, df.iloc[7:]], ignore_index=True)
    write_text(path, csv_text(df))


# -- cells ----------------------------------------------------------------------------------------

@case("mixed_types_item.csv", "text, a decimal and a full-width digit in one item column",
      step="validate",
      en=["mixed_types_item.csv", "row 4", "column 'QUAL2'", "'seven' is not a number",
          "whole numbers 1–10", "Also: not a whole number ×1 (first: row 7, column 'QUAL2')"],
      zh=["mixed_types_item.csv", "第 4 行", "列“QUAL2”", "“seven”不是数字", "不是整数 1 处"],
      note="the full-width digit '８' (row 10) is accepted: NFKC turns it into 8")
def _(src, path):
    df = src.small()
    df.loc[at(df, 4), "QUAL2"] = "seven"
    df.loc[at(df, 7), "QUAL2"] = "6.5"
    df.loc[at(df, 10), "QUAL2"] = "８"
    write_text(path, csv_text(df))


@case("out_of_range_item.csv", "answers 11 and 0 on a 1–10 scale", step="validate",
      en=["out_of_range_item.csv", "row 3", "column 'SAT1'", "11 is outside the scale 1–10",
          "1 other cell(s) have the same problem (row 12, column 'LOY2')"],
      zh=["out_of_range_item.csv", "第 3 行", "列“SAT1”", "超出量表范围 1–10", "第 12 行"])
def _(src, path):
    df = src.small()
    df.loc[at(df, 3), "SAT1"] = "11"
    df.loc[at(df, 12), "LOY2"] = "0"
    write_text(path, csv_text(df))


@case("undeclared_missing_code.csv", "missing codes 97 and -9, which the questionnaire does "
      "not declare", step="validate",
      en=["undeclared_missing_code.csv", "row 5", "column 'VAL1'",
          "97 is not a declared missing-value code", "98 (refused), 99 (don't know)",
          "recode it to one of those or leave the cell empty"],
      zh=["undeclared_missing_code.csv", "第 5 行", "列“VAL1”", "不是问卷 ncsi-food 声明的缺失值代码",
          "请改为已声明的代码或留空"])
def _(src, path):
    df = src.small()
    df.loc[at(df, 5), "VAL1"] = "97"
    df.loc[at(df, 11), "VAL2"] = "-9"
    write_text(path, csv_text(df))


@case("missing_required_columns.csv", "the weight and QUAL2 columns left out of the export",
      step="validate",
      en=["missing_required_columns.csv", "row 1", "missing required column(s) weight, QUAL2",
          "questionnaire ncsi-food expects the columns"],
      zh=["missing_required_columns.csv", "第 1 行", "缺少必需列 weight、QUAL2", "问卷 ncsi-food 需要的列"])
def _(src, path):
    write_text(path, csv_text(src.small().drop(columns=["weight", "QUAL2"])))


@case("column_name_case.csv", "an item column in lower case (sat1)", step="validate",
      en=["column_name_case.csv", "missing required column(s) SAT1", "'sat1' should be 'SAT1'",
          "case-sensitive"],
      zh=["column_name_case.csv", "缺少必需列 SAT1", "“sat1”应为“SAT1”", "区分大小写"])
def _(src, path):
    write_text(path, csv_text(src.small().rename(columns={"SAT1": "sat1"})))


@case("bad_weight.csv", "survey weights 0 and negative", step="validate",
      en=["bad_weight.csv", "row 6", "column 'weight'", "0 is not allowed",
          "must be a finite number greater than 0"],
      zh=["bad_weight.csv", "第 6 行", "列“weight”", "必须是有限数值，大于 0"])
def _(src, path):
    df = src.small()
    df.loc[at(df, 6), "weight"] = "0"
    df.loc[at(df, 9), "weight"] = "-1.2"
    write_text(path, csv_text(df))


@case("bad_age.csv", "an age of 250 and an age written in words", step="validate",
      en=["bad_age.csv", "row 3", "column 'age'", "'forty' is not a number",
          "whole number at least 15 and at most 100", "Also: value outside its allowed range ×1"],
      zh=["bad_age.csv", "第 3 行", "列“age”", "“forty”不是数字", "取值超出允许范围 1 处"])
def _(src, path):
    df = src.small()
    df.loc[at(df, 3), "age"] = "forty"
    df.loc[at(df, 8), "age"] = "250"
    write_text(path, csv_text(df))


@case("empty_respondent_id.csv", "a respondent without an id", step="validate",
      en=["empty_respondent_id.csv", "row 4", "column 'respondent_id'",
          "respondent_id is empty; every respondent needs a respondent ID"],
      zh=["empty_respondent_id.csv", "第 4 行", "列“respondent_id”", "respondent_id 为空"])
def _(src, path):
    df = src.small()
    df.loc[at(df, 4), "respondent_id"] = ""
    write_text(path, csv_text(df))


@case("duplicate_respondent_ids.csv", "the same respondent_id on two rows", step="validate",
      en=["duplicate_respondent_ids.csv", "row 9", "column 'respondent_id'",
          "appears twice: rows 3 and 9",
          "every respondent needs a unique id"],
      zh=["duplicate_respondent_ids.csv", "第 9 行", "出现两次：第 3 行和第 9 行", "每位受访者的编号必须唯一"])
def _(src, path):
    df = src.small()
    df.loc[at(df, 9), "respondent_id"] = df.loc[at(df, 3), "respondent_id"]
    write_text(path, csv_text(df))


# -- registry -------------------------------------------------------------------------------------

@case("unknown_industry.csv", "an industry code that is not in the taxonomy", step="validate",
      en=["unknown_industry.csv", "row 5", "column 'industry'", "'dairy' is not in the taxonomy",
          "the industries of sector food are: liquid_milk, edible_oil, bottled_water"],
      zh=["unknown_industry.csv", "第 5 行", "列“industry”", "行业“dairy”不在行业分类中"])
def _(src, path):
    df = src.small()
    df.loc[at(df, 5), "industry"] = "dairy"
    write_text(path, csv_text(df))


@case("industry_of_other_sector.csv", "sportswear rows in the food file", step="validate",
      en=["industry_of_other_sector.csv", "row 2", "column 'industry'", "belongs to sector apparel",
          "ingest those rows with --survey ncsi-apparel"],
      zh=["industry_of_other_sector.csv", "第 2 行", "请用 --survey ncsi-apparel 导入这些行"])
def _(src, path):
    df = src.small()
    df.loc[at(df, 2), "industry"] = "sportswear"
    write_text(path, csv_text(df))


@case("unknown_brand.csv", "a brand code that was never registered", step="validate",
      en=["unknown_brand.csv", "row 7", "column 'brand'",
          "brand 'milk_b99' is not registered for industry liquid_milk",
          "register it first (ncsi brands FILE) or correct the code"],
      zh=["unknown_brand.csv", "第 7 行", "列“brand”", "品牌“milk_b99”未在行业 liquid_milk 登记",
          "请先登记品牌"])
def _(src, path):
    df = src.small()
    k = at(df, 7)
    assert df.loc[k, "industry"] == "liquid_milk"
    df.loc[k, "brand"] = "milk_b99"
    write_text(path, csv_text(df))


@case("brand_of_other_industry.csv", "an edible-oil brand under liquid milk", step="validate",
      en=["brand_of_other_industry.csv", "row 2", "column 'brand'",
          "is registered for industry edible_oil, not liquid_milk",
          "correct the brand or the industry of the row"],
      zh=["brand_of_other_industry.csv", "第 2 行", "登记在行业 edible_oil，而不是 liquid_milk",
          "请更正该行的品牌或行业"])
def _(src, path):
    df = src.small()
    oil = df.loc[df["industry"] == "edible_oil", "brand"].iloc[0]
    assert df.loc[at(df, 2), "industry"] == "liquid_milk"
    df.loc[at(df, 2), "brand"] = oil
    write_text(path, csv_text(df))


# -- whole-column statistics -----------------------------------------------------------------------

@case("constant_item.csv", "an item answered 7 by everybody in the file", step="validate",
      en=["constant_item.csv", "column 'IMAG2'", "item IMAG2 is 7 in every answered row",
          "no variance", "check the export or the column"],
      zh=["constant_item.csv", "列“IMAG2”", "题目 IMAG2 在所有作答行中都是 7", "请检查导出的数据"])
def _(src, path):
    df = src.small()
    df.loc[df["IMAG2"] != "", "IMAG2"] = "7"
    write_text(path, csv_text(df))


@case("constant_item_one_industry.csv", "an item answered 7 by everybody in liquid milk only",
      outcome="reported_at_build", step="build", then=BUILD,
      note="within the file the item varies (edible oil answers it normally), so the file is "
           "valid; the degeneracy belongs to one estimation unit and is found when that unit is "
           "fitted: the build leaves liquid_milk out of the draft, says why, and fits edible_oil",
      en=["liquid_milk", "left out of this draft", "IMAG2", "same value (7)"],
      zh=["liquid_milk", "未纳入本草稿", "IMAG2", "方差为零"])
def _(src, path):
    df = src.medium()
    milk = (df["industry"] == "liquid_milk") & (df["IMAG2"] != "")
    df.loc[milk, "IMAG2"] = "7"
    write_text(path, csv_text(df))


@case("all_missing_item.csv", "an item nobody answered (every cell empty or 99)",
      step="validate",
      en=["all_missing_item.csv", "column 'SAFE3'", "item SAFE3 has no answer in any row",
          "check the export or the column"],
      zh=["all_missing_item.csv", "列“SAFE3”", "题目 SAFE3 在所有行中都没有有效回答"])
def _(src, path):
    df = src.small()
    df["SAFE3"] = np.where(np.arange(len(df)) % 2 == 0, "", "99")
    write_text(path, csv_text(df))


@case("all_missing_item_one_industry.csv", "an item nobody in liquid milk answered",
      outcome="reported_at_build", step="build", then=BUILD,
      note="other industries answered it, so the file is valid; the liquid-milk unit cannot be "
           "estimated, and the build leaves it out of the draft and says why",
      en=["liquid_milk", "left out of this draft", "SAFE3", "every row is missing"],
      zh=["liquid_milk", "未纳入本草稿", "SAFE3", "全部缺失"])
def _(src, path):
    df = src.medium()
    milk = df["industry"] == "liquid_milk"
    df.loc[milk, "SAFE3"] = np.where(np.arange(milk.sum()) % 2 == 0, "", "99")
    write_text(path, csv_text(df))


# -- the store ------------------------------------------------------------------------------------

@case("published_year.csv", "a valid food wave for 2024, whose release is published",
      command=["ingest", "{file}", "--survey", "ncsi-food", "--year", "2024", "--replace"],
      step="store",
      en=["published_year.csv", "the 2024 release is already published",
          "published releases never change", "ingest it under the year it belongs to"],
      zh=["published_year.csv", "2024 年版本已发布", "已发布的版本永不更改"])
def _(src, path):
    write_text(path, csv_text(src.small()))


@case("published_year_new_survey.csv",
      "a valid apparel wave for 2024 (published), whose questionnaire the store has not seen",
      command=["ingest", "{file}", "--survey", "ncsi-apparel", "--year", "2024"], step="store",
      en=["published_year_new_survey.csv", "the 2024 release is already published"],
      zh=["published_year_new_survey.csv", "2024 年版本已发布"],
      note="the questionnaire ncsi-apparel must not be registered either: nothing is written")
def _(src, path):
    write_text(path, csv_text(src.apparel_2024.groupby("brand", sort=False).head(3)))


@case("year_not_a_year.csv", "a valid file ingested with --year 25", step="validate",
      command=["ingest", "{file}", "--survey", "ncsi-food", "--year", "25"],
      en=["year_not_a_year.csv", "year 25 is not a survey year (1990–2100)", "e.g. 2025"],
      zh=["year_not_a_year.csv", "年份 25 不是有效的调查年份"])
def _(src, path):
    write_text(path, csv_text(src.small()))


# -- brand registry and revenue ------------------------------------------------------------------

@case("brands_unknown_industry.csv", "a brand in an industry the taxonomy does not have",
      command=["brands", "{file}"], step="registry",
      en=["brands_unknown_industry.csv", "row 4", "column 'industry'", "unknown industry 'dairy'",
          "surveys/taxonomy.yaml"],
      zh=["brands_unknown_industry.csv", "第 4 行", "列“industry”", "未知行业“dairy”"])
def _(src, path):
    df = src.brands.copy()
    df.loc[at(df, 4), "industry"] = "dairy"
    write_text(path, csv_text(df))


@case("brands_duplicate_code.csv", "the same brand code twice", command=["brands", "{file}"],
      step="registry",
      en=["brands_duplicate_code.csv", "row 6", "column 'brand'", "appears twice (rows 3 and 6)",
          "brand codes must be unique"],
      zh=["brands_duplicate_code.csv", "第 6 行", "列“brand”", "第 3 行和第 6 行", "品牌代码必须唯一"])
def _(src, path):
    df = src.brands.copy()
    df.loc[at(df, 6), "brand"] = df.loc[at(df, 3), "brand"]
    write_text(path, csv_text(df))


@case("brands_missing_column.csv", "the brands file without name_en", command=["brands", "{file}"],
      step="registry",
      en=["brands_missing_column.csv", "header row (row 1)", "missing required column(s) name_en",
          "the file needs the columns brand, industry, name_zh, name_en"],
      zh=["brands_missing_column.csv", "第 1 行", "缺少必需列 name_en"])
def _(src, path):
    write_text(path, csv_text(src.brands.drop(columns=["name_en"])))


@case("brands_empty_name.csv", "a brand without its Chinese name", command=["brands", "{file}"],
      step="registry",
      en=["brands_empty_name.csv", "row 5", "column 'name_zh'", "empty name_zh",
          "names in Chinese and English"],
      zh=["brands_empty_name.csv", "第 5 行", "列“name_zh”", "name_zh 为空"])
def _(src, path):
    df = src.brands.copy()
    df.loc[at(df, 5), "name_zh"] = ""
    write_text(path, csv_text(df))


@case("revenue_negative.csv", "a negative revenue", command=["revenue", "{file}"],
      step="registry",
      en=["revenue_negative.csv", "row 3", "column 'revenue'", "negative revenue -120.5",
          "must be ≥ 0", "leave the brand out"],
      zh=["revenue_negative.csv", "第 3 行", "列“revenue”", "营收为负数"])
def _(src, path):
    df = src.revenue.copy()
    df.loc[at(df, 3), "revenue"] = "-120.5"
    write_text(path, csv_text(df))


@case("revenue_missing.csv", "an empty revenue cell", command=["revenue", "{file}"],
      step="registry",
      en=["revenue_missing.csv", "row 4", "column 'revenue'", "the cell is empty",
          "delete the row"],
      zh=["revenue_missing.csv", "第 4 行", "列“revenue”", "单元格为空", "删去该行"])
def _(src, path):
    df = src.revenue.copy()
    df.loc[at(df, 4), "revenue"] = ""
    write_text(path, csv_text(df))


@case("revenue_unknown_brand.csv", "revenue of a brand that is not registered",
      command=["revenue", "{file}"], step="store",
      en=["revenue_unknown_brand.csv", "row 5", "column 'brand'",
          "brand 'milk_b99' is not a known brand",
          "load it with the brands list first"],
      zh=["revenue_unknown_brand.csv", "milk_b99"])
def _(src, path):
    df = src.revenue.copy()
    df.loc[at(df, 5), "brand"] = "milk_b99"
    write_text(path, csv_text(df))


@case("revenue_duplicate.csv", "two revenue rows for one brand and year",
      command=["revenue", "{file}"], step="registry",
      en=["revenue_duplicate.csv", "row 7", "column 'brand'", "has two revenue rows for",
          "keep one"],
      zh=["revenue_duplicate.csv", "第 7 行", "列“brand”", "第 2 行和第 7 行",
          "同一品牌同一年只能有一行营收"])
def _(src, path):
    df = src.revenue.copy()
    df.loc[at(df, 7), ["year", "brand"]] = df.loc[at(df, 2), ["year", "brand"]].to_numpy()
    write_text(path, csv_text(df))


@case("revenue_bad_year.csv", "a year written as '2025年'", command=["revenue", "{file}"],
      step="registry",
      en=["revenue_bad_year.csv", "row 2", "column 'year'", "'2025年' is not a year"],
      zh=["revenue_bad_year.csv", "第 2 行", "列“year”", "“2025年”不是有效的年份"])
def _(src, path):
    df = src.revenue.copy()
    df.loc[at(df, 2), "year"] = "2025年"
    write_text(path, csv_text(df))


# -- maturity waves -------------------------------------------------------------------------------

MATURITY = ["ingest", "{file}", "--survey", "maturity", "--year", "2025"]


@case("maturity_missing_column.csv", "a maturity wave without the weight column",
      command=MATURITY, step="validate",
      en=["maturity_missing_column.csv", "column 'weight'", "lacks column(s) weight",
          "surveys/maturity/questionnaire.yaml"],
      zh=["maturity_missing_column.csv", "列“weight”", "成熟度文件缺少列 weight"])
def _(src, path):
    write_text(path, csv_text(_maturity().drop(columns=["weight"])))


@case("maturity_bad_level.csv", "a maturity item rated 6 on the 1–5 levels", command=MATURITY,
      step="validate",
      en=["maturity_bad_level.csv", "row 4", "6 is not a maturity level", "use 1, 2, 3, 4, 5"],
      zh=["maturity_bad_level.csv", "第 4 行", "6 不是成熟度等级"])
def _(src, path):
    df = _maturity()
    item = [c for c in df.columns if c not in ("enterprise_id", "region", "size", "industry",
                                               "weight")][2]
    df.loc[at(df, 4), item] = "6"
    write_text(path, csv_text(df))


@case("maturity_published_year.csv",
      "a valid maturity wave for 2024, whose release is published (the maturity questionnaire "
      "is not yet registered)",
      command=["ingest", "{file}", "--survey", "maturity", "--year", "2024"], step="store",
      en=["maturity_published_year.csv", "the 2024 release is already published",
          "no maturity wave of 2024"],
      zh=["maturity_published_year.csv", "2024 年版本已发布"])
def _(src, path):
    write_text(path, csv_text(_maturity()))


@case("maturity_duplicate_enterprise.csv", "one enterprise twice in a wave", command=MATURITY,
      step="validate",
      en=["maturity_duplicate_enterprise.csv", "row 3", "column 'enterprise_id'",
          "appears more than once (rows 3 and 8)", "each enterprise answers once per wave"],
      zh=["maturity_duplicate_enterprise.csv", "第 3 行", "列“enterprise_id”", "第 3 行和第 8 行",
          "同一企业在一期调查中只能作答一次"])
def _(src, path):
    df = _maturity()
    df.loc[at(df, 8), "enterprise_id"] = df.loc[at(df, 3), "enterprise_id"]
    write_text(path, csv_text(df))


_MATURITY: list[pd.DataFrame] = []


def _maturity() -> pd.DataFrame:
    if not _MATURITY:
        from ncsi.maturity_demo import generate
        with tempfile.TemporaryDirectory() as tmp:
            generate(SEED, tmp, waves=[2025], n=336)
            df = pd.read_csv(Path(tmp) / "maturity" / "2025.csv", dtype=str,
                             keep_default_na=False)
        _MATURITY.append(df.head(12).reset_index(drop=True))
    return _MATURITY[0].copy()


# -- model files ----------------------------------------------------------------------------------

def model_case(file: str, what: str, text: str, *, line: int | None, en: list[str],
               zh: list[str], command=FIT, step: str = "parse", encoding: str = "utf-8",
               note: str | None = None, names_file: bool = True):
    where = [f"{file}, line {line}"] if line else [file] if names_file else []
    where_zh = ([file] if names_file else []) + ([f"第 {line} 行"] if line else [])

    @case(file, what, command=command, step=step, en=where + en, zh=where_zh + zh, note=note)
    def _(src, path):
        write_text(path, text, encoding)


def _replace_line(n: int, new: str) -> str:
    lines = MODEL.splitlines()
    lines[n - 1] = new
    return "\n".join(lines) + "\n"


model_case("model_no_operator.lav", "a statement without an operator",
           _replace_line(6, "SAT  SAT1 + SAT2 + SAT3"), line=6,
           en=["has no operator", "use '=~' (reflective block)"], zh=["没有运算符"])
model_case("model_trailing_plus.lav", "the last statement ends with '+'",
           MODEL + "LOY ~ SAT +\n", line=17,
           en=["ends with '+' but no term follows"], zh=["以“+”结尾"])
model_case("model_empty_term.lav", "two '+' signs in a row",
           _replace_line(4, "QUAL =~ QUAL1 + + QUAL3 + QUAL4"), line=4,
           en=["empty term between '+' signs", "remove the extra '+'"], zh=["多余的“+”"])
model_case("model_bad_name.lav", "an indicator name with a hyphen",
           _replace_line(2, "EXPE =~ EXPE-1 + EXPE2 + EXPE3"), line=2,
           en=["'EXPE-1' is not a valid name"], zh=["“EXPE-1”不是有效的名称"])
model_case("model_fixed_loading.lav", "a lavaan fixed loading (1*IMAG1)",
           _replace_line(1, "IMAG =~ 1*IMAG1 + IMAG2 + IMAG3 + IMAG4"), line=1,
           en=["fixed values and labels (x*name) are not supported", "write the plain name"],
           zh=["不支持固定值和标签"])
model_case("model_two_operators.lav", "two operators in one statement",
           _replace_line(16, "LOY ~ SAT ~ COMP"), line=16,
           en=["more than one operator in one statement", "put each on its own line"],
           zh=["一条语句中有多个运算符"])
model_case("model_no_construct_name.lav", "nothing on the left of '=~'",
           _replace_line(5, "=~ VAL1 + VAL2"), line=5,
           en=["nothing on the left of '=~'", "name the construct"], zh=["左侧没有内容"])
model_case("model_no_indicators.lav", "a construct without indicators",
           _replace_line(7, "COMP =~"), line=7,
           en=["construct without indicators", "lists nothing on the right"], zh=["没有指标"])
model_case("model_bad_construct_name.lav", "a construct name starting with a digit",
           _replace_line(7, "2COMP =~ COMP1 + COMP2"), line=7,
           en=["'2COMP' is not a valid construct name"], zh=["“2COMP”不是有效的构念名称"])
model_case("model_repeated_indicator.lav", "an indicator listed twice in one block",
           _replace_line(6, "SAT =~ SAT1 + SAT2 + SAT2"), line=6,
           en=["SAT2 listed twice in one statement"], zh=["SAT2 在同一语句中出现两次"])
model_case("model_block_twice.lav", "a construct defined twice",
           MODEL + "SAT =~ SAT3\n", line=17,
           en=["construct SAT is defined twice (first on line 6)"], zh=["构念 SAT 定义了两次"])
model_case("model_indicator_in_two_blocks.lav", "one indicator in two blocks",
           _replace_line(5, "VAL  =~ VAL1 + VAL2 + QUAL4"), line=5,
           en=["indicator QUAL4 is in two blocks: QUAL (line 4) and VAL"],
           zh=["指标 QUAL4 同时属于两个构念"])
model_case("model_construct_as_indicator.lav", "a construct used as another's indicator",
           _replace_line(8, "LOY  =~ LOY1 + LOY2 + SAT"), line=6,
           en=["'SAT' is both a construct and an indicator (of LOY, line 8)", "rename one of them"],
           zh=["“SAT”既是构念又是指标"])
model_case("model_path_to_indicator.lav", "a path from an indicator",
           _replace_line(15, "COMP ~ SAT1"), line=15,
           en=["'SAT1' in a path is an indicator (of SAT), not a construct"],
           zh=["“SAT1”是指标（属于 SAT），不是构念"])
model_case("model_unknown_construct.lav", "a path from a construct that is not defined",
           _replace_line(12, "QUAL ~ IMAG + EXPEC"), line=12,
           en=["unknown construct 'EXPEC' in a path", "define it with 'EXPEC =~ indicators'"],
           zh=["路径中的构念“EXPEC”未定义"])
model_case("model_self_loop.lav", "a construct predicting itself",
           _replace_line(15, "COMP ~ SAT + COMP"), line=15,
           en=["COMP ~ COMP: a construct cannot predict itself"], zh=["构念不能预测自身"])
model_case("model_path_twice.lav", "the same path twice", MODEL + "COMP ~ SAT\n", line=17,
           en=["path SAT → COMP is given twice"], zh=["路径 SAT → COMP 重复"])
model_case("model_cycle.lav", "a cycle: satisfaction → loyalty → satisfaction",
           MODEL + "SAT ~ LOY\n", line=16,
           en=["the structural model has a cycle: SAT → LOY → SAT", "line(s) 16, 17",
               "remove one of these paths"],
           zh=["结构模型存在循环：SAT → LOY → SAT", "第 16, 17 行", "请删除其中一条路径"])
model_case("model_no_construct.lav", "only comments", "# the model goes here\n\n", line=None,
           en=["the model defines no construct", "'SAT =~ SAT1 + SAT2'"], zh=["模型没有定义任何构念"])
model_case("model_variance.lav", "a variance written as a covariance",
           MODEL + "SAT1 ~~ SAT1\n", line=17,
           en=["'SAT1 ~~ SAT1' is a variance", "list only covariances of two different variables"],
           zh=["“SAT1 ~~ SAT1”是方差"])
model_case("model_covariance_unknown.lav", "a covariance with an unknown variable",
           MODEL + "SAT1 ~~ SAT9\n", line=17,
           en=["unknown variable 'SAT9' in a covariance"], zh=["协方差中的变量“SAT9”未知"])
model_case("model_not_utf8.lav", "a model file saved in GBK (Chinese comment)",
           "# 品牌形象\n" + MODEL, line=1, encoding="gbk", step="parse",
           en=["model file is not UTF-8 text", "save it as UTF-8"], zh=["不是 UTF-8 文本"])
model_case("model_unknown_indicator.lav", "an indicator the data file does not have",
           _replace_line(6, "SAT  =~ SAT1 + SAT2 + SAT9"), line=6, step="model",
           en=["indicator(s) SAT9 of construct SAT are absent from", "fit-data.csv",
               "check the column names or the model file"],
           zh=["构念 SAT 的指标 SAT9 不在数据", "请检查列名或模型文件"])
model_case("model_composite_cbsem.lav", "a composite block (<~) fitted by CB-SEM",
           _replace_line(5, "VAL  <~ VAL1 + VAL2"), line=5, step="estimate",
           command=FIT + ["--method", "cbsem", "--survey", "ncsi-food"],
           en=["construct VAL is a composite ('<~')", "write it as 'VAL =~ ...'",
               "--method pls"],
           zh=["构念 VAL 是组合型（<~）", "使用 PLS"])
model_case("model_covariance_pls.lav", "a residual covariance in a model fitted by PLS",
           MODEL + "SAT1 ~~ SAT2\n", line=None, step="estimate", names_file=False,
           note="refused by ncsi/pls.py, whose message names the line but not the model file "
                "(and its Chinese text names neither): reported, not fixed here",
           en=["'SAT1 ~~ SAT2', line 17", "PLS path modelling has no such parameter",
               "--method cbsem"],
           zh=["PLS 路径模型不支持协方差", "CB-SEM"])


# ------------------------------------------------------------------------------------------------
# writing
# ------------------------------------------------------------------------------------------------

def write_fixture(src: Source) -> None:
    FIXTURE.mkdir(exist_ok=True)
    write_text(FIXTURE / "brands.csv", csv_text(src.brands))
    write_text(FIXTURE / "revenue.csv", csv_text(src.revenue))
    base = src.food_2024.groupby("brand", sort=False).head(25)
    write_text(FIXTURE / "ncsi-food-2024.csv", csv_text(base))
    items = src.medium()[ITEMS].head(120).replace({"98": "", "99": ""})  # codes → empty cells
    write_text(FIXTURE / "fit-data.csv", csv_text(items))


HEADER = """\
# The bad-input corpus: one entry per file of tests/data/bad/.
# WRITTEN BY make_corpus.py (the CASES table there) — edit that, then run it again.
# outcome: refused (non-zero exit, store unchanged) | accepted (exit 0, the note says why) |
#          reported_at_build (accepted at ingest; `then` builds the year and the draft's issue
#          carries the en/zh fragments)
# command: ncsi arguments; {file} = this file, {fixture} = fixture/, {tmp} = a scratch folder.
# en / zh: fragments the English / Chinese message must contain.
"""


def main() -> None:
    from ncsi.demo_data import generate
    for old in HERE.iterdir():
        if old.is_file() and old.name not in ("make_corpus.py", "README.md"):
            old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        generate(SEED, Path(tmp) / "demo", years=[2024, 2025], industries=INDUSTRIES, scale=0.3)
        src = Source(Path(tmp) / "demo")
    write_fixture(src)
    files = set()
    for c in CASES:
        name = c["entry"]["file"]
        assert name not in files, f"two cases write {name}"
        files.add(name)
        c["make"](src, HERE / name)
    manifest = [c["entry"] for c in CASES]
    text = yaml.safe_dump(manifest, allow_unicode=True, sort_keys=False, width=100,
                          default_flow_style=None)
    (HERE / "MANIFEST.yaml").write_text(HEADER + text, encoding="utf-8")
    total = sum(p.stat().st_size for p in HERE.rglob("*") if p.is_file())
    print(f"{len(CASES)} cases written to {HERE} ({total / 1024:.0f} KB in all)")


if __name__ == "__main__":
    main()
