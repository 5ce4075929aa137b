"""The NCSI store: SQLAlchemy models, Alembic migrations, atomic writes, release immutability.

    from ncsi.store import Store
    store = Store()          # ncsi.config.database_url() unless a URL is given
    store.upgrade()          # alembic upgrade head (idempotent, cheap at head)

``ncsi.store.review`` (``describe_release``, ``diff_draft``) reads releases, drafts included, for
``ncsi release show`` and ``ncsi release diff``.

Migration 0004 added the dashboard's accounts: tables ``users``, ``user_bindings`` and
``sessions`` (models ``User``, ``UserBinding``, ``UserSession``; roles :data:`USER_ROLES`). They
are read and written by :mod:`ncsi.accounts` only, each write in one store transaction.
"""

from .models import BINDING_KINDS, USER_ROLES
from .store import (
    FIT_KEYS,
    LINK_COLUMNS,
    MATURITY_COLUMNS,
    MATURITY_SECTOR,
    PERFORMANCE_COLUMNS,
    RELEASE_COLUMNS,
    RESPONSE_COLUMNS,
    SCORE_COLUMNS,
    SCORE_OPTIONAL,
    Store,
    make_engine,
)

__all__ = ["Store", "make_engine", "RESPONSE_COLUMNS", "SCORE_COLUMNS", "SCORE_OPTIONAL",
           "RELEASE_COLUMNS", "FIT_KEYS", "MATURITY_COLUMNS", "MATURITY_SECTOR",
           "PERFORMANCE_COLUMNS", "LINK_COLUMNS", "USER_ROLES", "BINDING_KINDS"]
