# cnnkit developer tasks. `make demo` and `make test` are the two set-up commands on a fresh
# machine: each creates .venv and installs the project into it when needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_RUN ?= outputs/demo
# extras installed into a new .venv: `make test EXTRAS=dev,optuna` also runs the Optuna sweep
# tests (skipped without it; CI sets dev,optuna,joblib)
EXTRAS ?= dev

.PHONY: help install demo test test-fast test-full lint bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# -qq: errors only. -q still forwards setuptools' "Editable installation" notice (an information
# message, not a problem) and pip's notes about configured package folders that do not exist.
$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip
	$(BIN)/python -m pip install -qq -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install cnnkit with its dev tools

demo: $(STAMP)  ## train the default model on the built-in digits, evaluate it, print its summary
	$(BIN)/cnnkit train trainer.epochs=5 hydra.run.dir=$(DEMO_RUN) overwrite=true
	$(BIN)/cnnkit evaluate run=$(DEMO_RUN) data.split=test
	$(BIN)/cnnkit summary

test: $(STAMP)  ## the whole test suite (unit + end-to-end CLI); what CI runs
	$(BIN)/python -m pytest -q -n auto --maxprocesses 4 --dist loadfile --durations=20

test-fast: $(STAMP)  ## unit tests only (skips the slow end-to-end runs)
	$(BIN)/python -m pytest -q -m "not slow"

test-full: $(STAMP) lint test  ## lint, then the whole suite

lint: $(STAMP)  ## ruff and the import-linter layer contract (pyproject.toml)
	$(BIN)/ruff check cnnkit tests scripts
	$(BIN)/lint-imports

bench: $(STAMP)  ## benchmark scripts (figures side by side with a baseline)
	@for s in scripts/bench_*.py; do echo "== $$s"; $(BIN)/python $$s || exit 1; done

clean:  ## remove the virtual environment and run outputs
	rm -rf $(VENV) outputs multirun .pytest_cache
