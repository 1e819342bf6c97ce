# One place for every command a developer or CI runs. `make test` and `make demo` work on a fresh
# clone: they create .venv and install what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed-dev
# The Python trees ruff checks (wildcard: a fresh clone may not have bench/ yet).
LINT_DIRS := $(wildcard src tests bench reliability examples scripts)

export SAGEMAKER_SUPPRESS_V2_WARNING := 1
export AWS_EC2_METADATA_DISABLED := true

.PHONY: help install test test-fast check lint format typecheck imports demo bench bench-local bench-inspect \
	bench-pipeline bench-regions bench-staging bench-lookup bench-list bench-folder chromium bubblewrap clean reliability \
	install-v3 test-pipelines-v3 typecheck-v3 check-v3 bench-pipeline-v3

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,demo,ui,pipelines]'
	touch $@

install: $(STAMP)  ## create .venv with mimsreg, the dev tools, the demo, ui and pipelines extras

# The pipeline tests need to know which SDK they run against (tests/pipeline/sdk.py); the SDK
# defaults file the tests point to opts out of telemetry (SDK v3 sends it from its processors).
SDK_DEFAULTS := tests/pipeline/sdk-defaults-telemetry-opt-out.yaml

test: $(STAMP) chromium bubblewrap  ## run the test suite with branch coverage (floor 90 %); pipeline step on SDK v2
	MIMSREG_EXPECT_SDK=2 SAGEMAKER_USER_CONFIG_OVERRIDE=$(SDK_DEFAULTS) \
	  $(PY) -m pytest --cov --cov-report=term

test-fast: $(STAMP) chromium bubblewrap  ## the inner loop: every test not marked slow, no coverage
	MIMSREG_EXPECT_SDK=2 SAGEMAKER_USER_CONFIG_OVERRIDE=$(SDK_DEFAULTS) \
	  $(PY) -m pytest -m "not slow" -q

# SageMaker Python SDK v3 cannot share an environment with v2: the pipeline step's tests against it
# run in .venv-v3 (`make check-v3`; CI runs it after `make test`).
VENV_V3 ?= .venv-v3
PY_V3 := $(VENV_V3)/bin/python
STAMP_V3 := $(VENV_V3)/.installed-v3

$(STAMP_V3): pyproject.toml
	$(PYTHON) -m venv $(VENV_V3)
	$(PY_V3) -m pip install --quiet --upgrade pip
	$(PY_V3) -m pip install --quiet -e '.[dev,pipelines-v3]'
	touch $@

install-v3: $(STAMP_V3)  ## create .venv-v3: mimsreg, the dev tools and SageMaker SDK v3 (pipelines-v3)

test-pipelines-v3: $(STAMP_V3)  ## the pipeline step's tests against SDK v3, coverage of mimsreg.pipeline
	MIMSREG_EXPECT_SDK=3 SAGEMAKER_USER_CONFIG_OVERRIDE=$(SDK_DEFAULTS) \
	  $(PY_V3) -m pytest tests/pipeline tests/test_imports.py \
	  --cov --cov-config=.coveragerc-v3 --cov-report=term

typecheck-v3: $(STAMP_V3)  ## mypy strict on src/ against SDK v3 (the v2 adapter left out)
	$(VENV_V3)/bin/mypy --cache-dir .mypy_cache-v3 --exclude 'pipeline/_sdk_v2\.py$$'

check-v3: typecheck-v3 test-pipelines-v3  ## every SDK v3 check CI runs

bench-pipeline-v3: $(STAMP_V3)  ## bench-pipeline against SDK v3
	$(PY_V3) bench/bench_pipeline.py

# The browser tests drive Debian's chromium (never a downloaded browser). Installed when missing;
# set MIMSREG_SKIP_BROWSER=1 to run without them.
chromium:  ## install Debian's chromium for the browser tests, if it is missing
	@if [ -x /usr/bin/chromium ] || [ -n "$$MIMSREG_SKIP_BROWSER" ]; then :; else \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  $$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q chromium; \
	fi

# `mimsreg check` runs model code in a bubblewrap sandbox; its tests need Debian's bubblewrap and
# fail without it. Installed when missing; set MIMSREG_SKIP_SANDBOX=1 to run without those tests.
bubblewrap:  ## install Debian's bubblewrap for the check's sandbox tests, if it is missing
	@if [ -x /usr/bin/bwrap ] || [ -n "$$MIMSREG_SKIP_SANDBOX" ]; then :; else \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  $$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q bubblewrap; \
	fi

lint: $(STAMP)  ## ruff lint and format check
	$(BIN)/ruff check $(LINT_DIRS)
	$(BIN)/ruff format --check $(LINT_DIRS)

format: $(STAMP)  ## apply ruff's formatting and safe fixes
	$(BIN)/ruff format $(LINT_DIRS)
	$(BIN)/ruff check --fix $(LINT_DIRS)

typecheck: $(STAMP)  ## mypy strict on src/
	$(BIN)/mypy

imports: $(STAMP)  ## the layer contracts (import-linter)
	$(BIN)/lint-imports

check: lint typecheck imports test  ## every check CI runs

# The demo has its own small environment (.venv-demo): mimsreg with the `demo` extra only, not the
# dev toolchain `make test` needs.
DEMO_VENV ?= .venv-demo
DEMO_BIN := $(DEMO_VENV)/bin
DEMO_STAMP := $(DEMO_VENV)/.installed-demo
$(DEMO_STAMP): pyproject.toml
	$(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_BIN)/python -m pip install --quiet --upgrade pip
	$(DEMO_BIN)/python -m pip install --quiet -e '.[demo]'
	touch $@

DEMO_HOME ?= examples/build/mimsreg-home
DEMO_MODEL := examples/build/model.tar.gz
demo: $(DEMO_STAMP)  ## build the demo model and register it in a local inventory (examples/build)
	$(DEMO_BIN)/python examples/build_demo_model.py -o $(DEMO_MODEL)
	$(DEMO_BIN)/mimsreg validate examples/config.yaml
	$(DEMO_BIN)/mimsreg inspect $(DEMO_MODEL) --config examples/config.yaml
	$(DEMO_BIN)/mimsreg check $(DEMO_MODEL) --config examples/config.yaml
	MIMSREG_HOME=$(DEMO_HOME) $(DEMO_BIN)/mimsreg register $(DEMO_MODEL) --config examples/config.yaml --region NA,EU --check
	MIMSREG_HOME=$(DEMO_HOME) $(DEMO_BIN)/mimsreg register $(DEMO_MODEL) --config examples/config.yaml --region NA,EU
	MIMSREG_HOME=$(DEMO_HOME) $(DEMO_BIN)/mimsreg list
	MIMSREG_HOME=$(DEMO_HOME) $(DEMO_BIN)/mimsreg show BuyerSellerMessaging-FraudDetection/1 --region us-east-1
	MIMSREG_HOME=$(DEMO_HOME) $(DEMO_BIN)/mimsreg approve BuyerSellerMessaging-FraudDetection/1 --region us-east-1 --note "make demo"


bench-inspect: $(STAMP)  ## mimsreg inspect on a 1 GiB archive vs openssl and sha256sum + tar -tzf
	$(PY) bench/bench_inspect.py

# Each reliability-* target (faults, concurrency, crash, moves, modified, fuzz) rewrites its
# section of docs/reliability.md.
reliability: reliability-faults reliability-concurrency reliability-crash reliability-moves reliability-modified reliability-fuzz  ## the reliability suite (minutes); writes docs/reliability.md

.PHONY: reliability-faults reliability-concurrency reliability-crash reliability-moves reliability-modified reliability-fuzz
FAULTS_REGISTRATIONS ?= 100
FAULTS_RATE ?= 0.2
FAULTS_SEED ?= 20261128
reliability-faults: $(STAMP)  ## 100 registrations x 3 regions, 20 % of AWS requests faulted, then a ramp to 90 %
	$(PY) reliability/faults.py --registrations $(FAULTS_REGISTRATIONS) --rate $(FAULTS_RATE) --seed $(FAULTS_SEED)

reliability-concurrency: $(STAMP)  ## 8 processes at once: the same model, then 8 models, per backend
	$(PY) reliability/concurrency.py

CRASH_ITERATIONS ?= 50
CRASH_SEED ?= 20261128
reliability-crash: $(STAMP)  ## SIGKILL mimsreg register 50 times per backend, re-run, verify; gc the orphans
	$(PY) reliability/crash.py --iterations $(CRASH_ITERATIONS) --seed $(CRASH_SEED)

MOVES_ITERATIONS ?= 24
reliability-moves: $(STAMP)  ## the local inventory moved (renamed, symlinked, by URI) between runs; gc --older-than 0s; verify
	$(PY) reliability/moves.py --iterations $(MOVES_ITERATIONS)

MODIFIED_ITERATIONS ?= 10
MODIFIED_SEED ?= 20261128
reliability-modified: $(STAMP)  ## SageMaker: a byte of the archive changed during each of 10 registrations; nothing stored under a wrong digest
	$(PY) reliability/modified_archive.py --iterations $(MODIFIED_ITERATIONS) --seed $(MODIFIED_SEED)

FUZZ_CONFIGS ?= 10000
FUZZ_ARCHIVES ?= 3000
FUZZ_SEED ?= 20261128
reliability-fuzz: $(STAMP)  ## Hypothesis: 10,000 config files, 3,000 mutated archives, hostile corpus, via the CLI
	$(PY) reliability/fuzz.py --configs $(FUZZ_CONFIGS) --archives $(FUZZ_ARCHIVES) --seed $(FUZZ_SEED)

clean:  ## remove the virtualenv and caches
	rm -rf $(VENV) $(VENV_V3) $(DEMO_VENV) .pytest_cache .mypy_cache .mypy_cache-v3 .ruff_cache .coverage build dist src/*.egg-info

bench-local: $(STAMP)  ## local inventory: overhead per version at 10,000 versions, list latency
	$(PY) bench/bench_local_inventory.py

bench-pipeline: $(STAMP)  ## pipeline step: import cost, offline definition cost vs the SDK by hand
	$(PY) bench/bench_pipeline.py

bench-regions: $(STAMP)  ## SageMaker backend: one registration in 1, 4, 8 regions, 50 ms per call
	$(PY) bench/bench_regions.py

bench-staging: $(STAMP)  ## SageMaker backend: staging 1 GiB to S3 against `aws s3 cp`, time and RSS
	$(PY) bench/bench_staging.py

bench-lookup: $(STAMP)  ## SageMaker backend: one registration into groups of 0, 100, 1,000 versions, vs 34fcb27
	$(PY) bench/bench_lookup.py

bench-list: $(STAMP)  ## SageMaker backend: list and the UI groups page over 10,000 versions x 3 regions vs boto3 paging
	$(PY) bench/bench_list.py

bench-folder: $(STAMP)  ## model folders: 8 x 512 MiB hashed vs sha256sum (xargs -P), staged vs aws s3 sync
	$(PY) bench/bench_folder.py

bench: bench-inspect bench-local bench-pipeline bench-regions bench-staging bench-lookup bench-list bench-folder  ## every benchmark (slow); each rewrites its docs section
test-strict: $(STAMP) ; $(PY) -m pytest tests/test_strict_aws.py  ## the strict AWS layer's own tests (tests/support; docs/aws-fidelity.md)
