"""Where NCSI finds its configuration data and its store.

Configuration that changes by year or by association (taxonomy, questionnaires, weights, bands,
floors) is data under ``surveys/`` and ``models/``; this module only locates it.

- ``NCSI_HOME``: the project folder holding ``surveys/`` and ``models/`` (default: the checkout
  this package was installed from).
- ``NCSI_DATA_DIR``: where the SQLite store and generated files live (default ``<home>/data``).
- ``NCSI_DATABASE_URL``: an SQLAlchemy URL for the store (default SQLite in the data directory;
  ``postgresql+psycopg://user@host/db`` for PostgreSQL).
"""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    env = os.environ.get("NCSI_HOME")
    if env:
        return Path(env).resolve()
    return Path(__file__).resolve().parents[1]


def surveys_dir() -> Path:
    return home() / "surveys"


def models_dir() -> Path:
    return home() / "models"


def data_dir() -> Path:
    env = os.environ.get("NCSI_DATA_DIR")
    path = Path(env).resolve() if env else home() / "data"
    return path


def database_url() -> str:
    env = os.environ.get("NCSI_DATABASE_URL")
    if env:
        return env
    return f"sqlite:///{data_dir() / 'ncsi.db'}"
