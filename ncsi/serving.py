"""How the dashboard is served: one ``streamlit run`` command line, used by ``ncsi serve``,
``ncsi demo``, the browser tests and the dashboard benchmark, so that what is measured and
tested is what is served.

The Streamlit options and why:

``server.headless`` / ``browser.gatherUsageStats``
    A server: no browser opened on the host, nothing sent to Streamlit's usage statistics.
``client.toolbarMode = viewer``
    Visitors get the viewer's menu, not the developer's (rerun, clear cache, settings).
``server.fileWatcherType = none``
    A served dashboard does not reload its code when files change.
``runner.postScriptGC = false``
    Streamlit otherwise runs a full garbage collection (``gc.collect(2)``) after every script
    run. With the published data held in memory (the cached Query and its frames) that cost
    about 0.4 s of CPU per page view on a 2-core host (py-spy on the demo store, 2026-12-03) —
    after the page has been sent, competing with the browser that is drawing it
    (``benchmarks/dashboard.py`` measures the page with these options). Python's own generational collector still runs as usual.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from . import config

#: the Streamlit options every served dashboard runs with (see the module docstring)
STREAMLIT_OPTIONS: dict[str, str] = {
    "server.headless": "true",
    "browser.gatherUsageStats": "false",
    "client.toolbarMode": "viewer",
    "server.fileWatcherType": "none",
    "runner.postScriptGC": "false",
}


def dashboard_app() -> Path:
    """The dashboard's entry script (``dashboards/app.py`` under the NCSI home)."""
    return config.home() / "dashboards" / "app.py"


def streamlit_command(port: int, *, address: str | None = None,
                      app: Path | None = None) -> list[str]:
    """The ``python -m streamlit run`` command line serving ``app`` (default: the dashboard)
    on ``port`` (and only on ``address`` when given, e.g. ``127.0.0.1``)."""
    cmd = [sys.executable, "-m", "streamlit", "run", str(app or dashboard_app()),
           "--server.port", str(int(port))]
    if address:
        cmd += ["--server.address", address]
    for option, value in STREAMLIT_OPTIONS.items():
        cmd += [f"--{option}", value]
    return cmd


def free_loopback_port() -> int:
    """A TCP port free on 127.0.0.1 at the moment of asking."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def served_on_loopback(url: str, log: Path, *, app: Path | None = None,
                       start_timeout: float = 90.0) -> Iterator[str]:
    """Serve ``app`` (default: the dashboard) on the store ``url`` with
    :func:`streamlit_command` on a free loopback port, its output written to ``log``; yields
    the base address once Streamlit's health check answers, and stops the server afterwards.
    Used by the browser test and the dashboard benchmark."""
    port = free_loopback_port()
    env = dict(os.environ, NCSI_DATABASE_URL=url, PYTHONUNBUFFERED="1")
    base = f"http://127.0.0.1:{port}"
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(streamlit_command(port, address="127.0.0.1", app=app),
                                cwd=config.home(), env=env, stdout=out,
                                stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + start_timeout
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not start within {start_timeout:.0f} s; "
                                       f"see {log}")
                time.sleep(0.3)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
