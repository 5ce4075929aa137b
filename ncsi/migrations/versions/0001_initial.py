"""initial schema: surveys, brands, revenues, waves, responses, releases, model_fits, scores

Also installs the triggers that make a published release, its model_fits and its scores immutable
in the database itself (the store's code refuses the same operations first).

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

IMMUTABLE_MESSAGE = "NCSI: published releases never change (已发布的版本永不更改)"


def upgrade() -> None:
    op.create_table(
        "surveys",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("sector", sa.String(), nullable=False),
        sa.Column("title_zh", sa.String(), nullable=True),
        sa.Column("title_en", sa.String(), nullable=True),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", "version", name=op.f("pk_surveys")),
    )
    op.create_table(
        "brands",
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("industry", sa.String(), nullable=False),
        sa.Column("name_zh", sa.String(), nullable=True),
        sa.Column("name_en", sa.String(), nullable=True),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_brands")),
    )
    op.create_table(
        "revenues",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("brand", sa.String(), nullable=False),
        sa.Column("revenue", sa.Float(), nullable=False),
        sa.Column("source", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["brand"], ["brands.code"],
                                name=op.f("fk_revenues_brand_brands")),
        sa.PrimaryKeyConstraint("year", "brand", name=op.f("pk_revenues")),
    )
    op.create_table(
        "waves",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("survey_id", sa.String(), nullable=False),
        sa.Column("survey_version", sa.String(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("source_file", sa.String(), nullable=False),
        sa.Column("source_sha256", sa.String(), nullable=False),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("n_valid", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["survey_id", "survey_version"], ["surveys.id", "surveys.version"],
                                name=op.f("fk_waves_survey_id_surveys")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waves")),
        sa.UniqueConstraint("survey_id", "year", name=op.f("uq_waves_survey_id_year")),
        sqlite_autoincrement=True,  # never reuse the id of a replaced wave
    )
    op.create_index(op.f("ix_waves_year"), "waves", ["year"], unique=False)
    op.create_table(
        "responses",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("respondent_id", sa.String(), nullable=False),
        sa.Column("industry", sa.String(), nullable=False),
        sa.Column("brand", sa.String(), nullable=False),
        sa.Column("region", sa.String(), nullable=True),
        sa.Column("gender", sa.String(), nullable=True),
        sa.Column("age", sa.Integer(), nullable=True),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("duration_sec", sa.Float(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.CheckConstraint("status IN ('valid', 'speeder', 'straightliner')",
                           name=op.f("ck_responses_status")),
        sa.ForeignKeyConstraint(["wave_id"], ["waves.id"], ondelete="CASCADE",
                                name=op.f("fk_responses_wave_id_waves")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_responses")),
        sa.UniqueConstraint("wave_id", "respondent_id",
                            name=op.f("uq_responses_wave_id_respondent_id")),
    )
    op.create_index(op.f("ix_responses_wave_id_industry"), "responses", ["wave_id", "industry"],
                    unique=False)
    op.create_table(
        "releases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settings", sa.JSON(), nullable=True),
        sa.Column("provenance", sa.JSON(), nullable=True),
        sa.Column("issues", sa.JSON(), nullable=True),
        sa.Column("content_sha256", sa.String(), nullable=True),
        sa.CheckConstraint("status IN ('draft', 'published')", name=op.f("ck_releases_status")),
        sa.CheckConstraint(
            "status = 'draft' OR (published_at IS NOT NULL AND content_sha256 IS NOT NULL)",
            name=op.f("ck_releases_published_sealed")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_releases")),
        # status is 'draft' or 'published': at most one draft and one published release per year.
        sa.UniqueConstraint("year", "status", name=op.f("uq_releases_year_status")),
        sqlite_autoincrement=True,  # never reuse the id of a replaced draft
    )
    op.create_table(
        "model_fits",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("industry", sa.String(), nullable=False),
        sa.Column("survey_id", sa.String(), nullable=True),
        sa.Column("model_name", sa.String(), nullable=True),
        sa.Column("model_sha256", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=True),
        sa.Column("converged", sa.Boolean(), nullable=True),
        sa.Column("iterations", sa.Integer(), nullable=True),
        sa.Column("settings", sa.JSON(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.CheckConstraint("status IN ('ok', 'failed')", name=op.f("ck_model_fits_status")),
        sa.ForeignKeyConstraint(["release_id"], ["releases.id"], ondelete="CASCADE",
                                name=op.f("fk_model_fits_release_id_releases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_fits")),
    )
    op.create_index(op.f("ix_model_fits_release_id"), "model_fits", ["release_id"], unique=False)
    op.create_table(
        "scores",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("parent", sa.String(), nullable=True),
        sa.Column("construct", sa.String(), nullable=False),
        sa.Column("index", sa.Float(), nullable=True),
        sa.Column("se", sa.Float(), nullable=True),
        sa.Column("ci_low", sa.Float(), nullable=True),
        sa.Column("ci_high", sa.Float(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=True),
        sa.Column("weight", sa.Float(), nullable=True),
        sa.Column("weight_basis", sa.String(), nullable=True),
        sa.Column("publishable", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint("level IN ('brand', 'industry', 'sector', 'nation')",
                           name=op.f("ck_scores_level")),
        sa.ForeignKeyConstraint(["release_id"], ["releases.id"], ondelete="CASCADE",
                                name=op.f("fk_scores_release_id_releases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scores")),
    )
    op.create_index(op.f("ix_scores_release_id_level"), "scores", ["release_id", "level"],
                    unique=False)

    _create_immutability_triggers()


def downgrade() -> None:
    _drop_immutability_triggers()
    op.drop_index(op.f("ix_scores_release_id_level"), table_name="scores")
    op.drop_table("scores")
    op.drop_index(op.f("ix_model_fits_release_id"), table_name="model_fits")
    op.drop_table("model_fits")
    op.drop_table("releases")
    op.drop_index(op.f("ix_responses_wave_id_industry"), table_name="responses")
    op.drop_table("responses")
    op.drop_index(op.f("ix_waves_year"), table_name="waves")
    op.drop_table("waves")
    op.drop_table("revenues")
    op.drop_table("brands")
    op.drop_table("surveys")


# --- immutability of published releases, enforced by the database ------------------------------
#
# Trigger DDL has no portable form, so it is written per dialect. Every dialect must refuse:
#   * UPDATE or DELETE of a releases row whose status is 'published' (publishing itself is an
#     UPDATE of a draft row, which is allowed);
#   * INSERT, UPDATE or DELETE of a model_fits / scores row that belongs (before or after the
#     change) to a published release.

_CHILD_TABLES = ("model_fits", "scores")


def _sqlite_published(ref: str) -> str:
    return f"(SELECT status FROM releases WHERE id = {ref}.release_id) = 'published'"


def _sqlite_triggers() -> list[str]:
    refuse = f"BEGIN SELECT RAISE(ABORT, '{IMMUTABLE_MESSAGE}'); END"
    ddl = [
        f"CREATE TRIGGER trg_releases_published_no_update BEFORE UPDATE ON releases "
        f"FOR EACH ROW WHEN OLD.status = 'published' {refuse}",
        f"CREATE TRIGGER trg_releases_published_no_delete BEFORE DELETE ON releases "
        f"FOR EACH ROW WHEN OLD.status = 'published' {refuse}",
    ]
    for table in _CHILD_TABLES:
        ddl += [
            f"CREATE TRIGGER trg_{table}_published_no_insert BEFORE INSERT ON {table} "
            f"FOR EACH ROW WHEN {_sqlite_published('NEW')} {refuse}",
            f"CREATE TRIGGER trg_{table}_published_no_update BEFORE UPDATE ON {table} "
            f"FOR EACH ROW WHEN {_sqlite_published('OLD')} OR {_sqlite_published('NEW')} "
            f"{refuse}",
            f"CREATE TRIGGER trg_{table}_published_no_delete BEFORE DELETE ON {table} "
            f"FOR EACH ROW WHEN {_sqlite_published('OLD')} {refuse}",
        ]
    return ddl


def _sqlite_drop() -> list[str]:
    names = ["trg_releases_published_no_update", "trg_releases_published_no_delete"]
    for table in _CHILD_TABLES:
        names += [f"trg_{table}_published_no_{op_}" for op_ in ("insert", "update", "delete")]
    return [f"DROP TRIGGER IF EXISTS {name}" for name in names]


def _postgresql_triggers() -> list[str]:
    # ERRCODE 23000 (integrity_constraint_violation) so drivers raise IntegrityError, as SQLite's
    # RAISE(ABORT) does.
    ddl = [
        f"""
        CREATE FUNCTION ncsi_refuse_published_release() RETURNS trigger AS $$
        BEGIN
            IF OLD.status = 'published' THEN
                RAISE EXCEPTION '{IMMUTABLE_MESSAGE}: release %', OLD.id
                    USING ERRCODE = '23000';
            END IF;
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            RETURN NEW;
        END
        $$ LANGUAGE plpgsql
        """,
        f"""
        CREATE FUNCTION ncsi_refuse_published_child() RETURNS trigger AS $$
        BEGIN
            IF (TG_OP IN ('UPDATE', 'DELETE') AND EXISTS (
                    SELECT 1 FROM releases WHERE id = OLD.release_id AND status = 'published'))
               OR (TG_OP IN ('INSERT', 'UPDATE') AND EXISTS (
                    SELECT 1 FROM releases WHERE id = NEW.release_id AND status = 'published'))
            THEN
                RAISE EXCEPTION '{IMMUTABLE_MESSAGE}: % of a published release', TG_TABLE_NAME
                    USING ERRCODE = '23000';
            END IF;
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            RETURN NEW;
        END
        $$ LANGUAGE plpgsql
        """,
        "CREATE TRIGGER trg_releases_published_immutable BEFORE UPDATE OR DELETE ON releases "
        "FOR EACH ROW EXECUTE FUNCTION ncsi_refuse_published_release()",
    ]
    for table in _CHILD_TABLES:
        ddl.append(
            f"CREATE TRIGGER trg_{table}_published_immutable "
            f"BEFORE INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION ncsi_refuse_published_child()")
    return ddl


def _postgresql_drop() -> list[str]:
    ddl = ["DROP TRIGGER IF EXISTS trg_releases_published_immutable ON releases"]
    ddl += [f"DROP TRIGGER IF EXISTS trg_{table}_published_immutable ON {table}"
            for table in _CHILD_TABLES]
    ddl += ["DROP FUNCTION IF EXISTS ncsi_refuse_published_child()",
            "DROP FUNCTION IF EXISTS ncsi_refuse_published_release()"]
    return ddl


_TRIGGERS = {"sqlite": (_sqlite_triggers, _sqlite_drop),
             "postgresql": (_postgresql_triggers, _postgresql_drop)}


def _dialect() -> str:
    name = op.get_context().dialect.name  # works online (op.get_bind()) and offline (--sql)
    if name not in _TRIGGERS:
        raise NotImplementedError(
            f"NCSI store migration 0001: no immutability triggers written for database "
            f"'{name}' (supported: {', '.join(sorted(_TRIGGERS))}); add a branch before using it")
    return name


def _create_immutability_triggers() -> None:
    for statement in _TRIGGERS[_dialect()][0]():
        op.execute(statement)


def _drop_immutability_triggers() -> None:
    for statement in _TRIGGERS[_dialect()][1]():
        op.execute(statement)
