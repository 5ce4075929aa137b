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
    run. With the published data held in memory (the cached Query and its frames) that costs
    about 0.4 s of CPU per page view on a 2-core host — after the page has been sent, competing
    with the browser that is drawing it (``benchmarks/dashboard.py`` measures the page with
    these options). Python's own generational collector still runs as usual.
"""

from __future__ import annotations

import sys
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
