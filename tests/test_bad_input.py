"""The bad-input corpus (issue "Reliability under bad input, faults and concurrent use", point 1).

Every file of ``tests/data/bad/`` (written by ``make_corpus.py`` there) goes through the real CLI
(``ncsi.cli.app``) against a copy of one prepared SQLite store — the brand registry, the
revenues, and 2024 built and published — as ``MANIFEST.yaml`` says:

- ``refused``: exit code 1, no traceback, exactly one English and one Chinese error line, each
  holding the manifest's fragments (the file and row/column or line/construct, and what to do),
  and ``Store.snapshot()`` unchanged — nothing half-written;
- ``accepted``: exit code 0, the fragments in the output, and the wave stored with every row;
- ``reported_at_build``: accepted at ingest, then the year's build leaves the industry out of the
  draft with an issue holding the fragments in ``message`` and ``message_zh``.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from ncsi.cli import app
from ncsi.ingest import ingest_file, read_survey_file
from ncsi.registry import read_brands_file, read_revenue_file
from ncsi.release import build_year, publish_year
from ncsi.store import Store

BAD = Path(__file__).parent / "data" / "bad"
FIXTURE = BAD / "fixture"
MANIFEST = yaml.safe_load((BAD / "MANIFEST.yaml").read_text(encoding="utf-8"))
CJK = re.compile(r"[\u4e00-\u9fff]")
runner = CliRunner()


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Path, dict]:
    """The prepared store (a SQLite file) and its snapshot."""
    db = tmp_path_factory.mktemp("bad-input") / "template.db"
    store = Store(f"sqlite:///{db}")
    store.upgrade()
    store.load_brands(read_brands_file(FIXTURE / "brands.csv"), source="brands.csv")
    store.load_revenue(read_revenue_file(FIXTURE / "revenue.csv"), source="revenue.csv")
    ingest_file(FIXTURE / "ncsi-food-2024.csv", "ncsi-food", 2024, store)
    build_year(store, 2024, n_boot=0, permutations=0)
    publish_year(store, 2024)
    snapshot = store.snapshot()
    store.engine.dispose()
    return db, snapshot


def _args(command: list[str], file: Path, tmp: Path) -> list[str]:
    return [a.format(file=file, fixture=FIXTURE, tmp=tmp) for a in command]


def _invoke(args: list[str], url: str):
    result = runner.invoke(app, args, env={"NCSI_DATABASE_URL": url})
    assert "Traceback" not in result.output, result.output
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def _has(text: str, fragments: list[str], what: str) -> None:
    missing = [f for f in fragments if f not in text]
    assert not missing, f"{what} lacks {missing}:\n{text}"


def test_the_corpus_is_complete():
    """At least 30 files, every one listed once, every listed one present, the whole < 1 MB."""
    listed = [c["file"] for c in MANIFEST]
    assert len(listed) == len(set(listed)) >= 30
    present = {p.name for p in BAD.iterdir() if p.is_file()} - {"MANIFEST.yaml", "make_corpus.py"}
    assert present == set(listed)
    assert sum(p.stat().st_size for p in BAD.rglob("*") if p.is_file()) < 1_000_000
    for c in MANIFEST:
        assert c["outcome"] in ("refused", "accepted", "reported_at_build"), c
        assert c["en"] and c["zh"], c
        assert (c["exit"] != 0) == (c["outcome"] == "refused"), c
        assert c["outcome"] == "refused" or c.get("note"), f"{c['file']}: say why it is accepted"


@pytest.mark.parametrize("case", MANIFEST, ids=[c["file"] for c in MANIFEST])
def test_bad_input(case, template, tmp_path):
    db = tmp_path / "ncsi.db"
    shutil.copy(template[0], db)
    url = f"sqlite:///{db}"
    store = Store(url)
    before = store.snapshot()
    assert before == template[1]
    file = BAD / case["file"]
    result = _invoke(_args(case["command"], file, tmp_path), url)
    out = result.output
    after = store.snapshot()

    if case["outcome"] == "refused":
        assert result.exit_code == case["exit"] != 0, out
        errors = [ln[len("error: "):] for ln in out.splitlines() if ln.startswith("error: ")]
        assert len(errors) == 2, f"one English and one Chinese line expected:\n{out}"
        en, zh = errors
        _has(en, case["en"], "the English message")
        _has(zh, case["zh"], "the Chinese message")
        assert CJK.search(zh), zh
        changed = [t for t in before if before[t] != after[t]]
        assert not changed, f"refused, yet tables {changed} changed"
        return

    assert result.exit_code == 0, out
    waves = store.waves()
    assert len(waves) == 2, waves                         # the published 2024 wave and this one
    stored = store.responses(2025, valid_only=False)
    assert len(stored) == len(read_survey_file(file))     # every row, nothing dropped
    if case["outcome"] == "accepted":
        _has(out, case["en"] + case["zh"], "the output")
        for column, values in (case.get("stored") or {}).items():
            assert sorted(set(stored[column])) == sorted(values)
    else:
        # reported_at_build: the build runs, leaves the industry out of the draft (the others
        # in) and says why in both languages
        build = _invoke(_args(case["then"], file, tmp_path), url)
        assert build.exit_code == 0, build.output
        issues = store.release(2025, status="draft")["issues"]
        hits = [i for i in issues if all(f in i.get("message", "") for f in case["en"])
                and all(f in (i.get("message_zh") or "") for f in case["zh"])]
        assert hits, issues
        industry = hits[0]["industry"]
        assert f"failed: {industry}" in build.output and ", 1 failed," in build.output
        after = store.snapshot()
    # what was there before is still there, unchanged (the published 2024 release above all)
    for table, rows in before.items():
        missing = [r for r in rows if r not in after[table]]
        assert not missing, f"{table}: rows changed or gone: {missing[:2]}"
    assert store.verify_release(store.release(2024)["id"])
