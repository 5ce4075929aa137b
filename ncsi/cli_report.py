"""``ncsi export`` and ``ncsi report``: published rankings as CSV/XLSX/JSON, and the offline HTML
report of a published release.

A typer app of its own (``app``) so that ``ncsi.cli`` can register the two commands, e.g.
``app.command("export")(cli_report.export)`` and ``app.command("report")(cli_report.report)``,
or ``app.registered_commands += cli_report.app.registered_commands``. The store and the error
handling are those of :mod:`ncsi.cli` (``_store()``, ``handles_errors``), looked up when a
command runs, so either module may be imported first (no import cycle).
"""

from __future__ import annotations

import functools
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="NCSI exports and reports / NCSI 导出与报告")


class ExportFormat(str, Enum):
    csv = "csv"
    xlsx = "xlsx"
    json = "json"


class Lang(str, Enum):
    zh = "zh"
    en = "en"


def handles_errors(func):
    """:func:`ncsi.cli.handles_errors`, resolved when the command runs."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from .cli import handles_errors as cli_handles_errors
        return cli_handles_errors(func)(*args, **kwargs)
    return wrapper


def _store():
    from .cli import _store as cli_store
    return cli_store()


def _size(path: Path) -> str:
    n = path.stat().st_size
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def _demo_banner(store) -> None:
    from .query import Query
    if Query(store).is_demo():
        typer.echo("DEMO DATA — fictitious brands / 演示数据——品牌均为虚构", err=True)


@app.command("export")
@handles_errors
def export(year: int = typer.Option(..., help="a published year / 已发布年份"),
           format: ExportFormat = typer.Option(..., "--format", help="csv, xlsx or json"),
           out: Path = typer.Option(..., help="file to write / 输出文件"),
           lang: Lang = typer.Option(Lang.zh, help="names and labels / 名称与标签语言"),
           industry: Optional[list[str]] = typer.Option(
               None, help="only this industry (repeatable) / 仅导出该行业（可重复）")):
    """Export the published rankings of a year. / 导出某年已发布的排名。"""
    from .export import export_rankings
    store = _store()
    path = export_rankings(store, year, format.value, out, lang=lang.value,
                           industries=industry or None)
    _demo_banner(store)
    typer.echo(f"rankings {year} written to {path} ({format.value}, {_size(path)}) / "
               f"{year} 年排名已导出")


@app.command("report")
@handles_errors
def report(year: int = typer.Option(..., help="a published year / 已发布年份"),
           out: Path = typer.Option(..., help="HTML file to write / 输出的 HTML 文件"),
           lang: Lang = typer.Option(Lang.zh, help="report language / 报告语言")):
    """Write the offline HTML report of a published release. / 生成已发布版本的离线 HTML 报告。"""
    from .report import write_report
    store = _store()
    path = write_report(store, year, out, lang=lang.value)
    _demo_banner(store)
    typer.echo(f"report {year} written to {path} ({_size(path)}) / {year} 年报告已生成")
