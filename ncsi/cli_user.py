"""``ncsi user``: dashboard accounts (add, remove, bind, unbind, list).

A typer app of its own (``app``); :mod:`ncsi.cli` registers it with
``app.add_typer(cli_user.app, name="user")``. The store and the error handling are those of
:mod:`ncsi.cli` (``_store()``, ``handles_errors``), looked up when a command runs, so either
module may be imported first (no import cycle). The logic is in :mod:`ncsi.accounts`.

Passwords are never taken as an argument (they would show in the shell history and the process
list): ``ncsi user add`` prompts twice without echo, or with ``--password-stdin`` reads one line
from standard input, for scripts.
"""

from __future__ import annotations

import functools
import sys
from typing import Optional

import typer

from .errors import StoreError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Dashboard accounts / 看板账户 (roles: analyst, enterprise, admin)")


def handles_errors(func):
    """:func:`ncsi.cli.handles_errors`, resolved when the command runs."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from .cli import handles_errors as cli_handles_errors
        return cli_handles_errors(func)(*args, **kwargs)
    return wrapper


def _accounts():
    from .accounts import Accounts
    from .cli import _store as cli_store
    return Accounts(cli_store())


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        password = password[:-1] if password.endswith("\r") else password
        if not password:
            raise StoreError(
                "--password-stdin: standard input has no password; pipe one line into it, "
                "e.g. `printf '%s\\n' \"$PASSWORD\" | ncsi user add NAME --role ROLE "
                "--password-stdin`",
                message_zh="--password-stdin：标准输入中没有密码；请通过管道输入一行密码")
        return password
    return typer.prompt("Password / 密码", hide_input=True,
                        confirmation_prompt="Repeat the password / 再次输入密码")


@app.command("add")
@handles_errors
def add(username: str = typer.Argument(..., help="user name (stored lower-case) / 用户名"),
        role: str = typer.Option(..., "--role", help="analyst | enterprise | admin / 角色"),
        name: Optional[str] = typer.Option(None, "--name", help="display name / 显示名称"),
        password_stdin: bool = typer.Option(
            False, "--password-stdin",
            help="read the password as one line from standard input (for scripts) / "
                 "从标准输入读取一行密码"),
        ) -> None:
    """Create an account; asks for the password twice (not shown) / 新建账户。"""
    from .accounts import _check_password, _user_exists, _valid_role, _valid_username

    user, role = _valid_username(username), _valid_role(role)  # before asking for a password
    accounts = _accounts()
    if user in set(accounts.users()["username"]):
        raise _user_exists(user)  # say so before asking for a password
    password = _read_password(password_stdin)
    _check_password(password)
    accounts.add_user(user, password, role, display_name=name)
    typer.echo(f"user {user} ({role}) added / 已添加用户 {user}（{role}）")
    if role == "enterprise":
        typer.echo(f"bind it to what it may see: ncsi user bind {user} --brand CODE | "
                   f"--enterprise ID / 请为其绑定品牌或企业")


@app.command("remove")
@handles_errors
def remove(username: str = typer.Argument(..., help="user name / 用户名")) -> None:
    """Delete an account with its bindings and sessions / 删除账户（及其绑定和会话）。"""
    _accounts().remove_user(username)
    typer.echo(f"user {username.strip().lower()} removed / 已删除用户 {username.strip().lower()}")


@app.command("bind")
@handles_errors
def bind(username: str = typer.Argument(..., help="an enterprise user / 企业用户"),
         brand: Optional[str] = typer.Option(None, "--brand", help="a registered brand code"),
         enterprise: Optional[str] = typer.Option(None, "--enterprise", help="an enterprise id"),
         ) -> None:
    """Let an enterprise user see a brand or an enterprise / 为企业用户绑定品牌或企业。"""
    _accounts().bind(username, brand=brand, enterprise=enterprise)
    what = f"brand {brand}" if brand is not None else f"enterprise {enterprise}"
    typer.echo(f"user {username.strip().lower()} may now see {what} / 已绑定")


@app.command("unbind")
@handles_errors
def unbind(username: str = typer.Argument(..., help="an enterprise user / 企业用户"),
           brand: Optional[str] = typer.Option(None, "--brand", help="a bound brand code"),
           enterprise: Optional[str] = typer.Option(None, "--enterprise",
                                                    help="a bound enterprise id"),
           ) -> None:
    """Remove one binding of an enterprise user / 解除企业用户的一个绑定。"""
    _accounts().unbind(username, brand=brand, enterprise=enterprise)
    what = f"brand {brand}" if brand is not None else f"enterprise {enterprise}"
    typer.echo(f"user {username.strip().lower()} no longer sees {what} / 已解除绑定")


@app.command("list")
@handles_errors
def list_users() -> None:
    """List the accounts (no passwords) / 列出账户。"""
    import pandas as pd

    from .cli import _table

    users = _accounts().users()
    if users.empty:
        typer.echo("no users yet; add one with `ncsi user add NAME --role ROLE` / 暂无用户")
        return
    header = ["user", "role", "name", "brands", "enterprises", "locked until"]
    rows = []
    for r in users.itertuples(index=False):
        locked = ("" if pd.isna(r.locked_until)
                  else r.locked_until.strftime("%Y-%m-%d %H:%M UTC"))
        rows.append([r.username, r.role, "" if not isinstance(r.display_name, str)
                     else r.display_name, ", ".join(r.brands) or "-",
                     ", ".join(r.enterprises) or "-", locked])
    typer.echo("users / 用户 (用户名、角色、显示名称、品牌、企业、锁定至)")
    typer.echo(_table(header, rows))
