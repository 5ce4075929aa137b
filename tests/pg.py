"""A throwaway PostgreSQL server for the store and release tests, and the backend fixtures.

Once per test session, the first test that needs PostgreSQL starts a private cluster: ``initdb``
in a new temporary folder (in /dev/shm when it has room; trust authentication, UTF-8), the
server listening on 127.0.0.1 only, on a free port, with its unix socket in that folder, and the
server's time zone set to Asia/Shanghai so that the store's UTC handling is exercised. The
server is stopped and the folder removed when the session ends. As root (initdb and postgres
refuse to run as root) the cluster runs as the ``postgres`` system user, created when missing.

With ``NCSI_TEST_POSTGRES_URL`` set (e.g. ``postgresql+psycopg://ncsi@db.example/ncsi_test``,
naming a role that may CREATE DATABASE), that server is used instead and nothing is started.

Every test gets its own empty database (CREATE DATABASE with a unique name, dropped after the
test). When the server cannot be started (no PostgreSQL binaries — ``make postgres`` installs
them —, initdb or the server failing, the URL's server unreachable), the tests that need it are
skipped with the reason, and pytest's summary lists it (``-ra`` in pyproject's addopts).

Fixtures:

* ``postgres_server`` (session): the running server, or a skip saying why there is none.
* ``postgres_url``: the URL of a fresh empty database; ``postgres_databases``: a factory of them.
* ``backend``: "sqlite" or "postgresql" (every test using it runs on both; the postgresql runs
  carry the ``postgresql`` marker, so ``-m "not postgresql"`` leaves them out).
* ``new_store_url``: a factory of fresh, empty store URLs on the test's backend;
  ``store_url``: one such URL.

Module-scoped fixtures that build something expensive parametrize themselves with ``BACKENDS``
and take their database from :func:`scoped_postgres_url`.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL, make_url

ENV_URL = "NCSI_TEST_POSTGRES_URL"
SERVER_TIMEZONE = "Asia/Shanghai"
#: The backends every store and release test runs on; the postgresql runs are marked.
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]
RUN_AS = "postgres"


class PostgresUnavailable(RuntimeError):
    """The test server could not be started or reached (the message says why)."""


def find_bindir() -> Path | None:
    """The newest Debian PostgreSQL (``/usr/lib/postgresql/N/bin``) with initdb, else the folder
    of an ``initdb`` on PATH, else None."""
    def version(path: str) -> tuple[int, ...]:
        found = re.search(r"/postgresql/([\d.]+)/bin/", path)
        return tuple(int(x) for x in found.group(1).split(".")) if found else ()

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _fast_tmp() -> str | None:
    """/dev/shm when it is a writable memory file system with room to spare (creating a
    database there takes a tenth of the time it takes on disk), else the default temp folder."""
    try:
        stat = os.statvfs("/dev/shm")
    except OSError:
        return None
    roomy = stat.f_bavail * stat.f_frsize >= 2 * 1024 ** 3
    return "/dev/shm" if roomy and os.access("/dev/shm", os.W_OK | os.X_OK) else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""


class PostgresServer:
    """A PostgreSQL server the tests may create databases on: a throwaway cluster (``start``)
    or the server of ``NCSI_TEST_POSTGRES_URL`` (``external``)."""

    def __init__(self, admin_url: URL, *, folder: Path | None = None, bindir: Path | None = None,
                 user_ids: tuple[int, int] | None = None):
        self.admin_url = admin_url  # a database to connect to for CREATE/DROP DATABASE
        self.folder = folder  # the throwaway cluster's folder (None: an external server)
        self.bindir = bindir
        self.user_ids = user_ids
        self.databases: list[str] = []

    # -- starting and stopping ------------------------------------------------------------------

    @classmethod
    def external(cls, url: str) -> PostgresServer:
        parsed = make_url(url)
        if parsed.get_backend_name() != "postgresql":
            raise PostgresUnavailable(f"{ENV_URL}={parsed.render_as_string()} is not a "
                                      f"PostgreSQL URL")
        server = cls(parsed.set(drivername="postgresql+psycopg"))
        server.check()
        return server

    @classmethod
    def start(cls) -> PostgresServer:
        bindir = find_bindir()
        if bindir is None:
            raise PostgresUnavailable(
                "no PostgreSQL server binaries (no /usr/lib/postgresql/*/bin/initdb, no initdb "
                "on PATH); `make postgres` installs Debian's postgresql package")
        user_ids = _run_as_ids()
        folder = Path(tempfile.mkdtemp(prefix="ncsi-pg-", dir=_fast_tmp()))
        try:
            if user_ids is not None:
                os.chown(folder, *user_ids)
            data = folder / "data"
            _run([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--locale=C", "--no-sync"], "initdb", user_ids, folder)
            last = ""
            for _ in range(3):  # a free port may be taken before the server binds it
                port = _free_port()
                options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} "
                           f"-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                           f"-c timezone={SERVER_TIMEZONE} -c max_connections=200")
                log = folder / "server.log"
                try:
                    _run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w",
                          "-t", "60", "-o", options, "start"], "pg_ctl start", user_ids, folder)
                except PostgresUnavailable as exc:
                    last = f"{exc} (server log: {_tail(log)})"
                    continue
                url = URL.create("postgresql+psycopg", username="postgres", host="127.0.0.1",
                                 port=port, database="postgres")
                server = cls(url, folder=folder, bindir=bindir, user_ids=user_ids)
                server.check()
                return server
            raise PostgresUnavailable(last)
        except BaseException:
            _stop_cluster(bindir, folder, user_ids)
            raise

    def stop(self) -> None:
        """Drop the databases still left (external server), or stop the throwaway cluster and
        remove its folder."""
        if self.folder is None:
            for name in list(self.databases):
                with contextlib.suppress(Exception):
                    self.drop_database(name)
            return
        _stop_cluster(self.bindir, self.folder, self.user_ids)

    # -- databases ------------------------------------------------------------------------------

    def _admin(self):
        import psycopg

        return psycopg.connect(self.dsn(self.admin_url.database), autocommit=True,
                               connect_timeout=10)

    def check(self) -> None:
        try:
            with self._admin() as conn:
                conn.execute("SELECT 1")
        except Exception as exc:  # the driver's errors, OSError, a missing psycopg
            raise PostgresUnavailable(
                f"cannot connect to PostgreSQL at "
                f"{self.admin_url.render_as_string(hide_password=True)}: "
                f"{str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}"
            ) from exc

    def url(self, database: str) -> URL:
        return self.admin_url.set(database=database)

    def dsn(self, database: str) -> str:
        """A libpq URI for the plain driver (psycopg.connect)."""
        return self.url(database).set(drivername="postgresql").render_as_string(
            hide_password=False)

    def create_database(self, template: str | None = None) -> str:
        """A new database (empty, or a copy of ``template``, which must have no connections);
        returns its name."""
        name = f"ncsi_test_{uuid.uuid4().hex[:16]}"
        sql = f'CREATE DATABASE "{name}"'
        if template is not None:
            sql += f' TEMPLATE "{template}"'
        with self._admin() as conn:
            conn.execute(sql)
        self.databases.append(name)
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, ending its remaining connections."""
        import psycopg

        with self._admin() as conn:
            try:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # PostgreSQL 13+
            except psycopg.errors.SyntaxError:
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
                conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        if name in self.databases:
            self.databases.remove(name)


def _run_as_ids() -> tuple[int, int] | None:
    """(uid, gid) of the user to run the cluster as when we are root, else None."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(RUN_AS)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        _run([useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", RUN_AS],
             f"creating the system user {RUN_AS}", None, None)
        entry = pwd.getpwnam(RUN_AS)
    return entry.pw_uid, entry.pw_gid


def _run(cmd: list[str], what: str, user_ids: tuple[int, int] | None,
         cwd: Path | None) -> None:
    kw = {}
    if user_ids is not None:
        kw = {"user": user_ids[0], "group": user_ids[1], "extra_groups": []}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(LC_ALL="C", LANG="C")
    try:
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=120, check=False, **kw)
    except (OSError, subprocess.SubprocessError) as exc:
        raise PostgresUnavailable(f"{what} could not run: {exc}") from exc
    if done.returncode != 0:
        output = " | ".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise PostgresUnavailable(f"{what} failed (exit {done.returncode}): {output}")


def _stop_cluster(bindir: Path | None, folder: Path, user_ids: tuple[int, int] | None) -> None:
    if bindir is not None and (folder / "data" / "postmaster.pid").exists():
        with contextlib.suppress(PostgresUnavailable):
            _run([str(bindir / "pg_ctl"), "-D", str(folder / "data"), "-m", "immediate", "-w",
                  "stop"], "pg_ctl stop", user_ids, folder)
    shutil.rmtree(folder, ignore_errors=True)


# --- fixtures -------------------------------------------------------------------------------------

_unavailable: list[str] = []  # why the server could not be started, once per session


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server; the tests needing it are skipped (with the reason) when
    it cannot be started or reached."""
    if _unavailable:
        pytest.skip(_unavailable[0])
    external = os.environ.get(ENV_URL)
    try:
        server = PostgresServer.external(external) if external else PostgresServer.start()
    except PostgresUnavailable as exc:
        _unavailable.append(f"PostgreSQL tests skipped: {exc}")
        pytest.skip(_unavailable[0])
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_databases(postgres_server) -> Iterator[Callable[..., str]]:
    """A factory of fresh databases on the session's server (``template=`` copies one); returns
    their SQLAlchemy URLs (as text) and drops them after the test."""
    made: list[str] = []

    def new(template: str | None = None) -> str:
        name = postgres_server.create_database(template)
        made.append(name)
        return postgres_server.url(name).render_as_string(hide_password=False)

    yield new
    for name in made:
        postgres_server.drop_database(name)


@pytest.fixture
def postgres_url(postgres_databases) -> str:
    """The URL of a fresh, empty PostgreSQL database (dropped after the test)."""
    return postgres_databases()


def scoped_postgres_url(request) -> str:
    """A fresh PostgreSQL database for a module- or session-scoped fixture (``request`` is that
    fixture's): dropped when the fixture is finalized."""
    server = request.getfixturevalue("postgres_server")
    name = server.create_database()
    request.addfinalizer(lambda: server.drop_database(name))
    return server.url(name).render_as_string(hide_password=False)


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def new_store_url(backend, tmp_path, request) -> Callable[[str], str]:
    """A factory of fresh, empty store URLs on the test's backend: ``new_store_url("a.db")`` is
    an SQLite file in tmp_path, or a new PostgreSQL database (the name is then unused)."""
    if backend == "postgresql":
        databases = request.getfixturevalue("postgres_databases")
        return lambda name="ncsi.db": databases()
    return lambda name="ncsi.db": f"sqlite:///{tmp_path / name}"


@pytest.fixture
def store_url(new_store_url) -> str:
    return new_store_url("ncsi.db")


# --- helpers for tests that look below SQLAlchemy -------------------------------------------------

def is_postgres(store) -> bool:
    return store.engine.dialect.name == "postgresql"


def json_param(store, name: str = "v") -> str:
    """A bound parameter holding JSON text, for raw SQL (PostgreSQL needs the cast)."""
    return f"CAST(:{name} AS JSON)" if is_postgres(store) else f":{name}"


def trigger_names(store) -> list[str]:
    """The immutability triggers installed in the store's database (sorted)."""
    from sqlalchemy import text

    sql = ("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal" if is_postgres(store)
           else "SELECT name FROM sqlite_master WHERE type = 'trigger'")
    with store.engine.connect() as conn:
        return sorted(conn.execute(text(sql)).scalars())


#: How many triggers migration 0001 installs (SQLite has one per table and operation).
TRIGGER_COUNT = {"sqlite": 8, "postgresql": 3}


@contextlib.contextmanager
def plain_driver(store):
    """A connection of the plain DB-API driver (sqlite3 or psycopg; no SQLAlchemy, no store code)
    and the driver's IntegrityError. Write SQL with ``?`` placeholders: ``execute(sql, params)``
    rewrites them for psycopg. Every statement is its own transaction."""
    if is_postgres(store):
        import psycopg

        conn = psycopg.connect(store.url.set(drivername="postgresql").render_as_string(
            hide_password=False), autocommit=True)

        def execute(sql, params=()):
            return conn.execute(sql.replace("?", "%s"), params)

        try:
            yield execute, psycopg.IntegrityError
        finally:
            conn.close()
    else:
        import sqlite3

        conn = sqlite3.connect(store.url.database, isolation_level=None)
        try:
            yield conn.execute, sqlite3.IntegrityError
        finally:
            conn.close()
