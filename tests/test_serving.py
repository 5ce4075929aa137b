"""The one command line the dashboard is served with (ncsi.serving): every option it sets is an
option of the installed Streamlit (a renamed option would otherwise only fail when serving),
and `ncsi serve` runs exactly that command."""

from __future__ import annotations

import subprocess
import sys

import pytest
from streamlit import config as st_config
from typer.testing import CliRunner

from ncsi import serving
from ncsi.cli import app


def test_every_option_is_known_to_streamlit():
    known = st_config._config_options_template  # Streamlit's table of its options
    assert set(serving.STREAMLIT_OPTIONS) <= set(known)
    assert serving.STREAMLIT_OPTIONS["runner.postScriptGC"] == "false"


def test_command_line():
    cmd = serving.streamlit_command(8765, address="127.0.0.1")
    assert cmd[:4] == [sys.executable, "-m", "streamlit", "run"]
    assert cmd[4] == str(serving.dashboard_app()) and serving.dashboard_app().is_file()
    flags = dict(zip(cmd[5::2], cmd[6::2]))
    assert flags["--server.port"] == "8765" and flags["--server.address"] == "127.0.0.1"
    for option, value in serving.STREAMLIT_OPTIONS.items():
        assert flags[f"--{option}"] == value
    assert "--server.address" not in serving.streamlit_command(8765)  # all interfaces


def test_ncsi_serve_runs_that_command(monkeypatch, tmp_path):
    seen = {}

    def call(cmd, env):
        seen["cmd"], seen["url"] = cmd, env["NCSI_DATABASE_URL"]
        return 0

    url = f"sqlite:///{tmp_path / 'x.db'}"
    monkeypatch.setenv("NCSI_DATABASE_URL", url)
    monkeypatch.setattr(subprocess, "call", call)
    r = CliRunner().invoke(app, ["serve", "--port", "8766"])
    assert r.exit_code == 0, r.output
    assert seen["cmd"] == serving.streamlit_command(8766) and seen["url"] == url


def test_a_server_that_does_not_start_is_reported_with_its_log(tmp_path):
    log = tmp_path / "streamlit.log"
    with pytest.raises(RuntimeError, match="streamlit did not start") as err:
        with serving.served_on_loopback(f"sqlite:///{tmp_path / 'x.db'}", log,
                                        app=tmp_path / "no-such-app.py", start_timeout=60):
            pass
    assert str(log) in str(err.value) and log.read_text(encoding="utf-8").strip()
