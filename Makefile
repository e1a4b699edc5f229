# Two commands matter: `make run` (install + run the pipeline on the bundled extracts)
# and `make test` (install with test extras + lint + tests). Both create or reuse .venv.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install prepare run test lint validate format dev bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e ".[test,bench]"
	touch $(STAMP)

install: $(STAMP)

# dbt parse (manifest for @dbt_assets): explicit, never at import time.
prepare: install
	$(BIN)/python -m orchestration.project

run: prepare
	$(BIN)/complaints run

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

validate: prepare
	$(BIN)/dagster definitions validate -w workspace.yaml

test: lint validate
	HYPOTHESIS_PROFILE=ci $(BIN)/pytest -q

dev: prepare
	DAGSTER_HOME=$(CURDIR)/.dagster_home $(BIN)/python -c "from orchestration.runner import configure_environment; configure_environment(None, None)"
	DAGSTER_HOME=$(CURDIR)/.dagster_home DAGSTER_EVENT_BATCH_SIZE=$$($(BIN)/python -c "from orchestration.runner import EVENT_BATCH_SIZE; print(EVENT_BATCH_SIZE)") $(BIN)/dagster dev -w workspace.yaml

bench: install
	$(BIN)/python benchmarks/parse.py

clean:
	rm -rf warehouse .dagster_home dbt_project/target dbt_project/logs
