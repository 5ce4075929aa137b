"""The ``ncsi`` command line. Thin: parse, call the package, print.

Every :class:`~ncsi.errors.NCSIError` becomes a one-line message (English, then Chinese) on stderr
and exit code 1 — never a traceback.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from . import config
from .errors import NCSIError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="NCSI — national customer-satisfaction index / 全国顾客满意度指数")


def _fail(exc: NCSIError) -> None:
    for line in exc.lines():
        typer.echo(f"error: {line}", err=True)
    raise typer.Exit(1)


def handles_errors(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except NCSIError as exc:
            _fail(exc)
    return wrapper


def _store():
    from .store import Store
    store = Store()
    store.upgrade()
    return store


class Scheme(str, Enum):
    path = "path"
    centroid = "centroid"
    factorial = "factorial"


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


class Lang(str, Enum):
    zh = "zh"
    en = "en"


@app.command("demo-data")
@handles_errors
def demo_data(seed: int = typer.Option(2025, help="random seed; the same seed gives the same files"),
              out: Path = typer.Option(..., help="output folder"),
              scale: float = typer.Option(1.0, help="shrink respondents per brand (tests)")):
    """Generate the fictitious demo survey (DEMO DATA) with its true parameters. / 生成演示调查数据（虚构）及其真实参数。"""
    from .demo_data import generate
    t0 = time.perf_counter()
    manifest = generate(seed, out, scale=scale)
    rows = sum(f.get("rows", 0) or 0 for f in manifest.get("files", []))
    typer.echo(f"demo survey written to {out} ({rows} rows, {time.perf_counter() - t0:.1f} s); "
               f"DEMO DATA — fictitious brands / 演示数据——虚构品牌")


@app.command()
@handles_errors
def brands(file: Path = typer.Argument(..., help="CSV: brand, industry, name_zh, name_en[, is_demo]")):
    """Register brands (the registry ingest checks against). / 登记品牌（导入时据此校验）。"""
    from .registry import read_brands_file
    df = read_brands_file(file)
    n = _store().load_brands(df, source=file.name)
    typer.echo(f"{n} brands registered from {file} / 已登记 {n} 个品牌")


@app.command()
@handles_errors
def revenue(file: Path = typer.Argument(..., help="CSV: year, brand, revenue")):
    """Load brand revenue per year (industry index weights). / 导入品牌年度营收（行业指数权重）。"""
    from .registry import read_revenue_file
    df = read_revenue_file(file)
    n = _store().load_revenue(df, source=file.name)
    typer.echo(f"{n} revenue rows loaded from {file} / 已导入 {n} 条营收")


@app.command()
@handles_errors
def ingest(file: Path = typer.Argument(..., help="CSV (UTF-8/GBK), XLSX, SAV or Parquet"),
           survey: str = typer.Option(..., help="questionnaire id, e.g. ncsi-food"),
           year: int = typer.Option(..., help="survey year (wave)"),
           replace: bool = typer.Option(False, help="replace an existing unpublished wave")):
    """Validate a survey file and store it — all of it or nothing. / 校验并导入调查文件——要么全部写入，要么不写入。"""
    from .ingest import ingest_file
    store = _store()
    wave = ingest_file(file, survey, year, store, replace=replace)
    r = wave.report
    typer.echo(f"{file}: {r['n_rows']} rows stored as {survey} {year} "
               f"({r['n_valid']} valid, {r['n_speeders']} speeders, "
               f"{r['n_straightliners']} straight-liners) / 已导入")
    for w in r.get("warnings", []):
        typer.echo(f"warning: {w}", err=True)


@app.command()
@handles_errors
def build(year: int = typer.Option(...), industry: Optional[list[str]] = typer.Option(None),
          scheme: Scheme = typer.Option(Scheme.path),
          no_scale: bool = typer.Option(False, "--no-scale", help="centre indicators only")):
    """Fit the year's models and store a draft release. / 估计当年模型并生成草稿版本。"""
    from .release import build_year
    store = _store()
    summary = build_year(store, year, industries=industry, scheme=scheme.value,
                         scaled=not no_scale, progress=typer.echo)
    typer.echo(f"draft release {summary.release_id} for {year}: {len(summary.industries_ok)} "
               f"industries estimated, {len(summary.industries_failed)} failed, "
               f"{len(summary.issues)} issues / 草稿已生成")
    for code, msg in summary.industries_failed.items():
        typer.echo(f"failed: {code}: {msg}", err=True)
    for issue in summary.issues:
        if issue.get("kind") == "industry_failed":
            continue
        where = issue.get("industry") or issue.get("sector") or ""
        typer.echo(f"issue: {where}: {issue.get('message', issue)}", err=True)


@app.command()
@handles_errors
def publish(year: int = typer.Option(...)):
    """Publish the year's draft; a published release never changes. / 发布当年草稿；发布后永不更改。"""
    from .release import publish_year
    rid = publish_year(_store(), year)
    typer.echo(f"release {rid} for {year} published / 已发布")


@app.command()
@handles_errors
def rankings(year: int = typer.Option(...), industry: Optional[str] = typer.Option(None),
             format: Format = typer.Option(Format.table),
             lang: Lang = typer.Option(Lang.zh), construct: Optional[str] = typer.Option(None)):
    """Print the published ranking. / 输出已发布的排名。"""
    from .query import Query
    q = Query(_store())
    published = q.published_years()
    if year not in published:
        raise NCSIError(
            f"no published release for {year}; published years: "
            f"{', '.join(map(str, published)) or 'none yet'} — run ncsi build --year {year} "
            f"and ncsi publish --year {year} first",
            message_zh=f"{year} 年没有已发布的版本；已发布年份："
                       f"{'、'.join(map(str, published)) or '暂无'}")
    if industry:
        q.industry_name(industry)  # an unknown code is named with the known ones
        if industry not in q.industries(year):
            raise NCSIError(
                f"industry {industry} has no published index for {year}; published industries: "
                f"{', '.join(q.industries(year))}",
                message_zh=f"{year} 年行业 {industry} 没有已发布的指数")
    industries = [industry] if industry else q.industries(year)
    frames = [q.ranking(year, ind, construct=construct, lang=lang.value) for ind in industries]
    if q.is_demo():  # on the terminal for tables; on stderr so CSV/JSON stay machine-readable
        typer.echo("DEMO DATA — fictitious brands / 演示数据——品牌均为虚构",
                   err=format is not Format.table)
    if format is Format.json:
        out = [{"industry": ind, "rows": json.loads(f.to_json(orient="records", force_ascii=False))}
               for ind, f in zip(industries, frames)]
        typer.echo(json.dumps(out, ensure_ascii=False, indent=1))
    elif format is Format.csv:
        import pandas as pd
        shown = [q.display_rows(f, lang.value).assign(industry=ind)
                 for ind, f in zip(industries, frames)]
        typer.echo(pd.concat(shown, ignore_index=True).to_csv(index=False), nl=False)
    else:
        for ind, f in zip(industries, frames):
            typer.echo(f"\n== {q.industry_name(ind, lang.value)} ({ind}), {year} ==")
            typer.echo(q.format_table(f, lang.value))


class Missing(str, Enum):
    casewise = "casewise"
    mean = "mean"
    fiml = "fiml"


class Method(str, Enum):
    pls = "pls"
    cbsem = "cbsem"


class Estimator(str, Enum):
    ML = "ML"
    GLS = "GLS"
    ULS = "ULS"
    DWLS = "DWLS"
    WLS = "WLS"


class Interval(str, Enum):
    percentile = "percentile"
    bca = "bca"


@app.command()
@handles_errors
def fit(data: Path = typer.Argument(..., help="data file (CSV, XLSX, SAV or Parquet)"),
        model: Path = typer.Option(..., help="lavaan-style model file / 模型文件"),
        method: Method = typer.Option(Method.pls, help="PLS or covariance-based SEM / 估计方法"),
        estimator: Estimator = typer.Option(Estimator.ML, help="CB-SEM estimator / CB-SEM 估计量"),
        survey: Optional[str] = typer.Option(
            None, help="questionnaire id: its missing codes (98, 99) become missing / 问卷编号"),
        scheme: Scheme = typer.Option(Scheme.path, help="inner weighting scheme / 内部权重方案"),
        no_scale: bool = typer.Option(False, "--no-scale",
                                      help="centre indicators only / 指标仅中心化"),
        consistent: bool = typer.Option(False, "--consistent",
                                        help="consistent PLS (PLSc) / 一致性 PLS"),
        missing: Missing = typer.Option(Missing.casewise,
                                        help="missing values / 缺失值处理"),
        weights: Optional[str] = typer.Option(None, help="column of case weights / 权重列"),
        scale_min: Optional[float] = typer.Option(None, help="lower end of the item scale (L)"),
        scale_max: Optional[float] = typer.Option(None, help="upper end of the item scale (U)"),
        bootstrap: int = typer.Option(0, help="bootstrap resamples (0: none) / 自助样本数"),
        seed: Optional[int] = typer.Option(None, help="random seed of the bootstrap / 随机种子"),
        workers: int = typer.Option(1, help="threads for the bootstrap / 线程数"),
        ci: Interval = typer.Option(Interval.percentile, help="bootstrap interval / 置信区间"),
        level: float = typer.Option(0.95, help="confidence level / 置信水平"),
        json_out: Path = typer.Option(..., "--json", help="write the results here")):
    """Fit a model to any data file (no store) and write JSON. / 对任意数据文件估计模型并输出 JSON。"""
    from .fitfile import fit_file

    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = typer.progressbar(length=total, label="bootstrap / 自助法", file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)

    try:
        result = fit_file(data, model, scheme=scheme.value, scaled=not no_scale,
                          consistent=consistent, missing=missing.value, weights=weights,
                          scale_min=scale_min, scale_max=scale_max, bootstrap=bootstrap,
                          seed=seed, workers=workers, ci=ci.value, level=level,
                          method=method.value, estimator=estimator.value, survey=survey,
                          progress=progress)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    json_out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    boot = result.get("bootstrap")
    status = (result["verify"]["status"] if "verify" in result else
              f"{len(result['problems'])} problem(s)")
    typer.echo(f"n={result['n']}, converged={result['converged']} in {result['iterations']} "
               f"iterations, {status}"
               + (f"; bootstrap {boot['n_valid']}/{boot['n_boot']} valid" if boot else "")
               + f"; results written to {json_out}")
    for line in result["warnings"] + result["issues"] + (boot["warnings"] if boot else []):
        typer.echo(f"warning: {line}", err=True)


@app.command()
@handles_errors
def compare(data: Path = typer.Argument(..., help="data file (CSV, XLSX, SAV or Parquet)"),
            model: Path = typer.Option(..., help="lavaan-style model file / 模型文件"),
            scale_min: Optional[float] = typer.Option(None, help="lower end of the item scale"),
            scale_max: Optional[float] = typer.Option(None, help="upper end of the item scale"),
            json_out: Optional[Path] = typer.Option(None, "--json", help="also write JSON here")):
    """PLS and CB-SEM side by side (paths, R², indices, reliability). / PLS 与 CB-SEM 结果对照。"""
    from .fitfile import compare_file

    res = compare_file(data, model, scale_min=scale_min, scale_max=scale_max)
    if json_out:
        json_out.write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")

    def f(v, d=3):
        return "—" if v is None else f"{v:.{d}f}"

    typer.echo("path / 路径            PLS    CB-SEM (std)  p")
    for r in res["paths"]:
        typer.echo(f"{r['from']:>6} → {r['to']:<8} {f(r['pls']):>7} {f(r['cbsem']):>9} "
                   f"{f(r['cbsem_p']):>7}")
    typer.echo("\nR²                     PLS    CB-SEM")
    for r in res["r2"]:
        typer.echo(f"{r['construct']:<17} {f(r['pls']):>10} {f(r['cbsem']):>9}")
    typer.echo("\nindex 0–100 / 指数       PLS    CB-SEM")
    for r in res["indices"]:
        typer.echo(f"{r['construct']:<17} {f(r['pls'], 1):>10} {f(r['cbsem'], 1):>9}")
    typer.echo("\nρC / AVE               PLS            CB-SEM")
    for r in res["reliability"]:
        typer.echo(f"{r['construct']:<17} {f(r['pls_rho_c'])} / {f(r['pls_ave'])}   "
                   f"{f(r['cbsem_rho_c'])} / {f(r['cbsem_ave'])}")
    fit = res["fit"]
    typer.echo(f"\nCB-SEM fit: χ²={f(fit['chi2'], 2)} df={fit['df']} CFI={f(fit['cfi'])} "
               f"TLI={f(fit['tli'])} RMSEA={f(fit['rmsea'])} SRMR={f(fit['srmr'])}")
    for p in res["problems"]:
        typer.echo(f"problem: {p['message']}", err=True)


def _demo_url() -> tuple[str, bool]:
    """The demo's store and whether it is the demo's own file (recreated on every run)."""
    if os.environ.get("NCSI_DATABASE_URL"):
        return os.environ["NCSI_DATABASE_URL"], False
    return f"sqlite:///{config.data_dir() / 'ncsi-demo.db'}", True


@app.command()
@handles_errors
def demo(seed: int = typer.Option(2025), serve: bool = typer.Option(True, help="serve the dashboard"),
         port: int = typer.Option(8501), scale: float = typer.Option(1.0),
         out: Optional[Path] = typer.Option(None, help="demo folder (default data/demo)")):
    """Demo: generate → ingest → build → publish every year → dashboard. / 一键演示：生成、导入、估计、发布并启动仪表盘。"""
    from .demo import run_demo
    url, own_file = _demo_url()
    folder = out or config.data_dir() / "demo"
    run_demo(seed=seed, folder=folder, url=url, scale=scale, recreate=own_file, say=typer.echo)
    if serve:
        _serve(port, url)


def _serve(port: int, url: str) -> None:
    app_path = config.home() / "dashboards" / "app.py"
    env = dict(os.environ, NCSI_DATABASE_URL=url)
    typer.echo(f"dashboard: http://localhost:{port}  (Ctrl-C to stop) / 仪表盘地址")
    cmd = [sys.executable, "-m", "streamlit", "run", str(app_path), "--server.port", str(port),
           "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--client.toolbarMode", "viewer"]
    raise typer.Exit(subprocess.call(cmd, env=env))


@app.command()
def serve(port: int = typer.Option(8501)):
    """Serve the dashboard on the configured store. / 启动仪表盘。"""
    _serve(port, config.database_url())


if __name__ == "__main__":  # pragma: no cover
    app()
