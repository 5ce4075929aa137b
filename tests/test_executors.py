"""Executors: the yearly release is bit-identical whether its industries are fitted in this
process, in a local process pool, or on a Dask cluster (a local one with two workers), and
whatever the number of workers — every random stream is keyed by (seed, year, industry,
resample), never by where or in which order a task ran."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ncsi.executors import Executor, ExecutorError, run_tasks

INDUSTRIES = ["liquid_milk", "edible_oil", "sportswear", "residential"]


def _square(x: int) -> int:
    return x * x


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    from ncsi.demo_data import generate
    out = tmp_path_factory.mktemp("executors")
    generate(5, out, years=[2024, 2025], industries=INDUSTRIES, scale=0.5)
    return out


def _build(survey, tmp_path, name: str, executor: Executor):
    from ncsi.demo import load_survey_folder
    from ncsi.release import build_year
    from ncsi.store import Store
    store = Store(f"sqlite:///{tmp_path / (name + '.db')}")
    store.upgrade()
    load_survey_folder(store, survey)
    build_year(store, 2024, n_boot=60, seed=3, permutations=0, executor=Executor())
    summary = build_year(store, 2025, n_boot=60, seed=3, permutations=40, executor=executor)
    rel = store.release(2025, status="draft")
    fits = sorted(store.release_fits(rel["id"]), key=lambda f: f["industry"])
    scores = summary.scores.sort_values(["level", "code", "construct"]).reset_index(drop=True)
    return scores, json.dumps(fits, sort_keys=True, default=str)


def test_the_release_is_bit_identical_on_every_executor(survey, tmp_path):
    ref_scores, ref_fits = _build(survey, tmp_path, "local", Executor("local"))
    assert len(ref_scores) > 100 and '"invariance"' in ref_fits
    for name, ex in [("processes-2", Executor("processes", workers=2)),
                     ("dask-2", Executor("dask", workers=2)),
                     ("dask-1", Executor("dask", workers=1))]:
        scores, fits = _build(survey, tmp_path, name, ex)
        # bit-identical: every number, every interval, every stored fit (exact equality)
        pd.testing.assert_frame_equal(scores, ref_scores, check_exact=True, obj=name)
        assert fits == ref_fits, name


def test_results_come_back_in_task_order():
    tasks = [(k,) for k in range(7)]
    seen = []
    out = run_tasks(_square, tasks, Executor("processes", workers=2),
                    on_result=lambda k, r: seen.append(k))
    assert out == [k * k for k in range(7)] and sorted(seen) == list(range(7))


def test_bad_executor_settings_are_refused_with_the_fix():
    with pytest.raises(ExecutorError, match="unknown executor 'threads'"):
        Executor("threads")
    with pytest.raises(ExecutorError, match="workers must be a whole number"):
        Executor("processes", workers=0)
    with pytest.raises(ExecutorError, match="use it with --executor dask"):
        Executor("processes", scheduler="tcp://127.0.0.1:8786")


def test_an_unreachable_scheduler_is_named():
    with pytest.raises(ExecutorError, match="cannot reach the Dask scheduler at "
                                            "tcp://127.0.0.1:9"):
        run_tasks(_square, [(1,), (2,)], Executor("dask", scheduler="tcp://127.0.0.1:9"))


def test_an_existing_cluster_is_used_through_its_address():
    from distributed import LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        out = run_tasks(_square, [(k,) for k in range(5)],
                        Executor("dask", scheduler=cluster.scheduler_address))
    assert out == [0, 1, 4, 9, 16]
    assert np.array_equal(out, [k * k for k in range(5)])


def test_the_build_command_runs_on_a_process_pool_and_refuses_an_unknown_executor(
        survey, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from ncsi.cli import app
    from ncsi.demo import load_survey_folder
    from ncsi.store import Store
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("NCSI_DATABASE_URL", url)
    store = Store(url)
    store.upgrade()
    load_survey_folder(store, survey)
    runner = CliRunner()
    bad = runner.invoke(app, ["build", "--year", "2025", "--executor", "threads"])
    assert bad.exit_code != 0 and "unknown executor 'threads'" in bad.output
    assert store.release(2025, status="draft") is None          # nothing was written
    ok = runner.invoke(app, ["build", "--year", "2025", "--bootstrap", "50", "--seed", "1",
                             "--permutations", "0", "--executor", "processes",
                             "--workers", "2"])
    assert ok.exit_code == 0, ok.output
    assert "estimated (4/4)" in ok.output
    assert store.release(2025, status="draft") is not None
