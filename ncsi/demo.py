"""The demo job: generate the demo survey, ingest it, build and publish every year."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from .errors import NCSIError


def run_demo(*, seed: int, folder: Path, url: str, scale: float = 1.0,
             say: Callable[[str], None] = print) -> dict:
    """Run the whole demo on a fresh store at ``url``; return timings per stage (seconds)."""
    from .demo_data import generate
    from .ingest import ingest_file
    from .registry import read_brands_file, read_revenue_file
    from .instruments import list_questionnaires
    from .release import build_year, publish_year
    from .store import Store

    timings: dict[str, float] = {}
    folder = Path(folder)
    if url.startswith("sqlite:///"):
        db = Path(url[len("sqlite:///"):])
        db.parent.mkdir(parents=True, exist_ok=True)
        if db.exists():
            db.unlink()  # the demo store is rebuilt from scratch on every run
    t0 = time.perf_counter()
    manifest = generate(seed, folder, scale=scale)
    timings["generate"] = time.perf_counter() - t0
    say(f"demo survey generated in {folder} (seed {seed}) — DEMO DATA, fictitious brands / "
        f"演示数据，品牌均为虚构")

    t0 = time.perf_counter()
    store = Store(url)
    store.upgrade()
    for q in list_questionnaires():
        store.register_survey(q)
    store.load_brands(read_brands_file(folder / "brands.csv"), source="brands.csv")
    store.load_revenue(read_revenue_file(folder / "revenue.csv"), source="revenue.csv")
    files = sorted((folder / "responses").glob("*/*.*"))
    years = sorted({int(f.parent.name) for f in files})
    for f in files:
        year = int(f.parent.name)
        wave = ingest_file(f, f.stem, year, store)
        say(f"ingested {f.relative_to(folder)}: {wave.report['n_rows']} rows, "
            f"{wave.report['n_valid']} valid")
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
    say("demo ready: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    return {"manifest": manifest, "timings": timings, "years": years}


__all__ = ["run_demo", "NCSIError"]
