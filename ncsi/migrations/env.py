"""Alembic environment of the NCSI store.

``ncsi.store.Store.upgrade()`` passes its own open connection in ``config.attributes["connection"]``
(so the SQLite foreign-key and transaction settings of the store's engine apply). From the command
line the URL is ``-x url=...``, else ``sqlalchemy.url`` of the ini file, else
``ncsi.config.database_url()``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from ncsi.store.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url")
    if not url:
        from ncsi import config as ncsi_config

        url = ncsi_config.database_url()
    return url


def _configure(connection: Connection | None = None, **kw) -> None:
    dialect = connection.dialect.name if connection is not None else None
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things; later migrations use batch mode there.
        render_as_batch=(dialect == "sqlite"),
        **kw,
    )


def run_migrations_offline() -> None:
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return

    from ncsi.store.store import make_engine

    engine = make_engine(_url())
    try:
        with engine.begin() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
