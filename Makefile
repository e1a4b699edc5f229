# Two commands matter: `make run` (install + run the pipeline on the bundled extracts)
# and `make test` (install with test extras + lint + tests). Both create or reuse .venv.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint format dev bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e ".[test,bench]"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/complaints run

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/pytest -q

dev: install
	DAGSTER_HOME=$(CURDIR)/.dagster_home $(BIN)/dagster dev -w workspace.yaml

bench: install
	$(BIN)/python benchmarks/parse.py

clean:
	rm -rf warehouse .dagster_home dbt_project/target dbt_project/logs
