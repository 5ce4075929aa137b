"""Every kind of bad survey file fed to `ncsi ingest` (the real CLI, a real SQLite store that
already holds data): exit code 1, a one-line message naming the row and/or column, no traceback,
and the store's content unchanged — compared table by table, row by row."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
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


# -- the store's side of large files: chunks in one transaction --------------------------------

def _wave_frames(tmp_path):
    """A store with the registry and questionnaire, and the good file's validated rows in
    chunks of 4 (rows 2–5, 6–9, 10–13)."""
    from ncsi.ingest import read_survey_file, validate
    from ncsi.instruments import load_questionnaire, load_taxonomy

    from .test_ingest import BRANDS
    store = Store(f"sqlite:///{tmp_path / 'chunks.db'}")
    store.upgrade()
    store.load_brands(BRANDS, source="brands.csv")
    q = load_questionnaire("ncsi-food")
    store.register_survey(q)
    wave = validate(read_survey_file(GOOD), q, load_taxonomy(), BRANDS, file=GOOD, year=2025)
    frames = [wave.responses.iloc[k:k + 4].reset_index(drop=True) for k in (0, 4, 8)]
    return store, wave, frames


def _add(store, wave, responses, **kwargs):
    return store.add_wave(survey_id="ncsi-food", survey_version=wave.survey_version, year=2025,
                          source_file="food_good.csv", source_sha256=wave.source_sha256,
                          responses=responses, report=wave.report, **kwargs)


def test_add_wave_in_chunks_equals_one_frame(tmp_path):
    store, wave, frames = _wave_frames(tmp_path)
    done: list[int] = []
    _add(store, wave, iter(frames), progress=done.append)
    assert done == [4, 8, 12]
    chunked = store.responses(2025, valid_only=False)
    waves = store.waves(2025)
    assert waves[["n_rows", "n_valid"]].values.tolist() == [[12, 10]]
    assert waves.loc[0, "report"] == wave.report
    _add(store, wave, wave.responses, replace=True)              # the same rows as one frame
    pd.testing.assert_frame_equal(store.responses(2025, valid_only=False), chunked)
    store.close()


def test_add_wave_refuses_a_bad_later_chunk_and_writes_nothing(tmp_path):
    from ncsi.errors import IngestError, StoreError
    store, wave, frames = _wave_frames(tmp_path)
    before = store.snapshot()
    bad = [f.copy() for f in frames]
    bad[2].loc[1, "status"] = "maybe"                            # data row 9 = row 11
    with pytest.raises(StoreError, match=r"row 11, column 'status'") as e:
        _add(store, wave, iter(bad))
    assert "maybe" in str(e.value) and e.value.message_zh
    assert store.snapshot() == before
    bad = [f.copy() for f in frames]
    bad[2].loc[3, "respondent_id"] = bad[0].loc[0, "respondent_id"]   # repeats row 2
    with pytest.raises(StoreError, match=r"a respondent_id in rows 10–13 repeats one of an "
                                         r"earlier row.*nothing was written"):
        _add(store, wave, iter(bad))
    assert store.snapshot() == before

    def broken():                                # a reader failing half-way through the file
        yield frames[0]
        yield frames[1]
        raise IngestError("row 10: unreadable", message_zh="第 10 行：无法读取")
    with pytest.raises(IngestError, match="unreadable"):
        _add(store, wave, broken())
    assert store.snapshot() == before
    assert not store.wave_exists("ncsi-food", 2025)
    store.close()


def test_cli_ingest_quiet_and_no_bar_without_a_terminal(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {"NCSI_DATABASE_URL": url}
    assert runner.invoke(app, ["brands", str(DATA / "brands.csv")], env=env).exit_code == 0
    r = runner.invoke(app, ["ingest", str(GOOD), "--survey", "ncsi-food", "--year", "2024",
                            "--quiet"], env=env)
    assert r.exit_code == 0, r.output
    assert r.output.startswith(f"{GOOD}: 12 rows stored as ncsi-food 2024")
    r = runner.invoke(app, ["ingest", str(GOOD), "--survey", "ncsi-food", "--year", "2025"],
                      env=env)                        # stderr is not a terminal: no bar either
    assert r.exit_code == 0, r.output
    assert "checking" not in r.output and "storing" not in r.output
    assert len(Store(url).responses(2025, valid_only=False)) == 12


def test_stage_bars_draw_one_bar_per_stage(monkeypatch):
    import io
    import sys

    from ncsi.cli import _StageBars
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    bars = _StageBars()
    for stage, done, total in [("check", 0, 100), ("check", 60, 100), ("check", 100, 100),
                               ("store", 0, 12), ("store", 12, 12)]:
        bars(stage, done, total)
        assert bars.stage == stage and bars.bar.pos == done
    bars.close()
    assert bars.bar is None
    text = err.getvalue()
    assert "checking / 校验" in text and "storing / 写入" in text


def test_large_file_path_on_every_backend(store_url, tmp_path):
    """Chunked ingest on SQLite and PostgreSQL: the rows stored are validate()'s, a bad last
    chunk changes nothing."""
    from ncsi.errors import IngestError
    from ncsi.ingest import ingest_file, read_survey_file, validate
    from ncsi.instruments import load_questionnaire, load_taxonomy

    from .test_ingest import BRANDS, tiled
    store = Store(store_url)
    store.upgrade()
    store.load_brands(BRANDS, source="brands.csv")
    path = write(tiled(3), tmp_path / "food.csv")
    wave = ingest_file(path, "ncsi-food", 2025, store, chunk_rows=5)
    got = store.responses(2025, valid_only=False).drop(columns="survey_id")
    got["age"] = got["age"].astype("float64")
    expected = validate(read_survey_file(path), load_questionnaire("ncsi-food"), load_taxonomy(),
                        BRANDS, file=path, year=2025)
    pd.testing.assert_frame_equal(got, expected.responses, check_dtype=False)
    assert wave.report == expected.report
    assert store.waves(2025)["report"].tolist() == [wave.report]
    before = store.snapshot()
    bad = tiled(3)
    bad.loc[35, "SAT3"] = "eleven"
    with pytest.raises(IngestError) as e:
        ingest_file(write(bad, tmp_path / "bad.csv"), "ncsi-food", 2024, store, chunk_rows=5)
    assert "row 37" in str(e.value) and "column 'SAT3'" in str(e.value)
    assert store.snapshot() == before
    store.close()
