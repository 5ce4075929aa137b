# NCSI — the two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SEED   ?= 2025
PORT   ?= 8501

.PHONY: install demo demo-no-serve test clean

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

test: install
	$(BIN)/python -m pytest -q

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
bench: install $(PLSPM_VENV)/.installed
	$(BIN)/python benchmarks/bench.py
