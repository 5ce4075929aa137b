"""Every kind of bad survey file fed to `ncsi ingest` (the real CLI, a real SQLite store that
already holds data): exit code 1, a one-line message naming the row and/or column, no traceback,
and the store's content unchanged — compared table by table, row by row."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ncsi.cli import app
from ncsi.store import Store

from .test_ingest import BAD_CELLS, GOOD, raw, write

runner = CliRunner()
DATA = Path(__file__).parent / "data" / "ingest"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """A store holding the brand registry and the good 2024 wave of ncsi-food."""
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'ncsi.db'}"
    env = {"NCSI_DATABASE_URL": url}
    assert runner.invoke(app, ["brands", str(DATA / "brands.csv")], env=env).exit_code == 0
    r = runner.invoke(app, ["ingest", str(GOOD), "--survey", "ncsi-food", "--year", "2024"],
                      env=env)
    assert r.exit_code == 0, r.output
    return url


def _refused(url: str, path: Path, year: int = 2025, survey: str = "ncsi-food") -> str:
    store = Store(url)
    before = store.snapshot()
    assert before["responses"], "the store must hold data for 'unchanged' to mean something"
    r = runner.invoke(app, ["ingest", str(path), "--survey", survey, "--year", str(year)],
                      env={"NCSI_DATABASE_URL": url})
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output and r.output.startswith("error: ")
    assert store.snapshot() == before
    store.close()
    return r.output


@pytest.mark.parametrize("mutate,row,column,text", BAD_CELLS)
def test_bad_cell_via_cli(loaded, tmp_path, mutate, row, column, text):
    out = _refused(loaded, write(mutate(raw()), tmp_path / "bad.csv"))
    assert f"row {row}" in out and f"column '{column}'" in out and text in out
    assert f"第 {row} 行" in out          # the Chinese line follows


def _file_cases():
    def empty(p):
        p.write_bytes(b"")
        return p

    def header_only(p):
        p.write_text(GOOD.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
        return p

    def semicolons(p):
        p.write_text(GOOD.read_text(encoding="utf-8").replace(",", ";"), encoding="utf-8")
        return p

    def missing_column(p):
        return write(raw().drop(columns=["weight"]), p)

    def constant_item(p):
        df = raw()
        df["IMAG2"] = "6"
        return write(df, p)

    def all_missing_item(p):
        df = raw()
        df["EXPE3"] = ""
        return write(df, p)

    def unnamed_column(p):
        df = raw()
        df.insert(0, "", [str(k) for k in range(len(df))])
        return write(df, p)

    return [
        (empty, None, None, "the file is empty"),
        (header_only, None, None, "no data rows"),
        (semicolons, 1, None, "separated by semicolons"),
        (missing_column, 1, "weight", "missing required column(s) weight"),
        (constant_item, None, "IMAG2", "in every answered row"),
        (all_missing_item, None, "EXPE3", "has no answer in any row"),
        (unnamed_column, 1, None, "has no name in the header row"),
    ]


@pytest.mark.parametrize("make,row,column,text", _file_cases(),
                         ids=[c[0].__name__ for c in _file_cases()])
def test_bad_file_via_cli(loaded, tmp_path, make, row, column, text):
    out = _refused(loaded, make(tmp_path / "bad.csv"))
    assert text in out, out
    if row is not None:
        assert f"row {row}" in out
    if column is not None:
        assert f"column '{column}'" in out


def test_wrong_survey_and_duplicate_wave_via_cli(loaded):
    out = _refused(loaded, GOOD, survey="ncsi-nosuch")
    assert "ncsi-nosuch" in out and "ncsi-food" in out          # names the known ids
    out = _refused(loaded, GOOD, year=2024)
    assert "already ingested" in out and "--replace" in out
    out = _refused(loaded, GOOD, survey="ncsi-apparel")
    assert "industry" in out and "row 2" in out
