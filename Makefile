# customer-mdm tasks. `make demo` and `make test` are the README's quick start.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: setup preflight demo test test-fast lint typecheck bench bench-growth check clean

setup: $(INSTALLED)

# Pinned: constraints.txt is the lock file (regenerate with `make lock`).
$(INSTALLED): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev,bench]"
	touch $(INSTALLED)

demo: setup
	$(BIN)/mdm demo

# First what the tests need beyond Python: Chromium and PostgreSQL (scripts/preflight.py brings
# them, or stops with one line naming what is missing and how to install it).
preflight:
	$(PYTHON) scripts/preflight.py

test: preflight setup
	$(BIN)/python -m pytest -n 2 -q

test-fast: setup
	$(BIN)/python -m pytest -n 2 -q -m "not postgres and not slow and not browser"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports  # the layers of .importlinter

typecheck: setup
	$(BIN)/mypy mdm flows expectations warehouse bench web

bench: setup
	$(BIN)/python -m bench
	$(BIN)/python -m bench.quality   # P/R/F1 on every development test bed
	$(BIN)/python -m bench.delivery  # a 10,000-record delivery's wall against its full run's

bench-growth: setup   # whole runs at 100k, 300k, 1M records on SQLite and PostgreSQL (--with-3m)
	$(BIN)/python -m bench.growth

check: lint typecheck test

lock:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

clean:
	rm -rf $(VENV) mdm_demo mdm_reports warehouse.db .pytest_cache .mypy_cache .ruff_cache
