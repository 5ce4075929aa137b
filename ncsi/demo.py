"""The demo job: generate the demo survey, ingest it, build and publish every year."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from .errors import NCSIError


def run_demo(*, seed: int, folder: Path, url: str, scale: float = 1.0, recreate: bool = False,
             say: Callable[[str], None] = print) -> dict:
    """Run the whole demo on the store at ``url``; return timings per stage (seconds).

    ``recreate=True`` deletes the SQLite file first (only for the demo's own store file);
    otherwise the store must be empty — the demo never mixes with or overwrites real data.
    """
    from .demo_data import generate
    from .release import build_year, publish_year
    from .store import Store

    timings: dict[str, float] = {}
    folder = Path(folder)
    if recreate and url.startswith("sqlite:///"):
        db = Path(url[len("sqlite:///"):])
        db.parent.mkdir(parents=True, exist_ok=True)
        if db.exists():
            db.unlink()  # the demo store is rebuilt from scratch on every run
    check = Store(url)
    check.upgrade()
    if not check.waves().empty or not check.releases().empty:
        raise NCSIError(
            f"the store at {url} already holds waves or releases; the demo runs on an empty "
            f"store — unset NCSI_DATABASE_URL to use the demo's own SQLite file",
            message_zh="该数据库已有数据；演示只在空数据库上运行——请取消 NCSI_DATABASE_URL "
                       "以使用演示自带的 SQLite 文件")
    check.close()
    t0 = time.perf_counter()
    manifest = generate(seed, folder, scale=scale)
    from .maturity_demo import generate as generate_maturity
    generate_maturity(seed, folder, brands_csv=folder / "brands.csv")
    timings["generate"] = time.perf_counter() - t0
    say(f"demo survey generated in {folder} (seed {seed}) — DEMO DATA, fictitious brands / "
        f"演示数据，品牌均为虚构")

    t0 = time.perf_counter()
    store = Store(url)
    store.upgrade()
    years = load_survey_folder(store, folder, say=say)
    timings["ingest"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    for year in years:
        build_year(store, year, progress=say)
    timings["build"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for year in years:
        rid = publish_year(store, year)
        say(f"published release {rid} for {year}")
    timings["publish"] = time.perf_counter() - t0
    from .accounts import create_demo_accounts
    brand, enterprise = _demo_binding(store)
    say("demo accounts (demo only — never use these passwords for real data) / 演示账号：")
    for user, password, role in create_demo_accounts(store, brand=brand, enterprise=enterprise):
        say(f"  {role:<10} {user:<12} {password}"
            + (f"  (brand {brand}" + (f", enterprise {enterprise})" if enterprise else ")")
               if role == "enterprise" else ""))
    from .report import write_report
    t0 = time.perf_counter()
    for lang in ("zh", "en"):
        path = write_report(store, years[-1], folder / f"report-{years[-1]}-{lang}.html",
                            lang=lang)
        say(f"report of the {years[-1]} release (works offline): {path}")
    timings["report"] = time.perf_counter() - t0
    say("demo ready: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    return {"manifest": manifest, "timings": timings, "years": years}


def _demo_binding(store) -> tuple[str, str | None]:
    """A brand for the demo's enterprise account: one made by a linked, graded enterprise when
    there is one (so its maturity and grade pages have content), else the first brand."""
    links = store.links().sort_values(["brand", "enterprise_id"])
    rel = store.releases()
    years = sorted(rel.loc[rel["status"] == "published", "year"])
    grades = (store.release(years[-1]) or {}).get("grades") if years else None
    if grades and not links.empty:
        graded = {r["enterprise_id"] for r in grades["results"] if r["status"] == "graded"}
        mine = links[links["enterprise_id"].isin(graded)]
        if not mine.empty:
            return str(mine.iloc[0]["brand"]), str(mine.iloc[0]["enterprise_id"])
    if not links.empty:
        return str(links.iloc[0]["brand"]), str(links.iloc[0]["enterprise_id"])
    brands = store.known_brands()
    return str(brands.iloc[0, 0]), None


def load_survey_folder(store, folder: Path, *, say: Callable[[str], None] = lambda _m: None
                       ) -> list[int]:
    """Register the questionnaires, then load ``brands.csv``, ``revenue.csv`` and every
    ``responses/<year>/<survey-id>.<ext>`` of a survey folder (the layout ``ncsi demo-data``
    writes) into ``store``; return the years found."""
    from .ingest import ingest_file
    from .instruments import list_questionnaires
    from .registry import read_brands_file, read_revenue_file

    folder = Path(folder)
    for q in list_questionnaires():
        store.register_survey(q)
    store.load_brands(read_brands_file(folder / "brands.csv"), source="brands.csv")
    store.load_revenue(read_revenue_file(folder / "revenue.csv"), source="revenue.csv")
    files = sorted((folder / "responses").glob("*/*.*"))
    for f in files:
        wave = ingest_file(f, f.stem, int(f.parent.name), store)
        say(f"ingested {f.relative_to(folder)}: {wave.report['n_rows']} rows, "
            f"{wave.report['n_valid']} valid")
    years = {int(f.parent.name) for f in files}
    # the manufacturers' maturity survey, their performance inputs and brand links (if present)
    from .maturity_ingest import ingest_maturity_file, load_links_file, load_performance_file
    for f in sorted((folder / "maturity").glob("*.csv")):
        report = ingest_maturity_file(f, int(f.stem), store)
        years.add(int(f.stem))
        say(f"ingested {f.relative_to(folder)}: {report['n_rows']} enterprises (maturity)")
    for f in sorted((folder / "performance").glob("*.csv")):
        load_performance_file(f, int(f.stem), store)
    if (folder / "links.csv").exists():
        load_links_file(folder / "links.csv", store)
    return sorted(years)


__all__ = ["run_demo", "load_survey_folder", "NCSIError"]
