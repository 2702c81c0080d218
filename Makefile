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
export UV_PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
export UV_PYTHON_DOWNLOADS := never
# Compile bytecode at install: where PYTHONDONTWRITEBYTECODE is set, every process would
# otherwise recompile Airflow, Great Expectations and polars from source (seconds each).
export UV_COMPILE_BYTECODE := 1
export AIRFLOW_HOME := $(CURDIR)/.airflow
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__UNIT_TEST_MODE := False
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN := sqlite:///$(CURDIR)/.airflow/airflow.db

.PHONY: help demo test lint bootstrap airflow-db airflow browser bench clean

help:
	@echo "make demo     synthesise a county, run 30 nights into data/warehouse.duckdb, summarise"
	@echo "make test     lint, type-check and run the whole test suite (what CI runs)"
	@echo "make airflow  run Airflow standalone on http://localhost:8080 with the hearth DAGs"
	@echo "make bench    the performance benchmarks (docs/performance.md)"

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
	$(UV) run --no-sync ruff check pipeline dags tests bench
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

clean:
	rm -rf .venv .tools .airflow data test-artifacts
