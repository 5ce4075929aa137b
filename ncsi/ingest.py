"""Reading survey files and validating them against their questionnaire — all of it or nothing.

- :func:`read_survey_file` (alias :func:`read_table`): CSV (UTF-8, UTF-8 with BOM, GBK/GB18030,
  UTF-16 with BOM), XLSX (first sheet), SPSS ``.sav`` (codes, not value labels; user-missing
  values kept as their codes) and Parquet → a DataFrame with the file's own column names. CSV
  cells come back as text exactly as written, so validation can name a bad cell.
- :func:`validate` checks a DataFrame against a :class:`~ncsi.instruments.Questionnaire`, the
  taxonomy and the brand registry, screens speeders and straight-liners, and returns a
  :class:`ValidatedWave`. It collects every problem and raises ONE :class:`~ncsi.errors.IngestError`
  naming the first (row and column), how many cells share it, and the other kinds found.
- :func:`ingest_file` reads, validates and hands the wave to the store in one transaction.

Row numbers are those a spreadsheet shows: the header is row 1, the first data row is row 2 — for
every format (in Parquet and SPSS files record 1 is row 2).
"""

from __future__ import annotations

import codecs
import hashlib
import io
import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import IngestError
from .instruments import (
    CORE_COLUMNS,
    Column,
    Questionnaire,
    Taxonomy,
    load_questionnaire,
    load_taxonomy,
)

SUPPORTED = (".csv", ".xlsx", ".sav", ".parquet")
STATUSES = ("valid", "speeder", "straightliner")
#: Columns of ValidatedWave.responses before the items.
RESPONSE_COLUMNS = CORE_COLUMNS + ("status",)
#: How many problems an error message spells out per kind.
SHOW = 3
YEAR_RANGE = (1990, 2100)

_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_INFINITY = re.compile(r"^[+-]?(?:inf|infinity|∞)$", re.IGNORECASE)
_DELIMITERS = {";": "semicolons (;)", "\t": "tabs", "|": "vertical bars (|)"}
_DELIMITERS_ZH = {";": "分号（;）", "\t": "制表符", "|": "竖线（|）"}


# ------------------------------------------------------------------------------------------------
# reading
# ------------------------------------------------------------------------------------------------

def _fail(file: Any, message: str, message_zh: str, *, row: int | None = None,
          column: str | None = None) -> IngestError:
    where_zh = _where_zh(file, row, column)
    return IngestError(message, file=str(file) if file is not None else None, row=row,
                       column=column, message_zh=f"{where_zh}：{message_zh}" if where_zh
                       else message_zh)


def _where_zh(file: Any, row: int | None, column: str | None) -> str:
    parts = []
    if file is not None:
        parts.append(str(file))
    if row is not None:
        parts.append(f"第 {row} 行")
    if column is not None:
        parts.append(f"列“{column}”")
    return "，".join(parts)


def read_survey_file(path: str | Path, *, row_labels: bool = False) -> pd.DataFrame:
    """Read a survey (or any tabular) file by its extension → DataFrame, one row per data row.

    ``row_labels=True`` accepts a first column without a name (row labels, as R's write.csv
    writes them) and drops it; survey files are read with the default, which refuses it.

    The index is a plain RangeIndex: data row ``k`` (0-based) is spreadsheet row ``k + 2``.
    Column names are stripped of spaces and of a byte-order mark. Refuses (IngestError naming the
    file and what to do): unknown extension, missing/unreadable/empty file, a header without data
    rows, a header that is not a row of distinct column names, CSV with another delimiter.
    """
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in SUPPORTED:
        hint = " (save it as .xlsx)" if ext in (".xls", ".xlsm", ".ods") else ""
        hint_zh = "（请另存为 .xlsx）" if ext in (".xls", ".xlsm", ".ods") else ""
        raise _fail(p, f"unsupported file type '{ext or 'none'}'{hint}; use one of "
                       f"{', '.join(SUPPORTED)}",
                    f"不支持的文件类型“{ext or '无'}”{hint_zh}；请使用 {'、'.join(SUPPORTED)}")
    if not p.is_file():
        raise _fail(p, "file not found; check the path", "找不到文件，请检查路径")
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise _fail(p, f"cannot be read ({exc.strerror})", f"无法读取（{exc.strerror}）") from None
    if size == 0:
        raise _fail(p, "the file is empty (0 bytes); export the data again",
                    "文件为空（0 字节）；请重新导出数据")
    reader = {".csv": _read_csv, ".xlsx": _read_xlsx, ".sav": _read_sav,
              ".parquet": _read_parquet}[ext]
    try:
        header, body = reader(p)
    except IngestError:
        raise
    except OSError as exc:
        raise _fail(p, f"cannot be read ({exc.strerror or exc})",
                    f"无法读取（{exc.strerror or exc}）") from None
    if row_labels and header and _is_blank(header[0]):
        header = header[1:]
        body = body.iloc[:, 1:]
        body.columns = range(body.shape[1])
    return _frame(p, header, body)


def numeric_cells(values: pd.Series, *, file: Any, column: str, what: str = "a number",
                  allow_empty: bool = False) -> pd.Series:
    """Convert one column of a file read by :func:`read_survey_file` to float.

    Text and numeric columns alike: a cell that is not a finite number raises
    :class:`IngestError` naming the file, the spreadsheet row (header = row 1) and the column,
    with the count of such cells. Empty cells become NaN when ``allow_empty``, else are errors.
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        num = pd.to_numeric(values, errors="coerce").astype(float)
        shown = values.astype("string")
        empty = num.isna()
    else:
        shown = values.astype("string").str.strip()
        empty = shown.isna() | (shown == "")
        num = pd.to_numeric(shown.mask(empty), errors="coerce").astype(float)
    bad = (num.isna() & ~empty) | np.isinf(num.to_numpy())
    if not allow_empty:
        bad |= empty
    if bad.any():
        k = int(np.flatnonzero(bad.to_numpy())[0])
        cell = "" if pd.isna(shown.iloc[k]) else str(shown.iloc[k])
        count = int(bad.sum())
        raise IngestError(f"'{cell}' is not {what} (a finite number is needed); fix the cell "
                          f"({count} such cell{'s' if count > 1 else ''} in this column)",
                          file=str(file), row=k + 2, column=column,
                          message_zh=f"“{cell}”不是有效数字；请修改该单元格（本列共 {count} 处）")
    return num


#: The same reader for any tabular input (brand registry, revenue, data to fit).
read_table = read_survey_file


def _decode(raw: bytes, p: Path) -> str:
    """Bytes → text: BOMs first, then strict UTF-8, GB18030 (a superset of GBK/GB2312), then
    charset-normalizer's best guess."""
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"),
                     (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            try:
                return raw.decode(enc)
            except UnicodeDecodeError:
                break
    for enc in ("utf-8", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            pass
    from charset_normalizer import from_bytes
    best = from_bytes(raw).best()
    if best is not None:
        return str(best)
    raise _fail(p, "the text encoding cannot be recognised; save the file as UTF-8 CSV",
                "无法识别文本编码；请另存为 UTF-8 编码的 CSV")


def _read_csv(p: Path) -> tuple[list[Any], pd.DataFrame]:
    text = _decode(p.read_bytes(), p).lstrip("\ufeff")
    if not text.strip():
        raise _fail(p, "the file has no content (only blanks); export the data again",
                    "文件没有内容（只有空白）；请重新导出数据")
    try:
        df = pd.read_csv(io.StringIO(text), header=None, dtype=str, keep_default_na=False,
                         skip_blank_lines=False, sep=",")
    except pd.errors.EmptyDataError:
        raise _fail(p, "the file has no columns; export the data again",
                    "文件没有任何列；请重新导出数据") from None
    except pd.errors.ParserError as exc:
        msg = str(exc)
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
        if m:
            want, row, saw = (int(g) for g in m.groups())
            raise _fail(p, f"this row has {saw} fields but the header has {want}; check for an "
                           f"unquoted comma or a missing delimiter",
                        f"该行有 {saw} 个字段，而表头有 {want} 个；请检查是否有未加引号的逗号",
                        row=row) from None
        m = re.search(r"EOF inside string starting at row (\d+)", msg)
        if m:
            row = int(m.group(1)) + 1
            raise _fail(p, "a quote (\") opened here is never closed; fix the quoting",
                        "此处的引号（\"）没有闭合；请修正引号", row=row) from None
        raise _fail(p, f"not a readable CSV file ({msg.splitlines()[0]}); check the format",
                    f"不是可读的 CSV 文件（{msg.splitlines()[0]}）；请检查格式") from None
    header = list(df.iloc[0]) if len(df) else []
    if len(header) == 1:
        name = str(header[0])
        for delim, what in _DELIMITERS.items():
            if delim in name:
                raise _fail(p, f"the columns are separated by {what}, not commas; save the file as "
                               f"comma-separated CSV (in Excel: Save As → CSV UTF-8)",
                            f"列之间用{_DELIMITERS_ZH[delim]}分隔，而不是逗号；请另存为逗号分隔的 CSV"
                            f"（Excel：另存为 → CSV UTF-8）", row=1, column=name[:40]) from None
    return header, df.iloc[1:].reset_index(drop=True)


def _read_xlsx(p: Path) -> tuple[list[Any], pd.DataFrame]:
    import zipfile

    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException
    try:
        wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError) as exc:
        raise _fail(p, f"not a valid .xlsx workbook ({type(exc).__name__}); open it in Excel "
                       f"and save it again as .xlsx",
                    "不是有效的 .xlsx 工作簿；请用 Excel 打开并另存为 .xlsx") from None
    try:
        if not wb.worksheets:
            raise _fail(p, "the workbook has no worksheet", "工作簿中没有工作表")
        ws = wb.worksheets[0]
        ws.reset_dimensions()  # do not trust the stored sheet size; read what is there
        rows = [list(r) for r in ws.iter_rows(min_row=1, values_only=True)]
    finally:
        wb.close()
    width = max((len(r) for r in rows), default=0)
    rows = [r + [None] * (width - len(r)) for r in rows]
    blank = [all(_is_blank(v) for v in r) for r in rows]
    while rows and blank[-1]:  # trailing empty (formatted) rows
        rows.pop()
        blank.pop()
    if not rows:
        raise _fail(p, f"the first worksheet '{ws.title}' is empty; put the data in the first "
                       f"sheet with the column names in row 1",
                    f"第一个工作表“{ws.title}”为空；请把数据放在第一个工作表，第 1 行为列名")
    header = rows[0]
    filled = [v for v in header if not _is_blank(v)]
    if len(filled) == 1 and width > 1 and len(rows) > 1 and \
            sum(not _is_blank(v) for v in rows[1]) > 1:
        raise _fail(p, f"row 1 of sheet '{ws.title}' holds a single cell ('{filled[0]}'), which "
                       f"looks like a title, not the column names; delete the rows above the "
                       f"header so the column names are in row 1",
                    f"工作表“{ws.title}”第 1 行只有一个单元格（“{filled[0]}”），像是标题而不是列名；"
                    f"请删除表头上方的行，使列名位于第 1 行", row=1)
    body = pd.DataFrame(rows[1:], columns=range(width), dtype=object)
    return header, body


def _read_sav(p: Path) -> tuple[list[Any], pd.DataFrame]:
    import pyreadstat
    try:
        # codes, not value labels; user-defined missing values (e.g. 98, 99) kept as their codes
        df, _meta = pyreadstat.read_sav(str(p), apply_value_formats=False, user_missing=True)
    except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError) as exc:
        raise _fail(p, f"not a readable SPSS .sav file ({exc}); export it from SPSS again",
                    f"不是可读的 SPSS .sav 文件（{exc}）；请从 SPSS 重新导出") from None
    return list(df.columns), df.reset_index(drop=True).set_axis(range(df.shape[1]), axis=1)


def _read_parquet(p: Path) -> tuple[list[Any], pd.DataFrame]:
    import pyarrow
    try:
        df = pd.read_parquet(p, engine="pyarrow")
    except (pyarrow.ArrowException, OSError, ValueError) as exc:
        raise _fail(p, f"not a readable Parquet file ({str(exc).splitlines()[0]}); write it "
                       f"again", "不是可读的 Parquet 文件；请重新生成") from None
    return list(df.columns), df.reset_index(drop=True).set_axis(range(df.shape[1]), axis=1)


def _is_blank(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    if v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, str) and not v.strip()


def _frame(p: Path, header: list[Any], body: pd.DataFrame) -> pd.DataFrame:
    """Check the header row and build the DataFrame (names stripped, BOMs removed)."""
    # drop trailing columns without a name and without data (spreadsheet formatting)
    width = len(header)
    while width and _is_blank(header[width - 1]) and \
            (body.empty or body[width - 1].map(_is_blank).all()):
        width -= 1
    header = header[:width]
    body = body.iloc[:, :width]
    if width == 0:
        raise _fail(p, "the file has no column names; row 1 must hold the column names",
                    "文件没有列名；第 1 行必须是列名", row=1)
    names: list[str] = []
    seen: dict[str, int] = {}
    numeric = 0
    for k, v in enumerate(header):
        if _is_blank(v):
            letter = _col_letter(k)
            raise _fail(p, f"column {k + 1} ({letter}) has no name in the header row but holds "
                           f"data; give it a name or delete it",
                        f"第 {k + 1} 列（{letter}）在表头中没有列名但有数据；请命名或删除该列", row=1)
        if isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
            numeric += 1
        name = str(v).replace("\ufeff", "").strip()
        names.append(name)
        if isinstance(v, str) and _NUMBER.match(name):
            numeric += 1
    if numeric > width / 2:
        raise _fail(p, f"row 1 looks like data ({', '.join(names[:4])}, …), not column names; "
                       f"the first row must be the header (respondent_id, industry, brand, …)",
                    f"第 1 行看起来是数据（{', '.join(names[:4])}……），而不是列名；第一行必须是表头"
                    f"（respondent_id、industry、brand……）", row=1)
    for k, name in enumerate(names):
        if name in seen:
            raise _fail(p, f"column name '{name}' appears twice in the header (columns "
                           f"{_col_letter(seen[name])} and {_col_letter(k)}); column names must be "
                           f"unique",
                        f"列名“{name}”在表头中出现两次（第 {_col_letter(seen[name])} 列和第 "
                        f"{_col_letter(k)} 列）；列名必须唯一", row=1, column=name)
        seen[name] = k
    # drop trailing rows with nothing in them (Excel exports often end with ",,,,," rows)
    if len(body):
        filled = ~body.map(_is_blank).all(axis=1).to_numpy()
        last = int(np.flatnonzero(filled)[-1]) + 1 if filled.any() else 0
        body = body.iloc[:last]
    if body.empty:
        raise _fail(p, "the file has a header row but no data rows; export the responses too",
                    "文件只有表头，没有数据行；请一并导出答卷数据")
    body = body.copy()
    body.columns = names
    return body.reset_index(drop=True)


def _col_letter(k: int) -> str:
    s = ""
    k += 1
    while k:
        k, r = divmod(k - 1, 26)
        s = chr(65 + r) + s
    return s


# ------------------------------------------------------------------------------------------------
# cell parsing
# ------------------------------------------------------------------------------------------------

_EMPTY, _OK, _BAD, _INF = 0, 1, 2, 3


def _text(v: Any) -> str | None:
    """A cell as text (None when empty); integral numbers lose their '.0'."""
    if _is_blank(v):
        return None
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return str(int(f)) if f.is_integer() else repr(f)
    s = unicodedata.normalize("NFKC", str(v)).strip()
    return s or None


def _number(v: Any) -> tuple[int, float]:
    """A cell as a number → (kind, value): empty, ok, bad (not a number) or inf."""
    if _is_blank(v):
        return _EMPTY, math.nan
    if isinstance(v, (bool, np.bool_)):
        return _BAD, math.nan
    if isinstance(v, (int, np.integer)):
        return _OK, float(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return (_OK, f) if math.isfinite(f) else (_INF, f)
    if not isinstance(v, str):
        return _BAD, math.nan
    s = unicodedata.normalize("NFKC", v).strip()  # full-width digits → ASCII
    if _NUMBER.match(s):
        f = float(s)
        return (_OK, f) if math.isfinite(f) else (_INF, f)
    if _INFINITY.match(s):
        return _INF, -math.inf if s.startswith("-") else math.inf
    return _BAD, math.nan


def _show(v: Any) -> str:
    if isinstance(v, str):
        return v if len(v) <= 40 else v[:37] + "…"
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


# ------------------------------------------------------------------------------------------------
# validation
# ------------------------------------------------------------------------------------------------

@dataclass
class Problem:
    """One validation problem (``row`` None for a whole-column problem)."""

    kind: str
    row: int | None
    column: str | None
    message: str
    message_zh: str
    order: int = 0  # the column's position in the file, for sorting

    def to_dict(self) -> dict:
        return {"kind": self.kind, "row": self.row, "column": self.column,
                "message": self.message, "message_zh": self.message_zh}


#: What each kind of problem is called in the summary of an error message.
KINDS = {
    "missing_column": ("missing required column", "缺少必需列"),
    "empty_row": ("empty row", "空行"),
    "empty_value": ("empty required value", "必填值为空"),
    "not_number": ("not a number", "不是数字"),
    "not_finite": ("infinite value", "无穷大的值"),
    "not_integer": ("not a whole number", "不是整数"),
    "out_of_range": ("value outside the scale", "超出量表范围"),
    "undeclared_code": ("undeclared missing-value code", "未声明的缺失值代码"),
    "bad_value": ("value outside its allowed range", "取值超出允许范围"),
    "bad_category": ("value not in the allowed list", "取值不在允许列表中"),
    "duplicate_id": ("duplicate respondent_id", "respondent_id 重复"),
    "unknown_industry": ("unknown industry", "未知行业"),
    "other_sector": ("industry of another sector", "属于其他领域的行业"),
    "unknown_brand": ("brand not registered for the industry", "品牌未在该行业登记"),
    "constant_item": ("constant item", "题目取值恒定"),
    "empty_item": ("item without any answer", "题目没有任何有效回答"),
}


@dataclass
class ValidatedWave:
    """A survey file that passed validation, ready for the store.

    ``responses``: respondent_id (str), industry, brand, region, gender (str), age, weight,
    duration_sec (float), status ("valid" | "speeder" | "straightliner"), then every item of the
    questionnaire as float — declared missing codes kept as their numbers, empty cells NaN.
    ``extra``: respondent_id plus the questionnaire's optional declared columns found in the
    file (e.g. construction's ``role``), kept apart because the store's responses table has no
    place for them. ``report``: JSON-serialisable counts (see :func:`validate`).
    """

    responses: pd.DataFrame
    report: dict
    survey_id: str
    survey_version: str
    year: int
    source_file: str
    source_sha256: str
    extra: pd.DataFrame = field(default_factory=pd.DataFrame)


def _brand_pairs(brands: Any) -> set[tuple[str, str]]:
    if brands is None:
        return set()
    if isinstance(brands, pd.DataFrame):
        if len(brands) == 0:
            return set()
        missing = [c for c in ("brand", "industry") if c not in brands.columns]
        if missing:
            raise IngestError(f"the brand registry lacks column(s) {', '.join(missing)}; it needs "
                              f"brand and industry",
                              message_zh=f"品牌登记表缺少列 {'、'.join(missing)}；需要 brand 和 industry")
        pairs = zip(brands["brand"].tolist(), brands["industry"].tolist())
    else:
        pairs = iter(brands)
    return {(_text(b), _text(i)) for b, i in pairs if _text(b) and _text(i)}


def validate(df: pd.DataFrame, questionnaire: Questionnaire, taxonomy: Taxonomy, brands: Any,
             *, file: str | Path | None = None, year: int) -> ValidatedWave:
    """Validate one survey file's rows against ``questionnaire``; screen; build the wave.

    ``brands``: the registered brands (a DataFrame with columns brand, industry, e.g.
    ``store.known_brands()``; an iterable of (brand, industry) pairs also works). Raises one
    :class:`IngestError` naming the first problem (row, column), the number of cells with the
    same problem and the other kinds found; ``error.problems`` lists them all (dicts).

    ``report``: n_rows, n_valid, n_speeders, n_straightliners, item_nonresponse (item → share of
    rows without a usable answer: empty or a missing code), item_empty (item → empty cells),
    missing_codes ("98" → count over all items), missing_codes_by_item, n_by_industry,
    n_by_brand, columns (category column → value counts), screening (the rules used), warnings.
    """
    q = questionnaire
    shown = str(file) if file is not None else "<data>"
    name = Path(file).name if file is not None else "<data>"
    if isinstance(year, bool) or not isinstance(year, (int, np.integer)) or \
            not YEAR_RANGE[0] <= int(year) <= YEAR_RANGE[1]:
        raise _fail(shown, f"year {year!r} is not a survey year ({YEAR_RANGE[0]}–{YEAR_RANGE[1]}); "
                           f"give the year of the wave, e.g. 2025",
                    f"年份 {year!r} 不是有效的调查年份（{YEAR_RANGE[0]}–{YEAR_RANGE[1]}）；请填写调查年份，如 2025")
    year = int(year)

    df = df.reset_index(drop=True)
    columns = [str(c).replace("\ufeff", "").strip() for c in df.columns]
    if len(set(columns)) != len(columns):
        dup = next(c for c in columns if columns.count(c) > 1)
        raise _fail(shown, f"column name '{dup}' appears twice; column names must be unique",
                    f"列名“{dup}”出现两次；列名必须唯一", row=1, column=dup)
    df = df.set_axis(columns, axis=1)
    if len(df) == 0:
        raise _fail(shown, "no data rows; the file must hold one row per respondent",
                    "没有数据行；文件中每位受访者应占一行")
    position = {c: k for k, c in enumerate(columns)}

    # -- structure: required columns -------------------------------------------------------
    expected = [c.name for c in q.columns if c.required] + list(q.item_codes)
    missing = [c for c in expected if c not in position]
    if missing:
        lower = {c.lower(): c for c in columns}
        hints = [f"'{lower[m.lower()]}' should be '{m}'" for m in missing if m.lower() in lower]
        hint = f" ({'; '.join(hints)}: names are case-sensitive)" if hints else ""
        raise _fail(shown, f"missing required column(s) {', '.join(missing)}{hint}; questionnaire "
                           f"{q.id} expects the columns {', '.join(expected)}",
                    f"缺少必需列 {'、'.join(missing)}；问卷 {q.id} 需要的列为 {'、'.join(expected)}",
                    row=1, column=missing[0])
    known_names = set(q.column_names) | set(q.item_codes)
    extra_cols = [c for c in columns if c not in known_names]
    warnings: list[str] = []
    if extra_cols:
        warnings.append(f"{name}: column(s) {', '.join(extra_cols)} are not in questionnaire "
                        f"{q.id} and were ignored / 列 {'、'.join(extra_cols)} 不在问卷 {q.id} 中，已忽略")

    n = len(df)
    rows = np.arange(n) + 2
    problems: list[Problem] = []

    def add(kind, pos, column, en, zh):
        problems.append(Problem(kind, int(rows[pos]) if pos is not None else None, column, en, zh,
                                position.get(column, -1) if column else -1))

    # -- empty rows ---------------------------------------------------------------------------
    used_cols = [c for c in columns if c in known_names]
    blank = np.ones(n, dtype=bool)
    for c in used_cols:
        blank &= df[c].map(_is_blank).to_numpy(dtype=bool)
    for pos in np.flatnonzero(blank):
        add("empty_row", pos, None, "the row is empty; delete it", "该行为空；请删除")
    live = ~blank

    # -- respondent columns -------------------------------------------------------------------
    text_cols: dict[str, list[str | None]] = {}
    num_cols: dict[str, np.ndarray] = {}
    present_cols = [c for c in q.columns if c.name in position]
    for col in present_cols:
        values = df[col.name].tolist()
        if col.type in ("string", "category"):
            text_cols[col.name] = _check_text_column(col, values, live, add)
        else:
            num_cols[col.name] = _check_number_column(col, values, live, add)

    # respondent_id unique
    first_seen: dict[str, int] = {}
    for pos, rid in enumerate(text_cols["respondent_id"]):
        if rid is None or not live[pos]:
            continue
        if rid in first_seen:
            add("duplicate_id", pos, "respondent_id",
                f"respondent_id '{rid}' appears twice: rows {first_seen[rid] + 2} and {pos + 2}; "
                f"every respondent needs a unique id",
                f"respondent_id“{rid}”出现两次：第 {first_seen[rid] + 2} 行和第 {pos + 2} 行；"
                f"每位受访者的编号必须唯一")
        else:
            first_seen[rid] = pos

    # industry in the taxonomy and in this questionnaire's sector; brand registered for it
    sector = taxonomy.sector(q.sector)
    own = set(sector.industry_codes)
    all_industries = {i.code: i for i in taxonomy.industries}
    registered = _brand_pairs(brands)
    brands_of: dict[str, list[str]] = {}
    industries_of: dict[str, list[str]] = {}
    for b, i in sorted(registered):
        brands_of.setdefault(i, []).append(b)
        industries_of.setdefault(b, []).append(i)
    industry_ok = np.zeros(n, dtype=bool)
    for pos, ind in enumerate(text_cols["industry"]):
        if ind is None or not live[pos]:
            continue
        if ind not in all_industries:
            by_name = [i.code for i in taxonomy.industries if ind in (i.zh, i.en)]
            hint = f" (use the code '{by_name[0]}')" if by_name else ""
            hint_zh = f"（请使用代码“{by_name[0]}”）" if by_name else ""
            add("unknown_industry", pos, "industry",
                f"industry '{ind}' is not in the taxonomy{hint}; the industries of sector "
                f"{sector.code} are: {', '.join(sector.industry_codes)}",
                f"行业“{ind}”不在行业分类中{hint_zh}；领域 {sector.code}（{sector.zh}）的行业为："
                f"{'、'.join(sector.industry_codes)}")
        elif ind not in own:
            other = taxonomy.sector(all_industries[ind].sector)
            add("other_sector", pos, "industry",
                f"industry '{ind}' belongs to sector {other.code} (questionnaire {other.survey}), "
                f"not to {sector.code} of questionnaire {q.id}; ingest those rows with "
                f"--survey {other.survey}",
                f"行业“{ind}”属于领域 {other.code}（{other.zh}，问卷 {other.survey}），不属于问卷 {q.id} 的领域 "
                f"{sector.code}（{sector.zh}）；请用 --survey {other.survey} 导入这些行")
        else:
            industry_ok[pos] = True
    for pos, br in enumerate(text_cols["brand"]):
        ind = text_cols["industry"][pos]
        if br is None or not industry_ok[pos] or (br, ind) in registered:
            continue
        if br in industries_of:
            why = f"is registered for industry {', '.join(industries_of[br])}, not {ind}"
            why_zh = f"登记在行业 {'、'.join(industries_of[br])}，而不是 {ind}"
        else:
            some = brands_of.get(ind, [])
            listed = ", ".join(some[:8]) + (", …" if len(some) > 8 else "")
            why = (f"is not registered for industry {ind} (registered: {listed or 'none'}); "
                   f"register it first (ncsi brands FILE) or correct the code")
            why_zh = (f"未在行业 {ind} 登记（已登记：{listed or '无'}）；请先登记品牌（ncsi brands 文件）"
                      f"或更正代码")
        add("unknown_brand", pos, "brand", f"brand '{br}' {why}", f"品牌“{br}”{why_zh}")

    # -- items -------------------------------------------------------------------------------
    codes = sorted(q.missing_codes)
    codes_text = ", ".join(f"{c} ({q.missing_codes[c]['en']})" for c in codes) or "none"
    codes_zh = "、".join(f"{c}（{q.missing_codes[c]['zh']}）" for c in codes) or "无"
    lo, hi = q.scale_min, q.scale_max
    items = np.full((n, len(q.items)), np.nan)
    cell_problem_cols: set[str] = set()
    for j, code in enumerate(q.item_codes):
        before = len(problems)
        for pos, v in enumerate(df[code].tolist()):
            if not live[pos]:
                continue
            kind, x = _number(v)
            if kind == _EMPTY:
                continue
            if kind == _BAD:
                add("not_number", pos, code,
                    f"'{_show(v)}' is not a number; answers are whole numbers {lo}–{hi}, a declared "
                    f"missing code ({codes_text}) or an empty cell for no answer",
                    f"“{_show(v)}”不是数字；答案应为 {lo}–{hi} 的整数、已声明的缺失值代码（{codes_zh}）"
                    f"或空单元格（未作答）")
            elif kind == _INF:
                add("not_finite", pos, code,
                    f"'{_show(v)}' is infinite; answers are whole numbers {lo}–{hi} or {codes_text}",
                    f"“{_show(v)}”为无穷大；答案应为 {lo}–{hi} 的整数或 {codes_zh}")
            elif not x.is_integer():
                add("not_integer", pos, code,
                    f"{_show(v)} is not a whole number; answers are whole numbers {lo}–{hi} or "
                    f"{codes_text}", f"{_show(v)} 不是整数；答案应为 {lo}–{hi} 的整数或 {codes_zh}")
            elif lo <= x <= hi or int(x) in q.missing_codes:
                items[pos, j] = x
            elif x >= 90 or x < 0:
                add("undeclared_code", pos, code,
                    f"{int(x)} is not a declared missing-value code of questionnaire {q.id} "
                    f"(declared: {codes_text}); recode it to one of those or leave the cell empty",
                    f"{int(x)} 不是问卷 {q.id} 声明的缺失值代码（已声明：{codes_zh}）；请改为已声明的代码或留空")
            else:
                add("out_of_range", pos, code,
                    f"{int(x)} is outside the scale {lo}–{hi} and is not a declared missing code "
                    f"({codes_text})",
                    f"{int(x)} 超出量表范围 {lo}–{hi}，也不是已声明的缺失值代码（{codes_zh}）")
        if len(problems) > before:
            cell_problem_cols.add(code)

    is_code = np.isin(items, codes) if codes else np.zeros_like(items, dtype=bool)
    answered = ~np.isnan(items) & ~is_code
    answered &= live[:, None]
    if n >= 2:
        for j, code in enumerate(q.item_codes):
            if code in cell_problem_cols:
                continue
            vals = items[answered[:, j], j]
            if vals.size == 0:
                add("empty_item", None, code,
                    f"item {code} has no answer in any row (every cell empty or a missing code); "
                    f"the model cannot be estimated — check the export or the column",
                    f"题目 {code} 在所有行中都没有有效回答（全部为空或缺失值代码）；无法估计模型——请检查导出的数据")
            elif np.unique(vals).size == 1:
                add("constant_item", None, code,
                    f"item {code} is {_show(vals[0])} in every answered row; a constant item has "
                    f"no variance and the model cannot be estimated — check the export or the column",
                    f"题目 {code} 在所有作答行中都是 {_show(vals[0])}；取值恒定的题目没有方差，无法估计模型——"
                    f"请检查导出的数据")

    if problems:
        raise _error(shown, problems)

    # -- screening ------------------------------------------------------------------------------
    rules = q.screening
    duration = num_cols["duration_sec"]
    status = np.full(n, "valid", dtype=object)
    speeder = duration < rules.min_duration_sec
    status[speeder] = "speeder"
    if rules.straightlining:
        n_answered = answered.sum(axis=1)
        highest = np.where(answered, items, -np.inf).max(axis=1)
        lowest = np.where(answered, items, np.inf).min(axis=1)
        spread = np.where(n_answered > 0, highest - lowest, np.inf)
        straight = (n_answered >= rules.straightlining_min_answered * len(q.items)) & \
            (n_answered > 0) & (spread == 0) & ~speeder
        status[straight] = "straightliner"

    # -- the wave ----------------------------------------------------------------------------
    out: dict[str, Any] = {}
    for c in ("respondent_id", "industry", "brand", "region", "gender"):
        out[c] = pd.Series(text_cols[c], dtype="str")
    for c in ("age", "weight", "duration_sec"):
        out[c] = pd.Series(num_cols[c], dtype="float64")
    out["status"] = pd.Series(status, dtype="str")
    for j, code in enumerate(q.item_codes):
        out[code] = pd.Series(items[:, j], dtype="float64")
    responses = pd.DataFrame(out)

    extra_names = [c.name for c in present_cols if c.name not in CORE_COLUMNS]
    extra = pd.DataFrame({"respondent_id": responses["respondent_id"],
                          **{c: pd.Series(text_cols[c], dtype="str") if c in text_cols
                             else pd.Series(num_cols[c], dtype="float64") for c in extra_names}})

    empty = np.isnan(items)
    report = {
        "n_rows": int(n),
        "n_valid": int((status == "valid").sum()),
        "n_speeders": int((status == "speeder").sum()),
        "n_straightliners": int((status == "straightliner").sum()),
        "item_nonresponse": {code: float(1 - answered[:, j].mean())
                             for j, code in enumerate(q.item_codes)},
        "item_empty": {code: int(empty[:, j].sum()) for j, code in enumerate(q.item_codes)},
        "missing_codes": {str(c): int((items == c).sum()) for c in codes},
        "missing_codes_by_item": {
            code: {str(c): int((items[:, j] == c).sum()) for c in codes
                   if (items[:, j] == c).any()}
            for j, code in enumerate(q.item_codes) if is_code[:, j].any()},
        "n_by_industry": {k: int(v) for k, v in responses["industry"].value_counts().sort_index()
                          .items()},
        "n_by_brand": {k: int(v) for k, v in responses["brand"].value_counts().sort_index().items()},
        "columns": {c.name: {k: int(v) for k, v in pd.Series(text_cols[c.name]).value_counts()
                             .sort_index().items()}
                    for c in present_cols if c.type == "category"},
        "screening": {"min_duration_sec": rules.min_duration_sec,
                      "straightlining": rules.straightlining,
                      "straightlining_min_answered": rules.straightlining_min_answered},
        "extra_columns": extra_cols,
        "warnings": warnings,
    }
    return ValidatedWave(responses=responses, report=report, survey_id=q.id,
                         survey_version=q.version, year=year, source_file=name,
                         source_sha256=_sha256(file, df), extra=extra)


def _check_text_column(col: Column, values: list, live: np.ndarray, add) -> list[str | None]:
    out: list[str | None] = []
    allowed = list(col.values or {})
    options = ", ".join(f"{k} ({lab['en']})" for k, lab in (col.values or {}).items())
    options_zh = "、".join(f"{k}（{lab['zh']}）" for k, lab in (col.values or {}).items())
    for pos, v in enumerate(values):
        t = _text(v)
        out.append(t)
        if not live[pos]:
            continue
        if t is None:
            if not col.allow_empty:
                add("empty_value", pos, col.name,
                    f"{col.name} is empty; every respondent needs a {col.en}",
                    f"{col.name} 为空；每位受访者都必须填写{col.zh}")
        elif allowed and t not in allowed:
            add("bad_category", pos, col.name,
                f"'{_show(t)}' is not an allowed {col.name}; use one of: {options}",
                f"“{_show(t)}”不是允许的 {col.name} 取值；可用：{options_zh}")
    return out


def _check_number_column(col: Column, values: list, live: np.ndarray, add) -> np.ndarray:
    out = np.full(len(values), np.nan)
    bounds = []
    if col.min_exclusive is not None:
        bounds.append(f"greater than {col.min_exclusive:g}")
    if col.min is not None:
        bounds.append(f"at least {col.min:g}")
    if col.max is not None:
        bounds.append(f"at most {col.max:g}")
    rule = " and ".join(bounds)
    rule_zh = "，".join(
        ([f"大于 {col.min_exclusive:g}"] if col.min_exclusive is not None else [])
        + ([f"不小于 {col.min:g}"] if col.min is not None else [])
        + ([f"不大于 {col.max:g}"] if col.max is not None else []))
    what = "a whole number" if col.type == "integer" else "a finite number"
    what_zh = "整数" if col.type == "integer" else "有限数值"
    need = f"{col.name} ({col.en}) must be {what}" + (f" {rule}" if rule else "")
    need_zh = f"{col.name}（{col.zh}）必须是{what_zh}" + (f"，{rule_zh}" if rule_zh else "")
    for pos, v in enumerate(values):
        if not live[pos]:
            continue
        kind, x = _number(v)
        if kind == _EMPTY:
            if not col.allow_empty:
                add("empty_value", pos, col.name, f"{col.name} is empty; {need}",
                    f"{col.name} 为空；{need_zh}")
            continue
        if kind == _BAD:
            add("not_number", pos, col.name, f"'{_show(v)}' is not a number; {need}",
                f"“{_show(v)}”不是数字；{need_zh}")
        elif kind == _INF:
            add("not_finite", pos, col.name, f"'{_show(v)}' is infinite; {need}",
                f"“{_show(v)}”为无穷大；{need_zh}")
        elif col.type == "integer" and not x.is_integer():
            add("not_integer", pos, col.name, f"{_show(v)} is not a whole number; {need}",
                f"{_show(v)} 不是整数；{need_zh}")
        elif (col.min_exclusive is not None and not x > col.min_exclusive) or \
                (col.min is not None and x < col.min) or (col.max is not None and x > col.max):
            add("bad_value", pos, col.name, f"{_show(v)} is not allowed: {need}",
                f"{_show(v)} 不允许：{need_zh}")
        else:
            out[pos] = x
    return out


def _error(shown: str, problems: list[Problem]) -> IngestError:
    """One IngestError for all problems: the first (by row, then column), how many share its
    kind, and a count of each other kind."""
    problems = sorted(problems, key=lambda p: (p.row is None, p.row or 0, p.order))
    first = problems[0]
    by_kind: dict[str, list[Problem]] = {}
    for p in problems:
        by_kind.setdefault(p.kind, []).append(p)
    same = by_kind[first.kind][1:]
    en = first.message
    zh = first.message_zh
    if same:
        listed = "; ".join(_at(p) for p in same[:SHOW]) + ("; …" if len(same) > SHOW else "")
        listed_zh = "；".join(_at_zh(p) for p in same[:SHOW]) + ("；……" if len(same) > SHOW else "")
        en += f". {len(same)} other cell(s) have the same problem ({listed})"
        zh += f"。另有 {len(same)} 处同样的问题（{listed_zh}）"
    others = [(k, ps) for k, ps in by_kind.items() if k != first.kind]
    if others:
        en += ". Also: " + "; ".join(f"{KINDS.get(k, (k, k))[0]} ×{len(ps)} (first: {_at(ps[0])})"
                                     for k, ps in others)
        zh += "。此外：" + "；".join(f"{KINDS.get(k, (k, k))[1]} {len(ps)} 处（首处：{_at_zh(ps[0])}）"
                                  for k, ps in others)
    en += ". Fix the file and ingest it again; nothing was stored"
    zh += "。请修改文件后重新导入；未写入任何数据"
    err = _fail(shown, en, zh, row=first.row, column=first.column)
    err.problems = [p.to_dict() for p in problems]
    return err


def _at(p: Problem) -> str:
    if p.row is None:
        return f"column '{p.column}'"
    return f"row {p.row}" + (f", column '{p.column}'" if p.column else "")


def _at_zh(p: Problem) -> str:
    if p.row is None:
        return f"列“{p.column}”"
    return f"第 {p.row} 行" + (f"，列“{p.column}”" if p.column else "")


def _sha256(file: Any, df: pd.DataFrame) -> str:
    if file is not None:
        p = Path(file)
        if p.is_file():
            h = hashlib.sha256()
            with p.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            return h.hexdigest()
    return hashlib.sha256(df.to_csv(index=False).encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------------------------
# the whole step
# ------------------------------------------------------------------------------------------------

def ingest_file(path: str | Path, survey_id: str, year: int, store, *,
                replace: bool = False) -> ValidatedWave:
    """Read ``path``, validate it against questionnaire ``survey_id``, the taxonomy and the
    store's brand registry, then store it with ``store.add_wave`` in one transaction.

    Nothing is written when any check fails. The questionnaire is registered in the store
    (idempotent) just before the wave is added."""
    q = load_questionnaire(survey_id)
    df = read_survey_file(path)
    wave = validate(df, q, load_taxonomy(), store.known_brands(), file=path, year=year)
    if hasattr(store, "register_survey"):
        store.register_survey(q)
    kwargs: dict[str, Any] = dict(
        survey_id=wave.survey_id, survey_version=wave.survey_version, year=wave.year,
        source_file=wave.source_file, source_sha256=wave.source_sha256,
        responses=wave.responses, report=wave.report)
    if replace:
        kwargs["replace"] = True
    store.add_wave(**kwargs)
    return wave


__all__ = ["read_survey_file", "read_table", "validate", "ingest_file", "ValidatedWave",
           "Problem", "SUPPORTED", "STATUSES", "RESPONSE_COLUMNS"]
