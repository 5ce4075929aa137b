"""accounts: users, user_bindings, sessions

The dashboard's accounts (:mod:`ncsi.accounts`):

* ``users``: one row per account. ``username`` is the primary key and is stored lower-case, so
  user names are unique regardless of case; ``password_hash`` is an argon2 hash (the password is
  never stored); ``role`` is analyst, enterprise or admin (CHECK constraint); ``failed_logins``
  counts consecutive failed sign-ins (default 0, never negative) and ``locked_until`` (UTC,
  nullable) holds a lockout after too many of them.
* ``user_bindings``: what an enterprise user may see — ``kind`` 'brand' (a brand code) or
  'enterprise' (an enterprise id); primary key (username, kind, code).
* ``sessions``: sign-in sessions, keyed by the sha256 (hex) of their random token (the token
  itself is never stored), with their creation and expiry times (UTC).

Both child tables reference ``users.username`` with ON DELETE CASCADE: deleting a user deletes its
bindings and sessions (SQLite enforces it because the store's engine turns foreign keys on).

Only new tables: no existing table is touched, so every existing row and the immutability
triggers of 0001 stay as they are. The downgrade drops the three tables (their rows are lost, as
in any downgrade).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: Union[str, Sequence[str], None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("username", sa.String(), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("display_name", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('analyst', 'enterprise', 'admin')",
                           name=op.f("ck_users_role")),
        sa.CheckConstraint("failed_logins >= 0",
                           name=op.f("ck_users_failed_logins_nonnegative")),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_users")),
    )
    op.create_table(
        "user_bindings",
        sa.Column("username", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.CheckConstraint("kind IN ('brand', 'enterprise')",
                           name=op.f("ck_user_bindings_kind")),
        sa.ForeignKeyConstraint(["username"], ["users.username"], ondelete="CASCADE",
                                name=op.f("fk_user_bindings_username_users")),
        sa.PrimaryKeyConstraint("username", "kind", "code", name=op.f("pk_user_bindings")),
    )
    op.create_table(
        "sessions",
        sa.Column("token_sha256", sa.String(), nullable=False),
        sa.Column("username", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["username"], ["users.username"], ondelete="CASCADE",
                                name=op.f("fk_sessions_username_users")),
        sa.PrimaryKeyConstraint("token_sha256", name=op.f("pk_sessions")),
    )
    op.create_index(op.f("ix_sessions_username"), "sessions", ["username"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_sessions_username"), table_name="sessions")
    op.drop_table("sessions")
    op.drop_table("user_bindings")
    op.drop_table("users")
