# One place for every command a developer or CI runs. `make test` and `make demo` work on a fresh
# clone: they create .venv and install what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed-dev

export SAGEMAKER_SUPPRESS_V2_WARNING := 1
export AWS_EC2_METADATA_DISABLED := true

.PHONY: help install test check lint format typecheck imports demo bench bench-local bench-regions \
	bench-staging clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)  ## create .venv with mimsreg and the dev tools

test: $(STAMP)  ## run the test suite with branch coverage (floor 90 %)
	$(PY) -m pytest --cov --cov-report=term

lint: $(STAMP)  ## ruff lint and format check
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples

format: $(STAMP)  ## apply ruff's formatting and safe fixes
	$(BIN)/ruff format src tests bench examples
	$(BIN)/ruff check --fix src tests bench examples

typecheck: $(STAMP)  ## mypy strict on src/
	$(BIN)/mypy

imports: $(STAMP)  ## the layer contracts (import-linter)
	$(BIN)/lint-imports

check: lint typecheck imports test  ## every check CI runs

demo: $(STAMP)  ## validate the example configuration and print its variable schema
	$(BIN)/mimsreg validate examples/config.yaml
	$(BIN)/mimsreg schema examples/config.yaml

clean:  ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage build dist src/*.egg-info

bench-local: $(STAMP)  ## local inventory: overhead per version at 10,000 versions, list latency
	$(PY) bench/bench_local_inventory.py

bench-regions: $(STAMP)  ## SageMaker backend: one registration in 1, 4, 8 regions, 50 ms per call
	$(PY) bench/bench_regions.py

bench-staging: $(STAMP)  ## SageMaker backend: staging 1 GiB to S3 against `aws s3 cp`, time and RSS
	$(PY) bench/bench_staging.py

bench: bench-local bench-regions bench-staging  ## every benchmark; each rewrites its docs section
