"""The NCSI store: SQLAlchemy models, Alembic migrations, atomic writes, release immutability.

    from ncsi.store import Store
    store = Store()          # ncsi.config.database_url() unless a URL is given
    store.upgrade()          # alembic upgrade head (idempotent, cheap at head)
"""

from .store import FIT_KEYS, RESPONSE_COLUMNS, SCORE_COLUMNS, Store, make_engine

__all__ = ["Store", "make_engine", "RESPONSE_COLUMNS", "SCORE_COLUMNS", "FIT_KEYS"]
