"""maturity: maturity_responses, performance, enterprise_links, releases.maturity,
releases.grades

The quality-management maturity survey of manufacturers and the inputs of the graded evaluation
(A / AA / AAA):

* ``maturity_responses``: one row per enterprise of a maturity wave. The wave itself is a row of
  ``waves`` (the maturity questionnaire is registered in ``surveys`` like the others, with sector
  ``manufacturing``); deleting the wave deletes its rows (ON DELETE CASCADE). ``items`` maps item
  code → number or null, like ``responses.items``. One row per (wave, enterprise); ``size`` is
  large/medium/small and ``weight`` is positive (CHECK constraints).
* ``performance``: administrative quality records per (year, enterprise); every value may be
  unknown (NULL). The pass rate is 0–100 and the exposure count ≥ 0 (CHECK constraints; a NULL
  passes a CHECK).
* ``enterprise_links``: which registered brands an enterprise makes (FK to ``brands.code``).
* ``releases.maturity`` and ``releases.grades`` (JSON, nullable): the year's maturity results
  and graded evaluation, stored with the release.

No table is copied: the new tables are created and the two release columns are nullable columns
added in place (``ALTER TABLE ... ADD COLUMN`` on SQLite and PostgreSQL alike), so every existing
row keeps its values and the immutability triggers of 0001 stay installed. Those are row triggers
on ``releases`` that look at the row's ``status`` only, so they refuse an UPDATE of the new
columns of a published release as of the old ones (tests/test_store_maturity.py proves it with
raw SQL). The new tables need no trigger: they hold inputs (like ``waves``/``responses``), which
the store's code protects for published years; results live in the release row.

Content hashes of releases published before this migration stay valid: ``maturity`` and
``grades`` enter the hash only when they are not NULL.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: Union[str, Sequence[str], None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "maturity_responses",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.String(), nullable=False),
        sa.Column("region", sa.String(), nullable=False),
        sa.Column("size", sa.String(), nullable=False),
        sa.Column("industry", sa.String(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.CheckConstraint("size IN ('large', 'medium', 'small')",
                           name=op.f("ck_maturity_responses_size")),
        sa.CheckConstraint("weight > 0", name=op.f("ck_maturity_responses_weight_positive")),
        sa.ForeignKeyConstraint(["wave_id"], ["waves.id"], ondelete="CASCADE",
                                name=op.f("fk_maturity_responses_wave_id_waves")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maturity_responses")),
        sa.UniqueConstraint("wave_id", "enterprise_id",
                            name=op.f("uq_maturity_responses_wave_id_enterprise_id")),
        sqlite_autoincrement=True,  # never reuse the id of a replaced wave's row
    )
    op.create_index(op.f("ix_maturity_responses_wave_id"), "maturity_responses", ["wave_id"],
                    unique=False)
    op.create_table(
        "performance",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.String(), nullable=False),
        sa.Column("certificate_valid", sa.Boolean(), nullable=True),
        sa.Column("major_incident_2y", sa.Boolean(), nullable=True),
        sa.Column("spot_check_pass_rate", sa.Float(), nullable=True),
        sa.Column("quality_exposures_3y", sa.Integer(), nullable=True),
        sa.Column("credit_clean", sa.Boolean(), nullable=True),
        sa.Column("source", sa.String(), nullable=True),
        sa.CheckConstraint("spot_check_pass_rate >= 0 AND spot_check_pass_rate <= 100",
                           name=op.f("ck_performance_pass_rate_range")),
        sa.CheckConstraint("quality_exposures_3y >= 0",
                           name=op.f("ck_performance_exposures_nonnegative")),
        sa.PrimaryKeyConstraint("year", "enterprise_id", name=op.f("pk_performance")),
    )
    op.create_table(
        "enterprise_links",
        sa.Column("enterprise_id", sa.String(), nullable=False),
        sa.Column("brand", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["brand"], ["brands.code"],
                                name=op.f("fk_enterprise_links_brand_brands")),
        sa.PrimaryKeyConstraint("enterprise_id", "brand", name=op.f("pk_enterprise_links")),
    )
    # Plain op.add_column, not batch mode: SQLite adds a nullable column without a default in
    # place, whereas a batch "move and copy" would drop the 0001 triggers with the old table.
    op.add_column("releases", sa.Column("maturity", sa.JSON(), nullable=True))
    op.add_column("releases", sa.Column("grades", sa.JSON(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite >= 3.35, PostgreSQL): in place, triggers kept. The
    # dropped values and tables are lost, as in any downgrade; so are the maturity waves' rows
    # of ``waves`` (without their enterprises they would be empty waves that claim n_rows).
    op.execute("DELETE FROM waves WHERE id IN (SELECT wave_id FROM maturity_responses)")
    op.drop_column("releases", "grades")
    op.drop_column("releases", "maturity")
    op.drop_table("enterprise_links")
    op.drop_table("performance")
    op.drop_index(op.f("ix_maturity_responses_wave_id"), table_name="maturity_responses")
    op.drop_table("maturity_responses")
