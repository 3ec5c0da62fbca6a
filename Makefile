# Two commands: `make run` (the API on http://127.0.0.1:3000 with DynamoDB Local) and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .make
export SAM_CLI_TELEMETRY := 0
# What the tools cache or log stays in the clone, never in the home folder: npm's cache and logs, and what
# follows the XDG folders (the template scanner's update check, the browser test's Chromium profile).
export npm_config_cache := $(CURDIR)/$(STAMPS)/npm-cache
export npm_config_logs_dir := $(CURDIR)/$(STAMPS)/npm-logs
export XDG_CACHE_HOME := $(CURDIR)/$(STAMPS)/cache
export XDG_CONFIG_HOME := $(CURDIR)/$(STAMPS)/config
export __SAM_CLI_APP_DIR := $(CURDIR)/$(STAMPS)/sam
# Swagger UI's npm package would report its install (and log it to /tmp)
export SCARF_ANALYTICS := false
# The virtualenvs are made from the Python found on the PATH as it was, never from one of them.
SYSTEM_PATH := $(PATH)
export PATH := $(CURDIR)/$(BIN):$(PATH)
PYTEST_ARGS ?=
ARGS ?=
# make run's state folder (its DynamoDB endpoint, the local identity provider's key, events, secrets);
# `make token` and `make operator` find the running runtime through it.
STATE_DIR ?= .local
export STATE_DIR

.PHONY: help run invoke token test lint format unit integration openapi build deploy bench soak contract demo tools clean operator

help:
	@echo "make run         serve the API on http://127.0.0.1:3000 (DynamoDB Local, stream poller, local IdP)"
	@echo "make test        lint (ruff, mypy, import contracts, sam validate --lint, template scanners, OpenAPI drift), sam build, unit and integration tests"
	@echo "make invoke FN=LinkerFunction EVENT=events/linker-user-merged.json   one function, one event (sam local invoke)"
	@echo "make token ARGS='--sub alice --email alice@example.com --email-verified'   mint a local token (--org O --role R: staff)"
	@echo "make operator ARGS='redrive'   operator commands on make run's DynamoDB (add-staff, remove-staff, register-app-client, configure-org, register-partner, redrive, run-schedule); ARGS='--stack NAME ...' on a deployed stack"
	@echo "make demo        the README walkthrough against a running make run, step by step (API=..., STATE_DIR=...)"
	@echo "make soak        the property tests with many more examples (chaos mode on for the stateful one)"
	@echo "make contract    the API against docs/openapi.json with many more generated requests (CONTRACT_EXAMPLES=200)"
	@echo "make build | deploy | bench | openapi | lint | unit | integration | clean"

$(STAMPS)/venv: requirements-dev.txt layers/common/requirements.txt scripts/find-python.sh scripts/install.py
	@mkdir -p $(STAMPS)
	@PY=$$(PATH="$(SYSTEM_PATH)" scripts/find-python.sh) || exit 1; \
	  [ -x $(BIN)/python ] && $(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' \
	    || { echo "setup: creating $(VENV) with $$PY" >&2; rm -rf $(VENV); "$$PY" -m venv $(VENV); }
	@$(BIN)/python -m scripts.install $(BIN)/python requirements-dev.txt $(STAMPS)/pip-dev.log
	@touch $@

SCAN := .venv-scan
$(STAMPS)/scan: requirements-scan.txt scripts/find-python.sh scripts/install.py
	@mkdir -p $(STAMPS)
	@PY=$$(PATH="$(SYSTEM_PATH)" scripts/find-python.sh) || exit 1; rm -rf $(SCAN); echo "setup: creating $(SCAN) with $$PY" >&2; \
	  "$$PY" -m venv $(SCAN)
	@$(SCAN)/bin/python -m scripts.install $(SCAN)/bin/python requirements-scan.txt $(STAMPS)/pip-scan.log
	@touch $@

$(STAMPS)/node: package.json package-lock.json
	@mkdir -p $(STAMPS)
	@command -v npm >/dev/null || { echo "npm not found: install Node.js 18+ (it ships DynamoDB Local's package)"; exit 1; }
	@echo "setup: installing DynamoDB Local and Swagger UI into node_modules (npm ci)" >&2
	@npm ci --no-audit --no-fund --silent
	@touch $@

$(STAMPS)/java:
	@mkdir -p $(STAMPS)
	@command -v java >/dev/null || { echo "java not found: install a Java 17+ runtime (DynamoDB Local needs it)"; exit 1; }
	@v=$$(java -version 2>&1 | sed -nE 's/.*version "([0-9]+).*/\1/p' | head -1); \
	  [ "$${v:-0}" -ge 17 ] || { echo "Java $$v found; DynamoDB Local needs Java 17+"; exit 1; }
	@touch $@

tools: $(STAMPS)/venv $(STAMPS)/node $(STAMPS)/java

run: tools
	$(BIN)/python -m local_runtime --state-dir $(STATE_DIR) $(ARGS)

# `sam local invoke` without Docker: make invoke FN=LinkerFunction EVENT=events/linker-user-merged.json
FN ?= AppApiFunction
EVENT ?= events/app-api-get-me.json
invoke: tools
	@$(BIN)/python -m local_runtime invoke $(FN) -e $(EVENT) $(ARGS)

token: $(STAMPS)/venv
	@$(BIN)/python -m local_runtime.token --state-dir $(STATE_DIR) $(ARGS)

lint: $(STAMPS)/venv $(STAMPS)/scan
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy layers/common/customer_profiles functions/*/*.py local_runtime
	PYTHONPATH=layers/common $(BIN)/lint-imports --no-logo --cache-dir $(STAMPS)/import-linter
	$(BIN)/sam validate --lint --region us-east-1
	$(BIN)/python -m scripts.openapi --check
	$(SCAN)/bin/python -m scripts.scan_template

format: $(STAMPS)/venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

openapi: $(STAMPS)/venv
	$(BIN)/python -m scripts.openapi

# Tests run in PYTEST_WORKERS processes (pytest-xdist; `auto`: one per core), one by one, except an integration
# file with module fixtures (its `xdist_group`: they are made once); each worker that takes integration tests
# starts a local runtime of its own for the session.
PYTEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup
unit: $(STAMPS)/venv
	$(PYTEST) tests/domain tests/unit tests/local_runtime -m "not integration" $(PYTEST_ARGS)

integration: tools
	$(PYTEST) tests/integration tests/local_runtime -m integration $(PYTEST_ARGS)

# From a clean clone: the setups side by side (mostly downloads and unpacking), lint and build side by side
# (lint stops the run before any test), then every test in one run, unit and integration sharing the workers.
test:
	@$(MAKE) --no-print-directory -j4 tools $(STAMPS)/scan
	@$(MAKE) --no-print-directory -j2 lint build
	$(PYTEST) tests $(PYTEST_ARGS)

build: $(STAMPS)/venv
	$(BIN)/sam build

deploy: build
	$(BIN)/sam deploy $(ARGS)

bench: tools
	$(BIN)/python -m bench.run $(ARGS)

# The property tests with many more examples: `make test` runs a bounded number of each.
SOAK_EXAMPLES ?= 200
demo: $(STAMPS)/venv
	@$(BIN)/python -m scripts.demo

CONTRACT_EXAMPLES ?= 200
contract: tools
	CONTRACT_EXAMPLES=$(CONTRACT_EXAMPLES) $(BIN)/python -m pytest -q -p no:cacheprovider -m integration \
	  tests/integration/test_contract.py $(PYTEST_ARGS)

soak: tools
	HYPOTHESIS_EXAMPLES=$(SOAK_EXAMPLES) $(BIN)/python -m pytest -q -p no:cacheprovider \
	  tests/unit/test_identity_properties.py tests/unit/test_listing_search_properties.py $(PYTEST_ARGS)
	SOAK_EXAMPLES=$(SOAK_EXAMPLES) SOAK_STEPS=30 $(BIN)/python -m pytest -q -p no:cacheprovider -m integration \
	  tests/integration/test_stateful_chaos.py $(PYTEST_ARGS)
	HYPOTHESIS_EXAMPLES=$(SOAK_EXAMPLES) $(BIN)/python -m pytest -q -p no:cacheprovider -m integration \
	  tests/integration/test_cursors.py $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(SCAN) node_modules $(STAMPS) .aws-sam .local .pytest_cache .mypy_cache .ruff_cache .hypothesis

operator: $(STAMPS)/venv
	$(BIN)/python -m scripts.operator $(ARGS)
