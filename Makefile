# Every target does its own set-up from a machine that has only python3.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
SHARED  ?= ../shared

.PHONY: demo demo-dagster test test-fast services catalog bench lock clean

$(STAMP): requirements.lock pyproject.toml
	@command -v uv >/dev/null 2>&1 || $(PY) -m pip install --quiet uv
	@test -x $(BIN)/python || uv venv --quiet --python $(PY) $(VENV)
	uv pip install --quiet --python $(BIN)/python -r requirements.lock
	uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m scripts.demo

test: $(STAMP) services
	$(BIN)/python -m pytest

services:
	@bash scripts/ensure_services.sh

catalog: $(STAMP)
	$(BIN)/python scripts/generate_catalog.py --swagger $(SHARED)/reference/autotask-rest-swagger-v1.json

# Performance figures (not pass/fail). Each prints ratios against a baseline of the same run.
BENCHES := sandbox_bench client_bench tap_bench target_bench target_files_bench
bench: $(STAMP) services
	@for b in $(BENCHES); do echo "== benchmarks/$$b.py"; $(BIN)/python benchmarks/$$b.py || exit 1; done

lock:
	uv pip compile pyproject.toml --extra dev -o requirements.lock --no-header --python-version 3.11

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info

# Webhook-triggered syncs with Dagster against the sandbox (scripts/demo_dagster.py).
demo-dagster: $(STAMP)
	$(BIN)/python -m scripts.demo_dagster
