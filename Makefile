SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTEST_ARGS ?=
UV := $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")

.PHONY: help venv run test test-fast lint bench screenshot

help:
	@echo "make run    - install, migrate ./var/huoqi.db, run the demo"
	@echo "make test   - install (incl. a throw-away PostgreSQL) and run every test"
	@echo "make bench  - benchmarks; figures go to docs/benchmarks.md"
	@echo "make lint   - ruff and mypy"

# uv installs the locked dependencies into .venv.
venv:
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet --user uv || python3 -m pip install --quiet --break-system-packages uv
	@$(UV) sync --frozen --quiet

run: venv
	$(UV) run huoqi db upgrade
	$(UV) run huoqi demo

test: venv
	$(UV) run python -m huoqi.testing.postgres --ensure-installed
	$(UV) run pytest $(PYTEST_ARGS)

test-fast: venv
	$(UV) run pytest -m "not postgres and not slow" $(PYTEST_ARGS)

lint: venv
	$(UV) run ruff check src tests bench scripts
	$(UV) run ruff format --check src tests bench scripts
	$(UV) run mypy

bench: venv
	$(UV) run python -m bench $(BENCH_ARGS)

screenshot: venv
	$(UV) run python scripts/readme_screenshot.py
