"""Reading survey files and validating them against their questionnaire — all of it or nothing.

- :func:`read_survey_file` (alias :func:`read_table`): CSV (UTF-8, UTF-8 with BOM, GBK/GB18030,
  UTF-16 with BOM), XLSX (first sheet), SPSS ``.sav`` (codes, not value labels; user-missing
  values kept as their codes) and Parquet → a DataFrame with the file's own column names. CSV
  cells come back as text exactly as written, so validation can name a bad cell.
- :func:`open_survey_file` reads the same files in chunks of rows (:class:`SurveyChunks`), for
  files too large to hold as Python objects: CSV with pandas' chunked C parser, Parquet record
  batch by record batch (the fast path). Excel and SPSS files are read whole and then handed
  out in chunks — they are small in practice (Excel stops at 1,048,576 rows anyway).
- :func:`validate` checks a DataFrame against a :class:`~ncsi.instruments.Questionnaire`, the
  taxonomy and the brand registry, screens speeders and straight-liners, and returns a
  :class:`ValidatedWave`. It collects every problem and raises ONE :class:`~ncsi.errors.IngestError`
  naming the first (row and column), how many cells share it, and the other kinds found.
- :func:`ingest_file` reads the file chunk by chunk, validates every chunk (whole-file checks —
  duplicate respondent ids, items without variance — span the chunks), parks the validated rows
  in a temporary Arrow file and, only when the whole file has passed, hands them to the store in
  ONE transaction (batched inserts, with a progress callback). Memory is bounded by the chunk
  size, not by the file: a 1,000,000-row file never exists as Python objects at once.

The checks are vectorised: a column's cells are factorised (pandas), each *distinct* value is
parsed once by the same per-cell rules (:func:`_text`, :func:`_number`), and the verdicts are
mapped back to the rows with numpy — the problems found, their order and their messages are those
of a cell-by-cell loop.

Row numbers are those a spreadsheet shows: the header is row 1, the first data row is row 2 — for
every format (in Parquet and SPSS files record 1 is row 2).
"""

from __future__ import annotations

import codecs
import hashlib
import io
import itertools
import math
import re
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
#: Data rows per chunk when a file is read and validated in chunks (:func:`ingest_file`).
CHUNK_ROWS = 50_000
#: Problems kept in detail (``IngestError.problems``) per kind and column; beyond that they are
#: only counted (``IngestError.n_problems``), so a file that is wrong everywhere cannot exhaust
#: memory. Counts in the message are always complete.
KEEP_PROBLEMS = 1_000

#: ``progress(stage, done, total)``: stage "check" (reading and validating; for CSV ``done`` and
#: ``total`` count bytes of the file, for other formats rows) then "store" (rows written).
Progress = Callable[[str, int, int], None]

_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_INFINITY = re.compile(r"^[+-]?(?:inf|infinity|∞)$", re.IGNORECASE)
_DELIMITERS = {";": "semicolons (;)", "\t": "tabs", "|": "vertical bars (|)"}
_DELIMITERS_ZH = {";": "分号（;）", "\t": "制表符", "|": "竖线（|）"}
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"),
         (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
_BLOCK = 1 << 20


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


def _check_path(p: Path) -> str:
    """The file's extension once it is a supported, existing, non-empty file."""
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
    return ext


def _unreadable(p: Path, exc: OSError) -> IngestError:
    return _fail(p, f"cannot be read ({exc.strerror or exc})", f"无法读取（{exc.strerror or exc}）")


def read_survey_file(path: str | Path, *, row_labels: bool = False) -> pd.DataFrame:
    """Read a survey (or any tabular) file by its extension → DataFrame, one row per data row.

    ``row_labels=True`` accepts a first column without a name (row labels, as R's write.csv
    writes them) and drops it; survey files are read with the default, which refuses it.

    The index is a plain RangeIndex: data row ``k`` (0-based) is spreadsheet row ``k + 2``.
    Column names are stripped of spaces and of a byte-order mark. Refuses (IngestError naming the
    file and what to do): unknown extension, missing/unreadable/empty file, a header without data
    rows, a header that is not a row of distinct column names, CSV with another delimiter.
    The whole file is read into memory; :func:`open_survey_file` reads it in chunks.
    """
    p = Path(path)
    ext = _check_path(p)
    reader = {".csv": _read_csv, ".xlsx": _read_xlsx, ".sav": _read_sav,
              ".parquet": _read_parquet}[ext]
    try:
        header, body = reader(p)
    except IngestError:
        raise
    except OSError as exc:
        raise _unreadable(p, exc) from None
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
        also = f"{count} such cell{'s' if count > 1 else ''} in this column"
        if bool(empty.iloc[k]):
            raise _fail(file, f"the cell is empty; {what} is needed — fill it in or delete the "
                              f"row ({also})",
                        f"单元格为空；此处需要{_WHAT_ZH.get(what, '数值')}——请填写或删去该行"
                        f"（本列共 {count} 处）", row=k + 2, column=column)
        raise _fail(file, f"'{_show(cell)}' is not {what} (a finite number is needed); fix the "
                          f"cell ({also})",
                    f"“{_show(cell)}”不是有效的{_WHAT_ZH.get(what, '数值')}（需要有限数值）；"
                    f"请修改该单元格（本列共 {count} 处）", row=k + 2, column=column)
    return num


_WHAT_ZH = {"a number": "数值", "a year": "年份"}


#: The same reader for any tabular input (brand registry, revenue, data to fit).
read_table = read_survey_file


def _decode(raw: bytes, p: Path) -> str:
    """Bytes → text: BOMs first, then strict UTF-8, GB18030 (a superset of GBK/GB2312), then
    charset-normalizer's best guess."""
    for bom, enc in _BOMS:
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
    return _guess_text(raw, p)


def _guess_text(raw: bytes, p: Path) -> str:
    from charset_normalizer import from_bytes
    best = from_bytes(raw).best()
    if best is not None:
        return str(best)
    raise _fail(p, "the text encoding cannot be recognised; save the file as UTF-8 CSV",
                "无法识别文本编码；请另存为 UTF-8 编码的 CSV")


def _no_content(p: Path) -> IngestError:
    return _fail(p, "the file has no content (only blanks); export the data again",
                 "文件没有内容（只有空白）；请重新导出数据")


_CSV_OPTIONS = dict(header=None, keep_default_na=False, skip_blank_lines=False, sep=",")


def _csv_error(p: Path, exc: Exception, first_line: str | None = None) -> IngestError:
    """pandas' complaint about a CSV file → IngestError naming the row and what to do.
    ``first_line``: the file's first line (as text), to recognise a title above the header."""
    if isinstance(exc, pd.errors.EmptyDataError):
        return _fail(p, "the file has no columns; export the data again",
                     "文件没有任何列；请重新导出数据")
    msg = str(exc)
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
    if m:
        want, row, saw = (int(g) for g in m.groups())
        if want == 1 and first_line is not None and first_line.strip():
            title = _show(first_line.strip())
            return _fail(p, f"row 1 holds a single cell ('{title}'), which looks like a title, "
                            f"not the column names (row {row} has {saw} fields); delete the rows "
                            f"above the header so the column names are in row 1",
                         f"第 1 行只有一个单元格（“{title}”），像是标题而不是列名（第 {row} 行有 "
                         f"{saw} 个字段）；请删除表头上方的行，使列名位于第 1 行", row=1)
        return _fail(p, f"this row has {saw} fields but the header has {want}; check for an "
                        f"unquoted comma or a missing delimiter",
                     f"该行有 {saw} 个字段，而表头有 {want} 个；请检查是否有未加引号的逗号",
                     row=row)
    m = re.search(r"EOF inside string starting at row (\d+)", msg)
    if m:
        row = int(m.group(1)) + 1
        return _fail(p, "a quote (\") opened here is never closed; fix the quoting",
                     "此处的引号（\"）没有闭合；请修正引号", row=row)
    return _fail(p, f"not a readable CSV file ({msg.splitlines()[0]}); check the format",
                 f"不是可读的 CSV 文件（{msg.splitlines()[0]}）；请检查格式")


def _check_delimiter(p: Path, header: list[Any]) -> None:
    if len(header) == 1:
        name = str(header[0])
        for delim, what in _DELIMITERS.items():
            if delim in name:
                raise _fail(p, f"the columns are separated by {what}, not commas; save the file as "
                               f"comma-separated CSV (in Excel: Save As → CSV UTF-8)",
                            f"列之间用{_DELIMITERS_ZH[delim]}分隔，而不是逗号；请另存为逗号分隔的 CSV"
                            f"（Excel：另存为 → CSV UTF-8）", row=1, column=name[:40])


def _read_csv(p: Path) -> tuple[list[Any], pd.DataFrame]:
    text = _decode(p.read_bytes(), p).lstrip("\ufeff")
    if not text.strip():
        raise _no_content(p)
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, **_CSV_OPTIONS)
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise _csv_error(p, exc, text.split("\n", 1)[0]) from None
    header = list(df.iloc[0]) if len(df) else []
    _check_delimiter(p, header)
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
        ws_title = ws.title
        ws.reset_dimensions()  # do not trust the stored sheet size; read what is there
        rows = [list(r) for r in ws.iter_rows(min_row=1, values_only=True)]
        top = rows[0] if rows else []
        named = [k for k, v in enumerate(top) if not _is_blank(v)]
        gaps = bool(named) and any(_is_blank(v) for v in top[:named[-1]])
        merged = _merged_row1(ws) if gaps else []   # only then: it reads the sheet's XML again
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
    _refuse_merged_header(p, ws_title, header, merged)
    if len(filled) == 1 and width > 1 and len(rows) > 1 and \
            sum(not _is_blank(v) for v in rows[1]) > 1:
        raise _fail(p, f"row 1 of sheet '{ws.title}' holds a single cell ('{filled[0]}'), which "
                       f"looks like a title, not the column names; delete the rows above the "
                       f"header so the column names are in row 1",
                    f"工作表“{ws.title}”第 1 行只有一个单元格（“{filled[0]}”），像是标题而不是列名；"
                    f"请删除表头上方的行，使列名位于第 1 行", row=1)
    body = pd.DataFrame(rows[1:], columns=range(width), dtype=object)
    return header, body


_MERGE_REF = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')


def _merged_row1(ws) -> list[tuple[str, int]]:
    """Merged ranges of a read-only worksheet that start in row 1 → (range, first column index);
    read from the sheet's XML (the read-only reader does not parse merged cells)."""
    from openpyxl.utils import column_index_from_string
    found: list[tuple[str, int]] = []
    tail = b""
    try:
        with ws._get_source() as src:           # the sheet's XML, streamed
            for block in iter(lambda: src.read(_BLOCK), b""):
                text = tail + block
                for m in _MERGE_REF.finditer(text):
                    if m.group(2) == b"1" and m.end() > len(tail):
                        a, b = m.group(1).decode(), (m.group(3) or m.group(1)).decode()
                        found.append((f"{a}1:{b}{(m.group(4) or b'1').decode()}",
                                      column_index_from_string(a) - 1))
                tail = text[-200:]
    except (AttributeError, KeyError, OSError):   # not an openpyxl read-only sheet: no check
        return []
    return sorted(found, key=lambda f: f[1])


def _refuse_merged_header(p: Path, title: str, header: list[Any],
                          merged: list[tuple[str, int]]) -> None:
    """Row 1 has empty cells between named ones: when merged cells start there, it is a row of
    group labels above the column names (a two-row header) — say so."""
    if not merged:
        return
    refs = ", ".join(ref for ref, _ in merged[:4]) + (", …" if len(merged) > 4 else "")
    labels = [str(header[k]).strip() for _, k in merged if k < len(header)
              and not _is_blank(header[k])]
    shown = ", ".join(f"'{_show(v)}'" for v in labels[:4]) + (", …" if len(labels) > 4 else "")
    shown_zh = "、".join(f"“{_show(v)}”" for v in labels[:4]) + ("……" if len(labels) > 4 else "")
    raise _fail(p, f"row 1 of sheet '{title}' has merged cells ({refs}) holding group labels "
                   f"({shown}) above the column names; NCSI reads one header row of column names "
                   f"— unmerge the cells and delete the group row so that the column names "
                   f"(respondent_id, …, IMAG1, …) are in row 1",
                f"工作表“{title}”第 1 行有合并单元格（{refs}），其中是分组标题（{shown_zh}）而不是列名；"
                f"NCSI 只读取一行列名——请取消合并并删除该分组行，使列名（respondent_id……IMAG1……）"
                f"位于第 1 行", row=1)


def _other_sheets(p: Path) -> tuple[str, list[str]] | None:
    """(first sheet, the other sheets) of an .xlsx workbook, None when it cannot be read."""
    try:
        import openpyxl
        wb = openpyxl.load_workbook(p, read_only=True)
    except Exception:                                # only for a hint: never fail here
        return None
    try:
        names = list(wb.sheetnames)
    finally:
        wb.close()
    return (names[0], names[1:]) if names else None


def _read_sav(p: Path) -> tuple[list[Any], pd.DataFrame]:
    import pyreadstat
    try:
        # codes, not value labels; user-defined missing values (e.g. 98, 99) kept as their codes
        df, _meta = pyreadstat.read_sav(str(p), apply_value_formats=False, user_missing=True)
    except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError) as exc:
        raise _fail(p, f"not a readable SPSS .sav file ({exc}); export it from SPSS again",
                    f"不是可读的 SPSS .sav 文件（{exc}）；请从 SPSS 重新导出") from None
    return list(df.columns), df.reset_index(drop=True).set_axis(range(df.shape[1]), axis=1)


def _parquet_error(p: Path, exc: Exception) -> IngestError:
    return _fail(p, f"not a readable Parquet file ({str(exc).splitlines()[0]}); write it "
                    f"again", "不是可读的 Parquet 文件；请重新生成")


def _read_parquet(p: Path) -> tuple[list[Any], pd.DataFrame]:
    import pyarrow
    try:
        df = pd.read_parquet(p, engine="pyarrow")
    except (pyarrow.ArrowException, OSError, ValueError) as exc:
        raise _parquet_error(p, exc) from None
    return list(df.columns), df.reset_index(drop=True).set_axis(range(df.shape[1]), axis=1)


def _is_blank(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    if v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, str) and not v.strip()


#: The ASCII characters str.isspace() and str.strip() treat as whitespace.
_ASCII_SPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f "


def _plain(values: list[str]) -> bool:
    """True when every value (str) is ASCII, not empty and free of whitespace: then strip() and
    NFKC change none and none is blank. Checked on the values joined by NUL, at C speed (a NUL
    inside a value can only make it answer False, and the values are then looked at one by
    one)."""
    joined = "\0".join(values)
    return bool(joined) and joined.isascii() and not any(c in joined for c in _ASCII_SPACE) \
        and joined[0] != "\0" and joined[-1] != "\0" and "\0\0" not in joined
#: Inferred types of object columns whose factorisation keeps every distinction the cell rules
#: make (in a mixed column True == 1 == 1.0 would share one code, yet True is not a number).
_FACTORISABLE = frozenset({"string", "empty", "integer", "floating", "mixed-integer-float",
                           "boolean"})


def _factorize(values: pd.Series) -> tuple[np.ndarray, list, bool]:
    """A column → (codes, distinct values, whether they are all str); code −1 is a missing cell
    (None/NaN/NA).

    Every per-cell rule below is applied to the distinct values only, then mapped back with
    ``table[codes]`` — index −1 picks the entry appended for missing cells. A column of mixed
    Python types (Excel) is not factorised: each cell is its own "distinct value"."""
    text = pd.api.types.is_string_dtype(values.dtype) and values.dtype != object
    if values.dtype == object:
        inferred = pd.api.types.infer_dtype(values, skipna=True)
        if inferred not in _FACTORISABLE:
            return np.arange(len(values)), values.tolist(), False
        text = inferred in ("string", "empty")
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes, uniques.tolist(), text


def _flags(values, predicate: Callable[[Any], bool]) -> np.ndarray:
    return np.fromiter((predicate(v) for v in values), dtype=bool, count=len(values))


def _blank_cells(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(values.dtype) or \
            pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values.isna().to_numpy()             # a number is never blank; NaN/NaT is
    codes, uniques, text = _factorize(values)
    if text:                                        # _is_blank of a str, for every value
        if _plain(uniques):
            return codes < 0                        # no value is "" or only whitespace
        blank = np.fromiter((not s.strip() for s in uniques), dtype=bool, count=len(uniques))
        return np.append(blank, True)[codes]
    return _flags(uniques + [None], _is_blank)[codes]


def _texts(uniques: list, text: bool) -> list[str | None]:
    """:func:`_text` of each value; for a column of str without a character outside ASCII
    (NFKC leaves ASCII alone) just the strip."""
    if not text:
        return [_text(v) for v in uniques]
    if _plain(uniques):
        return uniques                              # nothing to strip, nothing empty
    if "".join(uniques).isascii():
        return [s.strip() or None for s in uniques]
    normalize = unicodedata.normalize
    return [normalize("NFKC", s).strip() or None if s.strip() else None for s in uniques]


def _blank_rows(columns: list[pd.Series]) -> np.ndarray:
    """Rows whose cells are blank in every one of ``columns``. A column only looks at the rows
    still blank so far, so in practice one column is scanned."""
    n = len(columns[0]) if columns else 0
    left = np.arange(n)
    for col in columns:
        if left.size == 0:
            break
        left = left[_blank_cells(col if left.size == n else col.iloc[left])]
    out = np.zeros(n, dtype=bool)
    out[left] = True
    return out


class _Shape:
    """A file's header row (checked as it always was) and its data rows in file order, fed one
    chunk of rows at a time; blank rows at the very end of the file are dropped (Excel exports
    often end with ",,,,," rows), blank rows in between are kept for validation to name.

    Trailing columns without a name are dropped when the first chunk has no data in them; should
    a later chunk have data there, the file is refused as a whole-file read would refuse it."""

    def __init__(self, p: Path, header: list[Any], first: pd.DataFrame):
        # drop trailing columns without a name and without data (spreadsheet formatting)
        width = len(header)
        while width and _is_blank(header[width - 1]) and \
                (first.empty or _blank_cells(first[width - 1]).all()):
            width -= 1
        header = header[:width]
        if width == 0:
            raise _fail(p, "the file has no column names; row 1 must hold the column names",
                        "文件没有列名；第 1 行必须是列名", row=1)
        names: list[str] = []
        seen: dict[str, int] = {}
        numeric = 0
        for k, v in enumerate(header):
            if _is_blank(v):
                raise self._unnamed(p, k)
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
                               f"{_col_letter(seen[name])} and {_col_letter(k)}); column names "
                               f"must be unique",
                            f"列名“{name}”在表头中出现两次（第 {_col_letter(seen[name])} 列和第 "
                            f"{_col_letter(k)} 列）；列名必须唯一", row=1, column=name)
            seen[name] = k
        self.p = p
        self.names = names
        self.width = width
        self.dropped = list(range(width, first.shape[1]))
        self.rows = 0                       # data rows handed out so far
        self._pending: list[pd.DataFrame] = []  # blank rows not yet known to be trailing

    @staticmethod
    def _unnamed(p: Path, k: int) -> IngestError:
        letter = _col_letter(k)
        return _fail(p, f"column {k + 1} ({letter}) has no name in the header row but holds "
                        f"data; give it a name or delete it",
                     f"第 {k + 1} 列（{letter}）在表头中没有列名但有数据；请命名或删除该列", row=1)

    def feed(self, body: pd.DataFrame) -> pd.DataFrame | None:
        """The next rows of the file (columns by position) → the data rows that can be handed
        out now, named and indexed by data row (0-based), or None while only blank rows came."""
        for k in self.dropped:
            if k < body.shape[1] and not _blank_cells(body[k]).all():
                raise self._unnamed(self.p, self.width)
        body = body.iloc[:, :self.width].set_axis(self.names, axis=1)
        if body.empty:
            return None
        filled = ~_blank_rows([body.iloc[:, k] for k in range(self.width)])
        if not filled.any():
            self._pending.append(body)
            return None
        last = int(np.flatnonzero(filled)[-1]) + 1
        parts = self._pending + [body.iloc[:last]]
        self._pending = [body.iloc[last:]] if last < len(body) else []
        out = pd.concat(parts) if len(parts) > 1 else parts[0]
        out = out.set_axis(pd.RangeIndex(self.rows, self.rows + len(out)), axis=0)
        self.rows += len(out)
        return out

    def finish(self) -> None:
        if self.rows == 0:
            raise _fail(self.p, "the file has a header row but no data rows; export the responses "
                                "too", "文件只有表头，没有数据行；请一并导出答卷数据")


def _frame(p: Path, header: list[Any], body: pd.DataFrame) -> pd.DataFrame:
    """Check the header row and build the DataFrame (names stripped, BOMs removed)."""
    shape = _Shape(p, header, body)
    out = shape.feed(body)
    shape.finish()
    return out.copy()


def _col_letter(k: int) -> str:
    s = ""
    k += 1
    while k:
        k, r = divmod(k - 1, 26)
        s = chr(65 + r) + s
    return s


# ------------------------------------------------------------------------------------------------
# reading in chunks
# ------------------------------------------------------------------------------------------------

def _file_sha256(p: Path) -> str:
    h = hashlib.sha256()
    with p.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_BLOCK), b""):
            h.update(chunk)
    return h.hexdigest()


def _sniff_csv(p: Path) -> tuple[str, str, bytes | None]:
    """The encoding :func:`_decode` would choose for the file, found by decoding it as a stream
    (never the whole text at once), and the file's sha256 → (encoding, sha256, data). ``data``
    is the text re-encoded as UTF-8 when only charset-normalizer's guess (which needs the whole
    file) could decode it, else None. Refuses a file without content, as :func:`_read_csv`."""
    with p.open("rb") as fh:
        head = fh.read(4)
    candidates = [enc for bom, enc in _BOMS if head.startswith(bom)][:1] + ["utf-8", "gb18030"]
    sha256 = None
    for enc in candidates:
        decoder = codecs.getincrementaldecoder(enc)("strict")
        digest = hashlib.sha256() if sha256 is None else None
        failed, leading, content = False, True, False
        with p.open("rb") as fh:
            for block in itertools.chain(iter(lambda: fh.read(_BLOCK), b""), [b""]):
                if digest is not None:
                    digest.update(block)
                if failed:
                    if digest is None:
                        break
                    continue
                try:
                    text = decoder.decode(block, final=not block)
                except UnicodeDecodeError:
                    failed = True
                    continue
                if not content:
                    if leading:  # the text as _read_csv sees it: leading BOMs stripped
                        text = text.lstrip("\ufeff")
                        leading = not text
                    content = bool(text.strip())
        if digest is not None:
            sha256 = digest.hexdigest()
        if failed:
            continue
        if not content:
            raise _no_content(p)
        return enc, sha256, None
    text = _guess_text(p.read_bytes(), p).lstrip("\ufeff")
    if not text.strip():
        raise _no_content(p)
    return "utf-8", sha256 or _file_sha256(p), text.encode("utf-8")


class SurveyChunks:
    """A survey file opened by :func:`open_survey_file`: ``columns`` (the header, checked),
    ``sha256`` (of the file's bytes), iteration → DataFrames of at most ``chunk_rows`` data rows
    (named columns, index = 0-based data row, so spreadsheet row = index + 2), and ``done`` /
    ``total`` for a progress bar (bytes for CSV, rows for other formats).

    Reading errors are those of :func:`read_survey_file`; a file without data rows is refused
    when it is opened. Use as a context manager (or call :meth:`close`)."""

    def __init__(self, path: str | Path, *, chunk_rows: int = CHUNK_ROWS):
        p = Path(path)
        ext = _check_path(p)
        if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, (int, np.integer)) or \
                chunk_rows < 1:
            raise ValueError(f"chunk_rows must be a positive integer, got {chunk_rows!r}")
        self.path = p
        self.chunk_rows = int(chunk_rows)
        self.total = 0
        self._handle: Any = None
        self._rows_read = 0
        try:
            bodies = {".csv": self._csv, ".parquet": self._parquet}.get(ext, self._whole)()
            header, first = next(bodies)
            if ext == ".csv":
                _check_delimiter(p, header)
            self._shape = _Shape(p, header, first)
            self.columns: list[str] = list(self._shape.names)
            self._bodies = self._named(first, bodies)
            self._next = self._read()  # refuse a file without data rows right away
            if self._next is None:
                self._shape.finish()
        except OSError as exc:
            self.close()
            raise _unreadable(p, exc) from None
        except BaseException:
            self.close()
            raise

    # -- the sources: (header, first body) then further bodies, columns by position ------------

    def _csv(self) -> Iterator[tuple[list[Any], pd.DataFrame] | pd.DataFrame]:
        p = self.path
        encoding, self.sha256, data = _sniff_csv(p)
        self._handle = io.BytesIO(data) if data is not None else p.open("rb")
        self.total = len(data) if data is not None else p.stat().st_size
        def first_line() -> str:
            if data is not None:
                raw = data[:1 << 16]
            else:
                with p.open("rb") as fh:
                    raw = fh.read(1 << 16)
            text = raw.decode(encoding if data is None else "utf-8", errors="replace")
            return (text.lstrip("\ufeff").splitlines() or [""])[0]
        try:
            reader = pd.read_csv(self._handle, dtype=object, encoding=encoding,
                                 chunksize=self.chunk_rows, **_CSV_OPTIONS)
            raws = iter(reader)
            raw = next(raws, None)
        except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
            raise _csv_error(p, exc, first_line()) from None
        if raw is None or raw.empty:
            raise _csv_error(p, pd.errors.EmptyDataError("no columns"))
        yield list(raw.iloc[0]), raw.iloc[1:]
        while True:
            try:
                raw = next(raws, None)
            except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
                raise _csv_error(p, exc, first_line()) from None
            if raw is None:
                return
            yield raw

    def _parquet(self) -> Iterator[tuple[list[Any], pd.DataFrame] | pd.DataFrame]:
        import pyarrow as pa
        import pyarrow.parquet as pq
        p = self.path
        self.sha256 = _file_sha256(p)
        errors = (pa.ArrowException, OSError, ValueError)
        try:
            self._handle = pq.ParquetFile(p)
            self.total = self._handle.metadata.num_rows
            batches = self._handle.iter_batches(batch_size=self.chunk_rows)
            batch = next(batches, None)
            if batch is None:
                frame = self._handle.schema_arrow.empty_table().to_pandas()
            else:
                frame = pa.Table.from_batches([batch]).to_pandas()
        except errors as exc:
            raise _parquet_error(p, exc) from None
        header = list(frame.columns)
        positional = range(len(header))
        self._rows_read = len(frame)
        yield header, frame.reset_index(drop=True).set_axis(positional, axis=1)
        while True:
            try:
                batch = next(batches, None)
                if batch is None:
                    return
                frame = pa.Table.from_batches([batch]).to_pandas()
            except errors as exc:
                raise _parquet_error(p, exc) from None
            self._rows_read += len(frame)
            yield frame.reset_index(drop=True).set_axis(positional, axis=1)

    def _whole(self) -> Iterator[tuple[list[Any], pd.DataFrame] | pd.DataFrame]:
        p = self.path
        self.sha256 = _file_sha256(p)
        try:
            header, body = (_read_xlsx if p.suffix.lower() == ".xlsx" else _read_sav)(p)
        except IngestError:
            raise
        except OSError as exc:
            raise _unreadable(p, exc) from None
        self.total = len(body)
        step = self.chunk_rows
        self._rows_read = min(step, len(body))
        yield header, body.iloc[:step]
        for start in range(step, len(body), step):
            self._rows_read = min(start + step, len(body))
            yield body.iloc[start:start + step]

    def _named(self, first: pd.DataFrame,
               bodies: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        out = self._shape.feed(first)
        if out is not None:
            yield out
        for body in bodies:
            out = self._shape.feed(body)
            if out is not None:
                yield out

    # -- the public side ------------------------------------------------------------------------

    @property
    def done(self) -> int:
        """How far reading has got, in the unit of ``total``."""
        if isinstance(self._handle, io.IOBase):
            try:
                return min(self._handle.tell(), self.total)
            except (OSError, ValueError):
                return self.total
        return self._rows_read

    def _read(self) -> pd.DataFrame | None:
        try:
            return next(self._bodies, None)
        except OSError as exc:
            raise _unreadable(self.path, exc) from None

    def __iter__(self) -> Iterator[pd.DataFrame]:
        while self._next is not None:
            chunk, self._next = self._next, None
            yield chunk
            self._next = self._read()
        self._shape.finish()

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None and hasattr(handle, "close"):
            handle.close()

    def __enter__(self) -> SurveyChunks:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_survey_file(path: str | Path, *, chunk_rows: int = CHUNK_ROWS) -> SurveyChunks:
    """Open a survey file for reading in chunks of ``chunk_rows`` data rows (see
    :class:`SurveyChunks`). CSV (any encoding :func:`read_survey_file` reads) and Parquet are
    streamed; Excel and SPSS files are read whole (they are small in practice) and then handed
    out in chunks. The concatenated chunks equal :func:`read_survey_file`'s frame (CSV cells as
    text; the dtype of a CSV column is object here)."""
    return SurveyChunks(path, chunk_rows=chunk_rows)


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
        try:
            return _OK, float(v)
        except OverflowError:                        # an integer beyond any float
            return _INF, math.inf if v > 0 else -math.inf
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
        v = int(v)
    text = str(v)
    return text if len(text) <= 40 else text[:37] + "…"


def _infinite(v: Any) -> tuple[str, str]:
    """How a cell that is no finite number is described: an integer too large for a number, or
    an infinity."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
        return "is too large to be a number", "太大，不是有效数值"
    return "is infinite", "为无穷大"



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


@dataclass
class IngestedWave:
    """What :func:`ingest_file` stored: the wave's id in the store and its report (the rows
    themselves are in the store, see ``Store.responses``)."""

    wave_id: int
    report: dict
    survey_id: str
    survey_version: str
    year: int
    source_file: str
    source_sha256: str


def _check_year(shown: str, year: Any) -> int:
    if isinstance(year, bool) or not isinstance(year, (int, np.integer)) or \
            not YEAR_RANGE[0] <= int(year) <= YEAR_RANGE[1]:
        raise _fail(shown, f"year {year!r} is not a survey year ({YEAR_RANGE[0]}–{YEAR_RANGE[1]}); "
                           f"give the year of the wave, e.g. 2025",
                    f"年份 {year!r} 不是有效的调查年份（{YEAR_RANGE[0]}–{YEAR_RANGE[1]}）；请填写调查年份，如 2025")
    return int(year)


def _column_names(shown: str, columns: Any) -> list[str]:
    names = [str(c).replace("\ufeff", "").strip() for c in columns]
    if len(set(names)) != len(names):
        dup = next(c for c in names if names.count(c) > 1)
        raise _fail(shown, f"column name '{dup}' appears twice; column names must be unique",
                    f"列名“{dup}”出现两次；列名必须唯一", row=1, column=dup)
    return names


def _no_rows(shown: str) -> IngestError:
    return _fail(shown, "no data rows; the file must hold one row per respondent",
                 "没有数据行；文件中每位受访者应占一行")


def validate(df: pd.DataFrame, questionnaire: Questionnaire, taxonomy: Taxonomy, brands: Any,
             *, file: str | Path | None = None, year: int) -> ValidatedWave:
    """Validate one survey file's rows against ``questionnaire``; screen; build the wave.

    ``brands``: the registered brands (a DataFrame with columns brand, industry, e.g.
    ``store.known_brands()``; an iterable of (brand, industry) pairs also works). Raises one
    :class:`IngestError` naming the first problem (row, column), the number of cells with the
    same problem and the other kinds found; ``error.problems`` lists them (dicts; at most
    :data:`KEEP_PROBLEMS` per kind and column), ``error.n_problems`` counts them all.

    ``report``: n_rows, n_valid, n_speeders, n_straightliners, item_nonresponse (item → share of
    rows without a usable answer: empty or a missing code), item_empty (item → empty cells),
    missing_codes ("98" → count over all items), missing_codes_by_item, n_by_industry,
    n_by_brand, columns (category column → value counts), screening (the rules used), warnings.

    The whole frame is checked at once; :func:`ingest_file` applies the same checks chunk by
    chunk to files of any size.
    """
    shown = str(file) if file is not None else "<data>"
    year = _check_year(shown, year)
    df = df.reset_index(drop=True)
    columns = _column_names(shown, df.columns)
    df = df.set_axis(columns, axis=1)
    if len(df) == 0:
        raise _no_rows(shown)
    checker = _Checker(questionnaire, taxonomy, brands, file=file, year=year, columns=columns)
    part = checker.check(df)
    report = checker.finish()
    assert part is not None  # no problem was found, so the chunk was kept
    responses = part.responses()
    for c in ("respondent_id", "industry", "brand", "region", "gender", "status"):
        responses[c] = responses[c].astype("str")
    return ValidatedWave(responses=responses, report=report, survey_id=questionnaire.id,
                         survey_version=questionnaire.version, year=year,
                         source_file=checker.name, source_sha256=_sha256(file, df),
                         extra=part.extra(checker.extra_names))


class _Part:
    """One validated chunk: the cleaned columns and statuses of its rows. Text columns and items
    are also kept as (codes, table of distinct values): the chunk is parked Arrow-dictionary-
    encoded, with no per-row work."""

    def __init__(self, texts: dict[str, np.ndarray], cells: dict[str, tuple[np.ndarray, Any]],
                 nums: dict[str, np.ndarray], status: np.ndarray, item_codes: tuple[str, ...],
                 items: np.ndarray, item_cells: list[tuple[np.ndarray, np.ndarray]]):
        self.texts, self.cells, self.nums, self.status = texts, cells, nums, status
        self.item_codes, self.items, self.item_cells = item_codes, items, item_cells

    def responses(self) -> pd.DataFrame:
        """RESPONSE_COLUMNS (text columns as object) then the items — what Store.add_wave takes."""
        out: dict[str, Any] = {}
        for c in ("respondent_id", "industry", "brand", "region", "gender"):
            out[c] = pd.Series(self.texts[c], dtype=object, copy=False)
        for c in ("age", "weight", "duration_sec"):
            out[c] = pd.Series(self.nums[c], dtype="float64", copy=False)
        out["status"] = pd.Series(np.array(STATUSES, dtype=object)[self.status], dtype=object)
        for j, code in enumerate(self.item_codes):
            out[code] = pd.Series(self.items[:, j], dtype="float64")
        return pd.DataFrame(out)

    def extra(self, names: list[str]) -> pd.DataFrame:
        return pd.DataFrame({"respondent_id": pd.Series(self.texts["respondent_id"], dtype="str"),
                             **{c: pd.Series(self.texts[c], dtype="str") if c in self.texts
                                else pd.Series(self.nums[c], dtype="float64") for c in names}})

    @staticmethod
    def schema(item_codes: tuple[str, ...]):
        """respondent_id as text; the other text columns, status and items dictionary-encoded;
        age, weight, duration_sec as float."""
        import pyarrow as pa
        words = pa.dictionary(pa.int32(), pa.string())
        return pa.schema([("respondent_id", pa.string())]
                         + [(c, words) for c in ("industry", "brand", "region", "gender")]
                         + [(c, pa.float64()) for c in ("age", "weight", "duration_sec")]
                         + [("status", words)]
                         + [(c, pa.dictionary(pa.int32(), pa.float64())) for c in item_codes])

    def batch(self, schema):
        import pyarrow as pa

        def encoded(codes: np.ndarray, table: Any, kind) -> pa.DictionaryArray:
            return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)),
                                                  pa.array(table, type=kind))
        arrays = [pa.array(self.texts["respondent_id"], type=pa.string())]
        arrays += [encoded(*self.cells[c], pa.string())
                   for c in ("industry", "brand", "region", "gender")]
        arrays += [pa.array(self.nums[c], type=pa.float64())
                   for c in ("age", "weight", "duration_sec")]
        arrays.append(encoded(self.status, list(STATUSES), pa.string()))
        arrays += [encoded(codes, values, pa.float64()) for codes, values in self.item_cells]
        return pa.RecordBatch.from_arrays(arrays, schema=schema)


class _SeenIds:
    """The respondent_ids met so far, for the duplicate check across chunks: per chunk the
    64-bit hashes of its new ids (sorted), their rows, and the ids themselves in an Arrow array
    (compared only where hashes match) — about 30 bytes per row instead of a Python dict. A
    table of 2**24 flags (one per top 24 bits of a hash seen) spares the search for most ids."""

    _SLOT_BITS = 24

    def __init__(self):
        self._parts: list[tuple[np.ndarray, np.ndarray, Any]] = []
        self._slots = np.zeros(1 << self._SLOT_BITS, dtype=bool)

    def add(self, ids: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Record ``ids`` (str, in row order) at spreadsheet ``rows``; return, in row order, the
        positions (into ``ids``) of those met before and the row each was first met on."""
        import pyarrow as pa
        m = len(ids)
        if m == 0:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty
        hashes = pd.util.hash_array(ids, categorize=False)
        slots = (hashes >> np.uint64(64 - self._SLOT_BITS)).astype(np.intp)
        maybe = np.flatnonzero(self._slots[slots])     # the others were never seen
        first = np.full(m, -1, dtype=np.int64)           # row of an earlier occurrence
        for part_hashes, part_rows, part_ids in self._parts:  # earlier chunks, oldest first
            at = np.searchsorted(part_hashes, hashes[maybe])
            found = part_hashes[np.minimum(at, part_hashes.size - 1)] == hashes[maybe]
            for i, j in zip(maybe[found].tolist(), at[found].tolist()):
                if first[i] >= 0:
                    continue
                while j < part_hashes.size and part_hashes[j] == hashes[i]:
                    if part_ids[j].as_py() == ids[i]:
                        first[i] = part_rows[j]
                        break
                    j += 1
        order = np.argsort(hashes, kind="stable")      # equal ids end up next to each other,
        ordered = hashes[order]                        # in row order
        same = np.flatnonzero(ordered[1:] == ordered[:-1])
        new = first < 0
        if same.size:
            run_starts = same[np.r_[True, same[1:] != same[:-1] + 1]]
            for start in run_starts:
                end = start + 1
                while end < m and ordered[end] == ordered[start]:
                    end += 1
                groups: dict[str, int] = {}
                for i in order[start:end]:
                    key = ids[i]
                    if key not in groups:
                        groups[key] = i
                    elif first[groups[key]] >= 0:
                        first[i] = first[groups[key]]
                    else:
                        first[i] = rows[groups[key]]
                        new[i] = False
        keep = order[new[order]]
        if keep.size:
            self._parts.append((hashes[keep], rows[keep].astype(np.int64),
                                pa.array(ids[keep], type=pa.string())))
            self._slots[slots[keep]] = True
        dup = np.flatnonzero(first >= 0)
        return dup, first[dup]


class _Checker:
    """The checks of :func:`validate`, fed one chunk of rows at a time (in file order).

    Per chunk, cell checks run on the distinct values of each column and are mapped back to the
    rows; respondent_id uniqueness and the whole-column checks (an item without any answer or
    without variance) accumulate across chunks. Problems are collected, not raised:
    :meth:`finish` raises one IngestError for all of them, or returns the wave's report."""

    def __init__(self, questionnaire: Questionnaire, taxonomy: Taxonomy, brands: Any, *,
                 file: str | Path | None, year: int, columns: list[str]):
        q = self.q = questionnaire
        self.shown = str(file) if file is not None else "<data>"
        self.name = Path(file).name if file is not None else "<data>"
        self.year = _check_year(self.shown, year)
        self.columns = _column_names(self.shown, columns)
        self.position = {c: k for k, c in enumerate(self.columns)}

        # -- structure: required columns ----------------------------------------------------
        expected = [c.name for c in q.columns if c.required] + list(q.item_codes)
        missing = [c for c in expected if c not in self.position]
        if missing:
            lower = {c.lower(): c for c in self.columns}
            cased = [m for m in missing if m.lower() in lower]
            hints = [f"'{lower[m.lower()]}' should be '{m}'" for m in cased]
            hints_zh = [f"“{lower[m.lower()]}”应为“{m}”" for m in cased]
            hint = f" ({'; '.join(hints)}: names are case-sensitive)" if hints else ""
            hint_zh = f"（{'；'.join(hints_zh)}：列名区分大小写）" if hints else ""
            sheets = _other_sheets(Path(file)) if file is not None and \
                str(file).lower().endswith(".xlsx") else None
            if sheets and sheets[1]:
                others = ", ".join(f"'{s}'" for s in sheets[1])
                others_zh = "、".join(f"“{s}”" for s in sheets[1])
                hint += (f" (NCSI reads only the first worksheet, '{sheets[0]}'; the workbook "
                         f"also has {others} — move the data sheet to the front)")
                hint_zh += (f"（NCSI 只读取第一个工作表“{sheets[0]}”；该工作簿还有工作表 {others_zh}"
                            f"——请把数据所在的工作表移到最前面）")
            if len(missing) == len(expected):       # nothing of the questionnaire in row 1
                found = ", ".join(f"'{_show(c)}'" for c in self.columns[:4]) + \
                    (", …" if len(self.columns) > 4 else "")
                found_zh = "、".join(f"“{_show(c)}”" for c in self.columns[:4]) + \
                    ("……" if len(self.columns) > 4 else "")
                raise _fail(self.shown, f"missing required column(s): none of the {len(expected)} "
                                        f"columns of questionnaire {q.id} is in row 1, which "
                                        f"holds {found}{hint}; row 1 must hold the column names "
                                        f"{', '.join(expected)}",
                            f"缺少必需列：第 1 行（内容为 {found_zh}）中没有问卷 {q.id} 的任何一列"
                            f"（共 {len(expected)} 列）{hint_zh}；第 1 行必须是列名 "
                            f"{'、'.join(expected)}", row=1, column=missing[0])
            raise _fail(self.shown, f"missing required column(s) {', '.join(missing)}{hint}; "
                                    f"questionnaire {q.id} expects the columns "
                                    f"{', '.join(expected)}",
                        f"缺少必需列 {'、'.join(missing)}{hint_zh}；问卷 {q.id} 需要的列为 "
                        f"{'、'.join(expected)}", row=1, column=missing[0])
        known_names = set(q.column_names) | set(q.item_codes)
        self.extra_cols = [c for c in self.columns if c not in known_names]
        self.warnings: list[str] = []
        if self.extra_cols:
            self.warnings.append(
                f"{self.name}: column(s) {', '.join(self.extra_cols)} are not in questionnaire "
                f"{q.id} and were ignored / 列 {'、'.join(self.extra_cols)} 不在问卷 {q.id} 中，已忽略")
        self.used_cols = [c for c in self.columns if c in known_names]
        self.present_cols = [c for c in q.columns if c.name in self.position]
        self.extra_names = [c.name for c in self.present_cols if c.name not in CORE_COLUMNS]

        # -- industry and brand ---------------------------------------------------------------
        self.sector = taxonomy.sector(q.sector)
        self.taxonomy = taxonomy
        self.own = set(self.sector.industry_codes)
        self.all_industries = {i.code: i for i in taxonomy.industries}
        self.registered = _brand_pairs(brands)
        self.brands_of: dict[str, list[str]] = {}
        self.industries_of: dict[str, list[str]] = {}
        for b, i in sorted(self.registered):
            self.brands_of.setdefault(i, []).append(b)
            self.industries_of.setdefault(b, []).append(i)

        # -- items ------------------------------------------------------------------------------
        self.codes = sorted(q.missing_codes)
        self.codes_text = ", ".join(f"{c} ({q.missing_codes[c]['en']})" for c in self.codes) \
            or "none"
        self.codes_zh = "、".join(f"{c}（{q.missing_codes[c]['zh']}）" for c in self.codes) or "无"
        self.item_codes = tuple(q.item_codes)
        n_items = len(self.item_codes)

        # -- what accumulates across chunks ---------------------------------------------------
        self.problems: list[Problem] = []
        self.counts: Counter[str] = Counter()
        self._kept: Counter[tuple[str, str | None]] = Counter()
        self.n_problems = 0
        self.n_rows = 0
        self.ids = _SeenIds()
        self.cell_problem_cols: set[str] = set()
        self.answered = np.zeros(n_items, dtype=np.int64)
        self.first_answer = np.full(n_items, np.nan)
        self.varies = np.zeros(n_items, dtype=bool)
        self.n_status = Counter()
        self.empty_cells = np.zeros(n_items, dtype=np.int64)
        self.code_cells = np.zeros((n_items, len(self.codes)), dtype=np.int64)
        self.value_counts: dict[str, Counter] = {
            c: Counter() for c in ["industry", "brand"] + [col.name for col in self.present_cols
                                                          if col.type == "category"]}

    # -- problems --------------------------------------------------------------------------------

    def _add(self, kind: str, column: str | None, rows: np.ndarray,
             message: Callable[[int], tuple[str, str]]) -> None:
        """Problems of one kind in one column at spreadsheet ``rows`` (ascending; None for a
        whole-column problem); ``message(i)`` → (English, Chinese) for the i-th."""
        count = 1 if rows is None else len(rows)
        if not count:
            return
        self.counts[kind] += count
        self.n_problems += count
        room = KEEP_PROBLEMS - self._kept[(kind, column)]
        order = self.position.get(column, -1) if column else -1
        for i in range(min(room, count)):
            en, zh = message(i)
            self.problems.append(Problem(kind, None if rows is None else int(rows[i]), column,
                                         en, zh, order))
        self._kept[(kind, column)] += min(room, count)

    def _add_by_value(self, kind: str, column: str, rows: np.ndarray, values: np.ndarray,
                      message: Callable[[int], tuple[str, str]]) -> None:
        """Problems whose message depends on the cell's distinct value ``values[i]``."""
        cache: dict[int, tuple[str, str]] = {}

        def text(i: int) -> tuple[str, str]:
            k = int(values[i])
            if k not in cache:
                cache[k] = message(k)
            return cache[k]
        self._add(kind, column, rows, text)

    # -- one chunk ---------------------------------------------------------------------------

    def check(self, df: pd.DataFrame) -> _Part | None:
        """Check one chunk (named columns; index = 0-based data row). Returns the validated rows,
        or None once any problem has been found (nothing will be stored then)."""
        q = self.q
        n = len(df)
        if list(df.columns) != self.columns:
            df = df.set_axis(self.columns, axis=1)
        rows = np.asarray(df.index, dtype=np.int64) + 2
        self.n_rows += n

        # -- empty rows -----------------------------------------------------------------------
        blank = _blank_rows([df[c] for c in self.used_cols])
        self._add("empty_row", None, rows[blank],
                  lambda i: ("the row is empty; delete it", "该行为空；请删除"))
        live = ~blank

        # -- respondent columns -------------------------------------------------------------------
        texts: dict[str, np.ndarray] = {}
        cells: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # text column → (codes, texts)
        nums: dict[str, np.ndarray] = {}
        for col in self.present_cols:
            if col.type in ("string", "category"):
                codes, table = self._text_column(col, df[col.name], rows, live)
                cells[col.name] = (codes, table)
                texts[col.name] = table[codes]
            else:
                nums[col.name] = self._number_column(col, df[col.name], rows, live)

        # respondent_id unique (within the file: across chunks)
        rid = texts["respondent_id"]
        codes, table = cells["respondent_id"]
        usable = np.flatnonzero(live & ~pd.isna(table)[codes])
        dup, first_rows = self.ids.add(rid[usable], rows[usable])
        at = usable[dup]
        self._add("duplicate_id", "respondent_id", rows[at], lambda i: (
            f"respondent_id '{rid[at[i]]}' appears twice: rows {first_rows[i]} and {rows[at[i]]}; "
            f"every respondent needs a unique id",
            f"respondent_id“{rid[at[i]]}”出现两次：第 {first_rows[i]} 行和第 {rows[at[i]]} 行；"
            f"每位受访者的编号必须唯一"))

        industry_ok = self._industry(cells["industry"], rows, live)
        self._brand(cells["brand"], cells["industry"], rows, industry_ok)

        # -- items ------------------------------------------------------------------------------
        items = np.full((n, len(self.item_codes)), np.nan)
        item_cells = []
        for j, code in enumerate(self.item_codes):
            bad, item_codes, values = self._item_column(code, df[code], rows, live, items, j)
            item_cells.append((item_codes, values))
            if bad:
                self.cell_problem_cols.add(code)

        codes = self.codes
        is_code = np.isin(items, codes) if codes else np.zeros_like(items, dtype=bool)
        answered = ~np.isnan(items) & ~is_code
        answered &= live[:, None]
        counts = answered.sum(axis=0)
        for j in np.flatnonzero(counts):
            values = items[answered[:, j], j]
            if np.isnan(self.first_answer[j]):
                self.first_answer[j] = values[0]
            if not self.varies[j] and (values != self.first_answer[j]).any():
                self.varies[j] = True
        self.answered += counts

        if self.n_problems:
            return None

        # -- screening ----------------------------------------------------------------------------
        rules = q.screening
        status = np.zeros(n, dtype=np.int8)            # index into STATUSES
        speeder = nums["duration_sec"] < rules.min_duration_sec
        status[speeder] = 1
        straight = np.zeros(n, dtype=bool)
        if rules.straightlining:
            n_answered = answered.sum(axis=1)
            highest = np.where(answered, items, -np.inf).max(axis=1)
            lowest = np.where(answered, items, np.inf).min(axis=1)
            spread = np.where(n_answered > 0, highest - lowest, np.inf)
            straight = (n_answered >= rules.straightlining_min_answered * len(q.items)) & \
                (n_answered > 0) & (spread == 0) & ~speeder
            status[straight] = 2

        # -- what the report counts -------------------------------------------------------------
        n_speeders, n_straight = int(speeder.sum()), int(straight.sum())
        self.n_status.update({"valid": n - n_speeders - n_straight, "speeder": n_speeders,
                              "straightliner": n_straight})
        self.empty_cells += np.isnan(items).sum(axis=0)
        for k, c in enumerate(codes):
            self.code_cells[:, k] += (items == c).sum(axis=0)
        for name, counter in self.value_counts.items():
            col_codes, table = cells[name]
            tally = np.bincount(col_codes % len(table), minlength=len(table))
            for k in np.flatnonzero(tally):
                if table[k] is not None:
                    counter[table[k]] += int(tally[k])
        return _Part(texts, cells, nums, status, self.item_codes, items, item_cells)

    def _text_column(self, col: Column, values: pd.Series, rows: np.ndarray,
                     live: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        codes, uniques, text = _factorize(values)
        table = np.empty(len(uniques) + 1, dtype=object)
        table[:-1] = _texts(uniques, text)
        table[-1] = None
        codes = codes % len(table)          # missing (−1) → the None at the end
        if not col.allow_empty:
            at = live & pd.isna(table)[codes]
            self._add("empty_value", col.name, rows[at], lambda i: (
                f"{col.name} is empty; every respondent needs a {col.en}",
                f"{col.name} 为空；每位受访者都必须填写{col.zh}"))
        allowed = list(col.values or {})
        if allowed:
            options = ", ".join(f"{k} ({lab['en']})" for k, lab in (col.values or {}).items())
            options_zh = "、".join(f"{k}（{lab['zh']}）" for k, lab in (col.values or {}).items())
            at = live & _flags(table, lambda t: t is not None and t not in allowed)[codes]
            self._add_by_value("bad_category", col.name, rows[at], codes[at], lambda k: (
                f"'{_show(table[k])}' is not an allowed {col.name}; use one of: {options}",
                f"“{_show(table[k])}”不是允许的 {col.name} 取值；可用：{options_zh}"))
        return codes, table

    def _number_column(self, col: Column, values: pd.Series, rows: np.ndarray,
                       live: np.ndarray) -> np.ndarray:
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

        codes, uniques, _ = _factorize(values)
        uniques.append(None)
        codes = codes % len(uniques)
        value = np.full(len(uniques), np.nan)
        kind = np.zeros(len(uniques), dtype=np.int8)   # index into KIND below; 0: no problem
        KIND = (None, "empty_value", "not_number", "not_finite", "not_integer", "bad_value")
        for k, v in enumerate(uniques):
            parsed, x = _number(v)
            if parsed == _EMPTY:
                kind[k] = 0 if col.allow_empty else 1
            elif parsed == _BAD:
                kind[k] = 2
            elif parsed == _INF:
                kind[k] = 3
            elif col.type == "integer" and not x.is_integer():
                kind[k] = 4
            elif (col.min_exclusive is not None and not x > col.min_exclusive) or \
                    (col.min is not None and x < col.min) or (col.max is not None and x > col.max):
                kind[k] = 5
            else:
                value[k] = x

        def message(k: int) -> tuple[str, str]:
            v = uniques[k]
            return {
                1: (f"{col.name} is empty; {need}", f"{col.name} 为空；{need_zh}"),
                2: (f"'{_show(v)}' is not a number; {need}", f"“{_show(v)}”不是数字；{need_zh}"),
                3: (f"'{_show(v)}' {_infinite(v)[0]}; {need}",
                    f"“{_show(v)}”{_infinite(v)[1]}；{need_zh}"),
                4: (f"{_show(v)} is not a whole number; {need}",
                    f"{_show(v)} 不是整数；{need_zh}"),
                5: (f"{_show(v)} is not allowed: {need}", f"{_show(v)} 不允许：{need_zh}"),
            }[int(kind[k])]
        row_kind = kind[codes]
        row_kind[~live] = 0
        for kid in np.unique(row_kind[row_kind > 0]):
            at = row_kind == kid
            self._add_by_value(KIND[kid], col.name, rows[at], codes[at], message)
        out = value[codes]
        out[~live] = np.nan
        return out

    def _industry(self, industry: tuple[np.ndarray, np.ndarray], rows: np.ndarray,
                  live: np.ndarray) -> np.ndarray:
        """Industry in the taxonomy and in this questionnaire's sector → rows whose industry
        is fine."""
        q, sector, taxonomy = self.q, self.sector, self.taxonomy
        codes, table = industry
        verdict = np.zeros(len(table), dtype=np.int8)   # 0 none, 1 own, 2 unknown, 3 other
        for k, ind in enumerate(table):
            if ind is None:
                continue
            verdict[k] = 2 if ind not in self.all_industries else 1 if ind in self.own else 3

        def unknown(k: int) -> tuple[str, str]:
            ind = table[k]
            by_name = [i.code for i in taxonomy.industries if ind in (i.zh, i.en)]
            hint = f" (use the code '{by_name[0]}')" if by_name else ""
            hint_zh = f"（请使用代码“{by_name[0]}”）" if by_name else ""
            return (f"industry '{ind}' is not in the taxonomy{hint}; the industries of sector "
                    f"{sector.code} are: {', '.join(sector.industry_codes)}",
                    f"行业“{ind}”不在行业分类中{hint_zh}；领域 {sector.code}（{sector.zh}）的行业为："
                    f"{'、'.join(sector.industry_codes)}")

        def other_sector(k: int) -> tuple[str, str]:
            ind = table[k]
            other = taxonomy.sector(self.all_industries[ind].sector)
            return (f"industry '{ind}' belongs to sector {other.code} (questionnaire "
                    f"{other.survey}), not to {sector.code} of questionnaire {q.id}; ingest those "
                    f"rows with --survey {other.survey}",
                    f"行业“{ind}”属于领域 {other.code}（{other.zh}，问卷 {other.survey}），不属于问卷 "
                    f"{q.id} 的领域 {sector.code}（{sector.zh}）；请用 --survey {other.survey} 导入这些行")
        row_verdict = verdict[codes]
        row_verdict[~live] = 0
        for kid, kind, message in ((2, "unknown_industry", unknown),
                                   (3, "other_sector", other_sector)):
            at = row_verdict == kid
            self._add_by_value(kind, "industry", rows[at], codes[at], message)
        return row_verdict == 1

    def _brand(self, brand: tuple[np.ndarray, np.ndarray], industry: tuple[np.ndarray, np.ndarray],
               rows: np.ndarray, industry_ok: np.ndarray) -> None:
        """Brand registered for the row's industry (rows whose industry is fine)."""
        b_codes, b_table = brand
        i_codes, i_table = industry
        at = np.flatnonzero(industry_ok & ~pd.isna(b_table)[b_codes])
        if not at.size:
            return
        pair = b_codes[at].astype(np.int64) * len(i_table) + i_codes[at]
        pairs, which = np.unique(pair, return_inverse=True)
        bad = np.fromiter(((b_table[k // len(i_table)], i_table[k % len(i_table)])
                           not in self.registered for k in pairs.tolist()),
                          dtype=bool, count=len(pairs))
        hit = bad[which]
        at, which = at[hit], which[hit]

        def message(k: int) -> tuple[str, str]:
            br, ind = b_table[pairs[k] // len(i_table)], i_table[pairs[k] % len(i_table)]
            if br in self.industries_of:
                why = (f"is registered for industry {', '.join(self.industries_of[br])}, not "
                       f"{ind}; correct the brand or the industry of the row, or register the "
                       f"brand for {ind} (ncsi brands FILE)")
                why_zh = (f"登记在行业 {'、'.join(self.industries_of[br])}，而不是 {ind}；请更正该行的"
                          f"品牌或行业，或将该品牌登记到 {ind}（ncsi brands 文件）")
            else:
                some = self.brands_of.get(ind, [])
                listed = ", ".join(some[:8]) + (", …" if len(some) > 8 else "")
                why = (f"is not registered for industry {ind} (registered: {listed or 'none'}); "
                       f"register it first (ncsi brands FILE) or correct the code")
                why_zh = (f"未在行业 {ind} 登记（已登记：{listed or '无'}）；请先登记品牌（ncsi brands 文件）"
                          f"或更正代码")
            return f"brand '{br}' {why}", f"品牌“{br}”{why_zh}"
        self._add_by_value("unknown_brand", "brand", rows[at], which, message)

    def _item_column(self, code: str, values: pd.Series, rows: np.ndarray, live: np.ndarray,
                     items: np.ndarray, j: int) -> tuple[bool, np.ndarray, np.ndarray]:
        """Fill ``items[:, j]`` with the column's answers → (whether a cell has a problem, the
        cells' codes, the answer of each code)."""
        q, lo, hi = self.q, self.q.scale_min, self.q.scale_max
        codes_text, codes_zh = self.codes_text, self.codes_zh
        codes, uniques, _ = _factorize(values)
        uniques.append(None)
        codes = codes % len(uniques)
        value = np.full(len(uniques), np.nan)
        kind = np.zeros(len(uniques), dtype=np.int8)
        KIND = (None, "not_number", "not_finite", "not_integer", "undeclared_code",
                "out_of_range")
        numbers: list[float] = [math.nan] * len(uniques)
        for k, v in enumerate(uniques):
            parsed, x = _number(v)
            numbers[k] = x
            if parsed == _EMPTY:
                continue
            if parsed == _BAD:
                kind[k] = 1
            elif parsed == _INF:
                kind[k] = 2
            elif not x.is_integer():
                kind[k] = 3
            elif lo <= x <= hi or int(x) in q.missing_codes:
                value[k] = x
            elif x >= 90 or x < 0:
                kind[k] = 4
            else:
                kind[k] = 5

        def message(k: int) -> tuple[str, str]:
            v, x = uniques[k], numbers[k]
            kid = int(kind[k])
            if kid == 1:
                labels = self.name.lower().endswith(".sav") and isinstance(v, str) and \
                    any(c.isalpha() for c in v)
                return (f"'{_show(v)}' is not a number; answers are whole numbers {lo}–{hi}, a "
                        f"declared missing code ({codes_text}) or an empty cell for no answer"
                        + ("; the file holds value labels instead of codes — export the codes "
                           "(in SPSS: values, not value labels)" if labels else ""),
                        f"“{_show(v)}”不是数字；答案应为 {lo}–{hi} 的整数、已声明的缺失值代码（{codes_zh}）"
                        f"或空单元格（未作答）"
                        + ("；文件中是值标签而不是代码——请导出代码（SPSS 中导出数值而非值标签）"
                           if labels else ""))
            if kid == 2:
                what, what_zh = _infinite(v)
                return (f"'{_show(v)}' {what}; answers are whole numbers {lo}–{hi} or "
                        f"{codes_text}", f"“{_show(v)}”{what_zh}；答案应为 {lo}–{hi} 的整数或 {codes_zh}")
            if kid == 3:
                return (f"{_show(v)} is not a whole number; answers are whole numbers {lo}–{hi} "
                        f"or {codes_text}",
                        f"{_show(v)} 不是整数；答案应为 {lo}–{hi} 的整数或 {codes_zh}")
            if kid == 4:
                return (f"{int(x)} is not a declared missing-value code of questionnaire {q.id} "
                        f"(declared: {codes_text}); recode it to one of those or leave the cell "
                        f"empty",
                        f"{int(x)} 不是问卷 {q.id} 声明的缺失值代码（已声明：{codes_zh}）；请改为已声明的代码或留空")
            return (f"{int(x)} is outside the scale {lo}–{hi} and is not a declared missing code "
                    f"({codes_text})",
                    f"{int(x)} 超出量表范围 {lo}–{hi}，也不是已声明的缺失值代码（{codes_zh}）")
        row_kind = kind[codes]
        row_kind[~live] = 0
        for kid in np.unique(row_kind[row_kind > 0]):
            at = row_kind == kid
            self._add_by_value(KIND[kid], code, rows[at], codes[at], message)
        column = value[codes]
        column[~live] = np.nan
        items[:, j] = column
        return bool(row_kind.any()), codes, value

    # -- the end of the file ---------------------------------------------------------------------

    def finish(self) -> dict:
        """After the last chunk: the whole-column checks; raise one IngestError for every
        problem found, or return the wave's report."""
        if self.n_rows >= 2:
            for j, code in enumerate(self.item_codes):
                if code in self.cell_problem_cols:
                    continue
                if self.answered[j] == 0:
                    self._add("empty_item", code, None, lambda i, code=code: (
                        f"item {code} has no answer in any row (every cell empty or a missing "
                        f"code); the model cannot be estimated — check the export or the column",
                        f"题目 {code} 在所有行中都没有有效回答（全部为空或缺失值代码）；无法估计模型——"
                        f"请检查导出的数据"))
                elif not self.varies[j]:
                    shown = _show(self.first_answer[j])
                    self._add("constant_item", code, None, lambda i, code=code, shown=shown: (
                        f"item {code} is {shown} in every answered row; a constant item has "
                        f"no variance and the model cannot be estimated — check the export or "
                        f"the column",
                        f"题目 {code} 在所有作答行中都是 {shown}；取值恒定的题目没有方差，无法估计模型——"
                        f"请检查导出的数据"))
        if self.n_problems:
            raise _error(self.shown, self.problems, self.counts)
        n, q, rules = self.n_rows, self.q, self.q.screening
        codes = self.codes
        by_item = {}
        for j, code in enumerate(self.item_codes):
            if self.code_cells[j].any():
                by_item[code] = {str(c): int(self.code_cells[j, k]) for k, c in enumerate(codes)
                                 if self.code_cells[j, k]}
        return {
            "n_rows": int(n),
            "n_valid": int(self.n_status["valid"]),
            "n_speeders": int(self.n_status["speeder"]),
            "n_straightliners": int(self.n_status["straightliner"]),
            "item_nonresponse": {code: float(1 - self.answered[j] / n)
                                 for j, code in enumerate(self.item_codes)},
            "item_empty": {code: int(self.empty_cells[j])
                           for j, code in enumerate(self.item_codes)},
            "missing_codes": {str(c): int(self.code_cells[:, k].sum())
                              for k, c in enumerate(codes)},
            "missing_codes_by_item": by_item,
            "n_by_industry": dict(sorted(self.value_counts["industry"].items())),
            "n_by_brand": dict(sorted(self.value_counts["brand"].items())),
            "columns": {c.name: dict(sorted(self.value_counts[c.name].items()))
                        for c in self.present_cols if c.type == "category"},
            "screening": {"min_duration_sec": rules.min_duration_sec,
                          "straightlining": rules.straightlining,
                          "straightlining_min_answered": rules.straightlining_min_answered},
            "extra_columns": self.extra_cols,
            "warnings": self.warnings,
        }


def _error(shown: str, problems: list[Problem], counts: Counter | None = None) -> IngestError:
    """One IngestError for all problems: the first (by row, then column), how many share its
    kind, and a count of each other kind. ``counts`` (kind → number) when ``problems`` holds
    only the first of many."""
    problems = sorted(problems, key=lambda p: (p.row is None, p.row or 0, p.order))
    counts = counts if counts is not None else Counter(p.kind for p in problems)
    first = problems[0]
    by_kind: dict[str, list[Problem]] = {}
    for p in problems:
        by_kind.setdefault(p.kind, []).append(p)
    same = by_kind[first.kind][1:]
    n_same = counts[first.kind] - 1
    en = first.message
    zh = first.message_zh
    if n_same:
        listed = "; ".join(_at(p) for p in same[:SHOW]) + ("; …" if n_same > SHOW else "")
        listed_zh = "；".join(_at_zh(p) for p in same[:SHOW]) + ("；……" if n_same > SHOW else "")
        en += f". {n_same} other cell(s) have the same problem ({listed})"
        zh += f"。另有 {n_same} 处同样的问题（{listed_zh}）"
    others = [(k, ps) for k, ps in by_kind.items() if k != first.kind]
    if others:
        en += ". Also: " + "; ".join(f"{KINDS.get(k, (k, k))[0]} ×{counts[k]} "
                                     f"(first: {_at(ps[0])})" for k, ps in others)
        zh += "。此外：" + "；".join(f"{KINDS.get(k, (k, k))[1]} {counts[k]} 处（首处：{_at_zh(ps[0])}）"
                                  for k, ps in others)
    en += ". Fix the file and ingest it again; nothing was stored"
    zh += "。请修改文件后重新导入；未写入任何数据"
    err = _fail(shown, en, zh, row=first.row, column=first.column)
    err.problems = [p.to_dict() for p in problems]
    err.n_problems = sum(counts.values())
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
            return _file_sha256(p)
    return hashlib.sha256(df.to_csv(index=False).encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------------------------
# the whole step
# ------------------------------------------------------------------------------------------------

class _Spill:
    """Validated chunks parked in a temporary Arrow IPC stream (dictionary-encoded, LZ4 when
    available) until the whole file has passed; then read back chunk by chunk for the store.
    The file has no name (``tempfile.TemporaryFile``): the system reclaims it whenever the
    process ends, even when it is killed."""

    def __init__(self, item_codes: tuple[str, ...], file: Any = None):
        import pyarrow as pa
        self.file = file
        self.schema = _Part.schema(item_codes)
        self.rows = 0
        self._file = None
        self._writer = None
        compression = "lz4" if pa.Codec.is_available("lz4") else None
        try:
            with self._disk():
                self._file = tempfile.TemporaryFile(prefix="ncsi-ingest-")
                self._writer = pa.ipc.new_stream(
                    self._file, self.schema,
                    options=pa.ipc.IpcWriteOptions(compression=compression))
        except BaseException:
            self.__exit__()
            raise

    @contextmanager
    def _disk(self) -> Iterator[None]:
        """OSError (a full disk) → IngestError saying where and what to do."""
        try:
            yield
        except OSError as exc:
            where = tempfile.gettempdir()
            raise _fail(self.file, f"the validated rows cannot be parked in a temporary file "
                                   f"under {where} ({exc}); free space there or set TMPDIR to a "
                                   f"folder with room, then ingest again — nothing was stored",
                        f"无法在 {where} 下写入临时文件（{exc}）；请释放空间或将 TMPDIR "
                        f"设为有空间的文件夹后重新导入——未写入任何数据") from exc

    def write(self, part: _Part) -> None:
        batch = part.batch(self.schema)
        with self._disk():
            self._writer.write_batch(batch)
        self.rows += batch.num_rows

    def frames(self) -> Iterator[pd.DataFrame]:
        """The parked rows, one DataFrame per chunk, in file order (plain, not categorical,
        columns)."""
        import pyarrow as pa
        with self._disk():
            self._writer.close()
            self._writer = None
            self._file.seek(0)
        for batch in pa.ipc.open_stream(self._file):
            columns = [c.dictionary_decode() if pa.types.is_dictionary(c.type) else c
                       for c in batch.columns]
            yield pa.RecordBatch.from_arrays(columns, names=batch.schema.names).to_pandas()

    def __enter__(self) -> _Spill:
        return self

    def __exit__(self, *exc) -> None:
        if self._file is not None:
            self._file.close()                      # the file goes with it


def refuse_published_year(store, year: int, source: str, what: str = "wave") -> None:
    """Refuse (StoreError, as the store would) a wave of a year whose release is published —
    *before* anything is written, the questionnaire's registration included. The store refuses
    it again inside its own transaction (that is the guarantee); this check only keeps the
    questionnaire from being registered for a wave that can never be stored."""
    release = getattr(store, "release", None)
    if release is None or release(int(year), status="published") is None:
        return
    from .errors import StoreError
    raise StoreError(
        f"{source}: the {year} release is already published, so no {what} of {year} can be "
        f"added or replaced; published releases never change — ingest it under the year it "
        f"belongs to, or start a new year",
        message_zh=f"{source}：{year} 年版本已发布，不能再新增或替换 {year} 年的数据；"
                   f"已发布的版本永不更改——请按数据所属年份导入，或开始新的年份")


def ingest_file(path: str | Path, survey_id: str, year: int, store, *,
                replace: bool = False, progress: Progress | None = None,
                chunk_rows: int = CHUNK_ROWS) -> IngestedWave:
    """Read ``path`` in chunks of ``chunk_rows`` rows, validate it against questionnaire
    ``survey_id``, the taxonomy and the store's brand registry, then store it with
    ``store.add_wave`` in ONE transaction.

    All or nothing: every chunk is validated before anything is written (validated rows wait in
    a temporary compressed Arrow file under ``$TMPDIR``, some 40 bytes a row); when any check
    fails the error names every problem of the whole file and the store is not touched — the
    questionnaire is registered (idempotent) only just before the wave is added. Memory stays
    bounded by ``chunk_rows`` for CSV and Parquet files (Excel and SPSS files are read whole);
    the duplicate-id index costs some 30 bytes a row.

    ``progress(stage, done, total)`` is called as the work advances: stage "check" while reading
    and validating (bytes of a CSV file, rows of other formats), then "store" (rows written);
    each stage ends with ``done == total``."""
    q = load_questionnaire(survey_id)
    tick = progress if progress is not None else (lambda stage, done, total: None)
    with _Spill(tuple(q.item_codes), file=path) as spill:
        with open_survey_file(path, chunk_rows=chunk_rows) as chunks:
            checker = _Checker(q, load_taxonomy(), store.known_brands(), file=path, year=year,
                               columns=chunks.columns)
            tick("check", 0, chunks.total)
            for chunk in chunks:
                part = checker.check(chunk)
                if part is not None:
                    spill.write(part)
                tick("check", chunks.done, chunks.total)
            report = checker.finish()
            tick("check", chunks.total, chunks.total)
            sha256 = chunks.sha256
        del checker                                 # the id index is not needed any more
        n = report["n_rows"]
        refuse_published_year(store, year, Path(path).name)
        if hasattr(store, "register_survey"):
            store.register_survey(q)
        kwargs: dict[str, Any] = dict(
            survey_id=q.id, survey_version=q.version, year=int(year),
            source_file=Path(path).name, source_sha256=sha256, responses=spill.frames(),
            report=report)
        if replace:
            kwargs["replace"] = True
        if progress is not None:
            kwargs["progress"] = lambda done: progress("store", done, n)
            progress("store", 0, n)
        wave_id = store.add_wave(**kwargs)
        tick("store", n, n)
    return IngestedWave(wave_id=wave_id, report=report, survey_id=q.id,
                        survey_version=q.version, year=int(year), source_file=Path(path).name,
                        source_sha256=sha256)


__all__ = ["read_survey_file", "read_table", "open_survey_file", "SurveyChunks", "validate",
           "ingest_file", "ValidatedWave", "IngestedWave", "Problem", "SUPPORTED", "STATUSES",
           "RESPONSE_COLUMNS", "CHUNK_ROWS"]
