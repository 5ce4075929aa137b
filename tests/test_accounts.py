"""Dashboard accounts (ncsi.accounts, ncsi user, migration 0004): hashing, sign-in and lockout,
sessions, roles, bindings, the CLI, and the migration.

Every test using the ``store`` fixture runs on a real SQLite file in tmp_path and on a fresh
database of the real PostgreSQL test server (tests/pg.py); no mocks; time is an injected clock.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from argon2 import PasswordHasher
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

from ncsi import cli_user
from ncsi.accounts import (
    ROLES,
    Accounts,
    AuthError,
    Session,
    create_demo_accounts,
    demo_password,
)
from ncsi.errors import NCSIError, StoreError
from ncsi.store import Store
from ncsi.store.models import TABLES, Base
from ncsi.store.store import _alembic_config, _head_revision
from tests.test_store import _reflect, _rows, brands_frame, migrate
from tests.test_store_maturity import add_maturity, with_maturity_survey

PASSWORD = "correct horse battery"
ACCOUNT_TABLES = ("users", "user_bindings", "sessions")
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self, start: datetime = T0):
        self.t = start

    def __call__(self) -> datetime:
        return self.t

    def advance(self, **kw) -> None:
        self.t += timedelta(**kw)


@pytest.fixture
def store(store_url) -> Store:
    s = Store(store_url)
    s.upgrade()
    yield s
    s.close()


@pytest.fixture
def known(store, tmp_path) -> Store:
    """Brands B1–B3, an enterprise E-LINK making B1, and a maturity wave with E0000–E0039."""
    store.load_brands(brands_frame(), "brands.csv")
    store.load_links(pd.DataFrame({"enterprise_id": ["E-LINK"], "brand": ["B1"]}), "links.csv")
    with_maturity_survey(store, tmp_path)
    add_maturity(store)
    return store


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def accounts(known, clock) -> Accounts:
    return Accounts(known, now=clock)


def users_rows(store) -> list[tuple]:
    return store.snapshot()["users"]


def auth_error(call) -> AuthError:
    with pytest.raises(AuthError) as err:
        call()
    return err.value


# --- schema -------------------------------------------------------------------------------------

def test_schema_has_the_account_tables_and_matches_the_models(store):
    assert _head_revision() == "0004"
    assert ROLES == ("analyst", "enterprise", "admin")
    assert set(ACCOUNT_TABLES) <= set(TABLES)
    names = set(inspect(store.engine).get_table_names())
    assert names == {"alembic_version", *TABLES}
    columns = {t: [c["name"] for c in inspect(store.engine).get_columns(t)]
               for t in ACCOUNT_TABLES}
    assert columns == {
        "users": ["username", "password_hash", "role", "display_name", "created_at",
                  "failed_logins", "locked_until"],
        "user_bindings": ["username", "kind", "code"],
        "sessions": ["token_sha256", "username", "created_at", "expires_at"],
    }
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    cfg = _alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.check(cfg)  # autogenerate finds nothing to do


def test_database_constraints_hold_without_the_code(store):
    with store.engine.begin() as conn:
        conn.execute(text("INSERT INTO users (username, password_hash, role, created_at) "
                          "VALUES ('u1', 'h', 'analyst', '2026-01-01 00:00:00')"))
        assert conn.execute(text("SELECT failed_logins FROM users")).scalar() == 0  # default
    before = store.snapshot()
    refused = [
        "INSERT INTO users (username, password_hash, role, created_at) "
        "VALUES ('u2', 'h', 'root', '2026-01-01 00:00:00')",
        "INSERT INTO users (username, password_hash, role, created_at) "
        "VALUES ('u1', 'h', 'admin', '2026-01-01 00:00:00')",
        "INSERT INTO user_bindings (username, kind, code) VALUES ('u1', 'region', 'x')",
        "INSERT INTO user_bindings (username, kind, code) VALUES ('ghost', 'brand', 'B1')",
        "INSERT INTO sessions (token_sha256, username, created_at, expires_at) "
        "VALUES ('t', 'ghost', '2026-01-01 00:00:00', '2026-01-01 01:00:00')",
    ]
    for sql in refused:
        with pytest.raises(IntegrityError):
            with store.engine.begin() as conn:
                conn.execute(text(sql))
    assert store.snapshot() == before
    with store.engine.begin() as conn:  # deleting a user cascades
        conn.execute(text("INSERT INTO user_bindings VALUES ('u1', 'brand', 'B1')"))
        conn.execute(text("INSERT INTO sessions VALUES ('t', 'u1', '2026-01-01 00:00:00', "
                          "'2026-01-01 01:00:00')"))
        conn.execute(text("DELETE FROM users WHERE username = 'u1'"))
        assert conn.execute(text("SELECT COUNT(*) FROM user_bindings")).scalar() == 0
        assert conn.execute(text("SELECT COUNT(*) FROM sessions")).scalar() == 0


# --- users and passwords ------------------------------------------------------------------------

def test_password_is_stored_as_an_argon2_hash(accounts, known):
    accounts.add_user("Li.Wei", PASSWORD, "analyst", display_name=" 李伟 ")
    (row,) = users_rows(known)
    username, password_hash, role, display_name = row[:4]
    assert (username, role, display_name) == ("li.wei", "analyst", "李伟")
    assert password_hash.startswith("$argon2id$") and PASSWORD not in password_hash
    assert PasswordHasher().verify(password_hash, PASSWORD)
    assert PASSWORD not in repr(known.snapshot())
    # the same password twice gives two different hashes (random salt)
    accounts.add_user("other", PASSWORD, "analyst")
    hashes = [r[1] for r in users_rows(known)]
    assert hashes[0] != hashes[1]


@pytest.mark.parametrize("args, fragment", [
    (("u1", "short7!", "analyst"), "at least 8 characters"),
    (("u1", PASSWORD, "root"), "role 'root' is not one of analyst, enterprise, admin"),
    (("bad name", PASSWORD, "analyst"), "user name 'bad name' is not valid"),
    (("", PASSWORD, "analyst"), "is not valid"),
])
def test_add_user_refusals_are_clear_and_write_nothing(accounts, known, args, fragment):
    before = known.snapshot()
    with pytest.raises(StoreError, match=fragment) as err:
        accounts.add_user(*args)
    assert err.value.message_zh
    assert PASSWORD not in str(err.value) and "short7!" not in str(err.value)
    assert known.snapshot() == before


def test_user_names_are_unique_whatever_the_case(accounts, known):
    accounts.add_user("Wang", PASSWORD, "admin")
    before = known.snapshot()
    with pytest.raises(StoreError, match="user 'wang' already exists") as err:
        accounts.add_user("WANG", PASSWORD + "x", "analyst")
    assert err.value.message_zh
    assert known.snapshot() == before
    assert accounts.login("wAnG", PASSWORD).username == "wang"


def test_users_frame_has_no_hashes(accounts, clock):
    assert list(accounts.users().columns) == ["username", "role", "display_name", "brands",
                                              "enterprises", "locked_until"]
    assert accounts.users().empty
    accounts.add_user("zed", PASSWORD, "enterprise", display_name="Zed")
    accounts.add_user("amy", PASSWORD, "admin")
    accounts.bind("zed", brand="B2")
    accounts.bind("zed", brand="B1")
    accounts.bind("zed", enterprise="E-LINK")
    users = accounts.users()
    assert users["username"].tolist() == ["amy", "zed"]
    assert users["role"].tolist() == ["admin", "enterprise"]
    assert users["brands"].tolist() == [(), ("B1", "B2")]
    assert users["enterprises"].tolist() == [(), ("E-LINK",)]
    assert users["locked_until"].isna().all()
    assert "argon2" not in users.to_string()


# --- signing in ---------------------------------------------------------------------------------

def test_login_ok_and_refusals_say_the_same(accounts, clock):
    accounts.add_user("ana", PASSWORD, "analyst", display_name="Ana")
    session = accounts.login("  ANA ", PASSWORD)
    assert isinstance(session, Session)
    assert (session.username, session.role, session.display_name) == ("ana", "analyst", "Ana")
    assert session.expires_at == T0 + timedelta(minutes=60)
    assert len(session.token) >= 40 and session.token not in repr(session)
    wrong = auth_error(lambda: accounts.login("ana", PASSWORD + "!"))
    unknown = auth_error(lambda: accounts.login("nobody", PASSWORD))
    empty = auth_error(lambda: accounts.login("", ""))
    assert str(wrong) == str(unknown) == str(empty)
    assert wrong.message_zh == unknown.message_zh and wrong.message_zh
    assert "nobody" not in str(unknown) and PASSWORD not in str(wrong)
    assert wrong.locked_until is None


def test_sessions_are_stored_hashed(accounts, known):
    accounts.add_user("ana", PASSWORD, "analyst")
    session = accounts.login("ana", PASSWORD)
    (row,) = known.snapshot()["sessions"]
    assert row[0] == hashlib.sha256(session.token.encode()).hexdigest()
    assert session.token not in repr(known.snapshot())
    other = accounts.login("ana", PASSWORD)
    assert other.token != session.token and len(known.snapshot()["sessions"]) == 2


def test_lockout_after_five_failures_and_its_expiry(accounts, known, clock):
    accounts.add_user("eve", PASSWORD, "analyst")
    for _ in range(4):
        err = auth_error(lambda: accounts.login("eve", "wrong password"))
        assert "locked" not in str(err)
        clock.advance(seconds=10)
    err = auth_error(lambda: accounts.login("eve", "wrong password"))  # the 5th locks
    until = clock.t + timedelta(minutes=15)
    assert err.locked_until == until
    assert "locked until" in str(err) and until.strftime("%Y-%m-%d %H:%M UTC") in str(err)
    assert "锁定" in err.message_zh
    # while locked, the right and a wrong password get the same answer
    clock.advance(minutes=14)
    right = auth_error(lambda: accounts.login("eve", PASSWORD))
    wrong = auth_error(lambda: accounts.login("eve", "wrong password"))
    assert str(right) == str(wrong) and right.locked_until == wrong.locked_until == until
    assert accounts.users().set_index("username").loc["eve", "locked_until"] == until
    # the lock runs out: the right password works again
    clock.advance(minutes=1)
    assert pd.isna(accounts.users().set_index("username").loc["eve", "locked_until"])
    assert accounts.login("eve", PASSWORD).username == "eve"
    assert known.snapshot()["users"][0][5:] == (0, None)  # counter reset, lock cleared


def test_a_successful_login_resets_the_count(accounts, clock):
    accounts.add_user("bob", PASSWORD, "analyst")
    for _ in range(4):
        auth_error(lambda: accounts.login("bob", "nope nope"))
    accounts.login("bob", PASSWORD)
    for _ in range(4):
        assert "locked" not in str(auth_error(lambda: accounts.login("bob", "nope nope")))
    assert accounts.login("bob", PASSWORD).username == "bob"


def test_lockout_settings(known, clock):
    accounts = Accounts(known, max_failures=2, lockout_minutes=1, now=clock)
    accounts.add_user("bob", PASSWORD, "analyst")
    auth_error(lambda: accounts.login("bob", "nope nope"))
    assert auth_error(lambda: accounts.login("bob", "nope nope")).locked_until == (
        T0 + timedelta(minutes=1))
    clock.advance(minutes=1)
    accounts.login("bob", PASSWORD)
    with pytest.raises(ValueError, match="max_failures"):
        Accounts(known, max_failures=0)


# --- sessions -----------------------------------------------------------------------------------

def test_session_expires_and_is_deleted(accounts, known, clock):
    accounts.add_user("ana", PASSWORD, "analyst")
    token = accounts.login("ana", PASSWORD).token
    clock.advance(minutes=59)
    live = accounts.session(token)
    assert live is not None and live.username == "ana" and live.token == token
    assert live.expires_at == T0 + timedelta(minutes=60)  # fixed lifetime, not sliding
    clock.advance(minutes=1)
    assert accounts.session(token) is None
    assert known.snapshot()["sessions"] == []
    assert accounts.session(None) is None and accounts.session("") is None
    assert accounts.session("not-a-token") is None


def test_expired_sessions_are_purged_at_sign_in(known, clock):
    accounts = Accounts(known, session_minutes=5, now=clock)
    accounts.add_user("ana", PASSWORD, "analyst")
    accounts.login("ana", PASSWORD)
    clock.advance(minutes=6)
    fresh = accounts.login("ana", PASSWORD)
    (row,) = known.snapshot()["sessions"]
    assert row[0] == hashlib.sha256(fresh.token.encode()).hexdigest()


def test_logout(accounts, known):
    accounts.add_user("ana", PASSWORD, "analyst")
    token = accounts.login("ana", PASSWORD).token
    accounts.logout(token)
    assert accounts.session(token) is None and known.snapshot()["sessions"] == []
    accounts.logout(token)  # twice is harmless
    accounts.logout("")


def test_require_checks_session_and_role(accounts, clock):
    accounts.add_user("ana", PASSWORD, "analyst")
    accounts.add_user("root", PASSWORD, "admin")
    analyst = accounts.login("ana", PASSWORD).token
    admin = accounts.login("root", PASSWORD).token
    assert accounts.require(analyst).role == "analyst"
    assert accounts.require(admin, "admin").username == "root"
    assert accounts.require(analyst, "analyst", "admin").username == "ana"
    err = auth_error(lambda: accounts.require(analyst, "admin"))
    assert "needs the role admin" in str(err) and err.message_zh
    err = auth_error(lambda: accounts.require(None, "analyst"))
    assert "not signed in" in str(err) and err.message_zh
    assert isinstance(err, NCSIError)
    clock.advance(minutes=61)
    assert "expired" in str(auth_error(lambda: accounts.require(admin, "admin")))
    with pytest.raises(ValueError, match="unknown role"):
        accounts.require(admin, "superuser")


# --- bindings and visibility --------------------------------------------------------------------

def test_bindings_decide_what_an_enterprise_user_sees(accounts, clock):
    accounts.add_user("owner", PASSWORD, "enterprise")
    accounts.add_user("ana", PASSWORD, "analyst")
    accounts.add_user("root", PASSWORD, "admin")
    accounts.bind("owner", brand="B1")
    accounts.bind("OWNER", brand="B1")  # twice is harmless
    accounts.bind("owner", enterprise="E-LINK")  # known from the enterprise links
    accounts.bind("owner", enterprise="E0003")  # known from the maturity survey
    owner = accounts.login("owner", PASSWORD)
    assert owner.brands == ("B1",) and owner.enterprises == ("E-LINK", "E0003")
    assert owner.can_see_brand("B1") and not owner.can_see_brand("B2")
    assert owner.can_see_enterprise("E0003") and not owner.can_see_enterprise("E0004")
    for name in ("ana", "root"):
        s = accounts.login(name, PASSWORD)
        assert s.brands == () and s.can_see_brand("B2") and s.can_see_brand("ANY")
        assert s.can_see_enterprise("E0004")
    # a change shows in the live session at the next look-up
    accounts.bind("owner", brand="B3")
    assert accounts.session(owner.token).brands == ("B1", "B3")
    accounts.unbind("owner", brand="B1")
    assert not accounts.session(owner.token).can_see_brand("B1")
    with pytest.raises(StoreError, match="not bound to brand 'B1'"):
        accounts.unbind("owner", brand="B1")


@pytest.mark.parametrize("user, kw, fragment", [
    ("owner", {"brand": "GHOST"}, "brand 'GHOST' is not in the brand registry"),
    ("owner", {"enterprise": "E9999"}, "enterprise 'E9999' is unknown"),
    ("ana", {"brand": "B1"}, "only enterprise users are bound"),
    ("nobody", {"brand": "B1"}, "there is no user 'nobody'"),
    ("owner", {}, "exactly one of a brand code or an enterprise id"),
    ("owner", {"brand": "B1", "enterprise": "E-LINK"}, "exactly one"),
    ("owner", {"brand": "  "}, "the brand is empty"),
])
def test_bind_refusals_are_clear_and_write_nothing(accounts, known, user, kw, fragment):
    accounts.add_user("owner", PASSWORD, "enterprise")
    accounts.add_user("ana", PASSWORD, "analyst")
    before = known.snapshot()
    with pytest.raises(StoreError, match=fragment) as err:
        accounts.bind(user, **kw)
    assert err.value.message_zh
    assert known.snapshot() == before


def test_remove_user_deletes_sessions_and_bindings(accounts, known):
    accounts.add_user("owner", PASSWORD, "enterprise")
    accounts.add_user("keep", PASSWORD, "enterprise")
    for name in ("owner", "keep"):
        accounts.bind(name, brand="B1")
        accounts.bind(name, enterprise="E0001")
    token = accounts.login("owner", PASSWORD).token
    kept = accounts.login("keep", PASSWORD).token
    accounts.remove_user("Owner")
    snap = known.snapshot()
    assert [r[0] for r in snap["users"]] == ["keep"]
    assert {r[0] for r in snap["user_bindings"]} == {"keep"}
    assert len(snap["sessions"]) == 1
    assert accounts.session(token) is None and accounts.session(kept) is not None
    assert str(auth_error(lambda: accounts.login("owner", PASSWORD))) == str(
        auth_error(lambda: accounts.login("never-existed", PASSWORD)))
    with pytest.raises(StoreError, match="there is no user 'owner'"):
        accounts.remove_user("owner")


# --- demo accounts ------------------------------------------------------------------------------

def test_demo_accounts(known):
    created = create_demo_accounts(known, brand="B2", enterprise="E-LINK")
    assert [(u, r) for u, _, r in created] == [("analyst", "analyst"), ("admin", "admin"),
                                               ("brand-owner", "enterprise")]
    passwords = [p for _, p, _ in created]
    assert all(p.startswith("demo-") and len(p) >= 20 for p in passwords)
    assert len(set(passwords)) == 3 and demo_password() != demo_password()  # random, not derived
    accounts = Accounts(known)
    owner = accounts.login("brand-owner", created[2][1])
    assert owner.brands == ("B2",) and owner.enterprises == ("E-LINK",)
    assert accounts.login("admin", created[1][1]).role == "admin"
    before = known.snapshot()
    with pytest.raises(StoreError, match="already exists"):
        create_demo_accounts(known, brand="B2", enterprise=None)
    assert known.snapshot() == before


def test_demo_accounts_are_all_or_nothing(known):
    with pytest.raises(StoreError, match="brand 'GHOST'"):
        create_demo_accounts(known, brand="GHOST", enterprise=None)
    assert known.snapshot()["users"] == []
    create_demo_accounts(known, brand="B1", enterprise=None)
    assert Accounts(known).users()["enterprises"].tolist() == [(), (), ()]


# --- the CLI ------------------------------------------------------------------------------------

runner = CliRunner()


def run(*args, input=None):
    return runner.invoke(cli_user.app, [str(a) for a in args], input=input)


@pytest.fixture
def cli_store(known, monkeypatch):
    monkeypatch.setenv("NCSI_DATABASE_URL", known.url.render_as_string(hide_password=False))
    return known


def test_cli_add_bind_list_remove(cli_store):
    r = run("add", "Owner", "--role", "enterprise", "--name", "品牌方", "--password-stdin",
            input=PASSWORD + "\n")
    assert r.exit_code == 0, r.output
    assert "user owner (enterprise) added" in r.output and PASSWORD not in r.output
    assert Accounts(cli_store).login("owner", PASSWORD).role == "enterprise"
    r = run("bind", "owner", "--brand", "B1")
    assert r.exit_code == 0, r.output
    r = run("bind", "owner", "--enterprise", "E0002")
    assert r.exit_code == 0, r.output
    r = run("add", "ana", "--role", "analyst", "--password-stdin", input=PASSWORD + "\r\n")
    assert r.exit_code == 0, r.output
    assert Accounts(cli_store).login("ana", PASSWORD).username == "ana"
    r = run("list")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert any(line.split()[:2] == ["ana", "analyst"] for line in lines)
    owner = next(line for line in lines if line.startswith("owner"))
    assert "品牌方" in owner and "B1" in owner and "E0002" in owner
    assert "argon2" not in r.output
    r = run("unbind", "owner", "--brand", "B1")
    assert r.exit_code == 0, r.output
    assert Accounts(cli_store).users()["brands"].tolist() == [(), ()]
    r = run("remove", "owner")
    assert r.exit_code == 0, r.output
    assert Accounts(cli_store).users()["username"].tolist() == ["ana"]
    assert cli_store.snapshot()["user_bindings"] == []


def test_cli_add_prompts_twice_without_echo(cli_store):
    r = run("add", "ana", "--role", "admin", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert r.exit_code == 0, r.output
    assert PASSWORD not in r.output
    assert Accounts(cli_store).login("ana", PASSWORD).role == "admin"


@pytest.mark.parametrize("args, stdin, fragment", [
    (("add", "ana", "--role", "analyst", "--password-stdin"), "short\n", "at least 8"),
    (("add", "ana", "--role", "analyst", "--password-stdin"), "", "has no password"),
    (("add", "ana", "--role", "boss", "--password-stdin"), PASSWORD + "\n", "role 'boss'"),
    (("add", "taken", "--role", "analyst"), None, "user 'taken' already exists"),
    (("bind", "taken", "--brand", "GHOST"), None, "brand 'GHOST'"),
    (("bind", "taken"), None, "exactly one"),
    (("remove", "nobody"), None, "there is no user 'nobody'"),
])
def test_cli_errors_are_one_bilingual_line_and_exit_1(cli_store, args, stdin, fragment):
    Accounts(cli_store).add_user("taken", PASSWORD, "enterprise")
    before = cli_store.snapshot()
    r = run(*args, input=stdin)
    assert r.exit_code == 1, r.output
    errors = [line for line in r.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2 and fragment in errors[0]  # English, then Chinese
    assert "Traceback" not in r.output and PASSWORD not in r.output
    assert cli_store.snapshot() == before


# --- migration 0004 -----------------------------------------------------------------------------

def test_upgrade_from_0003_keeps_data(known, tmp_path):
    """Data written at head in the 0003 tables survives 0004 → 0003 → 0004; the accounts work
    after the upgrade; the downgrade drops only the account tables."""
    accounts = Accounts(known)
    accounts.add_user("gone", PASSWORD, "analyst")
    migrate(known, "downgrade", "0003")
    with known.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_heads() == ("0003",)
        names = set(inspect(conn).get_table_names())
        assert not set(ACCOUNT_TABLES) & names
        old_tables = sorted(names - {"alembic_version"})
        before = _rows(conn, _reflect(conn, old_tables))
    assert before["brands"] and before["maturity_responses"] and before["enterprise_links"]
    with pytest.raises(StoreError, match="upgrade"):
        known.known_brands()  # the store refuses to work below head
    known.upgrade()
    with known.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_heads() == ("0004",)
        assert _rows(conn, _reflect(conn, old_tables)) == before
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    assert known.snapshot()["users"] == []  # the downgrade dropped the old account
    accounts.add_user("owner", PASSWORD, "enterprise")
    accounts.bind("owner", brand="B1")
    assert accounts.login("owner", PASSWORD).brands == ("B1",)


# --- PostgreSQL end to end (on top of every test above running on it too) ----------------------

def test_postgresql_accounts(tmp_path, postgres_url):
    store = Store(postgres_url)
    try:
        store.upgrade()
        with store.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
        store.load_brands(brands_frame(), "brands.csv")
        with_maturity_survey(store, tmp_path)
        add_maturity(store)
        clock = Clock()
        accounts = Accounts(store, now=clock)
        accounts.add_user("Owner", PASSWORD, "enterprise")
        with pytest.raises(StoreError, match="already exists"):
            accounts.add_user("OWNER", PASSWORD, "admin")
        accounts.bind("owner", brand="B1")
        accounts.bind("owner", enterprise="E0001")
        session = accounts.login("owner", PASSWORD)
        assert session.brands == ("B1",) and session.enterprises == ("E0001",)
        assert accounts.require(session.token, "enterprise").expires_at == session.expires_at
        for _ in range(5):
            err = auth_error(lambda: accounts.login("owner", "wrong password"))
        assert err.locked_until == clock.t + timedelta(minutes=15)
        assert accounts.users()["locked_until"].tolist() == [err.locked_until]
        clock.advance(minutes=61)
        assert accounts.session(session.token) is None
        assert store.snapshot()["sessions"] == []
        fresh = accounts.login("owner", PASSWORD)
        accounts.remove_user("owner")
        assert accounts.session(fresh.token) is None
        snap = store.snapshot()
        assert snap["users"] == snap["user_bindings"] == snap["sessions"] == []
        migrate(store, "downgrade", "0003")
        assert not set(ACCOUNT_TABLES) & set(inspect(store.engine).get_table_names())
        store.upgrade()
    finally:
        store.close()
