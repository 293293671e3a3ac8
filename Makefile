# OKE Portal — two commands: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Django 6 needs Python >= 3.12: take the newest suitable interpreter on PATH or in pyenv.
PYTHON ?= $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3 python3.13 $$HOME/.pyenv/versions/3.13*/bin/python3 python3; do \
            command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { command -v $$p; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Links in e-mails follow the address the portal runs on (make run PORT=8080).
export SITE_URL ?= http://$(HOST):$(PORT)

.PHONY: help venv run test migrate demo demo-reset worker lint typecheck messages bench clean

help:
	@echo "make run   - install, migrate, load TERYT + demo cluster (empty database only), start portal and task worker on http://$(HOST):$(PORT)"
	@echo "make demo-reset - empty the database and load the demo again"
	@echo "make test  - install and run the whole test suite"

# These targets are for development and tests (production: docs/deployment.md), so DEBUG
# is on unless the caller says otherwise; settings.py refuses DEBUG off without a SECRET_KEY.
export DEBUG ?= True

$(VENV)/.installed: requirements.txt
	@test -n "$(PYTHON)" || { echo "No Python >= 3.11 found (Django 6 wants 3.12)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

# Tests, benchmarks and linters on top of the production requirements.
$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

migrate: venv
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable
	$(PY) manage.py load_reference_data

# The demo goes only into an empty database; later starts keep the user's work.
demo: migrate
	$(PY) manage.py demo_setup

# Start over: empty the database and the stored files, then load the demo again.
demo-reset: migrate
	$(PY) manage.py flush --noinput
	rm -rf var/media var/mail
	$(PY) manage.py load_reference_data
	$(PY) manage.py demo_setup

# The worker embeds beat (-B): the job reaper and upload retention run on this single machine.
# Production runs `celery -A okeportal beat` as its own process beside the workers.
run: demo
	@echo "Starting the Celery worker with beat (queue: $${CELERY_BROKER_URL:-filesystem in var/celery}) and the portal..."
	@$(PY) manage.py demo_setup --logins-only
	@echo "Portal: $(SITE_URL)  (e-mails of the portal: var/mail/)"
	@trap 'kill 0' EXIT INT TERM; \
	$(PY) -m celery -A okeportal worker -B --schedule var/celerybeat-schedule --pool threads --concurrency 2 -l warning & \
	$(PY) manage.py runserver $(HOST):$(PORT)

worker: venv
	$(PY) -m celery -A okeportal worker -l info

# Two test processes (pytest-xdist, one database each) on the embedded SQLite leg; the
# PostgreSQL + Redis leg runs in one process because its real Celery worker shares one queue.
PYTEST_ARGS ?= $(if $(CELERY_BROKER_URL),,-n 2)

test: $(VENV)/.installed-dev
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

# Style and complexity (ruff), the import graph (no loops, no upward imports), then types (mypy with django-stubs; files and strictness in pyproject.toml).
lint: $(VENV)/.installed-dev
	$(PY) -m ruff check .
	$(PY) scripts/import_graph.py
	$(PY) -m mypy

typecheck: $(VENV)/.installed-dev
	$(PY) -m mypy

clean:
	rm -rf $(VENV) var
