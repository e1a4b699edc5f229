# Two commands matter: `make run` (install + run the pipeline on the bundled extracts)
# and `make test` (system packages + install with test extras + lint + type check + definitions
# check + tests, with its duration). Both create or reuse .venv and install from uv.lock.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# uv installs from the lock; pip only installs uv itself (a wheel with its binary inside).
UV_VERSION := 0.13.9
# uv finds .venv itself; these keep it there whatever virtual environment the caller has active,
# and stop it from fetching a Python of its own.
UV := VIRTUAL_ENV= UV_PROJECT_ENVIRONMENT=$(CURDIR)/$(VENV) UV_PYTHON_DOWNLOADS=never $(BIN)/uv
# dg expects its project's virtual environment to be the active one.
DG := VIRTUAL_ENV=$(CURDIR)/$(VENV) PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/dg

.PHONY: install lock upgrade-lock system prepare run test checks pytest lint typecheck validate format dev bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(BIN)/uv: $(BIN)/python
	$(BIN)/pip install -q --disable-pip-version-check "uv==$(UV_VERSION)"

# uv installs without byte-compiling; compileall compiles on every core (the bytecode matters:
# with PYTHONDONTWRITEBYTECODE set, as on this machine, Python would otherwise compile every
# imported module again in each process). The installed packages' own test suites are never
# imported: not compiled.
# `--locked`: a pyproject.toml changed without `make lock` stops here rather than installing
# something the lock does not say. `--inexact` keeps pip and uv, which the lock does not list.
# The project itself is installed editable, as `pip install -e` would.
$(STAMP): $(BIN)/uv pyproject.toml uv.lock
	$(UV) sync -q --locked --inexact --extra test --extra bench
	$(BIN)/python -m compileall -q -j 0 -x '/site-packages/.*/tests/' $(VENV)/lib
	touch $(STAMP)

install: $(STAMP)

# After editing the dependencies in pyproject.toml: `make lock` (the newest versions they allow
# for what changed, the rest kept); `make upgrade-lock` moves every package to its newest allowed
# version (docs/INSTALL.md).
lock: $(BIN)/uv
	$(UV) lock

upgrade-lock: $(BIN)/uv
	$(UV) lock --upgrade

# The system packages the tests use (Chromium, its driver, the PostgreSQL server): installed
# with apt when we are root, otherwise named with the command to run (scripts/system-packages).
system:
	@sh scripts/system-packages

# dbt parse (manifest for @dbt_assets, in dbt_project/target): explicit, never at import time.
prepare: install
	$(BIN)/python -m complaints.dbt_paths

run: prepare
	$(BIN)/complaints run

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

validate: prepare
	$(DG) check defs

# Test workers (pytest-xdist); each test file stays on one worker, so module fixtures run once,
# and files start in the order tests/conftest.py gives them (longest first), not xdist's own.
# Three on two cores: two left a core idle about a fifth of the time (docs/testing.md).
# PYTEST_WORKERS=0 runs the suite in this process.
PYTEST_WORKERS ?= 3

# The three checks and the tests side by side: the checks use a core each for a minute, which
# the test workers would leave idle now and then anyway (waits on subprocesses, on each other's
# shared fixtures, the last file). `prepare` (dbt parse) is built once, before the two that need
# it, while ruff and mypy start on the other core.
checks: install
	$(MAKE) --no-print-directory -j 4 --output-sync=target lint typecheck validate pytest

pytest: prepare
	HYPOTHESIS_PROFILE=ci $(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=20

test:
	@start=$$(date +%s); status=0; $(MAKE) --no-print-directory system checks || status=$$?; \
	echo "make test: $$(( $$(date +%s) - start )) s (exit $$status)"; exit $$status

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

dev: prepare
	$(BIN)/python -c "from complaints.config import ComplaintsConfig as C; from orchestration.lib.instance import configure_instance; configure_instance(C.resolve(dagster_home='$(CURDIR)/.dagster_home'))"
	DAGSTER_HOME=$(CURDIR)/.dagster_home DAGSTER_EVENT_BATCH_SIZE=$$($(BIN)/python -c "from orchestration.lib.dagster_compat import EVENT_BATCH_SIZE; print(EVENT_BATCH_SIZE)") $(BIN)/dagster dev -w workspace.yaml

bench: install
	$(BIN)/python benchmarks/parse.py

clean:
	rm -rf warehouse .dagster_home dbt_project/target dbt_project/logs
