"""Where independent tasks run: one process, a local process pool, or a Dask cluster.

The yearly release fits many estimation units (industries, or sectors under sector pooling) that
depend on nothing but their own data, the configuration and the release seed; :func:`run_tasks`
maps one picklable function over such tasks and returns the results **in task order**, so the
release assembled from them is the same whatever ran them:

- ``local``: in this process, one after the other (the default for a laptop);
- ``processes``: a :class:`concurrent.futures.ProcessPoolExecutor` of ``workers`` processes;
- ``dask``: a Dask distributed cluster — an existing one at ``scheduler`` (``tcp://host:8786``),
  or a local cluster of ``workers`` single-threaded worker processes started for the call.

Every random step inside a task draws from streams keyed by (seed, year, unit, resample), never
from the order or the place tasks run in, so all executors and worker counts give bit-identical
numbers (``tests/test_executors.py`` proves it for the release).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from .errors import NCSIError

__all__ = ["EXECUTORS", "Executor", "ExecutorError", "run_tasks"]

EXECUTORS = ("local", "processes", "dask")


class ExecutorError(NCSIError):
    """An executor that cannot be used as asked (unknown name, bad worker count, no cluster)."""


@dataclass(frozen=True)
class Executor:
    """How to run a release's independent tasks (see the module docstring)."""

    kind: str = "local"
    workers: int | None = None          # processes / local Dask workers (default: CPU count)
    scheduler: str | None = None        # an existing Dask scheduler's address

    def __post_init__(self):
        if self.kind not in EXECUTORS:
            raise ExecutorError(f"unknown executor {self.kind!r}; use one of "
                                f"{', '.join(EXECUTORS)}",
                                message_zh=f"未知的执行方式 {self.kind!r}；可选："
                                           f"{'、'.join(EXECUTORS)}")
        if self.workers is not None and (not isinstance(self.workers, int)
                                         or self.workers < 1):
            raise ExecutorError(f"workers must be a whole number ≥ 1, not {self.workers!r}",
                                message_zh=f"工作进程数必须是 ≥ 1 的整数，而不是 {self.workers!r}")
        if self.scheduler is not None and self.kind != "dask":
            raise ExecutorError("--scheduler is the address of a Dask scheduler; use it with "
                                "--executor dask",
                                message_zh="--scheduler 是 Dask 调度器地址，需与 --executor dask "
                                           "一起使用")

    @property
    def n_workers(self) -> int:
        return self.workers or max(1, os.cpu_count() or 1)

    def describe(self) -> dict:
        """What the release records of how it was computed (not part of its numbers)."""
        return {"executor": self.kind, "workers": 1 if self.kind == "local" else self.n_workers,
                "scheduler": self.scheduler}


def run_tasks(func: Callable[..., Any], tasks: Sequence[tuple], executor: Executor | None = None,
              *, on_result: Callable[[int, Any], None] | None = None) -> list:
    """``[func(*task) for task in tasks]``, computed by ``executor``, in task order.
    ``on_result(k, result)`` is called as each result arrives (progress), in any order."""
    ex = executor or Executor()
    if ex.kind == "local" or len(tasks) <= 1 and ex.kind != "dask":
        out = []
        for k, task in enumerate(tasks):
            out.append(func(*task))
            if on_result:
                on_result(k, out[-1])
        return out
    if ex.kind == "processes":
        return _processes(func, tasks, ex.n_workers, on_result)
    return _dask(func, tasks, ex, on_result)


def _processes(func, tasks, workers, on_result) -> list:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    out: list = [None] * len(tasks)
    # "spawn": workers start clean (no copied locks or open store connections)
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)),
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(func, *task): k for k, task in enumerate(tasks)}
        for fut in as_completed(futures):
            k = futures[fut]
            out[k] = fut.result()
            if on_result:
                on_result(k, out[k])
    return out


def _dask(func, tasks, ex: Executor, on_result) -> list:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:      # pragma: no cover - a dependency of the package
        raise ExecutorError("the Dask executor needs the 'distributed' package "
                            "(pip install 'dask[distributed]')",
                            message_zh="Dask 执行方式需要安装 distributed 包") from exc
    cluster = None
    try:
        if ex.scheduler:
            try:
                client = Client(ex.scheduler, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise ExecutorError(
                    f"cannot reach the Dask scheduler at {ex.scheduler} ({exc}); check the "
                    f"address and that the scheduler runs",
                    message_zh=f"无法连接 Dask 调度器 {ex.scheduler}；请检查地址及调度器是否运行"
                ) from exc
        else:
            cluster = LocalCluster(n_workers=ex.n_workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=40)
            client = Client(cluster)
        try:
            run = uuid.uuid4().hex[:12]
            futures = [client.submit(func, *task, pure=False, key=f"ncsi-{run}-{k}")
                       for k, task in enumerate(tasks)]
            index = {f.key: k for k, f in enumerate(futures)}
            out: list = [None] * len(tasks)
            for fut in as_completed(futures):
                k = index[fut.key]
                out[k] = fut.result()
                if on_result:
                    on_result(k, out[k])
                fut.release()
            return out
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()
