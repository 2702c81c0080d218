# hearth: the two commands a newcomer needs are `make demo` and `make test`.
# Both bootstrap everything on a bare machine with Python 3.11: uv (into .tools/ if it is not
# on PATH), the virtualenv from uv.lock, the Airflow metadata DB (.airflow/, SQLite) and, for
# the browser test, Debian's chromium. Second runs reinstall nothing.

SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
UV_VERSION := 0.13.9
# uv from PATH if there is one, else a pinned copy bootstrapped into .tools/.
UV_ON_PATH := $(shell command -v uv 2>/dev/null)
ifeq ($(UV_ON_PATH),)
UV := $(CURDIR)/.tools/bin/uv
UV_DEP := $(UV)
else
UV := $(UV_ON_PATH)
UV_DEP :=
endif
# Use the machine's Python 3.11; never try to download one (there may be no network).
# The interpreter itself, not a version manager's shim in front of it: uv compares the
# virtualenv's interpreter with this path and warns on every command where they differ.
export UV_PYTHON ?= $(shell p=$$(command -v python3.11 2>/dev/null || command -v python3) && "$$p" -c 'import sys; print(sys.executable)')
export UV_PYTHON_DOWNLOADS := never
# Compile bytecode at install: where PYTHONDONTWRITEBYTECODE is set, every process would
# otherwise recompile Airflow, Great Expectations and polars from source (seconds each).
export UV_COMPILE_BYTECODE := 1
export AIRFLOW_HOME := $(CURDIR)/.airflow
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__UNIT_TEST_MODE := False
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN := sqlite:///$(CURDIR)/.airflow/airflow.db

.PHONY: help demo test lint bootstrap airflow-db airflow browser bench clean \
	deploy-build deploy-servers deploy-local deploy-celery test-deploy

help:
	@echo "make demo     synthesise a county, run 30 nights into data/warehouse.duckdb, summarise"
	@echo "make test     lint, type-check and run the whole test suite (what CI runs)"
	@echo "make airflow  run Airflow standalone on http://localhost:8080 with the hearth DAGs"
	@echo "make bench    the performance benchmarks (docs/performance.md)"
	@echo "make deploy-local   a synthetic force on Airflow: LocalExecutor, PostgreSQL (docs/airflow.md)"
	@echo "make deploy-celery  the same on CeleryExecutor with Redis and two workers"
	@echo "make test-deploy    the deployment tests (both shapes; what CI runs after make test)"

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install -q "uv==$(UV_VERSION)"

.venv/.synced: uv.lock pyproject.toml | $(UV_DEP)
	$(UV) sync --locked --quiet
	@touch $@

bootstrap: .venv/.synced

.airflow/airflow.db: .venv/.synced
	@mkdir -p .airflow
	$(UV) run --no-sync airflow db migrate >/dev/null
	@test -f $@

airflow-db: .airflow/airflow.db

browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "the browser test needs Debian's chromium: sudo apt-get install chromium"; exit 1; fi; }

demo: bootstrap
	$(UV) run --no-sync hearth demo

lint: bootstrap
	$(UV) run --no-sync ruff check pipeline dags tests bench deploy
	$(UV) run --no-sync mypy

test: lint airflow-db browser
	$(UV) run --no-sync pytest -n 2 --dist loadgroup

airflow: airflow-db
	$(UV) run --no-sync hearth synth --out data/demo --households 3000 --days 30 --start-date 2026-10-01 >/dev/null
	test -e data/warehouse.duckdb || $(UV) run --no-sync hearth init
	HEARTH_LANDING_DIR=$(CURDIR)/data/demo/landing $(UV) run --no-sync airflow standalone

bench: bootstrap
	$(UV) sync --locked --group bench --quiet
	$(UV) run --no-sync python bench/run_all.py

# ---- production-shaped Airflow (docs/airflow.md): PostgreSQL, LocalExecutor or Celery+Redis.
# Servers listen on 127.0.0.1 on free ports and keep their data under .deploy/; the workers
# run the built wheel installed into .deploy/venv, not this checkout.
DEPLOY_STACK := $(UV) run --no-sync python deploy/stack.py
FORCE_DEMO := data/force-demo

deploy-build: bootstrap
	$(DEPLOY_STACK) build

# PostgreSQL 15 (Debian's postgresql) and, for Celery, Debian's redis-server.
deploy-servers:
	@test -x /usr/lib/postgresql/15/bin/initdb || { echo "needs Debian's PostgreSQL 15: apt-get install postgresql"; exit 1; }
	@command -v redis-server >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	  else echo "the Celery deployment needs Debian's redis-server: sudo apt-get install redis-server"; exit 1; fi; }

$(FORCE_DEMO)/force.toml: .venv/.synced
	$(UV) run --no-sync python -c "from datetime import date; from pathlib import Path; \
	from pipeline.synth.force import write_synthetic_force as w; \
	w(Path('$(FORCE_DEMO)'), authorities=4, households=2000, days=3, seed=5, start_date=date(2026, 10, 5))"
	$(UV) run --no-sync python -c "from pipeline.authorities import load_force, init_authority_warehouses as i; \
	i(load_force('$(FORCE_DEMO)/force.toml'))"

deploy-local: deploy-build deploy-servers $(FORCE_DEMO)/force.toml
	$(DEPLOY_STACK) up --name local --executor local --force-config $(FORCE_DEMO)/force.toml --nights 2026-10-05 2026-10-07

deploy-celery: deploy-build deploy-servers $(FORCE_DEMO)/force.toml
	$(DEPLOY_STACK) up --name celery --executor celery --workers 2 --force-config $(FORCE_DEMO)/force.toml --nights 2026-10-05 2026-10-07

# The tests stop their servers even when they fail; an interrupt (the timeout sends SIGINT
# first) still runs their teardown, and `down` afterwards catches anything left behind.
test-deploy: deploy-build deploy-servers
	HEARTH_DEPLOY_TESTS=1 timeout -s INT -k 60 1500 $(UV) run --no-sync pytest tests/deploy -p no:xdist -v; \
	  status=$$?; for n in test-local test-celery; do $(DEPLOY_STACK) down --name $$n 2>/dev/null; done; exit $$status

clean:
	rm -rf .venv .tools .airflow .deploy data test-artifacts
