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
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from . import config
from .errors import NCSIError, ReleaseError

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


@app.command("demo-data")
@handles_errors
def demo_data(seed: int = typer.Option(2025,
                                       help="random seed; the same seed gives the same files"),
              out: Path = typer.Option(..., help="output folder"),
              scale: float = typer.Option(1.0, help="shrink respondents per brand (tests)")):
    """Generate the fictitious demo survey (DEMO DATA) with its true parameters. /
    生成演示调查数据（虚构）及其真实参数。"""
    from .demo_data import generate
    t0 = time.perf_counter()
    manifest = generate(seed, out, scale=scale)
    rows = sum(f.get("rows", 0) or 0 for f in manifest.get("files", []))
    typer.echo(f"demo survey written to {out} ({rows} rows, {time.perf_counter() - t0:.1f} s); "
               f"DEMO DATA — fictitious brands / 演示数据——虚构品牌")


@app.command()
@handles_errors
def brands(file: Path = typer.Argument(...,
                                       help="CSV: brand, industry, name_zh, name_en[, is_demo]")):
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


class _StageBars:
    """Progress bars on stderr for ``progress(stage, done, total)`` callbacks: one bar per stage,
    each closed when the next stage starts (and at the end)."""

    LABELS = {"check": "checking / 校验", "store": "storing / 写入"}

    def __init__(self):
        self.stage: str | None = None
        self.bar = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = typer.progressbar(length=max(total, 1), label=self.LABELS.get(stage, stage),
                                         file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(max(0, min(done, total) - self.bar.pos))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@app.command()
@handles_errors
def ingest(files: list[Path] = typer.Argument(
               ..., help="CSV (UTF-8/GBK), XLSX, SAV or Parquet; several files are several "
                         "waves (one each)"),
           survey: Optional[str] = typer.Option(
               None, help="questionnaire id, e.g. ncsi-food (default: each file's name without "
                          "its extension, as in responses/2025/ncsi-food.csv)"),
           year: int = typer.Option(..., help="survey year (wave)"),
           replace: bool = typer.Option(False, help="replace an existing unpublished wave"),
           quiet: bool = typer.Option(False, "--quiet", "-q",
                                      help="no progress bar (none either when stderr is not a "
                                           "terminal) / 不显示进度条")):
    """Validate survey files and store each — all of a file or nothing of it. /
    校验并导入调查文件——每个文件要么全部写入，要么不写入。"""
    store = _store()
    if survey is None:
        from .instruments import questionnaire_ids
        known = set(questionnaire_ids()) | {"maturity"}
        unknown = [f for f in files if f.stem not in known]
        if unknown:
            raise NCSIError(
                f"{unknown[0]}: no --survey given and '{unknown[0].stem}' is not a questionnaire "
                f"id; name the file after its questionnaire (e.g. ncsi-food.csv) or pass "
                f"--survey ID (known: {', '.join(sorted(known))})",
                message_zh=f"{unknown[0]}：未指定 --survey，且文件名“{unknown[0].stem}”不是问卷编号；"
                           f"请以问卷编号命名文件（如 ncsi-food.csv）或使用 --survey")
    for file in files:
        _ingest_one(store, file, survey or file.stem, year, replace, quiet)


def _ingest_one(store, file: Path, survey: str, year: int, replace: bool, quiet: bool) -> None:
    if survey == "maturity":
        from .maturity_ingest import ingest_maturity_file
        report = ingest_maturity_file(file, year, store, replace=replace)
        typer.echo(f"{file}: {report['n_rows']} enterprises stored as maturity {year} "
                   f"({report['n_missing_values']} missing values) / 已导入")
        return
    from .ingest import ingest_file
    bars = _StageBars() if not quiet and sys.stderr.isatty() else None
    try:
        wave = ingest_file(file, survey, year, store, replace=replace, progress=bars)
    finally:
        if bars is not None:
            bars.close()
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
          no_scale: bool = typer.Option(False, "--no-scale", help="centre indicators only"),
          method: Optional[Method] = typer.Option(
              None, help="pls or cbsem (default: surveys/index.yaml) / 估计方法"),
          pooling: Optional[str] = typer.Option(
              None, help="industry or sector (default: surveys/index.yaml) / 合并估计单位"),
          bootstrap: Optional[int] = typer.Option(
              None, help="bootstrap resamples, 0 for none (default: surveys/index.yaml) / "
                         "自助样本数"),
          seed: Optional[int] = typer.Option(None, help="the release seed / 随机种子"),
          permutations: Optional[int] = typer.Option(
              None, help="invariance permutations (default: surveys/index.yaml) / 置换次数"),
          executor: str = typer.Option(
              "local", help="where the industries' fits run: local (this process), processes "
                            "(a local pool) or dask (a Dask cluster: a local one, or the one at "
                            "--scheduler); the numbers are the same on each / 执行方式"),
          workers: Optional[int] = typer.Option(
              None, help="worker processes for processes/dask (default: the CPU count) / "
                         "工作进程数"),
          scheduler: Optional[str] = typer.Option(
              None, help="address of an existing Dask scheduler, e.g. tcp://10.0.0.5:8786 / "
                         "Dask 调度器地址")):
    """Fit the year's models and store a draft release. / 估计当年模型并生成草稿版本。"""
    from .executors import Executor
    from .release import build_year
    store = _store()
    summary = build_year(store, year, industries=industry, scheme=scheme.value,
                         scaled=not no_scale, progress=typer.echo,
                         method=method.value if method else None, pooling=pooling,
                         n_boot=bootstrap, seed=seed, permutations=permutations,
                         executor=Executor(executor, workers, scheduler))
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
        if issue.get("message_zh"):
            typer.echo(f"       {issue['message_zh']}", err=True)


def _publisher(by: Optional[str]) -> Optional[str]:
    """--by, else NCSI_USER, else the operating-system user (None when none can be found)."""
    if by and by.strip():
        return by.strip()
    if os.environ.get("NCSI_USER", "").strip():
        return os.environ["NCSI_USER"].strip()
    import getpass
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):  # no login name, e.g. an unnamed container user
        return None


def _parse_time(text: Optional[str], option: str) -> Optional[datetime]:
    """An ISO 8601 date and time as given on the command line (the zone is checked by the store,
    which refuses a time without one)."""
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise ReleaseError(
            f"{option} '{text}' is not a date and time; write it as ISO 8601 with a time zone, "
            f"e.g. 2026-03-15T09:00+08:00",
            message_zh=f"{option} '{text}' 不是日期时间；请按 ISO 8601 格式并带时区填写，"
                       f"例如 2026-03-15T09:00+08:00") from None


def _utc_text(value, zone: bool = True) -> str:
    """A time as "2026-03-15 01:00 UTC" ("" when missing); a time without zone is UTC (as the
    store keeps it)."""
    import pandas as pd
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.strftime("%Y-%m-%d %H:%M") + (" UTC" if zone else "")


@app.command()
@handles_errors
def publish(year: int = typer.Option(..., help="the year whose draft to publish / 发布年份"),
            embargo_until: Optional[str] = typer.Option(
                None, "--embargo-until",
                help="hide the release from rankings and the dashboard until then; ISO 8601 with "
                     "a time zone, e.g. 2026-03-15T09:00+08:00 / 禁发时间（须带时区），此前不公开"),
            by: Optional[str] = typer.Option(
                None, "--by", help="who publishes (default: $NCSI_USER, else the login name) / "
                                   "发布人（默认 NCSI_USER 或登录名）")):
    """Publish the year's draft; a published release never changes. /
    发布当年草稿；发布后永不更改。"""
    store = _store()
    embargo = _parse_time(embargo_until, "--embargo-until")
    publisher = _publisher(by)
    rid = store.publish(year, by=publisher, embargo_until=embargo)
    rel = store.release(year)
    who = rel["published_by"] or "unknown"
    typer.echo(f"release {rid} for {year} published by {who} / {year} 年版本已发布（发布人 {who}）")
    typer.echo(f"content sha256: {rel['content_sha256']} / 内容哈希")
    if rel["embargo_until"] is not None:
        typer.echo(f"embargo: until {_utc_text(rel['embargo_until'])} (given: "
                   f"{embargo.isoformat()}); until then it is not shown by `ncsi rankings` or "
                   f"the dashboard / 禁发至 {_utc_text(rel['embargo_until'])}，"
                   f"此前排名与仪表盘不显示")
    else:
        typer.echo("embargo: none — shown at once / 无禁发，立即公开")


# --- ncsi release: list, show, diff -------------------------------------------------------------

release_app = typer.Typer(
    no_args_is_help=True,
    help="Review releases: list, show, diff a draft against the published one. / "
         "查看版本：列表、详情、草稿与已发布版本的差异。")
app.add_typer(release_app, name="release")


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def _short(value, width: int = 60) -> str:
    text = "—" if value is None else (value if isinstance(value, str) else
                                      json.dumps(value, ensure_ascii=False, sort_keys=True))
    return text if len(text) <= width else text[:width - 1] + "…"


@release_app.command("list")
@handles_errors
def release_list(json_out: bool = typer.Option(False, "--json", help="JSON instead of a table")):
    """Every release, drafts included, with its publisher, embargo and content hash. /
    全部版本（含草稿）：发布人、禁发时间与内容哈希。"""
    import pandas as pd
    rel = _store().releases()
    now = pd.Timestamp.now(tz="UTC")

    def iso(value):
        return None if pd.isna(value) else value.isoformat()

    records = [{
        "year": int(r.year), "status": r.status, "id": int(r.id),
        "created_at": iso(r.created_at), "published_at": iso(r.published_at),
        "published_by": r.published_by if isinstance(r.published_by, str) else None,
        "embargo_until": iso(r.embargo_until),
        "embargo_in_force": bool(not pd.isna(r.embargo_until) and r.embargo_until > now),
        "content_sha256": r.content_sha256 if isinstance(r.content_sha256, str) else None,
    } for r in rel.itertuples(index=False)]
    if json_out:
        typer.echo(json.dumps(records, ensure_ascii=False, indent=1))
        return
    if not records:
        typer.echo("no releases yet; build one with `ncsi build --year YEAR` / 暂无版本")
        return
    header = ["year", "status", "id", "created (UTC)", "published (UTC)", "by",
              "embargo until (UTC)", "content sha256"]
    rows = [[str(x["year"]), x["status"], str(x["id"]),
             _utc_text(x["created_at"], zone=False), _utc_text(x["published_at"], zone=False),
             x["published_by"] or "", (_utc_text(x["embargo_until"], zone=False)
                                       + (" *" if x["embargo_in_force"] else "")),
             (x["content_sha256"] or "")[:12]]
            for x in records]
    typer.echo("releases / 版本 (年份、状态、编号、生成、发布、发布人、禁发至、内容哈希)")
    typer.echo(_table(header, rows))
    if any(x["embargo_in_force"] for x in records):
        typer.echo("* embargo in force: not shown by `ncsi rankings` or the dashboard yet / "
                   "禁发中：排名与仪表盘暂不显示")


@release_app.command("show")
@handles_errors
def release_show(year: int = typer.Option(..., help="release year / 版本年份"),
                 draft: bool = typer.Option(False, "--draft",
                                            help="show the draft, not the published release / "
                                                 "查看草稿"),
                 json_out: bool = typer.Option(False, "--json", help="JSON for machines")):
    """A release's settings, provenance, issues, model fits and score counts. /
    版本详情：设置、来源、问题、模型估计与得分行数。"""
    from .store.review import describe_release
    d = describe_release(_store(), year, status="draft" if draft else "published")
    if json_out:
        typer.echo(json.dumps(d, ensure_ascii=False, indent=1))
        return
    say = typer.echo
    say(f"== release {d['id']}: {d['year']} {d['status']} / {d['year']} 年"
        f"{'草稿' if d['status'] == 'draft' else '已发布版本'} ==")
    say(f"created / 生成: {_utc_text(d['created_at'])}")
    if d["status"] == "published":
        say(f"published / 发布: {_utc_text(d['published_at'])} by {d['published_by'] or '—'}")
        embargo = _utc_text(d["embargo_until"])
        say(f"embargo / 禁发至: {embargo or 'none / 无'}")
        check = ("verified / 校验一致" if d["verified"]
                 else "DOES NOT MATCH the stored content / 与内容不符")
        say(f"content sha256 / 内容哈希: {d['content_sha256']} ({check})")
    say("\nsettings / 设置:")
    for key, value in sorted(d["settings"].items()):
        say(f"  {key}: {_short(value, 90)}")
    say("\nprovenance / 来源:")
    for key, value in d["code"].items():
        say(f"  {key}: {value}")
    for key, value in d["versions"].items():
        say(f"  {key}: {_short(value, 90)}")
    for sid, q in sorted(d["questionnaires"].items()):
        say(f"  questionnaire {sid}: version {q.get('version')}, sha256 "
            f"{str(q.get('sha256'))[:12]}, model {q.get('model')} sha256 "
            f"{str(q.get('model_sha256'))[:12]}")
    for w in d["waves"]:
        say(f"  wave {w.get('id')}: {w.get('survey_id')} {w.get('source_file')} sha256 "
            f"{str(w.get('source_sha256'))[:12]}, {w.get('n_rows')} rows "
            f"({w.get('n_valid')} valid)")
    say("  seeds / 随机种子: " + (", ".join(f"{k}={v}" for k, v in d["seeds"].items())
                              or "none (no random step) / 无"))
    say(f"\nissues / 问题: {len(d['issues'])}")
    for issue in d["issues"]:
        where = issue.get("industry") or issue.get("sector") or ""
        say(f"  [{issue.get('kind', '')}] {where}: {issue.get('message', issue)}")
        if issue.get("message_zh"):
            say(f"      {issue['message_zh']}")
    say("\nmodel fits / 模型估计:")
    rows = [[f["industry"], f["status"], str(f["n"] if f["n"] is not None else ""),
             str(f["iterations"] if f["iterations"] is not None else ""),
             _short(f["message"] or "", 70)] for f in d["fits"]]
    say(_table(["industry", "status", "n", "iterations", "message"], rows) if rows
        else "  none / 无")
    say("\nscore rows / 得分行数: " + ", ".join(f"{lvl} {n}" for lvl, n in d["score_rows"].items())
        + (f"; {d['flagged_score_rows']} with flags / 含标记" if d["flagged_score_rows"] else ""))


def _number(value, signed: bool = False) -> str:
    if value is None or value != value:
        return "—"
    return f"{value:+.2f}" if signed else f"{value:.2f}"


@release_app.command("diff")
@handles_errors
def release_diff(year: int = typer.Option(..., help="the year of the draft / 草稿年份"),
                 construct: Optional[str] = typer.Option(
                     None, help="construct to compare (default: the index construct, SAT) / "
                                "比较的构念（默认 SAT）"),
                 json_out: bool = typer.Option(False, "--json", help="JSON for machines")):
    """The year's draft against the latest published release: indices, settings, provenance.
    / 草稿与最近已发布版本的差异：指数、设置、来源。"""
    from .store.review import LEVELS, diff_draft
    diff = diff_draft(_store(), year, construct=construct)
    if json_out:
        typer.echo(json.dumps(diff.to_dict(), ensure_ascii=False, indent=1))
        return
    say = typer.echo
    base = diff.base
    say(f"== {diff.year} draft (release {diff.draft['id']}) vs published {base['year']} "
        f"(release {base['id']}, sha256 {str(base['content_sha256'])[:12]}), construct "
        f"{diff.construct} / {diff.year} 年草稿与 {base['year']} 年已发布版本对比 ==")
    for level in LEVELS:
        part = diff.scores[diff.scores["level"] == level]
        if part.empty:
            continue
        say(f"\n{level} ({len(part)}):")
        rows = [[r.code, "" if not isinstance(r.parent, str) else r.parent,
                 _number(r.old), _number(r.new), _number(r.difference, signed=True)]
                for r in part.itertuples(index=False)]
        say(_table(["code", "parent", f"old {base['year']}", f"new {diff.year}", "difference"],
                   rows))
    for title, changes in (("settings / 设置", diff.settings),
                           ("provenance / 来源", diff.provenance)):
        say(f"\n{title}: " + (f"{len(changes)} key(s) differ / 项不同" if changes
                               else "identical / 相同"))
        reports: dict[str, int] = {}
        for c in changes:
            # a wave's ingest report (counts per item and code) differs in every new wave:
            # one line per wave here, every key in --json
            head, sep, _ = c["key"].partition(".report.")
            if sep and head.startswith("waves["):
                reports[head] = reports.get(head, 0) + 1
                continue
            say(f"  {c['key']}: {_short(c['old'])} → {_short(c['new'])}")
        for head, count in reports.items():
            say(f"  {head}.report: {count} value(s) differ (ingest report; all in --json) / "
                f"导入报告有差异")


@app.command()
@handles_errors
def rankings(year: int = typer.Option(...), industry: Optional[str] = typer.Option(None),
             format: Format = typer.Option(Format.table),
             lang: Lang = typer.Option(Lang.zh), construct: Optional[str] = typer.Option(None)):
    """Print the published ranking. / 输出已发布的排名。"""
    from .query import Query
    q = Query(_store())
    published = q.published_years()
    held = q.embargoed()
    if year not in published and not held.empty and year in set(held["year"]):
        until = held.loc[held["year"] == year, "embargo_until"].iloc[0]
        raise NCSIError(
            f"the {year} release is published but under embargo until {until}; it is shown "
            f"from then on",
            message_zh=f"{year} 年版本已发布，但禁发至 {until}，届时公开")
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
    if construct:
        scores = q.scores()
        known = sorted(set(scores.loc[scores["year"] == year, "construct"]))
        if construct not in known:
            raise NCSIError(
                f"construct {construct} has no published index for {year}; published "
                f"constructs: {', '.join(known)}",
                message_zh=f"{year} 年构念 {construct} 没有已发布的指数；已发布的构念："
                           f"{', '.join(known)}")
    industries = [industry] if industry else q.industries(year)
    frames = [q.ranking(year, ind, construct=construct, lang=lang.value, flags=True)
              for ind in industries]
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
    """Fit a model to any data file (no store) and write JSON. /
    对任意数据文件估计模型并输出 JSON。"""
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
def demo(seed: int = typer.Option(2025),
         serve: bool = typer.Option(True, help="serve the dashboard"),
         port: int = typer.Option(8501), scale: float = typer.Option(1.0),
         out: Optional[Path] = typer.Option(None, help="demo folder (default data/demo)")):
    """Demo: generate → ingest → build → publish every year → dashboard. /
    一键演示：生成、导入、估计、发布并启动仪表盘。"""
    from .demo import run_demo
    url, own_file = _demo_url()
    folder = out or config.data_dir() / "demo"
    run_demo(seed=seed, folder=folder, url=url, scale=scale, recreate=own_file, say=typer.echo)
    if serve:
        _serve(port, url)


def _serve(port: int, url: str) -> None:
    from .serving import streamlit_command
    env = dict(os.environ, NCSI_DATABASE_URL=url)
    typer.echo(f"dashboard: http://localhost:{port}  (Ctrl-C to stop) / 仪表盘地址")
    raise typer.Exit(subprocess.call(streamlit_command(port), env=env))


@app.command()
def serve(port: int = typer.Option(8501)):
    """Serve the dashboard on the configured store. / 启动仪表盘。"""
    _serve(port, config.database_url())


@app.command()
@handles_errors
def performance(file: Path = typer.Argument(..., help="CSV, XLSX, SAV or Parquet"),
                year: int = typer.Option(..., help="the year the inputs describe")):
    """Load enterprises' performance inputs for grading. / 导入企业质量绩效数据（评级用）。"""
    from .maturity_ingest import load_performance_file
    n = load_performance_file(file, year, _store())
    typer.echo(f"{file}: {n} enterprises' performance inputs for {year} stored / 已导入")


@app.command()
@handles_errors
def links(file: Path = typer.Argument(..., help="CSV with enterprise_id, brand")):
    """Load the enterprise → brand links. / 导入企业与品牌的对应关系。"""
    from .maturity_ingest import load_links_file
    n = load_links_file(file, _store())
    typer.echo(f"{file}: {n} enterprise–brand links stored / 已导入")


def _release_part(store, year: int, key: str, what: str) -> tuple[dict, str]:
    for status in ("published", "draft"):
        rel = store.release(year, status=status)
        if rel and rel.get(key):
            return rel[key], status
    raise NCSIError(
        f"no {what} stored for {year}; run ncsi build --year {year} (after ingesting the data)",
        message_zh=f"{year} 年没有{'成熟度结果' if key == 'maturity' else '评级结果'}；"
                   f"请先运行 ncsi build --year {year}")


@app.command()
@handles_errors
def maturity(wave: int = typer.Option(..., help="the wave (year) / 调查期（年份）"),
             lang: Lang = typer.Option(Lang.zh), json_out: Optional[Path] = typer.Option(
                 None, "--json", help="write the full results here")):
    """Maturity index of a wave: national, by region, size and industry, level shares, change,
    CFA and reliabilities. / 某期质量管理成熟度指数。"""
    res, status = _release_part(_store(), wave, "maturity", "maturity results")
    if json_out:
        json_out.write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")
    zh = lang is Lang.zh
    nat = res["national"]
    typer.echo(f"{'质量管理成熟度指数' if zh else 'Quality-management maturity index'} {wave} "
               f"({status}): {nat['index']:.1f} (90% CI {nat['ci_low']:.1f}–{nat['ci_high']:.1f}"
               f"), n = {res['n']}")
    ch = res.get("change")
    if ch and ch.get("comparable"):
        c = ch["national"]
        typer.echo(f"  {'较' if zh else 'change since'} {ch['previous_year']}: "
                   f"{c['points']:+.1f} ({c['percent']:+.1f}%)"
                   + (" ▲▼"[1 if c['points'] > 0 else 2] if c["significant"] else ""))
    elif ch:
        typer.echo(f"  {ch['reason']}")
    for dim, rows in res["subgroups"].items():
        test = res["tests"][dim]
        typer.echo(f"  {dim}: Wald χ²({test['df']}) = {test['statistic']:.1f}, "
                   f"p = {test['p']:.3g}")
        for r in rows:
            ci = "" if r["se"] is None else f" ({r['ci_low']:.1f}–{r['ci_high']:.1f})"
            typer.echo(f"    {r['group']:<14} {r['index']:5.1f}{ci}  n = {r['n']}")
    shares = ", ".join(f"L{k} {v:.1%}" for k, v in res["level_shares"].items())
    typer.echo(f"  {'各等级占比' if zh else 'share at each level'}: {shares}")
    cfa = res.get("structure", {}).get("cfa", {})
    if "fit" in cfa:
        f = cfa["fit"]
        typer.echo(f"  CFA: χ²({f['df']}) = {f['chi2']:.1f}, CFI = {f['cfi']:.3f}, "
                   f"RMSEA = {f['rmsea']:.3f}, SRMR = {f['srmr']:.3f}")
    for r in res.get("structure", {}).get("reliability", []):
        typer.echo(f"    {r['category']:<14} α = {r['alpha']:.3f}  ω = {r['omega']:.3f}")


@app.command()
@handles_errors
def grade(year: int = typer.Option(..., help="the year / 年份"),
          enterprise: Optional[list[str]] = typer.Option(None, help="only these enterprises"),
          json_out: Optional[Path] = typer.Option(None, "--json", help="write all grades here")):
    """Graded evaluation (A/AA/AAA) of a year, every decision explained. /
    质量管理分级评价（A/AA/AAA），逐条说明。"""
    from .grading import explain
    res, status = _release_part(_store(), year, "grades", "grades")
    if json_out:
        json_out.write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")
    typer.echo(f"grades {year} ({status}; rulebook v{res['rulebook_version']}, maturity wave "
               f"{res['maturity_year']}): " + ", ".join(f"{k} {v}" for k, v in
                                                       sorted(res["counts"].items())))
    rows = res["results"]
    if enterprise:
        wanted = set(enterprise)
        rows = [r for r in rows if r["enterprise_id"] in wanted]
        unknown = wanted - {r["enterprise_id"] for r in rows}
        if unknown:
            raise NCSIError(f"enterprise(s) {', '.join(sorted(unknown))} were not graded in "
                            f"{year}", message_zh=f"{year} 年没有这些企业的评级")
    for r in rows:
        typer.echo("")
        typer.echo(explain(r))


def _register_reports() -> None:
    from . import cli_report, cli_user
    app.command("export", help=cli_report.export.__doc__)(cli_report.export)
    app.command("report", help=cli_report.report.__doc__)(cli_report.report)
    app.add_typer(cli_user.app, name="user")


_register_reports()


if __name__ == "__main__":  # pragma: no cover
    app()
