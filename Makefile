# NCSI — the two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SEED   ?= 2025
PORT   ?= 8501

.PHONY: install demo demo-no-serve test browser postgres clean

# A virtual environment with the package (editable) and its dev tools.
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $@

install: $(BIN)/.installed

# Demo survey → ingest → fit every industry and year → publish → serve the dashboard.
demo: install
	$(BIN)/ncsi demo --seed $(SEED) --port $(PORT)

# The same without serving (scripts, CI smoke runs).
demo-no-serve: install
	$(BIN)/ncsi demo --seed $(SEED) --no-serve

test: install browser postgres
	$(BIN)/python -m pytest -q

# The browser tests drive Debian's Chromium (with CJK fonts for the Chinese pages) through
# Playwright; install them when missing (as root, or through sudo when available).
browser:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "noto sans cjk"; then \
	  SUDO=; if [ "$$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-noto-cjk \
	    || echo "could not install chromium: the browser tests will be skipped"; \
	fi

# The store and release tests also run against a throwaway PostgreSQL server (tests/pg.py starts
# one on 127.0.0.1 from Debian's server binaries); install them when missing. Without them those
# tests are skipped, with the reason in pytest's summary.
postgres:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  SUDO=; if [ "$$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql \
	    || echo "could not install postgresql: the PostgreSQL tests will be skipped"; \
	fi

clean:
	rm -rf $(VENV) data .pytest_cache

# Benchmark ncsi.pls against plspm 0.5.7 (in its own throwaway venv) → benchmarks/results.md.
PLSPM_VENV := .bench/plspm-venv

$(PLSPM_VENV)/.installed: benchmarks/plspm-requirements.txt
	rm -rf $(PLSPM_VENV)
	$(PYTHON) -m venv $(PLSPM_VENV)
	$(PLSPM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r benchmarks/plspm-requirements.txt
	touch $@

.PHONY: bench
bench: install postgres browser $(PLSPM_VENV)/.installed
	$(BIN)/python benchmarks/bench.py
	$(BIN)/python benchmarks/production.py
	test -f data/ncsi-demo.db || $(BIN)/ncsi demo --seed $(SEED) --no-serve
	$(BIN)/python benchmarks/dashboard.py
