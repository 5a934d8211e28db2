SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTEST_ARGS ?=
PORT ?= 8000
MALL_PORT ?= 8001
UV := $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")

.PHONY: help venv run test test-fast lint bench screenshot

help:
	@echo "make run    - install, build a 90-day demo history in ./var/huoqi.db, serve the app (and the demo Mall on :8001)"
	@echo "make test   - install (incl. a throw-away PostgreSQL) and run every test"
	@echo "make bench  - benchmarks; figures go to docs/benchmarks.md"
	@echo "make lint   - ruff and mypy"

# uv installs the locked dependencies into .venv.
venv:
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet --user uv || python3 -m pip install --quiet --break-system-packages uv
	@$(UV) sync --frozen --quiet

# The demo database is rebuilt on every run: 2,000 customers over 90 days, closed daily;
# then the app is served with the demo logins and the demo clock (operators can move it),
# and the demo Mall beside it on MALL_PORT, registered and approved as a merchant.
run: venv
	rm -f var/huoqi.db var/huoqi.db-wal var/huoqi.db-shm
	$(UV) run huoqi db upgrade
	HUOQI_SQLITE_SYNCHRONOUS=NORMAL $(UV) run huoqi simulate --users 2000 --days 90 --seed 1
	$(UV) run huoqi eod status
	$(UV) run huoqi report trial-balance
	rm -f var/mall.db
	set -a; eval "$$($(UV) run huoqi merchants demo --callback-url http://127.0.0.1:$(MALL_PORT)/notify)"; set +a; \
	MALL_HUOQI_URL=http://127.0.0.1:$(PORT) MALL_PUBLIC_URL=http://127.0.0.1:$(MALL_PORT) \
	  $(UV) run huoqi mall serve --host 127.0.0.1 --port $(MALL_PORT) & mall=$$!; \
	trap 'kill $$mall 2>/dev/null' EXIT; \
	HUOQI_DEMO_CLOCK=1 $(UV) run huoqi serve --host 127.0.0.1 --port $(PORT) --demo-logins

test: venv
	$(UV) run python -m huoqi.testing.postgres --ensure-installed
	$(UV) run python -m huoqi.testing.browser --ensure-installed
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
