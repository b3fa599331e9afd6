# `make run` brings the whole system up on the sample data; `make test` runs every
# test. Both install what is missing first (see `install`).

SHELL := /bin/bash
.DEFAULT_GOAL := test

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
CACHE := .cache
PYTEST_ARGS ?=

# The stamp's name carries the lock's hash, so editing requirements.lock
# reinstalls and an unchanged lock costs nothing.
LOCK_HASH := $(shell sha256sum requirements.lock | cut -c1-16)
INSTALL_STAMP := $(VENV)/.installed-$(LOCK_HASH)
KAFKA_MARKER := $(CACHE)/kafka-4.1.1/.complete
DSFR_MARKER := services/identity/static/dsfr/.complete
PIP_COMPILE := $(CACHE)/pip-tools/bin/pip-compile

.PHONY: run test install lock clean deploy-check

run: install
	$(VENV_PYTHON) -m shared.devstack.run

test: install
	$(VENV_PYTHON) -m pytest $(PYTEST_ARGS)

# Debian packages first: Maven and Java are needed to fetch the Kafka jars.
install:
	@bash deploy/local/install-system-packages.sh
	@$(MAKE) --no-print-directory $(INSTALL_STAMP) $(KAFKA_MARKER) $(DSFR_MARKER)

$(VENV_PYTHON):
	$(PYTHON) -m venv $(VENV)

$(INSTALL_STAMP): requirements.lock pyproject.toml | $(VENV_PYTHON)
	rm -f $(VENV)/.installed-*
	$(VENV_PYTHON) -m pip install --quiet -r requirements.lock
	$(VENV_PYTHON) -m pip install --quiet --no-deps -e .
	touch $@

# The fetch itself compares the pom's hash with the marker and takes a file lock;
# touch keeps make from running it again when only the pom's mtime changed.
$(KAFKA_MARKER): deploy/local/kafka/pom.xml | $(INSTALL_STAMP)
	$(VENV_PYTHON) -m shared.devstack.kafka fetch
	touch $@

# The identity pages' design system (DSFR) and axe-core for the browser tests,
# from the npm registry, pinned by the package-lock.
$(DSFR_MARKER): services/identity/assets/package-lock.json
	bash services/identity/assets/install.sh
	touch $@

# Regenerate requirements.lock from pyproject.toml with the test extra. Pins
# already in the lock are kept; `make lock LOCK_ARGS=--upgrade` moves them all to
# the newest versions.
LOCK_ARGS ?=
lock: $(PIP_COMPILE)
	CUSTOM_COMPILE_COMMAND="make lock" $(PIP_COMPILE) --quiet $(LOCK_ARGS) \
		--extra test --strip-extras --no-emit-find-links --no-emit-index-url \
		--output-file requirements.lock pyproject.toml

$(PIP_COMPILE):
	$(PYTHON) -m venv $(CACHE)/pip-tools
	$(CACHE)/pip-tools/bin/python -m pip install --quiet pip-tools

# Validate deploy/compose.yaml and the Kubernetes overlays; tools and schemas go
# to .cache/. `make test` runs it too, through tests/ops/test_deploy_check.py.
deploy-check: install
	PYTHON=$(VENV_PYTHON) bash deploy/check.sh

clean:
	rm -rf $(VENV) $(CACHE) .pytest_cache tests/artifacts *.egg-info \
		services/identity/static/dsfr services/identity/assets/node_modules
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
