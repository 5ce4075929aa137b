"""Dashboard accounts: users, roles, bindings, sign-in with lockout, and sessions.

    from ncsi.accounts import Accounts
    accounts = Accounts(store)                 # store: an upgraded ncsi.store.Store
    accounts.add_user("li.wei", password, "enterprise", display_name="李伟")
    accounts.bind("li.wei", brand="B07")
    session = accounts.login("li.wei", password)          # AuthError when refused
    accounts.require(session.token, "enterprise", "admin")  # AuthError unless allowed

Roles (:data:`ROLES`): an *analyst* and an *admin* see everything; an *enterprise* user sees only
the brands and enterprises it is bound to (``bind``; binding an analyst or admin is refused, they
need none). Managing accounts (``ncsi user ...``) is for admins; the dashboard decides who may
call which method with :meth:`Accounts.require`.

Passwords: at least :data:`MIN_PASSWORD_LENGTH` characters; stored only as argon2 hashes
(argon2-cffi ``PasswordHasher``, whose verification is constant-time); never stored, logged or
put in a message in clear. User names are stored lower-case, so they are unique regardless of
case, and sign-in accepts any case.

Sign-in: a wrong password and an unknown user name get the same :class:`AuthError` (an unknown
user name is checked against a dummy hash, so it takes as long). After ``max_failures``
consecutive failures the account is locked for ``lockout_minutes``: the failure that locks it and
every sign-in until then (right password or not) get an AuthError saying it is locked and until
when. A successful sign-in resets the count; when a lock has run out the count starts again from
zero. (The lock message does tell that the user name exists — only after ``max_failures`` wrong
passwords for it.)

Sessions: a sign-in returns a :class:`Session` whose ``token`` (``secrets.token_urlsafe(32)``) is
the only copy of the secret; the store keeps its sha256. A session lasts ``session_minutes`` from
the sign-in — a fixed lifetime, not extended by use (sign in again afterwards). ``session()`` of
an unknown or expired token returns None and deletes an expired one; ``logout`` deletes it.
Expired sessions of everyone are also deleted at each successful sign-in. The role, display name
and bindings in a Session are read from the store each time ``session()`` is called, so changes
take effect on the next page load; removing a user deletes its sessions and bindings.

Errors: :class:`AuthError` for refused sign-ins and missing rights (it never says whether a user
exists); :class:`~ncsi.errors.StoreError` for refused account changes (unknown user, duplicate
name, bad role, short password, unknown brand or enterprise). Both are bilingual. Every change is
one store transaction: all or nothing.

:func:`create_demo_accounts` creates the demo's three accounts with fresh random passwords (made
when ``make demo`` runs and printed once; nothing in the repository can reproduce them): they are
for the demo only and must never exist in a real store.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

import pandas as pd
from sqlalchemy import delete, exists, select, update

from .errors import NCSIError, StoreError
from .store.models import (
    USER_ROLES,
    Brand,
    EnterpriseLink,
    MaturityResponse,
    User,
    UserBinding,
    UserSession,
)
from .store.store import _frame, _utc

ROLES = USER_ROLES  # ("analyst", "enterprise", "admin")
#: Roles that see every brand and enterprise without bindings.
SEE_ALL_ROLES = ("analyst", "admin")
MIN_PASSWORD_LENGTH = 8
USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")
USER_COLUMNS = ("username", "role", "display_name", "brands", "enterprises", "locked_until")


class AuthError(NCSIError):
    """A sign-in was refused, or a session is missing, expired or lacks the role.

    The message never says whether a user exists; ``locked_until`` (UTC) is set when the refusal
    is a lockout."""

    def __init__(self, message: str, *, locked_until: datetime | None = None, **kw):
        self.locked_until = locked_until
        super().__init__(message, **kw)


@dataclass(frozen=True)
class Session:
    """A live sign-in session. ``token`` is the secret to keep (e.g. in the browser session)
    and pass to :meth:`Accounts.session` / :meth:`Accounts.require`; ``expires_at`` is UTC."""

    token: str
    username: str
    role: str
    display_name: str | None
    brands: tuple[str, ...]
    enterprises: tuple[str, ...]
    expires_at: datetime

    @property
    def sees_everything(self) -> bool:
        return self.role in SEE_ALL_ROLES

    def can_see_brand(self, code: str) -> bool:
        """Analysts and admins: every brand; enterprise users: the brands bound to them."""
        return self.sees_everything or code in self.brands

    def can_see_enterprise(self, eid: str) -> bool:
        """Analysts and admins: every enterprise; enterprise users: those bound to them."""
        return self.sees_everything or eid in self.enterprises

    def __repr__(self) -> str:  # never show the token
        return (f"Session(username={self.username!r}, role={self.role!r}, "
                f"brands={self.brands!r}, enterprises={self.enterprises!r}, "
                f"expires_at={self.expires_at.isoformat()!r})")


# --- hashing ------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash of a random password: verified against when the user name is unknown or locked,
    so that every sign-in costs one argon2 verification."""
    return _hasher().hash(secrets.token_urlsafe(16))


def _verify(password_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# --- checks -------------------------------------------------------------------------------------

def _normal_name(username: Any) -> str:
    return username.strip().lower() if isinstance(username, str) else ""


def _valid_username(username: Any) -> str:
    name = _normal_name(username)
    if not USERNAME_PATTERN.fullmatch(name):
        raise StoreError(
            f"user name '{username}' is not valid; use 1–64 letters, digits, '.', '_', '-' or "
            f"'@', starting with a letter or digit (stored lower-case)",
            message_zh=f"用户名 '{username}' 无效；请使用 1–64 个字母、数字、'.'、'_'、'-' 或 "
                       f"'@'，并以字母或数字开头（保存为小写）")
    return name


def _valid_role(role: Any) -> str:
    value = role.strip().lower() if isinstance(role, str) else role
    if value not in ROLES:
        raise StoreError(
            f"role '{role}' is not one of {', '.join(ROLES)}; choose one of them",
            message_zh=f"角色 '{role}' 不是 {', '.join(ROLES)} 之一；请从中选择")
    return value


def _check_password(password: Any) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise StoreError(
            f"the password is too short: it needs at least {MIN_PASSWORD_LENGTH} characters; "
            f"choose a longer one",
            message_zh=f"密码太短：至少需要 {MIN_PASSWORD_LENGTH} 个字符；请换一个更长的密码")


def _target(brand: str | None, enterprise: str | None, verb: str) -> tuple[str, str]:
    given = [(kind, value) for kind, value in (("brand", brand), ("enterprise", enterprise))
             if value is not None]
    if len(given) != 1:
        raise StoreError(
            f"{verb}: give exactly one of a brand code or an enterprise id",
            message_zh=f"{verb}：请给出且只给出一个品牌代码或企业编号")
    kind, value = given[0]
    code = str(value).strip()
    if not code:
        raise StoreError(f"{verb}: the {kind} is empty; give its code",
                         message_zh=f"{verb}：{'品牌代码' if kind == 'brand' else '企业编号'}为空；"
                                    f"请填写")
    return kind, code


def _unknown_user(name: str) -> StoreError:
    return StoreError(
        f"there is no user '{name}'; see `ncsi user list`",
        message_zh=f"用户 '{name}' 不存在；请用 `ncsi user list` 查看")


def _user_exists(name: str) -> StoreError:
    return StoreError(
        f"user '{name}' already exists (user names ignore case); choose another name or "
        f"remove it first with `ncsi user remove {name}`",
        message_zh=f"用户 '{name}' 已存在（用户名不区分大小写）；请换一个名字，或先用 "
                   f"`ncsi user remove {name}` 删除")


def _bad_credentials() -> AuthError:
    return AuthError("wrong user name or password; check both and try again",
                     message_zh="用户名或密码错误；请检查后重试")


def _locked(until: datetime) -> AuthError:
    when = until.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return AuthError(
        f"too many failed sign-ins: this account is locked until {when}; try again after that "
        f"or ask an administrator",
        message_zh=f"登录失败次数过多：该账户已锁定至 {when}；请届时再试或联系管理员",
        locked_until=until)


def _not_signed_in() -> AuthError:
    return AuthError("not signed in, or the session has expired; sign in again",
                     message_zh="未登录或会话已过期；请重新登录")


def _positive(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"Accounts: {name} must be a positive whole number, not {value!r}")
    return value


# --- shared writes (inside a store transaction) ---------------------------------------------

def _insert_user(db, name: str, password_hash: str, role: str, display_name: str | None,
                 now: datetime) -> None:
    if db.get(User, name) is not None:
        raise _user_exists(name)
    db.add(User(username=name, password_hash=password_hash, role=role,
                display_name=display_name, created_at=now, failed_logins=0, locked_until=None))
    db.flush()


def _add_binding(db, name: str, kind: str, code: str) -> None:
    user = db.get(User, name)
    if user is None:
        raise _unknown_user(name)
    if user.role != "enterprise":
        raise StoreError(
            f"user '{name}' is an {user.role}, who sees every brand and enterprise; only "
            f"enterprise users are bound to brands or enterprises",
            message_zh=f"用户 '{name}' 的角色是 {user.role}，可查看全部品牌和企业；"
                       f"只有企业用户需要绑定品牌或企业")
    if kind == "brand":
        known = db.scalar(select(exists().where(Brand.code == code)))
        if not known:
            raise StoreError(
                f"brand '{code}' is not in the brand registry; check the code or register the "
                f"brand first (`ncsi brands FILE`)",
                message_zh=f"品牌 '{code}' 不在品牌登记表中；请检查代码或先登记该品牌")
    else:
        known = (db.scalar(select(exists().where(EnterpriseLink.enterprise_id == code)))
                 or db.scalar(select(exists().where(MaturityResponse.enterprise_id == code))))
        if not known:
            raise StoreError(
                f"enterprise '{code}' is unknown: it is in neither the enterprise → brand links "
                f"nor the maturity survey; check the id or load its data first",
                message_zh=f"企业 '{code}' 未知：既不在企业—品牌关联表中，也不在成熟度调查中；"
                           f"请检查编号或先导入其数据")
    if db.get(UserBinding, (name, kind, code)) is None:
        db.add(UserBinding(username=name, kind=kind, code=code))
        db.flush()


def _bindings(db, names: list[str] | None = None) -> dict[str, dict[str, tuple[str, ...]]]:
    stmt = select(UserBinding.username, UserBinding.kind, UserBinding.code)
    if names is not None:
        stmt = stmt.where(UserBinding.username.in_(names))
    out: dict[str, dict[str, list[str]]] = {}
    for username, kind, code in db.execute(stmt):
        out.setdefault(username, {"brand": [], "enterprise": []})[kind].append(code)
    return {u: {k: tuple(sorted(v)) for k, v in kinds.items()} for u, kinds in out.items()}


class Accounts:
    """Users, bindings, sign-in and sessions on an NCSI store (see the module docstring).

    ``now`` (returning a datetime; a naive one is taken as UTC) replaces the clock, for tests."""

    def __init__(self, store, *, session_minutes: int = 60, max_failures: int = 5,
                 lockout_minutes: int = 15, now: Callable[[], datetime] | None = None):
        self.store = store
        self.session_minutes = _positive(session_minutes, "session_minutes")
        self.max_failures = _positive(max_failures, "max_failures")
        self.lockout_minutes = _positive(lockout_minutes, "lockout_minutes")
        self._now = now or (lambda: datetime.now(timezone.utc))

    def _clock(self) -> datetime:
        value = self._now()
        if value.tzinfo is None or value.utcoffset() is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    # -- managing users -------------------------------------------------------------------------

    def add_user(self, username: str, password: str, role: str, *,
                 display_name: str | None = None) -> None:
        """Create an account (the name is stored lower-case; refused when it exists in any
        case). The password needs at least MIN_PASSWORD_LENGTH characters."""
        name = _valid_username(username)
        role = _valid_role(role)
        _check_password(password)
        display = (display_name.strip() or None) if isinstance(display_name, str) else None
        password_hash = _hasher().hash(password)
        with self.store._transaction(f"adding user {name}") as db:
            _insert_user(db, name, password_hash, role, display, self._clock())

    def remove_user(self, username: str) -> None:
        """Delete an account with its bindings and sessions."""
        name = _normal_name(username)
        with self.store._transaction(f"removing user {name}") as db:
            if db.get(User, name) is None:
                raise _unknown_user(name or str(username))
            db.execute(delete(UserSession).where(UserSession.username == name))
            db.execute(delete(UserBinding).where(UserBinding.username == name))
            db.execute(delete(User).where(User.username == name))

    def bind(self, username: str, *, brand: str | None = None,
             enterprise: str | None = None) -> None:
        """Let enterprise user ``username`` see ``brand`` (a registered brand code) or
        ``enterprise`` (an id in the enterprise links or the maturity survey). Exactly one of
        the two; binding twice is harmless."""
        kind, code = _target(brand, enterprise, "bind")
        name = _normal_name(username)
        with self.store._transaction(f"binding user {name} to {kind} {code}") as db:
            _add_binding(db, name, kind, code)

    def unbind(self, username: str, *, brand: str | None = None,
               enterprise: str | None = None) -> None:
        """Remove one binding (refused when the user is not bound to it)."""
        kind, code = _target(brand, enterprise, "unbind")
        name = _normal_name(username)
        with self.store._transaction(f"unbinding user {name} from {kind} {code}") as db:
            if db.get(User, name) is None:
                raise _unknown_user(name or str(username))
            gone = db.execute(delete(UserBinding).where(
                UserBinding.username == name, UserBinding.kind == kind,
                UserBinding.code == code)).rowcount
            if not gone:
                raise StoreError(
                    f"user '{name}' is not bound to {kind} '{code}'; see `ncsi user list`",
                    message_zh=f"用户 '{name}' 未绑定"
                               f"{'品牌' if kind == 'brand' else '企业'} '{code}'；"
                               f"请用 `ncsi user list` 查看")

    def users(self) -> pd.DataFrame:
        """Every account, sorted by name: username, role, display_name, brands and enterprises
        (tuples of codes), locked_until (UTC while a lockout lasts, else NaT). No hashes."""
        now = self._clock()
        with self.store._reading() as db:
            rows = db.execute(select(User.username, User.role, User.display_name,
                                     User.locked_until).order_by(User.username)).all()
            bound = _bindings(db)
        columns: dict[str, list[Any]] = {c: [] for c in USER_COLUMNS}
        for username, role, display_name, locked_until in rows:
            locked_until = _utc(locked_until)
            kinds = bound.get(username, {})
            columns["username"].append(username)
            columns["role"].append(role)
            columns["display_name"].append(display_name)
            columns["brands"].append(kinds.get("brand", ()))
            columns["enterprises"].append(kinds.get("enterprise", ()))
            columns["locked_until"].append(
                locked_until if locked_until is not None and locked_until > now else None)
        return _frame(columns, {"username": "str", "role": "str", "display_name": "str",
                                "locked_until": "datetime"})

    # -- signing in -----------------------------------------------------------------------------

    def login(self, username: str, password: str) -> Session:
        """A new session for the right password; AuthError otherwise (see the module
        docstring: same message for an unknown user, lockout after max_failures)."""
        now = self._clock()
        name = _normal_name(username)
        password = password if isinstance(password, str) else ""
        with self.store._reading() as db:
            row = db.execute(select(User.password_hash, User.locked_until)
                             .where(User.username == name)).first() if name else None
        if row is None:
            _verify(_dummy_hash(), password)
            raise _bad_credentials()
        locked_until = _utc(row.locked_until)
        if locked_until is not None and locked_until > now:
            _verify(_dummy_hash(), password)
            raise _locked(locked_until)
        if not _verify(row.password_hash, password):
            until = self._record_failure(name, now)
            raise _locked(until) if until is not None else _bad_credentials()
        rehash = _hasher().check_needs_rehash(row.password_hash)
        new_hash = _hasher().hash(password) if rehash else None
        token = secrets.token_urlsafe(32)
        expires_at = now + timedelta(minutes=self.session_minutes)
        with self.store._transaction(f"signing in {name}") as db:
            user = db.get(User, name)
            if user is None:  # removed while the password was being checked
                raise _bad_credentials()
            user.failed_logins = 0
            user.locked_until = None
            if new_hash is not None:
                user.password_hash = new_hash
            db.execute(delete(UserSession).where(UserSession.expires_at <= now))
            db.add(UserSession(token_sha256=_token_digest(token), username=name,
                               created_at=now, expires_at=expires_at))
            role, display_name = user.role, user.display_name
            kinds = _bindings(db, [name]).get(name, {})
        return Session(token=token, username=name, role=role, display_name=display_name,
                       brands=kinds.get("brand", ()), enterprises=kinds.get("enterprise", ()),
                       expires_at=expires_at)

    def _record_failure(self, name: str, now: datetime) -> datetime | None:
        """Count a failed sign-in (atomically); lock the account when it reaches max_failures.
        Returns the lock's end when this failure locked it."""
        with self.store._transaction(f"recording a failed sign-in of {name}") as db:
            db.execute(update(User).where(User.username == name)
                       .values(failed_logins=User.failed_logins + 1))
            count = db.scalar(select(User.failed_logins).where(User.username == name))
            if count is None or count < self.max_failures:
                return None
            until = now + timedelta(minutes=self.lockout_minutes)
            db.execute(update(User).where(User.username == name)
                       .values(failed_logins=0, locked_until=until))
        return until

    def session(self, token: str | None) -> Session | None:
        """The live session of ``token``; None when it is unknown or expired (an expired one is
        deleted)."""
        if not token or not isinstance(token, str):
            return None
        digest = _token_digest(token)
        now = self._clock()
        with self.store._reading() as db:
            row = db.execute(
                select(UserSession.expires_at, User.username, User.role, User.display_name)
                .join(User, User.username == UserSession.username)
                .where(UserSession.token_sha256 == digest)).first()
            kinds = _bindings(db, [row.username]).get(row.username, {}) if row else {}
        if row is None:
            return None
        expires_at = _utc(row.expires_at)
        if expires_at <= now:
            self.logout(token)
            return None
        return Session(token=token, username=row.username, role=row.role,
                       display_name=row.display_name, brands=kinds.get("brand", ()),
                       enterprises=kinds.get("enterprise", ()), expires_at=expires_at)

    def logout(self, token: str) -> None:
        """End the session of ``token`` (nothing happens when there is none)."""
        if not token or not isinstance(token, str):
            return
        with self.store._transaction("signing out") as db:
            db.execute(delete(UserSession).where(
                UserSession.token_sha256 == _token_digest(token)))

    def require(self, token: str | None, *roles: str) -> Session:
        """The live session of ``token`` when its role is one of ``roles`` (any role when none
        are given); AuthError otherwise."""
        unknown = [r for r in roles if r not in ROLES]
        if unknown:
            raise ValueError(f"Accounts.require: unknown role(s) {unknown}; roles are {ROLES}")
        session = self.session(token)
        if session is None:
            raise _not_signed_in()
        if roles and session.role not in roles:
            raise AuthError(
                f"signed in as '{session.username}' ({session.role}); this needs the role "
                f"{' or '.join(roles)}",
                message_zh=f"当前登录用户 '{session.username}'（{session.role}）无权执行此操作；"
                           f"需要角色 {' 或 '.join(roles)}")
        return session


# --- the demo's accounts -----------------------------------------------------------------------

DEMO_USERS = (
    ("analyst", "analyst", "Demo analyst / 演示分析员"),
    ("admin", "admin", "Demo administrator / 演示管理员"),
    ("brand-owner", "enterprise", "Demo brand owner / 演示品牌方"),
)


def demo_password() -> str:
    """A new random demo password (``secrets``: 16 URL-safe characters after ``demo-``). Each
    call makes another, so the demo's passwords exist only in the store's hashes and in what
    ``make demo`` prints — never in the repository."""
    return f"demo-{secrets.token_urlsafe(12)}"


def create_demo_accounts(store, *, brand: str,
                         enterprise: str | None) -> list[tuple[str, str, str]]:
    """Create the demo's accounts in one transaction and return (username, password, role):
    an analyst ``analyst``, an admin ``admin`` and an enterprise user ``brand-owner`` bound to
    ``brand`` (and to ``enterprise`` when given; both must be known to the store).

    DEMO ONLY: the passwords are random, new on every call (:func:`demo_password`), and printed
    by ``make demo``. Refused when any of the three user names exists."""
    out = [(name, demo_password(), role) for name, role, _ in DEMO_USERS]
    hashes = {name: _hasher().hash(password) for name, password, _ in out}
    now = datetime.now(timezone.utc)
    with store._transaction("creating the demo accounts") as db:
        for name, role, display_name in DEMO_USERS:
            _insert_user(db, name, hashes[name], role, display_name, now)
        _add_binding(db, "brand-owner", "brand", _target(brand, None, "bind")[1])
        if enterprise is not None:
            _add_binding(db, "brand-owner", "enterprise", _target(None, enterprise, "bind")[1])
    return out
