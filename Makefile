# The project's single entry point. A newcomer needs two commands: `make demo` and `make test`.
# Everything heavy (the Python environment, Kubernetes binaries) is cached outside the clone in
# ~/.cache/gpt-sovits-k8s/ (override with GSV_CACHE_DIR), keyed by version.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV := $(shell scripts/venv.sh path)
PY := $(VENV)/bin/python
PYTEST := $(PY) -m pytest
PYTEST_ARGS ?=

.PHONY: help venv system-deps demo test lint fmt typecheck unit \
        test-common test-model test-text test-server test-operator test-cluster test-chart

help: ## List the targets.
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

venv: ## Create or reuse the Python environment (cached outside the clone).
	@scripts/venv.sh ensure >/dev/null

# Debian packages some tests drive for real (nginx in front of the server). Root on CI; elsewhere
# install them yourself if this step cannot.
SYSTEM_TOOLS := nginx openssl
system-deps: ## Install the Debian packages the tests use, when missing.
	@missing=""; for tool in $(SYSTEM_TOOLS); do command -v $$tool >/dev/null || [ -x /usr/sbin/$$tool ] || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
	  echo "==> installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    $$(echo $$missing | sed "s/nginx/nginx-light/"); \
	  nginx -s quit 2>/dev/null || true; \
	fi

# Flags of the demo (`$(PY) -m e2e.demo --help`), e.g. DEMO_ARGS=--keep to leave the cluster running.
DEMO_ARGS ?=
demo: venv ## Local control plane + chart + operator + a Ready VoiceService, and speech into demo.wav.
	$(PY) -m e2e.demo $(DEMO_ARGS)

test: system-deps lint typecheck ## Everything: lint, type checks and the whole test suite.
	$(PYTEST) $(PYTEST_ARGS)

lint: venv ## ruff lint and format check.
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

fmt: venv ## Apply ruff's fixes and formatting.
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

typecheck: venv ## mypy over every package.
	$(PY) -m mypy

# One target per component; each runs that component's tests only.
test-common: venv ## Shared settings and logging helpers.
	$(PYTEST) common/tests $(PYTEST_ARGS)

test-model: venv ## GPT-SoVITS model, conformance included.
	$(PYTEST) server/tests/model $(PYTEST_ARGS)

test-text: venv ## Text frontend (normalisation, g2p, splitting).
	$(PYTEST) server/tests/text $(PYTEST_ARGS)

test-server: venv ## HTTP server over real HTTP.
	$(PYTEST) server/tests/api $(PYTEST_ARGS)

test-operator: venv ## Operator unit tests and its integration tests on the control plane.
	$(PYTEST) operator/tests e2e/operator $(PYTEST_ARGS)

test-cluster: venv ## The local Kubernetes control plane itself.
	$(PYTEST) e2e/cluster $(PYTEST_ARGS)

test-chart: venv system-deps ## Helm chart, images and compose files.
	$(PYTEST) charts/gpt-sovits/tests docker/tests $(PYTEST_ARGS)
