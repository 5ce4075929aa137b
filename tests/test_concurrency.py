"""Publishing while the query layer reads: readers see the old release or the new one, whole.

A store (SQLite file and PostgreSQL database) holds a small generated survey of 2023–2025 with
2023 published and drafts of 2024 and 2025. A writer then rebuilds the 2024 draft (``build_year``
→ ``save_draft``, replacing it), re-saves the 2025 draft (deleting and inserting all its rows),
publishes 2024, and publishes 2025 — while readers loop over the query layer (``Query(store)``:
published years, scores, the newest year's ranking, the content hash of the newest release), two
in threads of this process and two in processes of their own. Before each publication and after
the last, the writer waits until every reader has read again, so every reader sees every state.

Every read must be a state the writer could have left between two of its transactions:

* the published years are 2023…k for some k — never a draft year;
* each year's scores all belong to one release, and their number and values are exactly the
  draft's that was published (no missing rows, no draft rows);
* the newest year's ranking is the one the final store shows for that year (a ranking depends
  only on the years up to it);
* the newest release's content still hashes to its recorded content_sha256.

And a Query is one snapshot: what it shows does not change when a release is published while it
is in use (its years, rankings and the drivers of a year all come from the same releases).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import threading
import time
from dataclasses import dataclass

import pytest

from ncsi.query import Query
from ncsi.store import Store
from tests.pg import BACKENDS, scoped_postgres_url

YEARS = [2023, 2024, 2025]
BASE = YEARS[0]                      # published before the readers start
INDUSTRIES = ["liquid_milk", "sportswear"]
INDUSTRY = "liquid_milk"              # the ranking the readers compare
BOOT = dict(n_boot=0, seed=3, permutations=0)
READERS_PER_KIND = 2


@dataclass(frozen=True)
class Setup:
    url: str
    expected: dict  # year → (number of score rows, checksum of their values)


def checksum(scores) -> str:
    """The score rows' content, order-independent (release ids and row ids left out)."""
    cols = ["level", "code", "construct", "index", "se", "ci_low", "ci_high", "n"]
    rows = sorted(repr(tuple(None if v != v else v for v in r))
                  for r in scores[cols].itertuples(index=False))
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def frame_hash(frame) -> str:
    return hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()


@pytest.fixture(scope="module", params=BACKENDS)
def template(request, tmp_path_factory) -> Setup:
    """A template store (never changed; the tests work on copies): 2023 published, the drafts
    of 2024 and 2025 built (their scores are what must be seen)."""
    from ncsi.demo import load_survey_folder
    from ncsi.demo_data import generate
    from ncsi.release import build_year

    folder = tmp_path_factory.mktemp("concurrency")
    generate(9, folder / "survey", years=YEARS, industries=INDUSTRIES, scale=0.3)
    url = (scoped_postgres_url(request) if request.param == "postgresql"
           else f"sqlite:///{folder / 'ncsi.db'}")
    store = Store(url)
    store.upgrade()
    load_survey_folder(store, folder / "survey")
    expected = {}
    for year in YEARS:
        build_year(store, year, **BOOT)
        draft = store.release(year, "draft")
        scores = store.release_scores(draft["id"])
        expected[year] = (len(scores), checksum(scores))
        if year == BASE:
            store.publish(year, by="setup")
    store.close()
    return Setup(url, expected)


# --- one read, as a reader does it ---------------------------------------------------------------

def observe(store: Store) -> tuple:
    """What one Query shows: (years, ((year, release ids, rows, checksum), …), (newest year,
    its ranking's hash), whether the newest release verifies)."""
    q = Query(store)
    years = tuple(q.published_years())
    scores = q.scores()
    per_year = []
    for year in years:
        part = scores[scores["year"] == year]
        ids = sorted(set(int(i) for i in part["release_id"]))
        per_year.append((year, tuple(ids), len(part), checksum(part)))
    ranking = (years[-1], frame_hash(q.ranking(years[-1], INDUSTRY))) if years else None
    newest = per_year[-1][1][0] if per_year and len(per_year[-1][1]) == 1 else None
    verified = newest is not None and store.verify_release(newest)
    return years, tuple(per_year), ranking, verified


def read_until(url: str, stop, counts) -> tuple[set, list[str]]:
    """Observe until ``stop()``; ``counts[0]`` counts the reads begun, ``counts[1]`` those
    done. Returns the distinct observations and the errors met."""
    store = Store(url)
    seen: set = set()
    errors: list[str] = []
    try:
        while not stop():
            counts[0] += 1
            try:
                seen.add(observe(store))
            except Exception as exc:  # reported, not raised: the test lists them
                errors.append(f"{type(exc).__name__}: {exc}")
            counts[1] += 1
    finally:
        store.close()
    return seen, errors


def process_reader(url: str, stop, counts, out) -> None:
    """A reader in a process of its own (spawned: a fresh interpreter); ``counts`` is a shared
    array (begun, done)."""
    seen, errors = read_until(url, stop.is_set, counts)
    out.put((seen, errors))


# --- the tests ------------------------------------------------------------------------------------

@pytest.fixture
def store_url(template, tmp_path, request) -> str:
    """A fresh copy of the template store."""
    from sqlalchemy.engine import make_url

    if template.url.startswith("sqlite"):
        import shutil
        db = tmp_path / "copy.db"
        shutil.copy(make_url(template.url).database, db)
        return f"sqlite:///{db}"
    return request.getfixturevalue("postgres_databases")(template=make_url(template.url).database)


def test_readers_never_see_a_torn_release_while_the_writer_publishes(template, store_url):
    from ncsi.release import build_year

    ctx = multiprocessing.get_context("spawn")
    stop_processes = ctx.Event()
    stop_threads = threading.Event()
    counters = [ctx.Array("i", 2) for _ in range(READERS_PER_KIND)]  # processes: shared
    counters += [[0, 0] for _ in range(READERS_PER_KIND)]             # threads: plain lists
    out = ctx.Queue()
    processes = [ctx.Process(target=process_reader, args=(store_url, stop_processes, c, out),
                             daemon=True) for c in counters[:READERS_PER_KIND]]
    results: list = []

    def thread_reader(counts) -> None:
        results.append(read_until(store_url, stop_threads.is_set, counts))

    threads = [threading.Thread(target=thread_reader, args=(c,), daemon=True)
               for c in counters[READERS_PER_KIND:]]

    def read_again(readers: list | None = None, timeout: float = 300) -> None:
        """Wait until every reader (of ``readers``; default: all) has done a read begun after
        now."""
        readers = counters if readers is None else readers
        begun = [c[0] for c in readers]
        deadline = time.monotonic() + timeout
        while any(c[1] <= b for c, b in zip(readers, begun)):
            if time.monotonic() > deadline:
                raise AssertionError(f"the readers did not read: {[list(c) for c in counters]}")
            time.sleep(0.005)

    for p in processes:
        p.start()
    for t in threads:
        t.start()
    writer = Store(store_url)
    first, last = YEARS[1], YEARS[2]
    try:
        read_again(counters[READERS_PER_KIND:])           # the threads are reading
        build_year(writer, first, **BOOT)                 # replaces the 2024 draft
        read_again()                                      # the processes are up and reading
        draft = writer.release(last, "draft")             # re-save the 2025 draft: all rows
        writer.save_draft(last, settings=draft["settings"], provenance=draft["provenance"],
                          fits=writer.release_fits(draft["id"]),
                          scores=writer.release_scores(draft["id"]), issues=draft["issues"],
                          maturity=draft["maturity"], grades=draft["grades"])
        read_again()
        writer.publish(first, by="writer")
        read_again()
        writer.publish(last, by="writer")
        read_again()
    finally:
        stop_threads.set()
        stop_processes.set()
        for t in threads:
            t.join(120)
        collected = [out.get(timeout=120) for _ in processes]
        for p in processes:
            p.join(60)
    final = Query(writer)
    assert final.published_years() == YEARS
    expected_ranking = {y: frame_hash(final.ranking(y, INDUSTRY)) for y in YEARS}
    published_ids = {y: int(writer.release(y)["id"]) for y in YEARS}
    writer.close()

    seen: set = set()
    for observations, errors in collected + results:
        assert not errors, errors[:3]
        seen |= observations
    states = {obs[0] for obs in seen}
    # every state between two of the writer's transactions was seen, and nothing else
    assert states == {tuple(YEARS[:k]) for k in range(1, len(YEARS) + 1)}, states
    for years, per_year, (newest, ranking), verified in seen:
        assert verified, years
        for year, ids, rows, digest in per_year:
            assert ids == (published_ids[year],), (year, ids)
            assert (rows, digest) == template.expected[year], f"{year}: a partial or wrong release"
        assert newest == years[-1] and ranking == expected_ranking[newest], years


def test_a_query_is_one_snapshot_while_a_release_is_published(store_url):
    """A Query read before a publication keeps showing the releases it first saw — its years,
    rankings, scores and the drivers of a year all agree — and a new Query shows the new one."""
    store = Store(store_url)
    store.upgrade()
    try:
        year = YEARS[1]
        old = Query(store)
        assert old.published_years() == [BASE]
        before = frame_hash(old.ranking(BASE, INDUSTRY))
        store.publish(year, by="writer")
        # the old Query: the same releases as before, in every view
        assert old.published_years() == [BASE] and old.industry_years(INDUSTRY) == [BASE]
        assert frame_hash(old.ranking(BASE, INDUSTRY)) == before
        assert old.ranking(year, INDUSTRY).empty
        assert old.drivers(year, INDUSTRY) is None
        # a new one: the new release, whole
        new = Query(store)
        assert new.published_years() == [BASE, year]
        assert new.drivers(year, INDUSTRY)["impacts"]
        assert [y for y, _ in new.published_releases()] == [BASE, year]
    finally:
        store.close()
