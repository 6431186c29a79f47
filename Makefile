# Every target does its own set-up from a machine that has only python3.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
SHARED  ?= ../shared

.PHONY: demo demo-dagster test test-fast lint services catalog bench lock clean

# Bytecode is compiled at install: the tests start the tap and targets as processes hundreds of
# times, and where PYTHONDONTWRITEBYTECODE is set each start would otherwise compile every module.
$(STAMP): requirements.lock pyproject.toml
	@command -v uv >/dev/null 2>&1 || $(PY) -m pip install --quiet uv
	@test -x $(BIN)/python || uv venv --quiet --python $(PY) $(VENV)
	uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock
	uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@$(BIN)/python -m compileall -q -j 0 sdk_core tap_autotask target_adapters autotask_sandbox orchestration scripts >/dev/null
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m scripts.demo

# requirements.lock pins every extra ([all] plus dev); the project itself goes in editable.
test: $(STAMP) services
	$(BIN)/python -m pytest

# The unit tier: no database, Redis, sandbox server or subprocess (tests/conftest.py marks them).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m unit -q -p no:cacheprovider

# ruff (format and lint) and mypy, as configured in pyproject.toml.
LINT_PATHS ?= .
lint: $(STAMP)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/mypy

services:
	@bash scripts/ensure_services.sh

catalog: $(STAMP)
	$(BIN)/python scripts/generate_catalog.py --swagger $(SHARED)/reference/autotask-rest-swagger-v1.json

# Performance figures (not pass/fail). Each prints ratios against a baseline of the same run.
BENCHES := sandbox_bench client_bench tap_bench target_bench target_files_bench bulk_bench cache_bench \
           dataframe_bench export_bench webhook_bench
bench: $(STAMP) services
	@for b in $(BENCHES); do echo "== benchmarks/$$b.py"; $(BIN)/python benchmarks/$$b.py || exit 1; done

lock:
	uv pip compile pyproject.toml --all-extras -o requirements.lock --no-header --python-version 3.11

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info

# Webhook-triggered syncs with Dagster against the sandbox (scripts/demo_dagster.py).
demo-dagster: $(STAMP)
	$(BIN)/python -m scripts.demo_dagster
