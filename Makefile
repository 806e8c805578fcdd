# Two commands: `make run` runs the main job, `make test` runs the test suite.
# Both create .venv on first use and reuse it afterwards.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[experiments]"
	touch $@

$(STAMP_DEV): $(BIN)/python pyproject.toml plugins/hybridopt-randomsearch/pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev]" -e plugins/hybridopt-randomsearch
	touch $@ $(STAMP_RUN)

run: $(STAMP_RUN)
	$(BIN)/hybridopt run experiments/quickstart.toml

test: $(STAMP_DEV)
	$(BIN)/python -m pytest -q

lint: $(STAMP_DEV)
	$(BIN)/ruff check hybridopt tests plugins benchmarks docs/gen_strategies.py
	$(BIN)/ruff format --check hybridopt tests plugins benchmarks docs/gen_strategies.py
	$(BIN)/mypy

bench: $(STAMP_DEV)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) results
