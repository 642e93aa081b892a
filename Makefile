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
# 1 where a real node can run (root on Linux, as on CI): `make test` and `make demo` then build
# the images and run them as pods on the local cluster's real node. NODE=0 leaves that out.
NODE ?= $(shell [ "$$(id -u)" = 0 ] && [ "$$(uname -s)" = Linux ] && echo 1 || echo 0)

.PHONY: help venv system-deps node-deps demo images test lint fmt typecheck unit \
        test-common test-model test-text test-server test-operator test-cluster test-chart test-e2e-node \
        node-images nginx-image test-compose test-autoscaling

help: ## List the targets.
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

venv: ## Create or reuse the Python environment (cached outside the clone).
	@scripts/venv.sh ensure >/dev/null

# Debian packages some tests drive for real (nginx in front of the server; envsubst renders its
# templates as the compose file's nginx image does). Root on CI; elsewhere
# install them yourself if this step cannot.
SYSTEM_TOOLS := nginx openssl envsubst
system-deps: ## Install the Debian packages the tests use, when missing.
	@missing=""; for tool in $(SYSTEM_TOOLS); do command -v $$tool >/dev/null || [ -x /usr/sbin/$$tool ] || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
	  echo "==> installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    $$(echo $$missing | sed "s/nginx/nginx-light/; s/envsubst/gettext-base/"); \
	  nginx -s quit 2>/dev/null || true; \
	fi

# Flags of the demo (`$(PY) -m e2e.demo --help`), e.g. DEMO_ARGS=--keep to leave the cluster running.
DEMO_ARGS ?=
# Where a real node can run (root, Linux) the images are built first, while the cluster's binaries
# build in the background, and run as pods.
demo: venv ## Local cluster + chart + operator + a Ready VoiceService, and speech into demo.wav.
	$(if $(filter 1,$(NODE)),scripts/alongside.sh $(CLUSTER_BUILD_LOG) "$(PY) -m e2e.cluster build" -- \
	  $(MAKE) --no-print-directory node-deps node-images)
	$(PY) -m e2e.demo $(DEMO_ARGS)

# The real node of the local cluster (e2e/cluster/node.py) runs pods with Debian's containerd,
# runc and CNI plugins; the kubelet and kube-proxy are built from Go like the control plane.
NODE_PACKAGES := containerd runc containernetworking-plugins iptables iproute2 conntrack
node-deps: ## Install the Debian packages a real node needs, when missing.
	@missing=""; for pkg in $(NODE_PACKAGES); do dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  echo "==> installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# Images without a Docker engine: buildah (a Debian package) builds docker/'s Dockerfiles as they
# are. Where no registry serves base images, a Debian 12 base with python3 is debootstrapped from
# the apt archive once and stands in for both of the Dockerfiles' bases (debian:12-slim and the
# distroless runtime: the same Debian 12 Python 3.11); DEBIAN_IMAGE=... RUNTIME_IMAGE=... pick
# others. The host's CA bundle is mounted into RUN steps so that pip trusts what the host trusts.
# buildah's storage is kept in the cache folder and every step is cached by its inputs
# (`--layers`), so a rebuild after a source edit reuses the dependency layers (torch and its CUDA
# libraries, about 6 GB). Built images are then loaded into the real node's containerd when one
# runs (`python -m e2e.cluster images`); the node tests load them themselves otherwise.
# Push with `$(BUILDAH) push gpt-sovits-k8s/operator:0.1.0 docker://<registry>/...`.
IMAGES ?= operator
IMAGE_TAG ?= 0.1.0
LOCAL_BASE := localhost/gsv-debian-python:12
DEBIAN_IMAGE ?= $(LOCAL_BASE)
RUNTIME_IMAGE ?= $(LOCAL_BASE)
HOST_CA := /etc/ssl/certs/ca-certificates.crt
GSV_CACHE := $(or $(GSV_CACHE_DIR),$(HOME)/.cache/gpt-sovits-k8s)
# What `make test` and `make demo` print while the cluster's binaries build in the background.
CLUSTER_BUILD_LOG := $(GSV_CACHE)/logs/cluster-build.log
BUILDAH := buildah --root $(GSV_CACHE)/buildah/storage --runroot /run/gsv-buildah
images: ## Build docker/'s images with buildah, no Docker engine needed (IMAGES="operator server").
	@missing=""; for tool in buildah debootstrap; do command -v $$tool >/dev/null || [ -x /usr/sbin/$$tool ] || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
	  echo "==> installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@if [ "$(DEBIAN_IMAGE) $(RUNTIME_IMAGE)" = "$(LOCAL_BASE) $(LOCAL_BASE)" ] \
	    && ! $(BUILDAH) inspect --type image $(LOCAL_BASE) >/dev/null 2>&1; then \
	  echo "==> $(LOCAL_BASE): Debian 12 with python3, by debootstrap (once)"; \
	  rootfs=$$(mktemp -d); trap 'rm -rf "$$rootfs"' EXIT; \
	  PATH=$$PATH:/usr/sbin debootstrap --variant=minbase --include=python3,python3-venv,python3-pip \
	    bookworm "$$rootfs" >"$$rootfs.log" 2>&1 || { tail -20 "$$rootfs.log"; exit 1; }; \
	  ctr=$$($(BUILDAH) from scratch); mnt=$$($(BUILDAH) mount $$ctr); [ -d "$$mnt" ] && [ "$$mnt" != / ]; \
	  cp -a "$$rootfs/." "$$mnt/"; $(BUILDAH) umount $$ctr >/dev/null; \
	  $(BUILDAH) commit --quiet --rm $$ctr $(LOCAL_BASE) >/dev/null; rm -f "$$rootfs.log"; \
	fi
	@ca=""; [ -f $(HOST_CA) ] && ca="--volume $(HOST_CA):$(HOST_CA):ro"; \
	for image in $(IMAGES); do \
	  echo "==> gpt-sovits-k8s/$$image:$(IMAGE_TAG)"; start=$$(date +%s); \
	  $(BUILDAH) bud --layers --format docker --isolation chroot --network host $$ca \
	    --build-arg DEBIAN_IMAGE=$(DEBIAN_IMAGE) --build-arg RUNTIME_IMAGE=$(RUNTIME_IMAGE) \
	    -f docker/Dockerfile.$$image -t gpt-sovits-k8s/$$image:$(IMAGE_TAG) .; \
	  echo "==> gpt-sovits-k8s/$$image:$(IMAGE_TAG) built in $$(( $$(date +%s) - start ))s"; \
	  ctr=$$($(BUILDAH) from gpt-sovits-k8s/$$image:$(IMAGE_TAG)); \
	  $(BUILDAH) run --isolation chroot $$ctr -- gpt-sovits-$$image --help >/dev/null \
	    && echo "==> gpt-sovits-k8s/$$image:$(IMAGE_TAG): gpt-sovits-$$image --help runs in it"; \
	  $(BUILDAH) rm $$ctr >/dev/null; \
	done; \
	$(BUILDAH) images
	@refs=""; for image in $(IMAGES); do refs="$$refs,gpt-sovits-k8s/$$image:$(IMAGE_TAG)"; done; \
	if [ -x $(PY) ]; then \
	  GSV_E2E_IMAGES="[\"$$(echo $${refs#,} | sed 's/,/","/g')\"]" $(PY) -m e2e.cluster images; \
	fi

# With NODE=1 `make test` also builds both images and runs the real-node tests (e2e/node) in the
# same session; with NODE=0 they are not collected. The session cluster always runs the metrics
# pipeline (Prometheus and prometheus-adapter, built from Go modules once: 4-8 minutes cold).
# The cluster's Go builds (CPU-bound, 18-27 minutes cold) run in the background while lint, the
# type checks and the images (mostly downloads and unpacking) run, so a cold machine waits for both
# at once; pytest waits on the build's lock (scripts/alongside.sh). The tests then run as two
# sessions at once (scripts/pytest-split.sh): the cluster's, mostly waiting, beside the rest.
test: export GSV_E2E_METRICS_PIPELINE := 1
test: system-deps venv ## Everything: lint, type checks and the whole test suite.
	scripts/alongside.sh $(CLUSTER_BUILD_LOG) "$(PY) -m e2e.cluster build" -- \
	  $(MAKE) --no-print-directory lint typecheck $(if $(filter 1,$(NODE)),node-deps node-images)
	GSV_E2E_REAL_NODE=$(NODE) scripts/pytest-split.sh $(PY) $(PYTEST_ARGS)

node-images: ## Both images and the local nginx, built (cached by their inputs) for the real node's tests.
	$(MAKE) images IMAGES="operator server"
	$(MAKE) nginx-image

# nginx for the compose file where nginx:1.27-alpine cannot be pulled (no registry): Debian's
# nginx with the official image's template step (docker/Dockerfile.nginx), on the same base.
NGINX_IMAGE := gpt-sovits-k8s/nginx:$(IMAGE_TAG)
nginx-image: ## The compose file's nginx from Debian's package, for hosts without a registry.
	@if [ "$(DEBIAN_IMAGE)" = "$(LOCAL_BASE)" ] && ! $(BUILDAH) inspect --type image $(LOCAL_BASE) >/dev/null 2>&1; then \
	  echo "$(LOCAL_BASE) is missing: run \`make images\` first (it debootstraps it)"; exit 1; \
	fi
	@ca=""; [ -f $(HOST_CA) ] && ca="--volume $(HOST_CA):$(HOST_CA):ro"; \
	$(BUILDAH) bud --layers --format docker --isolation chroot --network host $$ca \
	  --build-arg DEBIAN_IMAGE=$(DEBIAN_IMAGE) -f docker/Dockerfile.nginx -t $(NGINX_IMAGE) .

lint: venv ## ruff lint, format check and import contracts (pyproject's [tool.importlinter]).
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

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

# The real node (root, Linux): operator and server images built and loaded, the chart's operator as
# a pod, VoiceServices' server pods answering through their Service, failures named in status, a
# rolling update under load.
test-e2e-node: venv node-deps node-images ## The images running as pods on the local cluster's real node.
	GSV_E2E_REAL_NODE=1 GSV_E2E_METRICS_PIPELINE=1 $(PYTEST) e2e/node $(PYTEST_ARGS)

# docker/docker-compose.yml for real: nerdctl (built from its Go module) on the real node's
# containerd, nginx with TLS in front of two server replicas (e2e/node/test_node_compose.py).
test-compose: venv node-deps node-images ## The single-host compose file run for real with nerdctl.
	GSV_E2E_REAL_NODE=1 $(PYTEST) e2e/node/test_node_compose.py $(PYTEST_ARGS)

# The autoscaling loop: Prometheus and prometheus-adapter (built from Go modules, 4-8 minutes
# cold) on the chart's rules, alerts and dashboard queries; where a real node runs (NODE=1), real
# pods scaling out on requests per second and on CPU, and back.
test-autoscaling: venv $(if $(filter 1,$(NODE)),node-deps node-images) ## Load -> Prometheus -> adapter -> HPA -> more pods, and back.
	GSV_E2E_REAL_NODE=$(NODE) GSV_E2E_METRICS_PIPELINE=1 $(PYTEST) e2e/autoscaling \
	  $(if $(filter 1,$(NODE)),e2e/node/test_node_autoscaling.py) $(PYTEST_ARGS)

test-chart: venv system-deps ## Helm chart, images and compose files.
	$(PYTEST) charts/gpt-sovits/tests docker/tests $(PYTEST_ARGS)
