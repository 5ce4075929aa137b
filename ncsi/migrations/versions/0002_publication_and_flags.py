"""publication metadata and score flags: releases.published_by, releases.embargo_until,
scores.flags

* ``releases.published_by`` (String, nullable): who published the release.
* ``releases.embargo_until`` (DateTime with time zone, nullable; the store writes UTC): until
  then the query layer (dashboard, ``ncsi rankings``) does not show the release.
* ``scores.flags`` (JSON, nullable): per score row, the results of checks such as measurement
  invariance, e.g. ``{"invariance": {"ok": false, "reason": "..."}}``.

All three are nullable columns added in place (``ALTER TABLE ... ADD COLUMN`` on SQLite and
PostgreSQL alike): no table is copied, so every existing row keeps its values (the new columns are
NULL) and the immutability triggers of 0001 stay installed. Those are row triggers that look at
the row's ``status``/``release_id`` only, so they refuse UPDATE/DELETE of the new columns of a
published release and of its rows exactly as of the old ones (tests/test_store.py proves it on
SQLite and on PostgreSQL).

Content hashes of releases published before this migration stay valid: a score row's ``flags``
enters the hash only when it is not NULL.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Plain op.add_column, not batch mode: SQLite adds a nullable column without a default in
    # place, whereas a batch "move and copy" would drop the 0001 triggers with the old table.
    op.add_column("releases", sa.Column("published_by", sa.String(), nullable=True))
    op.add_column("releases",
                  sa.Column("embargo_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("scores", sa.Column("flags", sa.JSON(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite >= 3.35, PostgreSQL): in place, triggers kept. The
    # dropped values are lost, as in any downgrade.
    op.drop_column("scores", "flags")
    op.drop_column("releases", "embargo_until")
    op.drop_column("releases", "published_by")
