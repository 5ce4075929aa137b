"""SQLAlchemy ORM models of the NCSI store.

The schema is created and changed only by the Alembic migrations in ``ncsi/migrations``; these
models must match the migrations exactly (``tests/test_store.py`` runs Alembic's autogenerate
comparison and fails on any difference). Keep the schema portable between SQLite and PostgreSQL:
no dialect-specific types; JSON columns use :class:`sqlalchemy.JSON`.

Published releases are immutable; besides the checks in :mod:`ncsi.store.store`, the first
migration installs database triggers that refuse UPDATE/DELETE of a published release and of its
``model_fits`` and ``scores`` rows (triggers are not part of this metadata). They are row triggers
on the whole row, so they also cover the columns added later (migration 0002: ``scores.flags``,
``releases.published_by``, ``releases.embargo_until``; migration 0003: ``releases.maturity``,
``releases.grades``).

Migration 0003 added the quality-management maturity survey and the graded evaluation's inputs:
``maturity_responses`` (one row per enterprise of a maturity wave; the wave is a ``waves`` row
of a questionnaire registered with sector ``manufacturing``), ``performance`` (administrative
quality records per year and enterprise) and ``enterprise_links`` (enterprise → brand).

Migration 0004 added the dashboard's accounts (:mod:`ncsi.accounts`): ``users`` (user names
stored lower-case, argon2 password hashes, role, failed sign-ins and lockout), ``user_bindings``
(which brands / enterprises an enterprise user may see) and ``sessions`` (sign-in sessions, keyed
by the sha256 of their token; the token itself is never stored). Deleting a user deletes its
bindings and sessions (ON DELETE CASCADE; :mod:`ncsi.accounts` also deletes them explicitly).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Deterministic constraint names, identical on every database (the migrations rely on them).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

RELEASE_STATUSES = ("draft", "published")
RESPONSE_STATUSES = ("valid", "speeder", "straightliner")
FIT_STATUSES = ("ok", "failed")
SCORE_LEVELS = ("brand", "industry", "sector", "nation")
ENTERPRISE_SIZES = ("large", "medium", "small")
#: Account roles (migration 0004): analysts and admins see everything, enterprise users only what
#: they are bound to; only admins manage accounts.
USER_ROLES = ("analyst", "enterprise", "admin")
BINDING_KINDS = ("brand", "enterprise")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Survey(Base):
    """A registered questionnaire version; ``definition`` is the text of its YAML file."""

    __tablename__ = "surveys"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    version: Mapped[str] = mapped_column(String, primary_key=True)
    sector: Mapped[str] = mapped_column(String, nullable=False)
    title_zh: Mapped[str | None] = mapped_column(String, nullable=True)
    title_en: Mapped[str | None] = mapped_column(String, nullable=True)
    definition: Mapped[str] = mapped_column(Text, nullable=False)
    sha256: Mapped[str] = mapped_column(String, nullable=False)
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class Brand(Base):
    __tablename__ = "brands"

    code: Mapped[str] = mapped_column(String, primary_key=True)
    industry: Mapped[str] = mapped_column(String, nullable=False)
    name_zh: Mapped[str | None] = mapped_column(String, nullable=True)
    name_en: Mapped[str | None] = mapped_column(String, nullable=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, nullable=False)
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class Revenue(Base):
    __tablename__ = "revenues"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    brand: Mapped[str] = mapped_column(ForeignKey("brands.code"), primary_key=True)
    revenue: Mapped[float] = mapped_column(Float, nullable=False)
    source: Mapped[str | None] = mapped_column(String, nullable=True)


class Wave(Base):
    """One ingested survey file: a survey's responses for one year."""

    __tablename__ = "waves"
    __table_args__ = (
        ForeignKeyConstraint(["survey_id", "survey_version"], ["surveys.id", "surveys.version"]),
        UniqueConstraint("survey_id", "year"),
        Index(None, "year"),
        {"sqlite_autoincrement": True},  # never reuse the id of a replaced wave
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    survey_id: Mapped[str] = mapped_column(String, nullable=False)
    survey_version: Mapped[str] = mapped_column(String, nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    source_file: Mapped[str] = mapped_column(String, nullable=False)
    source_sha256: Mapped[str] = mapped_column(String, nullable=False)
    n_rows: Mapped[int] = mapped_column(Integer, nullable=False)
    n_valid: Mapped[int] = mapped_column(Integer, nullable=False)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    ingested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class Response(Base):
    """One respondent of a wave; ``items`` maps item code → number or null (JSON)."""

    __tablename__ = "responses"
    __table_args__ = (
        UniqueConstraint("wave_id", "respondent_id"),
        Index(None, "wave_id", "industry"),
        CheckConstraint(_in("status", RESPONSE_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    wave_id: Mapped[int] = mapped_column(
        ForeignKey("waves.id", ondelete="CASCADE"), nullable=False)
    respondent_id: Mapped[str] = mapped_column(String, nullable=False)
    industry: Mapped[str] = mapped_column(String, nullable=False)
    brand: Mapped[str] = mapped_column(String, nullable=False)
    region: Mapped[str | None] = mapped_column(String, nullable=True)
    gender: Mapped[str | None] = mapped_column(String, nullable=True)
    age: Mapped[int | None] = mapped_column(Integer, nullable=True)
    weight: Mapped[float] = mapped_column(Float, nullable=False)
    duration_sec: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String, nullable=False)
    items: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)


class Release(Base):
    """A year's release: at most one draft and at most one published release per year."""

    __tablename__ = "releases"
    __table_args__ = (
        # status is 'draft' or 'published', so UNIQUE(year, status) means exactly
        # "at most one draft and at most one published release per year" on every database.
        UniqueConstraint("year", "status"),
        CheckConstraint(_in("status", RELEASE_STATUSES), name="status"),
        CheckConstraint(
            "status = 'draft' OR (published_at IS NOT NULL AND content_sha256 IS NOT NULL)",
            name="published_sealed"),
        {"sqlite_autoincrement": True},  # never reuse the id of a replaced draft
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    settings: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    issues: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    content_sha256: Mapped[str | None] = mapped_column(String, nullable=True)
    # migration 0002: who published it, and when it may first be shown (UTC; None: at once)
    published_by: Mapped[str | None] = mapped_column(String, nullable=True)
    embargo_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # migration 0003: the year's maturity results and graded evaluation, stored with the release
    # (None is stored as SQL NULL, not JSON 'null')
    maturity: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True),
                                                            nullable=True)
    grades: Mapped[Any | None] = mapped_column(JSON(none_as_null=True), nullable=True)


class ModelFit(Base):
    __tablename__ = "model_fits"
    __table_args__ = (
        Index(None, "release_id"),
        CheckConstraint(_in("status", FIT_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    release_id: Mapped[int] = mapped_column(
        ForeignKey("releases.id", ondelete="CASCADE"), nullable=False)
    industry: Mapped[str] = mapped_column(String, nullable=False)
    survey_id: Mapped[str | None] = mapped_column(String, nullable=True)
    model_name: Mapped[str | None] = mapped_column(String, nullable=True)
    model_sha256: Mapped[str | None] = mapped_column(String, nullable=True)
    status: Mapped[str] = mapped_column(String, nullable=False)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    n: Mapped[int | None] = mapped_column(Integer, nullable=True)
    converged: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    iterations: Mapped[int | None] = mapped_column(Integer, nullable=True)
    settings: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class Score(Base):
    __tablename__ = "scores"
    __table_args__ = (
        Index(None, "release_id", "level"),
        CheckConstraint(_in("level", SCORE_LEVELS), name="level"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    release_id: Mapped[int] = mapped_column(
        ForeignKey("releases.id", ondelete="CASCADE"), nullable=False)
    level: Mapped[str] = mapped_column(String, nullable=False)
    code: Mapped[str] = mapped_column(String, nullable=False)
    parent: Mapped[str | None] = mapped_column(String, nullable=True)
    construct: Mapped[str] = mapped_column(String, nullable=False)
    index: Mapped[float | None] = mapped_column("index", Float, nullable=True)
    se: Mapped[float | None] = mapped_column(Float, nullable=True)
    ci_low: Mapped[float | None] = mapped_column(Float, nullable=True)
    ci_high: Mapped[float | None] = mapped_column(Float, nullable=True)
    n: Mapped[int | None] = mapped_column(Integer, nullable=True)
    weight: Mapped[float | None] = mapped_column(Float, nullable=True)
    weight_basis: Mapped[str | None] = mapped_column(String, nullable=True)
    publishable: Mapped[bool] = mapped_column(Boolean, nullable=False)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # migration 0002: per-row check results, e.g. {"invariance": {"ok": false, "reason": "..."}};
    # None is stored as SQL NULL (not JSON 'null')
    flags: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)


class MaturityResponse(Base):
    """One enterprise of a maturity wave (migration 0003); ``items`` maps item code → number or
    null (JSON), like ``responses.items``; ``industry`` is the manufacturing industry code."""

    __tablename__ = "maturity_responses"
    __table_args__ = (
        UniqueConstraint("wave_id", "enterprise_id"),
        Index(None, "wave_id"),
        CheckConstraint(_in("size", ENTERPRISE_SIZES), name="size"),
        CheckConstraint("weight > 0", name="weight_positive"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    wave_id: Mapped[int] = mapped_column(
        ForeignKey("waves.id", ondelete="CASCADE"), nullable=False)
    enterprise_id: Mapped[str] = mapped_column(String, nullable=False)
    region: Mapped[str] = mapped_column(String, nullable=False)
    size: Mapped[str] = mapped_column(String, nullable=False)
    industry: Mapped[str] = mapped_column(String, nullable=False)
    weight: Mapped[float] = mapped_column(Float, nullable=False)
    items: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)


class Performance(Base):
    """Administrative quality records of one enterprise in one year (migration 0003); every
    value may be unknown (NULL)."""

    __tablename__ = "performance"
    __table_args__ = (
        CheckConstraint("spot_check_pass_rate >= 0 AND spot_check_pass_rate <= 100",
                        name="pass_rate_range"),
        CheckConstraint("quality_exposures_3y >= 0", name="exposures_nonnegative"),
    )

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String, primary_key=True)
    certificate_valid: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    major_incident_2y: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    spot_check_pass_rate: Mapped[float | None] = mapped_column(Float, nullable=True)
    quality_exposures_3y: Mapped[int | None] = mapped_column(Integer, nullable=True)
    credit_clean: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    source: Mapped[str | None] = mapped_column(String, nullable=True)


class EnterpriseLink(Base):
    """An enterprise makes (owns) a registered brand (migration 0003)."""

    __tablename__ = "enterprise_links"

    enterprise_id: Mapped[str] = mapped_column(String, primary_key=True)
    brand: Mapped[str] = mapped_column(ForeignKey("brands.code"), primary_key=True)


class User(Base):
    """A dashboard account (migration 0004). ``username`` is stored lower-case, so user names are
    unique regardless of case; ``password_hash`` is an argon2 hash (never the password)."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(_in("role", USER_ROLES), name="role"),
        CheckConstraint("failed_logins >= 0", name="failed_logins_nonnegative"),
    )

    username: Mapped[str] = mapped_column(String, primary_key=True)
    password_hash: Mapped[str] = mapped_column(String, nullable=False)
    role: Mapped[str] = mapped_column(String, nullable=False)
    display_name: Mapped[str | None] = mapped_column(String, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # consecutive failed sign-ins since the last success or lockout
    failed_logins: Mapped[int] = mapped_column(Integer, nullable=False, default=0,
                                               server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class UserBinding(Base):
    """An enterprise user may see a brand (``kind`` 'brand') or an enterprise (``kind``
    'enterprise') given by ``code`` (migration 0004)."""

    __tablename__ = "user_bindings"
    __table_args__ = (
        CheckConstraint(_in("kind", BINDING_KINDS), name="kind"),
    )

    username: Mapped[str] = mapped_column(
        ForeignKey("users.username", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String, primary_key=True)
    code: Mapped[str] = mapped_column(String, primary_key=True)


class UserSession(Base):
    """A sign-in session (migration 0004), keyed by the sha256 (hex) of its random token."""

    __tablename__ = "sessions"
    __table_args__ = (
        Index(None, "username"),
    )

    token_sha256: Mapped[str] = mapped_column(String, primary_key=True)
    username: Mapped[str] = mapped_column(
        ForeignKey("users.username", ondelete="CASCADE"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


TABLES = ("surveys", "brands", "revenues", "waves", "responses", "releases", "model_fits",
          "scores", "maturity_responses", "performance", "enterprise_links", "users",
          "user_bindings", "sessions")
