# phasegate: every target sets itself up on a fresh machine (virtualenv, packages, browser).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DATABASE_URL ?= sqlite:///demo.db
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test lint format bench chromium clean help

help:
	@echo "make demo   - load the demo data and serve it at http://$(HOST):$(PORT) (demo mode)"
	@echo "make test   - lint, type-check, check the layering and run the whole test suite"
	@echo "make lint   - ruff, mypy and import-linter only"
	@echo "make bench  - run the benchmarks and write docs/benchmarks.md"

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# Debian's chromium drives the browser tests; nothing downloads a browser at run time.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

demo: $(STAMP)
	PHASEGATE_DATABASE_URL=$(DEMO_DATABASE_URL) $(BIN)/phasegate demo --reset
	PHASEGATE_DATABASE_URL=$(DEMO_DATABASE_URL) PHASEGATE_DEMO=1 $(BIN)/phasegate serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: $(STAMP) chromium lint
	$(BIN)/pytest -n 2 --dist loadgroup --durations=30

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,bench]'
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis test-artifacts demo.db*
