"""Fault injection: an exception, or a killed process, at any step of ingest, build and publish
leaves no partial rows and no half-published release, and the next command resumes from there.

The store is real (SQLite files and PostgreSQL databases, tests/pg.py) and so is the pipeline: a
small generated survey (2 industries in 2 sectors, 2024–2025) where 2024 is published and 2025
has a draft built from one of its two survey files; the faults hit

* ingest  — ``ncsi.ingest.ingest_file`` → ``Store.add_wave`` of the other 2025 file (written in
  batches of 100 rows, so a fault can fall between batches),
* build   — ``ncsi.release.build_year`` → ``Store.save_draft`` of 2025 (replacing the draft),
* publish — ``Store.publish`` of the 2025 draft.

Two kinds of fault:

1. an exception raised at every database event of the write in turn — before each SQL
   statement and at the COMMIT — of three kinds (a bug: RuntimeError; Ctrl-C: KeyboardInterrupt;
   a database failure: SQLAlchemy's OperationalError, which the store reports as a StoreError
   saying nothing was written — or, for a read, to try again). After each, the store equals
   its snapshot from before; the loop ends when the operation runs through without reaching
   the fault — the resume;
2. the real ``ncsi ingest|build|publish`` in a subprocess (tests/fault_cli.py) SIGKILLed while it
   waits at a chosen database event: the first, middle and last write (and the transaction's
   first statement when it writes once), the COMMIT (just before the driver commits) and the
   first event after it. Afterwards the store is the old state exactly (killed up to the
   COMMIT) or the complete new state (killed after it), compared with what an unkilled run
   leaves; an SQLite file recovers from its rollback journal, and from its write-ahead log in
   WAL mode. The next command works: the same command again completes the job, or is refused
   with a clear message when the job was already done.

On PostgreSQL the responses are written with COPY on the driver's own cursor, which the probe
does not see: the faults fall before and after the COPY batches (inside the same transaction).
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import DateTime, Integer, event, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from ncsi.cli import app
from ncsi.errors import StoreError
from ncsi.store import Store
from ncsi.store import store as store_module
from ncsi.store.models import Base
from ncsi.store.store import _canonical, _content_sha256
from tests.pg import BACKENDS, scoped_postgres_url

ROOT = Path(__file__).resolve().parents[1]
YEARS = [2024, 2025]
INDUSTRIES = ["liquid_milk", "sportswear"]  # food and apparel: two survey files a year
TARGET_SURVEY, YEAR = "ncsi-food", 2025        # the file ingested under fault
BOOT = dict(n_boot=50, seed=7, permutations=0)
BUILD_ARGS = ["--bootstrap", "0", "--seed", "7", "--permutations", "0"]  # fits only: fast
CHUNK = 100                                    # rows per insert batch while faults are injected
COMMANDS = {
    "ingest": lambda survey: ["ingest", str(target_file(survey)), "--survey", TARGET_SURVEY,
                              "--year", str(YEAR)],
    "build": lambda survey: ["build", "--year", str(YEAR), *BUILD_ARGS],
    "publish": lambda survey: ["publish", "--year", str(YEAR), "--by", "fault-test"],
}
#: What the same command says when its job was already done (the kill came after the COMMIT).
ALREADY_DONE = {"ingest": "already ingested", "publish": "already published", "build": None}


def target_file(survey: Path) -> Path:
    return survey / "responses" / str(YEAR) / f"{TARGET_SURVEY}.csv"


# --- the store states before each command ---------------------------------------------------------

@pytest.fixture(scope="module")
def survey(tmp_path_factory) -> Path:
    from ncsi.demo_data import generate

    out = tmp_path_factory.mktemp("fault-survey")
    generate(5, out, years=YEARS, industries=INDUSTRIES, scale=0.4)
    return out


@dataclass(frozen=True)
class States:
    """Store URLs of the state before each command: ``before["ingest"]`` (2024 published, the
    2025 draft built from the apparel file alone), ``before["build"]`` (+ the 2025 food file),
    ``before["publish"]`` (+ the 2025 draft rebuilt from both files). Used only as templates."""
    backend: str
    before: dict


def _prepare(store: Store, survey: Path) -> None:
    from ncsi.ingest import ingest_file
    from ncsi.instruments import list_questionnaires
    from ncsi.registry import read_brands_file, read_revenue_file
    from ncsi.release import build_year

    for q in list_questionnaires():
        store.register_survey(q)
    store.load_brands(read_brands_file(survey / "brands.csv"), source="brands.csv")
    store.load_revenue(read_revenue_file(survey / "revenue.csv"), source="revenue.csv")
    for f in sorted((survey / "responses").glob("*/*.csv")):
        if f != target_file(survey):
            ingest_file(f, f.stem, int(f.parent.name), store)
    build_year(store, 2024, **BOOT)
    store.publish(2024, by="lead")
    build_year(store, YEAR, **BOOT)  # the draft the rebuild will replace


@pytest.fixture(scope="module", params=BACKENDS)
def states(request, survey, tmp_path_factory) -> States:
    from ncsi.ingest import ingest_file
    from ncsi.release import build_year

    folder = tmp_path_factory.mktemp("fault-states")
    if request.param == "postgresql":
        urls = [scoped_postgres_url(request) for _ in range(3)]
    else:
        urls = [f"sqlite:///{folder / f'{name}.db'}" for name in COMMANDS]
    steps = [lambda s: _prepare(s, survey),
             lambda s: ingest_file(target_file(survey), TARGET_SURVEY, YEAR, s),
             lambda s: build_year(s, YEAR, **BOOT)]
    previous = None
    for url, step in zip(urls, steps):
        if previous is not None:
            _copy_into(previous, url)
        store = Store(url)
        store.upgrade()
        step(store)
        store.close()  # no connection left: PostgreSQL copies only unused template databases
        previous = url
    return States(request.param, dict(zip(COMMANDS, urls)))


def _copy_into(source: str, target: str) -> None:
    """Make the (empty) store ``target`` a copy of ``source`` (same backend)."""
    src, dst = make_url(source), make_url(target)
    if src.get_backend_name() == "sqlite":
        shutil.copy(src.database, dst.database)
        return
    import psycopg

    admin = dst.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{dst.database}"')
        conn.execute(f'CREATE DATABASE "{dst.database}" TEMPLATE "{src.database}"')


@pytest.fixture
def copy_of(states, tmp_path, request):
    """``copy_of(command)`` → the URL of a fresh copy of the state before ``command``."""
    counter = itertools.count()

    def make(command: str) -> str:
        source = states.before[command]
        if states.backend == "postgresql":
            new = request.getfixturevalue("postgres_databases")
            return new(template=make_url(source).database)
        db = tmp_path / f"copy-{next(counter)}.db"
        shutil.copy(make_url(source).database, db)
        return f"sqlite:///{db}"
    return make


# --- comparing states -----------------------------------------------------------------------------

def _volatile(table: str, column) -> bool:
    """Columns that differ between two runs doing the same thing: times, generated ids, and a
    draft's provenance (it records when it was built)."""
    if isinstance(column.type, DateTime):
        return True
    if isinstance(column.type, Integer) and (column.name == "id" or column.name.endswith("_id")):
        return True
    return (table, column.name) == ("releases", "provenance")


def content(store: Store) -> dict[str, list[tuple]]:
    """Every table's rows without the volatile columns, sorted: equal content = the same state
    up to times and ids."""
    out: dict[str, list[tuple]] = {}
    with store.engine.connect() as conn:
        for name in sorted(set(inspect(conn).get_table_names()) - {"alembic_version"}):
            table = Base.metadata.tables[name]
            columns = [c for c in table.columns if not _volatile(name, c)]
            out[name] = sorted((tuple(r) for r in conn.execute(select(*columns))),
                               key=_canonical)
    return out


def difference(a: dict, b: dict) -> str:
    """Where two content() dicts first differ (for assertion messages)."""
    for table in sorted(set(a) | set(b)):
        ra, rb = a.get(table, []), b.get(table, [])
        if ra == rb:
            continue
        if len(ra) != len(rb):
            return f"{table}: {len(ra)} rows against {len(rb)}"
        for x, y in zip(ra, rb):
            if x != y:
                diff = [(k, u, v) for k, (u, v) in enumerate(zip(x, y)) if u != v]
                return f"{table}: column(s) {[k for k, *_ in diff]} differ: {str(diff)[:1500]}"
    return "equal"


def check_complete(store: Store, command: str, survey: Path) -> None:
    """The job of ``command`` is wholly in the store (not just *a* new state)."""
    if command == "ingest":
        waves = store.waves(YEAR)
        wave = waves[waves["survey_id"] == TARGET_SURVEY]
        assert len(wave) == 1
        rows = sum(1 for _ in target_file(survey).open(encoding="utf-8")) - 1
        assert int(wave["n_rows"].iloc[0]) == rows
        stored = store.responses(YEAR, survey_id=TARGET_SURVEY, valid_only=False)
        assert len(stored) == rows and int(wave["n_valid"].iloc[0]) == (
            stored["status"] == "valid").sum()
    elif command == "build":
        draft = store.release(YEAR, "draft")
        assert draft is not None and store.release(YEAR) is None
        fits = store.release_fits(draft["id"])
        assert sorted(f["industry"] for f in fits) == INDUSTRIES
        assert all(f["status"] == "ok" for f in fits)
        scores = store.release_scores(draft["id"])
        assert set(scores.loc[scores["level"] == "industry", "code"]) == set(INDUSTRIES)
        assert set(scores["level"]) == {"brand", "industry", "sector", "nation"}
        waves = {w["survey_id"] for w in draft["provenance"]["waves"] if w["year"] == YEAR}
        assert TARGET_SURVEY in waves  # built from both files
    else:
        rel = store.release(YEAR)
        assert rel is not None and rel["published_by"] == "fault-test"
        assert store.release(YEAR, "draft") is None
        assert store.verify_release(rel["id"])


# --- 1. an exception at every database event of the write -----------------------------------------

class InjectedFault(RuntimeError):
    pass


FAULTS = ("bug", "interrupt", "database")


class Probe:
    """Raise a fault at event number ``at`` (statements before execution, and COMMITs) of
    ``engine`` while armed; ``fired`` tells whether it was reached."""

    def __init__(self, engine, at: int, kind: str, armed: bool = True):
        self.engine, self.at, self.kind, self.armed = engine, at, kind, armed
        self.seen = 0
        self.fired: str | None = None

    def _event(self, what: str) -> None:
        if not self.armed:
            return
        index, self.seen = self.seen, self.seen + 1
        if index != self.at:
            return
        self.fired = what
        if self.kind == "bug":
            raise InjectedFault(f"injected at event {index}: {what}")
        if self.kind == "interrupt":
            raise KeyboardInterrupt(f"injected at event {index}: {what}")
        raise OperationalError(what, {}, Exception("disk I/O error (injected)"))

    def _statement(self, conn, cursor, statement, parameters, context, executemany):
        self._event(" ".join(statement.split())[:80])

    def _commit(self, conn):
        self._event("COMMIT")

    def __enter__(self) -> Probe:
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "commit", self._commit)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "commit", self._commit)


def fail_at_every_event(store: Store, operation, *, arm=None) -> list[str]:
    """Run ``operation`` with a fault at event 0, 1, 2, … of its database work until it runs
    through without reaching the fault; after every fault the store must equal its snapshot
    from before. Returns the events a fault was injected at (statements, "COMMIT").
    ``arm(probe)`` may hold the counting back until the write begins (the probe starts
    disarmed)."""
    before = store.snapshot()
    fired: list[str] = []
    for at in itertools.count():
        kind = FAULTS[at % len(FAULTS)]
        with Probe(store.engine, at, kind, armed=arm is None) as probe:
            if arm is not None:
                arm(probe)
            try:
                operation()
            except InjectedFault:
                assert kind == "bug"
            except KeyboardInterrupt:
                assert kind == "interrupt"
            except StoreError as exc:
                assert kind == "database" and probe.fired, exc
                # a failed write says nothing was written; a failed read, to try again
                assert ("nothing was written" in str(exc) or "cannot read" in str(exc)) \
                    and exc.message_zh, exc
            else:
                assert probe.fired is None, f"the fault at event {at} was swallowed"
                return fired
        assert probe.fired, f"event {at}: failed without reaching the fault"
        fired.append(probe.fired)
        assert store.snapshot() == before, (
            f"a {kind} fault at event {at} ({probe.fired}) left the store changed")
    raise AssertionError("unreachable")


def test_an_exception_at_any_event_of_a_write_changes_nothing_and_the_rerun_completes(
        copy_of, survey, monkeypatch):
    from ncsi.ingest import ingest_file
    from ncsi.release import build_year

    store = Store(copy_of("ingest"))
    store.upgrade()
    try:
        # ingest: reading, checking, registering the questionnaire, then add_wave in batches
        monkeypatch.setattr(store_module, "INSERT_CHUNK", CHUNK)
        events = fail_at_every_event(
            store, lambda: ingest_file(target_file(survey), TARGET_SURVEY, YEAR, store))
        # the wave row, its responses in batches (SQLite: INSERTs; PostgreSQL: COPY, between
        # the wave row and its counts), the counts, the COMMIT
        assert [e.split(" (")[0].split(" ")[0] for e in events].count("COMMIT") >= 2
        for write in ("INSERT INTO waves", "UPDATE waves"):
            assert any(e.startswith(write) for e in events), (write, events)
        if store.engine.dialect.name == "sqlite":
            assert sum(e.startswith("INSERT INTO responses") for e in events) >= 4
        check_complete(store, "ingest", survey)

        # build: the fits run once; the faults hit save_draft, which replaces the old draft.
        # The first attempt is build_year itself; the later ones repeat its save_draft call.
        old_draft = store.release(YEAR, "draft")
        real_save = store.save_draft
        saved: dict = {}

        def arming_save(year, **kw):
            saved.update(year=year, kw=kw)
            probes[-1].armed = True
            return real_save(year, **kw)

        probes: list[Probe] = []
        monkeypatch.setattr(store, "save_draft", arming_save)

        def build():
            if saved:
                return store.save_draft(saved["year"], **saved["kw"])
            return build_year(store, YEAR, **BOOT)

        events = fail_at_every_event(store, build, arm=probes.append)
        for write in ("DELETE FROM scores", "DELETE FROM model_fits", "DELETE FROM releases",
                      "INSERT INTO releases", "INSERT INTO model_fits", "INSERT INTO scores",
                      "COMMIT"):
            assert any(e.startswith(write) for e in events), (write, events)
        monkeypatch.undo()
        new_draft = store.release(YEAR, "draft")
        assert new_draft["id"] != old_draft["id"]
        check_complete(store, "build", survey)
        build_year(store, YEAR, **BOOT)  # and build_year itself runs through again
        check_complete(store, "build", survey)

        # publish
        events = fail_at_every_event(store, lambda: store.publish(YEAR, by="fault-test"))
        for step in ("SELECT releases.id", "UPDATE releases", "COMMIT"):
            assert any(e.startswith(step) for e in events), (step, events)
        check_complete(store, "publish", survey)
    finally:
        store.close()


# --- 2. a killed process --------------------------------------------------------------------------

def run_cli(url: str, args: list[str], env: dict, trace: Path | None = None,
            stop: tuple[int, Path] | None = None) -> subprocess.Popen:
    """Start ``ncsi ARGS`` (through tests/fault_cli.py) on the store at ``url``."""
    env = dict(env, NCSI_DATABASE_URL=url, NCSI_FAULT_INSERT_CHUNK=str(CHUNK))
    if trace is not None:
        env["NCSI_FAULT_TRACE"] = str(trace)
    if stop is not None:
        env["NCSI_FAULT_STOP"], env["NCSI_FAULT_MARKER"] = str(stop[0]), str(stop[1])
    log = (stop[1] if stop else trace).with_suffix(".log")
    with log.open("w") as out:
        return subprocess.Popen([sys.executable, "-m", "tests.fault_cli", *args], cwd=ROOT,
                                env=env, stdout=out, stderr=subprocess.STDOUT)


def kill_points(trace: Path) -> tuple[list[int], int]:
    """Events to kill the command at — the first, middle and last write of its write
    transaction (and, when it has few writes, its first event), the COMMIT, the first event
    after it — and the COMMIT's index."""
    events = [line.split("\t", 2) for line in trace.read_text(encoding="utf-8").splitlines()]
    kinds = {int(i): (k, s) for i, k, s in events}
    writes = [i for i, (k, s) in kinds.items()
              if k == "sql" and s.split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE")]
    assert writes, f"no write in {trace}"
    commit = min(i for i, (k, _) in kinds.items() if k == "commit" and i > writes[-1])
    start = max(i for i, (k, _) in kinds.items()
                if i < writes[0] and k in ("checkin", "commit")) + 1
    assert all(i < commit for i in writes) and max(kinds) > commit
    points = {writes[0], writes[len(writes) // 2], writes[-1], commit, commit + 1}
    if len(points) < 5:  # few writes (publish: one UPDATE): also kill before the first
        points.add(start)
    return sorted(points), commit


def wait_for(proc: subprocess.Popen, marker: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if proc.poll() is not None:
            log = marker.with_suffix(".log").read_text(errors="replace")
            raise AssertionError(f"the command ended (exit {proc.returncode}) before the kill "
                                 f"point {marker.name}:\n{log[-3000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"kill point {marker.name} not reached in {timeout} s")
        time.sleep(0.02)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_killed_command_leaves_the_old_or_the_whole_new_state(
        command, states, copy_of, survey, tmp_path):
    kill_at_each_point(command, states, copy_of, survey, tmp_path)


@pytest.mark.parametrize("states", ["sqlite"], indirect=True)  # WAL is SQLite's
def test_a_killed_ingest_recovers_in_wal_mode_too(states, copy_of, survey, tmp_path):
    """The same on an SQLite file in write-ahead-log mode (a file may have been switched to it;
    the mode is stored in the file): a killed write leaves uncommitted frames in the -wal file,
    which the next reader ignores."""
    import sqlite3

    def wal_copy(command: str) -> str:
        url = copy_of(command)
        conn = sqlite3.connect(make_url(url).database)
        assert conn.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
        conn.close()
        return url

    kill_at_each_point("ingest", states, wal_copy, survey, tmp_path)


def kill_at_each_point(command: str, states: States, copy_of, survey: Path,
                       tmp_path: Path) -> None:
    args = COMMANDS[command](survey)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NCSI_")}
    env.update(PYTHONPATH=str(ROOT), NCSI_USER="fault-test", OPENBLAS_NUM_THREADS="1",
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")

    # an unkilled run: its trace gives the kill points, its store the complete new state
    reference_url = copy_of(command)
    store = Store(reference_url)
    old = store.snapshot()
    old_content = content(store)
    store.close()
    trace = tmp_path / "trace.txt"
    proc = run_cli(reference_url, args, env, trace=trace)
    assert proc.wait(300) == 0, trace.with_suffix(".log").read_text(errors="replace")
    store = Store(reference_url)
    new_content = content(store)
    check_complete(store, command, survey)
    reference = store.release(YEAR) if command == "publish" else None
    store.close()
    assert new_content != old_content
    points, commit = kill_points(trace)

    # the same command killed at each point, two or three at a time
    runs: list[tuple[int, str, subprocess.Popen, Path]] = []
    pending = list(points)
    while pending or any(p.poll() is None for _, _, p, _ in runs):
        active = [r for r in runs if r[2].poll() is None]
        while pending and len(active) < 3:
            point = pending.pop(0)
            url = copy_of(command)
            marker = tmp_path / f"stop-{point}.txt"
            proc = run_cli(url, args, env, stop=(point, marker))
            runs.append((point, url, proc, marker))
            active.append(runs[-1])
        for point, url, proc, marker in active:
            wait_for(proc, marker)
            proc.send_signal(signal.SIGKILL)
            proc.wait(60)
            assert proc.returncode == -signal.SIGKILL
    assert sorted(point for point, *_ in runs) == points

    runner = CliRunner()
    left_behind = []  # SQLite: a kill inside the write leaves a journal (or -wal) to recover
    for point, url, _proc, marker in runs:
        where = f"{command} killed at event {marker.read_text(encoding='utf-8').strip()}"
        if states.backend == "sqlite":
            db = make_url(url).database
            if any(Path(db + suffix).exists() and Path(db + suffix).stat().st_size
                   for suffix in ("-journal", "-wal")):
                left_behind.append(point)
        store = Store(url)
        try:
            if point <= commit:  # up to the COMMIT: nothing of it is there
                assert store.snapshot() == old, where
            else:                # after it: all of it
                now = content(store)
                assert now == new_content, (where, difference(now, new_content))
                check_complete(store, command, survey)
            # the next command: the same again completes the job, or says it is done
            result = runner.invoke(app, args, env={"NCSI_DATABASE_URL": url,
                                                   "NCSI_USER": "fault-test"})
            done = ALREADY_DONE[command] if point > commit else None
            if done:
                assert result.exit_code == 1 and done in result.output, (where, result.output)
            else:
                assert result.exit_code == 0, (where, result.output)
            now = content(store)
            assert now == new_content, (where, difference(now, new_content))
            check_complete(store, command, survey)
            if command == "publish":
                assert store.release(YEAR)["content_sha256"] == reference["content_sha256"]
            if states.backend == "sqlite":  # the rollback journal was played back and removed
                assert not Path(make_url(url).database + "-journal").exists(), where
        finally:
            store.close()
    if states.backend == "sqlite":  # the recovery was needed, not just a clean file reopened
        assert left_behind, "no kill left a journal behind"


def test_the_draft_content_hash_is_what_publishing_records(copy_of):
    """check_complete's publish check leans on verify_release: the hash it recomputes from the
    rows is the one publish stored (so a release published with rows missing would fail it)."""
    store = Store(copy_of("publish"))
    store.upgrade()
    try:
        draft = store.release(YEAR, "draft")
        with Session(store.engine) as session:
            expected = _content_sha256(session, draft["id"])
        rid = store.publish(YEAR, by="fault-test")
        assert rid == draft["id"] and store.release(YEAR)["content_sha256"] == expected
        assert store.verify_release(rid)
    finally:
        store.close()
