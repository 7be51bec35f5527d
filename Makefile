PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: run test lint bench screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(STAMP_RUN)

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,dev]'
	touch $@ $(STAMP_TEST) $(STAMP_RUN)

# compiled here (only what changed), so runs start fast even where PYTHONDONTWRITEBYTECODE is set
COMPILE = $(BIN)/python -m compileall -q scenarios tui > /dev/null

run: $(STAMP_RUN)
	$(COMPILE)
	$(BIN)/statelab $(ARGS)

test: $(STAMP_TEST)
	$(COMPILE)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP_DEV)
	$(BIN)/ruff check scenarios tui tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

# BEFORE=DIR: an earlier checkout (git worktree add DIR REV), timed in the same rounds
bench: $(STAMP_TEST)
	$(COMPILE)
	$(if $(BEFORE),$(BIN)/python -m compileall -q $(BEFORE)/scenarios $(BEFORE)/tui > /dev/null)
	$(BIN)/python benchmarks/bench_engine.py $(if $(BEFORE),--before $(BEFORE))
	$(BIN)/python benchmarks/bench_app_startup.py $(if $(BEFORE),--before $(BEFORE))
	$(BIN)/python benchmarks/bench_app_idle.py
	$(BIN)/python benchmarks/bench_sampler.py
	$(BIN)/python benchmarks/bench_race.py
	$(BIN)/python benchmarks/bench_runner_memory.py
	$(BIN)/python benchmarks/bench_slow_reader.py
	$(BIN)/python benchmarks/bench_app_flood.py

# the README's pictures (docs/images/*.svg), made by the app from real runs: run it alone
screenshots: $(STAMP_TEST)
	$(COMPILE)
	$(BIN)/python -m tui.screenshots

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
