"""The NCSI store: every write is one transaction, and a published release never changes.

``Store(url)`` opens the database (default ``ncsi.config.database_url()``); ``upgrade()`` brings
its schema to the newest Alembic revision. Every other method expects the schema at head and
raises :class:`~ncsi.errors.StoreError` otherwise.

Immutability of published releases is enforced twice: the methods below refuse any change to a
published year (a bilingual ``StoreError``), and the database itself refuses UPDATE/DELETE of a
published ``releases`` row and INSERT/UPDATE/DELETE of its ``model_fits``/``scores`` rows
(triggers installed by migration 0001; they cover the columns migration 0002 added too).

A published release records who published it (``published_by``) and may carry an embargo
(``embargo_until``, UTC): the store keeps and returns it; the query layer (:mod:`ncsi.query`)
hides the release until then. Score rows may carry ``flags`` (a dict per row, or None).

The quality-management maturity survey (migration 0003): a maturity wave is a ``waves`` row of a
questionnaire registered with sector ``manufacturing`` (:data:`MATURITY_SECTOR`); its enterprises
are in ``maturity_responses`` (``add_maturity_wave``, ``maturity_responses``,
``maturity_years``). The graded evaluation reads administrative records (``load_performance``,
``performance``) and enterprise → brand links (``load_links``, ``links``). A release may carry
the year's ``maturity`` results and ``grades`` (JSON), covered by its content hash when present;
a release may have no score rows at all (a maturity-only year).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime, timezone
from functools import lru_cache
from operator import itemgetter
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    Engine,
    MetaData,
    Table,
    Text,
    and_,
    cast,
    create_engine,
    delete,
    event,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from .. import config
from ..errors import StoreError
from .models import (
    ENTERPRISE_SIZES,
    FIT_STATUSES,
    RESPONSE_STATUSES,
    SCORE_LEVELS,
    Base,
    Brand,
    EnterpriseLink,
    MaturityResponse,
    ModelFit,
    Performance,
    Release,
    Response,
    Revenue,
    Score,
    Survey,
    Wave,
)

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"
ALEMBIC_INI = MIGRATIONS_DIR / "alembic.ini"

RESPONSE_COLUMNS = ("respondent_id", "industry", "brand", "region", "gender", "age", "weight",
                    "duration_sec", "status")
SCORE_COLUMNS = ("level", "code", "parent", "construct", "index", "se", "ci_low", "ci_high", "n",
                 "weight", "weight_basis", "publishable", "note", "flags")
#: Score columns save_draft accepts but does not require (absent: None on every row).
SCORE_OPTIONAL = ("flags",)
RELEASE_COLUMNS = ("id", "year", "status", "created_at", "published_at", "content_sha256",
                   "published_by", "embargo_until")
FIT_KEYS = ("industry", "survey_id", "model_name", "model_sha256", "status", "message", "n",
            "converged", "iterations", "settings", "result")
BRAND_COLUMNS = ("brand", "industry", "name_zh", "name_en")
REVENUE_COLUMNS = ("year", "brand", "revenue")

#: The sector of a maturity questionnaire: its waves hold enterprises (maturity_responses), not
#: consumers (responses).
MATURITY_SECTOR = "manufacturing"
#: Columns of a maturity wave's responses before the item columns (add_maturity_wave's input and
#: maturity_responses' output).
MATURITY_COLUMNS = ("enterprise_id", "region", "size", "industry", "weight")
#: Columns load_performance requires (empty cells: unknown) and performance() returns (+ source).
PERFORMANCE_COLUMNS = ("year", "enterprise_id", "certificate_valid", "major_incident_2y",
                       "spot_check_pass_rate", "quality_exposures_3y", "credit_clean")
PERFORMANCE_BOOLEANS = ("certificate_valid", "major_incident_2y", "credit_clean")
#: Columns load_links requires.
LINK_COLUMNS = ("enterprise_id", "brand")

#: Rows per INSERT executemany batch in add_wave (all batches run in one transaction).
INSERT_CHUNK = 20_000

_IMMUTABLE_MARK = "published releases never change"


# --- engine -----------------------------------------------------------------------------------

class _RawJSON(str):
    """JSON text encoded in bulk by the store (response items); the engine passes it through."""

    __slots__ = ()


def _json_dumps(value: Any) -> str:
    if type(value) is _RawJSON:
        return str(value)
    # NaN/Infinity are not JSON: every value is cleaned by _jsonable() first; this is the backstop.
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def normalize_url(url: str | URL) -> URL:
    """``url`` as an SQLAlchemy URL; ``postgresql://`` and ``postgres://`` (no driver named)
    become ``postgresql+psycopg://``, since psycopg 3 is the PostgreSQL driver NCSI depends on."""
    url = make_url(url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def make_engine(url: str | URL) -> Engine:
    """An engine for the store: creates the SQLite file's folder, turns on SQLite foreign keys
    and makes SQLite transactions real (``BEGIN`` at the start of every transaction, DDL
    included), so that every write is all or nothing. A PostgreSQL URL without a driver
    (``postgresql://``, ``postgres://``) uses psycopg 3, the driver NCSI installs."""
    url = normalize_url(url)
    if url.get_backend_name() == "sqlite":
        database = url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, json_serializer=_json_dumps)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection, _record) -> None:
    # The pysqlite driver's own transaction handling does not BEGIN before SELECT or DDL;
    # hand transaction control to SQLAlchemy (see _sqlite_on_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_on_begin(connection) -> None:
    connection.exec_driver_sql("BEGIN")


# --- alembic ----------------------------------------------------------------------------------

def _alembic_config():
    import sys

    from alembic.config import Config

    # pass stdout explicitly: Config's default is bound when alembic is first imported, which
    # may be while a test runner or caller has sys.stdout swapped for a stream that later closes
    cfg = Config(str(ALEMBIC_INI), stdout=sys.stdout)
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


@lru_cache(maxsize=1)
def _head_revision() -> str:
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(_alembic_config()).get_heads()
    if len(heads) != 1:  # pragma: no cover - a packaging mistake, not a user error
        raise RuntimeError(f"NCSI migrations must have exactly one head, found {heads}")
    return heads[0]


def _current_revisions(connection) -> tuple[str, ...]:
    from alembic.runtime.migration import MigrationContext

    return tuple(MigrationContext.configure(connection).get_current_heads())


# --- value conversion -------------------------------------------------------------------------

def _now() -> datetime:
    return datetime.now(timezone.utc)


def _utc(value: datetime | None) -> datetime | None:
    """A time read from the store, as UTC: SQLite keeps no zone (we always write UTC);
    PostgreSQL returns it in the session's time zone, which need not be UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _aware_utc(value: Any, what: str, example: str) -> datetime | None:
    """``value`` (a datetime with a time zone, or None) converted to UTC; a naive datetime or
    anything else is a StoreError saying to give a time zone. SQLite keeps no zone, so every
    time is written as UTC."""
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if not isinstance(value, datetime):
        raise StoreError(
            f"{what} '{value}' is not a date and time; give one with a time zone, e.g. {example}",
            message_zh=f"{what} '{value}' 不是日期时间；请给出带时区的时间，例如 {example}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise StoreError(
            f"{what} {value.isoformat()} has no time zone, so it is ambiguous; give a timezone, "
            f"e.g. {example}",
            message_zh=f"{what} {value.isoformat()} 没有时区，含义不明确；"
                       f"请给出时区，例如 {example}")
    return value.astimezone(timezone.utc)


def _whole_number(value: Any, where: str, key: str) -> int | None:
    """``value`` as an int (None when missing); anything else is a StoreError naming it."""
    if _missing(value):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or not number.is_integer():
        raise StoreError(f"{where}: {key} '{value}' is not a whole number",
                         message_zh=f"{where}：{key} '{value}' 不是整数")
    return int(number)


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return math.isnan(value)
    return False


def _jsonable(value: Any, where: str = "value") -> Any:
    """A JSON-safe copy: numpy/pandas scalars to Python, NaN/inf/NA to None, tuples to lists."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, pd.DataFrame):
        return [_jsonable(r, where) for r in value.to_dict(orient="records")]
    if isinstance(value, (pd.Series, pd.Index, np.ndarray)):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(value.tolist())]
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(items)]
    if isinstance(value, (datetime, date, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    raise StoreError(
        f"{where}: a {type(value).__name__} cannot be stored as JSON; convert it to numbers, "
        f"strings, lists or dicts first",
        message_zh=f"{where}：{type(value).__name__} 类型无法保存为 JSON；"
                   f"请先转换为数字、字符串、列表或字典")


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False, default=str)


def _nullable_list(values: np.ndarray) -> list[Any]:
    """Float array → Python list with None where NaN."""
    out = values.astype(object)
    out[np.isnan(values)] = None
    return out.tolist()


def _text(value: Any) -> str | None:
    if _missing(value):
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))  # an ID read as a number: 1001.0 → "1001"
    if isinstance(value, (np.integer,)):
        return str(int(value))
    return str(value)


_TRUE = {"1", "true", "t", "yes", "y", "是"}
_FALSE = {"0", "false", "f", "no", "n", "否", ""}


def _to_bool(value: Any) -> bool | None:
    """True/False, or None when the value is missing or not a recognisable boolean."""
    if _missing(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer, float, np.floating)) and float(value) in (0.0, 1.0):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


# --- column builders for the frames the store returns ---------------------------------------

def _frame(columns: Mapping[str, list[Any]], kinds: Mapping[str, str]) -> pd.DataFrame:
    data: dict[str, Any] = {}
    for name, values in columns.items():
        kind = kinds.get(name, "object")
        if kind == "str":
            data[name] = pd.Series(values, dtype="str")
        elif kind == "float":
            data[name] = pd.Series([np.nan if v is None else v for v in values], dtype="float64")
        elif kind == "int":
            data[name] = pd.Series(pd.array(values, dtype="Int64"))
        elif kind == "intreq":
            data[name] = pd.Series(values, dtype="int64")
        elif kind == "bool":
            data[name] = pd.Series(values, dtype="bool")
        elif kind == "nbool":
            data[name] = pd.Series(pd.array(values, dtype="boolean"))
        elif kind == "datetime":
            data[name] = pd.to_datetime(pd.Series([_utc(v) for v in values], dtype="object"),
                                        utc=True)
        else:
            data[name] = pd.Series(values, dtype="object")
    return pd.DataFrame(data, columns=list(columns))


def _row_name(pos: int) -> str:
    return f"row {pos + 2}"  # spreadsheet numbering: header is row 1


class Store:
    """The NCSI store. See the module docstring and docs/architecture.md."""

    def __init__(self, url: str | URL | None = None):
        self.url = normalize_url(url if url is not None else config.database_url())
        self.engine = make_engine(self.url)
        self._schema_ok = False

    # -- housekeeping ---------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"Store({self._where()!r})"

    def _where(self) -> str:
        return self.url.render_as_string(hide_password=True)

    def close(self) -> None:
        """Release the engine's connections (the Store can be used again afterwards)."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def upgrade(self) -> None:
        """Bring the schema to the newest migration (``alembic upgrade head``). Idempotent; when
        the database is already at head it only reads the ``alembic_version`` table."""
        head = _head_revision()
        try:
            with self.engine.connect() as connection:
                current = _current_revisions(connection)
            if current == (head,):
                self._schema_ok = True
                return
            self._check_known(current)
            from alembic import command

            with self.engine.begin() as connection:
                cfg = _alembic_config()
                cfg.attributes["connection"] = connection
                command.upgrade(cfg, "head")
        except StoreError:
            raise
        except SQLAlchemyError as exc:
            raise StoreError(
                f"store {self._where()}: the schema upgrade failed ({_reason(exc)}); nothing was "
                f"changed — check that the database is reachable and writable",
                message_zh=f"数据库 {self._where()}：结构升级失败（{_reason(exc)}），未做任何更改；"
                           f"请检查数据库是否可访问、可写入") from exc
        self._schema_ok = True

    def _check_known(self, current: tuple[str, ...]) -> None:
        from alembic.script import ScriptDirectory

        script = ScriptDirectory.from_config(_alembic_config())
        known = {rev.revision for rev in script.walk_revisions()}
        unknown = [rev for rev in current if rev not in known]
        if unknown:
            raise StoreError(
                f"store {self._where()} is at schema revision {', '.join(unknown)}, which this "
                f"version of NCSI does not know; upgrade NCSI (the database was written by a "
                f"newer version)",
                message_zh=f"数据库 {self._where()} 的结构版本 {', '.join(unknown)} "
                           f"不为本版 NCSI 所知；请升级 NCSI（该数据库由更新的版本写入）")

    def _ensure_schema(self) -> None:
        if self._schema_ok:
            return
        try:
            with self.engine.connect() as connection:
                current = _current_revisions(connection)
        except SQLAlchemyError as exc:
            raise StoreError(
                f"store {self._where()} cannot be opened ({_reason(exc)}); check the path or "
                f"NCSI_DATABASE_URL",
                message_zh=f"无法打开数据库 {self._where()}（{_reason(exc)}）；"
                           f"请检查路径或 NCSI_DATABASE_URL") from exc
        if current != (_head_revision(),):
            state = f"revision {', '.join(current)}" if current else "no schema"
            raise StoreError(
                f"store {self._where()} has {state}, not the current schema "
                f"{_head_revision()}; run Store.upgrade() (alembic upgrade head) first",
                message_zh=f"数据库 {self._where()} 的结构不是最新版本 {_head_revision()}；"
                           f"请先运行 Store.upgrade()（alembic upgrade head）")
        self._schema_ok = True

    @contextmanager
    def _transaction(self, what: str,
                     on_integrity: Callable[[IntegrityError], StoreError | None] | None = None,
                     ) -> Iterator[Session]:
        """One all-or-nothing transaction; database errors become StoreError naming ``what``."""
        self._ensure_schema()
        try:
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                yield session
        except IntegrityError as exc:
            if _IMMUTABLE_MARK in str(exc.orig):
                raise StoreError(
                    f"{what}: the database refused to change a published release; published "
                    f"releases never change — nothing was written",
                    message_zh=f"{what}：数据库拒绝修改已发布的版本；已发布的版本永不更改——未写入任何内容",
                ) from exc
            error = on_integrity(exc) if on_integrity else None
            if error is None:
                error = StoreError(
                    f"{what}: the database refused the change ({_reason(exc)}); nothing was "
                    f"written — fix the data and try again",
                    message_zh=f"{what}：数据库拒绝了此更改（{_reason(exc)}），未写入任何内容；请修正数据后重试")
            raise error from exc
        except OperationalError as exc:
            raise StoreError(
                f"{what}: database error ({_reason(exc)}); nothing was written — if the store is "
                f"busy, wait for the other NCSI process and try again",
                message_zh=f"{what}：数据库错误（{_reason(exc)}），未写入任何内容；"
                           f"如数据库正忙，请等待其他 NCSI 进程结束后重试") from exc
        except SQLAlchemyError as exc:
            raise StoreError(
                f"{what}: the database refused the change ({_reason(exc)}); nothing was written",
                message_zh=f"{what}：数据库拒绝了此更改（{_reason(exc)}），未写入任何内容") from exc

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        self._ensure_schema()
        try:
            with Session(self.engine) as session:
                yield session
        except OperationalError as exc:
            raise StoreError(
                f"store {self._where()}: cannot read ({_reason(exc)}); try again",
                message_zh=f"数据库 {self._where()}：读取失败（{_reason(exc)}）；请重试") from exc

    # -- surveys --------------------------------------------------------------------------------

    def register_survey(self, q: Any) -> None:
        """Record questionnaire ``q`` (its YAML text and sha256) under (q.id, q.version).

        Idempotent for the same sha256; different content under the same id and version is
        refused: a changed questionnaire needs a new version."""
        path = Path(q.path)
        try:
            definition = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise StoreError(
                f"survey {q.id} version {q.version}: cannot read {path} ({exc.strerror or exc}); "
                f"check that the questionnaire file exists",
                message_zh=f"问卷 {q.id} 版本 {q.version}：无法读取 {path}；"
                           f"请检查问卷文件是否存在") from exc
        what = f"registering survey {q.id} version {q.version}"
        with self._transaction(what) as session:
            existing = session.get(Survey, (q.id, q.version))
            if existing is not None:
                if existing.sha256 == q.sha256:
                    return
                raise StoreError(
                    f"survey {q.id} version {q.version} is already registered with different "
                    f"content (sha256 {existing.sha256[:12]}…, now {q.sha256[:12]}… in {path}); "
                    f"a registered questionnaire never changes — bump 'version' in {path}",
                    message_zh=f"问卷 {q.id} 版本 {q.version} 已以不同内容登记；"
                               f"已登记的问卷不可更改——请在 {path} 中提高 version（版本号）")
            session.add(Survey(
                id=q.id, version=q.version, sector=q.sector,
                title_zh=getattr(q, "title_zh", None), title_en=getattr(q, "title_en", None),
                definition=definition, sha256=q.sha256, registered_at=_now()))

    def surveys(self) -> pd.DataFrame:
        """Registered surveys: id, version, sector, title_zh, title_en, sha256, registered_at."""
        cols = ("id", "version", "sector", "title_zh", "title_en", "sha256", "registered_at")
        with self._reading() as session:
            rows = session.execute(
                select(*(getattr(Survey, c) for c in cols)).order_by(Survey.id, Survey.version)
            ).all()
        return _frame(dict(zip(cols, _columns(rows, len(cols)))),
                      {**{c: "str" for c in cols}, "registered_at": "datetime"})

    # -- brands and revenue ---------------------------------------------------------------------

    def known_brands(self) -> pd.DataFrame:
        """Columns brand, industry, name_zh, name_en, is_demo (sorted by industry, brand)."""
        with self._reading() as session:
            rows = session.execute(
                select(Brand.code, Brand.industry, Brand.name_zh, Brand.name_en, Brand.is_demo)
                .order_by(Brand.industry, Brand.code)).all()
        cols = ("brand", "industry", "name_zh", "name_en", "is_demo")
        return _frame(dict(zip(cols, _columns(rows, len(cols)))),
                      {"brand": "str", "industry": "str", "name_zh": "str", "name_en": "str",
                       "is_demo": "bool"})

    def load_brands(self, df: pd.DataFrame, source: str) -> int:
        """Insert or update brands from ``df`` (brand, industry, name_zh, name_en[, is_demo]) in one
        transaction; returns the number of rows."""
        _require_columns(df, BRAND_COLUMNS, source, "brands")
        n = len(df)
        codes = [_text(v) for v in df["brand"].tolist()]
        industries = [_text(v) for v in df["industry"].tolist()]
        names_zh = [_text(v) for v in df["name_zh"].tolist()]
        names_en = [_text(v) for v in df["name_en"].tolist()]
        demo_raw = df["is_demo"].tolist() if "is_demo" in df.columns else [False] * n
        rows: list[dict[str, Any]] = []
        first_row: dict[str, int] = {}
        for pos in range(n):
            code, industry = codes[pos], industries[pos]
            where = f"{source}, {_row_name(pos)}"
            if not code or not code.strip():
                raise _row_error(where, "brand", "the brand code is empty; fill it in",
                                 "品牌代码为空；请填写")
            if not industry or not industry.strip():
                raise _row_error(where, "industry", f"brand '{code}' has no industry; fill it in",
                                 f"品牌 '{code}' 缺少行业；请填写")
            if code in first_row:
                raise _row_error(
                    where, "brand",
                    f"brand '{code}' appears again (first at {_row_name(first_row[code])}); "
                    f"keep one row per brand",
                    f"品牌 '{code}' 重复出现（首次在第 {first_row[code] + 2} 行）；"
                    f"每个品牌只保留一行")
            first_row[code] = pos
            is_demo = False if _missing(demo_raw[pos]) else _to_bool(demo_raw[pos])
            if is_demo is None:
                raise _row_error(where, "is_demo",
                                 f"is_demo '{demo_raw[pos]}' is not true/false; "
                                 f"write true or false",
                                 f"is_demo 值 '{demo_raw[pos]}' 不是 true/false；"
                                 f"请填写 true 或 false")
            rows.append({"code": code, "industry": industry, "name_zh": names_zh[pos],
                         "name_en": names_en[pos], "is_demo": is_demo})
        with self._transaction(f"loading brands from {source}") as session:
            existing = set(session.scalars(select(Brand.code)))
            new = [dict(r, registered_at=_now()) for r in rows if r["code"] not in existing]
            changed = [r for r in rows if r["code"] in existing]
            if new:
                session.execute(insert(Brand), new)
            if changed:
                session.execute(update(Brand), changed)  # bulk UPDATE by primary key
        return n

    def load_revenue(self, df: pd.DataFrame, source: str) -> int:
        """Insert or update revenues from ``df`` (year, brand, revenue) in one transaction; every
        brand must be known. Returns the number of rows."""
        _require_columns(df, REVENUE_COLUMNS, source, "revenue")
        n = len(df)
        brands = [_text(v) for v in df["brand"].tolist()]
        years = _int_column(df["year"], source, "year", required=True)
        revenue = _float_column(df["revenue"], source, "revenue", required=True)
        rows: list[dict[str, Any]] = []
        first_row: dict[tuple[int, str], int] = {}
        for pos in range(n):
            where = f"{source}, {_row_name(pos)}"
            brand = brands[pos]
            if not brand or not brand.strip():
                raise _row_error(where, "brand", "the brand code is empty; fill it in",
                                 "品牌代码为空；请填写")
            if revenue[pos] < 0:
                raise _row_error(where, "revenue",
                                 f"revenue {revenue[pos]} of brand '{brand}' is negative; "
                                 f"correct it",
                                 f"品牌 '{brand}' 的营业收入 {revenue[pos]} 为负数；请更正")
            key = (years[pos], brand)
            if key in first_row:
                raise _row_error(
                    where, "brand",
                    f"brand '{brand}' has a second revenue for {years[pos]} (first at "
                    f"{_row_name(first_row[key])}); keep one row per brand and year",
                    f"品牌 '{brand}' 在 {years[pos]} 年有重复的营业收入"
                    f"（首次在第 {first_row[key] + 2} 行）；每个品牌每年只保留一行")
            first_row[key] = pos
            rows.append({"year": years[pos], "brand": brand, "revenue": revenue[pos],
                         "source": str(source)})
        with self._transaction(f"loading revenue from {source}") as session:
            known = set(session.scalars(select(Brand.code)))
            for pos, row in enumerate(rows):
                if row["brand"] not in known:
                    raise _row_error(
                        f"{source}, {_row_name(pos)}", "brand",
                        f"brand '{row['brand']}' is not a known brand; load it with the brands "
                        f"list first (or correct the code)",
                        f"品牌 '{row['brand']}' 不在已知品牌中；请先导入品牌清单（或更正代码）")
            existing = set(session.execute(
                select(Revenue.year, Revenue.brand).where(
                    Revenue.year.in_(sorted({r["year"] for r in rows})))).all())
            new = [r for r in rows if (r["year"], r["brand"]) not in existing]
            changed = [r for r in rows if (r["year"], r["brand"]) in existing]
            if new:
                session.execute(insert(Revenue), new)
            if changed:
                session.execute(update(Revenue), changed)
        return n

    def revenue(self, year: int) -> pd.DataFrame:
        """Columns brand, industry, revenue for ``year`` (sorted by industry, brand)."""
        with self._reading() as session:
            rows = session.execute(
                select(Revenue.brand, Brand.industry, Revenue.revenue)
                .join(Brand, Brand.code == Revenue.brand)
                .where(Revenue.year == int(year))
                .order_by(Brand.industry, Revenue.brand)).all()
        cols = ("brand", "industry", "revenue")
        return _frame(dict(zip(cols, _columns(rows, 3))),
                      {"brand": "str", "industry": "str", "revenue": "float"})

    # -- waves and responses --------------------------------------------------------------------

    def wave_exists(self, survey_id: str, year: int) -> bool:
        with self._reading() as session:
            return session.scalar(
                select(Wave.id).where(Wave.survey_id == survey_id, Wave.year == int(year))
            ) is not None

    def add_wave(self, *, survey_id: str, survey_version: str, year: int, source_file: str,
                 source_sha256: str, responses: pd.DataFrame | Iterable[pd.DataFrame],
                 report: dict, replace: bool = False,
                 progress: Callable[[int], None] | None = None) -> int:
        """Store one survey file's responses for ``year`` in ONE transaction; returns the wave id.

        ``responses`` has the columns respondent_id, industry, brand, region, gender, age, weight,
        duration_sec, status, then the item columns (numbers; NaN = empty, stored as JSON null).
        It is one DataFrame, or an iterable of DataFrames: the wave's rows chunk by chunk, in
        order (error messages number rows across chunks), converted and inserted one chunk at a
        time so that memory is bounded by the chunk, not the wave. Rows are inserted in batches
        of INSERT_CHUNK (one executemany each) and ``progress(rows_stored)`` is called after
        every batch. Any problem — in any chunk, or raised by the iterable itself — rolls the
        whole wave back. An existing (survey_id, year) wave is refused unless ``replace``;
        replacing is refused when the year has a published release."""
        year = int(year)
        source = str(source_file)
        if isinstance(responses, pd.DataFrame):
            # one frame: checked before the transaction starts
            chunks: Iterable[_ResponseRows] = [_response_params(responses, source)]
            frames: Iterator[pd.DataFrame] = iter(())
        else:
            frames = iter(responses)
            chunks = ()
        report_json = _jsonable(report, "report")
        current: dict[str, Any] = {"frame": responses if isinstance(responses, pd.DataFrame)
                                   else None, "offset": 0}

        def diagnose(exc: IntegrityError) -> StoreError | None:
            frame, offset = current["frame"], current["offset"]
            if frame is not None:
                dup = frame["respondent_id"].map(_text)
                repeated = dup[dup.duplicated(keep=False)]
                if len(repeated):
                    first = repeated.iloc[0]
                    positions = [i for i, v in enumerate(dup.tolist()) if v == first]
                    rows = ", ".join(str(offset + p + 2) for p in positions[:5])
                    count = repeated.nunique()
                    return StoreError(
                        f"{source}: respondent_id '{first}' appears more than once (rows {rows})"
                        f"{f' and {count - 1} more repeated IDs' if count > 1 else ''}; every "
                        f"respondent needs a unique ID — nothing was written",
                        message_zh=f"{source}：respondent_id '{first}' 重复出现（第 {rows} 行）；"
                                   f"每位受访者的编号必须唯一——未写入任何内容")
                if "respondent_id" in str(exc.orig):
                    last = offset + len(frame) + 1
                    return StoreError(
                        f"{source}: a respondent_id in rows {offset + 2}–{last} repeats one of an "
                        f"earlier row; every respondent needs a unique ID — nothing was written",
                        message_zh=f"{source}：第 {offset + 2}–{last} 行中的某个 respondent_id "
                                   f"与前面的行重复；每位受访者的编号必须唯一——未写入任何内容")
            if "waves" in str(exc.orig) or "survey_id" in str(exc.orig):
                return _wave_exists_error(survey_id, year, source)
            return None

        def converted() -> Iterator[_ResponseRows]:
            yield from chunks
            offset = 0
            for frame in frames:
                current["frame"], current["offset"] = frame, offset
                yield _response_params(frame, source, offset)
                offset += len(frame)

        what = f"{source}: storing the {year} wave of survey {survey_id}"
        with self._transaction(what, diagnose) as session:
            survey = _registered_survey(session, survey_id, survey_version, source)
            if survey.sector == MATURITY_SECTOR:
                raise StoreError(
                    f"{source}: survey {survey_id} is a maturity questionnaire (sector "
                    f"{MATURITY_SECTOR}); its enterprises are stored with add_maturity_wave, not "
                    f"as consumer responses",
                    message_zh=f"{source}：问卷 {survey_id} 是成熟度问卷（行业大类 "
                               f"{MATURITY_SECTOR}）；其企业数据应以 add_maturity_wave 导入，"
                               f"而非作为消费者回答")
            if self._published_id(session, year) is not None:
                raise StoreError(
                    f"{source}: the {year} release is already published, so no wave of {year} "
                    f"can be added or replaced; published releases never change — ingest it "
                    f"under the year it belongs to, or start a new year",
                    message_zh=f"{source}：{year} 年版本已发布，不能再新增或替换 {year} 年的数据；"
                               f"已发布的版本永不更改")
            old = session.scalar(
                select(Wave).where(Wave.survey_id == survey_id, Wave.year == year))
            if old is not None:
                if not replace:
                    raise _wave_exists_error(survey_id, year, source)
                session.execute(delete(Response).where(Response.wave_id == old.id))
                session.execute(delete(Wave).where(Wave.id == old.id))
                session.expunge(old)
            wave = Wave(survey_id=survey_id, survey_version=survey_version, year=year,
                        source_file=source, source_sha256=source_sha256, n_rows=0, n_valid=0,
                        report=report_json, ingested_at=_now())
            session.add(wave)
            session.flush()
            insert_rows = _response_inserter(session.connection())
            n_rows = n_valid = 0
            for chunk in converted():
                for start in range(0, chunk.n, INSERT_CHUNK):
                    stop = min(start + INSERT_CHUNK, chunk.n)
                    insert_rows(wave.id, [column[start:stop] for column in chunk.columns])
                    n_rows += stop - start
                    if progress is not None:
                        progress(n_rows)
                n_valid += chunk.n_valid
            wave.n_rows, wave.n_valid = n_rows, n_valid
            session.flush()
            wave_id = wave.id
        return wave_id

    def waves(self, year: int | None = None) -> pd.DataFrame:
        """Columns id, survey_id, survey_version, year, source_file, source_sha256, n_rows,
        n_valid, ingested_at, report (a dict)."""
        cols = ("id", "survey_id", "survey_version", "year", "source_file", "source_sha256",
                "n_rows", "n_valid", "ingested_at", "report")
        stmt = select(*(getattr(Wave, c) for c in cols)).order_by(Wave.year, Wave.survey_id)
        if year is not None:
            stmt = stmt.where(Wave.year == int(year))
        with self._reading() as session:
            rows = session.execute(stmt).all()
        return _frame(dict(zip(cols, _columns(rows, len(cols)))),
                      {"id": "intreq", "survey_id": "str", "survey_version": "str",
                       "year": "intreq", "source_file": "str", "source_sha256": "str",
                       "n_rows": "intreq", "n_valid": "intreq", "ingested_at": "datetime"})

    def responses(self, year: int, *, industry: str | None = None,
                  survey_id: str | None = None, valid_only: bool = True) -> pd.DataFrame:
        """The stored responses of ``year``: survey_id, respondent_id, industry, brand, region,
        gender, age (Int64), weight, duration_sec, status, then the item columns as float (NaN
        where empty). Sorted by survey and ingest order."""
        r = Response.__table__.c
        w = Wave.__table__.c
        stmt = (select(w.survey_id, r.respondent_id, r.industry, r.brand, r.region, r.gender,
                       r.age, r.weight, r.duration_sec, r.status, cast(r["items"], Text))
                .select_from(Response.__table__.join(Wave.__table__, r.wave_id == w.id))
                .where(w.year == int(year))
                .order_by(w.survey_id, r.id))
        if industry is not None:
            stmt = stmt.where(r.industry == industry)
        if survey_id is not None:
            stmt = stmt.where(w.survey_id == survey_id)
        if valid_only:
            stmt = stmt.where(r.status == "valid")
        with self._reading() as session:
            rows = session.connection().execute(stmt).all()
        cols = ("survey_id",) + RESPONSE_COLUMNS
        columns = _columns(rows, len(cols) + 1)
        base = _frame(dict(zip(cols, columns[:-1])),
                      {"survey_id": "str", "respondent_id": "str", "industry": "str",
                       "brand": "str", "region": "str", "gender": "str", "age": "int",
                       "weight": "float", "duration_sec": "float", "status": "str"})
        if not rows:
            return base
        columns, matrix = _decode_items(columns[-1])
        return pd.concat([base, pd.DataFrame(matrix, columns=columns)], axis=1)

    # -- maturity survey (migration 0003) -------------------------------------------------------

    def add_maturity_wave(self, *, survey_id: str, survey_version: str, year: int,
                          source_file: str, source_sha256: str, responses: pd.DataFrame,
                          item_codes: list[str], report: dict, replace: bool = False) -> int:
        """Store one maturity survey file for ``year`` in ONE transaction; returns the wave id.

        ``responses`` has one row per enterprise with the MATURITY_COLUMNS (enterprise_id,
        region, size — large/medium/small —, industry — the manufacturing industry code —, weight
        > 0), then the columns named by ``item_codes`` (numbers; NaN = empty, stored as JSON
        null); other columns are not stored. The survey must be registered with sector
        ``manufacturing``. A year holds one maturity wave: an existing one is refused unless
        ``replace``; any wave of a year whose release is published is refused."""
        year = int(year)
        source = str(source_file)
        codes = _maturity_item_codes(item_codes, source)
        params = _maturity_params(responses, codes, source)
        report_json = _jsonable(report, "report")

        def diagnose(exc: IntegrityError) -> StoreError | None:
            if "waves" in str(exc.orig) or "survey_id" in str(exc.orig):
                return _wave_exists_error(survey_id, year, source)
            return None

        what = f"{source}: storing the {year} maturity wave of survey {survey_id}"
        with self._transaction(what, diagnose) as session:
            survey = _registered_survey(session, survey_id, survey_version, source)
            if survey.sector != MATURITY_SECTOR:
                raise StoreError(
                    f"{source}: survey {survey_id} version {survey_version} is registered with "
                    f"sector '{survey.sector}', not '{MATURITY_SECTOR}', so it is not a maturity "
                    f"questionnaire; ingest consumer surveys with add_wave, or register the "
                    f"maturity questionnaire with sector {MATURITY_SECTOR}",
                    message_zh=f"{source}：问卷 {survey_id} 版本 {survey_version} 登记的行业大类是 "
                               f"'{survey.sector}' 而非 '{MATURITY_SECTOR}'，不是成熟度问卷；"
                               f"消费者问卷请以 add_wave 导入，或以行业大类 {MATURITY_SECTOR} "
                               f"登记成熟度问卷")
            if self._published_id(session, year) is not None:
                raise StoreError(
                    f"{source}: the {year} release is already published, so no maturity wave of "
                    f"{year} can be added or replaced; published releases never change — ingest "
                    f"it under the year it belongs to, or start a new year",
                    message_zh=f"{source}：{year} 年版本已发布，不能再新增或替换 {year} 年的"
                               f"成熟度数据；已发布的版本永不更改")
            old = session.execute(
                select(Wave.id, Wave.survey_id).select_from(_maturity_waves())
                .where(Wave.year == year)).all()
            if old:
                if not replace:
                    raise StoreError(
                        f"{source}: the {year} maturity wave was already ingested (survey "
                        f"{old[0].survey_id}) (wave already ingested; use --replace to replace "
                        f"it)",
                        message_zh=f"{source}：{year} 年的成熟度数据已导入（问卷 "
                                   f"{old[0].survey_id}）；如需替换请使用 --replace")
                ids = [row.id for row in old]
                session.execute(delete(MaturityResponse)
                                .where(MaturityResponse.wave_id.in_(ids)))
                session.execute(delete(Wave).where(Wave.id.in_(ids)))
            wave = Wave(survey_id=survey_id, survey_version=survey_version, year=year,
                        source_file=source, source_sha256=source_sha256, n_rows=len(params),
                        n_valid=len(params), report=report_json, ingested_at=_now())
            session.add(wave)
            session.flush()
            table = MaturityResponse.__table__
            for start in range(0, len(params), INSERT_CHUNK):
                chunk = params[start:start + INSERT_CHUNK]
                for p in chunk:
                    p["wave_id"] = wave.id
                session.execute(insert(table), chunk)
            wave_id = wave.id
        return wave_id

    def maturity_responses(self, year: int) -> pd.DataFrame:
        """The enterprises of ``year``'s maturity wave: the MATURITY_COLUMNS (enterprise_id,
        region, size, industry, weight), then the item columns as float (NaN where empty), in
        the order they were stored. Empty (those five columns) when the year has none."""
        m = MaturityResponse.__table__.c
        w = Wave.__table__.c
        stmt = (select(m.enterprise_id, m.region, m.size, m.industry, m.weight,
                       cast(m["items"], Text))
                .select_from(MaturityResponse.__table__.join(Wave.__table__, m.wave_id == w.id))
                .where(w.year == int(year))
                .order_by(w.survey_id, m.id))
        with self._reading() as session:
            rows = session.connection().execute(stmt).all()
        columns = _columns(rows, len(MATURITY_COLUMNS) + 1)
        base = _frame(dict(zip(MATURITY_COLUMNS, columns[:-1])),
                      {"enterprise_id": "str", "region": "str", "size": "str", "industry": "str",
                       "weight": "float"})
        if not rows:
            return base
        codes, matrix = _decode_items(columns[-1])
        return pd.concat([base, pd.DataFrame(matrix, columns=codes)], axis=1)

    def maturity_years(self) -> list[int]:
        """The years that have a maturity wave, ascending."""
        with self._reading() as session:
            years = session.scalars(select(Wave.year).select_from(_maturity_waves())
                                    .distinct().order_by(Wave.year)).all()
        return [int(y) for y in years]

    # -- performance records and enterprise links (migration 0003) ------------------------------

    def load_performance(self, df: pd.DataFrame, source: str) -> int:
        """Insert or replace administrative records from ``df`` in one transaction, one row per
        (year, enterprise_id); returns the number of rows.

        ``df`` has the PERFORMANCE_COLUMNS: year, enterprise_id, certificate_valid,
        major_incident_2y (true/false, 1/0, yes/no), spot_check_pass_rate (0–100),
        quality_exposures_3y (a whole number ≥ 0), credit_clean (true/false); an empty cell is
        unknown (NULL). A (year, enterprise) already stored gets the file's values (all of
        them) and ``source``."""
        _require_columns(df, PERFORMANCE_COLUMNS, source, "performance")
        df = df.reset_index(drop=True)
        n = len(df)
        years = _int_column(df["year"], source, "year", required=True)
        ids = _text_column(df["enterprise_id"])
        flags = {c: _nullable_bool_column(df[c], source, c) for c in PERFORMANCE_BOOLEANS}
        rate = _float_column(df["spot_check_pass_rate"], source, "spot_check_pass_rate")
        exposures = _int_column(df["quality_exposures_3y"], source, "quality_exposures_3y")
        rows: list[dict[str, Any]] = []
        first_row: dict[tuple[int, str], int] = {}
        for pos in range(n):
            where = f"{source}, {_row_name(pos)}"
            enterprise = ids[pos]
            if enterprise is None or not enterprise.strip():
                raise _row_error(where, "enterprise_id", "the enterprise id is empty; fill it in",
                                 "企业编号为空；请填写")
            if rate[pos] is not None and not 0 <= rate[pos] <= 100:
                raise _row_error(where, "spot_check_pass_rate",
                                 f"pass rate {rate[pos]:g} of enterprise '{enterprise}' is not "
                                 f"between 0 and 100 (a percentage); correct it",
                                 f"企业 '{enterprise}' 的抽查合格率 {rate[pos]:g} 不在 0–100 之间"
                                 f"（百分数）；请更正")
            if exposures[pos] is not None and exposures[pos] < 0:
                raise _row_error(where, "quality_exposures_3y",
                                 f"{exposures[pos]} exposures of enterprise '{enterprise}' is "
                                 f"negative; a count is 0 or more",
                                 f"企业 '{enterprise}' 的曝光次数 {exposures[pos]} 为负数；"
                                 f"次数应为 0 或以上")
            key = (years[pos], enterprise)
            if key in first_row:
                raise _row_error(
                    where, "enterprise_id",
                    f"enterprise '{enterprise}' has a second row for {years[pos]} (first at "
                    f"{_row_name(first_row[key])}); keep one row per enterprise and year",
                    f"企业 '{enterprise}' 在 {years[pos]} 年有重复的记录"
                    f"（首次在第 {first_row[key] + 2} 行）；每个企业每年只保留一行")
            first_row[key] = pos
            rows.append({"year": years[pos], "enterprise_id": enterprise,
                         **{c: flags[c][pos] for c in PERFORMANCE_BOOLEANS},
                         "spot_check_pass_rate": rate[pos],
                         "quality_exposures_3y": exposures[pos], "source": str(source)})
        if not rows:
            return 0
        with self._transaction(f"loading performance records from {source}") as session:
            existing = set(session.execute(
                select(Performance.year, Performance.enterprise_id).where(
                    Performance.year.in_(sorted({r["year"] for r in rows})))).all())
            new = [r for r in rows if (r["year"], r["enterprise_id"]) not in existing]
            changed = [r for r in rows if (r["year"], r["enterprise_id"]) in existing]
            if new:
                session.execute(insert(Performance), new)
            if changed:
                session.execute(update(Performance), changed)  # bulk UPDATE by primary key
        return n

    def performance(self, year: int) -> pd.DataFrame:
        """The records of ``year``: the PERFORMANCE_COLUMNS and source, sorted by enterprise_id;
        booleans as pandas' nullable ``boolean``, quality_exposures_3y as ``Int64``,
        spot_check_pass_rate as float (unknown: NA/NaN)."""
        cols = PERFORMANCE_COLUMNS + ("source",)
        with self._reading() as session:
            rows = session.execute(
                select(*(getattr(Performance, c) for c in cols))
                .where(Performance.year == int(year))
                .order_by(Performance.enterprise_id)).all()
        return _frame(dict(zip(cols, _columns(rows, len(cols)))),
                      {"year": "intreq", "enterprise_id": "str", "certificate_valid": "nbool",
                       "major_incident_2y": "nbool", "spot_check_pass_rate": "float",
                       "quality_exposures_3y": "int", "credit_clean": "nbool", "source": "str"})

    def load_links(self, df: pd.DataFrame, source: str) -> int:
        """Record which registered brands each enterprise makes, from ``df`` (enterprise_id,
        brand) in one transaction; every brand must be known. Links already stored are kept
        (loading adds, never removes). Returns the number of rows."""
        _require_columns(df, LINK_COLUMNS, source, "enterprise links")
        df = df.reset_index(drop=True)
        ids = _text_column(df["enterprise_id"])
        brands = _text_column(df["brand"])
        first_row: dict[tuple[str, str], int] = {}
        for pos in range(len(df)):
            where = f"{source}, {_row_name(pos)}"
            if ids[pos] is None or not ids[pos].strip():
                raise _row_error(where, "enterprise_id", "the enterprise id is empty; fill it in",
                                 "企业编号为空；请填写")
            if brands[pos] is None or not brands[pos].strip():
                raise _row_error(where, "brand",
                                 f"enterprise '{ids[pos]}' has no brand code; fill it in",
                                 f"企业 '{ids[pos]}' 缺少品牌代码；请填写")
            key = (ids[pos], brands[pos])
            if key in first_row:
                raise _row_error(
                    where, "brand",
                    f"enterprise '{ids[pos]}' and brand '{brands[pos]}' appear again (first at "
                    f"{_row_name(first_row[key])}); keep one row per link",
                    f"企业 '{ids[pos]}' 与品牌 '{brands[pos]}' 重复出现"
                    f"（首次在第 {first_row[key] + 2} 行）；每个关联只保留一行")
            first_row[key] = pos
        if not first_row:
            return 0
        with self._transaction(f"loading enterprise links from {source}") as session:
            known = set(session.scalars(select(Brand.code)))
            for pos, (enterprise, brand) in enumerate(zip(ids, brands)):
                if brand not in known:
                    raise _row_error(
                        f"{source}, {_row_name(pos)}", "brand",
                        f"brand '{brand}' of enterprise '{enterprise}' is not a known brand; "
                        f"load it with the brands list first (or correct the code)",
                        f"企业 '{enterprise}' 的品牌 '{brand}' 不在已知品牌中；"
                        f"请先导入品牌清单（或更正代码）")
            existing = set(session.execute(
                select(EnterpriseLink.enterprise_id, EnterpriseLink.brand)).all())
            new = [{"enterprise_id": e, "brand": b} for e, b in first_row
                   if (e, b) not in existing]
            if new:
                session.execute(insert(EnterpriseLink), new)
        return len(df)

    def links(self) -> pd.DataFrame:
        """Every enterprise → brand link: columns enterprise_id, brand, industry (the brand's,
        from the brand registry), sorted by enterprise_id, brand."""
        with self._reading() as session:
            rows = session.execute(
                select(EnterpriseLink.enterprise_id, EnterpriseLink.brand, Brand.industry)
                .join(Brand, Brand.code == EnterpriseLink.brand)
                .order_by(EnterpriseLink.enterprise_id, EnterpriseLink.brand)).all()
        cols = ("enterprise_id", "brand", "industry")
        return _frame(dict(zip(cols, _columns(rows, 3))), {c: "str" for c in cols})

    # -- releases -------------------------------------------------------------------------------

    @staticmethod
    def _published_id(session: Session, year: int) -> int | None:
        return session.scalar(
            select(Release.id).where(Release.year == year, Release.status == "published"))

    def save_draft(self, year: int, *, settings: dict, provenance: dict, fits: list[dict],
                   scores: pd.DataFrame | None, issues: list[dict],
                   maturity: dict | None = None,
                   grades: list | dict | pd.DataFrame | None = None) -> int:
        """Store the draft release of ``year`` (replacing an existing draft) in ONE transaction;
        refused when ``year`` is already published. Returns the new release id.

        ``scores`` has the SCORE_COLUMNS; ``flags`` may be left out (None on every row), else it
        holds a dict (JSON-serializable, e.g. ``{"invariance": {"ok": False, "reason": "..."}}``)
        or None per row. ``scores`` and ``fits`` may be empty (``scores`` None): a year with only
        maturity results.

        ``maturity`` (a dict) and ``grades`` (a list or dict; a DataFrame is stored as a list of
        row dicts) are the year's maturity results and graded evaluation, stored as JSON with
        the release (numpy/pandas values converted, NaN → null); None stores nothing (NULL)."""
        year = int(year)
        fit_rows = [_fit_params(fit, i) for i, fit in enumerate(fits)]
        score_rows = [] if scores is None else _score_params(scores)
        release_values = {"settings": _jsonable(settings, "settings"),
                          "provenance": _jsonable(provenance, "provenance"),
                          "issues": _jsonable(list(issues), "issues"),
                          "maturity": _release_json(maturity, "maturity", (Mapping,),
                                                    "a dict"),
                          "grades": _release_json(grades, "grades",
                                                  (list, tuple, Mapping, pd.DataFrame),
                                                  "a list or a dict")}
        with self._transaction(f"saving the {year} draft release") as session:
            if self._published_id(session, year) is not None:
                raise _published_error(year, "its draft cannot be saved again")
            old = session.scalar(
                select(Release.id).where(Release.year == year, Release.status == "draft"))
            if old is not None:
                session.execute(delete(Score).where(Score.release_id == old))
                session.execute(delete(ModelFit).where(ModelFit.release_id == old))
                session.execute(delete(Release).where(Release.id == old))
            release = Release(year=year, status="draft", created_at=_now(), **release_values)
            session.add(release)
            session.flush()
            release_id = release.id
            if fit_rows:
                session.execute(insert(ModelFit.__table__),
                                [dict(r, release_id=release_id) for r in fit_rows])
            if score_rows:
                session.execute(insert(Score.__table__),
                                [dict(r, release_id=release_id) for r in score_rows])
        return release_id

    def publish(self, year: int, *, by: str | None = None,
                embargo_until: datetime | None = None) -> int:
        """Publish the draft of ``year``: sets published_at and content_sha256, and records who
        published it (``by``) and the embargo (``embargo_until``: a datetime with a time zone,
        stored as UTC; the query layer shows the release only from then on; a time without a
        zone, or one not in the future, is refused). ``by`` is stripped; empty means unknown.
        Returns its id.

        The content hash covers the release's content (year, settings, provenance, issues, fits,
        scores with their flags, maturity and grades when saved), not who published it or when:
        those are recorded beside it in the same row, which the database keeps unchanged like
        the content."""
        year = int(year)
        embargo = _aware_utc(embargo_until, "the embargo time", "2026-03-15T09:00+08:00")
        if embargo is not None and embargo <= _now():
            raise StoreError(
                f"the embargo time {embargo.isoformat()} of the {year} release is not in the "
                f"future; give a later time, or publish without an embargo",
                message_zh=f"{year} 年版本的禁发时间 {embargo.isoformat()} 不在将来；"
                           f"请给出更晚的时间，或不设禁发时间直接发布")
        if by is not None:
            if not isinstance(by, str):
                raise StoreError(
                    f"publisher '{by}' is not a name; give the publisher as text",
                    message_zh=f"发布人 '{by}' 不是名字；请以文本给出发布人")
            by = by.strip() or None
        with self._transaction(f"publishing the {year} release") as session:
            # Lock the draft row first (PostgreSQL: FOR UPDATE; SQLite locks the whole file when
            # writing): a second process publishing the same year concurrently waits here, then
            # finds the year published and is refused below.
            draft = session.scalar(
                select(Release.id).where(Release.year == year, Release.status == "draft")
                .with_for_update())
            if self._published_id(session, year) is not None:
                raise _published_error(year, "it is already published")
            if draft is None:
                raise StoreError(
                    f"there is no draft release for {year} to publish; run `ncsi build --year "
                    f"{year}` first",
                    message_zh=f"{year} 年没有可发布的草稿版本；"
                               f"请先运行 `ncsi build --year {year}`")
            digest = _content_sha256(session, draft)
            done = session.execute(
                update(Release).where(Release.id == draft, Release.status == "draft")
                .values(status="published", published_at=_now(), content_sha256=digest,
                        published_by=by, embargo_until=embargo))
            if done.rowcount != 1:  # a backstop: the lock above keeps the draft as it was read
                raise StoreError(
                    f"the {year} draft changed while it was being published (another process); "
                    f"nothing was published — check `ncsi release list` and try again",
                    message_zh=f"{year} 年草稿在发布过程中被其他进程更改；未发布任何内容——"
                               f"请查看 `ncsi release list` 后重试")
        return draft

    def releases(self) -> pd.DataFrame:
        """Every release, drafts included: columns id, year, status, created_at, published_at,
        content_sha256, published_by, embargo_until (times UTC; by year, id)."""
        cols = RELEASE_COLUMNS
        with self._reading() as session:
            rows = session.execute(select(*(getattr(Release, c) for c in cols))
                                   .order_by(Release.year, Release.id)).all()
        return _frame(dict(zip(cols, _columns(rows, len(cols)))),
                      {"id": "intreq", "year": "intreq", "status": "str",
                       "created_at": "datetime", "published_at": "datetime",
                       "content_sha256": "str", "published_by": "str",
                       "embargo_until": "datetime"})

    def published_release_keys(self) -> list[tuple[int, int, datetime | None]]:
        """(year, id, embargo_until in UTC or None) of every published release — the small
        read the dashboard makes on every page run to notice a new release or a lifted
        embargo."""
        with self._reading() as session:
            rows = session.execute(select(Release.year, Release.id, Release.embargo_until)
                                   .where(Release.status == "published")
                                   .order_by(Release.year, Release.id)).all()
        return [(int(y), int(i), _utc(u)) for y, i, u in rows]

    def release(self, year: int, status: str = "published") -> dict | None:
        """The release row of ``year`` with ``status`` as a dict (id, year, status, created_at,
        published_at, settings, provenance, issues, content_sha256, published_by,
        embargo_until, maturity, grades; times UTC; maturity/grades None when not saved), or
        None."""
        if status not in ("draft", "published"):
            raise StoreError(f"release status '{status}' is not 'draft' or 'published'",
                             message_zh=f"版本状态 '{status}' 不是 'draft' 或 'published'")
        cols = ("id", "year", "status", "created_at", "published_at", "settings", "provenance",
                "issues", "content_sha256", "published_by", "embargo_until", "maturity",
                "grades")
        with self._reading() as session:
            row = session.execute(select(*(getattr(Release, c) for c in cols))
                                  .where(Release.year == int(year), Release.status == status)
                                  ).first()
        if row is None:
            return None
        out = dict(zip(cols, row))
        out["created_at"] = _utc(out["created_at"])
        out["published_at"] = _utc(out["published_at"])
        out["embargo_until"] = _utc(out["embargo_until"])
        return out

    def release_scores(self, release_id: int) -> pd.DataFrame:
        """The scores of one release: the SCORE_COLUMNS, in the order they were saved."""
        stmt = (select(*_score_select()).where(Score.release_id == int(release_id))
                .order_by(Score.id))
        with self._reading() as session:
            rows = session.execute(stmt).all()
        return _score_frame(rows, ())

    def release_fits(self, release_id: int) -> list[dict]:
        """The model fits of one release as dicts: id plus the FIT_KEYS, in saved order."""
        cols = ("id",) + FIT_KEYS
        with self._reading() as session:
            rows = session.execute(select(*(getattr(ModelFit, c) for c in cols))
                                   .where(ModelFit.release_id == int(release_id))
                                   .order_by(ModelFit.id)).all()
        return [dict(zip(cols, row)) for row in rows]

    def published_scores(self, level: str | None = None,
                         construct: str | None = None) -> pd.DataFrame:
        """Scores of every published release: year, release_id, then the SCORE_COLUMNS."""
        stmt = (select(Release.year, Score.release_id, *_score_select())
                .join(Release, Release.id == Score.release_id)
                .where(Release.status == "published")
                .order_by(Release.year, Score.id))
        if level is not None:
            stmt = stmt.where(Score.level == level)
        if construct is not None:
            stmt = stmt.where(Score.construct == construct)
        with self._reading() as session:
            rows = session.execute(stmt).all()
        return _score_frame(rows, ("year", "release_id"))

    def verify_release(self, release_id: int) -> bool:
        """True when a published release's content still hashes to its content_sha256."""
        with self._reading() as session:
            stored = session.scalar(select(Release.content_sha256)
                                    .where(Release.id == int(release_id)))
            return stored is not None and stored == _content_sha256(session, int(release_id))

    # -- tests ----------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, list[tuple]]:
        """The full content of every table (except alembic_version), rows sorted; equal
        snapshots mean an unchanged store."""
        out: dict[str, list[tuple]] = {}
        with self.engine.connect() as connection:
            names = sorted(set(inspect(connection).get_table_names()) - {"alembic_version"})
            reflected = MetaData()
            for name in names:
                table = Base.metadata.tables.get(name)
                if table is None:
                    table = Table(name, reflected, autoload_with=connection)
                rows = [tuple(row) for row in connection.execute(select(table))]
                out[name] = sorted(rows, key=_canonical)
        return out


# --- helpers ----------------------------------------------------------------------------------

def _reason(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc).strip().splitlines()[0]


def _columns(rows: list, width: int) -> list[list[Any]]:
    if not rows:
        return [[] for _ in range(width)]
    return [list(col) for col in zip(*rows)]


def _decode_items(texts: list[Any]) -> tuple[list[str], np.ndarray]:
    """Item JSON texts (one per response) → (item codes, float matrix with NaN for null).

    Decodes all rows in one ``json.loads`` call; codes keep the order in which they were stored
    (a survey's codes first, then codes only other surveys have)."""
    if all(isinstance(t, str) for t in texts):
        dicts = json.loads("[" + ",".join(texts) + "]")
    else:  # a driver that already decoded JSON
        dicts = [json.loads(t) if isinstance(t, str) else t for t in texts]
    codes: dict[str, None] = {}
    rows_of: dict[tuple, list[int]] = {}   # rows by key set (one key set per wave, in practice)
    previous: tuple | None = None
    rows: list[int] = []
    for i, d in enumerate(dicts):
        keys = tuple(d)
        if keys != previous:
            codes.update(dict.fromkeys(keys))
            rows = rows_of.setdefault(keys, [])
            previous = keys
        rows.append(i)
    ordered = list(codes)
    if not ordered:
        return [], np.empty((len(dicts), 0))
    position = {c: k for k, c in enumerate(ordered)}
    out = np.full((len(dicts), len(ordered)), np.nan)
    for keys, idx in rows_of.items():
        if not keys:
            continue
        getter = itemgetter(*keys)
        vals = np.array([getter(dicts[i]) for i in idx], dtype=float).reshape(len(idx), -1)
        out[np.ix_(np.asarray(idx), [position[k] for k in keys])] = vals
    return ordered, out


def _encode_items(codes: list[str], matrix: np.ndarray) -> list[_RawJSON]:
    """One JSON object per row {code: number or null}, encoded in bulk (NaN → null)."""
    n = matrix.shape[0]
    if not codes:
        return [_RawJSON("{}")] * n
    nan = np.isnan(matrix)
    finite = matrix[~nan]
    keys = [json.dumps(c, ensure_ascii=False).replace("%", "%%") for c in codes]
    template = "{" + ",".join(f"{k}:%s" for k in keys) + "}"
    low = int(finite.min()) if finite.size else 0
    high = int(finite.max()) if finite.size else 0
    if finite.size == 0 or (high - low <= 100_000 and np.array_equal(finite, np.round(finite))):
        # Whole numbers in a small range (survey answers): look the JSON text of each value up.
        table = np.array(["null"] + [json.dumps(float(v)) for v in range(low, high + 1)],
                         dtype=object)
        index = np.zeros(matrix.shape, dtype=np.int64)
        index[~nan] = finite.astype(np.int64) - low + 1
        cells = table[index].tolist()
    else:
        cells = [[json.dumps(v) for v in row] for row in _nullable_matrix(matrix)]
    return [_RawJSON(template % row) for row in map(tuple, cells)]


def _row_error(where: str, column: str, message: str, message_zh: str) -> StoreError:
    return StoreError(f"{where}, column '{column}': {message}",
                      message_zh=f"{where}，列 '{column}'：{message_zh}")


def _require_columns(df: pd.DataFrame, required: tuple[str, ...], source: str,
                     kind: str) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise StoreError(
            f"{source}: the {kind} data lacks column(s) {', '.join(missing)}; it needs "
            f"{', '.join(required)}",
            message_zh=f"{source}：{kind} 数据缺少列 {', '.join(missing)}；"
                       f"需要 {', '.join(required)}")


def _numeric(series: pd.Series, source: str, column: str) -> np.ndarray:
    values = pd.to_numeric(series, errors="coerce")
    bad = values.isna().to_numpy() & series.notna().to_numpy()
    if isinstance(series.dtype, pd.CategoricalDtype) or series.dtype == object or \
            pd.api.types.is_string_dtype(series.dtype):
        blank = series.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(dtype=bool)
        bad &= ~blank
    array = values.to_numpy(dtype=float, na_value=np.nan)
    bad |= np.isinf(array)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise _row_error(f"{source}, {_row_name(pos)}", column,
                         f"'{series.iloc[pos]}' is not a finite number; correct it",
                         f"'{series.iloc[pos]}' 不是有效数字；请更正")
    return array


def _float_column(series: pd.Series, source: str, column: str,
                  required: bool = False) -> list[float | None]:
    array = _numeric(series, source, column)
    if required and np.isnan(array).any():
        pos = int(np.flatnonzero(np.isnan(array))[0])
        raise _row_error(f"{source}, {_row_name(pos)}", column, "the value is empty; fill it in",
                         "该值为空；请填写")
    return _nullable_list(array)


def _int_column(series: pd.Series, source: str, column: str,
                required: bool = False) -> list[int | None]:
    array = _numeric(series, source, column)
    nan = np.isnan(array)
    if required and nan.any():
        pos = int(np.flatnonzero(nan)[0])
        raise _row_error(f"{source}, {_row_name(pos)}", column, "the value is empty; fill it in",
                         "该值为空；请填写")
    fractional = ~nan & (array != np.round(array))
    if fractional.any():
        pos = int(np.flatnonzero(fractional)[0])
        raise _row_error(f"{source}, {_row_name(pos)}", column,
                         f"{array[pos]} is not a whole number; correct it",
                         f"{array[pos]} 不是整数；请更正")
    out = array.astype(object)
    out[nan] = None
    out[~nan] = array[~nan].astype(np.int64).tolist()
    return out.tolist()


#: Columns of a response row as add_wave inserts them (after wave_id).
_RESPONSE_KEYS = ("respondent_id", "industry", "brand", "region", "gender", "age", "weight",
                  "duration_sec", "status", "items")


class _ResponseRows:
    """Response rows ready for INSERT, column by column (``columns`` in _RESPONSE_KEYS order,
    Python values; items as JSON text)."""

    __slots__ = ("columns", "n", "n_valid")

    def __init__(self, columns: list[list[Any]], n: int, n_valid: int):
        self.columns, self.n, self.n_valid = columns, n, n_valid


def _response_params(responses: pd.DataFrame, source: str, offset: int = 0) -> _ResponseRows:
    """Check and convert responses for add_wave; ``offset``: data rows before this chunk (error
    messages name the row in the whole wave)."""
    _require_columns(responses, RESPONSE_COLUMNS, source, "responses")
    responses = responses.reset_index(drop=True)
    item_columns = [str(c) for c in responses.columns if c not in RESPONSE_COLUMNS]
    n = len(responses)
    text = {c: _response_text(responses[c])
            for c in ("respondent_id", "industry", "brand", "region", "gender", "status")}
    for column in ("respondent_id", "industry", "brand"):
        values = text[column]
        if all(values) and _no_space("\0".join(values)):
            continue  # no None, no "", and no whitespace at all: no value is blank
        for pos, value in enumerate(values):
            if value is None or not value.strip():
                raise _row_error(f"{source}, {_row_name(offset + pos)}", column,
                                 "the value is empty; every response needs it",
                                 "该值为空；每条回答都必须填写")
    statuses = frozenset(RESPONSE_STATUSES)
    for pos, value in enumerate(text["status"]):
        if value not in statuses:
            raise _row_error(f"{source}, {_row_name(offset + pos)}", "status",
                             f"status '{value}' of respondent '{text['respondent_id'][pos]}' is "
                             f"not one of {', '.join(RESPONSE_STATUSES)}",
                             f"受访者 '{text['respondent_id'][pos]}' 的状态 '{value}' 不是 "
                             f"{', '.join(RESPONSE_STATUSES)} 之一")
    age = _response_numbers(responses["age"], source, "age", offset)
    nan = np.isnan(age)
    fractional = ~nan & (age != np.round(age))
    if fractional.any():
        pos = int(np.flatnonzero(fractional)[0])
        raise _row_error(f"{source}, {_row_name(offset + pos)}", "age",
                         f"{age[pos]} is not a whole number; correct it",
                         f"{age[pos]} 不是整数；请更正")
    ages = age.astype(object)
    ages[nan] = None
    ages[~nan] = age[~nan].astype(np.int64).tolist()
    weight = _response_numbers(responses["weight"], source, "weight", offset, required=True)
    duration = _response_numbers(responses["duration_sec"], source, "duration_sec", offset)
    if item_columns:
        matrix = np.column_stack([_response_numbers(responses[c], source, str(c), offset)
                                  for c in responses.columns if c not in RESPONSE_COLUMNS])
    else:
        matrix = np.empty((n, 0))
    items = _response_items(item_columns, matrix)
    n_valid = sum(1 for s in text["status"] if s == "valid")
    columns = [text["respondent_id"], text["industry"], text["brand"], text["region"],
               text["gender"], ages.tolist(), _nullable_list(weight), _nullable_list(duration),
               text["status"], items]
    return _ResponseRows(columns, n, n_valid)


def _no_space(text: str) -> bool:
    """True when ``text`` is ASCII without whitespace (at C speed; else look closer)."""
    return text.isascii() and not any(c in text for c in "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f ")


def _response_text(series: pd.Series) -> list[str | None]:
    """_text_column, skipping the per-value type check for a pandas string column (whose
    values are all str or missing)."""
    if isinstance(series.dtype, pd.StringDtype):
        return series.to_numpy(dtype=object, na_value=None).tolist()
    return _text_column(series)


def _response_numbers(series: pd.Series, source: str, column: str, offset: int,
                      required: bool = False) -> np.ndarray:
    """A response column as float (NaN = empty); the checks and messages of _numeric and
    _float_column, rows numbered from ``offset``."""
    if series.dtype == np.float64:
        array = series.to_numpy()
        bad = np.isinf(array)
    else:
        values = pd.to_numeric(series, errors="coerce")
        bad = values.isna().to_numpy() & series.notna().to_numpy()
        if bad.any() and (isinstance(series.dtype, pd.CategoricalDtype) or series.dtype == object
                          or pd.api.types.is_string_dtype(series.dtype)):
            blank = series.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(
                dtype=bool)
            bad &= ~blank
        array = values.to_numpy(dtype=float, na_value=np.nan)
        bad |= np.isinf(array)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise _row_error(f"{source}, {_row_name(offset + pos)}", column,
                         f"'{series.iloc[pos]}' is not a finite number; correct it",
                         f"'{series.iloc[pos]}' 不是有效数字；请更正")
    if required and np.isnan(array).any():
        pos = int(np.flatnonzero(np.isnan(array))[0])
        raise _row_error(f"{source}, {_row_name(offset + pos)}", column,
                         "the value is empty; fill it in", "该值为空；请填写")
    return array


def _response_items(codes: list[str], matrix: np.ndarray) -> list[str]:
    """The JSON text of each row's items — the same text as _encode_items, built column-wise:
    survey answers are whole numbers in a small range, so each cell's ``"code":value`` piece is
    looked up in a table and a row is one ``",".join``."""
    n = matrix.shape[0]
    if not codes:
        return ["{}"] * n
    nan = np.isnan(matrix)
    finite = matrix[~nan]
    low = int(finite.min()) if finite.size else 0
    high = int(finite.max()) if finite.size else 0
    if finite.size and not (high - low <= 100_000 and np.array_equal(finite, np.round(finite))):
        return [str(t) for t in _encode_items(codes, matrix)]
    index = np.zeros(matrix.shape, dtype=np.int64)
    index[~nan] = finite.astype(np.int64) - low + 1
    values = ["null"] + [json.dumps(float(v)) for v in range(low, high + 1)]
    pieces = []
    for j, code in enumerate(codes):
        key = json.dumps(code, ensure_ascii=False)
        table = np.array([f"{key}:{v}" for v in values], dtype=object)
        pieces.append(table[index[:, j]].tolist())
    return ["{" + ",".join(row) + "}" for row in zip(*pieces)]


#: Rows per INSERT statement on positional-parameter drivers (SQLite): a multi-row VALUES list
#: of 90 rows × 11 columns stays under SQLite's oldest limit of 999 parameters.
_ROWS_PER_STATEMENT = 90


def _response_inserter(connection) -> Callable[[int, list[list[Any]]], None]:
    """A function inserting one batch of response rows (wave id, columns) on ``connection`` (in
    its transaction). Drivers with positional parameters (SQLite) get SQLAlchemy's compiled
    INSERT with a VALUES list of _ROWS_PER_STATEMENT rows, run by one executemany over flat
    parameter lists (skipping SQLAlchemy's per-row parameter processing; SQLite's per-statement
    cost is shared by 90 rows); named-parameter drivers (psycopg: batched by SQLAlchemy's
    insertmanyvalues) get dicts; psycopg (PostgreSQL) gets COPY FROM STDIN."""
    table = Response.__table__
    keys = ("wave_id",) + _RESPONSE_KEYS
    compiled = insert(table).compile(dialect=connection.dialect, column_keys=list(keys))
    if compiled.positional and list(compiled.positiontup or ()) == list(keys) and \
            " VALUES (" in str(compiled):
        one = str(compiled)
        head, row = one.split(" VALUES ", 1)
        many = f"{head} VALUES {', '.join([row] * _ROWS_PER_STATEMENT)}"

        def insert_positional(wave_id: int, columns: list[list[Any]]) -> None:
            n = len(columns[0])
            cells = np.empty((n, len(keys)), dtype=object)
            cells[:, 0] = wave_id
            for k, column in enumerate(columns, start=1):
                cells[:, k] = column
            full = n - n % _ROWS_PER_STATEMENT
            if full:
                flat = cells[:full].reshape(-1, _ROWS_PER_STATEMENT * len(keys)).tolist()
                connection.exec_driver_sql(many, list(map(tuple, flat)))
            if full < n:
                connection.exec_driver_sql(one, list(map(tuple, cells[full:].tolist())))
        return insert_positional

    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        quote = connection.dialect.identifier_preparer.quote
        copy_sql = f"COPY {quote(table.name)} ({', '.join(quote(k) for k in keys)}) FROM STDIN"
        dbapi = connection.dialect.loaded_dbapi

        def insert_copy(wave_id: int, columns: list[list[Any]]) -> None:
            """COPY on the transaction's own connection: PostgreSQL's bulk path."""
            try:
                with connection.connection.driver_connection.cursor() as cursor, \
                        cursor.copy(copy_sql) as copy:
                    for row in zip([wave_id] * len(columns[0]), *columns):
                        copy.write_row(row)
            except dbapi.Error as exc:  # as SQLAlchemy would wrap it: IntegrityError & co.
                raise DBAPIError.instance(copy_sql, None, exc, dbapi.Error) from exc
        return insert_copy

    def insert_named(wave_id: int, columns: list[list[Any]]) -> None:
        rows = [dict(zip(keys, (wave_id,) + row)) for row in zip(*columns)]
        for row in rows:
            row["items"] = _RawJSON(row["items"])  # already JSON: the engine passes it through
        connection.execute(insert(table), rows)
    return insert_named


def _registered_survey(session: Session, survey_id: str, survey_version: str,
                       source: str) -> Survey:
    survey = session.get(Survey, (survey_id, survey_version))
    if survey is None:
        raise StoreError(
            f"{source}: survey {survey_id} version {survey_version} is not registered; "
            f"register the questionnaire (Store.register_survey) before ingesting",
            message_zh=f"{source}：问卷 {survey_id} 版本 {survey_version} 尚未登记；"
                       f"请先登记问卷再导入数据")
    return survey


def _maturity_waves():
    """waves JOIN surveys restricted to maturity questionnaires (a FROM clause)."""
    return Wave.__table__.join(
        Survey.__table__,
        and_(Survey.id == Wave.survey_id, Survey.version == Wave.survey_version,
             Survey.sector == MATURITY_SECTOR))


def _maturity_item_codes(item_codes: Any, source: str) -> list[str]:
    if isinstance(item_codes, str) or not isinstance(item_codes, (list, tuple, pd.Index)):
        raise StoreError(
            f"{source}: item_codes must be a list of the questionnaire's item codes, not "
            f"{type(item_codes).__name__}",
            message_zh=f"{source}：item_codes 必须是问卷题目代码的列表，不能是 "
                       f"{type(item_codes).__name__}")
    codes = [str(c) for c in item_codes]
    if not codes:
        raise StoreError(f"{source}: no item codes given; a maturity wave needs its items",
                         message_zh=f"{source}：未给出题目代码；成熟度数据必须包含题目")
    clash = [c for c in codes if c in MATURITY_COLUMNS]
    repeated = sorted({c for c in codes if codes.count(c) > 1})
    if clash or repeated:
        bad = (clash or repeated)[0]
        raise StoreError(
            f"{source}: item code '{bad}' is "
            f"{'a respondent column' if clash else 'given more than once'}; item codes must be "
            f"unique and differ from {', '.join(MATURITY_COLUMNS)}",
            message_zh=f"{source}：题目代码 '{bad}' "
                       f"{'与企业信息列同名' if clash else '重复'}；题目代码必须唯一，且不能是 "
                       f"{', '.join(MATURITY_COLUMNS)}")
    return codes


def _maturity_params(responses: pd.DataFrame, codes: list[str],
                     source: str) -> list[dict[str, Any]]:
    _require_columns(responses, MATURITY_COLUMNS + tuple(codes), source, "maturity responses")
    responses = responses.reset_index(drop=True)
    n = len(responses)
    if n == 0:
        raise StoreError(f"{source}: the maturity data has no enterprise rows; nothing to store",
                         message_zh=f"{source}：成熟度数据没有企业记录；无可导入的内容")
    text = {c: _text_column(responses[c]) for c in ("enterprise_id", "region", "size", "industry")}
    first_row: dict[str, int] = {}
    sizes: list[str] = []
    for pos in range(n):
        where = f"{source}, {_row_name(pos)}"
        for column in ("enterprise_id", "region", "size", "industry"):
            value = text[column][pos]
            if value is None or not value.strip():
                raise _row_error(where, column, "the value is empty; every enterprise needs it",
                                 "该值为空；每个企业都必须填写")
        enterprise = text["enterprise_id"][pos]
        if enterprise in first_row:
            raise _row_error(
                where, "enterprise_id",
                f"enterprise '{enterprise}' appears again (first at "
                f"{_row_name(first_row[enterprise])}); every enterprise answers once per wave — "
                f"nothing was written",
                f"企业 '{enterprise}' 重复出现（首次在第 {first_row[enterprise] + 2} 行）；"
                f"每个企业每期只能有一条记录——未写入任何内容")
        first_row[enterprise] = pos
        size = text["size"][pos].strip().lower()
        if size not in ENTERPRISE_SIZES:
            raise _row_error(where, "size",
                             f"size '{text['size'][pos]}' of enterprise '{enterprise}' is not "
                             f"one of {', '.join(ENTERPRISE_SIZES)}",
                             f"企业 '{enterprise}' 的规模 '{text['size'][pos]}' 不是 "
                             f"{', '.join(ENTERPRISE_SIZES)} 之一")
        sizes.append(size)
    weight = _float_column(responses["weight"], source, "weight", required=True)
    for pos, w in enumerate(weight):
        if w <= 0:
            raise _row_error(f"{source}, {_row_name(pos)}", "weight",
                             f"weight {w:g} of enterprise '{text['enterprise_id'][pos]}' is not "
                             f"positive; a design weight is greater than 0",
                             f"企业 '{text['enterprise_id'][pos]}' 的权重 {w:g} 不是正数；"
                             f"设计权重必须大于 0")
    matrix = np.column_stack([_numeric(responses[c], source, c) for c in codes])
    items = _encode_items(codes, matrix)
    return [
        {"enterprise_id": e, "region": r, "size": s, "industry": i, "weight": w, "items": it}
        for e, r, s, i, w, it in zip(text["enterprise_id"], text["region"], sizes,
                                     text["industry"], weight, items)
    ]


def _nullable_bool_column(series: pd.Series, source: str, column: str) -> list[bool | None]:
    """true/false, 1/0, yes/no (and 是/否) → bool; an empty cell → None; else a named error."""
    out: list[bool | None] = []
    for pos, value in enumerate(series.tolist()):
        if _missing(value) or (isinstance(value, str) and not value.strip()):
            out.append(None)
            continue
        flag = _to_bool(value)
        if flag is None:
            raise _row_error(f"{source}, {_row_name(pos)}", column,
                             f"'{value}' is not true or false; write true/false, 1/0 or yes/no "
                             f"(leave it empty when unknown)",
                             f"'{value}' 不是 true 或 false；请填写 true/false、1/0 或 yes/no"
                             f"（未知时留空）")
        out.append(flag)
    return out


def _text_column(series: pd.Series) -> list[str | None]:
    """Column → Python strings with None where missing (fast for text columns)."""
    if not (pd.api.types.is_string_dtype(series.dtype) or series.dtype == object):
        return [_text(v) for v in series.tolist()]
    values = series.to_numpy(dtype=object, na_value=None).tolist()
    return [v if v is None or type(v) is str else _text(v) for v in values]


def _nullable_matrix(matrix: np.ndarray) -> list[list[Any]]:
    out = matrix.astype(object)
    out[np.isnan(matrix)] = None
    return out.tolist()


def _wave_exists_error(survey_id: str, year: int, source: str) -> StoreError:
    return StoreError(
        f"{source}: the {year} wave of survey {survey_id} was already ingested (wave already "
        f"ingested; use --replace to replace it)",
        message_zh=f"{source}：问卷 {survey_id} 的 {year} 年数据已导入；如需替换请使用 --replace")


def _published_error(year: int, what: str) -> StoreError:
    return StoreError(
        f"the {year} release is published and {what}: published releases never change — "
        f"corrections go into a later year's release",
        message_zh=f"{year} 年版本已发布：已发布的版本永不更改——更正请放入以后年度的版本")


def _release_json(value: Any, what: str, kinds: tuple[type, ...], expected: str) -> Any:
    """``value`` checked to be one of ``kinds`` (or None) and made JSON-safe."""
    if value is None:
        return None
    if not isinstance(value, kinds):
        raise StoreError(
            f"the draft's {what} must be {expected} (or None), not a {type(value).__name__}; "
            f"convert it before saving the draft",
            message_zh=f"草稿的 {what} 必须是{'字典' if expected == 'a dict' else '列表或字典'}"
                       f"（或 None），不能是 {type(value).__name__}；请先转换再保存草稿")
    return _jsonable(value, what)


def _fit_params(fit: Mapping[str, Any], i: int) -> dict[str, Any]:
    where = f"model fit {i} ({fit.get('industry', '?')}/{fit.get('survey_id', '?')})"
    missing = [k for k in FIT_KEYS if k not in fit]
    if missing:
        raise StoreError(f"{where}: lacks {', '.join(missing)}; a fit needs {', '.join(FIT_KEYS)}",
                         message_zh=f"{where}：缺少 {', '.join(missing)}")
    if fit["status"] not in FIT_STATUSES:
        raise StoreError(f"{where}: status '{fit['status']}' is not 'ok' or 'failed'",
                         message_zh=f"{where}：状态 '{fit['status']}' 不是 'ok' 或 'failed'")
    if _missing(fit["industry"]) or not str(fit["industry"]).strip():
        raise StoreError(f"{where}: the industry is empty", message_zh=f"{where}：行业为空")

    def opt_int(key: str) -> int | None:
        return _whole_number(fit[key], where, key)

    converged = None if _missing(fit["converged"]) else _to_bool(fit["converged"])
    return {
        "industry": str(fit["industry"]),
        "survey_id": _text(fit["survey_id"]),
        "model_name": _text(fit["model_name"]),
        "model_sha256": _text(fit["model_sha256"]),
        "status": fit["status"],
        "message": _text(fit["message"]),
        "n": opt_int("n"),
        "converged": converged,
        "iterations": opt_int("iterations"),
        "settings": _jsonable(fit["settings"], f"{where}.settings"),
        "result": _jsonable(fit["result"], f"{where}.result"),
    }


def _score_params(scores: pd.DataFrame) -> list[dict[str, Any]]:
    if len(scores) == 0:
        return []
    _require_columns(scores, tuple(c for c in SCORE_COLUMNS if c not in SCORE_OPTIONAL),
                     "scores", "scores")
    scores = scores.reset_index(drop=True)
    n = len(scores)
    text = {c: [_text(v) for v in scores[c].tolist()]
            for c in ("level", "code", "parent", "construct", "weight_basis", "note")}

    def where(pos: int) -> str:
        return (f"scores row {pos} (level {text['level'][pos]}, code {text['code'][pos]}, "
                f"construct {text['construct'][pos]})")

    for pos in range(n):
        if text["level"][pos] not in SCORE_LEVELS:
            raise StoreError(f"{where(pos)}: level must be one of {', '.join(SCORE_LEVELS)}",
                             message_zh=f"{where(pos)}：level 必须是 "
                                        f"{', '.join(SCORE_LEVELS)} 之一")
        for column in ("code", "construct"):
            if not text[column][pos]:
                raise StoreError(f"{where(pos)}: {column} is empty",
                                 message_zh=f"{where(pos)}：{column} 为空")
    floats = {}
    for column in ("index", "se", "ci_low", "ci_high", "weight"):
        array = pd.to_numeric(scores[column], errors="coerce").to_numpy(dtype=float,
                                                                       na_value=np.nan)
        bad = np.isinf(array) | (np.isnan(array) & scores[column].notna().to_numpy())
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            raise StoreError(f"{where(pos)}: {column} '{scores[column].iloc[pos]}' is not a "
                             f"finite number",
                             message_zh=f"{where(pos)}：{column} "
                                        f"'{scores[column].iloc[pos]}' 不是有效数字")
        floats[column] = _nullable_list(array)
    ns = [_whole_number(value, where(pos), "n")
          for pos, value in enumerate(scores["n"].tolist())]
    publishable = []
    for pos, value in enumerate(scores["publishable"].tolist()):
        flag = _to_bool(value)
        if flag is None:
            raise StoreError(f"{where(pos)}: publishable '{value}' is not true or false",
                             message_zh=f"{where(pos)}：publishable '{value}' 不是 true 或 false")
        publishable.append(flag)
    flags: list[dict[str, Any] | None] = [None] * n
    if "flags" in scores.columns:
        for pos, value in enumerate(scores["flags"].tolist()):
            if _missing(value):
                continue
            if not isinstance(value, Mapping):
                raise StoreError(
                    f"{where(pos)}: flags must be a dict such as "
                    f"{{'invariance': {{'ok': False, 'reason': '...'}}}} or empty (None), not a "
                    f"{type(value).__name__}; convert it before saving the draft",
                    message_zh=f"{where(pos)}：flags 必须是字典或留空（None），不能是 "
                               f"{type(value).__name__}；请先转换再保存草稿")
            flags[pos] = _jsonable(value, f"{where(pos)}.flags")
    return [
        {"level": text["level"][i], "code": text["code"][i], "parent": text["parent"][i],
         "construct": text["construct"][i], "index": floats["index"][i], "se": floats["se"][i],
         "ci_low": floats["ci_low"][i], "ci_high": floats["ci_high"][i], "n": ns[i],
         "weight": floats["weight"][i], "weight_basis": text["weight_basis"][i],
         "publishable": publishable[i], "note": text["note"][i], "flags": flags[i]}
        for i in range(n)
    ]


def _score_select() -> list:
    return [Score.__table__.c[c] for c in SCORE_COLUMNS]


_SCORE_KINDS = {"level": "str", "code": "str", "parent": "str", "construct": "str",
                "index": "float", "se": "float", "ci_low": "float", "ci_high": "float",
                "n": "int", "weight": "float", "weight_basis": "str", "publishable": "bool",
                "note": "str", "flags": "object", "year": "intreq", "release_id": "intreq"}


def _score_frame(rows: list, lead: tuple[str, ...]) -> pd.DataFrame:
    cols = lead + SCORE_COLUMNS
    return _frame(dict(zip(cols, _columns(rows, len(cols)))), _SCORE_KINDS)


def _hashed_score(row: Any) -> str:
    """A score row as hashed: the SCORE_COLUMNS, ``flags`` only when not None — so rows without
    flags hash as they did before migration 0002 added the column."""
    values = dict(zip(SCORE_COLUMNS, row))
    if values.get("flags") is None:
        values.pop("flags", None)
    return _canonical(values)


def _content_sha256(session: Session, release_id: int) -> str:
    """sha256 of a release's content: year, settings, provenance, issues, its fits and scores
    with their flags (rows as stored, order-independent; ids, timestamps, the publisher and the
    embargo excluded), and its maturity results and grades — each only when not NULL, so that
    releases published before migration 0003 hash as they did."""
    release = session.execute(
        select(Release.year, Release.settings, Release.provenance, Release.issues,
               Release.maturity, Release.grades)
        .where(Release.id == release_id)).one()
    fits = session.execute(select(*(ModelFit.__table__.c[k] for k in FIT_KEYS))
                           .where(ModelFit.release_id == release_id)).all()
    scores = session.execute(select(*_score_select()).where(Score.release_id == release_id)).all()
    document = {
        "year": release.year,
        "settings": release.settings,
        "provenance": release.provenance,
        "issues": release.issues,
        "fits": sorted((_canonical(dict(zip(FIT_KEYS, f))) for f in fits)),
        "scores": sorted(_hashed_score(s) for s in scores),
    }
    for key in ("maturity", "grades"):
        if getattr(release, key) is not None:
            document[key] = getattr(release, key)
    return hashlib.sha256(_canonical(document).encode("utf-8")).hexdigest()
