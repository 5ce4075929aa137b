"""``python -m tests.fault_cli ARGS…`` runs ``ncsi ARGS…`` (the real command line, in a process
of its own) with a probe on every database event, for the fault-injection tests
(tests/test_faults.py).

The probe numbers the events of the process — each SQL statement sent to the driver
(``before_cursor_execute``; on SQLite ``BEGIN`` is one), each COMMIT (the ``commit`` event fires
just *before* the driver's commit) and each return of a connection to the pool (``checkin``,
i.e. after a transaction ended) — and, set through the environment:

* ``NCSI_FAULT_TRACE=PATH``: appends ``index<TAB>kind<TAB>statement`` for every event to PATH
  (flushed at once, so the trace survives a kill);
* ``NCSI_FAULT_STOP=N`` and ``NCSI_FAULT_MARKER=PATH``: at event N, writes PATH and then sleeps
  until it is killed — the test SIGKILLs the process there, at a known point of the write;
* ``NCSI_FAULT_INSERT_CHUNK=ROWS``: the store inserts responses in batches of ROWS (instead of
  20,000), so that a small survey file is written in several batches and can be killed between
  them.

Nothing else changes: the command's own code, transactions and store are the real ones.
"""

from __future__ import annotations

import itertools
import os
import sys
import time


def install() -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import Pool

    trace = os.environ.get("NCSI_FAULT_TRACE")
    stop = int(os.environ.get("NCSI_FAULT_STOP", "-1"))
    marker = os.environ.get("NCSI_FAULT_MARKER")
    chunk = os.environ.get("NCSI_FAULT_INSERT_CHUNK")
    if chunk:
        from ncsi.store import store as store_module

        store_module.INSERT_CHUNK = int(chunk)
    counter = itertools.count()

    def seen(kind: str, detail: str) -> None:
        index = next(counter)
        if trace:
            with open(trace, "a", encoding="utf-8") as f:
                f.write(f"{index}\t{kind}\t{' '.join(detail.split())[:120]}\n")
        if index == stop:
            if marker:
                with open(marker, "w", encoding="utf-8") as f:
                    f.write(f"{index}\t{kind}\t{detail[:120]}\n")
            while True:  # wait here for SIGKILL
                time.sleep(60)

    @event.listens_for(Engine, "before_cursor_execute")
    def _statement(conn, cursor, statement, parameters, context, executemany):
        seen("sql", statement)

    @event.listens_for(Engine, "commit")
    def _commit(conn):
        seen("commit", "")

    @event.listens_for(Pool, "checkin")
    def _checkin(dbapi_connection, record):
        seen("checkin", "")


def main() -> None:
    install()
    from ncsi.cli import app

    app(args=sys.argv[1:], prog_name="ncsi")


if __name__ == "__main__":
    main()
